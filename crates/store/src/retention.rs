//! Retention (the plan's `[retention]`, DESIGN §8): the store stays bounded, and no clean-up
//! ever changes how far the migration is.
//!
//! One pass ([`RetentionStore::run_retention`]) first rolls the raw samples not yet counted up
//! into the 1-minute, 1-hour and 1-day aggregates, then deletes what is past its retention, kind by
//! kind, in small transactions of at most [`BATCH`] rows with a pause between them, so that a
//! write arriving meanwhile waits one batch at most. What the views read of the migration is
//! never pruned: each dataset's state (`datasets`), the per-day migration counts
//! (`migration_days`), and the operations of type `milestone` and `phase_complete`, which mark
//! the timeline.
//!
//! Both backends run the same pass, written once here: its order, its batches, the aggregates'
//! arithmetic and the SQL (with `$n` parameters, which both read); each backend only opens its
//! transactions, binds values and decodes rows ([`Backend`]). Where they differ:
//!
//! - SQLite last runs `PRAGMA incremental_vacuum`, handing the freed pages back to the file
//!   system when the store was made with `auto_vacuum = INCREMENTAL` (every store made since
//!   schema version 14); an older store keeps them on its free list, where later writes reuse
//!   them, so the file stops growing but does not shrink until
//!   [`SqliteStore::vacuum_into_incremental`] rewrites it once. PostgreSQL needs nothing of the
//!   kind: autovacuum makes the deleted rows' space reusable.
//! - On PostgreSQL several replicas (and `mhd retention run`) may run a pass at once: each of a
//!   pass's transactions holds an advisory lock, so that two passes take turns batch by batch and
//!   a sample is counted into the aggregates once. And since a sample's id is drawn before its
//!   transaction commits, a later id may commit first: the roll-up only counts samples up to an
//!   id every write of samples has finished with (see `PgStore`'s `sample_horizon`), so that
//!   none is skipped.
//!
//! Samples are read back over a span through [`RetentionStore::sample_buckets`] and
//! [`RetentionStore::sample_stats`], which take the aggregates where the span is long or past the
//! raw samples' retention, and the raw samples not yet rolled up on top of them, in one
//! snapshot: the two are disjoint, so nothing is counted twice or missed.

use std::collections::{BTreeMap, HashMap};
use std::ops::DerefMut;

use mhd_core::plan::RetentionSettings;
pub use mhd_core::sample::SampleStats;
use mhd_core::sketch::ValueSketch;
use serde::Serialize;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection};
use time::{Duration, OffsetDateTime};

use crate::Result;
use crate::sqlite::{HOUR_US, SqliteStore, WriteTx, from_us, to_us};

/// The most rows one retention transaction deletes or rolls up: a few milliseconds of work, so
/// a write waits at most that long.
pub const BATCH: i64 = 2_000;

/// The pause between two batches, in which waiting writers take the store.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(2);

/// Pages handed back to the file system per `incremental_vacuum` step.
const VACUUM_STEP: i64 = 1_000;

