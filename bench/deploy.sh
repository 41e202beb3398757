#!/usr/bin/env bash
# The container image and operating figures (BENCHMARKS.md, "Deployment"), each beside a plain
# baseline of the same run:
#   - the image's compressed size (docker save | gzip) beside the base image's alone;
#   - docker run → /ready on a SQLite store, beside docker run of the base image's `true`;
#   - a changed plan file → the new plan in force (/ready names it), beside a restart of the
#     server outside a container (start → /ready).
# Needs Docker, a Debian bookworm base image (BASE, default mhd-test-base:bookworm: .ci/run makes
# it with debootstrap), curl and python3. ROUNDS (default 5) rounds.
#
#   cargo build --release -p mhd-cli && bench/deploy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BASE=${BASE:-mhd-test-base:bookworm}
MHD=${MHD:-${CARGO_TARGET_DIR:-$PWD/target}/release/mhd}
PORT=${PORT:-18321}
work=$(mktemp -d)
image=mhd-bench:$$
container=mhd-bench-$$
server=
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  docker rmi -f "$image" >/dev/null 2>&1 || true
  if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
ms() { python3 -c 'import sys; print(f"{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f}")' "$1" "$2"; }
now() { date +%s.%N; }
wait_ready() { until curl -sf "http://127.0.0.1:$1/ready" >/dev/null; do sleep 0.005; done; }
summary() { python3 -c 'import sys, statistics; x = sorted(map(float, sys.argv[1:])); print(f"{x[0]:.0f} / {statistics.median(x):.0f} / {x[-1]:.0f}")' "$@"; }

mkdir -p "$work/context"
cp Dockerfile "$work/context/"
strip --strip-debug -o "$work/context/mhd" "$MHD"
docker build -q --network host -t "$image" --build-arg BASE="$BASE" --build-arg BUILDER="$BASE" \
  --build-arg PREBUILT=mhd "$work/context" >/dev/null
image_gz=$(docker save "$image" | gzip -6 | wc -c)
base_gz=$(docker save "$BASE" | gzip -6 | wc -c)

runs=() bases=() reloads=() restarts=()
for _ in $(seq "$ROUNDS"); do
  t0=$(now)
  docker run -d --network host --name "$container" -e MHD_BIND=127.0.0.1:$PORT "$image" >/dev/null
  wait_ready "$PORT"
  runs+=("$(ms "$t0" "$(now)")")
  docker rm -f "$container" >/dev/null
  t0=$(now); docker run --rm --network host "$BASE" true; bases+=("$(ms "$t0" "$(now)")")

  # The plan: changed on disk, in force when /ready names it; beside a restart.
  home="$work/home"; rm -rf "$home"; mkdir -p "$home"
  "$MHD" --home "$home" init >/dev/null
  t0=$(now)
  "$MHD" --home "$home" serve --bind 127.0.0.1:$PORT 2>/dev/null & server=$!
  wait_ready "$PORT"
  restarts+=("$(ms "$t0" "$(now)")")
  sed -i '0,/^name = .*/s//name = "Reloaded"/' "$home/migration.toml"
  t0=$(now)
  until curl -sf "http://127.0.0.1:$PORT/ready" | grep -q '"plan":"Reloaded"'; do sleep 0.005; done
  reloads+=("$(ms "$t0" "$(now)")")
  kill "$server"; wait "$server" 2>/dev/null || true; server=
done

echo "load $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds (min / median / max)"
echo "| what | mhd | baseline (same run) |"
echo "| --- | --- | --- |"
echo "| image, compressed (docker save, gzip) | $((image_gz / 1000000)) MB | base image alone: $((base_gz / 1000000)) MB |"
echo "| docker run → /ready (SQLite, ms) | $(summary "${runs[@]}") | docker run base true: $(summary "${bases[@]}") |"
echo "| plan file changed → in force (ms) | $(summary "${reloads[@]}") | restart instead (start → /ready): $(summary "${restarts[@]}") |"
