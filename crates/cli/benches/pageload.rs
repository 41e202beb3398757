//! Page-load benchmark (DESIGN §7): every page of the live server with 90 days of data, loaded
//! in a real headless Chromium (Debian's `chromium` and `chromedriver`, driven over WebDriver),
//! beside a baseline loaded the same way in the same run: the service worker script, a static
//! route of the same server.
//!
//! For each page, `MHD_BENCH_RUNS` loads (default 10) with the browser's cache disabled and
//! the pages' service worker bypassed, so each load fetches everything the page needs from the
//! server, as a first visit does. From the Navigation and Resource Timing APIs:
//! the load event (`loadEventEnd`, from the start of the navigation), and the bytes on the wire
//! (`transferSize`: headers and compressed bodies; Chromium asks for gzip on plain HTTP) of the
//! page and of everything it loaded, and the page's server time (request start to first byte). Printed: median and p95 (nearest rank) of the load event,
//! the median bytes, and the size of the WebSocket's `initial_data` message, which the page's
//! script receives after the load event (not compressed: WebSocket frames are not).
//!
//! The store holds the demo's history for a plan that started 13 weeks ago, 90 days of
//! everyday traffic (`MHD_BENCH_OPS` operations, default 500,000) and an hour of host samples.
//! The server runs in this process on its own two-thread runtime; Chromium shares the two
//! cores with it.
//!
//! Run with `cargo bench -p mhd-cli --bench pageload`. Without Chromium it prints a notice
//! and exits.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use mhd_core::sample::Sample;
use mhd_core::{NewOperation, System};
use mhd_server::AppState;
use mhd_server::demo::{COMPONENTS, Rng, seed_history};
use mhd_store::{Database, Store};
use mhd_testkit::fantoccini::Client;
use mhd_testkit::{Browsers, Cdp, Children, Session};
use serde_json::json;
use time::{OffsetDateTime, UtcOffset};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let Some(browsers) = Browsers::find() else {
        println!(
            "pageload: chromium and chromedriver not found (Debian: apt-get install -y chromium chromium-driver); nothing measured"
        );
        return;
    };
    let runs = env_or("MHD_BENCH_RUNS", 10).max(1) as usize;
    let bulk = env_or("MHD_BENCH_OPS", 500_000) as usize;

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("the server's runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    let (store, plan, stored) = server_rt.block_on(seed(&dir.path().join("mhd.db"), now, bulk));
    println!(
        "store: {stored} operations over 90 days (demo history + {bulk} of traffic) and an hour of host samples, seeded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let state = AppState::new(store, Some(plan), UtcOffset::UTC);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a port on 127.0.0.1");
    let addr = listener.local_addr().expect("the bound address");
    server_rt.spawn(async move {
        mhd_server::serve(listener, state, std::future::pending())
            .await
            .expect("the server runs");
    });

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("the browser driver's runtime");
    let mut children = Children::default();
    let profile = tempfile::tempdir().expect("a browser profile folder");
    client_rt.block_on(async {
        let client = Session::default()
            .open(&browsers, &mut children, profile.path())
            .await;
        // Every load fetches everything, as on a first visit: nothing from the browser's cache,
        // and past the pages' service worker (whose own fetch would hide the compressed sizes
        // from the page's timings).
        for cmd in [
            json!({ "cmd": "Network.enable", "params": {} }),
            json!({ "cmd": "Network.setCacheDisabled", "params": { "cacheDisabled": true } }),
            json!({ "cmd": "Network.setBypassServiceWorker", "params": { "bypass": true } }),
        ] {
            client.issue_cmd(Cdp(cmd)).await.expect("a DevTools command");
        }
        let mut paths: Vec<(String, &str)> = vec![("/sw.js".to_owned(), "baseline: static script")];
        paths.extend(
            mhd_web::views::PageKind::ALL
                .iter()
                .map(|p| (p.path().to_owned(), p.label())),
        );
        // One load of each page first, not counted: the server's caches fill.
        for (path, _) in &paths {
            measure(&client, addr, path).await;
        }
        println!(
            "== {runs} loads of each page, cache disabled, service worker bypassed; load event and bytes on the wire (page + everything it loads)"
        );
        println!(
            "{:<34} {:>10} {:>10} {:>11} {:>12} {:>12} {:>9}",
            "page", "load p50", "load p95", "server p50", "transferred", "uncompressed", "requests"
        );
        for (path, label) in &paths {
            let mut loads = Vec::with_capacity(runs);
            let mut servers = Vec::with_capacity(runs);
            let mut sizes = Vec::with_capacity(runs);
            let mut decoded = 0.0;
            let mut requests = 0;
            for _ in 0..runs {
                let m = measure(&client, addr, path).await;
                loads.push(m.load_ms);
                servers.push(m.server_ms);
                sizes.push(m.transferred);
                decoded = m.decoded;
                requests = m.requests;
            }
            println!(
                "{:<34} {:>7.1} ms {:>7.1} ms {:>8.1} ms {:>9.1} KB {:>9.1} KB {:>9}",
                format!("{path} ({label})"),
                percentile(&mut loads, 50.0),
                percentile(&mut loads, 95.0),
                percentile(&mut servers, 50.0),
                percentile(&mut sizes, 50.0) / 1024.0,
                decoded / 1024.0,
                requests
            );
        }
        let initial = initial_data_bytes(&client, addr).await;
        println!(
            "initial_data over the WebSocket after the load event: {:.1} KB (uncompressed frame)",
            initial / 1024.0
        );
        let _ = tokio::time::timeout(Duration::from_secs(5), client.close()).await;
    });
    drop(children);
    server_rt.shutdown_timeout(Duration::from_secs(1));
}

