//! The program's own log: `<home>/logs/mhd.log`, written through `tracing`, rotated by size.
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

/// Installs the subscriber writing INFO and more severe events (or what `MHD_LOG` asks for) to
/// `<home>/logs/mhd.log`. Costs microseconds: nothing is opened or created before the first line
/// is written. An unreadable `MHD_LOG` falls back to INFO, silently, as nothing may reach the
/// terminal; a second call does nothing.
pub fn init(ctx: &Ctx, command_name: &str) {
    let filter = std::env::var(FILTER_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let subscriber = subscriber(
        RotatingFile::new(ctx.log_dir(), MAX_FILE_BYTES),
        command_name,
        filter,
    );
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The subscriber [`init`] installs, apart so tests can install it for a while only.
fn subscriber(
    file: RotatingFile,
    command_name: &str,
    filter: EnvFilter,
) -> impl Subscriber + Send + Sync + 'static {
    tracing_subscriber::fmt()
        // Nothing on the terminal, even when a line cannot be formatted or written.
        .log_internal_errors(false)
        .with_writer(file)
        .event_format(OwnFormat {
            command: command_name.to_owned(),
            pid: std::process::id(),
        })
        .with_env_filter(filter)
        .finish()
}

/// Formats events as `time | LEVEL | command[pid] target:line - span{fields}: message k=v`.
struct OwnFormat {
    command: String,
    pid: u32,
}

impl<S, N> FormatEvent<S, N> for OwnFormat
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
            RotatingFile::new(dir.clone(), MAX_FILE_BYTES),
            "record",
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
