//! `mhd user`: the users who sign in to the dashboard, kept in the store.
//!
//! - `mhd user add NAME --role viewer|operator|admin` asks for the password;
//! - `mhd user list [--json]`;
//! - `mhd user set-role NAME ROLE`;
//! - `mhd user remove NAME` (never the last admin);
//! - `mhd user passwd NAME` asks for a new password.
//!
//! A password is read from the terminal without echo, twice, when standard input is a terminal;
//! otherwise it is the first line of standard input (for scripts). It is never an argument,
//! which other users of the machine could read in the process list.

use mhd_store::prelude::*;
use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use serde_json::json;

use mhd_core::auth::{Role, validate_name};
use mhd_core::format::{relative, terminal_safe};
use mhd_store::Database;
use mhd_store::auth::{AuthError, PasswordHash};

use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, print_json};

/// `mhd user`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is asked for (or read from standard input), never an argument.
    Add(AddArgs),
    /// List the users.
    List(ListArgs),
    /// Change a user's role.
    SetRole(SetRoleArgs),
    /// Remove a user (never the last admin).
    Remove(NameArg),
    /// Change a user's password.
    Passwd(NameArg),
}

/// `mhd user add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The user's name: letters, digits and . _ - @, at most 64.
    pub name: String,
    /// What the user may do: viewer, operator or admin.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
}

/// `mhd user list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Print JSON: an array of `{id, name, role, created_at, disabled}`.
    #[arg(long)]
    pub json: bool,
}

/// `mhd user set-role`.
#[derive(Debug, clap::Args)]
pub struct SetRoleArgs {
    /// The user's name.
    pub name: String,
    /// The new role: viewer, operator or admin.
    pub role: String,
}

/// A user's name.
#[derive(Debug, clap::Args)]
pub struct NameArg {
    /// The user's name.
    pub name: String,
}

/// Runs `mhd user …`.
pub async fn run(command: UserCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add(a) => add(a, ctx).await,
        UserCommand::List(a) => list(a, ctx).await,
        UserCommand::SetRole(a) => set_role(a, ctx).await,
        UserCommand::Remove(a) => remove(a, ctx).await,
        UserCommand::Passwd(a) => passwd(a, ctx).await,
    }
}

/// A refusal of the store as the user reads it: anything but a store failure is bad input
/// (exit status 2).
pub fn refusal(e: AuthError) -> anyhow::Error {
    match e {
        AuthError::Store(e) => anyhow::Error::new(e),
        e @ (AuthError::Hash(_) | AuthError::Random(_)) => anyhow::Error::new(e),
        other => usage(terminal_safe(&other.to_string()).into_owned()),
    }
}

async fn add(args: AddArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    validate_name("user", &args.name).map_err(|e| usage(e.to_string()))?;
    let role = Role::parse_user_role(&args.role).map_err(|e| usage(format!("--role: {e}")))?;
    let store = open_store(ctx).await?;
    require_absent(&store, &args.name).await?;
    let hash = read_new_password(&args.name)?;
    let user = store
        .add_user(&args.name, role, &hash, ctx.now)
        .await
        .map_err(refusal)?;
    audit(
        &store,
        ctx,
        "user.add",
        &user.name,
        json!({ "role": user.role.as_str() }),
    )
    .await;
    store.release();
    println!("Added user {} ({}).", user.name, user.role);
    Ok(ExitCode::SUCCESS)
}

/// Records a change to user `name` in the audit log.
async fn audit(store: &Database, ctx: &Ctx, action: &str, name: &str, details: serde_json::Value) {
    crate::cmd::audit::record(store, ctx, action, &format!("user {name}"), details).await;
}

async fn require_absent(store: &Database, name: &str) -> anyhow::Result<()> {
    if store.user_by_name(name).await.map_err(refusal)?.is_some() {
        return Err(refusal(AuthError::UserExists(name.to_owned())));
    }
    Ok(())
}

async fn list(args: ListArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let users = store.users().await.map_err(refusal)?;
    store.release();
    if args.json {
        print_json(&users)?;
        return Ok(ExitCode::SUCCESS);
    }
    if users.is_empty() {
        println!(
            "No users: on loopback the dashboard needs no sign-in. Add one with \
             `mhd user add NAME --role admin`."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(
        &[
            ("NAME", Align::Left),
            ("ROLE", Align::Left),
            ("ADDED", Align::Left),
            ("STATE", Align::Left),
        ],
        64,
    );
    for u in &users {
        t.row(vec![
            Cell::from(&u.name),
            Cell::from(u.role.as_str()),
            Cell::from(relative(ctx.now, u.created_at)),
            if u.disabled {
                Cell::new("disabled", Style::Dim)
            } else {
                Cell::from("active")
            },
        ]);
    }
    println!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

async fn set_role(args: SetRoleArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let role = Role::parse_user_role(&args.role).map_err(|e| usage(format!("ROLE: {e}")))?;
    let store = open_store(ctx).await?;
    let user = store.set_role(&args.name, role).await.map_err(refusal)?;
    audit(
        &store,
        ctx,
        "user.set_role",
        &user.name,
        json!({ "role": user.role.as_str() }),
    )
    .await;
    store.release();
    println!("User {} is now {}.", user.name, user.role);
    Ok(ExitCode::SUCCESS)
}

async fn remove(args: NameArg, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let user = store.remove_user(&args.name).await.map_err(refusal)?;
    audit(
        &store,
        ctx,
        "user.remove",
        &user.name,
        json!({ "role": user.role.as_str() }),
    )
    .await;
    store.release();
    println!("Removed user {} ({}).", user.name, user.role);
    Ok(ExitCode::SUCCESS)
}

async fn passwd(args: NameArg, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx).await?;
    let Some((user, _)) = store.user_by_name(&args.name).await.map_err(refusal)? else {
        return Err(refusal(AuthError::NoUser(args.name)));
    };
    let hash = read_new_password(&user.name)?;
    store
        .set_password_hash(&user.name, &hash)
        .await
        .map_err(refusal)?;
    // Whoever knew the old password is signed out everywhere.
    let ended = store
        .end_sessions_of(&user.name, time::OffsetDateTime::now_utc())
        .await
        .map_err(refusal)?;
    audit(
        &store,
        ctx,
        "user.passwd",
        &user.name,
        json!({ "sessions_ended": ended }),
    )
    .await;
    store.release();
    println!("Changed the password of {}.", user.name);
    Ok(ExitCode::SUCCESS)
}

/// Reads a new password — from the terminal without echo, asked twice, or the first line of
/// standard input when it is not a terminal — checks its length and hashes it.
fn read_new_password(name: &str) -> anyhow::Result<PasswordHash> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {name}: "))
            .map_err(|e| anyhow::anyhow!("cannot read the password from the terminal: {e}"))?;
        let second = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| anyhow::anyhow!("cannot read the password from the terminal: {e}"))?;
        if first != second {
            return Err(usage("the two passwords differ: nothing was changed"));
        }
        first
    } else {
        let mut line = String::new();
        let read = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| usage(format!("cannot read the password from standard input: {e}")))?;
        if read == 0 {
            return Err(usage(
                "no password on standard input: give it as the first line, or run in a terminal",
            ));
        }
        let end = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(end);
        line
    };
    PasswordHash::new(&password).map_err(refusal)
}
