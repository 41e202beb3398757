//! A PostgreSQL database of a test's own (shared by the test files through `#[path]`).

use sqlx::Connection as _;

/// The server's administrative URL.
pub fn admin_url() -> String {
    std::env::var("MHD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database of the test's own, dropped by [`Scratch::drop_now`].
pub struct Scratch {
    name: String,
    /// Its URL.
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
        let name = format!("mhd_t_{tag}_{}", std::process::id());
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
    }
}
