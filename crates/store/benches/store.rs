//! Store benchmarks, each figure beside a plain baseline measured in the same run.
//!
//! - ingest: 1,000,000 operations through the store's writer (multi-row inserts plus rollups)
//!   in one transaction, and in chunks of 65,536 each committed on its own and remembered (as
//!   `mhd ingest operations` stores them), against raw prepared single-row inserts in one
//!   transaction into the same schema;
//! - summary: `stats summary` from rollups against MDM's direct queries over the table.
//!
//! Run with `cargo bench -p mhd-store --bench store` (`MHD_BENCH_OPS` changes the size).

use std::time::{Duration, Instant};

use mhd_core::{NewOperation, System};
use mhd_store::{SqliteStore, Store};
use time::OffsetDateTime;

/// The everyday traffic's types.
const TYPES: [&str; 5] = [
    "dataset_read",
    "dataset_register",
    "query_execution",
    "feature_generation",
    "storage_operation",
];
const COMPONENTS: [&str; 4] = ["storage", "config", "features", "registration"];

/// The moment the benchmark's data ends: now, so that the views looking at recent time (the
/// last 7 and 28 days, the live window) are measured on data, never empty.
fn data_end() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Deterministic operations over the 90 days up to `end`, nearly in time order as real ones
/// arrive: a
/// migration of 412 datasets about three a day (a start, an attempt that fails one time in
/// twenty and is retried, a verification; a rollback every few weeks), two thirds done at the
/// end, amid everyday traffic on both systems.
fn operations(n: usize, end: OffsetDateTime) -> Vec<NewOperation> {
    let span_us = 90 * 86_400_000_000i64;
    // The last operation (with its jitter of up to 5 s) lands a few seconds before `end`.
    let start = end - time::Duration::microseconds(span_us + 10_000_000);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // The migration's own operations, about three datasets a day.
    let mut migration = Vec::new();
    for d in 0..270u64 {
        let at = start + time::Duration::microseconds((d as i64 * span_us) / 270 + 3_600_000_000);
        let name = format!("ds{d}");
        let component = COMPONENTS[(d % 4) as usize];
        let op = |at: OffsetDateTime, ty: &str, ok: bool| {
            let mut o = NewOperation::new(at, ty, "migrate");
            o.dataset_name = Some(name.clone());
            o.component = Some(component.into());
            o.system = Some(System::New);
            o.duration_ms = Some(2500.0);
            o.success = ok;
            o
        };
        migration.push(op(at, "migration_start", true));
        let failed = d % 20 == 7;
        migration.push(op(at + time::Duration::minutes(5), "migration", !failed));
        if failed {
            migration.push(op(at + time::Duration::hours(1), "migration", true));
        }
        migration.push(op(at + time::Duration::hours(2), "verification", true));
        if d % 60 == 30 {
            migration.push(op(at + time::Duration::hours(20), "rollback", true));
        }
    }
    let traffic = n.saturating_sub(migration.len());
    let step_us = span_us / traffic.max(1) as i64;
    let mut ops: Vec<NewOperation> = (0..traffic)
        .map(|i| {
            let x = next();
            let jitter = (x % 5_000_000) as i64;
            let mut o = NewOperation::new(
                start + time::Duration::microseconds(i as i64 * step_us + jitter),
                TYPES[i % TYPES.len()],
                ["read", "export", "query", "write"][i % 4],
            );
            o.dataset_name = Some(format!("ds{}", x % 412));
            o.component = Some(COMPONENTS[i % 4].into());
            // Every component on both systems (i % 4 picks the component).
            o.system = Some(if (i / 4) % 2 == 0 {
                System::Old
            } else {
                System::New
            });
            o.duration_ms = Some((x % 500_000) as f64 / 1000.0);
            o.row_count = Some((x % 1000) as i64);
            o.success = !x.is_multiple_of(20);
            if !o.success {
                o.error_message = Some(format!("failure {i}"));
            }
            o
        })
        .collect();
    ops.extend(migration);
    ops.sort_by_key(|o| o.timestamp);
    ops.truncate(n);
    ops
}

