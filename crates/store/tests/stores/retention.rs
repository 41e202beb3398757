//! Retention on both backends, over 120 days of a simulated migration: the views read the same
//! figures before and after a pass, the store is bounded afterwards, the aggregates keep what
//! the raw samples said, a second pass (after the first, or at once with it) counts nothing
//! twice, and writes go on while a pass runs.

use std::collections::BTreeMap;

use mhd_core::model::{Options, ViewModel};
use mhd_core::plan::{Plan, RetentionSettings, parse};
use mhd_core::sample::Sample;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, System};
use mhd_store::retention::{Resolution, RetentionReport, SampleStats};
use mhd_store::{AlertStore, RetentionStore, Store, view_data};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::{Both, Raw};

crate::on_both!(
    "rt";
    retention_over_120_days_keeps_every_migration_figure_and_bounds_the_store,
    two_passes_at_once_count_every_sample_once_and_delete_each_row_once,
    samples_pushed_late_are_rolled_up_once_and_read_once,
    a_write_during_a_long_retention_run_completes_while_it_runs,
    a_chart_read_again_sees_every_sample_and_every_pass_of_any_process,
);

const NOW: OffsetDateTime = datetime!(2025-06-01 12:00 UTC);
const DAYS: i64 = 120;
/// Minutes between two samples of a series.
const SAMPLE_EVERY: i64 = 10;

fn plan() -> Plan {
    let text = r#"
[migration]
name = "Retention"
start = "2025-02-01"
weeks = 26

[datasets]
total = 400

[[components]]
id = "storage"
name = "Storage"

[[components]]
id = "compute"
name = "Compute"

[[phases]]
id = "one"
name = "One"
start = "2025-02-01"
end = "2025-04-01"
components = ["storage"]
milestones = [{ name = "Half", date = "2025-03-01" }]

[[phases]]
id = "two"
name = "Two"
start = "2025-03-15"
end = "2025-07-15"
depends_on = ["one"]
components = ["compute"]
"#;
    parse(text, "migration.toml").expect("the test plan parses")
}

/// The settings the test prunes with: the defaults, with test runs and alerts kept 60 days so
/// that 120 days of them have something to prune.
fn settings() -> RetentionSettings {
    RetentionSettings {
        test_runs: Duration::days(60),
        resolved_alerts: Duration::days(60),
        ..RetentionSettings::default()
    }
}

fn start() -> OffsetDateTime {
    NOW - Duration::days(DAYS)
}

/// A deterministic value in [0, 1) from a counter.
fn noise(i: i64) -> f64 {
    ((i.wrapping_mul(2_654_435_761) >> 7) & 0xffff) as f64 / 65_536.0
}

fn operations() -> Vec<NewOperation> {
    let mut ops = Vec::new();
    let mut next = [0u32; 2];
    for day in 0..DAYS {
        let t = start() + Duration::days(day);
        for (c, component) in ["storage", "compute"].into_iter().enumerate() {
            // Component two starts on day 40.
            if c == 1 && day < 40 {
                continue;
            }
            for k in 0..3 {
                let at = t + Duration::hours(2 + k);
                let name = format!("{component}-{}", next[c]);
                let mut start = NewOperation::new(at, "migration_start", "migrate");
                start.dataset_name = Some(name.clone());
                start.component = Some(component.into());
                ops.push(start);
                let mut m = NewOperation::new(at + Duration::minutes(20), "migration", "migrate");
                m.dataset_name = Some(name.clone());
                m.component = Some(component.into());
                m.duration_ms = Some(1_000.0 + 500.0 * noise(day * 10 + k));
                m.success = (day + k) % 7 != 3;
                if m.success {
                    next[c] += 1;
                } else {
                    m.error_message = Some("timeout".into());
                }
                ops.push(m);
            }
            if day % 3 == 0 && next[c] > 0 {
                let mut v = NewOperation::new(t + Duration::hours(8), "verification", "verify");
                v.dataset_name = Some(format!("{component}-{}", next[c] - 1));
                v.component = Some(component.into());
                v.success = day % 9 != 0;
                ops.push(v);
            }
            if day % 10 == 5 && next[c] > 2 {
                let mut r = NewOperation::new(t + Duration::hours(9), "rollback", "rollback");
                r.dataset_name = Some(format!("{component}-{}", next[c] - 2));
                r.component = Some(component.into());
                ops.push(r);
            }
            for i in 0..40 {
                let mut o =
                    NewOperation::new(t + Duration::minutes(30 * i + 5), "query_execution", "q");
                o.component = Some(component.into());
                o.system = Some(if i % 2 == 0 { System::Old } else { System::New });
                o.duration_ms = Some(5.0 + 50.0 * noise(day * 100 + i));
                o.success = (day * 40 + i) % 23 != 0;
                ops.push(o);
            }
        }
        if day == 28 {
            let mut m = NewOperation::new(t + Duration::hours(12), "milestone", "Half");
            m.success = true;
            ops.push(m);
        }
        if day == 59 {
            let mut m = NewOperation::new(t + Duration::hours(12), "phase_complete", "one");
            m.success = true;
            ops.push(m);
        }
    }
    ops
}

