//! `mhd`, the Migration Health Dashboard: argument parsing and wiring, nothing else.
// One call into the C library (`limit_malloc_arenas`) is the only unsafe code of the program.
#![deny(unsafe_code)]

mod cmd;
mod ctx;
mod logging;
mod out;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::ctx::{Ctx, GlobalArgs, UsageError};

/// Watches a long migration and tells whether it is healthy, how far along, when it ends,
/// what is broken, and whether the new system beats the old.
#[derive(Debug, Parser)]
#[command(
    name = "mhd",
    version,
    about = "Migration Health Dashboard: is the migration healthy, how far along, when will it end, what is broken, is the new system better",
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a starting plan: the specification's migration, or your own (--name, --start,
    /// --weeks, --datasets or --datasets-file, --components).
    Init(cmd::plan::InitArgs),
    /// Validate a plan, pointing at the line and column of every mistake.
    Check(cmd::plan::CheckArgs),
    /// Record one operation.
    Record(cmd::record::RecordArgs),
    /// Bulk-load operations, test reports or benchmarks.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// Bring data from another tool.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The executive summary: health, progress, forecast, blockers, recommendations.
    Summary(cmd::views::PlanViewArgs),
    /// The phases: status, progress, milestones, risk, and a week-by-week Gantt chart.
    Timeline(cmd::views::PlanViewArgs),
    /// The component health matrix: old and new side by side.
    Components(cmd::views::PlanViewArgs),
    /// Test results: pass %, trend, status, failing and flaky tests.
    Tests(cmd::views::ViewArgs),
    /// Old against new per operation: percentiles, deltas and regressions.
    Perf(cmd::views::ViewArgs),
    /// The completion forecast: `backtest` measures how far it can be trusted.
    #[command(subcommand)]
    Forecast(cmd::forecast::ForecastCommand),
    /// Write the report of a range of days (HTML or PDF): summary, progress, timeline,
    /// components, tests, performance and top errors.
    Report(cmd::report::ReportArgs),
    /// Alerts: list them, acknowledge one, silence a rule or a component.
    Alerts(cmd::alerts::AlertsArgs),
    /// Serve the live dashboard, the REST API and WebSocket updates.
    Serve(cmd::serve::ServeArgs),
    /// The live dashboard on a simulated migration: one command, nothing to set up.
    Demo(cmd::demo::DemoArgs),
    /// Single-user statistics: recent operations, summary, datasets, logs, cleanup, dashboard.
    #[command(subcommand)]
    Stats(StatsCommand),
    /// Users who sign in: add, list, set-role, remove, passwd.
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// API tokens for scripts and CI: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(cmd::token::TokenCommand),
    /// The audit log: who did what, when and from where (--jsonl for a SIEM).
    Audit(cmd::audit::AuditArgs),
    /// Keep the store bounded: prune what is past its retention (the plan's [retention]).
    #[command(subcommand)]
    Retention(cmd::retention::RetentionCommand),
    /// Move a store: copy a SQLite store into a PostgreSQL database.
    #[command(subcommand)]
    Store(cmd::store::StoreCommand),
    /// Write a consistent copy of the store to FILE, while servers and commands keep writing.
    Backup(cmd::store::BackupArgs),
    /// Put a backup made by `mhd backup` in the store's place (refused while a server runs on it;
    /// the store it replaces is kept beside it).
    Restore(cmd::store::RestoreArgs),
}

#[derive(Debug, Subcommand)]
enum IngestCommand {
    /// Operations as NDJSON or a JSON array, from a file or `-` for standard input.
    Operations(cmd::ingest::IngestOperationsArgs),
    /// One run of a test suite from JUnit XML reports.
    Junit(cmd::ingest_results::JunitArgs),
    /// Benchmark timings: hyperfine JSON, a Criterion folder, or CSV.
    Bench(cmd::ingest_results::BenchArgs),
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// MDM's monitoring database (~/.mdm/metrics.db); importing it twice adds nothing.
    Mdm(cmd::import::MdmArgs),
}

#[derive(Debug, Subcommand)]
enum StatsCommand {
    /// Recent operations, newest first.
    Show(cmd::stats::ShowArgs),
    /// Totals, success rate, durations by type, dataset counts and recent errors.
    Summary(cmd::stats::SummaryArgs),
    /// Operations on one dataset, by type.
    Dataset(cmd::stats::DatasetArgs),
    /// Delete operations older than a number of days.
    Cleanup(cmd::stats::CleanupArgs),
    /// Write the self-contained HTML dashboard file.
    Dashboard(cmd::dashboard::DashboardArgs),
    /// The last entries of mhd's own log, or of another log file such as MDM's.
    Logs(cmd::logs::LogsArgs),
}

