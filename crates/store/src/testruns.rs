//! A test run stored while its reports are read: the cases are written in batches as they
//! come, inside one transaction, so storing a report of any size takes memory for one batch,
//! and a report refused half-way stores nothing.

use mhd_core::testrun::{TestCase, Totals};
use time::OffsetDateTime;

use sqlx::AssertSqlSafe;

use crate::records::{CASES_PER_STATEMENT, check_case, check_run_names, insert_cases};
use crate::sqlite::{WriteTx, to_us};
use crate::{Result, SqliteStore};

/// The page cache of a test run's transaction, in KiB (SQLite's negative `cache_size`).
const SPILL_CACHE_KIB: i64 = -4096;

/// A test run being written. Nothing of it is visible before [`TestRunWriter::finish`];
/// dropped without it (or after an error), it is rolled back.
pub struct TestRunWriter {
    store: SqliteStore,
    tx: WriteTx,
    /// The connection's page cache setting, put back once the run is stored.
    cache_size: i64,
    id: i64,
    totals: Totals,
    /// The sum of the cases' times (missing, negative and non-finite ones count as 0).
    case_seconds: f64,
}

/// What [`TestRunWriter::finish`] stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredRun {
    /// The run's id.
    pub id: i64,
    /// Its cases counted by status.
    pub totals: Totals,
    /// Its duration in seconds, as [`mhd_core::testrun::TestRun::duration_of`] makes it.
    pub duration: f64,
}

impl SqliteStore {
    /// Starts writing a run of `suite` (holding the store's write lock until it is finished
    /// or dropped); `source` names the reports it comes from.
    pub async fn test_run_writer(
        &self,
        suite: &str,
        phase: Option<&str>,
        component: Option<&str>,
        source: Option<&str>,
    ) -> Result<TestRunWriter> {
        check_run_names(suite, phase, component)?;
        let mut tx = WriteTx::begin(self).await?;
        // The transaction's pages spill to the write-ahead log past a few MiB instead of
        // filling a command's large cache, so memory does not grow with the report.
        let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(AssertSqlSafe(format!(
            "PRAGMA cache_size = {SPILL_CACHE_KIB}"
        )))
        .execute(&mut *tx)
        .await?;
        // Its time and totals are set by `finish`, once every case is known.
        let id: i64 = self.noted(
            sqlx::query_scalar(
                "INSERT INTO test_runs (suite, phase, component, run_at_us, duration, total, \
                 passed, failed, errors, skipped, source) \
                 VALUES (?, ?, ?, 0, 0, 0, 0, 0, 0, 0, ?) RETURNING id",
            )
            .bind(suite)
            .bind(phase)
            .bind(component)
            .bind(source)
            .fetch_one(&mut *tx)
            .await
            .map_err(Into::into),
        )?;
        Ok(TestRunWriter {
            store: self.clone(),
            tx,
            cache_size,
            id,
            totals: Totals::default(),
            case_seconds: 0.0,
        })
    }
}

impl TestRunWriter {
    /// Writes the next cases of the run. A case out of the store's limits is refused with
    /// its index in the whole run; the run is then to be dropped.
    pub async fn add(&mut self, cases: &[TestCase]) -> Result<()> {
        let first = self.totals.total;
        for (i, c) in cases.iter().enumerate() {
            check_case(first as usize + i, c)?;
        }
        for chunk in cases.chunks(CASES_PER_STATEMENT) {
            let written = insert_cases(&mut self.tx, self.id, chunk).await;
            self.store.noted(written)?;
        }
        let batch = Totals::of(cases);
        self.totals.total += batch.total;
        self.totals.passed += batch.passed;
        self.totals.failed += batch.failed;
        self.totals.errors += batch.errors;
        self.totals.skipped += batch.skipped;
        self.case_seconds += cases
            .iter()
            .filter_map(|c| c.time)
            .filter(|t| t.is_finite() && *t > 0.0)
            .sum::<f64>();
        Ok(())
    }

    /// Sets the run's time and totals and commits it. `report_time` is the reports' own
    /// duration (the larger of it and the cases' sum is the run's).
    pub async fn finish(
        mut self,
        run_at: OffsetDateTime,
        report_time: Option<f64>,
    ) -> Result<StoredRun> {
        let report = report_time
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(0.0);
        let duration = self.case_seconds.max(report);
        let t = self.totals;
        let updated = sqlx::query(
            "UPDATE test_runs SET run_at_us = ?, duration = ?, total = ?, passed = ?, \
             failed = ?, errors = ?, skipped = ? WHERE id = ?",
        )
        .bind(to_us(run_at))
        .bind(duration)
        .bind(t.total as i64)
        .bind(t.passed as i64)
        .bind(t.failed as i64)
        .bind(t.errors as i64)
        .bind(t.skipped as i64)
        .bind(self.id)
        .execute(&mut *self.tx)
        .await
        .map(drop)
        .map_err(Into::into);
        self.store.noted(updated)?;
        let store = self.store.clone();
        let mut conn = store.noted(self.tx.commit_keeping().await)?;
        sqlx::query(AssertSqlSafe(format!(
            "PRAGMA cache_size = {}",
            self.cache_size
        )))
        .execute(&mut *conn)
        .await?;
        Ok(StoredRun {
            id: self.id,
            totals: t,
            duration,
        })
    }
}
