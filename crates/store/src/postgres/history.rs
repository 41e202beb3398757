//! Questions over a span of time in PostgreSQL, answering as the SQLite store does.

use mhd_core::sample::Sample;
use sqlx::Row;
use time::OffsetDateTime;

use super::{PgStore, text};
use crate::Result;
use crate::history::{DAY_US, DayActivity, ErrorGroup, HistoryStore, MAX_SAMPLES};
use crate::sqlite::{from_us, to_us};

impl HistoryStore for PgStore {
    /// Migration activity on each of `days` UTC days from `from` (midnight UTC), in order.
    async fn daily_activity(&self, from: time::Date, days: u32) -> Result<Vec<DayActivity>> {
        let mut out = vec![DayActivity::default(); days as usize];
        if days == 0 {
            return Ok(out);
        }
        let start = to_us(from.midnight().assume_utc());
        let end = start.saturating_add(DAY_US.saturating_mul(i64::from(days)));
        // Integer division of BIGINTs, as SQLite's of integers (the times are all >= start).
        let rows = sqlx::query(
            "SELECT (timestamp_us - $1) / $2 AS day, metric_type, success, COUNT(*) AS n \
             FROM operations \
             WHERE metric_type IN ('migration', 'rollback', 'verification') \
               AND timestamp_us >= $1 AND timestamp_us < $3 \
             GROUP BY day, metric_type, success",
        )
        .bind(start)
        .bind(DAY_US)
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
    /// the newest kept), read through the index on (metric, time). Samples of one time come in
    /// the order they were stored (the `id` that stands for SQLite's rowid).
    async fn samples_between(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Sample>> {
        if metrics.is_empty() || since >= until {
            return Ok(Vec::new());
        }
        let metrics: Vec<_> = metrics.iter().map(|m| text(m)).collect();
        let rows = sqlx::query(
            "SELECT timestamp_us, metric, value, unit, component, labels FROM ( \
               SELECT id, timestamp_us, metric, value, unit, component, labels FROM samples \
               WHERE metric = ANY($1) AND timestamp_us >= $2 AND timestamp_us < $3 \
               ORDER BY timestamp_us DESC, id DESC LIMIT $4) newest \
             ORDER BY timestamp_us, id",
        )
        .bind(metrics)
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
        // SQLite's `IS` between messages is `IS NOT DISTINCT FROM` here (no message matches no
        // message), and the last tie is broken in byte order as SQLite compares text.
        let rows = sqlx::query(
            "SELECT metric_type, error_message, COUNT(*) AS n, \
                    COUNT(DISTINCT dataset_name) AS datasets, \
                    MIN(timestamp_us) AS first_us, MAX(timestamp_us) AS last_us, \
                    (SELECT o2.dataset_name FROM operations o2 \
                     WHERE o2.success = 0 AND o2.metric_type = o.metric_type \
                       AND o2.error_message IS NOT DISTINCT FROM o.error_message \
                       AND o2.timestamp_us >= $1 AND o2.timestamp_us < $2 \
                       AND o2.dataset_name IS NOT NULL \
                     ORDER BY o2.timestamp_us DESC LIMIT 1) AS example \
             FROM operations o \
             WHERE success = 0 AND timestamp_us >= $1 AND timestamp_us < $2 \
             GROUP BY metric_type, error_message \
             ORDER BY n DESC, last_us DESC, metric_type COLLATE \"C\" LIMIT $3",
        )
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
