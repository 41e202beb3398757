//! The notification outbox in PostgreSQL, answering as the SQLite store does.

use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use super::{PgStore, text, text_opt};
use crate::Result;
use crate::outbox::{
    Attempt, Delivery, DeliveryEvent, DeliveryFilter, DeliveryState, DeliveryStatus, JiraIssue,
    Notification, Outbox,
};
use crate::sqlite::{from_us, to_us};

fn delivery(row: &PgRow) -> Result<Delivery> {
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

fn jira_issue(row: &PgRow) -> Result<JiraIssue> {
    Ok(JiraIssue {
        alert_id: row.try_get("alert_id")?,
        channel: row.try_get("channel")?,
        issue_key: row.try_get("issue_key")?,
        issue_id: row.try_get("issue_id")?,
        issue_url: row.try_get("issue_url")?,
        created_at: from_us(row.try_get("created_at_us")?),
    })
}

/// The text at `key` of a delivery's payload when it is a JSON string, as SQLite's
/// `json_extract` read into a text gives (anything else: none).
const PAYLOAD_TEXT: &str = "CASE WHEN json_typeof(payload::json -> $KEY) = 'string' \
                            THEN payload::json ->> $KEY END";

impl Outbox for PgStore {
    async fn enqueue_notification(
        &self,
        n: &Notification<'_>,
        at: OffsetDateTime,
    ) -> Result<Vec<String>> {
        let at_us = to_us(at);
        // `ON CONFLICT DO NOTHING` keeps an event queued once per channel even when two
        // replicas queue it at once: the second insert waits for the first and then does
        // nothing. A resolution is queued only where its firing was (committed) before.
        let mut tx = self.pool.begin().await?;
        let mut queued = Vec::new();
        for channel in n.channels {
            let inserted = match n.event {
                DeliveryEvent::Fired | DeliveryEvent::Report => {
                    sqlx::query(
                        "INSERT INTO deliveries (channel, alert_id, event, payload, \
                         next_attempt_at_us, created_at_us) VALUES ($1, $2, $5, $3, $4, $4) \
                         ON CONFLICT (channel, alert_id, event) DO NOTHING",
                    )
                    .bind(text(channel))
                    .bind(n.alert_id)
                    .bind(text(n.alert))
                    .bind(at_us)
                    .bind(n.event.as_str())
                    .execute(&mut *tx)
                    .await?
                }
                DeliveryEvent::Resolved => {
                    sqlx::query(
                        "INSERT INTO deliveries (channel, alert_id, event, payload, \
                         next_attempt_at_us, created_at_us) \
                         SELECT $1, $2, 'resolved', $3, $4, $4 WHERE EXISTS (SELECT 1 FROM \
                         deliveries WHERE channel = $1 AND alert_id = $2 AND event = 'fired') \
                         ON CONFLICT (channel, alert_id, event) DO NOTHING",
                    )
                    .bind(text(channel))
                    .bind(n.alert_id)
                    .bind(text(n.alert))
                    .bind(at_us)
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
        let sql = crate::outbox::claim_sql();
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text(channel))
            .bind(to_us(now))
            .bind(to_us(until))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn next_due_at(&self, channel: &str) -> Result<Option<OffsetDateTime>> {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(GREATEST(d.next_attempt_at_us, COALESCE(d.claimed_until_us, 0))) \
             FROM deliveries d \
             WHERE d.channel = $1 AND d.state = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.alert_id = d.alert_id \
                 AND e.channel = d.channel AND e.state = 'pending' AND e.id < d.id)",
        )
        .bind(text(channel))
        .fetch_one(&self.pool)
        .await?;
        Ok(at.map(from_us))
    }

    async fn release_claims(&self, at: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE deliveries SET claimed_until_us = $1 \
             WHERE state = 'pending' AND claimed_until_us > $1",
        )
        .bind(to_us(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn record_attempt(&self, id: i64, attempts: u32, outcome: &Attempt) -> Result<()> {
        let query = match outcome {
            Attempt::Sent { at } => sqlx::query(
                "UPDATE deliveries SET state = 'sent', claimed_until_us = NULL, \
                 attempts = $1, sent_at_us = $2 \
                 WHERE id = $3",
            )
            .bind(i64::from(attempts))
            .bind(to_us(*at))
            .bind(id),
            Attempt::Retry { next_at, error } => sqlx::query(
                "UPDATE deliveries SET claimed_until_us = NULL, \
                 attempts = $1, next_attempt_at_us = $2, last_error = $3 \
                 WHERE id = $4",
            )
            .bind(i64::from(attempts))
            .bind(to_us(*next_at))
            .bind(text(error))
            .bind(id),
            Attempt::Failed { error } => sqlx::query(
                "UPDATE deliveries SET state = 'failed', claimed_until_us = NULL, \
                 attempts = $1, last_error = $2 \
                 WHERE id = $3",
            )
            .bind(i64::from(attempts))
            .bind(text(error))
            .bind(id),
        };
        query.execute(&self.pool).await?;
        Ok(())
    }

    async fn abandon_deliveries(&self, channels: &[&str], error: &str) -> Result<u64> {
        let kept: Vec<_> = channels.iter().map(|c| text(c)).collect();
        let done = sqlx::query(
            "UPDATE deliveries SET state = 'failed', last_error = $1 WHERE state = 'pending' \
             AND NOT (channel = ANY($2))",
        )
        .bind(text(error))
        .bind(kept)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn pending_deliveries(&self) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT channel, COUNT(*) AS n FROM deliveries WHERE state = 'pending' \
             GROUP BY channel ORDER BY channel COLLATE \"C\"",
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
        let title = PAYLOAD_TEXT.replace("$KEY", "'title'");
        let severity = PAYLOAD_TEXT.replace("$KEY", "'severity'");
        let sql = format!(
            "SELECT id, channel, alert_id, event, state, attempts, next_attempt_at_us, \
             last_error, created_at_us, sent_at_us, {title} AS title, {severity} AS severity \
             FROM deliveries \
             WHERE ($1::TEXT IS NULL OR channel = $1) AND ($2::TEXT IS NULL OR state = $2) \
             AND ($3::BIGINT IS NULL OR alert_id = $3) ORDER BY id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text_opt(filter.channel.as_deref()))
            .bind(filter.state.map(DeliveryState::as_str))
            .bind(filter.alert_id)
            .bind(i64::from(filter.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let state = DeliveryState::parse(r.try_get::<&str, _>("state")?)
                    .unwrap_or(DeliveryState::Failed);
                Ok(DeliveryStatus {
                    id: r.try_get("id")?,
                    channel: r.try_get("channel")?,
                    alert_id: r.try_get("alert_id")?,
                    title: r.try_get("title")?,
                    severity: r.try_get("severity")?,
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
             FROM jira_issues WHERE alert_id = $1",
        )
        .bind(alert_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(jira_issue).transpose()
    }

    async fn record_jira_issue(&self, issue: &JiraIssue) -> Result<bool> {
        // Of two replicas recording an issue for one alert at once, the second waits for the
        // first's row and then changes nothing.
        let done = sqlx::query(
            "INSERT INTO jira_issues (alert_id, channel, issue_key, issue_id, issue_url, \
             created_at_us) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alert_id) DO NOTHING",
        )
        .bind(issue.alert_id)
        .bind(text(&issue.channel))
        .bind(text(&issue.issue_key))
        .bind(text_opt(issue.issue_id.as_deref()))
        .bind(text_opt(issue.issue_url.as_deref()))
        .bind(to_us(issue.created_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
