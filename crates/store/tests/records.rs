//! Test runs, benchmark batches and the analysis inputs, on a real SQLite file and a real
//! PostgreSQL database (the same tests on both).

use mhd_core::perf::BenchmarkSamples;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, System};
use mhd_store::Store;
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2025-01-06 9:00 UTC);

mod backends;
use backends::Backend;

on_both!(
    "rec";
    test_runs_come_back_with_their_cases_newest_runs_per_suite,
    the_comparison_reads_each_series_latest_batch,
    daily_net_throughput_counts_successful_migrations_less_rollbacks,
    progress_per_component_and_marks_by_name,
    component_windows_split_by_system,
    latest_samples_keep_the_newest_of_each_series_since_a_time,
    a_batch_of_samples_with_a_bad_one_stores_nothing,
    many_samples_go_in_one_call_across_statement_chunks,
    chunks_ingested_one_after_another_count_as_written_in_order,
    a_small_batch_and_a_large_one_keep_every_field_alike,
);

fn case(name: &str, status: TestStatus) -> TestCase {
    TestCase {
        name: name.into(),
        classname: Some("suite.mod".into()),
        status,
        time: Some(0.5),
        message: (status == TestStatus::Failed).then(|| format!("{name} broke")),
    }
}

fn run(suite: &str, hours: i64, cases: Vec<TestCase>) -> TestRun {
    TestRun {
        suite: suite.into(),
        phase: Some("tests".into()),
        component: Some("storage".into()),
        run_at: T0 + Duration::hours(hours),
        duration: 12.5,
        cases,
    }
}

async fn test_runs_come_back_with_their_cases_newest_runs_per_suite<B: Backend>(b: &B) {
    let store = b.open().await;
    for h in 0..12 {
        let status = if h % 3 == 0 {
            TestStatus::Failed
        } else {
            TestStatus::Passed
        };
        let r = run(
            "unit",
            h,
            vec![
                case("a", TestStatus::Passed),
                case("b", status),
                case("c", TestStatus::Skipped),
            ],
        );
        store.insert_test_run(&r, Some("unit.xml")).await.unwrap();
    }
    store
        .insert_test_run(&run("e2e", 1, vec![case("x", TestStatus::Error)]), None)
        .await
        .unwrap();
    store
        .insert_test_run(&run("empty", 2, vec![]), None)
        .await
        .unwrap();
    let runs = store.recent_test_runs(10).await.unwrap();
    let suites: Vec<&str> = runs.iter().map(|r| r.suite.as_str()).collect();
    assert_eq!(
        suites.iter().filter(|s| **s == "unit").count(),
        10,
        "only the last ten"
    );
    assert_eq!(suites[0], "e2e");
    let unit: Vec<&TestRun> = runs.iter().filter(|r| r.suite == "unit").collect();
    assert_eq!(
        unit[0].run_at,
        T0 + Duration::hours(2),
        "oldest first, the two oldest dropped"
    );
    assert_eq!(unit[9].run_at, T0 + Duration::hours(11));
    assert_eq!(
        unit[1].cases,
        vec![
            case("a", TestStatus::Passed),
            case("b", TestStatus::Failed),
            case("c", TestStatus::Skipped)
        ]
    );
    let empty = runs.iter().find(|r| r.suite == "empty").unwrap();
    assert!(
        empty.cases.is_empty(),
        "an empty report is stored as an empty run"
    );
}

async fn the_comparison_reads_each_series_latest_batch<B: Backend>(b: &B) {
    let store = b.open().await;
    let s = |op: &str, system, values: &[f64]| BenchmarkSamples {
        operation: op.into(),
        system,
        component: Some("storage".into()),
        values_ms: values.to_vec(),
    };
    store
        .insert_benchmarks(&[s("read", System::Old, &[1.0, 2.0])], Some("a.json"), T0)
        .await
        .unwrap();
    store
        .insert_benchmarks(&[s("read", System::New, &[3.0])], None, T0)
        .await
        .unwrap();
    store
        .insert_benchmarks(&[s("read", System::Old, &[5.0, 6.0, 7.0])], None, T0)
        .await
        .unwrap();
    let latest = store.latest_benchmarks().await.unwrap();
    assert_eq!(
        latest,
        vec![
            s("read", System::New, &[3.0]),
            s("read", System::Old, &[5.0, 6.0, 7.0])
        ]
    );
    let bad = store
        .insert_benchmarks(&[s("read", System::Old, &[1.0, f64::NAN])], None, T0)
        .await;
    assert!(bad.is_err());
    assert_eq!(
        store.latest_benchmarks().await.unwrap().len(),
        2,
        "nothing of a refused batch"
    );
}

