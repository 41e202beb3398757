//! What the collectors remember between runs and across restarts: the recent errors the logs
//! collectors read, the commits and pattern counts of the git collectors, the report files the
//! test reports collectors have read, and small per-collector values.
//!
//! Every row belongs to one collector, named as in the plan.

pub use mhd_core::alerts::LogErrorRecord;
use sqlx::Row;
use time::OffsetDateTime;

use crate::Result;
use crate::sqlite::{SqliteStore, from_us, to_us};

/// How many recent log errors are kept per collector; older ones are deleted as new ones come.
pub const LOG_ERRORS_KEPT: i64 = 1000;

/// One commit a git collector walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommitRecord {
    /// The full commit id.
    pub commit: String,
    /// Its commit time.
    pub committed_at: OffsetDateTime,
    /// The components whose paths it touched.
    pub components: Vec<String>,
}

/// The matches of one pattern at one commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCountRecord {
    /// The full commit id.
    pub commit: String,
    /// What identifies the pattern (its component, kind, text and paths).
    pub pattern_key: String,
    /// The pattern's component.
    pub component: String,
    /// Lines that match.
    pub matches: i64,
}

/// A file a test reports collector has read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFileRecord {
    /// The file's name in the watched folder.
    pub name: String,
    /// Its size in bytes when it was read.
    pub size: i64,
    /// Its modification time when it was read.
    pub modified: OffsetDateTime,
    /// Why it was refused, when it was.
    pub error: Option<String>,
}

