//! The logs collector: follows log files as they grow, counts the errors they report and keeps
//! the recent ones for the dashboard.
//!
//! Following is rotation-safe, as `tail -F` is: each file is followed by its open handle and
//! its identity (device and inode) and the offset read so far.
//! - When the path names a new file (rotation by rename or by delete and create), the rest of
//!   the old file is read first, then the new one from its beginning.
//! - When the file got shorter than the offset (truncation, `copytruncate`), it is read again
//!   from its beginning.
//! - An incomplete last line is kept until its end arrives (or the file is rotated away).
//! - On the collector's first run, files that exist are read from their end: errors written
//!   before the server started are not counted again after every restart (no backfill). A file
//!   that appears later is read from its beginning.
//! - A path that never existed is an error of the run; one that disappears after it was seen is
//!   waited for (a rotation in progress).
//!
//! Lines are read by [`mhd_ingest::logline`]: loguru's format (and the program's own), JSON
//! lines, and plain text. `format` chooses: `auto` (default) reads each line as whichever it
//! is; `loguru` and `json` take levels only from lines of that format; `plain` reads no
//! structure. A plain line's level is its first upper-case level word among its first eight
//! words (`ERROR`, `CRITICAL`, `FATAL`, …, as `2025-01-06 12:00:00 ERROR [db] timeout` or
//! `[ERROR] timeout` write it); a line without one has no level.
//!
//! An error is a line at level `ERROR` or `CRITICAL` (`FATAL`). Each one is stored (level,
//! time — its own, or the time it was read when it has none —, message, file) for the recent
//! errors list, the newest [`mhd_store::collect::LOG_ERRORS_KEPT`] per collector. Each run
//! writes one sample, `log_errors_per_minute`: the errors read during the last 60 seconds,
//! with the collector's `component` and the label `collector`.

use mhd_store::prelude::*;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use mhd_core::plan::LogsCollector;
use mhd_core::sample::Sample;
use mhd_ingest::logline::{self, Level, LineFormat};
use mhd_store::collect::LogErrorRecord;
use time::{OffsetDateTime, UtcOffset};

use super::CollectError;
use super::Context;

/// The metric the logs collector writes.
pub const METRIC: &str = "log_errors_per_minute";
/// The most read from one file in one run, in bytes; the rest is read by the next runs.
pub const MAX_READ_BYTES: u64 = 16 * 1024 * 1024;
/// The longest line kept whole, in bytes; a longer one is cut there.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;
/// The most of a message stored, in characters.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Why a log file could not be followed.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// `format` is none of the known ones.
    #[error("format {0:?} is not one of auto, loguru, json, plain")]
    Format(String),
    /// Files could not be read.
    #[error("{}", .0.join("; "))]
    Unreadable(Vec<String>),
}

/// How lines are read (`format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Each line as whichever format it is.
    Auto,
    /// loguru's `time | LEVEL | source - message`.
    Loguru,
    /// JSON objects, one a line.
    Json,
    /// Plain text.
    Plain,
}

impl Format {
    /// Reads `auto`, `loguru`, `json` or `plain`.
    pub fn parse(s: &str) -> Result<Format, LogsError> {
        match s {
            "" | "auto" => Ok(Format::Auto),
            "loguru" => Ok(Format::Loguru),
            "json" => Ok(Format::Json),
            "plain" => Ok(Format::Plain),
            other => Err(LogsError::Format(other.to_owned())),
        }
    }
}

/// What one line says, when it has a level.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Its level.
    pub level: Level,
    /// Its own time, when it has one.
    pub time: Option<OffsetDateTime>,
    /// Its message.
    pub message: String,
}

