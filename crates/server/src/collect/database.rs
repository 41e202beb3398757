//! The database collector: a PostgreSQL server's connections and activity, from its statistics
//! views.
//!
//! The connection string (`dsn_file` / `dsn_env`, a `postgres://` URL) is a secret: it is read
//! when the collector connects, kept only in the connection pool, and never part of an error,
//! a log line or `Debug` output. One connection is kept open between runs; a changed secret
//! makes a new one.
//!
//! | metric                       | how                                                              |
//! |------------------------------|------------------------------------------------------------------|
//! | `db_connections_active`      | client backends of `pg_stat_activity` whose `state` is `active`   |
//! | `db_connections_idle`        | those whose `state` starts with `idle` (idle in a transaction too) |
//! | `db_pool_size`               | the `max_connections` setting                                    |
//! | `connection_pool_usage`      | (active + idle) / `max_connections`, a fraction 0–1              |
//! | `db_transactions_per_second` | change of `xact_commit + xact_rollback` over every database of `pg_stat_database` since the last run, per second |
//! | `db_queries_per_second`      | change of `calls` in `pg_stat_statements` per second when that extension is installed and loaded; otherwise transactions per second, the best figure PostgreSQL keeps without it |
//!
//! The collector's own connection is one of the active ones. Rates need two runs, so the first
//! run records the connection figures only; a statistics reset (a counter going back) gives no
//! rate that run. Every sample carries the label `collector` (the collector's name), so several
//! databases stay separate series.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use mhd_core::plan::{DatabaseCollector, Secret};
use mhd_core::sample::Sample;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use time::OffsetDateTime;

/// The metrics the database collector writes.
pub const METRICS: &[&str] = &[
    "db_connections_active",
    "db_connections_idle",
    "db_pool_size",
    "connection_pool_usage",
    "db_transactions_per_second",
    "db_queries_per_second",
];

/// Why the database could not be read. Never holds the connection string.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The secret could not be read.
    #[error("{0}")]
    Secret(String),
    /// The secret is not a PostgreSQL connection string.
    #[error("the connection string from {source_name} is not a postgres:// URL: {reason}")]
    BadDsn {
        /// Where it came from (the file or variable, never the value).
        source_name: String,
        /// Why (with the secret's parts removed).
        reason: String,
    },
    /// Connecting or querying failed.
    #[error("{what}: {reason}")]
    Query {
        /// What was being done.
        what: &'static str,
        /// Why (with the secret's parts removed).
        reason: String,
    },
}

/// Reads a secret: a file's contents without the trailing newline, or an environment
/// variable. Relative files are taken from `base`. The error names the file or variable, never
/// a value.
pub fn read_secret(secret: &Secret, base: &Path) -> Result<String, String> {
    match secret {
        Secret::File(path) => {
            let path = super::resolve(base, path);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read the secret file {}: {e}", path.display()))?;
            let value = text.trim_end_matches(['\n', '\r']).to_owned();
            if value.is_empty() {
                return Err(format!("the secret file {} is empty", path.display()));
            }
            Ok(value)
        }
        Secret::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Err(format!("the environment variable {var} is empty")),
            Err(std::env::VarError::NotPresent) => {
                Err(format!("the environment variable {var} is not set"))
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("the environment variable {var} is not valid UTF-8"))
            }
        },
    }
}

/// Where a secret comes from, as errors name it.
fn secret_source(secret: &Secret, base: &Path) -> String {
    match secret {
        Secret::File(p) => format!("the file {}", super::resolve(base, p).display()),
        Secret::Env(v) => format!("the environment variable {v}"),
    }
}

/// `text` with the connection string and its password replaced by `***`.
pub fn redact(text: &str, dsn: &str) -> String {
    let mut out = text.replace(dsn, "***");
    if let Ok(url) = reqwest::Url::parse(dsn) {
        if let Some(password) = url.password().filter(|p| p.len() >= 2) {
            out = out.replace(password, "***");
            if let Ok(decoded) = percent_decode(password) {
                out = out.replace(&decoded, "***");
            }
        }
        for (k, v) in url.query_pairs() {
            if k.eq_ignore_ascii_case("password") && v.len() >= 2 {
                out = out.replace(v.as_ref(), "***");
            }
        }
    }
    out
}

/// Decodes `%XX` escapes.
fn percent_decode(s: &str) -> Result<String, ()> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// An error as people read it: the server's own message for a refusal (without the place in
/// PostgreSQL's source that sqlx adds), the error and its causes otherwise.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => format!("the server refused: {}", d.message()),
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                let more = s.to_string();
                if !text.contains(&more) {
                    text.push_str(": ");
                    text.push_str(&more);
                }
                source = s.source();
            }
            text
        }
    }
}

/// The counters of the last run, for rates.
#[derive(Debug, Clone, Copy)]
struct Counters {
    at: Instant,
    transactions: i64,
    statements: Option<i64>,
}

/// A database collector.
pub struct DatabaseRunner {
    config: DatabaseCollector,
    base: PathBuf,
    /// The pool and a hash of the connection string it was made from.
    pool: Option<(PgPool, u64)>,
    previous: Option<Counters>,
}

