//! The data of each view, read from the store (and the plan): the view model, the dashboard
//! (the static dashboard file and the live pages) and the report of a range of days.

use mhd_core::dashboard::{DashboardData, MigrationProgress, MigrationViews};
use mhd_core::model::{self, Options, Snapshot, ViewModel, WindowOf};
use mhd_core::plan::Plan;
use mhd_core::report::{
    DayRow, MAX_ALERTS, MAX_RESOURCES, RangeProgress, ReportData, ReportRange, TOP_ERRORS,
};
use mhd_core::timeline::{self, Marks};
use std::sync::Arc;

use mhd_core::perf::BenchmarkSamples;
use mhd_core::testrun::TestRun;
use time::{Duration, OffsetDateTime};

pub use mhd_core::model::COMPONENT_WINDOW;

use crate::alerts::AlertStore;
use crate::history::HistoryStore;
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
    let model = view_model(store, plan, now, false, Options::default()).await?;
    dashboard_with_model(store, plan, now, &model).await
}

/// The same as [`dashboard`], with the view model already at hand (as [`view_model`] makes it
/// with `as_of` false), so a caller that keeps it does not compute it again.
pub async fn dashboard_with_model<S: Store>(
    store: &S,
    plan: Option<&Plan>,
    now: OffsetDateTime,
    model: &ViewModel,
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
    let migration = match (plan, &model.summary) {
        (Some(plan), Some(s)) => Some(MigrationProgress {
            name: plan.migration.name.clone(),
            datasets_total: s.key_metrics.datasets_total,
            datasets_migrated: s.key_metrics.datasets_migrated,
            attempts: s.key_metrics.migration_attempts,
            success_rate: s.key_metrics.success_rate,
            rollback_count: s.key_metrics.rollback_count,
            week: s.week,
            weeks: s.weeks,
        }),
        _ => None,
    };
    Ok(DashboardData {
        generated_at: now,
        summary,
        over_time,
        bucket_seconds,
        recent,
        migration,
        views: MigrationViews::of(model),
        tests: model.tests.clone(),
        performance: model.performance.comparisons.clone(),
    })
}

/// What a snapshot reads that only writes of test runs and benchmarks change: the latest
/// runs of every suite and the latest benchmarks. A server keeps it between writes of
/// operations (the bulk of its writes), and reads it again when a test run, a benchmark or
/// another process's write is announced ([`snapshot_with`]).
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// The last runs of every suite, oldest first per suite.
    pub test_runs: Arc<Vec<TestRun>>,
    /// The latest benchmark batch of every operation, system and component.
    pub benchmarks: Arc<Vec<BenchmarkSamples>>,
}

/// Reads the [`Records`] a snapshot takes.
pub async fn records<S: Store>(store: &S) -> Result<Records> {
    let test_runs = store
        .recent_test_runs(mhd_core::testview::TREND_RUNS as u32)
        .await?;
    let benchmarks = store.latest_benchmarks().await?;
    Ok(Records {
        test_runs: Arc::new(test_runs),
        benchmarks: Arc::new(benchmarks),
    })
}

/// Reads everything the views are computed from, as of `now`: as kept (`as_of` false), or as
/// the operations before `now` alone tell it (for a view of a past moment; test runs and
/// benchmarks are the latest stored up to then, and alerts, which say nothing of that moment,
/// are left out).
pub async fn snapshot<S: Store + AlertStore>(
    store: &S,
    now: OffsetDateTime,
    as_of: bool,
) -> Result<Snapshot> {
    let records = records(store).await?;
    snapshot_with(store, now, as_of, &records).await
}

/// [`snapshot`] with the test runs and benchmarks read already: `records` must be what
/// [`records`] would read now.
pub async fn snapshot_with<S: Store + AlertStore>(
    store: &S,
    now: OffsetDateTime,
    as_of: bool,
    records: &Records,
) -> Result<Snapshot> {
    let until = as_of.then_some(now);
    let datasets = store.datasets(until).await?;
    let (migration_days, mut counts) = store.migration_days(until).await?;
    if as_of {
        counts = store.migration_counts_until(now).await?;
    }
    let mut marks = Marks::default();
    for ty in [timeline::MILESTONE, timeline::PHASE_COMPLETE] {
        for (name, at) in store.first_success_by_name(ty).await? {
            if at <= now {
                marks.record(ty, &name, true, at.to_offset(time::UtcOffset::UTC).date());
            }
        }
    }
    let windows = store
        .component_windows(now - COMPONENT_WINDOW, now)
        .await?
        .into_iter()
        .map(|w| WindowOf {
            component: w.component,
            system: w.system,
            operations: w.operations,
            failures: w.failures,
            durations: w.durations,
        })
        .collect();
    // Runs stamped after `now` are not seen yet; shared as read when there are none.
    let test_runs = if records.test_runs.iter().all(|r| r.run_at <= now) {
        Arc::clone(&records.test_runs)
    } else {
        Arc::new(
            records
                .test_runs
                .iter()
                .filter(|r| r.run_at <= now)
                .cloned()
                .collect(),
        )
    };
    let (alerts, health) = if as_of {
        (Vec::new(), None)
    } else {
        (store.open_alerts().await?, store.health_state().await?)
    };
    Ok(Snapshot {
        datasets,
        migration_days,
        attempts: counts.attempts,
        successes: counts.successes,
        rollbacks: counts.rollbacks,
        marks,
        windows,
        test_runs,
        benchmarks: Arc::clone(&records.benchmarks),
        alerts,
        health,
    })
}

