#!/usr/bin/env bash
# Whole-process load on a real `mhd serve` with wrk, each figure beside the static `/health` of
# the same server in the same run (see BENCHMARKS.md, "Live server"). Needs wrk (Debian:
# apt-get install wrk), curl and python3. The store holds 90 days: OPS operations of traffic
# ending now and the specification's plan started 13 weeks ago. Everything runs in a temporary
# home that is removed at the end; the server is always stopped.
#
#   bench/serve.sh                 # 500,000 operations, 256 connections, 10 s per route
#   OPS=100000 SECONDS_PER_RUN=5 CLIENTS=100 bench/serve.sh
#
# With PGURL (a PostgreSQL server, postgres://user@host:port, no database) the store is a fresh
# database there (dropped at the end, needs psql) served by two replicas, A and B: wrk loads B,
# the WebSocket clients listen to B, and the POSTs go to B itself, then to A, whose change
# reaches B through PostgreSQL's LISTEN/NOTIFY.
#
#   PGURL=postgres://postgres@127.0.0.1:5432 bench/serve.sh
set -euo pipefail
# The log file, as on a workstation: on a machine that is itself a container, `serve` would
# otherwise log every request to standard error, which the earlier figures did not pay for.
export MHD_LOG_TO=${MHD_LOG_TO:-file}
cd "$(dirname "$0")/.."
OPS=${OPS:-500000}
RUN=${SECONDS_PER_RUN:-10}
PORT=${PORT:-18123}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install $tool)" >&2; exit 2; }
done
if [[ -z ${MHD:-} ]]; then # MHD=path/to/mhd serves with a given build instead of this one
  cargo build --release -q -p mhd-cli
  MHD=${CARGO_TARGET_DIR:-$PWD/target}/release/mhd
fi
work=$(mktemp -d)
server= replica= db=
cleanup() {
  for pid in $server $replica; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [[ -n $db ]]; then psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $db" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -n ${PGURL:-} ]]; then
  command -v psql >/dev/null || { echo "psql is needed (Debian: apt-get install postgresql-client)" >&2; exit 2; }
  db=mhd_bench_serve_$$
  psql -q "$PGURL/postgres" -c "CREATE DATABASE $db"
  export MHD_DATABASE_URL=$PGURL/$db
fi

# 90 days of everyday traffic and migrations ending a minute ago, in time order, demo-like.
python3 - "$OPS" > "$work/ops.ndjson" <<'PY'
import datetime, json, random, sys
n = int(sys.argv[1]); random.seed(90)
end = datetime.datetime.now(datetime.timezone.utc).timestamp() - 60
start = end - 90 * 86400; step = 90 * 86400 / n
kinds = [("dataset_read", "read", 40), ("query_execution", "query", 120),
         ("feature_generation", "generate features", 900), ("storage_operation", "write batch", 60)]
components = ["storage", "config", "features", "registration"]
w = sys.stdout.write
stamp = lambda t: datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
# About 3.5 migrations a day from the second week, as in the demo: a start, then the attempt.
migrations, dataset = {}, 0
for day in range(7, 90):
    for _ in range(3 + random.randrange(2)):
        migrations.setdefault(int((start + day * 86400 + random.randrange(28800, 64800) - start) / step), []).append(dataset)
        dataset = (dataset + 1) % 412
for i in range(n):
    ty, name, median = random.choice(kinds); ok = random.random() > 0.03
    op = {"timestamp": stamp(start + i * step),
          "metric_type": ty, "operation": name, "component": random.choice(components),
          "system": "new" if random.random() < 0.55 else "old",
          "dataset_name": "dataset_%03d" % random.randrange(412),
          "duration_ms": round(median * random.lognormvariate(0, 0.7), 1), "success": ok}
    if not ok:
        op["error_message"] = "connection reset by peer"
    w(json.dumps(op) + "\n")
    for d in migrations.get(i, []):
        for kind in ("migration_start", "migration"):
            w(json.dumps({"timestamp": stamp(start + i * step), "metric_type": kind, "operation": "migrate",
                          "component": components[d % 4], "system": "new",
                          "dataset_name": "dataset_%03d" % d, "duration_ms": 900.0,
                          "success": kind == "migration_start" or random.random() > 0.05}) + "\n")
PY
monday=$(python3 -c 'import datetime as d; t=d.date.today(); print(t - d.timedelta(days=t.weekday(), weeks=13))')
"$MHD" --home "$work/home" init --start "$monday" >/dev/null
"$MHD" --home "$work/home" ingest operations "$work/ops.ndjson" >/dev/null 2>&1
echo "store: $(wc -l < "$work/ops.ndjson") operations over 90 days, plan started $monday${db:+, in PostgreSQL database $db}"

# Starts `mhd serve` on a home and port, waits until it is ready; its pid is in $started.
start() {
  "$MHD" --home "$1" serve --bind "127.0.0.1:$2" 2>"$1.log" &
  started=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$2/ready" >/dev/null && break
    kill -0 "$started" 2>/dev/null || { cat "$1.log" >&2; exit 1; }
    sleep 0.1
  done
  curl -fs "http://127.0.0.1:$2/api/v1/health/summary" >/dev/null
}
start "$work/home" "$PORT"
server=$started
if [[ -n $db ]]; then
  # Replica A: another process on the same database, with the same plan.
  mkdir "$work/home-a"
  cp "$work/home/migration.toml" "$work/home-a/"
  start "$work/home-a" $((PORT + 1))
  replica=$started
  echo "replicas: B at 127.0.0.1:$PORT (pid $server, loaded), A at 127.0.0.1:$((PORT + 1)) (pid $replica)"
fi
rss() { awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
echo "mhd serve (pid $server) resident memory after start: $(rss)"

for path in /health /api/v1/health/summary; do
  echo "== wrk -t2 -c256 -d${RUN}s --latency http://127.0.0.1:$PORT$path"
  wrk -t2 -c256 -d1s "http://127.0.0.1:$PORT$path" >/dev/null # warm-up, not counted
  wrk -t2 -c256 -d"${RUN}s" --latency "http://127.0.0.1:$PORT$path"
done
echo "mhd serve resident memory after the load: $(rss) (peak $(awk '/^VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"))"

# 1,000 WebSocket clients on the same process: the live bench's (b) and (c) against it
# (LIVE=path/to/the/built/live/bench runs that binary instead of building it).
if [[ -n ${LIVE:-} ]]; then live=("$LIVE" --bench); else live=(cargo bench -q -p mhd-server --bench live); fi
echo "== ${CLIENTS:-1000} WebSocket clients: cargo bench -p mhd-server --bench live (MHD_BENCH_ADDR)"
MHD_BENCH_ADDR=127.0.0.1:$PORT MHD_BENCH_PID=$server MHD_BENCH_CLIENTS=${CLIENTS:-1000} \
  "${live[@]}"
if [[ -n $replica ]]; then
  echo "== the same, the POSTs sent to replica A (MHD_BENCH_WRITE_ADDR)"
  MHD_BENCH_ADDR=127.0.0.1:$PORT MHD_BENCH_WRITE_ADDR=127.0.0.1:$((PORT + 1)) MHD_BENCH_PID=$server \
    MHD_BENCH_CLIENTS=${CLIENTS:-1000} "${live[@]}"
fi
