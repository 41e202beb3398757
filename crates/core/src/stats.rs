//! The single-user statistics of `mhd stats` (MDM's `stats summary` and `stats dataset`), with
//! MDM's field names so its users' scripts keep working.
//!
//! The store keeps per-hour, per-type rollups of operations; the summary is computed from those
//! rollups here, so a million operations summarise in the time it takes to read a few thousand
//! rollup rows. [`summarize_operations`] computes the same figures from raw operations and is
//! the reference the rollup arithmetic is tested against.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::operation::{NewOperation, kind};

/// Running totals of the operations of one type (in one hour, or over any span).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TypeTotals {
    /// Operations counted.
    pub count: u64,
    /// Of those, the successful ones.
    pub success_count: u64,
    /// Sum of `duration_ms` over successful operations that have one.
    pub success_duration_sum: f64,
    /// Successful operations that have a `duration_ms`.
    pub success_duration_count: u64,
}

impl TypeTotals {
    /// Counts one operation in.
    pub fn add(&mut self, success: bool, duration_ms: Option<f64>) {
        self.count += 1;
        if success {
            self.success_count += 1;
            if let Some(d) = duration_ms {
                self.success_duration_sum += d;
                self.success_duration_count += 1;
            }
        }
    }

    /// Adds another set of totals.
    pub fn merge(&mut self, other: &TypeTotals) {
        self.count += other.count;
        self.success_count += other.success_count;
        self.success_duration_sum += other.success_duration_sum;
        self.success_duration_count += other.success_duration_count;
    }

    /// Mean duration of the successful operations that have one (MDM's `avg_duration_ms`).
    pub fn avg_duration_ms(&self) -> Option<f64> {
        (self.success_duration_count > 0)
            .then(|| self.success_duration_sum / self.success_duration_count as f64)
    }
}

/// `overall` of `stats summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overall {
    /// Every stored operation.
    pub total_operations: u64,
    /// The successful ones.
    pub successful_operations: u64,
    /// Successful / total, 0..=1; `None` (JSON `null`) while there are no operations, as a
    /// percentage of nothing means nothing. Not in MDM's output; shown by it.
    pub success_rate: Option<f64>,
    /// Mean duration of successful operations, in milliseconds.
    pub avg_duration_ms: Option<f64>,
    /// Time of the newest operation.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_operation: Option<OffsetDateTime>,
}

/// One row of `by_type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeStats {
    /// The metric type.
    pub metric_type: String,
    /// Operations of that type.
    pub count: u64,
    /// Mean duration of its successful operations.
    pub avg_duration_ms: Option<f64>,
    /// Its failed operations.
    pub error_count: u64,
}

/// `dataset_stats` of `stats summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DatasetCounts {
    /// Distinct dataset names seen in any operation.
    pub total_datasets: u64,
    /// Distinct datasets with a `dataset_register` operation.
    pub datasets_registered: u64,
}

/// One of `recent_errors`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentError {
    /// When it failed.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The metric type of the failed operation.
    pub metric_type: String,
    /// The failed operation.
    pub operation: String,
    /// Its dataset, if any.
    pub dataset_name: Option<String>,
    /// Why.
    pub error_message: Option<String>,
}

/// The whole `stats summary` document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSummary {
    /// Totals over every operation.
    pub overall: Overall,
    /// Totals per metric type, ordered by type name.
    pub by_type: Vec<TypeStats>,
    /// Dataset counts.
    pub dataset_stats: DatasetCounts,
    /// The newest failures, newest first (at most [`RECENT_ERRORS`]).
    pub recent_errors: Vec<RecentError>,
}

/// How many failures `stats summary` lists.
pub const RECENT_ERRORS: usize = 5;

