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
    include_str!("../migrations/sqlite/0011_audit_retention.sql"),
    include_str!("../migrations/sqlite/0012_dataset_states.sql"),
    include_str!("../migrations/sqlite/0013_ingested.sql"),
    include_str!("../migrations/sqlite/0014_retention.sql"),
    include_str!("../migrations/sqlite/0015_delivery_claims.sql"),
    include_str!("../migrations/sqlite/0016_aggregate_marks.sql"),
    include_str!("../migrations/sqlite/0017_reports.sql"),
    include_str!("../migrations/sqlite/0018_write_marks.sql"),
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
        if i + 1 == COMPONENT_ROLLUP_VERSION {
            backfill_component_rollup(&mut tx).await?;
        }
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

/// The version that creates `component_rollup`, whose duration histograms SQL cannot build.
const COMPONENT_ROLLUP_VERSION: usize = 12;

/// Fills `component_rollup` from the operations already stored, in the same transaction as the
/// migration that creates it.
async fn backfill_component_rollup(conn: &mut SqliteConnection) -> Result<()> {
    use std::collections::HashMap;

    use mhd_core::sketch::Histogram;
    /// Operations read at a time, so a large store does not sit in memory whole.
    const CHUNK: i64 = 100_000;
    let mut rollup: HashMap<(i64, String, String), (i64, i64, Histogram)> = HashMap::new();
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query_as::<_, (i64, i64, String, String, bool, Option<f64>)>(
            "SELECT id, timestamp_us, component, system, success, duration_ms FROM operations \
             WHERE id > ? AND component IS NOT NULL AND system IS NOT NULL ORDER BY id LIMIT ?",
        )
        .bind(after)
        .bind(CHUNK)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = last.0;
        for (_, us, component, system, ok, ms) in rows {
            let e = rollup
                .entry((us.div_euclid(crate::sqlite::HOUR_US), component, system))
                .or_default();
            e.0 += 1;
            e.1 += i64::from(!ok);
            if let Some(ms) = ms {
                e.2.add(ms);
            }
        }
    }
    for ((hour, component, system), (count, failures, durations)) in rollup {
        sqlx::query(
            "INSERT INTO component_rollup (hour, component, system, count, failures, durations) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(hour)
        .bind(component)
        .bind(system)
        .bind(count)
        .bind(failures)
        .bind(durations.encode())
        .execute(&mut *conn)
        .await?;
    }
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
