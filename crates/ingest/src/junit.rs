//! JUnit XML test reports, the input of `mhd ingest junit` and `POST /api/v1/tests/junit`.
//!
//! One streaming pass over any [`BufRead`]: the parser's working memory stays flat whatever
//! the size of the file. It holds one test case at a time and appends each finished case to
//! the report ([`parse`]) or hands it to the caller ([`parse_each`]); the text of
//! `<system-out>`, `<system-err>` and of any other element is skipped without being kept, and
//! at most [`MAX_MESSAGE_BYTES`] of a failure's text is kept for its message. A single tag
//! longer than [`MAX_TAG_BYTES`] is refused rather than held.
//!
//! Accepted, as real tools write them: a `<testsuites>` or a lone `<testsuite>` root, suites
//! nested in suites, `<failure>`, `<error>`, `<skipped>` with or without a message,
//! `<properties>`, `<system-out>`, `<system-err>`, retries (`<flakyFailure>`, `<rerunFailure>`,
//! … : a case with only flaky failures passed), CDATA, character and entity references,
//! UTF-8 with or without a byte order mark, UTF-16 (with a byte order mark, or recognised from
//! its first bytes), and other encodings named in the XML declaration.
//!
//! Refused with a [`JunitError`] naming the file, line and column: input that is not XML,
//! that ends before its elements are closed, whose root is not `<testsuites>` or
//! `<testsuite>`, that has a `<!DOCTYPE>` (a DTD can declare entities that expand without
//! bound, and JUnit reports never have one), test names or class names longer than
//! [`MAX_NAME_BYTES`] or holding control characters, a message holding a NUL, and a `time`
//! that is not a number of seconds ≥ 0 (negative, `NaN`, text).
//!
//! Statuses are read from each case's children: `<error>` makes it `error`, else `<failure>`
//! `failed`, else `<skipped>` `skipped`, else it `passed`. The report's summary attributes
//! (`tests=`, `failures=`, …) are ignored: tools leave them out or get them wrong.

use std::io::{self, BufRead, Read};

use mhd_core::testrun::{TestCase, TestRun, TestStatus, Totals};
use quick_xml::encoding::{DecodingReader, DetectedEncoding, detect_encoding};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use time::OffsetDateTime;

/// The longest test name or class name accepted, in bytes (the names' limit of every input);
/// a longer one is refused.
pub const MAX_NAME_BYTES: usize = mhd_core::limits::MAX_NAME_BYTES;
/// The most of a failure, error or skip message that is kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024;
/// The longest single tag (`<testcase name=… >`, `<!DOCTYPE …>`) accepted, in bytes.
pub const MAX_TAG_BYTES: u64 = 1024 * 1024;
/// The deepest nesting of elements accepted.
pub const MAX_DEPTH: usize = 256;
/// The longest element name accepted, in bytes.
const MAX_ELEMENT_NAME_BYTES: usize = 1024;
/// How much of the input is looked at to tell its encoding.
const HEAD_BYTES: usize = 1024;
/// Size of the parser's input buffer.
const INPUT_BUFFER_BYTES: usize = 64 * 1024;

/// What one JUnit XML report holds: its cases and what its root element says of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct JunitReport {
    /// The root element's `name` attribute, when it has one.
    pub name: Option<String>,
    /// Seconds the whole run took by the report: the root's `time` attribute, else the sum
    /// of the `time` of the suites directly under the root.
    pub time: Option<f64>,
    /// When the run started by the report: the root's `timestamp`, else the first suite's.
    /// A timestamp without a UTC offset (as Surefire and jest-junit write them) is taken
    /// as UTC.
    pub timestamp: Option<OffsetDateTime>,
    /// Every test case, in the order of the report, nested suites flattened.
    pub cases: Vec<TestCase>,
}

impl JunitReport {
    /// Counts of the cases by status, from the cases alone.
    pub fn totals(&self) -> Totals {
        Totals::of(&self.cases)
    }

    /// The stored form of this report as a run of `suite`; its duration is
    /// [`TestRun::duration_of`] the cases and the report's time.
    pub fn into_test_run(
        self,
        suite: String,
        phase: Option<String>,
        component: Option<String>,
        run_at: OffsetDateTime,
    ) -> TestRun {
        let duration = TestRun::duration_of(&self.cases, self.time);
        TestRun {
            suite,
            phase,
            component,
            run_at,
            duration,
            cases: self.cases,
        }
    }
}

