//! The report as PDF, drawn with [`super::pdf_writer`]: the same sections and figures as the HTML
//! report, as text, tables and the pages' own SVG charts. States are told in words, so nothing
//! depends on colour.

use mhd_core::components::{ComponentHealth, SystemHealth, VersionInfo};
use mhd_core::dashboard::MigrationViews;
use mhd_core::summary::Health;
use mhd_core::timeline::{MilestoneStatus, PhaseStatus};
use time::UtcOffset;

use super::pdf_text::Font;
use super::pdf_writer::{AMBER, Align, Column, GREEN, PdfWriter, RED, TEXT_WIDTH};
use super::{ReportData, brief, error_message, title};
use crate::views::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, clip, local_with_offset, thousands};

/// Shown for a figure that does not exist (the fonts have the em dash).
const DASH: &str = "—";
/// Failing tests listed per report.
const MAX_FAILING: usize = 20;

/// A finite figure told by `text`, or [`DASH`].
fn finite(v: Option<f64>, text: impl FnOnce(f64) -> String) -> String {
    v.filter(|v| v.is_finite()).map_or(DASH.to_owned(), text)
}

/// A ratio 0–1 as a percentage, or [`DASH`].
fn ratio(v: Option<f64>) -> String {
    finite(v, mhd_core::format::percent)
}

/// A signed percentage, or [`DASH`].
fn signed(v: Option<f64>) -> String {
    finite(v, |v| format!("{v:+.1}%"))
}

/// Milliseconds as read, or [`DASH`].
fn ms(v: Option<f64>) -> String {
    finite(v, |v| mhd_core::format::duration_ms(Some(v)))
}

/// A section's heading.
fn section(w: &mut PdfWriter, heading: &str) {
    w.heading(heading, 14.0);
}

/// A bold line heading part of a section.
fn subheading(w: &mut PdfWriter, text: &str) {
    w.paragraph(text, Font::Bold, 10.0);
}

/// A table of one row per item, under columns given as (header, share of the width, alignment).
fn table<T>(
    w: &mut PdfWriter,
    columns: &[(&str, f64, Align)],
    items: &[T],
    row: impl Fn(&T) -> Vec<String>,
) {
    let columns: Vec<Column<'_>> = columns
        .iter()
        .map(|&(header, share, align)| Column {
            header,
            share,
            align,
        })
        .collect();
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    w.table(&columns, &rows);
}

/// A stored name as shown.
fn name(s: &str) -> String {
    clip(s, MAX_NAME_CHARS)
}

/// Renders the report as PDF: page 1 in plain words (status and why, the burn-up chart,
/// completion with its confidence, the top risks, what is needed), then the period's progress,
/// the timeline, the components, the alerts, the tests, the performance, the resources and the
/// top errors.
pub(super) fn render(data: &ReportData, offset: UtcOffset) -> Vec<u8> {
    let mut w = PdfWriter::new(&title(data), data.generated_at);
    w.heading(&title(data), 17.0);
    w.note(&format!(
        "{} to {} ({} day{}, UTC days). Generated {}; the status is as of {}.",
        data.range.start,
        data.range.end,
        data.range.days(),
        if data.range.days() == 1 { "" } else { "s" },
        local_with_offset(data.generated_at, offset),
        local_with_offset(data.as_of, offset)
    ));
    first_page(&mut w, data);
    w.new_page();
    progress(&mut w, data);
    if let Some(v) = &data.views {
        if !v.timeline.is_empty() {
            timeline(&mut w, v);
        }
        if !v.components.is_empty() {
            components(&mut w, &v.components);
        }
    }
    alerts(&mut w, data, offset);
    tests(&mut w, data, offset);
    performance(&mut w, data);
    resources(&mut w, data);
    errors(&mut w, data, offset);
    w.finish()
}

/// The colour of a status.
fn status_colour(h: Option<Health>) -> (u8, u8, u8) {
    match h {
        Some(Health::Healthy) => GREEN,
        Some(Health::AtRisk) => AMBER,
        Some(Health::Critical) => RED,
        None => (80, 87, 95),
    }
}

