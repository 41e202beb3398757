//! Live server benchmarks (DESIGN §7), each figure beside a baseline measured in the same run:
//!
//! - (a) `GET /api/v1/health/summary` under 256 concurrent keep-alive connections, beside the
//!   static `/health` of the same server;
//! - (b) from the `201` of a `POST /api/v1/operations` to the `metrics:update` frame at each of
//!   1,000 WebSocket clients, beside the POST's own round trip;
//! - (c) the resident memory with those 1,000 clients connected, beside the memory once the
//!   store was seeded.
//!
//! The store holds 90 days: the demo's history for a plan that started 13 weeks ago, plus
//! 500,000 operations of everyday traffic (`MHD_BENCH_OPS` changes that). The server runs in
//! this process on its own two-thread runtime; the load generator and the WebSocket clients
//! run on another runtime of the same process, so they share the two cores with the server and
//! (c) counts the clients' memory too.
//!
//! Run with `cargo bench -p mhd-server --bench live` (`MHD_BENCH_SECONDS` sets the length of
//! each load run, default 10; `MHD_BENCH_CLIENTS` the WebSocket clients, default 1,000).
//!
//! With `MHD_BENCH_ADDR=127.0.0.1:PORT` and `MHD_BENCH_PID=PID` it runs (b) and (c) against an
//! already running `mhd serve` instead (`bench/serve.sh` does so) and reads that process's memory.
//! `MHD_BENCH_HOLD=SECONDS` keeps the clients connected that long after (c), so the server can
//! be inspected (`/proc/PID/smaps`, `heaptrack -p PID`) while it holds them.
//! `MHD_BENCH_WRITE_ADDR=127.0.0.1:PORT` sends the POSTs of (b) to another replica of the same
//! PostgreSQL store than the one the clients listen to, so (b) times the change crossing
//! replicas (`bench/serve.sh` with `DATABASE_URL` does so).

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mhd_core::{NewOperation, System};
use mhd_server::AppState;
use mhd_server::demo::{COMPONENTS, Rng, seed_history};
use mhd_store::Database;
use time::{OffsetDateTime, UtcOffset};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Concurrent connections of the HTTP load.
const CONNECTIONS: usize = 256;
/// POSTs whose live update is timed.
const POSTS: usize = 20;
/// WebSocket handshakes (each answered with a freshly computed `initial_data`) in flight at once.
const CONNECTING: usize = 16;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seconds = env_or("MHD_BENCH_SECONDS", 10);
    let clients = env_or("MHD_BENCH_CLIENTS", 1000) as usize;
    let bulk = env_or("MHD_BENCH_OPS", 500_000) as usize;
    if let Ok(addr) = std::env::var("MHD_BENCH_ADDR") {
        let addr: SocketAddr = addr
            .parse()
            .expect("MHD_BENCH_ADDR: an address like 127.0.0.1:8000");
        let pid = std::env::var("MHD_BENCH_PID").expect("MHD_BENCH_PID: the server's process id");
        let status = format!("/proc/{pid}/status");
        let write_addr = std::env::var("MHD_BENCH_WRITE_ADDR").map_or(addr, |a| {
            a.parse()
                .expect("MHD_BENCH_WRITE_ADDR: an address like 127.0.0.1:8001")
        });
        external(addr, write_addr, &status, clients);
        return;
    }
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("the server's runtime");
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load")
        .enable_all()
        .build()
        .expect("the load generator's runtime");

    let dir = tempfile::tempdir().expect("a temporary folder");
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    let (store, plan, stored) = server_rt.block_on(seed(&dir.path().join("mhd.db"), now, bulk));
    println!(
        "store: {stored} operations over 90 days (demo history + {bulk} of traffic), seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rss_seeded = rss_kib();

    let state = AppState::new(store, Some(plan), UtcOffset::UTC);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port on 127.0.0.1");
    let addr = listener.local_addr().expect("the bound address");
    server_rt.spawn(async move {
        axum::serve(listener, mhd_server::app(state))
            .await
            .expect("the server runs");
    });

    client_rt.block_on(async {
        let cost = single_requests(addr).await;
        println!(
            "one request alone (median of 50): /health {:.3} ms, /api/v1/health/summary {:.3} ms",
            ms(cost.0),
            ms(cost.1)
        );
        println!("== (a) {CONNECTIONS} connections, {seconds} s each, keep-alive HTTP/1.1");
        for path in ["/health", "/api/v1/health/summary"] {
            // One second of warm-up, not counted.
            load(addr, path, Duration::from_secs(1)).await;
            let run = load(addr, path, Duration::from_secs(seconds)).await;
            println!("{path:<26} {run}");
        }
        println!("== (b) {clients} WebSocket clients, {POSTS} POSTs");
        let ws = live_updates(addr, addr, clients, rss_kib).await;
        let rss_clients = rss_kib();
        println!("== (c) resident memory of this process (server, store and clients)");
        println!(
            "after seeding: {:.1} MB; with {clients} WebSocket clients after (b): {:.1} MB",
            rss_seeded as f64 / 1024.0,
            rss_clients as f64 / 1024.0
        );
        hold().await;
        drop(ws);
    });
    client_rt.shutdown_timeout(Duration::from_secs(1));
    server_rt.shutdown_timeout(Duration::from_secs(1));
}

