//! The view model (DESIGN §3): every figure of every view, computed once from one
//! [`Snapshot`] of the store by [`build`], and read from there by every consumer — page, API,
//! WebSocket, terminal, static file, report and alert loop. No view is assembled anywhere else,
//! so no two places can disagree; the invariants between views are property-tested
//! (`tests/consistency.rs`).
//!
//! Each figure says how it was made ([`Explained`]: the rule in words with its inputs, and a
//! link to what is behind it), and [`RULES`] holds every rule's text for the page "How these
//! numbers are made".

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::alerts::{Alert, AlertState, Issue};
use crate::components::{ComponentHealth, ComponentInput, SystemWindow, component_matrix};
use crate::datasets::{DatasetBook, DatasetState, StoredDataset, book};
use crate::forecast::NoForecast;
use crate::history::{BurnupPoint, History, MigrationDay, burnup};
use crate::operation::System;
use crate::outlook::{Outlook, OutlookInput, Pace, Spread, outlook};
use crate::perf::{BenchmarkSamples, PerformanceComparison, PerformanceVerdict};
use crate::plan::{ConditionFigure, Plan, Thresholds};
use crate::summary::{ExecutiveSummary, FiringAlert, MigrationCounts, SummaryInput};
use crate::testrun::TestRun;
use crate::testview::TestsView;
use crate::timeline::{ComponentProgress, Marks, MigrationPhase};

/// How far back the component matrix looks at operations.
pub const COMPONENT_WINDOW: Duration = Duration::days(7);

/// One component's operations on one system over the matrix's window.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOf {
    /// The component.
    pub component: String,
    /// The system.
    pub system: System,
    /// Operations.
    pub operations: u64,
    /// Failed operations.
    pub failures: u64,
    /// Durations of the operations that have one ([`crate::sketch`]).
    pub durations: crate::sketch::Histogram,
}

/// Everything the views are computed from, read from the store at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Every dataset the store knows, with what its state is read from.
    pub datasets: Vec<StoredDataset>,
    /// Successful migrations and rollbacks per day and component, every day kept.
    pub migration_days: Vec<MigrationDay>,
    /// `migration` operations.
    pub attempts: u64,
    /// Successful ones.
    pub successes: u64,
    /// `rollback` operations.
    pub rollbacks: u64,
    /// Milestones and phases recorded complete.
    pub marks: Marks,
    /// Each component's operations per system over [`COMPONENT_WINDOW`].
    pub windows: Vec<WindowOf>,
    /// The last runs of every suite, oldest first per suite.
    pub test_runs: std::sync::Arc<Vec<TestRun>>,
    /// The latest benchmark batch of every operation, system and component.
    pub benchmarks: std::sync::Arc<Vec<BenchmarkSamples>>,
    /// The alerts not resolved (pending and firing).
    pub alerts: Vec<Alert>,
    /// The overall status kept over time by the server that evaluates alerts.
    pub health: Option<crate::health::HealthState>,
}

/// A figure's explanation: its rule in words with its inputs, and where to see what is behind
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Explained {
    /// The rule with its inputs.
    pub explain: String,
    /// A page listing what is behind the figure (datasets, alerts, tests, benchmarks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

fn explained(explain: String, link: Option<String>) -> Explained {
    Explained { explain, link }
}

/// The old-versus-new comparison (DESIGN §3.7) with its headline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerformanceView {
    /// Per operation (and component).
    pub comparisons: Vec<PerformanceComparison>,
    /// The median change of the p50s in percent (negative: faster).
    pub performance_delta: Option<f64>,
    /// The regression threshold in percent.
    pub regression_percent: f64,
    /// What regressed, what improved, what shows no clear change.
    pub verdict: PerformanceVerdict,
}

/// Migrated datasets over time against the plan, with the forecast's fan (DESIGN §3.1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The plan's datasets.
    pub total: u64,
    /// The plan's start.
    #[serde(with = "crate::forecast::ymd")]
    pub plan_start: Date,
    /// The plan's end: the plan's line goes from 0 on its start to `total` on its end.
    #[serde(with = "crate::forecast::ymd")]
    pub planned_end: Date,
    /// Migrated at the end of each day from the plan's start (or the first migration, when
    /// earlier) to today.
    pub points: Vec<BurnupPoint>,
    /// When every dataset is migrated, over the simulated futures: the fan from today's
    /// count to `total`.
    pub datasets: Option<Spread>,
    /// When the whole migration ends (phases included).
    pub completion: Option<Spread>,
    /// The pace the forecast replays.
    pub pace: Pace,
    /// How the chart is made.
    pub explain: String,
}

