//! `mhd forecast backtest`: how far the completion forecast can be trusted, measured on the
//! store's own history and on simulated migrations whose pace changes
//! ([`mhd_core::backtest`]).

use std::process::ExitCode;

use mhd_core::backtest::{self, Backtest, Coverage};
use mhd_store::Store;
use serde_json::json;

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::Ctx;
use crate::out::{Align, Cell, Style, Table, paint, print_json, wrap};

/// `mhd forecast …`.
#[derive(Debug, clap::Subcommand)]
pub enum ForecastCommand {
    /// Replay the history as of each past day, forecast, and compare with what happened.
    Backtest(BacktestArgs),
}

/// The options of `mhd forecast backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Print JSON: the store's back-test day by day, and the simulated corpus's.
    #[arg(long)]
    pub json: bool,
    /// Simulated futures per forecast (the dashboard's forecast uses 10,000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(10..=100_000))]
    pub runs: u32,
    /// Days of each simulated migration.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(30..=730))]
    pub days: u32,
}

/// Runs `mhd forecast …`.
pub async fn run(command: ForecastCommand, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match command {
        ForecastCommand::Backtest(args) => backtest_cmd(args, ctx).await,
    }
}

async fn backtest_cmd(args: BacktestArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let plan = load_plan(&ctx.plan_path())?;
    let store = open_store(ctx).await?;
    let model = mhd_store::view_data::view_model(
        &store,
        plan.as_ref(),
        ctx.now,
        false,
        mhd_core::model::Options { runs: 1 },
    )
    .await?;
    let (days, _) = store.migration_days(None).await?;
    store.close().await;
    let today = ctx.now.to_offset(time::UtcOffset::UTC).date();
    let first = days.iter().map(|d| d.day).min();
    let start = plan
        .as_ref()
        .map(|p| p.migration.start)
        .or(first)
        .unwrap_or(today);
    let own = first.and_then(|first| {
        let history = mhd_core::history::History::new(&days, first.min(start), today);
        backtest::backtest(&history, start, model.datasets.migrated(), args.runs)
    });
    let corpus: Vec<(String, Backtest)> = backtest::corpus::KINDS
        .iter()
        .enumerate()
        .flat_map(|(k, kind)| (0..3u64).map(move |s| (k, *kind, s)))
        .filter_map(|(k, kind, s)| {
            let net = backtest::corpus::migration(kind, args.days as usize, s * 31 + k as u64);
            let history = series(&net, today);
            let total = net.iter().sum::<i64>().max(0) as u64;
            backtest::backtest(&history, history.first_day?, total, args.runs)
                .map(|b| (kind.to_owned(), b))
        })
        .collect();
    let all: Vec<Backtest> = corpus.iter().map(|(_, b)| b.clone()).collect();
    let (n, coverage, bias, abs) = backtest::pooled(&all);
    if args.json {
        print_json(&json!({
            "store": own,
            "corpus": {
                "forecasts": n,
                "coverage": coverage,
                "mean_error_days": bias,
                "mean_abs_error_days": abs,
                "migrations": corpus.iter().map(|(kind, b)| json!({
                    "kind": kind,
                    "target": b.target,
                    "forecasts": b.forecasts,
                    "coverage": b.coverage,
                    "mean_error_days": b.mean_error_days,
                    "mean_abs_error_days": b.mean_abs_error_days,
                })).collect::<Vec<_>>(),
            },
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = ctx.color;
    println!("{}", paint(c, Style::Bold, "Forecast back-test"));
    say(
        "A calibrated forecast covers what happened about 50 % of the time by its P50 date, 85 % \
         by P85 and 95 % by P95; the error is P50 − the actual date (positive: pessimistic).",
        ctx.width,
    );
    println!();
    match &own {
        Some(b) => {
            let head = format!(
                "This store: the day {} datasets were reached ({}), as of {} earlier days",
                b.target,
                b.reached.map_or_else(|| "—".to_owned(), |d| d.to_string()),
                b.days.len()
            );
            for line in wrap(&head, ctx.width, "", "") {
                println!("{}", paint(c, Style::Bold, &line));
            }
            print_coverage(
                b.forecasts,
                b.coverage,
                b.mean_error_days,
                b.mean_abs_error_days,
                ctx.width,
            );
        }
        None => say(
            "This store: nothing to test yet — the back-test needs a week of migrations before the \
             day the count of migrated datasets reached its value of today.",
            ctx.width,
        ),
    }
    println!();
    println!(
        "{}",
        paint(
            c,
            Style::Bold,
            &format!(
                "Simulated migrations whose pace changes ({} of {} days each)",
                corpus.len(),
                args.days
            )
        )
    );
    let mut t = Table::new(
        &[
            ("Kind", Align::Left),
            ("Forecasts", Align::Right),
            ("P50", Align::Right),
            ("P85", Align::Right),
            ("P95", Align::Right),
            ("Error", Align::Right),
        ],
        40,
    );
    for (kind, b) in &corpus {
        t.row(vec![
            Cell::new(kind, Style::Plain),
            Cell::new(b.forecasts.to_string(), Style::Plain),
            Cell::new(pct(b.coverage.p50), Style::Plain),
            Cell::new(pct(b.coverage.p85), Style::Plain),
            Cell::new(pct(b.coverage.p95), Style::Plain),
            Cell::new(format!("{:+.1} d", b.mean_error_days), Style::Plain),
        ]);
    }
    print!("{}", t.render(c, ctx.width));
    print_coverage(n, coverage, bias, abs, ctx.width);
    Ok(ExitCode::SUCCESS)
}

/// Prints prose wrapped at the output's width.
fn say(text: &str, width: Option<usize>) {
    for line in wrap(text, width, "", "") {
        println!("{line}");
    }
}

fn print_coverage(n: usize, c: Coverage, bias: f64, abs: f64, width: Option<usize>) {
    say(
        &format!(
            "{n} forecasts: covered by P50 {}, P85 {}, P95 {}; error {bias:+.1} days on average, \
             {abs:.1} days in absolute terms",
            pct(c.p50),
            pct(c.p85),
            pct(c.p95)
        ),
        width,
    );
}

fn pct(v: f64) -> String {
    format!("{:.0} %", v * 100.0)
}

/// A simulated migration's nets as a history ending today.
fn series(net: &[i64], today: time::Date) -> mhd_core::history::History {
    let first = today - time::Duration::days(net.len() as i64 - 1);
    let days: Vec<mhd_core::history::MigrationDay> = net
        .iter()
        .enumerate()
        .map(|(i, &n)| mhd_core::history::MigrationDay {
            day: first + time::Duration::days(i as i64),
            component: None,
            migrations: n.max(0) as u64,
            rollbacks: (-n).max(0) as u64,
        })
        .collect();
    mhd_core::history::History::new(&days, first, today)
}
