//! Retention (the plan's `[retention]`, DESIGN §8): the store stays bounded, and no clean-up
//! ever changes how far the migration is.
//!
//! One pass ([`SqliteStore::run_retention`]) first rolls the raw samples not yet counted up
//! into the 1-minute, 1-hour and 1-day aggregates, then deletes what is past its retention, kind by
//! kind, in small transactions of at most [`BATCH`] rows with a pause between them, so that a
//! write arriving meanwhile waits one batch at most. What the views read of the migration is
//! never pruned: each dataset's state (`datasets`), the per-day migration counts
//! (`migration_days`), and the operations of type `milestone` and `phase_complete`, which mark
//! the timeline. Last, `PRAGMA incremental_vacuum` hands the freed pages back to the file
//! system when the store was made with `auto_vacuum = INCREMENTAL` (every store made since
//! schema version 14); an older store keeps them on its free list, where later writes reuse
//! them, so the file stops growing but does not shrink until [`SqliteStore::vacuum_into_incremental`]
//! rewrites it once.
//!
//! Samples are read back over a span through [`SqliteStore::sample_buckets`] and
//! [`SqliteStore::sample_stats`], which take the aggregates where the span is long or past the
//! raw samples' retention, and the raw samples not yet rolled up on top of them: the two are
//! disjoint, so nothing is counted twice or missed.

use std::collections::{BTreeMap, HashMap};

use mhd_core::plan::RetentionSettings;
use mhd_core::sketch::ValueSketch;
use serde::Serialize;
use sqlx::{Row, SqliteConnection};
use time::{Duration, OffsetDateTime};

use crate::Result;
use crate::sqlite::{HOUR_US, SqliteStore, from_us, to_us};

/// The most rows one retention transaction deletes or rolls up: a few milliseconds of work, so
/// a write waits at most that long.
pub const BATCH: i64 = 2_000;

/// The pause between two batches, in which waiting writers take the store.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Pages handed back to the file system per `incremental_vacuum` step.
const VACUUM_STEP: i64 = 1_000;

/// Microseconds in a minute.
const MINUTE_US: i64 = 60_000_000;
/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;

/// Operation types kept whatever their age: they mark the timeline's milestones and phases.
const KEPT_TYPES: [&str; 2] = [
    mhd_core::timeline::MILESTONE,
    mhd_core::timeline::PHASE_COMPLETE,
];

/// The spans one retention pass prunes, as of `now`: each kind keeps what is younger than its
/// retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Raw samples before this are deleted (once rolled up).
    pub samples: OffsetDateTime,
    /// The samples' aggregates before this are deleted.
    pub sample_rollups: OffsetDateTime,
    /// Operations before this are deleted (but for the kept types).
    pub operations: OffsetDateTime,
    /// Test runs before this are deleted (but for each suite's latest).
    pub test_runs: OffsetDateTime,
    /// Alerts resolved before this are deleted with their history.
    pub resolved_alerts: OffsetDateTime,
    /// Deliveries made before this, sent or given up, of resolved alerts, are deleted.
    pub deliveries: OffsetDateTime,
}

impl Cutoffs {
    /// The cutoffs of `settings` as of `now`.
    pub fn of(settings: &RetentionSettings, now: OffsetDateTime) -> Cutoffs {
        Cutoffs {
            samples: now - settings.samples,
            sample_rollups: now - settings.sample_rollups,
            operations: now - settings.operations,
            test_runs: now - settings.test_runs,
            resolved_alerts: now - settings.resolved_alerts,
            deliveries: now - settings.deliveries,
        }
    }
}

/// What one retention pass did, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Raw samples counted into the aggregates.
    pub samples_rolled_up: u64,
    /// Raw samples deleted.
    pub samples: u64,
    /// 1-minute aggregates deleted.
    pub sample_minutes: u64,
    /// 1-hour aggregates deleted.
    pub sample_hours: u64,
    /// 1-day aggregates deleted.
    pub sample_days: u64,
    /// Operations deleted.
    pub operations: u64,
    /// Test runs deleted.
    pub test_runs: u64,
    /// Their test cases deleted.
    pub test_cases: u64,
    /// Resolved alerts deleted.
    pub alerts: u64,
    /// Their history entries (events and acknowledgements) deleted.
    pub alert_events: u64,
    /// Notification deliveries deleted.
    pub deliveries: u64,
    /// Bytes handed back to the file system by the incremental vacuum.
    pub bytes_freed: u64,
    /// Bytes freed inside the file but kept by it (a store made without incremental vacuum).
    pub bytes_reusable: u64,
}