/// Builds the summary from per-type totals (in any order, a type may repeat).
pub fn summarize(
    totals: impl IntoIterator<Item = (String, TypeTotals)>,
    last_operation: Option<OffsetDateTime>,
    dataset_stats: DatasetCounts,
    recent_errors: Vec<RecentError>,
) -> StatsSummary {
    let mut per_type: BTreeMap<String, TypeTotals> = BTreeMap::new();
    for (t, tot) in totals {
        per_type.entry(t).or_default().merge(&tot);
    }
    let mut all = TypeTotals::default();
    let by_type = per_type
        .into_iter()
        .filter(|(_, tot)| tot.count > 0)
        .map(|(metric_type, tot)| {
            all.merge(&tot);
            TypeStats {
                metric_type,
                count: tot.count,
                avg_duration_ms: tot.avg_duration_ms(),
                error_count: tot.count - tot.success_count,
            }
        })
        .collect();
    StatsSummary {
        overall: Overall {
            total_operations: all.count,
            successful_operations: all.success_count,
            success_rate: (all.count > 0).then(|| all.success_count as f64 / all.count as f64),
            avg_duration_ms: all.avg_duration_ms(),
            last_operation,
        },
        by_type,
        dataset_stats,
        recent_errors,
    }
}

/// The same summary computed directly from operations: the reference for the rollup path.
pub fn summarize_operations(ops: &[NewOperation]) -> StatsSummary {
    let mut totals: BTreeMap<String, TypeTotals> = BTreeMap::new();
    let mut datasets: BTreeMap<&str, bool> = BTreeMap::new();
    for op in ops {
        totals
            .entry(op.metric_type.clone())
            .or_default()
            .add(op.success, op.duration_ms);
        if let Some(d) = &op.dataset_name {
            *datasets.entry(d).or_default() |= op.metric_type == kind::DATASET_REGISTER;
        }
    }
    // Newest first; among equal times the later-recorded first, as the store orders them.
    let mut failed: Vec<&NewOperation> = ops.iter().rev().filter(|o| !o.success).collect();
    failed.sort_by_key(|o| std::cmp::Reverse(o.timestamp));
    let recent_errors = failed
        .into_iter()
        .take(RECENT_ERRORS)
        .map(|o| RecentError {
            timestamp: o.timestamp,
            metric_type: o.metric_type.clone(),
            operation: o.operation.clone(),
            dataset_name: o.dataset_name.clone(),
            error_message: o.error_message.clone(),
        })
        .collect();
    summarize(
        totals,
        ops.iter().map(|o| o.timestamp).max(),
        DatasetCounts {
            total_datasets: datasets.len() as u64,
            datasets_registered: datasets.values().filter(|r| **r).count() as u64,
        },
        recent_errors,
    )
}

