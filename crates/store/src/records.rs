//! The SQLite queries for test runs, benchmark samples, samples and the analysis inputs read
//! from operations. `SqliteStore`'s `Store` methods call these.

use std::collections::{BTreeMap, HashMap};

use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, System};
use sqlx::{Row, SqlitePool};
use time::{Date, OffsetDateTime};

use crate::sqlite::{WriteTx, from_us, to_us};
use crate::{ComponentWindow, DatasetProgress, Result, StoreError};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;

fn status_name(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::Error => "error",
        TestStatus::Skipped => "skipped",
    }
}

fn status_from(s: &str) -> TestStatus {
    match s {
        "passed" => TestStatus::Passed,
        "failed" => TestStatus::Failed,
        "error" => TestStatus::Error,
        _ => TestStatus::Skipped,
    }
}

pub(crate) async fn insert_test_run(
    store: &crate::sqlite::SqliteStore,
    run: &TestRun,
    source: Option<&str>,
) -> Result<i64> {
    check_test_run(run)?;
    let t = run.totals();
    let mut tx = WriteTx::begin(store).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO test_runs (suite, phase, component, run_at_us, duration, total, passed, \
         failed, errors, skipped, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(run.suite.clone())
    .bind(run.phase.clone())
    .bind(run.component.clone())
    .bind(to_us(run.run_at))
    .bind(run.duration)
    .bind(t.total as i64)
    .bind(t.passed as i64)
    .bind(t.failed as i64)
    .bind(t.errors as i64)
    .bind(t.skipped as i64)
    .bind(source.map(str::to_owned))
    .fetch_one(&mut *tx)
    .await?;
    for chunk in run.cases.chunks(CASES_PER_STATEMENT) {
        insert_cases(&mut tx, id, chunk).await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Test cases written by one statement.
pub(crate) const CASES_PER_STATEMENT: usize = 4096;

/// Writes `cases` (at most [`CASES_PER_STATEMENT`]) as cases of the run `id`.
pub(crate) async fn insert_cases(
    conn: &mut sqlx::SqliteConnection,
    id: i64,
    cases: &[TestCase],
) -> Result<()> {
    let mut sql = String::from(
        "INSERT INTO test_cases (run_id, name, classname, status, time, message) VALUES ",
    );
    sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; cases.len()].join(","));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for c in cases {
        q = q
            .bind(id)
            .bind(c.name.clone())
            .bind(c.classname.clone())
            .bind(status_name(c.status))
            .bind(c.time)
            .bind(c.message.clone());
    }
    q.execute(conn).await?;
    Ok(())
}

/// The input limits of a test run: its suite, phase and component are names; each case's
/// name and class name are names, its message a text, its time seconds ≥ 0.
pub(crate) fn check_test_run(run: &TestRun) -> Result<()> {
    check_run_names(&run.suite, run.phase.as_deref(), run.component.as_deref())?;
    for (i, c) in run.cases.iter().enumerate() {
        check_case(i, c)?;
    }
    Ok(())
}

fn invalid(index: usize, field: &'static str, message: String) -> StoreError {
    StoreError::Invalid {
        index,
        source: mhd_core::OperationError::field(field, message),
    }
}

/// A run's suite, phase and component are names.
pub(crate) fn check_run_names(
    suite: &str,
    phase: Option<&str>,
    component: Option<&str>,
) -> Result<()> {
    use mhd_core::limits::check_name;
    check_name(suite, true).map_err(|m| invalid(0, "suite", m))?;
    for (field, v) in [("phase", phase), ("component", component)] {
        if let Some(v) = v {
            check_name(v, true).map_err(|m| invalid(0, field, m))?;
        }
    }
    Ok(())
}

/// The case at `index` of its run: its name and class name are names, its message a text,
/// its time seconds ≥ 0.
pub(crate) fn check_case(index: usize, c: &TestCase) -> Result<()> {
    use mhd_core::limits::{check_duration, check_name, check_text};
    check_name(&c.name, false).map_err(|m| invalid(index, "name", m))?;
    if let Some(v) = &c.classname {
        check_name(v, false).map_err(|m| invalid(index, "classname", m))?;
    }
    if let Some(v) = &c.message {
        check_text(v).map_err(|m| invalid(index, "message", m))?;
    }
    if let Some(t) = c.time {
        check_duration(t, "seconds").map_err(|m| invalid(index, "time", m))?;
    }
    Ok(())
}

pub(crate) async fn recent_test_runs(
    pool: &SqlitePool,
    per_suite: u32,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
) -> Result<Vec<TestRun>> {
    let (since_us, until_us) = (since.map_or(i64::MIN, to_us), until.map_or(i64::MAX, to_us));
    // Each suite's newest runs by the (suite, run_at_us) index: a few rows per suite read,
    // however many runs are stored.
    let suites: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT suite FROM test_runs ORDER BY suite")
            .fetch_all(pool)
            .await?;
    let mut runs = Vec::new();
    for suite in &suites {
        let mut newest = sqlx::query(
            "SELECT id, suite, phase, component, run_at_us, duration FROM test_runs \
             WHERE suite = ? AND run_at_us >= ? AND run_at_us < ? \
             ORDER BY run_at_us DESC, id DESC LIMIT ?",
        )
        .bind(suite)
        .bind(since_us)
        .bind(until_us)
        .bind(i64::from(per_suite))
        .fetch_all(pool)
        .await?;
        newest.reverse();
        runs.extend(newest);
    }
    let mut out = Vec::with_capacity(runs.len());
    let mut index: HashMap<i64, usize> = HashMap::new();
    for r in &runs {
        index.insert(r.try_get("id")?, out.len());
        out.push(TestRun {
            suite: r.try_get("suite")?,
            phase: r.try_get("phase")?,
            component: r.try_get("component")?,
            run_at: from_us(r.try_get("run_at_us")?),
            duration: r.try_get("duration")?,
            cases: Vec::new(),
        });
    }
    let ids: Vec<i64> = index.keys().copied().collect();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT run_id, name, classname, status, time, message FROM test_cases \
             WHERE run_id IN ({}) ORDER BY rowid",
            vec!["?"; chunk.len()].join(",")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for r in q.fetch_all(pool).await? {
            let run_id: i64 = r.try_get("run_id")?;
            let status: String = r.try_get("status")?;
            if let Some(i) = index.get(&run_id) {
                out[*i].cases.push(TestCase {
                    name: r.try_get("name")?,
                    classname: r.try_get("classname")?,
                    status: status_from(&status),
                    time: r.try_get("time")?,
                    message: r.try_get("message")?,
                });
            }
        }
    }
    Ok(out)
}

