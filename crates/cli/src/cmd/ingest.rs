//! `mhd ingest operations`: bulk-load operations from NDJSON or a JSON array.
//!
//! The input is read in chunks ([`mhd_ingest::chunks`]); each chunk's valid operations are
//! stored in a transaction of their own, so other writers (`mhd serve`, `mhd record`) get
//! their turn between two, and the store remembers each chunk by its content: the same input
//! again adds nothing (`--again` stores it anyway), and an ingest that was interrupted, or an
//! input that grew, has only what is not stored yet stored.
//!
//! With `--strict` the chunks are staged aside first and stored together at the end, only if
//! every record is valid: all or nothing, also when the process is killed.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use mhd_core::NewOperation;
use mhd_core::format::terminal_safe;
use mhd_ingest::chunks::{self, ChunkId, InputError, Piece};
use mhd_ingest::operations::Rejected;
use mhd_store::{Chunk, Database};
use serde::Serialize;

use crate::cmd::record::open_store_with;
use crate::ctx::{Ctx, usage};

/// Rejections printed one by one before the rest are only counted.
const SHOWN_REJECTIONS: usize = 50;
/// Rejections listed in `--json` (the count says how many there were in all).
const LISTED_REJECTIONS: usize = 1000;
/// Exit status when some records were stored and others were not (rejected, or after an input
/// that could not be read on): running the same command again after fixing the input stores
/// only what is missing.
pub const PARTLY_STORED: u8 = 3;
/// A pause after each chunk's commit, so that a writer waiting for the store takes its turn.
const LET_OTHERS_IN: std::time::Duration = std::time::Duration::from_millis(2);

/// Bulk-load operations.
#[derive(Debug, clap::Args)]
pub struct IngestOperationsArgs {
    /// NDJSON (one JSON object per line) or a JSON array; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// Store nothing unless every record is valid.
    #[arg(long)]
    pub strict: bool,
    /// Store the input even where it was ingested before (by default what the store holds
    /// from an earlier ingest of the same input is skipped).
    #[arg(long)]
    pub again: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    stored: u64,
    /// Records skipped: stored by an earlier ingest of the same input.
    skipped: u64,
    /// Rejected records: at most [`LISTED_REJECTIONS`] of them.
    rejected: Vec<RejectedJson>,
    /// How many records were rejected in all.
    rejected_count: usize,
}

#[derive(Debug, Serialize)]
struct RejectedJson {
    line: usize,
    index: Option<usize>,
    reason: String,
}

/// One chunk on its way from the reader to the store.
struct ToStore {
    id: ChunkId,
    ops: Vec<NewOperation>,
}

/// What the reader found besides the chunks it handed on.
#[derive(Default)]
struct Found {
    /// The first [`LISTED_REJECTIONS`] rejected records (memory stays flat however many).
    rejected: Vec<Rejected>,
    /// How many records were rejected in all.
    rejected_count: usize,
    skipped: u64,
    stopped: Option<InputError>,
}

/// Opens the input: a file (not a folder) or standard input.
fn open_input(args: &IngestOperationsArgs, name: &str) -> anyhow::Result<Box<dyn Read + Send>> {
    if args.file.as_os_str() == "-" {
        return Ok(Box::new(std::io::stdin()));
    }
    let meta =
        std::fs::metadata(&args.file).map_err(|e| usage(format!("{name}: cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(usage(format!(
            "{name}: is a folder; give a file of operations (NDJSON or a JSON array), or - for \
             standard input"
        )));
    }
    let file = File::open(&args.file).map_err(|e| usage(format!("{name}: cannot read: {e}")))?;
    Ok(Box::new(file))
}