fn samples() -> Vec<Sample> {
    let mut out = Vec::new();
    let n = DAYS * 24 * 60 / SAMPLE_EVERY;
    for i in 0..n {
        let at = start() + Duration::minutes(i * SAMPLE_EVERY);
        let mut cpu = Sample::new(at, "cpu_percent", 20.0 + 70.0 * noise(i));
        cpu.unit = Some("%".into());
        out.push(cpu);
        let mut mem = Sample::new(at, "memory_percent", 40.0 + 20.0 * noise(i + 7));
        mem.component = Some("storage".into());
        out.push(mem);
        let mut net = Sample::new(
            at,
            "network_in_bytes_per_second",
            1e6 * (1.0 + 9.0 * noise(i + 3)),
        );
        net.labels = BTreeMap::from([("host".to_owned(), "a".to_owned())]);
        out.push(net);
    }
    out
}

fn test_run(suite: &str, day: i64) -> TestRun {
    let case = |name: &str, status| TestCase {
        name: name.into(),
        classname: Some(format!("{suite}.mod")),
        status,
        time: Some(0.25),
        message: (status == TestStatus::Failed).then(|| "broke".to_owned()),
    };
    TestRun {
        suite: suite.into(),
        phase: Some("one".into()),
        component: Some("storage".into()),
        run_at: start() + Duration::days(day) + Duration::hours(6),
        duration: 3.0,
        cases: vec![
            case("a", TestStatus::Passed),
            case(
                "b",
                if day % 4 == 0 {
                    TestStatus::Failed
                } else {
                    TestStatus::Passed
                },
            ),
            case("c", TestStatus::Skipped),
        ],
    }
}

/// Alerts written as the alert loop would have: one resolved every 5 days with its history
/// and deliveries, and one still firing since the first day.
async fn write_alerts(raw: &Raw) {
    for (i, day) in (0..DAYS).step_by(5).enumerate() {
        let id = i as i64 + 1;
        let started = us(start() + Duration::days(day));
        let resolved = started + 3 * 3_600_000_000;
        let open = day == 0;
        let (state, resolved_at, resolution) = if open {
            ("firing", "NULL".to_owned(), "NULL")
        } else {
            ("resolved", resolved.to_string(), "'automatic'")
        };
        raw.execute(&format!(
            "INSERT INTO alerts (id, key, rule, kind, severity, state, title, message, component, \
             started_at_us, fired_at_us, last_seen_us, resolved_at_us, resolution, \
             impact_datasets, impact_components, notified) \
             VALUES ({id}, 'high_error_rate/storage/{i}', 'high_error_rate', 'threshold', \
             'warning', '{state}', 'Storage: errors', 'm', 'storage', {started}, {started}, \
             {resolved}, {resolved_at}, {resolution}, '[]', '[\"storage\"]', 1)"
        ))
        .await
        .unwrap();
        for (event, at) in [("fired", started), ("resolved", resolved)] {
            if open && event == "resolved" {
                continue;
            }
            raw.execute(&format!(
                "INSERT INTO alert_events (alert_id, at_us, event, state, severity, message, notify) \
                 VALUES ({id}, {at}, '{event}', 'firing', 'warning', 'm', 1)"
            ))
            .await
            .unwrap();
            raw.execute(&format!(
                "INSERT INTO deliveries (channel, alert_id, event, payload, state, attempts, \
                 next_attempt_at_us, created_at_us, sent_at_us) \
                 VALUES ('ops', {id}, '{event}', '{{}}', 'sent', 1, {at}, {at}, {at})"
            ))
            .await
            .unwrap();
        }
    }
}

