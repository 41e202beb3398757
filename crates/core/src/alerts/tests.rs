//! The alert engine with simulated time.

use proptest::prelude::*;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;

const BASE: OffsetDateTime = datetime!(2025-03-03 12:00 UTC);

fn t(secs: i64) -> OffsetDateTime {
    BASE + Duration::seconds(secs)
}

fn rule(name: &str, kind: RuleKind) -> Rule {
    Rule {
        name: name.to_owned(),
        kind,
        for_: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        severity: Severity::Warning,
        component: None,
        runbook: None,
        summary: None,
    }
}

fn above(metric: &str, threshold: f64) -> RuleKind {
    RuleKind::Threshold {
        metric: metric.to_owned(),
        op: Comparison::Above,
        threshold,
    }
}

fn errors(name: &str) -> Rule {
    rule(name, above("error_rate", 0.05))
}

fn value(metric: &str, component: Option<&str>, value: f64, at: OffsetDateTime) -> MetricValue {
    MetricValue {
        metric: metric.to_owned(),
        component: component.map(str::to_owned),
        value,
        at,
    }
}

fn event(dataset: &str, component: Option<&str>, at: OffsetDateTime) -> DatasetEvent {
    DatasetEvent {
        at,
        dataset: dataset.to_owned(),
        component: component.map(str::to_owned),
        detail: None,
    }
}

fn collector(name: &str, up: bool, ran: bool, metrics: &[&str]) -> CollectorHealth {
    CollectorHealth {
        name: name.to_owned(),
        kind: "host".to_owned(),
        up,
        last_success: None,
        last_error: (!up).then(|| "connection refused".to_owned()),
        last_run: ran.then_some(BASE),
        last_duration_ms: Some(3.0),
        runs: u64::from(ran),
        failures: u64::from(ran && !up),
        components: Vec::new(),
        metrics: metrics.iter().map(|m| (*m).to_owned()).collect(),
    }
}

fn silence(rule: Option<&str>, component: Option<&str>, from: i64, until: i64) -> Silence {
    Silence {
        id: 1,
        rule: rule.map(str::to_owned),
        component: component.map(str::to_owned),
        starts_at: t(from),
        until: t(until),
        by: "ops".to_owned(),
        comment: None,
    }
}

/// Everything the facts borrow, owned by the test.
#[derive(Default)]
struct World {
    metrics: Vec<MetricValue>,
    history: Vec<MetricValue>,
    rollbacks: Vec<DatasetEvent>,
    integrity: Vec<DatasetEvent>,
    migrating: Vec<DatasetEvent>,
    regressions: Vec<RegressionFact>,
    suites: Vec<SuiteFact>,
    collectors: Vec<CollectorHealth>,
    schedule: Option<f64>,
    blocked: Vec<String>,
    acks: Vec<Acknowledgement>,
    silences: Vec<Silence>,
}

impl World {
    fn facts(&self, now: OffsetDateTime) -> Facts<'_> {
        Facts {
            now,
            metrics: &self.metrics,
            history: &self.history,
            rollbacks: &self.rollbacks,
            integrity: &self.integrity,
            migrating: &self.migrating,
            regressions: &self.regressions,
            suites: &self.suites,
            collectors: &self.collectors,
            schedule_delay_days: self.schedule,
            blocked_components: &self.blocked,
            test_pass_critical: 0.85,
            acknowledgements: &self.acks,
            silences: &self.silences,
        }
    }

    /// Sets the error rate of one component (or the whole migration), measured at `at`.
    fn error_rate(&mut self, component: Option<&str>, v: f64, at: OffsetDateTime) {
        self.metrics
            .retain(|m| !(m.metric == "error_rate" && m.component.as_deref() == component));
        self.metrics.push(value("error_rate", component, v, at));
    }
}

fn events(ts: &[Transition]) -> Vec<(String, AlertEvent, bool)> {
    ts.iter()
        .map(|t| (t.alert.key.clone(), t.event, t.notify))
        .collect()
}

fn one(ts: &[Transition], key: &str, event: AlertEvent, notify: bool) {
    assert_eq!(events(ts), vec![(key.to_owned(), event, notify)], "{ts:#?}");
}

#[test]
fn pending_alert_fires_once_the_condition_held_for_its_for() {
    let mut r = errors("high_error_rate");
    r.for_ = Duration::minutes(1);
    let mut engine = Engine::new(vec![r], 1);
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));

    let ts = engine.evaluate(&w.facts(t(0)));
    one(&ts, "high_error_rate/*", AlertEvent::Pending, false);
    assert_eq!(ts[0].alert.state, AlertState::Pending);
    assert_eq!(ts[0].alert.fired_at, None);

    assert!(engine.evaluate(&w.facts(t(59))).is_empty());
    assert_eq!(engine.open()[0].state, AlertState::Pending);

    let ts = engine.evaluate(&w.facts(t(60)));
    one(&ts, "high_error_rate/*", AlertEvent::Fired, true);
    let a = &ts[0].alert;
    assert_eq!(
        (a.id, a.state, a.fired_at, a.started_at),
        (1, AlertState::Firing, Some(t(60)), t(0))
    );
    assert!(a.notified);
}

#[test]
fn rule_with_no_for_fires_in_the_same_evaluation_without_a_pending_event() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    one(&ts, "high_error_rate/*", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.fired_at, Some(t(0)));
}

#[test]
fn pending_alert_whose_condition_clears_is_cancelled_and_forgotten() {
    let mut r = errors("high_error_rate");
    r.for_ = Duration::minutes(5);
    let mut engine = Engine::new(vec![r], 1);
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));
    one(
        &engine.evaluate(&w.facts(t(0))),
        "high_error_rate/*",
        AlertEvent::Pending,
        false,
    );

    w.error_rate(None, 0.01, t(60));
    let ts = engine.evaluate(&w.facts(t(60)));
    one(&ts, "high_error_rate/*", AlertEvent::Cancelled, false);
    assert_eq!(ts[0].alert.state, AlertState::Resolved);
    assert_eq!(ts[0].alert.resolved_at, Some(t(60)));
    assert!(engine.open().is_empty());

    // Seen again: a new alert, whose `for` counts from now.
    w.error_rate(None, 0.2, t(120));
    let ts = engine.evaluate(&w.facts(t(120)));
    one(&ts, "high_error_rate/*", AlertEvent::Pending, false);
    assert_eq!(ts[0].alert.id, 2);
    assert!(engine.evaluate(&w.facts(t(120 + 299))).is_empty());
    one(
        &engine.evaluate(&w.facts(t(420))),
        "high_error_rate/*",
        AlertEvent::Fired,
        true,
    );
}

