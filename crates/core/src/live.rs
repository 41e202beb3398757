//! Live metrics (DESIGN §3.4) and the metrics every alert rule may name without a collector
//! (DESIGN §4): figures of the operations over the live window, each against the window
//! before it.
//!
//! The rules, so a user can tell why the dashboard says what it says:
//!
//! - **Windows.** The *current* window is (now − window, now]; the *previous* window is the one
//!   before it, (now − 2·window, now − window]. Operations and samples outside both are
//!   ignored. A window that is not positive holds nothing, and then no rate is defined.
//! - **`operations_per_second`** = operations in the window / its seconds; 0 when there were
//!   none. **`errors_per_minute`** = failed operations / its minutes; 0 when there were none.
//! - **`mean_duration_ms`** = mean `duration_ms` of the operations in the window that have one
//!   (failed ones included: a timeout is slow too); `null` when none has one.
//!   **`p95_duration_ms`** = their 95th percentile by nearest rank, as in [`crate::perf`].
//! - **Memory** — **`memory_percent`** (from `memory_percent` samples) and **`memory_bytes`**
//!   (from `memory_used_bytes` samples): gauges, so a window's value is each series' latest
//!   sample in it (the latest in the previous window for `previous`), the series combined as
//!   the resource view combines them ([`crate::sample`]): percentages averaged, bytes added up.
//!   A figure is absent (`null`, shown as "no data", never 0) when neither window has a
//!   sample of it.
//! - **`change_percent`** = (value − previous) / previous × 100; `null` when either is missing
//!   or the previous value is 0 (no baseline to compare with).
//! - **`sparkline`**: the current window cut into equal buckets ([`SPARKLINE_BUCKETS`] unless
//!   the caller asks for more, as a live page over a longer span does), oldest
//!   first, each bucket (start, end] holding the figure's rule applied to its own operations
//!   (rates per its own length); `null` for a bucket where the figure is undefined (no
//!   durations, no memory sample). Memory takes each series' latest sample of each bucket.
//! - **`active_migrations`**: the datasets in flight by the one rule of [`crate::datasets`]
//!   (a `migration_start` newer than every attempt), as given; **`queue_depth`** and
//!   **`workers`**: the latest samples of those names, as given.
//! - **`metrics`**, for the alert engine, from the current window: `operations_per_second`;
//!   `error_rate` = failed / all operations (0..=1); `mean_duration_ms`; `p95_duration_ms`;
//!   `migration_success_rate` = successful `migration` operations / all of them (0..=1);
//!   `rollbacks` = `rollback` operations; `schedule_delay_days`, when given (it needs the plan
//!   and the forecast). A metric that is undefined (a rate of nothing) is absent rather than a
//!   made-up 0, so a rule on it does not fire on an empty window.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::operation::{NewOperation, kind};
use crate::perf;

/// The live window when none is configured.
pub const DEFAULT_WINDOW: Duration = Duration::minutes(5);
/// Points of each sparkline.
pub const SPARKLINE_BUCKETS: usize = 10;

/// What the live figures need of one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOperation {
    /// When it happened.
    pub timestamp: OffsetDateTime,
    /// Its type: `migration`, `rollback`, ….
    pub metric_type: String,
    /// Whether it succeeded.
    pub success: bool,
    /// How long it took in milliseconds, if known.
    pub duration_ms: Option<f64>,
    /// The dataset it concerns, if any.
    pub dataset_name: Option<String>,
}

impl From<&NewOperation> for LiveOperation {
    fn from(op: &NewOperation) -> Self {
        LiveOperation {
            timestamp: op.timestamp,
            metric_type: op.metric_type.clone(),
            success: op.success,
            duration_ms: op.duration_ms,
            dataset_name: op.dataset_name.clone(),
        }
    }
}

/// Everything the live figures are computed from.
#[derive(Debug, Clone, Copy)]
pub struct LiveInput<'a> {
    /// The current time: the end of the current window.
    pub now: OffsetDateTime,
    /// The window's length ([`DEFAULT_WINDOW`] unless configured).
    pub window: Duration,
    /// Operations of both windows, in any order (others are ignored).
    pub operations: &'a [LiveOperation],
    /// `memory_percent` samples, in any order (outside both windows ignored).
    pub memory_percent: &'a [GaugeSample],
    /// `memory_used_bytes` samples, in any order (outside both windows ignored).
    pub memory_used_bytes: &'a [GaugeSample],
    /// Datasets being migrated now: see [`active_migrations`].
    pub active_migrations: u64,
    /// The latest `queue_depth` sample, if any.
    pub queue_depth: Option<f64>,
    /// The latest `workers` sample, if any.
    pub workers: Option<f64>,
    /// Days the forecast slips past the planned end, when a forecast exists.
    pub schedule_delay_days: Option<f64>,
    /// How many buckets the sparklines cut the current window into ([`SPARKLINE_BUCKETS`]
    /// unless a longer window wants finer ones); at least 1.
    pub buckets: usize,
}

