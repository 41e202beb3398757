//! What the collectors remember, in PostgreSQL, answering as the SQLite store does.

use sqlx::Row;
use time::OffsetDateTime;

use super::{PgStore, text, text_opt};
use crate::Result;
use crate::collect::{
    CollectorStore, GitCommitRecord, GitCountRecord, LOG_ERRORS_KEPT, LogErrorRecord,
    SeenFileRecord,
};
use crate::sqlite::{from_us, to_us};

/// The first key of the advisory locks that keep one collector's log errors to one writer at a
/// time (the second is the hash of the collector's name): "mhd" as a number.
const LOG_ERRORS_LOCK: i32 = 0x006d_6864;

impl CollectorStore for PgStore {
    /// Stores error entries a logs collector read, then deletes all but its newest
    /// [`LOG_ERRORS_KEPT`], in one transaction. Returns how many were stored.
    async fn insert_log_errors(&self, errors: &[LogErrorRecord]) -> Result<u64> {
        if errors.is_empty() {
            return Ok(0);
        }
        let mut collectors: Vec<&str> = errors.iter().map(|e| e.collector.as_str()).collect();
        collectors.sort_unstable();
        collectors.dedup();
        let mut tx = self.pool.begin().await?;
        // SQLite's single writer makes "insert, then keep the newest thousand" one step. Here
        // an advisory lock per collector, taken in name order (so two batches never wait for
        // each other in a circle), does: two batches of one collector at once would otherwise
        // each keep a thousand of what it sees and leave more, and their ids, taken before
        // either commits, would not follow the order they are stored in.
        for collector in &collectors {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(LOG_ERRORS_LOCK)
                .bind(text(collector))
                .execute(&mut *tx)
                .await?;
        }
        // One statement for the whole batch, its rows taken in the batch's order so that the
        // ids (the order "newest" is read by) follow it.
        let column = |f: fn(&LogErrorRecord) -> &str| -> Vec<_> {
            errors.iter().map(|e| text(f(e))).collect()
        };
        let times: Vec<i64> = errors.iter().map(|e| to_us(e.time)).collect();
        sqlx::query(
            "INSERT INTO collector_log_errors (collector, time_us, level, message, file) \
             SELECT c, t, l, m, f FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], \
               $5::TEXT[]) WITH ORDINALITY AS batch (c, t, l, m, f, n) ORDER BY n",
        )
        .bind(column(|e| &e.collector))
        .bind(times)
        .bind(column(|e| &e.level))
        .bind(column(|e| &e.message))
        .bind(column(|e| &e.file))
        .execute(&mut *tx)
        .await?;
        for collector in collectors {
            sqlx::query(
                "DELETE FROM collector_log_errors WHERE collector = $1 AND id <= ( \
                   SELECT id FROM collector_log_errors WHERE collector = $1 \
                   ORDER BY id DESC LIMIT 1 OFFSET $2)",
            )
            .bind(text(collector))
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
             WHERE $1::TEXT IS NULL OR collector = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(text_opt(collector))
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
        // Upserts: a second writer of the same rows waits for the first and then replaces them.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO collector_git_commits (collector, commit_sha, committed_at_us, components) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (collector, commit_sha) DO UPDATE SET \
             committed_at_us = excluded.committed_at_us, components = excluded.components",
        )
        .bind(text(collector))
        .bind(text(&commit.commit))
        .bind(to_us(commit.committed_at))
        .bind(text(&components).into_owned())
        .execute(&mut *tx)
        .await?;
        for c in counts {
            sqlx::query(
                "INSERT INTO collector_git_counts \
                 (collector, commit_sha, pattern_key, component, matches) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (collector, commit_sha, pattern_key) DO UPDATE SET \
                 component = excluded.component, matches = excluded.matches",
            )
            .bind(text(collector))
            .bind(text(&c.commit))
            .bind(text(&c.pattern_key))
            .bind(text(&c.component))
            .bind(c.matches)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The commits a git collector has walked, oldest first (of one time, the first stored
    /// first, as SQLite's rowid orders them).
    async fn git_commits(&self, collector: &str) -> Result<Vec<GitCommitRecord>> {
        let rows = sqlx::query(
            "SELECT commit_sha, committed_at_us, components FROM collector_git_commits \
             WHERE collector = $1 ORDER BY committed_at_us, id",
        )
        .bind(text(collector))
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

    /// Every pattern count a git collector has stored, by commit and pattern (the order of
    /// SQLite's primary key, which its lookup reads).
    async fn git_counts(&self, collector: &str) -> Result<Vec<GitCountRecord>> {
        let rows = sqlx::query(
            "SELECT commit_sha, pattern_key, component, matches FROM collector_git_counts \
             WHERE collector = $1 ORDER BY commit_sha COLLATE \"C\", pattern_key COLLATE \"C\"",
        )
        .bind(text(collector))
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

    /// The files a test reports collector has read, by name (in byte order, as SQLite sorts).
    async fn seen_files(&self, collector: &str) -> Result<Vec<SeenFileRecord>> {
        let rows = sqlx::query(
            "SELECT name, size, modified_us, error FROM collector_files WHERE collector = $1 \
             ORDER BY name COLLATE \"C\"",
        )
        .bind(text(collector))
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
        sqlx::query(
            "INSERT INTO collector_files (collector, name, size, modified_us, error, recorded_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (collector, name) DO UPDATE SET \
             size = excluded.size, modified_us = excluded.modified_us, error = excluded.error, \
             recorded_at_us = excluded.recorded_at_us",
        )
        .bind(text(collector))
        .bind(text(&file.name))
        .bind(file.size)
        .bind(to_us(file.modified))
        .bind(text_opt(file.error.as_deref()))
        .bind(to_us(at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A value a collector kept under `key`.
    async fn collector_value(&self, collector: &str, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT value FROM collector_state WHERE collector = $1 AND key = $2",
        )
        .bind(text(collector))
        .bind(text(key))
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps `value` under `key` for a collector, replacing the previous one.
    async fn set_collector_value(&self, collector: &str, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO collector_state (collector, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (collector, key) DO UPDATE SET value = excluded.value",
        )
        .bind(text(collector))
        .bind(text(key))
        .bind(text(value))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
