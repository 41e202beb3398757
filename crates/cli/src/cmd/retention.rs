//! `mhd retention run`: prunes now what is past its retention (the plan's `[retention]`), as
//! `mhd serve` does every hour, and says what it removed per kind. `mhd stats cleanup` runs
//! the same pass with the operations' retention it is given.

use std::process::ExitCode;

use mhd_core::format;
use mhd_core::plan::{RetentionSettings, duration_text};
use mhd_store::retention::RetentionReport;

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::Ctx;
use crate::out::{Style, paint, print_json};

/// `mhd retention`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// Prune now what is past its retention (the plan's [retention], else the defaults): raw
    /// samples are rolled up first; dataset states, migration counts and milestone marks stay.
    Run(RunArgs),
}

/// `mhd retention run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Print what was removed as JSON.
    #[arg(long)]
    pub json: bool,
    /// Afterwards, rewrite the store once so that it hands freed pages back to the file
    /// system from then on (for a store made before incremental vacuum; it holds the store
    /// while it copies it).
    #[arg(long)]
    pub vacuum: bool,
    /// Keep operations this many days, over the plan's [retention] (at least 30). Also
    /// RETENTION_DAYS.
    #[arg(long, value_name = "DAYS", env = "MHD_RETENTION_DAYS")]
    pub retention_days: Option<String>,
}

/// The plan's retention, or the defaults without a plan.
pub fn settings(ctx: &Ctx) -> anyhow::Result<RetentionSettings> {
    settings_with(ctx, &crate::cmd::overrides::PlanOverrides::default())
}

/// [`settings`] with what is given from outside the plan (`--retention-days`).
pub fn settings_with(
    ctx: &Ctx,
    overrides: &crate::cmd::overrides::PlanOverrides,
) -> anyhow::Result<RetentionSettings> {
    overrides.retention(load_plan(&ctx.plan_path())?.as_ref())
}

/// Runs `mhd retention`.
pub async fn run(command: RetentionCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let RetentionCommand::Run(args) = command;
    let overrides = crate::cmd::overrides::PlanOverrides {
        retention_days: args.retention_days.clone(),
        ..Default::default()
    };
    let settings = settings_with(ctx, &overrides)?;
    let store = open_store(ctx).await?;
    let report = store.run_retention(&settings, ctx.now).await?;
    let rewritten = args.vacuum && store.vacuum_into_incremental().await?;
    store.close().await;
    if args.json {
        print_json(&serde_json::json!({
            "as_of": format::rfc3339(ctx.now),
            "retention": settings,
            "removed": report,
        }))?;
    } else {
        print!("{}", describe(&report, &settings, ctx));
        if rewritten {
            println!("The store was rewritten: it hands freed pages back from now on.");
        } else if args.vacuum {
            println!("Nothing to rewrite: PostgreSQL's autovacuum makes the freed space reusable.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a pass removed, one kind a line, for the terminal.
pub fn describe(r: &RetentionReport, s: &RetentionSettings, ctx: &Ctx) -> String {
    let older = |d: time::Duration| format!("older than {}", duration_text(d));
    let rows = [
        (
            "raw samples",
            r.samples,
            format!(
                "{}; {} rolled up first",
                older(s.samples),
                r.samples_rolled_up
            ),
        ),
        (
            "1-minute sample aggregates",
            r.sample_minutes,
            older(s.sample_rollups),
        ),
        (
            "1-hour sample aggregates",
            r.sample_hours,
            older(s.sample_rollups),
        ),
        (
            "1-day sample aggregates",
            r.sample_days,
            older(s.sample_rollups),
        ),
        (
            "operations",
            r.operations,
            format!("{}; milestone marks kept", older(s.operations)),
        ),
        (
            "test runs",
            r.test_runs,
            format!(
                "{} cases; {}; each suite's last runs kept",
                r.test_cases,
                older(s.test_runs)
            ),
        ),
        (
            "resolved alerts",
            r.alerts,
            format!(
                "{} history entries; resolved more than {} ago",
                r.alert_events,
                duration_text(s.resolved_alerts)
            ),
        ),
        (
            "deliveries",
            r.deliveries,
            format!("{}, of resolved alerts", older(s.deliveries)),
        ),
    ];
    let mut out = format!(
        "{}\n",
        paint(
            ctx.color,
            Style::Bold,
            &format!(
                "Retention as of {}: removed",
                format::datetime(ctx.now.to_offset(ctx.local_offset))
            )
        )
    );
    for (kind, n, why) in rows {
        out.push_str(&format!("  {kind:<27} {n:>10}  ({why})\n"));
    }
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    if r.bytes_freed > 0 || r.bytes_reusable > 0 {
        out.push_str(&format!(
            "{:.1} MB handed back to the file system; {:.1} MB free inside the store for later writes\n",
            mb(r.bytes_freed),
            mb(r.bytes_reusable)
        ));
    }
    out.push_str(
        "Dataset states, migration counts and the rollups the views read are kept: progress is unchanged.\n",
    );
    out
}