/// Every figure of every view at one moment (see the module's rules).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ViewModel {
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// Every dataset and its state; the counts every view reads.
    pub datasets: DatasetBook,
    /// The executive summary (with a plan).
    pub summary: Option<ExecutiveSummary>,
    /// The phases (with a plan), in the plan's order.
    pub timeline: Vec<MigrationPhase>,
    /// The component matrix (with a plan), worst first.
    pub components: Vec<ComponentHealth>,
    /// The test results (when test runs are stored).
    pub tests: Option<TestsView>,
    /// The old-versus-new comparison.
    pub performance: PerformanceView,
    /// The open alerts: firing before pending, then worst first, then newest first.
    pub alerts: Vec<Alert>,
    /// Progress over time (with a plan).
    pub progress: Option<Progress>,
}

impl ViewModel {
    /// The firing alerts.
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.state == AlertState::Firing)
    }

    /// The forecast's slip in days, for the `schedule_delay_days` metric.
    pub fn slip_days(&self) -> Option<f64> {
        self.summary
            .as_ref()?
            .estimated_completion
            .as_ref()
            .map(|e| e.slip_days as f64)
    }

    /// The components of the phases blocked now.
    pub fn blocked_components(&self) -> Vec<String> {
        let mut blocked: Vec<String> = self
            .timeline
            .iter()
            .filter(|p| p.status == crate::timeline::PhaseStatus::Blocked)
            .flat_map(|p| p.components.iter().cloned())
            .collect();
        blocked.sort();
        blocked.dedup();
        blocked
    }
}

/// A rule of the page "How these numbers are made": the figure, where it is shown, and the
/// rule in words. The same texts start the figures' `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// A short id, also the anchor on the page.
    pub id: &'static str,
    /// The figure's name.
    pub figure: &'static str,
    /// The rule.
    pub text: &'static str,
}

/// Every figure's rule (see [`Rule`]).
pub const RULES: &[Rule] = &[
    Rule {
        id: "dataset-state",
        figure: "Dataset state",
        text: "A dataset is migrated when its latest successful migration is newer than its \
               latest successful rollback, and verified when, besides, its latest verification \
               after that migration passed. Otherwise it is migrating (a migration_start not \
               yet followed by an attempt), failed (its latest attempt failed), rolled back, or \
               pending. Every figure that says \"migrated\" counts verified datasets too.",
    },
    Rule {
        id: "migration-progress",
        figure: "Migration progress",
        text: "Migrated datasets (verified included) divided by the plan's datasets, × 100, at \
               most 100. The total is always the plan's: its `[datasets] total` or the datasets \
               it lists — never the datasets seen so far. With a list, only listed datasets \
               count.",
    },
    Rule {
        id: "success-rate",
        figure: "Success rate",
        text: "Successful migration attempts divided by all migration attempts, over all \
               time.",
    },
    Rule {
        id: "forecast",
        figure: "Estimated completion",
        text: "10,000 simulated futures. Each first draws its own month from the last 28 full \
               days' net throughput (migrations minus rollbacks per day, drawn with \
               replacement), then replays days drawn from that month until every dataset is \
               migrated — per component too, where the plan counts a component's datasets. \
               Each phase then ends when its datasets do (or, for a phase tracked by \
               milestones, at its pace so far or on its planned end), but never before the \
               unfinished phases it depends on end plus the share of its own planned length \
               still to do. The migration ends with its last dataset and its last phase. P50, \
               P85 and P95 are the dates by which 50, 85 and 95 % of the futures end; the \
               summary commits to P85. A volatile pace gives a wider band.",
    },
    Rule {
        id: "overall-health",
        figure: "Overall health",
        text: "Critical when a critical alert fires, the success rate is under its critical \
               threshold, or the P85 date is more than the critical slip past the planned end. \
               At risk on any firing warning or error alert, a blocked phase, a P85 date past \
               the planned end, or a success rate under its warning threshold. Healthy \
               otherwise. Every status lists its reasons.",
    },
    Rule {
        id: "phase-progress",
        figure: "Phase progress and status",
        text: "A phase's progress comes from its components' datasets where the plan counts \
               any (migrated of their total), else from its milestones (reached of all); 100 \
               once marked complete. It is blocked while a phase it depends on is unfinished \
               after it should have started. Its projected end is the forecast's P85 for it.",
    },
    Rule {
        id: "milestone",
        figure: "Milestones",
        text: "Completed when recorded (`mhd record -t milestone -o NAME`), when its phase is \
               complete, or — for a milestone with a `when` condition on the data, such as \
               `migrated >= 100` — from the first day the condition held. Missed when due \
               before today and not completed.",
    },
    Rule {
        id: "component-health",
        figure: "Component health",
        text: "Each system's success rate over the last 7 days against the plan's thresholds; \
               the component takes the worse of its two systems. A firing critical alert on \
               the component makes it failing, any other firing warning or worse at least \
               degraded: it is never healthy while such an alert fires. The matrix is ordered \
               worst first and each row says why it is where it is.",
    },
    Rule {
        id: "component-migration",
        figure: "Component migration",
        text: "Migrated datasets of the component divided by its total: the plan's listed \
               datasets of that component, or its `datasets = N`. Without either the total is \
               unknown and so is the percentage.",
    },
    Rule {
        id: "performance",
        figure: "Performance",
        text: "Per operation benchmarked on both systems: slower when the new p50 is more than \
               the regression threshold above the old one and, with at least 5 samples a side, \
               a Mann-Whitney U test gives p < 0.05; faster the same way below. The headline \
               counts slower, faster and unclear operations and never says faster while one \
               is slower; the delta is the median change of the p50s.",
    },
    Rule {
        id: "tests",
        figure: "Test pass rate",
        text: "Passed cases divided by the cases that ran (all but skipped) in a suite's latest \
               run, counted from the cases themselves.",
    },
    Rule {
        id: "alerts",
        figure: "Alerts",
        text: "Each rule of the plan is evaluated every interval; an alert is pending until its \
               condition held for `for`, firing until it has been clear for `keep_firing_for`, \
               then resolved. Lists show firing before pending, the most severe first, then \
               the newest.",
    },
];

