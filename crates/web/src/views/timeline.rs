//! The timeline (DESIGN §3.2): a week-by-week Gantt chart of the phases with a "today"
//! marker, and the same phases as a table (status, progress, dates, risk, slip, blockers,
//! milestones).

use askama::Template;
use mhd_core::plan::Risk;
use mhd_core::summary::ExecutiveSummary;
use mhd_core::timeline::{MigrationPhase, Milestone, MilestoneStatus, PhaseStatus};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use super::{Badge, DASH, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, clip, days_text, whole_percent};
use crate::charts::{self, GanttMilestone, GanttOptions, GanttRow, GanttStatus, MilestoneMark};

/// The timeline section of a page.
#[derive(Template)]
#[template(path = "timeline.html", whitespace = "minimize")]
pub(crate) struct TimelineSection {
    chart: String,
    note: String,
    rows: Vec<PhaseRow>,
}

struct PhaseRow {
    name: String,
    status: Badge,
    progress: String,
    start: String,
    end: String,
    risk: Badge,
    slip: String,
    slip_title: String,
    blocked_by: Vec<String>,
    milestones: Vec<MilestoneItem>,
    /// How its progress, status and projected end were made.
    explain: String,
}

struct MilestoneItem {
    badge: Badge,
    name: String,
    date: String,
    note: Option<String>,
}

/// A phase's status as a badge, in the chart's words.
fn status_badge(s: PhaseStatus) -> Badge {
    match s {
        PhaseStatus::Completed => Badge::new("✓", "completed", "ok"),
        PhaseStatus::InProgress => Badge::new("●", "in progress", ""),
        PhaseStatus::NotStarted => Badge::new("○", "not started", "mut"),
        PhaseStatus::Blocked => Badge::new("✗", "blocked", "bad"),
    }
}

fn risk_badge(r: Risk) -> Badge {
    match r {
        Risk::Low => Badge::new("", "low", ""),
        Risk::Medium => Badge::new("▲", "medium", "warn"),
        Risk::High => Badge::new("⚠", "high", "bad"),
    }
}

fn milestone_badge(s: MilestoneStatus) -> Badge {
    match s {
        MilestoneStatus::Completed => Badge::new("◆", "completed", "ok"),
        MilestoneStatus::Pending => Badge::new("◇", "pending", ""),
        MilestoneStatus::Missed => Badge::new("✗", "missed", "bad"),
    }
}

/// The first day of the plan, which the dashboard's data does not carry: the planned end less
/// the plan's weeks when a forecast gives the planned end; otherwise the day, among those
/// that put today in the summary's week, that falls on the same weekday as the first phase's
/// start (plans start phases on week boundaries); the first phase's start before week 1.
pub(crate) fn plan_start(s: &ExecutiveSummary, phases: &[MigrationPhase]) -> Option<Date> {
    let weeks = Duration::weeks(i64::from(s.weeks));
    if let Some(e) = &s.estimated_completion {
        return e.planned_end.checked_sub(weeks);
    }
    let first = phases.iter().map(|p| p.start_date).min()?;
    if s.week < 1 {
        return Some(first);
    }
    let today = s.generated_at.to_offset(UtcOffset::UTC).date();
    // Week N covers the days 7(N−1) to 7N−1 after the start, so the start lies in
    // latest−6 ..= latest.
    let latest = today.checked_sub(Duration::weeks(s.week - 1))?;
    let shift = (latest - first).whole_days().rem_euclid(7);
    latest.checked_sub(Duration::days(shift))
}

impl TimelineSection {
    /// The section for the phases of `s`'s plan, or `None` when the plan has no phases.
    pub(crate) fn new(s: &ExecutiveSummary, phases: &[MigrationPhase]) -> Option<Self> {
        let start = plan_start(s, phases)?;
        let name_of = |id: &str| {
            phases
                .iter()
                .find(|p| p.id == id)
                .map_or(id, |p| p.name.as_str())
                .to_owned()
        };
        let day = |d: Date| (d - start).whole_days() as f64;
        // The chart spans the plan's weeks, and more when a phase ends later.
        let last = phases.iter().map(|p| day(p.end_date)).fold(0.0, f64::max);
        let weeks = u32::try_from(((last / 7.0).ceil() as i64).max(i64::from(s.weeks)))
            .unwrap_or(u32::MAX)
            .clamp(1, 520);
        let start_of_day = start.with_time(Time::MIDNIGHT).assume_utc();
        let now: OffsetDateTime = s.generated_at;
        let today_day = (now - start_of_day).as_seconds_f64() / 86_400.0;
        let today = now.to_offset(UtcOffset::UTC).date();
        let on_chart = (0.0..=f64::from(weeks) * 7.0).contains(&today_day);
        let today_label = if on_chart {
            format!("today {today}")
        } else if today_day < 0.0 {
            format!("Today ({today}) is before week 1.")
        } else {
            format!("Today ({today}) is after week {weeks}.")
        };
        let rows: Vec<GanttRow> = phases
            .iter()
            .map(|p| gantt_row(p, today, &day, &name_of))
            .collect();
        let chart = charts::gantt(
            &rows,
            &GanttOptions {
                id: "gt",
                aria_label: "Timeline: Gantt chart of the phases by week; the table below \
                             has the same figures",
                weeks,
                today: on_chart.then_some(today_day),
                today_label: &today_label,
            },
        );
        let late = rows.iter().any(|r| r.projected_end.is_some());
        let mut note = format!(
            "Week 1 starts {start}; each bar runs from a phase's start to its planned end."
        );
        if late {
            note.push_str(
                " A dashed line continues a late phase to its projected end, or to today when \
                 its pace gives none.",
            );
        }
        Some(TimelineSection {
            chart,
            note,
            rows: phases.iter().map(|p| PhaseRow::new(p, &name_of)).collect(),
        })
    }
}