/// A store with 90 days of data and the plan of a migration that started 13 weeks ago.
async fn seed(
    path: &std::path::Path,
    now: OffsetDateTime,
    bulk: usize,
) -> (Database, mhd_core::plan::Plan, u64) {
    let today = now.date();
    let monday = today - time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let start = monday - time::Duration::weeks(13);
    let text = mhd_core::plan::default_plan_toml(start);
    let plan = mhd_core::plan::parse(&text, "migration.toml").expect("the plan parses");
    let store = Database::open_file(path, 8).await.expect("the store opens");
    let mut stored = seed_history(&store, &plan, now, 8)
        .await
        .expect("the history is stored");
    let mut rng = Rng::new(90);
    let first = now - time::Duration::days(90);
    let step_us = 90 * 86_400_000_000i64 / bulk.max(1) as i64;
    let mut chunk = Vec::with_capacity(8192);
    for i in 0..bulk {
        let at = first + time::Duration::microseconds(i as i64 * step_us);
        chunk.push(traffic(&mut rng, at));
        if chunk.len() == 8192 || i + 1 == bulk {
            stored += store
                .insert_operations(&chunk)
                .await
                .expect("the traffic is stored");
            chunk.clear();
        }
    }
    (store, plan, stored)
}

/// One operation of everyday traffic, shaped like the demo's.
fn traffic(rng: &mut Rng, at: OffsetDateTime) -> NewOperation {
    let (ty, name, median) = match rng.below(4) {
        0 => ("dataset_read", "read", 40.0),
        1 => ("query_execution", "query", 120.0),
        2 => ("feature_generation", "generate features", 900.0),
        _ => ("storage_operation", "write batch", 60.0),
    };
    let mut o = NewOperation::new(at, ty, name);
    o.component = Some(COMPONENTS[rng.below(4) as usize].to_owned());
    o.system = Some(if rng.chance(0.55) {
        System::New
    } else {
        System::Old
    });
    o.duration_ms = Some((rng.duration_ms(median) * 10.0).round() / 10.0);
    o.dataset_name = Some(format!("dataset_{:03}", rng.below(412)));
    o.success = !rng.chance(0.03);
    if !o.success {
        o.error_message = Some("connection reset by peer".to_owned());
    }
    o
}