#[test]
fn flapping_metric_inside_keep_firing_for_neither_resolves_nor_fires_again() {
    let mut r = errors("high_error_rate");
    r.keep_firing_for = Duration::minutes(5);
    let mut engine = Engine::new(vec![r], 1);
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));
    one(
        &engine.evaluate(&w.facts(t(0))),
        "high_error_rate/*",
        AlertEvent::Fired,
        true,
    );

    // Clear, true again, clear again: each inside five minutes of calm.
    for (secs, rate) in [
        (60, 0.01),
        (120, 0.12),
        (180, 0.01),
        (240, 0.01),
        (479, 0.01),
    ] {
        w.error_rate(None, rate, t(secs));
        assert!(engine.evaluate(&w.facts(t(secs))).is_empty(), "at {secs}s");
    }
    let open = engine.open();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, AlertState::Firing);
    assert_eq!(
        open[0].clear_since,
        Some(t(180)),
        "the calm counts from the last clear start"
    );

    // Five minutes of calm since 180 s: resolved, and those told of the firing are told.
    let ts = engine.evaluate(&w.facts(t(480)));
    one(&ts, "high_error_rate/*", AlertEvent::Resolved, true);
    let a = &ts[0].alert;
    assert_eq!(
        (a.id, a.resolution, a.resolved_at),
        (1, Some(Resolution::Automatic), Some(t(480)))
    );
    assert!(engine.open().is_empty());
}

#[test]
fn firing_alert_with_no_keep_firing_for_resolves_when_the_condition_clears() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(Some("storage"), 0.12, t(0));
    engine.evaluate(&w.facts(t(0)));
    w.error_rate(Some("storage"), 0.05, t(15));
    let ts = engine.evaluate(&w.facts(t(15)));
    one(&ts, "high_error_rate/storage", AlertEvent::Resolved, true);
}

#[test]
fn same_condition_seen_again_updates_the_alert_without_a_new_one_or_a_notification() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(Some("storage"), 0.12, t(0));
    let first = engine.evaluate(&w.facts(t(0)));
    assert_eq!(first.iter().filter(|t| t.notify).count(), 1);
    assert_eq!(
        first[0].alert.message,
        "storage: 12 % of operations failing, limit 5 % (error_rate 0.12 > 0.05)"
    );

    assert!(engine.evaluate(&w.facts(t(15))).is_empty());
    w.error_rate(Some("storage"), 0.3, t(30));
    assert!(engine.evaluate(&w.facts(t(30))).is_empty());

    let open = engine.open();
    assert_eq!(open.len(), 1);
    let a = open[0];
    assert_eq!(a.id, 1);
    assert_eq!(a.value, Some(0.3));
    assert_eq!(
        a.message,
        "storage: 30 % of operations failing, limit 5 % (error_rate 0.3 > 0.05)"
    );
    assert_eq!(a.last_seen, t(30));
    assert_eq!(a.started_at, t(0));
}

#[test]
fn each_component_and_the_whole_migration_have_their_own_key() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(Some("storage"), 0.2, t(0));
    w.error_rate(Some("config"), 0.01, t(0));
    w.error_rate(None, 0.07, t(0));
    w.error_rate(Some("api"), 0.09, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "high_error_rate/*",
            "high_error_rate/api",
            "high_error_rate/storage"
        ]
    );
    assert_eq!(ts[0].alert.component, None);
    assert_eq!(
        ts[0].alert.title,
        "Whole migration: 7 % of operations failing, limit 5 %"
    );
    assert_eq!(ts[2].alert.component.as_deref(), Some("storage"));
    assert_eq!(
        ts[2].alert.title,
        "Storage: 20 % of operations failing, limit 5 %"
    );
    let ids: Vec<_> = ts.iter().map(|t| t.alert.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    // One incident notifies once: the whole migration's alert is grouped with the
    // components' alerts of the same metric, which are told.
    assert_eq!(
        ts[0].alert.suppressed_by.as_deref(),
        Some("grouped with high_error_rate/api")
    );
    assert!(!ts[0].notify);
    assert!(ts[1].notify && ts[2].notify);

    // With the plan's names, components are named as people know them.
    let mut named = Engine::new(vec![errors("high_error_rate")], 1)
        .with_component_names([("storage".to_owned(), "Storage layer".to_owned())]);
    let ts = named.evaluate(&w.facts(t(0)));
    assert_eq!(
        ts[2].alert.title,
        "Storage layer: 20 % of operations failing, limit 5 %"
    );

    // A rule for one component sees that component alone.
    let mut only = errors("storage_errors");
    only.component = Some("storage".to_owned());
    only.summary = Some("Storage errors".to_owned());
    let mut engine = Engine::new(vec![only], 1);
    let ts = engine.evaluate(&w.facts(t(0)));
    one(&ts, "storage_errors/storage", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.title, "Storage errors on storage");
}

#[test]
fn latest_value_of_a_series_counts_and_nan_never_holds() {
    let mut engine = Engine::new(vec![errors("e")], 1);
    let mut w = World::default();
    w.metrics.push(value("error_rate", None, 0.5, t(10)));
    w.metrics.push(value("error_rate", None, 0.01, t(20)));
    w.metrics.push(value("error_rate", None, 0.9, t(5)));
    w.metrics
        .push(value("error_rate", Some("a"), f64::NAN, t(20)));
    assert!(engine.evaluate(&w.facts(t(20))).is_empty());

    let mut below = rule(
        "low",
        RuleKind::Threshold {
            metric: "error_rate".to_owned(),
            op: Comparison::AtMost,
            threshold: 1.0,
        },
    );
    below.component = Some("a".to_owned());
    let mut engine = Engine::new(vec![below], 1);
    assert!(
        engine.evaluate(&w.facts(t(20))).is_empty(),
        "NaN is not <= 1"
    );
}

#[test]
fn every_comparison_compares_as_written() {
    let cases = [
        (Comparison::Above, 1.0, false),
        (Comparison::AtLeast, 1.0, true),
        (Comparison::Below, 1.0, false),
        (Comparison::AtMost, 1.0, true),
        (Comparison::Above, 0.5, true),
        (Comparison::Below, 2.0, true),
    ];
    for (op, threshold, fires) in cases {
        let kind = RuleKind::Threshold {
            metric: "m".to_owned(),
            op,
            threshold,
        };
        let mut engine = Engine::new(vec![rule("r", kind)], 1);
        let mut w = World::default();
        w.metrics.push(value("m", None, 1.0, t(0)));
        assert_eq!(
            !engine.evaluate(&w.facts(t(0))).is_empty(),
            fires,
            "1 {op:?} {threshold}"
        );
    }
}

