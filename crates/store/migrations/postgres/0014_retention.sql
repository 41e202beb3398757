-- The aggregates retention keeps of samples (as SQLite's 0014): 1-minute, 1-hour and 1-day
-- rows per series (metric, component and labels; '' for none), and where retention stands.
-- Samples already have an id here that is never reused.
CREATE TABLE sample_minutes (
    metric    TEXT   NOT NULL,
    minute    BIGINT NOT NULL,
    component TEXT   NOT NULL,
    labels    TEXT   NOT NULL,
    unit      TEXT,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    count     BIGINT NOT NULL,
    sketch    BYTEA  NOT NULL,
    PRIMARY KEY (metric, minute, component, labels)
);

CREATE TABLE sample_hours (
    metric    TEXT   NOT NULL,
    hour      BIGINT NOT NULL,
    component TEXT   NOT NULL,
    labels    TEXT   NOT NULL,
    unit      TEXT,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    count     BIGINT NOT NULL,
    sketch    BYTEA  NOT NULL,
    PRIMARY KEY (metric, hour, component, labels)
);

CREATE TABLE sample_days (
    metric    TEXT   NOT NULL,
    day       BIGINT NOT NULL,
    component TEXT   NOT NULL,
    labels    TEXT   NOT NULL,
    unit      TEXT,
    min       DOUBLE PRECISION NOT NULL,
    max       DOUBLE PRECISION NOT NULL,
    sum       DOUBLE PRECISION NOT NULL,
    count     BIGINT NOT NULL,
    sketch    BYTEA  NOT NULL,
    PRIMARY KEY (metric, day, component, labels)
);

CREATE TABLE retention_marks (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO retention_marks (name, value) VALUES ('samples_rolled_up', 0);

CREATE INDEX test_runs_time ON test_runs (run_at_us);
CREATE INDEX deliveries_done ON deliveries (created_at_us) WHERE state <> 'pending';