/// One load's figures.
struct Load {
    load_ms: f64,
    /// From the request's start to the response's first byte: the server's time.
    server_ms: f64,
    transferred: f64,
    decoded: f64,
    requests: usize,
}

/// Loads `path` and reads its timings once the load event has ended.
async fn measure(client: &Client, addr: SocketAddr, path: &str) -> Load {
    let url = format!("http://{addr}{path}");
    client
        .goto(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot load {url}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = client
            .execute(
                "const n = performance.getEntriesByType('navigation')[0];\
                 if (!n || !n.loadEventEnd) return null;\
                 const r = performance.getEntriesByType('resource');\
                 return { load: n.loadEventEnd, status: n.responseStatus,\
                   server: n.responseStart - n.requestStart,\
                   transferred: n.transferSize + r.reduce((a, e) => a + e.transferSize, 0),\
                   decoded: n.decodedBodySize + r.reduce((a, e) => a + e.decodedBodySize, 0),\
                   requests: 1 + r.length };",
                Vec::new(),
            )
            .await
            .expect("read the timings");
        if !v.is_null() {
            assert_eq!(v["status"], json!(200), "{url} answered {}", v["status"]);
            return Load {
                load_ms: v["load"].as_f64().unwrap_or(f64::NAN),
                server_ms: v["server"].as_f64().unwrap_or(f64::NAN),
                transferred: v["transferred"].as_f64().unwrap_or(f64::NAN),
                decoded: v["decoded"].as_f64().unwrap_or(f64::NAN),
                requests: v["requests"].as_u64().unwrap_or(0) as usize,
            };
        }
        assert!(Instant::now() < deadline, "{url}: no load event in 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The size of the first message the dashboard's WebSocket sends (`initial_data`), as the
/// page's script receives it.
async fn initial_data_bytes(client: &Client, addr: SocketAddr) -> f64 {
    client
        .goto(&format!("http://{addr}/sw.js"))
        .await
        .expect("a page to run the script from");
    let v = client
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             const ws = new WebSocket('ws://' + location.host + '/ws/dashboard');\
             ws.onmessage = (e) => { done(new TextEncoder().encode(e.data).length); ws.close(); };\
             ws.onerror = () => done(-1);",
            Vec::new(),
        )
        .await
        .expect("the WebSocket's first message");
    v.as_f64().unwrap_or(f64::NAN)
}

/// The `p`th percentile by nearest rank.
fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    values[rank.min(values.len()) - 1]
}

/// A store with 90 days of data: the demo's history for a plan that started 13 weeks ago,
/// `bulk` operations of traffic spread over the 90 days, and an hour of host samples.
async fn seed(
    path: &Path,
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
    store
        .insert_samples(&host_samples(&mut rng, now))
        .await
        .expect("the samples are stored");
    (store, plan, stored)
}

/// An hour of a host's samples every 15 s, and its busiest processes now.
fn host_samples(rng: &mut Rng, now: OffsetDateTime) -> Vec<Sample> {
    const GB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MB: f64 = 1024.0 * 1024.0;
    let mut out = Vec::new();
    for i in 0..240 {
        let at = now - time::Duration::seconds(15 * i);
        let s = |metric: &str, value: f64| Sample::new(at, metric, value);
        let used = (9.0 + rng.unit() * 2.0) * GB;
        out.extend([
            s("cpu_percent", 40.0 + rng.unit() * 40.0),
            s("memory_used_bytes", used),
            s("memory_available_bytes", 16.0 * GB - used),
            s("memory_percent", used / (16.0 * GB) * 100.0),
            s("disk_read_bytes_per_second", rng.unit() * 150.0 * MB),
            s("disk_write_bytes_per_second", rng.unit() * 50.0 * MB),
            s("network_in_bytes_per_second", rng.unit() * 15.0 * MB),
            s("network_out_bytes_per_second", rng.unit() * 10.0 * MB),
            s("db_connections_active", 30.0 + rng.unit() * 20.0),
            s("db_queries_per_second", 1000.0 + rng.unit() * 400.0),
        ]);
    }
    for (name, cpu, mem) in [
        ("feature-worker-3", 85.0, 2100.0),
        ("postgres", 35.0, 900.0),
        ("validator", 12.0, 400.0),
    ] {
        let mut c = Sample::new(now, "process_cpu_percent", cpu);
        c.labels.insert("process".into(), name.into());
        let mut m = Sample::new(now, "process_memory_bytes", mem * MB);
        m.labels.insert("process".into(), name.into());
        out.extend([c, m]);
    }
    out
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
