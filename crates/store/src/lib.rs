//! The store: one [`Store`] trait with one method per question the commands and the server ask,
//! and its SQLite backend (the embedded default).
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod collect;
pub mod copy;
pub mod database;
pub mod history;
pub mod import;
pub mod mdm;
mod migrate;
pub mod outbox;
pub mod postgres;
mod records;
pub mod reports;
pub mod retention;
pub mod sessions;
pub mod sqlite;
pub mod testruns;
pub mod view_data;
mod watch;

use mhd_core::dashboard::Bucket;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::stats::{DatasetTypeStats, StatsSummary};
use mhd_core::testrun::TestRun;
use mhd_core::{NewOperation, Operation, System};
use time::{Date, OffsetDateTime};

pub use alerts::AlertStore;
pub use audit::AuditStore;
pub use auth::AuthStore;
pub use collect::CollectorStore;
pub use database::{ChunkIngest, Database, Location, SqliteChunkIngest, Staging, TestRunWriter};
pub use history::HistoryStore;
pub use migrate::LATEST as SCHEMA_VERSION;
pub use outbox::Outbox;
pub use retention::RetentionStore;
pub use sessions::SessionStore;
pub use sqlite::{Chunk, DatasetIds, OperationWriter, SqliteStore, WriteTx};
pub use watch::{ChangeWatcher, Changed, Lease};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file was written by a newer version of the program.
    #[error(
        "the store {path} has schema version {found}, newer than this program's {supported}: \
         use a newer mhd (the file was left untouched)"
    )]
    NewerSchema {
        /// The store's path.
        path: String,
        /// Its schema version.
        found: i64,
        /// The newest this program knows.
        supported: i64,
    },
    /// The file is not a store of this program.
    #[error("{path} is not an mhd store: {reason}")]
    Foreign {
        /// The file's path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A record (an operation, a sample, a benchmark, a test case) broke a rule; nothing of
    /// its batch was stored.
    #[error("record {index} (from 0): {source}")]
    Invalid {
        /// Its position in the batch (0-based).
        index: usize,
        /// The rule.
        source: mhd_core::OperationError,
    },
    /// The disk holding the store is full: the write was not stored.
    #[error(
        "the disk holding the store is full: nothing of this write was stored; free some space \
         and try again"
    )]
    Full,
    /// Another writer held the store for longer than a write waits ([`busy_timeout`]).
    #[error(
        "the store is busy: another writer held it for more than {} s; nothing of this write \
         was stored, try again",
        .0.as_secs()
    )]
    Busy(std::time::Duration),
    /// Another process stored part of the same input meanwhile; nothing of this write was
    /// stored.
    #[error(
        "another ingest stored part of this input meanwhile: nothing of this one was stored; \
         run it again to store what is left"
    )]
    Concurrent,
    /// A file given to a command (a backup, say) cannot be used as asked.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A database URL that names no store this program can open.
    #[error("the database URL {url} cannot be used: {reason}")]
    Url {
        /// The URL, its password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// Something this kind of store does not do (yet); the message says what and what to do.
    #[error("{0}")]
    Unsupported(String),
    /// Deciding which process leads (runs the background work) failed.
    #[error("cannot decide which server leads: {0}")]
    Lead(String),
    /// The database server could not be reached (or refused the connection).
    #[error("cannot reach the database {url}: {reason}")]
    Unreachable {
        /// The URL, its password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database failed. Shown once, with the database's message and code: the cause is
    /// part of this message rather than a source, so an error chain does not repeat it.
    #[error("store error: {}", describe(.0))]
    Db(sqlx::Error),
}

impl StoreError {
    /// Whether the database did not answer — a PostgreSQL server stopped, restarting or
    /// failing over, or not reached within the wait — so that the same request may well
    /// succeed when sent again shortly.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unreachable { .. }) || postgres::connection_lost(self)
    }
}

/// A database error in one line, in the words of the database that made it.
fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d)
            if d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some() =>
        {
            postgres::describe(e)
        }
        _ => sqlite::describe(e),
    }
}