/// What the collectors keep between runs: log errors, git history, seen files and values.
pub trait CollectorStore: Sync {
    /// Stores error entries a logs collector read, then deletes all but its newest
    /// [`LOG_ERRORS_KEPT`], in one transaction. Returns how many were stored.
    fn insert_log_errors(
        &self,
        errors: &[LogErrorRecord],
    ) -> impl Future<Output = Result<u64>> + Send;
    /// The newest `limit` error entries read by `collector` (by every logs collector when
    /// `None`), newest first.
    fn recent_log_errors(
        &self,
        collector: Option<&str>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LogErrorRecord>>> + Send;
    /// Stores one walked commit of a git collector and the counts of its patterns there, in
    /// one transaction (counts of a pattern already stored for that commit are replaced).
    fn insert_git_commit(
        &self,
        collector: &str,
        commit: &GitCommitRecord,
        counts: &[GitCountRecord],
    ) -> impl Future<Output = Result<()>> + Send;
    /// The commits a git collector has walked, oldest first.
    fn git_commits(
        &self,
        collector: &str,
    ) -> impl Future<Output = Result<Vec<GitCommitRecord>>> + Send;
    /// Every pattern count a git collector has stored.
    fn git_counts(
        &self,
        collector: &str,
    ) -> impl Future<Output = Result<Vec<GitCountRecord>>> + Send;
    /// The files a test reports collector has read.
    fn seen_files(
        &self,
        collector: &str,
    ) -> impl Future<Output = Result<Vec<SeenFileRecord>>> + Send;
    /// Records that a test reports collector has read a file (replacing what it knew of a file
    /// of that name).
    fn record_seen_file(
        &self,
        collector: &str,
        file: &SeenFileRecord,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A value a collector kept under `key`.
    fn collector_value(
        &self,
        collector: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Keeps `value` under `key` for a collector, replacing the previous one.
    fn set_collector_value(
        &self,
        collector: &str,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<()>> + Send;
}

impl CollectorStore for SqliteStore {
    /// Stores error entries a logs collector read, then deletes all but its newest
    /// [`LOG_ERRORS_KEPT`], in one transaction. Returns how many were stored.
    async fn insert_log_errors(&self, errors: &[LogErrorRecord]) -> Result<u64> {
        if errors.is_empty() {
            return Ok(0);
        }
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let mut collectors: Vec<&str> = Vec::new();
        for e in errors {
            sqlx::query(
                "INSERT INTO collector_log_errors (collector, time_us, level, message, file) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(e.collector.as_str())
            .bind(to_us(e.time))
            .bind(e.level.as_str())
            .bind(e.message.as_str())
            .bind(e.file.as_str())
            .execute(&mut *tx)
            .await?;
            if !collectors.contains(&e.collector.as_str()) {
                collectors.push(&e.collector);
            }
        }
        for collector in collectors {
            sqlx::query(
                "DELETE FROM collector_log_errors WHERE collector = ? AND id <= ( \
                   SELECT id FROM collector_log_errors WHERE collector = ? \
                   ORDER BY id DESC LIMIT 1 OFFSET ?)",
            )
            .bind(collector)
            .bind(collector)
            .bind(LOG_ERRORS_KEPT)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(errors.len() as u64)
    }

    /// The newest `limit` error entries read by `collector` (by every logs collector when
    /// `None`), newest first.
    async fn recent_log_errors(
        &self,
        collector: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LogErrorRecord>> {
        let rows = sqlx::query(
            "SELECT collector, time_us, level, message, file FROM collector_log_errors \
             WHERE ? IS NULL OR collector = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(collector)
        .bind(collector)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LogErrorRecord {
                    collector: r.try_get("collector")?,
                    time: from_us(r.try_get("time_us")?),
                    level: r.try_get("level")?,
                    message: r.try_get("message")?,
                    file: r.try_get("file")?,
                })
            })
            .collect()
    }

    /// Stores one walked commit of a git collector and the counts of its patterns there, in
    /// one transaction (counts of a pattern already stored for that commit are replaced).
    async fn insert_git_commit(
        &self,
        collector: &str,
        commit: &GitCommitRecord,
        counts: &[GitCountRecord],
    ) -> Result<()> {
        let components = serde_json::to_string(&commit.components).unwrap_or_else(|_| "[]".into());
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        sqlx::query(
            "INSERT INTO collector_git_commits (collector, commit_sha, committed_at_us, components) \
             VALUES (?, ?, ?, ?) ON CONFLICT (collector, commit_sha) DO UPDATE SET \
             committed_at_us = excluded.committed_at_us, components = excluded.components",
        )
        .bind(collector)
        .bind(commit.commit.as_str())
        .bind(to_us(commit.committed_at))
        .bind(components)
        .execute(&mut *tx)
        .await?;
        for c in counts {
            sqlx::query(
                "INSERT INTO collector_git_counts \
                 (collector, commit_sha, pattern_key, component, matches) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (collector, commit_sha, pattern_key) DO UPDATE SET \
                 component = excluded.component, matches = excluded.matches",
            )
            .bind(collector)
            .bind(c.commit.as_str())
            .bind(c.pattern_key.as_str())
            .bind(c.component.as_str())
            .bind(c.matches)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The commits a git collector has walked, oldest first.
    async fn git_commits(&self, collector: &str) -> Result<Vec<GitCommitRecord>> {
        let rows = sqlx::query(
            "SELECT commit_sha, committed_at_us, components FROM collector_git_commits \
             WHERE collector = ? ORDER BY committed_at_us, rowid",
        )
        .bind(collector)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let components: String = r.try_get("components")?;
                Ok(GitCommitRecord {
                    commit: r.try_get("commit_sha")?,
                    committed_at: from_us(r.try_get("committed_at_us")?),
                    components: serde_json::from_str(&components).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Every pattern count a git collector has stored.
    async fn git_counts(&self, collector: &str) -> Result<Vec<GitCountRecord>> {
        let rows = sqlx::query(
            "SELECT commit_sha, pattern_key, component, matches FROM collector_git_counts \
             WHERE collector = ?",
        )
        .bind(collector)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GitCountRecord {
                    commit: r.try_get("commit_sha")?,
                    pattern_key: r.try_get("pattern_key")?,
                    component: r.try_get("component")?,
                    matches: r.try_get("matches")?,
                })
            })
            .collect()
    }

    /// The files a test reports collector has read.
    async fn seen_files(&self, collector: &str) -> Result<Vec<SeenFileRecord>> {
        let rows = sqlx::query(
            "SELECT name, size, modified_us, error FROM collector_files WHERE collector = ? \
             ORDER BY name",
        )
        .bind(collector)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SeenFileRecord {
                    name: r.try_get("name")?,
                    size: r.try_get("size")?,
                    modified: from_us(r.try_get("modified_us")?),
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    /// Records that a test reports collector has read a file (replacing what it knew of a file
    /// of that name).
    async fn record_seen_file(
        &self,
        collector: &str,
        file: &SeenFileRecord,
        at: OffsetDateTime,
    ) -> Result<()> {
        let upsert = sqlx::query(
            "INSERT INTO collector_files (collector, name, size, modified_us, error, recorded_at_us) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (collector, name) DO UPDATE SET \
             size = excluded.size, modified_us = excluded.modified_us, error = excluded.error, \
             recorded_at_us = excluded.recorded_at_us",
        )
        .bind(collector)
        .bind(file.name.as_str())
        .bind(file.size)
        .bind(to_us(file.modified))
        .bind(file.error.as_deref())
        .bind(to_us(at));
        self.write_one(upsert).await?;
        Ok(())
    }

    /// A value a collector kept under `key`.
    async fn collector_value(&self, collector: &str, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM collector_state WHERE collector = ? AND key = ?")
                .bind(collector)
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Keeps `value` under `key` for a collector, replacing the previous one.
    async fn set_collector_value(&self, collector: &str, key: &str, value: &str) -> Result<()> {
        self.write_one(
            sqlx::query(
                "INSERT INTO collector_state (collector, key, value) VALUES (?, ?, ?) \
             ON CONFLICT (collector, key) DO UPDATE SET value = excluded.value",
            )
            .bind(collector)
            .bind(key)
            .bind(value),
        )
        .await?;
        Ok(())
    }
}
