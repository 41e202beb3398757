//! What a report of a range of days shows (`GET /api/v1/reports/generate`, `mhd report`): one
//! document with the executive summary as of the range's end, the progress made in the range (datasets
//! migrated, rollbacks, failures, operations per day), the timeline, the component matrix, the
//! test results, the performance comparison and the range's most frequent errors.
//!
//! [`ReportData`] is everything a report shows: the store reads it (`mhd_store::view_data::report`)
//! and the web crate renders it as HTML or PDF (`mhd_web::report`).
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

use time::{Date, Duration, OffsetDateTime};

use crate::alerts::Alert;
use crate::dashboard::MigrationViews;
use crate::history::DayActivity;
use crate::perf::PerformanceComparison;
use crate::sample::SampleStats;
use crate::testview::TestsView;

/// A report's parameter is missing or wrong; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// The longest range a report covers, in days.
pub const MAX_DAYS: i64 = 366;
/// Error groups a report lists.
pub const TOP_ERRORS: u32 = 10;

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
    pub fn parse(param: &str, value: &str) -> Result<ReportFormat, BadInput> {
        match value {
            "html" => Ok(ReportFormat::Html),
            "pdf" => Ok(ReportFormat::Pdf),
            other => Err(BadInput(format!(
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
pub fn parse_date(param: &str, value: &str) -> Result<Date, BadInput> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(value.trim(), format).map_err(|_| {
        BadInput(format!(
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
    ) -> Result<ReportRange, BadInput> {
        if start > end {
            return Err(BadInput(format!(
                "{start_param}: {start} is after {end_param} {end}"
            )));
        }
        let days = (end - start).whole_days() + 1;
        if days > MAX_DAYS {
            return Err(BadInput(format!(
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
    /// [`crate::time_parse::parse_duration`]): a whole number of days, at least one, at most
    /// [`MAX_DAYS`]; an error names `param`.
    pub fn parse_last(param: &str, value: &str, today: Date) -> Result<ReportRange, BadInput> {
        let span = crate::time_parse::parse_duration(value)
            .map_err(|e| BadInput(format!("{param}: {e}")))?;
        let days = span.whole_days();
        if span <= Duration::ZERO || span != Duration::days(days) {
            return Err(BadInput(format!(
                "{param}: {value:?} is not a whole number of days: use d or w, such as 14d or 2w"
            )));
        }
        if days > MAX_DAYS {
            return Err(BadInput(format!(
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
    pub alerts: Vec<Alert>,
    /// Each resource series over the range (min, mean, p95, max), by metric.
    pub resources: Vec<SampleStats>,
}

/// Alerts a report lists at most.
pub const MAX_ALERTS: usize = 50;
/// Resource series a report lists at most.
pub const MAX_RESOURCES: usize = 40;

/// Failed operations of a span that share a type and an error message.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorGroup {
    /// The operations' type.
    pub metric_type: String,
    /// The error message they share (`None`: none was recorded).
    pub error_message: Option<String>,
    /// How many failed operations of the span carry it.
    pub count: u64,
    /// The distinct datasets among them.
    pub datasets: u64,
    /// One dataset among them (the newest failure's), if any.
    pub example_dataset: Option<String>,
    /// The first of them.
    pub first: OffsetDateTime,
    /// The last of them.
    pub last: OffsetDateTime,
}
