//! The alert loop: every `[alerts] interval`, the plan's rules evaluated over facts gathered from
//! the store and the collectors (DESIGN §2 "Alert", §4).
//!
//! Each evaluation ([`evaluate_once`]):
//!
//! 1. gathers the [`Facts`] (see [`gather`] for where each comes from);
//! 2. evaluates with the engine kept in the state; the first evaluation makes it from the store
//!    (`Engine::new(rules, max id + 1)` and `restore` of the open alerts), so a restarted
//!    server carries on where it stopped;
//! 3. saves what changed in one transaction: the transitions with their history, and the open
//!    alerts as they are now (so the pages, the API and a restart see their current value and
//!    the time their condition cleared); should that fail, the engine is made again from the
//!    store at the next evaluation and nothing is announced;
//! 4. announces each change to the live pages (`alert:new` when an alert fires,
//!    `alert:resolved` when it resolves, `alert:updated` otherwise) and hands those people must
//!    hear about to the notification channels.
//!
//! A failed evaluation is logged and counted; the loop goes on with the next one and never
//! panics (an evaluation runs on a task of its own, so even a bug in it ends only that one).

use mhd_store::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use mhd_core::alerts::{
    Acknowledgement, AlertEvent, AlertState, CollectorHealth, DatasetEvent, Engine, Facts,
    MetricValue, RegressionFact, RuleKind, Severity, Silence, SuiteFact, Transition,
};
use mhd_core::live::{LiveInput, LiveOperation};
use mhd_core::operation::{NewOperation, kind};
use mhd_core::plan::Plan;
use mhd_store::alerts::AlertStore;
use mhd_store::{OperationFilter, Store};
use time::{Duration, OffsetDateTime};
use tokio::task::JoinHandle;

use crate::recorder::{AlertPush, Change};
use crate::state::AppState;

/// Why an evaluation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// The server runs without a plan, so there are no rules.
    #[error("the server runs without a plan: there are no alert rules to evaluate")]
    NoPlan,
    /// The store failed.
    #[error("alert evaluation: {0}")]
    Store(#[from] mhd_store::StoreError),
}

/// The metrics computed from operations over the window (DESIGN §4); every other metric a rule
/// names comes from samples.
pub const OPERATION_METRICS: &[&str] = &[
    "operations_per_second",
    "error_rate",
    "mean_duration_ms",
    "p95_duration_ms",
    "migration_success_rate",
    "rollbacks",
    "schedule_delay_days",
];

/// How far back the datasets being migrated are looked for (as the live metrics do).
/// Most rollbacks read for one evaluation.
const MAX_ROLLBACKS: u32 = 10_000;

/// Starts the alert loop: with a plan that has rules, one task evaluating them every
/// `[alerts] interval`; without, nothing.
pub fn start(state: &AppState) -> Result<Vec<JoinHandle<()>>, String> {
    let Some(plan) = state.plan() else {
        return Ok(Vec::new());
    };
    if plan.alerts.rules.is_empty() {
        return Ok(Vec::new());
    }
    let period = std::time::Duration::try_from(plan.alerts.interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            format!(
                "[alerts] interval must be longer than nothing, not {}",
                mhd_core::plan::duration_text(plan.alerts.interval)
            )
        })?;
    let state = state.clone();
    Ok(vec![tokio::spawn(async move {
        // The engine is made again from the store and the plan in force: this server may
        // have just taken the lead, or the plan (its rules) just changed.
        *state.alert_engine().lock().await = None;
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let one = state.clone();
            match tokio::spawn(async move { evaluate_once(&one).await }).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "alert evaluation failed"),
                Err(e) => {
                    state.metrics().alert_evaluation_failures.inc();
                    tracing::error!(error = %e, "alert evaluation stopped abnormally");
                }
            }
        }
    })])
}

/// Evaluates the plan's rules once, now: gathers the facts, saves what changed, announces it
/// and hands notifications to the channels. Returns the transitions, in the engine's order.
pub async fn evaluate_once(state: &AppState) -> Result<Vec<Transition>, AlertingError> {
    let Some(plan) = state.plan() else {
        return Err(AlertingError::NoPlan);
    };
    // One evaluation at a time: two at once would give one id twice.
    let mut engine = state.alert_engine().lock().await;
    let started = Instant::now();
    let result = evaluate(state, &plan, &mut engine).await;
    let m = &state.metrics();
    m.alert_evaluations.inc();
    m.alert_evaluation_duration
        .observe(started.elapsed().as_secs_f64());
    if result.is_err() {
        m.alert_evaluation_failures.inc();
        m.store_errors.inc();
    }
    result
}

