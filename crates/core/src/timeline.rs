//! The timeline (DESIGN §3.2): each phase's status, progress, milestones, blockers, risk and
//! projected end, and the week-by-week Gantt chart.
//!
//! The rules, so a user can tell why the dashboard says what it says. "Today" is a parameter;
//! a completion recorded after today is ignored, so the timeline of a past day can be drawn.
//!
//! - **Recording completions.** An operation with `metric_type = "milestone"` ([`MILESTONE`])
//!   and `operation = <milestone name>` completes every milestone of that name on the UTC day
//!   of its timestamp; one with `metric_type = "phase_complete"` ([`PHASE_COMPLETE`]) and
//!   `operation = <phase id>` completes that phase. Names and ids match exactly; a failed
//!   operation (`success = false`) completes nothing; the earliest completion counts. For
//!   example `mhd record -t milestone -o "Suite green"`.
//! - **Progress** (0–100) of a phase: 100 when it is marked complete; otherwise migrated /
//!   total over the datasets of its components when any of them has datasets; otherwise the
//!   share of its milestones completed; otherwise 0.
//! - **Status**, the first that holds:
//!   1. `completed`: marked complete, or its progress is 100;
//!   2. `blocked`: a phase it depends on is not completed and today is on or after its start
//!      ("unfinished after it should have started"; a phase depending on a blocked phase is
//!      therefore blocked too once it should have started), or a blocker alert is linked to it
//!      (from any date). `mhd check` refuses dependencies on phases the plan does not define;
//!      should one reach here, it is ignored;
//!   3. `in_progress`: today is on or after its start, or one of its milestones is recorded
//!      complete (work on it began early). Progress from datasets alone does not start a phase:
//!      its components' datasets may be moved by earlier phases;
//!   4. `not_started`.
//! - **Milestones**: `completed` when recorded complete or when its phase is completed;
//!   `missed` when its date is before today and it is not; `pending` otherwise. A milestone
//!   that is not completed carries the phase's `blocker` (the unfinished dependencies' names
//!   and the alerts' titles) while the phase is blocked.
//! - **Projected end** of a phase that has started (today on or after its start) and is not
//!   completed: its pace so far, progress / days since its start (at least one day), carried on
//!   linearly: today + ⌈(100 − progress) × days / progress⌉. Without progress there is no pace
//!   and no projection. `slip_days` = projected end − planned end; without a projection, a
//!   phase past its end is late by at least today − end, which is its `slip_days`. A completed
//!   phase's `slip_days` is its completion day − planned end when that day is known (marked
//!   complete, or its last milestone recorded), otherwise absent.
//! - **Risk level**: `low` once completed; `high` while blocked; before its start, the risk the
//!   plan declares; after it, from the slip: `high` when more than [`HIGH_SLIP_DAYS`] days,
//!   `medium` when late at all or a milestone was missed, `low` otherwise.
//! - **Dates.** A phase's `end` is the day it is due to be over (`mhd init` writes the Monday
//!   after its last week), so the chart draws it over the days from `start` up to `end`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use time::{Date, Duration, UtcOffset};

use crate::forecast::ymd;
use crate::format::terminal_safe;
use crate::operation::NewOperation;
use crate::plan::{Phase, Plan, Risk};

/// `metric_type` of an operation recording that the milestone named by its `operation` is
/// complete.
pub const MILESTONE: &str = "milestone";
/// `metric_type` of an operation recording that the phase whose id is its `operation` is
/// complete.
pub const PHASE_COMPLETE: &str = "phase_complete";
/// Projected slip, in days, beyond which a phase's risk is high.
pub const HIGH_SLIP_DAYS: i64 = 7;
/// Longest projection, in days; slower paces are shown as this far (about 100 years).
const MAX_PROJECTION_DAYS: f64 = 36_500.0;
/// Longest phase name in the Gantt chart, in characters.
const GANTT_NAME_WIDTH: usize = 16;

/// Where a phase stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    /// Its start is ahead and nothing is done.
    NotStarted,
    /// Started (or one of its milestones reached early) and going on.
    InProgress,
    /// Marked complete, or all its work is done.
    Completed,
    /// Waiting on an unfinished dependency after it should have started, or on an alert.
    Blocked,
}

/// Where a milestone stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MilestoneStatus {
    /// Due today or later and not yet completed.
    Pending,
    /// Recorded complete, or its phase is completed.
    Completed,
    /// Due before today and not completed.
    Missed,
}

/// A milestone on the timeline (the specification's `Milestone`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Milestone {
    /// What is reached.
    pub name: String,
    /// When it is due.
    #[serde(with = "ymd")]
    pub date: Date,
    /// Pending, completed or missed.
    pub status: MilestoneStatus,
    /// What holds it up while its phase is blocked: unfinished dependencies and alerts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocker: Option<String>,
    /// The day it was recorded complete (its phase's when it was completed with its phase).
    #[serde(with = "ymd::option")]
    pub completed_on: Option<Date>,
}