/// A store holding the whole simulated migration, and a plain connection beside it.
async fn filled<B: Both>(b: &B) -> (B::S, Raw) {
    let store = b.open().await;
    store.insert_operations(&operations()).await.unwrap();
    store.insert_samples(&samples()).await.unwrap();
    for day in 0..DAYS {
        for suite in ["unit", "integration"] {
            store
                .insert_test_run(&test_run(suite, day), None)
                .await
                .unwrap();
        }
    }
    let raw = b.raw().await;
    write_alerts(&raw).await;
    (store, raw)
}

/// What the views show of `store` as of [`NOW`], with the test's plan.
async fn model<S: Store + AlertStore>(store: &S) -> ViewModel {
    view_data::view_model(store, Some(&plan()), NOW, false, Options::default())
        .await
        .unwrap()
}

fn us(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000) as i64
}

const METRICS: [&str; 3] = [
    "cpu_percent",
    "memory_percent",
    "network_in_bytes_per_second",
];

/// The spans whose raw samples retention deletes but whose aggregates it keeps: 70 days read
/// from the 1-hour aggregates, 2 days from the 1-minute ones.
const LONG: (OffsetDateTime, OffsetDateTime) = (
    NOW.saturating_sub(Duration::days(80)),
    NOW.saturating_sub(Duration::days(10)),
);
const SHORT: (OffsetDateTime, OffsetDateTime) = (
    NOW.saturating_sub(Duration::days(6)),
    NOW.saturating_sub(Duration::days(4)),
);

/// Every series' figures over `span` read at `resolution`.
async fn stats<S: RetentionStore>(
    store: &S,
    span: (OffsetDateTime, OffsetDateTime),
    resolution: Resolution,
) -> Vec<SampleStats> {
    let mut out = Vec::new();
    for m in METRICS {
        out.extend(
            store
                .sample_stats(m, span.0, span.1, resolution)
                .await
                .unwrap(),
        );
    }
    out
}

/// Asserts the aggregates' figures of a span match the raw samples': count, min, max and mean
/// exactly (to rounding), p95 within the sketch's 10 %.
#[track_caller]
fn same_figures(raw: &[SampleStats], rolled: &[SampleStats]) {
    assert_eq!(raw.len(), rolled.len(), "{raw:#?}\n{rolled:#?}");
    assert!(!raw.is_empty());
    for (r, a) in raw.iter().zip(rolled) {
        assert_eq!((&r.component, &r.labels), (&a.component, &a.labels));
        assert_eq!(r.count, a.count, "{}", r.metric);
        assert_eq!(r.min, a.min, "{}", r.metric);
        assert_eq!(r.max, a.max, "{}", r.metric);
        assert!(
            (r.mean / a.mean - 1.0).abs() < 1e-9,
            "{} {} vs {}",
            r.metric,
            r.mean,
            a.mean
        );
        let (exact, sketched) = (r.p95.unwrap(), a.p95.unwrap());
        assert!(
            (sketched / exact - 1.0).abs() <= 0.10,
            "{}: p95 {sketched} from the aggregates, {exact} from the raw samples",
            r.metric
        );
    }
}

