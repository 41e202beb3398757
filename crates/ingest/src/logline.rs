//! Log lines: the program's own log, MDM's loguru log, JSON lines, and anything else.
//!
//! The own format is deliberately the same shape as the loguru format MDM writes, so one parser
//! reads both:
//!
//! ```text
//! 2025-01-06T14:03:12.123Z | INFO | record[4242] mhd_store::sqlite:42 - message   (mhd)
//! 2025-01-06 14:03:12 | ERROR | mdm.storage.sqlite:write:88 - Error in register: disk full  (MDM)
//! ```
//!
//! A line that is none of the known formats is a plain line. A plain line that follows an entry
//! with a header (a traceback, a multi-line message) continues that entry; one that comes before
//! any header stands alone, with no time and no level.

use std::collections::VecDeque;
use std::fmt;

use serde_json::{Map, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// How many plain lines at most continue one entry; further ones stand alone. This bounds the
/// memory needed to group a file that is mostly plain text.
pub const MAX_CONTINUATION_LINES: usize = 1000;

/// A log level, ordered from least to most severe (loguru's levels, which include `SUCCESS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Finest detail.
    Trace,
    /// Detail for debugging.
    Debug,
    /// Normal events.
    Info,
    /// Something completed well (loguru).
    Success,
    /// Something unexpected that did not stop the work.
    Warning,
    /// Something failed.
    Error,
    /// Something failed badly enough to stop the program.
    Critical,
}

impl Level {
    /// Every level, least severe first.
    pub const ALL: [Level; 7] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Success,
        Level::Warning,
        Level::Error,
        Level::Critical,
    ];

    /// The level's name as it is written in logs: `INFO`, `WARNING`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Success => "SUCCESS",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// Reads a level name in any case; `WARN` is `WARNING` and `FATAL` is `CRITICAL`.
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim();
        let is = |name: &str| s.eq_ignore_ascii_case(name);
        Some(if is("TRACE") {
            Level::Trace
        } else if is("DEBUG") {
            Level::Debug
        } else if is("INFO") {
            Level::Info
        } else if is("SUCCESS") {
            Level::Success
        } else if is("WARNING") || is("WARN") {
            Level::Warning
        } else if is("ERROR") {
            Level::Error
        } else if is("CRITICAL") || is("FATAL") {
            Level::Critical
        } else {
            return None;
        })
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Level::ALL.iter().map(|l| l.as_str()).collect();
            format!(
                "{s:?} is not a log level: use one of {} (or WARN)",
                names.join(", ")
            )
        })
    }
}

/// Which format a line was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// `time | LEVEL | source - message`: the own format and loguru's.
    Text,
    /// A JSON object with `level` / `message` / `time` keys (or loguru's serialized records).
    Json,
    /// Anything else: no time, no level.
    Plain,
}

/// One log entry: a line with a header, plus the plain lines that continue it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// When it was written, in UTC; `None` for plain lines and lines without a time.
    pub time: Option<OffsetDateTime>,
    /// Its level; `None` for plain lines and unknown levels.
    pub level: Option<Level>,
    /// Where it was written: `mhd_store::sqlite:42`, `mdm.storage.sqlite:write:88`, or empty.
    pub source: String,
    /// The message, continuation lines included (joined by `\n`).
    pub message: String,
    /// The text as read, continuation lines included (joined by `\n`).
    pub raw: String,
    /// Which format the first line was read as.
    pub format: LineFormat,
}

impl LogLine {
    /// Whether this entry starts with a header (text or JSON), so plain lines may continue it.
    pub fn has_header(&self) -> bool {
        self.format != LineFormat::Plain
    }

    /// Appends a continuation line to the message and the raw text.
    pub fn push_continuation(&mut self, line: &str) {
        let line = strip_cr(line);
        self.message.push('\n');
        self.message.push_str(line);
        self.raw.push('\n');
        self.raw.push_str(line);
    }

