//! What these tests add to the shared `backends`: every trait they ask of a store, a plain
//! connection to the test's database for what the store does not offer, and how each backend
//! keeps a NUL character.

use mhd_store::{
    AuditStore, AuthStore, CollectorStore, HistoryStore, Outbox, RetentionStore, SessionStore,
    Store,
};

use crate::backends::{self, Backend};

/// Every storage trait these tests ask.
pub trait All:
    AuthStore
    + SessionStore
    + AuditStore
    + CollectorStore
    + HistoryStore
    + Outbox
    + RetentionStore
    + Store
{
}

impl<T> All for T where
    T: AuthStore
        + SessionStore
        + AuditStore
        + CollectorStore
        + HistoryStore
        + Outbox
        + RetentionStore
        + Store
{
}

/// A backend whose store answers every trait, with a plain connection beside it.
pub trait Both: Backend<S: All> {
    /// Whether text keeps a NUL character as given (SQLite); PostgreSQL keeps U+FFFD instead.
    const KEEPS_NUL: bool;
    /// Whether a retention pass hands freed pages back to the file system (SQLite); PostgreSQL's
    /// autovacuum makes the space reusable instead.
    const HANDS_BACK_PAGES: bool;
    /// A connection of its own to the store's database.
    fn raw(&self) -> impl Future<Output = Raw>;
}

impl Both for backends::Sqlite {
    const KEEPS_NUL: bool = true;
    const HANDS_BACK_PAGES: bool = true;

    async fn raw(&self) -> Raw {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.0.path().join("mhd.db"))
            .busy_timeout(std::time::Duration::from_secs(5));
        Raw::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .expect("the SQLite file opens"),
        )
    }
}

impl Both for backends::Postgres {
    const KEEPS_NUL: bool = false;
    const HANDS_BACK_PAGES: bool = false;

    async fn raw(&self) -> Raw {
        Raw::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&self.0.url)
                .await
                .expect("the scratch database answers"),
        )
    }
}

/// `with_nul` as a store of backend `B` gives it back.
pub fn as_stored<B: Both>(with_nul: &str) -> String {
    if B::KEEPS_NUL {
        with_nul.to_owned()
    } else {
        with_nul.replace('\0', "\u{FFFD}")
    }
}

/// A plain connection to a test's database.
pub enum Raw {
    /// To the SQLite file.
    Sqlite(sqlx::SqlitePool),
    /// To the PostgreSQL database.
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// Runs one statement without parameters; the database's error as text when it fails.
    pub async fn execute(&self, sql: &str) -> Result<u64, String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
            Raw::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
        }
        .map_err(|e| e.to_string())
    }

    /// The integer one query answers (0 for none).
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let n: Option<i64> = match self {
            Raw::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Raw::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("the query answers: {e}"));
        n.unwrap_or(0)
    }

    /// Every cell of a table as text, to look for what must not be there.
    pub async fn cells(&self, table: &str) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Raw::Sqlite(pool) => {
                let cols: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                for c in cols {
                    let vals: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(
                        format!("SELECT CAST({c} AS TEXT) FROM {table}"),
                    ))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    out.extend(vals.into_iter().flatten());
                }
            }
            Raw::Postgres(pool) => {
                let cols: Vec<String> = sqlx::query_scalar(
                    "SELECT column_name::TEXT FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1",
                )
                .bind(table)
                .fetch_all(pool)
                .await
                .unwrap();
                assert!(!cols.is_empty(), "the table {table} has columns");
                for c in cols {
                    let vals: Vec<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(
                        format!("SELECT CAST({c} AS TEXT) FROM {table}"),
                    ))
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    out.extend(vals.into_iter().flatten());
                }
            }
        }
        out
    }

    /// Closes the connection.
    pub async fn close(self) {
        match self {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
    }
}
