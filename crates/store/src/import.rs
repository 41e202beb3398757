//! Imported operations (`mhd import mdm`): each carries the identity of its row in the source
//! (`import_key`), and a row already imported is skipped.
//!
//! The store keeps a narrow form of the identity instead of the identity itself
//! (`mdm:ID:TIMESTAMP`, about 37 characters): the column and its unique index hold one entry
//! per imported row and are read for every row imported, so a narrow form keeps both small. An
//! MDM identity becomes its id in 8 characters, in order, then 6 characters of the SHA-256 of
//! its timestamp: rows are imported in id order, so each batch's keys land together at the end
//! of the index instead of all over it (a hash alone made an import twice as slow); two rows
//! share a key only with the same id and 36 bits of their timestamps' hashes alike (a database
//! recreated from scratch, whose ids start again at 1). Any other identity, and an id outside
//! 0 to 2⁴⁸, becomes 16 characters (96 bits) of its SHA-256. Stores written before keep their
//! identities as they were, and those are still found.

use std::collections::HashSet;

use mhd_core::NewOperation;
use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use crate::sqlite::{Deltas, validate_all};
use crate::{ImportOutcome, Result, SqliteStore};

/// Keys looked up by one statement.
const LOOKUP_CHUNK: usize = 2000;

/// Base 64 with its digits in ASCII order, so that encoded numbers sort as the numbers do.
const ORDERED: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Appends the low `6 × digits` bits of `n`, most significant digit first.
fn push_digits(out: &mut String, n: u128, digits: u32) {
    for i in (0..digits).rev() {
        out.push(char::from(ORDERED[((n >> (6 * i)) & 63) as usize]));
    }
}

/// What an identity is stored as (see the module's documentation).
pub fn narrow_key(identity: &str) -> String {
    let mdm = identity.strip_prefix("mdm:").and_then(|rest| {
        let (id, timestamp) = rest.split_once(':')?;
        Some((id.parse::<i64>().ok()?, timestamp))
    });
    let mut out = String::with_capacity(16);
    match mdm {
        Some((id, timestamp)) if (0..1 << 48).contains(&id) => {
            push_digits(&mut out, id as u128, 8);
            let digest = Sha256::digest(timestamp.as_bytes());
            let bits = digest[..6]
                .iter()
                .fold(0u128, |n, b| (n << 8) | u128::from(*b));
            push_digits(&mut out, bits, 6);
        }
        _ => {
            let digest = Sha256::digest(identity.as_bytes());
            let bits = digest[..12]
                .iter()
                .fold(0u128, |n, b| (n << 8) | u128::from(*b));
            push_digits(&mut out, bits, 16);
        }
    }
    out
}

/// The statement that finds which of `keys` are stored.
fn lookup(
    keys: &[&str],
) -> sqlx::query::QueryScalar<'static, sqlx::Sqlite, String, sqlx::sqlite::SqliteArguments> {
    let sql = format!(
        "SELECT import_key FROM operations WHERE import_key IN ({})",
        vec!["?"; keys.len()].join(",")
    );
    let mut q = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
    for k in keys {
        q = q.bind((*k).to_owned());
    }
    q
}

/// Stores `ops` in one transaction but those whose identity is stored already (or repeated
/// within `ops`).
pub(crate) async fn import_operations(
    store: &SqliteStore,
    ops: &[NewOperation],
) -> Result<ImportOutcome> {
    store
        .import_prepared(&mut ImportBatch::prepare(ops.to_vec())?)
        .await
}

/// A batch of imported operations made ready to store, so that the work of making it ready can
/// run beside the store's (an import prepares the next batch on its reading thread while this
/// one is written): every operation checked, the identities narrowed ([`narrow_key`]) with
/// the whole ones kept aside (an earlier version stored those), the rollups' share counted,
/// and whether the keys rise (then none repeats within the batch).
pub struct ImportBatch {
    pub(crate) ops: Vec<NewOperation>,
    /// The whole identities, in the order of the operations that have one.
    pub(crate) whole: Vec<String>,
    /// What all of `ops` add to the rollups (counted again for the ones kept when some are
    /// skipped).
    pub(crate) deltas: Deltas,
    /// Whether the narrowed keys rise strictly, operation by operation.
    pub(crate) rising: bool,
}

impl ImportBatch {
    /// Checks and prepares `ops`; the first that is not valid is named by its index.
    pub fn prepare(mut ops: Vec<NewOperation>) -> Result<ImportBatch> {
        validate_all(&ops)?;
        let mut whole = Vec::with_capacity(ops.len());
        let mut deltas = Deltas::default();
        let mut rising = true;
        let mut last: Option<usize> = None;
        for i in 0..ops.len() {
            deltas.count(&ops[i]);
            let Some(key) = ops[i].import_key.as_mut() else {
                continue;
            };
            let narrow = narrow_key(key);
            whole.push(std::mem::replace(key, narrow));
            if let Some(l) = last {
                rising &= ops[l].import_key < ops[i].import_key;
            }
            last = Some(i);
        }
        Ok(ImportBatch {
            ops,
            whole,
            deltas,
            rising,
        })
    }