/// Asserts the store holds what one pass with [`settings`] leaves of the simulated migration.
async fn assert_bounded(raw: &Raw) {
    let cut = us(NOW - Duration::days(90));
    assert_eq!(
        raw.count(&format!(
            "SELECT COUNT(*) FROM operations WHERE timestamp_us < {cut} \
             AND metric_type NOT IN ('milestone', 'phase_complete')"
        ))
        .await,
        0
    );
    assert_eq!(
        raw.count(&format!(
            "SELECT COUNT(*) FROM operations WHERE timestamp_us < {cut}"
        ))
        .await,
        1,
        "the milestone is kept"
    );
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM samples").await,
        3 * 48 * 60 / SAMPLE_EVERY
    );
    assert_eq!(
        raw.count("SELECT MIN(minute) FROM sample_minutes").await,
        us(NOW - Duration::days(90)) / 60_000_000
    );
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM sample_hours").await,
        3 * 90 * 24,
        "90 days of hours for 3 series"
    );
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM test_cases").await,
        2 * 60 * 3
    );
    // Resolved alerts older than 60 days are gone with their history; the open one stays.
    let resolved_cut = us(NOW - Duration::days(60));
    assert_eq!(
        raw.count(&format!(
            "SELECT COUNT(*) FROM alerts WHERE state = 'resolved' AND resolved_at_us < {resolved_cut}"
        ))
        .await,
        0
    );
    assert_eq!(
        raw.count("SELECT COUNT(*) FROM alerts WHERE state = 'firing'")
            .await,
        1
    );
    assert_eq!(
        raw.count(
            "SELECT COUNT(*) FROM alert_events WHERE alert_id NOT IN (SELECT id FROM alerts)"
        )
        .await,
        0
    );
    // Deliveries: 30 days, but the open alert's are kept.
    assert_eq!(
        raw.count(&format!(
            "SELECT COUNT(*) FROM deliveries WHERE created_at_us < {}",
            us(NOW - Duration::days(30))
        ))
        .await,
        1
    );
}

async fn retention_over_120_days_keeps_every_migration_figure_and_bounds_the_store<B: Both>(b: &B) {
    let (store, raw) = filled(b).await;

    let model_before = model(&store).await;
    let counts_before = store.migration_counts().await.unwrap();
    let progress_before = store.dataset_progress().await.unwrap();
    let datasets_before = store.migrated_datasets().await.unwrap();
    let days_before = store.migration_days(None).await.unwrap();
    let raw_long = stats(&store, LONG, Resolution::Raw).await;
    let raw_short = stats(&store, SHORT, Resolution::Raw).await;
    let ops_before = raw.count("SELECT COUNT(*) FROM operations").await;
    let samples_before = raw.count("SELECT COUNT(*) FROM samples").await;

    let report = store.run_retention(&settings(), NOW).await.unwrap();

    // Every figure the views show is the same.
    let model_after = model(&store).await;
    assert_eq!(model_before.summary, model_after.summary);
    assert_eq!(model_before.timeline, model_after.timeline);
    assert_eq!(model_before.components, model_after.components);
    assert_eq!(model_before.progress, model_after.progress);
    assert_eq!(model_before.tests, model_after.tests);
    assert_eq!(model_before.alerts, model_after.alerts);
    assert_eq!(model_before, model_after);
    assert_eq!(store.migration_counts().await.unwrap(), counts_before);
    assert_eq!(store.dataset_progress().await.unwrap(), progress_before);
    assert_eq!(store.migrated_datasets().await.unwrap(), datasets_before);
    assert_eq!(store.migration_days(None).await.unwrap(), days_before);
    assert!(days_before.0.len() >= 100, "a count for every day");
    let summary = model_after.summary.as_ref().expect("a summary with a plan");
    assert!(summary.key_metrics.datasets_migrated > 100, "{summary:?}");
    assert!(
        model_after.timeline[0]
            .milestones
            .iter()
            .all(|m| m.status == mhd_core::timeline::MilestoneStatus::Completed),
        "the milestone recorded 92 days ago is still reached: {:?}",
        model_after.timeline[0].milestones
    );

    // What the pass says it did is what happened, and the store is bounded.
    let ops_after = raw.count("SELECT COUNT(*) FROM operations").await;
    assert_eq!(report.operations as i64, ops_before - ops_after);
    assert!(report.operations > 0);
    let samples_after = raw.count("SELECT COUNT(*) FROM samples").await;
    assert_eq!(report.samples as i64, samples_before - samples_after);
    assert_eq!(report.samples_rolled_up as i64, samples_before);
    assert!(report.sample_minutes > 0 && report.sample_hours > 0 && report.sample_days > 0);
    // Test runs: 60 days, and at least each suite's last 10.
    assert_eq!(report.test_runs, 2 * (DAYS as u64 - 60));
    assert_eq!(report.test_cases, 3 * report.test_runs);
    assert!(report.alerts >= 11, "{report:?}");
    assert_eq!(report.alert_events, 2 * report.alerts);
    assert_bounded(&raw).await;
    if B::HANDS_BACK_PAGES {
        assert!(report.bytes_freed > 0, "{report:?}");
    } else {
        assert_eq!((report.bytes_freed, report.bytes_reusable), (0, 0));
    }

    // The aggregates say what the raw samples said.
    same_figures(&raw_long, &stats(&store, LONG, Resolution::Hour).await);
    same_figures(&raw_short, &stats(&store, SHORT, Resolution::Minute).await);

    // A 90-day chart still has every day: from the 1-day aggregates, and from the 1-hour
    // ones alike.
    let since = NOW - Duration::days(90);
    let resolution = Resolution::for_span(since, NOW, NOW, settings().samples);
    assert_eq!(resolution, Resolution::Day);
    let per_day = 24 * 60 / SAMPLE_EVERY as u64;
    for resolution in [Resolution::Day, Resolution::Hour] {
        let buckets = store
            .sample_buckets(&METRICS, since, NOW, Duration::days(1), resolution)
            .await
            .unwrap();
        let cpu: Vec<_> = buckets
            .iter()
            .filter(|b| b.metric == "cpu_percent")
            .collect();
        assert!(cpu.iter().all(|b| b.unit.as_deref() == Some("%")));
        if resolution == Resolution::Day {
            // From the whole day `since` falls in to today's first half.
            assert_eq!(cpu.len(), 91, "one bucket a day");
            assert!(cpu[..90].iter().all(|b| b.count == per_day));
            assert_eq!(cpu[90].count, per_day / 2);
        } else {
            // From `since` on the hour, a day each.
            assert_eq!(cpu.len(), 90, "one bucket a day");
            assert!(cpu.iter().all(|b| b.count == per_day));
        }
    }

    // A second pass has nothing left to do, and changes nothing.
    let again = store.run_retention(&settings(), NOW).await.unwrap();
    assert_eq!(again.deleted(), 0, "{again:?}");
    assert_eq!(again.samples_rolled_up, 0, "{again:?}");
    let model_again = model(&store).await;
    assert_eq!(model_before, model_again);
    same_figures(&raw_long, &stats(&store, LONG, Resolution::Hour).await);
    raw.close().await;
}

