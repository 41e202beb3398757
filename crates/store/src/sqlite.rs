//! The SQLite backend: one file under the home folder, WAL, writers that wait their turn so
//! that several processes can write at once, and rollups kept in step with every write.
//!
//! Every write transaction is a [`WriteTx`]: it waits for the write lock by trying again every
//! millisecond or so (SQLite's own busy handler backs off to 100 ms between tries and so
//! misses the short gaps between another writer's transactions: a one-row `mhd record` could
//! wait out its whole timeout beside a busy server), and a connection whose transaction
//! failed is closed rather than handed to the next caller still inside it.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mhd_core::dashboard::Bucket;
use mhd_core::operation::kind;
use mhd_core::stats::{
    self, DatasetCounts, DatasetTypeStats, RecentError, StatsSummary, TypeTotals,
};
use mhd_core::{NewOperation, Operation, System};
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, Row, Sqlite, SqlitePool};
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
pub(crate) const COLUMNS: &str = "timestamp_us, metric_type, operation, dataset_name, component, system, \
                       duration_ms, success, row_count, error_message, metadata, import_key, \
                       dataset_id";
pub(crate) const HOUR_US: i64 = 3_600_000_000;
/// How long a write waits for another writer unless `MHD_BUSY_TIMEOUT` says otherwise (see
/// [`crate::busy_timeout`]).
pub(crate) const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Between two tries of a waiting writer: short, so that it takes the lock in the gap between
/// another writer's transactions.
const WRITE_RETRY: Duration = Duration::from_millis(1);

/// SQLite's primary result codes this backend tells apart.
pub(crate) const SQLITE_BUSY: i64 = 5;
pub(crate) const SQLITE_LOCKED: i64 = 6;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
pub(crate) const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;

/// SQLite's primary result code of a database error (the extended code's low byte).
pub(crate) fn primary_code(e: &sqlx::Error) -> Option<i64> {
    match e {
        sqlx::Error::Database(d) if d.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            d.code()?.parse::<i64>().ok().map(|c| c & 0xff)
        }
        _ => None,
    }
}

/// An error of the database in one line: SQLite's message and code, without sqlx's wrapping.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => match d.code() {
            Some(code) => format!("{} (SQLite code {code})", d.message()),
            None => d.message().to_owned(),
        },
        other => other.to_string(),
    }
}

/// The embedded store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// Set when a write failed because of the disk (full, read-only, failing), cleared by the
    /// next write that commits: `/ready` reports the store unhealthy meanwhile.
    writes_failing: Arc<AtomicBool>,
    /// How the pool's connections are opened, for a watcher's connection of its own.
    options: SqliteConnectOptions,
    /// The aggregates' part of recent reads of samples.
    pub(crate) bucket_cache: Arc<crate::retention::BucketCache>,
    /// The origin this handle's writes are counted under in `write_marks`: [`SHARED_ORIGIN`]
    /// until the handle watches the store ([`SqliteStore::change_watcher`]), then one of its
    /// own, so that its watcher can pass its own writes over.
    origin: Arc<OnceLock<Arc<str>>>,
}

/// The origin of the writes of every handle that does not watch the store (commands such as
/// `mhd record` or `mhd ingest`): a watcher needs to tell only its own writes from all others.
pub(crate) const SHARED_ORIGIN: &str = "shared";

/// How long the marks of a watching handle are kept after its last write; older ones are
/// removed when a watcher starts.
const MARKS_KEPT_US: i64 = 7 * 24 * HOUR_US;

/// Notices commits to the store made by other writers — other processes, such as `mhd
/// record` beside a running server, or this process's other handles — and not those of the
/// handle it watches for, which that handle's owner announces itself.
///
/// SQLite's `PRAGMA data_version`, read on a connection of its own, says that some other
/// connection committed, not which. So every write transaction also counts itself in
/// `write_marks` under its handle's origin, and the watcher compares the counts: a commit is
/// another writer's when their counts moved, or when the file changed while the watched
/// handle's own count did not (a writer that does not count itself, such as an older version
/// of this program or the `sqlite3` shell). Both are read in one read transaction, so they
/// describe the same commits.
pub struct DataVersion {
    conn: SqliteConnection,
    origin: Arc<str>,
    seen: Marks,
}

/// What a watcher saw at its last look.
#[derive(Debug, Clone, Copy)]
struct Marks {
    version: i64,
    own: i64,
    others: i64,
}

