//! The store a command or the server opens: one backend, chosen by the scheme of its URL and
//! dispatched statically. Everything outside this crate asks [`Database`] through the storage
//! traits ([`Store`], [`AlertStore`], [`Outbox`], [`AuthStore`], [`SessionStore`],
//! [`AuditStore`], [`CollectorStore`], [`HistoryStore`]) and never names a backend, a pool or
//! SQL.
//!
//! A URL is `sqlite:PATH`, `sqlite://PATH` (`sqlite:///abs/path` for an absolute path), or a
//! plain path, which is a SQLite file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mhd_core::NewOperation;
use mhd_core::alerts::{Acknowledgement, Alert, DatasetEvent, Silence, Transition};
use mhd_core::auth::Role;
use time::OffsetDateTime;

#[allow(clippy::wildcard_imports)]
use crate::alerts::*;
#[allow(clippy::wildcard_imports)]
use crate::audit::*;
#[allow(clippy::wildcard_imports)]
use crate::auth::*;
#[allow(clippy::wildcard_imports)]
use crate::collect::*;
#[allow(clippy::wildcard_imports)]
use crate::history::*;
use crate::import::ImportBatch;
#[allow(clippy::wildcard_imports)]
use crate::outbox::*;
use crate::postgres::{PgChunkIngest, PgStaging, PgStore};
use crate::retention::RetentionStore as _;
#[allow(clippy::wildcard_imports)]
use crate::sessions::*;
use crate::sqlite::{Chunk, DatasetIds, OperationWriter, SqliteStore};
use crate::watch::{ChangeWatcher, Lease};
#[allow(clippy::wildcard_imports)]
use crate::*;

/// Where a store is: what a database URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database: its URL.
    Postgres(String),
}

impl Location {
    /// Reads a database URL (see the module's documentation); the error says what is wrong
    /// with it, naming it.
    pub fn parse(url: &str) -> std::result::Result<Location, StoreError> {
        let bad = |reason: &str| StoreError::Url {
            url: redact(url),
            reason: reason.to_string(),
        };
        let url_trimmed = url.trim();
        if url_trimmed.is_empty() {
            return Err(bad("it is empty"));
        }
        if let Some(rest) = url_trimmed.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(bad(
                    "a sqlite: URL needs a file path, as in sqlite:/data/mhd.db",
                ));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url_trimmed.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            return match scheme.as_str() {
                "postgres" | "postgresql" => {
                    let _: sqlx::postgres::PgConnectOptions = url_trimmed
                        .parse()
                        .map_err(|e| bad(&format!("it is not a PostgreSQL URL: {e}")))?;
                    Ok(Location::Postgres(url_trimmed.to_owned()))
                }
                _ => Err(bad(&format!(
                    "the scheme {scheme}:// is not one mhd stores data in; use a path, \
                     sqlite:PATH or postgres://…"
                ))),
            };
        }
        Ok(Location::Sqlite(PathBuf::from(url_trimmed)))
    }

    /// How the location is shown in messages (never with a password).
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A URL as it may be shown: the password of `scheme://user:password@host` replaced by `***`.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((creds, host)) = rest.split_once('@')
        && let Some((user, _)) = creds.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

/// An input's chunks stored one after another, each in a transaction of its own with its
/// remembrance (see [`Database::insert_chunk`]); on PostgreSQL the next chunk is copied in
/// while the one before commits (see [`PgChunkIngest`]).
pub enum ChunkIngest {
    /// One chunk after the other.
    Sqlite(Box<SqliteChunkIngest>),
    /// Two chunks in flight.
    Postgres(Box<PgChunkIngest>),
}