/// What two reports say together.
fn sum(a: &RetentionReport, b: &RetentionReport) -> RetentionReport {
    RetentionReport {
        samples_rolled_up: a.samples_rolled_up + b.samples_rolled_up,
        samples: a.samples + b.samples,
        sample_minutes: a.sample_minutes + b.sample_minutes,
        sample_hours: a.sample_hours + b.sample_hours,
        sample_days: a.sample_days + b.sample_days,
        operations: a.operations + b.operations,
        test_runs: a.test_runs + b.test_runs,
        test_cases: a.test_cases + b.test_cases,
        alerts: a.alerts + b.alerts,
        alert_events: a.alert_events + b.alert_events,
        deliveries: a.deliveries + b.deliveries,
        bytes_freed: 0,
        bytes_reusable: 0,
    }
}

async fn two_passes_at_once_count_every_sample_once_and_delete_each_row_once<B: Both>(b: &B) {
    let (store, raw) = filled(b).await;
    let model_before = model(&store).await;
    let raw_long = stats(&store, LONG, Resolution::Raw).await;
    let raw_short = stats(&store, SHORT, Resolution::Raw).await;
    let ops_before = raw.count("SELECT COUNT(*) FROM operations").await;
    let samples_before = raw.count("SELECT COUNT(*) FROM samples").await;
    let runs_before = raw.count("SELECT COUNT(*) FROM test_runs").await;
    let alerts_before = raw.count("SELECT COUNT(*) FROM alerts").await;

    // Two servers on the same store, each running its pass.
    let other = b.open().await;
    let settings = settings();
    let (one, two) = tokio::join!(
        store.run_retention(&settings, NOW),
        other.run_retention(&settings, NOW)
    );
    let both = sum(&one.unwrap(), &two.unwrap());

    assert_eq!(both.samples_rolled_up as i64, samples_before, "{both:?}");
    assert_eq!(
        both.samples as i64,
        samples_before - raw.count("SELECT COUNT(*) FROM samples").await
    );
    assert_eq!(
        both.operations as i64,
        ops_before - raw.count("SELECT COUNT(*) FROM operations").await
    );
    assert_eq!(
        both.test_runs as i64,
        runs_before - raw.count("SELECT COUNT(*) FROM test_runs").await
    );
    assert_eq!(
        both.alerts as i64,
        alerts_before - raw.count("SELECT COUNT(*) FROM alerts").await
    );
    assert_bounded(&raw).await;
    // Nothing counted twice: the aggregates still say what the raw samples said.
    same_figures(&raw_long, &stats(&store, LONG, Resolution::Hour).await);
    same_figures(&raw_short, &stats(&other, SHORT, Resolution::Minute).await);
    assert_eq!(
        raw.count("SELECT CAST(SUM(count) AS BIGINT) FROM sample_days")
            .await,
        // The days kept: 90 whole ones before today and today's first half.
        3 * (90 * 24 * 60 + 12 * 60) / SAMPLE_EVERY,
    );
    let model_after = model(&other).await;
    assert_eq!(model_before, model_after);
    raw.close().await;
}

