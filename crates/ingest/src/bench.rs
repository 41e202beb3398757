//! Benchmark timings (DESIGN §2 "Benchmark") from the three shapes `mhd ingest bench` and
//! `POST /api/v1/benchmarks` accept, as [`BenchmarkSamples`] in milliseconds:
//!
//! - **hyperfine** `--export-json`: every run of every command (`results[].times`, seconds),
//!   one [`BenchmarkSamples`] per command, named by the command;
//! - **Criterion**'s output folder (`target/criterion/<group>/<bench>/` or its `new/` folder, or
//!   a folder holding several benchmarks): `new/sample.json` gives, per sample, the time in
//!   nanoseconds of a batch of `iters` iterations, hence one value per sample of
//!   `times[i] / iters[i]` (the per-iteration time Criterion itself analyses); `estimates.json`
//!   beside it must be there and agree with it; `benchmark.json`'s `full_id` names it;
//! - **CSV** with the header `operation,system,value_ms`: one [`BenchmarkSamples`] per
//!   operation and system, in the order they first appear.
//!
//! hyperfine and Criterion do not record which system they measured: the caller says so
//! ([`Options::system`]). Every value must be a finite number ≥ 0; an input with one bad value
//! is refused whole, and the error names the file and the place: line and column for JSON
//! syntax, the JSON path (`results[2].times[5]`) for a bad value, line and field for CSV.
//!
//! The `parse_*` functions are pure (bytes in, samples out). [`detect`] and [`read`] add the
//! little file-system work the shapes need: telling a folder from a file and reading the files.

use std::fmt;
use std::path::{Path, PathBuf};

use mhd_core::System;
use mhd_core::limits::MAX_WHOLE_INPUT_BYTES;
use mhd_core::perf::BenchmarkSamples;
use serde_json::{Map, Value};

/// The header line a CSV file of timings starts with.
pub const CSV_HEADER: &str = "operation,system,value_ms";

/// Which shape an input has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// hyperfine's `--export-json` file.
    Hyperfine,
    /// A Criterion output folder (or its `sample.json`).
    Criterion,
    /// A CSV file of `operation,system,value_ms`.
    Csv,
}

impl Kind {
    /// A short name for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hyperfine => "hyperfine",
            Kind::Criterion => "criterion",
            Kind::Csv => "csv",
        }
    }
}

/// What the caller knows that the input may not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The system measured; required for hyperfine and Criterion, refused for CSV (whose rows
    /// say it).
    pub system: Option<System>,
    /// A name for the operation instead of the command or benchmark id; only for an input that
    /// holds exactly one command or benchmark.
    pub operation: Option<String>,
    /// The component every sample belongs to.
    pub component: Option<String>,
}

/// Where in an input a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A line (1-based) and, when known, a column (1-based).
    Line {
        /// The line.
        line: usize,
        /// The column, when known.
        column: Option<usize>,
    },
    /// A field of a CSV row.
    Field {
        /// The line (1-based).
        line: usize,
        /// The field's name from the header.
        field: &'static str,
    },
    /// A JSON path such as `results[2].times[5]`.
    Json(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line { line, column: None } => write!(f, "line {line}"),
            Place::Line {
                line,
                column: Some(c),
            } => write!(f, "line {line}, column {c}"),
            Place::Field { line, field } => write!(f, "line {line}, field `{field}`"),
            Place::Json(path) => f.write_str(path),
        }
    }
}

/// A refused input: the file, the place in it when there is one, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchError {
    /// The file (or folder) as the user named it.
    pub file: String,
    /// Where in it.
    pub place: Option<Place>,
    /// What is wrong.
    pub message: String,
}

impl BenchError {
    fn new(file: &str, place: Option<Place>, message: impl Into<String>) -> Self {
        BenchError {
            file: file.to_owned(),
            place,
            message: message.into(),
        }
    }

    fn at_json(file: &str, path: &JsonPath, message: impl Into<String>) -> Self {
        Self::new(file, Some(Place::Json(path.to_string())), message)
    }