/// A phase on the timeline (the specification's `MigrationPhase`, plus the fields after
/// `risk_level`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MigrationPhase {
    /// The plan's phase id.
    pub id: String,
    /// The name shown to people.
    pub name: String,
    /// The planned start.
    #[serde(with = "ymd")]
    pub start_date: Date,
    /// The planned end.
    #[serde(with = "ymd")]
    pub end_date: Date,
    /// Not started, in progress, completed or blocked.
    pub status: PhaseStatus,
    /// 0–100.
    pub progress: f64,
    /// The phase's milestones, in the plan's order.
    pub milestones: Vec<Milestone>,
    /// Ids of the phases it depends on.
    pub dependencies: Vec<String>,
    /// Low, medium or high.
    pub risk_level: Risk,
    /// Ids of the components it works on.
    pub components: Vec<String>,
    /// When it will end at its pace so far (started, unfinished phases with progress).
    #[serde(with = "ymd::option")]
    pub projected_end: Option<Date>,
    /// Days late (negative: early) against the planned end; see the module's rules.
    pub slip_days: Option<i64>,
    /// Ids of the unfinished dependencies that block it.
    pub blocked_by: Vec<String>,
    /// Titles of the blocker alerts linked to it.
    pub blocker_alerts: Vec<String>,
    /// The day it was completed, when known.
    #[serde(with = "ymd::option")]
    pub completed_on: Option<Date>,
    /// Its end over the simulated futures of the forecast ([`crate::outlook`]), when one is
    /// made: `projected_end` is its P85.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast: Option<crate::outlook::Spread>,
    /// How its progress and status were made, in words with their inputs.
    pub explain: String,
}

/// Dataset progress of one component, as the store counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentProgress {
    /// The component id.
    pub component: String,
    /// Its datasets that are migrated (verified included).
    pub migrated: u64,
    /// All its datasets.
    pub total: u64,
}

/// A blocker alert linked to a phase (for example a firing alert of a rule tied to the phase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseAlert {
    /// The phase id.
    pub phase: String,
    /// The alert's title.
    pub title: String,
}

/// Completions recorded by `milestone` and `phase_complete` operations: name or id → the day
/// of the earliest one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Milestone name → the day it was completed.
    pub milestones: BTreeMap<String, Date>,
    /// Phase id → the day it was completed.
    pub phases: BTreeMap<String, Date>,
}

impl Marks {
    /// Takes one operation into account: a successful [`MILESTONE`] or [`PHASE_COMPLETE`]
    /// operation completes its `operation` on `on` unless an earlier one did; others change
    /// nothing.
    pub fn record(&mut self, metric_type: &str, operation: &str, success: bool, on: Date) {
        let map = match metric_type {
            MILESTONE => &mut self.milestones,
            PHASE_COMPLETE => &mut self.phases,
            _ => return,
        };
        if !success {
            return;
        }
        map.entry(operation.to_owned())
            .and_modify(|d| *d = (*d).min(on))
            .or_insert(on);
    }

    /// The completions among these operations, each on the UTC day of its timestamp.
    pub fn from_operations<'a>(ops: impl IntoIterator<Item = &'a NewOperation>) -> Marks {
        let mut marks = Marks::default();
        for op in ops {
            let day = op.timestamp.to_offset(UtcOffset::UTC).date();
            marks.record(&op.metric_type, &op.operation, op.success, day);
        }
        marks
    }
}

/// The week of the plan `today` falls in, and the plan's weeks: week 1 starts on the plan's
/// start; 0 before it; past the plan's weeks after the planned end.
pub fn week_of(plan: &Plan, today: Date) -> (i64, u32) {
    let days = (today - plan.migration.start).whole_days();
    let week = if days < 0 { 0 } else { days / 7 + 1 };
    (week, plan.migration.weeks)
}

/// What a phase is by itself, before its dependencies are looked at.
struct Own {
    progress: f64,
    completed: bool,
    completed_on: Option<Date>,
    milestone_marks: Vec<Option<Date>>,
    explain: String,
}

fn own_state(phase: &Phase, today: Date, components: &[ComponentProgress], marks: &Marks) -> Own {
    let seen = |d: Option<&Date>| d.copied().filter(|d| *d <= today);
    let phase_mark = seen(marks.phases.get(&phase.id));
    let milestone_marks: Vec<Option<Date>> = phase
        .milestones
        .iter()
        .map(|m| seen(marks.milestones.get(&m.name)))
        .collect();
    let (migrated, total) = components
        .iter()
        .filter(|c| phase.components.contains(&c.component))
        .fold((0u64, 0u64), |(m, t), c| {
            (m.saturating_add(c.migrated), t.saturating_add(c.total))
        });
    let done_milestones = milestone_marks.iter().flatten().count();
    let (progress, data_complete, data_completed_on, explain) = if let Some(day) = phase_mark {
        (
            100.0,
            true,
            None,
            format!("Completed: marked complete on {day} (a `phase_complete` operation)."),
        )
    } else if total > 0 {
        let share = (migrated as f64 * 100.0 / total as f64).min(100.0);
        (
            share,
            migrated >= total,
            None,
            format!(
                "Progress from its components' datasets: {migrated} of {total} migrated ({}).",
                phase.components.join(", ")
            ),
        )
    } else if !phase.milestones.is_empty() {
        let all = done_milestones == phase.milestones.len();
        let share = done_milestones as f64 * 100.0 / phase.milestones.len() as f64;
        let last = milestone_marks.iter().flatten().max().copied();
        (
            share,
            all,
            if all { last } else { None },
            format!(
                "Progress from its milestones: {done_milestones} of {} reached (its components \
                 have no datasets the plan counts).",
                phase.milestones.len()
            ),
        )
    } else {
        (
            0.0,
            false,
            None,
            "No datasets and no milestones: 0 % until it is marked complete \
             (`mhd record -t phase_complete -o <phase id>`)."
                .to_owned(),
        )
    };
    Own {
        progress,
        completed: data_complete,
        completed_on: phase_mark.or(data_completed_on),
        milestone_marks,
        explain,
    }
}

