//! `mhd store copy`: everything a SQLite store holds — operations, their rollups and dataset
//! states, samples and their aggregates, test runs, benchmarks, alerts with their history,
//! scheduled reports, deliveries, users, tokens, sessions, the audit log, the collectors'
//! memory — copied into a PostgreSQL database, table by table and row by row, in one
//! transaction: the counts are checked before it commits, so a failed copy leaves nothing
//! behind.
//!
//! A target that already holds exactly as many rows of every table as the source is taken as
//! copied before, and nothing is done, so the command is safe to run again. A target holding
//! anything else is refused unless the caller asks to replace what it holds.

use serde::Serialize;
use sqlx::{AssertSqlSafe, Row as _};

use crate::database::Database;
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::{Result, StoreError};

/// The tables copied, parents before the tables that refer to them.
const TABLES: &[&str] = &[
    "operations",
    "operation_rollup",
    "datasets",
    "dataset_ids",
    "migration_days",
    "component_rollup",
    "health_state",
    "ingested_chunks",
    "test_runs",
    "test_cases",
    "benchmark_samples",
    "samples",
    "sample_minutes",
    "sample_hours",
    "sample_days",
    "retention_marks",
    "alerts",
    "alert_events",
    "alert_acks",
    "alert_silences",
    "reports",
    "deliveries",
    "jira_issues",
    "collector_log_errors",
    "collector_git_commits",
    "collector_git_counts",
    "collector_files",
    "collector_state",
    "users",
    "api_tokens",
    "sessions",
    "audit",
];

/// Tables a new store's schema fills itself (not a sign that the target holds a store).
const SEEDED: &[&str] = &["retention_marks"];

/// What a copy did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CopyReport {
    /// Rows of each table in the target afterwards (as many as in the source).
    pub tables: Vec<(String, u64)>,
    /// Whether the target held the copy already, so that nothing was written.
    pub already_copied: bool,
    /// Whether what the target held was replaced.
    pub replaced: bool,
}

impl CopyReport {
    /// Rows copied in all.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.1).sum()
    }
}

/// A column of the source and how its values are read.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Real,
    Text,
    Blob,
}

/// Copies the store `from` into the store `to` (see the module); `replace` allows replacing
/// what `to` holds.
pub async fn copy(from: &Database, to: &Database, replace: bool) -> Result<CopyReport> {
    let (Database::Sqlite(source), Database::Postgres(target)) = (from, to) else {
        return Err(StoreError::Unsupported(
            "a copy goes from a SQLite store (--from sqlite:PATH) to a PostgreSQL database \
             (--to postgres://…)"
                .to_owned(),
        ));
    };
    let mut source_counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        source_counts.push(((*table).to_owned(), sqlite_count(source, table).await?));
    }
    let target_counts = pg_counts(target).await?;
    if target_counts == source_counts {
        return Ok(CopyReport {
            tables: source_counts,
            already_copied: true,
            replaced: false,
        });
    }
    let held: u64 = target_counts
        .iter()
        .filter(|t| !SEEDED.contains(&t.0.as_str()))
        .map(|t| t.1)
        .sum();
    if held > 0 && !replace {
        let what: Vec<String> = target_counts
            .iter()
            .filter(|t| t.1 > 0 && !SEEDED.contains(&t.0.as_str()))
            .take(4)
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        return Err(StoreError::Unsupported(format!(
            "the target database holds another store already ({}…): nothing was copied; \
             give --replace to replace it with the copy",
            what.join(", ")
        )));
    }
    let mut tx = target.pool.begin().await?;
    if held > 0 {
        let list = TABLES.join(", ");
        sqlx::query(AssertSqlSafe(format!("TRUNCATE {list}")))
            .execute(&mut *tx)
            .await?;
    } else {
        for table in SEEDED {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table}")))
                .execute(&mut *tx)
                .await?;
        }
    }
    for table in TABLES {
        copy_table(source, &mut tx, table).await?;
    }
    // Identity columns go on after the largest id copied.
    for table in TABLES {
        let has_identity: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = \
             current_schema() AND table_name = $1 AND column_name = 'id' AND is_identity = 'YES')",
        )
        .bind(table)
        .fetch_one(&mut *tx)
        .await?;
        if has_identity {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )))
            .execute(&mut *tx)
            .await?;
        }
    }
    for (table, expected) in &source_counts {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&mut *tx)
            .await?;
        if n as u64 != *expected {
            return Err(StoreError::Unsupported(format!(
                "the copy of {table} holds {n} rows, the source {expected}: nothing was copied"
            )));
        }
    }
    tx.commit().await?;
    Ok(CopyReport {
        tables: source_counts,
        already_copied: false,
        replaced: held > 0,
    })
}

