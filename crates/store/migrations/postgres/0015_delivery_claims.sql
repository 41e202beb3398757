-- As SQLite's 0015: a notification being sent is claimed until `claimed_until_us`.
ALTER TABLE deliveries ADD COLUMN claimed_until_us BIGINT;