impl DataVersion {
    /// Whether another writer committed since the last call (or since the watcher was made).
    pub async fn changed(&mut self) -> Result<bool> {
        let now = look(&mut self.conn, &self.origin, Some(self.seen)).await?;
        let before = std::mem::replace(&mut self.seen, now);
        Ok(now.version != before.version && (now.others != before.others || now.own == before.own))
    }
}

/// The file's data version and the write counts of `origin` and of every other origin, as of
/// one read transaction. The counts are read only when the version moved since `seen`:
/// without a commit they cannot have.
async fn look(conn: &mut SqliteConnection, origin: &str, seen: Option<Marks>) -> Result<Marks> {
    let mut tx = conn.begin().await?;
    let version: i64 = sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut *tx)
        .await?;
    if let Some(seen) = seen.filter(|m| m.version == version) {
        tx.commit().await?;
        return Ok(seen);
    }
    let (own, others): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(writes) FILTER (WHERE origin = ?1), 0), \
                coalesce(sum(writes) FILTER (WHERE origin <> ?1), 0) \
         FROM write_marks",
    )
    .bind(origin)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Marks {
        version,
        own,
        others,
    })
}

impl StoreError {
    /// Whether the error comes from the disk under the store rather than from the request: a
    /// full disk, or one that cannot be written.
    pub fn is_storage_fault(&self) -> bool {
        match self {
            StoreError::Full => true,
            StoreError::Db(e) => matches!(
                primary_code(e),
                Some(SQLITE_READONLY | SQLITE_IOERR | SQLITE_CORRUPT | SQLITE_CANTOPEN)
            ),
            _ => false,
        }
    }
}

/// One write transaction on a connection of the pool: `BEGIN IMMEDIATE` once the write lock
/// is free, then `COMMIT` or `ROLLBACK`. Dereferences to the connection, to run statements in
/// it. Dropped without [`WriteTx::commit`] or [`WriteTx::rollback`], or after either failed,
/// it closes its connection, which rolls back whatever SQLite still holds of the transaction;
/// the pool opens a new connection in its place.
///
/// Committing counts the transaction in `write_marks` under the handle's origin (see
/// [`DataVersion`]).
pub struct WriteTx {
    /// Always there but after [`WriteTx::commit_keeping`], which takes it out.
    conn: Option<PoolConnection<Sqlite>>,
    open: bool,
    /// The origin of the handle writing.
    origin: Arc<str>,
    /// The connection's `total_changes()` when the transaction began: a transaction that
    /// changed no row commits nothing and is not counted.
    changes_before: i64,
}

impl WriteTx {
    /// Begins a write transaction of `store`, waiting up to [`crate::busy_timeout`] for other
    /// writers.
    pub async fn begin(store: &SqliteStore) -> Result<WriteTx> {
        let conn = store.pool.acquire().await?;
        WriteTx::begin_on(store.origin(), conn).await
    }

    /// [`WriteTx::begin`] on a connection the caller holds already, of a handle whose writes
    /// are counted under `origin`.
    pub(crate) async fn begin_on(
        origin: Arc<str>,
        mut conn: PoolConnection<Sqlite>,
    ) -> Result<WriteTx> {
        let deadline = tokio::time::Instant::now() + crate::busy_timeout();
        // No waiting inside SQLite while trying: the loop below tries again every millisecond.
        sqlx::query("PRAGMA busy_timeout = 0")
            .execute(&mut *conn)
            .await?;
        let mut tx = WriteTx {
            conn: Some(conn),
            open: false,
            origin,
            changes_before: 0,
        };
        // Once the lock is taken SQLite waits as usual inside the transaction (and for whoever
        // uses the connection next): for a checkpoint or a recovery, which are short. The
        // connection's count of changed rows is taken at the start, to tell at the end whether
        // the transaction changed anything. One round trip for the three.
        let begin = format!(
            "BEGIN IMMEDIATE; PRAGMA busy_timeout = {}; SELECT total_changes()",
            crate::busy_timeout().as_millis()
        );
        loop {
            match sqlx::query(AssertSqlSafe(begin.as_str()))
                .fetch_all(&mut *tx)
                .await
            {
                Ok(rows) => {
                    tx.open = true;
                    tx.changes_before = match rows.last() {
                        Some(row) => row.try_get(0)?,
                        None => 0,
                    };
                    break;
                }
                // Only taking the lock waits for other writers: the transaction did not begin.
                Err(e) if matches!(primary_code(&e), Some(SQLITE_BUSY | SQLITE_LOCKED)) => {
                    if tokio::time::Instant::now() >= deadline {
                        // The connection goes back to the pool as it came.
                        restore_busy_timeout(&mut tx).await?;
                        return Err(e.into());
                    }
                    tokio::time::sleep(WRITE_RETRY).await;
                }
                Err(e) => {
                    // Whether the transaction began is not known: the connection is closed
                    // when the transaction is dropped, never handed on inside one.
                    tx.open = true;
                    return Err(e.into());
                }
            }
        }
        Ok(tx)
    }