/// A report that was refused, and where: `FILE:LINE:COLUMN: message`.
///
/// Lines and columns count from 1; the column counts bytes of the line (of its UTF-8 form,
/// for a report in another encoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}:{column}: {message}")]
pub struct JunitError {
    /// The name of the input, as given to [`parse`].
    pub source_name: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in bytes.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

/// Reads one JUnit XML report. `source_name` names the input in errors (a path, `-`, …).
pub fn parse(reader: impl BufRead, source_name: &str) -> Result<JunitReport, JunitError> {
    let mut cases = Vec::new();
    let mut report = parse_each(reader, source_name, |case| cases.push(case))?;
    report.cases = cases;
    Ok(report)
}

/// Like [`parse`], but hands each case to `on_case` as soon as it is read instead of keeping
/// it, so that nothing grows with the size of the report; the returned report's `cases` is
/// empty. Cases read before an error have been handed over already: a caller that must keep
/// nothing of a refused report collects them first, as [`parse`] does.
pub fn parse_each(
    mut reader: impl BufRead,
    source_name: &str,
    on_case: impl FnMut(TestCase),
) -> Result<JunitReport, JunitError> {
    let at_start = |message: String| JunitError {
        source_name: source_name.to_owned(),
        line: 1,
        column: 1,
        message,
    };
    // The first bytes tell the encoding: a byte order mark, UTF-16's zero bytes, or the
    // XML declaration. They are read whole, however the reader splits its input, and then
    // read again in front of the rest.
    let mut head = Vec::with_capacity(HEAD_BYTES);
    if let Err(e) = (&mut reader).take(HEAD_BYTES as u64).read_to_end(&mut head) {
        return Err(at_start(format!("cannot read the input: {e}")));
    }
    let detected = detect_encoding(&head);
    let mut head = io::Cursor::new(head);
    match detected {
        Some(DetectedEncoding::Utf8Bom) => {
            head.set_position(3);
            Parser::new(head.chain(reader), source_name, on_case).run()
        }
        Some(
            DetectedEncoding::Utf16BeBom
            | DetectedEncoding::Utf16LeBom
            | DetectedEncoding::Utf16BeLike
            | DetectedEncoding::Utf16LeLike,
        ) => Parser::new(
            DecodingReader::new(head.chain(reader)),
            source_name,
            on_case,
        )
        .run(),
        Some(DetectedEncoding::AsciiCompatible) => {
            // `<?xml … encoding="…"?>`: a declared encoding other than UTF-8 is decoded.
            let mut decl = Reader::from_reader(head.get_ref().as_slice());
            let declared = match decl.read_event() {
                Ok(Event::Decl(d)) => match d.encoding() {
                    Some(Ok(label)) => Some((label.into_owned(), d.encoder())),
                    _ => None,
                },
                _ => None,
            };
            match declared {
                Some((_, Some(enc)))
                    if enc.name() != "UTF-8" && !enc.name().starts_with("UTF-16") =>
                {
                    let mut decoding = DecodingReader::new(head.chain(reader));
                    decoding.set_encoding(enc);
                    Parser::new(decoding, source_name, on_case).run()
                }
                Some((label, None)) => Err(at_start(format!(
                    "the XML declaration names encoding {label:?}, which is not supported"
                ))),
                _ => Parser::new(head.chain(reader), source_name, on_case).run(),
            }
        }
        None => Parser::new(head.chain(reader), source_name, on_case).run(),
    }
}

/// The parser's input: a buffer over the reader that can look a few bytes ahead, counts
/// lines as it goes, and bounds how much one tag may take.
struct Input<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Absolute position of `buf[pos]`.
    consumed: u64,
    /// No position before this one will be asked for.
    mark: u64,
    /// Line feeds before `mark`.
    lines_before_mark: u64,
    /// Position of the last line feed before `mark`.
    last_lf_before_mark: Option<u64>,
    /// Positions of the line feeds from `mark` to `consumed`.
    window: Vec<u64>,
    /// Set when one tag ran past `MAX_TAG_BYTES`.
    tag_too_long: bool,
}

impl<R: Read> Input<R> {
    fn new(inner: R) -> Self {
        Input {
            inner,
            buf: vec![0; INPUT_BUFFER_BYTES].into_boxed_slice(),
            pos: 0,
            end: 0,
            eof: false,
            consumed: 0,
            mark: 0,
            lines_before_mark: 0,
            last_lf_before_mark: None,
            window: Vec::new(),
            tag_too_long: false,
        }
    }