impl RetentionReport {
    /// Rows deleted, every kind together.
    pub fn deleted(&self) -> u64 {
        self.samples
            + self.sample_minutes
            + self.sample_hours
            + self.sample_days
            + self.operations
            + self.test_runs
            + self.test_cases
            + self.alerts
            + self.alert_events
            + self.deliveries
    }
}

/// Which table a span of samples is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The raw samples.
    Raw,
    /// The 1-minute aggregates.
    Minute,
    /// The 1-hour aggregates.
    Hour,
    /// The 1-day aggregates.
    Day,
}

/// The longest span read from the raw samples.
pub const RAW_SPAN: Duration = Duration::hours(6);
/// The longest span read from the 1-minute aggregates; longer ones read the 1-hour ones.
pub const MINUTE_SPAN: Duration = Duration::days(3);
/// The longest span read from the 1-hour aggregates; longer ones read the 1-day ones.
pub const HOUR_SPAN: Duration = Duration::days(14);

impl Resolution {
    /// Where `[since, until)` is read from as of `now`, when raw samples are kept for
    /// `raw_kept`: the raw samples for a span of at most [`RAW_SPAN`] that they still cover,
    /// the 1-minute aggregates for one of at most [`MINUTE_SPAN`], the 1-hour ones for one of
    /// at most [`HOUR_SPAN`], the 1-day ones beyond.
    pub fn for_span(
        since: OffsetDateTime,
        until: OffsetDateTime,
        now: OffsetDateTime,
        raw_kept: Duration,
    ) -> Resolution {
        let span = until - since;
        if span <= RAW_SPAN && since >= now - raw_kept {
            Resolution::Raw
        } else if span <= MINUTE_SPAN {
            Resolution::Minute
        } else if span <= HOUR_SPAN {
            Resolution::Hour
        } else {
            Resolution::Day
        }
    }

    /// The length of one of its rows, in microseconds (1 for raw samples).
    pub(crate) fn unit_us(self) -> i64 {
        match self {
            Resolution::Raw => 1,
            Resolution::Minute => MINUTE_US,
            Resolution::Hour => HOUR_US,
            Resolution::Day => DAY_US,
        }
    }

    /// The aggregates' table and its time column (`None` for the raw samples).
    fn table(self) -> Option<(&'static str, &'static str)> {
        match self {
            Resolution::Raw => None,
            Resolution::Minute => Some(("sample_minutes", "minute")),
            Resolution::Hour => Some(("sample_hours", "hour")),
            Resolution::Day => Some(("sample_days", "day")),
        }
    }
}

/// One series' samples over one bucket of a span.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleBucket {
    /// The bucket's start.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// The series' metric.
    pub metric: String,
    /// Its component, if any.
    pub component: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The unit of its samples, if given.
    pub unit: Option<String>,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The sum of the values.
    pub sum: f64,
    /// How many values.
    pub count: u64,
}

impl SampleBucket {
    /// The mean of the values.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }
}

/// One series' figures over a span: what the aggregates keep of its samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleStats {
    /// The series' metric.
    pub metric: String,
    /// Its component, if any.
    pub component: Option<String>,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
    /// The mean.
    pub mean: f64,
    /// How many values.
    pub count: u64,
    /// The 95th percentile by nearest rank: exact from raw samples, within 10 % from the
    /// aggregates' sketches (see [`ValueSketch`]).
    pub p95: Option<f64>,
}

/// A series' key in the aggregates: metric, component and labels ('' for none).
type SeriesKey = (String, String, String);