pub(crate) async fn insert_benchmarks(
    store: &crate::sqlite::SqliteStore,
    samples: &[BenchmarkSamples],
    source: Option<&str>,
    at: OffsetDateTime,
) -> Result<u64> {
    check_benchmarks(samples)?;
    let mut tx = WriteTx::begin(store).await?;
    let batch: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(batch), 0) + 1 FROM benchmark_samples")
            .fetch_one(&mut *tx)
            .await?;
    let mut n = 0u64;
    for s in samples {
        for chunk in s.values_ms.chunks(2048) {
            let mut sql = String::from(
                "INSERT INTO benchmark_samples (batch, recorded_at_us, operation, system, component, \
                 value_ms, source) VALUES ",
            );
            sql.push_str(&vec!["(?, ?, ?, ?, ?, ?, ?)"; chunk.len()].join(","));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in chunk {
                q = q
                    .bind(batch)
                    .bind(to_us(at))
                    .bind(s.operation.clone())
                    .bind(s.system.as_str())
                    .bind(s.component.clone())
                    .bind(*v)
                    .bind(source.map(str::to_owned));
            }
            q.execute(&mut *tx).await?;
            n += chunk.len() as u64;
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// Checks every series of a benchmark batch, naming the first bad one by its index.
pub(crate) fn check_benchmarks(samples: &[BenchmarkSamples]) -> Result<()> {
    for (index, s) in samples.iter().enumerate() {
        let invalid = |field, message| StoreError::Invalid {
            index,
            source: mhd_core::OperationError::field(field, message),
        };
        mhd_core::limits::check_name(&s.operation, true).map_err(|m| invalid("operation", m))?;
        if let Some(c) = &s.component {
            mhd_core::limits::check_name(c, true).map_err(|m| invalid("component", m))?;
        }
        if let Some(v) = s.values_ms.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(StoreError::Invalid {
                index,
                source: mhd_core::OperationError::field(
                    "values_ms",
                    format!("{v} is not a time ≥ 0"),
                ),
            });
        }
    }
    Ok(())
}

pub(crate) async fn latest_benchmarks(pool: &SqlitePool) -> Result<Vec<BenchmarkSamples>> {
    let rows = sqlx::query(
        "SELECT b.operation, b.system, b.component, b.value_ms FROM benchmark_samples b \
         JOIN (SELECT operation, system, component, MAX(batch) AS batch FROM benchmark_samples \
               GROUP BY operation, system, component) latest \
           ON b.operation = latest.operation AND b.system = latest.system \
          AND b.component IS latest.component AND b.batch = latest.batch \
         ORDER BY b.operation, b.system, b.component, b.rowid",
    )
    .fetch_all(pool)
    .await?;
    let mut out: Vec<BenchmarkSamples> = Vec::new();
    for r in rows {
        let operation: String = r.try_get("operation")?;
        let system: String = r.try_get("system")?;
        let system = if system == "old" {
            System::Old
        } else {
            System::New
        };
        let component: Option<String> = r.try_get("component")?;
        let v: f64 = r.try_get("value_ms")?;
        match out.last_mut() {
            Some(last)
                if last.operation == operation
                    && last.system == system
                    && last.component == component =>
            {
                last.values_ms.push(v)
            }
            _ => out.push(BenchmarkSamples {
                operation,
                system,
                component,
                values_ms: vec![v],
            }),
        }
    }
    Ok(out)
}

/// Successful migrations minus successful rollbacks on each UTC day from `from`, `days` days.
pub(crate) async fn daily_migration_net(
    pool: &SqlitePool,
    from: Date,
    days: u32,
) -> Result<Vec<i64>> {
    let start = to_us(from.midnight().assume_utc());
    let end = start + i64::from(days) * DAY_US;
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT hour, metric_type, success_count FROM operation_rollup \
         WHERE metric_type IN ('migration', 'rollback') AND hour >= ? AND hour < ?",
    )
    .bind(start / HOUR_US)
    .bind(end / HOUR_US)
    .fetch_all(pool)
    .await?;
    let mut net = vec![0i64; days as usize];
    for (hour, ty, ok) in rows {
        let day = ((hour * HOUR_US - start) / DAY_US) as usize;
        if let Some(d) = net.get_mut(day) {
            *d += if ty == "migration" { ok } else { -ok };
        }
    }
    Ok(net)
}