    fn plain(line: &str) -> LogLine {
        LogLine {
            time: None,
            level: None,
            source: String::new(),
            message: line.to_owned(),
            raw: line.to_owned(),
            format: LineFormat::Plain,
        }
    }
}

/// Reads one line. Times without an offset (loguru writes local time) are taken to be at
/// `naive_offset`. Never fails: what is not a known format is a plain line.
pub fn parse_line(line: &str, naive_offset: UtcOffset) -> LogLine {
    let line = strip_cr(line);
    if let Some(entry) = parse_text(line, naive_offset) {
        return entry;
    }
    if let Some(entry) = parse_json(line, naive_offset) {
        return entry;
    }
    LogLine::plain(line)
}

/// Groups a whole text into entries, oldest first.
pub fn parse_entries(text: &str, naive_offset: UtcOffset) -> Vec<LogLine> {
    let mut grouper = Grouper::new(naive_offset);
    let mut out: Vec<LogLine> = text.lines().filter_map(|l| grouper.push(l)).collect();
    out.extend(grouper.finish());
    out
}

/// Groups lines read from the start of a file into entries.
#[derive(Debug)]
pub struct Grouper {
    naive_offset: UtcOffset,
    max_continuation: usize,
    current: Option<LogLine>,
    continued: usize,
}

impl Grouper {
    /// A grouper for one file; see [`parse_line`] for `naive_offset`.
    pub fn new(naive_offset: UtcOffset) -> Grouper {
        Grouper {
            naive_offset,
            max_continuation: MAX_CONTINUATION_LINES,
            current: None,
            continued: 0,
        }
    }

    /// Sets how many plain lines at most continue one entry (default [`MAX_CONTINUATION_LINES`]).
    pub fn with_max_continuation(mut self, n: usize) -> Grouper {
        self.max_continuation = n;
        self
    }

    /// Takes the next line; returns the previous entry once it is complete.
    pub fn push(&mut self, line: &str) -> Option<LogLine> {
        let parsed = parse_line(line, self.naive_offset);
        if !parsed.has_header()
            && let Some(cur) = &mut self.current
            && cur.has_header()
            && self.continued < self.max_continuation
        {
            cur.push_continuation(line);
            self.continued += 1;
            return None;
        }
        self.continued = 0;
        self.current.replace(parsed)
    }

    /// The last entry, at the end of the file.
    pub fn finish(self) -> Option<LogLine> {
        self.current
    }
}

/// Groups lines read from the end of a file backwards into entries, newest first. It gives the
/// same entries as [`Grouper`], so a tail can be read without reading the whole file.
#[derive(Debug)]
pub struct ReverseGrouper {
    naive_offset: UtcOffset,
    max_continuation: usize,
    /// Plain lines not yet placed, newest first.
    pending: VecDeque<String>,
}

impl ReverseGrouper {
    /// A grouper for one file; see [`parse_line`] for `naive_offset`.
    pub fn new(naive_offset: UtcOffset) -> ReverseGrouper {
        ReverseGrouper {
            naive_offset,
            max_continuation: MAX_CONTINUATION_LINES,
            pending: VecDeque::new(),
        }
    }

    /// Sets how many plain lines at most continue one entry (default [`MAX_CONTINUATION_LINES`]).
    pub fn with_max_continuation(mut self, n: usize) -> ReverseGrouper {
        self.max_continuation = n;
        self
    }

    /// Takes the line before the previous one; returns an entry once it is complete.
    pub fn push(&mut self, line: &str) -> Option<LogLine> {
        let mut parsed = parse_line(line, self.naive_offset);
        if parsed.has_header() {
            // The pending lines (at most `max_continuation`) all continue this entry.
            while let Some(cont) = self.pending.pop_back() {
                parsed.push_continuation(&cont);
            }
            return Some(parsed);
        }
        // Kept as read: `push_continuation` strips the line ending once, like the forward reader.
        self.pending.push_back(line.to_owned());
        if self.pending.len() > self.max_continuation {
            // The newest pending line has more plain lines before it than may continue one
            // entry, so it stands alone whatever comes before.
            return self
                .pending
                .pop_front()
                .map(|l| LogLine::plain(strip_cr(&l)));
        }
        None
    }

