//! Retention on PostgreSQL: the pass and the reads of samples of [`crate::retention`], with
//! PostgreSQL's transactions, bound values and rows.
//!
//! Several replicas, and `mhd retention run`, may run a pass at once: every write transaction
//! of a pass first takes an advisory lock ([`RETENTION_LOCK`]), so that the passes take turns
//! batch by batch, each batch sees what the one before it committed, and a sample is counted
//! into the aggregates once. A read of samples sees one snapshot (`REPEATABLE READ`), in which
//! the aggregates and the mark of what they count agree.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{PgConnection, Postgres, Transaction};

use super::PgStore;
use crate::Result;
use crate::retention::{Backend, Bind};

/// The advisory lock each write transaction of a retention pass holds (an arbitrary constant:
/// "mhd" and a 3).
const RETENTION_LOCK: i64 = 0x6d68_6403;

/// `sql` with `binds` bound, for PostgreSQL.
fn pg_query(sql: &str, binds: &[Bind<'_>]) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
    for b in binds {
        q = match b {
            Bind::Int(v) => q.bind(*v),
            Bind::Real(v) => q.bind(*v),
            Bind::Text(v) => q.bind(super::text(v).into_owned()),
            Bind::OptText(v) => q.bind(super::text_opt(*v).map(|t| t.into_owned())),
            Bind::Bytes(v) => q.bind(v.clone()),
            Bind::Ids(ids) => q.bind(ids.to_vec()),
        };
    }
    q
}

impl Backend for PgStore {
    type Conn = PgConnection;
    type Write = Transaction<'static, Postgres>;
    type Read = Transaction<'static, Postgres>;
    type Row = PgRow;

    fn in_ids(param: usize) -> String {
        format!("= ANY(${param})")
    }
    fn in_order(first: usize, n: usize) -> String {
        crate::retention::params(first, n)
    }
    // PostgreSQL's planner picks the ids' index by itself.
    const NOT_BY_INDEX: &'static str = "";

    async fn begin_pass_write(&self) -> Result<Transaction<'static, Postgres>> {
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(RETENTION_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
        .await;
        self.noted(outcome)
    }

    async fn commit(&self, tx: Transaction<'static, Postgres>) -> Result<()> {
        let outcome = tx.commit().await.map_err(Into::into);
        self.noted(outcome)
    }

    async fn begin_read(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    async fn end_read(&self, tx: Transaction<'static, Postgres>) -> Result<()> {
        tx.commit().await?;
        Ok(())
    }

    async fn fetch(conn: &mut PgConnection, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<PgRow>> {
        Ok(pg_query(sql, binds).fetch_all(conn).await?)
    }

    async fn execute(conn: &mut PgConnection, sql: &str, binds: &[Bind<'_>]) -> Result<u64> {
        Ok(pg_query(sql, binds).execute(conn).await?.rows_affected())
    }

    /// A sample's id is drawn while its insert runs, before it commits, so a higher id may
    /// commit before a lower one. Every insert holds its lock on `samples` until it ends; taking
    /// the table in `SHARE` mode waits for those running (and holds new ones back for the
    /// moment it takes to read the highest id), so every id up to the one read has committed
    /// or is gone for good. Waits at most [`crate::busy_timeout`].
    async fn sample_horizon(&self) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SET LOCAL lock_timeout = {}",
            crate::busy_timeout().as_millis().max(1)
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query("LOCK TABLE samples IN SHARE MODE")
            .execute(&mut *tx)
            .await?;
        let highest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM samples")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(highest.unwrap_or(0))
    }

    async fn hand_back_space(&self) -> Result<(u64, u64)> {
        // Autovacuum makes the deleted rows' space reusable; nothing to hand back here.
        Ok((0, 0))
    }

    fn bucket_cache(&self) -> &crate::retention::BucketCache {
        &self.bucket_cache
    }
}