impl From<sqlx::Error> for StoreError {
    /// Tells a full disk and a busy store from other failures, by the database's code.
    fn from(e: sqlx::Error) -> StoreError {
        if let sqlx::Error::Database(d) = &e
            && d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
        {
            return postgres::classify(e);
        }
        match sqlite::primary_code(&e) {
            Some(sqlite::SQLITE_FULL) => StoreError::Full,
            Some(sqlite::SQLITE_BUSY | sqlite::SQLITE_LOCKED) => StoreError::Busy(busy_timeout()),
            _ => StoreError::Db(e),
        }
    }
}

/// How long a write waits for another writer (another process, or another connection of the
/// server) to finish: 10 s, or `MHD_BUSY_TIMEOUT` (a span such as `30s` or `500ms`).
pub fn busy_timeout() -> std::time::Duration {
    static TIMEOUT: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
    *TIMEOUT.get_or_init(|| {
        std::env::var("MHD_BUSY_TIMEOUT")
            .ok()
            .and_then(|v| mhd_core::time_parse::parse_duration(&v).ok())
            .and_then(|d| std::time::Duration::try_from(d).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(sqlite::DEFAULT_BUSY_TIMEOUT)
    })
}

/// Result of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which operations to list.
#[derive(Debug, Clone, Default)]
pub struct OperationFilter {
    /// At most this many, newest first.
    pub limit: u32,
    /// Only this dataset.
    pub dataset: Option<String>,
    /// Only this metric type.
    pub metric_type: Option<String>,
    /// Only at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only before this time.
    pub until: Option<OffsetDateTime>,
    /// Only failed ones.
    pub failed_only: bool,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Rows added.
    pub inserted: u64,
    /// Rows already in the store from an earlier import, skipped.
    pub skipped: u64,
}

/// Counts behind migration progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrationCounts {
    /// Datasets whose latest successful migration is not followed by a rollback.
    pub datasets_migrated: u64,
    /// `migration` operations.
    pub attempts: u64,
    /// Successful ones.
    pub successes: u64,
    /// `rollback` operations.
    pub rollbacks: u64,
}

/// Datasets seen per component, and how many of them are migrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetProgress {
    /// The component (None for datasets whose operations named none).
    pub component: Option<String>,
    /// Datasets seen in operations.
    pub seen: u64,
    /// Of those, migrated (a successful migration newer than any successful rollback).
    pub migrated: u64,
}

/// One component's operations on one system over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentWindow {
    /// The component.
    pub component: String,
    /// The system.
    pub system: System,
    /// Operations.
    pub operations: u64,
    /// Failed operations.
    pub failures: u64,
    /// Durations of the operations that have one ([`mhd_core::sketch`]).
    pub durations: mhd_core::sketch::Histogram,
}

