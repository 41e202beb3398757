#!/usr/bin/env bash
# `mhd import mdm` beside `mhd ingest operations` of the same rows, in the same run (see
# BENCHMARKS.md, "Performance on current data"), and `mhd ingest junit` memory at two report
# sizes. Needs hyperfine (Debian: apt-get install hyperfine), GNU time (/usr/bin/time) and
# python3. Everything runs in a temporary folder that is removed at the end.
#
#   bench/import.sh                     # 1,000,000 rows, 5 runs each
#   OPS=200000 RUNS=3 bench/import.sh
#   BEFORE=path/to/earlier/mhd bench/import.sh   # that build's import and JUnit ingest too
set -euo pipefail
cd "$(dirname "$0")/.."
OPS=${OPS:-1000000}
RUNS=${RUNS:-5}
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install hyperfine" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "GNU time is needed: apt-get install time" >&2; exit 2; }
cargo build --release -q -p mhd-cli
MHD=${CARGO_TARGET_DIR:-$PWD/target}/release/mhd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 bench/make_operations.py "$OPS" | python3 bench/make_mdm.py "$work/metrics.db" "$work/same.ndjson"
echo "input: $OPS rows in MDM's metrics.db ($(du -h "$work/metrics.db" | cut -f1)), the same as NDJSON ($(du -h "$work/same.ndjson" | cut -f1))"

before=()
if [[ -n ${BEFORE:-} ]]; then
  before=(-n "before: mhd import mdm" "$BEFORE --home $work/before import mdm --utc-offset Z $work/metrics.db")
fi
echo "== import beside ingest of the same rows"
hyperfine --style basic --runs "$RUNS" \
  --prepare "rm -rf $work/ingest $work/import $work/before" \
  -n "baseline: mhd ingest operations" "$MHD --home $work/ingest ingest operations $work/same.ndjson" \
  -n "mhd import mdm" "$MHD --home $work/import import mdm --utc-offset Z $work/metrics.db" \
  "${before[@]}"
size() { du -k "$1/mhd.db" "$1/mhd.db-wal" 2>/dev/null | awk '{s += $1} END {printf "%.1f MB", s / 1024}'; }
"$MHD" --home "$work/ingest" ingest operations "$work/same.ndjson" >/dev/null 2>&1
"$MHD" --home "$work/import" import mdm --utc-offset Z "$work/metrics.db" >/dev/null
echo "store after ingest: $(size "$work/ingest"); after import: $(size "$work/import")"
if [[ -n ${BEFORE:-} ]]; then
  "$BEFORE" --home "$work/before" import mdm --utc-offset Z "$work/metrics.db" >/dev/null
  echo "store after the earlier build's import: $(size "$work/before")"
fi

echo "== mhd ingest junit: peak resident memory of the whole process (baseline: mhd --version)"
for mb in 10 100; do python3 bench/make_junit.py "$mb" > "$work/junit$mb.xml"; done
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f MB", $1 / 1024}'; }
echo "baseline: mhd --version: $(peak "$MHD" --version)"
for mb in 10 100; do
  for run in 1 2 3 4 5; do
    rm -rf "$work/junit"
    echo "mhd ingest junit, $(du -h "$work/junit$mb.xml" | cut -f1) report, run $run: $(peak "$MHD" --home "$work/junit" ingest junit "$work/junit$mb.xml" --suite bench)"
    if [[ -n ${BEFORE:-} ]]; then
      rm -rf "$work/junit"
      echo "  before: $(peak "$BEFORE" --home "$work/junit" ingest junit "$work/junit$mb.xml" --suite bench)"
    fi
  done
done