/// The figures of one series over one row of the aggregates, as they are merged.
#[derive(Debug, Clone)]
struct Agg {
    unit: Option<String>,
    min: f64,
    max: f64,
    sum: f64,
    count: i64,
    sketch: ValueSketch,
}

impl Agg {
    fn new() -> Agg {
        Agg {
            unit: None,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            count: 0,
            sketch: ValueSketch::default(),
        }
    }

    fn add(&mut self, v: f64, unit: Option<String>) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.count += 1;
        self.sketch.add(v);
        if unit.is_some() {
            self.unit = unit;
        }
    }

    fn merge(&mut self, other: &Agg) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
        self.sketch.merge(&other.sketch);
        if other.unit.is_some() {
            self.unit.clone_from(&other.unit);
        }
    }
}

fn labels_of(text: &str) -> BTreeMap<String, String> {
    if text.is_empty() {
        BTreeMap::new()
    } else {
        serde_json::from_str(text).unwrap_or_default()
    }
}

fn component_of(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Binds `values` to a statement as one JSON array, read back with `json_each`.
fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

impl SqliteStore {
    /// Runs one retention pass as of `now` (see the module's rules), returning what it did.
    pub async fn run_retention(
        &self,
        settings: &RetentionSettings,
        now: OffsetDateTime,
    ) -> Result<RetentionReport> {
        self.run_retention_until(&Cutoffs::of(settings, now)).await
    }

    /// [`SqliteStore::run_retention`] with each kind's cutoff given.
    pub async fn run_retention_until(&self, cut: &Cutoffs) -> Result<RetentionReport> {
        let mut report = RetentionReport {
            samples_rolled_up: self.roll_up_samples().await?,
            ..RetentionReport::default()
        };
        report.samples = self.prune_raw_samples(cut.samples).await?;
        let [minutes, hours, days] = self.prune_sample_rollups(cut.sample_rollups).await?;
        report.sample_minutes = minutes;
        report.sample_hours = hours;
        report.sample_days = days;
        report.operations = self.prune_operations(cut.operations).await?;
        let (runs, cases) = self.prune_test_runs(cut.test_runs).await?;
        report.test_runs = runs;
        report.test_cases = cases;
        let (alerts, events, deliveries) = self.prune_resolved_alerts(cut.resolved_alerts).await?;
        report.alerts = alerts;
        report.alert_events = events;
        report.deliveries = deliveries + self.prune_deliveries(cut.deliveries).await?;
        let (freed, reusable) = self.vacuum_freed_pages().await?;
        report.bytes_freed = freed;
        report.bytes_reusable = reusable;
        Ok(report)
    }

    /// Counts the raw samples not yet rolled up into the 1-minute, 1-hour and 1-day aggregates, in
    /// batches, returning how many.
    pub async fn roll_up_samples(&self) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let mut tx = self.begin_write().await?;
            let done: i64 = sqlx::query_scalar(
                "SELECT value FROM retention_marks WHERE name = 'samples_rolled_up'",
            )
            .fetch_one(&mut *tx)
            .await?;
            let rows = sqlx::query(
                "SELECT id, timestamp_us, metric, value, unit, component, labels FROM samples \
                 WHERE id > ? ORDER BY id LIMIT ?",
            )
            .bind(done)
            .bind(BATCH)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else {
                tx.rollback().await?;
                return Ok(total);
            };
            let last: i64 = last.try_get("id")?;
            let mut minutes: HashMap<(SeriesKey, i64), Agg> = HashMap::new();
            for r in &rows {
                let at: i64 = r.try_get("timestamp_us")?;
                let key: SeriesKey = (
                    r.try_get("metric")?,
                    r.try_get::<Option<String>, _>("component")?
                        .unwrap_or_default(),
                    r.try_get::<Option<String>, _>("labels")?
                        .unwrap_or_default(),
                );
                minutes
                    .entry((key, at.div_euclid(MINUTE_US)))
                    .or_insert_with(Agg::new)
                    .add(r.try_get("value")?, r.try_get("unit")?);
            }
            let mut hours: HashMap<(SeriesKey, i64), Agg> = HashMap::new();
            for ((key, minute), agg) in &minutes {
                hours
                    .entry((key.clone(), (minute * MINUTE_US).div_euclid(HOUR_US)))
                    .or_insert_with(Agg::new)
                    .merge(agg);
            }
            let mut days: HashMap<(SeriesKey, i64), Agg> = HashMap::new();
            for ((key, hour), agg) in &hours {
                days.entry((key.clone(), (hour * HOUR_US).div_euclid(DAY_US)))
                    .or_insert_with(Agg::new)
                    .merge(agg);
            }
            merge_into(&mut tx, "sample_minutes", "minute", &minutes).await?;
            merge_into(&mut tx, "sample_hours", "hour", &hours).await?;
            merge_into(&mut tx, "sample_days", "day", &days).await?;
            sqlx::query("UPDATE retention_marks SET value = ? WHERE name = 'samples_rolled_up'")
                .bind(last)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            total += rows.len() as u64;
            if (rows.len() as i64) < BATCH {
                return Ok(total);
            }
            tokio::time::sleep(PAUSE).await;
        }
    }

    /// Deletes the raw samples older than `before` that the aggregates count, in batches.
    async fn prune_raw_samples(&self, before: OffsetDateTime) -> Result<u64> {
        self.delete_in_batches(
            "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE timestamp_us < ?1 \
             AND id <= (SELECT value FROM retention_marks WHERE name = 'samples_rolled_up') \
             LIMIT ?2)",
            to_us(before),
            &[],
        )
        .await
    }

    /// Deletes the 1-minute, 1-hour and 1-day aggregates that start before `before`, metric by
    /// metric, in batches.
    async fn prune_sample_rollups(&self, before: OffsetDateTime) -> Result<[u64; 3]> {
        let mut out = [0u64; 3];
        for (i, (table, unit, unit_us)) in [
            ("sample_minutes", "minute", MINUTE_US),
            ("sample_hours", "hour", HOUR_US),
            ("sample_days", "day", DAY_US),
        ]
        .into_iter()
        .enumerate()
        {
            // Metrics by skipping through the primary key: a few rows read per metric.
            let metrics: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "WITH RECURSIVE m(metric) AS ( \
                   SELECT MIN(metric) FROM {table} \
                   UNION ALL \
                   SELECT (SELECT MIN(t.metric) FROM {table} t WHERE t.metric > m.metric) \
                   FROM m WHERE m.metric IS NOT NULL) \
                 SELECT metric FROM m WHERE metric IS NOT NULL"
            )))
            .fetch_all(&self.pool)
            .await?;
            // Rows that started before the cutoff are gone; one that straddles it stays.
            let first_kept = to_us(before).div_euclid(unit_us);
            for metric in metrics {
                loop {
                    let mut tx = self.begin_write().await?;
                    let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE (metric, {unit}, component, labels) IN ( \
                           SELECT metric, {unit}, component, labels FROM {table} \
                           WHERE metric = ?1 AND {unit} < ?2 LIMIT ?3)"
                    )))
                    .bind(&metric)
                    .bind(first_kept)
                    .bind(BATCH)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    tx.commit().await?;
                    out[i] += n;
                    if (n as i64) < BATCH {
                        break;
                    }
                    tokio::time::sleep(PAUSE).await;
                }
            }
        }
        Ok(out)
    }

    /// Deletes the operations older than `before`, but for the types the timeline reads
    /// ([`KEPT_TYPES`]), in batches; then brings the hourly operation counts of the hours it
    /// touched in step with what is left, and drops the component windows of those hours.
    /// Datasets keep their states and `migration_days` its history.
    pub async fn prune_operations(&self, before: OffsetDateTime) -> Result<u64> {
        let cut = to_us(before);
        let deleted = self
            .delete_in_batches(
                "DELETE FROM operations WHERE id IN (SELECT id FROM operations \
                 WHERE timestamp_us < ?1 AND metric_type NOT IN (?3, ?4) LIMIT ?2)",
                cut,
                &KEPT_TYPES,
            )
            .await?;
        let cut_hour = cut.div_euclid(HOUR_US);
        let mut tx = self.begin_write().await?;
        // The hours up to the cutoff's own are counted again from the operations left in them
        // (the kept types, and the cutoff hour's newer operations).
        sqlx::query("DELETE FROM operation_rollup WHERE hour <= ?")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
             success_duration_sum, success_duration_count) \
             SELECT timestamp_us / ?1 - (timestamp_us % ?1 < 0), metric_type, COUNT(*), \
             SUM(success), TOTAL(CASE WHEN success = 1 THEN duration_ms END), \
             COUNT(CASE WHEN success = 1 THEN duration_ms END) \
             FROM operations WHERE timestamp_us < ?2 GROUP BY 1, 2",
        )
        .bind(HOUR_US)
        .bind((cut_hour + 1) * HOUR_US)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM component_rollup WHERE hour < ?")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Deletes the test runs older than `before` with their cases, in batches, keeping each
    /// suite's newest [`mhd_core::testview::TREND_RUNS`] runs (those its trend shows)
    /// whatever their age. Returns (runs, cases) deleted.
    async fn prune_test_runs(&self, before: OffsetDateTime) -> Result<(u64, u64)> {
        let (mut runs, mut cases) = (0u64, 0u64);
        loop {
            let mut tx = self.begin_write().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM test_runs t WHERE run_at_us < ?1 AND ( \
                   SELECT COUNT(*) FROM test_runs n WHERE n.suite = t.suite \
                   AND (n.run_at_us > t.run_at_us OR (n.run_at_us = t.run_at_us AND n.id > t.id)) \
                 ) >= ?2 ORDER BY run_at_us LIMIT ?3",
            )
            .bind(to_us(before))
            .bind(mhd_core::testview::TREND_RUNS as i64)
            // Runs carry their cases: fewer runs per batch.
            .bind(BATCH / 20)
            .fetch_all(&mut *tx)
            .await?;
            if ids.is_empty() {
                tx.rollback().await?;
                break;
            }
            let list = json_ids(&ids);
            cases += sqlx::query(
                "DELETE FROM test_cases WHERE run_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&list)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            runs +=
                sqlx::query("DELETE FROM test_runs WHERE id IN (SELECT value FROM json_each(?))")
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            tx.commit().await?;
            tokio::time::sleep(PAUSE).await;
        }
        Ok((runs, cases))
    }

    /// Deletes the alerts resolved before `before` with their events, acknowledgements,
    /// deliveries and Jira links, in batches. Open alerts are never deleted. Returns (alerts,
    /// events and acknowledgements, deliveries) deleted.
    async fn prune_resolved_alerts(&self, before: OffsetDateTime) -> Result<(u64, u64, u64)> {
        let (mut alerts, mut events, mut deliveries) = (0u64, 0u64, 0u64);
        loop {
            let mut tx = self.begin_write().await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at_us < ? \
                 ORDER BY resolved_at_us LIMIT ?",
            )
            .bind(to_us(before))
            .bind(BATCH / 10)
            .fetch_all(&mut *tx)
            .await?;
            if ids.is_empty() {
                tx.rollback().await?;
                break;
            }
            let list = json_ids(&ids);
            for table in ["alert_events", "alert_acks"] {
                events += sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE alert_id IN (SELECT value FROM json_each(?))"
                )))
                .bind(&list)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            deliveries += sqlx::query(
                "DELETE FROM deliveries WHERE alert_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&list)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "DELETE FROM jira_issues WHERE alert_id IN (SELECT value FROM json_each(?))",
            )
            .bind(&list)
            .execute(&mut *tx)
            .await?;
            alerts +=
                sqlx::query("DELETE FROM alerts WHERE id IN (SELECT value FROM json_each(?))")
                    .bind(&list)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            tx.commit().await?;
            tokio::time::sleep(PAUSE).await;
        }
        Ok((alerts, events, deliveries))
    }

    /// Deletes the deliveries made before `before` that were sent or gave up, of alerts that
    /// are resolved (or gone), in batches: a pending delivery, or one of an alert still open,
    /// stays, so that whoever heard "firing" hears "resolved" and nothing is sent twice.
    async fn prune_deliveries(&self, before: OffsetDateTime) -> Result<u64> {
        self.delete_in_batches(
            "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d \
             WHERE d.state <> 'pending' AND d.created_at_us < ?1 AND NOT EXISTS ( \
               SELECT 1 FROM alerts a WHERE a.id = d.alert_id AND a.state <> 'resolved') \
             LIMIT ?2)",
            to_us(before),
            &[],
        )
        .await
    }

    /// Runs `sql` (a `DELETE` of at most `?2` rows older than `?1`, `extra` bound from `?3`
    /// on) until it deletes fewer than [`BATCH`], one transaction each, pausing between them.
    /// Returns the rows deleted.
    async fn delete_in_batches(
        &self,
        sql: &'static str,
        cut: i64,
        extra: &[&'static str],
    ) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let mut tx = self.begin_write().await?;
            let mut q = sqlx::query(sql).bind(cut).bind(BATCH);
            for e in extra {
                q = q.bind(*e);
            }
            let n = q.execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            total += n;
            if (n as i64) < BATCH {
                return Ok(total);
            }
            tokio::time::sleep(PAUSE).await;
        }
    }

    /// Hands the free pages back to the file system, a step at a time, when the store was
    /// made with `auto_vacuum = INCREMENTAL`. Returns (bytes handed back, bytes left free
    /// inside the file).
    async fn vacuum_freed_pages(&self) -> Result<(u64, u64)> {
        let mut conn = self.pool.acquire().await?;
        let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
            .fetch_one(&mut *conn)
            .await?;
        let page: i64 = sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut *conn)
            .await?;
        let before = free_pages(&mut conn).await?;
        // 2 is INCREMENTAL; NONE (0) cannot hand pages back without a full VACUUM.
        if mode != 2 {
            return Ok((0, (before * page) as u64));
        }
        drop(conn);
        let mut left = before;
        while left > 0 {
            let mut tx = self.begin_write().await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA incremental_vacuum({VACUUM_STEP})"
            )))
            .execute(&mut *tx)
            .await?;
            let now = free_pages(&mut tx).await?;
            tx.commit().await?;
            if now >= left {
                break;
            }
            left = now;
            tokio::time::sleep(PAUSE).await;
        }
        Ok((((before - left) * page) as u64, (left * page) as u64))
    }

    /// Rewrites the whole store once with `auto_vacuum = INCREMENTAL`, so that a store made
    /// before schema version 14 hands freed pages back from then on. It holds the store for
    /// as long as copying it takes: run it while nothing else writes.
    pub async fn vacuum_into_incremental(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
            .execute(&mut *conn)
            .await?;
        sqlx::query("VACUUM").execute(&mut *conn).await?;
        Ok(())
    }

    /// Every series of `metrics` over `[since, until)` in buckets of `bucket` (rounded to
    /// whole rows of `resolution`, and `since` down to one), oldest first: from the raw samples,
    /// or from the aggregates with the raw samples not yet rolled up added.
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
        let placeholders = vec!["?"; metrics.len()].join(", ");
        let mut out: BTreeMap<(i64, SeriesKey), SampleBucket> = BTreeMap::new();
        let mut add = |b: i64, key: SeriesKey, unit_name: Option<String>, f: [f64; 3], n: i64| {
            let entry = out.entry((b, key.clone())).or_insert_with(|| SampleBucket {
                start: from_us(start + b * bucket_us),
                metric: key.0.clone(),
                component: component_of(key.1.clone()),
                labels: labels_of(&key.2),
                unit: None,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                sum: 0.0,
                count: 0,
            });
            entry.min = entry.min.min(f[0]);
            entry.max = entry.max.max(f[1]);
            entry.sum += f[2];
            entry.count += n.max(0) as u64;
            if unit_name.is_some() {
                entry.unit = unit_name;
            }
        };
        let (table, column) = match resolution.table() {
            Some((t, c)) => (Some(t), c),
            None => (None, ""),
        };
        let mut conn = self.pool.acquire().await?;
        // One read transaction, so the aggregates and the mark agree.
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let outcome = async {
            let mut raw_after = 0i64;
            if let Some(table) = table {
                raw_after = sqlx::query_scalar(
                    "SELECT value FROM retention_marks WHERE name = 'samples_rolled_up'",
                )
                .fetch_one(&mut *conn)
                .await?;
                let sql = format!(
                    "SELECT ({column} * ? - ?) / ? AS b, metric, component, labels, MAX(unit) AS unit, \
                     MIN(min) AS lo, MAX(max) AS hi, SUM(sum) AS total, SUM(count) AS n \
                     FROM {table} WHERE metric IN ({placeholders}) AND {column} >= ? AND {column} < ? \
                     GROUP BY metric, component, labels, b"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(unit)
                    .bind(start)
                    .bind(bucket_us);
                for m in metrics {
                    q = q.bind(*m);
                }
                let rows = q
                    .bind(start / unit)
                    .bind((end + unit - 1) / unit)
                    .fetch_all(&mut *conn)
                    .await?;
                for r in &rows {
                    add(
                        r.try_get("b")?,
                        (r.try_get("metric")?, r.try_get("component")?, r.try_get("labels")?),
                        r.try_get("unit")?,
                        [r.try_get("lo")?, r.try_get("hi")?, r.try_get("total")?],
                        r.try_get("n")?,
                    );
                }
            }
            // The raw samples: all of the span's through the index on (metric, time), or
            // those the aggregates do not count yet, few and the newest, by their ids (the
            // unary `+` keeps SQLite from reading every sample of the span through the index).
            let plus = if table.is_some() { "+" } else { "" };
            let sql = format!(
                "SELECT (timestamp_us - ?) / ? AS b, metric, COALESCE(component, '') AS component, \
                 COALESCE(labels, '') AS labels, MAX(unit) AS unit, MIN(value) AS lo, \
                 MAX(value) AS hi, SUM(value) AS total, COUNT(*) AS n FROM samples \
                 WHERE id > ? AND {plus}metric IN ({placeholders}) AND {plus}timestamp_us >= ? \
                 AND timestamp_us < ? GROUP BY metric, component, labels, b"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(start)
                .bind(bucket_us)
                .bind(raw_after);
            for m in metrics {
                q = q.bind(*m);
            }
            let rows = q.bind(start).bind(end).fetch_all(&mut *conn).await?;
            for r in &rows {
                add(
                    r.try_get("b")?,
                    (r.try_get("metric")?, r.try_get("component")?, r.try_get("labels")?),
                    r.try_get("unit")?,
                    [r.try_get("lo")?, r.try_get("hi")?, r.try_get("total")?],
                    r.try_get("n")?,
                );
            }
            Ok::<_, crate::StoreError>(())
        }
        .await;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        outcome?;
        let mut buckets: Vec<SampleBucket> = out.into_values().collect();
        buckets.sort_by(|a, b| {
            (a.start, &a.metric, &a.component).cmp(&(b.start, &b.metric, &b.component))
        });
        Ok(buckets)
    }

    /// Each series of `metric` over `[since, until)`: min, max, mean, count and p95, from the
    /// raw samples or from the aggregates of `resolution` with the raw samples not yet rolled
    /// up added (see [`SampleStats::p95`] for its precision).
    pub async fn sample_stats(
        &self,
        metric: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
        resolution: Resolution,
    ) -> Result<Vec<SampleStats>> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        let outcome = async {
            let mut series: BTreeMap<SeriesKey, (Agg, Vec<f64>)> = BTreeMap::new();
            let mut raw_after = 0i64;
            let (table, column) = match resolution.table() {
                Some((t, c)) => (Some(t), c),
                None => (None, ""),
            };
            if let Some(table) = table {
                let unit = resolution.unit_us();
                raw_after = sqlx::query_scalar(
                    "SELECT value FROM retention_marks WHERE name = 'samples_rolled_up'",
                )
                .fetch_one(&mut *conn)
                .await?;
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT component, labels, min, max, sum, count, sketch FROM {table} \
                     WHERE metric = ? AND {column} >= ? AND {column} < ?"
                )))
                .bind(metric)
                .bind(to_us(since).div_euclid(unit))
                .bind((to_us(until) + unit - 1).div_euclid(unit))
                .fetch_all(&mut *conn)
                .await?;
                for r in &rows {
                    let sketch: Vec<u8> = r.try_get("sketch")?;
                    let agg = Agg {
                        unit: None,
                        min: r.try_get("min")?,
                        max: r.try_get("max")?,
                        sum: r.try_get("sum")?,
                        count: r.try_get("count")?,
                        sketch: ValueSketch::decode(&sketch).unwrap_or_default(),
                    };
                    series
                        .entry((
                            metric.to_owned(),
                            r.try_get("component")?,
                            r.try_get("labels")?,
                        ))
                        .or_insert_with(|| (Agg::new(), Vec::new()))
                        .0
                        .merge(&agg);
                }
            }
            let plus = if table.is_some() { "+" } else { "" };
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COALESCE(component, '') AS component, COALESCE(labels, '') AS labels, \
                 value FROM samples WHERE id > ? AND {plus}metric = ? AND {plus}timestamp_us >= ? \
                 AND timestamp_us < ?"
            )))
            .bind(raw_after)
            .bind(metric)
            .bind(to_us(since))
            .bind(to_us(until))
            .fetch_all(&mut *conn)
            .await?;
            for r in &rows {
                let v: f64 = r.try_get("value")?;
                let entry = series
                    .entry((
                        metric.to_owned(),
                        r.try_get("component")?,
                        r.try_get("labels")?,
                    ))
                    .or_insert_with(|| (Agg::new(), Vec::new()));
                entry.0.add(v, None);
                entry.1.push(v);
            }
            Ok::<_, crate::StoreError>((series, table.is_none()))
        }
        .await;
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        let (series, exact) = outcome?;
        Ok(series
            .into_iter()
            .filter(|(_, (agg, _))| agg.count > 0)
            .map(|((metric, component, labels), (agg, mut values))| {
                let p95 = if exact {
                    values.sort_by(f64::total_cmp);
                    let rank =
                        ((0.95 * values.len() as f64).ceil() as usize).clamp(1, values.len());
                    values.get(rank - 1).copied()
                } else {
                    // The sketch's middle of a bucket, held within what was seen.
                    agg.sketch
                        .percentile(95.0)
                        .map(|p| p.clamp(agg.min, agg.max))
                };
                SampleStats {
                    metric,
                    component: component_of(component),
                    labels: labels_of(&labels),
                    min: agg.min,
                    max: agg.max,
                    mean: agg.sum / agg.count as f64,
                    count: agg.count as u64,
                    p95,
                }
            })
            .collect())
    }
}

