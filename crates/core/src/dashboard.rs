//! What the single-user dashboard shows: everything the static HTML file (and, later, the live
//! overview page) needs, gathered by the store and rendered by the views.

use serde::Serialize;
use time::OffsetDateTime;

use crate::components::ComponentHealth;
use crate::operation::Operation;
use crate::perf::PerformanceComparison;
use crate::stats::StatsSummary;
use crate::summary::ExecutiveSummary;
use crate::testview::TestsView;
use crate::timeline::MigrationPhase;

/// Operations counted over one time bucket (an hour, or a day for long spans).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Start of the bucket (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Operations in it.
    pub count: u64,
    /// Failed operations in it.
    pub errors: u64,
}

/// Migration progress read from the plan and the stored operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationProgress {
    /// The plan's name.
    pub name: String,
    /// Datasets the plan counts.
    pub datasets_total: u64,
    /// Datasets whose latest successful migration is not followed by a rollback.
    pub datasets_migrated: u64,
    /// Migration attempts recorded.
    pub attempts: u64,
    /// Successful attempts / all attempts (None when there were none).
    pub success_rate: Option<f64>,
    /// Rollbacks recorded.
    pub rollback_count: u64,
    /// The week of the plan that `generated_at` falls in (1-based, may be 0 before the start or
    /// past `weeks` after the planned end).
    pub week: i64,
    /// The plan's length in weeks.
    pub weeks: u32,
}

impl MigrationProgress {
    /// migrated / total × 100, capped at 100 (0 when the plan counts no datasets).
    pub fn percent(&self) -> f64 {
        if self.datasets_total == 0 {
            0.0
        } else {
            (self.datasets_migrated as f64 / self.datasets_total as f64 * 100.0).min(100.0)
        }
    }
}

/// Everything on the single-user dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DashboardData {
    /// When the data was read.
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The `stats summary` figures: totals, by type, datasets, recent errors.
    pub summary: StatsSummary,
    /// Operations over time, oldest first, consecutive buckets of `bucket_seconds`, empty
    /// buckets included.
    pub over_time: Vec<Bucket>,
    /// Length of each bucket of `over_time`, in seconds (3600 or 86400).
    pub bucket_seconds: i64,
    /// The newest operations, newest first.
    pub recent: Vec<Operation>,
    /// Migration progress, when a plan is present.
    pub migration: Option<MigrationProgress>,
    /// The executive summary, the timeline and the component matrix, when a plan is present.
    pub views: Option<MigrationViews>,
    /// The test results view, when test runs are stored.
    pub tests: Option<TestsView>,
    /// The old-versus-new comparison per operation, when benchmarks are stored.
    pub performance: Vec<PerformanceComparison>,
}

/// The plan-driven views (DESIGN §3.1–3.3) of one moment, as the view model made them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MigrationViews {
    /// The executive summary.
    pub summary: ExecutiveSummary,
    /// The phases, in the plan's order.
    pub timeline: Vec<MigrationPhase>,
    /// The component health matrix, worst first.
    pub components: Vec<ComponentHealth>,
    /// Migrated datasets over time against the plan.
    pub progress: Option<crate::model::Progress>,
}

impl MigrationViews {
    /// The plan-driven views of a view model (`None` without a plan).
    pub fn of(model: &crate::model::ViewModel) -> Option<MigrationViews> {
        Some(MigrationViews {
            summary: model.summary.clone()?,
            timeline: model.timeline.clone(),
            components: model.components.clone(),
            progress: model.progress.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_capped_and_safe_for_empty_plans() {
        let mut p = MigrationProgress {
            name: "m".into(),
            datasets_total: 412,
            datasets_migrated: 156,
            attempts: 170,
            success_rate: Some(156.0 / 170.0),
            rollback_count: 2,
            week: 8,
            weeks: 21,
        };
        assert!((p.percent() - 37.864).abs() < 0.001);
        p.datasets_migrated = 500;
        assert_eq!(p.percent(), 100.0);
        p.datasets_total = 0;
        assert_eq!(p.percent(), 0.0);
    }
}