impl<'a> LiveInput<'a> {
    /// The input of `operations` over `window` ending at `now`, with no samples, no active
    /// migration and no forecast: set the other fields by struct update.
    pub fn new(
        now: OffsetDateTime,
        window: Duration,
        operations: &'a [LiveOperation],
    ) -> LiveInput<'a> {
        LiveInput {
            now,
            window,
            operations,
            memory_percent: &[],
            memory_used_bytes: &[],
            active_migrations: 0,
            queue_depth: None,
            workers: None,
            schedule_delay_days: None,
            buckets: SPARKLINE_BUCKETS,
        }
    }
}

/// One sample of a gauge (such as memory) for the live figures.
#[derive(Debug, Clone, PartialEq)]
pub struct GaugeSample {
    /// When it was measured.
    pub timestamp: OffsetDateTime,
    /// Which series it belongs to (one host, one database…): samples of the same series
    /// replace each other, samples of different series are combined.
    pub series: String,
    /// The value.
    pub value: f64,
}

impl From<&crate::sample::Sample> for GaugeSample {
    fn from(s: &crate::sample::Sample) -> Self {
        GaugeSample {
            timestamp: s.timestamp,
            series: crate::sample::series_key(s),
            value: s.value,
        }
    }
}

/// One live figure with its previous value, change and sparkline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figure {
    /// The figure over the current window; `null` when undefined.
    pub value: Option<f64>,
    /// The figure over the previous window; `null` when undefined.
    pub previous: Option<f64>,
    /// (value − previous) / previous × 100; `null` without both or when previous is 0.
    pub change_percent: Option<f64>,
    /// The figure per bucket of the current window, oldest first; `null` where undefined.
    pub sparkline: Vec<Option<f64>>,
    /// The unit of `value`, `previous` and the sparkline.
    pub unit: &'static str,
}

/// The live metrics view (DESIGN §3.4), with the named metrics for the alert engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveMetrics {
    /// When the figures were computed (the end of the current window).
    #[serde(with = "time::serde::rfc3339")]
    pub generated_at: OffsetDateTime,
    /// The window's length in seconds.
    pub window_seconds: f64,
    /// Operations per second.
    pub operations_per_second: Figure,
    /// Failed operations per minute.
    pub errors_per_minute: Figure,
    /// Mean duration in milliseconds.
    pub mean_duration_ms: Figure,
    /// 95th percentile of the durations in milliseconds.
    pub p95_duration_ms: Figure,
    /// Memory in use, percent (`memory_percent` samples); absent without samples.
    pub memory_percent: Option<Figure>,
    /// Memory in use, bytes (`memory_used_bytes` samples); absent without samples.
    pub memory_bytes: Option<Figure>,
    /// Datasets being migrated now.
    pub active_migrations: u64,
    /// The latest queue depth, if sampled.
    pub queue_depth: Option<f64>,
    /// The latest number of workers, if sampled.
    pub workers: Option<f64>,
    /// Operations in the current window.
    pub operations: u64,
    /// Failed operations in the current window.
    pub errors: u64,
    /// The named metrics of the current window (see the module's rules).
    pub metrics: BTreeMap<String, f64>,
}

/// (value − previous) / previous × 100, so its sign is that of value − previous; `None` when
/// either is missing or not finite, or previous is 0.
pub fn change_percent(value: Option<f64>, previous: Option<f64>) -> Option<f64> {
    let (v, p) = (value?, previous?);
    (v.is_finite() && p.is_finite() && p != 0.0).then(|| (v - p) / p.abs() * 100.0)
}

/// Which window an instant falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The previous window.
    Previous,
    /// The current window, in this sparkline bucket.
    Current(usize),
}

/// Places instants in the windows with integer nanoseconds, so no rounding moves an instant
/// across a boundary.
struct Windows {
    now: OffsetDateTime,
    window_ns: i128,
    buckets: usize,
}

impl Windows {
    fn slot(&self, t: OffsetDateTime) -> Option<Slot> {
        if self.window_ns <= 0 {
            return None;
        }
        // How far before now: [0, window) is current, [window, 2·window) previous.
        let before = (self.now - t).whole_nanoseconds();
        if before < 0 {
            None
        } else if before < self.window_ns {
            // Offset from the window's start, in (0, window]; bucket k holds
            // (k·w/N, (k+1)·w/N].
            let offset = self.window_ns - before;
            let n = self.buckets as i128;
            let k = (offset * n + self.window_ns - 1) / self.window_ns - 1;
            Some(Slot::Current(k.clamp(0, n - 1) as usize))
        } else if before < 2 * self.window_ns {
            Some(Slot::Previous)
        } else {
            None
        }
    }
}

