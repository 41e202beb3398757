"""Turns the NDJSON operations on standard input (bench/make_operations.py) into MDM's
monitoring database at ARGV[1] (its `metrics` table, naive UTC times as MDM writes them) and
writes the same rows as NDJSON, as `mhd import mdm` reads them, to ARGV[2]: the input of
`mhd ingest operations` doing the same work, the baseline of the import."""
import json
import sqlite3
import sys

db, same = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(db)
conn.execute("""
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    metric_type TEXT NOT NULL,
    operation TEXT NOT NULL,
    duration_ms REAL,
    success INTEGER DEFAULT 1,
    dataset_name TEXT,
    row_count INTEGER,
    error_message TEXT,
    metadata TEXT
)""")
rows = []
with open(same, "w") as out:
    for line in sys.stdin:
        op = json.loads(line)
        naive = op["timestamp"].rstrip("Z").replace("T", " ")
        rows.append((naive, op["metric_type"], op["operation"], op.get("duration_ms"),
                     1 if op.get("success", True) else 0, op.get("dataset_name"),
                     op.get("row_count"), op.get("error_message")))
        # What the import makes of the row: no component, no system.
        same_op = {k: v for k, v in op.items() if k not in ("component", "system")}
        out.write(json.dumps(same_op) + "\n")
        if len(rows) == 50_000:
            conn.executemany("INSERT INTO metrics (timestamp, metric_type, operation, duration_ms, "
                             "success, dataset_name, row_count, error_message) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            rows.clear()
conn.executemany("INSERT INTO metrics (timestamp, metric_type, operation, duration_ms, success, "
                 "dataset_name, row_count, error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
conn.commit()
conn.close()