/// Stops the benchmark when a view it times would be empty: the component matrix (its last 7
/// days) must have operations of both systems for every component, the summary a forecast
/// from its last 28 days, and the test view runs.
async fn check_not_empty(store: &SqliteStore, plan: &mhd_core::plan::Plan, now: OffsetDateTime) {
    let model = mhd_store::view_data::view_model(
        store,
        Some(plan),
        now,
        false,
        mhd_core::model::Options::default(),
    )
    .await
    .unwrap();
    for c in &model.components {
        assert!(
            c.old_version.operations > 0 && c.new_version.operations > 0,
            "component {}: no operations in the last 7 days: the benchmark would time empty views",
            c.component
        );
    }
    assert!(!model.components.is_empty(), "no component in the matrix");
    let summary = model.summary.as_ref().expect("a summary with the plan");
    assert!(
        summary.estimated_completion.is_some(),
        "no forecast: the last 28 days hold no migration"
    );
    assert!(model.tests.is_some(), "no test runs");
    println!(
        "views checked not empty: {} components with operations in the last 7 days, a forecast \
         from the last 28 days",
        model.components.len()
    );
}

async fn baseline_inserts(path: &std::path::Path, ops: &[NewOperation]) -> Duration {
    let store = SqliteStore::open(path, 1).await.unwrap();
    let pool = store.pool().clone();
    let started = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    for o in ops {
        sqlx::query(
            "INSERT INTO operations (timestamp_us, metric_type, operation, dataset_name, component, \
             system, duration_ms, success, row_count, error_message, metadata, import_key) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind((o.timestamp.unix_timestamp_nanos() / 1000) as i64)
        .bind(o.metric_type.clone())
        .bind(o.operation.clone())
        .bind(o.dataset_name.clone())
        .bind(o.component.clone())
        .bind(o.system.map(System::as_str))
        .bind(o.duration_ms)
        .bind(o.success)
        .bind(o.row_count)
        .bind(o.error_message.clone())
        .bind(None::<String>)
        .bind(None::<String>)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let took = started.elapsed();
    store.close().await;
    took
}

async fn store_inserts(path: &std::path::Path, ops: &[NewOperation]) -> (Duration, SqliteStore) {
    let store = SqliteStore::open(path, 1).await.unwrap();
    let started = Instant::now();
    let mut w = store.writer().await.unwrap();
    for batch in ops.chunks(8192) {
        w.write(batch).await.unwrap();
    }
    w.commit().await.unwrap();
    (started.elapsed(), store)
}

/// The same through `insert_chunk`: a transaction per chunk of 65,536, each remembered.
async fn chunked_inserts(path: &std::path::Path, ops: &[NewOperation]) -> Duration {
    let store = SqliteStore::open(path, 1).await.unwrap();
    let started = Instant::now();
    let mut ids = mhd_store::DatasetIds::default();
    let mut prev = String::new();
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    for (i, chunk) in ops.chunks(65_536).enumerate() {
        let c = mhd_store::Chunk {
            key: format!("{i:064x}"),
            prev: prev.clone(),
            records: chunk.len() as u64,
        };
        store
            .insert_chunk(&c, chunk, "bench", now, false, &mut ids)
            .await
            .unwrap();
        prev = c.key;
    }
    let took = started.elapsed();
    store.close().await;
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn mdm_summary_queries(pool: &sqlx::SqlitePool) {
    sqlx::query(
        "SELECT COUNT(*), SUM(success), AVG(CASE WHEN success = 1 THEN duration_ms END), \
         MAX(timestamp_us) FROM operations",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "SELECT metric_type, COUNT(*), AVG(CASE WHEN success = 1 THEN duration_ms END), \
         SUM(1 - success) FROM operations GROUP BY metric_type",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    sqlx::query(
        "SELECT COUNT(DISTINCT dataset_name), SUM(metric_type = 'dataset_register') \
         FROM operations WHERE dataset_name IS NOT NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query("SELECT * FROM operations WHERE success = 0 ORDER BY timestamp_us DESC LIMIT 5")
        .fetch_all(pool)
        .await
        .unwrap();
}

fn main() {
    let n: usize = std::env::var("MHD_BENCH_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let end = data_end();
        let ops = operations(n, end);

        // MHD_BENCH_NO_BASELINE=1 skips the (slow) baseline while profiling the store alone.
        let base = if std::env::var_os("MHD_BENCH_NO_BASELINE").is_some() {
            Duration::ZERO
        } else {
            baseline_inserts(&dir.path().join("baseline.db"), &ops).await
        };
        let (ours, store) = store_inserts(&dir.path().join("mhd.db"), &ops).await;
        let chunked = chunked_inserts(&dir.path().join("chunked.db"), &ops).await;
        let rate = |d: Duration| n as f64 / d.as_secs_f64();
        println!("ingest of {n} operations into SQLite (one transaction, durable on commit)");
        println!(
            "  baseline: raw prepared single-row inserts  {:>9.0} ops/s  ({:.2} s)",
            rate(base),
            base.as_secs_f64()
        );
        println!(
            "  mhd: store writer, with rollups            {:>9.0} ops/s  ({:.2} s)",
            rate(ours),
            ours.as_secs_f64()
        );
        println!(
            "  mhd: chunks of 65,536, each committed      {:>9.0} ops/s  ({:.2} s)",
            rate(chunked),
            chunked.as_secs_f64()
        );

        let mut ours = Vec::new();
        let mut base = Vec::new();
        for _ in 0..11 {
            let t = Instant::now();
            std::hint::black_box(store.stats_summary().await.unwrap());
            ours.push(t.elapsed());
            let t = Instant::now();
            mdm_summary_queries(store.pool()).await;
            base.push(t.elapsed());
        }
        let base_ms = median(base).as_secs_f64() * 1e3;
        println!("stats summary over {n} operations (median of 11)");
        println!("  baseline: MDM's queries over the table     {base_ms:>9.2} ms");
        println!(
            "  mhd: from rollups                          {:>9.2} ms",
            median(ours).as_secs_f64() * 1e3
        );

        // 10,000 test runs of 10 suites, 20 cases each, one every 10 minutes up to the end.
        use mhd_core::testrun::{TestCase, TestRun, TestStatus};
        let start = end - time::Duration::minutes(10 * 10_000);
        for i in 0..10_000i64 {
            let run = TestRun {
                suite: format!("suite-{}", i % 10),
                phase: None,
                component: Some(
                    ["storage", "config", "features", "registration"][(i % 4) as usize].into(),
                ),
                run_at: start + time::Duration::minutes(10 * i),
                duration: 30.0,
                cases: (0..20)
                    .map(|c| TestCase {
                        name: format!("test_{c}"),
                        classname: Some("bench".into()),
                        status: if (i + c) % 17 == 0 {
                            TestStatus::Failed
                        } else {
                            TestStatus::Passed
                        },
                        time: Some(1.5),
                        message: None,
                    })
                    .collect(),
            };
            store.insert_test_run(&run, None).await.unwrap();
        }
        // The specification's plan, started on the Monday 13 weeks before this week's.
        let today = end.date();
        let monday = today
            - time::Duration::days(i64::from(today.weekday().number_days_from_monday()))
            - time::Duration::weeks(13);
        let plan =
            mhd_core::plan::parse(&mhd_core::plan::default_plan_toml(monday), "migration.toml")
                .unwrap();
        let now = end;
        check_not_empty(&store, &plan, now).await;
        // MHD_BENCH_PROFILE_BUILD=N computes the figures N times from nothing over one snapshot and stops:
        // for a profiler.
        if let Some(n) = std::env::var("MHD_BENCH_PROFILE_BUILD")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
        {
            let snap = mhd_store::view_data::snapshot(&store, now, false)
                .await
                .unwrap();
            let t = Instant::now();
            for _ in 0..n {
                // From nothing each time: the forecast's futures are simulated again.
                mhd_core::outlook::forget_simulated_futures();
                std::hint::black_box(mhd_core::model::build(
                    Some(&plan),
                    &snap,
                    now,
                    mhd_core::model::Options::default(),
                ));
            }
            println!(
                "the figures from nothing, {n} times: {:.2} ms each",
                t.elapsed().as_secs_f64() * 1e3 / f64::from(n)
            );
            return;
        }
        let mut summary = Vec::new();
        let mut dashboard = Vec::new();
        let mut read = Vec::new();
        let mut built = Vec::new();
        // Each computed from scratch: the futures kept from the last computation are
        // forgotten first (see the figures after a write below for what a server does).
        let forget = mhd_core::outlook::forget_simulated_futures;
        for _ in 0..11 {
            forget();
            let t = Instant::now();
            let snap = mhd_store::view_data::snapshot(&store, now, false)
                .await
                .unwrap();
            read.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(mhd_core::model::build(
                Some(&plan),
                &snap,
                now,
                mhd_core::model::Options::default(),
            ));
            built.push(t.elapsed());
            forget();
            let t = Instant::now();
            std::hint::black_box(
                mhd_store::view_data::view_model(
                    &store,
                    Some(&plan),
                    now,
                    false,
                    mhd_core::model::Options::default(),
                )
                .await
                .unwrap(),
            );
            summary.push(t.elapsed());
            forget();
            let t = Instant::now();
            std::hint::black_box(
                mhd_store::view_data::dashboard(&store, Some(&plan), now)
                    .await
                    .unwrap(),
            );
            dashboard.push(t.elapsed());
        }
        println!("with 10,000 test runs stored as well (median of 11)");
        println!("  baseline: MDM's queries over the table     {base_ms:>9.2} ms");
        println!(
            "  the view model (every view, forecast)      {:>9.2} ms",
            median(summary).as_secs_f64() * 1e3
        );
        println!(
            "    of which reading the snapshot            {:>9.2} ms",
            median(read).as_secs_f64() * 1e3
        );
        println!(
            "    of which computing every figure          {:>9.2} ms",
            median(built).as_secs_f64() * 1e3
        );
        println!(
            "  mhd dashboard data (every view)            {:>9.2} ms",
            median(dashboard).as_secs_f64() * 1e3
        );
        // The first view model after a write, as a server computes it (`AppState::model`): after a dataset
        // migrated (today's forecast changes; yesterday's, which it is compared with, does
        // not), and after an everyday operation (no forecast changes). Each write lands a
        // second later, as the live server's clock would have it.
        // Stores `op`, then times the view model computed right after.
        // As a server does, the test runs and benchmarks are kept while only operations are
        // written (it reads them again when a test run or a benchmark is announced).
        let records = mhd_store::view_data::records(&store).await.unwrap();
        let model_after = async |op: NewOperation| {
            store.insert_operations(&[op]).await.unwrap();
            let t = Instant::now();
            let snap = mhd_store::view_data::snapshot_with(&store, now, false, &records)
                .await
                .unwrap();
            let read = t.elapsed();
            std::hint::black_box(mhd_core::model::build(
                Some(&plan),
                &snap,
                now,
                mhd_core::model::Options::default(),
            ));
            (t.elapsed(), read)
        };
        let (mut migrated, mut everyday) = (Vec::new(), Vec::new());
        for i in 0..11 {
            let at = now - time::Duration::seconds(30 - i);
            let component = COMPONENTS[i as usize % 4];
            let mut op = NewOperation::new(at, "migration", "migrate");
            op.dataset_name = Some(format!("written{i}"));
            op.component = Some(component.into());
            op.system = Some(System::New);
            op.success = true;
            migrated.push(model_after(op).await);
            let mut op = NewOperation::new(at, TYPES[i as usize % 5], "read");
            op.component = Some(component.into());
            op.system = Some(System::Old);
            op.success = i % 3 != 0;
            everyday.push(model_after(op).await);
        }
        // Where a snapshot read's time goes, part by part (median of 11 each).
        let mut parts: Vec<(&str, Vec<Duration>)> = Vec::new();
        for _ in 0..11 {
            use mhd_store::alerts::AlertStore;
            let mut timed = Vec::new();
            let t = Instant::now();
            std::hint::black_box(store.datasets(None).await.unwrap());
            timed.push(("datasets", t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(store.migration_days(None).await.unwrap());
            timed.push(("migration days and counts", t.elapsed()));
            let t = Instant::now();
            for ty in [
                mhd_core::timeline::MILESTONE,
                mhd_core::timeline::PHASE_COMPLETE,
            ] {
                std::hint::black_box(store.first_success_by_name(ty).await.unwrap());
            }
            timed.push(("milestone and phase marks", t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(
                store
                    .component_windows(now - mhd_store::view_data::COMPONENT_WINDOW, now)
                    .await
                    .unwrap(),
            );
            timed.push(("component windows (7 days)", t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(
                store
                    .recent_test_runs(mhd_core::testview::TREND_RUNS as u32)
                    .await
                    .unwrap(),
            );
            timed.push(("latest test runs", t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(store.latest_benchmarks().await.unwrap());
            timed.push(("latest benchmarks", t.elapsed()));
            let t = Instant::now();
            std::hint::black_box(store.open_alerts().await.unwrap());
            std::hint::black_box(store.health_state().await.unwrap());
            timed.push(("open alerts and health", t.elapsed()));
            for (i, (name, d)) in timed.into_iter().enumerate() {
                if parts.len() <= i {
                    parts.push((name, Vec::new()));
                }
                parts[i].1.push(d);
            }
        }
        println!("the snapshot read, part by part (median of 11)");
        for (name, d) in parts {
            println!("  {name:<42} {:>9.2} ms", median(d).as_secs_f64() * 1e3);
        }
        println!("the first view model after a write (median of 11)");
        for (name, times) in [
            ("after a dataset migrated", migrated),
            ("after an everyday operation", everyday),
        ] {
            let (total, read): (Vec<_>, Vec<_>) = times.into_iter().unzip();
            println!(
                "  {name:<42} {:>9.2} ms (the snapshot read {:.2} ms)",
                median(total).as_secs_f64() * 1e3,
                median(read).as_secs_f64() * 1e3
            );
        }
        store.close().await;
    });
}