/// The questions the commands and the server ask of stored data.
pub trait Store: Sync {
    /// Stores operations atomically: all of them, or none when one breaks a rule.
    fn insert_operations(&self, ops: &[NewOperation]) -> impl Future<Output = Result<u64>> + Send;
    /// Stores imported operations (each with an `import_key`), skipping keys already stored.
    fn import_operations(
        &self,
        ops: &[NewOperation],
    ) -> impl Future<Output = Result<ImportOutcome>> + Send;
    /// Operations matching a filter, newest first.
    fn recent_operations(
        &self,
        filter: &OperationFilter,
    ) -> impl Future<Output = Result<Vec<Operation>>> + Send;
    /// The `stats summary` document.
    fn stats_summary(&self) -> impl Future<Output = Result<StatsSummary>> + Send;
    /// Per-type figures of one dataset (empty when it has no operations).
    fn dataset_stats(
        &self,
        dataset: &str,
    ) -> impl Future<Output = Result<Vec<DatasetTypeStats>>> + Send;
    /// Operations older than `cutoff`.
    fn count_before(&self, cutoff: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
    /// Deletes operations older than `cutoff`, returning how many.
    fn delete_before(&self, cutoff: OffsetDateTime) -> impl Future<Output = Result<u64>> + Send;
    /// Operations per bucket of `bucket_seconds` from `since` to `until`, empty buckets included.
    fn operations_over_time(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket_seconds: i64,
    ) -> impl Future<Output = Result<Vec<Bucket>>> + Send;
    /// The oldest stored operation's time.
    fn first_operation_at(&self) -> impl Future<Output = Result<Option<OffsetDateTime>>> + Send;
    /// Migration attempts, successes, rollbacks and migrated datasets.
    fn migration_counts(&self) -> impl Future<Output = Result<MigrationCounts>> + Send;
    /// Migration counts from the operations before `until` alone, for "as of" questions.
    fn migration_counts_until(
        &self,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<MigrationCounts>> + Send;
    /// Stores one test run with its cases, returning its id.
    fn insert_test_run(
        &self,
        run: &TestRun,
        source: Option<&str>,
    ) -> impl Future<Output = Result<i64>> + Send;
    /// The last `per_suite` runs of every suite, with their cases, oldest first per suite.
    fn recent_test_runs(&self, per_suite: u32)
    -> impl Future<Output = Result<Vec<TestRun>>> + Send;
    /// The last `per_suite` runs of every suite run in `[since, until)` (an open end when
    /// `None`), with their cases, oldest first per suite: the runs of a chosen time range.
    fn test_runs_between(
        &self,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
        per_suite: u32,
    ) -> impl Future<Output = Result<Vec<TestRun>>> + Send;
    /// Stores the samples of one benchmark file as one batch, returning how many values.
    fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Each (operation, system, component)'s samples from its latest batch.
    fn latest_benchmarks(&self) -> impl Future<Output = Result<Vec<BenchmarkSamples>>> + Send;
    /// Successful migrations minus successful rollbacks on each UTC day, `days` days from `from`.
    fn daily_migration_net(
        &self,
        from: Date,
        days: u32,
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// Datasets seen and migrated, per component.
    fn dataset_progress(&self) -> impl Future<Output = Result<Vec<DatasetProgress>>> + Send;
    /// The names of the migrated datasets.
    fn migrated_datasets(&self) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// For each operation name of a metric type (`milestone`, `phase_complete`), the time of
    /// its first success.
    fn first_success_by_name(
        &self,
        metric_type: &str,
    ) -> impl Future<Output = Result<Vec<(String, OffsetDateTime)>>> + Send;
    /// Each component's operations per system in `[since, until)`.
    fn component_windows(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<ComponentWindow>>> + Send;
    /// The operations in `[since, until)`, oldest first, without error messages and metadata.
    fn operations_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<NewOperation>>> + Send;
    /// Stores samples atomically: all of them, or none when one breaks a rule.
    fn insert_samples(&self, samples: &[Sample]) -> impl Future<Output = Result<u64>> + Send;
    /// The newest sample of each series (metric, component, labels) at or after `since`.
    fn latest_samples(
        &self,
        since: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<Sample>>> + Send;
    /// Every dataset with what its state is read from: as kept now (`until` = `None`), or as
    /// the operations before `until` alone tell it.
    fn datasets(
        &self,
        until: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<Vec<mhd_core::datasets::StoredDataset>>> + Send;
    /// Migration attempts and rollbacks per day and component up to the day of `until` (every
    /// day without it), and their sums (`datasets_migrated` left 0).
    fn migration_days(
        &self,
        until: Option<OffsetDateTime>,
    ) -> impl Future<Output = Result<(Vec<mhd_core::history::MigrationDay>, MigrationCounts)>> + Send;
    /// The overall status kept over time, if any.
    fn health_state(
        &self,
    ) -> impl Future<Output = Result<Option<mhd_core::health::HealthState>>> + Send;
    /// Keeps the overall status.
    fn save_health_state(
        &self,
        state: &mhd_core::health::HealthState,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// The storage traits, for their methods: `use mhd_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        AlertStore as _, AuditStore as _, AuthStore as _, CollectorStore as _, HistoryStore as _,
        Outbox as _, RetentionStore as _, SessionStore as _, Store as _,
    };
}