    /// Reads more after what is buffered; false at the end of the input.
    fn read_more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.end == self.buf.len() {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// At least `n` bytes ahead, unless the input ends first.
    fn ensure(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.pos < n && self.read_more()? {}
        Ok(&self.buf[self.pos..self.end])
    }

    /// From here on, no position before `at` is asked for.
    fn set_mark(&mut self, at: u64) {
        let at = at.min(self.consumed);
        if at <= self.mark {
            return;
        }
        let before = self.window.partition_point(|&lf| lf < at);
        if before > 0 {
            self.lines_before_mark += before as u64;
            self.last_lf_before_mark = Some(self.window[before - 1]);
            self.window.drain(..before);
        }
        self.mark = at;
    }

    /// 1-based line and column (in bytes) of a position at or after the mark.
    fn line_col(&self, at: u64) -> (u64, u64) {
        let at = at.clamp(self.mark, self.consumed);
        let before = self.window.partition_point(|&lf| lf < at);
        let line = self.lines_before_mark + before as u64 + 1;
        let last_lf = if before > 0 {
            Some(self.window[before - 1])
        } else {
            self.last_lf_before_mark
        };
        let column = match last_lf {
            Some(lf) => at - lf,
            None => at + 1,
        };
        (line, column)
    }
}

impl<R: Read> Read for Input<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Input<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            // The XML reader reads one tag at a time from the mark on (text is skipped
            // before it is called), so this bounds the memory a single tag can take.
            if self.consumed - self.mark > MAX_TAG_BYTES {
                self.tag_too_long = true;
                return Err(io::Error::other("tag too long"));
            }
            self.pos = 0;
            self.end = 0;
            self.read_more()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.pos);
        let base = self.consumed;
        for i in memchr::memchr_iter(b'\n', &self.buf[self.pos..self.pos + amt]) {
            self.window.push(base + i as u64);
        }
        self.pos += amt;
        self.consumed += amt as u64;
    }
}

/// What an open element is to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Suite,
    Case,
    /// `<failure>`, `<error>` or `<skipped>` directly inside a case.
    Outcome,
    Other,
}

#[derive(Debug)]
struct Open {
    kind: Kind,
    name: String,
    line: u64,
    column: u64,
}

/// The case being read.
#[derive(Debug)]
struct CaseBuilder {
    name: String,
    classname: Option<String>,
    time: Option<f64>,
    status: TestStatus,
    message: Option<String>,
    /// The text of the outcome element that set the status and had no `message` attribute.
    capture: Option<Vec<u8>>,
}

fn rank(status: TestStatus) -> u8 {
    match status {
        TestStatus::Passed => 0,
        TestStatus::Skipped => 1,
        TestStatus::Failed => 2,
        TestStatus::Error => 3,
    }
}

struct Parser<'s, R: Read, F: FnMut(TestCase)> {
    reader: Reader<Input<R>>,
    on_case: F,
    buf: Vec<u8>,
    source_name: &'s str,
    stack: Vec<Open>,
    case: Option<CaseBuilder>,
    report: JunitReport,
    root_seen: bool,
    root_closed: bool,
    /// Sum of the times of the suites directly under a `<testsuites>` root.
    child_suite_time: Option<f64>,
    /// Anything but white space seen (to tell an empty input from one without elements).
    seen_anything: bool,
}

type PResult<T> = Result<T, JunitError>;

impl<'s, R: Read, F: FnMut(TestCase)> Parser<'s, R, F> {
    fn new(inner: R, source_name: &'s str, on_case: F) -> Self {
        Parser {
            reader: Reader::from_reader(Input::new(inner)),
            on_case,
            buf: Vec::new(),
            source_name,
            stack: Vec::new(),
            case: None,
            report: JunitReport {
                name: None,
                time: None,
                timestamp: None,
                cases: Vec::new(),
            },
            root_seen: false,
            root_closed: false,
            child_suite_time: None,
            seen_anything: false,
        }
    }

    fn input(&mut self) -> &mut Input<R> {
        self.reader.get_mut()
    }

    fn pos(&self) -> u64 {
        self.reader.get_ref().consumed
    }

    fn error_at(&self, at: u64, message: impl Into<String>) -> JunitError {
        let (line, column) = self.reader.get_ref().line_col(at);
        JunitError {
            source_name: self.source_name.to_owned(),
            line,
            column,
            message: message.into(),
        }
    }

