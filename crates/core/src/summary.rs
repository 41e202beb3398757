//! The executive summary (DESIGN §3.1): overall health, progress, forecast, blockers, key
//! metrics and recommendations, from counts the store keeps and the timeline.
//!
//! The rules, so a user can tell why the dashboard says what it says ("today" is the UTC date of
//! `now`; `health_reasons` lists every rule that fired):
//!
//! - `migration_progress` = migrated datasets (verified included) / the plan's datasets × 100,
//!   at most 100; 0 when the plan counts no datasets.
//! - `success_rate` = successful migration attempts / all migration attempts (0..=1); absent
//!   without attempts.
//! - `estimated_completion`: the forecast of [`crate::forecast`] over the daily net throughput
//!   given, for the datasets not yet migrated; absent when the plan counts no datasets or no
//!   date can be forecast.
//! - `overall_health`, the worst that holds:
//!   - `critical`: a critical alert fires; the success rate is under
//!     `thresholds.success_rate_critical`; the P85 date is more than
//!     `thresholds.slip_days_critical` days past the planned end;
//!   - `at_risk`: a warning or error alert fires; a phase is blocked; the P85 date is past the
//!     planned end; the success rate is under `thresholds.success_rate_warning` (an addition to
//!     DESIGN, so that the warning threshold means something);
//!   - `healthy` otherwise.
//!
//!   Also an addition: when no date can be forecast but today is past the planned end with
//!   datasets left, the migration can only end after today, so it is judged as if its P85 date
//!   were today.
//! - `blockers`: every blocked phase (with what blocks it) and every firing critical alert.
//! - `recommendations`: one short sentence per rule that fires, each naming what to look at, in
//!   this order: critical alerts, blocked phases, success rate, forecast, missed milestones,
//!   test suites under their thresholds, a performance regression, other alerts, a plan
//!   without datasets.

use serde::Serialize;
use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::forecast::{self, EstimatedCompletion, NoForecast};
use crate::plan::{Plan, Thresholds};
use crate::timeline::{MigrationPhase, MilestoneStatus, PhaseStatus, week_of};

/// The migration's overall health, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// No rule of `at_risk` or `critical` holds.
    Healthy,
    /// Something needs attention (see the module's rules).
    AtRisk,
    /// Something needs attention now (see the module's rules).
    Critical,
}

/// How serious an alert is (DESIGN §2 "Alert").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information; does not change the health.
    Info,
    /// Makes the migration at risk.
    Warning,
    /// Makes the migration at risk.
    Error,
    /// Makes the migration critical and is a blocker.
    Critical,
}

impl Health {
    /// The name used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::AtRisk => "at_risk",
            Health::Critical => "critical",
        }
    }

    /// Reads a name of [`Health::as_str`].
    pub fn from_name(s: &str) -> Option<Health> {
        [Health::Healthy, Health::AtRisk, Health::Critical]
            .into_iter()
            .find(|h| h.as_str() == s)
    }

    /// As people read it: "healthy", "at risk", "critical".
    pub fn words(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::AtRisk => "at risk",
            Health::Critical => "critical",
        }
    }
}

impl Severity {
    /// The name used in JSON and in sentences.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// An alert firing now, as the summary needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FiringAlert {
    /// Its severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
    /// The component it concerns, if any.
    pub component: Option<String>,
    /// When it started firing, if known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
}

/// Migration counts from the store (the same fields as the store's `MigrationCounts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrationCounts {
    /// Datasets whose latest successful migration is not followed by a rollback.
    pub datasets_migrated: u64,
    /// `migration` operations.
    pub attempts: u64,
    /// Successful ones.
    pub successes: u64,
    /// `rollback` operations.
    pub rollbacks: u64,
}

/// One test suite's latest pass rate (passed / (total − skipped), 0..=1).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuitePassRate {
    /// The suite's name.
    pub suite: String,
    /// Its pass rate, 0..=1.
    pub pass_rate: f64,
}

/// Everything the summary is computed from.
#[derive(Debug, Clone, Copy)]
pub struct SummaryInput<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The current time; today is its UTC date.
    pub now: OffsetDateTime,
    /// Migration counts.
    pub counts: MigrationCounts,
    /// The forecast's history: see [`forecast::daily_window`].
    pub daily_net: &'a [i64],
    /// The timeline of the same day ([`crate::timeline::timeline`]).
    pub phases: &'a [MigrationPhase],
    /// Alerts firing now.
    pub alerts: &'a [FiringAlert],
    /// The median performance delta in percent ([`crate::perf::performance_delta`]).
    pub performance_delta: Option<f64>,
    /// What regressed and what improved ([`crate::perf::verdict`]), when benchmarks compare.
    pub performance: Option<&'a crate::perf::PerformanceVerdict>,
    /// The forecast of the whole plan ([`crate::outlook`]); `None` to forecast the datasets
    /// alone from `daily_net`.
    pub forecast: Option<&'a Result<EstimatedCompletion, NoForecast>>,
    /// The latest pass rate of each test suite.
    pub test_suites: &'a [SuitePassRate],
}

/// What a blocker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// A blocked phase.
    Phase,
    /// A firing critical alert.
    Alert,
}

/// Something that holds the migration up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Blocker {
    /// A blocked phase or a critical alert.
    pub kind: BlockerKind,
    /// What it is, in a few words.
    pub title: String,
    /// The blocked phase's id.
    pub phase: Option<String>,
    /// The alert's component.
    pub component: Option<String>,
    /// Since when: the alert's start, or the start of the blocked phase's first day (UTC) when
    /// a dependency blocks it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
}

/// How the forecast moved since yesterday: the P85 it gave at the end of yesterday, and what
/// changed in its inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastChange {
    /// The P85 date as of the end of yesterday (`None` when it gave none).
    #[serde(with = "crate::forecast::ymd::option")]
    pub previous_p85: Option<Date>,
    /// Days the P85 date moved (positive: later).
    pub days_moved: Option<i64>,
    /// What changed, in words, the weightiest first.
    pub reasons: Vec<String>,
}

