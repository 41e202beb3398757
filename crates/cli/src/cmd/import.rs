//! `mhd import mdm PATH`: bring an MDM user's monitoring database (`~/.mdm/metrics.db`) into
//! the store.
//!
//! - The source is checked (an SQLite file with MDM's `metrics` table) before the store is
//!   created or opened, so a wrong file changes nothing (exit status 2).
//! - Each row becomes an operation whose `import_key` is its identity in MDM's file, so
//!   importing the same file again adds only the rows that are new.
//! - A row that cannot be converted (no type or name, a time that is not one or lies more
//!   than `--max-future` ahead, a negative duration, …) is reported as `PATH: row id N:
//!   reason` and skipped; the good rows are imported and the command exits with status 3
//!   (partly stored; 2 when no row was imported). With `--strict` every row is checked first
//!   and nothing is imported unless all convert.
//! - Rows are read in pages of [`PAGE`] rows and written [`IMPORT_BATCH`] at a time, each
//!   batch its own transaction: memory stays bounded, and an import that fails part-way keeps
//!   what it wrote — running it again finishes it, since imported rows are skipped.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use mhd_core::NewOperation;
use mhd_core::format::terminal_safe;
use mhd_core::limits::{self, TimeLimits};
use mhd_ingest::mdm::{import_key, metadata_to_json, parse_mdm_timestamp};
use mhd_store::ImportOutcome;
use mhd_store::import::ImportBatch;
use mhd_store::mdm::{MdmError, MdmReader, MdmRow, PAGE};
use serde::Serialize;
use time::UtcOffset;

use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};

/// Rejections printed one by one before the rest are only counted.
const SHOWN_REJECTIONS: usize = 50;
/// Operations stored per transaction: as many as `mhd ingest operations` stores per chunk, so
/// that an import costs what an ingest of the same rows does (each commit writes again the
/// index pages its rows touched; smaller transactions made an import several times slower).
const IMPORT_BATCH: usize = 65_536;

/// Import MDM's monitoring database.
#[derive(Debug, clap::Args)]
pub struct MdmArgs {
    /// MDM's database file; MDM keeps it at ~/.mdm/metrics.db.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The UTC offset of MDM's naive local times, such as +02:00 or -05:00; one offset for
    /// every row, daylight saving time included [default: this machine's current offset].
    #[arg(long, value_name = "±HH:MM", value_parser = parse_utc_offset, allow_hyphen_values = true)]
    pub utc_offset: Option<UtcOffset>,
    /// Import nothing unless every row converts.
    #[arg(long)]
    pub strict: bool,
    /// Print the outcome as JSON: {"inserted", "skipped", "rejected"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    inserted: u64,
    skipped: u64,
    rejected: u64,
}

