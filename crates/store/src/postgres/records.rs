//! Operations, their rollups and the other records in PostgreSQL: the rules of the SQLite
//! store ([`crate::sqlite`], [`crate::records`]) in PostgreSQL's words.
//!
//! Several replicas may write at once. Each write is one transaction; the rollups it brings in
//! step are upserts that add to a row (`count = count + excluded.count`), which PostgreSQL
//! applies under the row's lock, so concurrent writers never lose each other's counts. The
//! rows are always touched in key order, so two writers never wait for each other in a
//! circle. A component's duration histogram cannot be added in SQL: its row is locked
//! (`FOR UPDATE`) while it is read, merged and written back.

use std::collections::{HashMap, HashSet};

use mhd_core::dashboard::Bucket;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::stats::{
    self, DatasetCounts, DatasetTypeStats, RecentError, StatsSummary, TypeTotals,
};
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_core::{NewOperation, Operation, System};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgConnection, Postgres, Row as _, Transaction};
use time::{Date, OffsetDateTime};

use super::PgStore;
use crate::import::ImportBatch;
use crate::sqlite::{
    COLUMNS, Chunk, DAY_US, DatasetIds, Deltas, HOUR_US, HourCounts, from_us, to_us, validate_all,
};
use crate::{
    ComponentWindow, DatasetProgress, ImportOutcome, MigrationCounts, OperationFilter, Result,
    Store, StoreError,
};

/// Batches of fewer operations go in with one INSERT: a COPY costs two more round trips, and
/// its last small message waits for the server's delayed acknowledgement (about 40 ms, as
/// the connection does not disable Nagle's algorithm), which a request would feel.
const COPY_FROM_OPS: usize = 1000;

/// Bytes of COPY rows sent at a time (about 1,500 operations).
const COPY_PIECE_BYTES: usize = 256 * 1024;