    fn run(mut self) -> PResult<JunitReport> {
        loop {
            self.skip_character_data()?;
            let start = self.pos();
            self.input().set_mark(start);
            // The event borrows the buffer; it is put back after the event is handled.
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let event = match self.reader.read_event_into(&mut buf) {
                Ok(event) => event,
                Err(e) => {
                    let at = self.reader.error_position().max(start);
                    let message = if self.reader.get_ref().tag_too_long {
                        format!("a tag longer than {MAX_TAG_BYTES} bytes; the report is refused")
                    } else {
                        describe_xml_error(&e)
                    };
                    return Err(self.error_at(at, message));
                }
            };
            match event {
                Event::Start(e) => {
                    self.seen_anything = true;
                    let (kind, name) = self.open(&e, start)?;
                    let (line, column) = self.reader.get_ref().line_col(start);
                    self.stack.push(Open {
                        kind,
                        name,
                        line,
                        column,
                    });
                }
                Event::Empty(e) => {
                    self.seen_anything = true;
                    let (kind, _) = self.open(&e, start)?;
                    self.close(kind, start)?;
                }
                Event::End(_) => {
                    // The reader checks that end tags match their start tags.
                    if let Some(open) = self.stack.pop() {
                        self.close(open.kind, start)?;
                    }
                }
                Event::DocType(_) => {
                    return Err(self.error_at(
                        start,
                        "refused: the report has a document type declaration (<!DOCTYPE …>); \
                         JUnit reports have none, and one can declare entities that expand \
                         without bound",
                    ));
                }
                Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                    if self.stack.is_empty() {
                        return Err(self.error_at(start, self.text_outside_root_message()));
                    }
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => self.seen_anything = true,
                Event::Eof => break,
            }
            self.buf = buf;
        }
        let end = self.pos();
        if let Some(open) = self.stack.last() {
            let message = format!(
                "unexpected end of the input: <{}> (opened at line {}, column {}) is not closed",
                open.name, open.line, open.column
            );
            return Err(self.error_at(end, message));
        }
        if !self.root_seen {
            let message = if self.seen_anything {
                "not a JUnit report: the input has no XML element"
            } else {
                "not a JUnit report: the input is empty"
            };
            return Err(self.error_at(end, message));
        }
        if self.report.time.is_none() {
            self.report.time = self.child_suite_time;
        }
        Ok(self.report)
    }

    fn text_outside_root_message(&self) -> String {
        if self.root_closed {
            "not a JUnit report: text after the end of the root element".to_owned()
        } else {
            "not XML: the input does not start with an element (`<`)".to_owned()
        }
    }

    /// Skips character data (text, references, CDATA sections, comments) up to the next
    /// tag, without keeping it — except the text of an outcome being captured, up to
    /// `MAX_MESSAGE_BYTES`. Leaves the `<` of the next tag unread.
    fn skip_character_data(&mut self) -> PResult<()> {
        let outside_root = self.stack.is_empty();
        loop {
            let here = self.pos();
            self.input().set_mark(here);
            let (available, text_len, stray) = match self.input().fill_buf() {
                Ok(b) => {
                    let text_len = memchr::memchr(b'<', b).unwrap_or(b.len());
                    let stray = if outside_root {
                        b[..text_len].iter().position(|c| !b" \t\r\n".contains(c))
                    } else {
                        None
                    };
                    (b.len(), text_len, stray)
                }
                Err(e) => return Err(self.io_error(here, &e)),
            };
            if available == 0 {
                return Ok(());
            }
            if let Some(i) = stray {
                self.reader.stream().consume(i);
                let message = self.text_outside_root_message();
                return Err(self.error_at(here + i as u64, message));
            }
            if !outside_root {
                self.capture(text_len, false);
            }
            self.reader.stream().consume(text_len);
            if text_len == available {
                continue;
            }
            // At `<`: a comment or CDATA section is character data; anything else is a tag.
            let here = self.pos();
            let ahead = match self.input().ensure(9) {
                Ok(b) => b,
                Err(e) => return Err(self.io_error(here, &e)),
            };
            if ahead.starts_with(b"<!--") {
                self.seen_anything = true;
                self.reader.stream().consume(4);
                self.skip_past(b"-->", false, here, "comment")?;
            } else if ahead.starts_with(b"<![CDATA[") && !outside_root {
                self.reader.stream().consume(9);
                self.skip_past(b"]]>", true, here, "CDATA section")?;
            } else {
                return Ok(());
            }
        }
    }