/// The view model as of `now` (see [`snapshot`] for `as_of`).
pub async fn view_model<S: Store + AlertStore>(
    store: &S,
    plan: Option<&Plan>,
    now: OffsetDateTime,
    as_of: bool,
    options: Options,
) -> Result<ViewModel> {
    let snap = snapshot(store, now, as_of).await?;
    Ok(model::build(plan, &snap, now, options))
}

/// Reads what the report of `range` shows from the store (and the plan), as of `now`.
pub async fn report(
    store: &crate::Database,
    plan: Option<&Plan>,
    range: ReportRange,
    now: OffsetDateTime,
) -> Result<ReportData> {
    let since = range.since();
    let until = range.until();
    // The last instant of the range, or now when the range reaches past it.
    let current = until > now;
    let as_of = if current {
        now
    } else {
        until - Duration::microseconds(1)
    };
    let model = view_model(store, plan, as_of, !current, Options::default()).await?;
    let views = MigrationViews::of(&model);
    let before = store.migration_counts_until(since).await?;
    let after = store
        .migration_counts_until(as_of + Duration::microseconds(1))
        .await?;
    let activity = store.daily_activity(range.start, range.days()).await?;
    let buckets = store
        .operations_over_time(since, until - Duration::microseconds(1), 86_400)
        .await?;
    let days: Vec<DayRow> = activity
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let date = range.start + Duration::days(i as i64);
            let b = buckets.iter().find(|b| b.start.date() == date);
            DayRow {
                date,
                operations: b.map_or(0, |b| b.count),
                failed: b.map_or(0, |b| b.errors),
                activity: *a,
            }
        })
        .collect();
    // A current report's end is the summary's own count (it also holds what was stored
    // while the report was read).
    let migrated_after = match (&views, current) {
        (Some(v), true) => v.summary.key_metrics.datasets_migrated,
        _ => after.datasets_migrated,
    };
    let mut progress = RangeProgress {
        migrated_before: before.datasets_migrated,
        migrated_after,
        ..RangeProgress::default()
    };
    for d in &days {
        progress.migrations += d.activity.migrations;
        progress.failed_migrations += d.activity.failed_migrations;
        progress.rollbacks += d.activity.rollbacks;
        progress.failed_verifications += d.activity.failed_verifications;
        progress.operations += d.operations;
        progress.failed_operations += d.failed;
    }
    let tests = model.tests.clone();
    let performance = model.performance.comparisons.clone();
    let performance_delta = model.performance.performance_delta;
    let errors = store.errors_between(since, until, TOP_ERRORS).await?;
    let mut alerts: Vec<mhd_core::alerts::Alert> = store
        .alerts(&crate::alerts::AlertFilter::default())
        .await?
        .into_iter()
        .filter(|a| a.started_at < until && a.resolved_at.is_none_or(|r| r >= since))
        .collect();
    alerts.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    alerts.truncate(MAX_ALERTS);
    let resolution = crate::retention::Resolution::for_span(since, until, now, Duration::ZERO);
    let mut resources = Vec::new();
    for metric in store.sample_metrics(since).await? {
        if resources.len() >= MAX_RESOURCES {
            break;
        }
        let stats = store
            .sample_stats(&metric, since, until, resolution)
            .await?;
        resources.extend(stats.into_iter().filter(|s| s.count > 0));
    }
    resources.truncate(MAX_RESOURCES);
    Ok(ReportData {
        range,
        generated_at: now,
        as_of,
        plan_name: plan.map(|p| p.migration.name.clone()),
        views,
        progress,
        days,
        tests,
        performance,
        performance_delta,
        errors,
        alerts,
        resources,
    })
}
