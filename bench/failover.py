#!/usr/bin/env python3
"""Failover of the lead between `mhd serve` replicas on one PostgreSQL database (BENCHMARKS.md,
"Failover"): three replicas start on a fresh database; the leader is killed (SIGKILL) and the
time until another replica's first alert evaluation (`mhd_alert_evaluations_total` rising in its
`/metrics`) is measured. Baseline, in the same run: a fresh `mhd serve` from its start to its
first alert evaluation. The plan evaluates the alerts every 15 s (the default), so a leader that
only waited for its next tick would show up to 15 s.

    cargo build --release -p mhd-cli
    python3 bench/failover.py [ROUNDS]      # default 5; needs psql and PostgreSQL at 127.0.0.1:5432

MHD (the binary, default target/release/mhd) and PGURL (default
postgres://postgres@127.0.0.1:5432) change where it looks.
"""
import os, re, signal, socket, statistics, subprocess, sys, tempfile, time, urllib.request

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
MHD = os.environ.get("MHD") or os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "mhd")
PGURL = os.environ.get("PGURL", "postgres://postgres@127.0.0.1:5432")
DB = "mhd_bench_failover"
# The log file, as on a workstation (in a container `serve` would log to standard error).
os.environ.setdefault("MHD_LOG_TO", "file")


def psql(sql):
    subprocess.run(["psql", f"{PGURL}/test", "-qc", sql], check=True, capture_output=True)


def serve(home, url):
    """Starts a replica; returns the process and its address (from the line it prints)."""
    p = subprocess.Popen([MHD, "--home", home, "--database-url", url, "serve", "--bind", "127.0.0.1:0"],
                         stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        m = re.search(r"http://([0-9.]+:[0-9]+)", line)
        if m:
            # Keep reading its standard error so that it never blocks on a full pipe.
            import threading
            threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
            return p, m.group(1)
    raise SystemExit(f"mhd serve ended: {p.wait()}")


def metric(addr, name):
    try:
        text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=2).read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name}(?:_total)? ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


def wait(cond, limit=60):
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > limit:
            raise SystemExit("gave up waiting")
        time.sleep(0.01)
    return time.monotonic() - start


def stop(p):
    p.kill()
    p.wait()


failovers, starts = [], []
for r in range(ROUNDS):
    psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {DB}")
    url = f"{PGURL}/{DB}"
    with tempfile.TemporaryDirectory() as home:
        subprocess.run([MHD, "--home", home, "init"], check=True, capture_output=True)
        # Baseline: a fresh server, start to first evaluation.
        t0 = time.monotonic()
        first, first_addr = serve(home, url)
        wait(lambda: (metric(first_addr, "mhd_alert_evaluations") or 0) >= 1)
        starts.append(time.monotonic() - t0)
        others = [serve(home, url) for _ in range(2)]
        assert metric(first_addr, "mhd_leader") == 1
        before = {a: metric(a, "mhd_alert_evaluations") or 0 for _, a in others}
        t0 = time.monotonic()
        stop(first)
        wait(lambda: any((metric(a, "mhd_alert_evaluations") or 0) > before[a] for _, a in others))
        failovers.append(time.monotonic() - t0)
        leaders = [a for _, a in others if metric(a, "mhd_leader") == 1]
        assert len(leaders) == 1, leaders
        for p, _ in others:
            stop(p)
    print(f"round {r + 1}: failover {failovers[-1] * 1000:.0f} ms, cold start {starts[-1] * 1000:.0f} ms", flush=True)
psql(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")


def row(name, xs):
    xs = sorted(xs)
    print(f"| {name} | {xs[0] * 1000:.0f} | {statistics.median(xs) * 1000:.0f} | {xs[-1] * 1000:.0f} |")


print(f"\n{ROUNDS} rounds, load {os.getloadavg()[0]:.1f}\n")
print("| from → to first alert evaluation | min ms | median ms | max ms |\n| --- | --- | --- | --- |")
row("leader killed → another replica's (failover)", failovers)
row("baseline: `mhd serve` started → its own", starts)