/// Running figures of one set of operations (a window or a bucket).
#[derive(Default, Clone)]
struct Tally {
    operations: u64,
    errors: u64,
    durations: Vec<f64>,
    migrations: u64,
    migrations_ok: u64,
    rollbacks: u64,
}

impl Tally {
    fn add(&mut self, op: &LiveOperation) {
        self.operations += 1;
        if !op.success {
            self.errors += 1;
        }
        if let Some(d) = op.duration_ms.filter(|d| d.is_finite()) {
            self.durations.push(d);
        }
        match op.metric_type.as_str() {
            kind::MIGRATION => {
                self.migrations += 1;
                if op.success {
                    self.migrations_ok += 1;
                }
            }
            kind::ROLLBACK => self.rollbacks += 1,
            _ => {}
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.operations += other.operations;
        self.errors += other.errors;
        self.durations.extend_from_slice(&other.durations);
        self.migrations += other.migrations;
        self.migrations_ok += other.migrations_ok;
        self.rollbacks += other.rollbacks;
    }

    fn per_second(&self, seconds: f64) -> Option<f64> {
        (seconds > 0.0).then(|| self.operations as f64 / seconds)
    }

    fn errors_per_minute(&self, seconds: f64) -> Option<f64> {
        (seconds > 0.0).then(|| self.errors as f64 / (seconds / 60.0))
    }

    fn mean_duration(&self) -> Option<f64> {
        (!self.durations.is_empty())
            .then(|| self.durations.iter().sum::<f64>() / self.durations.len() as f64)
    }

    fn p95_duration(&self) -> Option<f64> {
        perf::metric(&self.durations).map(|m| m.p95)
    }
}

/// A figure from its rule for a whole window and its rule for one bucket (the same rule; only
/// rates differ, being per the bucket's own length).
fn figure(
    current: &Tally,
    previous: &Tally,
    buckets: &[Tally],
    unit: &'static str,
    window_rule: impl Fn(&Tally) -> Option<f64>,
    bucket_rule: impl Fn(&Tally) -> Option<f64>,
) -> Figure {
    let value = window_rule(current);
    let prev = window_rule(previous);
    Figure {
        value,
        previous: prev,
        change_percent: change_percent(value, prev),
        sparkline: buckets.iter().map(bucket_rule).collect(),
        unit,
    }
}

/// How the series of a gauge make one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Percentages: the mean of the series.
    Mean,
    /// Amounts: the sum of the series.
    Sum,
}

/// The latest sample of each series in one place (a window or a bucket).
type Latest<'a> = BTreeMap<&'a str, (OffsetDateTime, f64)>;

/// The series' latest values combined; `None` without any.
fn combine(latest: &Latest<'_>, how: Combine) -> Option<f64> {
    if latest.is_empty() {
        return None;
    }
    let sum: f64 = latest.values().map(|(_, v)| v).sum();
    Some(match how {
        Combine::Sum => sum,
        Combine::Mean => sum / latest.len() as f64,
    })
}

/// A gauge's figure: each series' latest sample per window and per bucket, combined; `None`
/// without any sample in either window. The current window's value combines each series'
/// latest sample anywhere in the window.
fn gauge_figure(
    windows: &Windows,
    samples: &[GaugeSample],
    how: Combine,
    unit: &'static str,
) -> Option<Figure> {
    let mut previous = Latest::new();
    let mut current = Latest::new();
    let mut buckets = vec![Latest::new(); windows.buckets];
    // A later sample of a series replaces an earlier one; a later one in the input wins a tie.
    fn keep<'a>(place: &mut Latest<'a>, s: &'a GaugeSample) {
        let slot = place.get(s.series.as_str());
        if slot.is_none_or(|(t, _)| s.timestamp >= *t) {
            place.insert(s.series.as_str(), (s.timestamp, s.value));
        }
    }
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        match windows.slot(s.timestamp) {
            Some(Slot::Current(k)) => {
                keep(&mut buckets[k], s);
                keep(&mut current, s);
            }
            Some(Slot::Previous) => keep(&mut previous, s),
            None => {}
        }
    }
    let value = combine(&current, how);
    let prev = combine(&previous, how);
    if value.is_none() && prev.is_none() {
        return None;
    }
    Some(Figure {
        value,
        previous: prev,
        change_percent: change_percent(value, prev),
        sparkline: buckets.iter().map(|b| combine(b, how)).collect(),
        unit,
    })
}

