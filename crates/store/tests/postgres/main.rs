//! The PostgreSQL backend against the real server on 127.0.0.1:5432 (`MHD_TEST_POSTGRES` to
//! use another): each test in a database of its own, dropped at its end. Without a server the
//! tests say so and pass, unless `CI` is set, where they fail.

use mhd_store::StoreError;
use mhd_store::postgres::PgStore;
use sqlx::Connection as _;

mod scratch;
use scratch::Scratch;

#[tokio::test]
async fn a_new_database_gets_the_newest_schema_once() {
    let Some(db) = Scratch::new("fresh").await else {
        return;
    };
    let store = PgStore::open(&db.url, &db.url, 2).await.expect("opens");
    assert_eq!(
        store.schema_version().await.unwrap(),
        mhd_store::SCHEMA_VERSION
    );
    store.close().await;
    // Opened again, nothing is applied twice.
    let store = PgStore::open(&db.url, &db.url, 2)
        .await
        .expect("opens again");
    assert_eq!(
        store.schema_version().await.unwrap(),
        mhd_store::SCHEMA_VERSION
    );
    store.close().await;
    db.drop_now().await;
}

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let Some(db) = Scratch::new("together").await else {
        return;
    };
    let opens = (0..3).map(|_| {
        let url = db.url.clone();
        async move { PgStore::open(&url, &url, 1).await }
    });
    for store in futures_join(opens).await {
        store.expect("every replica opens").close().await;
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM mhd_schema")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 6, "each migration recorded once (13 to 18)");
    conn.close().await.unwrap();
    db.drop_now().await;
}

/// Runs futures at once and returns their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("the task ends"));
    }
    out
}

