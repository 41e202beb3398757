-- A change notification names the table and the store handle that wrote it (the session
-- setting `mhd.origin`, which mhd sets on each connection of its pool), so that a server passes
-- over its own writes, which it announces itself.
CREATE OR REPLACE FUNCTION mhd_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mhd_changes',
        TG_TABLE_NAME || COALESCE(' ' || NULLIF(current_setting('mhd.origin', true), ''), ''));
    RETURN NULL;
END;
$$;

-- How many retention passes pruned the samples' aggregates: a read that keeps the aggregates'
-- part of a chart between passes reads it again when this moves.
INSERT INTO retention_marks (name, value) VALUES ('aggregates_pruned', 0);