/// The live metrics of the input (see the module's rules).
pub fn live_metrics(input: &LiveInput<'_>) -> LiveMetrics {
    let windows = Windows {
        now: input.now,
        window_ns: input.window.whole_nanoseconds(),
        buckets: input.buckets.max(1),
    };
    let seconds = input.window.as_seconds_f64().max(0.0);
    let bucket_seconds = seconds / windows.buckets as f64;

    let mut buckets = vec![Tally::default(); windows.buckets];
    let mut previous = Tally::default();
    for op in input.operations {
        match windows.slot(op.timestamp) {
            Some(Slot::Current(k)) => buckets[k].add(op),
            Some(Slot::Previous) => previous.add(op),
            None => {}
        }
    }
    let mut current = Tally::default();
    for b in &buckets {
        current.merge(b);
    }

    let per_second = |secs: f64| move |t: &Tally| t.per_second(secs);
    let per_minute = |secs: f64| move |t: &Tally| t.errors_per_minute(secs);
    let (c, p, b) = (&current, &previous, &buckets[..]);
    let ops_per_second = figure(
        c,
        p,
        b,
        "ops/s",
        per_second(seconds),
        per_second(bucket_seconds),
    );
    let errors_per_minute = figure(
        c,
        p,
        b,
        "errors/min",
        per_minute(seconds),
        per_minute(bucket_seconds),
    );
    let mean_duration_ms = figure(c, p, b, "ms", Tally::mean_duration, Tally::mean_duration);
    let p95_duration_ms = figure(c, p, b, "ms", Tally::p95_duration, Tally::p95_duration);

    let mut metrics = BTreeMap::new();
    let mut put = |name: &str, v: Option<f64>| {
        if let Some(v) = v {
            metrics.insert(name.to_owned(), v);
        }
    };
    put("operations_per_second", ops_per_second.value);
    put(
        "error_rate",
        (current.operations > 0).then(|| current.errors as f64 / current.operations as f64),
    );
    put("mean_duration_ms", mean_duration_ms.value);
    put("p95_duration_ms", p95_duration_ms.value);
    put(
        "migration_success_rate",
        (current.migrations > 0).then(|| current.migrations_ok as f64 / current.migrations as f64),
    );
    put("rollbacks", Some(current.rollbacks as f64));
    put("schedule_delay_days", input.schedule_delay_days);

    LiveMetrics {
        generated_at: input.now,
        window_seconds: seconds,
        operations_per_second: ops_per_second,
        errors_per_minute,
        mean_duration_ms,
        p95_duration_ms,
        memory_percent: gauge_figure(&windows, input.memory_percent, Combine::Mean, "%"),
        memory_bytes: gauge_figure(&windows, input.memory_used_bytes, Combine::Sum, "bytes"),
        active_migrations: input.active_migrations,
        queue_depth: input.queue_depth,
        workers: input.workers,
        operations: current.operations,
        errors: current.errors,
        metrics,
    }
}

/// The kind of a [`MetricStream`] point, as the specification names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum StreamType {
    /// Throughput and migration activity.
    Operation,
    /// Failures.
    Error,
    /// Durations.
    Performance,
    /// Memory, queues, workers.
    Resource,
}

/// A warning and a critical level for a stream point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamThreshold {
    /// The warning level.
    pub warning: f64,
    /// The critical level.
    pub critical: f64,
}

/// One point of a live metric (the specification's `MetricStream`, plus `metric`), as sent
/// in `metrics:update` messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricStream {
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// Operation, error, performance or resource.
    pub metric_type: StreamType,
    /// The component it concerns; `null` for the whole migration.
    pub component: Option<String>,
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// Its levels, when a rule sets them; none yet.
    pub threshold: Option<StreamThreshold>,
    /// Which figure of [`LiveMetrics`] it is.
    pub metric: &'static str,
}

