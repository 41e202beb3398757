//! `mhd init` writes a starting plan; `mhd check` validates one and points at every mistake.
//! [`load_plan`] is how other commands read the plan.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use mhd_core::format::terminal_safe;
use mhd_core::plan::{self, Plan, PlanError, PlanTemplate};
use mhd_core::time_parse::parse_date;
use time::{Date, Duration, UtcOffset};

use crate::ctx::{Ctx, usage};
use crate::out::{Style, paint};

/// Write a starting plan: the specification's 21-week migration, or with the flags below the
/// user's own (each flag replaces one part of it; the phases follow the components).
#[derive(Debug, clap::Args)]
#[command(after_help = "\
The datasets file (--datasets-file) is CSV, one dataset per line: name[,component[,size]].
A first line `name,component,size` is a header and is skipped. `component` is one of the
plan's components (--components) or empty; `size` is the dataset's size in rows, a whole
number, or empty. A field may be quoted (\"a, b\"). A bad line is an error naming the file,
line and field, and nothing is written.

With the specification's components the phases are its eight, fitted to --weeks; with
other components: tests, one migration phase per component, validation and cleanup.")]
pub struct InitArgs {
    /// The migration's name [default: "MDM refactoring"].
    #[arg(long)]
    pub name: Option<String>,
    /// The migration's first day [default: the Monday of this week].
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub start: Option<String>,
    /// The planned length in weeks [default: 21].
    #[arg(long, value_name = "W")]
    pub weeks: Option<u32>,
    /// How many datasets the migration moves, shared out among the components [default: 412].
    #[arg(long, value_name = "N", conflicts_with = "datasets_file")]
    pub datasets: Option<u32>,
    /// The datasets, one per line of a CSV file: name[,component[,size]] (see below).
    #[arg(long, value_name = "CSV")]
    pub datasets_file: Option<PathBuf>,
    /// The components' ids, comma-separated [default: storage,config,features,registration].
    #[arg(long, value_name = "a,b,c")]
    pub components: Option<String>,
    /// Replace an existing plan.
    #[arg(long)]
    pub force: bool,
}

/// Validate a plan and show every mistake with its line and column.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The plan to check [default: --plan, else the home's migration.toml].
    // Its own id: one named `plan` would be the global `--plan`, which then could not follow
    // the subcommand.
    #[arg(value_name = "PLAN", id = "file")]
    pub file: Option<PathBuf>,
    /// Print the plan (or its mistakes) as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mhd init`.
pub async fn init(args: InitArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let template = init_template(&args, ctx)?;
    let path = ctx.plan_path();
    let text = template.to_toml();
    // The flags are checked above, so the plan parses; parsing also gives the summary below.
    let plan = plan::parse(&text, &path.display().to_string()).map_err(|errors| {
        usage(format!(
            "these flags make a plan with mistakes:\n{}",
            describe(&errors, "the plan")
        ))
    })?;
    if !args.force && path.exists() {
        return Err(usage(format!(
            "{} already exists: use --force to replace it",
            terminal_safe(&path.display().to_string())
        )));
    }
    ctx.ensure_home()?;
    write_plan(&path, &text, args.force)?;
    println!(
        "Wrote the plan \"{}\" ({} phases, {} weeks, {} → {}) to {}",
        terminal_safe(&plan.migration.name),
        plan.phases.len(),
        plan.migration.weeks,
        plan.migration.start,
        plan.planned_end(),
        terminal_safe(&path.display().to_string()),
    );
    if ctx.stdout_tty {
        println!("Edit it to describe your migration, then run `mhd check`.");
    }
    Ok(ExitCode::SUCCESS)
}

/// The plan the flags of `mhd init` describe: the specification's, each flag replacing its
/// part. A bad flag is a usage error naming it.
fn init_template(args: &InitArgs, ctx: &Ctx) -> anyhow::Result<PlanTemplate> {
    let start = match &args.start {
        Some(s) => parse_date(s).map_err(|e| usage(format!("--start: {e}")))?,
        None => monday_of(ctx.now.to_offset(UtcOffset::UTC).date()),
    };
    let mut template = PlanTemplate::specification(start);
    if let Some(name) = &args.name {
        if name.trim().is_empty() {
            return Err(usage("--name: give the migration a name"));
        }
        if name.chars().any(char::is_control) {
            return Err(usage(format!(
                "--name: {:?} holds a control character",
                terminal_safe(name)
            )));
        }
        template.name.clone_from(name);
    }
    if let Some(weeks) = args.weeks {
        if weeks == 0 {
            return Err(usage("--weeks: a migration lasts at least 1 week"));
        }
        template.weeks = weeks;
    }
    if start
        .checked_add(Duration::weeks(i64::from(template.weeks)))
        .is_none()
    {
        return Err(usage(format!(
            "--weeks: {} weeks from {start} end past the calendar",
            template.weeks
        )));
    }
    if let Some(list) = &args.components {
        template.components = components_flag(list)?;
    }
    if let Some(n) = args.datasets {
        if n == 0 {
            return Err(usage("--datasets: a migration moves at least 1 dataset"));
        }
        template.datasets = plan::Datasets::Total(n);
    }
    if let Some(file) = &args.datasets_file {
        let shown = terminal_safe(&file.display().to_string()).into_owned();
        let text = std::fs::read(file)
            .map_err(|e| usage(format!("--datasets-file: cannot read {shown}: {e}")))
            .and_then(|b| {
                String::from_utf8(b)
                    .map_err(|_| usage(format!("--datasets-file: {shown} is not UTF-8 text")))
            })?;
        let list = plan::datasets_from_csv(&text, &template.components).map_err(|e| {
            usage(format!(
                "--datasets-file: {shown}:{}: `{}`: {}",
                e.line,
                e.field,
                terminal_safe(&e.message)
            ))
        })?;
        template.datasets = plan::Datasets::List(list);
    }
    Ok(template)
}

/// The ids of `--components a,b,c`: each made of letters, digits, `_`, `-` and `.`, none twice.
fn components_flag(list: &str) -> anyhow::Result<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    for id in list.split(',').map(str::trim) {
        if id.is_empty() {
            return Err(usage(format!(
                "--components: {:?} has an empty id; give ids separated by commas, such as \
                 api,db,jobs",
                terminal_safe(list)
            )));
        }
        if !id
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(usage(format!(
                "--components: {:?} must be made of letters, digits, `_`, `-` and `.`",
                terminal_safe(id)
            )));
        }
        if ids.iter().any(|x| x == id) {
            return Err(usage(format!(
                "--components: {:?} is named twice",
                terminal_safe(id)
            )));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// Runs `mhd check`: exit status 0 when the plan is valid, 2 when it has mistakes or cannot be
/// read.
pub async fn check(args: CheckArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let path = args.file.unwrap_or_else(|| ctx.plan_path());
    let shown = path.display().to_string();
    let Some(source) = read_plan(&path)? else {
        return Err(usage(format!(
            "{}: no plan there: run `mhd init` to write one, or name the plan to check",
            terminal_safe(&shown)
        )));
    };
    match plan::parse(&source, &shown) {
        Ok(plan) => {
            if args.json {
                crate::out::print_json(&serde_json::json!({
                    "file": shown,
                    "ok": true,
                    "plan": plan,
                }))?;
            } else {
                println!(
                    "{}: {} — \"{}\", {} phases, {} datasets, {} → {}",
                    terminal_safe(&shown),
                    paint(ctx.color, Style::Green, "ok"),
                    terminal_safe(&plan.migration.name),
                    plan.phases.len(),
                    plan.datasets_total(),
                    plan.migration.start,
                    plan.planned_end(),
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            let mut stderr = std::io::stderr().lock();
            for e in &errors {
                writeln!(stderr, "{}", terminal_safe(&e.to_string()))?;
            }
            writeln!(stderr, "{}", mistakes_line(errors.len(), &shown))?;
            drop(stderr);
            if args.json {
                crate::out::print_json(&serde_json::json!({
                    "file": shown,
                    "ok": false,
                    "errors": errors,
                }))?;
            }
            Ok(ExitCode::from(2))
        }
    }
}

/// Reads and validates the plan at `path`, for commands that use it: `None` when there is no
/// file, a usage error (exit status 2) listing every mistake when it is invalid.
pub fn load_plan(path: &Path) -> anyhow::Result<Option<Plan>> {
    let Some(source) = read_plan(path)? else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    plan::parse(&source, &shown)
        .map(Some)
        .map_err(|errors| usage(describe(&errors, &shown)))
}

/// Every mistake on its own line, then how many there are.
fn describe(errors: &[PlanError], shown: &str) -> String {
    let mut text = String::new();
    for e in errors {
        text.push_str(&terminal_safe(&e.to_string()));
        text.push('\n');
    }
    text.push_str(&mistakes_line(errors.len(), shown));
    text
}

fn mistakes_line(n: usize, shown: &str) -> String {
    let noun = if n == 1 { "mistake" } else { "mistakes" };
    format!("{n} {noun} in {}", terminal_safe(shown))
}

/// The plan's text, `None` when the file does not exist.
fn read_plan(path: &Path) -> anyhow::Result<Option<String>> {
    let shown = || terminal_safe(&path.display().to_string()).into_owned();
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| usage(format!("{}: the plan is not UTF-8 text", shown()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(usage(format!("cannot read the plan {}: {e}", shown()))),
    }
}

/// Writes the plan; without `force`, never over an existing file, even one created since the
/// check. With `force`, through a temporary file and a rename, so a failed write leaves the
/// old plan whole.
fn write_plan(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    }
    let shown = path.display().to_string();
    if !force {
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(usage(format!(
                    "{} already exists: use --force to replace it",
                    terminal_safe(&shown)
                )));
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {shown}")),
        };
        return file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {shown}"));
    }
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write {shown}"))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

/// The Monday of the week holding `day`.
fn monday_of(day: Date) -> Date {
    let back = i64::from(day.weekday().number_days_from_monday());
    day.checked_sub(Duration::days(back)).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn monday_of_the_week() {
        assert_eq!(monday_of(date!(2025 - 01 - 06)), date!(2025 - 01 - 06));
        assert_eq!(monday_of(date!(2025 - 01 - 08)), date!(2025 - 01 - 06));
        assert_eq!(monday_of(date!(2025 - 01 - 12)), date!(2025 - 01 - 06));
        assert_eq!(monday_of(date!(2025 - 03 - 02)), date!(2025 - 02 - 24));
    }

    #[test]
    fn load_plan_reads_missing_valid_and_invalid_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("migration.toml");
        assert!(load_plan(&path).expect("no file is fine").is_none());

        std::fs::write(&path, plan::default_plan_toml(date!(2025 - 01 - 06))).expect("write");
        let plan = load_plan(&path).expect("valid").expect("present");
        assert_eq!(plan.phases.len(), 8);

        std::fs::write(&path, "[migration]\nname = 1\nweeks = 0\n").expect("write");
        let err = load_plan(&path).expect_err("invalid");
        assert!(err.downcast_ref::<crate::ctx::UsageError>().is_some());
        let text = err.to_string();
        assert!(
            text.contains("migration.toml:2:8: `name` in [migration] must be a string"),
            "{text}"
        );
        assert!(
            text.contains("migration.toml:3:9: `weeks` in [migration] must be at least 1"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("4 mistakes in {}", path.display())),
            "{text}"
        );
    }
}
