//! Operations in the store: atomic writes, rollups that agree with the operations they
//! summarise, imports and cleanup on both backends (a SQLite file and a PostgreSQL database);
//! the SQLite file's schema, upgrades and concurrent writers on SQLite alone.

use mhd_core::NewOperation;
use mhd_core::stats::summarize_operations;
use mhd_store::{OperationFilter, SqliteStore, Store, StoreError};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-01-06 9:00 UTC);

fn op(minutes: i64, ty: &str, ok: bool, dataset: Option<&str>) -> NewOperation {
    let mut o = NewOperation::new(T0 + Duration::minutes(minutes), ty, "op");
    o.success = ok;
    o.dataset_name = dataset.map(str::to_owned);
    o.duration_ms = Some(10.0 + minutes as f64);
    if !ok {
        o.error_message = Some(format!("failure {minutes}"));
    }
    o
}

mod backends;
use backends::Backend;

on_both!(
    "sq";
    rollup_summary_matches_the_operations,
    a_batch_with_one_bad_operation_stores_nothing,
    recent_operations_filter_and_order,
    imports_skip_rows_already_imported,
    cleanup_deletes_old_operations_and_keeps_figures_right,
    buckets_cover_the_span_with_empty_ones_included,
    migration_counts_follow_rollbacks,
    cleanup_never_changes_how_far_the_migration_is,
    text_with_tabs_lines_and_backslashes_comes_back_as_stored,
    imports_keep_a_narrow_key_and_still_skip_rows_imported_by_earlier_versions,
    a_row_repeated_within_one_import_is_stored_once,
);

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("mhd.db"), 2)
        .await
        .unwrap()
}

async fn rollup_summary_matches_the_operations<B: Backend>(b: &B) {
    let store = b.open().await;
    let types = [
        "migration",
        "rollback",
        "dataset_register",
        "dataset_read",
        "error",
    ];
    let ops: Vec<_> = (0..500)
        .map(|i| {
            op(
                i * 7,
                types[i as usize % 5],
                i % 11 != 0,
                Some(["a", "b", "c"][i as usize % 3]),
            )
        })
        .collect();
    // Written in several transactions, as separate commands would.
    for chunk in ops.chunks(123) {
        store.insert_operations(chunk).await.unwrap();
    }
    let got = store.stats_summary().await.unwrap();
    let want = summarize_operations(&ops);
    assert_eq!(got.overall.total_operations, 500);
    assert_eq!(
        got.overall.successful_operations,
        want.overall.successful_operations
    );
    assert_eq!(got.overall.last_operation, want.overall.last_operation);
    assert_eq!(got.by_type.len(), want.by_type.len());
    for (g, w) in got.by_type.iter().zip(&want.by_type) {
        assert_eq!(
            (&g.metric_type, g.count, g.error_count),
            (&w.metric_type, w.count, w.error_count)
        );
        let (a, b) = (g.avg_duration_ms.unwrap(), w.avg_duration_ms.unwrap());
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    assert_eq!(got.dataset_stats, want.dataset_stats);
    assert_eq!(got.recent_errors, want.recent_errors);
}

async fn a_batch_with_one_bad_operation_stores_nothing<B: Backend>(b: &B) {
    let store = b.open().await;
    let mut bad = op(1, "migration", true, None);
    bad.duration_ms = Some(-1.0);
    let err = store
        .insert_operations(&[op(0, "migration", true, None), bad])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { index: 1, .. }), "{err}");
    assert_eq!(
        store
            .stats_summary()
            .await
            .unwrap()
            .overall
            .total_operations,
        0
    );
}

