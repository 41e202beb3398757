//! `mhd store copy`: a SQLite store copied whole into a PostgreSQL database, so that a user who
//! started alone moves to a team's shared store with one command (see
//! [`mhd_store::copy`]); `mhd backup` and `mhd restore` (see [`mhd_store::backup`]).

use std::process::ExitCode;

use mhd_store::{Database, Location, StoreError};

use crate::ctx::{Ctx, usage};
use crate::out::print_json;

/// `mhd store`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Copy everything a SQLite store holds into a PostgreSQL database (operations, samples,
    /// tests, benchmarks, alerts with their history, users, tokens, the audit log, …); the
    /// counts are checked before the copy commits, and running it again changes nothing.
    Copy(CopyArgs),
}

/// `mhd store copy`.
#[derive(Debug, clap::Args)]
pub struct CopyArgs {
    /// The store to copy: a path or sqlite:PATH [default: the home's mhd.db].
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    /// The PostgreSQL database to copy into: postgres://user:password@host:5432/database.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Replace what the target holds when it is not this store's copy already.
    #[arg(long)]
    pub replace: bool,
    /// Print what was copied as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Opens one side of a copy; `flag` names it in messages.
async fn open(flag: &str, location: &Location) -> anyhow::Result<Database> {
    Database::open_at(location, 4).await.map_err(|e| match e {
        StoreError::NewerSchema { .. }
        | StoreError::Foreign { .. }
        | StoreError::Url { .. }
        | StoreError::Unreachable { .. } => usage(format!("{flag}: {e}")),
        other => anyhow::Error::new(other).context(format!("{flag}: cannot open the store")),
    })
}

/// Runs `mhd store`.
pub async fn run(command: StoreCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let StoreCommand::Copy(args) = command;
    let from = match &args.from {
        Some(url) => Location::parse(url).map_err(|e| usage(format!("--from: {e}")))?,
        None => Location::Sqlite(ctx.home.join("mhd.db")),
    };
    let to = Location::parse(&args.to).map_err(|e| usage(format!("--to: {e}")))?;
    if !matches!(from, Location::Sqlite(_)) {
        return Err(usage(
            "--from: a copy goes from a SQLite store (a path or sqlite:PATH)",
        ));
    }
    if !matches!(to, Location::Postgres(_)) {
        return Err(usage(
            "--to: a copy goes into a PostgreSQL database (postgres://…)",
        ));
    }
    if let Location::Sqlite(path) = &from
        && !path.exists()
    {
        return Err(usage(format!(
            "--from: there is no store at {}",
            path.display()
        )));
    }
    let source = open("--from", &from).await?;
    let target = open("--to", &to).await?;
    let report = match mhd_store::copy::copy(&source, &target, args.replace).await {
        Ok(r) => r,
        Err(StoreError::Unsupported(why)) => return Err(usage(format!("--to: {why}"))),
        Err(e) => return Err(anyhow::Error::new(e).context("the copy failed: nothing was copied")),
    };
    source.close().await;
    target.close().await;
    if args.json {
        print_json(&serde_json::json!({
            "from": from.shown(),
            "to": to.shown(),
            "already_copied": report.already_copied,
            "replaced": report.replaced,
            "rows": report.rows(),
            "tables": report.tables.iter().map(|(t, n)| (t.clone(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        }))?;
    } else if report.already_copied {
        println!(
            "{} holds this store's copy already ({} rows): nothing to do",
            to.shown(),
            report.rows()
        );
    } else {
        println!(
            "copied {} rows from {} into {}{}:",
            report.rows(),
            from.shown(),
            to.shown(),
            if report.replaced {
                " (what it held was replaced)"
            } else {
                ""
            }
        );
        for (table, n) in report.tables.iter().filter(|t| t.1 > 0) {
            println!("  {table:<22} {n:>10}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `mhd backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist).
    pub file: std::path::PathBuf,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `mhd restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A backup made by `mhd backup`.
    pub file: std::path::PathBuf,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A store error about the file or store the user named: exit 2 with the message; other
/// failures as they are.
fn named(flag: &str, e: StoreError) -> anyhow::Error {
    match e {
        StoreError::NewerSchema { .. }
        | StoreError::Foreign { .. }
        | StoreError::File { .. }
        | StoreError::Unsupported(_) => usage(format!("{flag}: {e}")),
        other => anyhow::Error::new(other).context(format!("{flag}: failed")),
    }
}

/// Runs `mhd backup FILE`.
pub async fn backup(args: BackupArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if !ctx.store_exists() {
        return Err(usage(format!(
            "there is no store at {} to back up",
            ctx.store_shown()
        )));
    }
    let store = crate::cmd::record::open_store(ctx).await?;
    let started = std::time::Instant::now();
    let made = mhd_store::backup::backup(&store, &args.file).await;
    store.close().await;
    let info = made.map_err(|e| named("backup", e))?;
    if args.json {
        print_json(&info)?;
    } else {
        println!(
            "backed up {} to {}: {} operations, {:.1} MB, in {:.1} s",
            ctx.store_shown(),
            info.path.display(),
            info.operations,
            info.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd restore FILE`.
pub async fn restore(args: RestoreArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let Location::Sqlite(path) = &ctx.database else {
        return Err(usage(format!("restore: {}", mhd_store::backup::PG_TOOLS)));
    };
    if ctx.database_in_home {
        ctx.ensure_home()?;
    }
    let done = mhd_store::backup::restore(&args.file, path, ctx.now)
        .await
        .map_err(|e| named("restore", e))?;
    if args.json {
        print_json(&done)?;
    } else {
        println!(
            "restored {} into {}: {} operations",
            done.from.path.display(),
            path.display(),
            done.from.operations
        );
        if let Some(previous) = &done.previous {
            println!("the store it replaced is kept as {}", previous.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
