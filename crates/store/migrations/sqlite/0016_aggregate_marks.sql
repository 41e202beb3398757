-- How many retention passes pruned the samples' aggregates: a read that keeps the aggregates'
-- part of a chart between passes reads it again when this moves.
INSERT INTO retention_marks (name, value) VALUES ('aggregates_pruned', 0);
