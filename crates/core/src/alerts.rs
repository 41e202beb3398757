//! The alert engine (DESIGN §2 "Alert", §3.5): rules of the plan evaluated over facts gathered
//! from the store and the collectors, each alert moving `pending` → `firing` → `resolved`.
//!
//! Pure: the caller gathers [`Facts`] (with the current time in them), calls
//! [`Engine::evaluate`], stores what changed and sends the notifications the returned
//! [`Transition`]s ask for. Acknowledgements and silences are stored by whoever makes them (page,
//! API, command line) and handed to the engine with every evaluation, so every process sees the
//! same ones.

use serde::Serialize;
use time::OffsetDateTime;

pub use crate::plan::{Comparison, Rule, RuleKind};
pub use crate::summary::Severity;

mod conditions;
mod engine;
#[cfg(test)]
mod tests;

pub use engine::{Engine, silenced};

/// The state of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds but has not held for the rule's `for` yet; nobody is told.
    Pending,
    /// The condition held long enough; people are told.
    Firing,
    /// The condition has been clear for the rule's `keep_firing_for` (or an operator resolved
    /// it); people who heard "firing" are told.
    Resolved,
}

impl AlertState {
    /// The name used in JSON and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// How an alert ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// An operator resolved it.
    Manual,
    /// The condition cleared.
    Automatic,
    /// A rollback ended it.
    Rollback,
}

/// What an alert affects (the specification's `impact`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Impact {
    /// The datasets behind it (rolled back, failing verification, migrating on the component).
    pub affected_datasets: Vec<String>,
    /// The components it concerns.
    pub components: Vec<String>,
    /// Estimated minutes of downtime so far, where the rule can tell.
    pub estimated_downtime_minutes: Option<f64>,
}

/// An operator's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Acknowledgement {
    /// The alert.
    pub alert_id: i64,
    /// Who.
    pub by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Why, or what is being done.
    pub comment: Option<String>,
}

/// A silence: alerts of a rule and/or component are kept but nobody is notified until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Silence {
    /// Its id in the store.
    pub id: i64,
    /// Only this rule (`None`: every rule).
    pub rule: Option<String>,
    /// Only this component (`None`: every component).
    pub component: Option<String>,
    /// From when.
    #[serde(with = "time::serde::rfc3339")]
    pub starts_at: OffsetDateTime,
    /// Until when.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// Who made it.
    pub by: String,
    /// Why.
    pub comment: Option<String>,
}

/// One alert: one firing of one rule for one key.
///
/// In JSON it also carries the specification's `Issue` fields beside its own:
/// `description` (its message), `detected_at` (its start), `auto_resolved`, `resolution` as
/// `{resolved_at, resolved_by, resolution_type}` once resolved, and `impact` with
/// `affected_users` and `estimated_downtime` (minutes) beside its own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Unique, increasing; given by the engine.
    pub id: i64,
    /// The deduplication key: the rule's name and what it concerns, such as
    /// `high_error_rate/storage` or `rollbacks/*`. At most one alert per key is not resolved.
    pub key: String,
    /// The rule's name.
    pub rule: String,
    /// The rule's kind (`threshold`, `rollback`, …).
    pub kind: String,
    /// Its severity.
    pub severity: Severity,
    /// Its state.
    pub state: AlertState,
    /// A short title, such as "Error rate above 5 % on storage".
    pub title: String,
    /// What was seen, such as "error_rate 0.12 > 0.05".
    pub message: String,
    /// The component it concerns, if any.
    pub component: Option<String>,
    /// The metric's value at the last evaluation where the condition held.
    pub value: Option<f64>,
    /// When the condition was first seen.
    pub started_at: OffsetDateTime,
    /// When it started firing.
    pub fired_at: Option<OffsetDateTime>,
    /// When the condition was last seen.
    pub last_seen: OffsetDateTime,
    /// Since when the condition has been clear (while firing), for `keep_firing_for`.
    pub clear_since: Option<OffsetDateTime>,
    /// When it resolved.
    pub resolved_at: Option<OffsetDateTime>,
    /// How it resolved.
    pub resolution: Option<Resolution>,
    /// The acknowledgement, if any.
    pub acknowledged: Option<Acknowledgement>,
    /// What it affects.
    pub impact: Impact,
    /// The rule's runbook link.
    pub runbook: Option<String>,
    /// Why nobody is told, when its cause is already announced upstream (its collector is down,
    /// a phase it depends on is blocked).
    pub suppressed_by: Option<String>,
    /// Whether "firing" was sent for it, so that "resolved" is sent too.
    pub notified: bool,
}

