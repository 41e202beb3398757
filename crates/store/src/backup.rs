//! Backups of a SQLite store while it is in use, and putting one back.
//!
//! [`backup`] writes a consistent copy with SQLite's `VACUUM INTO`: one read transaction, so
//! the copy is the store as of one moment however many writers go on meanwhile, compacted, and
//! made in a temporary file beside the destination that is renamed into place only when whole.
//! [`restore`] checks that a file is a whole store this program can open, then puts it in the
//! store's place, keeping the store it replaces beside it; it refuses while a server runs on
//! the store. A PostgreSQL store is backed up with PostgreSQL's own tools (`pg_dump -Fc`,
//! `pg_restore`), which the messages name.

use std::path::{Path, PathBuf};

use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;
use time::OffsetDateTime;

use crate::{Database, Result, StoreError};

/// What a backup or the file given to restore holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackupInfo {
    /// The file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its schema version.
    pub schema_version: i64,
    /// The operations it holds.
    pub operations: u64,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Restored {
    /// The backup put in place.
    pub from: BackupInfo,
    /// Where the store it replaced was kept (none when there was none).
    pub previous: Option<PathBuf>,
}

/// How a PostgreSQL store is backed up and restored, for messages.
pub const PG_TOOLS: &str = "a PostgreSQL store is backed up with PostgreSQL's own tools: \
                            `pg_dump -Fc -d URL -f FILE`, and restored into an empty database \
                            with `pg_restore -d URL FILE`";

/// Writes a consistent copy of the store to `dest`, which must not exist yet.
pub async fn backup(store: &Database, dest: &Path) -> Result<BackupInfo> {
    let Database::Sqlite(s) = store else {
        return Err(StoreError::Unsupported(PG_TOOLS.to_owned()));
    };
    if dest.exists() {
        return Err(invalid(dest, "it exists already: name a new file"));
    }
    // Made whole under a temporary name, then renamed: a backup interrupted (a full disk, a
    // killed process) never leaves a file that looks like one.
    let partial = with_suffix(dest, ".partial");
    let _ = std::fs::remove_file(&partial);
    let made = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(s.pool())
        .await;
    if let Err(e) = made {
        let _ = std::fs::remove_file(&partial);
        return Err(e.into());
    }
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&partial, dest))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            invalid(dest, &e.to_string())
        })?;
    inspect(dest).await
}

/// Reads what a backup holds without changing it: a whole store of this program (SQLite's
/// integrity check passes), of a schema this program knows.
pub async fn inspect(path: &Path) -> Result<BackupInfo> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| invalid(path, &e.to_string()))?;
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(|e| invalid(path, &format!("it is not a SQLite file ({e})")))?;
    let checked: Result<(i64, String, bool)> = async {
        let version: i64 = sqlx::query_scalar("PRAGMA user_version")
            .fetch_one(&mut conn)
            .await?;
        let integrity: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await?;
        let has_operations: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' \
             AND name = 'operations')",
        )
        .fetch_one(&mut conn)
        .await?;
        Ok((version, integrity, has_operations))
    }
    .await;
    let (version, integrity, has_operations) =
        checked.map_err(|e| invalid(path, &format!("it cannot be read as a store ({e})")))?;
    if version == 0 || !has_operations {
        return Err(StoreError::Foreign {
            path: shown,
            reason: "it is a SQLite file, but not a store of mhd".to_owned(),
        });
    }
    if version > crate::SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: shown,
            found: version,
            supported: crate::SCHEMA_VERSION,
        });
    }
    if integrity != "ok" {
        return Err(invalid(
            path,
            &format!("it is damaged (SQLite's check says: {integrity})"),
        ));
    }
    let operations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operations")
        .fetch_one(&mut conn)
        .await?;
    Ok(BackupInfo {
        path: path.to_owned(),
        bytes: meta.len(),
        schema_version: version,
        operations: operations.max(0) as u64,
    })
}

/// Puts the backup `from` in the place of the SQLite store at `store`, keeping the store it
/// replaces as `STORE.before-restore-TIME`. Refused while a server runs on the store (it holds
/// the store's lead), and when `from` is not a whole store this program can open; then nothing
/// changes.
pub async fn restore(from: &Path, store: &Path, now: OffsetDateTime) -> Result<Restored> {
    let info = inspect(from).await?;
    // Holding the lead for the whole swap: no server runs on the store, and none starts
    // leading it meanwhile.
    let lead = if store.exists() {
        let current = Database::open_file(store, 1).await?;
        let lead = current.try_lead().await?;
        current.close().await;
        match lead {
            Some(lead) => Some(lead),
            None => {
                return Err(StoreError::File {
                    path: store.display().to_string(),
                    reason: "a server is running on this store (it holds its lead): stop it, \
                             then restore"
                        .to_owned(),
                });
            }
        }
    } else {
        None
    };
    let incoming = with_suffix(store, ".restoring");
    std::fs::copy(from, &incoming)
        .and_then(|_| std::fs::File::open(&incoming)?.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&incoming);
            invalid(store, &format!("cannot copy the backup beside it: {e}"))
        })?;
    let previous = if store.exists() {
        let stamp = now
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute][second]Z"
            ))
            .unwrap_or_default();
        let kept = with_suffix(store, &format!(".before-restore-{stamp}"));
        std::fs::rename(store, &kept).map_err(|e| invalid(store, &e.to_string()))?;
        Some(kept)
    } else {
        None
    };
    // A closed store leaves no write-ahead log; anything left of one belongs to the old file.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(with_suffix(store, suffix));
    }
    std::fs::rename(&incoming, store).map_err(|e| invalid(store, &e.to_string()))?;
    drop(lead);
    Ok(Restored {
        from: info,
        previous,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn invalid(path: &Path, reason: &str) -> StoreError {
    StoreError::File {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    }
}
