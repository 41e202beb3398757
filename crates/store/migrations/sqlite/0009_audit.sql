-- The audit log: who changed what, from where, and whether it was allowed. Rows are only ever
-- added: the triggers below refuse every UPDATE and DELETE.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at_us    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    resource TEXT    NOT NULL,
    details  TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    client   TEXT,
    outcome  TEXT    NOT NULL CHECK (outcome IN ('ok', 'refused'))
);
CREATE INDEX audit_at ON audit (at_us);
CREATE INDEX audit_action ON audit (action, at_us);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted');
END;
