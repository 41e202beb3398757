-- What each dataset's state is read from (DESIGN §2: pending, migrating, failed, migrated,
-- verified, rolled_back), kept in step with `operations` like the columns before them: the
-- latest `migration_start`, the latest `migration` attempt and whether it succeeded, the latest
-- `verification` and whether it passed, and the type of the latest operation of any kind.
-- Ties at one instant count as a success.
ALTER TABLE datasets ADD COLUMN last_started_us INTEGER;
ALTER TABLE datasets ADD COLUMN last_attempt_us INTEGER;
ALTER TABLE datasets ADD COLUMN last_attempt_ok INTEGER;
ALTER TABLE datasets ADD COLUMN last_verified_us INTEGER;
ALTER TABLE datasets ADD COLUMN last_verified_ok INTEGER;
ALTER TABLE datasets ADD COLUMN last_type TEXT;

UPDATE datasets SET
    last_started_us = (SELECT MAX(timestamp_us) FROM operations o
                       WHERE o.dataset_name = datasets.name AND o.metric_type = 'migration_start'),
    last_attempt_us = (SELECT MAX(timestamp_us) FROM operations o
                       WHERE o.dataset_name = datasets.name AND o.metric_type = 'migration'),
    last_verified_us = (SELECT MAX(timestamp_us) FROM operations o
                        WHERE o.dataset_name = datasets.name AND o.metric_type = 'verification');
UPDATE datasets SET
    last_attempt_ok = (SELECT MAX(success) FROM operations o
                       WHERE o.dataset_name = datasets.name AND o.metric_type = 'migration'
                         AND o.timestamp_us = datasets.last_attempt_us),
    last_verified_ok = (SELECT MAX(success) FROM operations o
                        WHERE o.dataset_name = datasets.name AND o.metric_type = 'verification'
                          AND o.timestamp_us = datasets.last_verified_us),
    last_type = (SELECT metric_type FROM operations o
                 WHERE o.dataset_name = datasets.name AND o.timestamp_us = datasets.last_seen_us
                 ORDER BY o.id DESC LIMIT 1);

-- Migration attempts and rollbacks per UTC day (days since 1970-01-01) and component (''
-- for none), all and successful: what the success rate, progress over time, the forecast and
-- its back-test read. Kept in step with every write and never pruned, so the migration's
-- history does not shrink with its operations.
CREATE TABLE migration_days (
    day          INTEGER NOT NULL,
    component    TEXT    NOT NULL,
    attempts     INTEGER NOT NULL,
    migrations   INTEGER NOT NULL,
    rollback_ops INTEGER NOT NULL,
    rollbacks    INTEGER NOT NULL,
    PRIMARY KEY (day, component)
) WITHOUT ROWID;
INSERT INTO migration_days (day, component, attempts, migrations, rollback_ops, rollbacks)
    SELECT timestamp_us / 86400000000 - (timestamp_us % 86400000000 < 0),
           coalesce(component, ''),
           SUM(metric_type = 'migration'), SUM(metric_type = 'migration' AND success = 1),
           SUM(metric_type = 'rollback'), SUM(metric_type = 'rollback' AND success = 1)
    FROM operations
    WHERE metric_type IN ('migration', 'rollback')
    GROUP BY 1, 2;

-- The overall status shown and the one waiting to be (mhd_core::health), kept by the server
-- that evaluates alerts so every process shows the same.
CREATE TABLE health_state (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    shown            TEXT    NOT NULL CHECK (shown IN ('healthy', 'at_risk', 'critical')),
    since_us         INTEGER NOT NULL,
    pending          TEXT    CHECK (pending IN ('healthy', 'at_risk', 'critical')),
    pending_since_us INTEGER,
    updated_us       INTEGER NOT NULL
);

-- Each component's operations per UTC hour and system: their count, failures and a histogram of
-- their durations (mhd_core::sketch, merged on every write), so the component matrix over a
-- week reads a few thousand rows. Filled from the operations stored before by the program when
-- this version is first opened.
CREATE TABLE component_rollup (
    hour      INTEGER NOT NULL,
    component TEXT    NOT NULL,
    system    TEXT    NOT NULL CHECK (system IN ('old', 'new')),
    count     INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    durations BLOB,
    PRIMARY KEY (hour, component, system)
) WITHOUT ROWID;