/// What to build the view model with besides the snapshot.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Simulated futures of the forecast.
    pub runs: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: crate::outlook::RUNS,
        }
    }
}

/// Every figure (see the module's rules).
pub fn build(
    plan: Option<&Plan>,
    snap: &Snapshot,
    now: OffsetDateTime,
    options: Options,
) -> ViewModel {
    let today = now.to_offset(UtcOffset::UTC).date();
    let thresholds = plan.map(|p| p.thresholds).unwrap_or_default();
    let datasets = book(plan, &snap.datasets);
    let tests = (!snap.test_runs.is_empty())
        .then(|| crate::testview::tests_view(&snap.test_runs, &thresholds));
    let performance = performance_view(&snap.benchmarks, &thresholds);
    let mut alerts = snap.alerts.clone();
    sort_alerts(&mut alerts);

    let Some(plan) = plan else {
        return ViewModel {
            generated_at: now,
            datasets,
            summary: None,
            timeline: Vec::new(),
            components: Vec::new(),
            tests,
            performance,
            alerts,
            progress: None,
        };
    };

    let first_day = snap
        .migration_days
        .iter()
        .map(|d| d.day)
        .min()
        .map_or(plan.migration.start, |d| d.min(plan.migration.start))
        .min(today);
    let history = History::new(&snap.migration_days, first_day, today);
    let migrated = datasets.migrated();
    let known: Vec<ComponentProgress> = datasets
        .components
        .iter()
        .filter_map(|c| {
            Some(ComponentProgress {
                component: c.component.clone()?,
                migrated: c.migrated(),
                total: c.total.filter(|t| *t > 0)?,
            })
        })
        .collect();

    // Milestones reached by their conditions join the recorded ones.
    let mut marks = snap.marks.clone();
    for phase in &plan.phases {
        for m in &phase.milestones {
            if let Some(day) = m
                .when
                .as_ref()
                .and_then(|c| condition_reached(c, &datasets, &history, today))
            {
                marks.record(crate::timeline::MILESTONE, &m.name, true, day);
            }
        }
    }
    let mut timeline = crate::timeline::timeline(plan, today, &known, &marks, &[]);
    let remaining = u64::from(plan.datasets_total()).saturating_sub(migrated);
    let out: Outlook = outlook(&OutlookInput {
        today,
        plan_start: plan.migration.start,
        planned_end: plan.planned_end(),
        history: &history,
        remaining,
        components: &known,
        phases: &timeline,
        runs: options.runs,
    });
    crate::timeline::apply_outlook(&mut timeline, &out.phases, plan, today);
    let change = forecast_change(
        plan, &history, &marks, &known, migrated, &timeline, &out, today, options,
    );

    let issues_of = |component: &str| -> Vec<Issue> {
        alerts
            .iter()
            .filter(|a| a.component.as_deref() == Some(component))
            .map(Issue::of)
            .collect()
    };
    let components = components(
        plan,
        snap,
        &datasets,
        tests.as_ref(),
        &performance,
        issues_of,
    );

    let firing: Vec<FiringAlert> = alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .map(|a| FiringAlert {
            severity: a.severity,
            title: a.title.clone(),
            component: a.component.clone(),
            since: a.fired_at,
        })
        .collect();
    let suites: Vec<crate::summary::SuitePassRate> = tests
        .iter()
        .flat_map(|t| &t.suites)
        .filter_map(|s| {
            s.pass_rate.map(|p| crate::summary::SuitePassRate {
                suite: s.name.clone(),
                pass_rate: p / 100.0,
            })
        })
        .collect();
    let window = history.window(None, today, plan.migration.start);
    let has_comparisons = !performance.comparisons.is_empty();
    let mut summary = crate::summary::executive_summary(&SummaryInput {
        plan,
        now,
        counts: MigrationCounts {
            datasets_migrated: migrated,
            attempts: snap.attempts,
            successes: snap.successes,
            rollbacks: snap.rollbacks,
        },
        daily_net: &window,
        phases: &timeline,
        alerts: &firing,
        performance_delta: performance.performance_delta,
        performance: has_comparisons.then_some(&performance.verdict),
        test_suites: &suites,
        forecast: Some(&out.completion),
    });
    summary.forecast_change = change;
    hold_health(&mut summary, snap.health, plan, now);
    summary.explain = summary_explain(plan, &summary, &datasets, &out, &performance, snap);

    let progress = Progress {
        total: u64::from(plan.datasets_total()),
        plan_start: plan.migration.start,
        planned_end: plan.planned_end(),
        points: burnup(&history, first_day, migrated),
        datasets: out.datasets,
        completion: out.completion.as_ref().ok().map(|e| Spread {
            p50: e.p50,
            p85: e.p85,
            p95: e.p95,
        }),
        pace: out.pace,
        explain: format!(
            "Migrated datasets at the end of each day, counted back from today's {migrated}: \
             today's count minus the net (migrations − rollbacks) of every later day. The \
             plan's line runs from 0 on {} to {} on {}; the fan runs from today to the dates by \
             which 50, 85 and 95 % of the simulated futures have migrated every dataset.",
            plan.migration.start,
            plan.datasets_total(),
            plan.planned_end()
        ),
    };

    ViewModel {
        generated_at: now,
        datasets,
        summary: Some(summary),
        timeline,
        components,
        tests,
        performance,
        alerts,
        progress: Some(progress),
    }
}

