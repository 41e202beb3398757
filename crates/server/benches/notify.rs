//! Notification benchmark (issue 5: "a burst of 10,000 alerts produces notifications at the
//! channel's rate without growing memory without bound"), each figure beside a baseline:
//!
//! - enqueue: 10,000 firing transitions handed to `Notifier::enqueue` one after the other (each
//!   routed, written as JSON and committed to the outbox before it returns), beside plain
//!   one-row `INSERT`s of the same rows into the same table of another store file;
//! - delivery: the rate at which the webhook channel's worker delivers the backlog to a local
//!   receiver over `MHD_BENCH_SECONDS` (default 10), beside the channel's rate (1 message/s);
//! - memory: the resident set of this process before the burst, after it, and after the
//!   delivery run, so that a backlog kept in the store shows as flat memory.
//!
//! Run with `cargo bench -p mhd-server --bench notify` (`MHD_BENCH_ALERTS` changes the burst).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use mhd_core::alerts::{Alert, AlertEvent, AlertState, Impact, Severity, Transition};
use mhd_core::plan::{Channel, ChannelKind};
use mhd_server::AppState;
use mhd_server::notify::NotifierOptions;
use mhd_store::Database;
use mhd_store::outbox::{DeliveryFilter, DeliveryState, Outbox};
use time::{OffsetDateTime, UtcOffset};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The resident set of this process, in KiB (0 when it cannot be read).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The `i`-th alert of the burst: one rule firing for many datasets' keys.
fn alert(i: i64, now: OffsetDateTime) -> Alert {
    Alert {
        id: i,
        key: format!("integrity/dataset-{i:05}"),
        rule: "data_integrity".into(),
        kind: "integrity".into(),
        severity: Severity::Critical,
        state: AlertState::Firing,
        title: format!("Row counts differ for dataset-{i:05}"),
        message: "old 1200 rows, new 1199".into(),
        component: Some("storage".into()),
        value: None,
        started_at: now,
        fired_at: Some(now),
        last_seen: now,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact {
            affected_datasets: vec![format!("dataset-{i:05}")],
            components: vec!["storage".into()],
            estimated_downtime_minutes: None,
        },
        runbook: Some("https://wiki.example/runbooks/integrity".into()),
        suppressed_by: None,
        notified: true,
    }
}

fn main() {
    let burst = env_or("MHD_BENCH_ALERTS", 10_000) as i64;
    let seconds = env_or("MHD_BENCH_SECONDS", 10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(run(burst, seconds));
    rt.shutdown_timeout(Duration::from_secs(1));
}

async fn run(burst: i64, seconds: u64) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let now = OffsetDateTime::now_utc();

    // The receiver: counts what it is sent.
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let app = Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let addr = listener.local_addr().expect("the bound address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut plan = mhd_core::plan::parse(
        &mhd_core::plan::default_plan_toml(now.date() - time::Duration::weeks(6)),
        "migration.toml",
    )
    .expect("the plan parses");
    plan.notify = vec![Channel {
        name: "ops".into(),
        kind: ChannelKind::Webhook {
            url: format!("http://{addr}/hook"),
            token: None,
        },
        min_severity: Severity::Warning,
        components: Vec::new(),
        send_resolved: true,
    }];
    let store = Database::open_file(&dir.path().join("mhd.db"), 8)
        .await
        .expect("the store opens");
    let state = AppState::new(store.clone(), Some(plan), UtcOffset::UTC);
    let options = NotifierOptions {
        public_url: "http://127.0.0.1:8000".into(),
        ..NotifierOptions::default()
    };
    let rate = 1.0 / options.min_interval.as_secs_f64();
    let tasks = mhd_server::background::start_notifications(&state, options)
        .await
        .expect("the notifier starts");
    let notifier = state.notifier().expect("the notifier runs");
    let transitions: Vec<Transition> = (1..=burst)
        .map(|i| Transition {
            alert: alert(i, now),
            event: AlertEvent::Fired,
            notify: true,
        })
        .collect();
    let rows: Vec<String> = transitions
        .iter()
        .map(|t| serde_json::to_string(&t.alert).expect("JSON"))
        .collect();
    // Baseline, measured first so that its store's memory is in every reading of (c): the same
    // rows, plain one-row INSERTs (each its own transaction), into another store file.
    // The schema is made by opening the file as a store; the inserts go through a plain SQLite
    // connection of their own.
    let plain_path = dir.path().join("plain.db");
    Database::open_file(&plain_path, 1)
        .await
        .expect("the baseline store opens")
        .close()
        .await;
    let plain = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&plain_path)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
    )
    .await
    .expect("the baseline store opens");
    let started = Instant::now();
    for (i, payload) in rows.iter().enumerate() {
        sqlx::query(
            "INSERT INTO deliveries (channel, alert_id, event, payload, next_attempt_at_us, \
             created_at_us) VALUES (?, ?, 'fired', ?, ?, ?)",
        )
        .bind("ops")
        .bind(i as i64 + 1)
        .bind(payload.as_str())
        .bind(0_i64)
        .bind(0_i64)
        .execute(&plain)
        .await
        .expect("a plain insert");
    }
    let baseline = started.elapsed();
    plain.close().await;
    let rss_before = rss_kib();

    // (a) The burst, one transition at a time as the alert loop hands them over.
    let started = Instant::now();
    for t in &transitions {
        notifier.enqueue(t).await.expect("queued");
    }
    let enqueue = started.elapsed();
    let rss_after_burst = rss_kib();
    println!("== (a) enqueue: a burst of {burst} firing transitions to one webhook channel");
    println!(
        "Notifier::enqueue (routed, durable before it returns): {:.2} s, {:.0} transitions/s, \
         {:.3} ms each",
        enqueue.as_secs_f64(),
        burst as f64 / enqueue.as_secs_f64(),
        enqueue.as_secs_f64() * 1000.0 / burst as f64
    );
    println!(
        "baseline, plain one-row INSERTs of the same rows:      {:.2} s, {:.0} rows/s, {:.3} ms \
         each",
        baseline.as_secs_f64(),
        burst as f64 / baseline.as_secs_f64(),
        baseline.as_secs_f64() * 1000.0 / burst as f64
    );

    // (b) The delivery rate over the run, from the first delivery on.
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = received.load(Ordering::SeqCst);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let delivered = received.load(Ordering::SeqCst) - first;
    let elapsed = started.elapsed().as_secs_f64();
    let rss_after_run = rss_kib();
    let pending: u64 = store
        .pending_deliveries()
        .await
        .expect("pending")
        .iter()
        .map(|(_, n)| n)
        .sum();
    let sent = store
        .recent_deliveries(&DeliveryFilter {
            limit: 1000,
            state: Some(DeliveryState::Sent),
            ..DeliveryFilter::default()
        })
        .await
        .expect("sent")
        .len();
    println!("== (b) delivery over {seconds} s");
    println!(
        "delivered {delivered} messages in {elapsed:.1} s: {:.2} messages/s; channel's rate \
         (baseline): {rate:.2} messages/s; {sent} sent, {pending} still pending in the store",
        delivered as f64 / elapsed
    );
    println!("== (c) resident memory of this process");
    println!(
        "before the burst: {:.1} MB; after it: {:.1} MB; after the delivery run: {:.1} MB \
         ({} transitions kept in memory by the benchmark itself)",
        mb(rss_before),
        mb(rss_after_burst),
        mb(rss_after_run),
        burst
    );
    for t in tasks {
        t.abort();
    }
}