fn first_page(w: &mut PdfWriter, data: &ReportData) {
    let b = brief::brief(data);
    let mut lines = vec![(format!("Status: {}", b.status), Font::Bold, 14.0)];
    for r in &b.why {
        lines.push((r.clone(), Font::Regular, 9.5));
    }
    lines.push((b.position.clone(), Font::Regular, 9.5));
    w.callout(&lines, status_colour(b.health));
    section(w, "Progress against the plan");
    match brief::burnup(data) {
        Some(svg) => {
            w.svg(&svg, TEXT_WIDTH * 0.92);
            w.note("Migrated datasets by day (solid) against the plan's line (dashed), with the forecast's range from today: P50 to P95, P85 dashed.");
        }
        None => w.note("No burn-up chart without a plan."),
    }
    section(w, "When it will finish");
    w.paragraph(&b.completion, Font::Regular, 10.0);
    section(w, "Top risks");
    if b.risks.is_empty() {
        w.paragraph("No risk stands out this period.", Font::Regular, 10.0);
    }
    for (i, r) in b.risks.iter().enumerate() {
        w.item(&format!("{}.", i + 1), r, 10.0);
    }
    section(w, "What is needed");
    for n in &b.needs {
        w.bullet(n, 10.0);
    }
}

fn progress(w: &mut PdfWriter, data: &ReportData) {
    let p = &data.progress;
    section(w, "Progress in the period");
    w.figures(&[
        ("Datasets migrated", format!("{:+}", p.migrated_change())),
        ("Migrated at the end", thousands(p.migrated_after)),
        ("Successful migrations", thousands(p.migrations)),
        ("Failed attempts", thousands(p.failed_migrations)),
        ("Rollbacks", thousands(p.rollbacks)),
        ("Integrity issues", thousands(p.failed_verifications)),
        ("Operations", thousands(p.operations)),
        ("Failed operations", thousands(p.failed_operations)),
    ]);
    w.note("Datasets migrated is the change of the migrated count over the period: rollbacks count against it.");
    subheading(w, "Operations per day");
    if p.operations == 0 {
        w.note("No operations in the period.");
    } else {
        w.svg(&super::day_chart(data), TEXT_WIDTH * 0.92);
    }
    table(
        w,
        &[
            ("Day (UTC)", 0.19, Align::Left),
            ("Operations", 0.14, Align::Right),
            ("Failed", 0.11, Align::Right),
            ("Migrations", 0.14, Align::Right),
            ("Failed attempts", 0.14, Align::Right),
            ("Rollbacks", 0.13, Align::Right),
            ("Integrity issues", 0.15, Align::Right),
        ],
        &data.days,
        |d| {
            vec![
                d.date.to_string(),
                thousands(d.operations),
                thousands(d.failed),
                thousands(d.activity.migrations),
                thousands(d.activity.failed_migrations),
                thousands(d.activity.rollbacks),
                thousands(d.activity.failed_verifications),
            ]
        },
    );
}

fn phase_status(s: PhaseStatus) -> &'static str {
    match s {
        PhaseStatus::NotStarted => "not started",
        PhaseStatus::InProgress => "in progress",
        PhaseStatus::Completed => "completed",
        PhaseStatus::Blocked => "BLOCKED",
    }
}

fn timeline(w: &mut PdfWriter, v: &MigrationViews) {
    let phases = &v.timeline;
    section(w, "Timeline");
    if let Some(t) = crate::views::TimelineSection::new(&v.summary, phases) {
        w.svg(t.chart(), TEXT_WIDTH);
    }
    table(
        w,
        &[
            ("Phase", 0.14, Align::Left),
            ("Status", 0.11, Align::Left),
            ("Progress", 0.09, Align::Right),
            ("Start", 0.11, Align::Left),
            ("End", 0.11, Align::Left),
            ("Risk", 0.08, Align::Left),
            ("Slip", 0.06, Align::Right),
            ("Blocked by", 0.10, Align::Left),
            ("Milestones", 0.20, Align::Left),
        ],
        phases,
        |p| {
            let milestones: Vec<String> = p
                .milestones
                .iter()
                .map(|m| {
                    let status = match m.status {
                        MilestoneStatus::Pending => "pending",
                        MilestoneStatus::Completed => "done",
                        MilestoneStatus::Missed => "MISSED",
                    };
                    format!("{} ({}, {status})", name(&m.name), m.date)
                })
                .collect();
            vec![
                name(&p.name),
                phase_status(p.status).to_owned(),
                format!("{:.0}%", p.progress),
                p.start_date.to_string(),
                p.end_date.to_string(),
                p.risk_level.as_str().to_owned(),
                p.slip_days.map_or(DASH.to_owned(), |d| format!("{d:+} d")),
                if p.blocked_by.is_empty() {
                    DASH.to_owned()
                } else {
                    p.blocked_by
                        .iter()
                        .map(|b| name(b))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                if milestones.is_empty() {
                    DASH.to_owned()
                } else {
                    milestones.join("; ")
                },
            ]
        },
    );
}

fn health_word(h: SystemHealth) -> &'static str {
    match h {
        SystemHealth::Healthy => "healthy",
        SystemHealth::Degraded => "DEGRADED",
        SystemHealth::Failing => "FAILING",
        SystemHealth::NoData => "no data",
    }
}

