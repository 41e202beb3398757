"""Round trips on one kept-alive connection to a running `mhd serve` at ARGV[1] (host:port):
ARGV[2] (default 2,000) single-operation `POST /api/v1/operations`, each beside a `GET /health`
on the same connection in the same run (the baseline), interleaved so both see the same
machine. Prints min / median / p99 of each and the median difference."""
import datetime
import http.client
import json
import statistics
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
conn = http.client.HTTPConnection(host, int(port))


def trip(method, path, body=None, headers=None):
    t = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    r.read()
    took = time.perf_counter() - t
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status}")
    return took


health, post = [], []
for i in range(n + 50):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps([{"timestamp": stamp, "metric_type": "dataset_read", "operation": "read",
                        "dataset_name": "bench_%d" % (i % 50), "component": "storage",
                        "system": "new", "duration_ms": 12.5, "success": True}])
    h = trip("GET", "/health")
    p = trip("POST", "/api/v1/operations", body, {"Content-Type": "application/json"})
    if i >= 50:  # the first 50 warm up
        health.append(h)
        post.append(p)


def show(name, xs):
    xs = sorted(x * 1000 for x in xs)
    print(f"{name:<42} min {xs[0]:6.3f} ms  median {statistics.median(xs):6.3f} ms  "
          f"p99 {xs[int(len(xs) * 0.99) - 1]:6.3f} ms")


show("baseline: GET /health", health)
show("POST /api/v1/operations (one operation)", post)
print(f"median difference: {(statistics.median(post) - statistics.median(health)) * 1000:.3f} ms "
      f"over {n} pairs")
