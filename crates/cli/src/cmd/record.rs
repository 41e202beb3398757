//! `mhd record`: store one operation, fast enough to call from every step of a script.

use std::process::ExitCode;

use mhd_core::{NewOperation, System};
use mhd_store::{Database, Store, StoreError};

use crate::ctx::{Ctx, usage};

/// Record one operation.
#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    /// The metric type: migration_start, migration, rollback, verification, dataset_register, …
    #[arg(long = "type", short = 't', value_name = "TYPE")]
    pub metric_type: String,
    /// The operation's name.
    #[arg(long, short = 'o')]
    pub operation: String,
    /// The dataset it concerns.
    #[arg(long, short = 'd')]
    pub dataset: Option<String>,
    /// The component it concerns.
    #[arg(long, short = 'c')]
    pub component: Option<String>,
    /// Which system it ran on.
    #[arg(long, value_parser = ["old", "new"])]
    pub system: Option<String>,
    /// How long it took, in milliseconds.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub duration_ms: Option<f64>,
    /// Rows it processed.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rows: Option<i64>,
    /// It failed.
    #[arg(long)]
    pub failed: bool,
    /// Why it failed (implies --failed).
    #[arg(long, value_name = "MSG")]
    pub error: Option<String>,
    /// Details as a JSON object.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,
    /// When it happened, RFC 3339 [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub timestamp: Option<String>,
}

/// Builds the operation from the flags, naming the flag at fault.
fn operation(args: RecordArgs, ctx: &Ctx) -> anyhow::Result<NewOperation> {
    let timestamp = match &args.timestamp {
        Some(t) => {
            let t = mhd_core::time_parse::parse_timestamp(t)
                .map_err(|e| usage(format!("--timestamp: {e}")))?;
            ctx.time_limits_from_plan()?
                .check(t)
                .map_err(|e| usage(format!("--timestamp: {e}")))?;
            t
        }
        None => ctx.now,
    };
    let metadata = match &args.metadata {
        Some(m) => {
            let v: serde_json::Value =
                serde_json::from_str(m).map_err(|e| usage(format!("--metadata: not JSON: {e}")))?;
            if !v.is_object() {
                return Err(usage(
                    "--metadata: must be a JSON object such as {\"rows\": 10}",
                ));
            }
            Some(v)
        }
        None => None,
    };
    let op = NewOperation {
        timestamp,
        metric_type: args.metric_type,
        operation: args.operation,
        dataset_name: args.dataset,
        component: args.component,
        system: args
            .system
            .as_deref()
            .map(str::parse::<System>)
            .transpose()?,
        duration_ms: args.duration_ms,
        success: !(args.failed || args.error.is_some()),
        row_count: args.rows,
        error_message: args.error,
        metadata,
        import_key: None,
    };
    op.validate().map_err(|e| {
        let flag = match e.field {
            "metric_type" => "--type",
            "operation" => "--operation",
            "dataset_name" => "--dataset",
            "component" => "--component",
            "duration_ms" => "--duration-ms",
            "row_count" => "--rows",
            "error_message" => "--error",
            "metadata" => "--metadata",
            "timestamp" => "--timestamp",
            other => other,
        };
        usage(format!("{flag}: {}", e.message))
    })?;
    Ok(op)
}

/// Opens the store (`--database-url`, else the home's), creating the home and the store on
/// first use; a foreign or newer store, or a bad URL, is a usage error (exit status 2).
pub async fn open_store(ctx: &Ctx) -> anyhow::Result<Database> {
    if ctx.database_in_home {
        ctx.ensure_home()?;
    }
    open_store_with(ctx, 1).await
}

/// Opens the store with at most `connections` connections (see [`open_store`]).
pub async fn open_store_with(ctx: &Ctx, connections: u32) -> anyhow::Result<Database> {
    match Database::open_at(&ctx.database, connections).await {
        Ok(s) => Ok(s),
        Err(
            e @ (StoreError::NewerSchema { .. }
            | StoreError::Foreign { .. }
            | StoreError::Url { .. }
            | StoreError::File { .. }
            | StoreError::Unreachable { .. }),
        ) if ctx.database_in_home => Err(usage(e.to_string())),
        Err(
            e @ (StoreError::NewerSchema { .. }
            | StoreError::Foreign { .. }
            | StoreError::Url { .. }
            | StoreError::File { .. }
            | StoreError::Unreachable { .. }),
        ) => Err(usage(format!("--database-url: {e}"))),
        Err(e) => {
            Err(anyhow::Error::new(e)
                .context(format!("cannot open the store {}", ctx.store_shown())))
        }
    }
}

/// Runs `mhd record`.
pub async fn run(args: RecordArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let op = operation(args, ctx)?;
    let store = open_store(ctx).await?;
    store.insert_operations(std::slice::from_ref(&op)).await?;
    store.release();
    if ctx.stdout_tty {
        let what = match &op.dataset_name {
            Some(d) => format!(" for {}", mhd_core::format::terminal_safe(d)),
            None => String::new(),
        };
        println!(
            "Recorded {} {:?}{what}{}",
            mhd_core::format::terminal_safe(&op.metric_type),
            mhd_core::format::terminal_safe(&op.operation),
            if op.success { "" } else { " (failed)" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