/// Shows the status kept over time when it is current ([`crate::health`]), saying why it
/// differs from the computed one and when that one will be shown.
fn hold_health(
    summary: &mut ExecutiveSummary,
    state: Option<crate::health::HealthState>,
    plan: &Plan,
    now: OffsetDateTime,
) {
    let Some(state) = state.and_then(|s| s.current(now)) else {
        return;
    };
    let figures = summary.figures_health;
    summary.health_since = Some(state.since);
    summary.overall_health = summary.alerts_health.max(state.shown);
    if state.shown == figures || summary.overall_health != state.shown {
        // Nothing waits, or the alerts decide what is shown anyway.
        summary.overall_health = summary.alerts_health.max(figures);
        return;
    }
    let wait = if figures > state.shown {
        plan.alerts.health_for
    } else {
        plan.alerts.health_keep
    };
    let since = state
        .pending
        .filter(|(h, _)| *h == figures)
        .map_or(now, |(_, since)| since);
    let shown_at = since + wait;
    summary.health_pending = Some(crate::summary::PendingHealth {
        health: summary.alerts_health.max(figures),
        since,
        shown_at,
    });
    summary.health_reasons.insert(
        0,
        format!(
            "Shown as {} since {}: the figures say {} since {}, which is shown once it has held \
             for {} (at {}).",
            state.shown.words(),
            crate::format::datetime(state.since),
            figures.words(),
            crate::format::datetime(since),
            crate::plan::duration_text(wait),
            crate::format::datetime(shown_at),
        ),
    );
}