async fn evaluate(
    state: &AppState,
    plan: &Plan,
    slot: &mut Option<Engine>,
) -> Result<Vec<Transition>, AlertingError> {
    let now = state.now();
    let g = gather(state, plan, now).await?;
    let engine = match slot {
        Some(engine) => engine,
        None => {
            // The first evaluation takes back the alerts left open by the last run.
            let mut engine = Engine::new(
                plan.alerts.rules.clone(),
                state.store().max_alert_id().await? + 1,
            )
            .with_component_names(
                plan.components
                    .iter()
                    .map(|c| (c.id.clone(), c.name.clone())),
            );
            engine.restore(state.store().open_alerts().await?);
            slot.insert(engine)
        }
    };
    let transitions = engine.evaluate(&g.facts(now, plan));
    // Notifications are queued (durably) before the evaluation is saved: a crash in between
    // makes the next run evaluate again and give the alert the same id, and the queue takes
    // one event per channel and alert once, so nothing is lost and nobody hears it twice.
    for t in transitions.iter().filter(|t| t.notify) {
        hand_to_channels(state, t).await;
    }
    // Each transition is announced once the evaluation is saved.
    let saved = state
        .recorder()
        .commit_with(
            state
                .store()
                .save_evaluation(&transitions, &engine.open(), now),
            |()| transitions.iter().map(change_of).collect::<Vec<_>>(),
        )
        .await;
    if let Err(e) = saved {
        // What the engine holds is no longer what the store holds: start again from the
        // store next time, so nothing is announced that was not saved.
        *slot = None;
        return Err(e.into());
    }

    let mut firing: BTreeMap<Severity, i64> = BTreeMap::new();
    for a in engine.open() {
        if a.state == AlertState::Firing {
            *firing.entry(a.severity).or_default() += 1;
        }
    }
    for severity in [
        Severity::Info,
        Severity::Warning,
        Severity::Error,
        Severity::Critical,
    ] {
        state
            .metrics()
            .alerts_firing
            .get_or_create(&crate::metrics::SeverityLabels {
                severity: severity.as_str().to_owned(),
            })
            .set(firing.get(&severity).copied().unwrap_or(0));
    }

    keep_health(state, plan, now).await?;
    Ok(transitions)
}

/// Keeps the overall status over time (`mhd_core::health`): the status the figures give now,
/// stepped from the one kept; a change of what is shown is announced.
async fn keep_health(
    state: &AppState,
    plan: &Plan,
    now: OffsetDateTime,
) -> Result<(), AlertingError> {
    let model = state.model().await?;
    let Some(summary) = &model.summary else {
        return Ok(());
    };
    let previous = state.store().health_state().await?;
    let next = mhd_core::health::HealthState::step(
        previous.as_ref(),
        summary.figures_health,
        now,
        mhd_core::health::Hold {
            worse: plan.alerts.health_for,
            better: plan.alerts.health_keep,
        },
    );
    let was = previous.and_then(|p| p.current(now));
    let changed = was.map(|p| (p.shown, p.pending)) != Some((next.shown, next.pending));
    state
        .recorder()
        .commit_with(state.store().save_health_state(&next), |()| {
            changed.then_some(Change::Health)
        })
        .await?;
    Ok(())
}

/// What the live pages are told of a transition.
fn change_of(t: &Transition) -> Change {
    let push = match t.event {
        AlertEvent::Fired => AlertPush::New,
        AlertEvent::Resolved => AlertPush::Resolved,
        AlertEvent::Pending | AlertEvent::Cancelled => AlertPush::Updated,
    };
    let data = match push {
        AlertPush::Updated => serde_json::json!({
            "reason": match t.event {
                AlertEvent::Cancelled => "cancelled",
                _ => "pending",
            },
            "alert": t.alert,
        }),
        _ => serde_json::to_value(&t.alert).unwrap_or(serde_json::Value::Null),
    };
    Change::Alert {
        push,
        component: t.alert.component.clone(),
        data: Arc::new(data),
    }
}

