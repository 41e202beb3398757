//! Gathering what a view shows from the store (and the plan), for the static dashboard file
//! and, later, the live pages.

use mhd_core::dashboard::{DashboardData, MigrationProgress};
use mhd_core::plan::Plan;
use time::{Duration, OffsetDateTime};

use crate::{OperationFilter, Result, Store};

/// How far back the dashboard's "operations over time" chart reaches.
pub const HISTORY: Duration = Duration::days(90);
/// Rows of the dashboard's recent-operations table.
pub const RECENT_ROWS: u32 = 50;

/// Everything the single-user dashboard shows, as of `now`.
///
/// The chart covers from the first operation (at most [`HISTORY`] back) to `now`, in hours
/// when that span is at most two days, otherwise in days.
pub async fn dashboard<S: Store>(
    store: &S,
    plan: Option<&Plan>,
    now: OffsetDateTime,
) -> Result<DashboardData> {
    let summary = store.stats_summary().await?;
    let since = match store.first_operation_at().await? {
        Some(first) => first.max(now - HISTORY).min(now),
        None => now,
    };
    let until = summary.overall.last_operation.map_or(now, |l| l.max(now));
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
    Ok(DashboardData {
        generated_at: now,
        summary,
        over_time,
        bucket_seconds,
        recent,
        migration,
    })
}

/// The plan-driven views of one moment: the timeline and the executive summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Analysis {
    /// The executive summary (DESIGN §3.1).
    pub summary: mhd_core::summary::ExecutiveSummary,
    /// The phases (DESIGN §3.2), in the plan's order.
    pub timeline: Vec<mhd_core::timeline::MigrationPhase>,
}

/// Per-component dataset progress, from the plan's dataset list (empty when the plan only
/// gives a total: phase progress then comes from milestones).
fn component_progress(plan: &Plan, migrated: &[String]) -> Vec<mhd_core::timeline::ComponentProgress> {
    let mhd_core::plan::Datasets::List(list) = &plan.datasets else {
        return Vec::new();
    };
    let migrated: std::collections::HashSet<&str> = migrated.iter().map(String::as_str).collect();
    let mut by_component: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    for d in list {
        if let Some(c) = &d.component {
            let e = by_component.entry(c.as_str()).or_default();
            e.1 += 1;
            e.0 += u64::from(migrated.contains(d.name.as_str()));
        }
    }
    by_component
        .into_iter()
        .map(|(component, (migrated, total))| mhd_core::timeline::ComponentProgress {
            component: component.to_owned(),
            migrated,
            total,
        })
        .collect()
}

/// Reads what the timeline and the summary need and computes both, as of `now`.
///
/// With `as_of`, counts come from the operations before `now` alone (the kept counts include
/// everything stored); test runs and benchmarks are the latest stored either way.
pub async fn analysis<S: Store>(store: &S, plan: &Plan, now: OffsetDateTime, as_of: bool) -> Result<Analysis> {
    use mhd_core::{forecast, perf, summary, timeline};
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let c = if as_of { store.migration_counts_until(now).await? } else { store.migration_counts().await? };
    let from = (today - Duration::days(forecast::WINDOW_DAYS)).max(plan.migration.start);
    let days = (today - from).whole_days().max(0) as u32;
    let per_day = store.daily_migration_net(from, days).await?;
    let daily_net = forecast::daily_window(
        per_day.into_iter().enumerate().map(|(i, n)| (from + Duration::days(i as i64), n)),
        today,
        plan.migration.start,
    );
    let mut marks = timeline::Marks::default();
    // Marks after `today` are ignored by the timeline itself.
    for (name, at) in store.first_success_by_name(timeline::MILESTONE).await? {
        marks.record(timeline::MILESTONE, &name, true, at.date());
    }
    for (name, at) in store.first_success_by_name(timeline::PHASE_COMPLETE).await? {
        marks.record(timeline::PHASE_COMPLETE, &name, true, at.date());
    }
    let migrated = store.migrated_datasets().await?;
    let phases = timeline::timeline(plan, today, &component_progress(plan, &migrated), &marks, &[]);
    let suites: Vec<summary::SuitePassRate> = store
        .recent_test_runs(1)
        .await?
        .iter()
        .filter_map(|r| r.pass_rate().map(|p| summary::SuitePassRate { suite: r.suite.clone(), pass_rate: p }))
        .collect();
    let comparisons = perf::compare(&store.latest_benchmarks().await?, plan.thresholds.regression_percent);
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
        alerts: &[],
        performance_delta: perf::performance_delta(&comparisons),
        test_suites: &suites,
    });
    Ok(Analysis { summary, timeline: phases })
}
