-- Test runs: one JUnit report of one suite. Totals are counted from the cases when stored.
CREATE TABLE test_runs (
    id          INTEGER PRIMARY KEY,
    suite       TEXT    NOT NULL,
    phase       TEXT,
    component   TEXT,
    run_at_us   INTEGER NOT NULL,
    duration    REAL    NOT NULL,
    total       INTEGER NOT NULL,
    passed      INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    skipped     INTEGER NOT NULL,
    source      TEXT
);
CREATE INDEX test_runs_suite_time ON test_runs (suite, run_at_us);

CREATE TABLE test_cases (
    run_id    INTEGER NOT NULL REFERENCES test_runs (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    classname TEXT,
    status    TEXT    NOT NULL CHECK (status IN ('passed', 'failed', 'error', 'skipped')),
    time      REAL,
    message   TEXT
);
CREATE INDEX test_cases_run ON test_cases (run_id);

-- Benchmark samples: one timing of one operation on one system. Each ingested file is a batch;
-- the comparison uses each (operation, system, component)'s latest batch.
CREATE TABLE benchmark_samples (
    batch          INTEGER NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    operation      TEXT    NOT NULL,
    system         TEXT    NOT NULL CHECK (system IN ('old', 'new')),
    component      TEXT,
    value_ms       REAL    NOT NULL,
    source         TEXT
);
CREATE INDEX benchmark_samples_series ON benchmark_samples (operation, system, component, batch);

-- Samples: points of time series that collectors write and anyone may push.
CREATE TABLE samples (
    timestamp_us INTEGER NOT NULL,
    metric       TEXT    NOT NULL,
    value        REAL    NOT NULL,
    unit         TEXT,
    component    TEXT,
    labels       TEXT
);
CREATE INDEX samples_metric_time ON samples (metric, timestamp_us);

-- Each dataset's component (the latest one its operations named).
ALTER TABLE datasets ADD COLUMN component TEXT;
UPDATE datasets SET component = (
    SELECT component FROM operations o
    WHERE o.dataset_name = datasets.name AND o.component IS NOT NULL
    ORDER BY timestamp_us DESC LIMIT 1);
