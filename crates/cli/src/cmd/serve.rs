//! `mhd serve`: the live dashboard, API and WebSocket for a team.

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::process::ExitCode;

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
    #[arg(long, env = "MHD_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,
    /// Runs behind a reverse proxy: believe its `X-Forwarded-Proto` (cookies are `Secure`
    /// when it says https) and `X-Forwarded-For` (the client's address in the audit log and
    /// the sign-in limits). Only when every request comes through that proxy.
    #[arg(long, env = "MHD_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Also answer requests that name this host (`name` or `name:port`; repeatable, or
    /// comma-separated in MHD_ALLOWED_HOSTS). `localhost` and IP addresses are always answered;
    /// other names are refused (421), so that a page on a name pointed at this machine cannot
    /// use the dashboard.
    #[arg(
        long = "allowed-host",
        value_name = "HOST",
        env = "MHD_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// The dashboard's address as its users reach it, such as https://dash.example.com/: its
    /// host is answered, and notifications link to it.
    #[arg(long, value_name = "URL", env = "MHD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The most connections open at once (WebSockets included); at the cap, the connection idle
    /// the longest is closed for a new one. Default 10,000, or fewer when the process may open
    /// fewer files.
    #[arg(long, value_name = "N", env = "MHD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// How long audit entries are kept, such as 400d or 52w (at least 30d): older ones are
    /// deleted at start and every 6 hours (`mhd audit prune` does it by hand).
    #[arg(
        long,
        value_name = "DURATION",
        env = "MHD_AUDIT_RETENTION",
        default_value = "400d"
    )]
    pub audit_retention: String,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", env = "MHD_TLS_CERT")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert", env = "MHD_TLS_KEY")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Connections to the database at most (a PostgreSQL server's connections are shared by
    /// every replica: size it so that replicas × this stays under its `max_connections`).
    #[arg(long, value_name = "N", env = "MHD_DATABASE_POOL", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub database_pool: u32,
    /// The plan's settings given from outside it.
    #[command(flatten)]
    pub overrides: crate::cmd::overrides::PlanOverrides,
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

/// The host names of `--allowed-host` and `--public-url`, each checked.
fn allowed_hosts(args: &ServeArgs) -> anyhow::Result<mhd_server::origin::AllowedHosts> {
    let mut hosts = mhd_server::origin::AllowedHosts::default();
    for h in args.allowed_hosts.iter().filter(|h| !h.trim().is_empty()) {
        hosts
            .add(h)
            .map_err(|e| usage(format!("--allowed-host: {e}")))?;
    }
    if let Some(url) = args.public_url.as_deref().filter(|u| !u.trim().is_empty()) {
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok || hosts.add(url).is_err() {
            return Err(usage(format!(
                "--public-url: {url:?} is not an address such as https://dash.example.com/"
            )));
        }
    }
    Ok(hosts)
}

/// Runs `mhd serve` until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        usage(format!(
            "--bind: {:?} is not an address such as 127.0.0.1:8000 ({e})",
            args.bind
        ))
    })?;
    let allowed_hosts = allowed_hosts(&args)?;
    let audit_retention =
        crate::cmd::audit::parse_retention("--audit-retention", &args.audit_retention)?;
    let mut limits = mhd_server::connections::ConnectionLimits::default();
    match args.max_connections {
        Some(0) => {
            return Err(usage(
                "--max-connections: 0 would serve nobody: give 1 or more",
            ));
        }
        Some(n) => limits.max_connections = n,
        None => {}
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(
            mhd_server::tls::load_config(cert, key)
                .map_err(|e| usage(format!("--tls-cert: {e}")))?,
        ),
        _ => None,
    };
    let plan_path = ctx.plan_path();
    let mut plan = load_plan(&plan_path)?;
    args.overrides.apply(plan.as_mut())?;
    let plan_dir = plan_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
    if !ctx.store_exists() {
        // No store, so no user: refuse before creating anything.
        check_exposure(addr, args.insecure_no_auth, false)?;
    }
    ctx.ensure_home()?;
    let store = crate::cmd::record::open_store_with(ctx, args.database_pool).await?;
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
    if !addr.ip().is_loopback() && allowed_hosts.names().is_empty() {
        eprintln!(
            "mhd: note: only requests naming localhost or an IP address are answered (others \
             get 421); give the names users reach {addr} by with --allowed-host NAME or \
             --public-url URL"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("--bind: cannot listen on {addr}: {e}")))?;
    let shown = listener.local_addr()?;
    let state = mhd_server::AppState::new(store.clone(), plan, ctx.local_offset);
    state.security().set_trust_proxy(args.trust_proxy);
    state.security().set_https(tls.is_some());
    state.security().set_allowed_hosts(allowed_hosts);
    let _ = state.plan_dir().set(plan_dir.clone());
    if let Some(d) = ctx.max_future {
        let _ = state.max_future().set(d);
    }
    let background = mhd_server::background::Background::start(
        &state,
        &plan_dir,
        shown,
        args.public_url.as_deref(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
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
    let background = std::sync::Arc::new(background);
    let reloading = tokio::spawn(watch_plan(
        state.clone(),
        background.clone(),
        plan_path.clone(),
        args.overrides.clone(),
    ));
    let pruning = mhd_server::audit::start_pruning(&state, audit_retention);
    // The first requests find the views computed: `/ready` says ready once they are.
    let _warming = mhd_server::background::warm_up(&state);
    let retention = mhd_server::retention::start(
        state.recorder().clone(),
        state.plan_in_force().clone(),
        state.clock(),
    );
    tracing::info!("serving on {shown}");
    match tls {
        Some(config) => {
            mhd_server::tls::serve_tls_with(
                listener,
                config,
                state.clone(),
                limits,
                stop_on_signal(state.clone()),
            )
            .await?;
        }
        None => {
            mhd_server::app::serve_with(
                listener,
                state.clone(),
                limits,
                stop_on_signal(state.clone()),
            )
            .await?;
        }
    }
    // The WebSocket clients were told (1001, going away); give their closes a moment to leave.
    let left = std::time::Instant::now();
    while state.metrics().websocket_clients.get() > 0 && left.elapsed() < CLOSE_GRACE {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    reloading.abort();
    if let Ok(background) = std::sync::Arc::try_unwrap(background) {
        background.stop();
    }
    pruning.abort();
    retention.abort();
    // Refusals gathered and not yet written.
    state.security().refusals.flush(&state).await;
    store.close().await;
    eprintln!("mhd: stopped");
    Ok(ExitCode::SUCCESS)
}

/// How long a stopping server waits for its WebSocket clients' closes to be sent.
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Completes on SIGTERM or Ctrl-C, having told the live clients the server stops: new
/// connections are then refused, requests in flight (writes among them) finish and are
/// answered, and each WebSocket is closed with "going away".
async fn stop_on_signal(state: mhd_server::AppState) {
    mhd_server::app::shutdown_signal().await;
    tracing::info!("stopping: finishing the requests in flight");
    state.begin_stopping();
}

/// How often the plan file is looked at for a change.
const PLAN_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The plan file's size and time of last change, to notice an edit.
fn plan_stamp(path: &std::path::Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// Reloads the plan on SIGHUP and when its file changes: the new one is checked (and the
/// settings given from outside it applied) before it is put in force; a plan that fails is
/// refused, saying why, and the one in force is kept.
async fn watch_plan(
    state: mhd_server::AppState,
    background: std::sync::Arc<mhd_server::background::Background>,
    path: std::path::PathBuf,
    overrides: crate::cmd::overrides::PlanOverrides,
) {
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut stamp = plan_stamp(&path);
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hangup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<()>();
        let why = tokio::select! {
            () = signalled => "SIGHUP",
            () = tokio::time::sleep(PLAN_POLL) => {
                let now = plan_stamp(&path);
                if now == stamp {
                    continue;
                }
                stamp = now;
                "the plan file changed"
            }
        };
        let started = std::time::Instant::now();
        let loaded = crate::cmd::plan::load_plan(&path).and_then(|plan| {
            let mut plan = plan.ok_or_else(|| {
                anyhow::anyhow!("{} is gone; the plan in force is kept", path.display())
            })?;
            overrides.apply(Some(&mut plan))?;
            Ok(plan)
        });
        match loaded
            .map_err(|e| format!("{e:#}"))
            .and_then(|plan| background.reload(&state, plan))
        {
            Ok(()) => tracing::info!(
                trigger = why,
                ms = started.elapsed().as_secs_f64() * 1e3,
                "the plan was reloaded: rules, collectors and channels follow it"
            ),
            Err(e) => mhd_server::background::Background::refused(&state, &e),
        }
    }
}
