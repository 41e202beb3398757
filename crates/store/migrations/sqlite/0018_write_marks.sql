-- Who has written to the store: every write transaction counts itself here under the origin
-- of the handle that made it, so that a server watching the file for other writers can tell
-- their commits from its own (SQLite's `PRAGMA data_version` says only that something was
-- committed). Handles that do not watch share the origin 'shared'; a watching handle takes an
-- origin of its own, and rows of origins not seen for a week are removed when one starts.
CREATE TABLE write_marks (
    origin TEXT    PRIMARY KEY,
    writes INTEGER NOT NULL,
    at_us  INTEGER NOT NULL
) WITHOUT ROWID;
