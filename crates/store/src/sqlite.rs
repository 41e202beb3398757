//! The SQLite backend: one file under the home folder, WAL, a busy timeout so that several
//! processes can write at once, and rollups kept in step with every write.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use mhd_core::dashboard::Bucket;
use mhd_core::operation::kind;
use mhd_core::stats::{
    self, DatasetCounts, DatasetTypeStats, RecentError, StatsSummary, TypeTotals,
};
use mhd_core::{NewOperation, Operation, System};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqlitePool, Transaction};
use time::OffsetDateTime;

use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::testrun::TestRun;
use time::Date;

use crate::{
    ComponentWindow, DatasetProgress, ImportOutcome, MigrationCounts, OperationFilter, Result,
    Store, StoreError,
};

/// Rows per multi-row INSERT: 2048 rows × 13 columns stays below SQLite's limit of 32766 variables.
const INSERT_CHUNK: usize = 2048;
const COLUMNS: &str = "timestamp_us, metric_type, operation, dataset_name, component, system, \
                       duration_ms, success, row_count, error_message, metadata, import_key, \
                       dataset_id";
pub(crate) const HOUR_US: i64 = 3_600_000_000;
/// How long a write waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

/// Microseconds since the epoch, UTC.
pub(crate) fn to_us(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

pub(crate) fn from_us(us: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl SqliteStore {
    /// Opens (creating if needed) the store file and brings its schema up to date.
    ///
    /// `max_connections` is 1 for a command, more for the server.
    pub async fn open(path: &Path, max_connections: u32) -> Result<SqliteStore> {
        let shown = path.display().to_string();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL keeps every committed transaction through a crash of the
            // process; only a power loss may take the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // A large transaction spills dirty pages once the cache is full: a command (one
            // connection, perhaps a bulk load) gets 64 MiB; a server's many connections 8 MiB
            // each, so that its memory stays small.
            .pragma(
                "cache_size",
                if max_connections <= 1 {
                    "-65536"
                } else {
                    "-8192"
                },
            )
            // Multi-row inserts keep a statement journal; in memory it costs no writes.
            .pragma("temp_store", "memory");
        // Switching a new file to WAL takes a lock that SQLite does not wait for: when several
        // processes create the store at once, the losers try again (for as long as a write
        // would wait for the lock).
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let pool = loop {
            let connected = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .min_connections(0)
                .connect_with(options.clone())
                .await;
            match connected {
                Err(sqlx::Error::Database(e))
                    if e.message().contains("database is locked")
                        && std::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                other => break other.map_err(|e| classify_open_error(e, &shown))?,
            }
        };
        let mut conn = pool.acquire().await?;
        crate::migrate::run(&mut conn, &shown).await?;
        drop(conn);
        Ok(SqliteStore { pool })
    }

    /// A writer that stores operations in one transaction until [`OperationWriter::commit`]:
    /// bulk loads write in batches and become visible all at once, or not at all.
    pub async fn writer(&self) -> Result<OperationWriter> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(OperationWriter {
            tx,
            rollups: HashMap::new(),
            dataset_ids: HashMap::new(),
            datasets: HashMap::new(),
            migration_days: HashMap::new(),
            components: HashMap::new(),
            written: 0,
        })
    }

    /// The connection pool, for the backend's own tests and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Ends a short-lived process's use of the store without closing it: committed writes are
    /// already in the write-ahead log, which the next process to open the store reads. This
    /// spares a one-operation command the checkpoint and the two `fsync`s SQLite does when the
    /// last connection closes, and the re-creation of the log the next time.
    pub fn leave_open(self) {
        std::mem::forget(self.pool);
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn classify_open_error(e: sqlx::Error, path: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.message().contains("not a database") => StoreError::Foreign {
            path: path.to_owned(),
            reason: "not an SQLite database".into(),
        },
        _ => StoreError::Db(e),
    }
}

/// Stores operations inside one open transaction; see [`SqliteStore::writer`].
pub struct OperationWriter {
    tx: Transaction<'static, Sqlite>,
    /// Per metric type, per hour.
    rollups: HashMap<String, HashMap<i64, TypeTotals>>,
    /// Ids of the dataset names this writer has met.
    dataset_ids: HashMap<String, i64>,
    datasets: HashMap<String, DatasetDelta>,
    /// Migration attempts and rollbacks per (UTC day, component or ""), all and successful.
    migration_days: HashMap<(i64, String), DayCounts>,
    /// Operations per (hour, component, system): count, failures, durations.
    components: HashMap<(i64, String, System), HourCounts>,
    written: u64,
}

#[derive(Debug, Clone)]
struct DatasetDelta {
    first: i64,
    last: i64,
    registered: bool,
    last_migrated: Option<i64>,
    last_rollback: Option<i64>,
    last_started: Option<i64>,
    /// The latest attempt and whether it succeeded (a success wins a tie).
    last_attempt: Option<(i64, bool)>,
    /// The latest verification and whether it passed (a pass wins a tie).
    last_verified: Option<(i64, bool)>,
    /// The type of the operation at `last`.
    last_type: String,
    /// The latest component named for the dataset in this writer's operations.
    component: Option<String>,
}

/// The later of two (time, success) marks; at the same instant a success wins.
fn later(a: Option<(i64, bool)>, b: Option<(i64, bool)>) -> Option<(i64, bool)> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Microseconds per day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// One hour's operations of one component on one system.
#[derive(Debug, Clone, Default)]
struct HourCounts {
    count: i64,
    failures: i64,
    durations: mhd_core::sketch::Histogram,
}

/// One day's migration attempts and rollbacks of one component.
#[derive(Debug, Clone, Copy, Default)]
struct DayCounts {
    attempts: i64,
    migrations: i64,
    rollback_ops: i64,
    rollbacks: i64,
}

impl OperationWriter {
    /// Validates and writes a batch; a batch with an invalid operation writes nothing.
    pub async fn write(&mut self, ops: &[NewOperation]) -> Result<()> {
        for (index, op) in ops.iter().enumerate() {
            op.validate()
                .map_err(|source| StoreError::Invalid { index, source })?;
        }
        self.resolve_dataset_ids(ops).await?;
        // Build the next statement while the store's thread runs the current one.
        let (tx, ids) = (&mut self.tx, &self.dataset_ids);
        let mut chunks = ops.chunks(INSERT_CHUNK);
        let mut next = chunks.next().map(|c| insert_statement(c, ids));
        while let Some(statement) = next {
            let build_next = async { chunks.next().map(|c| insert_statement(c, ids)) };
            let (done, following) = tokio::join!(statement.execute(&mut **tx), build_next);
            done?;
            next = following;
        }
        for op in ops {
            self.count(op);
        }
        self.written += ops.len() as u64;
        Ok(())
    }

    /// Gives every dataset name of the batch its id, adding names seen for the first time.
    async fn resolve_dataset_ids(&mut self, ops: &[NewOperation]) -> Result<()> {
        for op in ops {
            let Some(name) = &op.dataset_name else {
                continue;
            };
            if self.dataset_ids.contains_key(name.as_str()) {
                continue;
            }
            sqlx::query("INSERT INTO dataset_ids (name) VALUES (?) ON CONFLICT (name) DO NOTHING")
                .bind(name.clone())
                .execute(&mut *self.tx)
                .await?;
            let id: i64 = sqlx::query_scalar("SELECT id FROM dataset_ids WHERE name = ?")
                .bind(name.clone())
                .fetch_one(&mut *self.tx)
                .await?;
            self.dataset_ids.insert(name.clone(), id);
        }
        Ok(())
    }

    fn count(&mut self, op: &NewOperation) {
        let us = to_us(op.timestamp);
        let hour = us.div_euclid(HOUR_US);
        // Look up by &str first: a String is made only for a type or dataset seen the first time.
        let hours = match self.rollups.get_mut(op.metric_type.as_str()) {
            Some(h) => h,
            None => self.rollups.entry(op.metric_type.clone()).or_default(),
        };
        hours
            .entry(hour)
            .or_default()
            .add(op.success, op.duration_ms);
        if let (Some(component), Some(system)) = (&op.component, op.system) {
            let key = (hour, component.clone(), system);
            let e = self.components.entry(key).or_default();
            e.count += 1;
            e.failures += i64::from(!op.success);
            if let Some(ms) = op.duration_ms {
                e.durations.add(ms);
            }
        }
        let ty = op.metric_type.as_str();
        if ty == kind::MIGRATION || ty == kind::ROLLBACK {
            let day = us.div_euclid(DAY_US);
            let component = op.component.clone().unwrap_or_default();
            let e = self.migration_days.entry((day, component)).or_default();
            let ok = i64::from(op.success);
            if ty == kind::MIGRATION {
                e.attempts += 1;
                e.migrations += ok;
            } else {
                e.rollback_ops += 1;
                e.rollbacks += ok;
            }
        }
        if let Some(name) = &op.dataset_name {
            let registered = ty == kind::DATASET_REGISTER;
            let migrated = (op.success && ty == kind::MIGRATION).then_some(us);
            let rolled_back = (op.success && ty == kind::ROLLBACK).then_some(us);
            let started = (ty == kind::MIGRATION_START).then_some(us);
            let attempt = (ty == kind::MIGRATION).then_some((us, op.success));
            let verified = (ty == kind::VERIFICATION).then_some((us, op.success));
            match self.datasets.get_mut(name.as_str()) {
                Some(d) => {
                    d.first = d.first.min(us);
                    if us >= d.last {
                        d.last = us;
                        ty.clone_into(&mut d.last_type);
                    }
                    d.registered |= registered;
                    d.last_migrated = d.last_migrated.max(migrated);
                    d.last_rollback = d.last_rollback.max(rolled_back);
                    d.last_started = d.last_started.max(started);
                    d.last_attempt = later(d.last_attempt, attempt);
                    d.last_verified = later(d.last_verified, verified);
                    if op.component.is_some() {
                        d.component.clone_from(&op.component);
                    }
                }
                None => {
                    let d = DatasetDelta {
                        first: us,
                        last: us,
                        registered,
                        last_migrated: migrated,
                        last_rollback: rolled_back,
                        last_started: started,
                        last_attempt: attempt,
                        last_verified: verified,
                        last_type: ty.to_owned(),
                        component: op.component.clone(),
                    };
                    self.datasets.insert(name.clone(), d);
                }
            }
        }
    }

    /// Operations written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes everything written durable and visible, with the rollups brought in step.
    pub async fn commit(mut self) -> Result<u64> {
        // Collected first: a lazy iterator of closures held across the awaits below would make
        // this future not `Send`.
        let mut rollups: Vec<(i64, &str, &TypeTotals)> = Vec::new();
        for (ty, hours) in &self.rollups {
            rollups.extend(hours.iter().map(|(h, t)| (*h, ty.as_str(), t)));
        }
        for (hour, metric_type, t) in rollups {
            sqlx::query(
                "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
                 success_duration_sum, success_duration_count) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (hour, metric_type) DO UPDATE SET \
                 count = count + excluded.count, \
                 success_count = success_count + excluded.success_count, \
                 success_duration_sum = success_duration_sum + excluded.success_duration_sum, \
                 success_duration_count = success_duration_count + excluded.success_duration_count",
            )
            .bind(hour)
            .bind(metric_type)
            .bind(t.count as i64)
            .bind(t.success_count as i64)
            .bind(t.success_duration_sum)
            .bind(t.success_duration_count as i64)
            .execute(&mut *self.tx)
            .await?;
        }
        for ((hour, component, system), c) in &self.components {
            let stored: Option<Option<Vec<u8>>> = sqlx::query_scalar(
                "SELECT durations FROM component_rollup WHERE hour = ? AND component = ? AND system = ?",
            )
            .bind(hour)
            .bind(component)
            .bind(system.as_str())
            .fetch_optional(&mut *self.tx)
            .await?;
            let mut durations = c.durations.clone();
            if let Some(h) = stored
                .flatten()
                .as_deref()
                .and_then(mhd_core::sketch::Histogram::decode)
            {
                durations.merge(&h);
            }
            sqlx::query(
                "INSERT INTO component_rollup (hour, component, system, count, failures, durations) \
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (hour, component, system) DO UPDATE SET \
                 count = count + excluded.count, failures = failures + excluded.failures, \
                 durations = excluded.durations",
            )
            .bind(hour)
            .bind(component)
            .bind(system.as_str())
            .bind(c.count)
            .bind(c.failures)
            .bind(durations.encode())
            .execute(&mut *self.tx)
            .await?;
        }
        for ((day, component), c) in &self.migration_days {
            sqlx::query(
                "INSERT INTO migration_days (day, component, attempts, migrations, rollback_ops, \
                 rollbacks) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, component) DO UPDATE SET \
                 attempts = attempts + excluded.attempts, \
                 migrations = migrations + excluded.migrations, \
                 rollback_ops = rollback_ops + excluded.rollback_ops, \
                 rollbacks = rollbacks + excluded.rollbacks",
            )
            .bind(day)
            .bind(component)
            .bind(c.attempts)
            .bind(c.migrations)
            .bind(c.rollback_ops)
            .bind(c.rollbacks)
            .execute(&mut *self.tx)
            .await?;
        }
        for (name, d) in &self.datasets {
            // A (time, flag) mark replaces the stored one when it is later, or as late and a
            // success; `last_type` follows `last_seen_us` the same way.
            sqlx::query(
                "INSERT INTO datasets (name, first_seen_us, last_seen_us, registered, \
                 last_migrated_us, last_rollback_us, component, last_started_us, \
                 last_attempt_us, last_attempt_ok, last_verified_us, last_verified_ok, last_type) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET \
                 first_seen_us = min(first_seen_us, excluded.first_seen_us), \
                 last_type = CASE WHEN excluded.last_seen_us >= last_seen_us \
                                  THEN excluded.last_type ELSE last_type END, \
                 last_seen_us = max(last_seen_us, excluded.last_seen_us), \
                 registered = max(registered, excluded.registered), \
                 last_migrated_us = max(coalesce(last_migrated_us, excluded.last_migrated_us), \
                                        coalesce(excluded.last_migrated_us, last_migrated_us)), \
                 last_rollback_us = max(coalesce(last_rollback_us, excluded.last_rollback_us), \
                                        coalesce(excluded.last_rollback_us, last_rollback_us)), \
                 last_started_us = max(coalesce(last_started_us, excluded.last_started_us), \
                                       coalesce(excluded.last_started_us, last_started_us)), \
                 last_attempt_ok = CASE WHEN excluded.last_attempt_us IS NOT NULL AND \
                     (last_attempt_us IS NULL OR excluded.last_attempt_us > last_attempt_us OR \
                      (excluded.last_attempt_us = last_attempt_us AND excluded.last_attempt_ok > last_attempt_ok)) \
                     THEN excluded.last_attempt_ok ELSE last_attempt_ok END, \
                 last_attempt_us = max(coalesce(last_attempt_us, excluded.last_attempt_us), \
                                       coalesce(excluded.last_attempt_us, last_attempt_us)), \
                 last_verified_ok = CASE WHEN excluded.last_verified_us IS NOT NULL AND \
                     (last_verified_us IS NULL OR excluded.last_verified_us > last_verified_us OR \
                      (excluded.last_verified_us = last_verified_us AND excluded.last_verified_ok > last_verified_ok)) \
                     THEN excluded.last_verified_ok ELSE last_verified_ok END, \
                 last_verified_us = max(coalesce(last_verified_us, excluded.last_verified_us), \
                                        coalesce(excluded.last_verified_us, last_verified_us)), \
                 component = coalesce(excluded.component, component)",
            )
            .bind(name)
            .bind(d.first)
            .bind(d.last)
            .bind(d.registered)
            .bind(d.last_migrated)
            .bind(d.last_rollback)
            .bind(d.component.clone())
            .bind(d.last_started)
            .bind(d.last_attempt.map(|a| a.0))
            .bind(d.last_attempt.map(|a| a.1))
            .bind(d.last_verified.map(|v| v.0))
            .bind(d.last_verified.map(|v| v.1))
            .bind(d.last_type.clone())
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        Ok(self.written)
    }

    /// Drops everything written: nothing of it is stored.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

fn insert_sql(rows: usize) -> String {
    // OR ROLLBACK: operations are validated before they get here, so a constraint failure
    // means something is badly wrong and the whole transaction goes; in exchange SQLite keeps
    // no statement journal for these multi-row statements, which makes bulk loads far faster.
    let mut sql = format!("INSERT OR ROLLBACK INTO operations ({COLUMNS}) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    }
    sql
}

/// The multi-row INSERT of one chunk of operations.
fn insert_statement(
    chunk: &[NewOperation],
    dataset_ids: &HashMap<String, i64>,
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    static FULL: OnceLock<String> = OnceLock::new();
    let sql = if chunk.len() == INSERT_CHUNK {
        FULL.get_or_init(|| insert_sql(INSERT_CHUNK)).clone()
    } else {
        insert_sql(chunk.len())
    };
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for op in chunk {
        q = q
            .bind(to_us(op.timestamp))
            .bind(op.metric_type.clone())
            .bind(op.operation.clone())
            .bind(op.dataset_name.clone())
            .bind(op.component.clone())
            .bind(op.system.map(System::as_str))
            .bind(op.duration_ms)
            .bind(op.success)
            .bind(op.row_count)
            .bind(op.error_message.clone())
            .bind(op.metadata.as_ref().map(|m| m.to_string()))
            .bind(op.import_key.clone())
            .bind(
                op.dataset_name
                    .as_ref()
                    .and_then(|n| dataset_ids.get(n))
                    .copied(),
            );
    }
    q
}

const SELECT_OPERATION: &str = "SELECT id, timestamp_us, metric_type, operation, dataset_name, \
    component, system, duration_ms, success, row_count, error_message, metadata, import_key \
    FROM operations";

fn operation_from_row(row: &SqliteRow) -> Result<Operation> {
    let system: Option<String> = row.try_get("system")?;
    let metadata: Option<String> = row.try_get("metadata")?;
    Ok(Operation {
        id: row.try_get("id")?,
        op: NewOperation {
            timestamp: from_us(row.try_get("timestamp_us")?),
            metric_type: row.try_get("metric_type")?,
            operation: row.try_get("operation")?,
            dataset_name: row.try_get("dataset_name")?,
            component: row.try_get("component")?,
            system: system.as_deref().and_then(|s| System::from_str(s).ok()),
            duration_ms: row.try_get("duration_ms")?,
            success: row.try_get("success")?,
            row_count: row.try_get("row_count")?,
            error_message: row.try_get("error_message")?,
            metadata: metadata
                .map(|m| serde_json::from_str(&m).unwrap_or(serde_json::Value::String(m))),
            import_key: row.try_get("import_key")?,
        },
    })
}

impl Store for SqliteStore {
    async fn insert_operations(&self, ops: &[NewOperation]) -> Result<u64> {
        let mut w = self.writer().await?;
        w.write(ops).await?;
        w.commit().await
    }

    async fn import_operations(&self, ops: &[NewOperation]) -> Result<ImportOutcome> {
        let mut w = self.writer().await?;
        // Keys stored by an earlier import, then keys repeated within this one.
        let mut present: HashSet<String> = HashSet::new();
        for chunk in ops.chunks(500) {
            let keys: Vec<String> = chunk.iter().filter_map(|o| o.import_key.clone()).collect();
            if keys.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT import_key FROM operations WHERE import_key IN ({})",
                vec!["?"; keys.len()].join(",")
            );
            let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
            for k in keys {
                q = q.bind(k);
            }
            present.extend(q.fetch_all(&mut *w.tx).await?);
        }
        let mut fresh = Vec::with_capacity(ops.len());
        for op in ops {
            match &op.import_key {
                Some(k) if !present.insert(k.clone()) => {}
                _ => fresh.push(op.clone()),
            }
        }
        let skipped = (ops.len() - fresh.len()) as u64;
        w.write(&fresh).await?;
        let inserted = w.commit().await?;
        Ok(ImportOutcome { inserted, skipped })
    }

    async fn recent_operations(&self, f: &OperationFilter) -> Result<Vec<Operation>> {
        let mut sql = format!("{SELECT_OPERATION} WHERE 1 = 1");
        if f.dataset.is_some() {
            sql.push_str(" AND dataset_id = (SELECT id FROM dataset_ids WHERE name = ?)");
        }
        if f.metric_type.is_some() {
            sql.push_str(" AND metric_type = ?");
        }
        if f.since.is_some() {
            sql.push_str(" AND timestamp_us >= ?");
        }
        if f.failed_only {
            sql.push_str(" AND success = 0");
        }
        sql.push_str(" ORDER BY timestamp_us DESC, id DESC LIMIT ?");
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(d) = &f.dataset {
            q = q.bind(d.clone());
        }
        if let Some(t) = &f.metric_type {
            q = q.bind(t.clone());
        }
        if let Some(s) = f.since {
            q = q.bind(to_us(s));
        }
        q = q.bind(i64::from(f.limit));
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(operation_from_row).collect()
    }

    async fn stats_summary(&self) -> Result<StatsSummary> {
        let mut conn = self.pool.acquire().await?;
        let totals = sqlx::query(
            "SELECT metric_type, SUM(count) AS count, SUM(success_count) AS ok, \
             SUM(success_duration_sum) AS dsum, SUM(success_duration_count) AS dn \
             FROM operation_rollup GROUP BY metric_type",
        )
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| -> Result<(String, TypeTotals)> {
            Ok((
                r.try_get("metric_type")?,
                TypeTotals {
                    count: r.try_get::<i64, _>("count")? as u64,
                    success_count: r.try_get::<i64, _>("ok")? as u64,
                    success_duration_sum: r.try_get("dsum")?,
                    success_duration_count: r.try_get::<i64, _>("dn")? as u64,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(timestamp_us) FROM operations")
            .fetch_one(&mut *conn)
            .await?;
        let (total_datasets, registered): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), SUM(registered) FROM datasets")
                .fetch_one(&mut *conn)
                .await?;
        let errors = sqlx::query(
            "SELECT timestamp_us, metric_type, operation, dataset_name, error_message \
             FROM operations WHERE success = 0 ORDER BY timestamp_us DESC, id DESC LIMIT ?",
        )
        .bind(stats::RECENT_ERRORS as i64)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| -> Result<RecentError> {
            Ok(RecentError {
                timestamp: from_us(r.try_get("timestamp_us")?),
                metric_type: r.try_get("metric_type")?,
                operation: r.try_get("operation")?,
                dataset_name: r.try_get("dataset_name")?,
                error_message: r.try_get("error_message")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(stats::summarize(
            totals,
            last.map(from_us),
            DatasetCounts {
                total_datasets: total_datasets as u64,
                datasets_registered: registered.unwrap_or(0) as u64,
            },
            errors,
        ))
    }

    async fn dataset_stats(&self, dataset: &str) -> Result<Vec<DatasetTypeStats>> {
        let rows = sqlx::query(
            "SELECT metric_type, COUNT(*) AS count, AVG(duration_ms) AS avg_ms, \
             SUM(row_count) AS rows_total, SUM(1 - success) AS errors, MAX(timestamp_us) AS last \
             FROM operations WHERE dataset_id = (SELECT id FROM dataset_ids WHERE name = ?) \
             GROUP BY metric_type ORDER BY metric_type",
        )
        .bind(dataset.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DatasetTypeStats {
                    metric_type: r.try_get("metric_type")?,
                    count: r.try_get::<i64, _>("count")? as u64,
                    avg_duration_ms: r.try_get("avg_ms")?,
                    total_rows_processed: r.try_get("rows_total")?,
                    error_count: r.try_get::<i64, _>("errors")? as u64,
                    last_operation: from_us(r.try_get("last")?),
                })
            })
            .collect()
    }

    async fn count_before(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operations WHERE timestamp_us < ?")
            .bind(to_us(cutoff))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn delete_before(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let cut = to_us(cutoff);
        let cut_hour = cut.div_euclid(HOUR_US);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let deleted = sqlx::query("DELETE FROM operations WHERE timestamp_us < ?")
            .bind(cut)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Hours wholly before the cutoff are gone; the cutoff's own hour is counted again.
        sqlx::query("DELETE FROM operation_rollup WHERE hour <= ?")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
             success_duration_sum, success_duration_count) \
             SELECT ?, metric_type, COUNT(*), SUM(success), \
             TOTAL(CASE WHEN success = 1 THEN duration_ms END), \
             COUNT(CASE WHEN success = 1 THEN duration_ms END) \
             FROM operations WHERE timestamp_us >= ? AND timestamp_us < ? GROUP BY metric_type",
        )
        .bind(cut_hour)
        .bind(cut_hour * HOUR_US)
        .bind((cut_hour + 1) * HOUR_US)
        .execute(&mut *tx)
        .await?;
        // The component windows go with their hours (the cutoff's own hour is kept).
        sqlx::query("DELETE FROM component_rollup WHERE hour < ?")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        // Datasets keep their states and `migration_days` its history: what the migration has
        // done does not shrink with the operations that recorded it.
        tx.commit().await?;
        Ok(deleted)
    }

    async fn operations_over_time(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket_seconds: i64,
    ) -> Result<Vec<Bucket>> {
        let bucket_us = bucket_seconds.max(3600) * 1_000_000;
        let first = to_us(since).div_euclid(bucket_us);
        let last = to_us(until).div_euclid(bucket_us);
        if last < first {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT hour, SUM(count), SUM(count - success_count) FROM operation_rollup \
             WHERE hour >= ? AND hour < ? GROUP BY hour",
        )
        .bind(first * bucket_us / HOUR_US)
        .bind((last + 1) * bucket_us / HOUR_US)
        .fetch_all(&self.pool)
        .await?;
        let mut buckets: Vec<Bucket> = (first..=last)
            .map(|b| Bucket {
                start: from_us(b * bucket_us),
                count: 0,
                errors: 0,
            })
            .collect();
        for (hour, count, errors) in rows {
            let i = (hour * HOUR_US).div_euclid(bucket_us) - first;
            if let Some(b) = buckets.get_mut(i as usize) {
                b.count += count as u64;
                b.errors += errors as u64;
            }
        }
        Ok(buckets)
    }

    async fn first_operation_at(&self) -> Result<Option<OffsetDateTime>> {
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(timestamp_us) FROM operations")
            .fetch_one(&self.pool)
            .await?;
        Ok(first.map(from_us))
    }

    async fn migration_counts(&self) -> Result<MigrationCounts> {
        let mut conn = self.pool.acquire().await?;
        // From the kept per-day counts, which no cleanup prunes.
        let (attempts, successes, rollbacks): (Option<i64>, Option<i64>, Option<i64>) =
            sqlx::query_as(
                "SELECT SUM(attempts), SUM(migrations), SUM(rollback_ops) FROM migration_days",
            )
            .fetch_one(&mut *conn)
            .await?;
        // A dataset is migrated when its latest successful migration is newer than its latest
        // successful rollback (a rollback at the same instant wins).
        let migrated: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM datasets WHERE last_migrated_us IS NOT NULL \
             AND (last_rollback_us IS NULL OR last_migrated_us > last_rollback_us)",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(MigrationCounts {
            datasets_migrated: migrated as u64,
            attempts: attempts.unwrap_or(0) as u64,
            successes: successes.unwrap_or(0) as u64,
            rollbacks: rollbacks.unwrap_or(0) as u64,
        })
    }

    async fn migration_counts_until(&self, until: OffsetDateTime) -> Result<MigrationCounts> {
        crate::records::migration_counts_until(&self.pool, until).await
    }

    async fn insert_test_run(&self, run: &TestRun, source: Option<&str>) -> Result<i64> {
        crate::records::insert_test_run(&self.pool, run, source).await
    }

    async fn recent_test_runs(&self, per_suite: u32) -> Result<Vec<TestRun>> {
        crate::records::recent_test_runs(&self.pool, per_suite).await
    }

    async fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<u64> {
        crate::records::insert_benchmarks(&self.pool, samples, source, at).await
    }

    async fn latest_benchmarks(&self) -> Result<Vec<BenchmarkSamples>> {
        crate::records::latest_benchmarks(&self.pool).await
    }

    async fn daily_migration_net(&self, from: Date, days: u32) -> Result<Vec<i64>> {
        crate::records::daily_migration_net(&self.pool, from, days).await
    }

    async fn dataset_progress(&self) -> Result<Vec<DatasetProgress>> {
        crate::records::dataset_progress(&self.pool).await
    }

    async fn migrated_datasets(&self) -> Result<Vec<String>> {
        crate::records::migrated_datasets(&self.pool).await
    }

    async fn first_success_by_name(
        &self,
        metric_type: &str,
    ) -> Result<Vec<(String, OffsetDateTime)>> {
        crate::records::first_success_by_name(&self.pool, metric_type).await
    }

    async fn component_windows(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ComponentWindow>> {
        crate::records::component_windows(&self.pool, since, until).await
    }

    async fn operations_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<NewOperation>> {
        crate::records::operations_between(&self.pool, since, until).await
    }

    async fn insert_samples(&self, samples: &[Sample]) -> Result<u64> {
        crate::records::insert_samples(&self.pool, samples).await
    }

    async fn latest_samples(&self, since: OffsetDateTime) -> Result<Vec<Sample>> {
        crate::records::latest_samples(&self.pool, since).await
    }

    async fn datasets(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<Vec<mhd_core::datasets::StoredDataset>> {
        crate::records::datasets(&self.pool, until).await
    }

    async fn migration_days(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<(Vec<mhd_core::history::MigrationDay>, MigrationCounts)> {
        crate::records::migration_days(&self.pool, until).await
    }

    async fn health_state(&self) -> Result<Option<mhd_core::health::HealthState>> {
        crate::records::health_state(&self.pool).await
    }

    async fn save_health_state(&self, state: &mhd_core::health::HealthState) -> Result<()> {
        crate::records::save_health_state(&self.pool, state).await
    }
}