    /// Makes the transaction's writes durable and visible.
    pub async fn commit(mut self) -> Result<()> {
        self.mark_and_commit().await
    }

    /// [`WriteTx::commit`], handing the connection back to the caller.
    pub(crate) async fn commit_keeping(mut self) -> Result<PoolConnection<Sqlite>> {
        self.mark_and_commit().await?;
        self.conn
            .take()
            .ok_or(StoreError::Db(sqlx::Error::PoolClosed))
    }

    /// Counts the transaction under its handle's origin when it changed anything, then
    /// commits both.
    async fn mark_and_commit(&mut self) -> Result<()> {
        let origin = Arc::clone(&self.origin);
        // One round trip for both.
        sqlx::query(
            "INSERT INTO write_marks (origin, writes, at_us) \
             SELECT ?1, 1, ?2 WHERE total_changes() > ?3 \
             ON CONFLICT (origin) DO UPDATE SET writes = writes + 1, at_us = excluded.at_us; \
             COMMIT",
        )
        .bind(&*origin)
        .bind(to_us(OffsetDateTime::now_utc()))
        .bind(self.changes_before)
        .execute(&mut **self)
        .await?;
        self.open = false;
        Ok(())
    }

    /// Drops the transaction's writes.
    pub async fn rollback(mut self) -> Result<()> {
        sqlx::query("ROLLBACK").execute(&mut *self).await?;
        self.open = false;
        Ok(())
    }
}