/// (b) and (c) against a running server whose `/proc/PID/status` is `status`, the POSTs sent
/// to `write_addr` (the same server, or another replica of its store).
fn external(addr: SocketAddr, write_addr: SocketAddr, status: &str, clients: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("the clients' runtime");
    rt.block_on(async {
        let before = proc_kib(status, "VmRSS:");
        if write_addr == addr {
            println!("== (b) {clients} WebSocket clients, {POSTS} POSTs, server at {addr}");
        } else {
            println!(
                "== (b) {clients} WebSocket clients on the replica at {addr}, {POSTS} POSTs to \
                 the replica at {write_addr}"
            );
        }
        let ws = live_updates(addr, write_addr, clients, || proc_kib(status, "VmRSS:")).await;
        println!("== (c) resident memory of the server process");
        println!(
            "before the clients: {:.1} MB; with {clients} WebSocket clients after (b): {:.1} MB \
             (peak {:.1} MB)",
            before as f64 / 1024.0,
            proc_kib(status, "VmRSS:") as f64 / 1024.0,
            proc_kib(status, "VmHWM:") as f64 / 1024.0
        );
        hold().await;
        drop(ws);
    });
    rt.shutdown_timeout(Duration::from_secs(1));
}

/// Waits `MHD_BENCH_HOLD` seconds (none by default) with the clients still connected.
async fn hold() {
    let seconds = env_or("MHD_BENCH_HOLD", 0);
    if seconds > 0 {
        println!("holding the clients for {seconds} s");
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
}

/// The resident set of this process, in KiB.
fn rss_kib() -> u64 {
    proc_kib("/proc/self/status", "VmRSS:")
}

/// A `kB` field of a `/proc/PID/status` file, in KiB (0 when it cannot be read).
fn proc_kib(status: &str, field: &str) -> u64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A keep-alive HTTP/1.1 connection that sends one request at a time.
struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    async fn connect(addr: SocketAddr) -> Http {
        let stream = TcpStream::connect(addr).await.expect("the server accepts");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Http {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Sends `request` whole and reads the response; returns its status.
    async fn call(&mut self, request: &[u8]) -> u16 {
        self.stream
            .write_all(request)
            .await
            .expect("the request is sent");
        self.buf.clear();
        let mut head_end = None;
        let mut body_len = 0;
        loop {
            if head_end.is_none()
                && let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n")
            {
                head_end = Some(i + 4);
                body_len = content_length(&self.buf[..i]);
            }
            if let Some(h) = head_end
                && self.buf.len() >= h + body_len
            {
                break;
            }
            let n = self
                .stream
                .read_buf(&mut self.buf)
                .await
                .expect("the response is read");
            assert!(n > 0, "the server closed the connection");
        }
        std::str::from_utf8(&self.buf[9..12])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// The `Content-Length` of a response head (the server's JSON answers always carry one).
fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head);
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .expect("a Content-Length header")
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").into_bytes()
}

/// Median latency of 50 requests sent one at a time: what one request costs without load.
async fn single_requests(addr: SocketAddr) -> (Duration, Duration) {
    let mut conn = Http::connect(addr).await;
    let median = |mut v: Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let mut out = Vec::new();
    for path in ["/health", "/api/v1/health/summary"] {
        let req = get(path);
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            assert_eq!(conn.call(&req).await, 200, "{path}");
            times.push(t.elapsed());
        }
        out.push(median(times));
    }
    (out[0], out[1])
}

/// Latencies of one load run.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.latencies;
        write!(
            f,
            "{:>8.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} requests)",
            l.len() as f64 / self.elapsed.as_secs_f64(),
            ms(percentile(l, 0.50)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap_or(&Duration::ZERO)),
            l.len()
        )
    }
}

/// The `q` quantile of sorted latencies.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// [`CONNECTIONS`] connections each sending `GET path` back to back for `length`.
async fn load(addr: SocketAddr, path: &str, length: Duration) -> Run {
    let mut conns = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        conns.push(Http::connect(addr).await);
    }
    let request: Arc<[u8]> = get(path).into();
    let started = Instant::now();
    let deadline = started + length;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    assert_eq!(conn.call(&request).await, 200);
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("a load task"));
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Run { latencies, elapsed }
}