async fn sqlite_count(store: &SqliteStore, table: &str) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(store.pool())
        .await?;
    Ok(n as u64)
}

async fn pg_counts(store: &PgStore) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
            .fetch_one(&store.pool)
            .await?;
        out.push(((*table).to_owned(), n as u64));
    }
    Ok(out)
}

/// The source's columns of `table` that the target has too, with how to read them.
async fn columns(
    source: &SqliteStore,
    tx: &mut sqlx::PgConnection,
    table: &str,
) -> Result<Vec<Column>> {
    let target: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    let rows = sqlx::query(AssertSqlSafe(format!("PRAGMA table_info({table})")))
        .fetch_all(source.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let name: String = r.try_get("name")?;
        let declared: String = r.try_get("type")?;
        if !target.contains(&name) {
            continue;
        }
        let kind = match declared.to_ascii_uppercase().as_str() {
            "INTEGER" => Kind::Integer,
            "REAL" => Kind::Real,
            "BLOB" => Kind::Blob,
            _ => Kind::Text,
        };
        out.push(Column { name, kind });
    }
    Ok(out)
}

/// Copies one table in batches, in the source's row order.
async fn copy_table(source: &SqliteStore, tx: &mut sqlx::PgConnection, table: &str) -> Result<()> {
    let cols = columns(source, tx, table).await?;
    if cols.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    let list = names.join(", ");
    // Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement.
    let per_statement = (65_000 / cols.len()).max(1);
    let batch = per_statement as i64;
    // Rows are read after the last one copied (by rowid), so each batch costs the same however
    // far into the table it is; a table without a rowid (WITHOUT ROWID: small ones, keyed by
    // their primary key) is read by position.
    let mut last_rowid = i64::MIN;
    let mut offset = 0i64;
    loop {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {list}, rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )))
        .bind(last_rowid)
        .bind(batch)
        .fetch_all(source.pool())
        .await;
        let rows = match rows {
            Ok(rows) => {
                if let Some(last) = rows.last() {
                    last_rowid = last.try_get(cols.len())?;
                }
                rows
            }
            Err(_) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {list} FROM {table} LIMIT ? OFFSET ?"
                )))
                .bind(batch)
                .bind(offset)
                .fetch_all(source.pool())
                .await?
            }
        };
        if rows.is_empty() {
            return Ok(());
        }
        let mut sql = format!("INSERT INTO {table} ({list}) VALUES ");
        let mut n = 0usize;
        for (i, _) in rows.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..cols.len() {
                if j > 0 {
                    sql.push(',');
                }
                n += 1;
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            sql.push(')');
        }
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for r in &rows {
            for (j, c) in cols.iter().enumerate() {
                q = match c.kind {
                    Kind::Integer => q.bind(r.try_get::<Option<i64>, _>(j)?),
                    Kind::Real => q.bind(r.try_get::<Option<f64>, _>(j)?),
                    Kind::Blob => q.bind(r.try_get::<Option<Vec<u8>>, _>(j)?),
                    Kind::Text => {
                        let v: Option<String> = r.try_get(j)?;
                        q.bind(v.map(|v| crate::postgres::text(&v).into_owned()))
                    }
                };
            }
        }
        q.execute(&mut *tx).await?;
        offset += rows.len() as i64;
    }
}