fn side(v: &VersionInfo) -> String {
    match v.success_rate {
        Some(r) => format!("{} {}", health_word(v.health), ratio(Some(r))),
        None => health_word(v.health).to_owned(),
    }
}

fn components(w: &mut PdfWriter, rows: &[ComponentHealth]) {
    section(w, "Component health matrix");
    table(
        w,
        &[
            ("Component", 0.2, Align::Left),
            ("Old system", 0.18, Align::Left),
            ("New system", 0.18, Align::Left),
            ("Migration", 0.18, Align::Left),
            ("Tests", 0.13, Align::Right),
            ("Perf delta", 0.13, Align::Right),
        ],
        rows,
        |c| {
            vec![
                name(&c.name),
                side(&c.old_version),
                side(&c.new_version),
                match (c.migration_status.percent, c.migration_status.total) {
                    (Some(p), Some(t)) => format!(
                        "{p:.0}% ({} / {})",
                        thousands(c.migration_status.migrated),
                        thousands(t)
                    ),
                    (_, None) => format!("{} / ?", thousands(c.migration_status.migrated)),
                    _ => DASH.to_owned(),
                },
                match (c.tests_passed, c.tests_total) {
                    (Some(p), Some(t)) => format!("{} / {}", thousands(p), thousands(t)),
                    _ => DASH.to_owned(),
                },
                signed(c.performance_metrics.delta_percent),
            ]
        },
    );
    w.note("Health is the success rate of that system's operations over the 7 days before the report's moment; perf delta is the new system's change of p50 (negative is faster).");
}

fn tests(w: &mut PdfWriter, data: &ReportData, offset: UtcOffset) {
    section(w, "Test results");
    let Some(view) = data.tests.as_ref().filter(|t| !t.suites.is_empty()) else {
        w.note("No test run up to the end of the range.");
        return;
    };
    table(
        w,
        &[
            ("Suite", 0.18, Align::Left),
            ("Pass %", 0.09, Align::Right),
            ("Passed", 0.11, Align::Right),
            ("Failed", 0.08, Align::Right),
            ("Skipped", 0.09, Align::Right),
            ("Time", 0.1, Align::Right),
            ("Status", 0.1, Align::Left),
            ("Last run", 0.25, Align::Left),
        ],
        &view.suites,
        |s| {
            vec![
                name(&s.name),
                finite(s.pass_rate, |p| format!("{p:.1}%")),
                format!(
                    "{} / {}",
                    thousands(s.results.passed),
                    thousands(s.results.total - s.results.skipped.min(s.results.total))
                ),
                thousands(s.results.failed),
                thousands(s.results.skipped),
                crate::views::seconds_text(s.results.duration),
                s.status.as_str().replace('_', " "),
                local_with_offset(s.last_run, offset),
            ]
        },
    );
    w.note(&format!(
        "Pass % is passed / (total - skipped) of each suite's latest run up to {}.",
        local_with_offset(data.as_of, offset)
    ));
    let failing: Vec<String> = view
        .suites
        .iter()
        .flat_map(|s| {
            s.failing_tests.iter().map(move |f| {
                format!(
                    "{} · {} · {} since {} ({} runs): {}",
                    name(&f.name),
                    name(&s.name),
                    f.status,
                    local_with_offset(f.first_failed, offset),
                    f.attempts,
                    clip(&f.error, MAX_MESSAGE_CHARS)
                )
            })
        })
        .collect();
    if !failing.is_empty() {
        subheading(
            w,
            &format!("Failing tests ({})", thousands(view.failing_total)),
        );
        for f in failing.iter().take(MAX_FAILING) {
            w.bullet(f, 9.0);
        }
        if failing.len() > MAX_FAILING {
            w.note(&format!(
                "{} more not listed here: mhd tests shows them all.",
                failing.len() - MAX_FAILING
            ));
        }
    }
}

