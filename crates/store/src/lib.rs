//! The store: one [`Store`] trait with one method per question the commands and the server ask,
//! and its SQLite backend (the embedded default).
#![forbid(unsafe_code)]

pub mod gather;
pub mod mdm;
mod migrate;
pub mod sqlite;

use mhd_core::dashboard::Bucket;
use mhd_core::stats::{DatasetTypeStats, StatsSummary};
use mhd_core::{NewOperation, Operation};
use time::OffsetDateTime;

pub use sqlite::SqliteStore;

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
    /// An operation broke a rule; nothing of its batch was stored.
    #[error("operation {index}: {source}")]
    Invalid {
        /// Its position in the batch (0-based).
        index: usize,
        /// The rule.
        source: mhd_core::OperationError,
    },
    /// The database failed.
    #[error("store error: {0}")]
    Db(#[from] sqlx::Error),
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
}