    /// The entries left at the start of the file (plain lines before any header), newest first.
    pub fn finish(self) -> Vec<LogLine> {
        self.pending
            .into_iter()
            .map(|l| LogLine::plain(strip_cr(&l)))
            .collect()
    }
}

/// The header of a line in the own format: `2025-01-06T14:03:12.123Z | INFO | source - `; the
/// message follows it. The time is written in UTC with milliseconds.
pub fn format_header(time: OffsetDateTime, level: Level, source: &str) -> String {
    let t = time.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z | {} | {} - ",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond(),
        level.as_str(),
        source
    )
}

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// `time | LEVEL | source - message`. The time must parse, so free text with bars is not taken
/// for a header, and must start the line, so an indented continuation line never is one.
fn parse_text(line: &str, naive_offset: UtcOffset) -> Option<LogLine> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let (time_text, rest) = line.split_once(" | ")?;
    let time = parse_time(time_text, naive_offset)?;
    let (level_text, rest) = rest.split_once(" | ")?;
    let level_text = level_text.trim();
    if level_text.is_empty() || level_text.contains(char::is_whitespace) {
        return None;
    }
    let (source, message) = match rest.split_once(" - ") {
        Some((source, message)) => (source.trim(), message),
        None => match rest.strip_suffix(" -") {
            Some(source) => (source.trim(), ""),
            None => ("", rest),
        },
    };
    Some(LogLine {
        time: Some(time),
        level: Level::parse(level_text),
        source: source.to_owned(),
        message: message.to_owned(),
        raw: line.to_owned(),
        format: LineFormat::Text,
    })
}

fn parse_json(line: &str, naive_offset: UtcOffset) -> Option<LogLine> {
    let trimmed = line.trim();
    if !trimmed.starts_with('{') {
        return None;
    }
    let Value::Object(obj) = serde_json::from_str::<Value>(trimmed).ok()? else {
        return None;
    };
    let (time, level, source, message) = match obj.get("record") {
        Some(Value::Object(record)) => json_loguru(record, naive_offset),
        _ => json_flat(&obj, naive_offset)?,
    };
    Some(LogLine {
        time,
        level,
        source,
        message,
        raw: line.to_owned(),
        format: LineFormat::Json,
    })
}

type JsonFields = (Option<OffsetDateTime>, Option<Level>, String, String);

/// Loguru's `serialize=True` output: `{"text": ..., "record": {"level": {"name": ...}, ...}}`.
fn json_loguru(record: &Map<String, Value>, naive_offset: UtcOffset) -> JsonFields {
    let level = record
        .get("level")
        .and_then(|l| l.get("name").or(Some(l)))
        .and_then(Value::as_str)
        .and_then(Level::parse);
    let time = record.get("time").and_then(|t| {
        t.get("timestamp").and_then(json_time_number).or_else(|| {
            t.get("repr")
                .and_then(Value::as_str)
                .and_then(|s| parse_time(s, naive_offset))
        })
    });
    let text = |key: &str| record.get(key).map(json_text).unwrap_or_default();
    let source = match (text("name"), text("function"), text("line")) {
        (n, f, l) if n.is_empty() && f.is_empty() && l.is_empty() => String::new(),
        (n, f, l) => format!("{n}:{f}:{l}"),
    };
    (time, level, source, text("message"))
}

