//! `mhd stats logs`: the last entries of the program's own log, or of another log such as MDM's.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use mhd_core::format::{rfc3339, terminal_safe};
use mhd_ingest::logline::{Level, LogLine, ReverseGrouper};
use serde::Serialize;
use time::UtcOffset;

use crate::ctx::{Ctx, usage};
use crate::logging;

/// Options of `mhd stats logs` (MDM's `logs`, plus `--file` and `--json`).
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// How many entries to show (after filtering), the newest last.
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub tail: usize,
    /// Show only entries of this level and more severe ones: TRACE, DEBUG, INFO, SUCCESS,
    /// WARNING (or WARN), ERROR, CRITICAL, in any case.
    #[arg(long, short = 'l', value_name = "LEVEL", value_parser = parse_level)]
    pub level: Option<Level>,
    /// Show only entries containing this text, ignoring case.
    #[arg(long, short = 'g', value_name = "TEXT")]
    pub grep: Option<String>,
    /// Read this log file (such as MDM's ~/.mdm/logs/mdm.log) instead of mhd's own log.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print a JSON array of {time, level, source, message}.
    #[arg(long)]
    pub json: bool,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

/// Which entries to show.
#[derive(Debug)]
struct Filter {
    min_level: Option<Level>,
    /// The `--grep` text, lower-cased.
    needle: Option<String>,
}

impl Filter {
    fn matches(&self, entry: &LogLine) -> bool {
        // An entry of unknown level passes no `--level`.
        if let Some(min) = self.min_level
            && entry.level.is_none_or(|l| l < min)
        {
            return false;
        }
        match &self.needle {
            Some(needle) => entry.raw.to_lowercase().contains(needle.as_str()),
            None => true,
        }
    }
}

/// Shows the last `--tail` entries that pass `--level` and `--grep`: filtering comes first, so
/// rare entries are found however far back they are. Reads from the end of the files, so a
/// short tail of a large log costs little.
pub fn logs(args: LogsArgs, ctx: &Ctx) -> anyhow::Result<ExitCode> {
    let files = match &args.file {
        Some(path) => {
            match std::fs::metadata(path) {
                Ok(m) if m.is_dir() => {
                    return Err(usage(format!(
                        "--file {}: is a folder, not a log file",
                        path.display()
                    )));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(usage(format!("--file {}: no such file", path.display())));
                }
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
            }
            vec![path.clone()]
        }
        None => {
            let dir = ctx.log_dir();
            let files = logging::own_log_files(&dir)
                .with_context(|| format!("cannot list the log folder {}", dir.display()))?;
            if files.is_empty() {
                let msg = format!(
                    "No log file found at {}",
                    dir.join(logging::LOG_FILE).display()
                );
                if args.json {
                    eprintln!("{msg}");
                    println!("[]");
                } else {
                    println!("{msg}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            files
        }
    };
    let filter = Filter {
        min_level: args.level,
        needle: args.grep.map(|g| g.to_lowercase()),
    };
    let entries = tail_entries(&files, &filter, args.tail, ctx.local_offset)?;
    let printed = if args.json {
        print_json(&entries)
    } else {
        print_text(&entries, ctx.color)
    };
    match printed {
        // A reader that went away (`| head`) is no failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => {
            other.context("cannot write to standard output")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The last `n` entries passing `filter`, oldest first, from `files` given newest first. Each
/// file is grouped on its own: an entry never spans a rotation.
fn tail_entries(
    files: &[PathBuf],
    filter: &Filter,
    n: usize,
    naive_offset: UtcOffset,
) -> anyhow::Result<Vec<LogLine>> {
    let mut found = Vec::new();
    if n == 0 {
        return Ok(found);
    }
    'files: for path in files {
        let mut lines = match RevLines::open(path) {
            Ok(lines) => lines,
            // A rotated file deleted since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let mut grouper = ReverseGrouper::new(naive_offset);
        while let Some(line) = lines
            .next_line()
            .with_context(|| format!("cannot read {}", path.display()))?
        {
            if let Some(entry) = grouper.push(&line)
                && filter.matches(&entry)
            {
                found.push(entry);
                if found.len() == n {
                    break 'files;
                }
            }
        }
        for entry in grouper.finish() {
            if filter.matches(&entry) {
                found.push(entry);
                if found.len() == n {
                    break 'files;
                }
            }
        }
    }
    found.reverse();
    Ok(found)
}

/// Reads a file's lines from the last to the first, a chunk at a time.
struct RevLines {
    file: File,
    /// Where in the file `buf` starts.
    pos: u64,
    /// Bytes read but not yet returned.
    buf: Vec<u8>,
    done: bool,
}

impl RevLines {
    const CHUNK: u64 = 64 * 1024;

    fn open(path: &Path) -> io::Result<RevLines> {
        let file = File::open(path)?;
        // Lines appended while reading are not read: the tail is the one at the start.
        let len = file.metadata()?.len();
        let mut lines = RevLines {
            file,
            pos: len,
            buf: Vec::new(),
            done: false,
        };
        if len > 0 {
            lines.read_chunk()?;
            // The newline ending the last line does not start an empty line.
            if lines.buf.last() == Some(&b'\n') {
                lines.buf.pop();
            }
        } else {
            lines.done = true;
        }
        Ok(lines)
    }

    fn read_chunk(&mut self) -> io::Result<()> {
        let start = self.pos.saturating_sub(Self::CHUNK);
        let mut chunk = Vec::with_capacity((self.pos - start) as usize + self.buf.len());
        self.file.seek(SeekFrom::Start(start))?;
        (&mut self.file)
            .take(self.pos - start)
            .read_to_end(&mut chunk)?;
        if chunk.len() as u64 != self.pos - start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while read",
            ));
        }
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        self.pos = start;
        Ok(())
    }

    /// The line before the last one returned (without its newline), or `None` at the start.
    fn next_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if self.done {
                return Ok(None);
            }
            // A newline never occurs inside a UTF-8 sequence, so splitting bytes is safe.
            if let Some(i) = self.buf.iter().rposition(|&b| b == b'\n') {
                let line = self.buf.split_off(i + 1);
                self.buf.truncate(i);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if self.pos == 0 {
                self.done = true;
                let line = std::mem::take(&mut self.buf);
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            self.read_chunk()?;
        }
    }
}

/// ANSI colours as MDM shows levels.
fn level_style(level: Option<Level>) -> Option<&'static str> {
    Some(match level? {
        Level::Trace | Level::Debug => "\x1b[2m",
        Level::Info | Level::Success => "\x1b[32m",
        Level::Warning => "\x1b[33m",
        Level::Error => "\x1b[31m",
        Level::Critical => "\x1b[1;31m",
    })
}

fn print_text(entries: &[LogLine], color: bool) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    for entry in entries {
        let style = if color {
            level_style(entry.level)
        } else {
            None
        };
        for line in entry.raw.split('\n') {
            let line = terminal_safe(line);
            match style {
                Some(style) => writeln!(out, "{style}{line}\x1b[0m")?,
                None => writeln!(out, "{line}")?,
            }
        }
    }
    out.flush()
}