#[test]
fn acknowledgement_is_copied_without_a_notification_and_the_alert_keeps_firing() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));
    engine.evaluate(&w.facts(t(0)));
    let ack = Acknowledgement {
        alert_id: 1,
        by: "ana".to_owned(),
        at: t(30),
        comment: Some("looking".to_owned()),
    };
    w.acks.push(Acknowledgement {
        alert_id: 99,
        by: "someone".to_owned(),
        at: t(30),
        comment: None,
    });
    w.acks.push(ack.clone());
    assert!(engine.evaluate(&w.facts(t(45))).is_empty());
    let a = engine.open()[0];
    assert_eq!(a.acknowledged.as_ref(), Some(&ack));
    assert_eq!(a.state, AlertState::Firing);

    // Still there when the facts no longer carry it; on the resolution too.
    w.acks.clear();
    assert!(engine.evaluate(&w.facts(t(60))).is_empty());
    w.error_rate(None, 0.0, t(75));
    let ts = engine.evaluate(&w.facts(t(75)));
    assert_eq!(ts[0].alert.acknowledged.as_ref(), Some(&ack));
}

#[test]
fn silence_mutes_firing_and_its_resolution_when_nobody_heard_the_firing() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.silences
        .push(silence(Some("high_error_rate"), None, 0, 3600));
    w.error_rate(Some("storage"), 0.12, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    one(&ts, "high_error_rate/storage", AlertEvent::Fired, false);
    assert!(!ts[0].alert.notified);
    w.error_rate(Some("storage"), 0.0, t(60));
    one(
        &engine.evaluate(&w.facts(t(60))),
        "high_error_rate/storage",
        AlertEvent::Resolved,
        false,
    );
}

#[test]
fn resolution_is_sent_to_those_who_heard_the_firing_even_when_silenced_since() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(Some("storage"), 0.12, t(0));
    one(
        &engine.evaluate(&w.facts(t(0))),
        "high_error_rate/storage",
        AlertEvent::Fired,
        true,
    );
    w.silences.push(silence(None, Some("storage"), 10, 3600));
    assert!(engine.evaluate(&w.facts(t(15))).is_empty());
    w.error_rate(Some("storage"), 0.0, t(30));
    one(
        &engine.evaluate(&w.facts(t(30))),
        "high_error_rate/storage",
        AlertEvent::Resolved,
        true,
    );
}

#[test]
fn firing_alert_is_sent_when_its_silence_ends() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.silences.push(silence(None, None, 0, 100));
    w.error_rate(None, 0.12, t(0));
    one(
        &engine.evaluate(&w.facts(t(0))),
        "high_error_rate/*",
        AlertEvent::Fired,
        false,
    );
    assert!(engine.evaluate(&w.facts(t(99))).is_empty());
    let ts = engine.evaluate(&w.facts(t(100)));
    one(&ts, "high_error_rate/*", AlertEvent::Fired, true);
    assert_eq!(
        ts[0].alert.fired_at,
        Some(t(0)),
        "it fired at 0, it is told at 100"
    );
    assert!(engine.evaluate(&w.facts(t(115))).is_empty(), "told once");
    w.error_rate(None, 0.0, t(130));
    one(
        &engine.evaluate(&w.facts(t(130))),
        "high_error_rate/*",
        AlertEvent::Resolved,
        true,
    );
}

#[test]
fn silences_match_by_rule_component_and_time() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.error_rate(Some("storage"), 0.12, t(0));
    engine.evaluate(&w.facts(t(0)));
    let a = engine.open()[0].clone();
    let cases = [
        (silence(None, None, 0, 10), 0, true),
        (silence(None, None, 0, 10), 10, false),
        (silence(None, None, 5, 10), 4, false),
        (
            silence(Some("high_error_rate"), Some("storage"), 0, 10),
            5,
            true,
        ),
        (silence(Some("other"), None, 0, 10), 5, false),
        (silence(None, Some("config"), 0, 10), 5, false),
    ];
    for (s, at, muted) in cases {
        assert_eq!(
            silenced(&a, std::slice::from_ref(&s), t(at)),
            muted,
            "{s:?} at {at}"
        );
    }
    let whole = Alert {
        component: None,
        ..a
    };
    assert!(!silenced(
        &whole,
        &[silence(None, Some("storage"), 0, 10)],
        t(5)
    ));
}