/// What an evaluation changed, and whether people are told.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transition {
    /// The alert after the change.
    pub alert: Alert,
    /// What happened.
    pub event: AlertEvent,
    /// Whether notification channels send it (not when pending, silenced or suppressed;
    /// always for a resolution of an alert whose firing was sent).
    pub notify: bool,
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertEvent {
    /// The condition appeared (the alert is pending).
    Pending,
    /// The alert started firing.
    Fired,
    /// The alert resolved.
    Resolved,
    /// A pending alert's condition cleared before it fired (or its rule left the plan); it is
    /// dropped. The alert is returned closed (`resolved`, `resolved_at` set) so that the store
    /// does not keep it open, and nobody is told.
    Cancelled,
}

/// One value of a metric, for the migration as a whole (`component: None`) or one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricValue {
    /// The metric's name (DESIGN §4, or a Prometheus query's name).
    pub metric: String,
    /// The component, if the value is one component's.
    pub component: Option<String>,
    /// The value.
    pub value: f64,
    /// When it was measured.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A rollback, an integrity failure or any dated event concerning a dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetEvent {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The dataset.
    pub dataset: String,
    /// Its component, if known.
    pub component: Option<String>,
    /// What went wrong (an error message, or "old 1200 rows, new 1199").
    pub detail: Option<String>,
}

/// A performance regression (DESIGN §3.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionFact {
    /// The operation benchmarked.
    pub operation: String,
    /// Its component, if known.
    pub component: Option<String>,
    /// How much slower the new system's p50 is, in percent.
    pub delta_percent: f64,
}

/// A test suite's latest pass rate and the one before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuiteFact {
    /// The suite.
    pub suite: String,
    /// Its component, if any.
    pub component: Option<String>,
    /// The latest run's pass rate, 0..=1.
    pub pass_rate: f64,
    /// The previous run's, if any.
    pub previous: Option<f64>,
}

/// A collector's health, as the dashboard, `/metrics` and the `collector_down` rule see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectorHealth {
    /// Its name in the plan.
    pub name: String,
    /// Its kind (`prometheus`, `host`, …).
    pub kind: String,
    /// Whether its last run succeeded (`false` before its first run ends, too).
    pub up: bool,
    /// When its last run succeeded.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    /// Its last error, if the last run failed.
    pub last_error: Option<String>,
    /// When the last run ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_run: Option<OffsetDateTime>,
    /// How long the last run took, in milliseconds.
    pub last_duration_ms: Option<f64>,
    /// Runs and failed runs since the server started.
    pub runs: u64,
    /// Failed runs since the server started.
    pub failures: u64,
    /// The components whose figures it supplies (for suppression).
    pub components: Vec<String>,
    /// The metrics it writes (for suppression).
    pub metrics: Vec<String>,
}

/// One error entry read from a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogErrorRecord {
    /// The logs collector that read it.
    pub collector: String,
    /// When it was written (the entry's own time, or when it was read when it has none).
    pub time: OffsetDateTime,
    /// Its level as written in logs: `ERROR` or `CRITICAL`.
    pub level: String,
    /// Its message.
    pub message: String,
    /// The file it was read from.
    pub file: String,
}

/// Everything one evaluation looks at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The time of the evaluation.
    pub now: OffsetDateTime,
    /// The latest value of every metric (whole migration and per component).
    pub metrics: &'a [MetricValue],
    /// Earlier values of the metrics that rate-of-change rules read (oldest first).
    pub history: &'a [MetricValue],
    /// Rollbacks in the longest rollback window of the rules.
    pub rollbacks: &'a [DatasetEvent],
    /// Integrity failures still standing (a failed verification not followed by a passing one,
    /// or row counts that differ).
    pub integrity: &'a [DatasetEvent],
    /// Datasets being migrated now, for impact.
    pub migrating: &'a [DatasetEvent],
    /// Performance regressions now.
    pub regressions: &'a [RegressionFact],
    /// Test suites.
    pub suites: &'a [SuiteFact],
    /// Collectors.
    pub collectors: &'a [CollectorHealth],
    /// How many days the P85 forecast is behind the planned end (negative: ahead).
    pub schedule_delay_days: Option<f64>,
    /// Components of phases that are blocked now (their alerts are suppressed).
    pub blocked_components: &'a [String],
    /// The plan's test pass critical level, the default of `test_pass` rules.
    pub test_pass_critical: f64,
    /// Acknowledgements made so far, by alert id.
    pub acknowledgements: &'a [Acknowledgement],
    /// Silences (the engine applies those in force at `now`).
    pub silences: &'a [Silence],
}

