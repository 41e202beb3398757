//! The audit log in PostgreSQL, answering as the SQLite store does. The schema's trigger keeps
//! it append-only by the server's own clock, as SQLite's triggers do by SQLite's.

use sqlx::Row;
use time::OffsetDateTime;

use super::{PgStore, text, text_opt};
use crate::Result;
use crate::audit::{AuditFilter, AuditStore, Entry, NewEntry, Outcome};
use crate::sqlite::{from_us, to_us};

impl AuditStore for PgStore {
    /// Appends one entry to the audit log, returning its id.
    async fn record_audit(&self, entry: &NewEntry) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit (at_us, actor, action, resource, details, client, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(to_us(entry.at))
        .bind(text(&entry.actor))
        .bind(text(&entry.action))
        .bind(text(&entry.resource))
        .bind(text(&entry.details.to_string()).into_owned())
        .bind(text_opt(entry.client.as_deref()))
        .bind(entry.outcome.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// Deletes the entries recorded before `before`, returning how many. Entries younger than
    /// [`MIN_RETENTION`](crate::audit::MIN_RETENTION) are never deleted: the store refuses, and
    /// nothing is (the trigger fails the whole statement).
    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM audit WHERE at_us < $1")
            .bind(to_us(before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }

    /// Entries matching `filter`, newest first.
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<Entry>> {
        // No limit is `LIMIT NULL` here (SQLite's is -1).
        let limit = (filter.limit != 0).then(|| i64::from(filter.limit));
        let rows = sqlx::query(
            "SELECT id, at_us, actor, action, resource, details, client, outcome FROM audit \
             WHERE ($1::BIGINT IS NULL OR at_us >= $1) AND ($2::TEXT IS NULL OR action = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(filter.since.map(to_us))
        .bind(text_opt(filter.action.as_deref()))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let details: String = row.try_get("details")?;
                let outcome: String = row.try_get("outcome")?;
                Ok(Entry {
                    id: row.try_get("id")?,
                    at: from_us(row.try_get("at_us")?),
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    resource: row.try_get("resource")?,
                    details: serde_json::from_str(&details)
                        .unwrap_or(serde_json::Value::String(details)),
                    client: row.try_get("client")?,
                    outcome: Outcome::parse(&outcome),
                })
            })
            .collect()
    }
}