/// Runs `mhd ingest operations`.
pub async fn operations(args: IngestOperationsArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let name = if args.file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        args.file.display().to_string()
    };
    let shown = terminal_safe(&name).into_owned();
    let source = open_input(&args, &shown)?;
    let limits = ctx.time_limits_from_plan()?;

    // On PostgreSQL one chunk commits on one connection while the next is copied in on
    // another; SQLite writes one transaction at a time (and gives one connection more cache).
    if ctx.database_in_home {
        ctx.ensure_home()?;
    }
    let connections = match ctx.database {
        mhd_store::Location::Postgres(_) => 2,
        mhd_store::Location::Sqlite(_) => 1,
    };
    let store = open_store_with(ctx, connections).await?;
    let known = if args.again {
        chunks::Known::new()
    } else {
        store.ingested_chunks().await?
    };
    // Reading and parsing run on their own thread while the store writes the chunk before,
    // so the two overlap; the bounded channel keeps memory to a few chunks.
    let (tx, rx) = tokio::sync::mpsc::channel::<ToStore>(2);
    let strict = args.strict;
    let reader = std::thread::spawn(move || {
        let mut found = Found::default();
        let outcome = chunks::read(source, &known, limits, |piece| match piece {
            Piece::Skipped { records } => {
                found.skipped += records;
                true
            }
            Piece::Chunk { id, ops, rejected } => {
                found.rejected_count += rejected.len();
                let room = LISTED_REJECTIONS.saturating_sub(found.rejected.len());
                found.rejected.extend(rejected.into_iter().take(room));
                // Under --strict one rejection means nothing is stored: read on only to
                // report every rejected record.
                if strict && found.rejected_count > 0 {
                    return true;
                }
                // The receiver is gone only when storing failed; its error is the one to report.
                tx.blocking_send(ToStore { id, ops }).is_ok()
            }
        });
        if let Err(e) = outcome {
            found.stopped = Some(e);
        }
        found
    });
    if strict {
        return strict_ingest(&args, ctx, &store, &shown, rx, reader).await;
    }
    let mut ingest = store.chunk_ingest(&name, ctx.now, args.again);
    let mut failed = None;
    let mut rx = rx;
    while let Some(c) = rx.recv().await {
        if let Err(e) = ingest.add(&store_chunk(&c.id), &c.ops).await {
            failed = Some(e);
            break;
        }
        tokio::time::sleep(LET_OTHERS_IN).await;
    }
    if failed.is_none()
        && let Err(e) = ingest.finish().await
    {
        failed = Some(e);
    }
    let stored = ingest.stored();
    // Dropping the receiver stops the reader if storing failed.
    drop(rx);
    let found = join(reader, &shown)?;
    store.close().await;
    if let Some(e) = failed {
        let kept = if stored == 0 {
            "nothing was stored".to_owned()
        } else {
            format!(
                "the {stored} operations stored before are kept: run the same command again to \
                 store the rest"
            )
        };
        return Err(anyhow::Error::new(e).context(format!("{shown}: cannot store ({kept})")));
    }
    print_rejections(&shown, &found);
    if let Some(e) = &found.stopped {
        print_stop(&shown, e);
    }
    let outcome = outcome(stored, &found);
    if args.json {
        crate::out::print_json(&outcome)?;
    } else if stored > 0 || found.stopped.is_none() {
        let mut line = format!("Stored {stored} operations from {shown}");
        if found.skipped > 0 {
            line.push_str(&format!(
                "; {} records ingested before were skipped (--again stores them again)",
                found.skipped
            ));
        }
        if found.rejected_count > 0 {
            line.push_str(&format!("; rejected {}", found.rejected_count));
        }
        eprintln!("{line}");
    }
    if let Some(e) = &found.stopped
        && !e.bad_input
    {
        if stored > 0 {
            eprintln!(
                "{shown}: the {stored} operations stored before are kept: run the same command \
                 again to store the rest"
            );
        }
        return Ok(ExitCode::from(1));
    }
    let incomplete = found.rejected_count > 0 || found.stopped.is_some();
    Ok(match (incomplete, stored) {
        (false, _) => ExitCode::SUCCESS,
        // Nothing stored: the input is refused as a whole, nothing changed.
        (true, 0) => ExitCode::from(2),
        (true, _) => {
            eprintln!(
                "{shown}: partly stored (exit status {PARTLY_STORED}): {stored} operations \
                 stored, the rest not; fix the input and run the same command again to store \
                 only what is missing"
            );
            ExitCode::from(PARTLY_STORED)
        }
    })
}

