//! The analysis views on the terminal: `mhd perf` (and, as they land, `summary`, `timeline`,
//! `components`, `tests`). Each prints a table, or with `--json` the same document the API
//! returns.

use std::process::ExitCode;

use mhd_core::perf::{self, PerformanceMetric};
use mhd_store::Store;

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::Ctx;
use crate::out::{Align, Cell, Style, Table, paint, print_json};

/// Any view's options.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Print JSON with the specification's field names.
    #[arg(long)]
    pub json: bool,
}

fn ms(v: f64) -> String {
    mhd_core::format::duration_ms(Some(v))
}

fn signed_percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |d| format!("{d:+.1}%"))
}

/// Runs `mhd perf`: old against new per operation.
pub async fn perf(args: ViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let threshold = load_plan(&ctx.plan_path())?.map_or(perf::DEFAULT_REGRESSION_PERCENT, |p| {
        p.thresholds.regression_percent
    });
    let store = open_store(ctx).await?;
    let samples = store.latest_benchmarks().await?;
    store.close().await;
    let comparisons = perf::compare(&samples, threshold);
    if args.json {
        print_json(&serde_json::json!({
            "comparisons": comparisons,
            "performance_delta": perf::performance_delta(&comparisons),
            "regression_percent": threshold,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if comparisons.is_empty() {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Yellow,
                "No benchmarks yet: add some with `mhd ingest bench FILE --system old|new`"
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        paint(
            ctx.color,
            Style::Bold,
            "Performance Comparison: Old vs New System"
        )
    );
    let mut t = Table::new(
        &[
            ("Operation", Align::Left),
            ("System", Align::Left),
            ("P50", Align::Right),
            ("P95", Align::Right),
            ("P99", Align::Right),
            ("Mean", Align::Right),
            ("Std Dev", Align::Right),
            ("Samples", Align::Right),
            ("Verdict", Align::Left),
        ],
        48,
    );
    let side = |m: &Option<PerformanceMetric>| -> Vec<Cell> {
        match m {
            Some(m) => vec![
                ms(m.p50).into(),
                ms(m.p95).into(),
                ms(m.p99).into(),
                ms(m.mean).into(),
                ms(m.std_dev).into(),
            ],
            None => vec!["—".into(), "—".into(), "—".into(), "—".into(), "—".into()],
        }
    };
    for c in &comparisons {
        let name = match &c.component {
            Some(comp) => format!("{} ({comp})", c.operation),
            None => c.operation.clone(),
        };
        let mut old = vec![Cell::new(&name, Style::Cyan), "old".into()];
        old.extend(side(&c.old_system));
        old.push(c.old_samples.to_string().into());
        old.push("".into());
        t.row(old);
        let verdict = if c.regression {
            Cell::new(
                format!("✗ regression {}", signed_percent(c.delta_percent)),
                Style::Red,
            )
        } else if c.improved {
            Cell::new(
                format!("✓ improved {}", signed_percent(c.delta_percent)),
                Style::Green,
            )
        } else if c.delta_percent.is_some() {
            Cell::new(
                format!("= no clear change {}", signed_percent(c.delta_percent)),
                Style::Plain,
            )
        } else {
            Cell::new("needs both systems", Style::Dim)
        };
        let mut new = vec!["".into(), "new".into()];
        new.extend(side(&c.new_system));
        new.push(c.new_samples.to_string().into());
        new.push(verdict);
        t.row(new);
        if let Some(p) = c.p_value {
            t.note(Cell::new(format!("Mann-Whitney U: p = {p:.4}"), Style::Dim));
        }
    }
    print!("{}", t.render(ctx.color));
    let regressions = comparisons.iter().filter(|c| c.regression).count();
    if regressions > 0 {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Red,
                &format!("⚠ {regressions} operation(s) regressed more than {threshold}%")
            )
        );
    }
    if let Some(d) = perf::performance_delta(&comparisons) {
        println!(
            "Median change of p50 across operations: {d:+.1}% (negative: the new system is faster)"
        );
    }
    Ok(ExitCode::SUCCESS)
}
