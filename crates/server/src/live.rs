//! The live metrics of the moment (DESIGN §3.4), read from the store the same way for the API,
//! the WebSocket's pushes and the pages.

use mhd_core::live::{DEFAULT_WINDOW, GaugeSample, LiveInput, LiveMetrics, LiveOperation};
use mhd_core::operation::kind;
use mhd_store::{OperationFilter, Store};
use time::{Duration, OffsetDateTime};

use crate::state::AppState;

/// How far back the count of datasets being migrated looks for `migration_start` operations.
pub const ACTIVE_LOOKBACK: Duration = Duration::days(7);
/// Most operations of each kind read for that count.
const ACTIVE_ROWS: u32 = 100_000;

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
    state: &AppState,
    now: OffsetDateTime,
    schedule_delay_days: Option<f64>,
) -> mhd_store::Result<LiveMetrics> {
    // The current window ends at `now` inclusive; the store's range is half-open.
    let until = now + Duration::microseconds(1);
    let operations: Vec<LiveOperation> = state
        .store
        .operations_between(now - DEFAULT_WINDOW * 2, until)
        .await?
        .iter()
        .map(LiveOperation::from)
        .collect();
    let active = active_migrations(state, now).await?;
    let samples = state
        .store
        .samples_between(&SAMPLE_METRICS, now - DEFAULT_WINDOW * 2, until)
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
        mhd_core::sample::history(&samples, metric, now - DEFAULT_WINDOW * 2, until, 1)
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
        ..LiveInput::new(now, DEFAULT_WINDOW, &operations)
    }))
}

/// Datasets being migrated now, from the starts of the last [`ACTIVE_LOOKBACK`] and the
/// migrations since the oldest of them (read by type: two index range scans).
pub async fn active_migrations(state: &AppState, now: OffsetDateTime) -> mhd_store::Result<u64> {
    let filter = |metric_type: &str, since| OperationFilter {
        limit: ACTIVE_ROWS,
        metric_type: Some(metric_type.to_owned()),
        since: Some(since),
        ..OperationFilter::default()
    };
    let starts = state
        .store
        .recent_operations(&filter(kind::MIGRATION_START, now - ACTIVE_LOOKBACK))
        .await?;
    let Some(oldest) = starts.iter().map(|o| o.op.timestamp).min() else {
        return Ok(0);
    };
    let migrations = state
        .store
        .recent_operations(&filter(kind::MIGRATION, oldest))
        .await?;
    let ops: Vec<LiveOperation> = starts
        .iter()
        .chain(&migrations)
        .map(|o| LiveOperation::from(&o.op))
        .collect();
    Ok(mhd_core::live::active_migrations(&ops))
}