async fn recent_operations_filter_and_order<B: Backend>(b: &B) {
    let store = b.open().await;
    let mut ops = vec![
        op(0, "migration", true, Some("sales")),
        op(5, "migration", false, Some("hr")),
        op(10, "rollback", true, Some("sales")),
        op(15, "dataset_read", true, None),
    ];
    ops[3].metadata = Some(serde_json::json!({"rows": 3, "nested": {"k": "v"}}));
    store.insert_operations(&ops).await.unwrap();
    let all = store
        .recent_operations(&OperationFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|o| o.op.timestamp).collect::<Vec<_>>(),
        ops.iter().rev().map(|o| o.timestamp).collect::<Vec<_>>()
    );
    assert_eq!(all[0].op, ops[3], "every field survives the round trip");
    let sales = store
        .recent_operations(&OperationFilter {
            limit: 10,
            dataset: Some("sales".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(sales.len(), 2);
    let failed = store
        .recent_operations(&OperationFilter {
            limit: 10,
            failed_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed[0].op.dataset_name.as_deref(), Some("hr"));
    let since = store
        .recent_operations(&OperationFilter {
            limit: 10,
            since: Some(T0 + Duration::minutes(10)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(since.len(), 2);
    let typed = store
        .recent_operations(&OperationFilter {
            limit: 1,
            metric_type: Some("migration".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(typed[0].op.dataset_name.as_deref(), Some("hr"));
    // A filter value is data, never SQL.
    let injected = store
        .recent_operations(&OperationFilter {
            limit: 10,
            dataset: Some("x' OR '1'='1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(injected.is_empty());
}

async fn imports_skip_rows_already_imported<B: Backend>(b: &B) {
    let store = b.open().await;
    let rows: Vec<_> = (0..10)
        .map(|i| {
            let mut o = op(i, "dataset_read", true, Some("d"));
            o.import_key = Some(format!("mdm:{i}"));
            o
        })
        .collect();
    let first = store.import_operations(&rows[..6]).await.unwrap();
    assert_eq!((first.inserted, first.skipped), (6, 0));
    let second = store.import_operations(&rows).await.unwrap();
    assert_eq!((second.inserted, second.skipped), (4, 6));
    let third = store.import_operations(&rows).await.unwrap();
    assert_eq!((third.inserted, third.skipped), (0, 10));
    assert_eq!(
        store
            .stats_summary()
            .await
            .unwrap()
            .overall
            .total_operations,
        10
    );
}

async fn a_row_repeated_within_one_import_is_stored_once<B: Backend>(b: &B) {
    let store = b.open().await;
    // In rising order but for the repeat, into an empty store: the first import's shortcut
    // (every key new and above the stored ones) must still notice it.
    let rows: Vec<_> = [1, 2, 2, 3]
        .iter()
        .map(|i| {
            let mut o = op(*i, "dataset_read", true, Some("d"));
            o.import_key = Some(format!("mdm:{i}:2025-01-06 10:00:0{i}"));
            o
        })
        .collect();
    let outcome = store.import_operations(&rows).await.unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (3, 1));
    let summary = store.stats_summary().await.unwrap();
    assert_eq!(summary.overall.total_operations, 3);
}

async fn imports_keep_a_narrow_key_and_still_skip_rows_imported_by_earlier_versions<B: Backend>(
    b: &B,
) {
    let store = b.open().await;
    let rows: Vec<_> = (0..10)
        .map(|i| {
            let mut o = op(i, "dataset_read", true, Some("d"));
            o.import_key = Some(format!("mdm:{i}:2025-01-06 10:00:0{i}"));
            o
        })
        .collect();
    // Rows 0 to 3 as an earlier version stored them: the whole identity as the key.
    store.insert_operations(&rows[..4]).await.unwrap();
    let outcome = store.import_operations(&rows).await.unwrap();
    assert_eq!((outcome.inserted, outcome.skipped), (6, 4));
    let again = store.import_operations(&rows).await.unwrap();
    assert_eq!((again.inserted, again.skipped), (0, 10));
    let stored = store
        .recent_operations(&mhd_store::OperationFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut keys: Vec<String> = stored
        .iter()
        .filter_map(|o| o.op.import_key.clone())
        .collect();
    keys.sort();
    let mut expected: Vec<String> = rows[..4]
        .iter()
        .filter_map(|o| o.import_key.clone())
        .chain(
            rows[4..]
                .iter()
                .map(|o| mhd_store::import::narrow_key(o.import_key.as_deref().unwrap())),
        )
        .collect();
    expected.sort();
    assert_eq!(keys, expected);
    assert!(
        keys.iter()
            .filter(|k| !k.starts_with("mdm:"))
            .all(|k| k.len() == 14)
    );
}

async fn cleanup_deletes_old_operations_and_keeps_figures_right<B: Backend>(b: &B) {
    let store = b.open().await;
    // One every 20 minutes over two days, datasets spread so some vanish entirely.
    let ops: Vec<_> = (0..144)
        .map(|i| {
            op(
                i * 20,
                if i % 4 == 0 {
                    "dataset_register"
                } else {
                    "migration"
                },
                i % 9 != 0,
                Some(&format!("d{}", i / 10)),
            )
        })
        .collect();
    store.insert_operations(&ops).await.unwrap();
    let cutoff = T0 + Duration::minutes(20 * 50 + 7); // inside an hour, not on its edge
    let expected_old = ops.iter().filter(|o| o.timestamp < cutoff).count() as u64;
    assert_eq!(store.count_before(cutoff).await.unwrap(), expected_old);
    assert_eq!(store.delete_before(cutoff).await.unwrap(), expected_old);
    let all = summarize_operations(&ops);
    let kept: Vec<_> = ops.into_iter().filter(|o| o.timestamp >= cutoff).collect();
    let got = store.stats_summary().await.unwrap();
    let want = summarize_operations(&kept);
    assert_eq!(got.overall.total_operations, want.overall.total_operations);
    assert_eq!(
        got.overall.successful_operations,
        want.overall.successful_operations
    );
    // The datasets stay as they were: a cleanup never forgets a dataset or its state.
    assert_eq!(got.dataset_stats, all.dataset_stats);
    let buckets = store
        .operations_over_time(T0, T0 + Duration::days(2), 3600)
        .await
        .unwrap();
    assert_eq!(
        buckets.iter().map(|b| b.count).sum::<u64>(),
        want.overall.total_operations
    );
}

async fn buckets_cover_the_span_with_empty_ones_included<B: Backend>(b: &B) {
    let store = b.open().await;
    store
        .insert_operations(&[
            op(0, "a", true, None),
            op(30, "a", false, None),
            op(60 * 26, "a", true, None),
        ])
        .await
        .unwrap();
    let hours = store
        .operations_over_time(T0, T0 + Duration::hours(26), 3600)
        .await
        .unwrap();
    assert_eq!(hours.len(), 27);
    assert_eq!((hours[0].count, hours[0].errors), (2, 1));
    assert_eq!(hours[26].count, 1);
    assert!(hours[1..26].iter().all(|b| b.count == 0));
    let days = store
        .operations_over_time(T0, T0 + Duration::hours(26), 86_400)
        .await
        .unwrap();
    assert_eq!(days.iter().map(|b| b.count).collect::<Vec<_>>(), vec![2, 1]);
}

async fn migration_counts_follow_rollbacks<B: Backend>(b: &B) {
    let store = b.open().await;
    store
        .insert_operations(&[
            op(0, "migration", true, Some("a")),
            op(1, "migration", false, Some("b")),
            op(2, "migration", true, Some("b")),
            op(3, "migration", true, Some("c")),
            op(4, "rollback", true, Some("c")),
            op(5, "migration", false, Some("a")), // a failed re-run leaves `a` migrated
        ])
        .await
        .unwrap();
    let c = store.migration_counts().await.unwrap();
    assert_eq!(
        (c.datasets_migrated, c.attempts, c.successes, c.rollbacks),
        (2, 5, 3, 1)
    );
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mhd.db");
    let store = SqliteStore::open(&path, 1).await.unwrap();
    store
        .insert_operations(&[op(0, "a", true, None)])
        .await
        .unwrap();
    sqlx::query("PRAGMA user_version = 99")
        .execute(store.pool())
        .await
        .unwrap();
    store.close().await;
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path, 1).await.unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[tokio::test]
async fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough",
    )
    .unwrap();
    let err = SqliteStore::open(&text, 1).await.unwrap_err();
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");

    let other = dir.path().join("other.db");
    let s = SqliteStore::open(&dir.path().join("scratch.db"), 1)
        .await
        .unwrap();
    sqlx::query("VACUUM INTO ?")
        .bind(other.display().to_string())
        .execute(s.pool())
        .await
        .unwrap();
    s.close().await;
    // Turn the copy into someone else's database: tables, schema version 0.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", other.display()))
        .await
        .unwrap();
    sqlx::query("PRAGMA user_version = 0")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE metrics (id INTEGER)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let err = SqliteStore::open(&other, 1).await.unwrap_err();
    assert!(err.to_string().contains("import mdm"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_from_separate_connections_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mhd.db");
    let mut tasks = Vec::new();
    for w in 0..4 {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let store = SqliteStore::open(&path, 1).await.unwrap();
            for i in 0..25 {
                store
                    .insert_operations(&[op(w * 100 + i, "migration", true, None)])
                    .await
                    .unwrap();
            }
            store.close().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let store = SqliteStore::open(&path, 1).await.unwrap();
    assert_eq!(
        store
            .stats_summary()
            .await
            .unwrap()
            .overall
            .total_operations,
        100
    );
}

#[tokio::test]
async fn a_version_1_store_is_upgraded_with_dataset_states_and_ids_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mhd.db");
    let store = SqliteStore::open(&path, 1).await.unwrap();
    store
        .insert_operations(&[
            op(0, "migration", true, Some("a")),
            op(1, "migration", true, Some("b")),
            op(2, "rollback", true, Some("b")),
        ])
        .await
        .unwrap();
    // Turn the file back into schema version 1, as an older mhd left it: first drop every
    // table later versions added beyond those the statements below take apart.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT IN ('operations', 'operation_rollup', 'datasets', 'dataset_ids', \
         'test_runs', 'test_cases', 'benchmark_samples', 'samples')",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for table in tables {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE \"{table}\"")))
            .execute(store.pool())
            .await
            .unwrap();
    }
    for sql in [
        "ALTER TABLE datasets DROP COLUMN last_started_us",
        "ALTER TABLE datasets DROP COLUMN last_attempt_us",
        "ALTER TABLE datasets DROP COLUMN last_attempt_ok",
        "ALTER TABLE datasets DROP COLUMN last_verified_us",
        "ALTER TABLE datasets DROP COLUMN last_verified_ok",
        "ALTER TABLE datasets DROP COLUMN last_type",
        "DROP TABLE test_cases",
        "DROP TABLE test_runs",
        "DROP TABLE benchmark_samples",
        "DROP TABLE samples",
        "ALTER TABLE datasets DROP COLUMN component",
        "DROP INDEX operations_dataset_time",
        "ALTER TABLE operations DROP COLUMN dataset_id",
        "DROP TABLE dataset_ids",
        "CREATE INDEX operations_dataset_time ON operations (dataset_name, timestamp_us) \
         WHERE dataset_name IS NOT NULL",
        "ALTER TABLE datasets DROP COLUMN last_migrated_us",
        "ALTER TABLE datasets DROP COLUMN last_rollback_us",
        "PRAGMA user_version = 1",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(store.pool())
            .await
            .unwrap();
    }
    store.close().await;
    let store = SqliteStore::open(&path, 1).await.unwrap();
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(version, mhd_store::SCHEMA_VERSION);
    assert_eq!(store.migration_counts().await.unwrap().datasets_migrated, 1);
    // Dataset states and the per-day counts were backfilled from the operations.
    let counts = store.migration_counts().await.unwrap();
    assert_eq!(
        (counts.attempts, counts.successes, counts.rollbacks),
        (2, 2, 1)
    );
    let states: Vec<_> = store
        .datasets(None)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.name, d.marks.state()))
        .collect();
    assert_eq!(
        states,
        [
            ("a".to_owned(), mhd_core::datasets::DatasetState::Migrated),
            ("b".to_owned(), mhd_core::datasets::DatasetState::RolledBack)
        ]
    );
    // Dataset ids were backfilled: per-dataset questions still find the old operations.
    assert_eq!(store.dataset_stats("b").await.unwrap().len(), 2);
    let b = OperationFilter {
        limit: 10,
        dataset: Some("b".into()),
        ..Default::default()
    };
    assert_eq!(store.recent_operations(&b).await.unwrap().len(), 2);
    store
        .insert_operations(&[op(3, "migration", true, Some("b"))])
        .await
        .unwrap();
    assert_eq!(store.recent_operations(&b).await.unwrap().len(), 3);
}

async fn cleanup_never_changes_how_far_the_migration_is<B: Backend>(b: &B) {
    let store = b.open().await;
    store
        .insert_operations(&[
            op(0, "migration", true, Some("a")),
            op(10, "migration", true, Some("b")),
            op(200, "rollback", true, Some("a")),
            op(300, "migration", true, Some("c")),
        ])
        .await
        .unwrap();
    assert_eq!(store.migration_counts().await.unwrap().datasets_migrated, 2);
    store
        .delete_before(T0 + Duration::minutes(100))
        .await
        .unwrap();
    // `b`'s migration is gone with the old operations, but not the fact that it is migrated;
    // `a` is still rolled back: a cleanup never changes how far the migration is.
    assert_eq!(store.migration_counts().await.unwrap().datasets_migrated, 2);
}

/// Another writer commits transaction after transaction with a pause of 2 ms between two (as
/// an ingest's chunks do): a single write waiting for the store takes its turn in one of the
/// first pauses. (SQLite's own wait backs off to one try per 100 ms, and so missed most short
/// pauses: a `mhd record` beside a busy writer could wait out its whole timeout.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_writer_takes_its_turn_in_the_short_pauses_of_a_busy_one() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let busy = open(&dir).await;
    let waiting = open(&dir).await;
    let cycles = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let holder = {
        let (cycles, stop) = (cycles.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) && cycles.load(Ordering::Relaxed) < 200 {
                let mut tx = busy.begin_write().await.unwrap();
                sqlx::query("INSERT INTO dataset_ids (name) VALUES (?)")
                    .bind(format!("busy-{}", cycles.load(Ordering::Relaxed)))
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(40)).await;
                tx.commit().await.unwrap();
                cycles.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
    };
    // Wait for the holder to be inside its first transaction.
    {
        let mut conn = waiting.pool().acquire().await.unwrap();
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *conn)
            .await
            .unwrap();
        while sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .is_ok()
        {
            sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        conn.close().await.unwrap();
    }
    let mut waited = Vec::new();
    for i in 0..5 {
        let before = cycles.load(Ordering::Relaxed);
        waiting
            .insert_operations(&[op(i, "migration", true, Some("waiting"))])
            .await
            .unwrap();
        waited.push(cycles.load(Ordering::Relaxed) - before);
    }
    stop.store(true, Ordering::Relaxed);
    holder.await.unwrap();
    assert!(
        waited.iter().all(|&c| c <= 3),
        "each write waited at most 3 of the busy writer's transactions: {waited:?}"
    );
}

#[tokio::test]
async fn one_process_leads_a_store_file_until_it_lets_go() {
    let dir = tempfile::tempdir().unwrap();
    let a = open(&dir).await;
    let b = open(&dir).await;
    let lease = a.try_lead().unwrap().expect("the first one leads");
    assert!(b.try_lead().unwrap().is_none(), "one leader at a time");
    drop(lease);
    assert!(b.try_lead().unwrap().is_some(), "the next one takes over");
}

async fn text_with_tabs_lines_and_backslashes_comes_back_as_stored<B: Backend>(b: &B) {
    let store = b.open().await;
    let mut o = op(1, "migration", false, Some("sales\\2025 q1"));
    o.error_message = Some("line 1\nline 2\r\n\ttabbed \\N not null \\ end".into());
    o.metadata = Some(serde_json::json!({"quote": "\"", "path": "C:\\x"}));
    o.import_key = Some("k\t1".into());
    store
        .insert_operations(std::slice::from_ref(&o))
        .await
        .unwrap();
    let back = store
        .recent_operations(&OperationFilter {
            limit: 10,
            ..OperationFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].op, o, "every field as stored");
}

/// A server hears of what other writers commit to its SQLite store — another process's
/// handle, or a writer that does not count its writes — and passes over its own, which it has
/// announced already; a write that changes nothing is nothing to hear of.
#[tokio::test]
async fn a_watcher_hears_other_writers_and_passes_over_its_own_handle() {
    use mhd_store::{CollectorStore, Outbox};
    let dir = tempfile::tempdir().unwrap();
    let server = open(&dir).await;
    let other = open(&dir).await;
    let mut watcher = server.change_watcher().await.unwrap();
    assert!(!watcher.changed().await.unwrap(), "nothing written yet");

    // The server's own writes, through the handle and its clones, of every kind: operations,
    // samples, and a single statement.
    server
        .insert_operations(&[op(0, "migration", true, Some("a"))])
        .await
        .unwrap();
    server
        .clone()
        .insert_samples(&[mhd_core::sample::Sample::new(T0, "cpu_percent", 1.0)])
        .await
        .unwrap();
    server
        .set_collector_value("files", "cursor", "1")
        .await
        .unwrap();
    assert!(
        !watcher.changed().await.unwrap(),
        "the server's own writes are passed over"
    );

    // Another handle's write is heard, once.
    other
        .insert_operations(&[op(1, "migration", true, Some("b"))])
        .await
        .unwrap();
    assert!(
        watcher.changed().await.unwrap(),
        "another writer's operation is heard"
    );
    assert!(!watcher.changed().await.unwrap(), "and heard once");

    // Both writing between two looks: the other's write is not hidden by the server's.
    server
        .insert_operations(&[op(2, "migration", true, Some("c"))])
        .await
        .unwrap();
    other
        .set_collector_value("files", "cursor", "2")
        .await
        .unwrap();
    server
        .insert_operations(&[op(3, "migration", true, Some("d"))])
        .await
        .unwrap();
    assert!(
        watcher.changed().await.unwrap(),
        "another's write among the server's is heard"
    );

    // A write transaction that changes nothing (claiming a delivery when none is due) commits
    // nothing to hear of.
    let claimed = other
        .claim_delivery("mail", T0, T0 + Duration::minutes(1))
        .await
        .unwrap();
    assert!(claimed.is_none());
    assert!(
        !watcher.changed().await.unwrap(),
        "a write of nothing is not heard"
    );

    // A writer that does not count its writes (an older version, the sqlite3 shell) is heard
    // while the server itself writes nothing.
    let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite:{}",
        dir.path().join("mhd.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("UPDATE collector_state SET value = '3' WHERE collector = 'files'")
        .execute(&mut raw)
        .await
        .unwrap();
    assert!(
        watcher.changed().await.unwrap(),
        "an uncounted write is heard"
    );
    assert!(!watcher.changed().await.unwrap());

    // The marks of watching handles gone for more than a week are removed when one starts.
    sqlx::query("INSERT INTO write_marks (origin, writes, at_us) VALUES ('gone', 5, 0)")
        .execute(&mut raw)
        .await
        .unwrap();
    let _second = other.change_watcher().await.unwrap();
    let origins: Vec<String> = sqlx::query_scalar("SELECT origin FROM write_marks ORDER BY origin")
        .fetch_all(&mut raw)
        .await
        .unwrap();
    assert!(!origins.iter().any(|o| o == "gone"), "{origins:?}");
    assert!(origins.iter().any(|o| o == "shared"), "{origins:?}");
    drop(raw);
    server.close().await;
    other.close().await;
}
