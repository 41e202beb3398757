//! Questions over a span of time that the resource page, the live memory figure and the
//! reports ask: the samples of some metrics over a span, and the errors of a span grouped by
//! message.

use mhd_core::sample::Sample;
use sqlx::Row;
use time::OffsetDateTime;

use crate::Result;
use crate::sqlite::{SqliteStore, from_us, to_us};

/// The most samples [`SqliteStore::samples_between`] returns; a span holding more keeps its
/// newest.
pub const MAX_SAMPLES: u32 = 200_000;

/// Failed operations of a span that share a type and an error message.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorGroup {
    /// The operations' type.
    pub metric_type: String,
    /// The error message they share (`None`: none was recorded).
    pub error_message: Option<String>,
    /// How many failed operations of the span carry it.
    pub count: u64,
    /// The distinct datasets among them.
    pub datasets: u64,
    /// One dataset among them (the newest failure's), if any.
    pub example_dataset: Option<String>,
    /// The first of them.
    pub first: OffsetDateTime,
    /// The last of them.
    pub last: OffsetDateTime,
}

/// One UTC day's migration activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayActivity {
    /// Successful `migration` operations.
    pub migrations: u64,
    /// Failed `migration` operations.
    pub failed_migrations: u64,
    /// `rollback` operations.
    pub rollbacks: u64,
    /// Failed `verification` operations (integrity issues).
    pub failed_verifications: u64,
}

/// Microseconds in a day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// History over a range of days: activity per day, samples and errors between two times.
pub trait HistoryStore: Sync {
    /// Migration activity on each of `days` UTC days from `from` (midnight UTC), in order.
    fn daily_activity(
        &self,
        from: time::Date,
        days: u32,
    ) -> impl Future<Output = Result<Vec<DayActivity>>> + Send;
    /// The samples of `metrics` in `[since, until)`, oldest first (at most [`MAX_SAMPLES`],
    /// the newest kept), read through the index on (metric, time).
    fn samples_between(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Sample>>> + Send;
    /// The failed operations of `[since, until)` grouped by type and error message, the most
    /// frequent first (ties: the latest first), at most `limit` groups.
    fn errors_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ErrorGroup>>> + Send;
}

impl HistoryStore for SqliteStore {
    /// Migration activity on each of `days` UTC days from `from` (midnight UTC), in order.
    async fn daily_activity(&self, from: time::Date, days: u32) -> Result<Vec<DayActivity>> {
        let mut out = vec![DayActivity::default(); days as usize];
        if days == 0 {
            return Ok(out);
        }
        let start = to_us(from.midnight().assume_utc());
        let end = start.saturating_add(DAY_US.saturating_mul(i64::from(days)));
        let rows = sqlx::query(
            "SELECT (timestamp_us - ?) / ? AS day, metric_type, success, COUNT(*) AS n              FROM operations              WHERE metric_type IN ('migration', 'rollback', 'verification')                AND timestamp_us >= ? AND timestamp_us < ?              GROUP BY day, metric_type, success",
        )
        .bind(start)
        .bind(DAY_US)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let day: i64 = r.try_get("day")?;
            let Some(slot) = usize::try_from(day).ok().and_then(|d| out.get_mut(d)) else {
                continue;
            };
            let n = r.try_get::<i64, _>("n")?.max(0) as u64;
            let ok: bool = r.try_get::<i64, _>("success")? != 0;
            match (r.try_get::<String, _>("metric_type")?.as_str(), ok) {
                ("migration", true) => slot.migrations += n,
                ("migration", false) => slot.failed_migrations += n,
                ("rollback", _) => slot.rollbacks += n,
                ("verification", false) => slot.failed_verifications += n,
                _ => {}
            }
        }
        Ok(out)
    }

