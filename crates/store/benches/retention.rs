//! Retention benchmarks, each figure beside a plain baseline measured in the same run.
//!
//! - read: the resource charts over 90 days of retained samples for 50 series (10 metrics × 5
//!   components) — the 1-day aggregates, plus the last 30 minutes of raw samples not yet
//!   rolled up (a pass runs every hour) — in 45 buckets of 2 days (and the same from the
//!   1-hour aggregates in 60 buckets of 36 hours), as `GET /api/v1/resources/history?
//!   range=90d` and `/resources?range=90d` read them; beside the same read over 48 hours of raw
//!   samples (every 15 s), and the 48 hours from the 1-minute aggregates as the page reads
//!   them. p99 of 200 reads (of 10 for the slower reads beside it), 5 rounds.
//! - pass: one retention pass (defaults) over 120 days of operations (one every 10 s) and of
//!   samples (10 series every 5 minutes), rolling up and then deleting in batches; beside a plain `DELETE` of the
//!   same rows (one statement per table, in one transaction), each on a fresh copy of the same
//!   store, 5 rounds.
//!
//! - the same pass on PostgreSQL over the same store, copied into a fresh database each round,
//!   beside a plain `DELETE` of the same rows there (when a server answers at
//!   `MHD_TEST_POSTGRES`, default the local test server).
//!
//! Run with `cargo bench -p mhd-store --bench retention` (`MHD_BENCH_ROUNDS` changes the rounds;
//! `MHD_BENCH_ONLY=read` runs the reads alone).

use std::path::Path;
use std::time::{Duration, Instant};

use mhd_core::NewOperation;
use mhd_core::plan::RetentionSettings;
use mhd_core::sample::Sample;
use mhd_core::sketch::ValueSketch;
use mhd_store::retention::Resolution;
use mhd_store::{RetentionStore, SqliteStore, Store};
use time::OffsetDateTime;

const METRICS: [&str; 10] = [
    "cpu_percent",
    "memory_percent",
    "memory_used_bytes",
    "disk_read_bytes_per_second",
    "disk_write_bytes_per_second",
    "network_in_bytes_per_second",
    "network_out_bytes_per_second",
    "db_connections_active",
    "db_queries_per_second",
    "cpu_cores_used",
];
const COMPONENTS: [&str; 5] = ["storage", "config", "features", "registration", "api"];

fn now() -> OffsetDateTime {
    // Benchmark data ends at the moment the benchmark runs (DESIGN §7).
    OffsetDateTime::now_utc()
}

fn value(i: i64, series: usize) -> f64 {
    let x = (i
        .wrapping_mul(2_654_435_761)
        .wrapping_add(series as i64 * 97)
        >> 5)
        & 0xffff;
    10.0 + 80.0 * x as f64 / 65_536.0
}

fn us(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// Raw samples of the 50 series every 15 s over `[from, to)`.
fn raw(from: OffsetDateTime, to: OffsetDateTime) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut t = from;
    let mut i = 0i64;
    while t < to {
        for (m, metric) in METRICS.iter().enumerate() {
            for (c, component) in COMPONENTS.iter().enumerate() {
                let mut s = Sample::new(t, metric, value(i, m * 5 + c));
                s.component = Some((*component).to_owned());
                out.push(s);
            }
        }
        t += time::Duration::seconds(15);
        i += 1;
    }
    out
}

