//! Retention in a running server: [`start`] runs the store's retention pass (the plan's
//! `[retention]`, see [`mhd_store::retention`]) once shortly after start, then every
//! [`RUN_EVERY`], as `mhd retention run` does on demand. The pass works in small batches, so
//! the server's own writes go on meanwhile. Every replica runs it, not only the leader: on a
//! shared PostgreSQL store passes running at once take turns batch by batch, and what one has
//! done the other finds done.

use std::time::Duration;

use mhd_core::plan::{Plan, RetentionSettings};
use mhd_store::retention::RetentionReport;
use tokio::task::JoinHandle;

use time::OffsetDateTime;

use crate::plan::PlanInForce;
use crate::recorder::{Change, Recorder};

/// How long after start the first pass runs: late enough not to slow the start.
pub const FIRST_RUN_AFTER: Duration = Duration::from_secs(60);
/// How often the pass runs after the first.
pub const RUN_EVERY: Duration = Duration::from_secs(3600);

/// The retention the server keeps: the plan's, else the defaults.
pub fn settings(plan: Option<&Plan>) -> RetentionSettings {
    plan.map_or_else(RetentionSettings::default, |p| p.retention)
}

/// Runs one pass as of `now` with `plan`'s retention, logging what it removed.
pub async fn run_once(
    recorder: &Recorder,
    plan: Option<&Plan>,
    now: OffsetDateTime,
) -> mhd_store::Result<RetentionReport> {
    // The store's change watcher passes over this server's own writes (on PostgreSQL): what
    // the pass removed is announced by the recorder.
    let report = recorder
        .commit_with(
            recorder.store().run_retention(&settings(plan), now),
            announced,
        )
        .await?;
    if report.deleted() > 0 || report.samples_rolled_up > 0 {
        tracing::info!(
            samples_rolled_up = report.samples_rolled_up,
            samples = report.samples,
            sample_minutes = report.sample_minutes,
            sample_hours = report.sample_hours,
            sample_days = report.sample_days,
            operations = report.operations,
            test_runs = report.test_runs,
            test_cases = report.test_cases,
            alerts = report.alerts,
            alert_events = report.alert_events,
            deliveries = report.deliveries,
            bytes_freed = report.bytes_freed,
            "retention pass done"
        );
    }
    Ok(report)
}

/// What a retention pass is announced as: a change of everything when it removed more than
/// samples, of samples when only those, nothing when it removed nothing.
fn announced(report: &RetentionReport) -> Option<Change> {
    let samples = report.samples + report.sample_minutes + report.sample_hours + report.sample_days;
    if report.deleted() > samples {
        Some(Change::External)
    } else if samples > 0 {
        Some(Change::Samples)
    } else {
        None
    }
}

/// Runs a pass [`FIRST_RUN_AFTER`] from now, then every [`RUN_EVERY`], until the returned task
/// is aborted.
/// Each pass reads the plan in force then and the time of `clock`.
pub fn start(
    recorder: Recorder,
    plan: PlanInForce,
    clock: fn() -> OffsetDateTime,
) -> JoinHandle<()> {
    start_every(recorder, plan, clock, FIRST_RUN_AFTER, RUN_EVERY)
}

/// [`start`] with its delays given.
pub fn start_every(
    recorder: Recorder,
    plan: PlanInForce,
    clock: fn() -> OffsetDateTime,
    first: Duration,
    every: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(first).await;
        loop {
            if let Err(e) = run_once(&recorder, plan.get().as_deref(), clock()).await {
                tracing::warn!("the retention pass failed, it runs again in an hour: {e}");
            }
            tokio::time::sleep(every).await;
        }
    })
}