/// A computed status waiting to be shown ([`crate::health`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingHealth {
    /// The status.
    pub health: Health,
    /// Since when the figures give it.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When it will be shown if it holds until then.
    #[serde(with = "time::serde::rfc3339")]
    pub shown_at: OffsetDateTime,
}

/// The summary's key figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyMetrics {
    /// Migrated datasets, verified included.
    pub datasets_migrated: u64,
    /// The plan's datasets.
    pub datasets_total: u64,
    /// Successful migration attempts / all attempts, 0..=1; absent without attempts.
    pub success_rate: Option<f64>,
    /// Rollbacks recorded.
    pub rollback_count: u64,
    /// Migration attempts recorded (the success rate's denominator).
    pub migration_attempts: u64,
    /// Median over operations of the new p50's change against the old one, in percent
    /// (negative: the new system is faster).
    pub performance_delta: Option<f64>,
    /// What regressed, what improved, what shows no clear change ("1 operation slower
    /// (feature generation +35.0 %), 2 faster"): never "faster" beside a regression.
    pub performance_headline: Option<String>,
}

/// The executive summary (the specification's `ExecutiveSummary`, plus the fields after
/// `recommendations`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutiveSummary {
    /// Healthy, at risk or critical.
    pub overall_health: Health,
    /// 0–100.
    pub migration_progress: f64,
    /// The forecast, when one can be made.
    pub estimated_completion: Option<EstimatedCompletion>,
    /// Blocked phases and critical alerts.
    pub blockers: Vec<Blocker>,
    /// The key figures.
    pub key_metrics: KeyMetrics,
    /// What to do, most urgent first.
    pub recommendations: Vec<String>,
    /// Why the health is what it is: every rule that fired, worst first.
    pub health_reasons: Vec<String>,
    /// The week of the plan today falls in ([`week_of`]).
    pub week: i64,
    /// The plan's weeks.
    pub weeks: u32,
    /// When the summary was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The status the rules give now, without waiting ([`crate::health`]).
    pub computed_health: Health,
    /// The part of it that firing alerts give (they wait out their own `for` already).
    #[serde(skip)]
    pub alerts_health: Health,
    /// The part of it that the other rules give: what waits before it is shown.
    #[serde(skip)]
    pub figures_health: Health,
    /// Since when `overall_health` is shown, when the server keeps the status over time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub health_since: Option<OffsetDateTime>,
    /// A different computed status waiting to be shown: the status and when it will be, if it
    /// holds.
    pub health_pending: Option<PendingHealth>,
    /// How the forecast moved since yesterday and why ([`crate::model`] fills it).
    pub forecast_change: Option<ForecastChange>,
    /// How each figure was made, by the figure's field name ([`crate::model`] fills it).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub explain: std::collections::BTreeMap<String, crate::model::Explained>,
}

/// The executive summary (see the module's rules).
pub fn executive_summary(input: &SummaryInput<'_>) -> ExecutiveSummary {
    let plan = input.plan;
    let t = &plan.thresholds;
    let today = input.now.to_offset(UtcOffset::UTC).date();
    let total = u64::from(plan.datasets_total());
    let migrated = input.counts.datasets_migrated;
    let rate = success_rate(&input.counts);
    let outlook = match input.forecast {
        _ if total == 0 => Err(Unforecast::NoDatasets),
        Some(f) => f.clone().map_err(Unforecast::Forecast),
        None => outlook(input.daily_net, migrated, total, today, plan.planned_end()),
    };
    let estimated = outlook.as_ref().ok().cloned();

    let mut findings = Vec::new();
    let from_alerts = alert_findings(input.alerts);
    let alerts_health = from_alerts
        .iter()
        .map(|f| f.0)
        .max()
        .unwrap_or(Health::Healthy);
    findings.extend(from_alerts);
    let figures_start = findings.len();
    findings.extend(success_rate_finding(rate, t));
    findings.extend(schedule_finding(&outlook, today, plan.planned_end(), t));
    findings.extend(blocked_phase_findings(input.phases));
    let figures_health = findings[figures_start..]
        .iter()
        .map(|f| f.0)
        .max()
        .unwrap_or(Health::Healthy);
    findings.sort_by_key(|f| std::cmp::Reverse(f.0));

    let mut recommendations = Vec::new();
    recommendations.extend(critical_alert_advice(input.alerts));
    recommendations.extend(blocked_phase_advice(input.phases));
    recommendations.extend(success_rate_advice(rate, t));
    recommendations.extend(forecast_advice(&outlook, input.daily_net, input.phases));
    recommendations.extend(missed_milestone_advice(input.phases));
    recommendations.extend(test_advice(input.test_suites, t));
    recommendations.extend(performance_advice(
        input.performance_delta,
        input.performance,
        t,
    ));
    recommendations.extend(other_alert_advice(input.alerts));
    recommendations.extend(plan_advice(total));

    let (week, weeks) = week_of(plan, today);
    let computed = findings.first().map_or(Health::Healthy, |f| f.0);
    ExecutiveSummary {
        overall_health: computed,
        computed_health: computed,
        alerts_health,
        figures_health,
        health_since: None,
        health_pending: None,
        migration_progress: progress_percent(migrated, total),
        estimated_completion: estimated,
        blockers: blockers(input.phases, input.alerts),
        key_metrics: KeyMetrics {
            datasets_migrated: migrated,
            datasets_total: total,
            success_rate: rate,
            rollback_count: input.counts.rollbacks,
            migration_attempts: input.counts.attempts,
            performance_delta: input.performance_delta,
            performance_headline: input.performance.map(|v| v.headline.clone()),
        },
        recommendations,
        health_reasons: findings.into_iter().map(|f| f.1).collect(),
        week,
        weeks,
        generated_at: input.now,
        forecast_change: None,
        explain: std::collections::BTreeMap::new(),
    }
}

/// A rule that fired: the health it calls for and why.
type Finding = (Health, String);

/// The forecast, or why there is none.
type Outlook = Result<EstimatedCompletion, Unforecast>;