/// [`ChunkIngest`] on SQLite: each chunk stored by [`SqliteStore::insert_chunk`].
pub struct SqliteChunkIngest {
    store: SqliteStore,
    /// Names the input in the chunks' remembrance.
    source: String,
    /// When the ingest runs.
    at: OffsetDateTime,
    /// Whether chunks remembered already are stored again.
    again: bool,
    /// The dataset ids of the chunks stored so far.
    ids: DatasetIds,
    /// Operations stored so far.
    stored: u64,
}

impl ChunkIngest {
    /// Stores one chunk's valid operations and remembers the chunk (nothing when it is
    /// remembered already and `again` is not set); on PostgreSQL it is committed by the next
    /// call or by [`ChunkIngest::finish`].
    pub async fn add(&mut self, chunk: &Chunk, ops: &[NewOperation]) -> Result<()> {
        match self {
            ChunkIngest::Sqlite(s) => {
                let n = s
                    .store
                    .insert_chunk(chunk, ops, &s.source, s.at, s.again, &mut s.ids)
                    .await?;
                s.stored += n.unwrap_or(0);
                Ok(())
            }
            ChunkIngest::Postgres(p) => p.add(chunk, ops).await,
        }
    }

    /// Commits what is not committed yet; returns the operations stored by the whole ingest.
    pub async fn finish(&mut self) -> Result<u64> {
        match self {
            ChunkIngest::Sqlite(s) => Ok(s.stored),
            ChunkIngest::Postgres(p) => p.finish().await,
        }
    }

    /// Operations committed so far.
    pub fn stored(&self) -> u64 {
        match self {
            ChunkIngest::Sqlite(s) => s.stored,
            ChunkIngest::Postgres(p) => p.stored(),
        }
    }
}

/// Operations set aside until all of an input has been read, then stored at once by
/// [`Staging::publish`] — or not at all (see each backend's).
pub enum Staging {
    /// In a SQLite store's temporary table.
    Sqlite(crate::sqlite::Staging),
    /// In a PostgreSQL transaction.
    Postgres(PgStaging),
}

impl Staging {
    /// Sets aside one chunk's valid operations; a batch with an invalid operation sets aside
    /// nothing.
    pub async fn add(&mut self, chunk: &Chunk, ops: &[NewOperation]) -> Result<()> {
        match self {
            Staging::Sqlite(s) => s.add(chunk, ops).await,
            Staging::Postgres(s) => s.add(chunk, ops).await,
        }
    }

    /// Operations set aside so far.
    pub fn staged(&self) -> u64 {
        match self {
            Staging::Sqlite(s) => s.staged(),
            Staging::Postgres(s) => s.staged(),
        }
    }

    /// Stores everything set aside in one transaction, with the chunks remembered; fails,
    /// storing nothing, when another ingest stored one of the chunks meanwhile.
    pub async fn publish(self, source: &str, at: OffsetDateTime) -> Result<u64> {
        match self {
            Staging::Sqlite(s) => s.publish(source, at).await,
            Staging::Postgres(s) => s.publish(source, at).await,
        }
    }
}

/// A test run stored while its reports are read: nothing of it is visible before
/// [`TestRunWriter::finish`], and dropped without it, nothing of it is kept.
pub enum TestRunWriter {
    /// On SQLite.
    Sqlite(crate::testruns::TestRunWriter),
    /// On PostgreSQL.
    Postgres(crate::postgres::PgTestRunWriter),
}

impl TestRunWriter {
    /// Writes the next cases of the run; a case out of the store's limits is refused with its
    /// index in the whole run (the run is then to be dropped).
    pub async fn add(&mut self, cases: &[mhd_core::testrun::TestCase]) -> Result<()> {
        match self {
            TestRunWriter::Sqlite(w) => w.add(cases).await,
            TestRunWriter::Postgres(w) => w.add(cases).await,
        }
    }

    /// Sets the run's time and totals and commits it; `report_time` is the reports' own
    /// duration.
    pub async fn finish(
        self,
        run_at: OffsetDateTime,
        report_time: Option<f64>,
    ) -> Result<crate::testruns::StoredRun> {
        match self {
            TestRunWriter::Sqlite(w) => w.finish(run_at, report_time).await,
            TestRunWriter::Postgres(w) => w.finish(run_at, report_time).await,
        }
    }
}

