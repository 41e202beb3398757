//! Questions over a span of time that the resource page, the live memory figure and the
//! reports ask: the samples of some metrics over a span, and the errors of a span grouped by
//! message.

pub use mhd_core::history::DayActivity;
pub use mhd_core::report::ErrorGroup;
use mhd_core::sample::Sample;
use sqlx::Row;
use time::OffsetDateTime;

use crate::Result;
use crate::sqlite::{SqliteStore, from_us, to_us};

/// The most samples [`SqliteStore::samples_between`] returns; a span holding more keeps its
/// newest.
pub const MAX_SAMPLES: u32 = 200_000;

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
