//! The plan: the migration's definition, read from `migration.toml` (DESIGN §4 "The plan file").
//!
//! [`parse`] reads a plan and reports every mistake at once, each with its line and column;
//! [`default_plan_toml`] writes the specification's 21-week migration as a starting plan, and
//! [`PlanTemplate`] the user's own migration in the same shape.
//! Both are pure: reading and writing the file is the caller's business.

mod csv;
mod parse;
mod reports;
mod settings;
mod template;

use serde::Serialize;
use time::{Date, Duration};

pub use csv::{CsvError, datasets_from_csv};
pub use parse::parse;
pub use reports::{Every, ScheduledReport};
pub use settings::*;
pub use template::{PlanTemplate, default_plan_toml};

time::serde::format_description!(ymd, Date, "[year]-[month]-[day]");

/// A migration's definition: what moves, in which phases, and when it is healthy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Name, start and length.
    pub migration: MigrationInfo,
    /// The datasets to migrate: a count, or a list.
    pub datasets: Datasets,
    /// The components the datasets and phases belong to (may be empty).
    pub components: Vec<Component>,
    /// The phases, in the file's order.
    pub phases: Vec<Phase>,
    /// The levels that turn figures into warnings and critical states.
    pub thresholds: Thresholds,
    /// `[[collectors.*]]`: what fills the dashboard by itself.
    pub collectors: Collectors,
    /// `[alerts]` and `[[alerts.rules]]`.
    pub alerts: AlertSettings,
    /// `[[notify]]`: the notification channels.
    pub notify: Vec<Channel>,
    /// `[chat]`: the chat command endpoint.
    pub chat: ChatSettings,
    /// `[retention]`: how long each kind of record is kept.
    pub retention: RetentionSettings,
    /// `[[reports]]`: reports made on a schedule and sent through the channels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<ScheduledReport>,
}

/// `[migration]`: what the migration is called and when it is planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationInfo {
    /// The migration's name, shown in every view's title.
    pub name: String,
    /// The first day of the migration.
    #[serde(with = "ymd")]
    pub start: Date,
    /// The planned length in weeks (at least 1).
    pub weeks: u32,
}

/// `[datasets]`: how many datasets the migration moves, or which ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Datasets {
    /// Only a count (`total = 412`).
    Total(u32),
    /// Every dataset by name (`[[datasets.list]]`).
    List(Vec<DatasetSpec>),
}

/// One dataset of `[[datasets.list]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetSpec {
    /// The dataset's name, as operations carry it in `dataset_name`.
    pub name: String,
    /// The id of the component it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Its size in rows, when the plan says it (informative: progress counts datasets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// One `[[components]]`: a part of the system that is migrated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    /// The id operations, tests and benchmarks name in `component`.
    pub id: String,
    /// The name shown to people.
    pub name: String,
    /// What rolling this component back does (`rollback`), if the plan says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback: Option<RollbackAction>,
    /// How many of the plan's datasets belong to it (`datasets = N`), when the plan gives a
    /// total rather than a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<u32>,
}

/// A component's `rollback`: what an admin's rollback request runs, and how long it may take.
///
/// Written `rollback = { command = ["/usr/local/bin/rollback", "storage"], timeout = "5m" }` or
/// `rollback = { webhook = "https://…", timeout = "30s", token_file = "…" }`. Nothing from the
/// request is put into the command line or the address; the request's details reach a command
/// through its environment and a webhook through the JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackAction {
    /// A program or a webhook.
    #[serde(flatten)]
    pub via: RollbackVia,
    /// Longest time the rollback may take (`timeout`): default 5 minutes for a command,
    /// 30 seconds for a webhook, at most 1 hour.
    #[serde(serialize_with = "serialize_duration_text")]
    pub timeout: Duration,
}

/// How a rollback is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackVia {
    /// `command = [program, args…]`: the program run with exactly these arguments, never
    /// through a shell.
    Command {
        /// An absolute path, or a bare name looked up in `PATH`.
        program: String,
        /// The arguments, as written.
        args: Vec<String>,
    },
    /// `webhook = "https://…"`: a JSON POST to this address.
    Webhook {
        /// The `http://` or `https://` address.
        url: String,
        /// Where the bearer token comes from (`token_file` / `token_env`), if any; only its
        /// source is kept, never its value.
        token: Option<Secret>,
    },
}

impl RollbackVia {
    /// `command` or `webhook`, as the plan writes it.
    pub fn name(&self) -> &'static str {
        match self {
            RollbackVia::Command { .. } => "command",
            RollbackVia::Webhook { .. } => "webhook",
        }
    }
}