/// Reads `--utc-offset`: `Z`, `UTC`, or a sign and hours with optional minutes (`+02:00`,
/// `-0530`, `+2`).
fn parse_utc_offset(s: &str) -> Result<UtcOffset, String> {
    let bad = || format!("{s:?} is not a UTC offset: use +HH:MM or -HH:MM, such as +02:00");
    let t = s.trim();
    if t.eq_ignore_ascii_case("z") || t.eq_ignore_ascii_case("utc") {
        return Ok(UtcOffset::UTC);
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let digits = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

/// Turns one MDM row into an operation, or says why it cannot be one.
///
/// `success` NULL counts as a success (the column's default is 1), any other non-zero value too
/// (SQLite's and Python's truth); a blank `dataset_name` means none; `metadata` becomes a JSON
/// object when it converts and is kept as a string otherwise.
fn convert(row: MdmRow, offset: UtcOffset, limits: TimeLimits) -> Result<NewOperation, String> {
    let raw_time = row.timestamp.as_deref().ok_or("no timestamp (NULL)")?;
    let timestamp = parse_mdm_timestamp(raw_time, offset)?;
    limits
        .check(timestamp)
        .map_err(|e| format!("field `timestamp`: {e}"))?;
    let import_key = import_key(row.id, raw_time);
    let op = NewOperation {
        timestamp,
        metric_type: row.metric_type.ok_or("no metric_type (NULL)")?,
        operation: row.operation.ok_or("no operation (NULL)")?,
        dataset_name: row.dataset_name.filter(|d| !limits::is_blank(d)),
        component: None,
        system: None,
        duration_ms: row.duration_ms,
        success: row.success.is_none_or(|s| s != 0),
        row_count: row.row_count,
        error_message: row.error_message,
        metadata: metadata_to_json(row.metadata.as_deref()),
        import_key: Some(import_key),
    };
    op.validate().map_err(|e| e.to_string())?;
    Ok(op)
}

/// A problem with the source file: bad input (status 2) unless reading failed while running.
fn source_error(e: MdmError) -> anyhow::Error {
    if e.is_bad_input() {
        usage(terminal_safe(&e.to_string()).into_owned())
    } else {
        anyhow::Error::new(e)
    }
}

/// Reports rejected rows on standard error, the first [`SHOWN_REJECTIONS`] one by one.
struct Rejections {
    name: String,
    bar: ProgressBar,
    count: u64,
}

impl Rejections {
    fn add(&mut self, id: i64, reason: &str) {
        self.count += 1;
        if self.count <= SHOWN_REJECTIONS as u64 {
            let line = format!("{}: row id {id}: {}", self.name, terminal_safe(reason));
            self.bar.suspend(|| eprintln!("{line}"));
        }
    }

    fn finish(&self) {
        if self.count > SHOWN_REJECTIONS as u64 {
            eprintln!(
                "{}: … and {} more rejected rows",
                self.name,
                self.count - SHOWN_REJECTIONS as u64
            );
        }
    }
}

/// A progress bar on standard error when it is a terminal; hidden otherwise.
fn progress(total: u64) -> ProgressBar {
    if total == 0 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:9} [{bar:40}] {human_pos}/{human_len} rows ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs `mhd import mdm`.
pub async fn mdm(args: MdmArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let offset = args.utc_offset.unwrap_or(ctx.local_offset);
    let limits = ctx.time_limits_from_plan()?;
    // The source first: a wrong file must not create or touch the store.
    let mut reader = MdmReader::open(&args.path).await.map_err(source_error)?;
    let name = terminal_safe(reader.path()).into_owned();
    let total = reader.count().await.map_err(source_error)?;
    let bar = progress(total);
    let mut rejections = Rejections {
        name: name.clone(),
        bar: bar.clone(),
        count: 0,
    };

    if args.strict {
        bar.set_message("checking");
        loop {
            let page = reader.next_page(PAGE).await.map_err(source_error)?;
            if page.is_empty() {
                break;
            }
            bar.inc(page.len() as u64);
            for row in page {
                if let Err((id, reason)) = row.map_err(|b| (b.id, b.reason)).and_then(|r| {
                    let id = r.id;
                    convert(r, offset, limits).map(drop).map_err(|e| (id, e))
                }) {
                    rejections.add(id, &reason);
                }
            }
        }
        if rejections.count > 0 {
            bar.finish_and_clear();
            reader.close().await;
            rejections.finish();
            eprintln!(
                "{name}: {} row(s) cannot be converted; imported nothing (--strict)",
                rejections.count
            );
            if args.json {
                crate::out::print_json(&Outcome {
                    inserted: 0,
                    skipped: 0,
                    rejected: rejections.count,
                })?;
            }
            return Ok(ExitCode::from(2));
        }
        reader.rewind();
        bar.set_position(0);
    }

    let store = open_store(ctx).await?;
    bar.set_message("importing");
    // Reading, converting and making each batch ready to store (`ImportBatch::prepare`) run
    // on their own thread, beside storing the batch before on this one (each side also has
    // its SQLite thread); the channel holds two batches at most. Stored batches go back to be
    // emptied and filled again: their operations are freed on the thread that made them,
    // which keeps the allocator from passing memory between threads.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(ImportBatch, u64)>(2);
    let (give_back, given_back) = std::sync::mpsc::channel::<Vec<NewOperation>>();
    let reading = std::thread::spawn(move || {
        let empty_batch = || match given_back.try_recv() {
            Ok(mut batch) => {
                batch.clear();
                batch
            }
            Err(_) => Vec::with_capacity(IMPORT_BATCH),
        };
        let read = async {
            let mut batch: Vec<NewOperation> = Vec::with_capacity(IMPORT_BATCH);
            let mut rows = 0;
            let mut page = reader.next_page(PAGE).await.map_err(source_error)?;
            loop {
                let last = page.is_empty();
                rows += page.len() as u64;
                let convert_page = || {
                    for row in page {
                        match row {
                            Ok(r) => {
                                let id = r.id;
                                match convert(r, offset, limits) {
                                    Ok(op) => batch.push(op),
                                    Err(reason) => rejections.add(id, &reason),
                                }
                            }
                            Err(bad) => rejections.add(bad.id, &bad.reason),
                        }
                    }
                };
                // SQLite reads the next page while this one's rows are converted.
                let next = if last {
                    convert_page();
                    None
                } else {
                    Some(reader.next_page_during(PAGE, convert_page).await.0)
                };
                if batch.len() >= IMPORT_BATCH || (last && !batch.is_empty()) {
                    let full = std::mem::replace(&mut batch, empty_batch());
                    // Checked as a whole again (each was checked as it was converted, to
                    // be rejected alone), so that the store need not check it.
                    let full = ImportBatch::prepare(full)?;
                    // The receiver is gone only when storing failed: its error is the one to
                    // report.
                    if tx.send((full, rows)).await.is_err() {
                        break;
                    }
                    rows = 0;
                }
                match next {
                    Some(next) => page = next.map_err(source_error)?,
                    None => break,
                }
            }
            drop(tx);
            reader.close().await;
            Ok::<_, anyhow::Error>(())
        };
        let outcome = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(read));
        (outcome, rejections)
    });
    let mut outcome = ImportOutcome::default();
    let mut written = Ok(());
    while let Some((batch, rows)) = rx.recv().await {
        let (done, ops) = store.import_batch(batch).await;
        // Gone only once reading has ended: the batch is then freed here.
        let _ = give_back.send(ops);
        match done {
            Ok(done) => {
                outcome.inserted += done.inserted;
                outcome.skipped += done.skipped;
                bar.inc(rows);
            }
            Err(e) => {
                written = Err(anyhow::Error::new(e).context(format!(
                    "cannot write to the store {} ({} operations imported so far are kept: \
                     run the import again to finish it)",
                    ctx.store_shown(),
                    outcome.inserted
                )));
                break;
            }
        }
    }
    // Closing the channel stops the reading thread at its next batch, if it is still going.
    drop(rx);
    let (read, rejections) = reading
        .join()
        .map_err(|_| anyhow::anyhow!("reading {name} failed unexpectedly"))?;
    written?;
    read?;
    bar.finish_and_clear();
    store.close().await;
    rejections.finish();

    if args.json {
        crate::out::print_json(&Outcome {
            inserted: outcome.inserted,
            skipped: outcome.skipped,
            rejected: rejections.count,
        })?;
    } else {
        println!(
            "Imported {} operations from {name} ({} already imported, {} rejected)",
            outcome.inserted, outcome.skipped, rejections.count
        );
    }
    Ok(if rejections.count == 0 {
        ExitCode::SUCCESS
    } else if outcome.inserted == 0 {
        ExitCode::from(2)
    } else {
        eprintln!(
            "{name}: partly imported (exit status {}): {} rows rejected; fix them and import \
             again to add only what is missing",
            crate::cmd::ingest::PARTLY_STORED,
            rejections.count
        );
        ExitCode::from(crate::cmd::ingest::PARTLY_STORED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::{datetime, offset};

    const AT: TimeLimits = TimeLimits {
        now: datetime!(2025-03-01 12:00 UTC),
        max_future: mhd_core::limits::DEFAULT_MAX_FUTURE,
    };

    fn row() -> MdmRow {
        MdmRow {
            id: 7,
            timestamp: Some("2025-01-06 14:03:12.5".into()),
            metric_type: Some("dataset_read".into()),
            operation: Some("read_csv".into()),
            duration_ms: Some(12.5),
            success: Some(1),
            dataset_name: Some("sales".into()),
            row_count: Some(10),
            error_message: None,
            metadata: Some("{'path': '/tmp/x', 'cols': ('a', 'b')}".into()),
        }
    }

    #[test]
    fn a_full_row_converts_with_its_key() {
        let op = convert(row(), offset!(+2), AT).unwrap();
        assert_eq!(op.timestamp, datetime!(2025-01-06 12:03:12.5 UTC));
        assert_eq!(op.metric_type, "dataset_read");
        assert_eq!(op.operation, "read_csv");
        assert_eq!(op.dataset_name.as_deref(), Some("sales"));
        assert_eq!(
            (op.duration_ms, op.row_count, op.success),
            (Some(12.5), Some(10), true)
        );
        assert_eq!(
            op.metadata,
            Some(json!({"path": "/tmp/x", "cols": ["a", "b"]}))
        );
        assert_eq!(
            op.import_key.as_deref(),
            Some("mdm:7:2025-01-06 14:03:12.5")
        );
    }

    #[test]
    fn success_and_blank_fields_follow_mdm() {
        let cases: &[(Option<i64>, bool)] = &[
            (None, true),
            (Some(1), true),
            (Some(0), false),
            (Some(2), true),
        ];
        for (raw, want) in cases {
            let mut r = row();
            r.success = *raw;
            assert_eq!(
                convert(r.clone(), UtcOffset::UTC, AT).unwrap().success,
                *want,
                "{raw:?}"
            );
        }
        let mut r = row();
        r.dataset_name = Some(" ".into());
        r.metadata = Some("{'when': datetime.datetime(2025, 1, 6, 0, 0)}".into());
        let op = convert(r.clone(), UtcOffset::UTC, AT).unwrap();
        assert_eq!(op.dataset_name, None);
        assert_eq!(
            op.metadata,
            Some(json!("{'when': datetime.datetime(2025, 1, 6, 0, 0)}"))
        );
    }

    #[test]
    fn rows_that_cannot_be_operations_say_why() {
        type Break = fn(&mut MdmRow);
        let cases: &[(Break, &str)] = &[
            (|r| r.timestamp = None, "no timestamp"),
            (
                |r| r.timestamp = Some("soon".into()),
                "\"soon\" is not a date and time",
            ),
            (
                |r| r.timestamp = Some("1960-01-01 00:00:00".into()),
                "field `timestamp`",
            ),
            (|r| r.metric_type = None, "no metric_type"),
            (|r| r.operation = None, "no operation"),
            (
                |r| r.operation = Some(String::new()),
                "field `operation`: must not be empty",
            ),
            (|r| r.duration_ms = Some(-1.0), "field `duration_ms`"),
            (|r| r.row_count = Some(-1), "field `row_count`"),
            (
                |r| r.timestamp = Some("2025-03-03 00:00:00".into()),
                "field `timestamp`: 2025-03-03T00:00:00Z is more than 1d in the future",
            ),
        ];
        for (break_it, want) in cases {
            let mut r = row();
            break_it(&mut r);
            let err = convert(r.clone(), UtcOffset::UTC, AT).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }

    #[test]
    fn utc_offsets_parse_in_the_usual_spellings() {
        let ok: &[(&str, UtcOffset)] = &[
            ("+02:00", offset!(+2)),
            ("-05:30", offset!(-5:30)),
            ("+0530", offset!(+5:30)),
            ("+2", offset!(+2)),
            ("Z", UtcOffset::UTC),
            ("utc", UtcOffset::UTC),
            ("-00:00", UtcOffset::UTC),
        ];
        for (text, want) in ok {
            assert_eq!(parse_utc_offset(text), Ok(*want), "{text}");
        }
        for bad in [
            "02:00", "+24:00", "+02:60", "+2:3:4", "", "+", "+abc", "EST",
        ] {
            assert!(parse_utc_offset(bad).is_err(), "{bad:?}");
        }
    }
}
