//! What every command needs: the home folder, the plan's path, the time, and how to print.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context as _;
use mhd_core::limits::TimeLimits;
use time::{Duration, OffsetDateTime, UtcOffset};

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// The home folder holding the store, the plan and the logs [default: ~/.mhd].
    #[arg(long, global = true, env = "MHD_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The plan file to use instead of the home's `migration.toml`.
    #[arg(long, global = true, env = "MHD_PLAN", value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// How far ahead of now a recorded time may be, such as 1d or 12h; later times are refused
    /// [default: the plan's `max_future`, else 1d].
    #[arg(
        long,
        global = true,
        env = "MHD_MAX_FUTURE",
        value_name = "SPAN",
        value_parser = parse_span
    )]
    pub max_future: Option<Duration>,
    /// Where the store is: a file path, `sqlite:PATH`, or `sqlite:///abs/path`, or
    /// `postgres://…` [default: the URL in the file MHD_DATABASE_URL_FILE names, else
    /// DATABASE_URL, else the home's mhd.db].
    #[arg(long, global = true, env = "MHD_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// How log lines are written: `text` (the home's log file's own lines) or `json` (one
    /// object per line with time, level, target, message and fields, for a log collector).
    #[arg(
        long,
        global = true,
        env = "MHD_LOG_FORMAT",
        value_name = "FORMAT",
        value_enum
    )]
    pub log_format: Option<crate::logging::LogFormat>,
    /// Which events are logged: a level (`error`, `warn`, `info`, `debug`, `trace`) or a filter
    /// such as `info,mhd_store=debug` [default: info; request lines only for failed requests
    /// when logging to the file].
    #[arg(long, global = true, env = "MHD_LOG", value_name = "FILTER")]
    pub log_level: Option<String>,
    /// Where log lines go: `file` (`<home>/logs/mhd.log`, rotated) or `stderr` [default:
    /// stderr for `serve` and `demo` inside a container, else the file].
    #[arg(
        long,
        global = true,
        env = "MHD_LOG_TO",
        value_name = "WHERE",
        value_enum
    )]
    pub log_to: Option<crate::logging::LogTo>,
    /// Print tables whole, however wide, instead of fitting them to the terminal (`COLUMNS`,
    /// else the terminal's width, else 80).
    #[arg(long, global = true)]
    pub wide: bool,
}

/// The database URL when neither `--database-url` nor `MHD_DATABASE_URL` gives it: read from
/// the file `MHD_DATABASE_URL_FILE` names (a mounted secret; surrounding blanks dropped), else
/// the specification's `DATABASE_URL`.
fn database_url_from_elsewhere() -> anyhow::Result<Option<String>> {
    if let Some(file) = std::env::var_os("MHD_DATABASE_URL_FILE").filter(|f| !f.is_empty()) {
        let path = PathBuf::from(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            usage(format!(
                "MHD_DATABASE_URL_FILE {}: cannot read the database URL from it: {e}",
                path.display()
            ))
        })?;
        let url = text.trim();
        if url.is_empty() {
            return Err(usage(format!(
                "MHD_DATABASE_URL_FILE {}: the file is empty",
                path.display()
            )));
        }
        return Ok(Some(url.to_owned()));
    }
    Ok(std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty()))
}

fn parse_span(s: &str) -> Result<Duration, String> {
    mhd_core::time_parse::parse_duration(s)
}

/// Bad usage or bad input: the command exits with status 2 and changed nothing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Returns a [`UsageError`] as an `anyhow` error.
pub fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

