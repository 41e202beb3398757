//! Versioned schema migrations, embedded at compile time and applied on open.
//!
//! The schema version is SQLite's `user_version`. An applied migration is never edited, only
//! followed by a new one; a file from a newer version is refused and left untouched.

use sqlx::{Connection, SqliteConnection};

use crate::{Result, StoreError};

/// The migrations, in order; the version of migration `i` is `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_operations.sql"),
    include_str!("../migrations/sqlite/0002_dataset_migration_state.sql"),
    include_str!("../migrations/sqlite/0003_dataset_ids.sql"),
    include_str!("../migrations/sqlite/0004_tests_benchmarks_samples.sql"),
    include_str!("../migrations/sqlite/0005_alerts.sql"),
    include_str!("../migrations/sqlite/0006_notifications.sql"),
    include_str!("../migrations/sqlite/0007_collectors.sql"),
    include_str!("../migrations/sqlite/0008_users_tokens.sql"),
    include_str!("../migrations/sqlite/0009_audit.sql"),
    include_str!("../migrations/sqlite/0010_sessions.sql"),
    include_str!("../migrations/sqlite/0011_ingested.sql"),
];

/// The newest schema version this program knows.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the store up to [`LATEST`], or refuses a newer one.
pub async fn run(conn: &mut SqliteConnection, path: &str) -> Result<()> {
    let version = user_version(conn, path).await?;
    if version == LATEST {
        return Ok(());
    }
    if version > LATEST {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: LATEST,
        });
    }
    // Take the write lock first, then look again: another process may have migrated meanwhile.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *tx)
        .await?;
    if version > LATEST {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: LATEST,
        });
    }
    if version == 0 {
        refuse_foreign(&mut tx, path).await?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "PRAGMA user_version = {}",
            i + 1
        )))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn user_version(conn: &mut SqliteConnection, path: &str) -> Result<i64> {
    match sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await
    {
        Ok(v) => Ok(v),
        Err(sqlx::Error::Database(e)) if e.message().contains("not a database") => {
            Err(StoreError::Foreign {
                path: path.to_owned(),
                reason: "not an SQLite database".into(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// A version-0 file that already has tables belongs to someone else (MDM's `metrics.db`, say).
async fn refuse_foreign(conn: &mut SqliteConnection, path: &str) -> Result<()> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *conn)
            .await?;
    if tables.is_empty() {
        return Ok(());
    }
    let hint = if tables.iter().any(|t| t == "metrics") {
        " (it looks like MDM's metrics.db: bring it in with `mhd import mdm PATH`)"
    } else {
        ""
    };
    Err(StoreError::Foreign {
        path: path.to_owned(),
        reason: format!("it holds other tables ({}){hint}", tables.join(", ")),
    })
}
