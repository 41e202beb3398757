//! The audit log: one entry per change someone asked for — who, what, on which resource, from
//! where, and whether it was done or refused. The table is append-only: triggers refuse every
//! `UPDATE`, and every `DELETE` of an entry younger than [`MIN_RETENTION`], so an entry cannot
//! be changed through the store, and only [`prune_audit`](SqliteStore::prune_audit) removes
//! old ones, once they are past the retention the user chose.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use crate::Result;
use crate::sqlite::{SqliteStore, from_us, to_us};

/// How long every audit entry is kept at least, whatever the retention: the store refuses to
/// delete younger entries (by SQLite's own clock).
pub const MIN_RETENTION: time::Duration = time::Duration::days(30);

/// How long audit entries are kept by default.
pub const DEFAULT_RETENTION: time::Duration = time::Duration::days(400);

/// Whether the change was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused (bad input, unknown resource, …).
    Refused,
}

impl Outcome {
    /// `ok` or `refused`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
        }
    }

    pub(crate) fn parse(s: &str) -> Outcome {
        if s == "ok" {
            Outcome::Ok
        } else {
            Outcome::Refused
        }
    }
}

/// An entry to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// When.
    pub at: OffsetDateTime,
    /// Who: a user or token name, or `local` while nobody signs in.
    pub actor: String,
    /// What, as a dotted name (`operations.write`, `alert.acknowledge`, `token.create`, …).
    pub action: String,
    /// On what (`operations`, `alert 12`, `token ci`, …).
    pub resource: String,
    /// Anything more, as a JSON value (counts, a comment, the refusal's status).
    pub details: serde_json::Value,
    /// Where from: an address `ip:port`, `cli`, or unknown.
    pub client: Option<String>,
    /// Done or refused.
    pub outcome: Outcome,
}

/// A recorded entry.
///
/// In JSON it carries, beside its own fields, the specification's `AuditEntry` names:
/// `timestamp` (= `at`), `user` (= `actor`) and `ip_address` (the address of `client` without
/// its port, `null` for `cli` or an unknown client).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its id, increasing.
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub resource: String,
    /// Anything more.
    pub details: serde_json::Value,
    /// Where from.
    pub client: Option<String>,
    /// Done or refused.
    pub outcome: Outcome,
}

impl Entry {
    /// The address the change came from, without its port: `None` for `cli` and for an
    /// unknown client.
    pub fn ip_address(&self) -> Option<IpAddr> {
        let client = self.client.as_deref()?;
        client
            .parse::<SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| client.parse::<IpAddr>())
            .ok()
    }
}

/// An audit entry as it is sent: its fields, then the specification's names for them.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AuditEntry))]
struct EntryJson<'a> {
    /// Its id, increasing.
    id: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// Who: the signed-in user, `token:NAME`, `anonymous`, or `local` when nobody signs in.
    actor: &'a str,
    /// What.
    action: &'a str,
    /// On what.
    resource: &'a str,
    /// Anything more.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    details: &'a serde_json::Value,
    /// The client's address with its port, `cli`, or null when unknown.
    client: Option<&'a str>,
    /// Done or refused.
    outcome: Outcome,
    /// The specification's name for `at`.
    #[serde(with = "time::serde::rfc3339")]
    timestamp: OffsetDateTime,
    /// The specification's name for `actor`.
    user: &'a str,
    /// The specification's field: the client's address without its port; null for `cli` or an
    /// unknown client.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    ip_address: Option<IpAddr>,
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Entry {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <EntryJson<'static> as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Entry {
    fn name() -> std::borrow::Cow<'static, str> {
        <EntryJson<'static> as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <EntryJson<'static> as utoipa::ToSchema>::schemas(schemas);
    }
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EntryJson {
            id: self.id,
            at: self.at,
            actor: &self.actor,
            action: &self.action,
            resource: &self.resource,
            details: &self.details,
            client: self.client.as_deref(),
            outcome: self.outcome,
            timestamp: self.at,
            user: &self.actor,
            ip_address: self.ip_address(),
        }
        .serialize(serializer)
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only this action.
    pub action: Option<String>,
    /// At most this many, newest first (0: no limit).
    pub limit: u32,
}