/// Flat JSON lines: `level` (or `levelname`, `severity`), `message` (or `msg`, `fields.message`),
/// `time` (or `timestamp`, `ts`, `@timestamp`), `source` (or `target`, `logger`, `name`).
fn json_flat(obj: &Map<String, Value>, naive_offset: UtcOffset) -> Option<JsonFields> {
    let first = |keys: &[&str]| keys.iter().find_map(|k| obj.get(*k));
    let level_value = first(&["level", "levelname", "severity"]);
    let message_value =
        first(&["message", "msg"]).or_else(|| obj.get("fields").and_then(|f| f.get("message")));
    if level_value.is_none() && message_value.is_none() {
        return None;
    }
    let level = level_value.and_then(Value::as_str).and_then(Level::parse);
    let time = first(&["time", "timestamp", "ts", "@timestamp"]).and_then(|t| match t {
        Value::String(s) => parse_time(s, naive_offset),
        other => json_time_number(other),
    });
    let source = first(&["source", "target", "logger", "name"])
        .map(json_text)
        .unwrap_or_default();
    let message = message_value.map(json_text).unwrap_or_default();
    Some((time, level, source, message))
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A Unix time in seconds, or in milliseconds when it is too large to be seconds (beyond the
/// year 5000), as some loggers write.
fn json_time_number(v: &Value) -> Option<OffsetDateTime> {
    let nanos = if let Some(n) = v.as_i64() {
        let n = i128::from(n);
        if n.abs() > 100_000_000_000 {
            n * 1_000_000
        } else {
            n * 1_000_000_000
        }
    } else {
        let n = v.as_f64()?;
        let secs = if n.abs() > 1e11 { n / 1000.0 } else { n };
        if !secs.is_finite() {
            return None;
        }
        // A double holds a Unix time to about a microsecond: round there.
        (secs * 1e6).round() as i128 * 1000
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.,fraction][ ][Z|±HH:MM|±HHMM|±HH]`, in UTC. Without an offset the
/// time is at `naive_offset`.
fn parse_time(s: &str, naive_offset: UtcOffset) -> Option<OffsetDateTime> {
    let b = s.trim().as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = b.get(from..to)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')),
        )
    };
    let sep_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !sep_ok {
        return None;
    }
    let year = i32::try_from(num(0, 4)?).ok()?;
    let month = Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, u8::try_from(num(8, 10)?).ok()?).ok()?;
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut i = 19;
    let mut nanos = 0u32;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        // Only the first nine digits count (nanoseconds).
        let used = digits.min(9);
        nanos = num(start, start + used)? * 10u32.pow(9 - used as u32);
    }
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let offset = match &b[i..] {
        [] => naive_offset,
        [b'Z' | b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), ..] => {
            let rest = &b[i + 1..];
            let (h, m) = match rest.len() {
                2 => (num(i + 1, i + 3)?, 0),
                4 => (num(i + 1, i + 3)?, num(i + 3, i + 5)?),
                5 if rest[2] == b':' => (num(i + 1, i + 3)?, num(i + 4, i + 6)?),
                _ => return None,
            };
            let (h, m) = (i8::try_from(h).ok()?, i8::try_from(m).ok()?);
            let (h, m) = if *sign == b'-' { (-h, -m) } else { (h, m) };
            UtcOffset::from_hms(h, m, 0).ok()?
        }
        _ => return None,
    };
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{datetime, offset};

    const UTC: UtcOffset = UtcOffset::UTC;

    #[test]
    fn own_format_line() {
        let l = parse_line(
            "2025-01-06T14:03:12.123Z | INFO | record[4242] mhd_store::sqlite:42 - stored 1 operation",
            UTC,
        );
        assert_eq!(l.format, LineFormat::Text);
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12.123 UTC)));
        assert_eq!(l.level, Some(Level::Info));
        assert_eq!(l.source, "record[4242] mhd_store::sqlite:42");
        assert_eq!(l.message, "stored 1 operation");
    }

    #[test]
    fn own_format_round_trips() {
        let t = datetime!(2025-03-01 09:08:07.654321 +01:00);
        let line = format!(
            "{}done | 100% – ünïcödé ✓",
            format_header(t, Level::Warning, "mhd::x:1")
        );
        assert_eq!(
            line,
            "2025-03-01T08:08:07.654Z | WARNING | mhd::x:1 - done | 100% – ünïcödé ✓"
        );
        let l = parse_line(&line, offset!(+5));
        assert_eq!(l.time, Some(datetime!(2025-03-01 08:08:07.654 UTC)));
        assert_eq!(l.level, Some(Level::Warning));
        assert_eq!(l.source, "mhd::x:1");
        assert_eq!(l.message, "done | 100% – ünïcödé ✓");
        assert_eq!(l.raw, line);
    }

    #[test]
    fn a_time_beyond_the_years_utc_can_hold_makes_a_plain_line() {
        let line = "9999-12-31 23:59:59 | INFO | x - m";
        let l = parse_line(line, offset!(-12));
        assert_eq!(l.format, LineFormat::Plain);
        assert_eq!(l.raw, line);
    }

    #[test]
    fn loguru_line_is_local_time() {
        let l = parse_line(
            "2025-01-06 14:03:12 | ERROR | mdm.storage.sqlite:write:88 - Error in register: disk full",
            offset!(+2),
        );
        assert_eq!(l.format, LineFormat::Text);
        assert_eq!(l.time, Some(datetime!(2025-01-06 12:03:12 UTC)));
        assert_eq!(l.level, Some(Level::Error));
        assert_eq!(l.source, "mdm.storage.sqlite:write:88");
        assert_eq!(l.message, "Error in register: disk full");
    }

    #[test]
    fn loguru_default_format_with_padding_and_millis() {
        let l = parse_line(
            "2025-01-06 14:03:12.345 | WARNING  | mdm.cli:main:12 - Dataset « ventes » a | b - c",
            UTC,
        );
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12.345 UTC)));
        assert_eq!(l.level, Some(Level::Warning));
        assert_eq!(l.source, "mdm.cli:main:12");
        assert_eq!(l.message, "Dataset « ventes » a | b - c");
    }

    #[test]
    fn levels_normalise() {
        let cases = [
            ("trace", Some(Level::Trace)),
            ("DEBUG", Some(Level::Debug)),
            ("Info", Some(Level::Info)),
            ("SUCCESS", Some(Level::Success)),
            ("WARN", Some(Level::Warning)),
            ("warning", Some(Level::Warning)),
            ("ERROR", Some(Level::Error)),
            ("CRITICAL", Some(Level::Critical)),
            ("fatal", Some(Level::Critical)),
            ("NOTICE", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(Level::parse(text), want, "{text}");
        }
        assert!(Level::Warning > Level::Success && Level::Critical > Level::Error);
        let err = "loud".parse::<Level>().unwrap_err();
        assert!(
            err.contains("TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, CRITICAL"),
            "{err}"
        );
    }

    #[test]
    fn unknown_level_keeps_the_header() {
        let l = parse_line("2025-01-06 14:03:12 | NOTICE | app:f:1 - hello", UTC);
        assert_eq!(l.format, LineFormat::Text);
        assert_eq!(l.level, None);
        assert_eq!(l.message, "hello");
    }

    #[test]
    fn json_lines() {
        let l = parse_line(
            r#"{"time":"2025-01-06T14:03:12.5+01:00","level":"warn","message":"slow query: 3 s","target":"mhd_store"}"#,
            UTC,
        );
        assert_eq!(l.format, LineFormat::Json);
        assert_eq!(l.time, Some(datetime!(2025-01-06 13:03:12.5 UTC)));
        assert_eq!(l.level, Some(Level::Warning));
        assert_eq!(l.source, "mhd_store");
        assert_eq!(l.message, "slow query: 3 s");

        let l = parse_line(
            r#"{"timestamp":"2025-01-06T14:03:12Z","level":"ERROR","fields":{"message":"échec | disque"}}"#,
            UTC,
        );
        assert_eq!(l.level, Some(Level::Error));
        assert_eq!(l.message, "échec | disque");
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12 UTC)));

        let l = parse_line(r#"{"ts":1736172192,"msg":"unix seconds"}"#, UTC);
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12 UTC)));
        assert_eq!(l.level, None);
        let l = parse_line(r#"{"time":1736172192123,"msg":"unix millis"}"#, UTC);
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12.123 UTC)));
        let l = parse_line(r#"{"time":1736172192.123456,"msg":"float seconds"}"#, UTC);
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12.123456 UTC)));
    }

    #[test]
    fn loguru_serialized_json() {
        let line = r#"{"text": "x\n", "record": {"level": {"icon": "❌", "name": "ERROR", "no": 40}, "message": "Error in register: disk full", "name": "mdm.storage.sqlite", "function": "write", "line": 88, "time": {"repr": "2025-01-06 14:03:12.000000+00:00", "timestamp": 1736172192.0}}}"#;
        let l = parse_line(line, offset!(+3));
        assert_eq!(l.format, LineFormat::Json);
        assert_eq!(l.level, Some(Level::Error));
        assert_eq!(l.source, "mdm.storage.sqlite:write:88");
        assert_eq!(l.message, "Error in register: disk full");
        assert_eq!(l.time, Some(datetime!(2025-01-06 14:03:12 UTC)));
    }

    #[test]
    fn malformed_lines_are_plain() {
        let cases = [
            "",
            "   ",
            "Traceback (most recent call last):",
            "  File \"mdm/storage/sqlite.py\", line 88, in write",
            "not a time | INFO | x - y",
            "  2025-01-06 14:03:12 | INFO | indented - so a continuation",
            "2025-13-06 14:03:12 | INFO | x - y",
            "2025-01-06 25:03:12 | INFO | x - y",
            "2025-01-06 14:03:12 | two words | x - y",
            "2025-01-06 14:03:12 | INFO",
            "2025-01-06 14:03:12 +1:00 | INFO | x - y",
            "2025-01-06 14:03:12. | INFO | x - y",
            "{\"level\": \"INFO\", \"message\": ",
            "{\"other\": 1}",
            "[1, 2, 3]",
            "\u{1b}[31mred\u{1b}[0m",
        ];
        for line in cases {
            let l = parse_line(line, UTC);
            assert_eq!(l.format, LineFormat::Plain, "{line:?}");
            assert_eq!((l.time, l.level), (None, None), "{line:?}");
            assert_eq!(l.message, line);
            assert_eq!(l.raw, line);
        }
    }

    #[test]
    fn carriage_returns_are_dropped() {
        let l = parse_line("2025-01-06 14:03:12 | INFO | a:b:1 - windows\r", UTC);
        assert_eq!(l.message, "windows");
        assert_eq!(l.raw, "2025-01-06 14:03:12 | INFO | a:b:1 - windows");
    }

    #[test]
    fn time_forms() {
        let want = datetime!(2025-01-06 14:03:12 UTC);
        for s in [
            "2025-01-06T14:03:12Z",
            "2025-01-06t14:03:12z",
            "2025-01-06 14:03:12",
            "2025-01-06T16:03:12+02:00",
            "2025-01-06 16:03:12 +0200",
            "2025-01-06 12:03:12-02",
            "2025-01-06 14:03:12,000",
            "2025-01-06 14:03:12.000000000000",
        ] {
            assert_eq!(parse_time(s, UTC), Some(want), "{s}");
        }
        assert_eq!(
            parse_time("2025-01-06 14:03:12.1234567891", UTC),
            Some(datetime!(2025-01-06 14:03:12.123456789 UTC))
        );
        for s in [
            "2025-01-06",
            "2025-01-06 14:03:12 CET",
            "2025-02-30 00:00:00",
            "２０２５-01-06 14:03:12",
        ] {
            assert_eq!(parse_time(s, UTC), None, "{s}");
        }
    }

    #[test]
    fn tracebacks_continue_the_entry_before_them() {
        let text = "\
orphan line before any header
2025-01-06 14:03:12 | INFO | mdm.cli:main:10 - start
2025-01-06 14:03:13 | ERROR | mdm.storage.sqlite:write:88 - Error in register: disk full
Traceback (most recent call last):
  File \"mdm/storage/sqlite.py\", line 88, in write
OSError: [Errno 28] No space left on device
2025-01-06 14:03:14 | INFO | mdm.cli:main:11 - end
";
        let entries = parse_entries(text, UTC);
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].format, LineFormat::Plain);
        assert_eq!(entries[0].message, "orphan line before any header");
        assert_eq!(entries[2].level, Some(Level::Error));
        assert_eq!(
            entries[2].message,
            "Error in register: disk full\nTraceback (most recent call last):\n  File \"mdm/storage/sqlite.py\", line 88, in write\nOSError: [Errno 28] No space left on device"
        );
        assert!(entries[2].raw.starts_with("2025-01-06 14:03:13 | ERROR"));
        assert!(entries[2].raw.ends_with("No space left on device"));
        assert_eq!(entries[3].message, "end");

        let mut rev = ReverseGrouper::new(UTC);
        let mut backwards: Vec<LogLine> = text.lines().rev().filter_map(|l| rev.push(l)).collect();
        backwards.extend(rev.finish());
        backwards.reverse();
        assert_eq!(backwards, entries);
    }

    #[test]
    fn a_continuation_ending_in_carriage_returns_reads_the_same_backwards() {
        let lines: Vec<String> = "A2025-03-01T08:08:07 | WARNIN1 | x\n:[\r\r"
            .split('\n')
            .map(str::to_owned)
            .collect();
        assert_eq!(group_backward(&lines, 3), group_forward(&lines, 3));
        let lines = vec![
            "2025-01-06 14:03:12 | INFO | a:b:1 - head".to_owned(),
            "cont\r\r".to_owned(),
        ];
        assert_eq!(group_backward(&lines, 3), group_forward(&lines, 3));
        assert_eq!(group_forward(&lines, 3)[0].message, "head\ncont\r");
    }

    #[test]
    fn continuation_is_bounded() {
        let text = "2025-01-06 14:03:12 | INFO | a:b:1 - head\nc1\nc2\nc3\nc4";
        let mut g = Grouper::new(UTC).with_max_continuation(2);
        let mut entries: Vec<LogLine> = text.lines().filter_map(|l| g.push(l)).collect();
        entries.extend(g.finish());
        let messages: Vec<&str> = entries.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["head\nc1\nc2", "c3", "c4"]);
    }

    fn group_forward(lines: &[String], max: usize) -> Vec<LogLine> {
        let mut g = Grouper::new(UTC).with_max_continuation(max);
        let mut out: Vec<LogLine> = lines.iter().filter_map(|l| g.push(l)).collect();
        out.extend(g.finish());
        out
    }

    fn group_backward(lines: &[String], max: usize) -> Vec<LogLine> {
        let mut g = ReverseGrouper::new(UTC).with_max_continuation(max);
        let mut out: Vec<LogLine> = lines.iter().rev().filter_map(|l| g.push(l)).collect();
        out.extend(g.finish());
        out.reverse();
        out
    }

    proptest! {
        #[test]
        fn reading_backwards_groups_like_reading_forwards(
            kinds in proptest::collection::vec(0u8..3, 0..40),
            max in 0usize..4,
        ) {
            let lines: Vec<String> = kinds
                .iter()
                .enumerate()
                .map(|(i, k)| match k {
                    0 => format!("2025-01-06 14:03:{:02} | INFO | m:f:{i} - line {i}", i % 60),
                    1 => format!(r#"{{"level":"error","message":"json {i}"}}"#),
                    _ => format!("  plain {i}"),
                })
                .collect();
            let forward = group_forward(&lines, max);
            let raw_lines: usize = forward.iter().map(|e| e.raw.lines().count()).sum();
            prop_assert_eq!(raw_lines, lines.len());
            prop_assert_eq!(group_backward(&lines, max), forward);
        }
    }
}
