//! The program's own log: `<home>/logs/mhd.log`, written through `tracing`, rotated by size —
//! or standard error (`--log-to stderr`, the default of `serve` and `demo` in a container), in
//! the text below or as JSON (`--log-format json`: one object per line with `time`, `level`,
//! `target`, `message`, the event's `fields` and its `spans`, for a log collector).
//!
//! Lines have the shape of MDM's loguru lines, so `mhd stats logs` reads both with one parser
//! (`mhd_ingest::logline`):
//!
//! ```text
//! 2025-01-06T14:03:12.123Z | INFO | record[4242] mhd_store::sqlite:42 - message
//! ```
//!
//! Nothing goes to the terminal: errors reach users through the commands' own messages. Logging
//! never fails a command: a line that cannot be written is dropped.
//!
//! `tracing-appender` is not used: it rotates by time rather than size, creates its folder and
//! file when it is built (start-up cost, and a home folder made by a command that logs nothing),
//! and does not follow a file rotated by another process.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use mhd_ingest::logline::{self, Level};
use time::OffsetDateTime;
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::ctx::Ctx;

/// The name of the file being written; rotated files are `mhd.<UTC time>.log` beside it.
pub const LOG_FILE: &str = "mhd.log";

/// A file is rotated before it would pass this size.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Rotated files whose last change is older than this are deleted.
pub const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The environment variable holding a filter such as `debug` or `info,mhd_store=debug`.
pub const FILTER_ENV: &str = "MHD_LOG";

/// The log options of the command line (or their variables).
#[derive(Debug, Default, Clone)]
pub struct LogArgs {
    /// `--log-format`.
    pub format: Option<LogFormat>,
    /// `--log-level`.
    pub filter: Option<String>,
    /// `--log-to`.
    pub to: Option<LogTo>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `time | LEVEL | command[pid] target:line - message k=v`, as MDM's lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogTo {
    /// The home's rotated `logs/mhd.log`.
    File,
    /// Standard error.
    Stderr,
}

/// The filter when none is given: INFO and more severe; written to the file, the request lines
/// only of failed requests (a single user's log stays small), on standard error every one (an
/// operator's collector wants them).
fn default_filter(to: LogTo) -> &'static str {
    match to {
        LogTo::File => "info,mhd::request=warn",
        LogTo::Stderr => "info",
    }
}

/// Whether this process runs in a container (Docker, Podman, or a Kubernetes pod).
fn in_container() -> bool {
    Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

/// Installs the subscriber writing INFO and more severe events (or what `--log-level`/`MHD_LOG`
/// asks for) where `--log-to` says, in the format `--log-format` says. Costs microseconds:
/// nothing is opened or created before the first line is written. A filter that cannot be read
/// is a usage error naming it; a second call does nothing.
pub fn init(ctx: &Ctx, command_name: &str, serving: bool) -> anyhow::Result<()> {
    let to = ctx.log.to.unwrap_or(if serving && in_container() {
        LogTo::Stderr
    } else {
        LogTo::File
    });
    let filter = match ctx.log.filter.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(f) => EnvFilter::try_new(f).map_err(|e| {
            crate::ctx::usage(format!(
                "--log-level (or {FILTER_ENV}) {f:?}: not a level or filter such as info or \
                 info,mhd_store=debug ({e})"
            ))
        })?,
        None => EnvFilter::new(default_filter(to)),
    };
    let writer = match to {
        LogTo::File => BoxMakeWriter::new(RotatingFile::new(ctx.log_dir(), MAX_FILE_BYTES)),
        LogTo::Stderr => BoxMakeWriter::new(io::stderr),
    };
    let format = EventFormat {
        json: ctx.log.format == Some(LogFormat::Json),
        command: command_name.to_owned(),
        pid: std::process::id(),
    };
    let _ = tracing::subscriber::set_global_default(subscriber(writer, format, filter));
    Ok(())
}

/// The subscriber [`init`] installs, apart so tests can install it for a while only.
fn subscriber(
    writer: BoxMakeWriter,
    format: EventFormat,
    filter: EnvFilter,
) -> impl Subscriber + Send + Sync + 'static {
    tracing_subscriber::fmt()
        // Nothing on the terminal, even when a line cannot be formatted or written.
        .log_internal_errors(false)
        .with_writer(writer)
        .event_format(format)
        .with_env_filter(filter)
        .finish()
}