/// The audit log: what was done, by whom, from where, and its pruning.
pub trait AuditStore: Sync {
    /// Appends one entry to the audit log, returning its id.
    fn record_audit(&self, entry: &NewEntry) -> impl Future<Output = Result<i64>> + Send;
    /// Deletes the entries recorded before `before`, returning how many. Entries younger than
    /// [`MIN_RETENTION`] are never deleted: the store refuses, and nothing is.
    fn prune_audit(&self, before: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
    /// Entries matching `filter`, newest first.
    fn audit_entries(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = Result<Vec<Entry>>> + Send;
}

impl AuditStore for SqliteStore {
    /// Appends one entry to the audit log, returning its id.
    async fn record_audit(&self, entry: &NewEntry) -> Result<i64> {
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let id = sqlx::query(
            "INSERT INTO audit (at_us, actor, action, resource, details, client, outcome) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(to_us(entry.at))
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.resource)
        .bind(entry.details.to_string())
        .bind(entry.client.as_deref())
        .bind(entry.outcome.as_str())
        .fetch_one(&mut *tx)
        .await?
        .try_get::<i64, _>(0)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes the entries recorded before `before`, returning how many. Entries younger than
    /// [`MIN_RETENTION`] are never deleted: the store refuses, and nothing is.
    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        let deleted = self
            .write_one(sqlx::query("DELETE FROM audit WHERE at_us < ?").bind(to_us(before)))
            .await?
            .rows_affected();
        Ok(deleted)
    }

    /// Entries matching `filter`, newest first.
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<Entry>> {
        let limit = if filter.limit == 0 {
            -1
        } else {
            i64::from(filter.limit)
        };
        let rows = sqlx::query(
            "SELECT id, at_us, actor, action, resource, details, client, outcome FROM audit \
             WHERE (?1 IS NULL OR at_us >= ?1) AND (?2 IS NULL OR action = ?2) \
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(filter.since.map(to_us))
        .bind(filter.action.as_deref())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(client: Option<&str>) -> Entry {
        Entry {
            id: 3,
            at: time::macros::datetime!(2025-03-01 12:00 UTC),
            actor: "ana".into(),
            action: "alert.acknowledge".into(),
            resource: "alert 7".into(),
            details: serde_json::json!({ "comment": "on it" }),
            client: client.map(str::to_owned),
            outcome: Outcome::Ok,
        }
    }

    #[test]
    fn the_json_carries_the_specifications_names_beside_its_own() {
        let json = serde_json::to_value(entry(Some("127.0.0.1:52114"))).unwrap();
        assert_eq!(json["at"], "2025-03-01T12:00:00Z");
        assert_eq!(json["timestamp"], json["at"]);
        assert_eq!(json["actor"], "ana");
        assert_eq!(json["user"], "ana");
        assert_eq!(json["client"], "127.0.0.1:52114");
        assert_eq!(json["ip_address"], "127.0.0.1");
        assert_eq!(json["action"], "alert.acknowledge");
        assert_eq!(json["resource"], "alert 7");
        assert_eq!(json["details"]["comment"], "on it");
        assert_eq!(json["outcome"], "ok");
    }

    #[test]
    fn the_ip_address_is_the_clients_without_its_port() {
        let ip = |c: Option<&str>| entry(c).ip_address().map(|ip| ip.to_string());
        assert_eq!(ip(Some("[::1]:8080")).as_deref(), Some("::1"));
        assert_eq!(ip(Some("10.0.0.7")).as_deref(), Some("10.0.0.7"));
        assert_eq!(ip(Some("cli")), None);
        assert_eq!(ip(None), None);
        let json = serde_json::to_value(entry(Some("cli"))).unwrap();
        assert_eq!(json["ip_address"], serde_json::Value::Null);
        assert_eq!(json["client"], "cli");
    }
}
