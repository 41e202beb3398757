-- Retention (the plan's [retention], DESIGN §8): raw samples are rolled up into 1-minute,
-- 1-hour and 1-day aggregates before they are deleted, so that a chart over 90 days still has its data.

-- Samples get an id that is never reused (not even after a VACUUM, which renumbers implicit
-- rowids), so that "rolled up to id N" names exactly the samples already counted in the
-- aggregates, whatever their timestamps and whenever they were pushed.
CREATE TABLE samples_by_id (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp_us INTEGER NOT NULL,
    metric       TEXT    NOT NULL,
    value        REAL    NOT NULL,
    unit         TEXT,
    component    TEXT,
    labels       TEXT
);
INSERT INTO samples_by_id (timestamp_us, metric, value, unit, component, labels)
    SELECT timestamp_us, metric, value, unit, component, labels FROM samples ORDER BY rowid;
DROP TABLE samples;
ALTER TABLE samples_by_id RENAME TO samples;
CREATE INDEX samples_metric_time ON samples (metric, timestamp_us);

-- One row per series (metric, component, labels; '' for none) and UTC minute (minutes since
-- 1970-01-01): the smallest, largest, sum and count of its samples, the unit of the newest,
-- and a mhd_core::sketch::ValueSketch of the values for percentiles.
CREATE TABLE sample_minutes (
    metric    TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    component TEXT    NOT NULL,
    labels    TEXT    NOT NULL,
    unit      TEXT,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    sum       REAL    NOT NULL,
    count     INTEGER NOT NULL,
    sketch    BLOB    NOT NULL,
    PRIMARY KEY (metric, minute, component, labels)
) WITHOUT ROWID;

-- The same per UTC hour (hours since 1970-01-01).
CREATE TABLE sample_hours (
    metric    TEXT    NOT NULL,
    hour      INTEGER NOT NULL,
    component TEXT    NOT NULL,
    labels    TEXT    NOT NULL,
    unit      TEXT,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    sum       REAL    NOT NULL,
    count     INTEGER NOT NULL,
    sketch    BLOB    NOT NULL,
    PRIMARY KEY (metric, hour, component, labels)
) WITHOUT ROWID;

-- The same per UTC day (days since 1970-01-01): what a chart over months reads.
CREATE TABLE sample_days (
    metric    TEXT    NOT NULL,
    day       INTEGER NOT NULL,
    component TEXT    NOT NULL,
    labels    TEXT    NOT NULL,
    unit      TEXT,
    min       REAL    NOT NULL,
    max       REAL    NOT NULL,
    sum       REAL    NOT NULL,
    count     INTEGER NOT NULL,
    sketch    BLOB    NOT NULL,
    PRIMARY KEY (metric, day, component, labels)
) WITHOUT ROWID;

-- Where retention stands: `samples_rolled_up` is the highest sample id counted in the
-- aggregates (every sample up to it is, none after it).
CREATE TABLE retention_marks (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO retention_marks (name, value) VALUES ('samples_rolled_up', 0);

-- What pruning looks up by age.
CREATE INDEX test_runs_time ON test_runs (run_at_us);
CREATE INDEX deliveries_done ON deliveries (created_at_us) WHERE state <> 'pending';