    /// Skips to just past `end` (keeping what it skips when capturing and `keep`);
    /// `opened` is where the construct started, for the error at the end of the input.
    fn skip_past(&mut self, end: &[u8], keep: bool, opened: u64, what: &str) -> PResult<()> {
        let opened = self.reader.get_ref().line_col(opened);
        let finder = memchr::memmem::Finder::new(end);
        loop {
            let here = self.pos();
            self.input().set_mark(here);
            let (available, found) = match self.input().ensure(end.len()) {
                Ok(b) => (b.len(), finder.find(b)),
                Err(e) => return Err(self.io_error(here, &e)),
            };
            if available < end.len() {
                self.reader.stream().consume(available);
                let message = format!(
                    "unexpected end of the input: the {what} opened at line {}, column {} \
                     is not closed",
                    opened.0, opened.1
                );
                return Err(self.error_at(self.pos(), message));
            }
            match found {
                Some(i) => {
                    if keep {
                        self.capture(i, true);
                    }
                    self.reader.stream().consume(i + end.len());
                    return Ok(());
                }
                None => {
                    // Keep the last bytes: they may start `end`.
                    let n = available + 1 - end.len();
                    if keep {
                        self.capture(n, true);
                    }
                    self.reader.stream().consume(n);
                }
            }
        }
    }

    fn io_error(&self, at: u64, e: &io::Error) -> JunitError {
        match e.kind() {
            io::ErrorKind::InvalidData => {
                // The decoder reads ahead: the bad bytes are here or a little further on.
                self.error_at(
                    at,
                    format!("the input cannot be decoded: {e} (at or after this place)"),
                )
            }
            _ => self.error_at(at, format!("cannot read the input: {e}")),
        }
    }

    /// Keeps the next `len` bytes of the input (of a CDATA section, or escaped text) as text
    /// of the outcome being captured, up to `MAX_MESSAGE_BYTES`.
    fn capture(&mut self, len: usize, cdata: bool) {
        if len == 0 {
            return;
        }
        let Some(capture) = self.case.as_mut().and_then(|c| c.capture.as_mut()) else {
            return;
        };
        let input = self.reader.get_ref();
        let available = &input.buf[input.pos..input.end];
        for &b in &available[..len.min(available.len())] {
            if capture.len() >= MAX_MESSAGE_BYTES {
                break;
            }
            // CDATA is kept escaped like the text around it, so that the whole capture is
            // unescaped once, at the end (a reference may span two reads).
            match b {
                b'&' if cdata => capture.extend_from_slice(b"&amp;"),
                b'<' if cdata => capture.extend_from_slice(b"&lt;"),
                _ => capture.push(b),
            }
        }
    }