/// Formats events as `time | LEVEL | command[pid] target:line - span{fields}: message k=v`, or
/// as one JSON object.
struct EventFormat {
    json: bool,
    command: String,
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for EventFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        if self.json {
            return self.format_json(ctx, writer, event);
        }
        let meta = event.metadata();
        let level = match *meta.level() {
            tracing::Level::TRACE => Level::Trace,
            tracing::Level::DEBUG => Level::Debug,
            tracing::Level::INFO => Level::Info,
            tracing::Level::WARN => Level::Warning,
            tracing::Level::ERROR => Level::Error,
        };
        let mut source = format!("{}[{}] {}", self.command, self.pid, meta.target());
        if let Some(line) = meta.line() {
            let _ = write!(source, ":{line}");
        }
        let mut body = String::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                body.push_str(span.name());
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    let _ = write!(body, "{{{fields}}}");
                }
                body.push_str(": ");
            }
        }
        ctx.field_format()
            .format_fields(format::Writer::new(&mut body), event)?;
        writer.write_str(&logline::format_header(
            OffsetDateTime::now_utc(),
            level,
            &source,
        ))?;
        // Continuation lines are indented, so no message can pass for a header of its own.
        writer.write_str(&body.replace('\n', "\n  "))?;
        writer.write_char('\n')
    }
}

impl EventFormat {
    /// `{"time", "level", "target", "line", "command", "pid", "message", "fields", "spans"}`
    /// on one line.
    fn format_json<S, N>(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
    {
        let meta = event.metadata();
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let spans: Vec<serde_json::Value> = ctx
            .event_scope()
            .into_iter()
            .flat_map(|scope| scope.from_root())
            .map(|span| {
                let ext = span.extensions();
                let text = ext
                    .get::<FormattedFields<N>>()
                    .map(|f| f.to_string())
                    .unwrap_or_default();
                serde_json::json!({ "name": span.name(), "fields": text })
            })
            .collect();
        let time = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let line = serde_json::json!({
            "time": time,
            "level": meta.level().as_str(),
            "target": meta.target(),
            "line": meta.line(),
            "command": self.command,
            "pid": self.pid,
            "message": fields.message,
            "fields": fields.fields,
            "spans": spans,
        });
        writer.write_str(&line.to_string())?;
        writer.write_char('\n')
    }
}

/// An event's fields as JSON values, its message apart.
#[derive(Default)]
struct JsonFields {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl tracing::field::Visit for JsonFields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.fields.insert(field.name().to_owned(), text.into());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.message);
        } else {
            self.fields.insert(field.name().to_owned(), value.into());
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.fields.insert(field.name().to_owned(), value.into());
    }
}

/// Whether a rotated file last changed at `mtime` is old enough at `now` to be deleted. A time
/// in the future (a clock set back) is never old.
pub fn is_expired(now: SystemTime, mtime: SystemTime, max_age: Duration) -> bool {
    now.duration_since(mtime).is_ok_and(|age| age > max_age)
}

/// Whether `name` is a rotated own log file: `mhd.<something>.log`.
fn is_rotated_name(name: &str) -> bool {
    name.strip_prefix("mhd.")
        .and_then(|rest| rest.strip_suffix(".log"))
        .is_some_and(|stamp| !stamp.is_empty())
}

/// The own log files in `dir`, newest first: `mhd.log`, then the rotated ones from the newest.
/// A folder that does not exist holds none.
pub fn own_log_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut rotated = Vec::new();
    let mut current = None;
    for entry in entries {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == LOG_FILE {
            current = Some(entry.path());
        } else if is_rotated_name(&name) {
            rotated.push(name);
        }
    }
    // The UTC times in the names have a fixed width, so names sort in time order.
    rotated.sort_unstable_by(|a, b| b.cmp(a));
    Ok(current
        .into_iter()
        .chain(rotated.into_iter().map(|n| dir.join(n)))
        .collect())
}

