//! `mhd report`: the report of a range of days as a file, HTML or PDF, the same document as
//! `GET /api/v1/reports/generate`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mhd_core::report::{self, BadInput, ReportFormat, ReportRange};

use crate::cmd::plan::load_plan;
use crate::cmd::record::open_store;
use crate::ctx::{Ctx, usage};
use crate::out::{Style, paint};

/// Days a report covers when `--from` is not given.
pub const DEFAULT_DAYS: i64 = 7;

/// Write the report of a range of days.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The first day, YYYY-MM-DD (UTC) [default: six days before --to].
    #[arg(long, value_name = "DATE", conflicts_with = "last")]
    pub from: Option<String>,
    /// The last day, YYYY-MM-DD (UTC) [default: today].
    #[arg(long, value_name = "DATE", conflicts_with = "last")]
    pub to: Option<String>,
    /// The last days up to today instead of --from/--to: 14d, 2w (whole days, UTC).
    #[arg(long, value_name = "SPAN")]
    pub last: Option<String>,
    /// html or pdf.
    #[arg(long, value_name = "FORMAT", default_value = "html")]
    pub format: String,
    /// Where to write it, `-` for standard output [default: mhd-report-<from>-<to>.<ext> in
    /// the current folder].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A report's bad input as a usage error (exit status 2).
fn report_error(BadInput(m): BadInput) -> anyhow::Error {
    usage(m)
}

/// The range of `--from` and `--to`.
fn range_of(args: &ReportArgs, today: time::Date) -> anyhow::Result<ReportRange> {
    let end = match &args.to {
        Some(v) => report::parse_date("--to", v).map_err(report_error)?,
        None => today,
    };
    Ok(match &args.from {
        Some(v) => {
            let start = report::parse_date("--from", v).map_err(report_error)?;
            ReportRange::new(start, end, "--from", "--to").map_err(report_error)?
        }
        None => ReportRange::last_days(end, DEFAULT_DAYS),
    })
}

/// Runs `mhd report`.
pub async fn run(args: ReportArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let format = ReportFormat::parse("--format", &args.format).map_err(report_error)?;
    let today = ctx.now.to_offset(time::UtcOffset::UTC).date();
    let range = match &args.last {
        Some(v) => ReportRange::parse_last("--last", v, today).map_err(report_error)?,
        None => range_of(&args, today)?,
    };
    let plan = load_plan(&ctx.plan_path())?;
    let store = open_store(ctx).await?;
    let data = mhd_store::view_data::report(&store, plan.as_ref(), range, ctx.now).await;
    store.close().await;
    let body = mhd_web::report::render(&data?, format, ctx.local_offset)?;
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(range.file_name(format)));
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(&body).context("cannot write the report")?;
        out.flush().context("cannot write the report")?;
        return Ok(ExitCode::SUCCESS);
    }
    // Write beside the target and rename, so a reader never sees half a report.
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, &body).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    println!(
        "{}",
        paint(
            ctx.color,
            Style::Green,
            &format!(
                "Report of {} to {} written to {}",
                range.start,
                range.end,
                path.display()
            )
        )
    );
    Ok(ExitCode::SUCCESS)
}