#[test]
fn alert_on_a_blocked_component_is_suppressed_until_unblocked() {
    let mut engine = Engine::new(vec![errors("high_error_rate")], 1);
    let mut w = World::default();
    w.blocked.push("storage".to_owned());
    w.error_rate(Some("storage"), 0.12, t(0));
    w.error_rate(Some("api"), 0.12, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    assert_eq!(
        events(&ts),
        [
            ("high_error_rate/api".to_owned(), AlertEvent::Fired, true),
            (
                "high_error_rate/storage".to_owned(),
                AlertEvent::Fired,
                false
            ),
        ]
    );
    assert_eq!(
        ts[1].alert.suppressed_by.as_deref(),
        Some("component storage is in a blocked phase")
    );
    w.blocked.clear();
    let ts = engine.evaluate(&w.facts(t(15)));
    one(&ts, "high_error_rate/storage", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.suppressed_by, None);
}

#[test]
fn alert_on_a_metric_of_a_down_collector_is_suppressed_but_collector_down_is_not() {
    let mut engine = Engine::new(
        vec![
            rule("high_memory", above("memory_percent", 80.0)),
            rule(
                "collector_down",
                RuleKind::CollectorDown { collector: None },
            ),
        ],
        1,
    );
    let mut w = World::default();
    w.metrics.push(value("memory_percent", None, 95.0, t(0)));
    w.collectors.push(collector(
        "host",
        false,
        true,
        &["memory_percent", "cpu_percent"],
    ));
    let ts = engine.evaluate(&w.facts(t(0)));
    assert_eq!(
        events(&ts),
        [
            ("high_memory/*".to_owned(), AlertEvent::Fired, false),
            ("collector_down/host".to_owned(), AlertEvent::Fired, true),
        ]
    );
    assert_eq!(
        ts[0].alert.suppressed_by.as_deref(),
        Some("collector host is down")
    );
    assert_eq!(ts[1].alert.suppressed_by, None);
    assert_eq!(
        ts[1].alert.message,
        "collector host (host) is down: connection refused"
    );
    assert_eq!(ts[1].alert.title, "A collector is failing: host");

    // The collector comes back with the same high value: now people hear of it.
    w.collectors[0].up = true;
    let ts = engine.evaluate(&w.facts(t(15)));
    assert_eq!(
        events(&ts),
        [
            ("high_memory/*".to_owned(), AlertEvent::Fired, true),
            ("collector_down/host".to_owned(), AlertEvent::Resolved, true),
        ]
    );
}

#[test]
fn collector_down_fires_only_after_a_run() {
    let mut engine = Engine::new(
        vec![rule(
            "down",
            RuleKind::CollectorDown {
                collector: Some("db".to_owned()),
            },
        )],
        1,
    );
    let mut w = World::default();
    w.collectors.push(collector("db", false, false, &[]));
    w.collectors.push(collector("logs", false, true, &[]));
    assert!(
        engine.evaluate(&w.facts(t(0))).is_empty(),
        "db never ran; logs is not watched"
    );
    w.collectors[0] = collector("db", false, true, &[]);
    let ts = engine.evaluate(&w.facts(t(15)));
    one(&ts, "down/db", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.component, None);
    assert_eq!(ts[0].alert.kind, "collector_down");
}

fn change(op: Comparison, threshold: f64, percent: bool) -> Rule {
    rule(
        "change",
        RuleKind::RateOfChange {
            metric: "queue".to_owned(),
            op,
            threshold,
            over: Duration::minutes(5),
            percent,
        },
    )
}

/// The queue at 100 from 0 to 300 s, then 130 at 310 s and 150 now (600 s).
fn queue_world() -> World {
    let mut w = World::default();
    for secs in [0, 100, 200, 300] {
        w.history.push(value("queue", None, 100.0, t(secs)));
    }
    w.history.push(value("queue", None, 130.0, t(310)));
    w.metrics.push(value("queue", None, 150.0, t(600)));
    w
}

#[test]
fn rate_of_change_compares_with_the_value_over_ago() {
    let w = queue_world();
    // Up: 150 − 100 (the point at 300 s, exactly 5 minutes ago) = +50.
    let mut engine = Engine::new(vec![change(Comparison::Above, 40.0, false)], 1);
    let ts = engine.evaluate(&w.facts(t(600)));
    assert_eq!(ts[0].alert.value, Some(50.0));
    assert_eq!(
        ts[0].alert.message,
        "queue changed +50 over 5m (100 → 150), > 40"
    );
    let mut engine = Engine::new(vec![change(Comparison::Above, 50.0, false)], 1);
    assert!(
        engine.evaluate(&w.facts(t(600))).is_empty(),
        "+50 is not > 50"
    );

    // At 609 s the newest point at or before 309 s is still the one at 300 s; at 610 s it is
    // the one at 310 s (130), so the change is +20.
    let mut engine = Engine::new(vec![change(Comparison::Above, 40.0, false)], 1);
    assert_eq!(engine.evaluate(&w.facts(t(609))).len(), 1);
    let ts = engine.evaluate(&w.facts(t(610)));
    one(&ts, "change/*", AlertEvent::Resolved, true);
}

#[test]
fn rate_of_change_down_and_in_percent() {
    let mut w = queue_world();
    w.metrics[0].value = 60.0;
    // Down: 60 − 100 = −40 < −30.
    let mut engine = Engine::new(vec![change(Comparison::Below, -30.0, false)], 1);
    let ts = engine.evaluate(&w.facts(t(600)));
    assert_eq!(ts[0].alert.value, Some(-40.0));
    // In percent: −40 % of 100.
    let mut engine = Engine::new(vec![change(Comparison::AtMost, -40.0, true)], 1);
    let ts = engine.evaluate(&w.facts(t(600)));
    assert_eq!(ts[0].alert.value, Some(-40.0));
    assert_eq!(
        ts[0].alert.message,
        "queue changed -40 % over 5m (100 → 60), <= -40 %"
    );
    let mut engine = Engine::new(vec![change(Comparison::Below, -40.0, true)], 1);
    assert!(engine.evaluate(&w.facts(t(600))).is_empty());
}

#[test]
fn rate_of_change_without_an_earlier_point_is_not_evaluated() {
    let mut w = queue_world();
    // Nothing at or before 0 s − 1 s.
    let mut engine = Engine::new(vec![change(Comparison::Above, -1e9, false)], 1);
    assert!(engine.evaluate(&w.facts(t(299))).is_empty());
    // An earlier value of zero has no percentage.
    for p in &mut w.history {
        p.value = 0.0;
    }
    let mut engine = Engine::new(vec![change(Comparison::Above, -1e9, true)], 1);
    assert!(engine.evaluate(&w.facts(t(600))).is_empty());
    // Another component's history does not count.
    let mut w = queue_world();
    w.metrics[0].component = Some("api".to_owned());
    let mut engine = Engine::new(vec![change(Comparison::Above, -1e9, false)], 1);
    assert!(engine.evaluate(&w.facts(t(600))).is_empty());
}

fn rollbacks(count: u32) -> Rule {
    rule(
        "rollbacks",
        RuleKind::Rollback {
            count,
            window: Duration::hours(1),
        },
    )
}

#[test]
fn rollbacks_are_counted_within_the_window_edges_included() {
    let now = t(7200);
    let mut w = World::default();
    w.rollbacks.push(event(
        "too_old",
        Some("storage"),
        now - Duration::seconds(3601),
    ));
    w.rollbacks
        .push(event("ds_a", Some("storage"), now - Duration::hours(1)));
    w.rollbacks
        .push(event("ds_b", Some("storage"), now - Duration::minutes(30)));
    w.rollbacks.push(event("ds_a", Some("storage"), now));
    w.rollbacks
        .push(event("future", Some("storage"), now + Duration::seconds(1)));
    let mut engine = Engine::new(vec![rollbacks(3)], 1);
    let ts = engine.evaluate(&w.facts(now));
    one(&ts, "rollbacks/storage", AlertEvent::Fired, true);
    let a = &ts[0].alert;
    assert_eq!(a.value, Some(3.0));
    assert_eq!(a.impact.affected_datasets, ["ds_a", "ds_b"]);
    assert_eq!(a.impact.components, ["storage"]);
    assert_eq!(
        a.message,
        "3 rollbacks within 1h (at least 3) on storage: ds_a, ds_b"
    );

    let mut engine = Engine::new(vec![rollbacks(4)], 1);
    assert!(engine.evaluate(&w.facts(now)).is_empty());
    // One second later the oldest has left the window and the one dated then has come in.
    let later = now + Duration::seconds(1);
    let mut engine = Engine::new(vec![rollbacks(3)], 1);
    let ts = engine.evaluate(&w.facts(later));
    assert_eq!(
        ts[0].alert.impact.affected_datasets,
        ["ds_a", "ds_b", "future"]
    );
    w.rollbacks.pop();
    let mut engine = Engine::new(vec![rollbacks(3)], 1);
    assert!(
        engine.evaluate(&w.facts(later)).is_empty(),
        "2 rollbacks in the window"
    );
}

#[test]
fn rollbacks_without_a_component_make_a_whole_migration_alert() {
    let mut w = World::default();
    for (i, c) in [None, None, Some("api"), None].into_iter().enumerate() {
        w.rollbacks.push(event(&format!("ds{i}"), c, t(i as i64)));
    }
    let mut engine = Engine::new(vec![rollbacks(3)], 1);
    let ts = engine.evaluate(&w.facts(t(10)));
    one(&ts, "rollbacks/*", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.impact.affected_datasets, ["ds0", "ds1", "ds3"]);
}

#[test]
fn integrity_failures_name_up_to_five_datasets_with_their_detail() {
    let mut w = World::default();
    for i in 0..7 {
        let mut e = event(&format!("ds{i}"), Some("storage"), t(0));
        e.detail = (i == 0).then(|| "old 1200 rows, new 1199".to_owned());
        w.integrity.push(e);
    }
    w.integrity.push(event("cfg", Some("config"), t(0)));
    let mut r = rule("data_integrity", RuleKind::Integrity);
    r.severity = Severity::Critical;
    r.runbook = Some("https://wiki.example/integrity".to_owned());
    let mut engine = Engine::new(vec![r], 1);
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(keys, ["data_integrity/config", "data_integrity/storage"]);
    let a = &ts[1].alert;
    assert_eq!(
        a.message,
        "integrity check failed for 7 datasets on storage: ds0 (old 1200 rows, new 1199), ds1, \
         ds2, ds3, ds4 and 2 more"
    );
    assert_eq!(a.impact.affected_datasets.len(), 7);
    assert_eq!(a.severity, Severity::Critical);
    assert_eq!(a.runbook.as_deref(), Some("https://wiki.example/integrity"));
    assert_eq!(a.title, "A data integrity check failed on storage");
    assert_eq!(
        ts[0].alert.message,
        "integrity check failed for 1 dataset on config: cfg"
    );
}

#[test]
fn regression_names_operations_and_deltas() {
    let mut w = World::default();
    for (op, c, d) in [
        ("upload", Some("storage"), 35.0),
        ("query", Some("storage"), 12.24),
        ("x", None, 20.0),
    ] {
        w.regressions.push(RegressionFact {
            operation: op.to_owned(),
            component: c.map(str::to_owned),
            delta_percent: d,
        });
    }
    let mut engine = Engine::new(vec![rule("regression", RuleKind::Regression)], 1);
    let ts = engine.evaluate(&w.facts(t(0)));
    assert_eq!(events(&ts).len(), 2);
    assert_eq!(ts[1].alert.key, "regression/storage");
    assert_eq!(
        ts[1].alert.message,
        "slower than the old system on storage: upload +35.0 %, query +12.2 %"
    );
    assert_eq!(ts[1].alert.value, Some(35.0));
    assert_eq!(ts[0].alert.message, "slower than the old system: x +20.0 %");
}

#[test]
fn test_pass_fires_under_the_threshold_or_on_a_drop() {
    let mut w = World::default();
    let suite = |name: &str, c: Option<&str>, rate: f64, previous: Option<f64>| SuiteFact {
        suite: name.to_owned(),
        component: c.map(str::to_owned),
        pass_rate: rate,
        previous,
    };
    w.suites.push(suite("unit", Some("api"), 0.80, None)); // under 0.85
    w.suites.push(suite("e2e", Some("api"), 0.90, Some(0.99))); // dropped 9 points
    w.suites.push(suite("smoke", Some("cli"), 0.90, Some(1.0))); // dropped 10 points: not more
    w.suites.push(suite("load", None, 0.86, Some(0.97))); // dropped 11 points
    w.suites.push(suite("nan", Some("ui"), f64::NAN, None));
    let kind = RuleKind::TestPass {
        threshold: None,
        drop: Some(0.10),
    };
    let mut engine = Engine::new(vec![rule("tests", kind)], 1);
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(keys, ["tests/*", "tests/api"]);
    assert_eq!(
        ts[0].alert.message,
        "suite load 86.0% dropped from 97.0% (more than 10 points)"
    );
    assert_eq!(ts[1].alert.message, "suite unit 80.0% < 85.0%");
    assert_eq!(ts[1].alert.value, Some(0.80));

    // The rule's own threshold replaces the plan's.
    let kind = RuleKind::TestPass {
        threshold: Some(0.95),
        drop: None,
    };
    let mut engine = Engine::new(vec![rule("tests", kind)], 1);
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(keys, ["tests/*", "tests/api", "tests/cli"]);
    assert_eq!(
        ts[1].alert.message,
        "suite unit 80.0% < 95.0%; suite e2e 90.0% < 95.0%"
    );
}

#[test]
fn schedule_fires_when_more_than_its_days_behind() {
    let mut w = World {
        schedule: Some(7.0),
        ..World::default()
    };
    let mut engine = Engine::new(vec![rule("late", RuleKind::Schedule { days: 7.0 })], 1);
    assert!(
        engine.evaluate(&w.facts(t(0))).is_empty(),
        "7 is not more than 7"
    );
    w.schedule = Some(9.5);
    let ts = engine.evaluate(&w.facts(t(15)));
    one(&ts, "late/*", AlertEvent::Fired, true);
    assert_eq!(
        ts[0].alert.message,
        "forecast 9.5 days behind the planned end (more than 7)"
    );
    assert_eq!(
        ts[0].alert.title,
        "Forecast more than 7 days behind the plan"
    );
    w.schedule = None;
    one(
        &engine.evaluate(&w.facts(t(30))),
        "late/*",
        AlertEvent::Resolved,
        true,
    );
}

#[test]
fn impact_lists_datasets_migrating_on_the_component_and_downtime_of_critical_alerts() {
    let mut r = errors("critical_error_rate");
    r.severity = Severity::Critical;
    r.keep_firing_for = Duration::minutes(10);
    let mut engine = Engine::new(vec![r, errors("warn")], 1);
    let mut w = World::default();
    w.migrating.push(event("orders", Some("storage"), t(0)));
    w.migrating.push(event("users", Some("api"), t(0)));
    w.migrating.push(event("carts", Some("storage"), t(0)));
    w.error_rate(Some("storage"), 0.5, t(0));
    w.error_rate(None, 0.5, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    let storage = ts
        .iter()
        .find(|t| t.alert.key == "critical_error_rate/storage")
        .map(|t| &t.alert);
    let Some(storage) = storage else {
        panic!("{ts:#?}")
    };
    assert_eq!(storage.impact.affected_datasets, ["carts", "orders"]);
    assert_eq!(storage.impact.components, ["storage"]);
    assert_eq!(storage.impact.estimated_downtime_minutes, Some(0.0));
    let whole = &ts[0].alert;
    assert_eq!(whole.key, "critical_error_rate/*");
    assert_eq!(whole.impact.affected_datasets, ["carts", "orders", "users"]);
    assert_eq!(whole.impact.components, ["api", "storage"]);

    // Ninety seconds on, a new dataset starts on storage.
    w.migrating.push(event("items", Some("storage"), t(90)));
    assert!(engine.evaluate(&w.facts(t(90))).is_empty());
    let open = engine.open();
    let storage = open
        .iter()
        .find(|a| a.key == "critical_error_rate/storage")
        .copied();
    let Some(storage) = storage else {
        panic!("{open:#?}")
    };
    assert_eq!(storage.impact.estimated_downtime_minutes, Some(1.5));
    assert_eq!(
        storage.impact.affected_datasets,
        ["carts", "items", "orders"]
    );
    let warn = open.iter().find(|a| a.key == "warn/storage").copied();
    assert_eq!(
        warn.map(|a| a.impact.estimated_downtime_minutes),
        Some(None)
    );

    // Downtime stops counting when the condition clears.
    w.error_rate(Some("storage"), 0.0, t(120));
    engine.evaluate(&w.facts(t(120)));
    engine.evaluate(&w.facts(t(300)));
    let open = engine.open();
    let storage = open
        .iter()
        .find(|a| a.key == "critical_error_rate/storage")
        .copied();
    assert_eq!(
        storage.and_then(|a| a.impact.estimated_downtime_minutes),
        Some(2.0)
    );
}

#[test]
fn rule_removed_from_the_plan_resolves_its_alerts() {
    let mut slow = errors("slow");
    slow.for_ = Duration::hours(1);
    let mut engine = Engine::new(vec![errors("gone"), slow, errors("kept")], 1);
    let mut w = World::default();
    w.error_rate(None, 0.5, t(0));
    engine.evaluate(&w.facts(t(0)));
    let open: Vec<Alert> = engine.open().into_iter().cloned().collect();
    assert_eq!(open.len(), 3);

    let mut engine = Engine::new(vec![errors("kept")], 4);
    engine.restore(open);
    let ts = engine.evaluate(&w.facts(t(15)));
    assert_eq!(
        events(&ts),
        [
            ("gone/*".to_owned(), AlertEvent::Resolved, true),
            ("slow/*".to_owned(), AlertEvent::Cancelled, false),
        ]
    );
    assert_eq!(ts[0].alert.resolution, Some(Resolution::Automatic));
    let open = engine.open();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].key, "kept/*");
}