/// Aggregate rows read or written by one statement of the roll-up (10 values each written).
const ROWS_PER_STATEMENT: usize = 500;

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
    /// Bytes handed back to the file system by the incremental vacuum (SQLite; always 0 on
    /// PostgreSQL, whose autovacuum makes the space of deleted rows reusable by itself).
    pub bytes_freed: u64,
    /// Bytes freed inside the file but kept by it (a SQLite store made without incremental
    /// vacuum; always 0 on PostgreSQL).
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SampleResolution))]
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
    pub fn unit_us(self) -> i64 {
        match self {
            Resolution::Raw => 1,
            Resolution::Minute => MINUTE_US,
            Resolution::Hour => HOUR_US,
            Resolution::Day => DAY_US,
        }
    }

    /// The aggregates it reads (`None` for the raw samples).
    fn level(self) -> Option<Level> {
        match self {
            Resolution::Raw => None,
            Resolution::Minute => Some(MINUTES),
            Resolution::Hour => Some(HOURS),
            Resolution::Day => Some(DAYS),
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

/// One level of the aggregates: its table, its time column (whole units since 1970-01-01 UTC)
/// and the length of its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    table: &'static str,
    column: &'static str,
    unit_us: i64,
}

/// The 1-minute aggregates.
const MINUTES: Level = Level {
    table: "sample_minutes",
    column: "minute",
    unit_us: MINUTE_US,
};
/// The 1-hour aggregates.
const HOURS: Level = Level {
    table: "sample_hours",
    column: "hour",
    unit_us: HOUR_US,
};
/// The 1-day aggregates.
const DAYS: Level = Level {
    table: "sample_days",
    column: "day",
    unit_us: DAY_US,
};

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

    /// The row's figures (`unit` only where the query reads it).
    fn read(r: &impl ReadRow, with_unit: bool) -> Result<Agg> {
        Ok(Agg {
            unit: if with_unit { r.opt_text("unit")? } else { None },
            min: r.real("min")?,
            max: r.real("max")?,
            sum: r.real("sum")?,
            count: r.int("count")?,
            sketch: ValueSketch::decode(&r.bytes("sketch")?).unwrap_or_default(),
        })
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

/// A value bound to a statement's `$n`.
#[derive(Debug, Clone)]
pub(crate) enum Bind<'a> {
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// Text or NULL.
    OptText(Option<&'a str>),
    /// Bytes.
    Bytes(Vec<u8>),
    /// Ids, read by the backend's [`Backend::in_ids`].
    Ids(&'a [i64]),
}

/// A row of either backend, read by column name.
pub(crate) trait ReadRow {
    fn int(&self, column: &str) -> Result<i64>;
    fn real(&self, column: &str) -> Result<f64>;
    fn text(&self, column: &str) -> Result<String>;
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>>;
}

impl<R> ReadRow for R
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }
    fn real(&self, column: &str) -> Result<f64> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn bytes(&self, column: &str) -> Result<Vec<u8>> {
        Ok(self.try_get(column)?)
    }
}

/// What the pass and the reads of samples ask of a backend: transactions, statements with
/// bound values, rows, and the few steps that are its own.
pub(crate) trait Backend: Sync {
    /// A connection, on which statements run.
    type Conn: Send;
    /// A write transaction of the pass (see [`Backend::begin_pass_write`]).
    type Write: DerefMut<Target = Self::Conn> + Send;
    /// A read-only transaction seeing one snapshot.
    type Read: DerefMut<Target = Self::Conn> + Send;
    /// A row read back.
    type Row: ReadRow + Send;

    /// `column IN` the ids bound as parameter `$param` ([`Bind::Ids`]), as the backend says it.
    fn in_ids(param: usize) -> String;
    /// Placeholders of `n` parameters, `$first` on, in a statement where every parameter
    /// stands once and in order (SQLite looks a numbered one up by walking the list of them,
    /// which a statement of thousands makes slow; it numbers a plain `?` by its place).
    fn in_order(first: usize, n: usize) -> String;
    /// What comes before a column that a read of the raw samples not yet rolled up must not look
    /// up by its index (SQLite's planner would read the whole span through it otherwise).
    const NOT_BY_INDEX: &'static str;

    /// Begins a write transaction of a retention pass: on PostgreSQL it holds the pass's
    /// advisory lock, so that the transactions of passes run at once take turns.
    fn begin_pass_write(&self) -> impl Future<Output = Result<Self::Write>> + Send;
    /// Commits it.
    fn commit(&self, tx: Self::Write) -> impl Future<Output = Result<()>> + Send;
    /// Begins a read-only transaction that sees one snapshot throughout.
    fn begin_read(&self) -> impl Future<Output = Result<Self::Read>> + Send;
    /// Ends it.
    fn end_read(&self, read: Self::Read) -> impl Future<Output = Result<()>> + Send;
    /// Runs `sql` with `binds`, returning its rows.
    fn fetch(
        conn: &mut Self::Conn,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<Vec<Self::Row>>> + Send;
    /// Runs `sql` with `binds`, returning the rows it changed.
    fn execute(
        conn: &mut Self::Conn,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> impl Future<Output = Result<u64>> + Send;
    /// The highest sample id such that every write of samples that drew an id up to it has
    /// ended: the roll-up counts no sample past it, so that none with a lower id commits after
    /// the mark passed it.
    fn sample_horizon(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Hands the space freed by the pass back, if the backend does that: (bytes handed back to
    /// the file system, bytes free inside the store for later writes).
    fn hand_back_space(&self) -> impl Future<Output = Result<(u64, u64)>> + Send;
    /// The aggregates' part of recent reads of samples ([`BucketCache`]).
    fn bucket_cache(&self) -> &BucketCache;
}

/// Retention on a store: one pass, the roll-up alone, and the samples read back over a span.
pub trait RetentionStore: Sync {
    /// Runs one retention pass as of `now` (see the module's rules), returning what it did.
    fn run_retention(
        &self,
        settings: &RetentionSettings,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<RetentionReport>> + Send {
        let cut = Cutoffs::of(settings, now);
        async move { self.run_retention_until(&cut).await }
    }

    /// [`RetentionStore::run_retention`] with each kind's cutoff given.
    fn run_retention_until(
        &self,
        cut: &Cutoffs,
    ) -> impl Future<Output = Result<RetentionReport>> + Send;

    /// Counts the raw samples not yet rolled up into the 1-minute, 1-hour and 1-day aggregates,
    /// in batches, returning how many.
    fn roll_up_samples(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Every series of `metrics` over `[since, until)` in buckets of `bucket` (rounded to
    /// whole rows of `resolution`, and `since` down to one), oldest first: from the raw samples,
    /// or from the aggregates with the raw samples not yet rolled up added.
    fn sample_buckets(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket: Duration,
        resolution: Resolution,
    ) -> impl Future<Output = Result<Vec<SampleBucket>>> + Send;

    /// The metrics with samples at or after `since` (raw ones, or counted in the 1-day
    /// aggregates), by name: every series a chart of the span can show.
    fn sample_metrics(
        &self,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Each series of `metric` over `[since, until)`: min, max, mean, count and p95, from the
    /// raw samples or from the aggregates of `resolution` with the raw samples not yet rolled
    /// up added (see [`SampleStats::p95`] for its precision).
    fn sample_stats(
        &self,
        metric: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
        resolution: Resolution,
    ) -> impl Future<Output = Result<Vec<SampleStats>>> + Send;
}

impl<B: Backend> RetentionStore for B {
    async fn run_retention_until(&self, cut: &Cutoffs) -> Result<RetentionReport> {
        run_pass(self, cut).await
    }

    async fn roll_up_samples(&self) -> Result<u64> {
        roll_up(self).await
    }

    async fn sample_buckets(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket: Duration,
        resolution: Resolution,
    ) -> Result<Vec<SampleBucket>> {
        read_buckets(self, metrics, since, until, bucket, resolution).await
    }

    async fn sample_stats(
        &self,
        metric: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
        resolution: Resolution,
    ) -> Result<Vec<SampleStats>> {
        read_stats(self, metric, since, until, resolution).await
    }

    async fn sample_metrics(&self, since: OffsetDateTime) -> Result<Vec<String>> {
        let mut read = self.begin_read().await?;
        let outcome: Result<Vec<String>> = async {
            let mut out =
                metrics_of::<B>(&mut read, "samples", Some(("timestamp_us", to_us(since)))).await?;
            let first_day = to_us(since).div_euclid(DAY_US);
            out.extend(
                metrics_of::<B>(&mut read, DAYS.table, Some((DAYS.column, first_day))).await?,
            );
            Ok(out)
        }
        .await;
        self.end_read(read).await?;
        let mut out = outcome?;
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// One retention pass with the cutoffs `cut`.
async fn run_pass<B: Backend>(b: &B, cut: &Cutoffs) -> Result<RetentionReport> {
    let mut report = RetentionReport {
        samples_rolled_up: roll_up(b).await?,
        ..RetentionReport::default()
    };
    report.samples = prune_raw_samples(b, cut.samples).await?;
    let [minutes, hours, days] = prune_sample_rollups(b, cut.sample_rollups).await?;
    report.sample_minutes = minutes;
    report.sample_hours = hours;
    report.sample_days = days;
    report.operations = prune_operations(b, cut.operations).await?;
    let (runs, cases) = prune_test_runs(b, cut.test_runs).await?;
    report.test_runs = runs;
    report.test_cases = cases;
    let (alerts, events, deliveries) = prune_resolved_alerts(b, cut.resolved_alerts).await?;
    report.alerts = alerts;
    report.alert_events = events;
    report.deliveries = deliveries + prune_deliveries(b, cut.deliveries).await?;
    let (freed, reusable) = b.hand_back_space().await?;
    report.bytes_freed = freed;
    report.bytes_reusable = reusable;
    Ok(report)
}

/// The mark: the highest sample id counted in the aggregates (every sample up to it is, none
/// after it).
const ROLLED_UP_MARK: &str = "SELECT value FROM retention_marks WHERE name = 'samples_rolled_up'";

/// Counts the raw samples not yet rolled up (up to the backend's horizon) into the aggregates,
/// a batch per transaction, returning how many.
async fn roll_up<B: Backend>(b: &B) -> Result<u64> {
    let horizon = b.sample_horizon().await?;
    let mut total = 0u64;
    loop {
        let counted = roll_up_batch(b, horizon).await?;
        total += counted;
        if (counted as i64) < BATCH {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Counts the next [`BATCH`] samples past the mark (and up to `horizon`) into the aggregates
/// and moves the mark past them, in one transaction; returns how many it counted.
async fn roll_up_batch<B: Backend>(b: &B, horizon: i64) -> Result<u64> {
    let mut tx = b.begin_pass_write().await?;
    let done = mark::<B>(&mut tx).await?;
    let rows = B::fetch(
        &mut tx,
        "SELECT id, timestamp_us, metric, value, unit, COALESCE(component, '') AS component, \
         COALESCE(labels, '') AS labels FROM samples WHERE id > $1 AND id <= $2 \
         ORDER BY id LIMIT $3",
        &[Bind::Int(done), Bind::Int(horizon), Bind::Int(BATCH)],
    )
    .await?;
    let Some(last) = rows.last() else {
        b.commit(tx).await?;
        return Ok(0);
    };
    let last = last.int("id")?;
    let mut minutes: HashMap<(SeriesKey, i64), Agg> = HashMap::new();
    for r in &rows {
        let at = r.int("timestamp_us")?;
        let key: SeriesKey = (r.text("metric")?, r.text("component")?, r.text("labels")?);
        minutes
            .entry((key, at.div_euclid(MINUTE_US)))
            .or_insert_with(Agg::new)
            .add(r.real("value")?, r.opt_text("unit")?);
    }
    let hours = coarser(&minutes, MINUTES, HOURS);
    let days = coarser(&hours, HOURS, DAYS);
    merge_into::<B>(&mut tx, MINUTES, minutes).await?;
    merge_into::<B>(&mut tx, HOURS, hours).await?;
    merge_into::<B>(&mut tx, DAYS, days).await?;
    B::execute(
        &mut tx,
        "UPDATE retention_marks SET value = $1 WHERE name = 'samples_rolled_up'",
        &[Bind::Int(last)],
    )
    .await?;
    b.commit(tx).await?;
    Ok(rows.len() as u64)
}

/// The rows of `finer` (of level `from`) added up per row of level `to`.
fn coarser(
    finer: &HashMap<(SeriesKey, i64), Agg>,
    from: Level,
    to: Level,
) -> HashMap<(SeriesKey, i64), Agg> {
    let mut out: HashMap<(SeriesKey, i64), Agg> = HashMap::new();
    for ((key, at), agg) in finer {
        out.entry((key.clone(), (at * from.unit_us).div_euclid(to.unit_us)))
            .or_insert_with(Agg::new)
            .merge(agg);
    }
    out
}

/// `$first, $first+1, …` for `n` values.
pub(crate) fn params(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Adds `rows` to the aggregates of `level`, merging each with the row already there, a few
/// hundred rows a statement.
async fn merge_into<B: Backend>(
    conn: &mut B::Conn,
    level: Level,
    rows: HashMap<(SeriesKey, i64), Agg>,
) -> Result<()> {
    let Level { table, column, .. } = level;
    let rows: Vec<((SeriesKey, i64), Agg)> = rows.into_iter().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let keys = (0..chunk.len())
            .map(|i| format!("({})", B::in_order(4 * i + 1, 4)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut binds = Vec::with_capacity(4 * chunk.len());
        for ((key, at), _) in chunk {
            binds.extend([
                Bind::Text(&key.0),
                Bind::Int(*at),
                Bind::Text(&key.1),
                Bind::Text(&key.2),
            ]);
        }
        // A join with the keys, which both backends look up through the primary key.
        let existing = B::fetch(
            conn,
            &format!(
                "SELECT t.metric, t.{column} AS at, t.component, t.labels, t.unit, t.min, t.max, \
                 t.sum, t.count, t.sketch FROM (VALUES {keys}) AS k JOIN {table} t \
                 ON t.metric = k.column1 AND t.{column} = k.column2 \
                 AND t.component = k.column3 AND t.labels = k.column4"
            ),
            &binds,
        )
        .await?;
        let mut before: HashMap<(SeriesKey, i64), Agg> = HashMap::with_capacity(existing.len());
        for r in &existing {
            before.insert(
                (
                    (r.text("metric")?, r.text("component")?, r.text("labels")?),
                    r.int("at")?,
                ),
                Agg::read(r, true)?,
            );
        }
        let merged: Vec<Agg> = chunk
            .iter()
            .map(|(key, agg)| {
                let mut merged = agg.clone();
                if let Some(before) = before.get(key) {
                    // The newer samples' unit wins over the one already there.
                    let newer_unit = merged.unit.take();
                    merged.merge(before);
                    if newer_unit.is_some() {
                        merged.unit = newer_unit;
                    }
                }
                merged
            })
            .collect();
        let values = (0..chunk.len())
            .map(|i| format!("({})", B::in_order(10 * i + 1, 10)))
            .collect::<Vec<_>>()
            .join(", ");
        let mut binds = Vec::with_capacity(10 * chunk.len());
        for (((metric, component, labels), at), agg) in chunk.iter().map(|(k, _)| k).zip(&merged) {
            binds.extend([
                Bind::Text(metric),
                Bind::Int(*at),
                Bind::Text(component),
                Bind::Text(labels),
                Bind::OptText(agg.unit.as_deref()),
                Bind::Real(agg.min),
                Bind::Real(agg.max),
                Bind::Real(agg.sum),
                Bind::Int(agg.count),
                Bind::Bytes(agg.sketch.encode()),
            ]);
        }
        B::execute(
            conn,
            &format!(
                "INSERT INTO {table} \
                 (metric, {column}, component, labels, unit, min, max, sum, count, sketch) \
                 VALUES {values} ON CONFLICT (metric, {column}, component, labels) DO UPDATE SET \
                 unit = excluded.unit, min = excluded.min, max = excluded.max, \
                 sum = excluded.sum, count = excluded.count, sketch = excluded.sketch"
            ),
            &binds,
        )
        .await?;
    }
    Ok(())
}

/// Runs `sql` (a `DELETE` of at most `$2` rows older than `$1`, `extra` bound from `$3` on)
/// until it deletes fewer than [`BATCH`], one transaction each, pausing between them. Returns
/// the rows deleted.
async fn delete_in_batches<B: Backend>(
    b: &B,
    sql: &str,
    cut: i64,
    extra: &[Bind<'_>],
) -> Result<u64> {
    let mut binds = vec![Bind::Int(cut), Bind::Int(BATCH)];
    binds.extend_from_slice(extra);
    let mut total = 0u64;
    loop {
        let mut tx = b.begin_pass_write().await?;
        let n = B::execute(&mut tx, sql, &binds).await?;
        b.commit(tx).await?;
        total += n;
        if (n as i64) < BATCH {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Deletes the raw samples older than `before` that the aggregates count, in batches.
async fn prune_raw_samples<B: Backend>(b: &B, before: OffsetDateTime) -> Result<u64> {
    delete_in_batches(
        b,
        "DELETE FROM samples WHERE id IN (SELECT id FROM samples WHERE timestamp_us < $1 \
         AND id <= (SELECT value FROM retention_marks WHERE name = 'samples_rolled_up') \
         LIMIT $2)",
        to_us(before),
        &[],
    )
    .await
}

/// Deletes the 1-minute, 1-hour and 1-day aggregates that start before `before`, metric by
/// metric, in batches.
async fn prune_sample_rollups<B: Backend>(b: &B, before: OffsetDateTime) -> Result<[u64; 3]> {
    let mut out = [0u64; 3];
    for (
        i,
        Level {
            table,
            column,
            unit_us,
        },
    ) in [MINUTES, HOURS, DAYS].into_iter().enumerate()
    {
        let mut read = b.begin_read().await?;
        let metrics = metrics_of::<B>(&mut read, table, None).await;
        b.end_read(read).await?;
        let metrics = metrics?;
        // Rows that started before the cutoff are gone; one that straddles it stays.
        let first_kept = to_us(before).div_euclid(unit_us);
        let sql = format!(
            "DELETE FROM {table} WHERE (metric, {column}, component, labels) IN ( \
               SELECT metric, {column}, component, labels FROM {table} \
               WHERE metric = $3 AND {column} < $1 LIMIT $2)"
        );
        for metric in &metrics {
            out[i] += delete_in_batches(b, &sql, first_kept, &[Bind::Text(metric)]).await?;
        }
    }
    if out.iter().any(|&n| n > 0) {
        // Reads that kept the aggregates' part of a chart read it again (see [`BucketCache`]).
        let mut tx = b.begin_pass_write().await?;
        B::execute(
            &mut tx,
            "UPDATE retention_marks SET value = value + 1 WHERE name = 'aggregates_pruned'",
            &[],
        )
        .await?;
        b.commit(tx).await?;
    }
    Ok(out)
}

/// The metrics of `table` (one that leads an index with `metric`), by skipping through that
/// index: a few rows read per metric. With `(column, at)`, only those with a row whose
/// `column` is at least `at`.
async fn metrics_of<B: Backend>(
    conn: &mut B::Conn,
    table: &str,
    since: Option<(&str, i64)>,
) -> Result<Vec<String>> {
    let (filter, binds) = match since {
        Some((column, at)) => (
            format!(
                " AND EXISTS (SELECT 1 FROM {table} t WHERE t.metric = m.metric \
                 AND t.{column} >= $1)"
            ),
            vec![Bind::Int(at)],
        ),
        None => (String::new(), Vec::new()),
    };
    B::fetch(
        conn,
        &format!(
            "WITH RECURSIVE m(metric) AS ( \
               SELECT MIN(metric) FROM {table} \
               UNION ALL \
               SELECT (SELECT MIN(t.metric) FROM {table} t WHERE t.metric > m.metric) \
               FROM m WHERE m.metric IS NOT NULL) \
             SELECT metric FROM m WHERE metric IS NOT NULL{filter}"
        ),
        &binds,
    )
    .await?
    .iter()
    .map(|r| r.text("metric"))
    .collect()
}

/// Deletes the operations older than `before`, but for the types the timeline reads
/// ([`KEPT_TYPES`]), in batches; then brings the hourly operation counts of the hours it
/// touched in step with what is left, and drops the component windows of those hours.
/// Datasets keep their states and `migration_days` its history.
async fn prune_operations<B: Backend>(b: &B, before: OffsetDateTime) -> Result<u64> {
    let cut = to_us(before);
    let deleted = delete_in_batches(
        b,
        "DELETE FROM operations WHERE id IN (SELECT id FROM operations \
         WHERE timestamp_us < $1 AND metric_type NOT IN ($3, $4) LIMIT $2)",
        cut,
        &KEPT_TYPES.map(Bind::Text),
    )
    .await?;
    let cut_hour = cut.div_euclid(HOUR_US);
    let mut tx = b.begin_pass_write().await?;
    // The hours up to the cutoff's own are counted again from the operations left in them
    // (the kept types, and the cutoff hour's newer operations).
    B::execute(
        &mut tx,
        "DELETE FROM operation_rollup WHERE hour <= $1",
        &[Bind::Int(cut_hour)],
    )
    .await?;
    B::execute(
        &mut tx,
        "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
         success_duration_sum, success_duration_count) \
         SELECT (timestamp_us - ((timestamp_us % $1) + $1) % $1) / $1, metric_type, COUNT(*), \
         CAST(SUM(success) AS BIGINT), \
         COALESCE(SUM(CASE WHEN success = 1 THEN duration_ms END), 0.0), \
         COUNT(CASE WHEN success = 1 THEN duration_ms END) \
         FROM operations WHERE timestamp_us < $2 GROUP BY 1, 2",
        &[Bind::Int(HOUR_US), Bind::Int((cut_hour + 1) * HOUR_US)],
    )
    .await?;
    B::execute(
        &mut tx,
        "DELETE FROM component_rollup WHERE hour < $1",
        &[Bind::Int(cut_hour)],
    )
    .await?;
    b.commit(tx).await?;
    Ok(deleted)
}

/// Deletes the test runs older than `before` with their cases, in batches, keeping each
/// suite's newest [`mhd_core::testview::TREND_RUNS`] runs (those its trend shows)
/// whatever their age. Returns (runs, cases) deleted.
async fn prune_test_runs<B: Backend>(b: &B, before: OffsetDateTime) -> Result<(u64, u64)> {
    let [cases, runs] = delete_by_ids(
        b,
        "SELECT id FROM test_runs t WHERE run_at_us < $1 AND ( \
           SELECT COUNT(*) FROM test_runs n WHERE n.suite = t.suite \
           AND (n.run_at_us > t.run_at_us OR (n.run_at_us = t.run_at_us AND n.id > t.id)) \
         ) >= $2 ORDER BY run_at_us, id LIMIT $3",
        &[
            Bind::Int(to_us(before)),
            Bind::Int(mhd_core::testview::TREND_RUNS as i64),
            // Runs carry their cases: fewer runs per batch.
            Bind::Int(BATCH / 20),
        ],
        [("test_cases", "run_id"), ("test_runs", "id")],
    )
    .await?;
    Ok((runs, cases))
}

/// Deletes the alerts resolved before `before` with their events, acknowledgements,
/// deliveries and Jira links, in batches. Open alerts are never deleted. Returns (alerts,
/// events and acknowledgements, deliveries) deleted.
async fn prune_resolved_alerts<B: Backend>(
    b: &B,
    before: OffsetDateTime,
) -> Result<(u64, u64, u64)> {
    let [events, acks, deliveries, _, alerts] = delete_by_ids(
        b,
        "SELECT id FROM alerts WHERE state = 'resolved' AND resolved_at_us < $1 \
         ORDER BY resolved_at_us, id LIMIT $2",
        &[Bind::Int(to_us(before)), Bind::Int(BATCH / 10)],
        [
            ("alert_events", "alert_id"),
            ("alert_acks", "alert_id"),
            ("deliveries", "alert_id"),
            ("jira_issues", "alert_id"),
            ("alerts", "id"),
        ],
    )
    .await?;
    Ok((alerts, events + acks, deliveries))
}

/// Runs `select` (the ids of a batch, `binds` bound) and deletes, in its transaction, the rows
/// of each `(table, column)` whose column holds one of them, in order, until it finds none.
/// Returns the rows deleted per table.
async fn delete_by_ids<B: Backend, const N: usize>(
    b: &B,
    select: &str,
    binds: &[Bind<'_>],
    tables: [(&str, &str); N],
) -> Result<[u64; N]> {
    let mut deleted = [0u64; N];
    loop {
        let mut tx = b.begin_pass_write().await?;
        let ids = B::fetch(&mut tx, select, binds)
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<Result<Vec<i64>>>()?;
        if ids.is_empty() {
            b.commit(tx).await?;
            return Ok(deleted);
        }
        for (n, (table, column)) in deleted.iter_mut().zip(tables) {
            *n += B::execute(
                &mut tx,
                &format!("DELETE FROM {table} WHERE {column} {}", B::in_ids(1)),
                &[Bind::Ids(&ids)],
            )
            .await?;
        }
        b.commit(tx).await?;
        tokio::time::sleep(PAUSE).await;
    }
}

/// Deletes the deliveries made before `before` that were sent or gave up, of alerts that
/// are resolved (or gone), in batches: a pending delivery, or one of an alert still open,
/// stays, so that whoever heard "firing" hears "resolved" and nothing is sent twice.
async fn prune_deliveries<B: Backend>(b: &B, before: OffsetDateTime) -> Result<u64> {
    delete_in_batches(
        b,
        "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d \
         WHERE d.state <> 'pending' AND d.created_at_us < $1 AND NOT EXISTS ( \
           SELECT 1 FROM alerts a WHERE a.id = d.alert_id AND a.state <> 'resolved') \
         LIMIT $2)",
        to_us(before),
        &[],
    )
    .await
}

/// The buckets of a read of samples, by bucket index and series.
type Buckets = BTreeMap<(i64, SeriesKey), SampleBucket>;

/// Adds one row of grouped samples or aggregates (`b`, the series, `unit`, `lo`, `hi`,
/// `total`, `n`) to its bucket, the buckets starting at `start` and `bucket_us` long.
fn add_row(out: &mut Buckets, r: &impl ReadRow, start: i64, bucket_us: i64) -> Result<()> {
    let key: SeriesKey = (r.text("metric")?, r.text("component")?, r.text("labels")?);
    let b = r.int("b")?;
    let entry = out.entry((b, key.clone())).or_insert_with(|| SampleBucket {
        start: from_us(start + b * bucket_us),
        metric: key.0,
        component: component_of(key.1),
        labels: labels_of(&key.2),
        unit: None,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        sum: 0.0,
        count: 0,
    });
    entry.min = entry.min.min(r.real("lo")?);
    entry.max = entry.max.max(r.real("hi")?);
    entry.sum += r.real("total")?;
    entry.count += r.int("n")?.max(0) as u64;
    if let Some(unit) = r.opt_text("unit")? {
        entry.unit = Some(unit);
    }
    Ok(())
}

/// What the aggregates' part of a read of samples depends on: the read (table, metrics, first
/// row, end, bucket length) and the state of the aggregates, which only a retention pass
/// changes, and then always moves one of its two marks (the roll-up's, or the count of
/// prunings of the aggregates).
#[derive(Debug, Clone, PartialEq, Eq)]
struct BucketKey {
    table: &'static str,
    metrics: Vec<String>,
    start: i64,
    end_row: i64,
    bucket_us: i64,
    rolled_up: i64,
    pruned: i64,
}

/// The aggregates' part of the latest reads of samples: a chart over 90 days reads 90 rows of
/// aggregates per series, which change once per retention pass (hourly), while its page is
/// read far more often. Each read still reads the raw samples not yet rolled up, so it sees
/// every sample stored; the part kept here is keyed by the marks read in the read's own
/// snapshot, so a pass run by this process, another one (`mhd retention run`) or another
/// replica on the same database is seen by the next read.
#[derive(Debug)]
pub struct BucketCache(mhd_core::recent::Recent<BucketKey, std::sync::Arc<Buckets>>);

impl Default for BucketCache {
    fn default() -> BucketCache {
        // The pages' ranges, each read for a few metric groups.
        BucketCache(mhd_core::recent::Recent::new(16))
    }
}

impl BucketCache {
    fn get(&self, key: &BucketKey) -> Option<std::sync::Arc<Buckets>> {
        self.0.get(key)
    }

    fn put(&self, key: BucketKey, buckets: std::sync::Arc<Buckets>) {
        // Marks only grow: what was read under older ones is never asked for again.
        let (rolled_up, pruned) = (key.rolled_up, key.pruned);
        self.0.put(key, buckets, |k| {
            k.rolled_up < rolled_up || k.pruned < pruned
        });
    }
}

/// The samples of a span per series and bucket, in one snapshot (see
/// [`RetentionStore::sample_buckets`]).
async fn read_buckets<B: Backend>(
    b: &B,
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
    let in_metrics = params(6, metrics.len());
    let metric_binds = metrics.iter().map(|m| Bind::Text(m));
    let mut out = Buckets::new();
    let mut read = b.begin_read().await?;
    let outcome = async {
        let mut raw_after = 0i64;
        if let Some(Level { table, column, .. }) = resolution.level() {
            let (rolled_up, pruned) = marks::<B>(&mut read).await?;
            raw_after = rolled_up;
            let key = BucketKey {
                table,
                metrics: metrics.iter().map(|m| m.to_string()).collect(),
                start,
                end_row: (end + unit - 1) / unit,
                bucket_us,
                rolled_up,
                pruned,
            };
            let cache = b.bucket_cache();
            let part = match cache.get(&key) {
                Some(part) => part,
                None => {
                    let mut binds = vec![
                        Bind::Int(unit),
                        Bind::Int(start),
                        Bind::Int(bucket_us),
                        Bind::Int(start / unit),
                        Bind::Int(key.end_row),
                    ];
                    binds.extend(metric_binds.clone());
                    let rows = B::fetch(
                        &mut read,
                        &format!(
                            "SELECT ({column} * $1 - $2) / $3 AS b, metric, component, labels, \
                             MAX(unit) AS unit, MIN(min) AS lo, MAX(max) AS hi, \
                             SUM(sum) AS total, CAST(SUM(count) AS BIGINT) AS n FROM {table} \
                             WHERE metric IN ({in_metrics}) AND {column} >= $4 \
                             AND {column} < $5 GROUP BY 1, 2, 3, 4"
                        ),
                        &binds,
                    )
                    .await?;
                    let mut part = Buckets::new();
                    for r in &rows {
                        add_row(&mut part, r, start, bucket_us)?;
                    }
                    let part = std::sync::Arc::new(part);
                    cache.put(key, part.clone());
                    part
                }
            };
            out = (*part).clone();
        }
        // The raw samples: all of the span's through the index on (metric, time), or those
        // the aggregates do not count yet, few and the newest, by their ids.
        let plus = if resolution.level().is_some() {
            B::NOT_BY_INDEX
        } else {
            ""
        };
        let mut binds = vec![
            Bind::Int(start),
            Bind::Int(bucket_us),
            Bind::Int(raw_after),
            Bind::Int(start),
            Bind::Int(end),
        ];
        binds.extend(metric_binds);
        let rows = B::fetch(
            &mut read,
            &format!(
                "SELECT (timestamp_us - $1) / $2 AS b, metric, \
                 COALESCE(component, '') AS component, COALESCE(labels, '') AS labels, \
                 MAX(unit) AS unit, MIN(value) AS lo, MAX(value) AS hi, SUM(value) AS total, \
                 COUNT(*) AS n FROM samples WHERE id > $3 AND {plus}metric IN ({in_metrics}) \
                 AND {plus}timestamp_us >= $4 AND timestamp_us < $5 GROUP BY 1, 2, 3, 4"
            ),
            &binds,
        )
        .await?;
        rows.iter()
            .try_for_each(|r| add_row(&mut out, r, start, bucket_us))
    }
    .await;
    b.end_read(read).await?;
    outcome?;
    let mut buckets: Vec<SampleBucket> = out.into_values().collect();
    buckets.sort_by(|a, b| {
        (a.start, &a.metric, &a.component).cmp(&(b.start, &b.metric, &b.component))
    });
    Ok(buckets)
}

/// The two marks of the aggregates, read in `conn`'s transaction: the roll-up's, and how many
/// passes pruned aggregates (0 before the first).
async fn marks<B: Backend>(conn: &mut B::Conn) -> Result<(i64, i64)> {
    let rows = B::fetch(
        conn,
        "SELECT name, value FROM retention_marks \
         WHERE name IN ('samples_rolled_up', 'aggregates_pruned')",
        &[],
    )
    .await?;
    let (mut rolled_up, mut pruned) = (0, 0);
    for r in &rows {
        match r.text("name")?.as_str() {
            "samples_rolled_up" => rolled_up = r.int("value")?,
            _ => pruned = r.int("value")?,
        }
    }
    Ok((rolled_up, pruned))
}

/// The roll-up's mark, read in `conn`'s transaction.
async fn mark<B: Backend>(conn: &mut B::Conn) -> Result<i64> {
    let rows = B::fetch(conn, ROLLED_UP_MARK, &[]).await?;
    Ok(rows
        .first()
        .map(|r| r.int("value"))
        .transpose()?
        .unwrap_or(0))
}

/// Each series of a metric over a span, in one snapshot (see
/// [`RetentionStore::sample_stats`]).
async fn read_stats<B: Backend>(
    b: &B,
    metric: &str,
    since: OffsetDateTime,
    until: OffsetDateTime,
    resolution: Resolution,
) -> Result<Vec<SampleStats>> {
    let mut series: BTreeMap<SeriesKey, (Agg, Vec<f64>)> = BTreeMap::new();
    let key = |r: &B::Row| -> Result<SeriesKey> {
        Ok((metric.to_owned(), r.text("component")?, r.text("labels")?))
    };
    let mut read = b.begin_read().await?;
    let outcome = async {
        let mut raw_after = 0i64;
        if let Some(Level {
            table,
            column,
            unit_us,
        }) = resolution.level()
        {
            raw_after = mark::<B>(&mut read).await?;
            let rows = B::fetch(
                &mut read,
                &format!(
                    "SELECT component, labels, min, max, sum, count, sketch FROM {table} \
                     WHERE metric = $1 AND {column} >= $2 AND {column} < $3"
                ),
                &[
                    Bind::Text(metric),
                    Bind::Int(to_us(since).div_euclid(unit_us)),
                    Bind::Int((to_us(until) + unit_us - 1).div_euclid(unit_us)),
                ],
            )
            .await?;
            for r in &rows {
                let agg = Agg::read(r, false)?;
                series
                    .entry(key(r)?)
                    .or_insert_with(|| (Agg::new(), Vec::new()))
                    .0
                    .merge(&agg);
            }
        }
        let plus = if resolution.level().is_some() {
            B::NOT_BY_INDEX
        } else {
            ""
        };
        let rows = B::fetch(
            &mut read,
            &format!(
                "SELECT COALESCE(component, '') AS component, COALESCE(labels, '') AS labels, \
                 value FROM samples WHERE id > $1 AND {plus}metric = $2 \
                 AND {plus}timestamp_us >= $3 AND timestamp_us < $4"
            ),
            &[
                Bind::Int(raw_after),
                Bind::Text(metric),
                Bind::Int(to_us(since)),
                Bind::Int(to_us(until)),
            ],
        )
        .await?;
        for r in &rows {
            let v = r.real("value")?;
            let (agg, values) = series
                .entry(key(r)?)
                .or_insert_with(|| (Agg::new(), Vec::new()));
            agg.add(v, None);
            values.push(v);
        }
        Ok::<_, crate::StoreError>(())
    }
    .await;
    b.end_read(read).await?;
    outcome?;
    let exact = resolution.level().is_none();
    Ok(series
        .into_iter()
        .filter(|(_, (agg, _))| agg.count > 0)
        .map(|((metric, component, labels), (agg, mut values))| {
            let p95 = if exact {
                values.sort_by(f64::total_cmp);
                let rank = ((0.95 * values.len() as f64).ceil() as usize).clamp(1, values.len());
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

/// `sql` with `binds` bound, for SQLite.
fn sqlite_query(
    sql: &str,
    binds: &[Bind<'_>],
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Real(v) => q.bind(*v),
            Bind::Text(v) => q.bind((*v).to_owned()),
            Bind::OptText(v) => q.bind(v.map(str::to_owned)),
            Bind::Bytes(v) => q.bind(v.clone()),
            // One JSON array, read back with `json_each`.
            Bind::Ids(ids) => q.bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())),
        };
    }
    q
}

impl Backend for SqliteStore {
    type Conn = SqliteConnection;
    type Write = WriteTx;
    type Read = PoolConnection<Sqlite>;
    type Row = SqliteRow;

    fn in_ids(param: usize) -> String {
        format!("IN (SELECT value FROM json_each(${param}))")
    }
    fn in_order(_first: usize, n: usize) -> String {
        vec!["?"; n].join(", ")
    }
    // The unary `+` keeps SQLite from reading every sample of the span through the index.
    const NOT_BY_INDEX: &'static str = "+";

    async fn begin_pass_write(&self) -> Result<WriteTx> {
        // One writer at a time: passes run at once take turns by themselves.
        self.begin_write().await
    }

    async fn commit(&self, tx: WriteTx) -> Result<()> {
        tx.commit().await
    }

    async fn begin_read(&self) -> Result<PoolConnection<Sqlite>> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        Ok(conn)
    }

    async fn end_read(&self, mut conn: PoolConnection<Sqlite>) -> Result<()> {
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        Ok(())
    }

    async fn fetch(
        conn: &mut SqliteConnection,
        sql: &str,
        binds: &[Bind<'_>],
    ) -> Result<Vec<SqliteRow>> {
        Ok(sqlite_query(sql, binds).fetch_all(conn).await?)
    }

    async fn execute(conn: &mut SqliteConnection, sql: &str, binds: &[Bind<'_>]) -> Result<u64> {
        Ok(sqlite_query(sql, binds)
            .execute(conn)
            .await?
            .rows_affected())
    }

    async fn sample_horizon(&self) -> Result<i64> {
        // Writes take turns and an id is drawn inside its write: ids commit in order.
        Ok(i64::MAX)
    }

    async fn hand_back_space(&self) -> Result<(u64, u64)> {
        self.vacuum_freed_pages().await
    }

    fn bucket_cache(&self) -> &BucketCache {
        &self.bucket_cache
    }
}

impl SqliteStore {
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
}

/// Pages on the store's free list.
async fn free_pages(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("PRAGMA freelist_count")
        .fetch_one(conn)
        .await?)
}
