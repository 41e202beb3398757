//! Scheduled reports (the plan's `[[reports]]`), made by the leading server only.
//!
//! Every [`TICK`], for each entry of the plan: the latest moment it was due (`every`, UTC) is
//! compared with the latest due moment of a report of that entry in the store; when none is
//! stored for it, the report of the `last` days up to that day is made (as of now), stored
//! ([`mhd_store::reports`], one per entry and due moment, so a second leader never stores it
//! twice) and delivered. A report missed while no server ran is therefore made once at the next
//! start (only the latest due one, not one per missed period); a new entry makes its latest
//! due report at once. Stored reports older than [`mhd_store::reports::KEEP`] are pruned.

use mhd_core::plan::ScheduledReport;
use mhd_store::reports::{KEEP, NewReport};
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use crate::AppState;
use mhd_core::report::{ReportFormat, ReportRange};

/// How often the leader looks for due reports.
pub const TICK: std::time::Duration = std::time::Duration::from_secs(30);

/// A report made: its id in the store and the entry that made it.
#[derive(Debug, Clone)]
pub struct Made {
    /// The stored report's id (`GET /api/v1/reports/{id}`).
    pub id: i64,
    /// The plan's entry.
    pub schedule: ScheduledReport,
    /// The days it covers.
    pub range: ReportRange,
}

/// Starts the loop (on the leader).
pub fn start(state: &AppState) -> JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            match run_due(&state).await {
                Ok(made) => {
                    for m in made {
                        tracing::info!(report = m.id, every = %m.schedule.every, start = %m.range.start, end = %m.range.end, "scheduled report made");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot make the scheduled reports"),
            }
            tokio::time::sleep(TICK).await;
        }
    })
}

/// Makes, stores and delivers each report of the plan due and not yet stored, as of the
/// state's clock; prunes the old ones. Returns the reports made.
pub async fn run_due(state: &AppState) -> Result<Vec<Made>, String> {
    let Some(plan) = state.plan() else {
        return Ok(Vec::new());
    };
    let now = state.now();
    let mut made = Vec::new();
    for entry in &plan.reports {
        let key = entry.key();
        let due = entry.every.last_due(now);
        let last = state
            .store()
            .last_report_due(&key)
            .await
            .map_err(|e| e.to_string())?;
        if last.is_some_and(|l| l >= due) {
            continue;
        }
        let format = ReportFormat::parse("format", &entry.format).map_err(|e| e.to_string())?;
        let range = ReportRange::last_days(due.date(), i64::from(entry.last_days));
        let data = mhd_store::view_data::report(state.store(), Some(&*plan), range, now)
            .await
            .map_err(|e| e.to_string())?;
        let body = mhd_web::report::render(&data, format, state.local_offset())
            .map_err(|e| e.to_string())?;
        let stored = state
            .store()
            .insert_report(
                &NewReport {
                    schedule: &key,
                    due_at: due,
                    start: range.start,
                    end: range.end,
                    format: format.extension(),
                    body: &body,
                },
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        let Some(id) = stored else { continue };
        deliver(state, entry, id, range, format, now).await;
        made.push(Made {
            id,
            schedule: entry.clone(),
            range,
        });
    }
    state
        .store()
        .prune_reports(now - KEEP)
        .await
        .map_err(|e| e.to_string())?;
    Ok(made)
}

/// Queues a made report to its channels through the notification outbox.
async fn deliver(
    state: &AppState,
    entry: &ScheduledReport,
    id: i64,
    range: ReportRange,
    format: ReportFormat,
    now: OffsetDateTime,
) {
    let Some(notifier) = state.notifier() else {
        tracing::warn!(
            report = id,
            "no notifier: the scheduled report is stored but not sent"
        );
        return;
    };
    let doc = crate::notify::ReportDoc {
        id,
        title: format!("Migration report, {} to {}", range.start, range.end),
        start: range.start.to_string(),
        end: range.end.to_string(),
        format: format.extension().to_owned(),
        file_name: range.file_name(format),
        made_at: now,
    };
    let channels: Vec<&str> = entry.channels.iter().map(String::as_str).collect();
    if let Err(e) = notifier.enqueue_report(&doc, &channels).await {
        tracing::warn!(report = id, error = %e, "cannot queue the scheduled report");
    }
}
