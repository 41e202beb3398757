-- The audit log is kept for a bounded time (`mhd serve --audit-retention`, 400 days by default):
-- entries older than that may be deleted, by `mhd audit prune` and by the server itself. An
-- entry younger than 30 days, by SQLite's own clock, still cannot be deleted; no entry can be
-- changed.
DROP TRIGGER audit_no_delete;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
WHEN old.at_us > (unixepoch() - 30 * 86400) * 1000000
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries younger than 30 days cannot be deleted');
END;