#[test]
fn restored_alerts_keep_their_ids_states_and_clocks() {
    let mut slow = errors("slow");
    slow.for_ = Duration::minutes(2);
    let mut calm = rule("calm", above("memory_percent", 80.0));
    calm.keep_firing_for = Duration::minutes(2);
    let rules = vec![slow, calm];
    let mut engine = Engine::new(rules.clone(), 10);
    let mut w = World::default();
    w.error_rate(None, 0.5, t(0));
    w.metrics.push(value("memory_percent", None, 90.0, t(0)));
    engine.evaluate(&w.facts(t(0)));
    w.metrics[1].value = 50.0;
    assert!(engine.evaluate(&w.facts(t(70))).is_empty()); // calm: clear since 70 s
    let saved: Vec<Alert> = engine.open().into_iter().cloned().collect();
    assert_eq!(
        saved.iter().map(|a| (a.id, a.state)).collect::<Vec<_>>(),
        [(11, AlertState::Firing), (10, AlertState::Pending)]
    );

    // The server restarts.
    let mut engine = Engine::new(rules, 1);
    engine.restore(saved.clone());
    assert_eq!(engine.next_id(), 12);
    let back: Vec<Alert> = engine.open().into_iter().cloned().collect();
    assert_eq!(back, saved);
    // The pending one fires two minutes after it started, the firing one resolves two minutes
    // after its condition cleared.
    assert!(engine.evaluate(&w.facts(t(119))).is_empty());
    let ts = engine.evaluate(&w.facts(t(120)));
    one(&ts, "slow/*", AlertEvent::Fired, true);
    assert_eq!(ts[0].alert.id, 10);
    assert!(engine.evaluate(&w.facts(t(189))).is_empty());
    let ts = engine.evaluate(&w.facts(t(190)));
    one(&ts, "calm/*", AlertEvent::Resolved, true);
    assert_eq!(ts[0].alert.id, 11);

    // New alerts are numbered after the restored ones.
    w.error_rate(Some("x"), 0.5, t(200));
    w.metrics[1].value = 95.0;
    let ts = engine.evaluate(&w.facts(t(200)));
    assert_eq!(
        ts.iter()
            .map(|t| (t.alert.key.as_str(), t.alert.id))
            .collect::<Vec<_>>(),
        [("slow/x", 12), ("calm/*", 13)]
    );
}