async fn samples_pushed_late_are_rolled_up_once_and_read_once<B: Both>(b: &B) {
    let store = b.open().await;
    let at = NOW - Duration::days(5);
    let mut first = Sample::new(at, "cpu_percent", 10.0);
    first.unit = Some("%".into());
    store
        .insert_samples(&[first, Sample::new(at, "cpu_percent", 30.0)])
        .await
        .unwrap();
    assert_eq!(store.roll_up_samples().await.unwrap(), 2);
    // Not yet rolled up: read from the raw samples on top of the aggregates, not twice.
    store
        .insert_samples(&[Sample::new(at + Duration::seconds(5), "cpu_percent", 50.0)])
        .await
        .unwrap();
    let read = async |resolution| {
        store
            .sample_buckets(
                &["cpu_percent"],
                at - Duration::hours(1),
                at + Duration::hours(1),
                Duration::hours(2),
                resolution,
            )
            .await
            .unwrap()
    };
    for resolution in [Resolution::Minute, Resolution::Hour, Resolution::Raw] {
        let b = read(resolution).await;
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].count, b[0].min, b[0].max, b[0].sum),
            (3, 10.0, 50.0, 90.0)
        );
        assert_eq!(b[0].unit.as_deref(), Some("%"));
    }
    assert_eq!(store.roll_up_samples().await.unwrap(), 1);
    assert_eq!(store.roll_up_samples().await.unwrap(), 0);
    for resolution in [Resolution::Minute, Resolution::Hour, Resolution::Day] {
        let b = read(resolution).await;
        assert_eq!((b[0].count, b[0].sum), (3, 90.0), "{resolution:?}");
    }
    for resolution in [Resolution::Minute, Resolution::Raw] {
        let stats = store
            .sample_stats(
                "cpu_percent",
                at - Duration::hours(1),
                at + Duration::hours(1),
                resolution,
            )
            .await
            .unwrap();
        assert_eq!(
            (stats[0].count, stats[0].min, stats[0].max, stats[0].mean),
            (3, 10.0, 50.0, 30.0)
        );
    }
}