/// Why there is no forecast: the forecast's own reasons, or a plan without datasets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unforecast {
    NoDatasets,
    Forecast(NoForecast),
}

/// Migrated / total × 100, at most 100; 0 without datasets.
fn progress_percent(migrated: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (migrated as f64 * 100.0 / total as f64).min(100.0)
    }
}

/// Successes / attempts; `None` without attempts.
fn success_rate(c: &MigrationCounts) -> Option<f64> {
    (c.attempts > 0).then(|| c.successes.min(c.attempts) as f64 / c.attempts as f64)
}

fn outlook(
    daily_net: &[i64],
    migrated: u64,
    total: u64,
    today: Date,
    planned_end: Date,
) -> Outlook {
    if total == 0 {
        return Err(Unforecast::NoDatasets);
    }
    forecast::forecast(
        daily_net,
        total.saturating_sub(migrated),
        today,
        planned_end,
    )
    .map_err(Unforecast::Forecast)
}

fn alert_findings(alerts: &[FiringAlert]) -> Vec<Finding> {
    alerts
        .iter()
        .filter_map(|a| {
            let level = match a.severity {
                Severity::Critical => Health::Critical,
                Severity::Warning | Severity::Error => Health::AtRisk,
                Severity::Info => return None,
            };
            Some((
                level,
                format!(
                    "{} alert \"{}\" is firing.",
                    capitalised(a.severity.as_str()),
                    a.title
                ),
            ))
        })
        .collect()
}

fn success_rate_finding(rate: Option<f64>, t: &Thresholds) -> Option<Finding> {
    let rate = rate?;
    if rate < t.success_rate_critical {
        Some((
            Health::Critical,
            format!(
                "Success rate {} is under the {} critical threshold.",
                pct(rate),
                pct_threshold(t.success_rate_critical)
            ),
        ))
    } else if rate < t.success_rate_warning {
        Some((
            Health::AtRisk,
            format!(
                "Success rate {} is under the {} warning threshold.",
                pct(rate),
                pct_threshold(t.success_rate_warning)
            ),
        ))
    } else {
        None
    }
}

fn schedule_finding(
    outlook: &Outlook,
    today: Date,
    planned_end: Date,
    t: &Thresholds,
) -> Option<Finding> {
    let (slip, what) = match outlook {
        Ok(e) => (e.slip_days, format!("The P85 completion date {}", e.p85)),
        // Unfinished past the planned end: it cannot end before today.
        Err(Unforecast::Forecast(_)) if today > planned_end => (
            (today - planned_end).whole_days(),
            format!("The migration is unfinished on {today}, which"),
        ),
        Err(_) => return None,
    };
    if slip > i64::from(t.slip_days_critical) {
        Some((
            Health::Critical,
            format!(
                "{what} is {} past the planned end {planned_end}, more than the {} allowed.",
                days(slip),
                days(i64::from(t.slip_days_critical))
            ),
        ))
    } else if slip > 0 {
        Some((
            Health::AtRisk,
            format!(
                "{what} is {} past the planned end {planned_end}.",
                days(slip)
            ),
        ))
    } else {
        None
    }
}

fn blocked_phase_findings(phases: &[MigrationPhase]) -> Vec<Finding> {
    phases
        .iter()
        .filter(|p| p.status == PhaseStatus::Blocked)
        .map(|p| (Health::AtRisk, format!("{}.", blocked_title(p, phases))))
        .collect()
}

/// "Phase Storage is blocked by Abstraction and the alert "X"".
fn blocked_title(p: &MigrationPhase, phases: &[MigrationPhase]) -> String {
    format!(
        "Phase {} is blocked by {}",
        p.name,
        join_and(&blocking(p, phases))
    )
}

/// The names of what blocks a phase: its unfinished dependencies, then its alerts.
fn blocking(p: &MigrationPhase, phases: &[MigrationPhase]) -> Vec<String> {
    p.blocked_by
        .iter()
        .map(|id| phase_name(id, phases))
        .chain(
            p.blocker_alerts
                .iter()
                .map(|t| format!("the alert \"{t}\"")),
        )
        .collect()
}

fn phase_name(id: &str, phases: &[MigrationPhase]) -> String {
    phases
        .iter()
        .find(|p| p.id == id)
        .map_or_else(|| id.to_owned(), |p| p.name.clone())
}

fn blockers(phases: &[MigrationPhase], alerts: &[FiringAlert]) -> Vec<Blocker> {
    let blocked = phases
        .iter()
        .filter(|p| p.status == PhaseStatus::Blocked)
        .map(|p| Blocker {
            kind: BlockerKind::Phase,
            title: blocked_title(p, phases),
            phase: Some(p.id.clone()),
            component: None,
            since: (!p.blocked_by.is_empty())
                .then(|| p.start_date.with_time(Time::MIDNIGHT).assume_utc()),
        });
    let critical = alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .map(|a| Blocker {
            kind: BlockerKind::Alert,
            title: a.title.clone(),
            phase: None,
            component: a.component.clone(),
            since: a.since,
        });
    blocked.chain(critical).collect()
}

fn critical_alert_advice(alerts: &[FiringAlert]) -> Vec<String> {
    alerts
        .iter()
        .filter(|a| a.severity == Severity::Critical)
        .map(|a| {
            let on = a
                .component
                .as_ref()
                .map(|c| format!(" on {c}"))
                .unwrap_or_default();
            format!(
                "Critical alert \"{}\" is firing{on}: act on it first (`mhd alerts`).",
                a.title
            )
        })
        .collect()
}

fn blocked_phase_advice(phases: &[MigrationPhase]) -> Vec<String> {
    phases
        .iter()
        .filter(|p| p.status == PhaseStatus::Blocked)
        .map(|p| {
            let mut actions = Vec::new();
            if !p.blocked_by.is_empty() {
                let deps: Vec<String> = p
                    .blocked_by
                    .iter()
                    .map(|id| phase_name(id, phases))
                    .collect();
                actions.push(format!("finish {}", join_and(&deps)));
            }
            if !p.blocker_alerts.is_empty() {
                let them = if p.blocker_alerts.len() == 1 {
                    "it"
                } else {
                    "them"
                };
                let what = if p.blocked_by.is_empty() {
                    format!("resolve {them}")
                } else {
                    format!("resolve the alert{}", if them == "it" { "" } else { "s" })
                };
                actions.push(format!("{what} (`mhd alerts`)"));
            }
            actions.push(format!("re-plan {}", p.name));
            format!("{}: {}.", blocked_title(p, phases), join_or(&actions))
        })
        .collect()
}

