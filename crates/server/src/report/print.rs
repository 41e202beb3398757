//! The report as PDF, drawn with [`super::pdf`]: the same sections and figures as the HTML
//! report, as text, tables and bars. States are told in words (the fonts have no symbols), so
//! nothing depends on colour.

use mhd_core::components::{ComponentHealth, SystemHealth, VersionInfo};
use mhd_core::summary::{BlockerKind, ExecutiveSummary, Health};
use mhd_core::timeline::{MigrationPhase, MilestoneStatus, PhaseStatus};
use time::{OffsetDateTime, UtcOffset};

use super::pdf::{Align, Bar, Column, Font, PdfWriter};
use super::{ReportData, error_message, title};
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

/// Renders the report as PDF.
pub(super) fn render(data: &ReportData, offset: UtcOffset) -> Vec<u8> {
    let mut w = PdfWriter::new(&title(data), data.generated_at);
    w.heading(&title(data), 17.0);
    w.paragraph(
        &format!(
            "{} to {} ({} day{}, UTC days)",
            data.range.start,
            data.range.end,
            data.range.days(),
            if data.range.days() == 1 { "" } else { "s" }
        ),
        Font::Bold,
        11.0,
    );
    w.note(&format!(
        "Generated {}. The summary, the timeline and the components are as of {}.",
        local_with_offset(data.generated_at, offset),
        local_with_offset(data.as_of, offset)
    ));

    match &data.views {
        Some(v) => summary(&mut w, &v.summary, data.as_of),
        None => {
            section(&mut w, "Executive summary");
            w.note("No migration plan: the executive summary, the timeline and the component matrix follow a plan (mhd init, then mhd check).");
        }
    }
    progress(&mut w, data);
    if let Some(v) = &data.views {
        if !v.timeline.is_empty() {
            timeline(&mut w, &v.timeline);
        }
        if !v.components.is_empty() {
            components(&mut w, &v.components);
        }
    }
    tests(&mut w, data, offset);
    performance(&mut w, data);
    errors(&mut w, data, offset);
    w.finish()
}

fn summary(w: &mut PdfWriter, s: &ExecutiveSummary, now: OffsetDateTime) {
    section(w, "Executive summary");
    let health = match s.overall_health {
        Health::Healthy => "Healthy",
        Health::AtRisk => "At risk",
        Health::Critical => "Critical",
    };
    w.paragraph(
        &format!(
            "Overall status: {health} · {}",
            crate::views::week_words(s.week, s.weeks)
        ),
        Font::Bold,
        11.0,
    );
    for r in &s.health_reasons {
        w.bullet(&clip(r, MAX_MESSAGE_CHARS), 9.5);
    }
    w.space(6.0);
    w.progress("Datasets migrated", s.migration_progress);
    let k = &s.key_metrics;
    let completion = s
        .estimated_completion
        .as_ref()
        .map_or(DASH.to_owned(), |e| e.p85.to_string());
    w.figures(&[
        (
            "Migrated",
            format!(
                "{} / {}",
                thousands(k.datasets_migrated),
                thousands(k.datasets_total)
            ),
        ),
        ("Success rate", ratio(k.success_rate)),
        ("Est. completion (P85)", completion),
        ("Rollbacks", thousands(k.rollback_count)),
        ("Performance delta (p50)", signed(k.performance_delta)),
    ]);
    if let Some(e) = &s.estimated_completion {
        let slip = match e.slip_days {
            d if d > 0 => format!("{d} days after"),
            d if d < 0 => format!("{} days before", -d),
            _ => "on".to_owned(),
        };
        w.note(&format!(
            "Forecast: P50 {}, P85 {}, P95 {}: P85 is {slip} the planned end {}.",
            e.p50, e.p85, e.p95, e.planned_end
        ));
    }
    if !s.blockers.is_empty() {
        subheading(
            w,
            &format!(
                "{} blocker{} require{} attention",
                s.blockers.len(),
                if s.blockers.len() == 1 { "" } else { "s" },
                if s.blockers.len() == 1 { "s" } else { "" }
            ),
        );
        for b in &s.blockers {
            let what = match b.kind {
                BlockerKind::Phase => "blocked phase",
                BlockerKind::Alert => "critical alert",
            };
            let mut line = format!("{} ({what}", clip(&b.title, MAX_MESSAGE_CHARS));
            if let Some(c) = &b.component {
                line.push_str(&format!(", {}", name(c)));
            }
            if let Some(t) = b.since {
                line.push_str(&format!(", since {}", mhd_core::format::relative(now, t)));
            }
            line.push(')');
            w.bullet(&line, 9.5);
        }
    }
    if !s.recommendations.is_empty() {
        subheading(w, "Recommendations");
        for r in &s.recommendations {
            w.bullet(&clip(&r.replace('`', ""), MAX_MESSAGE_CHARS), 9.5);
        }
    }
}

fn progress(w: &mut PdfWriter, data: &ReportData) {
    let p = &data.progress;
    section(w, "Progress in the range");
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
    w.note("Datasets migrated is the change of the migrated count over the range: rollbacks count against it.");
    subheading(w, "Operations per day");
    if p.operations == 0 {
        w.note("No operations in the range.");
    } else {
        let cols: Vec<Bar> = data
            .days
            .iter()
            .map(|d| Bar {
                label: d.date.to_string(),
                value: d.operations as f64,
                part: d.failed as f64,
                text: String::new(),
            })
            .collect();
        w.columns(&cols, ("operations", "failed"), 110.0);
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

fn timeline(w: &mut PdfWriter, phases: &[MigrationPhase]) {
    section(w, "Timeline");
    w.bars(
        &phases
            .iter()
            .map(|p| Bar {
                label: name(&p.name),
                value: p.progress.clamp(0.0, 100.0),
                part: 0.0,
                text: format!("{:.0}% · {}", p.progress, phase_status(p.status)),
            })
            .collect::<Vec<_>>(),
        Some(100.0),
    );
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
    section(w, "Top errors of the range");
    if data.errors.is_empty() {
        w.note("No failed operations in the range.");
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
        w.paragraph(&error_message(e), Font::Mono, 8.5);
    }
}
