//! Reports of a range of days (`GET /api/v1/reports/generate`, `mhd report`): one document
//! with the executive summary as of the range's end, the progress made in the range (datasets
//! migrated, rollbacks, failures, operations per day), the timeline, the component matrix, the
//! test results, the performance comparison and the range's most frequent errors.
//!
//! Two formats from the same [`ReportData`]: HTML, self-contained (inline style and SVG, no
//! script, nothing loaded from anywhere) and rendered by the same section views as the pages;
//! and PDF ([`pdf`]), laid out on pages by [`pdf_writer`].
//!
//! The rules of the figures, so a reader can tell where each comes from:
//! - the range is whole UTC days, `start` to `end` inclusive, at most [`MAX_DAYS`] days;
//! - the summary, the timeline and the component matrix are computed as of the end of the
//!   range (`mhd summary --at END`), or as of now when the range reaches today or later;
//! - "datasets migrated" is the change over the range of the count of migrated datasets (so a
//!   rollback counts against it); migrations, failed attempts, rollbacks and failed
//!   verifications count the operations of those types in the range;
//! - the test results are those of the runs up to the end of the range among each suite's
//!   latest stored runs; the performance comparison is that of the latest benchmarks;
//! - the top errors group the range's failed operations by type and message, the most
//!   frequent first (at most [`TOP_ERRORS`]).

pub mod brief;
pub mod pdf_writer;

use mhd_core::dashboard::MigrationViews;
use mhd_core::perf::PerformanceComparison;
use mhd_core::plan::Plan;
use mhd_core::testview::TestsView;
use mhd_store::history::{DayActivity, ErrorGroup};
use mhd_store::prelude::*;
use mhd_store::{Database, Store};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::views::ViewError;

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// Error groups a report lists.
pub const TOP_ERRORS: u32 = 10;

/// What can go wrong making a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A parameter is missing or wrong; the message names it.
    #[error("{0}")]
    BadInput(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mhd_store::StoreError),
    /// The HTML could not be rendered.
    #[error(transparent)]
    View(#[from] ViewError),
}

/// The report's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// A self-contained HTML document.
    Html,
    /// A PDF document.
    Pdf,
}

impl ReportFormat {
    /// `html` or `pdf`; anything else is an error naming `param`.
    pub fn parse(param: &str, value: &str) -> Result<ReportFormat, ReportError> {
        match value {
            "html" => Ok(ReportFormat::Html),
            "pdf" => Ok(ReportFormat::Pdf),
            other => Err(ReportError::BadInput(format!(
                "{param}: {other:?} is not a report format: use html or pdf"
            ))),
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
        }
    }
}

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    /// The first day.
    pub start: Date,
    /// The last day.
    pub end: Date,
}

/// A date `YYYY-MM-DD`, or an error naming `param`.
pub fn parse_date(param: &str, value: &str) -> Result<Date, ReportError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), format).map_err(|_| {
        ReportError::BadInput(format!(
            "{param}: {value:?} is not a date: use YYYY-MM-DD, such as 2025-01-31"
        ))
    })
}

impl ReportRange {
    /// The range from `start` to `end`; an error names the parameters (`start_param`,
    /// `end_param`) when the start is after the end or the range is longer than [`MAX_DAYS`].
    pub fn new(
        start: Date,
        end: Date,
        start_param: &str,
        end_param: &str,
    ) -> Result<ReportRange, ReportError> {
        if start > end {
            return Err(ReportError::BadInput(format!(
                "{start_param}: {start} is after {end_param} {end}"
            )));
        }
        let days = (end - start).whole_days() + 1;
        if days > MAX_DAYS {
            return Err(ReportError::BadInput(format!(
                "{end_param}: the range {start} to {end} is {days} days; a report covers at most {MAX_DAYS}"
            )));
        }
        Ok(ReportRange { start, end })
    }

    /// The `days` days that end on `today`.
    pub fn last_days(today: Date, days: i64) -> ReportRange {
        ReportRange {
            start: today - Duration::days(days.clamp(1, MAX_DAYS) - 1),
            end: today,
        }
    }

    /// The `value` last days ending on `today` (`14d`, `2w`, read by
    /// [`mhd_core::time_parse::parse_duration`]): a whole number of days, at least one, at most
    /// [`MAX_DAYS`]; an error names `param`.
    pub fn parse_last(param: &str, value: &str, today: Date) -> Result<ReportRange, ReportError> {
        let span = mhd_core::time_parse::parse_duration(value)
            .map_err(|e| ReportError::BadInput(format!("{param}: {e}")))?;
        let days = span.whole_days();
        if span <= Duration::ZERO || span != Duration::days(days) {
            return Err(ReportError::BadInput(format!(
                "{param}: {value:?} is not a whole number of days: use d or w, such as 14d or 2w"
            )));
        }
        if days > MAX_DAYS {
            return Err(ReportError::BadInput(format!(
                "{param}: {value:?} is {days} days; a report covers at most {MAX_DAYS}"
            )));
        }
        Ok(ReportRange::last_days(today, days))
    }

