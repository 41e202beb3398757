//! Alerts in the store (DESIGN §2 "Alert"): the alerts the engine raised with their history,
//! the acknowledgements operators made of them and the silences that mute them, so that the
//! server, the pages, the API and the command line all see the same ones.
//!
//! The rules:
//!
//! - **Transitions** are saved in one transaction: each alert is written by its id (inserted,
//!   or updated to its new state) and one row is appended to its history (`alert_events`). A
//!   pending alert whose condition cleared before it fired (`cancelled`) was never announced:
//!   its row is removed, its history keeps the event, and its id is never given again.
//! - **Acknowledging** an alert that is pending or firing records who, when and why. A second
//!   acknowledgement replaces the first (the latest word on the alert is the one shown) and
//!   says so: the write answers the one it replaced, and the alert's history names it as a
//!   `re-acknowledged` event with the earlier acknowledger ([`mark_reacknowledgements`]).
//!   Unknown and resolved alerts are refused, and nothing changes.
//! - **Silences** name a rule, a component or both, and last from `starts_at` until `until`,
//!   or until removed; removal keeps the row, so the silence's record stays.
//! - **History is append-only**: nothing in `alert_events` is ever changed or deleted.

use std::collections::BTreeMap;

use mhd_core::alerts::{
    Acknowledgement, Alert, AlertEvent, AlertState, DatasetEvent, Impact, Resolution, Severity,
    Silence, Transition,
};
use mhd_core::operation::kind;
use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::sqlite::{from_us, to_us};
use crate::{Result, SqliteStore, StoreError};

/// Longest name (`by`, rule, component) an acknowledgement or a silence may carry.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest comment an acknowledgement or a silence may carry.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// What can go wrong with an alert write.
#[derive(Debug, thiserror::Error)]
pub enum AlertStoreError {
    /// No alert has this id (or it was a pending alert that never fired and was dropped).
    #[error("no alert has id {0}")]
    NoSuchAlert(i64),
    /// The alert is already resolved: there is nothing left to acknowledge.
    #[error("alert {0} is already resolved")]
    Resolved(i64),
    /// No silence has this id.
    #[error("no silence has id {0}")]
    NoSuchSilence(i64),
    /// The silence was removed already.
    #[error("silence {0} was already removed")]
    SilenceRemoved(i64),
    /// A field breaks a rule; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AlertStoreError {
    fn from(e: sqlx::Error) -> Self {
        AlertStoreError::Store(StoreError::from(e))
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only alerts in one of these states (empty: any state).
    pub states: Vec<AlertState>,
    /// Only alerts of this severity.
    pub severity: Option<Severity>,
    /// Only alerts of this component.
    pub component: Option<String>,
    /// At most this many (0: no limit).
    pub limit: u32,
    /// Only alerts still open at or after this time (resolved then or later, or not yet).
    pub since: Option<OffsetDateTime>,
    /// Only alerts started before this time.
    pub until: Option<OffsetDateTime>,
}

/// One entry of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AlertEvent))]
pub struct AlertEventRecord {
    /// Its id, increasing with time.
    pub id: i64,
    /// The alert.
    pub alert_id: i64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `pending`, `fired`, `resolved`, `cancelled`, `acknowledged`, or `re-acknowledged` for
    /// an acknowledgement that replaced an earlier one.
    pub event: String,
    /// The alert's state after it.
    pub state: String,
    /// The alert's severity then.
    pub severity: String,
    /// The metric's value then, if any.
    pub value: Option<f64>,
    /// What was seen then (for an acknowledgement: the alert's title).
    pub message: String,
    /// Whether notification channels were asked to send it.
    pub notify: bool,
    /// Who acknowledged (acknowledgements only).
    pub by: Option<String>,
    /// Their comment (acknowledgements only).
    pub comment: Option<String>,
    /// The acknowledgement this one replaced (`re-acknowledged` events only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Replaced>,
}

/// An earlier acknowledgement that a later one replaced: who made it, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ReplacedAcknowledgement))]
pub struct Replaced {
    /// Who had acknowledged.
    pub by: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Their comment.
    pub comment: Option<String>,
}

/// What an acknowledgement did: the acknowledgement as stored, and the one it replaced, if the
/// alert was acknowledged already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// The acknowledgement now standing.
    pub acknowledgement: Acknowledgement,
    /// The one it replaced.
    pub replaced: Option<Replaced>,
}

