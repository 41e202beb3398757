#!/usr/bin/env bash
# `mhd ingest operations` into PostgreSQL beside psql's `\copy` of the same rows, in the same
# run (see BENCHMARKS.md, "PostgreSQL: ingest beside COPY"). Each round makes two fresh
# databases: one takes the ingest (NDJSON parsed, rollups and dataset states kept in step,
# chunks remembered, every chunk committed), the other a store made empty by mhd, into whose
# `operations` table psql copies the same rows, already converted to COPY's text format.
# Needs psql and python3; the databases are dropped at the end.
#
#   bench/pg_ingest.sh                         # 1,000,000 operations, 5 rounds
#   OPS=200000 ROUNDS=7 bench/pg_ingest.sh
#   PGURL=postgres://postgres@127.0.0.1:5432 bench/pg_ingest.sh   # the server (no database)
#   MHD=path/to/mhd bench/pg_ingest.sh         # a given build instead of building this one
#   BEFORE=path/to/earlier/mhd bench/pg_ingest.sh  # an earlier build's ingest in the same rounds
set -euo pipefail
cd "$(dirname "$0")/.."
OPS=${OPS:-1000000}
ROUNDS=${ROUNDS:-5}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
command -v psql >/dev/null || { echo "psql is needed (Debian: apt-get install postgresql-client)" >&2; exit 2; }
if [[ -z ${MHD:-} ]]; then
  cargo build --release -q -p mhd-cli
  MHD=${CARGO_TARGET_DIR:-$PWD/target}/release/mhd
fi
work=$(mktemp -d)
prefix=mhd_bench_ingest_$$
cleanup() {
  for db in "${prefix}_mhd" "${prefix}_copy" "${prefix}_before"; do
    psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

python3 bench/make_operations.py "$OPS" > "$work/ops.ndjson"
# The same rows in the columns and text format of COPY: times in microseconds, flags as 0/1,
# \N for none, the dataset's id as mhd numbers them (in order of first appearance).
python3 - "$work/ops.ndjson" > "$work/ops.tsv" <<'PY'
import datetime, json, sys
ids = {}
def field(v):
    if v is None:
        return "\\N"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
out = sys.stdout
for line in open(sys.argv[1]):
    o = json.loads(line)
    t = datetime.datetime.strptime(o["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    us = int(t.timestamp()) * 1_000_000 + t.microsecond
    name = o.get("dataset_name")
    dataset_id = ids.setdefault(name, len(ids) + 1) if name is not None else None
    meta = o.get("metadata")
    row = [us, o["metric_type"], o["operation"], name, o.get("component"), o.get("system"),
           o.get("duration_ms"), int(o.get("success", True)), o.get("row_count"),
           o.get("error_message"), None if meta is None else json.dumps(meta), None, dataset_id]
    out.write("\t".join(field(v) for v in row) + "\n")
PY
echo "input: $OPS operations, $(du -h "$work/ops.ndjson" | cut -f1) of NDJSON, $(du -h "$work/ops.tsv" | cut -f1) as COPY text"
columns="timestamp_us, metric_type, operation, dataset_name, component, system, duration_ms, success, row_count, error_message, metadata, import_key, dataset_id"

fresh() {
  psql -q "$PGURL/postgres" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}
# Seconds taken by a command (its output discarded).
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}

mhd_times=() copy_times=() before_times=()
for round in $(seq 1 "$ROUNDS"); do
  fresh "${prefix}_mhd"
  fresh "${prefix}_copy"
  before=
  if [[ -n ${BEFORE:-} ]]; then
    fresh "${prefix}_before"
    before=$(seconds "$BEFORE" --database-url "$PGURL/${prefix}_before" ingest operations "$work/ops.ndjson")
    before_times+=("$before")
  fi
  "$MHD" --database-url "$PGURL/${prefix}_copy" stats summary >/dev/null
  sync
  # Alternate which goes first, so neither always meets the other's checkpoint.
  if (( round % 2 )); then
    m=$(seconds "$MHD" --database-url "$PGURL/${prefix}_mhd" ingest operations "$work/ops.ndjson")
    c=$(seconds psql -q "$PGURL/${prefix}_copy" -c "\\copy operations ($columns) from '$work/ops.tsv'")
  else
    c=$(seconds psql -q "$PGURL/${prefix}_copy" -c "\\copy operations ($columns) from '$work/ops.tsv'")
    m=$(seconds "$MHD" --database-url "$PGURL/${prefix}_mhd" ingest operations "$work/ops.ndjson")
  fi
  stored=$(psql -qAt "$PGURL/${prefix}_mhd" -c "SELECT count(*) FROM operations")
  copied=$(psql -qAt "$PGURL/${prefix}_copy" -c "SELECT count(*) FROM operations")
  [[ $stored == "$OPS" && $copied == "$OPS" ]] || { echo "round $round: stored $stored, copied $copied of $OPS" >&2; exit 1; }
  echo "round $round: mhd ingest ${m} s, psql \\copy ${c} s${before:+, before: $before s}   (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  mhd_times+=("$m") copy_times+=("$c")
done

python3 - "$OPS" "${mhd_times[*]}" "${copy_times[*]}" "${before_times[*]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
runs = [("mhd ingest operations", sys.argv[2]), ("baseline: psql \\copy", sys.argv[3])]
if sys.argv[4]:
    runs.append(("before: mhd ingest", sys.argv[4]))
for name, times in runs:
    t = sorted(float(x) for x in times.split())
    med = statistics.median(t)
    print(f"{name:<24} min {t[0]:.2f} s  median {med:.2f} s  max {t[-1]:.2f} s"
          f"  = {n / t[-1]:,.0f} / {n / med:,.0f} / {n / t[0]:,.0f} operations/s (worst / median / best)")
PY