fn op(at: OffsetDateTime, ty: &str, ds: &str, ok: bool) -> NewOperation {
    let mut o = NewOperation::new(at, ty, "op");
    o.dataset_name = Some(ds.into());
    o.success = ok;
    o
}

async fn daily_net_throughput_counts_successful_migrations_less_rollbacks<B: Backend>(b: &B) {
    let store = b.open().await;
    let d = |day: i64, h: i64| {
        datetime!(2025-01-06 0:00 UTC) + Duration::days(day) + Duration::hours(h)
    };
    store
        .insert_operations(&[
            op(d(0, 1), "migration", "a", true),
            op(d(0, 23), "migration", "b", true),
            op(d(0, 5), "migration", "c", false),
            op(d(1, 2), "rollback", "a", true),
            op(d(3, 4), "migration", "a", true),
            op(d(3, 5), "dataset_read", "a", true),
        ])
        .await
        .unwrap();
    assert_eq!(
        store
            .daily_migration_net(date!(2025 - 01 - 06), 5)
            .await
            .unwrap(),
        vec![2, -1, 0, 1, 0]
    );
    assert_eq!(
        store
            .daily_migration_net(date!(2025 - 01 - 07), 2)
            .await
            .unwrap(),
        vec![-1, 0]
    );
}

async fn progress_per_component_and_marks_by_name<B: Backend>(b: &B) {
    let store = b.open().await;
    let mut ops = vec![
        op(T0, "migration", "a", true),
        op(T0, "migration", "b", false),
        op(T0, "migration", "c", true),
        op(T0 + Duration::minutes(1), "rollback", "c", true),
        op(T0, "dataset_read", "d", true),
    ];
    ops[0].component = Some("storage".into());
    ops[1].component = Some("storage".into());
    ops[2].component = Some("config".into());
    let mut m = NewOperation::new(T0 + Duration::hours(2), "milestone", "Suite green");
    m.success = true;
    let later = NewOperation::new(T0 + Duration::hours(5), "milestone", "Suite green");
    ops.push(m);
    ops.push(later);
    store.insert_operations(&ops).await.unwrap();
    let p = store.dataset_progress().await.unwrap();
    let get = |c: Option<&str>| {
        p.iter()
            .find(|x| x.component.as_deref() == c)
            .map(|x| (x.seen, x.migrated))
    };
    assert_eq!(get(Some("storage")), Some((2, 1)));
    assert_eq!(get(Some("config")), Some((1, 0)));
    assert_eq!(get(None), Some((1, 0)));
    assert_eq!(
        store.migrated_datasets().await.unwrap(),
        vec!["a".to_string()]
    );
    let marks = store.first_success_by_name("milestone").await.unwrap();
    assert_eq!(
        marks,
        vec![("Suite green".to_string(), T0 + Duration::hours(2))]
    );
    // The component survives a cleanup that keeps the dataset.
    store.delete_before(T0 - Duration::days(1)).await.unwrap();
    assert_eq!(store.dataset_progress().await.unwrap(), p);
}

