//! Gathering what a view shows from the store (and the plan), for the static dashboard file
//! and, later, the live pages.

use mhd_core::dashboard::{DashboardData, MigrationProgress, MigrationViews};
use mhd_core::plan::Plan;
use time::{Duration, OffsetDateTime};

use crate::alerts::AlertStore;
use crate::{OperationFilter, Result, Store};

/// How far back the dashboard's "operations over time" chart reaches.
pub const HISTORY: Duration = Duration::days(90);
/// Rows of the dashboard's recent-operations table.
pub const RECENT_ROWS: u32 = 50;

/// Everything the single-user dashboard shows, as of `now`.
///
/// The chart covers from the first operation (at most [`HISTORY`] back) to `now`, in hours
/// when that span is at most two days, otherwise in days.
pub async fn dashboard<S: Store + AlertStore>(
    store: &S,
    plan: Option<&Plan>,
    now: OffsetDateTime,
) -> Result<DashboardData> {
    let views = match plan {
        Some(plan) => Some(analysis(store, plan, now, false, true).await?),
        None => None,
    };
    dashboard_with_views(store, plan, now, views).await
}

/// The same as [`dashboard`], with the plan-driven views already at hand (as [`analysis`]
/// makes them with `as_of` false and the component matrix; `None` without a plan), so a
/// caller that keeps them does not compute them again.
pub async fn dashboard_with_views<S: Store>(
    store: &S,
    plan: Option<&Plan>,
    now: OffsetDateTime,
    views: Option<Analysis>,
) -> Result<DashboardData> {
    let summary = store.stats_summary().await?;
    let since = match store.first_operation_at().await? {
        Some(first) => first.max(now - HISTORY).min(now),
        None => now,
    };
    // Operations stamped in the future stretch the chart, by at most [`HISTORY`] past now.
    let until = summary
        .overall
        .last_operation
        .map_or(now, |l| l.max(now).min(now.saturating_add(HISTORY)));
    let bucket_seconds = if until - since <= Duration::days(2) {
        3600
    } else {
        86_400
    };
    let over_time = if summary.overall.total_operations == 0 {
        Vec::new()
    } else {
        store
            .operations_over_time(since, until, bucket_seconds)
            .await?
    };
    let recent = store
        .recent_operations(&OperationFilter {
            limit: RECENT_ROWS,
            ..Default::default()
        })
        .await?;
    let migration = match plan {
        Some(plan) => {
            let c = store.migration_counts().await?;
            let days = (now.date() - plan.migration.start).whole_days();
            Some(MigrationProgress {
                name: plan.migration.name.clone(),
                datasets_total: u64::from(plan.datasets_total()),
                datasets_migrated: c.datasets_migrated,
                attempts: c.attempts,
                success_rate: (c.attempts > 0).then(|| c.successes as f64 / c.attempts as f64),
                rollback_count: c.rollbacks,
                week: if days < 0 { 0 } else { days / 7 + 1 },
                weeks: plan.migration.weeks,
            })
        }
        None => None,
    };
    let thresholds = plan.map(|p| p.thresholds).unwrap_or_default();
    let runs = store
        .recent_test_runs(mhd_core::testview::TREND_RUNS as u32)
        .await?;
    let tests = (!runs.is_empty()).then(|| mhd_core::testview::tests_view(&runs, &thresholds));
    let performance = mhd_core::perf::compare(
        &store.latest_benchmarks().await?,
        thresholds.regression_percent,
    );
    Ok(DashboardData {
        generated_at: now,
        summary,
        over_time,
        bucket_seconds,
        recent,
        migration,
        views,
        tests,
        performance,
    })
}

/// The plan-driven views: see [`MigrationViews`].
pub type Analysis = MigrationViews;

/// How far back the component matrix looks at operations.
pub const COMPONENT_WINDOW: Duration = Duration::days(7);

/// Per-component dataset progress, from the plan's dataset list (empty when the plan only
/// gives a total: phase progress then comes from milestones).
fn component_progress(
    plan: &Plan,
    migrated: &[String],
) -> Vec<mhd_core::timeline::ComponentProgress> {
    let mhd_core::plan::Datasets::List(list) = &plan.datasets else {
        return Vec::new();
    };
    let migrated: std::collections::HashSet<&str> = migrated.iter().map(String::as_str).collect();
    let mut by_component: std::collections::BTreeMap<&str, (u64, u64)> =
        std::collections::BTreeMap::new();
    for d in list {
        if let Some(c) = &d.component {
            let e = by_component.entry(c.as_str()).or_default();
            e.1 += 1;
            e.0 += u64::from(migrated.contains(d.name.as_str()));
        }
    }
    by_component
        .into_iter()
        .map(
            |(component, (migrated, total))| mhd_core::timeline::ComponentProgress {
                component: component.to_owned(),
                migrated,
                total,
            },
        )
        .collect()
}