/// `--strict`: every chunk is staged, then all are stored in one transaction if, and only if,
/// the reader found no rejected record and read the input to its end.
async fn strict_ingest(
    args: &IngestOperationsArgs,
    ctx: &Ctx,
    store: &Database,
    shown: &str,
    mut rx: tokio::sync::mpsc::Receiver<ToStore>,
    reader: std::thread::JoinHandle<Found>,
) -> anyhow::Result<ExitCode> {
    let mut staging = store.stage().await?;
    while let Some(c) = rx.recv().await {
        staging.add(&store_chunk(&c.id), &c.ops).await?;
    }
    drop(rx);
    let found = join(reader, shown)?;
    print_rejections(shown, &found);
    if let Some(e) = &found.stopped {
        print_stop(shown, e);
    }
    let refused = found.rejected_count > 0 || found.stopped.is_some();
    let stored = if refused {
        drop(staging);
        if found.rejected_count > 0 {
            eprintln!(
                "{shown}: {} record(s) rejected; stored nothing (--strict)",
                found.rejected_count
            );
        } else {
            eprintln!("{shown}: stored nothing (--strict)");
        }
        0
    } else if staging.staged() == 0 && found.skipped > 0 {
        drop(staging);
        0
    } else {
        staging.publish(shown, ctx.now).await?
    };
    store.close().await;
    if args.json {
        crate::out::print_json(&outcome(stored, &found))?;
    } else if !refused {
        let mut line = format!("Stored {stored} operations from {shown}");
        if found.skipped > 0 {
            line.push_str(&format!(
                "; {} records ingested before were skipped (--again stores them again)",
                found.skipped
            ));
        }
        eprintln!("{line}");
    }
    Ok(match &found.stopped {
        None if !refused => ExitCode::SUCCESS,
        Some(e) if !e.bad_input => ExitCode::from(1),
        _ => ExitCode::from(2),
    })
}

fn join(reader: std::thread::JoinHandle<Found>, shown: &str) -> anyhow::Result<Found> {
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader of {shown} stopped unexpectedly"))
}

fn outcome(stored: u64, found: &Found) -> Outcome {
    Outcome {
        stored,
        skipped: found.skipped,
        rejected: found
            .rejected
            .iter()
            .take(LISTED_REJECTIONS)
            .map(|r| RejectedJson {
                line: r.line,
                index: r.index,
                reason: r.reason.clone(),
            })
            .collect(),
        rejected_count: found.rejected_count,
    }
}

/// Where and why the input could not be read on.
fn print_stop(shown: &str, e: &InputError) {
    let message = terminal_safe(&e.message);
    match e.line {
        Some(line) => eprintln!("{shown}:{line}: {message}"),
        None => eprintln!("{shown}: {message}"),
    }
}

fn print_rejections(shown: &str, found: &Found) {
    for r in found.rejected.iter().take(SHOWN_REJECTIONS) {
        let reason = terminal_safe(&r.reason);
        match r.index {
            Some(i) => eprintln!("{shown}:{}: element {i}: {reason}", r.line),
            None => eprintln!("{shown}:{}: {reason}", r.line),
        }
    }
    if found.rejected_count > SHOWN_REJECTIONS {
        eprintln!(
            "{shown}: … and {} more rejected records",
            found.rejected_count - SHOWN_REJECTIONS
        );
    }
}

fn store_chunk(id: &ChunkId) -> Chunk {
    Chunk {
        key: id.key.clone(),
        prev: id.prev.clone(),
        records: id.records,
    }
}