/// An open store: one of the backends.
#[derive(Clone)]
pub enum Database {
    /// A SQLite file (the embedded default).
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(_) => f.write_str("Database::Sqlite"),
            Database::Postgres(_) => f.write_str("Database::Postgres"),
        }
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Database::Sqlite($s) => $e,
            Database::Postgres($s) => $e,
        }
    };
}

impl Database {
    /// Opens (creating when missing, and upgrading in place) the store at a database URL, with
    /// at most `max_connections` connections.
    pub async fn open(url: &str, max_connections: u32) -> Result<Database> {
        Database::open_at(&Location::parse(url)?, max_connections).await
    }

    /// Opens the store at a location (see [`Database::open`]).
    pub async fn open_at(location: &Location, max_connections: u32) -> Result<Database> {
        match location {
            Location::Sqlite(path) => Database::open_file(path, max_connections).await,
            Location::Postgres(url) => Ok(Database::Postgres(
                PgStore::open(url, &redact(url), max_connections).await?,
            )),
        }
    }

    /// Opens a SQLite store file (see [`Database::open`]).
    pub async fn open_file(path: &Path, max_connections: u32) -> Result<Database> {
        Ok(Database::Sqlite(
            SqliteStore::open(path, max_connections).await?,
        ))
    }

    /// Whether the last write failed because of the disk and none has committed since.
    pub fn writes_failing(&self) -> bool {
        each!(self, s => s.writes_failing())
    }

    /// Whether the store takes writes (a small write is tried when the last one failed).
    pub async fn check_writable(&self, now: OffsetDateTime) -> Result<()> {
        each!(self, s => s.check_writable(now).await)
    }

    /// A watcher of commits made through other connections or processes.
    pub async fn change_watcher(&self) -> Result<ChangeWatcher> {
        match self {
            Database::Sqlite(s) => Ok(ChangeWatcher::Sqlite(s.change_watcher().await?)),
            Database::Postgres(s) => s.change_watcher().await,
        }
    }

    /// Tries to become the one process that runs the background work on this store (see
    /// [`Lease`]): `None` while another holds it.
    pub async fn try_lead(&self) -> Result<Option<Lease>> {
        match self {
            Database::Sqlite(s) => Ok(s.try_lead()?.map(Lease::Sqlite)),
            Database::Postgres(s) => s.try_lead().await,
        }
    }

    /// Stores the operations of several requests in one transaction: all of them, or none when
    /// one breaks a rule. Returns how many were stored.
    pub async fn insert_operation_groups(&self, groups: &[&[NewOperation]]) -> Result<u64> {
        let s = match self {
            Database::Sqlite(s) => s,
            Database::Postgres(p) => return p.insert_operation_groups(groups).await,
        };
        let mut writer: OperationWriter = s.writer().await?;
        for ops in groups {
            if let Err(e) = writer.write(ops).await {
                let _ = writer.rollback().await;
                return Err(e);
            }
        }
        writer.commit().await
    }

    /// The chunks of inputs already ingested, by the key of the chunk before each.
    pub async fn ingested_chunks(&self) -> Result<HashMap<String, Vec<(u64, String)>>> {
        each!(self, s => s.ingested_chunks().await)
    }

    /// Stores one chunk of an input and remembers it, in one transaction (`None` when it was
    /// stored already and `again` is not set); `ids` carries the dataset ids of earlier chunks.
    pub async fn insert_chunk(
        &self,
        chunk: &Chunk,
        ops: &[NewOperation],
        source: &str,
        at: OffsetDateTime,
        again: bool,
        ids: &mut DatasetIds,
    ) -> Result<Option<u64>> {
        each!(self, s => s.insert_chunk(chunk, ops, source, at, again, ids).await)
    }

