//! The report as one self-contained HTML document: the pages' stylesheet inline, charts as
//! inline SVG, no script and nothing loaded from anywhere, so it can be mailed or archived.
//! The views are the pages' own sections; every stored string is escaped by askama or by the
//! charts.

use askama::Template;
use time::UtcOffset;

use super::{ReportData, error_message, title};
use crate::charts::{self, Column, ColumnChartOptions};
use crate::views::{
    ComponentsSection, DASH, MAX_NAME_CHARS, PerfSection, Stamp, SummarySection, TestsSection,
    TimelineSection, ViewError, clip, local_with_offset, offset_label, stylesheet, thousands,
};

/// Extra rules of the report: a printable page.
const REPORT_CSS: &str = "\
.range{font-size:1.125rem;font-weight:600;margin:.25rem 0 0}\
.missing{color:var(--muted);font-style:italic}\
@media print{section{break-inside:auto}h2{break-after:avoid}}";

struct DayView {
    date: String,
    operations: String,
    failed: String,
    migrations: String,
    failed_migrations: String,
    rollbacks: String,
    failed_verifications: String,
}

struct ErrorView {
    metric_type: String,
    message: String,
    count: String,
    datasets: String,
    example: Option<String>,
    first: Stamp,
    last: Stamp,
}

#[derive(Template)]
#[template(path = "report.html", whitespace = "minimize")]
struct ReportPage {
    title: String,
    css: String,
    range: String,
    generated: String,
    as_of: String,
    week: Option<String>,
    zone: String,
    exec: Option<String>,
    figures: Vec<(&'static str, String, &'static str)>,
    day_chart: String,
    days: Vec<DayView>,
    timeline: Option<String>,
    components: Option<String>,
    tests: Option<String>,
    tests_note: String,
    perf: Option<String>,
    errors: Vec<ErrorView>,
}

/// Renders the report as HTML.
pub(super) fn render(data: &ReportData, offset: UtcOffset) -> Result<String, ViewError> {
    let p = &data.progress;
    let views = data.views.as_ref();
    let now = data.as_of;
    let day_chart = charts::column_chart(
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
            aria_label: "Operations per day over the range, failed ones hatched",
            legend: ("Operations", "Failed"),
            unit: "operations",
            empty_text: "No operations in the range.",
        },
    );
    let change = p.migrated_change();
    let page = ReportPage {
        title: title(data),
        css: format!("{}{REPORT_CSS}", stylesheet()),
        range: format!(
            "{} to {} ({} day{}, UTC)",
            data.range.start,
            data.range.end,
            data.range.days(),
            if data.range.days() == 1 { "" } else { "s" }
        ),
        generated: local_with_offset(data.generated_at, offset),
        as_of: local_with_offset(data.as_of, offset),
        week: views.map(|v| crate::views::week_words(v.summary.week, v.summary.weeks)),
        zone: offset_label(offset),
        exec: views
            .map(|v| {
                SummarySection::new(&v.summary, None, now, offset)
                    .with_views(&v.summary, v.progress.as_ref(), false)
                    .render()
            })
            .transpose()?,
        figures: vec![
            (
                "Datasets migrated",
                format!("{change:+}"),
                "change of the migrated count (rollbacks count against it)",
            ),
            (
                "Migrated at the end",
                thousands(p.migrated_after),
                "datasets migrated when the range ends",
            ),
            (
                "Successful migrations",
                thousands(p.migrations),
                "migration operations that succeeded",
            ),
            (
                "Failed attempts",
                thousands(p.failed_migrations),
                "migration operations that failed",
            ),
            ("Rollbacks", thousands(p.rollbacks), "rollback operations"),
            (
                "Integrity issues",
                thousands(p.failed_verifications),
                "failed verifications",
            ),
            (
                "Operations",
                thousands(p.operations),
                "operations of every type",
            ),
            (
                "Failed operations",
                thousands(p.failed_operations),
                "failed operations of every type",
            ),
        ],
        day_chart,
        days: data
            .days
            .iter()
            .map(|d| DayView {
                date: d.date.to_string(),
                operations: thousands(d.operations),
                failed: thousands(d.failed),
                migrations: thousands(d.activity.migrations),
                failed_migrations: thousands(d.activity.failed_migrations),
                rollbacks: thousands(d.activity.rollbacks),
                failed_verifications: thousands(d.activity.failed_verifications),
            })
            .collect(),
        timeline: views
            .and_then(|v| TimelineSection::new(&v.summary, &v.timeline))
            .map(|s| s.render())
            .transpose()?,
        components: views
            .and_then(|v| ComponentsSection::new(&v.components, false))
            .map(|s| s.render())
            .transpose()?,
        tests: data
            .tests
            .as_ref()
            .and_then(|t| TestsSection::new(t, now, offset))
            .map(|s| s.render())
            .transpose()?,
        tests_note: format!(
            "Each suite's runs up to {} among its latest stored runs.",
            local_with_offset(data.as_of, offset)
        ),
        perf: PerfSection::new(&data.performance, data.performance_delta)
            .map(|s| s.render())
            .transpose()?,
        errors: data
            .errors
            .iter()
            .map(|e| ErrorView {
                metric_type: clip(&e.metric_type, MAX_NAME_CHARS),
                message: error_message(e),
                count: thousands(e.count),
                datasets: match e.datasets {
                    0 => DASH.to_owned(),
                    n => thousands(n),
                },
                example: e
                    .example_dataset
                    .as_deref()
                    .map(|d| clip(d, MAX_NAME_CHARS)),
                first: Stamp::new(e.first, now, offset),
                last: Stamp::new(e.last, now, offset),
            })
            .collect(),
    };
    Ok(page.render()?)
}
