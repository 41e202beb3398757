//! `mhd ingest junit` and `mhd ingest bench`: test reports and benchmark files as CI and
//! benchmarking tools write them.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use mhd_core::System;
use mhd_core::format::terminal_safe;
use mhd_core::testrun::TestCase;
use mhd_core::time_parse::parse_timestamp;
use mhd_store::{Store, StoreError};

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::print_json;

/// Store one test run of a suite from JUnit XML reports.
#[derive(Debug, clap::Args)]
pub struct JunitArgs {
    /// The reports: all their test cases make one run of the suite (Surefire, for one, writes a
    /// file per test class).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The suite the run belongs to; its runs make the trend.
    #[arg(long)]
    pub suite: String,
    /// The plan's phase the suite tests.
    #[arg(long)]
    pub phase: Option<String>,
    /// The plan's component the suite tests.
    #[arg(long)]
    pub component: Option<String>,
    /// When the run happened [default: the report's timestamp, else now].
    #[arg(long, value_name = "RFC3339")]
    pub run_at: Option<String>,
    /// Print the stored run's totals as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Store benchmark timings of one system.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// hyperfine's `--export-json` file, a Criterion output folder, or a CSV of
    /// `operation,system,value_ms`.
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
    /// The system measured (hyperfine and Criterion; a CSV says it on every row).
    #[arg(long, value_parser = ["old", "new"])]
    pub system: Option<String>,
    /// The operation's name, for an input with a single command or benchmark.
    #[arg(long)]
    pub operation: Option<String>,
    /// The component the operations belong to.
    #[arg(long)]
    pub component: Option<String>,
    /// Print what was stored as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Checks `--phase` and `--component` against the plan, when there is one.
fn check_names(ctx: &Ctx, phase: Option<&str>, component: Option<&str>) -> anyhow::Result<()> {
    let Some(plan) = load_plan(&ctx.plan_path())? else {
        return Ok(());
    };
    if let Some(p) = phase
        && plan.phase(p).is_none()
    {
        let known: Vec<&str> = plan.phases.iter().map(|p| p.id.as_str()).collect();
        return Err(usage(format!(
            "--phase: the plan has no phase {:?} (it has {})",
            terminal_safe(p),
            known.join(", ")
        )));
    }
    if let Some(c) = component
        && !plan.components.is_empty()
        && plan.component(c).is_none()
    {
        let known: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
        return Err(usage(format!(
            "--component: the plan has no component {:?} (it has {})",
            terminal_safe(c),
            known.join(", ")
        )));
    }
    Ok(())
}

/// A record the store refused is bad input (status 2), named with its source; any other
/// failure is one while running.
fn invalid_input(e: StoreError, source: &str) -> anyhow::Error {
    match e {
        StoreError::Invalid { .. } => usage(format!("{}: {e}", terminal_safe(source))),
        other => anyhow::Error::new(other),
    }
}

/// Runs `mhd ingest junit`.
pub async fn junit(args: JunitArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    mhd_core::limits::check_name(&args.suite, true).map_err(|e| usage(format!("--suite: {e}")))?;
    check_names(ctx, args.phase.as_deref(), args.component.as_deref())?;
    let limits = ctx.time_limits_from_plan()?;
    let run_at = args
        .run_at
        .as_deref()
        .map(|t| {
            parse_timestamp(t)
                .and_then(|t| limits.check(t).map(|()| t))
                .map_err(|e| usage(format!("--run-at: {e}")))
        })
        .transpose()?;
    // The cases go to the store in batches as they are read, all in one transaction: memory
    // stays flat however large the reports, and one bad report stores nothing.
    let store = open_store(ctx).await?;
    let sources = args
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut writer = store
        .test_run_writer(
            &args.suite,
            args.phase.as_deref(),
            args.component.as_deref(),
            Some(&sources),
        )
        .await
        .map_err(|e| invalid_input(e, &sources))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<TestCase>>(2);
    let files = args.files.clone();
    let reader = std::thread::spawn(move || read_reports(&files, tx));
    let mut failed = None;
    while let Some(batch) = rx.recv().await {
        if let Err(e) = writer.add(&batch).await {
            failed = Some(e);
            break;
        }
    }
    // Dropping the receiver makes the reader stop at its next batch.
    drop(rx);
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader of {sources} stopped unexpectedly"))?;
    let (time, reported_at) = match (read, failed) {
        (Err(e), _) => return Err(e),
        (Ok(_), Some(e)) => return Err(invalid_input(e, &sources)),
        (Ok(read), None) => read,
    };
    if run_at.is_none()
        && let Some((name, t)) = &reported_at
    {
        limits.check(*t).map_err(|e| {
            usage(format!(
                "{}: the report's timestamp: {e} (or give --run-at)",
                terminal_safe(name)
            ))
        })?;
    }
    let run_at = run_at.or(reported_at.map(|(_, t)| t)).unwrap_or(ctx.now);
    let stored = writer
        .finish(run_at, Some(time))
        .await
        .map_err(|e| invalid_input(e, &sources))?;
    store.close().await;
    let suite = args.suite;
    let t = stored.totals;
    if args.json {
        print_json(&serde_json::json!({
            "suite": suite,
            "run_at": mhd_core::format::rfc3339(run_at),
            "results": { "total": t.total, "passed": t.passed, "failed": t.failed, "errors": t.errors, "skipped": t.skipped, "duration": stored.duration },
        }))?;
    } else {
        println!(
            "Stored a run of {}: {} tests, {} passed, {} failed, {} skipped ({} file{})",
            terminal_safe(&suite),
            t.total,
            t.passed,
            t.failed,
            t.skipped,
            args.files.len(),
            if args.files.len() == 1 { "" } else { "s" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Test cases handed to the store at a time while reports are read.
const CASES_PER_BATCH: usize = 4096;

/// Reads every report in turn, sending its cases to `tx` in batches; returns the reports'
/// total time and the first report's timestamp with the report's name. Stops early, with
/// `Ok`, when the receiver is gone (storing failed: that error is the one to report).
fn read_reports(
    files: &[PathBuf],
    tx: tokio::sync::mpsc::Sender<Vec<TestCase>>,
) -> anyhow::Result<(f64, Option<(String, time::OffsetDateTime)>)> {
    let mut time = 0.0;
    let mut reported_at = None;
    for path in files {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| usage(format!("{name}: cannot read: {e}")))?;
        let mut batch = Vec::with_capacity(CASES_PER_BATCH);
        let mut open = true;
        let report = mhd_ingest::junit::parse_each(BufReader::new(file), &name, |case| {
            if !open {
                return;
            }
            batch.push(case);
            if batch.len() == CASES_PER_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(CASES_PER_BATCH));
                open = tx.blocking_send(full).is_ok();
            }
        })
        .map_err(|e| usage(e.to_string()))?;
        if !open || (!batch.is_empty() && tx.blocking_send(batch).is_err()) {
            return Ok((time, reported_at));
        }
        time += report.time.unwrap_or(0.0);
        if reported_at.is_none()
            && let Some(t) = report.timestamp
        {
            reported_at = Some((name, t));
        }
    }
    Ok((time, reported_at))
}

/// Runs `mhd ingest bench`.
pub async fn bench(args: BenchArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    check_names(ctx, None, args.component.as_deref())?;
    let options = mhd_ingest::bench::Options {
        system: args
            .system
            .as_deref()
            .map(|s| if s == "old" { System::Old } else { System::New }),
        operation: args.operation,
        component: args.component,
    };
    let samples =
        mhd_ingest::bench::read(&args.path, &options).map_err(|e| usage(e.to_string()))?;
    let store = open_store(ctx).await?;
    let shown = args.path.display().to_string();
    let n = store
        .insert_benchmarks(&samples, Some(&shown), ctx.now)
        .await
        .map_err(|e| invalid_input(e, &shown))?;
    store.close().await;
    if args.json {
        let stored: Vec<_> = samples
            .iter()
            .map(|s| serde_json::json!({ "operation": s.operation, "system": s.system, "component": s.component, "samples": s.values_ms.len() }))
            .collect();
        print_json(&serde_json::json!({ "stored": n, "series": stored }))?;
    } else {
        for s in &samples {
            println!(
                "{}: {} samples on the {} system",
                terminal_safe(&s.operation),
                s.values_ms.len(),
                s.system.as_str()
            );
        }
        println!("Stored {n} timings from {}", args.path.display());
    }
    Ok(ExitCode::SUCCESS)
}
