//! The store: one [`Store`] trait with one method per question the commands and the server ask,
//! and its SQLite backend (the embedded default).
#![forbid(unsafe_code)]

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod collect;
pub mod gather;
pub mod history;
pub mod mdm;
mod migrate;
pub mod outbox;
mod records;
pub mod retention;
pub mod sessions;
pub mod sqlite;

use mhd_core::dashboard::Bucket;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::stats::{DatasetTypeStats, StatsSummary};
use mhd_core::testrun::TestRun;
use mhd_core::{NewOperation, Operation, System};
use time::{Date, OffsetDateTime};

pub use migrate::LATEST as SCHEMA_VERSION;
pub use sqlite::{Chunk, DatasetIds, SqliteStore, Staging, WriteTx};

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
    /// The database failed. Shown once, with SQLite's message and code: the cause is part of
    /// this message rather than a source, so an error chain does not repeat it.
    #[error("store error: {}", sqlite::describe(.0))]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    /// Tells a full disk and a busy store from other failures, by SQLite's result code.
    fn from(e: sqlx::Error) -> StoreError {
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
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Stores operations atomically: all of them, or none when one breaks a rule.
    async fn insert_operations(&self, ops: &[NewOperation]) -> Result<u64>;
    /// Stores imported operations (each with an `import_key`), skipping keys already stored.
    async fn import_operations(&self, ops: &[NewOperation]) -> Result<ImportOutcome>;
    /// Operations matching a filter, newest first.
    async fn recent_operations(&self, filter: &OperationFilter) -> Result<Vec<Operation>>;
    /// The `stats summary` document.
    async fn stats_summary(&self) -> Result<StatsSummary>;
    /// Per-type figures of one dataset (empty when it has no operations).
    async fn dataset_stats(&self, dataset: &str) -> Result<Vec<DatasetTypeStats>>;
    /// Operations older than `cutoff`.
    async fn count_before(&self, cutoff: OffsetDateTime) -> Result<u64>;
    /// Deletes operations older than `cutoff`, returning how many.
    async fn delete_before(&self, cutoff: OffsetDateTime) -> Result<u64>;
    /// Operations per bucket of `bucket_seconds` from `since` to `until`, empty buckets included.
    async fn operations_over_time(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
        bucket_seconds: i64,
    ) -> Result<Vec<Bucket>>;
    /// The oldest stored operation's time.
    async fn first_operation_at(&self) -> Result<Option<OffsetDateTime>>;
    /// Migration attempts, successes, rollbacks and migrated datasets.
    async fn migration_counts(&self) -> Result<MigrationCounts>;
    /// Migration counts from the operations before `until` alone, for "as of" questions.
    async fn migration_counts_until(&self, until: OffsetDateTime) -> Result<MigrationCounts>;
    /// Stores one test run with its cases, returning its id.
    async fn insert_test_run(&self, run: &TestRun, source: Option<&str>) -> Result<i64>;
    /// The last `per_suite` runs of every suite, with their cases, oldest first per suite.
    async fn recent_test_runs(&self, per_suite: u32) -> Result<Vec<TestRun>>;
    /// Stores the samples of one benchmark file as one batch, returning how many values.
    async fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<u64>;
    /// Each (operation, system, component)'s samples from its latest batch.
    async fn latest_benchmarks(&self) -> Result<Vec<BenchmarkSamples>>;
    /// Successful migrations minus successful rollbacks on each UTC day, `days` days from `from`.
    async fn daily_migration_net(&self, from: Date, days: u32) -> Result<Vec<i64>>;
    /// Datasets seen and migrated, per component.
    async fn dataset_progress(&self) -> Result<Vec<DatasetProgress>>;
    /// The names of the migrated datasets.
    async fn migrated_datasets(&self) -> Result<Vec<String>>;
    /// For each operation name of a metric type (`milestone`, `phase_complete`), the time of
    /// its first success.
    async fn first_success_by_name(
        &self,
        metric_type: &str,
    ) -> Result<Vec<(String, OffsetDateTime)>>;
    /// Each component's operations per system in `[since, until)`.
    async fn component_windows(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ComponentWindow>>;
    /// The operations in `[since, until)`, oldest first, without error messages and metadata.
    async fn operations_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<NewOperation>>;
    /// Stores samples atomically: all of them, or none when one breaks a rule.
    async fn insert_samples(&self, samples: &[Sample]) -> Result<u64>;
    /// The newest sample of each series (metric, component, labels) at or after `since`.
    async fn latest_samples(&self, since: OffsetDateTime) -> Result<Vec<Sample>>;
    /// Every dataset with what its state is read from: as kept now (`until` = `None`), or as
    /// the operations before `until` alone tell it.
    async fn datasets(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<Vec<mhd_core::datasets::StoredDataset>>;
    /// Migration attempts and rollbacks per day and component up to the day of `until` (every
    /// day without it), and their sums (`datasets_migrated` left 0).
    async fn migration_days(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<(Vec<mhd_core::history::MigrationDay>, MigrationCounts)>;
    /// The overall status kept over time, if any.
    async fn health_state(&self) -> Result<Option<mhd_core::health::HealthState>>;
    /// Keeps the overall status.
    async fn save_health_state(&self, state: &mhd_core::health::HealthState) -> Result<()>;
}
