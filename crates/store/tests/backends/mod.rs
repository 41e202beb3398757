//! The store behaviours written once and run on both backends: a SQLite file and a
//! PostgreSQL database of the test's own (see `scratch`; without a server the PostgreSQL half
//! says so and passes, unless `CI` is set).

// Each test file uses a part of these helpers.
#![allow(dead_code)]

#[path = "../postgres/scratch.rs"]
pub mod scratch;

use mhd_store::alerts::AlertStore;
use mhd_store::postgres::PgStore;
use mhd_store::{Database, SqliteStore, Store};

/// Where a test's store lives: opened (and opened again) by the test.
pub trait Backend {
    type S: AlertStore + Store;
    async fn open(&self) -> Self::S;
    async fn close(&self, store: Self::S);
    /// The store as the commands see it.
    fn database(store: Self::S) -> Database;
}

/// A SQLite file in a temporary folder.
pub struct Sqlite(pub tempfile::TempDir);

impl Backend for Sqlite {
    type S = SqliteStore;
    async fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.0.path().join("mhd.db"), 2)
            .await
            .expect("the store opens")
    }
    async fn close(&self, store: SqliteStore) {
        store.close().await;
    }
    fn database(store: SqliteStore) -> Database {
        Database::Sqlite(store)
    }
}

/// A PostgreSQL database of the test's own.
pub struct Postgres(pub scratch::Scratch);

impl Backend for Postgres {
    type S = PgStore;
    async fn open(&self) -> PgStore {
        PgStore::open(&self.0.url, &self.0.url, 2)
            .await
            .expect("the store opens")
    }
    async fn close(&self, store: PgStore) {
        store.close().await;
    }
    fn database(store: PgStore) -> Database {
        Database::Postgres(store)
    }
}

/// Runs test bodies `async fn name<B: Backend>(b: &B)` on SQLite and on PostgreSQL, as the
/// tests `name::sqlite` and `name::postgres`; `$tag` keeps their databases apart.
#[macro_export]
macro_rules! on_both {
    ($tag:literal; $($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                super::$name(&backends::Sqlite(tempfile::tempdir().unwrap())).await;
            }
            #[tokio::test]
            async fn postgres() {
                let Some(db) =
                    backends::scratch::Scratch::new(concat!($tag, "_", stringify!($name))).await
                else {
                    return;
                };
                let backend = backends::Postgres(db);
                super::$name(&backend).await;
                backend.0.drop_now().await;
            }
        }
    )*};
}