    fn unknown_shape(file: &str) -> Self {
        Self::new(
            file,
            None,
            "not a hyperfine JSON export, a Criterion folder or a CSV file of operation,system,value_ms",
        )
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(p) => write!(f, "{}: {p}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for BenchError {}

// ---------------------------------------------------------------------------------------------
// Shape detection

/// Tells the shape of a file from its content: a JSON object with `results` is a hyperfine
/// export, one with `iters` and `times` a Criterion `sample.json`, text whose first line is
/// [`CSV_HEADER`] (or any file named `*.csv`) a CSV file. JSON that does not parse is reported
/// with its line and column; anything else is refused as an unknown shape.
pub fn detect_content(file: &str, bytes: &[u8]) -> Result<Kind, BenchError> {
    let text = strip_bom(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    if start.map(|i| text[i]) == Some(b'{') {
        let value: Value = serde_json::from_slice(text).map_err(|e| json_syntax(file, &e))?;
        return match value.as_object() {
            Some(o) if o.contains_key("results") => Ok(Kind::Hyperfine),
            Some(o) if o.contains_key("iters") && o.contains_key("times") => Ok(Kind::Criterion),
            _ => Err(BenchError::unknown_shape(file)),
        };
    }
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let is_csv_header = std::str::from_utf8(first_line).is_ok_and(|l| {
        l.trim_end_matches('\r')
            .split(',')
            .map(str::trim)
            .eq(CSV_HEADER.split(','))
    });
    let csv_name = Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv_header || (csv_name && start.is_some()) {
        Ok(Kind::Csv)
    } else {
        Err(BenchError::unknown_shape(file))
    }
}

/// Tells the shape of a path: a folder is a Criterion folder when it holds a benchmark
/// (`sample.json`, `new/sample.json`, or such folders below it); a file is told by
/// [`detect_content`].
pub fn detect(path: &Path) -> Result<Kind, BenchError> {
    let file = path.display().to_string();
    if path.is_dir() {
        return if criterion_folders(path).is_empty() {
            Err(BenchError::unknown_shape(&file))
        } else {
            Ok(Kind::Criterion)
        };
    }
    let bytes = read_file(path)?;
    detect_content(&file, &bytes)
}

/// Reads the benchmark at `path`, whatever its shape, into samples.
pub fn read(path: &Path, options: &Options) -> Result<Vec<BenchmarkSamples>, BenchError> {
    let file = path.display().to_string();
    if path.is_dir() {
        return read_criterion(path, options);
    }
    let bytes = read_file(path)?;
    match detect_content(&file, &bytes)? {
        Kind::Hyperfine => parse_hyperfine(&file, &bytes, options),
        Kind::Csv => parse_csv(&file, &bytes, options),
        // A `sample.json` named directly: its folder is the benchmark.
        Kind::Criterion => {
            let dir = path.parent().unwrap_or(Path::new("."));
            read_criterion(dir, options)
        }
    }
}

/// Reads a whole file of at most [`MAX_WHOLE_INPUT_BYTES`] (the API's body limit): a benchmark
/// file is read whole, so a larger one is refused rather than held in memory.
fn read_file(path: &Path) -> Result<Vec<u8>, BenchError> {
    use std::io::Read;
    let file = path.display().to_string();
    let err = |e: std::io::Error| BenchError::new(&file, None, e.to_string());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(err)?
        .take(MAX_WHOLE_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() > MAX_WHOLE_INPUT_BYTES {
        return Err(BenchError::new(
            &file,
            None,
            format!(
                "larger than {} MiB: a benchmark file is read whole, and at most {} MiB of it",
                MAX_WHOLE_INPUT_BYTES >> 20,
                MAX_WHOLE_INPUT_BYTES >> 20
            ),
        ));
    }
    Ok(bytes)
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A JSON syntax error at its line and column, without serde_json's own " at line … column …".
fn json_syntax(file: &str, e: &serde_json::Error) -> BenchError {
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    BenchError::new(
        file,
        Some(Place::Line {
            line: e.line(),
            column: Some(e.column().max(1)),
        }),
        format!("not valid JSON: {message}"),
    )
}

fn need_system(file: &str, options: &Options, what: &str) -> Result<System, BenchError> {
    options.system.ok_or_else(|| {
        BenchError::new(
            file,
            None,
            format!("{what} does not say which system it measured: give it (old or new, --system)"),
        )
    })
}

fn check_one_operation(
    file: &str,
    options: &Options,
    count: usize,
    what: &str,
) -> Result<(), BenchError> {
    if options.operation.is_some() && count != 1 {
        return Err(BenchError::new(
            file,
            None,
            format!("the file has {count} {what}; --operation names only one"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON helpers

/// A JSON path being walked, shown as `results[2].times[5]`.
#[derive(Debug, Clone, Default)]
struct JsonPath(Vec<Step>);

#[derive(Debug, Clone)]
enum Step {
    Key(&'static str),
    Index(usize),
}

impl JsonPath {
    fn key(&self, k: &'static str) -> JsonPath {
        let mut p = self.clone();
        p.0.push(Step::Key(k));
        p
    }
    fn index(&self, i: usize) -> JsonPath {
        let mut p = self.clone();
        p.0.push(Step::Index(i));
        p
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(k) if n == 0 => f.write_str(k)?,
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        if self.0.is_empty() {
            f.write_str("(top level)")?;
        }
        Ok(())
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn field<'v>(
    file: &str,
    obj: &'v Map<String, Value>,
    at: &JsonPath,
    key: &'static str,
) -> Result<&'v Value, BenchError> {
    obj.get(key)
        .ok_or_else(|| BenchError::at_json(file, &at.key(key), "missing"))
}

fn as_object<'v>(
    file: &str,
    v: &'v Value,
    at: &JsonPath,
) -> Result<&'v Map<String, Value>, BenchError> {
    v.as_object().ok_or_else(|| {
        BenchError::at_json(
            file,
            at,
            format!("expected an object, found {}", type_name(v)),
        )
    })
}

fn as_array<'v>(
    file: &str,
    v: &'v Value,
    at: &JsonPath,
    of: &str,
) -> Result<&'v [Value], BenchError> {
    v.as_array().map(Vec::as_slice).ok_or_else(|| {
        BenchError::at_json(
            file,
            at,
            format!("expected an array of {of}, found {}", type_name(v)),
        )
    })
}

/// A finite number ≥ 0 (or > 0 when `positive`), or an error at its path.
fn as_duration(
    file: &str,
    v: &Value,
    at: &JsonPath,
    unit: &str,
    positive: bool,
) -> Result<f64, BenchError> {
    let Some(x) = v.as_f64() else {
        return Err(BenchError::at_json(
            file,
            at,
            format!("expected a number of {unit}, found {}", type_name(v)),
        ));
    };
    let ok = x.is_finite() && if positive { x > 0.0 } else { x >= 0.0 };
    if !ok {
        let rule = if positive { "> 0" } else { "≥ 0" };
        return Err(BenchError::at_json(
            file,
            at,
            format!("must be a finite number {rule}, not {x}"),
        ));
    }
    Ok(x)
}

fn parse_json(file: &str, bytes: &[u8]) -> Result<Value, BenchError> {
    serde_json::from_slice(strip_bom(bytes)).map_err(|e| json_syntax(file, &e))
}

// ---------------------------------------------------------------------------------------------
// hyperfine

/// Parses hyperfine's `--export-json` output: one [`BenchmarkSamples`] per command, with every
/// run's time (`times`, in seconds) in milliseconds. [`Options::system`] is required;
/// [`Options::operation`] renames the command, allowed only when the file has exactly one.
pub fn parse_hyperfine(
    file: &str,
    bytes: &[u8],
    options: &Options,
) -> Result<Vec<BenchmarkSamples>, BenchError> {
    let system = need_system(file, options, "a hyperfine export")?;
    let root = parse_json(file, bytes)?;
    let top = JsonPath::default();
    let Some(obj) = root.as_object().filter(|o| o.contains_key("results")) else {
        return Err(BenchError::unknown_shape(file));
    };
    let at = top.key("results");
    let results = as_array(file, field(file, obj, &top, "results")?, &at, "results")?;
    if results.is_empty() {
        return Err(BenchError::at_json(
            file,
            &at,
            "empty: hyperfine measured no command",
        ));
    }
    check_one_operation(file, options, results.len(), "commands")?;
    let mut out = Vec::with_capacity(results.len());
    for (i, result) in results.iter().enumerate() {
        let at = at.index(i);
        let result = as_object(file, result, &at)?;
        let command = field(file, result, &at, "command")?;
        let command = command.as_str().ok_or_else(|| {
            BenchError::at_json(
                file,
                &at.key("command"),
                format!("expected a string, found {}", type_name(command)),
            )
        })?;
        let times_at = at.key("times");
        let times = as_array(
            file,
            field(file, result, &at, "times")?,
            &times_at,
            "seconds",
        )?;
        if times.is_empty() {
            return Err(BenchError::at_json(
                file,
                &times_at,
                "empty: no run was recorded",
            ));
        }
        let values_ms = times
            .iter()
            .enumerate()
            .map(|(j, t)| {
                as_duration(file, t, &times_at.index(j), "seconds", false).map(|s| s * 1e3)
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(BenchmarkSamples {
            operation: options
                .operation
                .clone()
                .unwrap_or_else(|| command.to_owned()),
            system,
            component: options.component.clone(),
            values_ms,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Criterion

/// The files of one Criterion benchmark folder (`…/<bench>/new/`), as bytes.
#[derive(Debug, Clone, Copy)]
pub struct CriterionFiles<'a> {
    /// `sample.json`: `sampling_mode`, `iters`, `times` (nanoseconds per batch).
    pub sample: &'a [u8],
    /// `estimates.json`; only its `mean.point_estimate` is read, to check it matches.
    pub estimates: &'a [u8],
    /// `benchmark.json`, when present: its `full_id` names the benchmark.
    pub benchmark: Option<&'a [u8]>,
}

/// Largest relative difference tolerated between `estimates.json`'s mean and the mean computed
/// from `sample.json`: they are the same arithmetic, so only rounding may separate them.
const ESTIMATE_TOLERANCE: f64 = 1e-6;

/// Parses one Criterion benchmark: per sample `times[i] / iters[i]` nanoseconds, in
/// milliseconds. `dir` is the folder the files came from (for messages); `fallback_name`
/// names the benchmark when neither [`Options::operation`] nor `benchmark.json` does.
/// Requires [`Options::system`].
pub fn parse_criterion(
    dir: &Path,
    files: CriterionFiles<'_>,
    fallback_name: &str,
    options: &Options,
) -> Result<BenchmarkSamples, BenchError> {
    let sample_file = dir.join("sample.json").display().to_string();
    let system = need_system(&dir.display().to_string(), options, "a Criterion benchmark")?;

    let root = parse_json(&sample_file, files.sample)?;
    let top = JsonPath::default();
    let obj = as_object(&sample_file, &root, &top)?;
    if let Some(mode) = obj.get("sampling_mode") {
        let at = top.key("sampling_mode");
        match mode.as_str() {
            Some("Linear" | "Flat") => {}
            _ => {
                return Err(BenchError::at_json(
                    &sample_file,
                    &at,
                    format!("expected \"Linear\" or \"Flat\", found {mode}"),
                ));
            }
        }
    }
    let (iters_at, times_at) = (top.key("iters"), top.key("times"));
    let iters = as_array(
        &sample_file,
        field(&sample_file, obj, &top, "iters")?,
        &iters_at,
        "iteration counts",
    )?;
    let times = as_array(
        &sample_file,
        field(&sample_file, obj, &top, "times")?,
        &times_at,
        "nanoseconds",
    )?;
    if iters.len() != times.len() {
        return Err(BenchError::at_json(
            &sample_file,
            &times_at,
            format!("has {} values but iters has {}", times.len(), iters.len()),
        ));
    }
    if times.is_empty() {
        return Err(BenchError::at_json(
            &sample_file,
            &times_at,
            "empty: no sample was recorded",
        ));
    }
    let mut per_iter_ns = Vec::with_capacity(times.len());
    for (i, (n, t)) in iters.iter().zip(times).enumerate() {
        let n = as_duration(&sample_file, n, &iters_at.index(i), "iterations", true)?;
        let t = as_duration(&sample_file, t, &times_at.index(i), "nanoseconds", false)?;
        per_iter_ns.push(t / n);
    }

    check_estimates(dir, files.estimates, &per_iter_ns)?;
    let name = match (&options.operation, files.benchmark) {
        (Some(op), _) => op.clone(),
        (None, Some(b)) => benchmark_name(dir, b)?.unwrap_or_else(|| fallback_name.to_owned()),
        (None, None) => fallback_name.to_owned(),
    };
    Ok(BenchmarkSamples {
        operation: name,
        system,
        component: options.component.clone(),
        values_ms: per_iter_ns.iter().map(|ns| ns / 1e6).collect(),
    })
}

/// `estimates.json`'s mean must be the mean of the per-iteration times: Criterion computes
/// its point estimate from exactly these values, so a difference means the files come from
/// different runs (an interrupted `cargo bench`, files copied from two places).
fn check_estimates(dir: &Path, bytes: &[u8], per_iter_ns: &[f64]) -> Result<(), BenchError> {
    let file = dir.join("estimates.json").display().to_string();
    let root = parse_json(&file, bytes)?;
    let top = JsonPath::default();
    let obj = as_object(&file, &root, &top)?;
    let mean_at = top.key("mean");
    let mean = as_object(&file, field(&file, obj, &top, "mean")?, &mean_at)?;
    let at = mean_at.key("point_estimate");
    let estimate = as_duration(
        &file,
        field(&file, mean, &mean_at, "point_estimate")?,
        &at,
        "nanoseconds",
        false,
    )?;
    let computed = per_iter_ns.iter().sum::<f64>() / per_iter_ns.len() as f64;
    let diff = (estimate - computed).abs();
    if diff > ESTIMATE_TOLERANCE * estimate.abs().max(computed.abs()) {
        return Err(BenchError::at_json(
            &file,
            &at,
            format!(
                "{estimate} ns, but the mean of sample.json is {computed} ns: the files are not from the same run"
            ),
        ));
    }
    Ok(())
}

/// `benchmark.json`'s `full_id` (or `title`), if it has one.
fn benchmark_name(dir: &Path, bytes: &[u8]) -> Result<Option<String>, BenchError> {
    let file = dir.join("benchmark.json").display().to_string();
    let root = parse_json(&file, bytes)?;
    let obj = as_object(&file, &root, &JsonPath::default())?;
    Ok(["full_id", "title"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_owned))
}

/// Deepest folder below a Criterion root searched for benchmarks (`<group>/<function>/<value>`
/// plus `new/` fits well within it).
const MAX_CRITERION_DEPTH: usize = 6;

/// The benchmark folders (each holding `sample.json`) at or below `path`, sorted: the folder
/// itself, its `new/`, or every `new/` below it, never Criterion's `base/`, `change/` or
/// `report/`.
fn criterion_folders(path: &Path) -> Vec<PathBuf> {
    if path.join("sample.json").is_file() {
        return vec![path.to_owned()];
    }
    let mut found = Vec::new();
    collect_new_folders(path, 0, &mut found);
    found.sort();
    found
}

fn collect_new_folders(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let new = dir.join("new");
    if new.join("sample.json").is_file() {
        found.push(new);
        return;
    }
    if depth >= MAX_CRITERION_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if matches!(name.to_str(), Some("report" | "base" | "change")) {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_new_folders(&entry.path(), depth + 1, found);
        }
    }
}

/// The name of a benchmark folder without `benchmark.json`: its path below `root`, less `new`.
fn fallback_name(root: &Path, folder: &Path) -> String {
    let bench = if folder.file_name().is_some_and(|n| n == "new") {
        folder.parent().unwrap_or(folder)
    } else {
        folder
    };
    let rel = bench.strip_prefix(root).unwrap_or(bench);
    let name = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if name.is_empty() {
        bench
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| bench.display().to_string())
    } else {
        name
    }
}

fn read_criterion(root: &Path, options: &Options) -> Result<Vec<BenchmarkSamples>, BenchError> {
    let root_name = root.display().to_string();
    let folders = criterion_folders(root);
    if folders.is_empty() {
        return Err(BenchError::unknown_shape(&root_name));
    }
    need_system(&root_name, options, "a Criterion benchmark")?;
    check_one_operation(&root_name, options, folders.len(), "benchmarks")?;
    let mut out = Vec::with_capacity(folders.len());
    for dir in &folders {
        let sample = read_file(&dir.join("sample.json"))?;
        let estimates_path = dir.join("estimates.json");
        if !estimates_path.is_file() {
            return Err(BenchError::new(
                &estimates_path.display().to_string(),
                None,
                "missing: Criterion writes it beside sample.json, and it is needed to check the samples",
            ));
        }
        let estimates = read_file(&estimates_path)?;
        let benchmark_path = dir.join("benchmark.json");
        let benchmark = if benchmark_path.is_file() {
            Some(read_file(&benchmark_path)?)
        } else {
            None
        };
        let files = CriterionFiles {
            sample: &sample,
            estimates: &estimates,
            benchmark: benchmark.as_deref(),
        };
        out.push(parse_criterion(
            dir,
            files,
            &fallback_name(root, dir),
            options,
        )?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// CSV

/// Parses a CSV file whose header is [`CSV_HEADER`]: one row per run, `system` `old` or `new`,
/// `value_ms` a finite number ≥ 0. Fields may be quoted (`"a,b"`, `""` for a quote); blank
/// lines are skipped. Gives one [`BenchmarkSamples`] per (operation, system) in the order they
/// first appear. [`Options::system`] and [`Options::operation`] are refused: the rows say them.
pub fn parse_csv(
    file: &str,
    bytes: &[u8],
    options: &Options,
) -> Result<Vec<BenchmarkSamples>, BenchError> {
    if options.system.is_some() || options.operation.is_some() {
        return Err(BenchError::new(
            file,
            None,
            "a CSV file names the operation and system on every row: leave out --system and --operation",
        ));
    }
    let bytes = strip_bom(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        BenchError::new(
            file,
            Some(Place::Line { line, column: None }),
            "not UTF-8 text",
        )
    })?;
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or_default();
    let header_ok =
        split_csv_line(header).is_ok_and(|f| f.iter().map(|s| s.trim()).eq(CSV_HEADER.split(',')));
    if !header_ok {
        return Err(BenchError::new(
            file,
            Some(Place::Line {
                line: 1,
                column: None,
            }),
            format!("the header must be {CSV_HEADER}, not {header:?}"),
        ));
    }

    let mut out: Vec<BenchmarkSamples> = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(|(column, message)| {
            BenchError::new(
                file,
                Some(Place::Line {
                    line: line_no,
                    column: Some(column),
                }),
                message,
            )
        })?;
        let [operation, system, value] = fields.as_slice() else {
            return Err(BenchError::new(
                file,
                Some(Place::Line {
                    line: line_no,
                    column: None,
                }),
                format!("expected 3 fields ({CSV_HEADER}), found {}", fields.len()),
            ));
        };
        let at = |field| {
            Some(Place::Field {
                line: line_no,
                field,
            })
        };
        let operation = operation.trim();
        if operation.is_empty() {
            return Err(BenchError::new(file, at("operation"), "empty"));
        }
        let system = match system.trim() {
            "old" => System::Old,
            "new" => System::New,
            other => {
                return Err(BenchError::new(
                    file,
                    at("system"),
                    format!("must be \"old\" or \"new\", not {other:?}"),
                ));
            }
        };
        let value_text = value.trim();
        let value: f64 = value_text.parse().map_err(|_| {
            BenchError::new(
                file,
                at("value_ms"),
                format!("not a number: {value_text:?}"),
            )
        })?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(BenchError::new(
                file,
                at("value_ms"),
                format!("must be a finite number ≥ 0, not {value_text}"),
            ));
        }
        match out
            .iter_mut()
            .find(|s| s.operation == operation && s.system == system)
        {
            Some(s) => s.values_ms.push(value),
            None => out.push(BenchmarkSamples {
                operation: operation.to_owned(),
                system,
                component: options.component.clone(),
                values_ms: vec![value],
            }),
        }
    }
    if out.is_empty() {
        return Err(BenchError::new(file, None, "no rows after the header"));
    }
    Ok(out)
}

/// Splits one CSV line into fields, honouring double quotes; an error carries the 1-based
/// column (in characters) where it was found.
fn split_csv_line(line: &str) -> Result<Vec<String>, (usize, String)> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().enumerate().peekable();
    let mut quoted = false;
    let mut quote_start = 0;
    let mut after_quote = false;
    while let Some((col, c)) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek().is_some_and(|(_, n)| *n == '"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    after_quote = true;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(std::mem::take(&mut field));
                after_quote = false;
            }
            '"' if field.trim().is_empty() && !after_quote => {
                field.clear();
                quoted = true;
                quote_start = col + 1;
            }
            c if after_quote && !c.is_whitespace() => {
                return Err((col + 1, "text after a closing quote".to_owned()));
            }
            '"' => return Err((col + 1, "a quote inside an unquoted field".to_owned())),
            c => field.push(c),
        }
    }
    if quoted {
        return Err((
            quote_start,
            "the quote opened here is never closed".to_owned(),
        ));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_is_refused_at_line_1_column_1() {
        let options = Options {
            system: Some(System::Old),
            ..Options::default()
        };
        let e = parse_hyperfine("h.json", b"", &options).unwrap_err();
        assert_eq!(
            e.place,
            Some(Place::Line {
                line: 1,
                column: Some(1)
            }),
            "{e}"
        );
    }

    #[test]
    fn csv_fields_split_with_quotes() {
        assert_eq!(split_csv_line("a,b,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            split_csv_line("\"a,b\",old,1").unwrap(),
            ["a,b", "old", "1"]
        );
        assert_eq!(
            split_csv_line("\"say \"\"hi\"\"\",new,2").unwrap(),
            ["say \"hi\"", "new", "2"]
        );
        assert_eq!(split_csv_line(",,").unwrap(), ["", "", ""]);
        assert_eq!(split_csv_line("\"open,old,1").unwrap_err().0, 1);
        assert_eq!(split_csv_line("ab\"c,old,1").unwrap_err().0, 3);
        assert_eq!(split_csv_line("\"a\"x,old,1").unwrap_err().0, 4);
    }

    #[test]
    fn json_paths_read_like_the_input() {
        let p = JsonPath::default()
            .key("results")
            .index(2)
            .key("times")
            .index(5);
        assert_eq!(p.to_string(), "results[2].times[5]");
        assert_eq!(JsonPath::default().to_string(), "(top level)");
    }

    #[test]
    fn detection_by_content() {
        let d = |name: &str, s: &str| detect_content(name, s.as_bytes());
        assert_eq!(d("x", "{\"results\": []}"), Ok(Kind::Hyperfine));
        assert_eq!(
            d("x", " \n{\"iters\": [1], \"times\": [2]}"),
            Ok(Kind::Criterion)
        );
        assert_eq!(
            d("x", "operation,system,value_ms\nread,old,1\n"),
            Ok(Kind::Csv)
        );
        assert_eq!(
            d("x", "\u{feff}operation , system , value_ms\r\n"),
            Ok(Kind::Csv)
        );
        assert_eq!(d("x.csv", "op,sys,v\n"), Ok(Kind::Csv));
        assert_eq!(
            d("x.csv", "").unwrap_err(),
            BenchError::unknown_shape("x.csv")
        );
        assert_eq!(
            d("x", "{\"other\": 1}").unwrap_err(),
            BenchError::unknown_shape("x")
        );
        assert_eq!(
            d("x.txt", "hello").unwrap_err(),
            BenchError::unknown_shape("x.txt")
        );
        let e = d("x.json", "{\n  \"results\": [\n").unwrap_err();
        assert_eq!(
            e.place,
            Some(Place::Line {
                line: 3,
                column: Some(1)
            })
        );
    }

    #[test]
    fn hyperfine_needs_a_system() {
        let e = parse_hyperfine("h.json", b"{\"results\": []}", &Options::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "h.json: a hyperfine export does not say which system it measured: give it (old or new, --system)"
        );
    }
}
