//! The analysis views on the terminal: `mhd perf` (and, as they land, `summary`, `timeline`,
//! `components`, `tests`). Each prints a table, or with `--json` the same document the API
//! returns.

use std::process::ExitCode;

use mhd_core::format::terminal_safe;
use mhd_core::perf::PerformanceMetric;

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Align, Cell, Style, Table, cut, paint, print_json, trend, wrap};

/// Any view's options.
#[derive(Debug, clap::Args)]
pub struct ViewArgs {
    /// Print JSON with the specification's field names.
    #[arg(long)]
    pub json: bool,
}

/// The options of the plan-driven views.
#[derive(Debug, clap::Args)]
pub struct PlanViewArgs {
    /// Print JSON with the specification's field names.
    #[arg(long)]
    pub json: bool,
    /// Answer as of the end of this day (YYYY-MM-DD), from the operations before it.
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
}

/// Loads the plan the plan-driven views need, or says how to get one.
fn require_plan(ctx: &Ctx) -> anyhow::Result<mhd_core::plan::Plan> {
    load_plan(&ctx.plan_path())?.ok_or_else(|| {
        usage(format!(
            "no plan at {}: write one with `mhd init` (or name one with --plan FILE)",
            ctx.plan_path().display()
        ))
    })
}

/// `now` for a view: the command's start, or the end of `--at`'s day.
fn view_time(at: Option<&str>, ctx: &Ctx) -> anyhow::Result<(time::OffsetDateTime, bool)> {
    match at {
        None => Ok((ctx.now, false)),
        Some(d) => {
            let day =
                mhd_core::time_parse::parse_date(d).map_err(|e| usage(format!("--at: {e}")))?;
            let end = day
                .next_day()
                .ok_or_else(|| usage("--at: the date is too far in the future"))?
                .midnight()
                .assume_utc()
                - time::Duration::microseconds(1);
            Ok((end, true))
        }
    }
}

/// The plan and the view model at the time `--at` asks for (now without it).
async fn analysis(
    args: &PlanViewArgs,
    ctx: &Ctx,
) -> anyhow::Result<(mhd_core::plan::Plan, PlanViews, time::OffsetDateTime)> {
    let plan = require_plan(ctx)?;
    let (now, as_of) = view_time(args.at.as_deref(), ctx)?;
    let store = open_store(ctx).await?;
    let model = mhd_store::view_data::view_model(
        &store,
        Some(&plan),
        now,
        as_of,
        mhd_core::model::Options::default(),
    )
    .await?;
    store.close().await;
    let views = mhd_core::dashboard::MigrationViews::of(&model)
        .ok_or_else(|| anyhow::anyhow!("the plan gave no summary"))?;
    Ok((plan, views, now))
}

type PlanViews = mhd_core::dashboard::MigrationViews;

/// The view model as of now, with the plan when there is one.
async fn model_now(ctx: &Ctx) -> anyhow::Result<mhd_core::model::ViewModel> {
    let plan = load_plan(&ctx.plan_path())?;
    let store = open_store(ctx).await?;
    let model = mhd_store::view_data::view_model(
        &store,
        plan.as_ref(),
        ctx.now,
        false,
        mhd_core::model::Options::default(),
    )
    .await?;
    store.close().await;
    Ok(model)
}