    /// The samples of `metrics` in `[since, until)`, oldest first (at most [`MAX_SAMPLES`],
    /// the newest kept), read through the index on (metric, time).
    async fn samples_between(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Sample>> {
        if metrics.is_empty() || since >= until {
            return Ok(Vec::new());
        }
        let placeholders = vec!["?"; metrics.len()].join(", ");
        let sql = format!(
            "SELECT timestamp_us, metric, value, unit, component, labels FROM ( \
               SELECT rowid AS r, * FROM samples \
               WHERE metric IN ({placeholders}) AND timestamp_us >= ? AND timestamp_us < ? \
               ORDER BY timestamp_us DESC, rowid DESC LIMIT ?) \
             ORDER BY timestamp_us, r"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in metrics {
            q = q.bind(*m);
        }
        let rows = q
            .bind(to_us(since))
            .bind(to_us(until))
            .bind(i64::from(MAX_SAMPLES))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let labels: Option<String> = r.try_get("labels")?;
                Ok(Sample {
                    timestamp: from_us(r.try_get("timestamp_us")?),
                    metric: r.try_get("metric")?,
                    value: r.try_get("value")?,
                    unit: r.try_get("unit")?,
                    component: r.try_get("component")?,
                    labels: labels
                        .and_then(|l| serde_json::from_str(&l).ok())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// The failed operations of `[since, until)` grouped by type and error message, the most
    /// frequent first (ties: the latest first), at most `limit` groups.
    async fn errors_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ErrorGroup>> {
        if since >= until || limit == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT metric_type, error_message, COUNT(*) AS n, \
                    COUNT(DISTINCT dataset_name) AS datasets, \
                    MIN(timestamp_us) AS first_us, MAX(timestamp_us) AS last_us, \
                    (SELECT o2.dataset_name FROM operations o2 \
                     WHERE o2.success = 0 AND o2.metric_type = o.metric_type \
                       AND o2.error_message IS o.error_message \
                       AND o2.timestamp_us >= ? AND o2.timestamp_us < ? \
                       AND o2.dataset_name IS NOT NULL \
                     ORDER BY o2.timestamp_us DESC LIMIT 1) AS example \
             FROM operations o \
             WHERE success = 0 AND timestamp_us >= ? AND timestamp_us < ? \
             GROUP BY metric_type, error_message \
             ORDER BY n DESC, last_us DESC, metric_type LIMIT ?",
        )
        .bind(to_us(since))
        .bind(to_us(until))
        .bind(to_us(since))
        .bind(to_us(until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ErrorGroup {
                    metric_type: r.try_get("metric_type")?,
                    error_message: r.try_get("error_message")?,
                    count: r.try_get::<i64, _>("n")?.max(0) as u64,
                    datasets: r.try_get::<i64, _>("datasets")?.max(0) as u64,
                    example_dataset: r.try_get("example")?,
                    first: from_us(r.try_get("first_us")?),
                    last: from_us(r.try_get("last_us")?),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use mhd_core::NewOperation;
    use time::macros::{date, datetime};

    const T0: OffsetDateTime = datetime!(2025-03-01 00:00 UTC);

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("mhd.db"), 1)
            .await
            .unwrap();
        (dir, s)
    }

    fn op(
        at: OffsetDateTime,
        ty: &str,
        dataset: Option<&str>,
        error: Option<&str>,
    ) -> NewOperation {
        let mut o = NewOperation::new(at, ty, "x");
        o.dataset_name = dataset.map(str::to_owned);
        o.success = error.is_none();
        o.error_message = error.map(str::to_owned);
        o
    }

    #[tokio::test]
    async fn samples_between_is_half_open_and_by_metric() {
        let (_dir, s) = store().await;
        let at = |m: i64| T0 + time::Duration::minutes(m);
        let mut labelled = Sample::new(at(5), "cpu_percent", 3.0);
        labelled.labels.insert("host".into(), "a".into());
        s.insert_samples(&[
            Sample::new(at(0), "cpu_percent", 1.0),
            Sample::new(at(10), "cpu_percent", 2.0),
            labelled.clone(),
            Sample::new(at(5), "memory_percent", 50.0),
            Sample::new(at(5), "other", 9.0),
        ])
        .await
        .unwrap();
        let got = s
            .samples_between(&["cpu_percent", "memory_percent"], at(0), at(10))
            .await
            .unwrap();
        let values: Vec<f64> = got.iter().map(|x| x.value).collect();
        assert_eq!(values, [1.0, 3.0, 50.0], "oldest first, the end excluded");
        assert_eq!(got[1], labelled, "labels come back");
        assert!(
            s.samples_between(&[], at(0), at(10))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.samples_between(&["cpu_percent"], at(10), at(10))
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn errors_group_by_type_and_message_most_frequent_first() {
        let (_dir, s) = store().await;
        let at = |h: i64| T0 + time::Duration::hours(h);
        s.insert_operations(&[
            op(at(1), "migration", Some("a"), Some("disk full")),
            op(at(2), "migration", Some("b"), Some("disk full")),
            op(at(3), "migration", Some("b"), Some("disk full")),
            op(at(4), "dataset_read", None, Some("timeout")),
            op(at(5), "migration", Some("c"), None),
            op(at(30), "migration", Some("d"), Some("disk full")), // after the span
        ])
        .await
        .unwrap();
        let g = s.errors_between(T0, at(24), 10).await.unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(
            (
                g[0].metric_type.as_str(),
                g[0].error_message.as_deref(),
                g[0].count,
                g[0].datasets
            ),
            ("migration", Some("disk full"), 3, 2)
        );
        assert_eq!(
            g[0].example_dataset.as_deref(),
            Some("b"),
            "the newest failure's"
        );
        assert_eq!((g[0].first, g[0].last), (at(1), at(3)));
        assert_eq!(
            (g[1].count, g[1].datasets, g[1].example_dataset.clone()),
            (1, 0, None)
        );
        assert_eq!(s.errors_between(T0, at(24), 1).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn daily_activity_counts_each_utc_day() {
        let (_dir, s) = store().await;
        let at = |d: i64, h: i64| T0 + time::Duration::days(d) + time::Duration::hours(h);
        s.insert_operations(&[
            op(at(-1, 23), "migration", Some("before"), None),
            op(at(0, 0), "migration", Some("a"), None),
            op(at(0, 5), "migration", Some("b"), Some("x")),
            op(at(1, 12), "rollback", Some("a"), None),
            op(at(1, 13), "verification", Some("a"), Some("mismatch")),
            op(at(1, 14), "verification", Some("b"), None),
            op(at(2, 23), "migration", Some("c"), None),
            op(at(3, 0), "migration", Some("after"), None),
        ])
        .await
        .unwrap();
        let days = s.daily_activity(date!(2025 - 03 - 01), 3).await.unwrap();
        assert_eq!(days.len(), 3);
        assert_eq!((days[0].migrations, days[0].failed_migrations), (1, 1));
        assert_eq!((days[1].rollbacks, days[1].failed_verifications), (1, 1));
        assert_eq!(days[2].migrations, 1);
        assert!(
            s.daily_activity(date!(2025 - 03 - 01), 0)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