    /// Starts storing the chunks of the input named `source` (see [`ChunkIngest`]). On
    /// PostgreSQL it uses two of the store's connections.
    pub fn chunk_ingest(&self, source: &str, at: OffsetDateTime, again: bool) -> ChunkIngest {
        match self {
            Database::Sqlite(s) => ChunkIngest::Sqlite(Box::new(SqliteChunkIngest {
                store: s.clone(),
                source: source.to_owned(),
                at,
                again,
                ids: DatasetIds::default(),
                stored: 0,
            })),
            Database::Postgres(p) => {
                ChunkIngest::Postgres(Box::new(p.chunk_ingest(source, at, again)))
            }
        }
    }

    /// A staging area for a whole input published at once (`ingest --strict`).
    pub async fn stage(&self) -> Result<Staging> {
        Ok(match self {
            Database::Sqlite(s) => Staging::Sqlite(s.stage().await?),
            Database::Postgres(s) => Staging::Postgres(s.stage().await?),
        })
    }

    /// [`Store::import_operations`] of a batch made ready beforehand ([`ImportBatch::prepare`],
    /// which an import runs beside the store's work on the batch before). The operations come
    /// back with the outcome (those left are the ones stored, their keys narrowed), for the
    /// caller to drop or reuse: an import frees each batch on the thread that made it.
    pub async fn import_batch(
        &self,
        mut batch: ImportBatch,
    ) -> (Result<ImportOutcome>, Vec<NewOperation>) {
        let outcome = match self {
            Database::Sqlite(s) => s.import_prepared(&mut batch).await,
            Database::Postgres(s) => s.import_prepared(&mut batch).await,
        };
        (outcome, batch.into_operations())
    }

    /// Starts writing a test run whose cases come in batches (see [`TestRunWriter`]).
    pub async fn test_run_writer(
        &self,
        suite: &str,
        phase: Option<&str>,
        component: Option<&str>,
        source: Option<&str>,
    ) -> Result<TestRunWriter> {
        Ok(match self {
            Database::Sqlite(s) => {
                TestRunWriter::Sqlite(s.test_run_writer(suite, phase, component, source).await?)
            }
            Database::Postgres(s) => {
                TestRunWriter::Postgres(s.test_run_writer(suite, phase, component, source).await?)
            }
        })
    }

    /// Runs one retention pass as of `now` (see [`crate::retention`]).
    pub async fn run_retention(
        &self,
        settings: &mhd_core::plan::RetentionSettings,
        now: OffsetDateTime,
    ) -> Result<crate::retention::RetentionReport> {
        each!(self, s => s.run_retention(settings, now).await)
    }

    /// Rewrites a SQLite store once so that it hands the pages freed by pruning back to the
    /// file system from then on; whether it did (nothing to do on PostgreSQL, whose autovacuum
    /// makes the space reusable).
    pub async fn vacuum_into_incremental(&self) -> Result<bool> {
        match self {
            Database::Sqlite(s) => s.vacuum_into_incremental().await.map(|()| true),
            Database::Postgres(_) => Ok(false),
        }
    }

    /// The samples of `metrics` in `[since, until)` per series and bucket (see
    /// [`crate::retention::Resolution`] for where they are read from).
    pub async fn sample_buckets(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket: time::Duration,
        resolution: crate::retention::Resolution,
    ) -> Result<Vec<crate::retention::SampleBucket>> {
        each!(self, s => s.sample_buckets(metrics, since, until, bucket, resolution).await)
    }

    /// Each series of `metric` over `[since, until)`: min, max, mean, count and p95 (see
    /// [`crate::retention::RetentionStore::sample_stats`]).
    pub async fn sample_stats(
        &self,
        metric: &str,
        since: OffsetDateTime,
        until: OffsetDateTime,
        resolution: crate::retention::Resolution,
    ) -> Result<Vec<crate::retention::SampleStats>> {
        each!(self, s => s.sample_stats(metric, since, until, resolution).await)
    }