fn performance(w: &mut PdfWriter, data: &ReportData) {
    section(w, "Performance comparison: old vs new system");
    if data.performance.is_empty() {
        w.note("No benchmarks recorded.");
        return;
    }
    let regressions = data.performance.iter().filter(|c| c.regression).count();
    if regressions > 0 {
        subheading(
            w,
            &format!(
                "{regressions} operation{} slower than the old system beyond the threshold (regression).",
                if regressions == 1 { " is" } else { "s are" }
            ),
        );
    }
    table(
        w,
        &[
            ("Operation", 0.22, Align::Left),
            ("Old p50", 0.1, Align::Right),
            ("New p50", 0.1, Align::Right),
            ("Old p95", 0.1, Align::Right),
            ("New p95", 0.1, Align::Right),
            ("Delta p50", 0.1, Align::Right),
            ("Verdict", 0.16, Align::Left),
            ("Samples", 0.12, Align::Right),
        ],
        &data.performance,
        |c| {
            let (o, n) = (c.old_system.as_ref(), c.new_system.as_ref());
            vec![
                name(&c.operation),
                ms(o.map(|m| m.p50)),
                ms(n.map(|m| m.p50)),
                ms(o.map(|m| m.p95)),
                ms(n.map(|m| m.p95)),
                signed(c.delta_percent),
                crate::views::verdict_badge(c).word.to_owned(),
                thousands(c.sample_size as u64),
            ]
        },
    );
    if let Some(d) = data.performance_delta.filter(|d| d.is_finite()) {
        w.note(&format!(
            "Median change of p50 across operations: {d:+.1}% (negative: the new system is faster)."
        ));
    }
}

fn errors(w: &mut PdfWriter, data: &ReportData, offset: UtcOffset) {
    section(w, "Top errors of the period");
    if data.errors.is_empty() {
        w.note("No failed operations in the period.");
        return;
    }
    for e in &data.errors {
        let mut head = format!(
            "{} × {} · {} dataset{}",
            thousands(e.count),
            name(&e.metric_type),
            thousands(e.datasets),
            if e.datasets == 1 { "" } else { "s" }
        );
        if let Some(d) = &e.example_dataset {
            head.push_str(&format!(" (such as {})", name(d)));
        }
        head.push_str(&format!(
            " · first {}, last {}",
            local_with_offset(e.first, offset),
            local_with_offset(e.last, offset)
        ));
        w.need(40.0);
        w.paragraph(&head, Font::Bold, 9.5);
        w.paragraph(&error_message(e), Font::Regular, 8.5);
    }
}

fn alerts(w: &mut PdfWriter, data: &ReportData, offset: UtcOffset) {
    section(w, "Alerts of the period");
    if data.alerts.is_empty() {
        w.note("No alert was open in the period.");
        return;
    }
    table(
        w,
        &[
            ("Alert", 0.24, Align::Left),
            ("Severity", 0.1, Align::Left),
            ("Component", 0.13, Align::Left),
            ("Fired", 0.16, Align::Left),
            ("To acknowledge", 0.22, Align::Left),
            ("To resolve", 0.15, Align::Left),
        ],
        &data.alerts,
        |a| {
            let fired = a.fired_at.unwrap_or(a.started_at);
            vec![
                name(&a.title),
                a.severity.as_str().to_owned(),
                a.component.as_deref().map_or(DASH.to_owned(), name),
                local_with_offset(fired, offset),
                a.acknowledged
                    .as_ref()
                    .and_then(|k| {
                        brief::span_words(fired, k.at).map(|t| format!("{t} by {}", name(&k.by)))
                    })
                    .unwrap_or_else(|| "not acknowledged".to_owned()),
                a.resolved_at
                    .and_then(|r| brief::span_words(fired, r))
                    .unwrap_or_else(|| "still open".to_owned()),
            ]
        },
    );
    w.note("Times count from when the alert fired (or started, for one that never fired).");
}

fn resources(w: &mut PdfWriter, data: &ReportData) {
    section(w, "Resources");
    if data.resources.is_empty() {
        w.note("No resource samples in the period (mhd collect, or samples pushed to the API).");
        return;
    }
    let num = |v: f64| finite(Some(v), crate::charts::num);
    table(
        w,
        &[
            ("Metric", 0.3, Align::Left),
            ("Component", 0.18, Align::Left),
            ("Min", 0.13, Align::Right),
            ("Mean", 0.13, Align::Right),
            ("P95", 0.13, Align::Right),
            ("Max", 0.13, Align::Right),
        ],
        &data.resources,
        |r| {
            vec![
                name(&r.metric),
                r.component.as_deref().map_or(DASH.to_owned(), name),
                num(r.min),
                num(r.mean),
                r.p95.map_or(DASH.to_owned(), num),
                num(r.max),
            ]
        },
    );
}