/// How the forecast moved since the end of yesterday: the same outlook computed from what was
/// known then (the history up to it, the datasets migrated by then, the milestones recorded by
/// then), and what differs.
#[allow(clippy::too_many_arguments)]
fn forecast_change(
    plan: &Plan,
    history: &History,
    marks: &Marks,
    known: &[ComponentProgress],
    migrated: u64,
    timeline: &[MigrationPhase],
    now: &Outlook,
    today: Date,
    options: Options,
) -> Option<crate::summary::ForecastChange> {
    let yesterday = today.previous_day()?;
    if yesterday < plan.migration.start {
        return None;
    }
    let migrated_then = history.migrated_at(None, yesterday, migrated);
    let known_then: Vec<ComponentProgress> = known
        .iter()
        .map(|c| ComponentProgress {
            migrated: history.migrated_at(Some(&c.component), yesterday, c.migrated),
            ..c.clone()
        })
        .collect();
    let mut phases_then = crate::timeline::timeline(plan, yesterday, &known_then, marks, &[]);
    let then = outlook(&OutlookInput {
        today: yesterday,
        plan_start: plan.migration.start,
        planned_end: plan.planned_end(),
        history,
        remaining: u64::from(plan.datasets_total()).saturating_sub(migrated_then),
        components: &known_then,
        phases: &phases_then,
        runs: options.runs,
    });
    crate::timeline::apply_outlook(&mut phases_then, &then.phases, plan, yesterday);
    let before = then.completion.as_ref().ok().map(|e| e.p85);
    let after = now.completion.as_ref().ok().map(|e| e.p85);
    let moved = before.zip(after).map(|(b, a)| (a - b).whole_days());
    let mut reasons = Vec::new();
    let done = migrated as i64 - migrated_then as i64;
    reasons.push(match done {
        0 => "no dataset migrated since".to_owned(),
        d if d > 0 => format!("{d} more migrated since (net)"),
        d => format!("{} fewer migrated since (rollbacks)", -d),
    });
    if (now.pace.mean - then.pace.mean).abs() >= 0.05 {
        reasons.push(format!(
            "the pace over the last four weeks went from {:.1} to {:.1} a day",
            then.pace.mean, now.pace.mean
        ));
    }
    let path = |o: &Outlook| {
        o.completion
            .as_ref()
            .ok()
            .map(|e| e.critical_path.clone())
            .unwrap_or_default()
    };
    let (path_then, path_now) = (path(&then), path(now));
    if path_then != path_now && !path_now.is_empty() {
        let names: Vec<&str> = path_now
            .iter()
            .map(|id| plan.phase(id).map_or(id.as_str(), |p| p.name.as_str()))
            .collect();
        reasons.push(format!("now held up by {}", names.join(" → ")));
    }
    for (p, q) in timeline.iter().zip(&phases_then) {
        if let (Some(a), Some(b)) = (p.projected_end, q.projected_end) {
            let d = (a - b).whole_days();
            if d.abs() >= 3 {
                reasons.push(format!(
                    "{} is projected to end {} days {}",
                    p.name,
                    d.abs(),
                    if d > 0 { "later" } else { "earlier" }
                ));
            }
        }
        if p.status != q.status {
            reasons.push(format!(
                "{} went from {} to {}",
                p.name,
                status_words(q.status),
                status_words(p.status)
            ));
        }
    }
    Some(crate::summary::ForecastChange {
        previous_p85: before,
        days_moved: moved,
        reasons,
    })
}

fn status_words(s: crate::timeline::PhaseStatus) -> &'static str {
    use crate::timeline::PhaseStatus;
    match s {
        PhaseStatus::NotStarted => "not started",
        PhaseStatus::InProgress => "in progress",
        PhaseStatus::Completed => "completed",
        PhaseStatus::Blocked => "blocked",
    }
}

/// Firing before pending, then the most severe, then the newest.
pub fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        (
            b.state == AlertState::Firing,
            b.severity,
            b.started_at,
            b.id,
        )
            .cmp(&(
                a.state == AlertState::Firing,
                a.severity,
                a.started_at,
                a.id,
            ))
    });
}

fn performance_view(samples: &[BenchmarkSamples], t: &Thresholds) -> PerformanceView {
    let comparisons = crate::perf::compare(samples, t.regression_percent);
    PerformanceView {
        performance_delta: crate::perf::performance_delta(&comparisons),
        verdict: crate::perf::verdict(&comparisons, t.regression_percent),
        regression_percent: t.regression_percent,
        comparisons,
    }
}

