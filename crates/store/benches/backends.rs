//! What the per-request and per-batch questions cost on PostgreSQL, each beside the same
//! question asked of SQLite in the same run (the baseline): a session cookie and an API token
//! proved (one indexed lookup each, the use written at most once a minute), a batch of 100 log
//! errors stored by a collector already holding its thousand (insert, then trim), and a
//! notification queued, taken and marked sent.
//!
//! Run with `cargo bench -p mhd-store --bench backends`; PostgreSQL is the server at
//! `MHD_TEST_POSTGRES` (default postgres://postgres@127.0.0.1:5432/test), where a scratch
//! database is made and dropped. Five rounds; each line gives the min / median / max over the
//! rounds of the round's median.

use std::time::{Duration, Instant};

use mhd_core::auth::Role;
use mhd_store::auth::PasswordHash;
use mhd_store::collect::LogErrorRecord;
use mhd_store::outbox::{Attempt, DeliveryEvent, Notification};
use mhd_store::postgres::PgStore;
use mhd_store::{AuthStore, CollectorStore, Outbox, SessionStore, SqliteStore};
use sqlx::Connection as _;
use time::OffsetDateTime;

const ROUNDS: usize = 5;
const LOOKUPS: usize = 2000;
const BATCHES: usize = 40;
const CYCLES: usize = 300;

/// The medians of each round of one line.
#[derive(Default)]
struct Line(Vec<Duration>);

impl Line {
    fn show(&self, what: &str, unit: &str) {
        let mut v = self.0.clone();
        v.sort();
        let f = |d: Duration| match unit {
            "µs" => d.as_secs_f64() * 1e6,
            _ => d.as_secs_f64() * 1e3,
        };
        println!(
            "{what:<58} {:>8.1} {:>8.1} {:>8.1} {unit}",
            f(v[0]),
            f(v[v.len() / 2]),
            f(v[v.len() - 1])
        );
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// One round of every question on one store; the medians, in the order of [`LINES`].
async fn round<S: AuthStore + SessionStore + CollectorStore + Outbox>(
    store: &S,
    round: usize,
) -> [Duration; 4] {
    let now = OffsetDateTime::now_utc();
    let hash = PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into());
    let user = store
        .add_user(&format!("u{round}"), Role::Viewer, &hash, now)
        .await
        .unwrap();
    let session = store.start_session(user.id, None, now).await.unwrap();
    let token = store
        .create_token(&format!("t{round}"), Role::Ingest, None, now)
        .await
        .unwrap();
    let mut times = Vec::with_capacity(LOOKUPS);
    for _ in 0..LOOKUPS {
        let t = Instant::now();
        store.session(&session.secret, now).await.unwrap().unwrap();
        times.push(t.elapsed());
    }
    let sessions = median(times);
    let mut times = Vec::with_capacity(LOOKUPS);
    for _ in 0..LOOKUPS {
        let t = Instant::now();
        store
            .authenticate_token(token.secret.expose(), now)
            .await
            .unwrap()
            .unwrap();
        times.push(t.elapsed());
    }
    let tokens = median(times);
    let collector = format!("app{round}");
    let batch = |b: usize| -> Vec<LogErrorRecord> {
        (0..100)
            .map(|i| LogErrorRecord {
                collector: collector.clone(),
                time: now,
                level: "ERROR".into(),
                message: format!("failure {b} {i}: connection reset by peer"),
                file: "/var/log/app.log".into(),
            })
            .collect()
    };
    for b in 0..10 {
        store.insert_log_errors(&batch(b)).await.unwrap();
    }
    let mut times = Vec::with_capacity(BATCHES);
    for b in 10..10 + BATCHES {
        let errors = batch(b);
        let t = Instant::now();
        store.insert_log_errors(&errors).await.unwrap();
        times.push(t.elapsed());
    }
    let logs = median(times);
    let payload = r#"{"title":"Error rate above 5 %","severity":"warning"}"#;
    let mut times = Vec::with_capacity(CYCLES);
    for c in 0..CYCLES {
        let alert_id = (round * CYCLES + c) as i64;
        let t = Instant::now();
        store
            .enqueue_notification(
                &Notification {
                    alert_id,
                    event: DeliveryEvent::Fired,
                    alert: payload,
                    channels: &["ops"],
                },
                now,
            )
            .await
            .unwrap();
        let d = store
            .claim_delivery("ops", now, now + time::Duration::seconds(20))
            .await
            .unwrap()
            .unwrap();
        store
            .record_attempt(d.id, 1, &Attempt::Sent { at: now })
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    [sessions, tokens, logs, median(times)]
}

const LINES: [(&str, &str); 4] = [
    ("session cookie proved", "µs"),
    ("API token proved", "µs"),
    ("100 log errors stored beside 1,000 (insert, trim)", "ms"),
    ("notification queued, taken, marked sent", "ms"),
];

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let admin = std::env::var("MHD_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
        let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await else {
            println!("no PostgreSQL at {admin}: nothing measured");
            return;
        };
        let name = format!("mhd_bench_{}", std::process::id());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(&dir.path().join("mhd.db"), 4)
            .await
            .unwrap();
        let pg = PgStore::open(&url, &url, 4).await.unwrap();
        let mut lines: [[Line; 2]; 4] = Default::default();
        for r in 0..ROUNDS {
            let base = round(&sqlite, r).await;
            let ours = round(&pg, r).await;
            for i in 0..4 {
                lines[i][0].0.push(base[i]);
                lines[i][1].0.push(ours[i]);
            }
        }
        println!("{ROUNDS} rounds; min / median / max of the rounds' medians");
        for (i, (what, unit)) in LINES.iter().enumerate() {
            lines[i][0].show(&format!("baseline SQLite: {what}"), unit);
            lines[i][1].show(&format!("PostgreSQL:      {what}"), unit);
        }
        pg.close().await;
        sqlite.close().await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    });
}