fn success_rate_advice(rate: Option<f64>, t: &Thresholds) -> Option<String> {
    let rate = rate?;
    let (level, threshold) = if rate < t.success_rate_critical {
        ("critical", t.success_rate_critical)
    } else if rate < t.success_rate_warning {
        ("warning", t.success_rate_warning)
    } else {
        return None;
    };
    Some(format!(
        "Success rate {} is under the {} {level} threshold: look at the failed migrations \
         (`mhd stats show --failed -t migration`).",
        pct(rate),
        pct_threshold(threshold)
    ))
}

fn forecast_advice(
    outlook: &Outlook,
    daily_net: &[i64],
    phases: &[MigrationPhase],
) -> Option<String> {
    let window = match daily_net.len() {
        1 => "in the last day".to_owned(),
        n => format!("in the last {n} days"),
    };
    match outlook {
        Ok(e) if e.slip_days > 0 && !e.critical_path.is_empty() => Some(format!(
            "At the current pace the migration ends {} (P85), {} after the planned {}, held up \
             by the phases {}: speed up the first of them or move the planned end.",
            e.p85,
            days(e.slip_days),
            e.planned_end,
            e.critical_path
                .iter()
                .map(|id| phase_name(id, phases))
                .collect::<Vec<_>>()
                .join(" → ")
        )),
        Ok(e) if e.slip_days > 0 => Some(format!(
            "At the current pace the migration ends {} (P85), {} after the planned {}: raise \
             the daily throughput or move the planned end.",
            e.p85,
            days(e.slip_days),
            e.planned_end
        )),
        Ok(_) | Err(Unforecast::NoDatasets) => None,
        Err(Unforecast::Forecast(NoForecast::NoHistory)) => Some(
            "The migration has not run a full day yet: a completion date is forecast from its \
             second day on."
                .to_owned(),
        ),
        Err(Unforecast::Forecast(NoForecast::NoThroughput)) => {
            if daily_net.iter().any(|&v| v != 0) {
                Some(format!(
                    "More datasets were rolled back than migrated {window}: no completion date \
                     can be forecast; look at the rollbacks (`mhd stats show -t rollback`)."
                ))
            } else {
                Some(format!(
                    "No datasets migrated {window}: no completion date can be forecast."
                ))
            }
        }
        Err(Unforecast::Forecast(NoForecast::TooSlow)) => {
            let net: i64 = daily_net.iter().sum();
            Some(format!(
                "At the current pace ({net} dataset{}, net, {window}) the migration would not \
                 end within five years: raise the daily throughput.",
                if net == 1 { "" } else { "s" }
            ))
        }
    }
}

fn missed_milestone_advice(phases: &[MigrationPhase]) -> Vec<String> {
    phases
        .iter()
        .filter(|p| p.status != PhaseStatus::Completed)
        .flat_map(|p| {
            p.milestones
                .iter()
                .filter(|m| m.status == MilestoneStatus::Missed)
                .map(move |m| {
                    format!(
                        "Milestone \"{}\" of {} was due {}: record it once reached \
                         (`mhd record -t milestone -o \"{}\"`) or re-plan it.",
                        m.name, p.name, m.date, m.name
                    )
                })
        })
        .collect()
}

fn test_advice(suites: &[SuitePassRate], t: &Thresholds) -> Vec<String> {
    let mut low: Vec<&SuitePassRate> = suites
        .iter()
        .filter(|s| s.pass_rate < t.test_pass_warning)
        .collect();
    low.sort_by(|a, b| {
        a.pass_rate
            .total_cmp(&b.pass_rate)
            .then(a.suite.cmp(&b.suite))
    });
    low.into_iter()
        .map(|s| {
            let (level, threshold) = if s.pass_rate < t.test_pass_critical {
                ("critical", t.test_pass_critical)
            } else {
                ("warning", t.test_pass_warning)
            };
            format!(
                "Test suite {} passes {} of its tests, under the {} {level} threshold: fix its \
                 failing tests (`mhd tests`).",
                s.suite,
                pct(s.pass_rate),
                pct_threshold(threshold)
            )
        })
        .collect()
}

fn performance_advice(
    delta: Option<f64>,
    verdict: Option<&crate::perf::PerformanceVerdict>,
    t: &Thresholds,
) -> Option<String> {
    if let Some(v) = verdict.filter(|v| !v.slower.is_empty()) {
        let names: Vec<String> = v
            .slower
            .iter()
            .map(|i| format!("{} ({:+.1} %)", i.operation, i.delta_percent))
            .collect();
        return Some(format!(
            "The new system is slower than the old on {}, beyond the {}% regression threshold: \
             look at the regressions (`mhd perf`).",
            join_and(&names),
            trim_number(t.regression_percent)
        ));
    }
    let delta = delta.filter(|d| *d > t.regression_percent)?;
    Some(format!(
        "The new system is {delta:.1}% slower than the old one (median over operations), over \
         the {}% regression threshold: look at the regressions (`mhd perf`).",
        trim_number(t.regression_percent)
    ))
}

fn other_alert_advice(alerts: &[FiringAlert]) -> Option<String> {
    let others: Vec<String> = alerts
        .iter()
        .filter(|a| matches!(a.severity, Severity::Warning | Severity::Error))
        .map(|a| format!("\"{}\" ({})", a.title, a.severity.as_str()))
        .collect();
    match others.len() {
        0 => None,
        1 => Some(format!(
            "Alert {} is firing: look at it (`mhd alerts`).",
            others[0]
        )),
        _ => Some(format!(
            "Alerts {} are firing: look at them (`mhd alerts`).",
            join_and(&others)
        )),
    }
}