/// The day a milestone's condition was first met, if it is met by `today` (see
/// [`RULES`] "milestone"): from the history for migrated counts, today for verified ones.
fn condition_reached(
    c: &crate::plan::MilestoneCondition,
    datasets: &DatasetBook,
    history: &History,
    today: Date,
) -> Option<Date> {
    let (counts, total) = match &c.component {
        Some(id) => {
            let cd = datasets.component(id)?;
            (cd.states, cd.total)
        }
        None => (datasets.states, datasets.total),
    };
    let as_value = |count: u64, percent: bool| -> Option<f64> {
        if percent {
            let t = total.filter(|t| *t > 0)?;
            Some(count as f64 * 100.0 / t as f64)
        } else {
            Some(count as f64)
        }
    };
    match c.figure {
        ConditionFigure::Migrated | ConditionFigure::MigratedPercent => {
            let percent = c.figure == ConditionFigure::MigratedPercent;
            let now = counts.migrated_total();
            let holds = |n: u64| as_value(n, percent).is_some_and(|v| c.op.holds(v, c.value));
            if !holds(now) {
                return None;
            }
            history
                .first_day_where(c.component.as_deref(), now, today, holds)
                .or(Some(today))
        }
        ConditionFigure::Verified | ConditionFigure::VerifiedPercent => {
            let percent = c.figure == ConditionFigure::VerifiedPercent;
            as_value(counts.verified, percent)
                .filter(|v| c.op.holds(*v, c.value))
                .map(|_| today)
        }
    }
}

fn components(
    plan: &Plan,
    snap: &Snapshot,
    datasets: &DatasetBook,
    tests: Option<&TestsView>,
    performance: &PerformanceView,
    issues_of: impl Fn(&str) -> Vec<Issue>,
) -> Vec<ComponentHealth> {
    let window_seconds = COMPONENT_WINDOW.as_seconds_f64();
    let inputs: Vec<ComponentInput> = plan
        .components
        .iter()
        .map(|c| {
            let side = |system| {
                snap.windows
                    .iter()
                    .find(|w| w.component == c.id && w.system == system)
                    .map_or_else(
                        || SystemWindow {
                            window_seconds,
                            ..SystemWindow::default()
                        },
                        |w| SystemWindow {
                            operations: w.operations,
                            failures: w.failures,
                            durations_ms: Vec::new(),
                            p95_ms: w.durations.percentile(95.0),
                            window_seconds,
                        },
                    )
            };
            let cd = datasets.component(&c.id);
            let suites: Vec<_> = tests
                .iter()
                .flat_map(|t| &t.suites)
                .filter(|s| s.component.as_deref() == Some(c.id.as_str()))
                .collect();
            let tests = (!suites.is_empty()).then(|| {
                suites.iter().fold((0, 0), |(p, t), s| {
                    (
                        p + s.results.passed,
                        t + s.results.total - s.results.skipped,
                    )
                })
            });
            let mine: Vec<PerformanceComparison> = performance
                .comparisons
                .iter()
                .filter(|p| p.component.as_deref() == Some(c.id.as_str()))
                .cloned()
                .collect();
            ComponentInput {
                id: c.id.clone(),
                name: c.name.clone(),
                old: side(System::Old),
                new: side(System::New),
                migrated: cd.map_or(0, |d| d.migrated()),
                datasets_total: cd.and_then(|d| d.total),
                tests,
                performance_delta: crate::perf::performance_delta(&mine),
                regressions: mine
                    .iter()
                    .filter(|p| p.regression)
                    .map(|p| (p.operation.clone(), p.delta_percent.unwrap_or(0.0)))
                    .collect(),
                issues: issues_of(&c.id),
                window: "7 days".to_owned(),
            }
        })
        .collect();
    let mut rows = component_matrix(&inputs, &plan.thresholds);
    for row in &mut rows {
        let link = format!("/datasets?component={}", row.component);
        let status = &row.migration_status;
        let total = match status.total {
            Some(t) => format!("{} of {t}", status.migrated),
            None => format!(
                "{} migrated; the plan gives no total for it (`datasets = N` in its \
                 [[components]])",
                status.migrated
            ),
        };
        row.explain = explained(
            format!(
                "Rank {} of {}: {}. Datasets: {total}.",
                row.rank,
                inputs.len(),
                row.why.join("; ")
            ),
            Some(link),
        );
    }
    rows
}

