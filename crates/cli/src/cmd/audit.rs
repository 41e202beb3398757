//! `mhd audit`: the audit log — who did what, when and from where — newest first, on the
//! terminal, as JSON, or as JSON lines for a SIEM; `mhd audit prune` deletes the entries past
//! their retention (as `mhd serve` does by itself).

use mhd_store::prelude::*;
use std::io::Write as _;
use std::process::ExitCode;

use mhd_core::format::relative;
use mhd_core::time_parse::parse_since;
use mhd_store::audit::{AuditFilter, MIN_RETENTION, NewEntry, Outcome};

use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, print_json};

/// The entries `mhd audit` shows without `-n`.
const DEFAULT_LIMIT: u32 = 50;

/// List the audit log, newest first.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    /// What to do; without one, list the entries.
    #[command(subcommand)]
    pub action_command: Option<AuditCommand>,
    /// Only entries since this time: a date, an RFC 3339 time, or a span such as 2h or 7d.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this action, such as `operations.write` or `alert.acknowledge`.
    #[arg(long)]
    pub action: Option<String>,
    /// At most this many entries (0: all).
    #[arg(short = 'n', long, default_value_t = DEFAULT_LIMIT)]
    pub limit: u32,
    /// Print a JSON array of entries.
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,
    /// Print one JSON object per line, oldest first, for a SIEM.
    #[arg(long)]
    pub jsonl: bool,
}

/// `mhd audit`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Delete the entries older than the retention (entries younger than 30 days are always
    /// kept).
    Prune(PruneArgs),
}

/// `mhd audit prune`.
#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// Keep the entries of this long, such as 400d or 52w (at least 30d): as `mhd serve
    /// --audit-retention`, whose variable it reads too.
    #[arg(
        long,
        value_name = "DURATION",
        env = "MHD_AUDIT_RETENTION",
        default_value = "400d"
    )]
    pub older_than: String,
}

/// Reads a retention such as `400d`: at least [`MIN_RETENTION`]; `flag` names it in the error.
pub fn parse_retention(flag: &str, value: &str) -> anyhow::Result<time::Duration> {
    let retention =
        mhd_core::time_parse::parse_duration(value).map_err(|e| usage(format!("{flag}: {e}")))?;
    if retention < MIN_RETENTION {
        return Err(usage(format!(
            "{flag}: {value:?} is shorter than the {} days every audit entry is kept at least",
            MIN_RETENTION.whole_days()
        )));
    }
    Ok(retention)
}

/// Runs `mhd audit prune`: deletes what is past the retention, and says how much.
async fn prune(args: PruneArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let retention = parse_retention("--older-than", &args.older_than)?;
    let before = ctx.now - retention;
    let store = open_store(ctx).await?;
    let deleted = store.prune_audit(before).await?;
    record(
        &store,
        ctx,
        "audit.prune",
        "audit",
        serde_json::json!({ "before": before.format(&time::format_description::well_known::Rfc3339)?, "deleted": deleted }),
    )
    .await;
    store.release();
    println!(
        "Deleted {deleted} audit entr{} older than {} days (recorded before {}).",
        if deleted == 1 { "y" } else { "ies" },
        retention.whole_days(),
        before.date()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd audit`.
pub async fn run(args: AuditArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if let Some(AuditCommand::Prune(p)) = args.action_command {
        return prune(p, ctx).await;
    }
    let since = match &args.since {
        Some(s) => Some(parse_since(s, ctx.now).map_err(|e| usage(format!("--since: {e}")))?),
        None => None,
    };
    if let Some(a) = &args.action
        && (a.is_empty() || a.len() > 64 || a.chars().any(char::is_control))
    {
        return Err(usage(format!("--action: {a:?} is not an action name")));
    }
    let store = open_store(ctx).await?;
    let entries = store
        .audit_entries(&AuditFilter {
            since,
            action: args.action.clone(),
            limit: args.limit,
        })
        .await?;
    store.release();
    if args.jsonl {
        let mut out = std::io::stdout().lock();
        for e in entries.iter().rev() {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        print_json(&entries)?;
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!(
            "No audit entries{}.",
            if since.is_some() || args.action.is_some() {
                " match"
            } else {
                " yet"
            }
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        &[
            ("ID", Align::Right),
            ("WHEN", Align::Left),
            ("WHO", Align::Left),
            ("ACTION", Align::Left),
            ("RESOURCE", Align::Left),
            ("OUTCOME", Align::Left),
            ("FROM", Align::Left),
        ],
        64,
    );
    for e in &entries {
        let style = match e.outcome {
            Outcome::Ok => Style::Plain,
            Outcome::Refused => Style::Red,
        };
        t.row(vec![
            Cell::from(e.id.to_string()),
            Cell::from(relative(ctx.now, e.at)),
            Cell::from(&e.actor),
            Cell::from(&e.action),
            Cell::from(&e.resource),
            Cell::new(e.outcome.as_str(), style),
            Cell::from(e.client.as_deref().unwrap_or("-")),
        ]);
    }
    println!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

/// Who runs this command, as the audit log names them: `$USER`, else `local`.
pub fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty() && u.len() <= 64 && !u.chars().any(char::is_control))
        .unwrap_or_else(|| "local".to_owned())
}

/// Records a change made on the command line (client `cli`). An entry the store refuses is a
/// warning, never a failure of the change itself, which is already made.
pub async fn record(
    store: &mhd_store::Database,
    ctx: &Ctx,
    action: &str,
    resource: &str,
    details: serde_json::Value,
) {
    record_outcome(store, ctx, action, resource, details, Outcome::Ok).await;
}

/// Records a change the command line asked for and the store refused (unknown or resolved
/// alert, bad value), as the API records the refusals it answers; `details` says why.
pub async fn record_refused(
    store: &mhd_store::Database,
    ctx: &Ctx,
    action: &str,
    resource: &str,
    details: serde_json::Value,
) {
    record_outcome(store, ctx, action, resource, details, Outcome::Refused).await;
}

/// Appends one entry from the command line; a refusal of the store is a warning.
async fn record_outcome(
    store: &mhd_store::Database,
    ctx: &Ctx,
    action: &str,
    resource: &str,
    details: serde_json::Value,
    outcome: Outcome,
) {
    let entry = NewEntry {
        at: ctx.now,
        actor: actor(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        details,
        client: Some("cli".to_owned()),
        outcome,
    };
    if let Err(e) = store.record_audit(&entry).await {
        tracing::warn!("cannot record {action} in the audit log: {e}");
    }
}
