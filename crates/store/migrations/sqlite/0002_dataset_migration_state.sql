-- Each dataset's latest successful migration and rollback, kept in step with `operations`, so
-- that "migrated" (a migration newer than any rollback) is read without scanning operations.
ALTER TABLE datasets ADD COLUMN last_migrated_us INTEGER;
ALTER TABLE datasets ADD COLUMN last_rollback_us INTEGER;
UPDATE datasets SET
    last_migrated_us = (SELECT MAX(timestamp_us) FROM operations o
                        WHERE o.dataset_name = datasets.name
                          AND o.metric_type = 'migration' AND o.success = 1),
    last_rollback_us = (SELECT MAX(timestamp_us) FROM operations o
                        WHERE o.dataset_name = datasets.name
                          AND o.metric_type = 'rollback' AND o.success = 1);