/// Reads one line in `format`; `None` when it has no level. Times without an offset are at
/// `naive_offset` (loguru writes local time).
pub fn classify(line: &str, format: Format, naive_offset: UtcOffset) -> Option<Entry> {
    let parsed = match format {
        Format::Plain => None,
        _ => Some(logline::parse_line(line, naive_offset)),
    };
    let structured = parsed.filter(|p| match format {
        Format::Auto => p.format != LineFormat::Plain,
        Format::Loguru => p.format == LineFormat::Text,
        Format::Json => p.format == LineFormat::Json,
        Format::Plain => false,
    });
    match structured {
        Some(p) => Some(Entry {
            level: p.level?,
            time: p.time,
            message: p.message,
        }),
        None if matches!(format, Format::Auto | Format::Plain) => Some(Entry {
            level: plain_level(line)?,
            time: None,
            message: line.trim_end_matches('\r').to_owned(),
        }),
        None => None,
    }
}

/// The first upper-case level word among a plain line's first eight words.
pub fn plain_level(line: &str) -> Option<Level> {
    line.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .find_map(|w| {
            let upper = w.bytes().all(|b| b.is_ascii_uppercase());
            if upper { Level::parse(w) } else { None }
        })
}

/// One followed path.
#[derive(Debug)]
struct Followed {
    path: PathBuf,
    file: Option<File>,
    /// (device, inode) of the open file.
    id: (u64, u64),
    offset: u64,
    partial: Vec<u8>,
    /// Whether the path has ever been seen.
    seen: bool,
    /// Drop everything up to the first line end (a file first read from its middle).
    skip_first: bool,
}

/// Follows a set of files across rotation and truncation, handing out complete lines.
#[derive(Debug)]
pub struct Follower {
    files: Vec<Followed>,
    started: bool,
}

impl Follower {
    /// A follower of `paths`; its first [`Follower::read`] starts at the end of the files that
    /// exist then.
    pub fn new(paths: Vec<PathBuf>) -> Follower {
        Follower {
            files: paths
                .into_iter()
                .map(|path| Followed {
                    path,
                    file: None,
                    id: (0, 0),
                    offset: 0,
                    partial: Vec::new(),
                    seen: false,
                    skip_first: false,
                })
                .collect(),
            started: false,
        }
    }

    /// The complete lines written since the last call, with their file, oldest first per file.
    /// The errors name each file that could not be read; the others are read all the same.
    pub fn read(&mut self) -> (Vec<(PathBuf, String)>, Vec<String>) {
        let from_end = !self.started;
        self.started = true;
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        for f in &mut self.files {
            if let Err(e) = f.read(from_end, &mut lines) {
                errors.push(format!("{}: {e}", f.path.display()));
            }
        }
        (lines, errors)
    }
}

impl Followed {
    fn read(&mut self, from_end: bool, out: &mut Vec<(PathBuf, String)>) -> std::io::Result<()> {
        // What is left of the file already open.
        let mut done = true;
        if let Some(file) = &mut self.file {
            let len = file.metadata()?.len();
            if len < self.offset {
                self.offset = 0;
                self.partial.clear();
                self.skip_first = false;
            }
            done = read_span(
                file,
                &mut self.offset,
                len,
                &mut self.partial,
                &mut self.skip_first,
                &self.path,
                out,
            )?;
        }
        let current = match std::fs::metadata(&self.path) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !self.seen {
                    return Err(e);
                }
                None
            }
            Err(e) => return Err(e),
        };
        let Some(meta) = current else {
            return Ok(());
        };
        let id = (meta.dev(), meta.ino());
        if self.file.is_some() && id == self.id {
            return Ok(());
        }
        if !done {
            // The old file first; the new one next run.
            return Ok(());
        }
        // A new file under the path: the old one's last line is complete now.
        if !self.partial.is_empty() && !self.skip_first {
            push_line(&self.path, &self.partial, out);
        }
        self.partial.clear();
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        let first_sight = !self.seen;
        self.seen = true;
        self.id = id;
        self.offset = 0;
        self.skip_first = false;
        if first_sight && from_end {
            self.offset = len;
            if len > 0 {
                let mut last = [0u8; 1];
                file.seek(SeekFrom::Start(len - 1))?;
                file.read_exact(&mut last)?;
                self.skip_first = last[0] != b'\n';
            }
        }
        read_span(
            &mut file,
            &mut self.offset,
            len,
            &mut self.partial,
            &mut self.skip_first,
            &self.path,
            out,
        )?;
        self.file = Some(file);
        Ok(())
    }
}

