//! Questions over a span of time: samples of some metrics, errors grouped by message, and
//! migration activity per UTC day.

use mhd_core::NewOperation;
use mhd_core::sample::Sample;
use mhd_store::Store;
use time::OffsetDateTime;
use time::macros::{date, datetime};

use crate::backends;
use crate::both::Both;
use mhd_store::prelude::*;

crate::on_both!(
    "hi";
    samples_between_is_half_open_and_by_metric,
    errors_group_by_type_and_message_most_frequent_first,
    daily_activity_counts_each_utc_day,
    runs_and_operations_of_a_time_range_keep_to_it,
);

const T0: OffsetDateTime = datetime!(2025-03-01 00:00 UTC);

fn op(at: OffsetDateTime, ty: &str, dataset: Option<&str>, error: Option<&str>) -> NewOperation {
    let mut o = NewOperation::new(at, ty, "x");
    o.dataset_name = dataset.map(str::to_owned);
    o.success = error.is_none();
    o.error_message = error.map(str::to_owned);
    o
}

async fn samples_between_is_half_open_and_by_metric<B: Both>(b: &B) {
    let s = b.open().await;
    let at = |m: i64| T0 + time::Duration::minutes(m);
    let mut labelled = Sample::new(at(5), "cpu_percent", 3.0);
    labelled.labels.insert("host".into(), "a".into());
    s.insert_samples(&[
        Sample::new(at(0), "cpu_percent", 1.0),
        Sample::new(at(10), "cpu_percent", 2.0),
        labelled.clone(),
        Sample::new(at(5), "memory_percent", 50.0),
        Sample::new(at(5), "other", 9.0),
    ])
    .await
    .unwrap();
    let got = s
        .samples_between(&["cpu_percent", "memory_percent"], at(0), at(10))
        .await
        .unwrap();
    let values: Vec<f64> = got.iter().map(|x| x.value).collect();
    assert_eq!(values, [1.0, 3.0, 50.0], "oldest first, the end excluded");
    assert_eq!(got[1], labelled, "labels come back");
    assert!(
        s.samples_between(&[], at(0), at(10))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.samples_between(&["cpu_percent"], at(10), at(10))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn errors_group_by_type_and_message_most_frequent_first<B: Both>(b: &B) {
    let s = b.open().await;
    let at = |h: i64| T0 + time::Duration::hours(h);
    s.insert_operations(&[
        op(at(1), "migration", Some("a"), Some("disk full")),
        op(at(2), "migration", Some("b"), Some("disk full")),
        op(at(3), "migration", Some("b"), Some("disk full")),
        op(at(4), "dataset_read", None, Some("timeout")),
        op(at(5), "migration", Some("c"), None),
        op(at(30), "migration", Some("d"), Some("disk full")), // after the span
    ])
    .await
    .unwrap();
    let g = s.errors_between(T0, at(24), 10).await.unwrap();
    assert_eq!(g.len(), 2);
    assert_eq!(
        (
            g[0].metric_type.as_str(),
            g[0].error_message.as_deref(),
            g[0].count,
            g[0].datasets
        ),
        ("migration", Some("disk full"), 3, 2)
    );
    assert_eq!(
        g[0].example_dataset.as_deref(),
        Some("b"),
        "the newest failure's"
    );
    assert_eq!((g[0].first, g[0].last), (at(1), at(3)));
    assert_eq!(
        (g[1].count, g[1].datasets, g[1].example_dataset.clone()),
        (1, 0, None)
    );
    assert_eq!(s.errors_between(T0, at(24), 1).await.unwrap().len(), 1);
}

async fn daily_activity_counts_each_utc_day<B: Both>(b: &B) {
    let s = b.open().await;
    let at = |d: i64, h: i64| T0 + time::Duration::days(d) + time::Duration::hours(h);
    s.insert_operations(&[
        op(at(-1, 23), "migration", Some("before"), None),
        op(at(0, 0), "migration", Some("a"), None),
        op(at(0, 5), "migration", Some("b"), Some("x")),
        op(at(1, 12), "rollback", Some("a"), None),
        op(at(1, 13), "verification", Some("a"), Some("mismatch")),
        op(at(1, 14), "verification", Some("b"), None),
        op(at(2, 23), "migration", Some("c"), None),
        op(at(3, 0), "migration", Some("after"), None),
    ])
    .await
    .unwrap();
    let days = s.daily_activity(date!(2025 - 03 - 01), 3).await.unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!((days[0].migrations, days[0].failed_migrations), (1, 1));
    assert_eq!((days[1].rollbacks, days[1].failed_verifications), (1, 1));
    assert_eq!(days[2].migrations, 1);
    assert!(
        s.daily_activity(date!(2025 - 03 - 01), 0)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn runs_and_operations_of_a_time_range_keep_to_it<B: Both>(b: &B) {
    use mhd_core::testrun::TestRun;
    let s = b.open().await;
    let at = |d: i64| T0 + time::Duration::days(d);
    for (suite, day) in [("a", 0), ("a", 2), ("a", 4), ("b", 1), ("c", 5)] {
        let run = TestRun {
            suite: suite.into(),
            phase: None,
            component: None,
            run_at: at(day),
            duration: 1.0,
            cases: Vec::new(),
        };
        s.insert_test_run(&run, None).await.unwrap();
    }
    let runs = |got: Vec<TestRun>| -> Vec<(String, OffsetDateTime)> {
        got.into_iter().map(|r| (r.suite, r.run_at)).collect()
    };
    let got = s
        .test_runs_between(Some(at(1)), Some(at(4)), 10)
        .await
        .unwrap();
    assert_eq!(
        runs(got),
        [("a".to_owned(), at(2)), ("b".to_owned(), at(1))],
        "the start included, the end excluded, suites without a run left out"
    );
    let got = s.test_runs_between(None, Some(at(5)), 1).await.unwrap();
    assert_eq!(
        runs(got),
        [("a".to_owned(), at(4)), ("b".to_owned(), at(1))],
        "each suite's newest in the range"
    );
    assert_eq!(
        runs(s.recent_test_runs(1).await.unwrap()),
        runs(s.test_runs_between(None, None, 1).await.unwrap())
    );

    s.insert_operations(&[
        op(at(0), "migration", Some("first"), None),
        op(at(2), "migration", Some("second"), None),
        op(at(4), "migration", Some("third"), None),
    ])
    .await
    .unwrap();
    let names = |since: Option<OffsetDateTime>, until: Option<OffsetDateTime>| {
        let s = &s;
        async move {
            s.recent_operations(&mhd_store::OperationFilter {
                limit: 10,
                since,
                until,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.op.dataset_name.unwrap_or_default())
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(names(Some(at(1)), Some(at(4))).await, ["second"]);
    assert_eq!(names(None, Some(at(2))).await, ["first"]);
    assert_eq!(names(Some(at(2)), None).await, ["third", "second"]);
}