impl TimelineSection {
    /// The Gantt chart's SVG, for the report.
    pub(crate) fn chart(&self) -> &str {
        &self.chart
    }
}

/// What blocks a phase: its unfinished dependencies' names, then its alerts' titles.
fn blockers(p: &MigrationPhase, name_of: &dyn Fn(&str) -> String) -> Vec<String> {
    p.blocked_by
        .iter()
        .map(|id| clip(&name_of(id), MAX_NAME_CHARS))
        .chain(
            p.blocker_alerts
                .iter()
                .map(|a| format!("alert “{}”", clip(a, MAX_MESSAGE_CHARS))),
        )
        .collect()
}

fn gantt_row(
    p: &MigrationPhase,
    today: Date,
    day: &dyn Fn(Date) -> f64,
    name_of: &dyn Fn(&str) -> String,
) -> GanttRow {
    let progress = if p.progress.is_finite() {
        p.progress.clamp(0.0, 100.0)
    } else {
        0.0
    };
    let name = clip(&p.name, MAX_NAME_CHARS);
    let late = p
        .slip_days
        .filter(|d| *d > 0 && p.status != PhaseStatus::Completed);
    let (status, mut status_text, words) = match p.status {
        PhaseStatus::Completed => (GanttStatus::Completed, "✓ done".to_owned(), "completed"),
        PhaseStatus::InProgress => (
            GanttStatus::InProgress,
            format!("● {} in progress", whole_percent(progress)),
            "in progress",
        ),
        PhaseStatus::NotStarted => (GanttStatus::Planned, "○ planned".to_owned(), "planned"),
        PhaseStatus::Blocked => (GanttStatus::Blocked, "✗ blocked".to_owned(), "blocked"),
    };
    if let Some(d) = late {
        status_text.push_str(&format!(" · ⚠ {d}d late"));
    }
    let mut title = format!(
        "{name}: {words}, {} done, {} – {}, risk {}",
        whole_percent(progress),
        p.start_date,
        p.end_date,
        p.risk_level.as_str()
    );
    let by = blockers(p, name_of);
    if !by.is_empty() {
        title.push_str(&format!(", blocked by {}", by.join(", ")));
    }
    if let Some(d) = late {
        title.push_str(&format!(", {} late", days_text(d)));
    }
    GanttRow {
        label: p.name.clone(),
        start: day(p.start_date),
        end: day(p.end_date),
        status,
        progress,
        status_text,
        title,
        milestones: p
            .milestones
            .iter()
            .map(|m| GanttMilestone {
                day: day(m.date) + 0.5,
                mark: match m.status {
                    MilestoneStatus::Completed => MilestoneMark::Reached,
                    MilestoneStatus::Pending => MilestoneMark::Pending,
                    MilestoneStatus::Missed => MilestoneMark::Missed,
                },
                title: milestone_title(m),
            })
            .collect(),
        // Past its end without a pace to project, a late phase runs at least until today.
        projected_end: match p.projected_end {
            Some(e) => (e > p.end_date).then(|| (day(e), format!("{name}: projected end {e}"))),
            None => (late.is_some() && today > p.end_date).then(|| {
                (
                    day(today),
                    format!(
                        "{name}: unfinished today, {} after its planned end",
                        days_text((today - p.end_date).whole_days())
                    ),
                )
            }),
        },
    }
}

/// A milestone's tooltip: its name, date and status.
fn milestone_title(m: &Milestone) -> String {
    let mut t = format!(
        "{} — {} — {}",
        clip(&m.name, MAX_NAME_CHARS),
        m.date,
        milestone_badge(m.status).word
    );
    if let Some(d) = m.completed_on {
        t.push_str(&format!(" {d}"));
    }
    if let Some(b) = &m.blocker {
        t.push_str(&format!(" (blocked by {})", clip(b, MAX_MESSAGE_CHARS)));
    }
    t
}

