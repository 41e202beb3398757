//! Operations read from a stream in chunks, each named by what it holds, the input of
//! `mhd ingest operations`.
//!
//! An input is NDJSON (read line by line: memory stays flat however long it is) or one JSON
//! array (read whole, so at most [`MAX_WHOLE_INPUT_BYTES`]). NDJSON is cut every
//! [`CHUNK_RECORDS`] lines, an array is one chunk. Each chunk's key is the SHA-256 of the key
//! of the chunk before it (empty for the first) and of the chunk's bytes, so a key names all
//! of the input up to the chunk's end: whatever cut an earlier run of the same input made,
//! a prefix the store remembers (the `known` keys) is recognised at its end and skipped
//! rather than stored again — a re-run adds nothing, an interrupted run resumes, and an input
//! that grew has only its new records stored.
//!
//! A line longer than [`MAX_LINE_BYTES`] stops the reading (there is no record to resume at);
//! every other bad record is rejected on its own, with its line.

use std::collections::HashMap;
use std::io::{BufRead, Read};

use mhd_core::NewOperation;
use mhd_core::limits::{MAX_LINE_BYTES, MAX_WHOLE_INPUT_BYTES, TimeLimits};
use sha2::{Digest, Sha256};

use crate::operations;
use crate::records::Rejected;

/// NDJSON lines per chunk: each chunk is stored in a transaction of its own, so that other
/// writers get their turn between two (a chunk takes about 0.3 s to store; smaller chunks cost
/// more: every commit rewrites the index pages the chunk touched).
pub const CHUNK_RECORDS: u64 = 65_536;

/// Chunks the store remembers, as `(records, key)` under the key of the chunk before each.
pub type Known = HashMap<String, Vec<(u64, String)>>;

/// Where a chunk lies in its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkId {
    /// SHA-256 of `prev` and of the chunk's bytes, in hex.
    pub key: String,
    /// The key of the chunk before it; empty for the first.
    pub prev: String,
    /// Records (lines, blank ones included, or array elements) it covers.
    pub records: u64,
}

/// What reading an input gives, in order.
#[derive(Debug)]
pub enum Piece {
    /// A chunk not stored before: its valid operations and its rejected records.
    Chunk {
        /// Its place and key.
        id: ChunkId,
        /// The valid operations, in input order.
        ops: Vec<NewOperation>,
        /// The records that are not operations, with their lines.
        rejected: Vec<Rejected>,
    },
    /// Records the store holds already from an earlier ingest of the same input.
    Skipped {
        /// How many.
        records: u64,
    },
}

/// Why an input could not be read on: its place (1-based line) when there is one, and the
/// reason. A `bad_input` error is the input's fault, any other one the system's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct InputError {
    /// The line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// Whether the input is at fault (rather than reading it).
    pub bad_input: bool,
}

/// Reads `source` (named `name` in messages) into pieces handed to `emit`, skipping chunks in
/// `known`; returns the records read. Stops at the first error, after emitting what came
/// before it, or when `emit` returns false.
pub fn read(
    source: impl Read,
    known: &Known,
    limits: TimeLimits,
    mut emit: impl FnMut(Piece) -> bool,
) -> Result<u64, InputError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, source);
    let start = reader.fill_buf().map_err(io_error)?;
    if operations::looks_like_array(start) {
        read_array(reader, known, limits, emit)
    } else {
        let mut lines = Lines {
            reader,
            line: Vec::with_capacity(512),
            number: 0,
        };
        let mut prev = String::new();
        let mut total = 0;
        loop {
            let (piece, records, key, end) = lines.chunk(&prev, known.get(&prev), limits)?;
            total += records;
            let go_on = match piece {
                Some(p) => emit(p),
                None => true,
            };
            if end || !go_on {
                return Ok(total);
            }
            prev = key;
        }
    }
}

fn io_error(e: std::io::Error) -> InputError {
    InputError {
        line: None,
        message: format!("cannot read: {e}"),
        bad_input: false,
    }
}

/// An NDJSON input, line by line.
struct Lines<R> {
    reader: R,
    line: Vec<u8>,
    /// Lines read so far.
    number: usize,
}

