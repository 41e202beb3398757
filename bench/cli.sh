#!/usr/bin/env bash
# Whole-process benchmarks of the single-user commands, each beside a plain baseline measured
# in the same run (see BENCHMARKS.md). Needs hyperfine (Debian: apt-get install hyperfine) and
# python3. Everything runs in a temporary folder that is removed at the end.
#
#   bench/cli.sh            # 1,000,000 operations
#   OPS=200000 bench/cli.sh # fewer
set -euo pipefail
cd "$(dirname "$0")/.."
OPS=${OPS:-1000000}
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 2; }
cargo build --release -q -p mhd-cli
MHD=${CARGO_TARGET_DIR:-$PWD/target}/release/mhd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 bench/make_operations.py "$OPS" > "$work/ops.ndjson"
echo "input: $OPS operations, $(du -h "$work/ops.ndjson" | cut -f1) of NDJSON"

# BEFORE=path/to/an/earlier/mhd adds that binary's ingest to the same run, for comparison.
before=()
if [ -n "${BEFORE:-}" ]; then
  before=(-n "before: $BEFORE" "$BEFORE --home $work/ingest ingest operations $work/ops.ndjson"
          -n "before: --strict" "$BEFORE --home $work/ingest ingest operations --strict $work/ops.ndjson")
fi
echo "== ingest (baseline: reading the file)"
hyperfine --style basic --runs 3 \
  --prepare "rm -rf $work/ingest" \
  -n "baseline: cat file > /dev/null" "cat $work/ops.ndjson > /dev/null" \
  "${before[@]}" \
  -n "mhd ingest operations" "$MHD --home $work/ingest ingest operations $work/ops.ndjson" \
  -n "mhd ingest operations --strict" "$MHD --home $work/ingest ingest operations --strict $work/ops.ndjson"

# A store with the operations and the specification's plan started 13 weeks ago (the data ends
# now), for the read commands; the views they time must not be empty.
$MHD --home "$work/home" ingest operations "$work/ops.ndjson" 2>/dev/null
$MHD --home "$work/home" init --start "$(python3 bench/plan_start.py)" >/dev/null
$MHD --home "$work/home" components --json | python3 bench/check_views.py

echo "== the same input again: every chunk is known, nothing is stored (baseline: reading the file)"
hyperfine --style basic --runs 3 \
  -n "baseline: cat file > /dev/null" "cat $work/ops.ndjson > /dev/null" \
  -n "mhd ingest operations, again" "$MHD --home $work/home ingest operations $work/ops.ndjson"

echo "== read commands over $OPS operations (baseline: mhd --version, the process alone)"
hyperfine -N --style basic --warmup 3 --runs 30 --export-json "$work/reads.json" \
  -n "baseline: mhd --version" "$MHD --version" \
  -n "mhd stats summary" "$MHD --home $work/home stats summary" \
  -n "mhd stats show" "$MHD --home $work/home stats show" \
  -n "mhd stats dashboard" "$MHD --home $work/home stats dashboard -o $work/dashboard.html --no-open"

python3 - "$work/reads.json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    t = sorted(x * 1000 for x in r["times"])
    print(f"{r['command']:<28} min {t[0]:.1f} ms  median {statistics.median(t):.1f} ms  max {t[-1]:.1f} ms")
PY

echo "== one mhd record call, the whole process (baseline: mhd --version)"
hyperfine -N --style basic --warmup 5 --runs 100 \
  -n "baseline: mhd --version" "$MHD --version" \
  -n "mhd record" "$MHD --home $work/home record -t migration -o migrate -d bench --duration-ms 5"
