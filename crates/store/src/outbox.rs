//! The notification outbox: every notification an alert asks for is a row here before the alert
//! loop moves on, so a restart never loses one that is still pending; a worker per channel sends
//! the due rows oldest first and records every attempt.
//!
//! A row's payload is the alert as JSON (`mhd_core::alerts::Alert`) at the time of the event;
//! channels format their messages from it when they send, and add their secrets then, so no
//! secret is ever stored. Beside the deliveries the outbox keeps the Jira issue made for an
//! alert, so that an alert makes at most one.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use crate::sqlite::{from_us, to_us};
use crate::{Result, SqliteStore};

/// What happened to the alert a delivery announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryEvent {
    /// The alert started firing.
    Fired,
    /// The alert resolved.
    Resolved,
    /// A scheduled report was made (the delivery's `alert_id` is the report's id).
    Report,
}

impl DeliveryEvent {
    /// The name used in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryEvent::Fired => "fired",
            DeliveryEvent::Resolved => "resolved",
            DeliveryEvent::Report => "report",
        }
    }

    pub(crate) fn parse(s: &str) -> DeliveryEvent {
        match s {
            "resolved" => DeliveryEvent::Resolved,
            "report" => DeliveryEvent::Report,
            _ => DeliveryEvent::Fired,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// The channel accepted it.
    Sent,
    /// Given up: the channel refused it, or every attempt failed.
    Failed,
}

impl DeliveryState {
    /// The name used in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
        }
    }

    /// Reads `pending`, `sent` or `failed`.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "sent" => Some(DeliveryState::Sent),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        }
    }
}

/// One alert event handed to the notifier, to be queued for some channels.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    /// The alert's id.
    pub alert_id: i64,
    /// Fired or resolved.
    pub event: DeliveryEvent,
    /// The alert as JSON.
    pub alert: &'a str,
    /// The channels its routing chose. A resolution is queued only for those of them that were
    /// queued the alert's firing: nobody hears "resolved" who did not hear "firing".
    pub channels: &'a [&'a str],
}

/// A delivery as a worker reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its id.
    pub id: i64,
    /// The channel's name.
    pub channel: String,
    /// The alert's id.
    pub alert_id: i64,
    /// Fired or resolved.
    pub event: DeliveryEvent,
    /// The alert as JSON.
    pub payload: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: OffsetDateTime,
}