pub(crate) async fn dataset_progress(pool: &SqlitePool) -> Result<Vec<DatasetProgress>> {
    let rows = sqlx::query(
        "SELECT component, COUNT(*) AS seen, \
         SUM(last_migrated_us IS NOT NULL AND (last_rollback_us IS NULL OR last_migrated_us > last_rollback_us)) AS migrated \
         FROM datasets GROUP BY component ORDER BY component",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DatasetProgress {
                component: r.try_get("component")?,
                seen: r.try_get::<i64, _>("seen")? as u64,
                migrated: r.try_get::<Option<i64>, _>("migrated")?.unwrap_or(0) as u64,
            })
        })
        .collect()
}

pub(crate) async fn migrated_datasets(pool: &SqlitePool) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM datasets WHERE last_migrated_us IS NOT NULL \
         AND (last_rollback_us IS NULL OR last_migrated_us > last_rollback_us) ORDER BY name",
    )
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn first_success_by_name(
    pool: &SqlitePool,
    metric_type: &str,
) -> Result<Vec<(String, OffsetDateTime)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT operation, MIN(timestamp_us) FROM operations \
         WHERE metric_type = ? AND success = 1 GROUP BY operation ORDER BY operation",
    )
    .bind(metric_type.to_owned())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(n, t)| (n, from_us(t))).collect())
}