    /// Handles a start tag (or an empty element); returns what the element is and its name.
    fn open(&mut self, e: &BytesStart<'_>, start: u64) -> PResult<(Kind, String)> {
        let name = e.local_name();
        let name: &str = name.as_ref();
        if name.len() > MAX_ELEMENT_NAME_BYTES {
            return Err(self.error_at(
                start,
                format!(
                    "an element name of {} bytes (longer than {MAX_ELEMENT_NAME_BYTES})",
                    name.len()
                ),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error_at(start, format!("elements nested more than {MAX_DEPTH} deep")));
        }
        let name = name.to_owned();
        let Some(parent) = self.stack.last().map(|o| o.kind) else {
            return self.open_root(e, start, name);
        };
        let kind = match name.as_str() {
            "testsuite" => {
                if parent == Kind::Root && self.stack.len() == 1 {
                    let attrs = self.attributes(e, start, &["time", "timestamp"])?;
                    if let Some(t) = self.seconds(attrs[0].as_deref(), start, "<testsuite>")? {
                        *self.child_suite_time.get_or_insert(0.0) += t;
                    }
                    if self.report.timestamp.is_none() {
                        self.report.timestamp = attrs[1].as_deref().and_then(parse_timestamp);
                    }
                }
                Kind::Suite
            }
            "testcase" => {
                if let Some(outer) = self.stack.iter().find(|o| o.kind == Kind::Case) {
                    let message = format!(
                        "a <testcase> inside the <testcase> opened at line {}, column {}",
                        outer.line, outer.column
                    );
                    return Err(self.error_at(start, message));
                }
                self.open_case(e, start)?;
                Kind::Case
            }
            "failure" | "error" | "skipped" if parent == Kind::Case => {
                let status = match name.as_str() {
                    "failure" => TestStatus::Failed,
                    "error" => TestStatus::Error,
                    _ => TestStatus::Skipped,
                };
                let [message] = self.attributes(e, start, &["message"])?;
                let message = message.map(|m| truncate(m.trim()).to_owned());
                if let Some(case) = self.case.as_mut()
                    && rank(status) > rank(case.status)
                {
                    case.status = status;
                    match message.filter(|m| !m.is_empty()) {
                        Some(m) => {
                            case.message = Some(m);
                            case.capture = None;
                        }
                        None => {
                            case.message = None;
                            case.capture = Some(Vec::new());
                        }
                    }
                }
                Kind::Outcome
            }
            _ => Kind::Other,
        };
        Ok((kind, name))
    }

    fn open_root(
        &mut self,
        e: &BytesStart<'_>,
        start: u64,
        name: String,
    ) -> PResult<(Kind, String)> {
        if self.root_closed {
            return Err(self.error_at(
                start,
                format!("not a JUnit report: a second root element <{name}>"),
            ));
        }
        if name != "testsuites" && name != "testsuite" {
            return Err(self.error_at(
                start,
                format!(
                    "not a JUnit report: root element <{name}> (expected <testsuites> or <testsuite>)"
                ),
            ));
        }
        self.root_seen = true;
        let [n, t, ts] = self.attributes(e, start, &["name", "time", "timestamp"])?;
        self.report.name = n.map(|n| truncate(&n).to_owned());
        self.report.time = self.seconds(t.as_deref(), start, &format!("<{name}>"))?;
        self.report.timestamp = ts.as_deref().and_then(parse_timestamp);
        Ok((Kind::Root, name))
    }

    fn open_case(&mut self, e: &BytesStart<'_>, start: u64) -> PResult<()> {
        let [name, classname, time] = self.attributes(e, start, &["name", "classname", "time"])?;
        let Some(name) = name else {
            return Err(self.error_at(start, "a <testcase> without a name attribute"));
        };
        for (what, value) in [("name", Some(&name)), ("classname", classname.as_ref())] {
            if let Some(v) = value
                && let Err(reason) = mhd_core::limits::check_name(v, false)
            {
                return Err(self.error_at(start, format!("a <testcase> whose {what} {reason}")));
            }
        }
        let time = self.seconds(time.as_deref(), start, "<testcase>")?;
        self.case = Some(CaseBuilder {
            name,
            classname,
            time,
            status: TestStatus::Passed,
            message: None,
            capture: None,
        });
        Ok(())
    }

    /// A `time` attribute of the element at `start` (`what`, for the message): none when it is
    /// missing or blank, an error at the element when it is not a number of seconds ≥ 0.
    fn seconds(&self, value: Option<&str>, start: u64, what: &str) -> PResult<Option<f64>> {
        let Some(v) = value.filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        match parse_seconds(v) {
            Some(t) => Ok(Some(t)),
            None => Err(self.error_at(
                start,
                format!("{what} time={v:?}: not a number of seconds ≥ 0"),
            )),
        }
    }

    /// The unescaped values of the attributes named in `wanted`, in that order.
    fn attributes<const N: usize>(
        &self,
        e: &BytesStart<'_>,
        start: u64,
        wanted: &[&str; N],
    ) -> PResult<[Option<String>; N]> {
        let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
        for attr in e.attributes() {
            let attr =
                attr.map_err(|err| self.error_at(start, format!("not well-formed XML: {err}")))?;
            let key = attr.key.local_name();
            let key: &str = key.as_ref();
            if let Some(i) = wanted.iter().position(|w| *w == key) {
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|err| {
                        self.error_at(
                            start,
                            format!("not well-formed XML: in attribute {key}: {err}"),
                        )
                    })?;
                values[i] = Some(value.into_owned());
            }
        }
        Ok(values)
    }

    /// Handles the end of an element of the given kind (whose end tag is at `at`).
    fn close(&mut self, kind: Kind, at: u64) -> PResult<()> {
        match kind {
            Kind::Root => self.root_closed = true,
            Kind::Case => {
                if let Some(c) = self.case.take() {
                    if let Some(m) = &c.message
                        && let Err(reason) = mhd_core::limits::check_text(m)
                    {
                        return Err(self.error_at(
                            at,
                            format!("the message of <testcase> {:?} {reason}", c.name),
                        ));
                    }
                    (self.on_case)(TestCase {
                        name: c.name,
                        classname: c.classname,
                        status: c.status,
                        time: c.time,
                        message: c.message,
                    });
                }
            }
            Kind::Outcome => {
                if let Some(case) = self.case.as_mut()
                    && let Some(text) = case.capture.take()
                {
                    case.message = first_line(&text);
                }
            }
            Kind::Suite | Kind::Other => {}
        }
        Ok(())
    }
}