    /// The metrics with samples at or after `since` (see
    /// [`crate::retention::RetentionStore::sample_metrics`]).
    pub async fn sample_metrics(&self, since: OffsetDateTime) -> Result<Vec<String>> {
        each!(self, s => s.sample_metrics(since).await)
    }

    /// Ends a short-lived process's use of the store without the work of closing it (see the
    /// backend's documentation).
    pub fn release(self) {
        match self {
            Database::Sqlite(s) => s.leave_open(),
            // Nothing to spare: the connection ends with the process.
            Database::Postgres(_) => {}
        }
    }

    /// Closes the store, waiting for its connections to finish.
    pub async fn close(&self) {
        each!(self, s => s.close().await)
    }
}

impl Store for Database {
    async fn insert_operations(&self, ops: &[NewOperation]) -> Result<u64> {
        each!(self, s => s.insert_operations(ops).await)
    }
    async fn import_operations(&self, ops: &[NewOperation]) -> Result<ImportOutcome> {
        each!(self, s => s.import_operations(ops).await)
    }
    async fn recent_operations(&self, filter: &OperationFilter) -> Result<Vec<Operation>> {
        each!(self, s => s.recent_operations(filter).await)
    }
    async fn stats_summary(&self) -> Result<StatsSummary> {
        each!(self, s => s.stats_summary().await)
    }
    async fn dataset_stats(&self, dataset: &str) -> Result<Vec<DatasetTypeStats>> {
        each!(self, s => s.dataset_stats(dataset).await)
    }
    async fn count_before(&self, cutoff: OffsetDateTime) -> Result<u64> {
        each!(self, s => s.count_before(cutoff).await)
    }
    async fn delete_before(&self, cutoff: OffsetDateTime) -> Result<u64> {
        each!(self, s => s.delete_before(cutoff).await)
    }
    async fn operations_over_time(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket_seconds: i64,
    ) -> Result<Vec<Bucket>> {
        each!(self, s => s.operations_over_time(since, until, bucket_seconds).await)
    }
    async fn first_operation_at(&self) -> Result<Option<OffsetDateTime>> {
        each!(self, s => s.first_operation_at().await)
    }
    async fn migration_counts(&self) -> Result<MigrationCounts> {
        each!(self, s => s.migration_counts().await)
    }
    async fn migration_counts_until(&self, until: OffsetDateTime) -> Result<MigrationCounts> {
        each!(self, s => s.migration_counts_until(until).await)
    }
    async fn insert_test_run(&self, run: &TestRun, source: Option<&str>) -> Result<i64> {
        each!(self, s => s.insert_test_run(run, source).await)
    }
    async fn recent_test_runs(&self, per_suite: u32) -> Result<Vec<TestRun>> {
        each!(self, s => s.recent_test_runs(per_suite).await)
    }
    async fn test_runs_between(
        &self,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
        per_suite: u32,
    ) -> Result<Vec<TestRun>> {
        each!(self, s => s.test_runs_between(since, until, per_suite).await)
    }
    async fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<u64> {
        each!(self, s => s.insert_benchmarks(samples, source, at).await)
    }
    async fn latest_benchmarks(&self) -> Result<Vec<BenchmarkSamples>> {
        each!(self, s => s.latest_benchmarks().await)
    }
    async fn daily_migration_net(&self, from: Date, days: u32) -> Result<Vec<i64>> {
        each!(self, s => s.daily_migration_net(from, days).await)
    }
    async fn dataset_progress(&self) -> Result<Vec<DatasetProgress>> {
        each!(self, s => s.dataset_progress().await)
    }
    async fn migrated_datasets(&self) -> Result<Vec<String>> {
        each!(self, s => s.migrated_datasets().await)
    }
    async fn first_success_by_name(
        &self,
        metric_type: &str,
    ) -> Result<Vec<(String, OffsetDateTime)>> {
        each!(self, s => s.first_success_by_name(metric_type).await)
    }
    async fn component_windows(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ComponentWindow>> {
        each!(self, s => s.component_windows(since, until).await)
    }
    async fn operations_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<NewOperation>> {
        each!(self, s => s.operations_between(since, until).await)
    }
    async fn insert_samples(&self, samples: &[Sample]) -> Result<u64> {
        each!(self, s => s.insert_samples(samples).await)
    }
    async fn latest_samples(&self, since: OffsetDateTime) -> Result<Vec<Sample>> {
        each!(self, s => s.latest_samples(since).await)
    }
    async fn datasets(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<Vec<mhd_core::datasets::StoredDataset>> {
        each!(self, s => s.datasets(until).await)
    }
    async fn migration_days(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<(Vec<mhd_core::history::MigrationDay>, MigrationCounts)> {
        each!(self, s => s.migration_days(until).await)
    }
    async fn health_state(&self) -> Result<Option<mhd_core::health::HealthState>> {
        each!(self, s => s.health_state().await)
    }
    async fn save_health_state(&self, state: &mhd_core::health::HealthState) -> Result<()> {
        each!(self, s => s.save_health_state(state).await)
    }
}

impl Outbox for Database {
    async fn enqueue_notification(
        &self,
        notification: &Notification<'_>,
        at: OffsetDateTime,
    ) -> Result<Vec<String>> {
        each!(self, s => s.enqueue_notification(notification, at).await)
    }
    async fn claim_delivery(
        &self,
        channel: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Option<Delivery>> {
        each!(self, s => s.claim_delivery(channel, now, until).await)
    }

    async fn release_claims(&self, at: OffsetDateTime) -> Result<u64> {
        each!(self, s => s.release_claims(at).await)
    }
    async fn next_due_at(&self, channel: &str) -> Result<Option<OffsetDateTime>> {
        each!(self, s => s.next_due_at(channel).await)
    }
    async fn record_attempt(&self, id: i64, attempts: u32, outcome: &Attempt) -> Result<()> {
        each!(self, s => s.record_attempt(id, attempts, outcome).await)
    }
    async fn abandon_deliveries(&self, channels: &[&str], error: &str) -> Result<u64> {
        each!(self, s => s.abandon_deliveries(channels, error).await)
    }
    async fn pending_deliveries(&self) -> Result<Vec<(String, u64)>> {
        each!(self, s => s.pending_deliveries().await)
    }
    async fn recent_deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<DeliveryStatus>> {
        each!(self, s => s.recent_deliveries(filter).await)
    }
    async fn jira_issue(&self, alert_id: i64) -> Result<Option<JiraIssue>> {
        each!(self, s => s.jira_issue(alert_id).await)
    }
    async fn record_jira_issue(&self, issue: &JiraIssue) -> Result<bool> {
        each!(self, s => s.record_jira_issue(issue).await)
    }
}

impl AuditStore for Database {
    async fn record_audit(&self, entry: &NewEntry) -> Result<i64> {
        each!(self, s => s.record_audit(entry).await)
    }
    async fn prune_audit(&self, before: OffsetDateTime) -> Result<u64> {
        each!(self, s => s.prune_audit(before).await)
    }
    async fn audit_entries(&self, filter: &AuditFilter) -> Result<Vec<Entry>> {
        each!(self, s => s.audit_entries(filter).await)
    }
}

impl AuthStore for Database {
    async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &PasswordHash,
        now: OffsetDateTime,
    ) -> AuthResult<UserRecord> {
        each!(self, s => s.add_user(name, role, password, now).await)
    }
    async fn users(&self) -> AuthResult<Vec<UserRecord>> {
        each!(self, s => s.users().await)
    }
    async fn user_by_name(&self, name: &str) -> AuthResult<Option<(UserRecord, PasswordHash)>> {
        each!(self, s => s.user_by_name(name).await)
    }
    async fn set_role(&self, name: &str, role: Role) -> AuthResult<UserRecord> {
        each!(self, s => s.set_role(name, role).await)
    }
    async fn remove_user(&self, name: &str) -> AuthResult<UserRecord> {
        each!(self, s => s.remove_user(name).await)
    }
    async fn set_password_hash(&self, name: &str, password: &PasswordHash) -> AuthResult<()> {
        each!(self, s => s.set_password_hash(name, password).await)
    }
    async fn create_token(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> AuthResult<NewToken> {
        each!(self, s => s.create_token(name, role, expires_at, now).await)
    }
    async fn tokens(&self) -> AuthResult<Vec<TokenRecord>> {
        each!(self, s => s.tokens().await)
    }
    async fn revoke_token(&self, id_or_name: &str, now: OffsetDateTime) -> AuthResult<TokenRecord> {
        each!(self, s => s.revoke_token(id_or_name, now).await)
    }
    async fn token_by_hash(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<TokenRecord>> {
        each!(self, s => s.token_by_hash(hash, now).await)
    }
    async fn authenticate_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<TokenRecord>> {
        each!(self, s => s.authenticate_token(secret, now).await)
    }
}

impl CollectorStore for Database {
    async fn insert_log_errors(&self, errors: &[LogErrorRecord]) -> Result<u64> {
        each!(self, s => s.insert_log_errors(errors).await)
    }
    async fn recent_log_errors(
        &self,
        collector: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LogErrorRecord>> {
        each!(self, s => s.recent_log_errors(collector, limit).await)
    }
    async fn insert_git_commit(
        &self,
        collector: &str,
        commit: &GitCommitRecord,
        counts: &[GitCountRecord],
    ) -> Result<()> {
        each!(self, s => s.insert_git_commit(collector, commit, counts).await)
    }
    async fn git_commits(&self, collector: &str) -> Result<Vec<GitCommitRecord>> {
        each!(self, s => s.git_commits(collector).await)
    }
    async fn git_counts(&self, collector: &str) -> Result<Vec<GitCountRecord>> {
        each!(self, s => s.git_counts(collector).await)
    }
    async fn seen_files(&self, collector: &str) -> Result<Vec<SeenFileRecord>> {
        each!(self, s => s.seen_files(collector).await)
    }
    async fn record_seen_file(
        &self,
        collector: &str,
        file: &SeenFileRecord,
        at: OffsetDateTime,
    ) -> Result<()> {
        each!(self, s => s.record_seen_file(collector, file, at).await)
    }
    async fn collector_value(&self, collector: &str, key: &str) -> Result<Option<String>> {
        each!(self, s => s.collector_value(collector, key).await)
    }
    async fn set_collector_value(&self, collector: &str, key: &str, value: &str) -> Result<()> {
        each!(self, s => s.set_collector_value(collector, key, value).await)
    }
}

impl HistoryStore for Database {
    async fn daily_activity(&self, from: time::Date, days: u32) -> Result<Vec<DayActivity>> {
        each!(self, s => s.daily_activity(from, days).await)
    }
    async fn samples_between(
        &self,
        metrics: &[&str],
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<Sample>> {
        each!(self, s => s.samples_between(metrics, since, until).await)
    }
    async fn errors_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ErrorGroup>> {
        each!(self, s => s.errors_between(since, until, limit).await)
    }
}

impl SessionStore for Database {
    async fn start_session(
        &self,
        user_id: i64,
        client: Option<&str>,
        now: OffsetDateTime,
    ) -> AuthResult<NewSession> {
        each!(self, s => s.start_session(user_id, client, now).await)
    }
    async fn session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<SessionRecord>> {
        each!(self, s => s.session(secret, now).await)
    }
    async fn session_live(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        each!(self, s => s.session_live(id, now).await)
    }
    async fn token_live(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        each!(self, s => s.token_live(id, now).await)
    }
    async fn end_session(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        each!(self, s => s.end_session(id, now).await)
    }
    async fn end_sessions_of(&self, name: &str, now: OffsetDateTime) -> AuthResult<u64> {
        each!(self, s => s.end_sessions_of(name, now).await)
    }
    async fn any_user(&self) -> AuthResult<bool> {
        each!(self, s => s.any_user().await)
    }
}

impl AlertStore for Database {
    async fn save_evaluation(
        &self,
        transitions: &[Transition],
        open: &[&Alert],
        at: OffsetDateTime,
    ) -> Result<()> {
        each!(self, s => s.save_evaluation(transitions, open, at).await)
    }
    async fn open_alerts(&self) -> Result<Vec<Alert>> {
        each!(self, s => s.open_alerts().await)
    }
    async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        each!(self, s => s.alerts(filter).await)
    }
    async fn alert(&self, id: i64) -> Result<Option<Alert>> {
        each!(self, s => s.alert(id).await)
    }
    async fn max_alert_id(&self) -> Result<i64> {
        each!(self, s => s.max_alert_id().await)
    }
    async fn acknowledge(
        &self,
        id: i64,
        by: &str,
        comment: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Acknowledged, AlertStoreError> {
        each!(self, s => s.acknowledge(id, by, comment, at).await)
    }
    async fn acknowledgements(&self) -> Result<Vec<Acknowledgement>> {
        each!(self, s => s.acknowledgements().await)
    }
    async fn add_silence(&self, silence: &NewSilence) -> Result<Silence, AlertStoreError> {
        each!(self, s => s.add_silence(silence).await)
    }
    async fn silences(&self, active_at: OffsetDateTime) -> Result<Vec<Silence>> {
        each!(self, s => s.silences(active_at).await)
    }
    async fn remove_silence(
        &self,
        id: i64,
        at: OffsetDateTime,
    ) -> Result<Silence, AlertStoreError> {
        each!(self, s => s.remove_silence(id, at).await)
    }
    async fn alert_events(&self, id: i64) -> Result<Vec<AlertEventRecord>> {
        each!(self, s => s.alert_events(id).await)
    }
    async fn integrity_failures(&self) -> Result<Vec<DatasetEvent>> {
        each!(self, s => s.integrity_failures().await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_sqlite_files() {
        let file = |p: &str| Ok(Location::Sqlite(PathBuf::from(p)));
        assert_eq!(
            Location::parse("/data/mhd.db").map_err(drop),
            file("/data/mhd.db")
        );
        assert_eq!(Location::parse("mhd.db").map_err(drop), file("mhd.db"));
        assert_eq!(
            Location::parse("sqlite:/data/mhd.db").map_err(drop),
            file("/data/mhd.db")
        );
        assert_eq!(
            Location::parse("sqlite:///data/mhd.db").map_err(drop),
            file("/data/mhd.db")
        );
        assert_eq!(
            Location::parse("sqlite://mhd.db").map_err(drop),
            file("mhd.db")
        );
    }

    #[test]
    fn urls_that_cannot_be_used_say_why_without_their_password() {
        for (url, says) in [
            ("", "empty"),
            ("sqlite:", "file path"),
            ("ftp://host/x", "ftp://"),
            ("postgres://u:secret@h:notaport/db", "PostgreSQL URL"),
        ] {
            let e = Location::parse(url).unwrap_err().to_string();
            assert!(e.contains(says), "{url}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        let pg = Location::parse("postgresql://u:secret@h:5432/db").unwrap();
        assert_eq!(
            pg,
            Location::Postgres("postgresql://u:secret@h:5432/db".into())
        );
        assert_eq!(pg.shown(), "postgresql://u:***@h:5432/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