/// Each component's operations per system over the hours from `since`'s to `until`'s, from
/// the hourly rollup kept with every write (a window of days reads a few thousand rows).
pub(crate) async fn component_windows(
    pool: &SqlitePool,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<ComponentWindow>> {
    let hour = |t: OffsetDateTime| to_us(t).div_euclid(crate::sqlite::HOUR_US);
    let rows: Vec<ComponentHour> = sqlx::query_as(
        "SELECT component, system, count, failures, durations FROM component_rollup \
         WHERE hour >= ? AND hour <= ?",
    )
    .bind(hour(since))
    .bind(hour(until - time::Duration::microseconds(1)))
    .fetch_all(pool)
    .await?;
    Ok(windows_of(rows))
}

pub(crate) async fn operations_between(
    pool: &SqlitePool,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Vec<NewOperation>> {
    let rows = sqlx::query(
        "SELECT timestamp_us, metric_type, operation, dataset_name, component, system, duration_ms, \
         success, row_count FROM operations WHERE timestamp_us >= ? AND timestamp_us < ? \
         ORDER BY timestamp_us, id",
    )
    .bind(to_us(since))
    .bind(to_us(until))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let system: Option<String> = r.try_get("system")?;
            let mut op = NewOperation::new(from_us(r.try_get("timestamp_us")?), "", "");
            op.metric_type = r.try_get("metric_type")?;
            op.operation = r.try_get("operation")?;
            op.dataset_name = r.try_get("dataset_name")?;
            op.component = r.try_get("component")?;
            op.system = system.and_then(|s| s.parse().ok());
            op.duration_ms = r.try_get("duration_ms")?;
            op.success = r.try_get("success")?;
            op.row_count = r.try_get("row_count")?;
            Ok(op)
        })
        .collect()
}

/// Migration counts from the operations before `until` alone (for questions "as of" a date;
/// slower than the kept counts, as it reads the migration and rollback operations).
pub(crate) async fn migration_counts_until(
    pool: &SqlitePool,
    until: OffsetDateTime,
) -> Result<crate::MigrationCounts> {
    let until = to_us(until);
    let (attempts, successes, rollbacks): (i64, Option<i64>, i64) = sqlx::query_as(
        "SELECT COUNT(*) FILTER (WHERE metric_type = 'migration'), \
                SUM(success) FILTER (WHERE metric_type = 'migration'), \
                COUNT(*) FILTER (WHERE metric_type = 'rollback') \
         FROM operations WHERE metric_type IN ('migration', 'rollback') AND timestamp_us < ?",
    )
    .bind(until)
    .fetch_one(pool)
    .await?;
    let migrated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ( \
           SELECT dataset_id, MAX(CASE WHEN metric_type = 'migration' THEN timestamp_us END) AS m, \
                  MAX(CASE WHEN metric_type = 'rollback' THEN timestamp_us END) AS r \
           FROM operations \
           WHERE metric_type IN ('migration', 'rollback') AND success = 1 AND timestamp_us < ? \
             AND dataset_id IS NOT NULL \
           GROUP BY dataset_id) \
         WHERE m IS NOT NULL AND (r IS NULL OR m > r)",
    )
    .bind(until)
    .fetch_one(pool)
    .await?;
    Ok(crate::MigrationCounts {
        datasets_migrated: migrated as u64,
        attempts: attempts as u64,
        successes: successes.unwrap_or(0) as u64,
        rollbacks: rollbacks as u64,
    })
}