/// Whether a server message is of type `kind`. The server writes `{"data":…,"type":…}` (keys
/// in order), so the type is at the end; the start is checked too in case the order changes.
fn is_type(text: &str, kind: &str) -> bool {
    let needle = format!("\"type\":\"{kind}\"");
    let b = text.as_bytes();
    let ends = [&b[..b.len().min(64)], &b[b.len().saturating_sub(64)..]];
    ends.iter()
        .any(|part| part.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// (b): connects `clients` WebSocket clients to `addr`, then times the updates of 20 POSTs
/// sent to `write_addr`; returns the clients' tasks so they stay connected for (c). `rss` reads the resident memory (KiB) that
/// (c) reports, shown once the clients are connected and before the POSTs make the server
/// render updates: the clients' own cost apart from the rendering's.
async fn live_updates(
    addr: SocketAddr,
    write_addr: SocketAddr,
    clients: usize,
    rss: impl Fn() -> u64,
) -> Vec<tokio::task::JoinHandle<()>> {
    // Each update heard, with the client that heard it.
    let (tx, mut updates) = mpsc::unbounded_channel::<(usize, Instant)>();
    let url = format!("ws://{addr}/ws/dashboard");
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<usize>();
    let gate = Arc::new(tokio::sync::Semaphore::new(CONNECTING));
    for client in 0..clients {
        let (url, tx, ready_tx, gate) = (url.clone(), tx.clone(), ready_tx.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("the gate stays open");
            let (mut ws, _) = tokio_tungstenite::connect_async(&url)
                .await
                .expect("the WebSocket opens");
            // The first message is always initial_data.
            let size = match ws.next().await {
                Some(Ok(Message::Text(t))) if is_type(t.as_str(), "initial_data") => t.len(),
                other => panic!("expected initial_data, got {other:?}"),
            };
            drop(permit);
            let _ = ready_tx.send(size);
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg
                    && is_type(t.as_str(), "metrics:update")
                {
                    let _ = tx.send((client, Instant::now()));
                }
            }
        }));
    }
    let mut size = 0;
    for _ in 0..clients {
        size = ready.recv().await.expect("every client connects");
    }
    println!(
        "{clients} clients connected and read initial_data ({:.1} KB each) in {:.1} s, \
         {CONNECTING} at a time",
        size as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
    // Let the last connections settle before reading the memory.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!(
        "resident memory with the clients connected, before the POSTs: {:.1} MB",
        rss() as f64 / 1024.0
    );

    let mut conn = Http::connect(write_addr).await;
    let mut posts = Vec::with_capacity(POSTS);
    let mut delays = Vec::with_capacity(POSTS * clients);
    let mut rng = Rng::new(7);
    for round in 0..POSTS {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let body: String = (0..10)
            .map(|_| {
                format!(
                    "{{\"metric_type\":\"dataset_read\",\"operation\":\"read\",\"component\":\"{}\",\
                     \"system\":\"new\",\"duration_ms\":{:.1},\"dataset_name\":\"dataset_{:03}\"}}\n",
                    COMPONENTS[rng.below(4) as usize],
                    rng.duration_ms(40.0),
                    rng.below(412)
                )
            })
            .collect();
        let request = format!(
            "POST /api/v1/operations HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        // A server may push a write twice (on PostgreSQL it also hears its own write's
        // notification): whatever came after the last round's first update is not this one's.
        while updates.try_recv().is_ok() {}
        let sent = Instant::now();
        assert_eq!(conn.call(request.as_bytes()).await, 201, "POST {round}");
        let accepted = Instant::now();
        posts.push(accepted - sent);
        // The first update each client hears after the POST was sent.
        let mut heard = vec![false; clients];
        let mut missing = clients;
        while missing > 0 {
            let (client, at) = tokio::time::timeout(Duration::from_secs(10), updates.recv())
                .await
                .expect("every client hears the update within 10 s")
                .expect("the clients are running");
            if at < sent || std::mem::replace(&mut heard[client], true) {
                continue;
            }
            missing -= 1;
            delays.push(at.saturating_duration_since(accepted));
        }
    }
    posts.sort_unstable();
    delays.sort_unstable();
    let line = |name: &str, l: &[Duration]| {
        println!(
            "{name:<44} p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  ({} samples)",
            ms(percentile(l, 0.50)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap_or(&Duration::ZERO)),
            l.len()
        );
    };
    line("baseline: POST round trip to its 201", &posts);
    line("201 → metrics:update at each client", &delays);
    tasks
}
