"""Writes N operations as NDJSON to standard output: the last 90 days of a migration's traffic,
ending now (so that every view looking at recent time has data), in time order with a little
jitter as real recorders produce it, over 412 datasets and 7 types. The plan to go with it starts
on the Monday 13 weeks ago (`plan_start.py`)."""
import datetime
import json
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
random.seed(1)
types = ["migration", "rollback", "dataset_read", "dataset_register", "verification",
         "query_execution", "feature_generation"]
components = ["storage", "config", "features", "registration"]
# The last operation (with its jitter of up to 5 s) lands a few seconds before now.
start = datetime.datetime.now(datetime.timezone.utc).timestamp() - 90 * 86400 - 10
step = 90 * 86400 / max(n - 1, 1)
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
        # Every component on both systems (i % 4 picks the component).
        "system": "new" if (i // 4) % 2 else "old",
        "duration_ms": round(random.random() * 500, 3),
        "success": ok,
        "row_count": i % 1000,
    }
    if not ok:
        op["error_message"] = "failure %d" % i
    out.write(json.dumps(op) + "\n")