/// Hands a transition people must hear about to the notification channels, when they run.
async fn hand_to_channels(state: &AppState, t: &Transition) {
    let Some(notifier) = state.notifier() else {
        return;
    };
    match notifier.enqueue(t).await {
        Ok(_) => {}
        Err(e) => tracing::warn!(alert = t.alert.id, error = %e, "cannot queue the notification"),
    }
}

/// Everything one evaluation looks at, owned; [`Gathered::facts`] lends it to the engine.
#[derive(Debug, Default)]
pub struct Gathered {
    /// See [`Facts::metrics`].
    pub metrics: Vec<MetricValue>,
    /// See [`Facts::history`].
    pub history: Vec<MetricValue>,
    /// See [`Facts::rollbacks`].
    pub rollbacks: Vec<DatasetEvent>,
    /// See [`Facts::integrity`].
    pub integrity: Vec<DatasetEvent>,
    /// See [`Facts::migrating`].
    pub migrating: Vec<DatasetEvent>,
    /// See [`Facts::regressions`].
    pub regressions: Vec<RegressionFact>,
    /// See [`Facts::suites`].
    pub suites: Vec<SuiteFact>,
    /// See [`Facts::collectors`].
    pub collectors: Vec<CollectorHealth>,
    /// See [`Facts::schedule_delay_days`].
    pub schedule_delay_days: Option<f64>,
    /// See [`Facts::blocked_components`].
    pub blocked_components: Vec<String>,
    /// See [`Facts::acknowledgements`].
    pub acknowledgements: Vec<Acknowledgement>,
    /// See [`Facts::silences`].
    pub silences: Vec<Silence>,
}

impl Gathered {
    /// The facts as the engine reads them.
    pub fn facts(&self, now: OffsetDateTime, plan: &Plan) -> Facts<'_> {
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
            schedule_delay_days: self.schedule_delay_days,
            blocked_components: &self.blocked_components,
            test_pass_critical: plan.thresholds.test_pass_critical,
            acknowledgements: &self.acknowledgements,
            silences: &self.silences,
        }
    }
}

