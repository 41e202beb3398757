#!/usr/bin/env bash
# The live server on current data (see BENCHMARKS.md, "Performance on current data"): a store of
# OPS operations over the 90 days up to now (bench/make_operations.py) with a plan started 13
# weeks ago, checked to have data in the recent windows the views show, then a real `mhd serve`:
# the first request after it is ready, single-operation writes beside `/health` on one kept-alive
# connection, and the overview page `/` compressed under 256 connections beside `/health` in the
# same run, with the server's peak memory. Needs wrk, curl and python3. Everything runs in a
# temporary folder that is removed at the end; the server is always stopped.
#
#   bench/current.sh                       # 500,000 operations, 10 s per wrk run
#   MHD=/path/to/earlier/mhd bench/current.sh   # the same with another build
#   OPS=100000 SECONDS_PER_RUN=5 bench/current.sh
set -euo pipefail
# The log file, as on a workstation: on a machine that is itself a container, `serve` would
# otherwise log every request to standard error, which the earlier figures did not pay for.
export MHD_LOG_TO=${MHD_LOG_TO:-file}
cd "$(dirname "$0")/.."
OPS=${OPS:-500000}
RUN=${SECONDS_PER_RUN:-10}
PORT=${PORT:-18124}
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (Debian: apt-get install $tool)" >&2; exit 2; }
done
if [[ -z ${MHD:-} ]]; then
  cargo build --release -q -p mhd-cli
  MHD=${CARGO_TARGET_DIR:-$PWD/target}/release/mhd
fi
work=$(mktemp -d)
server=
cleanup() {
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 bench/make_operations.py "$OPS" > "$work/ops.ndjson"
start=$(python3 bench/plan_start.py)
"$MHD" --home "$work/home" init --start "$start" >/dev/null
"$MHD" --home "$work/home" ingest operations "$work/ops.ndjson" >/dev/null 2>&1
echo "store: $OPS operations over the 90 days up to now, plan started $start"
# The views timed below must not be empty: operations in the last 7 days for every component
# of the matrix, and in the live window (the last 5 minutes).
"$MHD" --home "$work/home" components --json | python3 bench/check_views.py
recent=$("$MHD" --home "$work/home" stats show --since 5m -n 1000 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[[ $recent -gt 0 ]] || { echo "no operation in the last 5 minutes: the benchmark would time empty views" >&2; exit 1; }
echo "live window: $recent operations in the last 5 minutes"

"$MHD" --home "$work/home" serve --bind "127.0.0.1:$PORT" 2>"$work/serve.log" &
server=$!
for _ in $(seq 1 200); do
  curl -fs "http://127.0.0.1:$PORT/ready" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.05
done
base="http://127.0.0.1:$PORT"
echo "== the first requests once /ready answers (baseline: /health right after)"
for path in / /api/v1/health/summary /health; do
  curl -s -o /dev/null -w "$path: %{time_total} s\n" "$base$path"
done
rss() { awk '/^VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
hwm() { awk '/^VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$server/status"; }
echo "resident memory after start: $(rss) (peak $(hwm))"

echo "== single-operation writes on one kept-alive connection, each beside GET /health"
python3 bench/write_latency.py "127.0.0.1:$PORT" "${WRITES:-2000}"

for route in "/health" "/ gzip" "/ br"; do
  set -- $route
  path=$1
  headers=()
  [[ -n ${2:-} ]] && headers=(-H "Accept-Encoding: $2")
  echo "== wrk -t2 -c256 -d${RUN}s --latency ${headers[*]} $base$path"
  wrk -t2 -c256 -d1s "${headers[@]}" "$base$path" >/dev/null # warm-up, not counted
  wrk -t2 -c256 -d"${RUN}s" --latency "${headers[@]}" "$base$path"
done
echo "resident memory after the load: $(rss) (peak $(hwm))"