/// An earlier acknowledgement as read back from `alert_acks`: who, when (µs), why.
pub(crate) type StoredAck = (String, i64, Option<String>);

impl Acknowledged {
    /// The acknowledgement of alert `id` just stored, and the one it replaced as read before.
    pub(crate) fn stored(
        id: i64,
        by: String,
        at: OffsetDateTime,
        comment: Option<String>,
        earlier: Option<StoredAck>,
    ) -> Acknowledged {
        Acknowledged {
            acknowledgement: Acknowledgement {
                alert_id: id,
                by,
                at,
                comment,
            },
            replaced: earlier.map(|(by, at_us, comment)| Replaced {
                by,
                at: from_us(at_us),
                comment,
            }),
        }
    }
}

/// The name of an acknowledgement event in the history as stored.
const ACKNOWLEDGED: &str = "acknowledged";
/// The name an acknowledgement event is given when it replaced an earlier one.
pub const REACKNOWLEDGED: &str = "re-acknowledged";

/// Names each acknowledgement of an alert's history (oldest first) that followed another one
/// `re-acknowledged`, with the acknowledgement it replaced. The history is append-only and an
/// alert's acknowledgement is always its latest, so the one replaced is the previous
/// acknowledgement event: both backends read the same rows the same way.
pub fn mark_reacknowledgements(history: &mut [AlertEventRecord]) {
    let mut previous: Option<Replaced> = None;
    for e in history.iter_mut() {
        if e.event != ACKNOWLEDGED {
            continue;
        }
        let this = Replaced {
            by: e.by.clone().unwrap_or_default(),
            at: e.at,
            comment: e.comment.clone(),
        };
        if let Some(earlier) = previous.replace(this) {
            e.event = REACKNOWLEDGED.to_owned();
            e.replaced = Some(earlier);
        }
    }
}

/// A silence to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    /// Only this rule (`None`: every rule).
    pub rule: Option<String>,
    /// Only this component (`None`: every component). At least one of the two is given.
    pub component: Option<String>,
    /// From when.
    pub starts_at: OffsetDateTime,
    /// Until when (after `starts_at`).
    pub until: OffsetDateTime,
    /// Who makes it.
    pub by: String,
    /// Why.
    pub comment: Option<String>,
}

/// A severity from its name (`info`, `warning`, `error`, `critical`).
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "error" => Some(Severity::Error),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

/// An alert state from its name (`pending`, `firing`, `resolved`).
pub fn parse_state(s: &str) -> Option<AlertState> {
    match s {
        "pending" => Some(AlertState::Pending),
        "firing" => Some(AlertState::Firing),
        "resolved" => Some(AlertState::Resolved),
        _ => None,
    }
}

pub(crate) fn resolution_name(r: Resolution) -> &'static str {
    match r {
        Resolution::Manual => "manual",
        Resolution::Automatic => "automatic",
        Resolution::Rollback => "rollback",
    }
}

pub(crate) fn parse_resolution(s: &str) -> Option<Resolution> {
    match s {
        "manual" => Some(Resolution::Manual),
        "automatic" => Some(Resolution::Automatic),
        "rollback" => Some(Resolution::Rollback),
        _ => None,
    }
}

pub(crate) fn event_name(e: AlertEvent) -> &'static str {
    match e {
        AlertEvent::Pending => "pending",
        AlertEvent::Fired => "fired",
        AlertEvent::Resolved => "resolved",
        AlertEvent::Cancelled => "cancelled",
    }
}

/// A stored value this program cannot read: the file was changed by hand.
pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("alerts: unknown {what} {value:?}").into(),
    ))
}

/// Checks a name: 1 to [`MAX_NAME_CHARS`] characters, no control characters.
pub(crate) fn check_name(field: &str, v: &str) -> Result<(), AlertStoreError> {
    if v.trim().is_empty() {
        return Err(AlertStoreError::Invalid(format!(
            "{field}: must not be empty"
        )));
    }
    if v.chars().count() > MAX_NAME_CHARS {
        return Err(AlertStoreError::Invalid(format!(
            "{field}: longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(AlertStoreError::Invalid(format!(
            "{field}: must not contain control characters"
        )));
    }
    Ok(())
}