/// A delivery as the API lists it: its state and history, never its payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Delivery))]
pub struct DeliveryStatus {
    /// Its id.
    pub id: i64,
    /// The channel's name.
    pub channel: String,
    /// The alert's id.
    pub alert_id: i64,
    /// The alert's title.
    pub title: Option<String>,
    /// The alert's severity.
    pub severity: Option<String>,
    /// Fired or resolved.
    pub event: DeliveryEvent,
    /// Pending, sent or failed.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (while pending).
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// What went wrong at the last failed attempt.
    pub last_error: Option<String>,
    /// When it was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the channel accepted it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    /// At most this many, newest first.
    pub limit: u32,
    /// Only this channel.
    pub channel: Option<String>,
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Only for this alert.
    pub alert_id: Option<i64>,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The channel accepted it.
    Sent {
        /// When.
        at: OffsetDateTime,
    },
    /// It failed and is tried again at `next_at`.
    Retry {
        /// When the next attempt is due.
        next_at: OffsetDateTime,
        /// What went wrong.
        error: String,
    },
    /// It failed for good.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// The Jira issue made for an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JiraIssue {
    /// The alert's id.
    pub alert_id: i64,
    /// The channel that made it.
    pub channel: String,
    /// The issue's key, such as `OPS-7`.
    pub issue_key: String,
    /// Jira's id of the issue.
    pub issue_id: Option<String>,
    /// The issue's address (its `self` in Jira's answer).
    pub issue_url: Option<String>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The questions the notifier asks of the store.
pub trait Outbox: Sync {
    /// Queues a notification for its channels in one transaction; returns the channels that got
    /// a new row (an event already queued for a channel is not queued twice).
    fn enqueue_notification(
        &self,
        notification: &Notification<'_>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// Claims the channel's oldest pending delivery due at `now` whose alert has no older
    /// pending delivery on that channel (so an alert's "resolved" never overtakes its
    /// "fired"): it is held until `until` (its next attempt is moved there), so that no other
    /// worker — another replica that has just taken the lead while this one still sends —
    /// takes it meanwhile. The attempt's outcome ([`Outbox::record_attempt`]) ends the hold;
    /// if the process dies first, the delivery is due again at `until`, or sooner when the
    /// next leader starts ([`Outbox::release_claims`]).
    fn claim_delivery(
        &self,
        channel: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<Option<Delivery>>> + Send;
    /// When the channel's next delivery is due (of those [`Outbox::due_delivery`] may return:
    /// not waiting behind an older one of the same alert), if it has any pending.
    fn next_due_at(
        &self,
        channel: &str,
    ) -> impl Future<Output = Result<Option<OffsetDateTime>>> + Send;
    /// Shortens every claim still held after `at` to end then, returning how many: what a
    /// worker that has just started does, since the workers that claimed them (in a process
    /// that died, or one that lost the lead and stops its workers within moments) will not
    /// record their outcome. Retries scheduled later are kept.
    fn release_claims(&self, at: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
    /// Records an attempt at a delivery (`attempts` is the count including this one), which
    /// ends its claim.
    fn record_attempt(
        &self,
        id: i64,
        attempts: u32,
        outcome: &Attempt,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Marks failed, with `error`, the pending deliveries of every channel not in `channels`
    /// (channels removed from the plan); returns how many.
    fn abandon_deliveries(
        &self,
        channels: &[&str],
        error: &str,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Pending deliveries per channel (channels with none are left out).
    fn pending_deliveries(&self) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;
    /// Deliveries matching a filter, newest first.
    fn recent_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> impl Future<Output = Result<Vec<DeliveryStatus>>> + Send;
    /// The Jira issue made for an alert, if any.
    fn jira_issue(&self, alert_id: i64) -> impl Future<Output = Result<Option<JiraIssue>>> + Send;
    /// Records the Jira issue made for an alert; `false` (and nothing changed) when the alert
    /// has one already.
    fn record_jira_issue(&self, issue: &JiraIssue) -> impl Future<Output = Result<bool>> + Send;
}

/// Claims a channel's next due delivery (`$1` the channel, `$2` now, `$3` the end of the
/// claim), returning it: the same statement on both backends (both read `$n`). The outer
/// conditions are checked again on PostgreSQL after waiting for a row another claimer locked:
/// of two replicas claiming at once, the second finds it held and gets none.
pub(crate) fn claim_sql() -> String {
    format!(
        "UPDATE deliveries SET claimed_until_us = $3 \
         WHERE state = 'pending' AND next_attempt_at_us <= $2 \
         AND COALESCE(claimed_until_us, 0) <= $2 AND id = (\
             SELECT d.id FROM deliveries d \
             WHERE d.channel = $1 AND d.state = 'pending' AND d.next_attempt_at_us <= $2 \
             AND COALESCE(d.claimed_until_us, 0) <= $2 \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.alert_id = d.alert_id \
                 AND e.channel = d.channel AND e.state = 'pending' AND e.id < d.id) \
             ORDER BY d.id LIMIT 1) \
         RETURNING {DELIVERY_COLUMNS}"
    )
}

pub(crate) const DELIVERY_COLUMNS: &str =
    "id, channel, alert_id, event, payload, attempts, created_at_us";

fn delivery(row: &SqliteRow) -> Result<Delivery> {
    Ok(Delivery {
        id: row.try_get("id")?,
        channel: row.try_get("channel")?,
        alert_id: row.try_get("alert_id")?,
        event: DeliveryEvent::parse(row.try_get::<&str, _>("event")?),
        payload: row.try_get("payload")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        created_at: from_us(row.try_get("created_at_us")?),
    })
}

fn jira_issue(row: &SqliteRow) -> Result<JiraIssue> {
    Ok(JiraIssue {
        alert_id: row.try_get("alert_id")?,
        channel: row.try_get("channel")?,
        issue_key: row.try_get("issue_key")?,
        issue_id: row.try_get("issue_id")?,
        issue_url: row.try_get("issue_url")?,
        created_at: from_us(row.try_get("created_at_us")?),
    })
}

impl Outbox for SqliteStore {
    async fn enqueue_notification(
        &self,
        n: &Notification<'_>,
        at: OffsetDateTime,
    ) -> Result<Vec<String>> {
        let at_us = to_us(at);
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let mut queued = Vec::new();
        for channel in n.channels {
            let inserted = match n.event {
                DeliveryEvent::Fired | DeliveryEvent::Report => {
                    sqlx::query(
                        "INSERT INTO deliveries (channel, alert_id, event, payload, \
                         next_attempt_at_us, created_at_us) VALUES (?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (channel, alert_id, event) DO NOTHING",
                    )
                    .bind(*channel)
                    .bind(n.alert_id)
                    .bind(n.event.as_str())
                    .bind(n.alert)
                    .bind(at_us)
                    .bind(at_us)
                    .execute(&mut *tx)
                    .await?
                }
                DeliveryEvent::Resolved => {
                    sqlx::query(
                        "INSERT INTO deliveries (channel, alert_id, event, payload, \
                         next_attempt_at_us, created_at_us) \
                         SELECT ?, ?, 'resolved', ?, ?, ? WHERE EXISTS (SELECT 1 FROM deliveries \
                         WHERE channel = ? AND alert_id = ? AND event = 'fired') \
                         ON CONFLICT (channel, alert_id, event) DO NOTHING",
                    )
                    .bind(*channel)
                    .bind(n.alert_id)
                    .bind(n.alert)
                    .bind(at_us)
                    .bind(at_us)
                    .bind(*channel)
                    .bind(n.alert_id)
                    .execute(&mut *tx)
                    .await?
                }
            };
            if inserted.rows_affected() > 0 {
                queued.push((*channel).to_owned());
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    async fn claim_delivery(
        &self,
        channel: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Delivery>> {
        let sql = claim_sql();
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(channel)
            .bind(to_us(now))
            .bind(to_us(until))
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn next_due_at(&self, channel: &str) -> Result<Option<OffsetDateTime>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(MAX(d.next_attempt_at_us, COALESCE(d.claimed_until_us, 0))) \
             FROM deliveries d \
             WHERE d.channel = ? AND d.state = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.alert_id = d.alert_id \
                 AND e.channel = d.channel AND e.state = 'pending' AND e.id < d.id)",
        )
        .bind(channel)
        .fetch_one(&self.pool)
        .await?;
        Ok(at.map(from_us))
    }

    async fn release_claims(&self, at: OffsetDateTime) -> Result<u64> {
        let done = self
            .write_one(
                sqlx::query(
                    "UPDATE deliveries SET claimed_until_us = ?1 \
             WHERE state = 'pending' AND claimed_until_us > ?1",
                )
                .bind(to_us(at)),
            )
            .await?;
        Ok(done.rows_affected())
    }

    async fn record_attempt(&self, id: i64, attempts: u32, outcome: &Attempt) -> Result<()> {
        let query = match outcome {
            Attempt::Sent { at } => sqlx::query(
                "UPDATE deliveries SET state = 'sent', claimed_until_us = NULL, \
                 attempts = ?, sent_at_us = ? WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(to_us(*at))
            .bind(id),
            Attempt::Retry { next_at, error } => sqlx::query(
                "UPDATE deliveries SET claimed_until_us = NULL, \
                 attempts = ?, next_attempt_at_us = ?, last_error = ? \
                 WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(to_us(*next_at))
            .bind(error.as_str())
            .bind(id),
            Attempt::Failed { error } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', claimed_until_us = NULL, \
                 attempts = ?, last_error = ? WHERE id = ?",
            )
            .bind(i64::from(attempts))
            .bind(error.as_str())
            .bind(id),
        };
        self.write_one(query).await?;
        Ok(())
    }

    async fn abandon_deliveries(&self, channels: &[&str], error: &str) -> Result<u64> {
        let kept = serde_json::to_string(channels).unwrap_or_else(|_| "[]".to_owned());
        let done = self.write_one(sqlx::query(
            "UPDATE deliveries SET state = 'failed', last_error = ? WHERE state = 'pending' \
             AND channel NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(error)
        .bind(kept)
        )
        .await?;
        Ok(done.rows_affected())
    }

    async fn pending_deliveries(&self) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n FROM deliveries WHERE state = 'pending' \
             GROUP BY channel ORDER BY channel",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("channel")?,
                    u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    async fn recent_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryStatus>> {
        let rows = sqlx::query(
            "SELECT id, channel, alert_id, event, state, attempts, next_attempt_at_us, last_error, \
             created_at_us, sent_at_us, json_extract(payload, '$.title') AS title, \
             json_extract(payload, '$.severity') AS severity FROM deliveries \
             WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR state = ?2) \
             AND (?3 IS NULL OR alert_id = ?3) ORDER BY id DESC LIMIT ?4",
        )
        .bind(filter.channel.as_deref())
        .bind(filter.state.map(DeliveryState::as_str))
        .bind(filter.alert_id)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let state = DeliveryState::parse(r.try_get::<&str, _>("state")?)
                    .unwrap_or(DeliveryState::Failed);
                let title: Option<String> = r.try_get("title").unwrap_or(None);
                let severity: Option<String> = r.try_get("severity").unwrap_or(None);
                Ok(DeliveryStatus {
                    id: r.try_get("id")?,
                    channel: r.try_get("channel")?,
                    alert_id: r.try_get("alert_id")?,
                    title,
                    severity,
                    event: DeliveryEvent::parse(r.try_get::<&str, _>("event")?),
                    state,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                    next_attempt_at: (state == DeliveryState::Pending)
                        .then(|| r.try_get("next_attempt_at_us").map(from_us))
                        .transpose()?,
                    last_error: r.try_get("last_error")?,
                    created_at: from_us(r.try_get("created_at_us")?),
                    sent_at: r.try_get::<Option<i64>, _>("sent_at_us")?.map(from_us),
                })
            })
            .collect()
    }

    async fn jira_issue(&self, alert_id: i64) -> Result<Option<JiraIssue>> {
        let row = sqlx::query(
            "SELECT alert_id, channel, issue_key, issue_id, issue_url, created_at_us \
             FROM jira_issues WHERE alert_id = ?",
        )
        .bind(alert_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(jira_issue).transpose()
    }

    async fn record_jira_issue(&self, issue: &JiraIssue) -> Result<bool> {
        let done = self
            .write_one(
                sqlx::query(
                    "INSERT INTO jira_issues (alert_id, channel, issue_key, issue_id, issue_url, \
             created_at_us) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING",
                )
                .bind(issue.alert_id)
                .bind(issue.channel.as_str())
                .bind(issue.issue_key.as_str())
                .bind(issue.issue_id.as_deref())
                .bind(issue.issue_url.as_deref())
                .bind(to_us(issue.created_at)),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
