//! The PostgreSQL backend: a store shared by several `mhd serve` replicas.
//!
//! Its schema is the SQLite store's, table for table (times in microseconds since the Unix
//! epoch, flags as 0/1), so that both backends answer every question alike; its version is
//! kept in `mhd_schema`, and a version is the same number on both backends. Opening migrates
//! under an advisory lock, so replicas starting together migrate once; a database of a newer
//! version, or one holding other tables, is refused and left untouched.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection as _, PgConnection};

use crate::{Result, StoreError};

mod alerts;
mod audit;
mod auth;
mod collect;
mod history;
mod outbox;
mod records;
mod retention;
mod sessions;

pub use records::{PgChunkIngest, PgStaging, PgTestRunWriter};

/// The migrations, each with the version it brings the schema to. A new database starts at
/// version 13 in one step (what the SQLite store reaches through its first thirteen).
const MIGRATIONS: &[(i64, &str)] = &[
    (
        13,
        include_str!("../../migrations/postgres/0013_schema.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_retention.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/0015_delivery_claims.sql"),
    ),
    (
        16,
        include_str!("../../migrations/postgres/0016_change_origin.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_reports.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_write_marks.sql"),
    ),
];

/// The advisory lock held while migrating (an arbitrary constant: "mhd" and a 1).
const MIGRATION_LOCK: i64 = 0x6d68_6401;

/// The advisory lock the leading replica holds.
const LEADER_LOCK: i64 = 0x6d68_6402;

/// How long opening waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// How connections are made, for the leader's connection of its own.
    options: PgConnectOptions,
    /// Set when a write failed because the database's disk is full, cleared by the next write
    /// that commits: `/ready` reports the store unhealthy meanwhile.
    writes_failing: Arc<AtomicBool>,
    /// The URL without its password, for messages.
    shown: Arc<str>,
    /// The aggregates' part of recent reads of samples.
    pub(crate) bucket_cache: Arc<crate::retention::BucketCache>,
    /// What this handle's connections name themselves in change notifications (see
    /// [`crate::watch`]): the process id and a random number.
    origin: Arc<str>,
}

/// A name for a store handle's writes, unlike any other handle's on the same database.
fn new_origin() -> Arc<str> {
    use std::hash::BuildHasher as _;
    let random = std::collections::hash_map::RandomState::new()
        .hash_one((std::process::id(), std::time::SystemTime::now()));
    Arc::from(format!("{}-{random:016x}", std::process::id()))
}

