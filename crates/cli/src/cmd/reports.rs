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
    // Every file is read before anything is stored: one bad report stores nothing.
    let mut cases: Vec<TestCase> = Vec::new();
    let mut time = 0.0;
    let mut reported_at = None;
    for path in &args.files {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| usage(format!("{name}: cannot read: {e}")))?;
        let report = mhd_ingest::junit::parse(BufReader::new(file), &name)
            .map_err(|e| usage(e.to_string()))?;
        time += report.time.unwrap_or(0.0);
        if run_at.is_none()
            && let Some(t) = report.timestamp
        {
            limits.check(t).map_err(|e| {
                usage(format!(
                    "{}: the report's timestamp: {e} (or give --run-at)",
                    terminal_safe(&name)
                ))
            })?;
        }
        reported_at = reported_at.or(report.timestamp);
        cases.extend(report.cases);
    }
    let run = mhd_ingest::junit::JunitReport {
        name: None,
        time: Some(time),
        timestamp: None,
        cases,
    }
    .into_test_run(
        args.suite,
        args.phase,
        args.component,
        run_at.or(reported_at).unwrap_or(ctx.now),
    );
    let store = open_store(ctx).await?;
    let sources: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    store
        .insert_test_run(&run, Some(&sources.join(", ")))
        .await
        .map_err(|e| invalid_input(e, &sources.join(", ")))?;
    store.close().await;
    let t = run.totals();
    if args.json {
        print_json(&serde_json::json!({
            "suite": run.suite,
            "run_at": mhd_core::format::rfc3339(run.run_at),
            "results": { "total": t.total, "passed": t.passed, "failed": t.failed, "errors": t.errors, "skipped": t.skipped, "duration": run.duration },
        }))?;
    } else {
        println!(
            "Stored a run of {}: {} tests, {} passed, {} failed, {} skipped ({} file{})",
            terminal_safe(&run.suite),
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
