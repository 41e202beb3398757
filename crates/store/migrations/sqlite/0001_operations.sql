-- Operations: one recorded operation per row. Times are UTC microseconds since the epoch.
CREATE TABLE operations (
    id            INTEGER PRIMARY KEY,
    timestamp_us  INTEGER NOT NULL,
    metric_type   TEXT    NOT NULL,
    operation     TEXT    NOT NULL,
    dataset_name  TEXT,
    component     TEXT,
    system        TEXT CHECK (system IN ('old', 'new')),
    duration_ms   REAL,
    success       INTEGER NOT NULL CHECK (success IN (0, 1)),
    row_count     INTEGER,
    error_message TEXT,
    metadata      TEXT,
    import_key    TEXT
);
CREATE INDEX operations_time ON operations (timestamp_us);
CREATE INDEX operations_type_time ON operations (metric_type, timestamp_us);
CREATE INDEX operations_dataset_time ON operations (dataset_name, timestamp_us)
    WHERE dataset_name IS NOT NULL;
CREATE INDEX operations_failed_time ON operations (timestamp_us) WHERE success = 0;
CREATE UNIQUE INDEX operations_import_key ON operations (import_key)
    WHERE import_key IS NOT NULL;

-- Per-hour, per-type totals kept in step with `operations` by every write, so summaries over
-- millions of operations read thousands of rows.
CREATE TABLE operation_rollup (
    hour                   INTEGER NOT NULL,
    metric_type            TEXT    NOT NULL,
    count                  INTEGER NOT NULL,
    success_count          INTEGER NOT NULL,
    success_duration_sum   REAL    NOT NULL,
    success_duration_count INTEGER NOT NULL,
    PRIMARY KEY (hour, metric_type)
) WITHOUT ROWID;

-- Every dataset name seen, kept in step with `operations`.
CREATE TABLE datasets (
    name         TEXT PRIMARY KEY,
    first_seen_us INTEGER NOT NULL,
    last_seen_us  INTEGER NOT NULL,
    registered   INTEGER NOT NULL
) WITHOUT ROWID;
