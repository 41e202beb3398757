//! Gathering what a view shows from the store (and the plan), for the static dashboard file
//! and, later, the live pages.

use mhd_core::dashboard::{DashboardData, MigrationProgress, MigrationViews};
use mhd_core::model::{self, Options, Snapshot, ViewModel, WindowOf};
use mhd_core::plan::Plan;
use mhd_core::timeline::{self, Marks};
use std::sync::Arc;

use mhd_core::perf::BenchmarkSamples;
use mhd_core::testrun::TestRun;
use time::{Duration, OffsetDateTime};

pub use mhd_core::model::COMPONENT_WINDOW;

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
