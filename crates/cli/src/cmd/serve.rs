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
    /// Runs behind a reverse proxy: believe its `X-Forwarded-Proto` (cookies are `Secure`
    /// when it says https) and `X-Forwarded-For` (the client's address in the audit log and
    /// the sign-in limits). Only when every request comes through that proxy.
    #[arg(long)]
    pub trust_proxy: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "MHD_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "MHD_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// Refuses an address other machines can reach while sign-in is not required (no user
/// exists), unless the user said `--insecure-no-auth`: a dashboard on a shared network must not
/// be open by accident.
pub fn check_exposure(
    addr: SocketAddr,
    insecure_no_auth: bool,
    sign_in_required: bool,
) -> Result<(), anyhow::Error> {
    if addr.ip().is_loopback() || insecure_no_auth || sign_in_required {
        return Ok(());
    }
    Err(usage(format!(
        "--bind: {addr} can be reached from other machines, and nobody has to sign in (no \
         user exists); add one with `mhd user add NAME --role admin`, bind a loopback address \
         such as 127.0.0.1:{port}, or pass --insecure-no-auth to serve everyone who can reach it",
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
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            mhd_server::tls::load_config(cert, key)
                .map_err(|e| usage(format!("--tls-cert: {e}")))?,
        ),
        _ => None,
    };
    let plan_path = ctx.plan_path();
    let plan = load_plan(&plan_path)?;
    let plan_dir = plan_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
    if !ctx.store_path().exists() {
        // No store, so no user: refuse before creating anything.
        check_exposure(addr, args.insecure_no_auth, false)?;
    }
    ctx.ensure_home()?;
    let store = mhd_store::SqliteStore::open(&ctx.store_path(), 8)
        .await
        .with_context(|| format!("cannot open the store {}", ctx.store_path().display()))?;
    let sign_in = store
        .any_user()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read the users of the store: {e}"))?;
    check_exposure(addr, args.insecure_no_auth, sign_in)?;
    if sign_in && !addr.ip().is_loopback() && !args.trust_proxy && tls.is_none() {
        eprintln!(
            "mhd: warning: passwords and session cookies to {addr} cross the network \
             unencrypted; give --tls-cert and --tls-key, or put the server behind an HTTPS \
             proxy (--trust-proxy)"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("--bind: cannot listen on {addr}: {e}")))?;
    let shown = listener.local_addr()?;
    let state = mhd_server::AppState::new(store.clone(), plan, ctx.local_offset);
    state.security.set_trust_proxy(args.trust_proxy);
    state.security.set_https(tls.is_some());
    let _ = state.plan_dir.set(plan_dir.clone());
    if let Some(d) = ctx.max_future {
        let _ = state.max_future.set(d);
    }
    eprintln!(
        "mhd: serving {}://{shown}/ (home {}; {}); Ctrl-C stops",
        if tls.is_some() { "https" } else { "http" },
        ctx.home.display(),
        if sign_in {
            "sign-in required"
        } else {
            "no user: nobody signs in"
        }
    );
    let background = mhd_server::background::Background::start(&state, &plan_dir, shown)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    tracing::info!("serving on {shown}");
    match tls {
        Some(config) => {
            mhd_server::tls::serve_tls(listener, config, state, mhd_server::app::shutdown_signal())
                .await?;
        }
        None => mhd_server::serve(listener, state, mhd_server::app::shutdown_signal()).await?,
    }
    background.stop();
    store.close().await;
    eprintln!("mhd: stopped");
    Ok(ExitCode::SUCCESS)
}