fn describe_xml_error(e: &quick_xml::Error) -> String {
    match e {
        quick_xml::Error::Syntax(s) => format!("not well-formed XML: {s}"),
        quick_xml::Error::IllFormed(s) => format!("not well-formed XML: {s}"),
        quick_xml::Error::Encoding(s @ quick_xml::encoding::EncodingError::Utf8(_)) => {
            format!("the input cannot be decoded: {s}")
        }
        // From a decoder that reads ahead: the bad bytes are here or a little further on.
        quick_xml::Error::Encoding(s) => {
            format!("the input cannot be decoded: {s} (at or after this place)")
        }
        other => format!("not well-formed XML: {other}"),
    }
}

/// The first non-blank line of an element's text (as escaped in the report), as a message.
fn first_line(raw: &[u8]) -> Option<String> {
    // The capture may end inside a character: keep what comes before it.
    let text = match std::str::from_utf8(raw) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(&raw[..e.valid_up_to()]),
        Err(_) => String::from_utf8_lossy(raw),
    };
    let text = unescape_lenient(&text);
    let line = text.trim_start().lines().next()?.trim_end();
    (!line.is_empty()).then(|| truncate(line).to_owned())
}

/// Resolves the predefined entities and character references of XML text, leaving anything
/// else (a reference cut by the message limit, an undeclared entity) as it is.
fn unescape_lenient(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let resolved = rest
            .get(1..rest.len().min(12))
            .and_then(|window| window.find(';'))
            .and_then(|semi| {
                let name = &rest[1..1 + semi];
                let c = match name {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "apos" => '\'',
                    "quot" => '"',
                    _ => {
                        let code = match name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => name.strip_prefix('#')?.parse().ok()?,
                        };
                        char::from_u32(code)?
                    }
                };
                Some((c, semi + 2))
            });
        match resolved {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// At most `MAX_MESSAGE_BYTES` of `s`, cut at a character boundary.
fn truncate(s: &str) -> &str {
    if s.len() <= MAX_MESSAGE_BYTES {
        return s;
    }
    let mut cut = MAX_MESSAGE_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}

/// A `time` attribute: seconds, such as `0.123`; Surefire's `1,234.5` is read as 1234.5.
/// `None` for a negative, non-finite or unreadable time.
fn parse_seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    let t = s.parse::<f64>().ok().or_else(|| {
        if s.contains('.') {
            s.replace(',', "").parse::<f64>().ok()
        } else {
            None
        }
    })?;
    (t.is_finite() && t >= 0.0).then_some(t)
}