/// Runs `mhd summary`: the executive summary.
pub async fn summary(args: PlanViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    use mhd_core::summary::Health;
    let (plan, a, _) = analysis(&args, ctx).await?;
    let s = &a.summary;
    if args.json {
        print_json(s)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = ctx.color;
    println!(
        "{}    Week {} of {}",
        paint(c, Style::Bold, &terminal_safe(&plan.migration.name)),
        s.week,
        s.weeks
    );
    let (style, word) = match s.overall_health {
        Health::Healthy => (Style::Green, "● HEALTHY"),
        Health::AtRisk => (Style::Yellow, "▲ AT RISK"),
        Health::Critical => (Style::Red, "✗ CRITICAL"),
    };
    println!("Overall status: {}", paint(c, style, word));
    for r in &s.health_reasons {
        for line in wrap(&terminal_safe(r), ctx.width, "  ", "    ") {
            println!("{}", paint(c, Style::Dim, &line));
        }
    }
    let filled = (s.migration_progress / 100.0 * 30.0)
        .round()
        .clamp(0.0, 30.0) as usize;
    println!(
        "Progress: {}{} {:.1}%",
        "█".repeat(filled),
        "░".repeat(30 - filled),
        s.migration_progress
    );
    let k = &s.key_metrics;
    println!(
        "Migrated: {}/{}    Success rate: {}    Rollbacks: {}",
        k.datasets_migrated,
        k.datasets_total,
        k.success_rate.map_or_else(
            || "no migration attempts yet".to_owned(),
            mhd_core::format::percent
        ),
        k.rollback_count,
    );
    if let Some(h) = &k.performance_headline {
        let text = format!(
            "{} (median Δ {})",
            terminal_safe(h),
            signed_percent(k.performance_delta)
        );
        for line in wrap(&text, ctx.width, "Performance: ", "  ") {
            println!("{line}");
        }
    }
    let completion = match &s.estimated_completion {
        Some(e) => format!(
            "{} (P50 {}, P95 {}) — {} the planned {}",
            e.p85,
            e.p50,
            e.p95,
            match e.slip_days {
                d if d > 0 => format!("{d} days after"),
                d if d < 0 => format!("{} days before", -d),
                _ => "on".to_owned(),
            },
            e.planned_end
        ),
        None => "— (no throughput to forecast from)".to_owned(),
    };
    for line in wrap(&completion, ctx.width, "Est. completion: ", "  ") {
        println!("{line}");
    }
    if let Some(e) = &s.estimated_completion
        && !e.critical_path.is_empty()
    {
        let names: Vec<String> = e
            .critical_path
            .iter()
            .map(|id| {
                plan.phase(id)
                    .map_or_else(|| id.clone(), |p| p.name.clone())
            })
            .collect();
        for line in wrap(
            &terminal_safe(&names.join(" → ")),
            ctx.width,
            "  held up by: ",
            "    ",
        ) {
            println!("{line}");
        }
    }
    if let Some(c) = &s.forecast_change {
        let head = match (c.days_moved, c.previous_p85) {
            (Some(0), _) => "unchanged".to_owned(),
            (Some(d), Some(p)) => format!(
                "{} day{} {} (from {p})",
                d.abs(),
                if d.abs() == 1 { "" } else { "s" },
                if d > 0 { "later" } else { "earlier" }
            ),
            _ => "no forecast yesterday".to_owned(),
        };
        let first = format!("  since yesterday: {head}: ");
        for line in wrap(
            &terminal_safe(&c.reasons.join("; ")),
            ctx.width,
            &first,
            "    ",
        ) {
            println!("{line}");
        }
    }
    if !s.blockers.is_empty() {
        println!(
            "{}",
            paint(
                c,
                Style::Red,
                &format!("⚠ {} blocker(s):", s.blockers.len())
            )
        );
        for b in &s.blockers {
            for line in wrap(&terminal_safe(&b.title), ctx.width, "  • ", "    ") {
                println!("{line}");
            }
        }
    }
    if !s.recommendations.is_empty() {
        println!("{}", paint(c, Style::Bold, "Recommendations:"));
        for r in &s.recommendations {
            for line in wrap(&terminal_safe(r), ctx.width, "  • ", "    ") {
                println!("{line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The room the Gantt chart's phase names take (at most 16 characters and a space) and the
/// room kept after the chart for each phase's status (`● 45%  ⚠ 3 days late`).
const GANTT_LABEL: usize = 17;
const GANTT_STATUS: usize = 16;

/// Characters per week of the Gantt chart: three when the plan is short enough (26 weeks
/// unfitted), else two or one, as the width allows with room for the statuses.
fn week_width(weeks: u32, width: Option<usize>) -> usize {
    let weeks = weeks.max(1) as usize;
    match width {
        None => {
            if weeks <= 26 {
                3
            } else {
                1
            }
        }
        Some(w) => {
            let room = w.saturating_sub(GANTT_LABEL + GANTT_STATUS);
            (1..=3).rev().find(|k| weeks * k <= room).unwrap_or(1)
        }
    }
}

/// Runs `mhd timeline`: the phases and a week-by-week Gantt chart.
pub async fn timeline(args: PlanViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let (plan, a, now) = analysis(&args, ctx).await?;
    if args.json {
        print_json(&a.timeline)?;
        return Ok(ExitCode::SUCCESS);
    }
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let gantt = mhd_core::timeline::gantt_text(
        &a.timeline,
        plan.migration.start,
        plan.migration.weeks,
        today,
        week_width(plan.migration.weeks, ctx.width),
    );
    for line in gantt.lines() {
        let line = terminal_safe(line);
        match ctx.width {
            // The legend is words: wrapped; a chart row is cut, its status being in the
            // table below too.
            Some(_) if line.starts_with("Legend:") => {
                for l in wrap(&line, ctx.width, "", "        ") {
                    println!("{l}");
                }
            }
            Some(w) => println!("{}", cut(&line, w)),
            None => println!("{line}"),
        }
    }
    println!();
    let mut t = Table::new(
        &[
            ("Phase", Align::Left),
            ("Status", Align::Left),
            ("Progress", Align::Right),
            ("Start", Align::Left),
            ("End", Align::Left),
            ("Risk", Align::Left),
            ("Slip", Align::Right),
        ],
        40,
    );
    for p in &a.timeline {
        let status = serde_json::to_value(p.status)?
            .as_str()
            .unwrap_or_default()
            .replace('_', " ");
        let style = match status.as_str() {
            "blocked" => Style::Red,
            "completed" => Style::Green,
            "in progress" => Style::Cyan,
            _ => Style::Plain,
        };
        t.row(vec![
            Cell::new(&p.name, Style::Bold),
            Cell::new(&status, style),
            format!("{:.0}%", p.progress).into(),
            p.start_date.to_string().into(),
            p.end_date.to_string().into(),
            p.risk_level.as_str().into(),
            p.slip_days
                .map_or_else(|| "—".to_owned(), |d| format!("{d:+}d"))
                .into(),
        ]);
        if !p.blocked_by.is_empty() {
            t.note(Cell::new(
                format!("blocked by {}", p.blocked_by.join(", ")),
                Style::Red,
            ));
        }
    }
    print!("{}", t.render(ctx.color, ctx.width));
    Ok(ExitCode::SUCCESS)
}

fn ms(v: f64) -> String {
    mhd_core::format::duration_ms(Some(v))
}

fn signed_percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |d| format!("{d:+.1}%"))
}

/// Runs `mhd perf`: old against new per operation.
pub async fn perf(args: ViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let model = model_now(ctx).await?;
    let p = &model.performance;
    let comparisons = &p.comparisons;
    let threshold = p.regression_percent;
    if args.json {
        print_json(&serde_json::json!({
            "comparisons": comparisons,
            "performance_delta": p.performance_delta,
            "regression_percent": threshold,
            "verdict": p.verdict,
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
    // The verdict comes before the figures read less often, so that a narrow terminal drops
    // those first.
    let mut t = Table::new(
        &[
            ("Operation", Align::Left),
            ("System", Align::Left),
            ("P50", Align::Right),
            ("P95", Align::Right),
            ("P99", Align::Right),
            ("Verdict", Align::Left),
            ("Mean", Align::Right),
            ("Std Dev", Align::Right),
            ("Samples", Align::Right),
        ],
        48,
    )
    .keep_whole("Verdict");
    let row =
        |first: Cell, system: &str, m: &Option<PerformanceMetric>, verdict: Cell, n: usize| {
            let figure = |f: fn(&PerformanceMetric) -> f64| -> Cell {
                m.as_ref()
                    .map_or_else(|| "—".to_owned(), |m| ms(f(m)))
                    .into()
            };
            vec![
                first,
                system.into(),
                figure(|m| m.p50),
                figure(|m| m.p95),
                figure(|m| m.p99),
                verdict,
                figure(|m| m.mean),
                figure(|m| m.std_dev),
                n.to_string().into(),
            ]
        };
    for c in comparisons {
        let name = match &c.component {
            Some(comp) => format!("{} ({comp})", c.operation),
            None => c.operation.clone(),
        };
        t.row(row(
            Cell::new(&name, Style::Cyan),
            "old",
            &c.old_system,
            "".into(),
            c.old_samples,
        ));
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
        t.row(row("".into(), "new", &c.new_system, verdict, c.new_samples));
        if let Some(p) = c.p_value {
            t.note(Cell::new(format!("Mann-Whitney U: p = {p:.4}"), Style::Dim));
        }
    }
    print!("{}", t.render(ctx.color, ctx.width));
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
    if let Some(d) = p.performance_delta {
        let text = format!(
            "Median change of p50 across operations: {d:+.1}% (negative: the new system is faster)"
        );
        for line in wrap(&text, ctx.width, "", "  ") {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn health_cell(h: mhd_core::components::SystemHealth, rate: Option<f64>) -> Cell {
    use mhd_core::components::SystemHealth;
    let rate = rate.map_or_else(String::new, |r| {
        format!(" {}", mhd_core::format::percent(r))
    });
    match h {
        SystemHealth::Healthy => Cell::new(format!("✓{rate}"), Style::Green),
        SystemHealth::Degraded => Cell::new(format!("⚠{rate}"), Style::Yellow),
        SystemHealth::Failing => Cell::new(format!("✗{rate}"), Style::Red),
        SystemHealth::NoData => Cell::new("— no data", Style::Dim),
    }
}

/// Runs `mhd components`: the component health matrix, old and new side by side.
pub async fn components(args: PlanViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let (_, a, _) = analysis(&args, ctx).await?;
    if args.json {
        print_json(&a.components)?;
        return Ok(ExitCode::SUCCESS);
    }
    if a.components.is_empty() {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Yellow,
                "The plan names no components: add [[components]] to it"
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}",
        paint(
            ctx.color,
            Style::Bold,
            &format!(
                "Component Health Matrix (operations of the last {} days)",
                mhd_store::view_data::COMPONENT_WINDOW.whole_days()
            )
        )
    );
    let mut t = Table::new(
        &[
            ("Component", Align::Left),
            ("Old", Align::Left),
            ("New", Align::Left),
            ("Migration", Align::Left),
            ("Tests", Align::Right),
            ("Perf Δ", Align::Right),
        ],
        40,
    );
    for c in &a.components {
        let m = &c.migration_status;
        let bar = |p: f64| {
            let filled = (p / 100.0 * 4.0).round().clamp(0.0, 4.0) as usize;
            format!("{}{} {:.0}%", "█".repeat(filled), "░".repeat(4 - filled), p)
        };
        t.row(vec![
            Cell::new(&c.name, Style::Bold),
            health_cell(c.old_version.health, c.old_version.success_rate),
            health_cell(c.new_version.health, c.new_version.success_rate),
            m.percent.map_or_else(|| "—".to_owned(), bar).into(),
            match (c.tests_passed, c.tests_total) {
                (Some(p), Some(t)) => format!("{p}/{t}"),
                _ => "—".to_owned(),
            }
            .into(),
            signed_percent(c.performance_metrics.delta_percent).into(),
        ]);
    }
    print!("{}", t.render(ctx.color, ctx.width));
    println!("✓ healthy  ⚠ degraded  ✗ failing  — no data");
    Ok(ExitCode::SUCCESS)
}

/// Runs `mhd tests`: per suite pass %, failures, trend and status; failing and flaky tests.
pub async fn tests(args: ViewArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    use mhd_core::testview::{self, SuiteStatus};
    let model = model_now(ctx).await?;
    let view = model
        .tests
        .clone()
        .unwrap_or_else(|| testview::tests_view(&[], &Default::default()));
    if args.json {
        print_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    if view.suites.is_empty() {
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Yellow,
                "No test runs yet: add one with `mhd ingest junit FILE --suite NAME`"
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", paint(ctx.color, Style::Bold, "Test Suite Results"));
    let mut t = Table::new(
        &[
            ("Suite", Align::Left),
            ("Pass %", Align::Right),
            ("Failed", Align::Right),
            ("Time", Align::Right),
            ("Trend", Align::Left),
            ("Status", Align::Left),
        ],
        40,
    )
    .keep_whole("Trend");
    for s in &view.suites {
        let status = match s.status {
            SuiteStatus::Passing => Cell::new("✓ passing", Style::Green),
            SuiteStatus::Warning => Cell::new("⚠ warning", Style::Yellow),
            SuiteStatus::Failing => Cell::new("✗ failing", Style::Red),
            SuiteStatus::NoTests => Cell::new("— no tests", Style::Dim),
        };
        t.row(vec![
            Cell::new(&s.name, Style::Cyan),
            s.pass_rate
                .map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%"))
                .into(),
            s.results.failed.to_string().into(),
            mhd_core::format::duration_ms(Some(s.results.duration * 1000.0)).into(),
            trend(&s.trend, "%").into(),
            status,
        ]);
    }
    print!("{}", t.render(ctx.color, ctx.width));
    let failing: Vec<_> = view
        .suites
        .iter()
        .flat_map(|s| s.failing_tests.iter().map(move |f| (s, f)))
        .collect();
    if !failing.is_empty() {
        println!();
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Red,
                &format!("Failing tests ({})", failing.len())
            )
        );
        for (s, f) in failing {
            let line = format!(
                "{} [{}] failing since {} ({} run{})",
                terminal_safe(&f.name),
                terminal_safe(&s.name),
                mhd_core::format::relative(ctx.now, f.first_failed),
                f.attempts,
                if f.attempts == 1 { "" } else { "s" }
            );
            for l in wrap(&line, ctx.width, "  ✗ ", "    ") {
                println!("{l}");
            }
            if !f.error.is_empty() {
                let error = terminal_safe(f.error.lines().next().unwrap_or_default());
                for l in wrap(&error, ctx.width, "    ", "    ") {
                    println!("{}", paint(ctx.color, Style::Dim, &l));
                }
            }
        }
    }
    let flaky: Vec<_> = view
        .suites
        .iter()
        .flat_map(|s| s.flaky_tests.iter().map(move |f| (s, f)))
        .collect();
    if !flaky.is_empty() {
        println!();
        println!(
            "{}",
            paint(
                ctx.color,
                Style::Yellow,
                &format!("Flaky tests ({})", flaky.len())
            )
        );
        for (s, f) in flaky {
            let line = format!(
                "{} [{}] flipped {} times in the last {} runs",
                terminal_safe(&f.name),
                terminal_safe(&s.name),
                f.flips,
                testview::TREND_RUNS
            );
            for l in wrap(&line, ctx.width, "  ⚠ ", "    ") {
                println!("{l}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