/// Pages on the store's free list.
async fn free_pages(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(conn)
        .await?)
}

/// Adds `rows` to the aggregates of `table` (whose time column is `column`), merging each with
/// the row already there.
async fn merge_into(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
    rows: &HashMap<(SeriesKey, i64), Agg>,
) -> Result<()> {
    for (((metric, component, labels), at), agg) in rows {
        let mut merged = agg.clone();
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT unit, min, max, sum, count, sketch FROM {table} \
             WHERE metric = ? AND {column} = ? AND component = ? AND labels = ?"
        )))
        .bind(metric)
        .bind(at)
        .bind(component)
        .bind(labels)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = existing {
            let sketch: Vec<u8> = r.try_get("sketch")?;
            let before = Agg {
                unit: r.try_get("unit")?,
                min: r.try_get("min")?,
                max: r.try_get("max")?,
                sum: r.try_get("sum")?,
                count: r.try_get("count")?,
                sketch: ValueSketch::decode(&sketch).unwrap_or_default(),
            };
            let newer_unit = merged.unit.take();
            merged.merge(&before);
            if newer_unit.is_some() {
                merged.unit = newer_unit;
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT OR REPLACE INTO {table} \
             (metric, {column}, component, labels, unit, min, max, sum, count, sketch) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )))
        .bind(metric)
        .bind(at)
        .bind(component)
        .bind(labels)
        .bind(&merged.unit)
        .bind(merged.min)
        .bind(merged.max)
        .bind(merged.sum)
        .bind(merged.count)
        .bind(merged.sketch.encode())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