impl<R: BufRead> Lines<R> {
    /// Reads the next line into `self.line` (with its line feed); false at the end.
    fn next_line(&mut self) -> Result<bool, InputError> {
        self.line.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.line)
            .map_err(|e| InputError {
                line: Some(self.number + 1),
                message: format!("cannot read: {e}"),
                bad_input: false,
            })?;
        if n == 0 {
            return Ok(false);
        }
        self.number += 1;
        let content = self.line.strip_suffix(b"\n").unwrap_or(&self.line).len();
        if content > MAX_LINE_BYTES {
            return Err(InputError {
                line: Some(self.number),
                message: format!(
                    "a line longer than {} MiB: each operation is one line of NDJSON, at most \
                     {} MiB; the rest of the input was not read",
                    MAX_LINE_BYTES >> 20,
                    MAX_LINE_BYTES >> 20
                ),
                bad_input: true,
            });
        }
        Ok(true)
    }

    /// Reads one chunk after the chunk keyed `prev`, of which `known` continuations are
    /// remembered. Returns what to emit (nothing for an empty end), the records read, the
    /// key reached and whether the input ended.
    fn chunk(
        &mut self,
        prev: &str,
        known: Option<&Vec<(u64, String)>>,
        limits: TimeLimits,
    ) -> Result<(Option<Piece>, u64, String, bool), InputError> {
        let known = known.map_or(&[][..], Vec::as_slice);
        let target = known
            .iter()
            .map(|(r, _)| *r)
            .max()
            .unwrap_or(0)
            .max(CHUNK_RECORDS);
        let mut hasher = Sha256::new();
        hasher.update(prev.as_bytes());
        let (mut ops, mut rejected) = (Vec::new(), Vec::new());
        let mut records = 0u64;
        let mut end = false;
        while records < target {
            if !self.next_line()? {
                end = true;
                break;
            }
            // Each line hashed with its line feed, also the last one that has none: an input
            // that grows past a last line without one still starts the same.
            hasher.update(self.line.strip_suffix(b"\n").unwrap_or(&self.line));
            hasher.update(b"\n");
            records += 1;
            let parsed = match std::str::from_utf8(&self.line) {
                Ok(text) => operations::parse_ndjson_line(text, self.number, limits),
                Err(e) => Some(Err(Rejected {
                    line: self.number,
                    index: None,
                    reason: format!("not UTF-8 text: {e}"),
                })),
            };
            match parsed {
                None => {}
                Some(Ok(op)) => ops.push(op),
                Some(Err(r)) => rejected.push(r),
            }
            if let Some((_, key)) = known.iter().find(|(r, _)| *r == records) {
                let reached = hex(&hasher.clone().finalize());
                if &reached == key {
                    // Stored before: skip it, and go on from there.
                    return Ok((Some(Piece::Skipped { records }), records, reached, false));
                }
            }
        }
        let key = hex(&hasher.finalize());
        if records == 0 {
            return Ok((None, 0, key, true));
        }
        let id = ChunkId {
            key: key.clone(),
            prev: prev.to_owned(),
            records,
        };
        let piece = Piece::Chunk { id, ops, rejected };
        Ok((Some(piece), records, key, end))
    }
}