/// Reads `file` from `offset` up to `len` (at most [`MAX_READ_BYTES`]), handing out complete
/// lines. Returns whether it reached `len`.
fn read_span(
    file: &mut File,
    offset: &mut u64,
    len: u64,
    partial: &mut Vec<u8>,
    skip_first: &mut bool,
    path: &Path,
    out: &mut Vec<(PathBuf, String)>,
) -> std::io::Result<bool> {
    if len <= *offset {
        return Ok(true);
    }
    let want = (len - *offset).min(MAX_READ_BYTES);
    file.seek(SeekFrom::Start(*offset))?;
    let mut buf = Vec::with_capacity(want as usize);
    file.by_ref().take(want).read_to_end(&mut buf)?;
    *offset += buf.len() as u64;
    let mut rest: &[u8] = &buf;
    while let Some(end) = rest.iter().position(|b| *b == b'\n') {
        let (line, tail) = rest.split_at(end);
        rest = &tail[1..];
        if *skip_first {
            *skip_first = false;
            partial.clear();
            continue;
        }
        if partial.is_empty() {
            push_line(path, line, out);
        } else {
            partial.extend_from_slice(line);
            push_line(path, partial, out);
            partial.clear();
        }
    }
    partial.extend_from_slice(rest);
    if partial.len() > MAX_LINE_BYTES {
        if !*skip_first {
            push_line(path, &partial[..MAX_LINE_BYTES], out);
        }
        // The rest of that line is dropped up to its end.
        partial.clear();
        *skip_first = true;
    }
    Ok(*offset >= len)
}

fn push_line(path: &Path, bytes: &[u8], out: &mut Vec<(PathBuf, String)>) {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    out.push((
        path.to_path_buf(),
        String::from_utf8_lossy(bytes).into_owned(),
    ));
}

/// A logs collector.
pub struct LogsRunner {
    config: LogsCollector,
    follower: Arc<Mutex<Follower>>,
    /// Errors read per run, by the time of the run, within the last minute.
    recent: VecDeque<(OffsetDateTime, u64)>,
}