/// A `timestamp` attribute: RFC 3339, or an ISO 8601 date and time without offset (as UTC).
fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return t.checked_to_offset(time::UtcOffset::UTC);
    }
    if let Ok(t) = OffsetDateTime::parse(s, &Iso8601::DEFAULT) {
        return t.checked_to_offset(time::UtcOffset::UTC);
    }
    time::PrimitiveDateTime::parse(s, &Iso8601::DEFAULT)
        .ok()
        .map(|t| t.assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> PResult<JunitReport> {
        parse(s.as_bytes(), "t.xml")
    }

    fn err(s: &str) -> JunitError {
        parse_str(s).expect_err("should be refused")
    }

    #[test]
    fn a_timestamp_beyond_the_years_utc_can_hold_is_ignored() {
        let r = parse_str(
            r#"<testsuites timestamp="9999-12-31T23:59:59-23:59"><testsuite name="a"><testcase name="x"/></testsuite></testsuites>"#,
        )
        .unwrap();
        assert_eq!(r.timestamp, None);
        assert_eq!(r.cases.len(), 1);
    }

    #[test]
    fn statuses_come_from_the_children_of_each_case() {
        let r = parse_str(
            r#"<?xml version="1.0"?>
<testsuites tests="99" failures="0">
  <testsuite name="s" time="3.5">
    <testcase name="ok" classname="c" time="0.5"/>
    <testcase name="bad" time="1"><failure message="expected 1">trace</failure></testcase>
    <testcase name="boom"><error type="E">Traceback
second line</error></testcase>
    <testcase name="skip"><skipped/></testcase>
    <testcase name="both"><failure message="f"/><error message="e"/></testcase>
    <testcase name="flaky"><flakyFailure message="once"/><system-out>x</system-out></testcase>
  </testsuite>
</testsuites>"#,
        )
        .unwrap();
        let got: Vec<_> = r
            .cases
            .iter()
            .map(|c| (c.name.as_str(), c.status, c.message.as_deref()))
            .collect();
        use TestStatus::*;
        assert_eq!(
            got,
            vec![
                ("ok", Passed, None),
                ("bad", Failed, Some("expected 1")),
                ("boom", Error, Some("Traceback")),
                ("skip", Skipped, None),
                ("both", Error, Some("e")),
                ("flaky", Passed, None),
            ]
        );
        assert_eq!(r.cases[0].classname.as_deref(), Some("c"));
        assert_eq!(r.cases[0].time, Some(0.5));
        assert_eq!(r.time, Some(3.5));
        let t = r.totals();
        assert_eq!(
            (t.total, t.passed, t.failed, t.errors, t.skipped),
            (6, 2, 3, 2, 1)
        );
    }

    #[test]
    fn references_and_cdata_are_resolved() {
        let r = parse_str(
            "<testsuite><testcase name=\"a &amp; &lt;b&gt; &#x1F600; &#233;\">\
             <failure><![CDATA[<raw> & text]]></failure></testcase>\
             <testcase name=\"c\"><error>x &lt; y\nmore</error></testcase></testsuite>",
        )
        .unwrap();
        assert_eq!(r.cases[0].name, "a & <b> 😀 é");
        assert_eq!(r.cases[0].message.as_deref(), Some("<raw> & text"));
        assert_eq!(r.cases[1].message.as_deref(), Some("x < y"));
    }

    #[test]
    fn long_failure_text_is_cut_to_the_message_limit() {
        let body = "é".repeat(10_000);
        let r = parse_str(&format!(
            "<testsuite><testcase name=\"a\"><failure>{body}</failure></testcase></testsuite>"
        ))
        .unwrap();
        let m = r.cases[0].message.as_deref().unwrap();
        assert!(m.len() <= MAX_MESSAGE_BYTES && m.len() > MAX_MESSAGE_BYTES - 4);
        assert!(m.chars().all(|c| c == 'é'));
    }

    #[test]
    fn line_and_column_point_at_the_tag() {
        let e = err("<testsuite>\n  <testcase classname=\"x\"/>\n</testsuite>");
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(
            e.to_string(),
            "t.xml:2:3: a <testcase> without a name attribute"
        );
    }

    #[test]
    fn unclosed_elements_name_where_they_opened() {
        let e = err("<testsuites>\n<testsuite>\n  <testcase name=\"a\">\n");
        assert_eq!((e.line, e.column), (4, 1));
        assert!(
            e.message
                .contains("<testcase> (opened at line 3, column 3)"),
            "{e}"
        );
    }

    #[test]
    fn text_outside_the_root_is_refused() {
        let e = err("\n  hello <testsuite/>");
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.starts_with("not XML"), "{e}");
        let e = err("<testsuite/>\ntrailing");
        assert_eq!((e.line, e.column), (2, 1));
    }

    #[test]
    fn input_positions_survive_buffer_refills() {
        // Enough text before the error that the input buffer is refilled several times.
        let mut s = String::from("<testsuite>\n");
        for i in 0..20_000 {
            s.push_str(&format!(
                "<testcase name=\"t{i}\"><system-out>line\nline\n</system-out></testcase>\n"
            ));
        }
        s.push_str("<testcase/>");
        let e = err(&s);
        assert_eq!((e.line, e.column), (1 + 20_000 * 3 + 1, 1));
    }

    #[test]
    fn message_text_is_unescaped_leniently() {
        assert_eq!(
            unescape_lenient("a &lt;b&gt; &amp;amp; &#233;&#x1F600; &nbsp; &#xD800; & &am"),
            "a <b> &amp; é😀 &nbsp; &#xD800; & &am"
        );
        // A capture cut inside a character keeps what comes before it.
        assert_eq!(
            first_line("\n  é\u{1F600}".as_bytes().split_last().unwrap().1).as_deref(),
            Some("é")
        );
        assert_eq!(first_line(b" \n \n"), None);
    }

    #[test]
    fn times_and_timestamps() {
        assert_eq!(parse_seconds("1,234.5"), Some(1234.5));
        assert_eq!(parse_seconds(" 0.25 "), Some(0.25));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        assert_eq!(parse_seconds("0,5"), None);
        let t = parse_timestamp("2025-01-06T10:00:00").unwrap();
        assert_eq!(t, time::macros::datetime!(2025-01-06 10:00 UTC));
        let t = parse_timestamp("2025-01-06T10:00:00.5+02:00").unwrap();
        assert_eq!(t, time::macros::datetime!(2025-01-06 08:00:00.5 UTC));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