fn summary_explain(
    plan: &Plan,
    s: &ExecutiveSummary,
    datasets: &DatasetBook,
    out: &Outlook,
    performance: &PerformanceView,
    snap: &Snapshot,
) -> BTreeMap<String, Explained> {
    let mut e = BTreeMap::new();
    let total = plan.datasets_total();
    let migrated = datasets.migrated();
    e.insert(
        "migration_progress".to_owned(),
        explained(
            format!(
                "{migrated} of the plan's {total} datasets are migrated ({} verified): a \
                 successful migration newer than any rollback.",
                datasets.states.verified
            ),
            Some(format!(
                "/datasets?state={}",
                DatasetState::Migrated.as_str()
            )),
        ),
    );
    e.insert(
        "success_rate".to_owned(),
        explained(
            format!(
                "{} of {} migration attempts succeeded.",
                snap.successes, snap.attempts
            ),
            Some("/datasets?state=failed".to_owned()),
        ),
    );
    e.insert(
        "rollback_count".to_owned(),
        explained(
            format!(
                "{} rollback operations recorded; {} datasets are rolled back now.",
                snap.rollbacks, datasets.states.rolled_back
            ),
            Some("/datasets?state=rolled_back".to_owned()),
        ),
    );
    let pace = out.pace;
    let forecast = match &out.completion {
        Ok(c) => {
            let path = if c.critical_path.is_empty() {
                "the last datasets set the date".to_owned()
            } else {
                let names: Vec<&str> = c
                    .critical_path
                    .iter()
                    .map(|id| plan.phase(id).map_or(id.as_str(), |p| p.name.as_str()))
                    .collect();
                format!("the phases {} set the date", names.join(" → "))
            };
            format!(
                "P85 {} ({} days {} the planned end {}), P50 {}, P95 {}: {} datasets to go at \
                 {:.1} a day on average over the last {} days (from {} to {} a day); {path}.",
                c.p85,
                c.slip_days.abs(),
                if c.slip_days > 0 { "after" } else { "before" },
                c.planned_end,
                c.p50,
                c.p95,
                u64::from(total).saturating_sub(migrated),
                pace.mean,
                pace.days,
                pace.min,
                pace.max,
            )
        }
        Err(NoForecast::NoHistory) => {
            "No forecast: the migration has not run a full day yet.".to_owned()
        }
        Err(NoForecast::NoThroughput) => format!(
            "No forecast: no net throughput over the last {} days (migrations minus rollbacks).",
            pace.days
        ),
        Err(NoForecast::TooSlow) => format!(
            "No forecast: at {:.2} a day over the last {} days, more than 5 % of the simulated \
             futures do not end within five years.",
            pace.mean, pace.days
        ),
    };
    e.insert(
        "estimated_completion".to_owned(),
        explained(forecast, Some("/timeline".to_owned())),
    );
    e.insert(
        "overall_health".to_owned(),
        explained(
            if s.health_reasons.is_empty() {
                "Healthy: no alert fires, no phase is blocked, the success rate and the \
                 forecast are within their thresholds."
                    .to_owned()
            } else {
                s.health_reasons.join(" ")
            },
            Some("/alerts".to_owned()),
        ),
    );
    e.insert(
        "performance_delta".to_owned(),
        explained(
            if performance.comparisons.is_empty() {
                performance.verdict.explain.clone()
            } else {
                format!(
                    "{}. {}",
                    capitalise(&performance.verdict.headline),
                    performance.verdict.explain
                )
            },
            Some("/performance".to_owned()),
        ),
    );
    e
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::DatasetMarks;
    use crate::health::HealthState;
    use crate::summary::Health;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-20 12:00 UTC);

    fn plan() -> Plan {
        crate::plan::parse(
            "[migration]\nname = \"m\"\nstart = \"2025-02-01\"\nweeks = 8\n\n[datasets]\ntotal = 10\n\n\
             [[components]]\nid = \"storage\"\nname = \"Storage\"\ndatasets = 6\n\n\
             [[components]]\nid = \"config\"\nname = \"Config\"\n\n\
             [[phases]]\nid = \"move\"\nname = \"Move\"\nstart = \"2025-02-01\"\nend = \"2025-03-29\"\n\
             components = [\"storage\"]\n",
            "m.toml",
        )
        .expect("plan")
    }

    fn migrated(name: &str, component: &str, days_ago: i64) -> StoredDataset {
        let at = NOW - Duration::days(days_ago);
        StoredDataset {
            name: name.to_owned(),
            component: Some(component.to_owned()),
            first_seen: at,
            last_seen: at,
            last_type: Some("migration".into()),
            marks: DatasetMarks {
                last_attempt: Some((at, true)),
                last_migrated: Some(at),
                ..DatasetMarks::default()
            },
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            datasets: vec![
                migrated("a", "storage", 3),
                migrated("b", "storage", 2),
                migrated("c", "config", 1),
            ],
            migration_days: (1..=3)
                .map(|d| MigrationDay {
                    day: NOW.date() - Duration::days(d),
                    component: Some(if d == 1 { "config" } else { "storage" }.to_owned()),
                    migrations: 1,
                    rollbacks: 0,
                })
                .collect(),
            attempts: 4,
            successes: 3,
            rollbacks: 0,
            ..Snapshot::default()
        }
    }

    #[test]
    fn every_figure_explains_itself_with_its_inputs() {
        let m = build(Some(&plan()), &snapshot(), NOW, Options { runs: 500 });
        let s = m.summary.expect("summary");
        let e = |k: &str| s.explain.get(k).expect(k).clone();
        assert_eq!(
            e("migration_progress").explain,
            "3 of the plan's 10 datasets are migrated (0 verified): a successful migration \
             newer than any rollback."
        );
        assert_eq!(
            e("migration_progress").link.as_deref(),
            Some("/datasets?state=migrated")
        );
        assert_eq!(
            e("success_rate").explain,
            "3 of 4 migration attempts succeeded."
        );
        let forecast = e("estimated_completion").explain;
        assert!(forecast.starts_with("P85 "), "{forecast}");
        assert!(
            forecast.contains("7 datasets to go") && forecast.contains("over the last"),
            "{forecast}"
        );
        assert!(e("overall_health").explain.len() > 10);
        assert!(
            e("performance_delta")
                .explain
                .contains("No operation is benchmarked")
        );
        // The matrix: a counted component and one whose total the plan does not give.
        let storage = m
            .components
            .iter()
            .find(|c| c.component == "storage")
            .unwrap();
        assert!(storage.explain.explain.contains("Datasets: 2 of 6."));
        assert_eq!(
            storage.explain.link.as_deref(),
            Some("/datasets?component=storage")
        );
        let config = m
            .components
            .iter()
            .find(|c| c.component == "config")
            .unwrap();
        assert_eq!(config.migration_status.total, None);
        assert!(
            config
                .explain
                .explain
                .contains("the plan gives no total for it"),
            "{}",
            config.explain.explain
        );
        // The phase says where its progress comes from.
        assert_eq!(
            m.timeline[0].explain,
            "Progress from its components' datasets: 2 of 6 migrated (storage)."
        );
        let p = m.progress.expect("progress");
        assert!(
            p.explain
                .starts_with("Migrated datasets at the end of each day")
        );
        // Every rule has its text for the page.
        assert!(RULES.iter().all(|r| r.text.len() > 40 && !r.id.is_empty()));
    }

    #[test]
    fn the_status_waits_before_it_changes_but_alerts_do_not() {
        let plan = plan();
        let mut snap = snapshot();
        // The figures say at risk (a success rate of 75 % is under 90 %), but a healthy
        // status was shown ten seconds ago: it waits its minute.
        snap.health = Some(HealthState {
            shown: Health::Healthy,
            since: NOW - Duration::hours(1),
            pending: Some((Health::Critical, NOW - Duration::seconds(10))),
            updated_at: NOW - Duration::seconds(10),
        });
        let s = build(Some(&plan), &snap, NOW, Options { runs: 200 })
            .summary
            .expect("summary");
        assert_eq!(s.computed_health, Health::Critical);
        assert_eq!(s.overall_health, Health::Healthy);
        let pending = s.health_pending.expect("pending");
        assert_eq!(pending.health, Health::Critical);
        assert_eq!(
            pending.shown_at,
            NOW - Duration::seconds(10) + Duration::minutes(1)
        );
        assert!(s.health_reasons[0].starts_with("Shown as healthy since"));
        // A stale state (no server evaluating): the computed status is shown.
        snap.health.as_mut().unwrap().updated_at = NOW - Duration::hours(1);
        let s = build(Some(&plan), &snap, NOW, Options { runs: 200 })
            .summary
            .expect("summary");
        assert_eq!(s.overall_health, Health::Critical);
        assert!(s.health_pending.is_none());
    }
}