    /// The operations (their keys narrowed), for the caller to reuse once the batch is
    /// stored: by then those left are the ones stored.
    pub fn into_operations(self) -> Vec<NewOperation> {
        self.ops
    }

    /// Keeps the operations whose key is not in `present` (nor met before in the batch),
    /// counting the rollups again for those kept; how many were skipped.
    pub(crate) fn skip_present(&mut self, mut present: HashSet<String>) -> u64 {
        let before = self.ops.len();
        self.ops.retain(|op| match &op.import_key {
            Some(k) => present.insert(k.clone()),
            None => true,
        });
        let skipped = (before - self.ops.len()) as u64;
        if skipped > 0 {
            self.deltas = Deltas::default();
            for op in &self.ops {
                self.deltas.count(op);
            }
        }
        skipped
    }
}

impl SqliteStore {
    /// [`crate::Database::import_batch`] on SQLite.
    pub(crate) async fn import_prepared(&self, batch: &mut ImportBatch) -> Result<ImportOutcome> {
        let mut w = self.writer().await?;
        // A bulk load checkpoints the write-ahead log every 40 MB rather than every 4 MB, as
        // an ingest does (each batch would otherwise copy its pages into the store, and sync).
        sqlx::query("PRAGMA wal_autocheckpoint = 10000")
            .execute(&mut *w.tx)
            .await?;
        // Identities stored whole by an earlier version: looked for only when there are any.
        let whole: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM operations WHERE import_key >= 'mdm:' AND import_key < 'mdm;' LIMIT 1",
        )
        .fetch_optional(&mut *w.tx)
        .await?;
        let mut present: HashSet<String> = HashSet::new();
        if whole.is_some() {
            let keys: Vec<&str> = batch.whole.iter().map(String::as_str).collect();
            for chunk in keys.chunks(LOOKUP_CHUNK) {
                let found = lookup(chunk).fetch_all(&mut *w.tx).await?;
                present.extend(found.iter().map(|k| narrow_key(k)));
            }
        }
        let keys: Vec<&str> = batch
            .ops
            .iter()
            .filter_map(|o| o.import_key.as_deref())
            .collect();
        // Rows come in id order and their keys sort as the ids do, so a batch imported for the
        // first time has every key above the largest stored: one probe of the index's end
        // then stands for the lookups of the whole batch.
        let largest: Option<String> = sqlx::query_scalar(
            "SELECT MAX(import_key) FROM operations WHERE import_key IS NOT NULL",
        )
        .fetch_one(&mut *w.tx)
        .await?;
        let all_new = match (&largest, keys.iter().min()) {
            (_, None) | (None, _) => true,
            (Some(largest), Some(least)) => *least > largest.as_str(),
        };
        if !all_new {
            for chunk in keys.chunks(LOOKUP_CHUNK) {
                present.extend(lookup(chunk).fetch_all(&mut *w.tx).await?);
            }
        }
        // Keys in strictly rising order (an MDM file read in id order) cannot repeat within
        // the batch: with none stored either, every operation is new and none is looked at.
        let skipped = if all_new && present.is_empty() && batch.rising {
            0
        } else {
            batch.skip_present(present)
        };
        w.write_counted(&batch.ops, std::mem::take(&mut batch.deltas))
            .await?;
        let inserted = w.commit().await?;
        Ok(ImportOutcome { inserted, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_keys_are_short_stable_apart_and_in_id_order() {
        let a = narrow_key("mdm:1:2025-01-06 14:03:12");
        assert_eq!(a.len(), 14);
        assert_eq!(a, narrow_key("mdm:1:2025-01-06 14:03:12"));
        assert_ne!(a, narrow_key("mdm:1:2025-01-07 14:03:12"));
        assert!(!a.contains(':'), "never taken for an identity stored whole");
        let keys: Vec<String> = [0i64, 1, 2, 9, 10, 99, 100, 65_536, (1 << 48) - 1]
            .iter()
            .map(|id| narrow_key(&format!("mdm:{id}:2025-01-06 14:03:12")))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "keys sort as their ids do");
        assert_eq!(
            narrow_key("mdm:-5:2025-01-06").len(),
            16,
            "outside 0 to 2⁴⁸: hashed"
        );
        let other = narrow_key("some other identity");
        assert_eq!(other.len(), 16);
        assert_ne!(other, narrow_key("some other identity!"));
    }
}
