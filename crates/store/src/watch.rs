//! Two things a server needs beside the data when several processes share one store: hearing
//! of what the others wrote ([`ChangeWatcher`]), and which of them runs the background work —
//! alert evaluation, collectors, notifications — so that it runs exactly once ([`Lease`]).
//!
//! On SQLite, commits of other writers are noticed by `PRAGMA data_version` (looked at every
//! [`SQLITE_POLL`]) and told from the watching handle's own by the count each write
//! transaction keeps in `write_marks` under its handle's origin (see
//! [`crate::sqlite::DataVersion`]); the lead is an exclusive lock on a file beside the store. On
//! PostgreSQL, every write notifies the channel `mhd_changes` (a statement trigger per table;
//! the payload is the table's name and the writing handle's origin, which each of its
//! connections sets as `mhd.origin` when it connects) and the watcher listens, passing over
//! the notifications of its own handle, whose writes the server announces itself; the lead is
//! a session advisory lock held on a connection of its own, which the server releases when
//! that connection or its process dies.

use std::sync::Arc;
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
    /// A PostgreSQL listener, and the origin of the handle it watches for, whose own writes
    /// it passes over.
    Postgres(Box<PgListener>, Arc<str>),
}

impl ChangeWatcher {
    /// Waits for the next commit of another writer (several close together come as one); the
    /// watched handle's own commits are passed over on both backends.
    pub async fn next_change(&mut self) -> Result<Changed> {
        match self {
            ChangeWatcher::Sqlite(v) => loop {
                tokio::time::sleep(SQLITE_POLL).await;
                if v.changed().await? {
                    return Ok(Changed::default());
                }
            },
            ChangeWatcher::Postgres(listener, own) => loop {
                let Some(first) = listener.try_recv().await? else {
                    // The connection was lost (the listener connects again on the next call):
                    // whatever was written meanwhile is not known.
                    return Ok(Changed::default());
                };
                let mut tables = Vec::new();
                let mut note = |payload: &str| {
                    if let Some(table) = written_by_another(payload, own) {
                        tables.push(table.to_owned());
                    }
                };
                note(first.payload());
                while let Some(n) = listener.next_buffered() {
                    note(n.payload());
                }
                if tables.is_empty() {
                    continue;
                }
                tables.sort();
                tables.dedup();
                return Ok(Changed { tables });
            },
        }
    }
}

/// The table a notification's `payload` names, unless the handle of origin `own` wrote it
/// (a payload without an origin comes from a writer that does not name itself).
fn written_by_another<'p>(payload: &'p str, own: &str) -> Option<&'p str> {
    match payload.split_once(' ') {
        Some((_, origin)) if origin == own => None,
        Some((table, _)) => Some(table),
        None => Some(payload),
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

#[cfg(test)]
mod tests {
    use super::written_by_another;

    #[test]
    fn a_handle_passes_over_its_own_writes_only() {
        assert_eq!(written_by_another("operations 12-ab", "12-ab"), None);
        assert_eq!(
            written_by_another("operations 12-cd", "12-ab"),
            Some("operations")
        );
        assert_eq!(written_by_another("samples", "12-ab"), Some("samples"));
    }
}