fn plan_advice(total: u64) -> Option<String> {
    (total == 0).then(|| {
        "The plan counts no datasets: set `total` or list them under [datasets] in the plan \
         file, so progress and completion can be computed."
            .to_owned()
    })
}

/// A ratio as a percentage with one decimal: "87.0%".
fn pct(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A threshold ratio as a percentage without needless decimals: "90%", "92.5%".
fn pct_threshold(ratio: f64) -> String {
    format!("{}%", trim_number(ratio * 100.0))
}

fn trim_number(v: f64) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// "A", "A and B", "A, B and C".
fn join_and(items: &[String]) -> String {
    join_last(items, " and ")
}

/// "A", "A or B", "A, B or C".
fn join_or(items: &[String]) -> String {
    join_last(items, " or ")
}

fn join_last(items: &[String], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., end] => format!("{}{last}{end}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::EstimatedCompletion;
    use crate::plan::{Datasets, MigrationInfo, Risk, default_plan_toml, parse};
    use crate::timeline::{ComponentProgress, Marks, Milestone, PhaseAlert, timeline};
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2025-03-06 10:00 UTC);

    fn plan(total: u32) -> Plan {
        Plan {
            migration: MigrationInfo {
                name: "m".into(),
                start: date!(2025 - 01 - 06),
                weeks: 21,
            },
            datasets: Datasets::Total(total),
            components: Vec::new(),
            phases: Vec::new(),
            thresholds: Thresholds::default(),
            collectors: Default::default(),
            alerts: Default::default(),
            notify: Vec::new(),
            chat: Default::default(),
            retention: Default::default(),
            reports: Vec::new(),
        }
    }

    fn counts(migrated: u64, attempts: u64, successes: u64, rollbacks: u64) -> MigrationCounts {
        MigrationCounts {
            datasets_migrated: migrated,
            attempts,
            successes,
            rollbacks,
        }
    }

    fn alert(severity: Severity, title: &str) -> FiringAlert {
        FiringAlert {
            severity,
            title: title.into(),
            component: Some("storage".into()),
            since: Some(datetime!(2025-03-06 09:12 UTC)),
        }
    }

    fn phase(
        id: &str,
        status: PhaseStatus,
        blocked_by: &[&str],
        alerts: &[&str],
    ) -> MigrationPhase {
        MigrationPhase {
            id: id.into(),
            name: capitalised(id),
            start_date: date!(2025 - 02 - 10),
            end_date: date!(2025 - 03 - 24),
            status,
            progress: 0.0,
            milestones: Vec::new(),
            dependencies: blocked_by.iter().map(|s| (*s).into()).collect(),
            risk_level: Risk::Low,
            components: Vec::new(),
            projected_end: None,
            slip_days: None,
            blocked_by: blocked_by.iter().map(|s| (*s).into()).collect(),
            blocker_alerts: alerts.iter().map(|s| (*s).into()).collect(),
            completed_on: None,
            forecast: None,
            explain: String::new(),
        }
    }

    fn estimate(p85: Date, slip_days: i64) -> Outlook {
        Ok(EstimatedCompletion {
            p50: p85,
            p85,
            p95: p85,
            planned_end: date!(2025 - 06 - 02),
            slip_days,
            datasets_p85: None,
            critical_path: Vec::new(),
        })
    }

    /// A summary of plan(412) with these counts and history, nothing else.
    fn summary_of(p: &Plan, c: MigrationCounts, daily_net: &[i64]) -> ExecutiveSummary {
        executive_summary(&SummaryInput {
            plan: p,
            now: NOW,
            counts: c,
            daily_net,
            phases: &[],
            alerts: &[],
            performance_delta: None,
            performance: None,
            forecast: None,
            test_suites: &[],
        })
    }

    #[test]
    fn progress_and_success_rate() {
        let cases = [
            (156, 412, 37.864),
            (0, 412, 0.0),
            (412, 412, 100.0),
            (500, 412, 100.0),
            (3, 0, 0.0),
        ];
        for (migrated, total, want) in cases {
            let got = progress_percent(migrated, total);
            assert!((got - want).abs() < 0.001, "{migrated}/{total}: {got}");
        }
        assert_eq!(success_rate(&counts(0, 0, 0, 0)), None);
        assert_eq!(success_rate(&counts(0, 4, 3, 0)), Some(0.75));
        assert_eq!(success_rate(&counts(0, 5, 0, 0)), Some(0.0));
        assert_eq!(success_rate(&counts(0, 2, 9, 0)), Some(1.0), "capped");
    }

    #[test]
    fn alert_rule() {
        let cases = [
            (Severity::Critical, Some(Health::Critical)),
            (Severity::Error, Some(Health::AtRisk)),
            (Severity::Warning, Some(Health::AtRisk)),
            (Severity::Info, None),
        ];
        for (severity, want) in cases {
            let got = alert_findings(&[alert(severity, "Disk full")]);
            assert_eq!(got.first().map(|f| f.0), want, "{severity:?}");
        }
        assert_eq!(
            alert_findings(&[alert(Severity::Error, "Disk full")])[0].1,
            "Error alert \"Disk full\" is firing."
        );
    }

    #[test]
    fn success_rate_rule() {
        let t = Thresholds::default();
        let cases = [
            (None, None),
            (Some(1.0), None),
            (Some(0.90), None),
            (Some(0.899), Some(Health::AtRisk)),
            (Some(0.80), Some(Health::AtRisk)),
            (Some(0.799), Some(Health::Critical)),
            (Some(0.0), Some(Health::Critical)),
        ];
        for (rate, want) in cases {
            assert_eq!(
                success_rate_finding(rate, &t).map(|f| f.0),
                want,
                "{rate:?}"
            );
            assert_eq!(
                success_rate_advice(rate, &t).is_some(),
                want.is_some(),
                "{rate:?}"
            );
        }
        assert_eq!(
            success_rate_advice(Some(0.87), &t).as_deref(),
            Some(
                "Success rate 87.0% is under the 90% warning threshold: look at the failed \
                 migrations (`mhd stats show --failed -t migration`)."
            )
        );
        assert_eq!(
            success_rate_advice(Some(0.5), &t).as_deref(),
            Some(
                "Success rate 50.0% is under the 80% critical threshold: look at the failed \
                 migrations (`mhd stats show --failed -t migration`)."
            )
        );
    }

    #[test]
    fn schedule_rule() {
        let t = Thresholds::default();
        let end = date!(2025 - 06 - 02);
        let early = date!(2025 - 03 - 06);
        let late = date!(2025 - 06 - 20);
        let no = |r| Err(Unforecast::Forecast(r));
        let cases = [
            (estimate(date!(2025 - 05 - 01), -32), early, None),
            (estimate(end, 0), early, None),
            (
                estimate(date!(2025 - 06 - 03), 1),
                early,
                Some(Health::AtRisk),
            ),
            (
                estimate(date!(2025 - 06 - 16), 14),
                early,
                Some(Health::AtRisk),
            ),
            (
                estimate(date!(2025 - 06 - 17), 15),
                early,
                Some(Health::Critical),
            ),
            (no(NoForecast::NoThroughput), early, None),
            (Err(Unforecast::NoDatasets), late, None),
            // No forecast, unfinished past the planned end: judged on today.
            (
                no(NoForecast::NoThroughput),
                date!(2025 - 06 - 10),
                Some(Health::AtRisk),
            ),
            (no(NoForecast::TooSlow), late, Some(Health::Critical)),
        ];
        for (i, (outlook, today, want)) in cases.iter().enumerate() {
            let got = schedule_finding(outlook, *today, end, &t);
            assert_eq!(got.as_ref().map(|f| f.0), *want, "case {i}: {got:?}");
        }
        assert_eq!(
            schedule_finding(&estimate(date!(2025 - 06 - 20), 18), early, end, &t)
                .map(|f| f.1)
                .as_deref(),
            Some(
                "The P85 completion date 2025-06-20 is 18 days past the planned end 2025-06-02, \
                 more than the 14 days allowed."
            )
        );
    }

    #[test]
    fn forecast_advice_rule() {
        let four = [1, 0, 2, 0];
        let cases: [(Outlook, &[i64], Option<&str>); 8] = [
            (
                estimate(date!(2025 - 06 - 20), 18),
                &four,
                Some(
                    "At the current pace the migration ends 2025-06-20 (P85), 18 days after the \
                     planned 2025-06-02: raise the daily throughput or move the planned end.",
                ),
            ),
            (estimate(date!(2025 - 06 - 02), 0), &four, None),
            (estimate(date!(2025 - 05 - 02), -31), &four, None),
            (Err(Unforecast::NoDatasets), &[], None),
            (
                Err(Unforecast::Forecast(NoForecast::NoHistory)),
                &[],
                Some(
                    "The migration has not run a full day yet: a completion date is forecast \
                     from its second day on.",
                ),
            ),
            (
                Err(Unforecast::Forecast(NoForecast::NoThroughput)),
                &[0; 28],
                Some(
                    "No datasets migrated in the last 28 days: no completion date can be forecast.",
                ),
            ),
            (
                Err(Unforecast::Forecast(NoForecast::NoThroughput)),
                &[2, -3],
                Some(
                    "More datasets were rolled back than migrated in the last 2 days: no \
                     completion date can be forecast; look at the rollbacks \
                     (`mhd stats show -t rollback`).",
                ),
            ),
            (
                Err(Unforecast::Forecast(NoForecast::TooSlow)),
                &[1, 0, 0, 0],
                Some(
                    "At the current pace (1 dataset, net, in the last 4 days) the migration \
                     would not end within five years: raise the daily throughput.",
                ),
            ),
        ];
        for (i, (outlook, daily, want)) in cases.iter().enumerate() {
            assert_eq!(
                forecast_advice(outlook, daily, &[]).as_deref(),
                *want,
                "case {i}"
            );
        }
    }

    #[test]
    fn blocked_phase_rules() {
        let phases = [
            phase("abstraction", PhaseStatus::InProgress, &[], &[]),
            phase("storage", PhaseStatus::Blocked, &["abstraction"], &[]),
            phase(
                "features",
                PhaseStatus::Blocked,
                &[],
                &["Feature store down"],
            ),
            phase(
                "validation",
                PhaseStatus::Blocked,
                &["storage", "features"],
                &["A", "B"],
            ),
            phase("cleanup", PhaseStatus::NotStarted, &[], &[]),
        ];
        let findings = blocked_phase_findings(&phases);
        assert_eq!(findings.len(), 3);
        assert!(findings.iter().all(|f| f.0 == Health::AtRisk));
        assert_eq!(
            blocked_phase_advice(&phases),
            vec![
                "Phase Storage is blocked by Abstraction: finish Abstraction or re-plan Storage."
                    .to_owned(),
                "Phase Features is blocked by the alert \"Feature store down\": resolve it \
                 (`mhd alerts`) or re-plan Features."
                    .to_owned(),
                "Phase Validation is blocked by Storage, Features, the alert \"A\" and the alert \
                 \"B\": finish Storage and Features, resolve the alerts (`mhd alerts`) or \
                 re-plan Validation."
                    .to_owned(),
            ]
        );
        let b = blockers(
            &phases,
            &[
                alert(Severity::Critical, "DB down"),
                alert(Severity::Error, "x"),
            ],
        );
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].kind, BlockerKind::Phase);
        assert_eq!(b[0].phase.as_deref(), Some("storage"));
        assert_eq!(b[0].since, Some(datetime!(2025-02-10 0:00 UTC)));
        assert_eq!(b[1].since, None, "an alert-blocked phase: since unknown");
        assert_eq!(b[3].kind, BlockerKind::Alert);
        assert_eq!(b[3].title, "DB down");
        assert_eq!(b[3].component.as_deref(), Some("storage"));
        assert_eq!(b[3].since, Some(datetime!(2025-03-06 09:12 UTC)));
    }

    #[test]
    fn milestone_advice_skips_completed_phases() {
        let missed = |name: &str| Milestone {
            name: name.into(),
            date: date!(2025 - 03 - 03),
            status: MilestoneStatus::Missed,
            blocker: None,
            completed_on: None,
        };
        let mut running = phase("storage", PhaseStatus::InProgress, &[], &[]);
        running.milestones = vec![missed("First 100 datasets migrated")];
        let mut done = phase("tests", PhaseStatus::Completed, &[], &[]);
        done.milestones = vec![missed("Suite green")];
        assert_eq!(
            missed_milestone_advice(&[done, running]),
            vec![
                "Milestone \"First 100 datasets migrated\" of Storage was due 2025-03-03: record \
                 it once reached (`mhd record -t milestone -o \"First 100 datasets migrated\"`) \
                 or re-plan it."
                    .to_owned()
            ]
        );
    }

    #[test]
    fn test_and_performance_rules() {
        let t = Thresholds::default();
        let suite = |s: &str, r: f64| SuitePassRate {
            suite: s.into(),
            pass_rate: r,
        };
        let advice = test_advice(
            &[
                suite("unit", 1.0),
                suite("api", 0.9),
                suite("storage", 0.5),
                suite("edge", 0.95),
            ],
            &t,
        );
        assert_eq!(
            advice,
            vec![
                "Test suite storage passes 50.0% of its tests, under the 85% critical threshold: \
                 fix its failing tests (`mhd tests`)."
                    .to_owned(),
                "Test suite api passes 90.0% of its tests, under the 95% warning threshold: fix \
                 its failing tests (`mhd tests`)."
                    .to_owned(),
            ]
        );
        let cases = [
            (None, false),
            (Some(-30.0), false),
            (Some(10.0), false),
            (Some(10.5), true),
        ];
        for (delta, want) in cases {
            assert_eq!(
                performance_advice(delta, None, &t).is_some(),
                want,
                "{delta:?}"
            );
        }
        assert_eq!(
            performance_advice(Some(12.34), None, &t).as_deref(),
            Some(
                "The new system is 12.3% slower than the old one (median over operations), over \
                 the 10% regression threshold: look at the regressions (`mhd perf`)."
            )
        );
    }

    #[test]
    fn alert_advice() {
        let alerts = [
            alert(Severity::Info, "FYI"),
            alert(Severity::Warning, "Slow queries"),
            alert(Severity::Critical, "DB down"),
            alert(Severity::Error, "Import failed"),
        ];
        assert_eq!(
            critical_alert_advice(&alerts),
            vec![
                "Critical alert \"DB down\" is firing on storage: act on it first (`mhd alerts`)."
            ]
        );
        assert_eq!(
            other_alert_advice(&alerts).as_deref(),
            Some(
                "Alerts \"Slow queries\" (warning) and \"Import failed\" (error) are firing: look \
                 at them (`mhd alerts`)."
            )
        );
        assert_eq!(other_alert_advice(&alerts[..1]), None);
    }

    #[test]
    fn health_is_the_worst_rule() {
        let p = plan(100);
        let s = |c, daily: &[i64], alerts: &[FiringAlert], phases: &[MigrationPhase]| {
            executive_summary(&SummaryInput {
                plan: &p,
                now: NOW,
                counts: c,
                daily_net: daily,
                phases,
                alerts,
                performance_delta: None,
                performance: None,
                forecast: None,
                test_suites: &[],
            })
            .overall_health
        };
        let fast = [10; 28];
        // 50 datasets left of 100.
        let ok = counts(50, 50, 50, 0);
        let blocked = [phase(
            "storage",
            PhaseStatus::Blocked,
            &["abstraction"],
            &[],
        )];
        assert_eq!(s(ok, &fast, &[], &[]), Health::Healthy);
        assert_eq!(
            s(ok, &fast, &[alert(Severity::Info, "i")], &[]),
            Health::Healthy
        );
        assert_eq!(
            s(ok, &fast, &[alert(Severity::Warning, "w")], &[]),
            Health::AtRisk
        );
        assert_eq!(s(ok, &fast, &[], &blocked), Health::AtRisk);
        assert_eq!(s(counts(50, 100, 85, 0), &fast, &[], &[]), Health::AtRisk);
        assert_eq!(
            s(
                counts(50, 100, 85, 0),
                &fast,
                &[alert(Severity::Critical, "c")],
                &blocked
            ),
            Health::Critical
        );
        assert_eq!(s(counts(50, 100, 79, 0), &fast, &[], &[]), Health::Critical);
        // 50 left at one a day from 2025-03-06: about 2025-04-25, on time for 2025-06-02.
        assert_eq!(s(ok, &[1; 28], &[], &[]), Health::Healthy);
        // 40 left at one every other day: 80 days on average, P85 some 95 days ahead (the
        // month's pace itself uncertain): late, not yet critical.
        let slow: Vec<i64> = (0..28).map(|i| i % 2).collect();
        assert_eq!(s(counts(60, 60, 60, 0), &slow, &[], &[]), Health::AtRisk);
        // One every fourth day: far past the planned end.
        let slower: Vec<i64> = (0..28).map(|i| i64::from(i % 4 == 0)).collect();
        assert_eq!(s(ok, &slower, &[], &[]), Health::Critical);
    }

    #[test]
    fn edge_cases() {
        // Nothing at all: no attempts, no history.
        let p = plan(412);
        let s = summary_of(&p, MigrationCounts::default(), &[]);
        assert_eq!(s.overall_health, Health::Healthy);
        assert_eq!(s.migration_progress, 0.0);
        assert_eq!(s.key_metrics.success_rate, None);
        assert_eq!(s.estimated_completion, None);
        assert_eq!(s.recommendations.len(), 1, "{:?}", s.recommendations);
        assert!(s.recommendations[0].starts_with("The migration has not run a full day"));
        assert_eq!((s.week, s.weeks), (9, 21));
        assert!(s.blockers.is_empty() && s.health_reasons.is_empty());

        // One successful migration yesterday: healthy, forecast far ahead.
        let mut one = [0i64; 28];
        one[27] = 1;
        let s = summary_of(&p, counts(1, 1, 1, 0), &one);
        assert_eq!(s.key_metrics.success_rate, Some(1.0));
        assert_eq!(
            s.estimated_completion, None,
            "one a month is too slow: {s:?}"
        );
        assert_eq!(s.overall_health, Health::Healthy);
        assert!(s.recommendations[0].contains("would not end within five years"));

        // All attempts failed.
        let s = summary_of(&p, counts(0, 12, 0, 0), &[0; 28]);
        assert_eq!(s.overall_health, Health::Critical);
        assert_eq!(s.key_metrics.success_rate, Some(0.0));
        assert_eq!(
            s.recommendations,
            vec![
                "Success rate 0.0% is under the 80% critical threshold: look at the failed \
                 migrations (`mhd stats show --failed -t migration`)."
                    .to_owned(),
                "No datasets migrated in the last 28 days: no completion date can be forecast."
                    .to_owned(),
            ]
        );

        // A plan without datasets: no progress, no forecast, advice to fix the plan.
        let empty = plan(0);
        let s = summary_of(&empty, counts(3, 3, 3, 0), &[1; 28]);
        assert_eq!(s.migration_progress, 0.0);
        assert_eq!(s.estimated_completion, None);
        assert_eq!(s.overall_health, Health::Healthy);
        assert_eq!(s.recommendations.len(), 1);
        assert!(s.recommendations[0].starts_with("The plan counts no datasets"));

        // Everything migrated: done today, whatever the history.
        let s = summary_of(&p, counts(412, 420, 415, 3), &[]);
        assert_eq!(s.migration_progress, 100.0);
        let e = s.estimated_completion.expect("done");
        assert_eq!(e.p85, date!(2025 - 03 - 06));
        assert!(e.slip_days < 0);
        assert_eq!(s.overall_health, Health::Healthy);

        // Unfinished after the planned end without a forecast: judged on today.
        let s = executive_summary(&SummaryInput {
            plan: &p,
            now: datetime!(2025-06-30 12:00 UTC),
            counts: counts(100, 100, 100, 0),
            daily_net: &[0; 28],
            phases: &[],
            alerts: &[],
            performance_delta: None,
            performance: None,
            forecast: None,
            test_suites: &[],
        });
        assert_eq!(s.overall_health, Health::Critical);
        assert_eq!(
            s.health_reasons,
            vec![
                "The migration is unfinished on 2025-06-30, which is 28 days past the planned \
                 end 2025-06-02, more than the 14 days allowed."
                    .to_owned()
            ]
        );
    }

    #[test]
    fn today_is_the_utc_date_of_now() {
        let p = plan(412);
        // 2025-03-07 01:00 at +05:00 is still 2025-03-06 in UTC: a Thursday of week 9.
        let now = datetime!(2025-03-07 01:00 +05:00);
        let s = executive_summary(&SummaryInput {
            plan: &p,
            now,
            counts: counts(412, 412, 412, 0),
            daily_net: &[],
            phases: &[],
            alerts: &[],
            performance_delta: None,
            performance: None,
            forecast: None,
            test_suites: &[],
        });
        assert_eq!(s.week, 9);
        assert_eq!(
            s.estimated_completion.map(|e| e.p50),
            Some(date!(2025 - 03 - 06))
        );
        assert_eq!(s.generated_at, now);
    }

    #[test]
    fn snapshot_of_the_specification_migration_in_week_9() {
        let p = parse(&default_plan_toml(date!(2025 - 01 - 06)), "migration.toml").expect("plan");
        let today = date!(2025 - 03 - 06);
        let mut marks = Marks::default();
        for (name, day) in [
            ("Characterization suite green", date!(2025 - 01 - 17)),
            ("Coverage of the old system", date!(2025 - 01 - 24)),
            ("One configuration model", date!(2025 - 02 - 07)),
            ("Storage interface agreed", date!(2025 - 02 - 07)),
        ] {
            marks.record(crate::timeline::MILESTONE, name, true, day);
        }
        marks.record(
            crate::timeline::PHASE_COMPLETE,
            "tests",
            true,
            date!(2025 - 01 - 27),
        );
        marks.record(
            crate::timeline::PHASE_COMPLETE,
            "config",
            true,
            date!(2025 - 02 - 14),
        );
        let comps: Vec<ComponentProgress> = [("storage", 116, 200), ("config", 40, 40)]
            .iter()
            .map(|(c, m, t)| ComponentProgress {
                component: (*c).into(),
                migrated: *m,
                total: *t,
            })
            .collect();
        let phase_alerts = [PhaseAlert {
            phase: "features".into(),
            title: "Feature store unreachable".into(),
        }];
        let phases = timeline(&p, today, &comps, &marks, &phase_alerts);
        // 156 migrated in about 8 weeks; the last 28 days between 3 and 9 a day, net.
        let daily: Vec<i64> = (0..28).map(|i| [3, 5, 9, 4, 0, 6, 7][i % 7]).collect();
        let alerts = [
            FiringAlert {
                severity: Severity::Critical,
                title: "Rollback rate above 5%".into(),
                component: Some("storage".into()),
                since: Some(datetime!(2025-03-06 08:45 UTC)),
            },
            FiringAlert {
                severity: Severity::Warning,
                title: "p95 duration above 2s".into(),
                component: Some("registration".into()),
                since: Some(datetime!(2025-03-05 22:10 UTC)),
            },
        ];
        let suites = [
            SuitePassRate {
                suite: "storage-integration".into(),
                pass_rate: 0.912,
            },
            SuitePassRate {
                suite: "unit".into(),
                pass_rate: 0.998,
            },
        ];
        let s = executive_summary(&SummaryInput {
            plan: &p,
            now: NOW,
            counts: counts(156, 170, 160, 4),
            daily_net: &daily,
            phases: &phases,
            alerts: &alerts,
            performance_delta: Some(-12.5),
            performance: None,
            forecast: None,
            test_suites: &suites,
        });
        assert_eq!(s.overall_health, Health::Critical);
        insta::assert_json_snapshot!("summary_spec_week_9", s);
    }
}