/// The command's surroundings.
#[derive(Debug)]
pub struct Ctx {
    /// The home folder.
    pub home: PathBuf,
    /// `--plan`, when given.
    pub plan_override: Option<PathBuf>,
    /// `--max-future` (or `MHD_MAX_FUTURE`), when given.
    pub max_future: Option<Duration>,
    /// The store: `--database-url` (or `MHD_DATABASE_URL`), else the home's `mhd.db`.
    pub database: mhd_store::Location,
    /// Whether the store is the home's own (so the home is made before it is opened).
    pub database_in_home: bool,
    /// The time the command started: every "now" of the command is this one.
    pub now: OffsetDateTime,
    /// The local UTC offset, for showing times and reading naive times.
    pub local_offset: UtcOffset,
    /// Whether standard output is a terminal.
    pub stdout_tty: bool,
    /// Whether to colour standard output.
    pub color: bool,
    /// The width tables are fitted to, or `None` under `--wide`.
    pub width: Option<usize>,
    /// `--log-format`, `--log-level`, `--log-to` (or their variables), when given.
    pub log: crate::logging::LogArgs,
}

impl Ctx {
    /// Resolves the home and the output settings.
    pub fn new(args: GlobalArgs, local_offset: UtcOffset) -> anyhow::Result<Ctx> {
        let home = match args.home {
            Some(h) => h,
            None => {
                let base = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .context("HOME is not set: give --home DIR or set MHD_HOME")?;
                base.join(".mhd")
            }
        };
        let database_url = match args.database_url {
            Some(url) => Some(url),
            None => database_url_from_elsewhere()?,
        };
        let (database, database_in_home) = match &database_url {
            Some(url) => (
                mhd_store::Location::parse(url)
                    .map_err(|e| usage(format!("--database-url: {e}")))?,
                false,
            ),
            None => (mhd_store::Location::Sqlite(home.join("mhd.db")), true),
        };
        let stdout_tty = std::io::stdout().is_terminal();
        let color = stdout_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ok(Ctx {
            home,
            plan_override: args.plan,
            max_future: args.max_future,
            database,
            database_in_home,
            now: OffsetDateTime::now_utc(),
            local_offset,
            stdout_tty,
            color,
            width: (!args.wide).then(|| crate::out::output_width(stdout_tty)),
            log: crate::logging::LogArgs {
                format: args.log_format,
                filter: args.log_level,
                to: args.log_to,
            },
        })
    }

    /// The store as it is shown in messages (never with a password).
    pub fn store_shown(&self) -> String {
        self.database.shown()
    }

    /// Whether the store exists already (a command that only reads may then refuse to make
    /// one).
    pub fn store_exists(&self) -> bool {
        match &self.database {
            mhd_store::Location::Sqlite(path) => path.exists(),
            // Known once connected: the checks that need it are made after opening.
            mhd_store::Location::Postgres(_) => true,
        }
    }

    /// The plan every command uses: `--plan`, else the home's `migration.toml`.
    pub fn plan_path(&self) -> PathBuf {
        self.plan_override
            .clone()
            .unwrap_or_else(|| self.home.join("migration.toml"))
    }

    /// When the command started and how far past then a time in its input may lie:
    /// `--max-future` (or `MHD_MAX_FUTURE`), else `plan`'s `max_future`, else a day.
    pub fn time_limits(&self, plan: Option<&mhd_core::plan::Plan>) -> TimeLimits {
        TimeLimits {
            now: self.now,
            max_future: self
                .max_future
                .or(plan.map(|p| p.thresholds.max_future))
                .unwrap_or(mhd_core::limits::DEFAULT_MAX_FUTURE),
        }
    }

    /// [`Ctx::time_limits`] with the plan read only when no flag or variable says it: a plan
    /// that does not parse is an error then.
    pub fn time_limits_from_plan(&self) -> anyhow::Result<TimeLimits> {
        if self.max_future.is_some() {
            return Ok(self.time_limits(None));
        }
        let plan = crate::cmd::plan::load_plan(&self.plan_path())?;
        Ok(self.time_limits(plan.as_ref()))
    }

    /// The folder of the program's own log files.
    pub fn log_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// Creates the home folder if it does not exist.
    pub fn ensure_home(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.home)
            .with_context(|| format!("cannot create the home folder {}", self.home.display()))
    }
}