/// Checks a comment: at most [`MAX_COMMENT_CHARS`] characters, no control characters but line
/// breaks and tabs. A blank comment is no comment.
pub(crate) fn clean_comment(v: Option<&str>) -> Result<Option<String>, AlertStoreError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_COMMENT_CHARS {
        return Err(AlertStoreError::Invalid(format!(
            "comment: longer than {MAX_COMMENT_CHARS} characters"
        )));
    }
    if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AlertStoreError::Invalid(
            "comment: must not contain control characters".into(),
        ));
    }
    Ok(Some(v.to_owned()))
}

pub(crate) const SELECT_ALERT: &str = "SELECT a.id, a.key, a.rule, a.kind, a.severity, a.state, a.title, \
    a.message, a.component, a.value, a.started_at_us, a.fired_at_us, a.last_seen_us, \
    a.clear_since_us, a.resolved_at_us, a.resolution, a.impact_datasets, a.impact_components, \
    a.impact_downtime_minutes, a.runbook, a.suppressed_by, a.notified, \
    k.by AS ack_by, k.at_us AS ack_at_us, k.comment AS ack_comment \
    FROM alerts a LEFT JOIN alert_acks k ON k.alert_id = a.id";

pub(crate) fn names(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn alert_from_row(r: &SqliteRow) -> Result<Alert> {
    let id: i64 = r.try_get("id")?;
    let severity: String = r.try_get("severity")?;
    let state: String = r.try_get("state")?;
    let resolution: Option<String> = r.try_get("resolution")?;
    let resolution = match resolution {
        Some(s) => Some(parse_resolution(&s).ok_or_else(|| corrupt("resolution", &s))?),
        None => None,
    };
    let ack_by: Option<String> = r.try_get("ack_by")?;
    let acknowledged = match ack_by {
        Some(by) => Some(Acknowledgement {
            alert_id: id,
            by,
            at: from_us(r.try_get("ack_at_us")?),
            comment: r.try_get("ack_comment")?,
        }),
        None => None,
    };
    let opt_time = |name: &str| -> Result<Option<OffsetDateTime>> {
        Ok(r.try_get::<Option<i64>, _>(name)?.map(from_us))
    };
    Ok(Alert {
        id,
        key: r.try_get("key")?,
        rule: r.try_get("rule")?,
        kind: r.try_get("kind")?,
        severity: parse_severity(&severity).ok_or_else(|| corrupt("severity", &severity))?,
        state: parse_state(&state).ok_or_else(|| corrupt("state", &state))?,
        title: r.try_get("title")?,
        message: r.try_get("message")?,
        component: r.try_get("component")?,
        value: r.try_get("value")?,
        started_at: from_us(r.try_get("started_at_us")?),
        fired_at: opt_time("fired_at_us")?,
        last_seen: from_us(r.try_get("last_seen_us")?),
        clear_since: opt_time("clear_since_us")?,
        resolved_at: opt_time("resolved_at_us")?,
        resolution,
        acknowledged,
        impact: Impact {
            affected_datasets: names(&r.try_get::<String, _>("impact_datasets")?),
            components: names(&r.try_get::<String, _>("impact_components")?),
            estimated_downtime_minutes: r.try_get("impact_downtime_minutes")?,
        },
        runbook: r.try_get("runbook")?,
        suppressed_by: r.try_get("suppressed_by")?,
        notified: r.try_get("notified")?,
    })
}

fn silence_from_row(r: &SqliteRow) -> Result<Silence> {
    Ok(Silence {
        id: r.try_get("id")?,
        rule: r.try_get("rule")?,
        component: r.try_get("component")?,
        starts_at: from_us(r.try_get("starts_at_us")?),
        until: from_us(r.try_get("until_us")?),
        by: r.try_get("by")?,
        comment: r.try_get("comment")?,
    })
}

pub(crate) const SELECT_SILENCE: &str =
    "SELECT id, rule, component, starts_at_us, until_us, by, comment FROM alert_silences";

/// Writes an alert by its id: inserted, or brought to what it is now.
async fn upsert(tx: &mut crate::sqlite::WriteTx, a: &Alert) -> Result<()> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_default();
    sqlx::query(
        "INSERT INTO alerts (id, key, rule, kind, severity, state, title, message, \
         component, value, started_at_us, fired_at_us, last_seen_us, \
         clear_since_us, resolved_at_us, resolution, impact_datasets, \
         impact_components, impact_downtime_minutes, runbook, suppressed_by, \
         notified) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) \
         ON CONFLICT (id) DO UPDATE SET key = excluded.key, rule = excluded.rule, \
         kind = excluded.kind, severity = excluded.severity, \
         state = excluded.state, title = excluded.title, \
         message = excluded.message, component = excluded.component, \
         value = excluded.value, started_at_us = excluded.started_at_us, \
         fired_at_us = excluded.fired_at_us, last_seen_us = excluded.last_seen_us, \
         clear_since_us = excluded.clear_since_us, \
         resolved_at_us = excluded.resolved_at_us, \
         resolution = excluded.resolution, \
         impact_datasets = excluded.impact_datasets, \
         impact_components = excluded.impact_components, \
         impact_downtime_minutes = excluded.impact_downtime_minutes, \
         runbook = excluded.runbook, suppressed_by = excluded.suppressed_by, \
         notified = excluded.notified",
    )
    .bind(a.id)
    .bind(&a.key)
    .bind(&a.rule)
    .bind(&a.kind)
    .bind(a.severity.as_str())
    .bind(a.state.as_str())
    .bind(&a.title)
    .bind(&a.message)
    .bind(&a.component)
    .bind(a.value.filter(|v| v.is_finite()))
    .bind(to_us(a.started_at))
    .bind(a.fired_at.map(to_us))
    .bind(to_us(a.last_seen))
    .bind(a.clear_since.map(to_us))
    .bind(a.resolved_at.map(to_us))
    .bind(a.resolution.map(resolution_name))
    .bind(json(&a.impact.affected_datasets))
    .bind(json(&a.impact.components))
    .bind(
        a.impact
            .estimated_downtime_minutes
            .filter(|v| v.is_finite()),
    )
    .bind(&a.runbook)
    .bind(&a.suppressed_by)
    .bind(a.notified)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The latest verification of one dataset on one system (none, old or new), as each backend
/// reads it.
pub(crate) struct LatestVerification {
    pub(crate) dataset: String,
    pub(crate) system: Option<String>,
    pub(crate) at: i64,
    pub(crate) component: Option<String>,
    pub(crate) success: bool,
    pub(crate) rows: Option<i64>,
    pub(crate) error: Option<String>,
}

/// The integrity problems standing among the latest verifications: a dataset whose latest
/// verification failed, or whose old and new systems' latest row counts differ.
pub(crate) fn standing_failures(latest: Vec<LatestVerification>) -> Vec<DatasetEvent> {
    struct Latest {
        at: i64,
        component: Option<String>,
        success: bool,
        error: Option<String>,
        old_rows: Option<i64>,
        new_rows: Option<i64>,
    }
    let mut by_dataset: BTreeMap<String, Latest> = BTreeMap::new();
    for v in latest {
        let entry = by_dataset.entry(v.dataset).or_insert(Latest {
            at: i64::MIN,
            component: None,
            success: true,
            error: None,
            old_rows: None,
            new_rows: None,
        });
        match v.system.as_deref() {
            Some("old") => entry.old_rows = v.rows,
            Some("new") => entry.new_rows = v.rows,
            _ => {}
        }
        if v.at >= entry.at {
            entry.at = v.at;
            entry.component = v.component;
            entry.success = v.success;
            entry.error = v.error;
        }
    }
    let mut out = Vec::new();
    for (dataset, l) in by_dataset {
        let detail = if !l.success {
            Some(
                l.error
                    .filter(|e| !e.trim().is_empty())
                    .unwrap_or_else(|| "the verification failed".to_owned()),
            )
        } else {
            match (l.old_rows, l.new_rows) {
                (Some(old), Some(new)) if old != new => {
                    Some(format!("old {old} rows, new {new} rows"))
                }
                _ => None,
            }
        };
        if let Some(detail) = detail {
            out.push(DatasetEvent {
                at: from_us(l.at),
                dataset,
                component: l.component,
                detail: Some(detail),
            });
        }
    }
    out
}

/// The questions about alerts, acknowledgements and silences, and their writes.
pub trait AlertStore: Sync {
    /// Saves what an evaluation at `at` changed, in one transaction (see the module's rules).
    fn save_transitions(
        &self,
        transitions: &[Transition],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send {
        self.save_evaluation(transitions, &[], at)
    }
    /// Saves an evaluation in one transaction: its transitions (with their history), then the
    /// alerts still open as they are now (their value, message, last time seen, clear time,
    /// impact and suppression change without a transition; no history is written for that).
    fn save_evaluation(
        &self,
        transitions: &[Transition],
        open: &[&Alert],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The alerts that are pending or firing, newest first, with their acknowledgements.
    fn open_alerts(&self) -> impl Future<Output = Result<Vec<Alert>>> + Send;
    /// Alerts matching a filter: the open ones newest first (by when they were first seen),
    /// then the resolved ones by resolution, newest first.
    fn alerts(&self, filter: &AlertFilter) -> impl Future<Output = Result<Vec<Alert>>> + Send;
    /// One alert.
    fn alert(&self, id: i64) -> impl Future<Output = Result<Option<Alert>>> + Send;
    /// The largest alert id ever given (0 when none), so the engine never gives one twice.
    fn max_alert_id(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Acknowledges a pending or firing alert (see the module's rules).
    fn acknowledge(
        &self,
        id: i64,
        by: &str,
        comment: Option<&str>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Acknowledged, AlertStoreError>> + Send;
    /// The acknowledgements of the alerts that are pending or firing.
    fn acknowledgements(&self) -> impl Future<Output = Result<Vec<Acknowledgement>>> + Send;
    /// Adds a silence, returning it with its id.
    fn add_silence(
        &self,
        silence: &NewSilence,
    ) -> impl Future<Output = Result<Silence, AlertStoreError>> + Send;
    /// The silences not removed and not over at `active_at` (in force then, or later), the
    /// soonest to end first.
    fn silences(
        &self,
        active_at: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Silence>>> + Send;
    /// Removes a silence as of `at`; it mutes nothing from then on.
    fn remove_silence(
        &self,
        id: i64,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Silence, AlertStoreError>> + Send;
    /// An alert's history, oldest first, each acknowledgement that replaced another named
    /// `re-acknowledged` ([`mark_reacknowledgements`]).
    fn alert_events(&self, id: i64) -> impl Future<Output = Result<Vec<AlertEventRecord>>> + Send;
    /// Data integrity problems still standing: datasets whose latest `verification` failed,
    /// or whose latest verifications of the old and the new system give different row counts.
    fn integrity_failures(&self) -> impl Future<Output = Result<Vec<DatasetEvent>>> + Send;
}

impl AlertStore for SqliteStore {
    async fn save_evaluation(
        &self,
        transitions: &[Transition],
        open: &[&Alert],
        at: OffsetDateTime,
    ) -> Result<()> {
        if transitions.is_empty() && open.is_empty() {
            return Ok(());
        }
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        for t in transitions {
            let a = &t.alert;
            if t.event == AlertEvent::Cancelled {
                sqlx::query("DELETE FROM alerts WHERE id = ?")
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM alert_acks WHERE alert_id = ?")
                    .bind(a.id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                upsert(&mut tx, a).await?;
            }
            sqlx::query(
                "INSERT INTO alert_events (alert_id, at_us, event, state, severity, value, \
                 message, notify) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(a.id)
            .bind(to_us(at))
            .bind(event_name(t.event))
            .bind(a.state.as_str())
            .bind(a.severity.as_str())
            .bind(a.value.filter(|v| v.is_finite()))
            .bind(&a.message)
            .bind(t.notify)
            .execute(&mut *tx)
            .await?;
        }
        for a in open {
            upsert(&mut tx, a).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn open_alerts(&self) -> Result<Vec<Alert>> {
        self.alerts(&AlertFilter {
            states: vec![AlertState::Pending, AlertState::Firing],
            ..AlertFilter::default()
        })
        .await
    }

    async fn alerts(&self, f: &AlertFilter) -> Result<Vec<Alert>> {
        let mut sql = format!("{SELECT_ALERT} WHERE 1 = 1");
        if !f.states.is_empty() {
            sql.push_str(&format!(
                " AND a.state IN ({})",
                vec!["?"; f.states.len()].join(", ")
            ));
        }
        if f.severity.is_some() {
            sql.push_str(" AND a.severity = ?");
        }
        if f.component.is_some() {
            sql.push_str(" AND a.component = ?");
        }
        if f.since.is_some() {
            sql.push_str(" AND (a.resolved_at_us IS NULL OR a.resolved_at_us >= ?)");
        }
        if f.until.is_some() {
            sql.push_str(" AND a.started_at_us < ?");
        }
        sql.push_str(
            " ORDER BY a.state = 'resolved', \
             CASE WHEN a.state = 'resolved' THEN a.resolved_at_us ELSE a.started_at_us END DESC, \
             a.id DESC",
        );
        if f.limit > 0 {
            sql.push_str(" LIMIT ?");
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in &f.states {
            q = q.bind(s.as_str());
        }
        if let Some(s) = f.severity {
            q = q.bind(s.as_str());
        }
        if let Some(c) = &f.component {
            q = q.bind(c.clone());
        }
        if let Some(s) = f.since {
            q = q.bind(to_us(s));
        }
        if let Some(u) = f.until {
            q = q.bind(to_us(u));
        }
        if f.limit > 0 {
            q = q.bind(i64::from(f.limit));
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_ALERT} WHERE a.id = ?"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    async fn max_alert_id(&self) -> Result<i64> {
        let max: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM alerts \
             UNION ALL SELECT MAX(alert_id) FROM alert_events)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(max.unwrap_or(0))
    }

    async fn acknowledge(
        &self,
        id: i64,
        by: &str,
        comment: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Acknowledged, AlertStoreError> {
        check_name("by", by)?;
        let by = by.trim().to_owned();
        let comment = clean_comment(comment)?;
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let row: Option<(String, String, String, Option<f64>)> =
            sqlx::query_as("SELECT state, severity, title, value FROM alerts WHERE id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((state, severity, title, value)) = row else {
            return Err(AlertStoreError::NoSuchAlert(id));
        };
        if state == AlertState::Resolved.as_str() {
            return Err(AlertStoreError::Resolved(id));
        }
        let earlier: Option<StoredAck> =
            sqlx::query_as("SELECT by, at_us, comment FROM alert_acks WHERE alert_id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO alert_acks (alert_id, by, at_us, comment) VALUES (?, ?, ?, ?) \
             ON CONFLICT (alert_id) DO UPDATE SET by = excluded.by, at_us = excluded.at_us, \
             comment = excluded.comment",
        )
        .bind(id)
        .bind(&by)
        .bind(to_us(at))
        .bind(&comment)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO alert_events (alert_id, at_us, event, state, severity, value, message, \
             notify, by, comment) VALUES (?, ?, 'acknowledged', ?, ?, ?, ?, 0, ?, ?)",
        )
        .bind(id)
        .bind(to_us(at))
        .bind(&state)
        .bind(&severity)
        .bind(value)
        .bind(&title)
        .bind(&by)
        .bind(&comment)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Acknowledged::stored(id, by, at, comment, earlier))
    }

    async fn acknowledgements(&self) -> Result<Vec<Acknowledgement>> {
        let rows = sqlx::query(
            "SELECT k.alert_id, k.by, k.at_us, k.comment FROM alert_acks k \
             JOIN alerts a ON a.id = k.alert_id WHERE a.state <> 'resolved' ORDER BY k.alert_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Acknowledgement {
                    alert_id: r.try_get("alert_id")?,
                    by: r.try_get("by")?,
                    at: from_us(r.try_get("at_us")?),
                    comment: r.try_get("comment")?,
                })
            })
            .collect()
    }

    async fn add_silence(&self, s: &NewSilence) -> Result<Silence, AlertStoreError> {
        if s.rule.is_none() && s.component.is_none() {
            return Err(AlertStoreError::Invalid(
                "a silence names a rule, a component or both".into(),
            ));
        }
        if let Some(r) = &s.rule {
            check_name("rule", r)?;
        }
        if let Some(c) = &s.component {
            check_name("component", c)?;
        }
        check_name("by", &s.by)?;
        if s.until <= s.starts_at {
            return Err(AlertStoreError::Invalid(
                "duration: a silence must last longer than nothing".into(),
            ));
        }
        let comment = clean_comment(s.comment.as_deref())?;
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alert_silences (rule, component, starts_at_us, until_us, by, comment) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&s.rule)
        .bind(&s.component)
        .bind(to_us(s.starts_at))
        .bind(to_us(s.until))
        .bind(s.by.trim())
        .bind(&comment)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Silence {
            id,
            rule: s.rule.clone(),
            component: s.component.clone(),
            starts_at: from_us(to_us(s.starts_at)),
            until: from_us(to_us(s.until)),
            by: s.by.trim().to_owned(),
            comment,
        })
    }

    async fn silences(&self, active_at: OffsetDateTime) -> Result<Vec<Silence>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_SILENCE} WHERE removed_at_us IS NULL AND until_us > ? ORDER BY until_us, id"
        )))
        .bind(to_us(active_at))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(silence_from_row).collect()
    }

    async fn remove_silence(
        &self,
        id: i64,
        at: OffsetDateTime,
    ) -> Result<Silence, AlertStoreError> {
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let row = sqlx::query(
            "SELECT id, rule, component, starts_at_us, until_us, by, comment, removed_at_us \
             FROM alert_silences WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(AlertStoreError::NoSuchSilence(id));
        };
        if row.try_get::<Option<i64>, _>("removed_at_us")?.is_some() {
            return Err(AlertStoreError::SilenceRemoved(id));
        }
        let silence = silence_from_row(&row)?;
        sqlx::query("UPDATE alert_silences SET removed_at_us = ? WHERE id = ?")
            .bind(to_us(at))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(silence)
    }

    async fn alert_events(&self, id: i64) -> Result<Vec<AlertEventRecord>> {
        let rows = sqlx::query(
            "SELECT id, alert_id, at_us, event, state, severity, value, message, notify, by, \
             comment FROM alert_events WHERE alert_id = ? ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut history = rows
            .iter()
            .map(|r| {
                Ok(AlertEventRecord {
                    id: r.try_get("id")?,
                    alert_id: r.try_get("alert_id")?,
                    at: from_us(r.try_get("at_us")?),
                    event: r.try_get("event")?,
                    state: r.try_get("state")?,
                    severity: r.try_get("severity")?,
                    value: r.try_get("value")?,
                    message: r.try_get("message")?,
                    notify: r.try_get("notify")?,
                    by: r.try_get("by")?,
                    comment: r.try_get("comment")?,
                    replaced: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        mark_reacknowledgements(&mut history);
        Ok(history)
    }

    async fn integrity_failures(&self) -> Result<Vec<DatasetEvent>> {
        // The latest verification of each dataset on each system (none, old, new): SQLite
        // takes the bare columns from the row holding the MAX.
        let rows = sqlx::query(
            "SELECT dataset_name, component, system, MAX(timestamp_us) AS at_us, success, \
             row_count, error_message FROM operations \
             WHERE metric_type = ? AND dataset_id IS NOT NULL \
             GROUP BY dataset_id, COALESCE(system, '')",
        )
        .bind(kind::VERIFICATION)
        .fetch_all(&self.pool)
        .await?;
        let mut latest = Vec::with_capacity(rows.len());
        for r in &rows {
            latest.push(LatestVerification {
                dataset: r.try_get("dataset_name")?,
                system: r.try_get("system")?,
                at: r.try_get("at_us")?,
                component: r.try_get("component")?,
                success: r.try_get("success")?,
                rows: r.try_get("row_count")?,
                error: r.try_get("error_message")?,
            });
        }
        Ok(standing_failures(latest))
    }
}
