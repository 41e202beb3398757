//! The live metrics of the moment (DESIGN §3.4), read from the store the same way for the API,
//! the WebSocket's pushes and the pages.

use mhd_core::live::{
    DEFAULT_WINDOW, GaugeSample, LiveInput, LiveMetrics, LiveOperation, SPARKLINE_BUCKETS,
};
use mhd_store::Store;
use mhd_store::prelude::*;
use time::{Duration, OffsetDateTime};

use mhd_core::plan::Plan;
use mhd_store::Database;

/// The sample metrics the live figures read: memory in percent and in bytes, the queue's depth
/// and the workers.
pub const SAMPLE_METRICS: [&str; 4] = [
    "memory_percent",
    "memory_used_bytes",
    "queue_depth",
    "workers",
];

/// The live metrics as of `now`: the last [`DEFAULT_WINDOW`] against the one before it.
/// `schedule_delay_days` comes from the forecast, when the caller has one at hand. Memory
/// comes from the `memory_percent` and `memory_used_bytes` samples of both windows; the queue
/// depth and the workers are the latest samples of those names in them (several series added
/// up), absent without one.
pub async fn metrics(
    store: &Database,
    plan: Option<&Plan>,
    now: OffsetDateTime,
    schedule_delay_days: Option<f64>,
) -> mhd_store::Result<LiveMetrics> {
    metrics_over(
        store,
        plan,
        LiveSpan {
            end: now,
            window: DEFAULT_WINDOW,
            buckets: SPARKLINE_BUCKETS,
        },
        schedule_delay_days,
    )
    .await
}

/// The window the live figures cover: `window` ending at `end`, its charts cut into `buckets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSpan {
    /// The end of the current window (inclusive).
    pub end: OffsetDateTime,
    /// The current window's length; the previous window is as long, just before it.
    pub window: Duration,
    /// Buckets of the charts.
    pub buckets: usize,
}

/// The live metrics of `span` against the window before it, by the rules of [`metrics`]; the
/// datasets being migrated are those of now whatever the span.
pub async fn metrics_over(
    store: &Database,
    plan: Option<&Plan>,
    span: LiveSpan,
    schedule_delay_days: Option<f64>,
) -> mhd_store::Result<LiveMetrics> {
    let LiveSpan {
        end: now,
        window,
        buckets,
    } = span;
    // The current window ends at `now` inclusive; the store's range is half-open.
    let until = now + Duration::microseconds(1);
    let operations: Vec<LiveOperation> = store
        .operations_between(now - window * 2, until)
        .await?
        .iter()
        .map(LiveOperation::from)
        .collect();
    let active = active_migrations(store, plan).await?;
    let samples = store
        .samples_between(&SAMPLE_METRICS, now - window * 2, until)
        .await?;
    let gauges = |metric: &str| -> Vec<GaugeSample> {
        samples
            .iter()
            .filter(|s| s.metric == metric)
            .map(GaugeSample::from)
            .collect()
    };
    let (memory_percent, memory_used_bytes) =
        (gauges("memory_percent"), gauges("memory_used_bytes"));
    let latest = |metric: &str| {
        mhd_core::sample::history(&samples, metric, now - window * 2, until, 1)
            .first()
            .copied()
            .flatten()
    };
    Ok(mhd_core::live::live_metrics(&LiveInput {
        memory_percent: &memory_percent,
        memory_used_bytes: &memory_used_bytes,
        active_migrations: active,
        queue_depth: latest("queue_depth"),
        workers: latest("workers"),
        schedule_delay_days,
        buckets,
        ..LiveInput::new(now, window, &operations)
    }))
}

/// Datasets being migrated now: those in flight by the one rule of [`mhd_core::datasets`],
/// the same the view model and the alerts count (with a plan that lists its datasets, only
/// listed ones count).
pub async fn active_migrations(store: &Database, plan: Option<&Plan>) -> mhd_store::Result<u64> {
    let stored = store.datasets(None).await?;
    Ok(mhd_core::datasets::book(plan, &stored).in_flight())
}
