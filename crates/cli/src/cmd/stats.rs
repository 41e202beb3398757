//! `mhd stats show | summary | dataset | cleanup`: the single-user statistics, with MDM's
//! options and output so its users' habits carry over.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use mhd_core::format::{self, terminal_safe};
use mhd_core::time_parse::parse_since;
use mhd_store::{OperationFilter, Store};

use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, paint, print_json, wrap};

/// Recent operations.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// How many operations to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub limit: u32,
    /// Only this dataset.
    #[arg(long, short = 'd')]
    pub dataset: Option<String>,
    /// Only this metric type.
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub metric_type: Option<String>,
    /// Only since a time or for a span back from now: 30m, 2h, 7d, 2025-01-06, RFC 3339.
    #[arg(long)]
    pub since: Option<String>,
    /// Only failed operations.
    #[arg(long)]
    pub failed: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Summary statistics.
#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// Print JSON with MDM's field names.
    #[arg(long)]
    pub json: bool,
}

/// One dataset's operations by type.
#[derive(Debug, clap::Args)]
pub struct DatasetArgs {
    /// The dataset's name.
    pub name: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Delete old operations, and prune every other kind past its retention (the plan's
/// [retention]) as `mhd retention run` does; dataset states and migration counts stay.
#[derive(Debug, clap::Args)]
pub struct CleanupArgs {
    /// Keep operations of this many days; delete older ones.
    #[arg(long, short = 'd', default_value_t = 30)]
    pub days: u32,
    /// Do not ask.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mhd stats show`.
pub async fn show(args: ShowArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.limit == 0 {
        return Err(usage("--limit: must be at least 1"));
    }
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, ctx.now).map_err(|e| usage(format!("--since: {e}"))))
        .transpose()?;
    let store = open_store(ctx).await?;
    let ops = store
        .recent_operations(&OperationFilter {
            limit: args.limit,
            dataset: args.dataset,
            metric_type: args.metric_type,
            since,
            until: None,
            failed_only: args.failed,
        })
        .await?;
    if args.json {
        print_json(&ops)?;
        return Ok(ExitCode::SUCCESS);
    }
    if ops.is_empty() {
        println!("{}", paint(ctx.color, Style::Yellow, "No operations found"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        &[
            ("Time", Align::Left),
            ("Type", Align::Left),
            ("Operation", Align::Left),
            ("Dataset", Align::Left),
            ("Duration", Align::Right),
            ("Status", Align::Left),
        ],
        40,
    );
    for o in &ops {
        let op = &o.op;
        t.row(vec![
            Cell::new(format::relative(ctx.now, op.timestamp), Style::Dim),
            Cell::new(&op.metric_type, Style::Cyan),
            Cell::new(&op.operation, Style::Plain),
            Cell::new(op.dataset_name.as_deref().unwrap_or("-"), Style::Yellow),
            Cell::new(format::duration_ms(op.duration_ms), Style::Green),
            if op.success {
                Cell::new("✓ ok", Style::Green)
            } else {
                Cell::new("✗ failed", Style::Red)
            },
        ]);
        if !op.success
            && let Some(e) = &op.error_message
        {
            t.note(Cell::new(format!("→ {e}"), Style::Red));
        }
    }
    println!("{}", paint(ctx.color, Style::Bold, "Recent Operations"));
    print!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd stats summary`.
pub async fn summary(args: SummaryArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let s = store.stats_summary().await?;
    if args.json {
        print_json(&s)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = ctx.color;
    let o = &s.overall;
    println!("{}", paint(c, Style::Bold, "Overall Statistics"));
    println!("  Total Operations: {}", o.total_operations);
    let Some(rate) = o.success_rate else {
        println!(
            "  No operations yet: record one with `mhd record`, or load some with `mhd ingest operations`."
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!("  Success Rate:     {}", format::percent(rate));
    println!(
        "  Average Duration: {}",
        format::duration_ms(o.avg_duration_ms)
    );
    println!(
        "  Last Operation:   {}",
        o.last_operation
            .map_or_else(|| "Never".to_owned(), |t| format::relative(ctx.now, t))
    );
    if !s.by_type.is_empty() {
        println!();
        println!("{}", paint(c, Style::Bold, "Operations by Type"));
        let mut t = Table::new(
            &[
                ("Type", Align::Left),
                ("Count", Align::Right),
                ("Avg Duration", Align::Right),
                ("Errors", Align::Right),
            ],
            40,
        );
        for ty in &s.by_type {
            t.row(vec![
                Cell::new(&ty.metric_type, Style::Cyan),
                ty.count.to_string().into(),
                format::duration_ms(ty.avg_duration_ms).into(),
                Cell::new(
                    ty.error_count.to_string(),
                    if ty.error_count > 0 {
                        Style::Red
                    } else {
                        Style::Green
                    },
                ),
            ]);
        }
        print!("{}", t.render(c, ctx.width));
    }
    if s.dataset_stats.total_datasets > 0 {
        println!();
        println!("{}", paint(c, Style::Bold, "Dataset Statistics"));
        println!("  Total Datasets:      {}", s.dataset_stats.total_datasets);
        println!(
            "  Datasets Registered: {}",
            s.dataset_stats.datasets_registered
        );
    }
    if !s.recent_errors.is_empty() {
        println!();
        println!("{}", paint(c, Style::Red, "Recent Errors:"));
        for e in &s.recent_errors {
            let line = format!(
                "{} - {}",
                format::relative(ctx.now, e.timestamp),
                terminal_safe(&e.operation)
            );
            for l in wrap(&line, ctx.width, "  • ", "    ") {
                println!("{l}");
            }
            if let Some(m) = &e.error_message {
                for l in wrap(&terminal_safe(m), ctx.width, "    ", "    ") {
                    println!("{}", paint(c, Style::Dim, &l));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd stats dataset`.
pub async fn dataset(args: DatasetArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let rows = store.dataset_stats(&args.name).await?;
    if args.json {
        print_json(&serde_json::json!({ "dataset_name": args.name, "by_type": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Yellow,
                &format!(
                    "No operations found for dataset '{}'",
                    terminal_safe(&args.name)
                )
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        paint(
            ctx.color,
            Style::Bold,
            &format!("Operations on dataset: {}", terminal_safe(&args.name))
        )
    );
    let mut t = Table::new(
        &[
            ("Operation Type", Align::Left),
            ("Count", Align::Right),
            ("Avg Duration", Align::Right),
            ("Rows Processed", Align::Right),
            ("Errors", Align::Right),
            ("Last Operation", Align::Left),
        ],
        40,
    );
    for r in &rows {
        t.row(vec![
            Cell::new(&r.metric_type, Style::Cyan),
            r.count.to_string().into(),
            format::duration_ms(r.avg_duration_ms).into(),
            r.total_rows_processed
                .map_or_else(|| "-".to_owned(), |n| n.to_string())
                .into(),
            Cell::new(
                r.error_count.to_string(),
                if r.error_count > 0 {
                    Style::Red
                } else {
                    Style::Plain
                },
            ),
            format::relative(ctx.now, r.last_operation).into(),
        ]);
    }
    print!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd stats cleanup`.
pub async fn cleanup(args: CleanupArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if args.days == 0 {
        return Err(usage(
            "--days: must be at least 1 (0 would delete everything)",
        ));
    }
    let cutoff = ctx.now - time::Duration::days(i64::from(args.days));
    let store = open_store(ctx).await?;
    let n = store.count_before(cutoff).await?;
    let when = format::datetime(cutoff.to_offset(ctx.local_offset));
    if n > 0 && !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(usage(format!(
                "{n} operations are older than {} days; not on a terminal to ask, so add --yes to delete them",
                args.days
            )));
        }
        print!(
            "Delete {n} operations older than {} days (before {when})? [y/N] ",
            args.days
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            println!("{}", paint(ctx.color, Style::Yellow, "Cleanup cancelled"));
            return Ok(ExitCode::SUCCESS);
        }
    }
    // The same pass as `mhd retention run`, with the operations kept as long as asked.
    let mut settings = crate::cmd::retention::settings(ctx)?;
    settings.operations = time::Duration::days(i64::from(args.days));
    let report = store.run_retention(&settings, ctx.now).await?;
    store.close().await;
    let deleted = report.operations;
    if args.json {
        print_json(&serde_json::json!({
            "deleted": deleted,
            "before": format::rfc3339(cutoff),
            "removed": report,
        }))?;
    } else {
        let line = if deleted == 0 {
            format!(
                "No operations older than {} days (before {when})",
                args.days
            )
        } else {
            format!("Deleted {deleted} operations older than {} days", args.days)
        };
        println!("{}", paint(ctx.color, Style::Green, &line));
        print!(
            "{}",
            crate::cmd::retention::describe(&report, &settings, ctx)
        );
    }
    Ok(ExitCode::SUCCESS)
}