/// A store as retention leaves it after 90 days of the 50 series: the 1-hour and 1-day
/// aggregates of the 88 days before the raw samples' 48 hours (written directly, as a pass would have), the
/// raw samples of the last 48 hours rolled up into both aggregates but the last 30 minutes.
async fn retained(path: &Path, now: OffsetDateTime) -> SqliteStore {
    let store = SqliteStore::open(path, 4).await.unwrap();
    let first_hour = us(now - time::Duration::days(90)) / 3_600_000_000;
    let raw_from = now - time::Duration::hours(48);
    let last_hour = us(raw_from) / 3_600_000_000;
    let mut tx = store.begin_write().await.unwrap();
    for hour in first_hour..last_hour {
        for (m, metric) in METRICS.iter().enumerate() {
            for (c, component) in COMPONENTS.iter().enumerate() {
                let mut sketch = ValueSketch::default();
                let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
                for k in 0..240 {
                    let v = value(hour * 240 + k, m * 5 + c);
                    sketch.add(v);
                    lo = lo.min(v);
                    hi = hi.max(v);
                    sum += v;
                }
                sqlx::query(
                    "INSERT INTO sample_hours (metric, hour, component, labels, unit, min, max, \
                     sum, count, sketch) VALUES (?, ?, ?, '', NULL, ?, ?, ?, 240, ?)",
                )
                .bind(*metric)
                .bind(hour)
                .bind(*component)
                .bind(lo)
                .bind(hi)
                .bind(sum)
                .bind(sketch.encode())
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    // The 1-day aggregates of the same days, as a pass would have made them from the hours.
    for day in first_hour.div_euclid(24)..last_hour.div_euclid(24) {
        for (m, metric) in METRICS.iter().enumerate() {
            for (c, component) in COMPONENTS.iter().enumerate() {
                let mut sketch = ValueSketch::default();
                let (mut lo, mut hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
                for k in 0..24 * 240 {
                    let v = value(day * 24 * 240 + k, m * 5 + c);
                    sketch.add(v);
                    lo = lo.min(v);
                    hi = hi.max(v);
                    sum += v;
                }
                sqlx::query(
                    "INSERT INTO sample_days (metric, day, component, labels, unit, min, max, \
                     sum, count, sketch) VALUES (?, ?, ?, '', NULL, ?, ?, ?, 5760, ?)",
                )
                .bind(*metric)
                .bind(day)
                .bind(*component)
                .bind(lo)
                .bind(hi)
                .bind(sum)
                .bind(sketch.encode())
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    let tail = now - time::Duration::minutes(30);
    for chunk in raw(raw_from, tail).chunks(20_000) {
        store.insert_samples(chunk).await.unwrap();
    }
    store.roll_up_samples().await.unwrap();
    store.insert_samples(&raw(tail, now)).await.unwrap();
    store
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99).div_ceil(100) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// min / median / max.
fn spread(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "{:>8.2} / {:>8.2} / {:>8.2}",
        v[0],
        v[v.len() / 2],
        v[v.len() - 1]
    )
}

/// 120 days of operations (one every 10 s, a migration every 10 minutes) and samples (10
/// series every 5 minutes).
async fn aged(path: &Path, now: OffsetDateTime) {
    let store = SqliteStore::open(path, 1).await.unwrap();
    let start = now - time::Duration::days(120);
    let n = 120 * 8640;
    let mut ops = Vec::with_capacity(100_000);
    for i in 0..n {
        let at = start + time::Duration::seconds(10 * i);
        let mut o = if i % 60 == 0 {
            let mut o = NewOperation::new(at, "migration", "migrate");
            o.dataset_name = Some(format!("ds{}", i / 60));
            o
        } else {
            NewOperation::new(at, "query_execution", "q")
        };
        o.component = Some(COMPONENTS[(i % 5) as usize].to_owned());
        o.duration_ms = Some(value(i, 0));
        ops.push(o);
        if ops.len() == 100_000 {
            store.insert_operations(&ops).await.unwrap();
            ops.clear();
        }
    }
    store.insert_operations(&ops).await.unwrap();
    let mut samples = Vec::with_capacity(100_000);
    for i in 0..120 * 288 {
        let at = start + time::Duration::minutes(5 * i);
        for (m, metric) in METRICS.iter().enumerate() {
            samples.push(Sample::new(at, metric, value(i, m)));
        }
        if samples.len() >= 100_000 {
            store.insert_samples(&samples).await.unwrap();
            samples.clear();
        }
    }
    store.insert_samples(&samples).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
}

fn main() {
    let rounds: usize = std::env::var("MHD_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let only = std::env::var("MHD_BENCH_ONLY").ok();
    let only = only.as_deref();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let now = now();
        let store = retained(&dir.path().join("read.db"), now).await;
        let metrics: Vec<&str> = METRICS.to_vec();
        let hours: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sample_hours")
            .fetch_one(store.pool())
            .await
            .unwrap();
        let raws: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM samples")
            .fetch_one(store.pool())
            .await
            .unwrap();
        println!("resource charts, 50 series: {hours} hourly aggregates, {raws} raw samples");
        let (mut long, mut base, mut mins, mut hourly) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut t = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..200 {
                let since = now - time::Duration::days(90);
                let s = Instant::now();
                let b = store
                    .sample_buckets(
                        &metrics,
                        since,
                        now,
                        time::Duration::days(2),
                        Resolution::Day,
                    )
                    .await
                    .unwrap();
                t.0.push(s.elapsed());
                // 45 buckets, and one more where the span's start is not on a bucket's.
                assert!(
                    (50 * 45..=50 * 46).contains(&b.len()),
                    "every bucket of every series"
                );
            }
            for _ in 0..10 {
                let since = now - time::Duration::days(90);
                let s = Instant::now();
                std::hint::black_box(
                    store
                        .sample_buckets(
                            &metrics,
                            since,
                            now,
                            time::Duration::hours(36),
                            Resolution::Hour,
                        )
                        .await
                        .unwrap(),
                );
                t.3.push(s.elapsed());
                let since = now - time::Duration::hours(48);
                let s = Instant::now();
                std::hint::black_box(
                    store
                        .sample_buckets(
                            &metrics,
                            since,
                            now,
                            time::Duration::minutes(48),
                            Resolution::Raw,
                        )
                        .await
                        .unwrap(),
                );
                t.1.push(s.elapsed());
                let s = Instant::now();
                std::hint::black_box(
                    store
                        .sample_buckets(
                            &metrics,
                            since,
                            now,
                            time::Duration::minutes(48),
                            Resolution::Minute,
                        )
                        .await
                        .unwrap(),
                );
                t.2.push(s.elapsed());
            }
            long.push(ms(p99(t.0)));
            base.push(ms(p99(t.1)));
            mins.push(ms(p99(t.2)));
            hourly.push(ms(p99(t.3)));
        }
        println!("  p99 in ms, min / median / max of {rounds} rounds");
        println!(
            "  mhd: 90 days from the 1-day aggregates      {}",
            spread(long)
        );
        println!(
            "  90 days from the 1-hour aggregates         {}",
            spread(hourly)
        );
        println!(
            "  baseline: 48 hours from the raw samples    {}",
            spread(base)
        );
        println!(
            "  mhd: 48 hours from the 1-minute aggregates {}",
            spread(mins)
        );
        store.close().await;
        if only == Some("read") {
            return;
        }

        // One pass over 120 days, beside a plain DELETE of the same rows.
        let source = dir.path().join("aged.db");
        aged(&source, now).await;
        let size = std::fs::metadata(&source).unwrap().len();
        println!(
            "retention pass over 120 days: {} operations and {} samples ({:.0} MB)",
            120 * 8640,
            120 * 288 * 10,
            size as f64 / 1e6
        );
        let (mut pass, mut plain) = (Vec::new(), Vec::new());
        let settings = RetentionSettings::default();
        for round in 0..rounds {
            let copy = dir.path().join(format!("pass{round}.db"));
            std::fs::copy(&source, &copy).unwrap();
            let store = SqliteStore::open(&copy, 2).await.unwrap();
            let s = Instant::now();
            let report = store.run_retention(&settings, now).await.unwrap();
            pass.push(s.elapsed().as_secs_f64());
            store.close().await;
            if round == 0 {
                println!("  removed: {report:?}");
            }
            let copy = dir.path().join(format!("plain{round}.db"));
            std::fs::copy(&source, &copy).unwrap();
            let store = SqliteStore::open(&copy, 2).await.unwrap();
            let s = Instant::now();
            let mut tx = store.begin_write().await.unwrap();
            sqlx::query("DELETE FROM operations WHERE timestamp_us < ?")
                .bind(us(now - settings.operations))
                .execute(&mut *tx)
                .await
                .unwrap();
            sqlx::query("DELETE FROM samples WHERE timestamp_us < ?")
                .bind(us(now - settings.samples))
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            plain.push(s.elapsed().as_secs_f64());
            store.close().await;
            std::fs::remove_file(dir.path().join(format!("pass{round}.db"))).ok();
            std::fs::remove_file(&copy).ok();
        }
        println!("  seconds, min / median / max of {rounds} rounds");
        println!(
            "  mhd: retention pass (roll-up, batches)      {}",
            spread(pass)
        );
        println!(
            "  baseline: plain DELETE in one transaction  {}",
            spread(plain)
        );
        on_postgres(&source, now, rounds).await;
    });
}

/// The same pass on PostgreSQL, over the same store copied into a database of its own each
/// round (`mhd store copy`, then `ANALYZE`), beside a plain `DELETE` of the same rows; skipped
/// when no server answers at `MHD_TEST_POSTGRES` (default the local test server).
async fn on_postgres(source: &Path, now: OffsetDateTime, rounds: usize) {
    use sqlx::Connection as _;
    let admin = std::env::var("MHD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
        println!("  (no PostgreSQL at {admin}: the pass there is not measured)");
        return;
    };
    let base = admin.rsplit_once('/').expect("a URL with a database").0;
    let from = mhd_store::Database::open(&source.display().to_string(), 2)
        .await
        .unwrap();
    let fresh = async |conn: &mut sqlx::PgConnection, name: &str| {
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let url = format!("{base}/{name}");
        let to = mhd_store::Database::open(&url, 2).await.unwrap();
        mhd_store::copy::copy(&from, &to, false).await.unwrap();
        let mut own = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("ANALYZE").execute(&mut own).await.unwrap();
        (to, own)
    };
    let settings = RetentionSettings::default();
    let (mut pass, mut plain) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let name = format!("mhd_bench_retention_{}", std::process::id());
        let (store, own) = fresh(&mut conn, &name).await;
        let s = Instant::now();
        let report = store.run_retention(&settings, now).await.unwrap();
        pass.push(s.elapsed().as_secs_f64());
        if round == 0 {
            println!("  PostgreSQL removed: {report:?}");
        }
        store.close().await;
        own.close().await.unwrap();
        let (store, mut own) = fresh(&mut conn, &name).await;
        let s = Instant::now();
        let mut tx = own.begin().await.unwrap();
        for (table, keep) in [
            ("operations", settings.operations),
            ("samples", settings.samples),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE timestamp_us < $1"
            )))
            .bind(us(now - keep))
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        plain.push(s.elapsed().as_secs_f64());
        store.close().await;
        own.close().await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    println!("  PostgreSQL, seconds, min / median / max of {rounds} rounds");
    println!(
        "  mhd: retention pass (roll-up, batches)      {}",
        spread(pass)
    );
    println!(
        "  baseline: plain DELETE in one transaction  {}",
        spread(plain)
    );
}