/// Gathers the facts as of `now`. Where each comes from:
///
/// - **metrics**: those of [`OPERATION_METRICS`] from the operations of the last
///   `[alerts] window` (the rules of [`mhd_core::live`]), for the whole migration and for each
///   component that has operations in it; `schedule_delay_days` is the forecast's P85 slip.
///   Then the newest sample of every other metric (host and database collectors, Prometheus
///   queries, pushed samples) from the last window (at least twice the longest collector
///   interval), per component; several series of one metric and component (other labels) are
///   averaged for percentages and ratios (`*_percent`, `*_usage`, `*_rate`) and added up
///   otherwise. A metric that operations give is not taken from samples too.
///   `connection_pool_usage` is `db_connections_active / db_pool_size` unless sampled itself.
/// - **history** (for `rate_of_change` rules): each such rule's metric as it was `over` ago.
/// - **rollbacks**: `rollback` operations within the longest window of the rollback rules.
/// - **integrity**: failed verifications and differing row counts still standing.
/// - **migrating**: datasets with a `migration_start` not yet followed by a `migration`.
/// - **regressions**, **suites**: the performance comparison of the latest benchmarks, and
///   each suite's last two test runs.
/// - **schedule_delay_days**, **blocked_components**: from the analysis views (the forecast,
///   and the components of phases blocked now).
/// - **collectors**, **acknowledgements**, **silences**: the collectors' health, and what the
///   store holds (made by the pages, the API or the command line, in any process).
pub async fn gather(
    state: &AppState,
    plan: &Plan,
    now: OffsetDateTime,
) -> Result<Gathered, AlertingError> {
    let store = &state.store();
    let rules = &plan.alerts.rules;
    let window = plan.alerts.window;
    let has = |f: fn(&RuleKind) -> bool| rules.iter().any(|r| f(&r.kind));
    let mut g = Gathered::default();

    let model = state.model().await?;
    g.schedule_delay_days = model.slip_days();
    g.blocked_components = model.blocked_components();

    // Metrics from operations, then from samples.
    let ops = store
        .operations_between(now - window * 2, now + Duration::microseconds(1))
        .await?;
    g.metrics = operation_metrics(&ops, now, window, g.schedule_delay_days);
    let longest_interval = plan
        .collectors
        .all()
        .iter()
        .map(|(_, _, s)| s.interval)
        .max()
        .unwrap_or(Duration::ZERO);
    let lookback = window.max(longest_interval * 2);
    let samples = store.latest_samples(now - lookback).await?;
    let sampled = sample_metrics(
        samples
            .iter()
            .filter(|s| s.timestamp <= now)
            .map(|s| (s.metric.as_str(), s.component.clone(), s.timestamp, s.value)),
    );
    add_missing(&mut g.metrics, sampled);

    // Earlier values for rate-of-change rules.
    let mut asked: Vec<(String, Duration)> = Vec::new();
    for r in rules {
        if let RuleKind::RateOfChange { metric, over, .. } = &r.kind
            && !asked.contains(&(metric.clone(), *over))
        {
            asked.push((metric.clone(), *over));
        }
    }
    for (metric, over) in asked {
        let then = now - over;
        if OPERATION_METRICS.contains(&metric.as_str()) {
            let earlier = store
                .operations_between(then - window * 2, then + Duration::microseconds(1))
                .await?;
            g.history.extend(
                operation_metrics(&earlier, then, window, None)
                    .into_iter()
                    .filter(|m| m.metric == metric),
            );
        } else {
            let samples = store
                .samples_between(
                    &[metric.as_str()],
                    then - lookback,
                    then + Duration::microseconds(1),
                )
                .await?;
            g.history
                .extend(sample_metrics(newest_per_series(&samples)));
        }
    }
    g.history.sort_by_key(|m| m.at);

    let rollback_window = rules
        .iter()
        .filter_map(|r| match r.kind {
            RuleKind::Rollback { window, .. } => Some(window),
            _ => None,
        })
        .max();
    if let Some(w) = rollback_window {
        let rows = store
            .recent_operations(&OperationFilter {
                limit: MAX_ROLLBACKS,
                metric_type: Some(kind::ROLLBACK.to_owned()),
                since: Some(now - w),
                ..OperationFilter::default()
            })
            .await?;
        g.rollbacks = rows
            .into_iter()
            .rev()
            .filter(|o| o.op.timestamp <= now)
            .map(|o| DatasetEvent {
                at: o.op.timestamp,
                dataset: o.op.dataset_name.unwrap_or(o.op.operation),
                component: o.op.component,
                detail: o.op.error_message,
            })
            .collect();
    }
    if has(|k| matches!(k, RuleKind::Integrity)) {
        g.integrity = store.integrity_failures().await?;
    }
    g.migrating = migrating(&model);
    if has(|k| matches!(k, RuleKind::Regression)) {
        g.regressions = model
            .performance
            .comparisons
            .iter()
            .filter(|c| c.regression)
            .map(|c| RegressionFact {
                operation: c.operation.clone(),
                component: c.component.clone(),
                delta_percent: c.delta_percent.unwrap_or(0.0),
            })
            .collect();
    }
    if has(|k| matches!(k, RuleKind::TestPass { .. })) {
        g.suites = suite_facts(&store.recent_test_runs(2).await?);
    }
    g.collectors = state.collectors().statuses();
    g.acknowledgements = store.acknowledgements().await?;
    g.silences = store.silences(now).await?;
    Ok(g)
}

/// The operation metrics of the window ending at `now`: the whole migration's, then each
/// component's (in name order). Undefined metrics are absent.
pub fn operation_metrics(
    ops: &[NewOperation],
    now: OffsetDateTime,
    window: Duration,
    schedule_delay_days: Option<f64>,
) -> Vec<MetricValue> {
    let figures = |ops: &[LiveOperation], slip: Option<f64>| {
        mhd_core::live::live_metrics(&LiveInput {
            schedule_delay_days: slip,
            ..LiveInput::new(now, window, ops)
        })
        .metrics
    };
    let all: Vec<LiveOperation> = ops.iter().map(LiveOperation::from).collect();
    let mut by_component: BTreeMap<&str, Vec<LiveOperation>> = BTreeMap::new();
    for op in ops {
        if let Some(c) = op.component.as_deref() {
            by_component
                .entry(c)
                .or_default()
                .push(LiveOperation::from(op));
        }
    }
    let mut out: Vec<MetricValue> = figures(&all, schedule_delay_days)
        .into_iter()
        .map(|(metric, value)| MetricValue {
            metric,
            component: None,
            value,
            at: now,
        })
        .collect();
    for (component, ops) in by_component {
        out.extend(
            figures(&ops, None)
                .into_iter()
                .map(|(metric, value)| MetricValue {
                    metric,
                    component: Some(component.to_owned()),
                    value,
                    at: now,
                }),
        );
    }
    out
}