impl LogsRunner {
    /// A collector for `config`, relative paths taken from `base`.
    pub fn new(config: LogsCollector, base: &Path) -> LogsRunner {
        let paths = config
            .paths
            .iter()
            .map(|p| super::resolve(base, p))
            .collect();
        LogsRunner {
            config,
            follower: Arc::new(Mutex::new(Follower::new(paths))),
            recent: VecDeque::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &LogsCollector {
        &self.config
    }

    /// Reads what the files gained, stores their errors, and gives the errors-per-minute
    /// sample. Files that cannot be read fail the run after the others are read.
    pub async fn run(&mut self, cx: &Context) -> Result<Vec<Sample>, CollectError> {
        let format = Format::parse(&self.config.format)?;
        let follower = Arc::clone(&self.follower);
        let (lines, unreadable) = tokio::task::spawn_blocking(move || {
            follower
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .read()
        })
        .await
        .map_err(|e| CollectError::Task(e.to_string()))?;
        let now = cx.now();
        let errors: Vec<LogErrorRecord> = lines
            .iter()
            .filter_map(|(path, line)| {
                let entry = classify(line, format, cx.local_offset())?;
                (entry.level >= Level::Error).then(|| LogErrorRecord {
                    collector: self.config.name.clone(),
                    time: entry.time.unwrap_or(now),
                    level: entry.level.as_str().to_owned(),
                    message: cut(&entry.message, MAX_MESSAGE_CHARS),
                    file: path.display().to_string(),
                })
            })
            .collect();
        cx.store().insert_log_errors(&errors).await?;
        self.recent.push_back((now, errors.len() as u64));
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| *t <= now - time::Duration::minutes(1))
        {
            self.recent.pop_front();
        }
        let mut sample = Sample::new(
            now,
            METRIC,
            self.recent.iter().map(|(_, n)| *n).sum::<u64>() as f64,
        );
        sample.unit = Some("1/min".into());
        sample.component = self.config.component.clone();
        sample
            .labels
            .insert("collector".into(), self.config.name.clone());
        if !unreadable.is_empty() {
            // The errors read are stored; the sample is not, as it would undercount.
            return Err(LogsError::Unreadable(unreadable).into());
        }
        Ok(vec![sample])
    }
}

/// At most `max` characters of `s`, ending in `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_come_from_each_format() {
        let utc = UtcOffset::UTC;
        let loguru = "2025-01-06 14:03:12.123 | ERROR | mdm.storage:write:88 - disk full";
        let json = r#"{"level":"CRITICAL","message":"gone","time":"2025-01-06T14:03:12Z"}"#;
        let plain = "2025-01-06 14:03:12,001 ERROR [db] statement timeout";
        let e = classify(loguru, Format::Auto, utc).expect("entry");
        assert_eq!(e.level, Level::Error);
        assert_eq!(e.message, "disk full");
        assert!(e.time.is_some());
        assert_eq!(
            classify(json, Format::Auto, utc).map(|e| e.level),
            Some(Level::Critical)
        );
        assert_eq!(
            classify(plain, Format::Auto, utc).map(|e| e.level),
            Some(Level::Error)
        );
        // A format chosen takes levels only from its own lines.
        assert_eq!(classify(json, Format::Loguru, utc), None);
        assert_eq!(classify(loguru, Format::Json, utc), None);
        assert_eq!(
            classify(json, Format::Json, utc).map(|e| e.level),
            Some(Level::Critical)
        );
        assert_eq!(
            classify("[FATAL] out of memory", Format::Plain, utc).map(|e| e.level),
            Some(Level::Critical)
        );
        // Prose is not a level; nor is a level word after eight words.
        assert_eq!(plain_level("an error happened"), None);
        assert_eq!(plain_level("a b c d e f g h ERROR"), None);
        assert!(Format::parse("xml").is_err());
    }

    #[test]
    fn following_survives_partial_lines_rotation_and_truncation() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("app.log");
        std::fs::write(&path, "old 1\nold 2\nhalf").expect("write");
        let mut f = Follower::new(vec![path.clone()]);
        let texts = |f: &mut Follower| -> Vec<String> {
            let (lines, errors) = f.read();
            assert!(errors.is_empty(), "{errors:?}");
            lines.into_iter().map(|(_, l)| l).collect()
        };
        // First read: from the end, the cut line is not counted.
        assert!(texts(&mut f).is_empty());
        append(&path, " of a line\nnew 1\npart");
        assert_eq!(texts(&mut f), vec!["new 1"]);
        append(&path, "ial\r\n");
        assert_eq!(texts(&mut f), vec!["partial"]);
        // Rotation: the rest of the old file, then the new one from its start.
        append(&path, "last of old\nunfinished");
        std::fs::rename(&path, dir.path().join("app.log.1")).expect("rename");
        assert!(
            texts(&mut f).contains(&"last of old".to_owned()),
            "read before the new file"
        );
        std::fs::write(&path, "first of new\n").expect("write");
        assert_eq!(texts(&mut f), vec!["unfinished", "first of new"]);
        // Truncation: from the beginning again.
        std::fs::write(&path, "").expect("truncate");
        append(&path, "after\n");
        assert_eq!(texts(&mut f), vec!["after"]);
        assert!(texts(&mut f).is_empty());
    }

    #[test]
    fn a_path_that_never_existed_is_an_error_and_a_late_file_is_read_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("late.log");
        let mut f = Follower::new(vec![path.clone()]);
        let (_, errors) = f.read();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("late.log"), "{errors:?}");
        std::fs::write(&path, "one\ntwo\n").expect("write");
        let (lines, errors) = f.read();
        assert!(errors.is_empty());
        assert_eq!(lines.len(), 2);
    }

    fn append(path: &Path, text: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .expect("open");
        f.write_all(text.as_bytes()).expect("append");
    }

    #[test]
    fn long_messages_are_cut() {
        assert_eq!(cut("abcdef", 3), "abc…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
