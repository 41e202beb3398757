//! `mhd demo`: the team mode on a simulated migration, in a temporary home, with nothing to
//! set up.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use mhd_server::demo::{self, LiveOptions};

use crate::ctx::{Ctx, usage};

/// Run the live dashboard on a simulated migration.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// How many times the pace of its history the live traffic runs: 1 is real time, each day
    /// as busy as the days before it.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The seed of the simulation: the same seed tells the same story.
    #[arg(long, default_value_t = 8)]
    pub seed: u64,
    /// Listen on a non-loopback address although nobody has to sign in.
    #[arg(long)]
    pub insecure_no_auth: bool,
}

/// Runs `mhd demo` until SIGINT or SIGTERM; the temporary home is removed on the way out.
pub async fn run(args: DemoArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    if !(args.speed.is_finite() && (0.1..=100.0).contains(&args.speed)) {
        return Err(usage("--speed: give a number from 0.1 to 100"));
    }
    let addr: SocketAddr = args.bind.parse().map_err(|e| {
        usage(format!(
            "--bind: {:?} is not an address such as 127.0.0.1:8000 ({e})",
            args.bind
        ))
    })?;
    crate::cmd::serve::check_exposure(addr, args.insecure_no_auth, false)?;
    let home = std::env::temp_dir().join(format!("mhd-demo-{}", std::process::id()));
    std::fs::create_dir_all(&home).with_context(|| format!("cannot create {}", home.display()))?;
    let result = serve_demo(&args, addr, &home, ctx).await;
    let _ = std::fs::remove_dir_all(&home);
    result
}

async fn serve_demo(
    args: &DemoArgs,
    addr: SocketAddr,
    home: &std::path::Path,
    ctx: &Ctx,
) -> anyhow::Result<ExitCode> {
    // The specification's migration at week 8: it started on the Monday seven weeks ago.
    let today = ctx.now.date();
    let monday = today - time::Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let start = monday - time::Duration::weeks(7);
    // The channels' stand-in: a local receiver that prints what it is sent.
    let receiver = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let receiver_addr = receiver.local_addr()?;
    let receiving = tokio::spawn(demo::receive_notifications(receiver));
    let secret = home.join("pagerduty-routing-key");
    std::fs::write(&secret, "demo-routing-key\n")?;
    // The storage component's rollback only says it ran, so an admin can try the page.
    let mut text = mhd_core::plan::default_plan_toml(start).replacen(
        "# rollback = { command = [\"/usr/local/bin/rollback\", \"storage\"], timeout = \"5m\" }",
        "rollback = { command = [\"/bin/echo\", \"demo: storage rolled back\"], timeout = \"30s\" }",
        1,
    );
    text.push_str(&demo::demo_plan_additions(receiver_addr, &secret));
    std::fs::write(home.join("migration.toml"), &text)?;
    let plan = mhd_core::plan::parse(&text, "migration.toml")
        .map_err(|e| anyhow::anyhow!("the demo plan does not parse: {e:?}"))?;
    let store = mhd_store::Database::open_file(&home.join("mhd.db"), 8).await?;
    eprintln!(
        "mhd: simulating \"{}\" at week 8 of 21 …",
        plan.migration.name
    );
    let stored = demo::seed_history(&store, &plan, ctx.now, args.seed).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| usage(format!("--bind: cannot listen on {addr}: {e}")))?;
    let shown = listener.local_addr()?;
    let state = mhd_server::AppState::new(store.clone(), Some(plan), ctx.local_offset);
    let _ = state.plan_dir().set(home.to_path_buf());
    let background = mhd_server::background::Background::start(&state, home, shown, None)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    let options = LiveOptions {
        speed: args.speed,
        seed: args.seed,
    };
    demo::set_banner(&options);
    let live = tokio::spawn(demo::run_live(state.clone(), options));
    eprintln!(
        "mhd: {stored} operations of history; live traffic at {}× its pace (about {} operations \
         and {} migrations a day)",
        args.speed,
        demo::TRAFFIC_PER_DAY as u64,
        demo::MIGRATIONS_PER_DAY
    );
    for line in ready_lines(&shown.to_string(), home) {
        tracing::info!("{line}");
        eprintln!("mhd: {line}");
    }
    let served = mhd_server::serve(listener, state, mhd_server::app::shutdown_signal()).await;
    live.abort();
    background.stop();
    receiving.abort();
    store.close().await;
    served?;
    Ok(ExitCode::SUCCESS)
}

/// What the demo says once it is up: where to open it, where its data is, and how to point
/// the CLI at that data.
fn ready_lines(address: &str, home: &std::path::Path) -> [String; 4] {
    let folder = home.display().to_string();
    let quoted = shell_word(&folder);
    [
        format!("open http://{address}/ — Ctrl-C stops (the demo's data is thrown away)"),
        format!("the demo's data folder: {folder}"),
        format!("point the CLI at it: MHD_HOME={quoted} mhd summary"),
        format!("                and: MHD_HOME={quoted} mhd stats summary"),
    ]
}

/// `word` as one word of a POSIX shell: as it is when it holds nothing the shell reads,
/// else in single quotes.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '+' | ',')
        })
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines_name_the_folder_and_the_commands_for_it() {
        let lines = ready_lines("127.0.0.1:8000", std::path::Path::new("/tmp/mhd-demo-7"));
        assert_eq!(lines[1], "the demo's data folder: /tmp/mhd-demo-7");
        assert_eq!(
            lines[2],
            "point the CLI at it: MHD_HOME=/tmp/mhd-demo-7 mhd summary"
        );
        assert!(lines[3].ends_with("MHD_HOME=/tmp/mhd-demo-7 mhd stats summary"));
        let odd = ready_lines("127.0.0.1:8000", std::path::Path::new("/tmp/my demo's"));
        assert_eq!(
            odd[2],
            "point the CLI at it: MHD_HOME='/tmp/my demo'\\''s' mhd summary"
        );
    }
}