/// The SQLSTATE class of an error from PostgreSQL, if it is one.
fn sqlstate(e: &sqlx::Error) -> Option<String> {
    match e {
        sqlx::Error::Database(d) => d.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Tells a full disk, a conflict worth retrying and an unreachable server from other failures.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    match sqlstate(&e).as_deref() {
        // disk_full, out_of_memory, insufficient_resources
        Some("53100" | "53200" | "53000") => StoreError::Full,
        // serialization_failure, deadlock_detected, lock_not_available
        Some("40001" | "40P01" | "55P03") => StoreError::Busy(crate::busy_timeout()),
        _ => StoreError::Db(e),
    }
}

/// Whether an error says the connection to the server was lost or cannot be made: the server
/// stopped, is restarting or is failing over to a standby (SQLSTATE class 08, 57P01–57P03),
/// or no connection came within the pool's wait.
pub(crate) fn connection_lost(e: &StoreError) -> bool {
    let StoreError::Db(e) = e else {
        return false;
    };
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(_) => sqlstate(e).is_some_and(|c| {
            c.starts_with("08") || matches!(c.as_str(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// Whether the server ended the session with a word (it is stopping, crashing or starting):
/// it says so only between two commands, so a transaction open then was rolled back.
fn ended_by_server(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(e)
        if matches!(sqlstate(e).as_deref(), Some("57P01" | "57P02" | "57P03")))
}

/// An error of the database in one line: PostgreSQL's message and SQLSTATE.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} (PostgreSQL SQLSTATE {code})", d.message()),
            None => d.message().to_owned(),
        },
        other => other.to_string(),
    }
}

/// Text as PostgreSQL can keep it. Its text columns refuse the NUL character, which SQLite
/// keeps; so that a log line, an error or a name read from outside with one in it is stored
/// rather than failing its whole write, a NUL becomes U+FFFD (the replacement character) here.
pub(crate) fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// [`text`] of an optional text.
pub(crate) fn text_opt(s: Option<&str>) -> Option<Cow<'_, str>> {
    s.map(text)
}

impl PgStore {
    /// Connects to the database at `url` (a `postgres://` URL), with at most `max_connections`
    /// connections, and brings its schema up to date. `shown` is the URL without its password,
    /// for messages.
    pub async fn open(url: &str, shown: &str, max_connections: u32) -> Result<PgStore> {
        let options: PgConnectOptions = url.parse().map_err(|e| StoreError::Url {
            url: shown.to_string(),
            reason: format!("it is not a PostgreSQL URL: {e}"),
        })?;
        let origin = new_origin();
        let unreachable = |e: sqlx::Error| StoreError::Unreachable {
            url: shown.to_string(),
            reason: describe(&e),
        };
        let mut conn = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| StoreError::Unreachable {
                url: shown.to_string(),
                reason: format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
            })?
            .map_err(unreachable)?;
        migrate(&mut conn, shown).await?;
        conn.close().await.ok();
        let named = origin.clone();
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(crate::busy_timeout())
            // Every connection of this handle says who it is, for the session (a setting
            // rather than a startup option, which connection poolers may refuse): its writes'
            // notifications carry it.
            .after_connect(move |conn, _| {
                let named = named.clone();
                Box::pin(async move {
                    sqlx::query("SELECT set_config('mhd.origin', $1, false)")
                        .bind(&*named)
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(unreachable)?;
        Ok(PgStore {
            pool,
            options,
            writes_failing: Arc::new(AtomicBool::new(false)),
            shown: Arc::from(shown),
            bucket_cache: Arc::default(),
            origin,
        })
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM mhd_schema")
            .fetch_one(&self.pool)
            .await
            .map_err(classify)?;
        Ok(v.unwrap_or(0))
    }

    /// Runs a write whose transaction `prepare` begins and fills (everything but the commit),
    /// then commits it. While the server is gone, `prepare` is tried again from the start —
    /// what it did went with the lost connection — with pauses doubling from 50 ms to 1 s, up
    /// to [`crate::busy_timeout`] (10 s unless `MHD_BUSY_TIMEOUT` says otherwise); then the
    /// write fails saying the database does not answer, nothing of it stored. A commit that
    /// the server answered by ending the connection (SQLSTATE 57P01–57P03: it was stopping
    /// and ended the session before it read the commit, so the transaction was rolled back)
    /// is tried again likewise; a connection lost without a word while committing leaves
    /// unknown whether the write was stored, and the error says so.
    pub(crate) async fn retrying<F>(&self, mut prepare: impl FnMut() -> F) -> Result<u64>
    where
        F: Future<Output = Result<records::PgWriter>>,
    {
        let waited = crate::busy_timeout();
        let deadline = tokio::time::Instant::now() + waited;
        let mut pause = Duration::from_millis(50);
        loop {
            let outcome = match prepare().await {
                Ok(writer) => match writer.commit().await {
                    Err(e) if connection_lost(&e) && !ended_by_server(&e) => {
                        return Err(StoreError::Unreachable {
                            url: self.shown.to_string(),
                            reason: format!(
                                "the connection was lost while the write committed ({e}): it \
                                 may or may not be stored"
                            ),
                        });
                    }
                    outcome => outcome,
                },
                Err(e) => Err(e),
            };
            match outcome {
                Err(e) if connection_lost(&e) => {
                    if tokio::time::Instant::now() + pause >= deadline {
                        return Err(StoreError::Unreachable {
                            url: self.shown.to_string(),
                            reason: format!(
                                "no answer for {} s ({e}); nothing of this write was stored, \
                                 try again",
                                waited.as_secs_f64()
                            ),
                        });
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                outcome => return self.noted(outcome),
            }
        }
    }

    /// A write's outcome, noting whether the disk refused it (see [`PgStore::writes_failing`]).
    pub(crate) fn noted<T>(&self, outcome: Result<T>) -> Result<T> {
        crate::sqlite::note(&self.writes_failing, &outcome);
        outcome
    }

    /// Whether the last write failed because the database's disk is full and no write has
    /// committed since.
    pub fn writes_failing(&self) -> bool {
        self.writes_failing.load(Ordering::Relaxed)
    }

    /// A listener of the writes of every connection to the database (see [`crate::watch`]).
    pub async fn change_watcher(&self) -> Result<crate::ChangeWatcher> {
        // A pool of its own, so that closing the store's pool never waits for the listener.
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with(self.options.clone());
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(crate::watch::CHANNEL).await?;
        Ok(crate::ChangeWatcher::Postgres(
            Box::new(listener),
            self.origin.clone(),
        ))
    }

    /// Tries to become the one replica that runs the background work: `None` when another
    /// holds the lead (see [`crate::watch`]).
    pub async fn try_lead(&self) -> Result<Option<crate::Lease>> {
        let mut conn = PgConnection::connect_with(&self.options).await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(crate::Lease::Postgres(Box::new(conn))))
        } else {
            conn.close().await.ok();
            Ok(None)
        }
    }

    /// Whether the database takes writes: when the last write failed because its disk was
    /// full, one small write is tried (and kept: the time of the check, in `collector_state`).
    pub async fn check_writable(&self, now: time::OffsetDateTime) -> Result<()> {
        if !self.writes_failing() {
            return Ok(());
        }
        let outcome = sqlx::query(
            "INSERT INTO collector_state (collector, key, value) VALUES ('mhd', 'write_check', $1) \
             ON CONFLICT (collector, key) DO UPDATE SET value = excluded.value",
        )
        .bind(mhd_core::format::rfc3339(now))
        .execute(&self.pool)
        .await
        .map(drop)
        .map_err(StoreError::from);
        self.noted(outcome)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Brings the database's schema to the newest version, or refuses it (see the module).
async fn migrate(conn: &mut PgConnection, shown: &str) -> Result<()> {
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    let mut tx = conn.begin().await.map_err(classify)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    let has_schema: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = 'mhd_schema')",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(classify)?;
    let version = if has_schema {
        let v: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM mhd_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(classify)?;
        v.unwrap_or(0)
    } else {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name",
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(classify)?;
        if !tables.is_empty() {
            return Err(StoreError::Foreign {
                path: shown.to_string(),
                reason: format!("its schema holds other tables ({})", tables.join(", ")),
            });
        }
        sqlx::query(
            "CREATE TABLE mhd_schema (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL \
             DEFAULT now())",
        )
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
        0
    };
    if version > latest {
        return Err(StoreError::NewerSchema {
            path: shown.to_string(),
            found: version,
            supported: latest,
        });
    }
    for (to, sql) in MIGRATIONS.iter().filter(|m| m.0 > version) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        sqlx::query("INSERT INTO mhd_schema (version) VALUES ($1)")
            .bind(to)
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)?;
    Ok(())
}