/// One row of `stats dataset NAME` (MDM's `get_dataset_metrics`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetTypeStats {
    /// The metric type.
    pub metric_type: String,
    /// Operations of that type on the dataset.
    pub count: u64,
    /// Mean duration over all of them that have one (successful or not, as MDM does).
    pub avg_duration_ms: Option<f64>,
    /// Sum of their row counts.
    pub total_rows_processed: Option<i64>,
    /// Failed ones.
    pub error_count: u64,
    /// The newest.
    #[serde(with = "time::serde::rfc3339")]
    pub last_operation: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn op(t: i64, ty: &str, ok: bool, d: Option<f64>, ds: Option<&str>) -> NewOperation {
        let mut o = NewOperation::new(
            datetime!(2025-01-06 0:00 UTC) + time::Duration::seconds(t),
            ty,
            "op",
        );
        o.success = ok;
        o.duration_ms = d;
        o.dataset_name = ds.map(str::to_owned);
        if !ok {
            o.error_message = Some(format!("failed at {t}"));
        }
        o
    }

    #[test]
    fn empty_store_summarises_to_zeros() {
        let s = summarize_operations(&[]);
        assert_eq!(s.overall.total_operations, 0);
        assert_eq!(s.overall.success_rate, None);
        let json = serde_json::to_value(&s).expect("serializes");
        assert!(json["overall"]["success_rate"].is_null(), "{json}");
        assert_eq!(s.overall.avg_duration_ms, None);
        assert_eq!(s.overall.last_operation, None);
        assert!(s.by_type.is_empty() && s.recent_errors.is_empty());
    }

    #[test]
    fn averages_count_only_successes_with_durations() {
        let ops = [
            op(0, "dataset_read", true, Some(10.0), Some("a")),
            op(1, "dataset_read", true, Some(30.0), Some("b")),
            op(2, "dataset_read", false, Some(1000.0), Some("a")),
            op(3, "dataset_register", true, None, Some("a")),
        ];
        let s = summarize_operations(&ops);
        assert_eq!(s.overall.total_operations, 4);
        assert_eq!(s.overall.successful_operations, 3);
        assert_eq!(s.overall.avg_duration_ms, Some(20.0));
        assert_eq!(s.by_type[0].metric_type, "dataset_read");
        assert_eq!(s.by_type[0].error_count, 1);
        assert_eq!(s.by_type[1].avg_duration_ms, None);
        assert_eq!(
            s.dataset_stats,
            DatasetCounts {
                total_datasets: 2,
                datasets_registered: 1
            }
        );
        assert_eq!(s.recent_errors.len(), 1);
        assert_eq!(
            s.recent_errors[0].error_message.as_deref(),
            Some("failed at 2")
        );
    }

    #[test]
    fn recent_errors_are_newest_first_and_capped() {
        let ops: Vec<_> = (0..9).map(|t| op(t, "error", false, None, None)).collect();
        let s = summarize_operations(&ops);
        let times: Vec<_> = s
            .recent_errors
            .iter()
            .map(|e| e.error_message.clone())
            .collect();
        assert_eq!(times.len(), RECENT_ERRORS);
        assert_eq!(times[0].as_deref(), Some("failed at 8"));
        assert_eq!(times[4].as_deref(), Some("failed at 4"));
    }

    proptest! {
        /// Splitting operations into any groups of rollups gives the same summary as counting
        /// them one by one.
        #[test]
        fn rollups_add_up_to_the_direct_summary(
            rows in prop::collection::vec(
                (0i64..100_000, 0usize..4, any::<bool>(), prop::option::of(0.0f64..10_000.0)),
                0..200,
            ),
            split in 1usize..7,
        ) {
            let types = ["migration", "rollback", "dataset_read", "error"];
            let ops: Vec<_> = rows
                .iter()
                .map(|(t, ty, ok, d)| op(*t, types[*ty], *ok, *d, None))
                .collect();
            let direct = summarize_operations(&ops);
            let mut groups: Vec<(String, TypeTotals)> = Vec::new();
            for (i, o) in ops.iter().enumerate() {
                let mut tot = TypeTotals::default();
                tot.add(o.success, o.duration_ms);
                if i % split == 0 || groups.is_empty() {
                    groups.push((o.metric_type.clone(), tot));
                } else if let Some(g) = groups.iter_mut().rev().find(|g| g.0 == o.metric_type) {
                    g.1.merge(&tot);
                } else {
                    groups.push((o.metric_type.clone(), tot));
                }
            }
            let rolled = summarize(
                groups,
                direct.overall.last_operation,
                direct.dataset_stats.clone(),
                direct.recent_errors.clone(),
            );
            prop_assert_eq!(rolled.overall.total_operations, direct.overall.total_operations);
            prop_assert_eq!(rolled.overall.successful_operations, direct.overall.successful_operations);
            prop_assert_eq!(rolled.by_type.len(), direct.by_type.len());
            for (a, b) in rolled.by_type.iter().zip(&direct.by_type) {
                prop_assert_eq!(&a.metric_type, &b.metric_type);
                prop_assert_eq!(a.count, b.count);
                prop_assert_eq!(a.error_count, b.error_count);
                match (a.avg_duration_ms, b.avg_duration_ms) {
                    (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-6 * y.max(1.0)),
                    (x, y) => prop_assert_eq!(x, y),
                }
            }
            let total: u64 = rolled.by_type.iter().map(|t| t.count).sum();
            prop_assert_eq!(total, rolled.overall.total_operations);
            let errors: u64 = rolled.by_type.iter().map(|t| t.error_count).sum();
            prop_assert_eq!(errors, rolled.overall.total_operations - rolled.overall.successful_operations);
            prop_assert_eq!(rolled.overall.success_rate.is_some(), rolled.overall.total_operations > 0);
            prop_assert!(rolled.overall.success_rate.is_none_or(|r| (0.0..=1.0).contains(&r)));
        }
    }
}