/// A chart's 90 days read as the resources page reads them, over and over, by one process
/// (which keeps the aggregates' part between passes) while another one writes samples, rolls
/// them up and prunes the aggregates: every read equals the same read by a process that just
/// opened the store.
async fn a_chart_read_again_sees_every_sample_and_every_pass_of_any_process<B: Both>(b: &B) {
    let reader = b.open().await;
    let other = b.open().await;
    let early: Vec<Sample> = samples()
        .into_iter()
        .filter(|s| s.timestamp < NOW - Duration::days(2))
        .collect();
    other.insert_samples(&early).await.unwrap();
    other.roll_up_samples().await.unwrap();
    let chart = async |store: &B::S| {
        store
            .sample_buckets(
                &METRICS,
                NOW - Duration::days(90),
                NOW,
                Duration::days(2),
                Resolution::Day,
            )
            .await
            .unwrap()
    };
    let fresh = async || {
        let store = b.open().await;
        let read = chart(&store).await;
        b.close(store).await;
        read
    };
    let count =
        |read: &[mhd_store::retention::SampleBucket]| -> u64 { read.iter().map(|b| b.count).sum() };
    let first = chart(&reader).await;
    assert_eq!(chart(&reader).await, first, "read twice, nothing written");
    assert_eq!(first, fresh().await);
    let stored = count(&first);
    // From the start of the day 90 days back to 2 days back.
    assert_eq!(stored, 3 * (88 * 24 * 60 + 12 * 60) / SAMPLE_EVERY as u64);

    // Samples written by the other process, not yet rolled up: read from the raw samples.
    let recent: Vec<Sample> = samples()
        .into_iter()
        .filter(|s| s.timestamp >= NOW - Duration::days(2))
        .collect();
    other.insert_samples(&recent).await.unwrap();
    let read = chart(&reader).await;
    assert_eq!(count(&read), stored + recent.len() as u64);
    assert_eq!(read, fresh().await);

    // The other process rolls them up: still counted once.
    assert_eq!(other.roll_up_samples().await.unwrap(), recent.len() as u64);
    let read = chart(&reader).await;
    assert_eq!(count(&read), stored + recent.len() as u64);
    assert_eq!(read, fresh().await);

    // And prunes the aggregates of the chart's first 30 days (and the raw samples before the
    // last 2): the next read no longer counts them.
    let cut = mhd_store::retention::Cutoffs {
        sample_rollups: NOW - Duration::days(60),
        samples: NOW - Duration::days(2),
        ..mhd_store::retention::Cutoffs::of(&settings(), NOW)
    };
    let report = other.run_retention_until(&cut).await.unwrap();
    assert!(report.sample_days > 0, "{report:?}");
    let read = chart(&reader).await;
    assert!(
        count(&read) < stored,
        "the pruned days are gone from the chart"
    );
    assert!(read.iter().all(|b| b.start >= NOW - Duration::days(61)));
    assert_eq!(read, fresh().await);
    b.close(other).await;
    b.close(reader).await;
}

async fn a_write_during_a_long_retention_run_completes_while_it_runs<B: Both>(b: &B) {
    let store = b.open().await;
    // 200,000 operations older than the retention: a pass of a hundred batches.
    let old = NOW - Duration::days(200);
    let ops: Vec<NewOperation> = (0..200_000)
        .map(|i| NewOperation::new(old + Duration::seconds(i), "query_execution", "q"))
        .collect();
    store.insert_operations(&ops).await.unwrap();
    let pass = async {
        let started = std::time::Instant::now();
        let report = store
            .run_retention(&RetentionSettings::default(), NOW)
            .await
            .unwrap();
        (report, started.elapsed(), std::time::Instant::now())
    };
    // Writes while the pass runs: each commits between two of its batches.
    let writes = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let mut slowest = std::time::Duration::ZERO;
        let mut last_write = std::time::Instant::now();
        for i in 0..20 {
            let started = std::time::Instant::now();
            store
                .insert_operations(&[NewOperation::new(
                    NOW + Duration::seconds(i),
                    "migration_start",
                    "w",
                )])
                .await
                .unwrap();
            slowest = slowest.max(started.elapsed());
            last_write = std::time::Instant::now();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        (slowest, last_write)
    };
    let ((report, took, finished), (slowest, last_write)) = tokio::join!(pass, writes);
    assert_eq!(report.operations, 200_000);
    assert!(
        last_write < finished,
        "the 20 writes all committed while the pass ran ({took:?})"
    );
    // No write waited for the whole pass: at most a few of its batches.
    assert!(
        slowest * 4 < took,
        "the slowest write took {slowest:?} of a {took:?} pass"
    );
    let raw = b.raw().await;
    assert_eq!(raw.count("SELECT COUNT(*) FROM operations").await, 20);
    raw.close().await;
}