#[tokio::test]
async fn a_newer_schema_is_refused_and_left_untouched() {
    let Some(db) = Scratch::new("newer").await else {
        return;
    };
    PgStore::open(&db.url, &db.url, 1)
        .await
        .unwrap()
        .close()
        .await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("INSERT INTO mhd_schema (version) VALUES (999)")
        .execute(&mut conn)
        .await
        .unwrap();
    let e = PgStore::open(&db.url, "postgres://shown/db", 1)
        .await
        .expect_err("refused");
    assert!(
        matches!(e, StoreError::NewerSchema { found: 999, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("postgres://shown/db"), "{e}");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM mhd_schema ORDER BY 1")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        versions,
        vec![13, 14, 15, 16, 17, mhd_store::SCHEMA_VERSION, 999]
    );
    conn.close().await.unwrap();
    db.drop_now().await;
}

#[tokio::test]
async fn a_database_of_another_program_is_refused() {
    let Some(db) = Scratch::new("foreign").await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE invoices (id int)")
        .execute(&mut conn)
        .await
        .unwrap();
    let e = PgStore::open(&db.url, &db.url, 1)
        .await
        .expect_err("refused");
    assert!(e.to_string().contains("invoices"), "{e}");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(tables, 1, "nothing was made");
    conn.close().await.unwrap();
    db.drop_now().await;
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_its_password() {
    let e = PgStore::open(
        "postgres://mhd:hunter2@127.0.0.1:1/mhd",
        "postgres://mhd:***@127.0.0.1:1/mhd",
        1,
    )
    .await
    .expect_err("nothing listens on port 1");
    let text = e.to_string();
    assert!(matches!(e, StoreError::Unreachable { .. }), "{text}");
    assert!(
        text.contains("127.0.0.1:1") && !text.contains("hunter2"),
        "{text}"
    );
}

#[tokio::test]
async fn replicas_writing_at_once_lose_no_count() {
    use mhd_core::NewOperation;
    use mhd_store::Store;
    let Some(db) = Scratch::new("writers").await else {
        return;
    };
    let t0 = time::macros::datetime!(2025-01-06 9:00 UTC);
    // Four writers (as four replicas would), each storing 50 batches touching the same hours,
    // datasets and components in different orders.
    let writers = (0..4).map(|w| {
        let url = db.url.clone();
        async move {
            let store = PgStore::open(&url, &url, 2).await.unwrap();
            for b in 0..50 {
                let ops: Vec<NewOperation> = (0..20)
                    .map(|i| {
                        let n = (i * 7 + w * 3 + b) % 20;
                        let mut op = NewOperation::new(
                            t0 + time::Duration::minutes(n),
                            "migration",
                            "migrate",
                        );
                        op.dataset_name = Some(format!("ds{}", n % 5));
                        op.component = Some(format!("c{}", n % 3));
                        op.system = Some(mhd_core::System::New);
                        op.duration_ms = Some(10.0 + n as f64);
                        op.success = n % 4 != 0;
                        op
                    })
                    .collect();
                store.insert_operations(&ops).await.unwrap();
            }
            store.close().await;
        }
    });
    for w in writers.map(tokio::spawn).collect::<Vec<_>>() {
        w.await.unwrap();
    }
    let store = PgStore::open(&db.url, &db.url, 2).await.unwrap();
    let summary = store.stats_summary().await.unwrap();
    assert_eq!(summary.overall.total_operations, 4 * 50 * 20);
    let windows = store
        .component_windows(t0, t0 + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(windows.iter().map(|w| w.operations).sum::<u64>(), 4000);
    assert_eq!(
        windows.iter().map(|w| w.durations.total()).sum::<u64>(),
        4000,
        "no histogram lost an update"
    );
    let (_, counts) = store.migration_days(None).await.unwrap();
    assert_eq!(counts.attempts, 4000);
    store.close().await;
    db.drop_now().await;
}

#[tokio::test]
async fn one_replica_hears_what_another_wrote() {
    use mhd_core::NewOperation;
    use mhd_store::Store;
    let Some(db) = Scratch::new("listen").await else {
        return;
    };
    let a = PgStore::open(&db.url, &db.url, 2).await.unwrap();
    let b = PgStore::open(&db.url, &db.url, 2).await.unwrap();
    let mut watcher = b.change_watcher().await.unwrap();
    let t0 = time::macros::datetime!(2025-01-06 9:00 UTC);
    // Its own writes, which a server announces itself, are passed over.
    b.insert_samples(&[mhd_core::sample::Sample::new(t0, "cpu_percent", 1.0)])
        .await
        .unwrap();
    a.insert_operations(&[NewOperation::new(t0, "migration", "migrate")])
        .await
        .unwrap();
    let changed = tokio::time::timeout(std::time::Duration::from_secs(5), watcher.next_change())
        .await
        .expect("heard within seconds")
        .unwrap();
    assert_eq!(changed.tables, ["operations"], "{changed:?}");
    assert!(!changed.samples_only());
    // And another's samples are heard as samples.
    a.insert_samples(&[mhd_core::sample::Sample::new(t0, "cpu_percent", 2.0)])
        .await
        .unwrap();
    let changed = tokio::time::timeout(std::time::Duration::from_secs(5), watcher.next_change())
        .await
        .expect("heard within seconds")
        .unwrap();
    assert!(changed.samples_only(), "{changed:?}");
    a.close().await;
    b.close().await;
    drop(watcher);
    db.drop_now().await;
}

#[tokio::test]
async fn one_replica_leads_and_another_takes_over_when_it_is_gone() {
    let Some(db) = Scratch::new("lead").await else {
        return;
    };
    let a = PgStore::open(&db.url, &db.url, 1).await.unwrap();
    let b = PgStore::open(&db.url, &db.url, 1).await.unwrap();
    let mut lease = a.try_lead().await.unwrap().expect("the first one leads");
    assert!(lease.held().await);
    assert!(
        b.try_lead().await.unwrap().is_none(),
        "one leader at a time"
    );
    // The leader goes (its connection closes, as when its process dies).
    drop(lease);
    let started = std::time::Instant::now();
    let taken = loop {
        if let Some(l) = b.try_lead().await.unwrap() {
            break l;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "taken over"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    drop(taken);
    a.close().await;
    b.close().await;
    db.drop_now().await;
}

#[tokio::test]
async fn a_sample_committing_after_a_higher_id_is_still_rolled_up() {
    use mhd_core::sample::Sample;
    use mhd_store::{RetentionStore, Store};
    use time::macros::datetime;

    let Some(db) = Scratch::new("late_commit").await else {
        return;
    };
    let store = PgStore::open(&db.url, &db.url, 4).await.expect("opens");
    let at = datetime!(2025-03-01 12:00 UTC);
    let at_us = at.unix_timestamp() * 1_000_000;
    // A push that drew its sample's id and has not committed yet…
    let mut slow = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "BEGIN; INSERT INTO samples (timestamp_us, metric, value) VALUES ({at_us}, 'cpu_percent', 10)"
    )))
    .execute(&mut slow)
    .await
    .unwrap();
    // …and one that drew the next id and committed.
    store
        .insert_samples(&[Sample::new(at, "cpu_percent", 30.0)])
        .await
        .unwrap();
    // The roll-up waits for the first push to end instead of moving its mark past it.
    let roll_up = tokio::spawn({
        let store = store.clone();
        async move { store.roll_up_samples().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!roll_up.is_finished(), "the roll-up waits for the push");
    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    assert_eq!(roll_up.await.unwrap().unwrap(), 2);
    assert_eq!(store.roll_up_samples().await.unwrap(), 0);
    let stats = store
        .sample_stats(
            "cpu_percent",
            at - time::Duration::hours(1),
            at + time::Duration::hours(1),
            mhd_store::retention::Resolution::Minute,
        )
        .await
        .unwrap();
    assert_eq!((stats[0].count, stats[0].mean), (2, 20.0));
    slow.close().await.unwrap();
    store.close().await;
    db.drop_now().await;
}