/// An alert as the specification's `Issue` (DESIGN §3.3, §3.5): what the component matrix lists
/// and the alert documents offer beside their own fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Issue {
    /// The alert's id.
    pub id: String,
    /// Its severity.
    pub severity: Severity,
    /// The component it concerns (empty when the whole migration).
    pub component: String,
    /// Its title.
    pub title: String,
    /// What was seen, in words.
    pub description: String,
    /// When the condition was first seen.
    #[serde(with = "time::serde::rfc3339")]
    pub detected_at: OffsetDateTime,
    /// Whether it resolved by itself (its condition cleared).
    pub auto_resolved: bool,
    /// How it ended, once resolved.
    pub resolution: Option<IssueResolution>,
    /// What it affects.
    pub impact: IssueImpact,
    /// Pending, firing or resolved (beside the specification's fields).
    pub state: AlertState,
}

/// How an issue ended (the specification's `Issue.resolution`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueResolution {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: OffsetDateTime,
    /// Who: the acknowledging operator for a manual resolution, else `mhd`.
    pub resolved_by: String,
    /// Manual, automatic or rollback.
    pub resolution_type: Resolution,
}

/// What an issue affects (the specification's `Issue.impact`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueImpact {
    /// The datasets behind it.
    pub affected_datasets: Vec<String>,
    /// People affected: `mhd` does not know, so 0.
    pub affected_users: u64,
    /// Estimated minutes of downtime so far, 0 where the rule cannot tell.
    pub estimated_downtime: f64,
}

impl Issue {
    /// The issue of an alert.
    pub fn of(a: &Alert) -> Issue {
        Issue {
            id: a.id.to_string(),
            severity: a.severity,
            component: a.component.clone().unwrap_or_default(),
            title: a.title.clone(),
            description: a.message.clone(),
            detected_at: a.started_at,
            auto_resolved: a.resolution == Some(Resolution::Automatic),
            resolution: match (a.resolved_at, a.resolution) {
                (Some(at), Some(r)) => Some(IssueResolution {
                    resolved_at: at,
                    resolved_by: match (r, &a.acknowledged) {
                        (Resolution::Manual, Some(ack)) => ack.by.clone(),
                        _ => "mhd".to_owned(),
                    },
                    resolution_type: r,
                }),
                _ => None,
            },
            impact: IssueImpact {
                affected_datasets: a.impact.affected_datasets.clone(),
                affected_users: 0,
                estimated_downtime: a.impact.estimated_downtime_minutes.unwrap_or(0.0),
            },
            state: a.state,
        }
    }
}

/// An alert's impact as it is sent: its own fields and the specification's.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AlertImpact))]
struct ImpactJson<'a> {
    affected_datasets: &'a [String],
    components: &'a [String],
    estimated_downtime_minutes: Option<f64>,
    affected_users: u64,
    estimated_downtime: f64,
}
/// An alert as it is sent (see [`Alert`]): its fields, and the specification's `Issue` fields
/// beside them.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Alert))]
struct AlertJson<'a> {
    id: i64,
    key: &'a str,
    rule: &'a str,
    kind: &'a str,
    severity: Severity,
    state: AlertState,
    title: &'a str,
    message: &'a str,
    component: &'a Option<String>,
    value: Option<f64>,
    #[serde(with = "time::serde::rfc3339")]
    started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    fired_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    last_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    clear_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    resolved_at: Option<OffsetDateTime>,
    resolution: Option<IssueResolution>,
    acknowledged: &'a Option<Acknowledgement>,
    impact: ImpactJson<'a>,
    runbook: &'a Option<String>,
    suppressed_by: &'a Option<String>,
    notified: bool,
    description: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    detected_at: OffsetDateTime,
    auto_resolved: bool,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Alert {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <AlertJson<'static> as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Alert {
    fn name() -> std::borrow::Cow<'static, str> {
        <AlertJson<'static> as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <AlertJson<'static> as utoipa::ToSchema>::schemas(schemas);
    }
}

impl Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let issue = Issue::of(self);
        AlertJson {
            id: self.id,
            key: &self.key,
            rule: &self.rule,
            kind: &self.kind,
            severity: self.severity,
            state: self.state,
            title: &self.title,
            message: &self.message,
            component: &self.component,
            value: self.value,
            started_at: self.started_at,
            fired_at: self.fired_at,
            last_seen: self.last_seen,
            clear_since: self.clear_since,
            resolved_at: self.resolved_at,
            resolution: issue.resolution,
            acknowledged: &self.acknowledged,
            impact: ImpactJson {
                affected_datasets: &self.impact.affected_datasets,
                components: &self.impact.components,
                estimated_downtime_minutes: self.impact.estimated_downtime_minutes,
                affected_users: 0,
                estimated_downtime: issue.impact.estimated_downtime,
            },
            runbook: &self.runbook,
            suppressed_by: &self.suppressed_by,
            notified: self.notified,
            description: &self.message,
            detected_at: self.started_at,
            auto_resolved: issue.auto_resolved,
        }
        .serialize(s)
    }
}
