-- Dataset names get small integer ids, and the per-dataset index of operations keys on the id
-- instead of the text: inserting millions of operations spread over hundreds of datasets costs
-- far less. `dataset_name` stays on each row for reading.
CREATE TABLE dataset_ids (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO dataset_ids (name)
    SELECT DISTINCT dataset_name FROM operations WHERE dataset_name IS NOT NULL ORDER BY dataset_name;
ALTER TABLE operations ADD COLUMN dataset_id INTEGER;
UPDATE operations SET dataset_id = (SELECT id FROM dataset_ids WHERE name = operations.dataset_name)
    WHERE dataset_name IS NOT NULL;
DROP INDEX operations_dataset_time;
CREATE INDEX operations_dataset_time ON operations (dataset_id, timestamp_us)
    WHERE dataset_id IS NOT NULL;