#[test]
fn restore_keeps_one_alert_per_key_and_ignores_resolved_ones() {
    let mut engine = Engine::new(vec![errors("e")], 1);
    let mut w = World::default();
    w.error_rate(None, 0.5, t(0));
    engine.evaluate(&w.facts(t(0)));
    let a = engine.open()[0].clone();
    let newer = Alert {
        id: 5,
        notified: false,
        ..a.clone()
    };
    let resolved = Alert {
        id: 9,
        state: AlertState::Resolved,
        ..a.clone()
    };
    let mut engine = Engine::new(vec![errors("e")], 1);
    engine.restore(vec![newer, a, resolved]);
    assert_eq!(engine.next_id(), 6);
    let ts = engine.evaluate(&w.facts(t(15)));
    // The older duplicate is closed; the newer stays and is now sent.
    assert_eq!(
        ts.iter()
            .map(|t| (t.alert.id, t.event, t.notify))
            .collect::<Vec<_>>(),
        [
            (5, AlertEvent::Fired, true),
            (1, AlertEvent::Resolved, true)
        ]
    );
    assert_eq!(engine.open().len(), 1);
}

#[test]
fn ids_increase_from_next_id() {
    let mut engine = Engine::new(vec![errors("a"), errors("b")], 42);
    let mut w = World::default();
    w.error_rate(None, 0.5, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    assert_eq!(ts.iter().map(|t| t.alert.id).collect::<Vec<_>>(), [42, 43]);
    w.error_rate(None, 0.0, t(1));
    engine.evaluate(&w.facts(t(1)));
    w.error_rate(None, 0.5, t(2));
    let ts = engine.evaluate(&w.facts(t(2)));
    assert_eq!(ts.iter().map(|t| t.alert.id).collect::<Vec<_>>(), [44, 45]);
}

#[test]
fn transitions_follow_the_plan_order_then_the_key() {
    let mut engine = Engine::new(vec![errors("zeta"), errors("alpha")], 1);
    let mut w = World::default();
    w.error_rate(Some("b"), 0.5, t(0));
    w.error_rate(Some("a"), 0.5, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(keys, ["zeta/a", "zeta/b", "alpha/a", "alpha/b"]);
    let mut again = Engine::new(vec![errors("zeta"), errors("alpha")], 1);
    assert_eq!(
        again.evaluate(&w.facts(t(0))),
        ts,
        "same facts, same output"
    );
}

#[test]
fn operator_resolution_is_sent_only_when_the_firing_was() {
    let mut r = errors("slow");
    r.for_ = Duration::minutes(1);
    let mut engine = Engine::new(vec![errors("fast"), r], 1);
    let mut w = World::default();
    w.error_rate(None, 0.5, t(0));
    engine.evaluate(&w.facts(t(0)));
    assert_eq!(engine.resolve(99, t(5)), None);
    let Some(fast) = engine.resolve(1, t(5)) else {
        panic!("alert 1 is open")
    };
    assert_eq!((fast.event, fast.notify), (AlertEvent::Resolved, true));
    assert_eq!(fast.alert.resolution, Some(Resolution::Manual));
    assert_eq!(fast.alert.resolved_at, Some(t(5)));
    let Some(slow) = engine.resolve(2, t(6)) else {
        panic!("alert 2 is open")
    };
    assert_eq!((slow.event, slow.notify), (AlertEvent::Resolved, false));
    assert!(engine.open().is_empty());
    assert_eq!(engine.resolve(1, t(7)), None, "already resolved");
    // Still true: a new alert.
    let ts = engine.evaluate(&w.facts(t(15)));
    assert_eq!(
        ts.iter().map(|t| (t.alert.id, t.event)).collect::<Vec<_>>(),
        [(3, AlertEvent::Fired), (4, AlertEvent::Pending)]
    );
}

#[test]
fn default_rules_fire_on_the_specification_levels() {
    let mut engine = Engine::new(Rule::defaults(), 1);
    assert_eq!(engine.rules().len(), Rule::defaults().len());
    let mut w = World::default();
    w.error_rate(None, 0.12, t(0));
    w.metrics.push(value("p95_duration_ms", None, 1000.0, t(0)));
    w.metrics
        .push(value("migration_success_rate", None, 0.85, t(0)));
    let ts = engine.evaluate(&w.facts(t(0)));
    let keys: Vec<_> = ts.iter().map(|t| t.alert.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "high_error_rate/*",
            "critical_error_rate/*",
            "low_success_rate/*"
        ]
    );
    assert_eq!(ts[1].alert.title, "Error rate above 10 %");
    assert_eq!(ts[1].alert.severity, Severity::Critical);
    assert_eq!(
        ts[1].alert.message,
        "12 % of operations failing, limit 10 % (error_rate 0.12 > 0.1)"
    );
}

#[test]
fn numbers_read_as_people_write_them() {
    use super::conditions::number;
    for (v, text) in [
        (0.12, "0.12"),
        (0.1200000001, "0.12"),
        (85.0, "85"),
        (1234.56, "1234.6"),
        (0.000012, "0.000012"),
        (-0.5, "-0.5"),
        (2.0f64 / 3.0, "0.6667"),
    ] {
        assert_eq!(number(v), text);
    }
}

/// What the transitions of a sequence of evaluations said, checked as they come.
#[derive(Default)]
struct Ledger {
    fired: std::collections::HashSet<i64>,
    sent_firing: std::collections::HashSet<i64>,
    sent_resolved: std::collections::HashSet<i64>,
    closed: std::collections::HashSet<i64>,
}

impl Ledger {
    fn record(&mut self, ts: &[Transition]) -> Result<(), TestCaseError> {
        for tr in ts {
            let id = tr.alert.id;
            prop_assert!(!self.closed.contains(&id), "{} changed after it closed", id);
            match tr.event {
                AlertEvent::Pending => prop_assert!(!tr.notify),
                AlertEvent::Fired => {
                    self.fired.insert(id);
                    if tr.notify {
                        prop_assert!(self.sent_firing.insert(id), "{} sent twice", id);
                    }
                }
                AlertEvent::Cancelled => {
                    prop_assert!(!tr.notify);
                    prop_assert!(!self.fired.contains(&id));
                    self.closed.insert(id);
                }
                AlertEvent::Resolved => {
                    if tr.alert.resolution == Some(Resolution::Automatic) {
                        prop_assert!(self.fired.contains(&id), "{} resolved before it fired", id);
                    }
                    prop_assert_eq!(tr.notify, self.sent_firing.contains(&id));
                    if tr.notify {
                        self.sent_resolved.insert(id);
                    }
                    self.closed.insert(id);
                }
            }
        }
        Ok(())
    }
}

proptest! {
    /// For any conditions over time (per component, with silences, blocked components and
    /// operators' resolutions coming and going): at most one open alert per key, every
    /// automatic resolution follows a firing of the same alert, and exactly the firings that
    /// were sent get their resolution sent.
    #[test]
    fn alerts_stay_consistent_over_any_sequence(
        for_secs in 0i64..60,
        keep_secs in 0i64..60,
        steps in prop::collection::vec(
            (prop::collection::vec(any::<bool>(), 3), any::<bool>(), any::<bool>(), 1i64..40, 0u8..20),
            1..60,
        ),
    ) {
        let mut r = errors("r");
        r.for_ = Duration::seconds(for_secs);
        r.keep_firing_for = Duration::seconds(keep_secs);
        let mut engine = Engine::new(vec![r], 1);
        let components = ["a", "b", "c"];
        let mut now = 0;
        let mut ledger = Ledger::default();
        let mut w = World::default();
        for (holds, silenced_now, blocked, dt, manual) in steps {
            now += dt;
            for (c, h) in components.iter().zip(&holds) {
                w.error_rate(Some(c), if *h { 0.5 } else { 0.0 }, t(now));
            }
            w.silences = if silenced_now { vec![silence(None, Some("a"), now, now + 30)] } else { vec![] };
            w.blocked = if blocked { vec!["b".to_owned()] } else { vec![] };
            let ts = engine.evaluate(&w.facts(t(now)));
            ledger.record(&ts)?;
            if manual < 3 {
                let target = engine.open().first().map(|a| a.id);
                if let Some(id) = target {
                    let tr = engine.resolve(id, t(now));
                    prop_assert!(tr.is_some());
                    ledger.record(&tr.into_iter().collect::<Vec<_>>())?;
                }
            }
            let open = engine.open();
            let keys: std::collections::HashSet<&str> = open.iter().map(|a| a.key.as_str()).collect();
            prop_assert_eq!(keys.len(), open.len(), "one open alert per key");
            for a in &open {
                prop_assert!(!ledger.closed.contains(&a.id));
            }
        }
        // Everything clears for long enough, with nothing silenced or blocked: all resolve.
        w.silences.clear();
        w.blocked.clear();
        for c in components {
            w.error_rate(Some(c), 0.0, t(now));
        }
        ledger.record(&engine.evaluate(&w.facts(t(now + 1))))?;
        ledger.record(&engine.evaluate(&w.facts(t(now + 100))))?;
        prop_assert!(engine.open().is_empty());
        prop_assert_eq!(ledger.sent_resolved, ledger.sent_firing);
    }
}

proptest! {
    /// History in time order (looked at from the cutoff back) and the same history in another
    /// order (every point looked at) give the same changes.
    #[test]
    fn history_order_does_not_change_rates_of_change(
        points in prop::collection::vec((0i64..600, 0usize..3, 0u8..4, -50.0f64..50.0), 0..80),
        latest in prop::collection::vec(-50.0f64..50.0, 3),
        swap in any::<prop::sample::Index>(),
    ) {
        let components = [None, Some("a"), Some("b")];
        let mut sorted: Vec<MetricValue> = points
            .iter()
            .map(|(secs, c, m, v)| {
                let metric = if *m == 0 { "other" } else { "queue" };
                value(metric, components[*c], *v, t(*secs))
            })
            .collect();
        sorted.sort_by_key(|p| p.at);
        // On a tie the last given counts, which depends on the order: no ties here.
        sorted.dedup_by_key(|p| p.at);
        let mut shuffled = sorted.clone();
        shuffled.reverse();
        if !shuffled.is_empty() {
            let i = swap.index(shuffled.len());
            shuffled.swap(0, i);
        }
        let rules = || {
            let mut over_2m = change(Comparison::Above, -1e9, false);
            over_2m.name = "short".to_owned();
            if let RuleKind::RateOfChange { over, .. } = &mut over_2m.kind {
                *over = Duration::minutes(2);
            }
            vec![change(Comparison::Above, -1e9, false), over_2m]
        };
        let mut results = Vec::new();
        for history in [sorted, shuffled] {
            let mut w = World { history, ..World::default() };
            for (c, v) in components.iter().zip(&latest) {
                w.metrics.push(value("queue", *c, *v, t(600)));
            }
            let mut engine = Engine::new(rules(), 1);
            let ts = engine.evaluate(&w.facts(t(600)));
            results.push(
                ts.iter().map(|t| (t.alert.key.clone(), t.alert.message.clone())).collect::<Vec<_>>(),
            );
        }
        prop_assert_eq!(&results[0], &results[1]);
    }
}

#[test]
fn one_incident_notifies_once_critical_inhibits_its_warning_sibling() {
    let warning = errors("high_error_rate");
    let mut critical = rule("critical_error_rate", above("error_rate", 0.10));
    critical.severity = Severity::Critical;
    let mut engine = Engine::new(vec![warning, critical], 1);
    let mut w = World::default();
    // The storage incident: 20 % failing on storage, 7 % over the whole migration.
    w.error_rate(Some("storage"), 0.2, t(0));
    w.error_rate(None, 0.07, t(0));
    let ts = engine.evaluate(&w.facts(t(0)));
    assert_eq!(
        events(&ts),
        [
            ("high_error_rate/*".to_owned(), AlertEvent::Fired, false),
            (
                "high_error_rate/storage".to_owned(),
                AlertEvent::Fired,
                false
            ),
            (
                "critical_error_rate/storage".to_owned(),
                AlertEvent::Fired,
                true
            ),
        ]
    );
    // Both stay visible, each saying why it was not told.
    let open = engine.open();
    assert_eq!(open.len(), 3);
    let reason = |key: &str| {
        open.iter()
            .find(|a| a.key == key)
            .and_then(|a| a.suppressed_by.clone())
    };
    assert_eq!(
        reason("high_error_rate/storage").as_deref(),
        Some("inhibited by critical_error_rate/storage (critical)")
    );
    assert_eq!(
        reason("high_error_rate/*").as_deref(),
        Some("grouped with critical_error_rate/storage")
    );
    assert_eq!(reason("critical_error_rate/storage"), None);

    // The error rate drops under the critical level: the critical alert resolves, and the
    // warning that still holds is told now, once; the whole migration's, never told, resolves
    // without a word.
    w.metrics.clear();
    w.error_rate(Some("storage"), 0.07, t(60));
    let ts = engine.evaluate(&w.facts(t(60)));
    assert_eq!(
        events(&ts),
        [
            ("high_error_rate/*".to_owned(), AlertEvent::Resolved, false),
            (
                "high_error_rate/storage".to_owned(),
                AlertEvent::Fired,
                true
            ),
            (
                "critical_error_rate/storage".to_owned(),
                AlertEvent::Resolved,
                true
            ),
        ]
    );
    // A later evaluation tells nobody again.
    let ts = engine.evaluate(&w.facts(t(75)));
    assert!(ts.iter().all(|t| !t.notify), "{ts:#?}");
}