/// Whether several series of a metric are averaged (percentages and ratios) rather than added.
fn averaged(metric: &str) -> bool {
    metric.ends_with("_percent") || metric.ends_with("_usage") || metric.ends_with("_rate")
}

/// One value per (metric, component) from the newest sample of each series, with
/// `connection_pool_usage` derived where it is not sampled (see [`gather`]).
fn sample_metrics<'a>(
    samples: impl IntoIterator<Item = (&'a str, Option<String>, OffsetDateTime, f64)>,
) -> Vec<MetricValue> {
    let mut groups: BTreeMap<(String, Option<String>), (f64, usize, OffsetDateTime)> =
        BTreeMap::new();
    for (metric, component, at, value) in samples {
        if !value.is_finite() {
            continue;
        }
        let e = groups
            .entry((metric.to_owned(), component))
            .or_insert((0.0, 0, at));
        e.0 += value;
        e.1 += 1;
        e.2 = e.2.max(at);
    }
    let mut out: Vec<MetricValue> = groups
        .iter()
        .map(|((metric, component), (sum, n, at))| MetricValue {
            metric: metric.clone(),
            component: component.clone(),
            value: if averaged(metric) {
                sum / *n as f64
            } else {
                *sum
            },
            at: *at,
        })
        .collect();
    let value = |metric: &str, component: &Option<String>| {
        out.iter()
            .find(|m| m.metric == metric && &m.component == component)
            .map(|m| (m.value, m.at))
    };
    let mut derived = Vec::new();
    let components: Vec<Option<String>> = out.iter().map(|m| m.component.clone()).collect();
    for component in components {
        if value("connection_pool_usage", &component).is_some()
            || derived
                .iter()
                .any(|m: &MetricValue| m.component == component)
        {
            continue;
        }
        if let (Some((active, a)), Some((pool, p))) = (
            value("db_connections_active", &component),
            value("db_pool_size", &component),
        ) && pool > 0.0
        {
            derived.push(MetricValue {
                metric: "connection_pool_usage".to_owned(),
                component,
                value: active / pool,
                at: a.max(p),
            });
        }
    }
    out.extend(derived);
    out
}

/// A series of samples: metric, component and labels.
type SeriesKey<'a> = (&'a str, Option<&'a str>, &'a BTreeMap<String, String>);

/// The newest sample of each series (metric, component, labels), as `sample_metrics` reads
/// them.
fn newest_per_series(
    samples: &[mhd_core::sample::Sample],
) -> Vec<(&str, Option<String>, OffsetDateTime, f64)> {
    let mut newest: BTreeMap<SeriesKey<'_>, &mhd_core::sample::Sample> = BTreeMap::new();
    for s in samples {
        let key = (s.metric.as_str(), s.component.as_deref(), &s.labels);
        match newest.get(&key) {
            Some(old) if old.timestamp > s.timestamp => {}
            _ => {
                newest.insert(key, s);
            }
        }
    }
    newest
        .into_values()
        .map(|s| (s.metric.as_str(), s.component.clone(), s.timestamp, s.value))
        .collect()
}

/// Adds the values whose (metric, component) is not given yet.
fn add_missing(metrics: &mut Vec<MetricValue>, more: Vec<MetricValue>) {
    for m in more {
        if !metrics
            .iter()
            .any(|x| x.metric == m.metric && x.component == m.component)
        {
            metrics.push(m);
        }
    }
}

/// Datasets being migrated now: those in flight by the one rule of [`mhd_core::datasets`]
/// (a `migration_start` newer than every attempt), as the view model counts them.
fn migrating(model: &mhd_core::model::ViewModel) -> Vec<DatasetEvent> {
    model
        .datasets
        .rows
        .iter()
        .filter(|r| r.planned && r.in_flight)
        .map(|r| DatasetEvent {
            at: r.last_seen.unwrap_or(model.generated_at),
            dataset: r.name.clone(),
            component: r.component.clone(),
            detail: None,
        })
        .collect()
}

