//! `mhd stats dashboard`: write the self-contained HTML dashboard file.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::Ctx;
use crate::out::{Style, paint};

/// Write the HTML dashboard.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Where to write it [default: <home>/dashboard.html].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Open it in the browser [default: on a terminal].
    #[arg(long, overrides_with = "no_open")]
    pub open: bool,
    /// Do not open it.
    #[arg(long)]
    pub no_open: bool,
}

/// Runs `mhd stats dashboard`.
pub async fn run(args: DashboardArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let plan = load_plan(&ctx.plan_path())?;
    let store = open_store(ctx).await?;
    let data = mhd_store::view_data::dashboard(&store, plan.as_ref(), ctx.now).await?;
    store.close().await;
    let html = mhd_web::views::render_static_dashboard(&data, ctx.local_offset)?;
    let path = args
        .output
        .unwrap_or_else(|| ctx.home.join("dashboard.html"));
    // Write beside the target and rename, so a reader never sees half a page.
    let tmp = path.with_extension("html.tmp");
    std::fs::write(&tmp, html).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    let open = !args.no_open && (args.open || ctx.stdout_tty);
    if open {
        match open_in_browser(&path) {
            Ok(()) => println!(
                "{}",
                paint(
                    ctx.color,
                    Style::Green,
                    &format!("Dashboard written to {} and opened", path.display())
                )
            ),
            Err(e) => {
                println!(
                    "{}",
                    paint(
                        ctx.color,
                        Style::Green,
                        &format!("Dashboard written to {}", path.display())
                    )
                );
                eprintln!("mhd: could not open a browser ({e}); open the file yourself");
            }
        }
    } else {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Green,
                &format!("Dashboard written to {}", path.display())
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn open_in_browser(path: &std::path::Path) -> std::io::Result<()> {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(windows) {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
}