impl DatabaseRunner {
    /// A collector for `config`; a relative secret file is taken from `base`.
    pub fn new(config: DatabaseCollector, base: &Path) -> DatabaseRunner {
        DatabaseRunner {
            config,
            base: base.to_path_buf(),
            pool: None,
            previous: None,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &DatabaseCollector {
        &self.config
    }

    /// Reads the statistics once.
    pub async fn run(&mut self, now: OffsetDateTime) -> Result<Vec<Sample>, DatabaseError> {
        let dsn = read_secret(&self.config.dsn, &self.base).map_err(DatabaseError::Secret)?;
        let pool = self.pool_for(&dsn)?;
        let fail = |what: &'static str| {
            let dsn = dsn.clone();
            move |e: sqlx::Error| DatabaseError::Query {
                what,
                reason: redact(&describe(&e), &dsn),
            }
        };
        let mut conn = pool.acquire().await.map_err(fail("cannot connect"))?;
        let (active, idle): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE state = 'active'), \
                    count(*) FILTER (WHERE state LIKE 'idle%') \
             FROM pg_stat_activity WHERE backend_type = 'client backend'",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("cannot read pg_stat_activity"))?;
        let max: i64 = sqlx::query_scalar("SELECT current_setting('max_connections')::bigint")
            .fetch_one(&mut *conn)
            .await
            .map_err(fail("cannot read max_connections"))?;
        let transactions: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(xact_commit + xact_rollback), 0)::bigint FROM pg_stat_database",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("cannot read pg_stat_database"))?;
        let installed: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(fail("cannot read pg_extension"))?;
        // Installed but not loaded (`shared_preload_libraries`), the view fails: transactions
        // stand in then.
        let statements: Option<i64> = if installed {
            sqlx::query_scalar("SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements")
                .fetch_one(&mut *conn)
                .await
                .ok()
        } else {
            None
        };
        drop(conn);
        let at = Instant::now();

        let mut out = Vec::new();
        let mut push = |metric: &str, value: f64, unit: &str| {
            let mut s = Sample::new(now, metric, value);
            s.unit = Some(unit.to_owned());
            s.component = self.config.component.clone();
            s.labels
                .insert("collector".into(), self.config.name.clone());
            out.push(s);
        };
        push("db_connections_active", active as f64, "connections");
        push("db_connections_idle", idle as f64, "connections");
        push("db_pool_size", max as f64, "connections");
        if max > 0 {
            push(
                "connection_pool_usage",
                (active + idle) as f64 / max as f64,
                "ratio",
            );
        }
        if let Some(prev) = self.previous {
            let secs = at.duration_since(prev.at).as_secs_f64();
            let rate = |before: i64, after: i64| {
                (secs > 0.0 && after >= before).then(|| (after - before) as f64 / secs)
            };
            let tps = rate(prev.transactions, transactions);
            if let Some(v) = tps {
                push("db_transactions_per_second", v, "1/s");
            }
            let qps = match (prev.statements, statements) {
                (Some(a), Some(b)) => rate(a, b),
                (None, None) => tps,
                // The extension came or went: no like-for-like figure this run.
                _ => None,
            };
            if let Some(v) = qps {
                push("db_queries_per_second", v, "1/s");
            }
        }
        self.previous = Some(Counters {
            at,
            transactions,
            statements,
        });
        Ok(out)
    }

    /// The pool for `dsn`, made anew when the connection string changed.
    fn pool_for(&mut self, dsn: &str) -> Result<PgPool, DatabaseError> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        dsn.hash(&mut hasher);
        let hash = hasher.finish();
        if let Some((pool, h)) = &self.pool
            && *h == hash
        {
            return Ok(pool.clone());
        }
        let options = PgConnectOptions::from_str(dsn)
            .map_err(|e| DatabaseError::BadDsn {
                source_name: secret_source(&self.config.dsn, &self.base),
                reason: redact(&e.to_string(), dsn),
            })?
            .application_name("mhd");
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(super::std_duration(self.config.schedule.timeout))
            .connect_lazy_with(options);
        if let Some((old, _)) = self.pool.replace((pool.clone(), hash)) {
            tokio::spawn(async move { old.close().await });
        }
        Ok(pool)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_the_dsn_and_its_password() {
        let dsn = "postgres://app:p%40ss-word@db.example:5432/prod";
        let text = format!("failed for {dsn}: password p%40ss-word or p@ss-word rejected");
        let shown = redact(&text, dsn);
        assert!(
            !shown.contains("p%40ss-word") && !shown.contains("p@ss-word"),
            "{shown}"
        );
        let q = "postgres://db.example/prod?user=app&password=hunter22";
        assert!(!redact("no hunter22 here", q).contains("hunter22"));
    }

    #[test]
    fn secrets_come_from_files_and_variables_and_errors_name_only_the_source() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("dsn"), "postgres://x@y/z\n").expect("write");
        assert_eq!(
            read_secret(&Secret::File("dsn".into()), dir.path()),
            Ok("postgres://x@y/z".into())
        );
        let missing = read_secret(&Secret::File("nope".into()), dir.path()).unwrap_err();
        assert!(missing.contains("nope"), "{missing}");
        let unset = read_secret(
            &Secret::Env("MHD_TEST_UNSET_DSN_VARIABLE".into()),
            dir.path(),
        )
        .unwrap_err();
        assert!(
            unset.contains("MHD_TEST_UNSET_DSN_VARIABLE is not set"),
            "{unset}"
        );
    }
}