/// Keeps the server's memory from growing with its threads: glibc gives each thread that
/// allocates its own arena (up to 8 per core) and keeps every arena's peak, so the views
/// recomputed on the store's worker threads after each write left ~100 MB behind (see
/// BENCHMARKS.md, "Live server"). Two arenas hold it at its working size, at no measured cost
/// in throughput. The same as `MALLOC_ARENA_MAX=2`, which still wins when set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt only changes a parameter of the allocator; it is called before this
    // process starts any thread, as glibc asks.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    // Read the local UTC offset before any thread starts: it is only reliable then.
    let local_offset = time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC);
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        limit_malloc_arenas();
    }
    let ctx = match Ctx::new(cli.global, local_offset) {
        Ok(ctx) => ctx,
        Err(e) => return report(&e),
    };
    let serving = matches!(cli.command, Command::Serve(_) | Command::Demo(_));
    if let Err(e) = logging::init(&ctx, command_name(&cli.command), serving) {
        return report(&e);
    }
    // The server uses every core; a one-shot command starts faster on one thread.
    let mut runtime = if matches!(cli.command, Command::Serve(_) | Command::Demo(_)) {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let result = runtime
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run(cli.command, &ctx)));
    match result {
        Ok(code) => code,
        Err(e) => report(&e),
    }
}

async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    match command {
        Command::Record(args) => cmd::record::run(args, ctx).await,
        Command::Ingest(IngestCommand::Operations(args)) => {
            cmd::ingest::operations(args, ctx).await
        }
        Command::Ingest(IngestCommand::Junit(args)) => cmd::ingest_results::junit(args, ctx).await,
        Command::Ingest(IngestCommand::Bench(args)) => cmd::ingest_results::bench(args, ctx).await,
        Command::Perf(args) => cmd::views::perf(args, ctx).await,
        Command::Report(args) => cmd::report::run(args, ctx).await,
        Command::Forecast(c) => cmd::forecast::run(c, ctx).await,
        Command::Alerts(args) => cmd::alerts::run(args, ctx).await,
        Command::Serve(args) => cmd::serve::run(args, ctx).await,
        Command::Demo(args) => cmd::demo::run(args, ctx).await,
        Command::Summary(args) => cmd::views::summary(args, ctx).await,
        Command::Components(args) => cmd::views::components(args, ctx).await,
        Command::Tests(args) => cmd::views::tests(args, ctx).await,
        Command::Timeline(args) => cmd::views::timeline(args, ctx).await,
        Command::Init(args) => cmd::plan::init(args, ctx).await,
        Command::Check(args) => cmd::plan::check(args, ctx).await,
        Command::Import(ImportCommand::Mdm(args)) => cmd::import::mdm(args, ctx).await,
        Command::User(c) => cmd::user::run(c, ctx).await,
        Command::Token(c) => cmd::token::run(c, ctx).await,
        Command::Audit(args) => cmd::audit::run(args, ctx).await,
        Command::Retention(c) => cmd::retention::run(c, ctx).await,
        Command::Store(c) => cmd::store::run(c, ctx).await,
        Command::Backup(args) => cmd::store::backup(args, ctx).await,
        Command::Restore(args) => cmd::store::restore(args, ctx).await,
        Command::Stats(s) => match s {
            StatsCommand::Show(args) => cmd::stats::show(args, ctx).await,
            StatsCommand::Summary(args) => cmd::stats::summary(args, ctx).await,
            StatsCommand::Dataset(args) => cmd::stats::dataset(args, ctx).await,
            StatsCommand::Cleanup(args) => cmd::stats::cleanup(args, ctx).await,
            StatsCommand::Dashboard(args) => cmd::dashboard::run(args, ctx).await,
            StatsCommand::Logs(args) => cmd::logs::logs(args, ctx),
        },
    }
}

/// `mhd stats show | head` closes the pipe early; that is the reader's choice, not an error:
/// end quietly instead of the panic `println!` raises.
fn quiet_on_closed_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

/// The command's name, as the log file records it.
fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Init(_) => "init",
        Command::Check(_) => "check",
        Command::Record(_) => "record",
        Command::Ingest(_) => "ingest",
        Command::Import(_) => "import",
        Command::Stats(_) => "stats",
        Command::Perf(_) => "perf",
        Command::Report(_) => "report",
        Command::Forecast(_) => "forecast",
        Command::Alerts(_) => "alerts",
        Command::Serve(_) => "serve",
        Command::Demo(_) => "demo",
        Command::Summary(_) => "summary",
        Command::Components(_) => "components",
        Command::Tests(_) => "tests",
        Command::Timeline(_) => "timeline",
        Command::User(_) => "user",
        Command::Token(_) => "token",
        Command::Audit(_) => "audit",
        Command::Retention(_) => "retention",
        Command::Store(_) => "store",
        Command::Backup(_) => "backup",
        Command::Restore(_) => "restore",
    }
}

/// Prints an error the way users read it and picks the exit status: 2 for bad usage or input,
/// 1 for a failure while running.
fn report(e: &anyhow::Error) -> ExitCode {
    tracing::error!("{e:#}");
    eprintln!("mhd: error: {e:#}");
    if e.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}
