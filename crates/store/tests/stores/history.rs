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
