//! What the store's test binaries share: a PostgreSQL database per test on the real server at
//! 127.0.0.1:5432 (`MHD_TEST_POSTGRES` to use another), dropped at its end, and stores of both
//! backends opened the same way so that one test body runs on each. Without a server the
//! PostgreSQL tests say so and pass, unless `CI` is set, where they fail.

#![allow(dead_code, unused_macros, unused_imports)]

use std::sync::atomic::{AtomicU32, Ordering};

use mhd_core::NewOperation;
use mhd_core::sample::Sample;
use mhd_store::postgres::PgStore;
use mhd_store::prelude::*;
use mhd_store::{
    AuditStore, AuthStore, CollectorStore, HistoryStore, Outbox, SessionStore, SqliteStore,
};
use sqlx::Connection as _;

/// The server's administrative URL.
pub fn admin_url() -> String {
    std::env::var("MHD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Scratch databases made by this process so far, to name each apart.
static MADE: AtomicU32 = AtomicU32::new(0);

/// A database of the test's own, dropped by [`Scratch::drop_now`].
pub struct Scratch {
    pub name: String,
    pub url: String,
}

impl Scratch {
    /// A new empty database, or `None` (outside CI) when no server answers.
    pub async fn new(tag: &str) -> Option<Scratch> {
        let admin = admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if std::env::var_os("CI").is_none() => {
                eprintln!("no PostgreSQL at {admin} ({e}): skipped");
                return None;
            }
            Err(e) => panic!("the PostgreSQL tests need a server at {admin}: {e}"),
        };
        // Within PostgreSQL's 63 bytes for a name: the tag shortened, the process and a count.
        let tag: String = tag
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(30)
            .collect();
        let name = format!(
            "mhd_t_{tag}_{}_{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .expect("an old scratch database is dropped");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("a scratch database is made");
        conn.close().await.ok();
        let base = admin.rsplit_once('/').expect("a URL with a database").0;
        Some(Scratch {
            url: format!("{base}/{name}"),
            name,
        })
    }

    /// Drops the database.
    pub async fn drop_now(self) {
        let mut conn = sqlx::PgConnection::connect(&admin_url())
            .await
            .expect("admin");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await
        .expect("the scratch database is dropped");
        conn.close().await.ok();
    }
}

/// Where a test's store lives.
pub enum Place {
    /// A SQLite file in a temporary folder.
    Sqlite(tempfile::TempDir),
    /// A PostgreSQL scratch database.
    Postgres(Scratch),
}

/// A store of either backend, as the tests open, reopen and fill it.
pub trait Backend:
    AuthStore + SessionStore + AuditStore + CollectorStore + HistoryStore + Outbox + Sized
{
    /// Whether text keeps a NUL character as given (SQLite); PostgreSQL keeps U+FFFD instead.
    const KEEPS_NUL: bool;
    /// Opens the store at `place` with a few connections.
    fn open_at(place: &Place) -> impl Future<Output = Self>;
    /// Closes the store.
    fn close_now(&self) -> impl Future<Output = ()>;
    /// Stores operations (for the history questions).
    fn seed_operations(&self, place: &Place, ops: &[NewOperation]) -> impl Future<Output = ()>;
    /// Stores samples (for the history questions).
    fn seed_samples(&self, place: &Place, samples: &[Sample]) -> impl Future<Output = ()>;
}

impl Backend for SqliteStore {
    const KEEPS_NUL: bool = true;

    async fn open_at(place: &Place) -> Self {
        let Place::Sqlite(dir) = place else {
            panic!("a SQLite store in a folder")
        };
        SqliteStore::open(&dir.path().join("mhd.db"), 4)
            .await
            .expect("the SQLite store opens")
    }

    async fn close_now(&self) {
        self.close().await;
    }

    async fn seed_operations(&self, _: &Place, ops: &[NewOperation]) {
        self.insert_operations(ops)
            .await
            .expect("operations stored");
    }

    async fn seed_samples(&self, _: &Place, samples: &[Sample]) {
        self.insert_samples(samples).await.expect("samples stored");
    }
}

impl Backend for PgStore {
    const KEEPS_NUL: bool = false;

    async fn open_at(place: &Place) -> Self {
        let Place::Postgres(db) = place else {
            panic!("a PostgreSQL store in a scratch database")
        };
        PgStore::open(&db.url, &db.url, 4)
            .await
            .expect("the PostgreSQL store opens")
    }

    async fn close_now(&self) {
        self.close().await;
    }

    // The records (`Store`) of a PostgreSQL store are written here with SQL of their own, the
    // columns the history questions read.
    async fn seed_operations(&self, place: &Place, ops: &[NewOperation]) {
        let raw = Raw::connect(place).await;
        let Raw::Postgres(conn) = &raw else {
            unreachable!()
        };
        for o in ops {
            sqlx::query(
                "INSERT INTO operations (timestamp_us, metric_type, operation, dataset_name, \
                 component, success, error_message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(us(o.timestamp))
            .bind(&o.metric_type)
            .bind(&o.operation)
            .bind(o.dataset_name.as_deref())
            .bind(o.component.as_deref())
            .bind(i64::from(o.success))
            .bind(o.error_message.as_deref())
            .execute(conn)
            .await
            .expect("operation stored");
        }
        raw.close().await;
    }

    async fn seed_samples(&self, place: &Place, samples: &[Sample]) {
        let raw = Raw::connect(place).await;
        let Raw::Postgres(conn) = &raw else {
            unreachable!()
        };
        for s in samples {
            let labels = (!s.labels.is_empty()).then(|| serde_json::to_string(&s.labels).unwrap());
            sqlx::query(
                "INSERT INTO samples (timestamp_us, metric, value, unit, component, labels) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(us(s.timestamp))
            .bind(&s.metric)
            .bind(s.value)
            .bind(s.unit.as_deref())
            .bind(s.component.as_deref())
            .bind(labels)
            .execute(conn)
            .await
            .expect("sample stored");
        }
        raw.close().await;
    }
}

/// `with_nul` as a store of kind `S` gives it back.
pub fn as_stored<S: Backend>(with_nul: &str) -> String {
    if S::KEEPS_NUL {
        with_nul.to_owned()
    } else {
        with_nul.replace('\0', "\u{FFFD}")
    }
}

/// Microseconds since the Unix epoch, as the stores keep times.
pub fn us(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

/// A test's store and where it lives.
pub struct Db<S> {
    pub store: S,
    pub place: Place,
}

impl Db<SqliteStore> {
    /// A new SQLite store in a temporary folder.
    pub async fn sqlite() -> Db<SqliteStore> {
        let place = Place::Sqlite(tempfile::tempdir().expect("a temporary folder"));
        Db {
            store: SqliteStore::open_at(&place).await,
            place,
        }
    }
}

impl Db<PgStore> {
    /// A new PostgreSQL store in a scratch database, or `None` (outside CI) without a server.
    pub async fn postgres(tag: &str) -> Option<Db<PgStore>> {
        let place = Place::Postgres(Scratch::new(tag).await?);
        Some(Db {
            store: PgStore::open_at(&place).await,
            place,
        })
    }
}

impl<S: Backend> Db<S> {
    /// Closes the store and opens it again, as a restart does.
    pub async fn reopen(&mut self) {
        self.store.close_now().await;
        self.store = S::open_at(&self.place).await;
    }

    /// A connection of its own to the store's database, for what the store does not offer.
    pub async fn raw(&self) -> Raw {
        Raw::connect(&self.place).await
    }

    /// Closes the store and removes its database.
    pub async fn finish(self) {
        self.store.close_now().await;
        match self.place {
            Place::Sqlite(dir) => drop(dir),
            Place::Postgres(db) => db.drop_now().await,
        }
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
    async fn connect(place: &Place) -> Raw {
        match place {
            Place::Sqlite(dir) => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(dir.path().join("mhd.db"))
                    .busy_timeout(std::time::Duration::from_secs(5));
                Raw::Sqlite(
                    sqlx::sqlite::SqlitePoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await
                        .expect("the SQLite file opens"),
                )
            }
            Place::Postgres(db) => Raw::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&db.url)
                    .await
                    .expect("the scratch database answers"),
            ),
        }
    }

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

/// Runs each named test body, an `async fn NAME<S: Backend>(db: &mut Db<S>)` of the module, on a
/// new SQLite store (`sqlite::NAME`) and on a new PostgreSQL store (`postgres::NAME`).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let mut db = $crate::common::Db::sqlite().await;
                    super::$name(&mut db).await;
                    db.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(mut db) = $crate::common::Db::postgres(stringify!($name)).await
                    else {
                        return;
                    };
                    super::$name(&mut db).await;
                    db.finish().await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
