//! Two things a server needs beside the data when several processes share one store: hearing
//! of what the others wrote ([`ChangeWatcher`]), and which of them runs the background work —
//! alert evaluation, collectors, notifications — so that it runs exactly once ([`Lease`]).
//!
//! On SQLite, commits of other processes are noticed by `PRAGMA data_version` (looked at every
//! [`SQLITE_POLL`]), and the lead is an exclusive lock on a file beside the store. On
//! PostgreSQL, every write notifies the channel `mhd_changes` (a statement trigger per table,
//! the table's name as the payload) and the watcher listens; the lead is a session advisory
//! lock held on a connection of its own, which the server releases when that connection or
//! its process dies.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::Result;
use crate::sqlite::DataVersion;

/// How often a SQLite store is looked at for commits of other processes.
pub const SQLITE_POLL: Duration = Duration::from_millis(250);

/// The channel PostgreSQL's triggers notify on every write.
pub(crate) const CHANNEL: &str = "mhd_changes";

/// What changed: the tables written, or nothing known (every view may have changed, as after
/// a lost connection, or on SQLite, which does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    /// The tables written; empty when it is not known.
    pub tables: Vec<String>,
}

impl Changed {
    /// Whether only samples were written (the views of the plan do not read them).
    pub fn samples_only(&self) -> bool {
        !self.tables.is_empty() && self.tables.iter().all(|t| t == "samples")
    }
}

/// Hears of commits made to the store by other connections and processes.
pub enum ChangeWatcher {
    /// A SQLite file's data version.
    Sqlite(DataVersion),
    /// A PostgreSQL listener.
    Postgres(Box<PgListener>),
}

impl ChangeWatcher {
    /// Waits for the next commit of another connection (several close together come as one).
    pub async fn next_change(&mut self) -> Result<Changed> {
        match self {
            ChangeWatcher::Sqlite(v) => loop {
                tokio::time::sleep(SQLITE_POLL).await;
                if v.changed().await? {
                    return Ok(Changed::default());
                }
            },
            ChangeWatcher::Postgres(listener) => {
                let Some(first) = listener.try_recv().await? else {
                    // The connection was lost (the listener connects again on the next call):
                    // whatever was written meanwhile is not known.
                    return Ok(Changed::default());
                };
                let mut tables = vec![first.payload().to_owned()];
                while let Some(n) = listener.next_buffered() {
                    tables.push(n.payload().to_owned());
                }
                tables.sort();
                tables.dedup();
                Ok(Changed { tables })
            }
        }
    }
}

/// Being the process that runs the background work, for as long as it is held.
pub enum Lease {
    /// The lock on the SQLite store's `.lead` file, released when the file is closed.
    Sqlite(std::fs::File),
    /// The connection holding PostgreSQL's advisory lock.
    Postgres(Box<sqlx::PgConnection>),
}

impl Lease {
    /// Whether the lease is still held: on PostgreSQL, whether its connection still answers
    /// (when it does not, the server has released the lock and another process may lead).
    pub async fn held(&mut self) -> bool {
        match self {
            Lease::Sqlite(_) => true,
            Lease::Postgres(conn) => {
                let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut **conn);
                matches!(
                    tokio::time::timeout(Duration::from_secs(2), probe).await,
                    Ok(Ok(1))
                )
            }
        }
    }
}
