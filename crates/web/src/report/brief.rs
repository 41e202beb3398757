//! The report's first page in plain words, the same in the PDF and the HTML report: the status
//! and why, where the migration stands, when it will finish and how sure that is, the top three
//! risks, and what is needed from the reader (decisions and help).
//!
//! Everything is derived from the view model's figures as of the report's moment:
//! - risks: firing critical alerts, blocked phases, a forecast past the planned end, components
//!   whose new system fails or is degraded, late phases, a low success rate, performance
//!   regressions and failing test suites, ranked in that order of weight (a later slip weighs
//!   more), the first three shown;
//! - needs: a decision for each late phase on the critical path (one that another phase
//!   waits for, or the plan's last phase), help for each component whose new system fails, an
//!   owner for each critical alert firing without an acknowledgement.

use mhd_core::alerts::{Alert, AlertState};
use mhd_core::components::SystemHealth;
use mhd_core::summary::{BlockerKind, Health, Severity};
use mhd_core::timeline::{MigrationPhase, PhaseStatus};
use time::OffsetDateTime;

use super::ReportData;
use crate::views::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS, clip, days_text, thousands};

/// Risks page 1 lists.
pub const TOP_RISKS: usize = 3;

/// The first page's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Brief {
    /// "On track", "At risk", "Critical", or "No plan".
    pub status: &'static str,
    /// The status behind it, when there is a plan.
    pub health: Option<Health>,
    /// Why, in sentences.
    pub why: Vec<String>,
    /// Where the migration stands: week, datasets migrated.
    pub position: String,
    /// When it will finish and how sure that is.
    pub completion: String,
    /// The top risks, worst first (at most [`TOP_RISKS`]).
    pub risks: Vec<String>,
    /// What is needed: decisions and help.
    pub needs: Vec<String>,
}

/// `"name"` quoted and clipped.
fn quoted(s: &str) -> String {
    format!("“{}”", clip(s, MAX_NAME_CHARS))
}

/// The name of a phase by its id.
fn phase_name<'a>(phases: &'a [MigrationPhase], id: &'a str) -> &'a str {
    phases
        .iter()
        .find(|p| p.id == id)
        .map_or(id, |p| p.name.as_str())
}

/// Whether a phase is on the critical path: another unfinished phase waits for it, or it is
/// the plan's last phase.
fn critical_path(p: &MigrationPhase, phases: &[MigrationPhase]) -> bool {
    let last_end = phases.iter().map(|q| q.end_date).max();
    Some(p.end_date) == last_end
        || phases.iter().any(|q| {
            q.status != PhaseStatus::Completed && q.dependencies.iter().any(|d| d == &p.id)
        })
}

/// A late phase's slip, in days, when it is unfinished and behind.
fn late(p: &MigrationPhase) -> Option<i64> {
    if p.status == PhaseStatus::Completed {
        return None;
    }
    p.slip_days.filter(|d| *d > 0)
}

/// "since 3 days ago" for an alert.
fn firing_since(a: &Alert, now: OffsetDateTime) -> String {
    mhd_core::format::relative(now, a.fired_at.unwrap_or(a.started_at))
}