/// Reads what the timeline and the summary need and computes both, as of `now`.
///
/// With `as_of`, counts come from the operations before `now` alone (the kept counts include
/// everything stored); test runs and benchmarks are the latest stored either way. The
/// component matrix, which reads a window of operations, is left empty unless
/// `with_components`.
pub async fn analysis<S: Store + AlertStore>(
    store: &S,
    plan: &Plan,
    now: OffsetDateTime,
    as_of: bool,
    with_components: bool,
) -> Result<Analysis> {
    use mhd_core::{forecast, perf, summary, timeline};
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let c = if as_of {
        store.migration_counts_until(now).await?
    } else {
        store.migration_counts().await?
    };
    let from = (today - Duration::days(forecast::WINDOW_DAYS)).max(plan.migration.start);
    let days = (today - from).whole_days().max(0) as u32;
    let per_day = store.daily_migration_net(from, days).await?;
    let daily_net = forecast::daily_window(
        per_day
            .into_iter()
            .enumerate()
            .map(|(i, n)| (from + Duration::days(i as i64), n)),
        today,
        plan.migration.start,
    );
    let mut marks = timeline::Marks::default();
    // Marks after `today` are ignored by the timeline itself.
    for (name, at) in store.first_success_by_name(timeline::MILESTONE).await? {
        marks.record(timeline::MILESTONE, &name, true, at.date());
    }
    for (name, at) in store
        .first_success_by_name(timeline::PHASE_COMPLETE)
        .await?
    {
        marks.record(timeline::PHASE_COMPLETE, &name, true, at.date());
    }
    let migrated = store.migrated_datasets().await?;
    let phases = timeline::timeline(
        plan,
        today,
        &component_progress(plan, &migrated),
        &marks,
        &[],
    );
    let latest_runs = store.recent_test_runs(1).await?;
    let suites: Vec<summary::SuitePassRate> = latest_runs
        .iter()
        .filter_map(|r| {
            r.pass_rate().map(|p| summary::SuitePassRate {
                suite: r.suite.clone(),
                pass_rate: p,
            })
        })
        .collect();
    let comparisons = perf::compare(
        &store.latest_benchmarks().await?,
        plan.thresholds.regression_percent,
    );
    // The alerts firing now make the health, the blockers and the recommendations (a view
    // as of an earlier day goes without them: they say nothing of that day).
    let firing: Vec<summary::FiringAlert> = if as_of {
        Vec::new()
    } else {
        store
            .alerts(&crate::alerts::AlertFilter {
                states: vec![mhd_core::alerts::AlertState::Firing],
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|a| summary::FiringAlert {
                severity: a.severity,
                title: a.title,
                component: a.component,
                since: a.fired_at,
            })
            .collect()
    };
    let summary = summary::executive_summary(&summary::SummaryInput {
        plan,
        now,
        counts: summary::MigrationCounts {
            datasets_migrated: c.datasets_migrated,
            attempts: c.attempts,
            successes: c.successes,
            rollbacks: c.rollbacks,
        },
        daily_net: &daily_net,
        phases: &phases,
        alerts: &firing,
        performance_delta: perf::performance_delta(&comparisons),
        test_suites: &suites,
    });
    let components = if with_components {
        components(store, plan, now, &migrated, &latest_runs, &comparisons).await?
    } else {
        Vec::new()
    };
    Ok(MigrationViews {
        summary,
        timeline: phases,
        components,
    })
}

/// The component matrix: each plan component's operations per system over
/// [`COMPONENT_WINDOW`], its datasets' migration, its suites' latest runs, its benchmarks.
///
/// Datasets per component come from the plan's dataset list when it has one, otherwise from
/// the components that operations named for each dataset.
async fn components<S: Store>(
    store: &S,
    plan: &Plan,
    now: OffsetDateTime,
    migrated: &[String],
    latest_runs: &[mhd_core::testrun::TestRun],
    comparisons: &[mhd_core::perf::PerformanceComparison],
) -> Result<Vec<mhd_core::components::ComponentHealth>> {
    use mhd_core::components::{ComponentInput, SystemWindow, component_matrix};
    let windows = store.component_windows(now - COMPONENT_WINDOW, now).await?;
    let listed = component_progress(plan, migrated);
    let seen = store.dataset_progress().await?;
    let window_seconds = COMPONENT_WINDOW.as_seconds_f64();
    let inputs: Vec<ComponentInput> = plan
        .components
        .iter()
        .map(|c| {
            let side = |system| {
                windows
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
                            durations_ms: w.durations_ms.clone(),
                            window_seconds,
                        },
                    )
            };
            let (migrated, total) = match listed.iter().find(|p| p.component == c.id) {
                Some(p) => (p.migrated, p.total),
                None => seen
                    .iter()
                    .find(|p| p.component.as_deref() == Some(c.id.as_str()))
                    .map_or((0, 0), |p| (p.migrated, p.seen)),
            };
            let runs: Vec<_> = latest_runs
                .iter()
                .filter(|r| r.component.as_deref() == Some(c.id.as_str()))
                .collect();
            let tests = (!runs.is_empty()).then(|| {
                runs.iter().fold((0, 0), |(p, t), r| {
                    let x = r.totals();
                    (p + x.passed, t + x.total - x.skipped)
                })
            });
            let mine: Vec<_> = comparisons
                .iter()
                .filter(|p| p.component.as_deref() == Some(c.id.as_str()))
                .cloned()
                .collect();
            ComponentInput {
                id: c.id.clone(),
                name: c.name.clone(),
                old: side(mhd_core::System::Old),
                new: side(mhd_core::System::New),
                migrated,
                datasets_total: total,
                tests,
                performance_delta: mhd_core::perf::performance_delta(&mine),
            }
        })
        .collect();
    Ok(component_matrix(&inputs, &plan.thresholds))
}