/// Longest `timeout` a rollback may have.
pub const ROLLBACK_MAX_TIMEOUT: Duration = Duration::hours(1);
/// A command's `timeout` when the plan gives none.
pub const ROLLBACK_COMMAND_TIMEOUT: Duration = Duration::minutes(5);
/// A webhook's `timeout` when the plan gives none.
pub const ROLLBACK_WEBHOOK_TIMEOUT: Duration = Duration::seconds(30);

fn serialize_duration_text<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&duration_text(*d))
}

/// One `[[phases]]`: a stretch of work with its dates, dependencies and milestones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// The id other phases name in `depends_on`.
    pub id: String,
    /// The name shown to people.
    pub name: String,
    /// The planned first day.
    #[serde(with = "ymd")]
    pub start: Date,
    /// The planned last day (not before `start`).
    #[serde(with = "ymd")]
    pub end: Date,
    /// Ids of the phases that must finish before this one can go on.
    pub depends_on: Vec<String>,
    /// Ids of the components this phase works on.
    pub components: Vec<String>,
    /// The risk the plan declares for this phase.
    pub risk: Risk,
    /// The phase's milestones, each dated within the phase.
    pub milestones: Vec<Milestone>,
}

/// The declared risk of a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Little can go wrong (the default).
    #[default]
    Low,
    /// Something may go wrong.
    Medium,
    /// Much may go wrong.
    High,
}

impl Risk {
    /// The name used in the plan file and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }

    /// Reads `low`, `medium` or `high`.
    pub fn from_name(s: &str) -> Option<Risk> {
        match s {
            "low" => Some(Risk::Low),
            "medium" => Some(Risk::Medium),
            "high" => Some(Risk::High),
            _ => None,
        }
    }
}

impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dated checkpoint of a phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Milestone {
    /// What is reached.
    pub name: String,
    /// When it is due.
    #[serde(with = "ymd")]
    pub date: Date,
    /// `when`: a condition on the data that reaches the milestone by itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<MilestoneCondition>,
}

/// A milestone's `when = "migrated >= 100"`: `[component.]figure op number`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MilestoneCondition {
    /// The component whose datasets it counts (`storage.migrated`); the whole migration when
    /// absent.
    pub component: Option<String>,
    /// What is counted.
    pub figure: ConditionFigure,
    /// How it is compared.
    pub op: ConditionOp,
    /// With what.
    pub value: f64,
}

/// What a milestone condition counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionFigure {
    /// Migrated datasets (verified included).
    Migrated,
    /// Migrated datasets as a percent of the total.
    MigratedPercent,
    /// Verified datasets.
    Verified,
    /// Verified datasets as a percent of the total.
    VerifiedPercent,
}

impl ConditionFigure {
    /// Every figure, as written in a condition.
    pub const NAMES: [(&'static str, ConditionFigure); 4] = [
        ("migrated", ConditionFigure::Migrated),
        ("migrated_percent", ConditionFigure::MigratedPercent),
        ("verified", ConditionFigure::Verified),
        ("verified_percent", ConditionFigure::VerifiedPercent),
    ];

    /// The name as written in a condition.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("migrated", |(n, _)| n)
    }
}

/// A comparison of a milestone condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ConditionOp {
    /// `>=`
    #[serde(rename = ">=")]
    AtLeast,
    /// `>`
    #[serde(rename = ">")]
    Above,
    /// `<=`
    #[serde(rename = "<=")]
    AtMost,
    /// `<`
    #[serde(rename = "<")]
    Below,
    /// `==`
    #[serde(rename = "==")]
    Equal,
}

impl ConditionOp {
    /// As written.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionOp::AtLeast => ">=",
            ConditionOp::Above => ">",
            ConditionOp::AtMost => "<=",
            ConditionOp::Below => "<",
            ConditionOp::Equal => "==",
        }
    }

    /// Whether `a op b` holds.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            ConditionOp::AtLeast => a >= b,
            ConditionOp::Above => a > b,
            ConditionOp::AtMost => a <= b,
            ConditionOp::Below => a < b,
            ConditionOp::Equal => (a - b).abs() < 1e-9,
        }
    }
}

impl std::fmt::Display for MilestoneCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(c) = &self.component {
            write!(f, "{c}.")?;
        }
        write!(
            f,
            "{} {} {}",
            self.figure.as_str(),
            self.op.as_str(),
            crate::format::number(self.value)
        )
    }
}