/// `mhd.20250106T140312.123456789Z.log`: a fixed width, so names sort in time order.
fn rotated_name(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "mhd.{:04}{:02}{:02}T{:02}{:02}{:02}.{:09}Z.log",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// Deletes the rotated files in `dir` older than `max_age`; what cannot be deleted stays.
fn prune(dir: &Path, now: SystemTime, max_age: Duration) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_rotated_name) {
            continue;
        }
        let Ok(mtime) = entry.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if is_expired(now, mtime, max_age) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// An append-only log file that is rotated by size, shared safely by several processes.
///
/// Each record goes out in one `write` on a file opened in append mode, so lines of several
/// processes interleave whole. Before each record the open file is checked to still be the one
/// at the path; when another process has rotated it, the new file is opened. A rename that fails
/// because another process rotated first is fine: every line stays in one of the files.
#[derive(Debug)]
pub struct RotatingFile {
    dir: PathBuf,
    limit: u64,
    max_age: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    file: Option<File>,
    pruned: bool,
}

impl RotatingFile {
    /// A log in `dir` rotated before it would pass `limit` bytes ([`MAX_FILE_BYTES`] but in
    /// tests); nothing is touched before the first write.
    pub fn new(dir: PathBuf, limit: u64) -> RotatingFile {
        RotatingFile {
            dir,
            limit,
            max_age: MAX_AGE,
            state: Mutex::default(),
        }
    }

    /// The file being written.
    pub fn path(&self) -> PathBuf {
        self.dir.join(LOG_FILE)
    }