/// One entry of `--json`.
#[derive(Debug, Serialize)]
struct JsonEntry<'a> {
    time: Option<String>,
    level: Option<&'static str>,
    source: &'a str,
    message: &'a str,
}

fn print_json(entries: &[LogLine]) -> io::Result<()> {
    let items: Vec<JsonEntry<'_>> = entries
        .iter()
        .map(|e| JsonEntry {
            time: e.time.map(rfc3339),
            level: e.level.map(Level::as_str),
            source: &e.source,
            message: &e.message,
        })
        .collect();
    let mut out = BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, &items)?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_back(text: &[u8]) -> Vec<String> {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), text).unwrap();
        let mut lines = RevLines::open(tmp.path()).unwrap();
        let mut out = Vec::new();
        while let Some(l) = lines.next_line().unwrap() {
            out.push(l);
        }
        out.reverse();
        out
    }

    #[test]
    fn reverse_lines_match_forward_lines() {
        assert_eq!(read_back(b""), Vec::<String>::new());
        assert_eq!(read_back(b"\n"), [""]);
        assert_eq!(read_back(b"a"), ["a"]);
        assert_eq!(read_back(b"a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(read_back(b"a\nb"), ["a", "b"]);
        // Longer than a chunk, with multi-byte characters across chunk edges.
        let text: String = (0..20_000)
            .map(|i| format!("ligne {i} — ünïcödé ✓\n"))
            .collect();
        let want: Vec<String> = text.lines().map(str::to_owned).collect();
        assert!(text.len() as u64 > 3 * RevLines::CHUNK);
        assert_eq!(read_back(text.as_bytes()), want);
    }

    #[test]
    fn filter_then_tail_across_files() {
        let tmp = tempfile::tempdir().unwrap();
        let older = tmp.path().join("mhd.20250101T000000.000000000Z.log");
        let newer = tmp.path().join("mhd.log");
        let mut text = String::new();
        for i in 0..5000 {
            let level = if i % 1000 == 0 { "ERROR" } else { "INFO" };
            text.push_str(&format!(
                "2025-01-01T00:00:00.000Z | {level} | t:1 - old {i}\n"
            ));
        }
        std::fs::write(&older, text).unwrap();
        std::fs::write(
            &newer,
            "2025-01-02T00:00:00.000Z | WARNING | t:1 - new 0\n  detail\n",
        )
        .unwrap();
        let files = [newer, older];
        let filter = Filter {
            min_level: Some(Level::Warning),
            needle: None,
        };
        let got = tail_entries(&files, &filter, 3, UtcOffset::UTC).unwrap();
        let messages: Vec<&str> = got.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["old 3000", "old 4000", "new 0\n  detail"]);

        let filter = Filter {
            min_level: None,
            needle: Some("old 12".into()),
        };
        let got = tail_entries(&files, &filter, 1000, UtcOffset::UTC).unwrap();
        assert_eq!(got.len(), 111); // 12, 120..129, 1200..1299
        assert_eq!(got[0].message, "old 12");
        assert_eq!(got[110].message, "old 1299");
    }
}