    /// How many days it covers.
    pub fn days(&self) -> u32 {
        ((self.end - self.start).whole_days() + 1).max(0) as u32
    }

    /// Its first instant: the start's midnight, UTC.
    pub fn since(&self) -> OffsetDateTime {
        self.start.midnight().assume_utc()
    }

    /// The instant after it: the midnight after the end, UTC (the last instant there is, for a
    /// range ending on 9999-12-31).
    pub fn until(&self) -> OffsetDateTime {
        self.since()
            .saturating_add(Duration::days(i64::from(self.days())))
    }

    /// The report's file name: `mhd-report-<start>-<end>.<ext>` (only digits, letters and `-`).
    pub fn file_name(&self, format: ReportFormat) -> String {
        format!(
            "mhd-report-{}-{}.{}",
            self.start,
            self.end,
            format.extension()
        )
    }
}

/// The figures of one day of the range.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    /// The day (UTC).
    pub date: Date,
    /// Operations recorded.
    pub operations: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Migration activity.
    pub activity: DayActivity,
}

/// The progress made over the range.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RangeProgress {
    /// Migrated datasets at the start of the range.
    pub migrated_before: u64,
    /// Migrated datasets at its end.
    pub migrated_after: u64,
    /// Successful migrations in the range.
    pub migrations: u64,
    /// Failed migration attempts.
    pub failed_migrations: u64,
    /// Rollbacks.
    pub rollbacks: u64,
    /// Failed verifications (integrity issues).
    pub failed_verifications: u64,
    /// Operations of every type.
    pub operations: u64,
    /// Failed operations of every type.
    pub failed_operations: u64,
}

impl RangeProgress {
    /// The change of the migrated count over the range (negative when rollbacks outweigh).
    pub fn migrated_change(&self) -> i64 {
        self.migrated_after as i64 - self.migrated_before as i64
    }
}

/// Everything a report shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// The range.
    pub range: ReportRange,
    /// When the report was made.
    pub generated_at: OffsetDateTime,
    /// The moment the summary, timeline and matrix are computed at.
    pub as_of: OffsetDateTime,
    /// The plan's name, when there is a plan.
    pub plan_name: Option<String>,
    /// The plan-driven views as of [`ReportData::as_of`], when there is a plan.
    pub views: Option<MigrationViews>,
    /// The progress over the range.
    pub progress: RangeProgress,
    /// Each day of the range.
    pub days: Vec<DayRow>,
    /// The test results up to the range's end, when any run is stored.
    pub tests: Option<TestsView>,
    /// The old-versus-new comparison of the latest benchmarks.
    pub performance: Vec<PerformanceComparison>,
    /// The median change of p50 across operations (negative: the new system is faster).
    pub performance_delta: Option<f64>,
    /// The range's most frequent errors.
    pub errors: Vec<ErrorGroup>,
    /// The alerts open at some moment of the range (started before its end, not resolved
    /// before its start), newest first.
    pub alerts: Vec<mhd_core::alerts::Alert>,
    /// Each resource series over the range (min, mean, p95, max), by metric.
    pub resources: Vec<mhd_store::retention::SampleStats>,
}

/// Alerts a report lists at most.
pub const MAX_ALERTS: usize = 50;
/// Resource series a report lists at most.
pub const MAX_RESOURCES: usize = 40;