    /// Appends one record (whole lines), rotating first when it would pass the limit.
    pub fn write_record(&self, record: &[u8]) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let path = self.path();
        if let Some(file) = &state.file
            && !is_file_at(file, &path)
        {
            // Rotated (or deleted) by another process: follow the path.
            state.file = None;
        }
        let mut file = match state.file.take() {
            Some(file) => file,
            None => {
                let file = self.open()?;
                // Once a process: delete what expired while no one rotated.
                if !state.pruned {
                    state.pruned = true;
                    prune(&self.dir, SystemTime::now(), self.max_age);
                }
                file
            }
        };
        let len = file.metadata()?.len();
        if len > 0 && len.saturating_add(record.len() as u64) > self.limit {
            file = self.rotate(&path, file)?;
        }
        let written = file.write_all(record);
        state.file = Some(file);
        written
    }

    /// Opens the path for appending, creating the folder (and the home) if need be.
    fn open(&self) -> io::Result<File> {
        match open_append(&self.path()) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                create_dir(&self.dir)?;
                open_append(&self.path())
            }
            other => other,
        }
    }

    /// Renames the full file out of the way and opens a new one.
    fn rotate(&self, path: &Path, file: File) -> io::Result<File> {
        // Another process may have rotated since the check: then keep writing to the new file.
        if is_file_at(&file, path) {
            let now = OffsetDateTime::now_utc();
            let mut target = self.dir.join(rotated_name(now));
            // Two rotations in the same nanosecond: take the next free name.
            for n in 1..100 {
                if !target.exists() {
                    break;
                }
                target = self
                    .dir
                    .join(rotated_name(now + time::Duration::nanoseconds(n)));
            }
            match fs::rename(path, &target) {
                Ok(()) => prune(&self.dir, SystemTime::now(), self.max_age),
                // Gone: another process rotated it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                // Cannot rename (e.g. the file is open elsewhere on Windows): keep writing here.
                Err(_) => return Ok(file),
            }
        }
        drop(file);
        self.open()
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Whether the open `file` is still the file at `path`.
#[cfg(unix)]
fn is_file_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Whether the open `file` is still the file at `path` (elsewhere, open files cannot be renamed,
/// so a file at the path is the same one).
#[cfg(not(unix))]
fn is_file_at(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// What `tracing` writes through: one record per `write`, errors dropped.
#[derive(Debug)]
pub struct RecordWriter<'a>(&'a RotatingFile);

impl io::Write for RecordWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Logging never fails a command: a line that cannot be written is lost.
        let _ = self.0.write_record(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for RotatingFile {
    type Writer = RecordWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        RecordWriter(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_ingest::logline::{LineFormat, parse_entries};
    use time::UtcOffset;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn age_rule() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_736_172_192);
        let cases = [
            (now, false),
            (now - 6 * DAY, false),
            (now - 7 * DAY, false),
            (now - 7 * DAY - Duration::from_secs(1), true),
            (now - 30 * DAY, true),
            (now + DAY, false),
        ];
        for (mtime, want) in cases {
            assert_eq!(
                is_expired(now, mtime, MAX_AGE),
                want,
                "{:?}",
                now.duration_since(mtime)
            );
        }
    }

    #[test]
    fn rotated_names_sort_in_time_order() {
        let a = rotated_name(time::macros::datetime!(2025-01-06 09:59:59.999 UTC));
        let b = rotated_name(time::macros::datetime!(2025-01-06 12:00:00.5 +02:00));
        assert_eq!(a, "mhd.20250106T095959.999000000Z.log");
        assert_eq!(b, "mhd.20250106T100000.500000000Z.log");
        assert!(a < b);
        assert!(is_rotated_name(&a));
        for name in ["mhd.log", "mhd..log", "other.log", "mhd.x.txt", "mdm.1.log"] {
            assert!(!is_rotated_name(name), "{name}");
        }
    }

    #[test]
    fn nothing_is_created_before_a_line_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("home/logs");
        let file = RotatingFile::new(dir.clone(), MAX_FILE_BYTES);
        assert!(!tmp.path().join("home").exists());
        file.write_record(b"first\n").unwrap();
        assert_eq!(fs::read_to_string(dir.join(LOG_FILE)).unwrap(), "first\n");
    }

    #[test]
    fn rotation_keeps_every_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let file = RotatingFile::new(dir.clone(), 1024);
        let lines: Vec<String> = (0..200)
            .map(|i| format!("line {i:04} {}\n", "x".repeat(40)))
            .collect();
        for line in &lines {
            file.write_record(line.as_bytes()).unwrap();
        }
        let files = own_log_files(&dir).unwrap();
        assert!(files.len() >= 9, "{files:?}");
        assert_eq!(files[0], dir.join(LOG_FILE));
        let mut all = String::new();
        for f in files.iter().rev() {
            let text = fs::read_to_string(f).unwrap();
            assert!(text.len() <= 1024, "{f:?} has {} bytes", text.len());
            all.push_str(&text);
        }
        assert_eq!(all, lines.concat());
    }

    #[test]
    fn a_record_larger_than_the_limit_is_written_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let file = RotatingFile::new(tmp.path().to_owned(), 10);
        file.write_record(b"a long record that passes the limit\n")
            .unwrap();
        file.write_record(b"next\n").unwrap();
        let files = own_log_files(tmp.path()).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(fs::read_to_string(&files[0]).unwrap(), "next\n");
        assert_eq!(
            fs::read_to_string(&files[1]).unwrap(),
            "a long record that passes the limit\n"
        );
    }

    #[test]
    fn two_writers_rotating_lose_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_owned();
        // Two handles on the same folder behave like two processes.
        let threads: Vec<_> = (0..2)
            .map(|w| {
                let file = RotatingFile::new(dir.clone(), 2048);
                std::thread::spawn(move || {
                    for i in 0..300 {
                        file.write_record(format!("writer {w} line {i:04} ......\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut seen: Vec<String> = Vec::new();
        for f in own_log_files(&dir).unwrap() {
            seen.extend(fs::read_to_string(f).unwrap().lines().map(str::to_owned));
        }
        seen.sort();
        let mut want: Vec<String> = (0..2)
            .flat_map(|w| (0..300).map(move |i| format!("writer {w} line {i:04} ......")))
            .collect();
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_writer_follows_a_rotation_by_another() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RotatingFile::new(tmp.path().to_owned(), MAX_FILE_BYTES);
        a.write_record(b"one\n").unwrap();
        fs::rename(
            a.path(),
            tmp.path().join("mhd.20250101T000000.000000000Z.log"),
        )
        .unwrap();
        a.write_record(b"two\n").unwrap();
        assert_eq!(fs::read_to_string(a.path()).unwrap(), "two\n");
    }

    #[test]
    fn expired_rotated_files_are_deleted_on_first_write() {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("mhd.20240101T000000.000000000Z.log");
        let fresh = tmp.path().join("mhd.20250101T000000.000000000Z.log");
        let other = tmp.path().join("notes.log");
        for p in [&old, &fresh, &other] {
            fs::write(p, "x\n").unwrap();
        }
        let long_ago = SystemTime::now() - 8 * DAY;
        File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        File::options()
            .write(true)
            .open(&other)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        RotatingFile::new(tmp.path().to_owned(), MAX_FILE_BYTES)
            .write_record(b"hi\n")
            .unwrap();
        assert!(!old.exists());
        assert!(fresh.exists());
        assert!(other.exists());
    }

    #[test]
    fn events_are_written_in_the_own_format() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let sub = subscriber(
            BoxMakeWriter::new(RotatingFile::new(dir.clone(), MAX_FILE_BYTES)),
            EventFormat {
                json: false,
                command: "record".to_owned(),
                pid: std::process::id(),
            },
            EnvFilter::new("info"),
        );
        tracing::subscriber::with_default(sub, || {
            tracing::debug!("hidden");
            let span = tracing::info_span!("import", file = "mdm.db");
            let _guard = span.enter();
            tracing::warn!(
                rows = 3,
                "skipped | rows\n2025-01-06T00:00:00Z | CRITICAL | fake - line"
            );
            tracing::info!("ünïcödé");
        });
        let text = fs::read_to_string(dir.join(LOG_FILE)).unwrap();
        let entries = parse_entries(&text, UtcOffset::UTC);
        assert_eq!(entries.len(), 2, "{text}");
        let e = &entries[0];
        assert_eq!(e.format, LineFormat::Text);
        assert_eq!(e.level, Some(Level::Warning));
        assert!(
            e.source
                .starts_with(&format!("record[{}] mhd", std::process::id())),
            "{}",
            e.source
        );
        assert!(e.source.contains("logging:"), "{}", e.source);
        assert_eq!(
            e.message,
            "import{file=\"mdm.db\"}: skipped | rows\n  2025-01-06T00:00:00Z | CRITICAL | fake - line rows=3"
        );
        let t = e.time.unwrap();
        assert!((OffsetDateTime::now_utc() - t).abs() < time::Duration::minutes(1));
        assert_eq!(entries[1].level, Some(Level::Info));
        assert_eq!(entries[1].message, "import{file=\"mdm.db\"}: ünïcödé");
    }

    #[test]
    fn events_are_written_as_json_one_object_per_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let sub = subscriber(
            BoxMakeWriter::new(RotatingFile::new(dir.clone(), MAX_FILE_BYTES)),
            EventFormat {
                json: true,
                command: "serve".to_owned(),
                pid: 7,
            },
            EnvFilter::new("info"),
        );
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("import", file = "mdm.db");
            let _guard = span.enter();
            tracing::warn!(rows = 3, ok = true, who = "a\"b", "two\nlines");
        });
        let text = fs::read_to_string(dir.join(LOG_FILE)).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["level"], "WARN");
        assert_eq!(v["message"], "two\nlines");
        assert_eq!(v["command"], "serve");
        assert_eq!(v["pid"], 7);
        assert_eq!(v["fields"]["rows"], 3);
        assert_eq!(v["fields"]["ok"], true);
        assert_eq!(v["fields"]["who"], "a\"b");
        assert!(v["target"].as_str().unwrap().contains("logging"), "{v}");
        assert_eq!(v["spans"][0]["name"], "import");
        let t = v["time"].as_str().unwrap();
        assert!(
            OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).is_ok(),
            "{t}"
        );
    }

    #[test]
    fn a_folder_that_cannot_be_made_drops_lines_quietly() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("home");
        fs::write(&blocker, "a file where the home should be").unwrap();
        let file = RotatingFile::new(blocker.join("logs"), MAX_FILE_BYTES);
        assert!(file.write_record(b"x\n").is_err());
        let mut writer = file.make_writer();
        assert_eq!(writer.write(b"x\n").unwrap(), 2);
    }
}