/// The first page's words of a report.
pub fn brief(data: &ReportData) -> Brief {
    let Some(v) = data.views.as_ref() else {
        return Brief {
            status: "No plan",
            health: None,
            why: vec![
                "No migration plan, so there is no status, forecast or timeline: write one \
                 with mhd init, check it with mhd check."
                    .to_owned(),
            ],
            position: format!(
                "{} operations were recorded in the period, {} of them failed.",
                thousands(data.progress.operations),
                thousands(data.progress.failed_operations)
            ),
            completion: "No completion date without a plan.".to_owned(),
            risks: Vec::new(),
            needs: vec!["A migration plan (mhd init).".to_owned()],
        };
    };
    let s = &v.summary;
    let now = data.as_of;
    let status = match s.overall_health {
        Health::Healthy => "On track",
        Health::AtRisk => "At risk",
        Health::Critical => "Critical",
    };
    let mut why: Vec<String> = s
        .health_reasons
        .iter()
        .take(3)
        .map(|r| clip(r, MAX_MESSAGE_CHARS))
        .collect();
    if why.is_empty() {
        why.push(
            "Every figure is within its limits: no critical alert is firing, the success rate \
             is above its warning level, the forecast meets the plan and no phase is blocked."
                .to_owned(),
        );
    }
    let k = &s.key_metrics;
    let percent = if s.migration_progress.is_finite() {
        s.migration_progress
    } else {
        0.0
    };
    let position = format!(
        "{}: {} of {} datasets migrated ({percent:.1} %), {} migrated in this period.",
        crate::views::week_words(s.week, s.weeks),
        thousands(k.datasets_migrated),
        thousands(k.datasets_total),
        match data.progress.migrated_change() {
            n if n >= 0 => thousands(n as u64),
            n => format!("{n} (more rolled back than)"),
        }
    );
    let completion = if k.datasets_total > 0 && k.datasets_migrated >= k.datasets_total {
        "Every dataset is migrated.".to_owned()
    } else {
        match &s.estimated_completion {
            Some(e) => {
                let against = match e.slip_days {
                    d if d > 0 => format!("{} late", days_text(d)),
                    d if d < 0 => format!("{} early", days_text(-d)),
                    _ => "on the day".to_owned(),
                };
                format!(
                    "Expected to finish on {} (50 % likely) and by {} (85 % likely); the plan \
                     ends {}, so at 85 % confidence the migration finishes {against}.",
                    e.p50, e.p85, e.planned_end
                )
            }
            None => format!(
                "No completion date can be forecast yet: {}",
                v.progress.as_ref().map_or_else(
                    || "the migration has too little history.".to_owned(),
                    |p| clip(&p.explain, MAX_MESSAGE_CHARS)
                )
            ),
        }
    };

    // Risks, weighted.
    let mut risks: Vec<(i64, String)> = Vec::new();
    let critical: Vec<&Alert> = data
        .views
        .as_ref()
        .map(|_| {
            data.alerts
                .iter()
                .filter(|a| a.state == AlertState::Firing && a.severity == Severity::Critical)
                .collect()
        })
        .unwrap_or_default();
    for a in &critical {
        let mut t = format!(
            "The critical alert {} has been firing since {}",
            quoted(&a.title),
            firing_since(a, now)
        );
        if let Some(c) = &a.component {
            t.push_str(&format!(" on {}", clip(c, MAX_NAME_CHARS)));
        }
        t.push_str(if a.acknowledged.is_some() {
            "."
        } else {
            ", and nobody has acknowledged it."
        });
        risks.push((1000, t));
    }
    for b in s.blockers.iter().filter(|b| b.kind == BlockerKind::Phase) {
        risks.push((900, format!("{}.", clip(&b.title, MAX_MESSAGE_CHARS))));
    }
    if let Some(e) = s.estimated_completion.as_ref().filter(|e| e.slip_days > 0) {
        risks.push((
            800 + e.slip_days.min(99),
            format!(
                "The forecast finishes {} after the planned end ({} at 85 % confidence, planned {}).",
                days_text(e.slip_days),
                e.p85,
                e.planned_end
            ),
        ));
    }
    for c in &v.components {
        let rate = c
            .new_version
            .success_rate
            .filter(|r| r.is_finite())
            .map(|r| {
                format!(
                    " ({} of its operations succeed)",
                    mhd_core::format::percent(r)
                )
            })
            .unwrap_or_default();
        match c.new_version.health {
            SystemHealth::Failing => risks.push((
                700,
                format!(
                    "The new system of {} is failing{rate}.",
                    clip(&c.name, MAX_NAME_CHARS)
                ),
            )),
            SystemHealth::Degraded => risks.push((
                450,
                format!(
                    "The new system of {} is degraded{rate}.",
                    clip(&c.name, MAX_NAME_CHARS)
                ),
            )),
            _ => {}
        }
    }
    for p in &v.timeline {
        if let Some(d) = late(p) {
            let end = p
                .projected_end
                .map(|e| format!(", projected to end {e} instead of {}", p.end_date))
                .unwrap_or_default();
            risks.push((
                600 + d.min(99),
                format!(
                    "Phase {} is {} behind its plan{end}.",
                    clip(&p.name, MAX_NAME_CHARS),
                    days_text(d)
                ),
            ));
        }
    }
    for r in s
        .health_reasons
        .iter()
        .filter(|r| r.starts_with("Success rate"))
    {
        risks.push((650, clip(r, MAX_MESSAGE_CHARS)));
    }
    let regressions: Vec<_> = data.performance.iter().filter(|c| c.regression).collect();
    if let Some(worst) = regressions.iter().max_by(|a, b| {
        a.delta_percent
            .unwrap_or(0.0)
            .total_cmp(&b.delta_percent.unwrap_or(0.0))
    }) {
        risks.push((
            500,
            format!(
                "{} operation{} slower on the new system than allowed (worst: {}, {}).",
                regressions.len(),
                if regressions.len() == 1 {
                    " is"
                } else {
                    "s are"
                },
                clip(&worst.operation, MAX_NAME_CHARS),
                worst
                    .delta_percent
                    .filter(|d| d.is_finite())
                    .map_or("slower".to_owned(), |d| format!("{d:+.1} % at p50"))
            ),
        ));
    }
    if let Some(t) = &data.tests {
        for suite in t.suites.iter().filter(|s| s.results.failed > 0) {
            risks.push((
                400,
                format!(
                    "The test suite {} has {} failing test{}.",
                    clip(&suite.name, MAX_NAME_CHARS),
                    thousands(suite.results.failed),
                    if suite.results.failed == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    risks.sort_by_key(|r| std::cmp::Reverse(r.0));
    let risks: Vec<String> = risks.into_iter().take(TOP_RISKS).map(|r| r.1).collect();

    // What is needed.
    let mut needs = Vec::new();
    for p in &v.timeline {
        if let Some(d) = late(p).filter(|_| critical_path(p, &v.timeline)) {
            let waiting: Vec<&str> = v
                .timeline
                .iter()
                .filter(|q| q.dependencies.iter().any(|x| x == &p.id))
                .map(|q| phase_name(&v.timeline, &q.id))
                .collect();
            let waits = if waiting.is_empty() {
                "it is the plan's last phase".to_owned()
            } else {
                format!(
                    "{} wait{} for it",
                    waiting
                        .iter()
                        .map(|w| clip(w, MAX_NAME_CHARS))
                        .collect::<Vec<_>>()
                        .join(", "),
                    if waiting.len() == 1 { "s" } else { "" }
                )
            };
            needs.push(format!(
                "A decision on phase {}: it is {} late and on the critical path ({waits}): add \
                 people, cut its scope or move the plan's end.",
                clip(&p.name, MAX_NAME_CHARS),
                days_text(d)
            ));
        }
    }
    for c in v
        .components
        .iter()
        .filter(|c| c.new_version.health == SystemHealth::Failing)
    {
        needs.push(format!(
            "Help from the team of {}: its new system is failing, and its datasets should wait \
             until it is fixed.",
            clip(&c.name, MAX_NAME_CHARS)
        ));
    }
    for a in critical.iter().filter(|a| a.acknowledged.is_none()) {
        needs.push(format!(
            "An owner for the critical alert {}: firing since {} and not acknowledged.",
            quoted(&a.title),
            firing_since(a, now)
        ));
    }
    if needs.is_empty() {
        needs.push("Nothing this period: no late phase on the critical path, no failing component, no unacknowledged critical alert.".to_owned());
    }
    Brief {
        status,
        health: Some(s.overall_health),
        why,
        position,
        completion,
        risks,
        needs,
    }
}

/// The burn-up chart of the report's moment (the pages' chart), when there is a plan.
pub fn burnup(data: &ReportData) -> Option<String> {
    let v = data.views.as_ref()?;
    let p = v.progress.as_ref()?;
    let points: Vec<(time::Date, u64)> = p.points.iter().map(|b| (b.day, b.migrated)).collect();
    let today = data.as_of.to_offset(time::UtcOffset::UTC).date();
    Some(crate::charts::burnup_chart(&crate::charts::Burnup {
        points: &points,
        total: p.total,
        plan: (p.plan_start, p.planned_end),
        today,
        fan: p.datasets.map(|f| (f.p50, f.p85, f.p95)),
    }))
}

/// How long from `from` to `to`, in words ("3 h 20 min", "2 days 4 h"), or `None` before it.
pub fn span_words(from: OffsetDateTime, to: OffsetDateTime) -> Option<String> {
    let d = to - from;
    if d.is_negative() {
        return None;
    }
    let minutes = d.whole_minutes();
    Some(if minutes < 1 {
        format!("{} s", d.whole_seconds())
    } else if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 24 * 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{} {} h", days_text(minutes / 1440), (minutes % 1440) / 60)
    })
}
