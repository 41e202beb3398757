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
