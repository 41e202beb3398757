//! `mhd token`: API tokens for scripts and CI, kept in the store as hashes only.
//!
//! - `mhd token create --name N --role viewer|operator|admin|ingest [--expires 30d]` prints the
//!   token once, alone on standard output so a script can capture it;
//! - `mhd token list [--json]` shows every token, never its secret or the secret's hash;
//! - `mhd token revoke ID|NAME` stops one (an id first, else the name of a token not revoked).

use mhd_store::prelude::*;
use std::process::ExitCode;

use mhd_core::auth::{Role, parse_expiry, validate_name};
use mhd_core::format::{datetime, relative};

use crate::cmd::record::open_store;
use crate::cmd::user::refusal;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, print_json};

/// `mhd token`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once: it cannot be shown again.
    Create(CreateArgs),
    /// List the tokens (never their secrets).
    List(ListArgs),
    /// Revoke a token by its id or its name.
    Revoke(RevokeArgs),
}

/// `mhd token create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The token's name: letters, digits and . _ - @, at most 64.
    #[arg(long)]
    pub name: String,
    /// What it may do: viewer, operator, admin, or ingest (only writes data).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// How long it works, such as 30d, 12h or 1w [default: until revoked].
    #[arg(long, value_name = "DURATION")]
    pub expires: Option<String>,
}

/// `mhd token list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON: an array of `{id, name, role, state, created_at, expires_at, revoked_at,
    /// last_used_at}`.
    #[arg(long)]
    pub json: bool,
}

/// `mhd token revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The token's id (`mhd token list` shows it) or name.
    #[arg(value_name = "ID|NAME")]
    pub token: String,
}

/// Runs `mhd token …`.
pub async fn run(command: TokenCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(a) => create(a, ctx).await,
        TokenCommand::List(a) => list(a, ctx).await,
        TokenCommand::Revoke(a) => revoke(a, ctx).await,
    }
}

async fn create(args: CreateArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    validate_name("token", &args.name).map_err(|e| usage(format!("--name: {e}")))?;
    let role = Role::parse(&args.role).map_err(|e| usage(format!("--role: {e}")))?;
    let expires_at = match &args.expires {
        None => None,
        Some(s) => Some(ctx.now + parse_expiry(s).map_err(|e| usage(e.to_string()))?),
    };
    let store = open_store(ctx).await?;
    let made = store
        .create_token(&args.name, role, expires_at, ctx.now)
        .await
        .map_err(refusal)?;
    let t = &made.record;
    crate::cmd::audit::record(
        &store,
        ctx,
        "token.create",
        &format!("token {}", t.name),
        serde_json::json!({ "id": t.id, "role": t.role.as_str(), "expires_at": t.expires_at.map(mhd_core::format::rfc3339) }),
    )
    .await;
    store.release();
    let until = t.expires_at.map_or_else(
        || "until revoked".to_owned(),
        |e| format!("until {}", datetime(e)),
    );
    eprintln!(
        "Created token {} {:?} ({}, {until}). Copy it now: it cannot be shown again.",
        t.id, t.name, t.role
    );
    println!("{}", made.secret.expose());
    Ok(ExitCode::SUCCESS)
}

async fn list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let tokens = store.tokens().await.map_err(refusal)?;
    store.release();
    if args.json {
        let rows: Vec<_> = tokens
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id,
                    "name": t.name,
                    "role": t.role,
                    "state": t.state(ctx.now),
                    "created_at": mhd_core::format::rfc3339(t.created_at),
                    "expires_at": t.expires_at.map(mhd_core::format::rfc3339),
                    "revoked_at": t.revoked_at.map(mhd_core::format::rfc3339),
                    "last_used_at": t.last_used_at.map(mhd_core::format::rfc3339),
                })
            })
            .collect();
        print_json(&rows)?;
        return Ok(ExitCode::SUCCESS);
    }
    if tokens.is_empty() {
        println!("No tokens. Make one with `mhd token create --name N --role R`.");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        &[
            ("ID", Align::Right),
            ("NAME", Align::Left),
            ("ROLE", Align::Left),
            ("STATE", Align::Left),
            ("CREATED", Align::Left),
            ("EXPIRES", Align::Left),
            ("LAST USED", Align::Left),
        ],
        64,
    );
    let when = |x: Option<time::OffsetDateTime>, none: &str| {
        x.map_or_else(|| none.to_owned(), |x| relative(ctx.now, x))
    };
    for tok in &tokens {
        let state = tok.state(ctx.now);
        let style = if state == "active" {
            Style::Plain
        } else {
            Style::Dim
        };
        t.row(vec![
            Cell::from(tok.id.to_string()),
            Cell::from(&tok.name),
            Cell::from(tok.role.as_str()),
            Cell::new(state, style),
            Cell::from(relative(ctx.now, tok.created_at)),
            Cell::from(when(tok.expires_at, "never")),
            Cell::from(when(tok.last_used_at, "never")),
        ]);
    }
    println!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

async fn revoke(args: RevokeArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let t = store
        .revoke_token(&args.token, ctx.now)
        .await
        .map_err(refusal)?;
    crate::cmd::audit::record(
        &store,
        ctx,
        "token.revoke",
        &format!("token {}", t.name),
        serde_json::json!({ "id": t.id }),
    )
    .await;
    store.release();
    println!("Revoked token {} {:?} ({}).", t.id, t.name, t.role);
    Ok(ExitCode::SUCCESS)
}