async fn component_windows_split_by_system<B: Backend>(b: &B) {
    let store = b.open().await;
    let mk = |m: i64, sys: System, ok: bool, d: f64| {
        let mut o = NewOperation::new(T0 + Duration::minutes(m), "query_execution", "q");
        o.component = Some("storage".into());
        o.system = Some(sys);
        o.success = ok;
        o.duration_ms = Some(d);
        o
    };
    store
        .insert_operations(&[
            mk(0, System::Old, true, 10.0),
            mk(1, System::Old, false, 20.0),
            mk(2, System::New, true, 5.0),
            mk(90, System::New, true, 7.0),
        ])
        .await
        .unwrap();
    let w = store
        .component_windows(T0, T0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(w.len(), 2);
    assert_eq!(
        (w[0].system, w[0].operations, w[0].failures),
        (System::New, 1, 0)
    );
    assert_eq!(
        (w[1].system, w[1].operations, w[1].failures),
        (System::Old, 2, 1)
    );
    // The durations' histogram: both counted, the p95 within 10 % of the slower one.
    assert_eq!(w[1].durations.total(), 2);
    let p95 = w[1].durations.percentile(95.0).unwrap();
    assert!((p95 / 20.0 - 1.0).abs() < 0.1, "{p95}");
    // Written in two batches, the hour's histogram is merged, not replaced.
    store
        .insert_operations(&[mk(3, System::Old, true, 30.0)])
        .await
        .unwrap();
    let w = store
        .component_windows(T0, T0 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((w[1].operations, w[1].durations.total()), (3, 3));
    let ops = store
        .operations_between(T0, T0 + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(ops.len(), 5);
    assert!(ops.windows(2).all(|p| p[0].timestamp <= p[1].timestamp));
}

fn sample(minutes: i64, metric: &str, value: f64) -> mhd_core::sample::Sample {
    mhd_core::sample::Sample::new(T0 + Duration::minutes(minutes), metric, value)
}

async fn latest_samples_keep_the_newest_of_each_series_since_a_time<B: Backend>(b: &B) {
    let store = b.open().await;
    let mut host_b = sample(3, "cpu_percent", 70.0);
    host_b.labels.insert("host".into(), "b".into());
    let mut host_b_older = sample(1, "cpu_percent", 10.0);
    host_b_older.labels.insert("host".into(), "b".into());
    let mut storage = sample(2, "cpu_percent", 33.0);
    storage.component = Some("storage".into());
    storage.unit = Some("%".into());
    let n = store
        .insert_samples(&[
            sample(-10, "cpu_percent", 1.0), // before `since`: left out
            sample(0, "cpu_percent", 20.0),
            sample(4, "cpu_percent", 40.0), // the newest unlabelled one
            host_b_older,
            host_b.clone(),
            storage.clone(),
            sample(-20, "memory_used_bytes", 5.0), // its only sample is too old
            sample(1, "db_pool_size", 200.0),
        ])
        .await
        .unwrap();
    assert_eq!(n, 8);
    let latest = store
        .latest_samples(T0 - Duration::minutes(5))
        .await
        .unwrap();
    let got: Vec<(&str, Option<&str>, Option<&String>, f64)> = latest
        .iter()
        .map(|s| {
            (
                s.metric.as_str(),
                s.component.as_deref(),
                s.labels.get("host"),
                s.value,
            )
        })
        .collect();
    let b = "b".to_owned();
    assert_eq!(
        got,
        vec![
            ("cpu_percent", None, None, 40.0),
            ("cpu_percent", None, Some(&b), 70.0),
            ("cpu_percent", Some("storage"), None, 33.0),
            ("db_pool_size", None, None, 200.0),
        ]
    );
    // Every field comes back as stored.
    assert!(latest.contains(&host_b));
    assert!(latest.contains(&storage));
    assert!(
        store
            .latest_samples(T0 + Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_batch_of_samples_with_a_bad_one_stores_nothing<B: Backend>(b: &B) {
    let store = b.open().await;
    let err = store
        .insert_samples(&[
            sample(0, "cpu_percent", 1.0),
            sample(0, "cpu_percent", f64::NAN),
        ])
        .await
        .unwrap_err();
    match err {
        mhd_store::StoreError::Invalid { index, source } => {
            assert_eq!((index, source.field), (1, "value"));
        }
        other => panic!("{other}"),
    }
    assert!(
        store
            .latest_samples(T0 - Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.insert_samples(&[]).await.unwrap(), 0);
}

async fn many_samples_go_in_one_call_across_statement_chunks<B: Backend>(b: &B) {
    let store = b.open().await;
    let many: Vec<_> = (0..10_000)
        .map(|i: i32| {
            let mut s = sample(
                i64::from(i % 60),
                "network_in_bytes_per_second",
                f64::from(i),
            );
            s.labels.insert("nic".into(), format!("eth{}", i % 3));
            s
        })
        .collect();
    assert_eq!(store.insert_samples(&many).await.unwrap(), 10_000);
    let latest = store.latest_samples(T0).await.unwrap();
    assert_eq!(latest.len(), 3);
    // Each NIC's newest: eth0 last sampled at minute 57, eth1 at 58, eth2 at 59; of the samples
    // at that minute, the last written.
    let values: Vec<(String, f64)> = latest
        .iter()
        .map(|s| (s.labels["nic"].clone(), s.value))
        .collect();
    assert_eq!(
        values,
        vec![
            ("eth0".to_owned(), 9957.0),
            ("eth1".to_owned(), 9958.0),
            ("eth2".to_owned(), 9959.0)
        ]
    );
}

async fn chunks_ingested_one_after_another_count_as_written_in_order<B: Backend>(b: &B) {
    let db = B::database(b.open().await);
    let mk = |m: i64, component: &str, sys: System, d: f64| {
        let mut o = NewOperation::new(T0 + Duration::minutes(m), "query_execution", "q");
        o.dataset_name = Some("a".into());
        o.component = Some(component.into());
        o.system = Some(sys);
        o.duration_ms = Some(d);
        o
    };
    let chunk = |i: usize| mhd_store::Chunk {
        key: format!("k{i}"),
        prev: if i == 0 {
            String::new()
        } else {
            format!("k{}", i - 1)
        },
        records: 2,
    };
    let second = [
        mk(2, "storage", System::Old, 30.0),
        mk(3, "config", System::New, 5.0),
    ];
    let mut ingest = db.chunk_ingest("ops.ndjson", T0, false);
    ingest
        .add(
            &chunk(0),
            &[
                mk(0, "storage", System::Old, 10.0),
                mk(1, "storage", System::Old, 20.0),
            ],
        )
        .await
        .unwrap();
    ingest.add(&chunk(1), &second).await.unwrap();
    ingest
        .add(&chunk(2), &[mk(4, "features", System::New, 7.0)])
        .await
        .unwrap();
    assert_eq!(ingest.finish().await.unwrap(), 5);
    assert_eq!(ingest.stored(), 5);
    // A chunk remembered already stores nothing again, unless asked to.
    let mut again = db.chunk_ingest("ops.ndjson", T0, false);
    again.add(&chunk(1), &second).await.unwrap();
    assert_eq!(again.finish().await.unwrap(), 0);
    assert_eq!(db.ingested_chunks().await.unwrap().len(), 3);

    let w = db
        .component_windows(T0, T0 + Duration::hours(1))
        .await
        .unwrap();
    let storage_old = w
        .iter()
        .find(|w| w.component == "storage" && w.system == System::Old)
        .unwrap();
    // The hour's histogram holds the durations of both chunks that wrote it.
    assert_eq!(
        (storage_old.operations, storage_old.durations.total()),
        (3, 3)
    );
    assert_eq!(w.iter().map(|w| w.operations).sum::<u64>(), 5);
    // The dataset takes the component of the last chunk, as written in input order.
    let p = db.dataset_progress().await.unwrap();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].component.as_deref(), Some("features"));
    assert_eq!(p[0].seen, 1);
}

async fn a_small_batch_and_a_large_one_keep_every_field_alike<B: Backend>(b: &B) {
    let store = b.open().await;
    let full = |m: i64, key: &str| {
        let mut o = NewOperation::new(
            T0 + Duration::minutes(m),
            "migration",
            "copy \\N back\\slash",
        );
        o.dataset_name = Some("ds \"quoted\" 'é'".into());
        o.component = Some("storage".into());
        o.system = Some(System::New);
        o.duration_ms = Some(12.5);
        o.success = false;
        o.row_count = Some(3);
        o.error_message = Some("boom\r\nagain".into());
        o.metadata = Some(serde_json::json!({"a": [1, "two"], "b\t": null}));
        o.import_key = Some(key.into());
        o
    };
    let bare = |m: i64| NewOperation::new(T0 + Duration::minutes(m), "dataset_read", "read");
    // A request's few operations go in one way, an ingest's many another.
    let small = vec![full(0, "small"), bare(1)];
    store.insert_operations(&small).await.unwrap();
    let mut large: Vec<NewOperation> = (0..1500).map(|i| bare(10 + i)).collect();
    large[7] = full(17, "large");
    store.insert_operations(&large).await.unwrap();
    let filter = mhd_store::OperationFilter {
        limit: 2000,
        ..Default::default()
    };
    let mut back = store.recent_operations(&filter).await.unwrap();
    back.reverse();
    assert_eq!(back.len(), 1502);
    // Ids follow the order written.
    assert!(back.windows(2).all(|p| p[0].id < p[1].id));
    let back: Vec<NewOperation> = back.into_iter().map(|o| o.op).collect();
    assert_eq!(&back[..2], &small[..]);
    assert_eq!(&back[2..], &large[..]);
}
