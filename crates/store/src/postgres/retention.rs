//! Resource history on PostgreSQL. A PostgreSQL store keeps its raw samples (retention passes,
//! which roll samples up and prune, run on SQLite stores), so a span's buckets are computed
//! from the raw samples, exactly.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::PgStore;
use crate::Result;
use crate::retention::{Resolution, SampleBucket};
use crate::sqlite::{from_us, to_us};

impl PgStore {
    /// The samples of `metrics` in `[since, until)` per series and bucket of `bucket` (the
    /// buckets start at `since`; `resolution` is the smallest bucket).
    pub async fn sample_buckets(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket: Duration,
        resolution: Resolution,
    ) -> Result<Vec<SampleBucket>> {
        if metrics.is_empty() || since >= until {
            return Ok(Vec::new());
        }
        let unit = resolution.unit_us();
        let start = to_us(since).div_euclid(unit) * unit;
        let end = to_us(until);
        let bucket_us = ((bucket.whole_microseconds() as i64).max(unit) / unit) * unit;
        let metrics: Vec<String> = metrics.iter().map(|m| (*m).to_owned()).collect();
        type Row = (
            i64,
            String,
            String,
            String,
            Option<String>,
            f64,
            f64,
            f64,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT (timestamp_us - $1) / $2 AS b, metric, COALESCE(component, '') AS component, \
             COALESCE(labels, '') AS labels, MAX(unit) AS unit, MIN(value) AS lo, \
             MAX(value) AS hi, SUM(value) AS total, COUNT(*) AS n FROM samples \
             WHERE metric = ANY($3) AND timestamp_us >= $1 AND timestamp_us < $4 \
             GROUP BY 1, 2, 3, 4",
        )
        .bind(start)
        .bind(bucket_us)
        .bind(&metrics)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        let mut buckets: Vec<SampleBucket> = rows
            .into_iter()
            .map(
                |(b, metric, component, labels, unit, min, max, sum, count)| SampleBucket {
                    start: from_us(start + b * bucket_us),
                    metric,
                    component: (!component.is_empty()).then_some(component),
                    labels: if labels.is_empty() {
                        BTreeMap::new()
                    } else {
                        serde_json::from_str(&labels).unwrap_or_default()
                    },
                    unit,
                    min,
                    max,
                    sum,
                    count: count.max(0) as u64,
                },
            )
            .collect();
        buckets.sort_by(|a, b| {
            (a.start, &a.metric, &a.component).cmp(&(b.start, &b.metric, &b.component))
        });
        Ok(buckets)
    }
}