/// A JSON array, read whole: one chunk.
fn read_array(
    reader: impl Read,
    known: &Known,
    limits: TimeLimits,
    mut emit: impl FnMut(Piece) -> bool,
) -> Result<u64, InputError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_WHOLE_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() > MAX_WHOLE_INPUT_BYTES {
        return Err(InputError {
            line: None,
            message: format!(
                "a JSON array larger than {} MiB: an array is read whole, so write a larger \
                 input as NDJSON (one operation per line), which has no size limit",
                MAX_WHOLE_INPUT_BYTES >> 20
            ),
            bad_input: true,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| InputError {
        line: Some(
            1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
        ),
        message: format!("not UTF-8 text: {e}"),
        bad_input: true,
    })?;
    let parsed = operations::parse_array(text, limits).map_err(|r| InputError {
        line: Some(r.line),
        message: r.reason,
        bad_input: true,
    })?;
    let records = parsed.len() as u64;
    let mut hasher = Sha256::new();
    hasher.update(&bytes);
    let key = hex(&hasher.finalize());
    if known
        .get("")
        .is_some_and(|k| k.iter().any(|(r, k)| *r == records && *k == key))
    {
        emit(Piece::Skipped { records });
        return Ok(records);
    }
    let (mut ops, mut rejected) = (Vec::new(), Vec::new());
    for item in parsed {
        match item {
            Ok(op) => ops.push(op),
            Err(r) => rejected.push(r),
        }
    }
    let id = ChunkId {
        key,
        prev: String::new(),
        records,
    };
    emit(Piece::Chunk { id, ops, rejected });
    Ok(records)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: TimeLimits = TimeLimits {
        now: datetime!(2025-03-01 12:00 UTC),
        max_future: mhd_core::limits::DEFAULT_MAX_FUTURE,
    };

    fn lines(n: u64, from: u64) -> String {
        (from..from + n)
            .map(|i| format!("{{\"metric_type\":\"m\",\"operation\":\"op{i}\"}}\n"))
            .collect()
    }

    fn pieces(input: &str, known: &Known) -> Result<Vec<Piece>, InputError> {
        let mut out = Vec::new();
        read(input.as_bytes(), known, AT, |p| {
            out.push(p);
            true
        })?;
        Ok(out)
    }

    /// Remembers every chunk read, as the store does once it has stored them.
    fn remember(pieces: &[Piece], known: &mut Known) {
        for p in pieces {
            if let Piece::Chunk { id, .. } = p {
                known
                    .entry(id.prev.clone())
                    .or_default()
                    .push((id.records, id.key.clone()));
            }
        }
    }

    fn summary(pieces: &[Piece]) -> Vec<(char, u64)> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Chunk { id, .. } => ('c', id.records),
                Piece::Skipped { records } => ('s', *records),
            })
            .collect()
    }

    #[test]
    fn ndjson_is_cut_every_chunk_and_a_second_read_skips_it_all() {
        let input = lines(CHUNK_RECORDS * 2 + 5, 0);
        let mut known = Known::new();
        let first = pieces(&input, &known).unwrap();
        assert_eq!(
            summary(&first),
            vec![('c', CHUNK_RECORDS), ('c', CHUNK_RECORDS), ('c', 5)]
        );
        remember(&first, &mut known);
        let again = pieces(&input, &known).unwrap();
        assert_eq!(
            summary(&again),
            vec![('s', CHUNK_RECORDS), ('s', CHUNK_RECORDS), ('s', 5)]
        );
    }

    #[test]
    fn an_interrupted_read_resumes_and_a_grown_input_adds_only_what_is_new() {
        let mut known = Known::new();
        // The first run stored only its first chunk, then stopped.
        let first = pieces(&lines(CHUNK_RECORDS + 10, 0), &known).unwrap();
        remember(&first[..1], &mut known);
        let resumed = pieces(&lines(CHUNK_RECORDS + 10, 0), &known).unwrap();
        assert_eq!(summary(&resumed), vec![('s', CHUNK_RECORDS), ('c', 10)]);
        remember(&resumed, &mut known);
        // The file grew by 7 lines (its last line had no line feed): only they are new.
        let old_end = lines(CHUNK_RECORDS + 10, 0);
        let mut known_bare = known.clone();
        let bare = pieces(old_end.trim_end(), &Known::new()).unwrap();
        remember(&bare, &mut known_bare);
        assert_eq!(
            summary(&pieces(&lines(CHUNK_RECORDS + 17, 0), &known_bare).unwrap()),
            vec![('s', CHUNK_RECORDS), ('s', 10), ('c', 7)]
        );
        let grown = pieces(&lines(CHUNK_RECORDS + 17, 0), &known).unwrap();
        assert_eq!(
            summary(&grown),
            vec![('s', CHUNK_RECORDS), ('s', 10), ('c', 7)]
        );
        let Piece::Chunk { ops, .. } = &grown[2] else {
            panic!("a chunk")
        };
        assert_eq!(ops[0].operation, format!("op{}", CHUNK_RECORDS + 10));
        // Another input is all new.
        assert_eq!(
            summary(&pieces(&lines(3, 1_000_000), &known).unwrap()),
            vec![('c', 3)]
        );
    }

    #[test]
    fn rejected_records_keep_their_lines_and_an_overlong_line_stops_the_reading() {
        let input = "{\"metric_type\":\"m\",\"operation\":\"a\"}\n\n{\"bad\":1}\n";
        let got = pieces(input, &Known::new()).unwrap();
        let Piece::Chunk { id, ops, rejected } = &got[0] else {
            panic!("a chunk")
        };
        assert_eq!((id.records, ops.len()), (3, 1));
        assert_eq!(rejected[0].line, 3);

        let mut long = String::from("{\"metric_type\":\"m\",\"operation\":\"a\"}\n");
        long.push_str(&"x".repeat(MAX_LINE_BYTES + 1));
        let mut seen = Vec::new();
        let e = read(long.as_bytes(), &Known::new(), AT, |p| {
            seen.push(p);
            true
        })
        .unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(
            e.bad_input && e.message.contains("longer than 16 MiB"),
            "{e}"
        );
        // A line of exactly the limit is read (and rejected: it is not JSON).
        let exact = format!("{}\n", "x".repeat(MAX_LINE_BYTES));
        let got = pieces(&exact, &Known::new()).unwrap();
        assert!(matches!(&got[0], Piece::Chunk { rejected, .. } if rejected.len() == 1));
    }

    #[test]
    fn an_array_is_one_chunk_read_whole_within_the_limit() {
        let input = "[{\"metric_type\":\"m\",\"operation\":\"a\"},\n{\"operation\":\"b\"}]";
        let mut known = Known::new();
        let first = pieces(input, &known).unwrap();
        assert_eq!(summary(&first), vec![('c', 2)]);
        remember(&first, &mut known);
        assert_eq!(summary(&pieces(input, &known).unwrap()), vec![('s', 2)]);
        let huge = format!("[\"{}\"]", "x".repeat(MAX_WHOLE_INPUT_BYTES));
        let e = pieces(&huge, &Known::new()).unwrap_err();
        assert!(e.message.contains("larger than 16 MiB"), "{e}");
    }
}
