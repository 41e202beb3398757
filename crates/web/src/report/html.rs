//! The report as one self-contained HTML document: the pages' stylesheet inline, charts as
//! inline SVG, no script and nothing loaded from anywhere, so it can be mailed or archived.
//! The views are the pages' own sections; every stored string is escaped by askama or by the
//! charts.

use askama::Template;
use time::UtcOffset;

use super::{ReportData, error_message, title};
use mhd_core::summary::Health;

use super::brief::Brief;
use crate::charts;
use crate::views::{
    ComponentsSection, DASH, MAX_NAME_CHARS, PerfSection, Stamp, TestsSection, TimelineSection,
    ViewError, clip, local_with_offset, offset_label, stylesheet, thousands,
};

/// Extra rules of the report: a printable page.
const REPORT_CSS: &str = "\
.range{font-size:1.125rem;font-weight:600;margin:.25rem 0 0}\
.callout{border-left:.3rem solid var(--muted);background:var(--card,#f4f6f8);padding:.5rem 1rem}\
.callout.ok{border-color:var(--ok,#17672e)}.callout.warn{border-color:#9a6700}.callout.bad{border-color:var(--err,#b42318)}\
.completion{font-size:1.05rem}\
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

struct AlertView {
    title: String,
    severity: &'static str,
    component: String,
    fired: String,
    to_ack: String,
    to_resolve: String,
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
    brief: Brief,
    status_class: &'static str,
    burnup: Option<String>,
    alerts: Vec<AlertView>,
    resources: Vec<(String, String, String, String, String, String)>,
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
    let day_chart = super::day_chart(data);
    let brief = super::brief::brief(data);
    let status_class = match brief.health {
        Some(Health::Healthy) => "ok",
        Some(Health::AtRisk) => "warn",
        Some(Health::Critical) => "bad",
        None => "",
    };
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
        status_class,
        burnup: super::brief::burnup(data),
        alerts: data
            .alerts
            .iter()
            .map(|a| {
                let fired = a.fired_at.unwrap_or(a.started_at);
                AlertView {
                    title: clip(&a.title, MAX_NAME_CHARS),
                    severity: a.severity.as_str(),
                    component: a
                        .component
                        .as_deref()
                        .map_or(DASH.to_owned(), |c| clip(c, MAX_NAME_CHARS)),
                    fired: local_with_offset(fired, offset),
                    to_ack: a
                        .acknowledged
                        .as_ref()
                        .and_then(|k| {
                            super::brief::span_words(fired, k.at)
                                .map(|t| format!("{t} by {}", clip(&k.by, MAX_NAME_CHARS)))
                        })
                        .unwrap_or_else(|| "not acknowledged".to_owned()),
                    to_resolve: a
                        .resolved_at
                        .and_then(|r| super::brief::span_words(fired, r))
                        .unwrap_or_else(|| "still open".to_owned()),
                }
            })
            .collect(),
        resources: data
            .resources
            .iter()
            .map(|r| {
                let n = |v: f64| {
                    if v.is_finite() {
                        charts::num(v)
                    } else {
                        DASH.to_owned()
                    }
                };
                (
                    clip(&r.metric, MAX_NAME_CHARS),
                    r.component
                        .as_deref()
                        .map_or(DASH.to_owned(), |c| clip(c, MAX_NAME_CHARS)),
                    n(r.min),
                    n(r.mean),
                    r.p95.map_or(DASH.to_owned(), n),
                    n(r.max),
                )
            })
            .collect(),
        brief,
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
