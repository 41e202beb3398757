-- Alerts (DESIGN §2 "Alert"): one row per firing of one rule for one key, updated as the alert
-- moves pending → firing → resolved. Times are UTC microseconds since the epoch.
CREATE TABLE alerts (
    id             INTEGER PRIMARY KEY,
    key            TEXT    NOT NULL,
    rule           TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    severity       TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    title          TEXT    NOT NULL,
    message        TEXT    NOT NULL,
    component      TEXT,
    value          REAL,
    started_at_us  INTEGER NOT NULL,
    fired_at_us    INTEGER,
    last_seen_us   INTEGER NOT NULL,
    clear_since_us INTEGER,
    resolved_at_us INTEGER,
    resolution     TEXT CHECK (resolution IN ('manual', 'automatic', 'rollback')),
    -- Impact: the affected datasets and components as JSON arrays of names, and the estimated
    -- downtime in minutes.
    impact_datasets   TEXT NOT NULL,
    impact_components TEXT NOT NULL,
    impact_downtime_minutes REAL,
    runbook        TEXT,
    suppressed_by  TEXT,
    notified       INTEGER NOT NULL CHECK (notified IN (0, 1))
);
CREATE INDEX alerts_open ON alerts (started_at_us) WHERE state <> 'resolved';
CREATE INDEX alerts_resolved ON alerts (resolved_at_us) WHERE state = 'resolved';

-- What happened to each alert, appended and never changed: its transitions and the
-- acknowledgements made of it.
CREATE TABLE alert_events (
    id        INTEGER PRIMARY KEY,
    alert_id  INTEGER NOT NULL,
    at_us     INTEGER NOT NULL,
    event     TEXT    NOT NULL
        CHECK (event IN ('pending', 'fired', 'resolved', 'cancelled', 'acknowledged')),
    state     TEXT    NOT NULL,
    severity  TEXT    NOT NULL,
    value     REAL,
    message   TEXT    NOT NULL,
    notify    INTEGER NOT NULL CHECK (notify IN (0, 1)),
    by        TEXT,
    comment   TEXT
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, id);

-- The acknowledgement of each alert: the latest one made (every one is in alert_events).
CREATE TABLE alert_acks (
    alert_id INTEGER PRIMARY KEY,
    by       TEXT    NOT NULL,
    at_us    INTEGER NOT NULL,
    comment  TEXT
);

-- Silences: alerts of a rule and/or a component notify nobody from starts_at until until_us,
-- or until the silence is removed.
CREATE TABLE alert_silences (
    id            INTEGER PRIMARY KEY,
    rule          TEXT,
    component     TEXT,
    starts_at_us  INTEGER NOT NULL,
    until_us      INTEGER NOT NULL,
    by            TEXT    NOT NULL,
    comment       TEXT,
    removed_at_us INTEGER,
    CHECK (rule IS NOT NULL OR component IS NOT NULL),
    CHECK (until_us > starts_at_us)
);
CREATE INDEX alert_silences_until ON alert_silences (until_us) WHERE removed_at_us IS NULL;