/// The timeline of `plan` on `today` (see the module's rules): one entry per phase, in the
/// plan's order. `components` is the dataset progress per component, `marks` the recorded
/// completions, `alerts` the blocker alerts linked to phases.
pub fn timeline(
    plan: &Plan,
    today: Date,
    components: &[ComponentProgress],
    marks: &Marks,
    alerts: &[PhaseAlert],
) -> Vec<MigrationPhase> {
    let own: Vec<Own> = plan
        .phases
        .iter()
        .map(|p| own_state(p, today, components, marks))
        .collect();
    let completed: BTreeMap<&str, bool> = plan
        .phases
        .iter()
        .zip(&own)
        .map(|(p, o)| (p.id.as_str(), o.completed))
        .collect();
    let name_of = |id: &str| plan.phase(id).map_or(id, |p| p.name.as_str()).to_owned();
    plan.phases
        .iter()
        .zip(own)
        .map(|(phase, own)| {
            let started = today >= phase.start;
            let (blocked_by, blocker_alerts) = if own.completed {
                (Vec::new(), Vec::new())
            } else {
                let deps = if started {
                    phase
                        .depends_on
                        .iter()
                        .filter(|d| completed.get(d.as_str()) == Some(&false))
                        .cloned()
                        .collect()
                } else {
                    Vec::new()
                };
                let titles = alerts
                    .iter()
                    .filter(|a| a.phase == phase.id)
                    .map(|a| a.title.clone())
                    .collect();
                (deps, titles)
            };
            let status = if own.completed {
                PhaseStatus::Completed
            } else if !blocked_by.is_empty() || !blocker_alerts.is_empty() {
                PhaseStatus::Blocked
            } else if started || own.milestone_marks.iter().any(Option::is_some) {
                PhaseStatus::InProgress
            } else {
                PhaseStatus::NotStarted
            };
            let blocker = (status == PhaseStatus::Blocked).then(|| {
                blocked_by
                    .iter()
                    .map(|id| name_of(id))
                    .chain(blocker_alerts.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            let milestones: Vec<Milestone> = phase
                .milestones
                .iter()
                .zip(&own.milestone_marks)
                .map(|(m, mark)| {
                    let completed_on = if own.completed {
                        mark.or(own.completed_on)
                    } else {
                        *mark
                    };
                    let status = if own.completed || mark.is_some() {
                        MilestoneStatus::Completed
                    } else if m.date < today {
                        MilestoneStatus::Missed
                    } else {
                        MilestoneStatus::Pending
                    };
                    Milestone {
                        name: m.name.clone(),
                        date: m.date,
                        status,
                        blocker: if status == MilestoneStatus::Completed {
                            None
                        } else {
                            blocker.clone()
                        },
                        completed_on,
                    }
                })
                .collect();
            let (projected_end, slip_days) =
                projection(phase, today, own.progress, own.completed, own.completed_on);
            let missed = milestones
                .iter()
                .any(|m| m.status == MilestoneStatus::Missed);
            MigrationPhase {
                id: phase.id.clone(),
                name: phase.name.clone(),
                start_date: phase.start,
                end_date: phase.end,
                status,
                progress: own.progress,
                milestones,
                dependencies: phase.depends_on.clone(),
                risk_level: risk_level(status, started, slip_days, missed, phase.risk),
                components: phase.components.clone(),
                projected_end,
                slip_days,
                blocked_by,
                blocker_alerts,
                completed_on: own.completed_on,
                forecast: None,
                explain: own.explain,
            }
        })
        .collect()
}

/// Puts the forecast's ends into the timeline: an unfinished phase with a forecast gets it,
/// its `projected_end` becomes its P85 and its slip and risk follow from that (the module's
/// rules, with the forecast's date in place of the pace's).
pub fn apply_outlook(
    phases: &mut [MigrationPhase],
    spreads: &[Option<crate::outlook::Spread>],
    plan: &Plan,
    today: Date,
) {
    for (p, spread) in phases.iter_mut().zip(spreads) {
        let Some(s) = spread else { continue };
        if p.status == PhaseStatus::Completed {
            continue;
        }
        p.forecast = Some(*s);
        p.projected_end = Some(s.p85);
        p.slip_days = Some((s.p85 - p.end_date).whole_days());
        let missed = p
            .milestones
            .iter()
            .any(|m| m.status == MilestoneStatus::Missed);
        let declared = plan.phase(&p.id).map_or(Risk::Low, |ph| ph.risk);
        let started = today >= p.start_date;
        // A phase that cannot end on time is at risk before it starts, too.
        p.risk_level =
            if !started && p.slip_days.is_some_and(|d| d > 0) && p.status != PhaseStatus::Blocked {
                declared.max(if p.slip_days.is_some_and(|d| d > HIGH_SLIP_DAYS) {
                    Risk::High
                } else {
                    Risk::Medium
                })
            } else {
                risk_level(p.status, started, p.slip_days, missed, declared)
            };
    }
}

/// Projected end and slip of a phase (see the module's rules).
fn projection(
    phase: &Phase,
    today: Date,
    progress: f64,
    completed: bool,
    completed_on: Option<Date>,
) -> (Option<Date>, Option<i64>) {
    if completed {
        return (None, completed_on.map(|d| (d - phase.end).whole_days()));
    }
    if today < phase.start {
        return (None, None);
    }
    if progress > 0.0 {
        let elapsed = (today - phase.start).whole_days().max(1) as f64;
        // The tolerance keeps a whole number of days whole despite rounding.
        let days = ((100.0 - progress) * elapsed / progress - 1e-9)
            .ceil()
            .min(MAX_PROJECTION_DAYS) as i64;
        let end = today.checked_add(Duration::days(days)).unwrap_or(Date::MAX);
        return (Some(end), Some((end - phase.end).whole_days()));
    }
    let late = (today - phase.end).whole_days();
    (None, (late > 0).then_some(late))
}

/// Risk level of a phase (see the module's rules).
fn risk_level(
    status: PhaseStatus,
    started: bool,
    slip_days: Option<i64>,
    missed: bool,
    declared: Risk,
) -> Risk {
    match status {
        PhaseStatus::Completed => Risk::Low,
        PhaseStatus::Blocked => Risk::High,
        _ if !started => declared,
        _ => {
            let slip = slip_days.unwrap_or(0);
            if slip > HIGH_SLIP_DAYS {
                Risk::High
            } else if slip > 0 || missed {
                Risk::Medium
            } else {
                Risk::Low
            }
        }
    }
}

/// The timeline as a text Gantt chart (no colours; the caller adds them): a header of week
/// numbers, a rule with `▼` over today, one row per phase and a legend.
///
/// Each week is `width_per_week` characters (at least 1); a character is part of a phase's bar
/// when the middle of the days it stands for falls between the phase's start and end. The bar
/// shows the done share of the phase as `█` and the rest as `▓` (in progress), `░` (not
/// started) or `✗` (blocked); today's column shows `│` where no bar is. After the chart, each
/// row says `✓ done`, `● N%`, or `✗ blocked by …`, and `⚠ N days late` when the phase slips.
/// Names are cut to 16 characters and made terminal-safe. The legend ends with today's date,
/// or says that today is off the chart.
pub fn gantt_text(
    phases: &[MigrationPhase],
    plan_start: Date,
    weeks: u32,
    today: Date,
    width_per_week: usize,
) -> String {
    let w = width_per_week.max(1);
    let weeks = weeks.max(1) as usize;
    let cols = weeks * w;
    let span_days = 7 * weeks as i64;
    let names: Vec<String> = phases
        .iter()
        .map(|p| clip(&terminal_safe(&p.name), GANTT_NAME_WIDTH))
        .collect();
    let label_w = names
        .iter()
        .map(|n| n.chars().count())
        .chain(["Week:".len()])
        .max()
        .unwrap_or(0);
    let today_offset = (today - plan_start).whole_days();
    let today_col = (0..span_days)
        .contains(&today_offset)
        .then(|| today_offset as usize * w / 7);

    let mut out = String::new();
    let mut header = vec![' '; cols];
    let step = (weeks.to_string().len() + 1).div_ceil(w);
    for week in (1..=weeks).step_by(step) {
        let label = week.to_string();
        let col = (week - 1) * w;
        // The last label may run past the chart's right edge.
        if header.len() < col + label.len() {
            header.resize(col + label.len(), ' ');
        }
        for (i, c) in label.chars().enumerate() {
            header[col + i] = c;
        }
    }
    line(&mut out, &pad("Week:", label_w), &header, "");
    let mut rule = vec!['━'; cols];
    if let Some(c) = today_col {
        rule[c] = '▼';
    }
    line(&mut out, &pad("", label_w), &rule, "");

    let name_of = |id: &str| {
        phases
            .iter()
            .find(|p| p.id == id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone())
    };
    for (phase, name) in phases.iter().zip(&names) {
        let covered = bar_cells(phase, plan_start, span_days, w);
        let done = if phase.status == PhaseStatus::Completed {
            covered.len()
        } else {
            ((phase.progress / 100.0 * covered.len() as f64).floor() as usize).min(covered.len())
        };
        let rest = match phase.status {
            PhaseStatus::Completed => '█',
            PhaseStatus::InProgress => '▓',
            PhaseStatus::Blocked => '✗',
            PhaseStatus::NotStarted => '░',
        };
        let mut cells = vec![' '; cols];
        for (i, &c) in covered.iter().enumerate() {
            cells[c] = if i < done { '█' } else { rest };
        }
        if let Some(c) = today_col
            && cells[c] == ' '
        {
            cells[c] = '│';
        }
        let mut status = match phase.status {
            PhaseStatus::Completed => "✓ done".to_owned(),
            PhaseStatus::InProgress => format!("● {:.0}%", phase.progress.floor()),
            PhaseStatus::Blocked => {
                let by: Vec<String> = phase
                    .blocked_by
                    .iter()
                    .map(|id| name_of(id))
                    .chain(phase.blocker_alerts.iter().cloned())
                    .collect();
                format!("✗ blocked by {}", terminal_safe(&by.join(", ")))
            }
            PhaseStatus::NotStarted => String::new(),
        };
        if phase.status != PhaseStatus::Completed
            && let Some(slip) = phase.slip_days.filter(|s| *s > 0)
        {
            let _ = write!(
                status,
                "{}⚠ {slip} day{} late",
                if status.is_empty() { "" } else { "  " },
                if slip == 1 { "" } else { "s" }
            );
        }
        line(&mut out, &pad(name, label_w), &cells, &status);
    }
    let today_note = match today_col {
        Some(_) => format!("▼ today ({today})"),
        None if today_offset < 0 => format!("today ({today}) is before week 1"),
        None => format!("today ({today}) is after week {weeks}"),
    };
    let _ = writeln!(
        out,
        "Legend: █ done  ▓ in progress  ░ planned  ✗ blocked  ⚠ late  {today_note}"
    );
    out
}

/// The chart columns (in order) of a phase's bar.
fn bar_cells(phase: &MigrationPhase, plan_start: Date, span_days: i64, w: usize) -> Vec<usize> {
    let s = (phase.start_date - plan_start).whole_days();
    let e = (phase.end_date - plan_start).whole_days().max(s + 1);
    let w2 = 2 * w as i64;
    let cols = span_days as usize * w / 7;
    // Cell c stands for the days [7c/w, 7(c+1)/w); its middle is 7(2c+1)/2w.
    let mut cells: Vec<usize> = (0..cols)
        .filter(|&c| {
            let mid = 7 * (2 * c as i64 + 1);
            w2 * s <= mid && mid < w2 * e
        })
        .collect();
    if cells.is_empty() && s < span_days && e > 0 {
        cells.push((s.max(0) as usize * w / 7).min(cols - 1));
    }
    cells
}

fn line(out: &mut String, label: &str, cells: &[char], status: &str) {
    let mut l = format!("{label} ");
    l.extend(cells);
    if !status.is_empty() {
        l.push_str("  ");
        l.push_str(status);
    }
    out.push_str(l.trim_end());
    out.push('\n');
}

fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    format!("{s}{}", " ".repeat(width.saturating_sub(n)))
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Datasets, MigrationInfo, Milestone as PlanMilestone, Thresholds, parse};
    use time::macros::{date, datetime};

    fn phase(id: &str, start: Date, end: Date, deps: &[&str]) -> Phase {
        Phase {
            id: id.into(),
            name: id.to_uppercase(),
            start,
            end,
            depends_on: deps.iter().map(|s| (*s).into()).collect(),
            components: Vec::new(),
            risk: Risk::Low,
            milestones: Vec::new(),
        }
    }

    fn plan(phases: Vec<Phase>) -> Plan {
        Plan {
            migration: MigrationInfo {
                name: "m".into(),
                start: date!(2025 - 01 - 06),
                weeks: 10,
            },
            datasets: Datasets::Total(10),
            components: Vec::new(),
            phases,
            thresholds: Thresholds::default(),
            collectors: Default::default(),
            alerts: Default::default(),
            notify: Vec::new(),
            chat: Default::default(),
            retention: Default::default(),
            reports: Vec::new(),
        }
    }

    fn marks(milestones: &[(&str, Date)], phases: &[(&str, Date)]) -> Marks {
        let mut m = Marks::default();
        for (n, d) in milestones {
            m.record(MILESTONE, n, true, *d);
        }
        for (n, d) in phases {
            m.record(PHASE_COMPLETE, n, true, *d);
        }
        m
    }

    fn progress(component: &str, migrated: u64, total: u64) -> ComponentProgress {
        ComponentProgress {
            component: component.into(),
            migrated,
            total,
        }
    }

    fn get<'a>(t: &'a [MigrationPhase], id: &str) -> &'a MigrationPhase {
        t.iter().find(|p| p.id == id).expect("phase")
    }

    /// a (weeks 1-2) → b (weeks 3-4) → c (weeks 5-6); d independent (weeks 3-4).
    fn chain() -> Plan {
        plan(vec![
            phase("a", date!(2025 - 01 - 06), date!(2025 - 01 - 20), &[]),
            phase("b", date!(2025 - 01 - 20), date!(2025 - 02 - 03), &["a"]),
            phase("c", date!(2025 - 02 - 03), date!(2025 - 02 - 17), &["b"]),
            phase("d", date!(2025 - 01 - 20), date!(2025 - 02 - 03), &[]),
        ])
    }

    #[test]
    fn status_rules() {
        let p = chain();
        struct Case {
            what: &'static str,
            today: Date,
            phases_done: &'static [(&'static str, Date)],
            alerts: &'static [(&'static str, &'static str)],
            expect: [PhaseStatus; 4],
        }
        use PhaseStatus::{Blocked, Completed, InProgress, NotStarted};
        let cases = [
            Case {
                what: "before the start nothing has started",
                today: date!(2025 - 01 - 01),
                phases_done: &[],
                alerts: &[],
                expect: [NotStarted; 4],
            },
            Case {
                what: "the first phase runs, the others wait for their start",
                today: date!(2025 - 01 - 10),
                phases_done: &[],
                alerts: &[],
                expect: [InProgress, NotStarted, NotStarted, NotStarted],
            },
            Case {
                what: "b should have started and a is unfinished",
                today: date!(2025 - 01 - 20),
                phases_done: &[],
                alerts: &[],
                expect: [InProgress, Blocked, NotStarted, InProgress],
            },
            Case {
                what: "c depends on the blocked b: blocked too once it should have started",
                today: date!(2025 - 02 - 03),
                phases_done: &[],
                alerts: &[],
                expect: [InProgress, Blocked, Blocked, InProgress],
            },
            Case {
                what: "a done on time: b goes on",
                today: date!(2025 - 01 - 20),
                phases_done: &[("a", date!(2025 - 01 - 20))],
                alerts: &[],
                expect: [Completed, InProgress, NotStarted, InProgress],
            },
            Case {
                what: "a completion recorded after today does not count yet",
                today: date!(2025 - 01 - 20),
                phases_done: &[("a", date!(2025 - 01 - 21))],
                alerts: &[],
                expect: [InProgress, Blocked, NotStarted, InProgress],
            },
            Case {
                what: "an alert blocks a phase even before its start",
                today: date!(2025 - 01 - 10),
                phases_done: &[],
                alerts: &[("c", "Schema drift")],
                expect: [InProgress, NotStarted, Blocked, NotStarted],
            },
            Case {
                what: "an alert does not block a completed phase",
                today: date!(2025 - 01 - 10),
                phases_done: &[("a", date!(2025 - 01 - 09))],
                alerts: &[("a", "Late alert")],
                expect: [Completed, NotStarted, NotStarted, NotStarted],
            },
        ];
        for case in cases {
            let alerts: Vec<PhaseAlert> = case
                .alerts
                .iter()
                .map(|(p, t)| PhaseAlert {
                    phase: (*p).into(),
                    title: (*t).into(),
                })
                .collect();
            let t = timeline(&p, case.today, &[], &marks(&[], case.phases_done), &alerts);
            let got: Vec<PhaseStatus> = t.iter().map(|p| p.status).collect();
            assert_eq!(got, case.expect, "{}", case.what);
        }
    }

    #[test]
    fn blockers_name_what_blocks() {
        let mut p = chain();
        p.phases[2].milestones = vec![PlanMilestone {
            name: "C1".into(),
            date: date!(2025 - 02 - 10),
            when: None,
        }];
        let alerts = [PhaseAlert {
            phase: "c".into(),
            title: "Schema drift".into(),
        }];
        let t = timeline(&p, date!(2025 - 02 - 04), &[], &Marks::default(), &alerts);
        let c = get(&t, "c");
        assert_eq!(c.blocked_by, vec!["b".to_owned()]);
        assert_eq!(c.blocker_alerts, vec!["Schema drift".to_owned()]);
        assert_eq!(c.milestones[0].blocker.as_deref(), Some("B, Schema drift"));
        assert_eq!(c.milestones[0].status, MilestoneStatus::Pending);
        assert_eq!(c.risk_level, Risk::High);
        assert!(get(&t, "a").blocked_by.is_empty());
    }

    #[test]
    fn progress_rules() {
        let mut p = chain();
        p.phases[0].components = vec!["storage".into(), "config".into()];
        p.phases[1].milestones = ["B1", "B2", "B3", "B4"]
            .iter()
            .map(|n| PlanMilestone {
                name: (*n).into(),
                date: date!(2025 - 01 - 27),
                when: None,
            })
            .collect();
        p.phases[3].components = vec!["unknown".into()];
        let today = date!(2025 - 01 - 15);
        let comps = [
            progress("storage", 3, 10),
            progress("config", 2, 10),
            progress("features", 10, 10),
        ];
        let m = marks(&[("B1", date!(2025 - 01 - 10))], &[]);
        let t = timeline(&p, today, &comps, &m, &[]);
        // Datasets of its components: (3 + 2) / (10 + 10).
        assert_eq!(get(&t, "a").progress, 25.0);
        // No datasets: one milestone of four.
        assert_eq!(get(&t, "b").progress, 25.0);
        assert_eq!(
            get(&t, "b").status,
            PhaseStatus::InProgress,
            "progress before start"
        );
        // Neither: 0, and 100 once marked complete.
        assert_eq!(get(&t, "c").progress, 0.0);
        assert_eq!(get(&t, "d").progress, 0.0);
        let m = marks(&[], &[("c", date!(2025 - 01 - 12))]);
        let t = timeline(&p, today, &comps, &m, &[]);
        assert_eq!(get(&t, "c").progress, 100.0);
        assert_eq!(get(&t, "c").status, PhaseStatus::Completed);
        assert_eq!(get(&t, "c").completed_on, Some(date!(2025 - 01 - 12)));
        // Marked complete overrides unfinished datasets.
        let m = marks(&[], &[("a", date!(2025 - 01 - 12))]);
        let t = timeline(&p, today, &comps, &m, &[]);
        assert_eq!(get(&t, "a").progress, 100.0);
    }

    #[test]
    fn all_datasets_or_all_milestones_complete_a_phase() {
        let mut p = chain();
        p.phases[0].components = vec!["storage".into()];
        p.phases[1].milestones = vec![
            PlanMilestone {
                name: "B1".into(),
                date: date!(2025 - 01 - 27),
                when: None,
            },
            PlanMilestone {
                name: "B2".into(),
                date: date!(2025 - 02 - 01),
                when: None,
            },
        ];
        let m = marks(
            &[("B2", date!(2025 - 02 - 05)), ("B1", date!(2025 - 01 - 29))],
            &[],
        );
        let today = date!(2025 - 02 - 10);
        let t = timeline(&p, today, &[progress("storage", 7, 7)], &m, &[]);
        let a = get(&t, "a");
        assert_eq!(a.status, PhaseStatus::Completed);
        assert_eq!(
            a.completed_on, None,
            "the day datasets finished is not known"
        );
        assert_eq!(a.slip_days, None);
        let b = get(&t, "b");
        assert_eq!(b.status, PhaseStatus::Completed);
        assert_eq!(b.completed_on, Some(date!(2025 - 02 - 05)));
        assert_eq!(b.slip_days, Some(2), "finished two days after its end");
        assert_eq!(b.risk_level, Risk::Low);
        assert_eq!(get(&t, "c").status, PhaseStatus::InProgress);
    }

    #[test]
    fn milestone_rules() {
        let mut p = chain();
        let ms = |names: &[(&str, Date)]| {
            names
                .iter()
                .map(|(n, d)| PlanMilestone {
                    name: (*n).into(),
                    date: *d,
                    when: None,
                })
                .collect::<Vec<_>>()
        };
        p.phases[0].milestones = ms(&[
            ("done late", date!(2025 - 01 - 08)),
            ("missed", date!(2025 - 01 - 09)),
            ("due today", date!(2025 - 01 - 10)),
            ("ahead", date!(2025 - 01 - 15)),
            ("done early", date!(2025 - 01 - 16)),
        ]);
        p.phases[3].milestones = ms(&[("with its phase", date!(2025 - 01 - 25))]);
        let m = marks(
            &[
                ("done late", date!(2025 - 01 - 09)),
                ("done early", date!(2025 - 01 - 07)),
                ("ahead", date!(2025 - 01 - 11)), // after today: not yet
            ],
            &[("d", date!(2025 - 01 - 08))],
        );
        let t = timeline(&p, date!(2025 - 01 - 10), &[], &m, &[]);
        let got: Vec<(&str, MilestoneStatus, Option<Date>)> = get(&t, "a")
            .milestones
            .iter()
            .map(|m| (m.name.as_str(), m.status, m.completed_on))
            .collect();
        use MilestoneStatus::{Completed, Missed, Pending};
        assert_eq!(
            got,
            vec![
                ("done late", Completed, Some(date!(2025 - 01 - 09))),
                ("missed", Missed, None),
                ("due today", Pending, None),
                ("ahead", Pending, None),
                ("done early", Completed, Some(date!(2025 - 01 - 07))),
            ]
        );
        assert_eq!(get(&t, "a").risk_level, Risk::Medium, "a milestone missed");
        let d = &get(&t, "d").milestones[0];
        assert_eq!(d.status, Completed);
        assert_eq!(d.completed_on, Some(date!(2025 - 01 - 08)));
    }

    #[test]
    fn projection_and_risk() {
        let mut p = chain();
        p.phases[0].components = vec!["storage".into()];
        p.phases[0].risk = Risk::High;
        p.phases[1].risk = Risk::Medium;
        p.phases[3].components = vec!["config".into()];
        struct Case {
            today: Date,
            storage: u64,
            projected: Option<Date>,
            slip: Option<i64>,
            risk: Risk,
        }
        // a runs 2025-01-06 .. 2025-01-20 (14 days) over 100 datasets.
        let cases = [
            // Four days, 40 %: six more days, ends 2025-01-16, four days early.
            Case {
                today: date!(2025 - 01 - 10),
                storage: 40,
                projected: Some(date!(2025 - 01 - 16)),
                slip: Some(-4),
                risk: Risk::Low,
            },
            // Ten days, 50 %: ten more, 2025-01-26, six days late.
            Case {
                today: date!(2025 - 01 - 16),
                storage: 50,
                projected: Some(date!(2025 - 01 - 26)),
                slip: Some(6),
                risk: Risk::Medium,
            },
            // Ten days, 25 %: thirty more, 2025-02-15, 26 days late.
            Case {
                today: date!(2025 - 01 - 16),
                storage: 25,
                projected: Some(date!(2025 - 02 - 15)),
                slip: Some(26),
                risk: Risk::High,
            },
            // Started today with 1 %: one day of pace, 99 more.
            Case {
                today: date!(2025 - 01 - 06),
                storage: 1,
                projected: Some(date!(2025 - 04 - 15)),
                slip: Some(85),
                risk: Risk::High,
            },
            // No progress, not yet past its end: no projection, no slip.
            Case {
                today: date!(2025 - 01 - 16),
                storage: 0,
                projected: None,
                slip: None,
                risk: Risk::Low,
            },
            // No progress, three days past its end: late by at least three days.
            Case {
                today: date!(2025 - 01 - 23),
                storage: 0,
                projected: None,
                slip: Some(3),
                risk: Risk::Medium,
            },
            // Before its start the declared risk holds.
            Case {
                today: date!(2025 - 01 - 01),
                storage: 0,
                projected: None,
                slip: None,
                risk: Risk::High,
            },
        ];
        for (i, c) in cases.iter().enumerate() {
            let comps = [progress("storage", c.storage, 100)];
            let t = timeline(&p, c.today, &comps, &Marks::default(), &[]);
            let a = get(&t, "a");
            assert_eq!(
                (a.projected_end, a.slip_days, a.risk_level),
                (c.projected, c.slip, c.risk),
                "case {i}"
            );
        }
        // b before its start: its declared risk; d (no data) in progress: low.
        let t = timeline(&p, date!(2025 - 01 - 10), &[], &Marks::default(), &[]);
        assert_eq!(get(&t, "b").risk_level, Risk::Medium);
        assert_eq!(get(&t, "b").projected_end, None);
    }

    #[test]
    fn marks_come_from_successful_milestone_and_phase_operations() {
        let op = |metric_type: &str, operation: &str, success: bool, ts| NewOperation {
            timestamp: ts,
            metric_type: metric_type.into(),
            operation: operation.into(),
            dataset_name: None,
            component: None,
            system: None,
            duration_ms: None,
            success,
            row_count: None,
            error_message: None,
            metadata: None,
            import_key: None,
        };
        let ops = [
            op(
                MILESTONE,
                "Suite green",
                true,
                datetime!(2025-01-20 23:30 -02:00),
            ),
            op(
                MILESTONE,
                "Suite green",
                true,
                datetime!(2025-01-25 10:00 UTC),
            ),
            op(MILESTONE, "Not yet", false, datetime!(2025-01-20 10:00 UTC)),
            op(
                PHASE_COMPLETE,
                "tests",
                true,
                datetime!(2025-01-27 09:00 UTC),
            ),
            op("migration", "tests", true, datetime!(2025-01-27 09:00 UTC)),
        ];
        let m = Marks::from_operations(&ops);
        // 23:30 at -02:00 is the next UTC day.
        assert_eq!(
            m.milestones,
            BTreeMap::from([("Suite green".to_owned(), date!(2025 - 01 - 21))])
        );
        assert_eq!(
            m.phases,
            BTreeMap::from([("tests".to_owned(), date!(2025 - 01 - 27))])
        );
    }

    #[test]
    fn week_of_counts_from_one() {
        let p = chain();
        assert_eq!(week_of(&p, date!(2025 - 01 - 05)), (0, 10));
        assert_eq!(week_of(&p, date!(2025 - 01 - 06)), (1, 10));
        assert_eq!(week_of(&p, date!(2025 - 01 - 12)), (1, 10));
        assert_eq!(week_of(&p, date!(2025 - 01 - 13)), (2, 10));
        assert_eq!(week_of(&p, date!(2025 - 03 - 17)), (11, 10));
    }

    #[test]
    fn json_uses_the_specification_names() {
        let mut p = chain();
        p.phases[2].milestones = vec![PlanMilestone {
            name: "C1".into(),
            date: date!(2025 - 02 - 10),
            when: None,
        }];
        let t = timeline(&p, date!(2025 - 02 - 04), &[], &Marks::default(), &[]);
        insta::assert_json_snapshot!("timeline_blocked_chain", get(&t, "c"));
    }

    /// The specification's plan in week 9 of 21.
    fn spec_timeline() -> (Plan, Vec<MigrationPhase>, Date) {
        let plan = parse(
            &crate::plan::default_plan_toml(date!(2025 - 01 - 06)),
            "migration.toml",
        )
        .expect("plan");
        let today = date!(2025 - 03 - 06);
        let m = marks(
            &[
                ("Characterization suite green", date!(2025 - 01 - 17)),
                ("Coverage of the old system", date!(2025 - 01 - 24)),
                ("One configuration model", date!(2025 - 02 - 07)),
                ("Storage interface agreed", date!(2025 - 02 - 07)),
            ],
            &[
                ("tests", date!(2025 - 01 - 27)),
                ("config", date!(2025 - 02 - 14)),
            ],
        );
        let comps = [
            progress("storage", 130, 200),
            progress("config", 40, 40),
            progress("features", 0, 100),
            progress("registration", 0, 72),
        ];
        let alerts = [PhaseAlert {
            phase: "features".into(),
            title: "Feature store \u{1b}[31mdown".into(),
        }];
        let t = timeline(&plan, today, &comps, &m, &alerts);
        (plan, t, today)
    }

    #[test]
    fn spec_plan_mid_way() {
        let (_, t, _) = spec_timeline();
        let got: Vec<(&str, PhaseStatus, Risk)> = t
            .iter()
            .map(|p| (p.id.as_str(), p.status, p.risk_level))
            .collect();
        use PhaseStatus::{Blocked, Completed, InProgress, NotStarted};
        assert_eq!(
            got,
            vec![
                ("tests", Completed, Risk::Low),
                ("config", Completed, Risk::Low),
                ("abstraction", InProgress, Risk::High),
                ("storage", InProgress, Risk::Low),
                ("features", Blocked, Risk::High),
                ("registration", NotStarted, Risk::Medium),
                ("validation", NotStarted, Risk::High),
                ("cleanup", NotStarted, Risk::Low),
            ]
        );
    }

    #[test]
    fn gantt_chart_of_the_specification_plan() {
        let (plan, t, today) = spec_timeline();
        let text = gantt_text(&t, plan.migration.start, plan.migration.weeks, today, 3);
        insta::assert_snapshot!("gantt_spec_week_9", text);
        let narrow = gantt_text(&t, plan.migration.start, plan.migration.weeks, today, 1);
        insta::assert_snapshot!("gantt_spec_week_9_narrow", narrow);
    }

    #[test]
    fn gantt_bars_cover_whole_weeks() {
        let (plan, t, today) = spec_timeline();
        for w in 1..=7 {
            let text = gantt_text(&t, plan.migration.start, plan.migration.weeks, today, w);
            let tests = text.lines().nth(2).expect("tests row");
            // Tests runs weeks 1-3: exactly 3 × w bar characters, whatever the width.
            assert_eq!(
                tests.chars().filter(|c| *c == '█').count(),
                3 * w,
                "{w}: {tests}"
            );
            assert!(!text.contains('\u{1b}'), "escape sequences are neutralised");
        }
    }

    #[test]
    fn gantt_without_today_on_the_chart_and_tiny_phases() {
        let mut p = chain();
        p.phases[3].end = p.phases[3].start; // a zero-length phase still shows
        let t = timeline(&p, date!(2024 - 12 - 01), &[], &Marks::default(), &[]);
        let text = gantt_text(&t, p.migration.start, 10, date!(2024 - 12 - 01), 1);
        assert!(!text.contains('▼') && !text.contains('│'), "{text}");
        assert!(
            text.ends_with("today (2024-12-01) is before week 1\n"),
            "{text}"
        );
        let late = gantt_text(&t, p.migration.start, 10, date!(2025 - 03 - 17), 1);
        assert!(
            late.ends_with("today (2025-03-17) is after week 10\n"),
            "{late}"
        );
        let d = text.lines().nth(5).expect("d row");
        assert_eq!(d.chars().filter(|c| *c == '░').count(), 1, "{d}");
        let header = text.lines().next().expect("header");
        assert_eq!(header, "Week: 1  4  7  10");
    }
}