/// Reads what the report of `range` shows from the store (and the plan), as of `now`.
pub async fn gather(
    store: &Database,
    plan: Option<&Plan>,
    range: ReportRange,
    now: OffsetDateTime,
) -> Result<ReportData, ReportError> {
    let since = range.since();
    let until = range.until();
    // The last instant of the range, or now when the range reaches past it.
    let current = until > now;
    let as_of = if current {
        now
    } else {
        until - Duration::microseconds(1)
    };
    let model = mhd_store::gather::view_model(
        store,
        plan,
        as_of,
        !current,
        mhd_core::model::Options::default(),
    )
    .await?;
    let views = MigrationViews::of(&model);
    let before = store.migration_counts_until(since).await?;
    let after = store
        .migration_counts_until(as_of + Duration::microseconds(1))
        .await?;
    let activity = store.daily_activity(range.start, range.days()).await?;
    let buckets = store
        .operations_over_time(since, until - Duration::microseconds(1), 86_400)
        .await?;
    let days: Vec<DayRow> = activity
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let date = range.start + Duration::days(i as i64);
            let b = buckets.iter().find(|b| b.start.date() == date);
            DayRow {
                date,
                operations: b.map_or(0, |b| b.count),
                failed: b.map_or(0, |b| b.errors),
                activity: *a,
            }
        })
        .collect();
    // A current report's end is the summary's own count (it also holds what was stored
    // while the report was read).
    let migrated_after = match (&views, current) {
        (Some(v), true) => v.summary.key_metrics.datasets_migrated,
        _ => after.datasets_migrated,
    };
    let mut progress = RangeProgress {
        migrated_before: before.datasets_migrated,
        migrated_after,
        ..RangeProgress::default()
    };
    for d in &days {
        progress.migrations += d.activity.migrations;
        progress.failed_migrations += d.activity.failed_migrations;
        progress.rollbacks += d.activity.rollbacks;
        progress.failed_verifications += d.activity.failed_verifications;
        progress.operations += d.operations;
        progress.failed_operations += d.failed;
    }
    let tests = model.tests.clone();
    let performance = model.performance.comparisons.clone();
    let performance_delta = model.performance.performance_delta;
    let errors = store.errors_between(since, until, TOP_ERRORS).await?;
    let mut alerts: Vec<mhd_core::alerts::Alert> = store
        .alerts(&mhd_store::alerts::AlertFilter::default())
        .await?
        .into_iter()
        .filter(|a| a.started_at < until && a.resolved_at.is_none_or(|r| r >= since))
        .collect();
    alerts.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
    alerts.truncate(MAX_ALERTS);
    let resolution = mhd_store::retention::Resolution::for_span(since, until, now, Duration::ZERO);
    let mut resources = Vec::new();
    for metric in store.sample_metrics(since).await? {
        if resources.len() >= MAX_RESOURCES {
            break;
        }
        let stats = store
            .sample_stats(&metric, since, until, resolution)
            .await?;
        resources.extend(stats.into_iter().filter(|s| s.count > 0));
    }
    resources.truncate(MAX_RESOURCES);
    Ok(ReportData {
        range,
        generated_at: now,
        as_of,
        plan_name: plan.map(|p| p.migration.name.clone()),
        views,
        progress,
        days,
        tests,
        performance,
        performance_delta,
        errors,
        alerts,
        resources,
    })
}

/// The report of `range` in `format`, as bytes to send or write.
pub async fn generate(
    store: &Database,
    plan: Option<&Plan>,
    range: ReportRange,
    format: ReportFormat,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Result<Vec<u8>, ReportError> {
    let data = gather(store, plan, range, now).await?;
    Ok(match format {
        ReportFormat::Html => html::render(&data, offset)?.into_bytes(),
        ReportFormat::Pdf => pdf::render(&data, offset),
    })
}

/// The report as HTML.
pub fn render_html(data: &ReportData, offset: UtcOffset) -> Result<String, ViewError> {
    html::render(data, offset)
}

/// The report as PDF.
pub fn render_pdf(data: &ReportData, offset: UtcOffset) -> Vec<u8> {
    pdf::render(data, offset)
}

/// The operations per day over the range, failed ones hatched (the pages' column chart).
fn day_chart(data: &ReportData) -> String {
    use crate::charts::{Column, ColumnChartOptions, column_chart};
    use crate::views::thousands;
    column_chart(
        &data
            .days
            .iter()
            .map(|d| Column {
                label: d.date.to_string(),
                value: d.operations as f64,
                part: d.failed as f64,
                title: format!(
                    "{}: {} operations, {} failed",
                    d.date,
                    thousands(d.operations),
                    thousands(d.failed)
                ),
            })
            .collect::<Vec<_>>(),
        &ColumnChartOptions {
            id: "days",
            aria_label: "Operations per day over the period, failed ones hatched",
            legend: ("Operations", "Failed"),
            unit: "operations",
            empty_text: "No operations in the period.",
        },
    )
}

/// An error group's message as shown, clipped; a blank one says none was recorded.
fn error_message(e: &ErrorGroup) -> String {
    e.error_message
        .as_deref()
        .filter(|m| !m.trim().is_empty())
        .map_or("no error message recorded".to_owned(), |m| {
            crate::views::clip(m, crate::views::MAX_MESSAGE_CHARS)
        })
}

/// The report's title: "Migration report — NAME, START to END".
fn title(data: &ReportData) -> String {
    let name = data
        .plan_name
        .as_deref()
        .map(|n| crate::charts::truncate(n, crate::views::MAX_NAME_CHARS).into_owned());
    match name {
        Some(n) => format!(
            "Migration report — {n}, {} to {}",
            data.range.start, data.range.end
        ),
        None => format!(
            "Migration report, {} to {}",
            data.range.start, data.range.end
        ),
    }
}

mod html;
mod pdf;