impl PhaseRow {
    fn new(p: &MigrationPhase, name_of: &dyn Fn(&str) -> String) -> Self {
        let progress = if p.progress.is_finite() {
            p.progress.clamp(0.0, 100.0)
        } else {
            0.0
        };
        let slip_title = match (p.status, p.projected_end, p.completed_on) {
            (PhaseStatus::Completed, _, Some(d)) => format!("completed {d}"),
            (_, Some(e), _) => format!("projected end {e}"),
            _ => String::new(),
        };
        PhaseRow {
            name: clip(&p.name, MAX_NAME_CHARS),
            status: status_badge(p.status),
            progress: whole_percent(progress),
            start: p.start_date.to_string(),
            end: p.end_date.to_string(),
            risk: risk_badge(p.risk_level),
            slip: p.slip_days.map_or(DASH.to_owned(), |d| {
                if d > 0 {
                    format!("+{}", days_text(d))
                } else {
                    days_text(d)
                }
            }),
            slip_title,
            blocked_by: blockers(p, name_of),
            milestones: p
                .milestones
                .iter()
                .map(|m| MilestoneItem {
                    badge: milestone_badge(m.status),
                    name: clip(&m.name, MAX_NAME_CHARS),
                    date: m.date.to_string(),
                    note: match (m.completed_on, &m.blocker) {
                        (Some(d), _) => Some(format!("reached {d}")),
                        (None, Some(b)) => {
                            Some(format!("blocked by {}", clip(b, MAX_MESSAGE_CHARS)))
                        }
                        (None, None) => None,
                    },
                })
                .collect(),
            explain: {
                let mut text = p.explain.clone();
                if let Some(f) = &p.forecast {
                    text.push_str(&format!(
                        " Projected to end by {} (P85 of the simulated futures; P50 {}, P95 {}), \
                         never before the unfinished phases it depends on.",
                        f.p85, f.p50, f.p95
                    ));
                }
                clip(&text, 2 * MAX_MESSAGE_CHARS)
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::plan::{Plan, default_plan_toml, parse};
    use mhd_core::summary::{MigrationCounts, SummaryInput, executive_summary};
    use mhd_core::timeline::{Marks, timeline};
    use time::macros::{date, datetime};

    fn plan() -> Plan {
        parse(&default_plan_toml(date!(2025 - 01 - 06)), "migration.toml").expect("plan")
    }

    /// The summary and timeline of `plan` at `now`, with all datasets migrated (a forecast:
    /// done today) or none (no forecast).
    fn views(
        plan: &Plan,
        now: OffsetDateTime,
        done: bool,
    ) -> (ExecutiveSummary, Vec<MigrationPhase>) {
        let today = now.date();
        let phases = timeline(plan, today, &[], &Marks::default(), &[]);
        let migrated = if done { 412 } else { 0 };
        let s = executive_summary(&SummaryInput {
            plan,
            now,
            counts: MigrationCounts {
                datasets_migrated: migrated,
                attempts: migrated,
                successes: migrated,
                rollbacks: 0,
            },
            daily_net: &[],
            phases: &phases,
            alerts: &[],
            performance_delta: None,
            performance: None,
            forecast: None,
            test_suites: &[],
        });
        (s, phases)
    }

    #[test]
    fn the_plan_start_is_recovered_with_or_without_a_forecast() {
        let mut late = plan();
        // Phases that start a week after the plan does.
        for p in &mut late.phases {
            p.start += Duration::weeks(1);
            p.end += Duration::weeks(1);
        }
        for p in [plan(), late] {
            for day in 0..160 {
                let now = datetime!(2025-01-06 18:00 UTC) + Duration::days(day);
                for done in [true, false] {
                    let (s, phases) = views(&p, now, done);
                    assert_eq!(s.estimated_completion.is_some(), done);
                    assert_eq!(
                        plan_start(&s, &phases),
                        Some(date!(2025 - 01 - 06)),
                        "{now} done={done}"
                    );
                }
            }
        }
        // Before week 1 without a forecast, the first phase's start is the best guess.
        let (s, phases) = views(&plan(), datetime!(2024-12-20 9:00 UTC), false);
        assert_eq!(plan_start(&s, &phases), Some(date!(2025 - 01 - 06)));
        assert_eq!(plan_start(&s, &[]), None);
    }

    #[test]
    fn a_timeline_without_phases_is_not_shown() {
        let (s, _) = views(&plan(), datetime!(2025-03-03 12:00 UTC), false);
        assert!(TimelineSection::new(&s, &[]).is_none());
    }
}