impl MilestoneCondition {
    /// Reads `[component.]figure op number`; on a mistake, the byte offset in `text` where it
    /// is and what is wrong. The component is not checked against a plan here.
    pub fn parse(text: &str) -> Result<MilestoneCondition, (usize, String)> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let skip = |i: &mut usize| {
            while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
                *i += 1;
            }
        };
        skip(&mut i);
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_-.".contains(&bytes[i])) {
            i += 1;
        }
        let name = &text[start..i];
        if name.is_empty() {
            return Err((
                start,
                format!(
                    "expected a figure ({}), optionally after a component (`storage.migrated`)",
                    figure_list()
                ),
            ));
        }
        let (component, figure_name, figure_at) = match name.rsplit_once('.') {
            Some((c, f)) => (Some(c.to_owned()), f, start + c.len() + 1),
            None => (None, name, start),
        };
        if component.as_deref() == Some("") {
            return Err((
                start,
                "a component id before `.` must not be empty".to_owned(),
            ));
        }
        let Some(figure) = ConditionFigure::NAMES
            .iter()
            .find(|(n, _)| *n == figure_name)
            .map(|(_, f)| *f)
        else {
            return Err((
                figure_at,
                format!(
                    "unknown figure `{figure_name}`: a condition counts {}",
                    figure_list()
                ),
            ));
        };
        skip(&mut i);
        let op_at = i;
        let rest = &text[i..];
        let (op, len) = [
            (">=", ConditionOp::AtLeast),
            ("<=", ConditionOp::AtMost),
            ("==", ConditionOp::Equal),
            (">", ConditionOp::Above),
            ("<", ConditionOp::Below),
            ("=", ConditionOp::Equal),
        ]
        .into_iter()
        .find(|(s, _)| rest.starts_with(s))
        .map(|(s, op)| (op, s.len()))
        .ok_or_else(|| {
            (
                op_at,
                "expected a comparison: >=, >, <=, < or ==".to_owned(),
            )
        })?;
        i += len;
        skip(&mut i);
        let value_at = i;
        let value_text = text[i..].trim_end();
        let value: f64 = value_text
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| {
                (
                    value_at,
                    format!(
                        "expected a number of zero or more after `{}`, found {value_text:?}",
                        op.as_str()
                    ),
                )
            })?;
        if matches!(
            figure,
            ConditionFigure::MigratedPercent | ConditionFigure::VerifiedPercent
        ) && value > 100.0
        {
            return Err((
                value_at,
                format!("a percent is at most 100, found {value_text}"),
            ));
        }
        Ok(MilestoneCondition {
            component,
            figure,
            op,
            value,
        })
    }
}

fn figure_list() -> String {
    ConditionFigure::NAMES
        .iter()
        .map(|(n, _)| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `[thresholds]`: the levels that turn figures into warnings and critical states.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Migration success rate (0..=1) under which the migration is at risk.
    pub success_rate_warning: f64,
    /// Migration success rate (0..=1) under which the migration is critical.
    pub success_rate_critical: f64,
    /// Days the P85 forecast may slip past the planned end before the migration is critical.
    pub slip_days_critical: u32,
    /// Test pass rate (0..=1) under which a suite is shown as a warning.
    pub test_pass_warning: f64,
    /// Test pass rate (0..=1) under which a suite is shown as failing.
    pub test_pass_critical: f64,
    /// Percent by which the new system's p50 may be slower before it is a regression.
    pub regression_percent: f64,
    /// How far ahead of now a recorded time may be (`max_future`, such as `"1d"`); a later
    /// time is refused wherever it comes in.
    #[serde(serialize_with = "serialize_duration_text")]
    pub max_future: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            success_rate_warning: 0.90,
            success_rate_critical: 0.80,
            slip_days_critical: 14,
            test_pass_warning: 0.95,
            test_pass_critical: 0.85,
            regression_percent: 10.0,
            max_future: crate::limits::DEFAULT_MAX_FUTURE,
        }
    }
}

impl Plan {
    /// The planned end: the start plus the planned weeks (the latest date when that overflows
    /// the calendar, which a parsed plan never does).
    pub fn planned_end(&self) -> Date {
        self.migration
            .start
            .checked_add(Duration::weeks(i64::from(self.migration.weeks)))
            .unwrap_or(Date::MAX)
    }

    /// How many datasets the migration moves.
    pub fn datasets_total(&self) -> u32 {
        match &self.datasets {
            Datasets::Total(n) => *n,
            Datasets::List(list) => u32::try_from(list.len()).unwrap_or(u32::MAX),
        }
    }

    /// The phase with this id.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The component with this id.
    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    /// How many of the plan's datasets belong to a component: its listed datasets when the
    /// plan lists them, else its `datasets = N`; `None` when the plan does not say.
    pub fn component_datasets(&self, id: &str) -> Option<u32> {
        match &self.datasets {
            Datasets::List(list) => Some(
                list.iter()
                    .filter(|d| d.component.as_deref() == Some(id))
                    .count()
                    .try_into()
                    .unwrap_or(u32::MAX),
            ),
            Datasets::Total(_) => self.component(id).and_then(|c| c.datasets),
        }
    }
}

/// One mistake in a plan file, at its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PlanError {
    /// The file name given to [`parse`].
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
    /// What is wrong, and how to fix it when that is known.
    pub message: String,
}