/// The live metrics as stream points, one per figure that has a value, for the whole
/// migration.
pub fn metric_streams(m: &LiveMetrics) -> Vec<MetricStream> {
    let figure = |f: &Figure| f.value.map(|v| (v, f.unit));
    let points = [
        (
            "operations_per_second",
            StreamType::Operation,
            figure(&m.operations_per_second),
        ),
        (
            "errors_per_minute",
            StreamType::Error,
            figure(&m.errors_per_minute),
        ),
        (
            "mean_duration_ms",
            StreamType::Performance,
            figure(&m.mean_duration_ms),
        ),
        (
            "p95_duration_ms",
            StreamType::Performance,
            figure(&m.p95_duration_ms),
        ),
        (
            "memory_percent",
            StreamType::Resource,
            m.memory_percent.as_ref().and_then(figure),
        ),
        (
            "memory_bytes",
            StreamType::Resource,
            m.memory_bytes.as_ref().and_then(figure),
        ),
        (
            "active_migrations",
            StreamType::Operation,
            Some((m.active_migrations as f64, "datasets")),
        ),
        (
            "queue_depth",
            StreamType::Resource,
            m.queue_depth.map(|v| (v, "items")),
        ),
        (
            "workers",
            StreamType::Resource,
            m.workers.map(|v| (v, "workers")),
        ),
    ];
    points
        .into_iter()
        .filter_map(|(metric, metric_type, v)| {
            v.map(|(value, unit)| MetricStream {
                timestamp: m.generated_at,
                metric_type,
                component: None,
                value,
                unit,
                threshold: None,
                metric,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-03 12:00 UTC);

    fn op(
        secs_before_now: f64,
        metric_type: &str,
        success: bool,
        duration: Option<f64>,
    ) -> LiveOperation {
        LiveOperation {
            timestamp: NOW - Duration::seconds_f64(secs_before_now),
            metric_type: metric_type.to_owned(),
            success,
            duration_ms: duration,
            dataset_name: None,
        }
    }

    fn input(ops: &[LiveOperation]) -> LiveInput<'_> {
        LiveInput::new(NOW, DEFAULT_WINDOW, ops)
    }

    fn gauge(secs_before_now: i64, series: &str, value: f64) -> GaugeSample {
        GaugeSample {
            timestamp: NOW - Duration::seconds(secs_before_now),
            series: series.to_owned(),
            value,
        }
    }

    #[test]
    fn a_longer_window_cut_into_more_buckets_keeps_each_operation_in_its_own() {
        // One hour in 60 buckets of a minute: an operation 30 s ago is in the last bucket,
        // one 59.5 minutes ago in the first, one 61 minutes ago in the previous window.
        let ops = [
            op(30.0, "migration", true, Some(10.0)),
            op(3570.0, "migration", false, Some(30.0)),
            op(3660.0, "migration", true, Some(20.0)),
        ];
        let m = live_metrics(&LiveInput {
            buckets: 60,
            ..LiveInput::new(NOW, Duration::hours(1), &ops)
        });
        assert_eq!(m.window_seconds, 3600.0);
        assert_eq!((m.operations, m.errors), (2, 1));
        let spark = &m.operations_per_second.sparkline;
        assert_eq!(spark.len(), 60);
        assert_eq!(spark[59], Some(1.0 / 60.0));
        assert_eq!(spark[0], Some(1.0 / 60.0));
        assert!(spark[1..59].iter().all(|v| *v == Some(0.0)));
        assert_eq!(m.operations_per_second.previous, Some(1.0 / 3600.0));
        // No bucket at all is read as one: the window is still counted whole.
        let one = live_metrics(&LiveInput {
            buckets: 0,
            ..LiveInput::new(NOW, Duration::hours(1), &ops)
        });
        assert_eq!(
            one.operations_per_second.sparkline,
            vec![Some(2.0 / 3600.0)]
        );
    }

    #[test]
    fn empty_windows() {
        let m = live_metrics(&input(&[]));
        assert_eq!(m.window_seconds, 300.0);
        let ops = &m.operations_per_second;
        assert_eq!(
            (ops.value, ops.previous, ops.change_percent),
            (Some(0.0), Some(0.0), None)
        );
        assert_eq!(ops.sparkline, vec![Some(0.0); SPARKLINE_BUCKETS]);
        assert_eq!(m.errors_per_minute.value, Some(0.0));
        for f in [&m.mean_duration_ms, &m.p95_duration_ms] {
            assert_eq!((f.value, f.previous, f.change_percent), (None, None, None));
            assert_eq!(f.sparkline, vec![None; SPARKLINE_BUCKETS]);
        }
        assert_eq!(m.memory_bytes, None);
        assert_eq!((m.operations, m.errors), (0, 0));
        assert_eq!(
            m.metrics,
            BTreeMap::from([
                ("operations_per_second".to_owned(), 0.0),
                ("rollbacks".to_owned(), 0.0)
            ]),
            "undefined metrics are absent, not 0"
        );
    }

    #[test]
    fn figures_of_both_windows() {
        let mut ops = vec![
            // Current window: 6 operations, 2 failed, durations 10..=50 (one without).
            op(1.0, "dataset_read", true, Some(10.0)),
            op(20.0, "dataset_read", true, Some(20.0)),
            op(40.0, "migration", false, Some(30.0)),
            op(100.0, "migration", true, Some(40.0)),
            op(200.0, "rollback", true, Some(50.0)),
            op(299.0, "error", false, None),
            // Previous window: 3 operations, none failed.
            op(301.0, "dataset_read", true, Some(100.0)),
            op(400.0, "dataset_read", true, Some(100.0)),
            op(599.0, "dataset_read", true, Some(100.0)),
            // Outside both.
            op(600.0, "dataset_read", false, Some(1.0)),
            op(-1.0, "dataset_read", false, Some(1.0)),
        ];
        ops.reverse(); // any order
        let m = live_metrics(&input(&ops));
        assert_eq!((m.operations, m.errors), (6, 2));
        let f = &m.operations_per_second;
        assert_eq!(
            (f.value, f.previous),
            (Some(6.0 / 300.0), Some(3.0 / 300.0))
        );
        assert!((f.change_percent.unwrap() - 100.0).abs() < 1e-9);
        let f = &m.errors_per_minute;
        assert_eq!(
            (f.value, f.previous, f.change_percent),
            (Some(2.0 / 5.0), Some(0.0), None)
        );
        let f = &m.mean_duration_ms;
        assert_eq!((f.value, f.previous), (Some(30.0), Some(100.0)));
        assert!((f.change_percent.unwrap() + 70.0).abs() < 1e-9);
        assert_eq!(m.p95_duration_ms.value, Some(50.0));
        assert_eq!(m.metrics["error_rate"], 2.0 / 6.0);
        assert_eq!(m.metrics["migration_success_rate"], 0.5);
        assert_eq!(m.metrics["rollbacks"], 1.0);
        assert_eq!(m.metrics["mean_duration_ms"], 30.0);
        assert_eq!(m.metrics["p95_duration_ms"], 50.0);
        assert!(!m.metrics.contains_key("schedule_delay_days"));
    }

    #[test]
    fn window_boundaries() {
        struct Case {
            name: &'static str,
            before_now: Duration,
            want: Option<Slot>,
        }
        let w = DEFAULT_WINDOW;
        let ns = Duration::nanoseconds(1);
        let cases = [
            Case {
                name: "now is in the last bucket",
                before_now: Duration::ZERO,
                want: Some(Slot::Current(9)),
            },
            Case {
                name: "after now: ignored",
                before_now: -ns,
                want: None,
            },
            Case {
                name: "just inside the window: first bucket",
                before_now: w - ns,
                want: Some(Slot::Current(0)),
            },
            Case {
                name: "a bucket's end belongs to it",
                before_now: w - w / 10,
                want: Some(Slot::Current(0)),
            },
            Case {
                name: "just past a bucket's end: next bucket",
                before_now: w - w / 10 - ns,
                want: Some(Slot::Current(1)),
            },
            Case {
                name: "the window's start belongs to the previous",
                before_now: w,
                want: Some(Slot::Previous),
            },
            Case {
                name: "just inside the previous",
                before_now: w * 2 - ns,
                want: Some(Slot::Previous),
            },
            Case {
                name: "two windows back: ignored",
                before_now: w * 2,
                want: None,
            },
        ];
        let windows = Windows {
            now: NOW,
            window_ns: w.whole_nanoseconds(),
            buckets: SPARKLINE_BUCKETS,
        };
        for c in cases {
            assert_eq!(windows.slot(NOW - c.before_now), c.want, "{}", c.name);
        }
        let none = Windows {
            now: NOW,
            window_ns: 0,
            buckets: SPARKLINE_BUCKETS,
        };
        assert_eq!(none.slot(NOW), None, "an empty window holds nothing");
    }

    #[test]
    fn zero_window_defines_no_rate() {
        let ops = [op(0.0, "dataset_read", true, Some(1.0))];
        let mut i = input(&ops);
        i.window = Duration::ZERO;
        let m = live_metrics(&i);
        assert_eq!(m.window_seconds, 0.0);
        assert_eq!(m.operations_per_second.value, None);
        assert_eq!(m.errors_per_minute.value, None);
        assert_eq!(m.operations, 0);
        assert_eq!(
            m.operations_per_second.sparkline,
            vec![None; SPARKLINE_BUCKETS]
        );
        assert!(!m.metrics.contains_key("operations_per_second"));
    }

    #[test]
    fn change_percent_rule() {
        let cases = [
            (Some(110.0), Some(100.0), Some(10.0)),
            (Some(30.0), Some(100.0), Some(-70.0)),
            (Some(5.0), Some(5.0), Some(0.0)),
            (Some(5.0), Some(0.0), None),
            (Some(0.0), Some(5.0), Some(-100.0)),
            (None, Some(5.0), None),
            (Some(5.0), None, None),
            (Some(f64::NAN), Some(5.0), None),
            // A negative baseline (not a figure of this view, but a rule must hold): the
            // sign still follows value − previous.
            (Some(-1.0), Some(-2.0), Some(50.0)),
        ];
        for (v, p, want) in cases {
            assert_eq!(change_percent(v, p), want, "{v:?} vs {p:?}");
        }
    }

    #[test]
    fn memory_is_the_latest_sample() {
        let samples = [
            gauge(10, "host", 4.0e9),
            gauge(5, "host", 4.2e9),
            gauge(280, "host", 3.0e9),
            gauge(290, "host", 2.0e9),
            gauge(310, "host", 3.5e9),
            gauge(550, "host", 1.0e9),
            gauge(700, "host", 9.9e9),  // outside both windows
            gauge(1, "host", f64::NAN), // not a value
        ];
        let mut i = input(&[]);
        i.memory_used_bytes = &samples;
        let m = live_metrics(&i);
        assert_eq!(
            m.memory_percent, None,
            "no percent sample: no percent figure"
        );
        let mem = m.memory_bytes.unwrap();
        assert_eq!((mem.value, mem.previous), (Some(4.2e9), Some(3.5e9)));
        assert!((mem.change_percent.unwrap() - 20.0).abs() < 1e-9);
        let mut want = vec![None; SPARKLINE_BUCKETS];
        want[0] = Some(3.0e9);
        want[9] = Some(4.2e9);
        assert_eq!(mem.sparkline, want);
        assert_eq!(mem.unit, "bytes");

        let only_previous = [gauge(400, "host", 1.0)];
        i.memory_used_bytes = &only_previous;
        let mem = live_metrics(&i).memory_bytes.unwrap();
        assert_eq!(
            (mem.value, mem.previous, mem.change_percent),
            (None, Some(1.0), None)
        );
        i.memory_used_bytes = &samples[6..7];
        assert_eq!(
            live_metrics(&i).memory_bytes,
            None,
            "no sample in either window"
        );
    }

    #[test]
    fn memory_series_are_averaged_as_percentages_and_added_as_bytes() {
        let percent = [
            gauge(20, "a", 40.0),
            gauge(10, "a", 50.0), // a's latest
            gauge(15, "b", 70.0),
            gauge(400, "a", 30.0),
            gauge(400, "b", 50.0),
        ];
        let used = [gauge(20, "a", 1.0e9), gauge(15, "b", 3.0e9)];
        let i = LiveInput {
            memory_percent: &percent,
            memory_used_bytes: &used,
            ..input(&[])
        };
        let m = live_metrics(&i);
        let p = m.memory_percent.clone().unwrap();
        assert_eq!((p.value, p.previous), (Some(60.0), Some(40.0)));
        assert!((p.change_percent.unwrap() - 50.0).abs() < 1e-9);
        assert_eq!(p.unit, "%");
        // The last bucket (30 s wide) holds a's 50 and b's 70; earlier buckets nothing.
        assert_eq!(p.sparkline[9], Some(60.0));
        assert_eq!(p.sparkline[..9], [None; 9]);
        assert_eq!(m.memory_bytes.as_ref().and_then(|f| f.value), Some(4.0e9));
        let names: Vec<_> = metric_streams(&m).iter().map(|s| s.metric).collect();
        assert!(names.contains(&"memory_percent") && names.contains(&"memory_bytes"));
    }

    #[test]
    fn inputs_passed_through() {
        let mut i = input(&[]);
        i.active_migrations = 3;
        i.queue_depth = Some(12.0);
        i.workers = Some(8.0);
        i.schedule_delay_days = Some(4.5);
        let m = live_metrics(&i);
        assert_eq!(
            (m.active_migrations, m.queue_depth, m.workers),
            (3, Some(12.0), Some(8.0))
        );
        assert_eq!(m.metrics["schedule_delay_days"], 4.5);
        let streams = metric_streams(&m);
        let names: Vec<_> = streams.iter().map(|s| s.metric).collect();
        // No durations, no memory: those points are left out.
        assert_eq!(
            names,
            [
                "operations_per_second",
                "errors_per_minute",
                "active_migrations",
                "queue_depth",
                "workers"
            ]
        );
        assert!(
            streams
                .iter()
                .all(|s| s.timestamp == NOW && s.component.is_none())
        );
        assert_eq!(streams[3].value, 12.0);
        assert_eq!(streams[3].metric_type, StreamType::Resource);
    }

    #[test]
    fn from_new_operation() {
        let mut o = NewOperation::new(NOW, "migration", "migrate");
        o.dataset_name = Some("sales".into());
        o.success = false;
        o.duration_ms = Some(12.5);
        let l = LiveOperation::from(&o);
        assert_eq!(
            l,
            LiveOperation {
                timestamp: NOW,
                metric_type: "migration".into(),
                success: false,
                duration_ms: Some(12.5),
                dataset_name: Some("sales".into()),
            }
        );
    }

    #[test]
    fn json_snapshot() {
        let ops: Vec<LiveOperation> = (0..60)
            .map(|i| {
                let secs = f64::from(i) * 10.0 + 0.5;
                let kind = match i % 10 {
                    0 => "migration",
                    7 => "rollback",
                    _ => "dataset_read",
                };
                op(secs, kind, i % 13 != 0, Some(f64::from(i % 7 + 1) * 15.0))
            })
            .collect();
        let memory: Vec<GaugeSample> = (0..20)
            .map(|i| gauge(i * 30, "host", 4.0e9 - i as f64 * 1.0e7))
            .collect();
        let percent: Vec<GaugeSample> = (0..20)
            .map(|i| gauge(i * 30, "host", 60.0 - i as f64 * 0.5))
            .collect();
        let i = LiveInput {
            memory_used_bytes: &memory,
            memory_percent: &percent,
            active_migrations: 3,
            queue_depth: Some(12.0),
            workers: Some(8.0),
            schedule_delay_days: Some(6.0),
            ..input(&ops)
        };
        let m = live_metrics(&i);
        insta::assert_json_snapshot!("live_metrics", m);
        insta::assert_json_snapshot!("live_metric_streams", metric_streams(&m));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn ops_within(window_ns: i64) -> impl Strategy<Value = Vec<LiveOperation>> {
            prop::collection::vec(
                (
                    // From a little after now to a little past two windows back.
                    -1_000_000i64..window_ns * 2 + 1_000_000,
                    any::<bool>(),
                    prop::option::of(0u32..100_000),
                ),
                0..200,
            )
            .prop_map(|v| {
                v.into_iter()
                    .map(|(before, success, d)| LiveOperation {
                        timestamp: NOW - Duration::nanoseconds(before),
                        metric_type: "dataset_read".into(),
                        success,
                        duration_ms: d.map(|d| f64::from(d) / 10.0),
                        dataset_name: None,
                    })
                    .collect()
            })
        }

        fn sign(x: f64) -> i8 {
            if x > 0.0 {
                1
            } else if x < 0.0 {
                -1
            } else {
                0
            }
        }

        proptest! {
            #[test]
            fn sparklines_add_up_and_changes_follow_the_values(
                (window_ns, ops) in (1_000_000_000i64..3_600_000_000_000)
                    .prop_flat_map(|w| (Just(w), ops_within(w)))
            ) {
                let i = LiveInput { window: Duration::nanoseconds(window_ns), ..input(&ops) };
                let m = live_metrics(&i);
                let bucket_seconds = m.window_seconds / SPARKLINE_BUCKETS as f64;

                // The current window's operations, counted directly.
                let window = Duration::nanoseconds(window_ns);
                let current: Vec<&LiveOperation> = ops
                    .iter()
                    .filter(|o| o.timestamp <= NOW && o.timestamp > NOW - window)
                    .collect();
                let errors = current.iter().filter(|o| !o.success).count() as f64;
                prop_assert_eq!(m.operations, current.len() as u64);
                prop_assert_eq!(m.errors as f64, errors);

                let figures = [
                    &m.operations_per_second,
                    &m.errors_per_minute,
                    &m.mean_duration_ms,
                    &m.p95_duration_ms,
                ];
                for f in figures {
                    prop_assert_eq!(f.sparkline.len(), SPARKLINE_BUCKETS);
                    match (f.value, f.previous) {
                        (Some(v), Some(p)) if p != 0.0 => {
                            let c = f.change_percent;
                            prop_assert!(c.is_some_and(|c| sign(c) == sign(v - p)), "{:?}", f);
                        }
                        _ => prop_assert_eq!(f.change_percent, None, "{:?}", f),
                    }
                }
                // Each bucket's rate times its length is its count; the counts add up.
                let sum = |f: &Figure| f.sparkline.iter().flatten().sum::<f64>();
                let ops_sum = sum(&m.operations_per_second) * bucket_seconds;
                let n = current.len() as f64;
                prop_assert!((ops_sum - n).abs() < 1e-6, "{} vs {}", ops_sum, n);
                let err_sum = sum(&m.errors_per_minute) * bucket_seconds / 60.0;
                prop_assert!((err_sum - errors).abs() < 1e-6, "{} vs {}", err_sum, errors);
                // The window has a mean duration exactly when one of its operations has a
                // duration, and then so does one of its buckets.
                let with_durations = current.iter().any(|o| o.duration_ms.is_some());
                prop_assert_eq!(m.mean_duration_ms.value.is_some(), with_durations);
                let any_bucket = m.mean_duration_ms.sparkline.iter().any(Option::is_some);
                prop_assert_eq!(any_bucket, with_durations);
            }
        }
    }
}
