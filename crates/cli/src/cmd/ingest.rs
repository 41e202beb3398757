//! `mhd ingest operations`: bulk-load operations from NDJSON or a JSON array.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mhd_core::NewOperation;
use mhd_ingest::operations::{self, Rejected};
use serde::Serialize;

use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};

/// Operations per write: large enough to amortise each statement, small enough to keep memory
/// flat however long the input is.
const BATCH: usize = 8192;
/// Rejections printed one by one before the rest are only counted.
const SHOWN_REJECTIONS: usize = 50;

/// Bulk-load operations.
#[derive(Debug, clap::Args)]
pub struct IngestOperationsArgs {
    /// NDJSON (one JSON object per line) or a JSON array; `-` reads standard input.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
    /// Store nothing unless every record is valid.
    #[arg(long)]
    pub strict: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    stored: u64,
    rejected: Vec<RejectedJson>,
}

#[derive(Debug, Serialize)]
struct RejectedJson {
    line: usize,
    index: Option<usize>,
    reason: String,
}

/// Reads and parses the whole input, sending valid operations in batches and returning the
/// rejected records. A JSON array that does not parse at all is an error: nothing is sent.
fn parse_input(
    source: Box<dyn Read + Send>,
    name: &str,
    now: time::OffsetDateTime,
    tx: &tokio::sync::mpsc::Sender<Vec<NewOperation>>,
) -> anyhow::Result<Vec<Rejected>> {
    let mut reader = BufReader::with_capacity(1 << 20, source);
    let is_array = operations::looks_like_array(
        reader
            .fill_buf()
            .with_context(|| format!("cannot read {name}"))?,
    );
    let mut rejected: Vec<Rejected> = Vec::new();
    let mut batch: Vec<NewOperation> = Vec::with_capacity(BATCH);
    let send = |batch: &mut Vec<NewOperation>| -> anyhow::Result<()> {
        let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
        // The receiver is gone only when the writer failed; its error is the one to report.
        tx.blocking_send(full)
            .map_err(|_| anyhow::anyhow!("the store stopped taking operations"))
    };
    if is_array {
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|e| usage(format!("{name}: not UTF-8 text: {e}")))?;
        let parsed = operations::parse_array(&text, now)
            .map_err(|r| usage(format!("{name}:{}: {}", r.line, r.reason)))?;
        for item in parsed {
            match item {
                Ok(op) => batch.push(op),
                Err(r) => rejected.push(r),
            }
            if batch.len() == BATCH {
                send(&mut batch)?;
            }
        }
    } else {
        let mut line = Vec::with_capacity(512);
        let mut number = 0usize;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {name}"))?;
            if n == 0 {
                break;
            }
            number += 1;
            let parsed = match std::str::from_utf8(&line) {
                Ok(text) => operations::parse_ndjson_line(text, number, now),
                Err(e) => Some(Err(Rejected {
                    line: number,
                    index: None,
                    reason: format!("not UTF-8 text: {e}"),
                })),
            };
            match parsed {
                None => {}
                Some(Ok(op)) => batch.push(op),
                Some(Err(r)) => rejected.push(r),
            }
            if batch.len() == BATCH {
                send(&mut batch)?;
            }
        }
    }
    if !batch.is_empty() {
        send(&mut batch)?;
    }
    Ok(rejected)
}

/// Runs `mhd ingest operations`.
pub async fn operations(args: IngestOperationsArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let name = if args.file.as_os_str() == "-" {
        "<stdin>".to_owned()
    } else {
        args.file.display().to_string()
    };
    let source: Box<dyn Read + Send> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(&args.file).map_err(|e| usage(format!("{name}: cannot read: {e}")))?)
    };

    let store = open_store(ctx).await?;
    let mut writer = store.writer().await?;
    // Parsing runs on its own thread while the store writes the previous batch, so the two
    // overlap; the bounded channel keeps memory flat.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<NewOperation>>(2);
    let parser = {
        let name = name.clone();
        let now = ctx.now;
        std::thread::spawn(move || parse_input(source, &name, now, &tx))
    };
    while let Some(batch) = rx.recv().await {
        writer.write(&batch).await?;
    }
    let rejected = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the parser of {name} stopped unexpectedly"))??;

    for r in rejected.iter().take(SHOWN_REJECTIONS) {
        match r.index {
            Some(i) => eprintln!("{name}:{}: element {i}: {}", r.line, r.reason),
            None => eprintln!("{name}:{}: {}", r.line, r.reason),
        }
    }
    if rejected.len() > SHOWN_REJECTIONS {
        eprintln!(
            "{name}: … and {} more rejected records",
            rejected.len() - SHOWN_REJECTIONS
        );
    }
    let stored = if args.strict && !rejected.is_empty() {
        writer.rollback().await?;
        eprintln!(
            "{name}: {} record(s) rejected; stored nothing (--strict)",
            rejected.len()
        );
        0
    } else {
        writer.commit().await?
    };
    store.close().await;

    if args.json {
        crate::out::print_json(&Outcome {
            stored,
            rejected: rejected
                .iter()
                .map(|r| RejectedJson {
                    line: r.line,
                    index: r.index,
                    reason: r.reason.clone(),
                })
                .collect(),
        })?;
    } else if !args.strict || rejected.is_empty() {
        let also = if rejected.is_empty() {
            String::new()
        } else {
            format!("; rejected {}", rejected.len())
        };
        eprintln!("Stored {stored} operations from {name}{also}");
    }
    Ok(if rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
