"""Writes N operations as NDJSON to standard output: 90 days of a migration's traffic, in time
order with a little jitter as real recorders produce it, over 412 datasets and 7 types."""
import datetime
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
random.seed(1)
types = ["migration", "rollback", "dataset_read", "dataset_register", "verification",
         "query_execution", "feature_generation"]
components = ["storage", "config", "features", "registration"]
start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
step = 90 * 86400 / n
out = sys.stdout
for i in range(n):
    ok = random.random() > 0.05
    t = datetime.datetime.fromtimestamp(start + i * step + random.random() * 5, datetime.timezone.utc)
    op = {
        "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "metric_type": types[i % 7],
        "operation": "op%d" % (i % 13),
        "dataset_name": "ds%d" % random.randrange(412),
        "component": components[i % 4],
        "system": "new" if i % 2 else "old",
        "duration_ms": round(random.random() * 500, 3),
        "success": ok,
        "row_count": i % 1000,
    }
    if not ok:
        op["error_message"] = "failure %d" % i
    out.write(json.dumps(op) + "\n")