async fn restore_busy_timeout(conn: &mut SqliteConnection) -> Result<()> {
    let sql = format!(
        "PRAGMA busy_timeout = {}",
        crate::busy_timeout().as_millis()
    );
    sqlx::query(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open
            && let Some(conn) = self.conn.as_mut()
        {
            // SQLite may have rolled the transaction back itself (a full disk, a failed
            // `INSERT OR ROLLBACK`) or may still hold it: either way the connection is not
            // handed on, and closing it ends what is left.
            conn.close_on_drop();
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn
            .as_ref()
            .expect("a transaction holds its connection until it ends")
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn
            .as_mut()
            .expect("a transaction holds its connection until it ends")
    }
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
        // A store this user may not write is refused before SQLite opens it: SQLite would leave
        // its `-wal` and `-shm` files beside it, owned by this user and read-only, and every
        // later open would fail on them even once the store is made writable.
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(path)
            && e.kind() == std::io::ErrorKind::PermissionDenied
        {
            return Err(StoreError::File {
                path: shown,
                reason: "this user may not write it (permission denied); mhd writes its store \
                         (to bring its schema up to date and to record what it is given): make \
                         it writable, or work on a copy"
                    .to_owned(),
            });
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // In WAL mode NORMAL keeps every committed transaction through a crash of the
            // process; only a power loss may take the last ones.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(crate::busy_timeout())
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
        // A new store hands the pages retention frees back to the file system. The mode is set
        // only where the file is made: on an existing store the pragma would wait for a writer
        // (and could not change the mode anyway; see `crate::retention`).
        let options = if path.exists() {
            options
        } else {
            options.auto_vacuum(SqliteAutoVacuum::Incremental)
        };
        // Switching a new file to WAL takes a lock that SQLite does not wait for: when several
        // processes create the store at once, the losers try again (for as long as a write
        // would wait for the lock).
        let deadline = std::time::Instant::now() + crate::busy_timeout();
        let pool = loop {
            let connected = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .min_connections(0)
                // A connection still inside a transaction (one whose `ROLLBACK` failed because
                // SQLite had already ended it, say after a full disk) is closed, not reused:
                // every later `BEGIN` on it would fail.
                .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
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
        Ok(SqliteStore {
            pool,
            writes_failing: Arc::new(AtomicBool::new(false)),
            options,
            bucket_cache: Arc::default(),
            origin: Arc::default(),
        })
    }

    /// Runs one write statement in a transaction of its own, counted like every write (see
    /// [`WriteTx`]).
    pub(crate) async fn write_one(
        &self,
        statement: sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<sqlx::sqlite::SqliteQueryResult> {
        let mut tx = WriteTx::begin(self).await?;
        let done = statement.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The origin this handle's writes are counted under.
    pub(crate) fn origin(&self) -> Arc<str> {
        match self.origin.get() {
            Some(own) => Arc::clone(own),
            None => Arc::from(SHARED_ORIGIN),
        }
    }

    /// A watcher of commits made by other writers ([`DataVersion`]). From now on this
    /// handle's writes (and its clones') are counted under an origin of its own; the marks of
    /// watching handles that have not written for a week are removed.
    pub async fn change_watcher(&self) -> Result<DataVersion> {
        use sqlx::ConnectOptions as _;
        static HANDLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let origin = Arc::clone(self.origin.get_or_init(|| {
            let now = OffsetDateTime::now_utc();
            let n = HANDLES.fetch_add(1, Ordering::Relaxed);
            Arc::from(format!("{}-{}-{n}", std::process::id(), to_us(now)))
        }));
        // Best effort: a store that takes no writes now (a full disk) is watched all the same.
        let _ = self
            .write_one(
                sqlx::query("DELETE FROM write_marks WHERE origin <> ? AND at_us < ?")
                    .bind(SHARED_ORIGIN)
                    .bind(to_us(OffsetDateTime::now_utc()) - MARKS_KEPT_US),
            )
            .await;
        let mut conn = self.options.connect().await?;
        let seen = look(&mut conn, &origin, None).await?;
        Ok(DataVersion { conn, origin, seen })
    }

    /// Tries to become the one process that runs the background work on this store (alerts,
    /// collectors, notifications): an exclusive lock on the file `PATH.lead` beside the store,
    /// held while the returned file stays open and released by the system however the process
    /// ends. `None` when another process holds it.
    pub fn try_lead(&self) -> Result<Option<std::fs::File>> {
        let mut path = self.options.get_filename().as_os_str().to_owned();
        path.push(".lead");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                StoreError::Lead(format!("{}: {e}", std::path::Path::new(&path).display()))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Lead(format!(
                "{}: {e}",
                std::path::Path::new(&path).display()
            ))),
        }
    }

    /// Begins a write transaction (see [`WriteTx`]).
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let tx = WriteTx::begin(self).await;
        self.noted(tx)
    }

    /// Passes a write's outcome on, noting whether the disk failed it (see
    /// [`SqliteStore::writes_failing`]).
    pub(crate) fn noted<T>(&self, outcome: Result<T>) -> Result<T> {
        note(&self.writes_failing, &outcome);
        outcome
    }

    /// Whether the last write failed because of the disk (full, read-only, failing) and no
    /// write has committed since.
    pub fn writes_failing(&self) -> bool {
        self.writes_failing.load(Ordering::Relaxed)
    }

    /// Whether the store takes writes: when the last write failed because of the disk, one
    /// small write is tried (and kept: the time of the check, in `collector_state`), so that a
    /// store whose disk has room again is found healthy without waiting for a user's write.
    pub async fn check_writable(&self, now: OffsetDateTime) -> Result<()> {
        if !self.writes_failing() {
            return Ok(());
        }
        let outcome = async {
            let mut tx = WriteTx::begin(self).await?;
            sqlx::query(
                "INSERT INTO collector_state (collector, key, value) VALUES ('mhd', 'write_check', ?) \
                 ON CONFLICT (collector, key) DO UPDATE SET value = excluded.value",
            )
            .bind(mhd_core::format::rfc3339(now))
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        }
        .await;
        self.noted(outcome)
    }

    /// A writer that stores operations in one transaction until [`OperationWriter::commit`]:
    /// bulk loads write in batches and become visible all at once, or not at all.
    pub async fn writer(&self) -> Result<OperationWriter> {
        let tx = self.begin_write().await?;
        Ok(OperationWriter {
            tx,
            writes_failing: self.writes_failing.clone(),
            deltas: Deltas::default(),
            dataset_ids: HashMap::new(),
            written: 0,
        })
    }

    /// The pool, for the store package's own tests and benchmarks (which check the SQL
    /// behind the traits); nothing outside the package uses it.
    #[doc(hidden)]
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

/// Sets or clears the "writes failing" flag from a write's outcome: a disk fault sets it, a
/// success clears it, anything else (a busy store, an invalid record) says nothing of the disk.
pub(crate) fn note<T>(flag: &AtomicBool, outcome: &Result<T>) {
    match outcome {
        Ok(_) => flag.store(false, Ordering::Relaxed),
        Err(e) if e.is_storage_fault() => flag.store(true, Ordering::Relaxed),
        Err(_) => {}
    }
}

/// What stored operations add to the per-hour rollups and to the dataset table, counted as
/// they are written and applied in the same transaction.
#[derive(Debug, Default)]
pub(crate) struct Deltas {
    /// Per metric type, per hour.
    pub(crate) rollups: HashMap<String, HashMap<i64, TypeTotals>>,
    pub(crate) datasets: HashMap<String, DatasetDelta>,
    /// Migration attempts and rollbacks per (UTC day, component or ""), all and successful.
    pub(crate) migration_days: HashMap<(i64, String), DayCounts>,
    /// Operations per (hour, component, system): count, failures, durations.
    pub(crate) components: HashMap<(i64, String, System), HourCounts>,
}

#[derive(Debug, Clone)]
pub(crate) struct DatasetDelta {
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) registered: bool,
    pub(crate) last_migrated: Option<i64>,
    pub(crate) last_rollback: Option<i64>,
    pub(crate) last_started: Option<i64>,
    /// The latest attempt and whether it succeeded (a success wins a tie).
    pub(crate) last_attempt: Option<(i64, bool)>,
    /// The latest verification and whether it passed (a pass wins a tie).
    pub(crate) last_verified: Option<(i64, bool)>,
    /// The type of the operation at `last`.
    pub(crate) last_type: String,
    /// The latest component named for the dataset in this writer's operations.
    pub(crate) component: Option<String>,
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
pub(crate) struct HourCounts {
    pub(crate) count: i64,
    pub(crate) failures: i64,
    pub(crate) durations: mhd_core::sketch::Histogram,
}

/// One day's migration attempts and rollbacks of one component.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DayCounts {
    pub(crate) attempts: i64,
    pub(crate) migrations: i64,
    pub(crate) rollback_ops: i64,
    pub(crate) rollbacks: i64,
}

impl Deltas {
    pub(crate) fn count(&mut self, op: &NewOperation) {
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

    /// Brings the rollups and the dataset table in step, inside the caller's transaction:
    /// many rows per statement, since a bulk load's every chunk touches hundreds of each.
    async fn apply(&self, conn: &mut SqliteConnection) -> Result<()> {
        // Collected first: a lazy iterator of closures held across the awaits below would make
        // this future not `Send`.
        let mut rollups: Vec<(i64, &str, &TypeTotals)> = Vec::new();
        for (ty, hours) in &self.rollups {
            rollups.extend(hours.iter().map(|(h, t)| (*h, ty.as_str(), t)));
        }
        for part in rollups.chunks(UPSERT_CHUNK) {
            let mut sql = String::from(
                "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
                 success_duration_sum, success_duration_count) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; part.len()].join(","));
            sql.push_str(
                " ON CONFLICT (hour, metric_type) DO UPDATE SET \
                 count = count + excluded.count, \
                 success_count = success_count + excluded.success_count, \
                 success_duration_sum = success_duration_sum + excluded.success_duration_sum, \
                 success_duration_count = success_duration_count + excluded.success_duration_count",
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (hour, metric_type, t) in part {
                q = q
                    .bind(*hour)
                    .bind(metric_type.to_string())
                    .bind(t.count as i64)
                    .bind(t.success_count as i64)
                    .bind(t.success_duration_sum)
                    .bind(t.success_duration_count as i64);
            }
            q.execute(&mut *conn).await?;
        }
        for ((hour, component, system), c) in &self.components {
            let stored: Option<Option<Vec<u8>>> = sqlx::query_scalar(
                "SELECT durations FROM component_rollup WHERE hour = ? AND component = ? AND system = ?",
            )
            .bind(hour)
            .bind(component)
            .bind(system.as_str())
            .fetch_optional(&mut *conn)
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
            .execute(&mut *conn)
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
            .execute(&mut *conn)
            .await?;
        }
        let datasets: Vec<(&String, &DatasetDelta)> = self.datasets.iter().collect();
        for part in datasets.chunks(UPSERT_CHUNK) {
            // A (time, flag) mark replaces the stored one when it is later, or as late and a
            // success; `last_type` follows `last_seen_us` the same way.
            let mut sql = String::from(
                "INSERT INTO datasets (name, first_seen_us, last_seen_us, registered, \
                 last_migrated_us, last_rollback_us, component, last_started_us, \
                 last_attempt_us, last_attempt_ok, last_verified_us, last_verified_ok, last_type) \
                 VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; part.len()].join(","));
            sql.push_str(
                " ON CONFLICT (name) DO UPDATE SET \
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
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (name, d) in part {
                q = q
                    .bind(name.to_string())
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
                    .bind(d.last_type.clone());
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// Rows per multi-row upsert of rollups or datasets: 1,000 rows × 13 columns stays below
/// SQLite's limit of 32766 variables.
const UPSERT_CHUNK: usize = 1000;

/// Dataset names and their ids, as committed: kept by a caller that stores many transactions
/// (an ingest's chunks) so that each looks up only the names it meets the first time.
#[derive(Debug, Clone, Default)]
pub struct DatasetIds(pub(crate) HashMap<String, i64>);

/// Stores operations inside one open transaction; see [`SqliteStore::writer`].
pub struct OperationWriter {
    pub(crate) tx: WriteTx,
    writes_failing: Arc<AtomicBool>,
    deltas: Deltas,
    /// Ids of the dataset names this writer has met.
    dataset_ids: HashMap<String, i64>,
    written: u64,
}

impl OperationWriter {
    /// Validates and writes a batch; a batch with an invalid operation writes nothing.
    pub async fn write(&mut self, ops: &[NewOperation]) -> Result<()> {
        self.write_noted(ops, None).await
    }

    /// [`OperationWriter::write`] of operations already checked, with what they add to the
    /// rollups already counted (an import's batch, made ready beside the store's work).
    pub(crate) async fn write_counted(
        &mut self,
        ops: &[NewOperation],
        deltas: Deltas,
    ) -> Result<()> {
        self.write_noted(ops, Some(deltas)).await
    }

    async fn write_noted(&mut self, ops: &[NewOperation], counted: Option<Deltas>) -> Result<()> {
        let outcome = self.write_batch(ops, counted).await;
        if let Err(e) = &outcome
            && e.is_storage_fault()
        {
            self.writes_failing.store(true, Ordering::Relaxed);
        }
        outcome
    }

    async fn write_batch(&mut self, ops: &[NewOperation], counted: Option<Deltas>) -> Result<()> {
        if counted.is_none() {
            validate_all(ops)?;
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
        match counted {
            // Nothing counted before: the batch's count is the writer's.
            Some(deltas) if self.written == 0 => self.deltas = deltas,
            _ => {
                for op in ops {
                    self.deltas.count(op);
                }
            }
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

    /// Operations written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Makes everything written durable and visible, with the rollups brought in step.
    pub async fn commit(self) -> Result<u64> {
        let flag = self.writes_failing.clone();
        let outcome = self.finish().await.map(|(n, _)| n);
        note(&flag, &outcome);
        outcome
    }

    /// Commits, returning the count written and the dataset ids met (now committed).
    async fn finish(mut self) -> Result<(u64, HashMap<String, i64>)> {
        self.deltas.apply(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok((self.written, self.dataset_ids))
    }

    /// Drops everything written: nothing of it is stored.
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// Checks every operation of a batch, naming the first invalid one by its index.
pub(crate) fn validate_all(ops: &[NewOperation]) -> Result<()> {
    for (index, op) in ops.iter().enumerate() {
        op.validate()
            .map_err(|source| StoreError::Invalid { index, source })?;
    }
    Ok(())
}

/// One chunk of an input given to `mhd ingest operations`: `records` records (lines, or
/// elements of an array) whose bytes, chained after the chunk `prev` (empty for an input's
/// first), hash to `key`. See the `ingested_chunks` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// SHA-256 of `prev` and the chunk's bytes, in hex.
    pub key: String,
    /// The key of the chunk before it; empty for the first.
    pub prev: String,
    /// Records of the input it covers, valid or not.
    pub records: u64,
}

/// Remembers a chunk in the caller's transaction; false when it was remembered already.
async fn remember_chunk(
    conn: &mut SqliteConnection,
    chunk: &Chunk,
    stored: u64,
    source: &str,
    at: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO ingested_chunks (key, prev, records, stored, source, at_us) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
    )
    .bind(chunk.key.clone())
    .bind(chunk.prev.clone())
    .bind(chunk.records as i64)
    .bind(stored as i64)
    .bind(source.to_owned())
    .bind(to_us(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl SqliteStore {
    /// Every remembered chunk as `(records, key)`, listed under the key of the chunk before it.
    pub async fn ingested_chunks(&self) -> Result<HashMap<String, Vec<(u64, String)>>> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT prev, records, key FROM ingested_chunks ORDER BY prev, records")
                .fetch_all(&self.pool)
                .await?;
        let mut out: HashMap<String, Vec<(u64, String)>> = HashMap::new();
        for (prev, records, key) in rows {
            out.entry(prev).or_default().push((records as u64, key));
        }
        Ok(out)
    }

    /// Stores one chunk's valid operations and remembers the chunk, in one transaction of its
    /// own. Returns `None`, storing nothing, when the chunk is remembered already (another
    /// ingest of the same input stored it meanwhile) unless `again` says to store it anyway.
    /// `ids` carries the dataset ids committed by earlier chunks and gains this one's.
    pub async fn insert_chunk(
        &self,
        chunk: &Chunk,
        ops: &[NewOperation],
        source: &str,
        at: OffsetDateTime,
        again: bool,
        ids: &mut DatasetIds,
    ) -> Result<Option<u64>> {
        let mut w = self.writer().await?;
        // A bulk load checkpoints the write-ahead log every 40 MB rather than every 4 MB (each
        // chunk would otherwise copy its pages into the store, and sync it, on commit).
        sqlx::query("PRAGMA wal_autocheckpoint = 10000")
            .execute(&mut *w.tx)
            .await?;
        w.dataset_ids.clone_from(&ids.0);
        let fresh = match remember_chunk(&mut w.tx, chunk, ops.len() as u64, source, at).await {
            Ok(fresh) => fresh,
            Err(e) => return self.noted(Err(e)),
        };
        if !fresh && !again {
            w.rollback().await?;
            return Ok(None);
        }
        w.write(ops).await?;
        let flag = w.writes_failing.clone();
        let outcome = w.finish().await;
        note(&flag, &outcome);
        let (n, met) = outcome?;
        ids.0 = met;
        Ok(Some(n))
    }

    /// Starts staging operations for an all-or-nothing ingest (see [`Staging`]).
    pub async fn stage(&self) -> Result<Staging> {
        let mut conn = self.pool.acquire().await?;
        // The staged rows may be many: in a temporary file (deleted by the system when the
        // process ends, however it ends), not in memory.
        sqlx::query("PRAGMA temp_store = FILE")
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "CREATE TEMP TABLE staged_operations (timestamp_us INTEGER, metric_type TEXT, \
             operation TEXT, dataset_name TEXT, component TEXT, system TEXT, duration_ms REAL, \
             success INTEGER, row_count INTEGER, error_message TEXT, metadata TEXT, \
             import_key TEXT)",
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        Ok(Staging {
            conn: Some(conn),
            deltas: Deltas::default(),
            chunks: Vec::new(),
            staged: 0,
            writes_failing: self.writes_failing.clone(),
            origin: self.origin(),
        })
    }
}

/// Operations set aside until all of an input has been read, then stored at once by
/// [`Staging::publish`] — or not at all: dropped or discarded, or when the process dies
/// before publishing, nothing of them is stored. Staging takes no lock on the store, so
/// others write meanwhile; only the publishing transaction holds it, while it copies.
pub struct Staging {
    /// The connection holding the temporary table; `None` once published.
    conn: Option<PoolConnection<Sqlite>>,
    deltas: Deltas,
    chunks: Vec<(Chunk, u64)>,
    staged: u64,
    writes_failing: Arc<AtomicBool>,
    /// The origin of the handle staging, which the publishing transaction is counted under.
    origin: Arc<str>,
}

impl Staging {
    /// Sets aside one chunk's valid operations; a batch with an invalid operation sets aside
    /// nothing.
    pub async fn add(&mut self, chunk: &Chunk, ops: &[NewOperation]) -> Result<()> {
        validate_all(ops)?;
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        for part in ops.chunks(STAGE_CHUNK) {
            stage_statement(part).execute(&mut **conn).await?;
        }
        for op in ops {
            self.deltas.count(op);
        }
        self.staged += ops.len() as u64;
        self.chunks.push((chunk.clone(), ops.len() as u64));
        Ok(())
    }

    /// Operations set aside so far.
    pub fn staged(&self) -> u64 {
        self.staged
    }

    /// Stores everything set aside in one transaction, with the chunks remembered. Fails,
    /// storing nothing, when another ingest stored one of the chunks meanwhile.
    pub async fn publish(mut self, source: &str, at: OffsetDateTime) -> Result<u64> {
        let outcome = self.publish_all(source, at).await;
        note(&self.writes_failing, &outcome);
        outcome
    }

    async fn publish_all(&mut self, source: &str, at: OffsetDateTime) -> Result<u64> {
        let Some(mut conn) = self.conn.take() else {
            return Ok(0);
        };
        sqlx::query("COMMIT").execute(&mut *conn).await?;
        let mut tx = WriteTx::begin_on(Arc::clone(&self.origin), conn).await?;
        sqlx::query(
            "INSERT INTO dataset_ids (name) SELECT DISTINCT dataset_name \
             FROM temp.staged_operations WHERE dataset_name IS NOT NULL \
             ON CONFLICT (name) DO NOTHING",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "INSERT OR ROLLBACK INTO operations ({COLUMNS}) \
             SELECT s.timestamp_us, s.metric_type, s.operation, s.dataset_name, s.component, \
             s.system, s.duration_ms, s.success, s.row_count, s.error_message, s.metadata, \
             s.import_key, d.id FROM temp.staged_operations s \
             LEFT JOIN dataset_ids d ON d.name = s.dataset_name ORDER BY s.rowid"
        )))
        .execute(&mut *tx)
        .await?;
        self.deltas.apply(&mut tx).await?;
        for (chunk, stored) in &self.chunks {
            if !remember_chunk(&mut tx, chunk, *stored, source, at).await? {
                return Err(StoreError::Concurrent);
            }
        }
        sqlx::query("DROP TABLE temp.staged_operations")
            .execute(&mut *tx)
            .await?;
        let mut conn = tx.commit_keeping().await?;
        sqlx::query("PRAGMA temp_store = MEMORY")
            .execute(&mut *conn)
            .await?;
        Ok(self.staged)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Not published: closing the connection drops the temporary table and its file.
        if let Some(conn) = self.conn.as_mut() {
            conn.close_on_drop();
        }
    }
}

/// Rows per multi-row INSERT into the staging table: 2048 rows × 12 columns stays below
/// SQLite's limit of 32766 variables.
const STAGE_CHUNK: usize = 2048;

fn stage_statement(
    part: &[NewOperation],
) -> sqlx::query::Query<'static, Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut sql = String::from("INSERT INTO temp.staged_operations VALUES ");
    sql.push_str(&vec!["(?,?,?,?,?,?,?,?,?,?,?,?)"; part.len()].join(","));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for op in part {
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
            .bind(op.import_key.clone());
    }
    q
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
        crate::import::import_operations(self, ops).await
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
        if f.until.is_some() {
            sql.push_str(" AND timestamp_us < ?");
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
        if let Some(u) = f.until {
            q = q.bind(to_us(u));
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
        let mut tx = self.begin_write().await?;
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
        self.noted(crate::records::insert_test_run(self, run, source).await)
    }

    async fn recent_test_runs(&self, per_suite: u32) -> Result<Vec<TestRun>> {
        crate::records::recent_test_runs(&self.pool, per_suite, None, None).await
    }

    async fn test_runs_between(
        &self,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
        per_suite: u32,
    ) -> Result<Vec<TestRun>> {
        crate::records::recent_test_runs(&self.pool, per_suite, since, until).await
    }

    async fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<u64> {
        self.noted(crate::records::insert_benchmarks(self, samples, source, at).await)
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
        self.noted(crate::records::insert_samples(self, samples).await)
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
        crate::records::save_health_state(self, state).await
    }
}
