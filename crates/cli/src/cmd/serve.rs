//! `mhd serve`: the live dashboard, API and WebSocket for a team.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cmd::plan::load_plan;
use crate::ctx::{Ctx, usage};

/// Serve the live dashboard.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The address to listen on; loopback unless you say otherwise.
    #[arg(long, default_value = "127.0.0.1:8000", env = "MHD_BIND")]
    pub bind: String,
    /// Listen on a non-loopback address although nobody has to sign in: everyone who can reach
    /// the address can read and write everything.
    #[arg(long)]
    pub insecure_no_auth: bool,
}

/// Refuses an address other machines can reach while sign-in is not required, unless the user
/// said `--insecure-no-auth`: a dashboard on a shared network must not be open by accident.
pub fn check_exposure(addr: SocketAddr, insecure_no_auth: bool) -> Result<(), anyhow::Error> {
    if addr.ip().is_loopback() || insecure_no_auth {
        return Ok(());
    }
    Err(usage(format!(
        "--bind: {addr} can be reached from other machines, and this server does not ask \
         anyone to sign in; bind a loopback address such as 127.0.0.1:{port}, or pass \
         --insecure-no-auth to serve everyone who can reach it",
        port = addr.port()
    )))
}

/// Runs `mhd serve` until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        usage(format!(
            "--bind: {:?} is not an address such as 127.0.0.1:8000 ({e})",
            args.bind
        ))
    })?;
    check_exposure(addr, args.insecure_no_auth)?;
    let plan_path = ctx.plan_path();
    let plan = load_plan(&plan_path)?;
    let plan_dir = plan_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
    ctx.ensure_home()?;
    let store = mhd_store::SqliteStore::open(&ctx.store_path(), 8)
        .await
        .with_context(|| format!("cannot open the store {}", ctx.store_path().display()))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("--bind: cannot listen on {addr}: {e}")))?;
    let shown = listener.local_addr()?;
    let state = mhd_server::AppState::new(store.clone(), plan, ctx.local_offset);
    eprintln!(
        "mhd: serving http://{shown}/ (home {}); Ctrl-C stops",
        ctx.home.display()
    );
    let background = mhd_server::background::Background::start(&state, &plan_dir, shown)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    tracing::info!("serving on {shown}");
    mhd_server::serve(listener, state, mhd_server::app::shutdown_signal()).await?;
    background.stop();
    store.close().await;
    eprintln!("mhd: stopped");
    Ok(ExitCode::SUCCESS)
}
