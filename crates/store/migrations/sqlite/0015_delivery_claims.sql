-- A notification being sent is claimed by the worker sending it until `claimed_until_us`, so
-- that no other worker (a replica that has just taken the lead) sends it too; the attempt's
-- outcome clears the claim. Separate from `next_attempt_at_us` so that a new leader can tell a
-- dead worker's claim, which it shortens, from a retry scheduled later, which it keeps.
ALTER TABLE deliveries ADD COLUMN claimed_until_us INTEGER;