/// Each suite's latest pass rate and the one before, from runs oldest first per suite.
fn suite_facts(runs: &[mhd_core::testrun::TestRun]) -> Vec<SuiteFact> {
    let mut by_suite: BTreeMap<&str, Vec<&mhd_core::testrun::TestRun>> = BTreeMap::new();
    for r in runs {
        by_suite.entry(r.suite.as_str()).or_default().push(r);
    }
    by_suite
        .into_iter()
        .filter_map(|(suite, mut runs)| {
            runs.sort_by_key(|r| r.run_at);
            let latest = runs.last()?;
            Some(SuiteFact {
                suite: suite.to_owned(),
                component: latest.component.clone(),
                pass_rate: latest.pass_rate()?,
                previous: runs.len().checked_sub(2).and_then(|i| runs[i].pass_rate()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);

    fn op(secs_ago: i64, component: Option<&str>, ok: bool) -> NewOperation {
        let mut o = NewOperation::new(NOW - Duration::seconds(secs_ago), "dataset_read", "read");
        o.component = component.map(str::to_owned);
        o.success = ok;
        o.duration_ms = Some(10.0);
        o
    }

    fn find(m: &[MetricValue], metric: &str, component: Option<&str>) -> Option<f64> {
        m.iter()
            .find(|v| v.metric == metric && v.component.as_deref() == component)
            .map(|v| v.value)
    }

    #[test]
    fn operation_metrics_are_given_for_the_whole_and_per_component() {
        let ops = [
            op(10, Some("storage"), false),
            op(20, Some("storage"), true),
            op(30, Some("config"), true),
            op(40, None, true),
            // Outside both windows: ignored.
            op(3600, Some("storage"), false),
        ];
        let m = operation_metrics(&ops, NOW, Duration::minutes(5), Some(3.0));
        assert_eq!(find(&m, "error_rate", None), Some(0.25));
        assert_eq!(find(&m, "error_rate", Some("storage")), Some(0.5));
        assert_eq!(find(&m, "error_rate", Some("config")), Some(0.0));
        assert_eq!(find(&m, "schedule_delay_days", None), Some(3.0));
        assert_eq!(find(&m, "schedule_delay_days", Some("storage")), None);
        assert_eq!(find(&m, "operations_per_second", None), Some(4.0 / 300.0));
        // No migration in the window: its success rate is undefined, so absent.
        assert_eq!(find(&m, "migration_success_rate", None), None);
    }

    #[test]
    fn samples_are_combined_per_metric_and_component_and_pool_usage_is_derived() {
        let t = NOW - Duration::seconds(5);
        let m = sample_metrics([
            ("cpu_percent", None, t, 40.0),
            ("cpu_percent", None, t, 60.0),
            ("db_connections_active", Some("storage".to_owned()), t, 45.0),
            ("db_pool_size", Some("storage".to_owned()), t, 50.0),
            ("db_connections_active", None, t, 3.0),
            ("db_pool_size", None, t, 0.0),
            ("queue_depth", None, t, 4.0),
            ("queue_depth", None, t, 6.0),
            ("memory_percent", None, t, f64::NAN),
        ]);
        assert_eq!(find(&m, "cpu_percent", None), Some(50.0), "averaged");
        assert_eq!(find(&m, "queue_depth", None), Some(10.0), "added up");
        assert_eq!(
            find(&m, "connection_pool_usage", Some("storage")),
            Some(0.9)
        );
        assert_eq!(
            find(&m, "connection_pool_usage", None),
            None,
            "no pool size, no usage"
        );
        assert_eq!(find(&m, "memory_percent", None), None);

        let mut ops_first = vec![MetricValue {
            metric: "cpu_percent".into(),
            component: None,
            value: 1.0,
            at: t,
        }];
        add_missing(&mut ops_first, m);
        assert_eq!(find(&ops_first, "cpu_percent", None), Some(1.0));
        assert_eq!(find(&ops_first, "queue_depth", None), Some(10.0));
    }
}