/// Rows per multi-row INSERT of samples: 4096 rows × 6 columns stays below SQLite's limit of
/// 32766 variables.
const SAMPLE_CHUNK: usize = 4096;

/// A sample's labels as stored: canonical JSON (keys sorted), NULL when there are none, so that
/// equal label sets are equal texts.
pub(crate) fn labels_text(labels: &BTreeMap<String, String>) -> Option<String> {
    (!labels.is_empty()).then(|| serde_json::to_string(labels).unwrap_or_default())
}

pub(crate) async fn insert_samples(
    store: &crate::sqlite::SqliteStore,
    samples: &[Sample],
) -> Result<u64> {
    for (index, s) in samples.iter().enumerate() {
        s.validate()
            .map_err(|source| StoreError::Invalid { index, source })?;
    }
    if samples.is_empty() {
        return Ok(0);
    }
    let mut tx = WriteTx::begin(store).await?;
    for chunk in samples.chunks(SAMPLE_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO samples (timestamp_us, metric, value, unit, component, labels) VALUES ",
        );
        sql.push_str(&vec!["(?, ?, ?, ?, ?, ?)"; chunk.len()].join(","));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in chunk {
            q = q
                .bind(to_us(s.timestamp))
                .bind(s.metric.clone())
                .bind(s.value)
                .bind(s.unit.clone())
                .bind(s.component.clone())
                .bind(labels_text(&s.labels));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(samples.len() as u64)
}

/// The newest sample of each (metric, component, labels) at or after `since`, ordered by
/// metric, component and labels. The metrics are found by skipping through the index on
/// (metric, timestamp_us), so that each is read from `since` on only.
pub(crate) async fn latest_samples(
    pool: &SqlitePool,
    since: OffsetDateTime,
) -> Result<Vec<Sample>> {
    let rows = sqlx::query(
        "WITH RECURSIVE metrics(metric) AS ( \
           SELECT MIN(metric) FROM samples \
           UNION ALL \
           SELECT (SELECT MIN(s.metric) FROM samples s WHERE s.metric > metrics.metric) \
           FROM metrics WHERE metrics.metric IS NOT NULL) \
         SELECT timestamp_us, metric, value, unit, component, labels FROM ( \
           SELECT *, ROW_NUMBER() OVER ( \
               PARTITION BY metric, component, COALESCE(labels, '{}') \
               ORDER BY timestamp_us DESC, rowid DESC) AS rn \
           FROM samples \
           WHERE metric IN (SELECT metric FROM metrics WHERE metric IS NOT NULL) \
             AND timestamp_us >= ?) \
         WHERE rn = 1 ORDER BY metric, component, labels",
    )
    .bind(to_us(since))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let labels: Option<String> = r.try_get("labels")?;
            Ok(Sample {
                timestamp: from_us(r.try_get("timestamp_us")?),
                metric: r.try_get("metric")?,
                value: r.try_get("value")?,
                unit: r.try_get("unit")?,
                component: r.try_get("component")?,
                labels: labels
                    .and_then(|l| serde_json::from_str(&l).ok())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Every dataset with what its state is read from: as kept (`until` = None), or as the
/// operations before `until` alone tell it.
pub(crate) async fn datasets(
    pool: &SqlitePool,
    until: Option<OffsetDateTime>,
) -> Result<Vec<mhd_core::datasets::StoredDataset>> {
    let rows = match until {
        None => {
            sqlx::query(
                "SELECT name, component, first_seen_us, last_seen_us, last_type, last_started_us, \
                 last_attempt_us, last_attempt_ok, last_migrated_us, last_rollback_us, \
                 last_verified_us, last_verified_ok FROM datasets ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        }
        Some(until) => {
            // The same marks, from the operations before `until` (ties count as a success).
            sqlx::query(
                "WITH o AS (SELECT * FROM operations WHERE dataset_name IS NOT NULL AND timestamp_us < ?1), \
                 d AS (SELECT dataset_name AS name, MIN(timestamp_us) AS first_seen_us, \
                   MAX(timestamp_us) AS last_seen_us, \
                   MAX(CASE WHEN metric_type = 'migration_start' THEN timestamp_us END) AS last_started_us, \
                   MAX(CASE WHEN metric_type = 'migration' THEN timestamp_us END) AS last_attempt_us, \
                   MAX(CASE WHEN metric_type = 'migration' AND success = 1 THEN timestamp_us END) AS last_migrated_us, \
                   MAX(CASE WHEN metric_type = 'rollback' AND success = 1 THEN timestamp_us END) AS last_rollback_us, \
                   MAX(CASE WHEN metric_type = 'verification' THEN timestamp_us END) AS last_verified_us \
                   FROM o GROUP BY dataset_name) \
                 SELECT d.*, \
                   (SELECT component FROM o WHERE o.dataset_name = d.name AND component IS NOT NULL \
                    ORDER BY timestamp_us DESC, id DESC LIMIT 1) AS component, \
                   (SELECT metric_type FROM o WHERE o.dataset_name = d.name AND timestamp_us = d.last_seen_us \
                    ORDER BY id DESC LIMIT 1) AS last_type, \
                   (SELECT MAX(success) FROM o WHERE o.dataset_name = d.name AND metric_type = 'migration' \
                    AND timestamp_us = d.last_attempt_us) AS last_attempt_ok, \
                   (SELECT MAX(success) FROM o WHERE o.dataset_name = d.name AND metric_type = 'verification' \
                    AND timestamp_us = d.last_verified_us) AS last_verified_ok \
                 FROM d ORDER BY name",
            )
            .bind(to_us(until))
            .fetch_all(pool)
            .await?
        }
    };
    let mark = |r: &sqlx::sqlite::SqliteRow, col: &str| -> Result<Option<OffsetDateTime>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(from_us))
    };
    rows.iter()
        .map(|r| {
            let flag =
                |t: Option<OffsetDateTime>, col: &str| -> Result<Option<(OffsetDateTime, bool)>> {
                    let ok: Option<bool> = r.try_get(col)?;
                    Ok(t.map(|t| (t, ok.unwrap_or(false))))
                };
            Ok(mhd_core::datasets::StoredDataset {
                name: r.try_get("name")?,
                component: r.try_get("component")?,
                first_seen: from_us(r.try_get("first_seen_us")?),
                last_seen: from_us(r.try_get("last_seen_us")?),
                last_type: r.try_get("last_type")?,
                marks: mhd_core::datasets::DatasetMarks {
                    last_started: mark(r, "last_started_us")?,
                    last_attempt: flag(mark(r, "last_attempt_us")?, "last_attempt_ok")?,
                    last_migrated: mark(r, "last_migrated_us")?,
                    last_rollback: mark(r, "last_rollback_us")?,
                    last_verified: flag(mark(r, "last_verified_us")?, "last_verified_ok")?,
                },
            })
        })
        .collect()
}

/// Every day's migration counts per component, up to (and including) the day of `until`.
pub(crate) async fn migration_days(
    pool: &SqlitePool,
    until: Option<OffsetDateTime>,
) -> Result<(Vec<mhd_core::history::MigrationDay>, crate::MigrationCounts)> {
    let last_day = until.map_or(i64::MAX, |u| to_us(u).div_euclid(crate::sqlite::DAY_US));
    let rows: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT day, component, attempts, migrations, rollback_ops, rollbacks \
         FROM migration_days WHERE day <= ? ORDER BY day, component",
    )
    .bind(last_day)
    .fetch_all(pool)
    .await?;
    Ok(days_and_counts(rows))
}

/// The overall status kept over time, if any.
/// The days of `migration_days` rows, with the counts they add up to.
pub(crate) fn days_and_counts(
    rows: Vec<(i64, String, i64, i64, i64, i64)>,
) -> (Vec<mhd_core::history::MigrationDay>, crate::MigrationCounts) {
    let mut counts = crate::MigrationCounts::default();
    let days = rows
        .into_iter()
        .filter_map(
            |(day, component, attempts, migrations, rollback_ops, rollbacks)| {
                counts.attempts += attempts as u64;
                counts.successes += migrations as u64;
                counts.rollbacks += rollback_ops as u64;
                // Day 0 is 1970-01-01, Julian day 2,440,588.
                let date = Date::from_julian_day(i32::try_from(day + 2_440_588).ok()?).ok()?;
                Some(mhd_core::history::MigrationDay {
                    day: date,
                    component: (!component.is_empty()).then_some(component),
                    migrations: migrations as u64,
                    rollbacks: rollbacks as u64,
                })
            },
        )
        .collect();
    (days, counts)
}

pub(crate) async fn health_state(
    pool: &SqlitePool,
) -> Result<Option<mhd_core::health::HealthState>> {
    /// shown, since, pending, pending since, updated.
    type Row = (String, i64, Option<String>, Option<i64>, i64);
    let row: Option<Row> = sqlx::query_as(
        "SELECT shown, since_us, pending, pending_since_us, updated_us FROM health_state \
         WHERE id = 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(health_from_row).transpose()
}

/// Keeps the overall status.
/// The overall status kept, from its row.
pub(crate) fn health_from_row(
    (shown, since, pending, pending_since, updated): (
        String,
        i64,
        Option<String>,
        Option<i64>,
        i64,
    ),
) -> Result<mhd_core::health::HealthState> {
    use mhd_core::summary::Health;
    let health = |s: &str| {
        Health::from_name(s).ok_or_else(|| StoreError::Foreign {
            path: "health_state".to_owned(),
            reason: format!("unknown status {s:?}"),
        })
    };
    Ok(mhd_core::health::HealthState {
        shown: health(&shown)?,
        since: from_us(since),
        pending: match (pending, pending_since) {
            (Some(p), Some(at)) => Some((health(&p)?, from_us(at))),
            _ => None,
        },
        updated_at: from_us(updated),
    })
}

pub(crate) async fn save_health_state(
    store: &crate::sqlite::SqliteStore,
    s: &mhd_core::health::HealthState,
) -> Result<()> {
    store.write_one(sqlx::query(
        "INSERT INTO health_state (id, shown, since_us, pending, pending_since_us, updated_us) \
         VALUES (1, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET shown = excluded.shown, \
         since_us = excluded.since_us, pending = excluded.pending, \
         pending_since_us = excluded.pending_since_us, updated_us = excluded.updated_us",
    )
    .bind(s.shown.as_str())
    .bind(to_us(s.since))
    .bind(s.pending.map(|p| p.0.as_str()))
    .bind(s.pending.map(|p| to_us(p.1)))
    .bind(to_us(s.updated_at)))
    .await?;
    Ok(())
}

/// One hour's row of `component_rollup`: component, system, count, failures, durations.
pub(crate) type ComponentHour = (String, String, i64, i64, Option<Vec<u8>>);

/// The hours' rows added up per component and system, in (component, system) order.
pub(crate) fn windows_of(rows: Vec<ComponentHour>) -> Vec<ComponentWindow> {
    let mut map: HashMap<(String, String), ComponentWindow> = HashMap::new();
    for (component, system, count, failures, durations) in rows {
        let w = map
            .entry((component.clone(), system.clone()))
            .or_insert_with(|| ComponentWindow {
                component,
                system: if system == "old" {
                    System::Old
                } else {
                    System::New
                },
                operations: 0,
                failures: 0,
                durations: mhd_core::sketch::Histogram::default(),
            });
        w.operations += count as u64;
        w.failures += failures as u64;
        if let Some(h) = durations
            .as_deref()
            .and_then(mhd_core::sketch::Histogram::decode)
        {
            w.durations.merge(&h);
        }
    }
    let mut out: Vec<ComponentWindow> = map.into_values().collect();
    out.sort_by(|a, b| (&a.component, a.system.as_str()).cmp(&(&b.component, b.system.as_str())));
    out
}