/// One field of a COPY row in text format: `\N` for nothing, else the text with backslash,
/// tab, line feed and carriage return escaped (and NUL, which PostgreSQL's text refuses,
/// replaced as everywhere else).
fn copy_field(out: &mut Vec<u8>, v: Option<&str>) {
    let Some(v) = v else {
        out.extend_from_slice(b"\\N");
        return;
    };
    for b in super::text(v).bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// One operation as a COPY row in the order of [`COLUMNS`].
fn copy_row(out: &mut Vec<u8>, op: &NewOperation, dataset_ids: &HashMap<String, i64>) {
    use std::io::Write as _;
    let _ = write!(out, "{}\t", to_us(op.timestamp));
    copy_field(out, Some(&op.metric_type));
    out.push(b'\t');
    copy_field(out, Some(&op.operation));
    out.push(b'\t');
    copy_field(out, op.dataset_name.as_deref());
    out.push(b'\t');
    copy_field(out, op.component.as_deref());
    out.push(b'\t');
    copy_field(out, op.system.map(System::as_str));
    out.push(b'\t');
    match op.duration_ms {
        Some(d) => {
            let _ = write!(out, "{d}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
    let _ = write!(out, "\t{}\t", i64::from(op.success));
    match op.row_count {
        Some(r) => {
            let _ = write!(out, "{r}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
    out.push(b'\t');
    copy_field(out, op.error_message.as_deref());
    out.push(b'\t');
    let metadata = op.metadata.as_ref().map(|m| m.to_string());
    copy_field(out, metadata.as_deref());
    out.push(b'\t');
    copy_field(out, op.import_key.as_deref());
    out.push(b'\t');
    match op.dataset_name.as_ref().and_then(|n| dataset_ids.get(n)) {
        Some(id) => {
            let _ = write!(out, "{id}");
        }
        None => out.extend_from_slice(b"\\N"),
    }
    out.push(b'\n');
}
/// Rows per multi-row upsert of rollups or datasets (13 columns at most).
const UPSERT_CHUNK: usize = 2000;

/// `$1, $2, …` placeholders for `rows` rows of `cols` columns, from `$first`.
fn placeholders(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push(',');
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push(',');
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Stores operations inside one open transaction, bringing the rollups in step on commit.
pub(crate) struct PgWriter {
    tx: Transaction<'static, Postgres>,
    deltas: Deltas,
    dataset_ids: HashMap<String, i64>,
    written: u64,
}

impl PgWriter {
    /// Validates and writes a batch; a batch with an invalid operation writes nothing.
    pub(crate) async fn write(&mut self, ops: &[NewOperation]) -> Result<()> {
        self.write_batch(ops, None).await
    }

    /// [`PgWriter::write`] of operations already checked, with what they add to the rollups
    /// already counted (an import's batch, made ready beside the store's work).
    pub(crate) async fn write_counted(
        &mut self,
        ops: &[NewOperation],
        deltas: Deltas,
    ) -> Result<()> {
        self.write_batch(ops, Some(deltas)).await
    }

    async fn write_batch(&mut self, ops: &[NewOperation], counted: Option<Deltas>) -> Result<()> {
        // Nothing counted before: the batch's count is the writer's, and nothing is counted
        // again below.
        let count = match counted {
            Some(deltas) if self.written == 0 => {
                self.deltas = deltas;
                false
            }
            _ => {
                validate_all(ops)?;
                true
            }
        };
        if ops.is_empty() {
            return Ok(());
        }
        self.resolve_dataset_ids(ops).await?;
        if ops.len() < COPY_FROM_OPS {
            self.insert_rows(ops).await?;
            if count {
                for op in ops {
                    self.deltas.count(op);
                }
            }
            self.written += ops.len() as u64;
            return Ok(());
        }
        // One COPY in PostgreSQL's text format, the fastest way in, in the same transaction;
        // the rows go out in pieces as they are encoded, so the server works on one piece while
        // the next is made. The rollups are counted on the way: should the COPY fail, the
        // transaction is aborted and never commits them.
        let mut copy = self
            .tx
            .copy_in_raw(&format!("COPY operations ({COLUMNS}) FROM STDIN"))
            .await?;
        let mut buf = Vec::with_capacity(COPY_PIECE_BYTES + 64 * 1024);
        for op in ops {
            copy_row(&mut buf, op, &self.dataset_ids);
            if count {
                self.deltas.count(op);
            }
            if buf.len() >= COPY_PIECE_BYTES {
                copy.send(buf.as_slice()).await?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            copy.send(buf.as_slice()).await?;
        }
        copy.finish().await?;
        self.written += ops.len() as u64;
        Ok(())
    }

    /// Writes a few operations with one INSERT, their columns as arrays, in their order.
    async fn insert_rows(&mut self, ops: &[NewOperation]) -> Result<()> {
        let text = |v: &str| super::text(v).into_owned();
        let opt = |v: Option<&str>| v.map(text);
        let ids = &self.dataset_ids;
        sqlx::query(
            "INSERT INTO operations (timestamp_us, metric_type, operation, dataset_name, \
             component, system, duration_ms, success, row_count, error_message, metadata, \
             import_key, dataset_id) \
             SELECT t, ty, o, dn, c, s, d, ok, rc, e, m, k, di FROM unnest($1::bigint[], \
             $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], \
             $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::bigint[]) \
             WITH ORDINALITY AS r(t, ty, o, dn, c, s, d, ok, rc, e, m, k, di, n) ORDER BY n",
        )
        .bind(ops.iter().map(|o| to_us(o.timestamp)).collect::<Vec<_>>())
        .bind(ops.iter().map(|o| text(&o.metric_type)).collect::<Vec<_>>())
        .bind(ops.iter().map(|o| text(&o.operation)).collect::<Vec<_>>())
        .bind(
            ops.iter()
                .map(|o| opt(o.dataset_name.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            ops.iter()
                .map(|o| opt(o.component.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            ops.iter()
                .map(|o| o.system.map(System::as_str))
                .collect::<Vec<_>>(),
        )
        .bind(ops.iter().map(|o| o.duration_ms).collect::<Vec<_>>())
        .bind(ops.iter().map(|o| i64::from(o.success)).collect::<Vec<_>>())
        .bind(ops.iter().map(|o| o.row_count).collect::<Vec<_>>())
        .bind(
            ops.iter()
                .map(|o| opt(o.error_message.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            ops.iter()
                .map(|o| o.metadata.as_ref().map(|m| text(&m.to_string())))
                .collect::<Vec<_>>(),
        )
        .bind(
            ops.iter()
                .map(|o| opt(o.import_key.as_deref()))
                .collect::<Vec<_>>(),
        )
        .bind(
            ops.iter()
                .map(|o| o.dataset_name.as_ref().and_then(|n| ids.get(n).copied()))
                .collect::<Vec<_>>(),
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Gives every dataset name of the batch its id, adding names seen for the first time.
    async fn resolve_dataset_ids(&mut self, ops: &[NewOperation]) -> Result<()> {
        let mut new: Vec<String> = ops
            .iter()
            .filter_map(|o| o.dataset_name.as_ref())
            .filter(|n| !self.dataset_ids.contains_key(n.as_str()))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        new.sort();
        sqlx::query(
            "INSERT INTO dataset_ids (name) SELECT unnest($1::text[]) ORDER BY 1 \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&new)
        .execute(&mut *self.tx)
        .await?;
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, id FROM dataset_ids WHERE name = ANY($1)")
                .bind(&new)
                .fetch_all(&mut *self.tx)
                .await?;
        self.dataset_ids.extend(rows);
        Ok(())
    }

    /// Makes everything written durable and visible, with the rollups brought in step.
    pub(crate) async fn commit(mut self) -> Result<u64> {
        self.settle().await?;
        self.tx.commit().await?;
        Ok(self.written)
    }

    /// Brings the rollups in step with what was written so far, inside the transaction: all
    /// of [`PgWriter::commit`] but the commit itself, which alone may leave it unknown whether
    /// the write was stored when the connection is lost.
    pub(crate) async fn settle(&mut self) -> Result<()> {
        let deltas = std::mem::take(&mut self.deltas);
        apply(&deltas, &mut self.tx).await
    }

    /// Drops everything written.
    pub(crate) async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}

/// Brings the rollups and the dataset table in step with what a transaction wrote, inside it.
async fn apply(d: &Deltas, conn: &mut PgConnection) -> Result<()> {
    let mut rollups: Vec<(i64, &str, &TypeTotals)> = Vec::new();
    for (ty, hours) in &d.rollups {
        rollups.extend(hours.iter().map(|(h, t)| (*h, ty.as_str(), t)));
    }
    rollups.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for part in rollups.chunks(UPSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO operation_rollup AS r (hour, metric_type, count, success_count, \
             success_duration_sum, success_duration_count) VALUES {} \
             ON CONFLICT (hour, metric_type) DO UPDATE SET \
             count = r.count + excluded.count, \
             success_count = r.success_count + excluded.success_count, \
             success_duration_sum = r.success_duration_sum + excluded.success_duration_sum, \
             success_duration_count = r.success_duration_count + excluded.success_duration_count",
            placeholders(part.len(), 6)
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
    let mut components: Vec<_> = d.components.iter().collect();
    components
        .sort_by(|a, b| (a.0.0, &a.0.1, a.0.2.as_str()).cmp(&(b.0.0, &b.0.1, b.0.2.as_str())));
    for part in components.chunks(UPSERT_CHUNK) {
        add_component_hours(conn, part).await?;
    }
    let mut days: Vec<_> = d.migration_days.iter().collect();
    days.sort_by(|a, b| a.0.cmp(b.0));
    for part in days.chunks(UPSERT_CHUNK) {
        let sql = format!(
            "INSERT INTO migration_days AS m (day, component, attempts, migrations, rollback_ops, \
             rollbacks) VALUES {} ON CONFLICT (day, component) DO UPDATE SET \
             attempts = m.attempts + excluded.attempts, \
             migrations = m.migrations + excluded.migrations, \
             rollback_ops = m.rollback_ops + excluded.rollback_ops, \
             rollbacks = m.rollbacks + excluded.rollbacks",
            placeholders(part.len(), 6)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((day, component), c) in part {
            q = q
                .bind(*day)
                .bind(component.clone())
                .bind(c.attempts)
                .bind(c.migrations)
                .bind(c.rollback_ops)
                .bind(c.rollbacks);
        }
        q.execute(&mut *conn).await?;
    }
    let mut datasets: Vec<_> = d.datasets.iter().collect();
    datasets.sort_by(|a, b| a.0.cmp(b.0));
    for part in datasets.chunks(UPSERT_CHUNK / 2) {
        // A (time, flag) mark replaces the stored one when it is later, or as late and a
        // success; `last_type` follows `last_seen_us` the same way. GREATEST and LEAST pass
        // over NULLs, as SQLite's max(coalesce(a, b), coalesce(b, a)) does.
        let sql = format!(
            "INSERT INTO datasets AS d (name, first_seen_us, last_seen_us, registered, \
             last_migrated_us, last_rollback_us, component, last_started_us, \
             last_attempt_us, last_attempt_ok, last_verified_us, last_verified_ok, last_type) \
             VALUES {} ON CONFLICT (name) DO UPDATE SET \
             first_seen_us = LEAST(d.first_seen_us, excluded.first_seen_us), \
             last_type = CASE WHEN excluded.last_seen_us >= d.last_seen_us \
                              THEN excluded.last_type ELSE d.last_type END, \
             last_seen_us = GREATEST(d.last_seen_us, excluded.last_seen_us), \
             registered = GREATEST(d.registered, excluded.registered), \
             last_migrated_us = GREATEST(d.last_migrated_us, excluded.last_migrated_us), \
             last_rollback_us = GREATEST(d.last_rollback_us, excluded.last_rollback_us), \
             last_started_us = GREATEST(d.last_started_us, excluded.last_started_us), \
             last_attempt_ok = CASE WHEN excluded.last_attempt_us IS NOT NULL AND \
                 (d.last_attempt_us IS NULL OR excluded.last_attempt_us > d.last_attempt_us OR \
                  (excluded.last_attempt_us = d.last_attempt_us AND excluded.last_attempt_ok > d.last_attempt_ok)) \
                 THEN excluded.last_attempt_ok ELSE d.last_attempt_ok END, \
             last_attempt_us = GREATEST(d.last_attempt_us, excluded.last_attempt_us), \
             last_verified_ok = CASE WHEN excluded.last_verified_us IS NOT NULL AND \
                 (d.last_verified_us IS NULL OR excluded.last_verified_us > d.last_verified_us OR \
                  (excluded.last_verified_us = d.last_verified_us AND excluded.last_verified_ok > d.last_verified_ok)) \
                 THEN excluded.last_verified_ok ELSE d.last_verified_ok END, \
             last_verified_us = GREATEST(d.last_verified_us, excluded.last_verified_us), \
             component = COALESCE(excluded.component, d.component)",
            placeholders(part.len(), 13)
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (name, d) in part {
            q = q
                .bind(name.to_string())
                .bind(d.first)
                .bind(d.last)
                .bind(i64::from(d.registered))
                .bind(d.last_migrated)
                .bind(d.last_rollback)
                .bind(d.component.clone())
                .bind(d.last_started)
                .bind(d.last_attempt.map(|a| a.0))
                .bind(d.last_attempt.map(|a| i64::from(a.1)))
                .bind(d.last_verified.map(|v| v.0))
                .bind(d.last_verified.map(|v| i64::from(v.1)))
                .bind(d.last_type.clone());
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Adds a batch of (hour, component, system) counts to `component_rollup`, keys in order, in
/// three statements whatever the batch's size: the rows missing are made (empty), every row of
/// the batch is read and locked (`FOR UPDATE`, in key order, so two writers never wait for
/// each other in a circle), and the counts and merged histograms are written back.
async fn add_component_hours(
    conn: &mut PgConnection,
    part: &[(&(i64, String, System), &HourCounts)],
) -> Result<()> {
    let hours: Vec<i64> = part.iter().map(|(k, _)| k.0).collect();
    let names: Vec<&str> = part.iter().map(|(k, _)| k.1.as_str()).collect();
    let systems: Vec<&str> = part.iter().map(|(k, _)| k.2.as_str()).collect();
    sqlx::query(
        "INSERT INTO component_rollup (hour, component, system, count, failures) \
         SELECT h, c, s, 0, 0 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(h, c, s) \
         ORDER BY h, c COLLATE \"C\", s COLLATE \"C\" \
         ON CONFLICT (hour, component, system) DO NOTHING",
    )
    .bind(&hours)
    .bind(&names)
    .bind(&systems)
    .execute(&mut *conn)
    .await?;
    let stored: Vec<(i64, String, String, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT r.hour, r.component, r.system, r.durations FROM component_rollup r \
         JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS k(h, c, s) \
         ON r.hour = k.h AND r.component = k.c AND r.system = k.s \
         ORDER BY r.hour, r.component COLLATE \"C\", r.system COLLATE \"C\" FOR UPDATE OF r",
    )
    .bind(&hours)
    .bind(&names)
    .bind(&systems)
    .fetch_all(&mut *conn)
    .await?;
    let stored: HashMap<(i64, String, String), Option<Vec<u8>>> = stored
        .into_iter()
        .map(|(h, c, s, d)| ((h, c, s), d))
        .collect();
    let mut counts = Vec::with_capacity(part.len());
    let mut failures = Vec::with_capacity(part.len());
    let mut durations = Vec::with_capacity(part.len());
    for ((hour, component, system), c) in part {
        let mut merged = c.durations.clone();
        if let Some(h) = stored
            .get(&(*hour, component.clone(), system.as_str().to_owned()))
            .and_then(|d| d.as_deref())
            .and_then(mhd_core::sketch::Histogram::decode)
        {
            merged.merge(&h);
        }
        counts.push(c.count);
        failures.push(c.failures);
        durations.push(merged.encode());
    }
    sqlx::query(
        "UPDATE component_rollup r SET count = r.count + k.n, failures = r.failures + k.f, \
         durations = k.d \
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], \
         $6::bytea[]) AS k(h, c, s, n, f, d) \
         WHERE r.hour = k.h AND r.component = k.c AND r.system = k.s",
    )
    .bind(&hours)
    .bind(&names)
    .bind(&systems)
    .bind(&counts)
    .bind(&failures)
    .bind(&durations)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

const SELECT_OPERATION: &str = "SELECT id, timestamp_us, metric_type, operation, dataset_name, \
    component, system, duration_ms, success, row_count, error_message, metadata, import_key \
    FROM operations";

fn operation_from_row(row: &PgRow) -> Result<Operation> {
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
            system: system.as_deref().and_then(|s| s.parse().ok()),
            duration_ms: row.try_get("duration_ms")?,
            success: row.try_get::<i64, _>("success")? != 0,
            row_count: row.try_get("row_count")?,
            error_message: row.try_get("error_message")?,
            metadata: metadata
                .map(|m| serde_json::from_str(&m).unwrap_or(serde_json::Value::String(m))),
            import_key: row.try_get("import_key")?,
        },
    })
}

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

impl PgStore {
    /// [`crate::Database::import_batch`] on PostgreSQL: keys kept narrow as on SQLite
    /// ([`crate::import::narrow_key`]), rows whose key is stored already (narrow, or whole as
    /// an earlier version kept it) skipped.
    pub(crate) async fn import_prepared(&self, batch: &mut ImportBatch) -> Result<ImportOutcome> {
        let mut w = self.writer().await?;
        let narrow: Vec<&str> = batch
            .ops
            .iter()
            .filter_map(|o| o.import_key.as_deref())
            .collect();
        let mut present: HashSet<String> = HashSet::new();
        for chunk in narrow.chunks(10_000) {
            let found: Vec<String> =
                sqlx::query_scalar("SELECT import_key FROM operations WHERE import_key = ANY($1)")
                    .bind(chunk)
                    .fetch_all(&mut *w.tx)
                    .await?;
            present.extend(found);
        }
        for chunk in batch.whole.chunks(10_000) {
            let found: Vec<String> =
                sqlx::query_scalar("SELECT import_key FROM operations WHERE import_key = ANY($1)")
                    .bind(chunk)
                    .fetch_all(&mut *w.tx)
                    .await?;
            present.extend(found.iter().map(|k| crate::import::narrow_key(k)));
        }
        let skipped = batch.skip_present(present);
        w.write_counted(&batch.ops, std::mem::take(&mut batch.deltas))
            .await?;
        let inserted = self.noted(w.commit().await)?;
        Ok(ImportOutcome { inserted, skipped })
    }

    /// A writer of operations in one transaction.
    pub(crate) async fn writer(&self) -> Result<PgWriter> {
        let tx = self.pool.begin().await?;
        Ok(PgWriter {
            tx,
            deltas: Deltas::default(),
            dataset_ids: HashMap::new(),
            written: 0,
        })
    }
}

impl Store for PgStore {
    async fn insert_operations(&self, ops: &[NewOperation]) -> Result<u64> {
        self.insert_operation_groups(&[ops]).await
    }

    async fn import_operations(&self, ops: &[NewOperation]) -> Result<ImportOutcome> {
        self.import_prepared(&mut ImportBatch::prepare(ops.to_vec())?)
            .await
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
        let mut q = sqlx::query(AssertSqlSafe(super::alerts::numbered(&sql)));
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
            "SELECT metric_type, SUM(count)::bigint AS count, SUM(success_count)::bigint AS ok, \
             SUM(success_duration_sum) AS dsum, SUM(success_duration_count)::bigint AS dn \
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
            sqlx::query_as("SELECT COUNT(*), SUM(registered)::bigint FROM datasets")
                .fetch_one(&mut *conn)
                .await?;
        let errors = sqlx::query(
            "SELECT timestamp_us, metric_type, operation, dataset_name, error_message \
             FROM operations WHERE success = 0 ORDER BY timestamp_us DESC, id DESC LIMIT $1",
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
             SUM(row_count)::bigint AS rows_total, SUM(1 - success)::bigint AS errors, \
             MAX(timestamp_us) AS last \
             FROM operations WHERE dataset_id = (SELECT id FROM dataset_ids WHERE name = $1) \
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM operations WHERE timestamp_us < $1")
            .bind(to_us(cutoff))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    async fn delete_before(&self, cutoff: OffsetDateTime) -> Result<u64> {
        let cut = to_us(cutoff);
        let cut_hour = cut.div_euclid(HOUR_US);
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query("DELETE FROM operations WHERE timestamp_us < $1")
            .bind(cut)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Hours wholly before the cutoff are gone; the cutoff's own hour is counted again.
        sqlx::query("DELETE FROM operation_rollup WHERE hour <= $1")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO operation_rollup (hour, metric_type, count, success_count, \
             success_duration_sum, success_duration_count) \
             SELECT $1, metric_type, COUNT(*), SUM(success)::bigint, \
             COALESCE(SUM(CASE WHEN success = 1 THEN duration_ms END), 0), \
             COUNT(CASE WHEN success = 1 THEN duration_ms END) \
             FROM operations WHERE timestamp_us >= $2 AND timestamp_us < $3 GROUP BY metric_type",
        )
        .bind(cut_hour)
        .bind(cut_hour * HOUR_US)
        .bind((cut_hour + 1) * HOUR_US)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM component_rollup WHERE hour < $1")
            .bind(cut_hour)
            .execute(&mut *tx)
            .await?;
        // Datasets keep their states and `migration_days` its history.
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
            "SELECT hour, SUM(count)::bigint, SUM(count - success_count)::bigint \
             FROM operation_rollup WHERE hour >= $1 AND hour < $2 GROUP BY hour",
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
        let (attempts, successes, rollbacks): (Option<i64>, Option<i64>, Option<i64>) =
            sqlx::query_as(
                "SELECT SUM(attempts)::bigint, SUM(migrations)::bigint, \
                 SUM(rollback_ops)::bigint FROM migration_days",
            )
            .fetch_one(&mut *conn)
            .await?;
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
        let until = to_us(until);
        let (attempts, successes, rollbacks): (i64, Option<i64>, i64) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE metric_type = 'migration'), \
                    SUM(success) FILTER (WHERE metric_type = 'migration')::bigint, \
                    COUNT(*) FILTER (WHERE metric_type = 'rollback') \
             FROM operations WHERE metric_type IN ('migration', 'rollback') AND timestamp_us < $1",
        )
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        let migrated: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ( \
               SELECT dataset_id, MAX(CASE WHEN metric_type = 'migration' THEN timestamp_us END) AS m, \
                      MAX(CASE WHEN metric_type = 'rollback' THEN timestamp_us END) AS r \
               FROM operations \
               WHERE metric_type IN ('migration', 'rollback') AND success = 1 AND timestamp_us < $1 \
                 AND dataset_id IS NOT NULL \
               GROUP BY dataset_id) per_dataset \
             WHERE m IS NOT NULL AND (r IS NULL OR m > r)",
        )
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        Ok(MigrationCounts {
            datasets_migrated: migrated as u64,
            attempts: attempts as u64,
            successes: successes.unwrap_or(0) as u64,
            rollbacks: rollbacks as u64,
        })
    }

    async fn insert_test_run(&self, run: &TestRun, source: Option<&str>) -> Result<i64> {
        crate::records::check_test_run(run)?;
        let t = run.totals();
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO test_runs (suite, phase, component, run_at_us, duration, total, \
                 passed, failed, errors, skipped, source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
            for chunk in run.cases.chunks(8192) {
                let sql = format!(
                    "INSERT INTO test_cases (run_id, name, classname, status, time, message) \
                     VALUES {}",
                    placeholders(chunk.len(), 6)
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for c in chunk {
                    q = q
                        .bind(id)
                        .bind(c.name.clone())
                        .bind(c.classname.clone())
                        .bind(status_name(c.status))
                        .bind(c.time)
                        .bind(c.message.clone());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(id)
        }
        .await;
        self.noted(outcome)
    }

    async fn recent_test_runs(&self, per_suite: u32) -> Result<Vec<TestRun>> {
        self.test_runs_between(None, None, per_suite).await
    }

    async fn test_runs_between(
        &self,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
        per_suite: u32,
    ) -> Result<Vec<TestRun>> {
        let runs = sqlx::query(
            "SELECT r.id, r.suite, r.phase, r.component, r.run_at_us, r.duration \
             FROM (SELECT DISTINCT suite FROM test_runs \
                   WHERE run_at_us >= $2 AND run_at_us < $3) s \
             CROSS JOIN LATERAL (SELECT * FROM test_runs t WHERE t.suite = s.suite \
                                 AND t.run_at_us >= $2 AND t.run_at_us < $3 \
                                 ORDER BY run_at_us DESC, id DESC LIMIT $1) r \
             ORDER BY r.suite, r.run_at_us, r.id",
        )
        .bind(i64::from(per_suite))
        .bind(since.map_or(i64::MIN, to_us))
        .bind(until.map_or(i64::MAX, to_us))
        .fetch_all(&self.pool)
        .await?;
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
        // Cases in the order they were stored (their physical order within one insert).
        let rows = sqlx::query(
            "SELECT run_id, name, classname, status, time, message FROM test_cases \
             WHERE run_id = ANY($1) ORDER BY run_id, ctid",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
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
        Ok(out)
    }

    async fn insert_benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<u64> {
        crate::records::check_benchmarks(samples)?;
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            // One batch number at a time across replicas.
            sqlx::query("LOCK TABLE benchmark_samples IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
            let batch: i64 =
                sqlx::query_scalar("SELECT COALESCE(MAX(batch), 0) + 1 FROM benchmark_samples")
                    .fetch_one(&mut *tx)
                    .await?;
            let mut n = 0u64;
            for s in samples {
                for chunk in s.values_ms.chunks(8192) {
                    let sql = format!(
                        "INSERT INTO benchmark_samples (batch, recorded_at_us, operation, system, \
                         component, value_ms, source) VALUES {}",
                        placeholders(chunk.len(), 7)
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql));
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
        .await;
        self.noted(outcome)
    }

    async fn latest_benchmarks(&self) -> Result<Vec<BenchmarkSamples>> {
        let rows = sqlx::query(
            "SELECT b.operation, b.system, b.component, b.value_ms FROM benchmark_samples b \
             JOIN (SELECT operation, system, component, MAX(batch) AS batch FROM benchmark_samples \
                   GROUP BY operation, system, component) latest \
               ON b.operation = latest.operation AND b.system = latest.system \
              AND b.component IS NOT DISTINCT FROM latest.component AND b.batch = latest.batch \
             ORDER BY b.operation, b.system, b.component, b.ctid",
        )
        .fetch_all(&self.pool)
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

    async fn daily_migration_net(&self, from: Date, days: u32) -> Result<Vec<i64>> {
        let start = to_us(from.midnight().assume_utc());
        let end = start + i64::from(days) * DAY_US;
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT hour, metric_type, success_count FROM operation_rollup \
             WHERE metric_type IN ('migration', 'rollback') AND hour >= $1 AND hour < $2",
        )
        .bind(start / HOUR_US)
        .bind(end / HOUR_US)
        .fetch_all(&self.pool)
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

    async fn dataset_progress(&self) -> Result<Vec<DatasetProgress>> {
        let rows = sqlx::query(
            "SELECT component, COUNT(*) AS seen, \
             COUNT(*) FILTER (WHERE last_migrated_us IS NOT NULL AND \
                 (last_rollback_us IS NULL OR last_migrated_us > last_rollback_us)) AS migrated \
             FROM datasets GROUP BY component ORDER BY component COLLATE \"C\" NULLS FIRST",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DatasetProgress {
                    component: r.try_get("component")?,
                    seen: r.try_get::<i64, _>("seen")? as u64,
                    migrated: r.try_get::<i64, _>("migrated")? as u64,
                })
            })
            .collect()
    }

    async fn migrated_datasets(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM datasets WHERE last_migrated_us IS NOT NULL \
             AND (last_rollback_us IS NULL OR last_migrated_us > last_rollback_us) \
             ORDER BY name COLLATE \"C\"",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn first_success_by_name(
        &self,
        metric_type: &str,
    ) -> Result<Vec<(String, OffsetDateTime)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT operation, MIN(timestamp_us) FROM operations \
             WHERE metric_type = $1 AND success = 1 GROUP BY operation \
             ORDER BY operation COLLATE \"C\"",
        )
        .bind(metric_type.to_owned())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(n, t)| (n, from_us(t))).collect())
    }

    async fn component_windows(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<ComponentWindow>> {
        let hour = |t: OffsetDateTime| to_us(t).div_euclid(HOUR_US);
        let rows: Vec<crate::records::ComponentHour> = sqlx::query_as(
            "SELECT component, system, count, failures, durations FROM component_rollup \
             WHERE hour >= $1 AND hour <= $2",
        )
        .bind(hour(since))
        .bind(hour(until - time::Duration::microseconds(1)))
        .fetch_all(&self.pool)
        .await?;
        Ok(crate::records::windows_of(rows))
    }

    async fn operations_between(
        &self,
        since: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<NewOperation>> {
        let rows = sqlx::query(
            "SELECT timestamp_us, metric_type, operation, dataset_name, component, system, \
             duration_ms, success, row_count FROM operations \
             WHERE timestamp_us >= $1 AND timestamp_us < $2 ORDER BY timestamp_us, id",
        )
        .bind(to_us(since))
        .bind(to_us(until))
        .fetch_all(&self.pool)
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
                op.success = r.try_get::<i64, _>("success")? != 0;
                op.row_count = r.try_get("row_count")?;
                Ok(op)
            })
            .collect()
    }

    async fn insert_samples(&self, samples: &[Sample]) -> Result<u64> {
        for (index, s) in samples.iter().enumerate() {
            s.validate()
                .map_err(|source| StoreError::Invalid { index, source })?;
        }
        if samples.is_empty() {
            return Ok(0);
        }
        let outcome = async {
            let mut tx = self.pool.begin().await?;
            for chunk in samples.chunks(8192) {
                let sql = format!(
                    "INSERT INTO samples (timestamp_us, metric, value, unit, component, labels) \
                     VALUES {}",
                    placeholders(chunk.len(), 6)
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for s in chunk {
                    q = q
                        .bind(to_us(s.timestamp))
                        .bind(s.metric.clone())
                        .bind(s.value)
                        .bind(s.unit.clone())
                        .bind(s.component.clone())
                        .bind(crate::records::labels_text(&s.labels));
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(samples.len() as u64)
        }
        .await;
        self.noted(outcome)
    }

    async fn latest_samples(&self, since: OffsetDateTime) -> Result<Vec<Sample>> {
        let rows = sqlx::query(
            "SELECT DISTINCT ON (metric, component, COALESCE(labels, '{}')) \
             timestamp_us, metric, value, unit, component, labels FROM samples \
             WHERE timestamp_us >= $1 \
             ORDER BY metric, component, COALESCE(labels, '{}'), timestamp_us DESC, ctid DESC",
        )
        .bind(to_us(since))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
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
            .collect::<Result<Vec<Sample>>>()?;
        // SQLite's order: metric, component (none first), labels text (none first).
        out.sort_by(|a, b| {
            (
                &a.metric,
                &a.component,
                crate::records::labels_text(&a.labels),
            )
                .cmp(&(
                    &b.metric,
                    &b.component,
                    crate::records::labels_text(&b.labels),
                ))
        });
        Ok(out)
    }

    async fn datasets(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<Vec<mhd_core::datasets::StoredDataset>> {
        let rows = match until {
            None => {
                sqlx::query(
                    "SELECT name, component, first_seen_us, last_seen_us, last_type, \
                     last_started_us, last_attempt_us, last_attempt_ok, last_migrated_us, \
                     last_rollback_us, last_verified_us, last_verified_ok FROM datasets \
                     ORDER BY name COLLATE \"C\"",
                )
                .fetch_all(&self.pool)
                .await?
            }
            Some(until) => {
                sqlx::query(
                    "WITH o AS (SELECT * FROM operations WHERE dataset_name IS NOT NULL AND timestamp_us < $1), \
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
                     FROM d ORDER BY name COLLATE \"C\"",
                )
                .bind(to_us(until))
                .fetch_all(&self.pool)
                .await?
            }
        };
        let mark = |r: &PgRow, col: &str| -> Result<Option<OffsetDateTime>> {
            Ok(r.try_get::<Option<i64>, _>(col)?.map(from_us))
        };
        rows.iter()
            .map(|r| {
                let flag = |t: Option<OffsetDateTime>,
                            col: &str|
                 -> Result<Option<(OffsetDateTime, bool)>> {
                    let ok: Option<i64> = r.try_get(col)?;
                    Ok(t.map(|t| (t, ok.is_some_and(|v| v != 0))))
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

    async fn migration_days(
        &self,
        until: Option<OffsetDateTime>,
    ) -> Result<(Vec<mhd_core::history::MigrationDay>, MigrationCounts)> {
        let last_day = until.map_or(i64::MAX, |u| to_us(u).div_euclid(DAY_US));
        let rows: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT day, component, attempts, migrations, rollback_ops, rollbacks \
             FROM migration_days WHERE day <= $1 ORDER BY day, component COLLATE \"C\"",
        )
        .bind(last_day)
        .fetch_all(&self.pool)
        .await?;
        Ok(crate::records::days_and_counts(rows))
    }

    async fn health_state(&self) -> Result<Option<mhd_core::health::HealthState>> {
        type Row = (String, i64, Option<String>, Option<i64>, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT shown, since_us, pending, pending_since_us, updated_us FROM health_state \
             WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        row.map(crate::records::health_from_row).transpose()
    }

    async fn save_health_state(&self, s: &mhd_core::health::HealthState) -> Result<()> {
        sqlx::query(
            "INSERT INTO health_state (id, shown, since_us, pending, pending_since_us, updated_us) \
             VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET shown = excluded.shown, \
             since_us = excluded.since_us, pending = excluded.pending, \
             pending_since_us = excluded.pending_since_us, updated_us = excluded.updated_us",
        )
        .bind(s.shown.as_str())
        .bind(to_us(s.since))
        .bind(s.pending.map(|p| p.0.as_str()))
        .bind(s.pending.map(|p| to_us(p.1)))
        .bind(to_us(s.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Remembers a chunk in the caller's transaction; false when it was remembered already.
async fn remember_chunk(
    conn: &mut PgConnection,
    chunk: &Chunk,
    stored: u64,
    source: &str,
    at: OffsetDateTime,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO ingested_chunks (key, prev, records, stored, source, at_us) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
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

impl PgStore {
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

    /// Stores one chunk's valid operations and remembers the chunk, in one transaction; `None`,
    /// storing nothing, when the chunk is remembered already and `again` is not set.
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
        w.dataset_ids.clone_from(&ids.0);
        let fresh = remember_chunk(&mut w.tx, chunk, ops.len() as u64, source, at).await;
        let fresh = self.noted(fresh)?;
        if !fresh && !again {
            w.rollback().await?;
            return Ok(None);
        }
        w.write(ops).await?;
        let met = w.dataset_ids.clone();
        let n = self.noted(w.commit().await)?;
        ids.0 = met;
        Ok(Some(n))
    }

    /// Starts storing an input's chunks one after another (see [`PgChunkIngest`]).
    pub fn chunk_ingest(&self, source: &str, at: OffsetDateTime, again: bool) -> PgChunkIngest {
        PgChunkIngest {
            store: self.clone(),
            source: source.to_owned(),
            at,
            again,
            pending: None,
            ids: HashMap::new(),
            stored: 0,
        }
    }

    /// Stores the operations of several requests in one transaction: all or none.
    /// Stores the operations of several requests in one transaction. While the server is
    /// gone (restarting, or failing over to a standby) the write waits and is tried again
    /// from the start, up to [`crate::busy_timeout`]; see [`PgStore::retrying`].
    pub async fn insert_operation_groups(&self, groups: &[&[NewOperation]]) -> Result<u64> {
        self.retrying(move || async move {
            let mut w = self.writer().await?;
            for ops in groups {
                if let Err(e) = w.write(ops).await {
                    let _ = w.rollback().await;
                    return Err(e);
                }
            }
            w.settle().await?;
            Ok(w)
        })
        .await
    }

    /// Starts staging operations for an all-or-nothing ingest (see [`PgStaging`]).
    pub async fn stage(&self) -> Result<PgStaging> {
        Ok(PgStaging {
            writer: Some(self.writer().await?),
            chunks: Vec::new(),
            writes_failing: self.writes_failing.clone(),
            pool: self.pool.clone(),
        })
    }
}

/// An input's chunks stored one after another, each with its remembrance in a transaction of
/// its own, committed in input order. While one chunk's rollups are brought in step and it
/// commits, the next chunk's operations are already copied in on a second connection, so the
/// server does not wait between two chunks; a chunk counts as stored once its commit returned,
/// and the next one's rollups are only added after that (the dataset states take each chunk's
/// marks in input order, as on SQLite).
pub struct PgChunkIngest {
    store: PgStore,
    source: String,
    at: OffsetDateTime,
    again: bool,
    /// The chunk written and not committed yet.
    pending: Option<PgWriter>,
    /// Dataset ids as committed.
    ids: HashMap<String, i64>,
    /// Operations committed so far.
    stored: u64,
}

impl PgChunkIngest {
    /// Writes one chunk's valid operations and remembers the chunk (nothing when it is
    /// remembered already and `again` is not set), while the chunk before it commits. When
    /// that commit fails this chunk is dropped too; either way [`PgChunkIngest::stored`] says
    /// what is stored.
    pub async fn add(&mut self, chunk: &Chunk, ops: &[NewOperation]) -> Result<()> {
        let pending = self.pending.take();
        // The next chunk starts from the ids the pending one met; should that one not commit,
        // neither does the next, so no id it uses is lost.
        let ids = pending
            .as_ref()
            .map_or_else(|| self.ids.clone(), |w| w.dataset_ids.clone());
        let (store, source, at, again) = (&self.store, self.source.as_str(), self.at, self.again);
        let next = async {
            let mut w = store.writer().await?;
            w.dataset_ids = ids;
            if !remember_chunk(&mut w.tx, chunk, ops.len() as u64, source, at).await? && !again {
                w.rollback().await?;
                return Ok(None);
            }
            w.write(ops).await?;
            Ok(Some(w))
        };
        let commit = async {
            let Some(w) = pending else {
                return Ok(None);
            };
            let ids = w.dataset_ids.clone();
            Ok(Some((w.commit().await?, ids)))
        };
        let (next, committed): (Result<Option<PgWriter>>, Result<Option<(u64, _)>>) =
            tokio::join!(next, commit);
        if let Some((n, ids)) = self.store.noted(committed)? {
            self.stored += n;
            self.ids = ids;
        }
        self.pending = self.store.noted(next)?;
        Ok(())
    }

    /// Commits the last chunk; returns the operations stored by the whole ingest.
    pub async fn finish(&mut self) -> Result<u64> {
        if let Some(w) = self.pending.take() {
            self.stored += self.store.noted(w.commit().await)?;
        }
        Ok(self.stored)
    }

    /// Operations committed so far.
    pub fn stored(&self) -> u64 {
        self.stored
    }
}

/// Operations set aside until all of an input has been read, then published at once — or not
/// at all. On PostgreSQL they are written in one open transaction, which others do not see
/// and which blocks nobody (new dataset names get their ids outside it, so another writer
/// meeting the same name does not wait for this one); publishing remembers the chunks and
/// commits.
pub struct PgStaging {
    writer: Option<PgWriter>,
    chunks: Vec<(Chunk, u64)>,
    writes_failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pool: sqlx::PgPool,
}

impl PgStaging {
    /// Sets aside one chunk's valid operations; a batch with an invalid operation sets aside
    /// nothing.
    pub async fn add(&mut self, chunk: &Chunk, ops: &[NewOperation]) -> Result<()> {
        validate_all(ops)?;
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut names: Vec<String> = ops
            .iter()
            .filter_map(|o| o.dataset_name.clone())
            .filter(|n| !w.dataset_ids.contains_key(n))
            .collect();
        names.sort();
        names.dedup();
        if !names.is_empty() {
            sqlx::query(
                "INSERT INTO dataset_ids (name) SELECT unnest($1::text[]) ORDER BY 1 \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(&names)
            .execute(&self.pool)
            .await?;
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT name, id FROM dataset_ids WHERE name = ANY($1)")
                    .bind(&names)
                    .fetch_all(&self.pool)
                    .await?;
            w.dataset_ids.extend(rows);
        }
        w.write(ops).await?;
        self.chunks.push((chunk.clone(), ops.len() as u64));
        Ok(())
    }

    /// Operations set aside so far.
    pub fn staged(&self) -> u64 {
        self.writer.as_ref().map_or(0, |w| w.written)
    }

    /// Stores everything set aside, with the chunks remembered; fails, storing nothing, when
    /// another ingest stored one of the chunks meanwhile.
    pub async fn publish(mut self, source: &str, at: OffsetDateTime) -> Result<u64> {
        let Some(mut w) = self.writer.take() else {
            return Ok(0);
        };
        let outcome = async {
            for (chunk, stored) in &self.chunks {
                if !remember_chunk(&mut w.tx, chunk, *stored, source, at).await? {
                    return Err(StoreError::Concurrent);
                }
            }
            w.commit().await
        }
        .await;
        crate::sqlite::note(&self.writes_failing, &outcome);
        outcome
    }
}

/// A test run being written to PostgreSQL: the cases go in as they come, in one transaction
/// that nobody sees before [`PgTestRunWriter::finish`] (dropped, it is rolled back).
pub struct PgTestRunWriter {
    store: PgStore,
    tx: Transaction<'static, Postgres>,
    id: i64,
    totals: mhd_core::testrun::Totals,
    case_seconds: f64,
}

impl PgStore {
    /// Starts writing a run of `suite`; `source` names the reports it comes from.
    pub async fn test_run_writer(
        &self,
        suite: &str,
        phase: Option<&str>,
        component: Option<&str>,
        source: Option<&str>,
    ) -> Result<PgTestRunWriter> {
        crate::records::check_run_names(suite, phase, component)?;
        let mut tx = self.pool.begin().await?;
        let id: i64 = self.noted(
            sqlx::query_scalar(
                "INSERT INTO test_runs (suite, phase, component, run_at_us, duration, total, \
                 passed, failed, errors, skipped, source) \
                 VALUES ($1, $2, $3, 0, 0, 0, 0, 0, 0, 0, $4) RETURNING id",
            )
            .bind(suite)
            .bind(phase)
            .bind(component)
            .bind(source)
            .fetch_one(&mut *tx)
            .await
            .map_err(Into::into),
        )?;
        Ok(PgTestRunWriter {
            store: self.clone(),
            tx,
            id,
            totals: mhd_core::testrun::Totals::default(),
            case_seconds: 0.0,
        })
    }
}

impl PgTestRunWriter {
    /// Writes the next cases of the run; a case out of the store's limits is refused with its
    /// index in the whole run.
    pub async fn add(&mut self, cases: &[TestCase]) -> Result<()> {
        let first = self.totals.total;
        for (i, c) in cases.iter().enumerate() {
            crate::records::check_case(first as usize + i, c)?;
        }
        for chunk in cases.chunks(8192) {
            let sql = format!(
                "INSERT INTO test_cases (run_id, name, classname, status, time, message) \
                 VALUES {}",
                placeholders(chunk.len(), 6)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for c in chunk {
                q = q
                    .bind(self.id)
                    .bind(c.name.clone())
                    .bind(c.classname.clone())
                    .bind(status_name(c.status))
                    .bind(c.time)
                    .bind(c.message.clone());
            }
            let written = q.execute(&mut *self.tx).await.map(drop).map_err(Into::into);
            self.store.noted(written)?;
        }
        let batch = mhd_core::testrun::Totals::of(cases);
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

    /// Sets the run's time and totals and commits it (see the SQLite writer's).
    pub async fn finish(
        mut self,
        run_at: OffsetDateTime,
        report_time: Option<f64>,
    ) -> Result<crate::testruns::StoredRun> {
        let report = report_time
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(0.0);
        let duration = self.case_seconds.max(report);
        let t = self.totals;
        let updated = sqlx::query(
            "UPDATE test_runs SET run_at_us = $1, duration = $2, total = $3, passed = $4, \
             failed = $5, errors = $6, skipped = $7 WHERE id = $8",
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
        let committed = self.tx.commit().await.map_err(Into::into);
        self.store.noted(committed)?;
        Ok(crate::testruns::StoredRun {
            id: self.id,
            totals: t,
            duration,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn copy_fields_escape_what_the_text_format_reads_specially() {
        let mut out = Vec::new();
        super::copy_field(&mut out, Some("a\tb\\c\nd\re\0f"));
        out.push(b'|');
        super::copy_field(&mut out, None);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\tb\\\\c\\nd\\re\u{fffd}f|\\N"
        );
    }

    #[test]
    fn placeholders_number_rows_and_columns() {
        assert_eq!(placeholders(2, 3), "($1,$2,$3),($4,$5,$6)");
    }
}
