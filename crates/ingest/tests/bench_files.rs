//! Golden tests of `mhd_ingest::bench` on files made by the real tools (see
//! `fixtures/bench/README.md`): sample counts, names, exact values, agreement with each tool's
//! own summary, and every malformed input's message with its place.

use std::path::{Path, PathBuf};

use mhd_core::System;
use mhd_core::perf::BenchmarkSamples;
use mhd_ingest::bench::{self, BenchError, Kind, Options, Place};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bench")
        .join(name)
}

/// How a fixture path appears in messages.
fn shown(name: &str) -> String {
    fixture(name).display().to_string()
}

fn system(s: System) -> Options {
    Options {
        system: Some(s),
        ..Options::default()
    }
}

fn read(name: &str, options: &Options) -> Result<Vec<BenchmarkSamples>, BenchError> {
    bench::read(&fixture(name), options)
}

fn error(name: &str, options: &Options) -> BenchError {
    match read(name, options) {
        Ok(s) => panic!("{name}: expected an error, got {} sample sets", s.len()),
        Err(e) => e,
    }
}

fn json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn assert_close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
        "{what}: {a} vs {b}"
    );
}

/// Equal to within one unit in the last place: serde_json's default number parser (without its
/// `float_roundtrip` feature) may be that far from the correctly rounded value of a decimal
/// with 17 significant digits, as hyperfine writes them.
fn assert_ulp(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= f64::EPSILON * want.abs(),
        "{got} vs {want}"
    );
}

// ---------------------------------------------------------------------------------------------
// hyperfine

#[test]
fn hyperfine_one_command() {
    assert_eq!(
        bench::detect(&fixture("hyperfine-one.json")),
        Ok(Kind::Hyperfine)
    );
    let s = read("hyperfine-one.json", &system(System::Old)).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].operation, "sleep 0.01");
    assert_eq!(s[0].system, System::Old);
    assert_eq!(s[0].component, None);
    assert_eq!(s[0].values_ms.len(), 10);
    // Seconds become milliseconds, in the order of the runs.
    assert_ulp(s[0].values_ms[0], 0.011898207000000001 * 1e3);
    assert_ulp(s[0].values_ms[9], 0.011307941 * 1e3);
    assert_close(
        mean(&s[0].values_ms),
        0.0116862955 * 1e3,
        "hyperfine's own mean",
    );
}

#[test]
fn hyperfine_operation_and_component_from_the_caller() {
    let options = Options {
        system: Some(System::New),
        operation: Some("dataset_register".into()),
        component: Some("storage".into()),
    };
    let s = read("hyperfine-one.json", &options).unwrap();
    assert_eq!(s[0].operation, "dataset_register");
    assert_eq!(s[0].component.as_deref(), Some("storage"));
    assert_eq!(s[0].system, System::New);
}

#[test]
fn hyperfine_every_run_of_every_command() {
    let s = read("hyperfine-two.json", &system(System::New)).unwrap();
    let names: Vec<&str> = s.iter().map(|s| s.operation.as_str()).collect();
    assert_eq!(names, ["sleep 0.01", "sleep 0.02"]);
    assert_eq!(
        s.iter().map(|s| s.values_ms.len()).collect::<Vec<_>>(),
        [10, 10]
    );
    assert_ulp(s[1].values_ms[0], 0.021654667000000002 * 1e3);
    let doc = json("hyperfine-two.json");
    for (i, samples) in s.iter().enumerate() {
        let r = &doc["results"][i];
        assert_close(
            mean(&samples.values_ms),
            r["mean"].as_f64().unwrap() * 1e3,
            "mean",
        );
        let min = samples
            .values_ms
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert_eq!(min, r["min"].as_f64().unwrap() * 1e3, "hyperfine's own min");
    }
}

#[test]
fn hyperfine_parameter_scan() {
    let s = read("hyperfine-params.json", &system(System::Old)).unwrap();
    let got: Vec<(&str, usize)> = s
        .iter()
        .map(|s| (s.operation.as_str(), s.values_ms.len()))
        .collect();
    assert_eq!(got, [("sleep 0.005", 5), ("sleep 0.015", 5)]);
    assert_ulp(s[1].values_ms[4], 0.017031871 * 1e3);
}

#[test]
fn hyperfine_refuses_one_name_for_several_commands() {
    let options = Options {
        system: Some(System::Old),
        operation: Some("x".into()),
        ..Options::default()
    };
    assert_eq!(
        error("hyperfine-two.json", &options).to_string(),
        format!(
            "{}: the file has 2 commands; --operation names only one",
            shown("hyperfine-two.json")
        )
    );
}

#[test]
fn hyperfine_needs_the_system() {
    assert_eq!(
        error("hyperfine-one.json", &Options::default()).to_string(),
        format!(
            "{}: a hyperfine export does not say which system it measured: give it (old or new, --system)",
            shown("hyperfine-one.json")
        )
    );
}

#[test]
fn hyperfine_malformed() {
    let cases = [
        (
            "malformed/hyperfine-truncated.json",
            Place::Line {
                line: 48,
                column: Some(19),
            },
            "not valid JSON: EOF while parsing a list",
        ),
        (
            "malformed/hyperfine-negative.json",
            Place::Json("results[1].times[5]".into()),
            "must be a finite number ≥ 0, not -0.5",
        ),
        (
            "malformed/hyperfine-null.json",
            Place::Json("results[0].times[3]".into()),
            "expected a number of seconds, found null",
        ),
    ];
    for (name, place, message) in cases {
        let e = error(name, &system(System::Old));
        assert_eq!(
            e,
            BenchError {
                file: shown(name),
                place: Some(place.clone()),
                message: message.into()
            },
            "{name}"
        );
        assert_eq!(
            e.to_string(),
            format!("{}: {place}: {message}", shown(name))
        );
    }
}

#[test]
fn hyperfine_structure_errors_name_the_json_path() {
    let opts = system(System::Old);
    let cases: [(&str, &str, &str); 7] = [
        (
            "{\"results\": {}}",
            "results",
            "expected an array of results, found an object",
        ),
        (
            "{\"results\": []}",
            "results",
            "empty: hyperfine measured no command",
        ),
        (
            "{\"results\": [7]}",
            "results[0]",
            "expected an object, found a number",
        ),
        (
            "{\"results\": [{\"times\": [1]}]}",
            "results[0].command",
            "missing",
        ),
        (
            "{\"results\": [{\"command\": 1, \"times\": [1]}]}",
            "results[0].command",
            "expected a string, found a number",
        ),
        (
            "{\"results\": [{\"command\": \"a\"}]}",
            "results[0].times",
            "missing",
        ),
        (
            "{\"results\": [{\"command\": \"a\", \"times\": []}]}",
            "results[0].times",
            "empty: no run was recorded",
        ),
    ];
    for (input, path, message) in cases {
        let e = bench::parse_hyperfine("h.json", input.as_bytes(), &opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("h.json: {path}: {message}"),
            "{input}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Criterion

#[test]
fn criterion_benchmark_folder() {
    for name in [
        "criterion/demo/sort_1k",
        "criterion/demo/sort_1k/new",
        "criterion/demo/sort_1k/new/sample.json",
    ] {
        assert_eq!(bench::detect(&fixture(name)), Ok(Kind::Criterion), "{name}");
        let s = read(name, &system(System::New)).unwrap();
        assert_eq!(s.len(), 1, "{name}");
        assert_eq!(
            s[0].operation, "demo/sort_1k",
            "{name}: benchmark.json's full_id"
        );
        assert_eq!(s[0].system, System::New);
        assert_eq!(s[0].values_ms.len(), 100);
        // Nanoseconds per batch of `iters` iterations → milliseconds per iteration.
        assert_eq!(s[0].values_ms[0], 197292.0 / 32.0 / 1e6);
        assert_eq!(s[0].values_ms[99], 23892837.0 / 3200.0 / 1e6);
        let estimate = json("criterion/demo/sort_1k/new/estimates.json")["mean"]["point_estimate"]
            .as_f64()
            .unwrap();
        assert_close(
            mean(&s[0].values_ms) * 1e6,
            estimate,
            "Criterion's mean estimate",
        );
    }
}

#[test]
fn criterion_flat_sampling_and_stand_alone_benchmark() {
    let s = read("criterion/flat/sum_1k", &system(System::Old)).unwrap();
    assert_eq!(
        (s[0].operation.as_str(), s[0].values_ms.len()),
        ("flat/sum_1k", 100)
    );
    assert_eq!(s[0].values_ms[0], 9606217.0 / 127843.0 / 1e6);
    let s = read("criterion/fill_1k", &system(System::Old)).unwrap();
    assert_eq!(
        (s[0].operation.as_str(), s[0].values_ms.len()),
        ("fill_1k", 100)
    );
    assert_eq!(s[0].values_ms[0], 189001.0 / 11377.0 / 1e6);
}

#[test]
fn criterion_folder_of_several_benchmarks() {
    let s = read("criterion", &system(System::Old)).unwrap();
    let got: Vec<(&str, usize)> = s
        .iter()
        .map(|s| (s.operation.as_str(), s.values_ms.len()))
        .collect();
    assert_eq!(
        got,
        [
            ("demo/sort_1k", 100),
            ("demo/sum_1k", 100),
            ("fill_1k", 100),
            ("flat/sum_1k", 100)
        ]
    );
    let s = read("criterion/demo", &system(System::Old)).unwrap();
    assert_eq!(s.len(), 2);
    let options = Options {
        system: Some(System::Old),
        operation: Some("x".into()),
        ..Options::default()
    };
    assert_eq!(
        error("criterion/demo", &options).to_string(),
        format!(
            "{}: the file has 2 benchmarks; --operation names only one",
            shown("criterion/demo")
        )
    );
    let options = Options {
        operation: Some("sorting".into()),
        ..options
    };
    assert_eq!(
        read("criterion/demo/sum_1k", &options).unwrap()[0].operation,
        "sorting"
    );
}

#[test]
fn criterion_without_benchmark_json_is_named_by_its_folder() {
    let dir = fixture("criterion/demo/sort_1k/new");
    let sample = std::fs::read(dir.join("sample.json")).unwrap();
    let estimates = std::fs::read(dir.join("estimates.json")).unwrap();
    let files = bench::CriterionFiles {
        sample: &sample,
        estimates: &estimates,
        benchmark: None,
    };
    let s = bench::parse_criterion(&dir, files, "sort_1k", &system(System::Old)).unwrap();
    assert_eq!((s.operation.as_str(), s.values_ms.len()), ("sort_1k", 100));
}

#[test]
fn criterion_malformed() {
    let opts = system(System::Old);
    let dir = |name: &str| fixture(&format!("malformed/criterion/{name}/new"));
    let e = error("malformed/criterion/no-estimates", &opts);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: missing: Criterion writes it beside sample.json, and it is needed to check the samples",
            dir("no-estimates").join("estimates.json").display()
        )
    );
    let e = error("malformed/criterion/mismatch", &opts);
    assert_eq!(
        e.file,
        dir("mismatch").join("estimates.json").display().to_string()
    );
    assert_eq!(e.place, Some(Place::Json("mean.point_estimate".into())));
    assert!(
        e.message
            .ends_with("ns: the files are not from the same run"),
        "{}",
        e.message
    );
    let e = error("malformed/criterion/zero-iters", &opts);
    assert_eq!(
        e.to_string(),
        format!(
            "{}: iters[3]: must be a finite number > 0, not 0",
            dir("zero-iters").join("sample.json").display()
        )
    );
    let empty = "malformed/criterion/empty";
    assert_eq!(
        bench::detect(&fixture(empty)).unwrap_err().to_string(),
        format!(
            "{}: not a hyperfine JSON export, a Criterion folder or a CSV file of operation,system,value_ms",
            shown(empty)
        )
    );
    assert_eq!(
        error("criterion/fill_1k", &Options::default()).to_string(),
        format!(
            "{}: a Criterion benchmark does not say which system it measured: give it (old or new, --system)",
            shown("criterion/fill_1k")
        )
    );
}

#[test]
fn criterion_sample_structure_errors() {
    let estimates = br#"{"mean": {"point_estimate": 1.0}}"#;
    let cases: [(&str, &str); 5] = [
        (
            r#"{"iters": [1.0], "times": [1.0, 2.0]}"#,
            "times: has 2 values but iters has 1",
        ),
        (
            r#"{"iters": [], "times": []}"#,
            "times: empty: no sample was recorded",
        ),
        (
            r#"{"sampling_mode": "Auto", "iters": [1.0], "times": [1.0]}"#,
            r#"sampling_mode: expected "Linear" or "Flat", found "Auto""#,
        ),
        (
            r#"{"iters": [1.0], "times": ["1"]}"#,
            "times[0]: expected a number of nanoseconds, found a string",
        ),
        (r#"{"times": [1.0]}"#, "iters: missing"),
    ];
    let dir = Path::new("b/new");
    for (sample, message) in cases {
        let files = bench::CriterionFiles {
            sample: sample.as_bytes(),
            estimates,
            benchmark: None,
        };
        let e = bench::parse_criterion(dir, files, "b", &system(System::Old)).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("{}: {message}", dir.join("sample.json").display()),
            "{sample}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_rows_grouped_by_operation_and_system() {
    assert_eq!(bench::detect(&fixture("timings.csv")), Ok(Kind::Csv));
    let options = Options {
        component: Some("storage".into()),
        ..Options::default()
    };
    let s = read("timings.csv", &options).unwrap();
    let got: Vec<(&str, System, &[f64])> = s
        .iter()
        .map(|s| (s.operation.as_str(), s.system, s.values_ms.as_slice()))
        .collect();
    assert_eq!(
        got,
        [
            ("dataset_register", System::Old, &[2300.5, 2410.25, 0.0][..]),
            ("dataset_register", System::New, &[1900.0, 1875.0][..]),
            ("query, by id", System::Old, &[12.5][..]),
            ("query, by id", System::New, &[9.75, 10.0][..]),
        ]
    );
    assert!(s.iter().all(|s| s.component.as_deref() == Some("storage")));
}

#[test]
fn csv_with_bom_and_crlf() {
    let text = "\u{feff}operation,system,value_ms\r\nread,old,1.5\r\nread,new,2\r\n";
    assert_eq!(
        bench::detect_content("t.csv", text.as_bytes()),
        Ok(Kind::Csv)
    );
    let s = bench::parse_csv("t.csv", text.as_bytes(), &Options::default()).unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].values_ms.as_slice(), s[1].values_ms.as_slice()),
        (&[1.5][..], &[2.0][..])
    );
}

#[test]
fn csv_malformed() {
    let cases = [
        (
            "malformed/bad-value.csv",
            "line 4, field `value_ms`: not a number: \"fast\"",
        ),
        (
            "malformed/bad-system.csv",
            "line 3, field `system`: must be \"old\" or \"new\", not \"newer\"",
        ),
        (
            "malformed/negative.csv",
            "line 4, field `value_ms`: must be a finite number ≥ 0, not -2",
        ),
        (
            "malformed/few-fields.csv",
            "line 3: expected 3 fields (operation,system,value_ms), found 2",
        ),
        (
            "malformed/unclosed-quote.csv",
            "line 2, column 1: the quote opened here is never closed",
        ),
        (
            "malformed/bad-header.csv",
            "line 1: the header must be operation,system,value_ms, not \"op,system,ms\"",
        ),
        ("malformed/header-only.csv", "no rows after the header"),
    ];
    for (name, message) in cases {
        assert_eq!(
            error(name, &Options::default()).to_string(),
            format!("{}: {message}", shown(name)),
            "{name}"
        );
    }
    let inline: [(&[u8], &str); 4] = [
        (
            b"operation,system,value_ms\n,old,1\n",
            "t.csv: line 2, field `operation`: empty",
        ),
        (
            b"operation,system,value_ms\nr,old,NaN\n",
            "t.csv: line 2, field `value_ms`: must be a finite number ≥ 0, not NaN",
        ),
        (
            b"operation,system,value_ms\nr,old,inf\n",
            "t.csv: line 2, field `value_ms`: must be a finite number ≥ 0, not inf",
        ),
        (
            b"operation,system,value_ms\nr,old,1\xff\n",
            "t.csv: line 2: not UTF-8 text",
        ),
    ];
    for (text, message) in inline {
        let e = bench::parse_csv("t.csv", text, &Options::default()).unwrap_err();
        assert_eq!(e.to_string(), message);
    }
}

#[test]
fn csv_refuses_system_and_operation_from_the_caller() {
    assert_eq!(
        error("timings.csv", &system(System::Old)).to_string(),
        format!(
            "{}: a CSV file names the operation and system on every row: leave out --system and --operation",
            shown("timings.csv")
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Unknown shapes

#[test]
fn unknown_shapes_are_refused() {
    for name in ["malformed/unknown.json", "malformed/unknown.txt"] {
        let want = format!(
            "{}: not a hyperfine JSON export, a Criterion folder or a CSV file of operation,system,value_ms",
            shown(name)
        );
        assert_eq!(bench::detect(&fixture(name)).unwrap_err().to_string(), want);
        assert_eq!(error(name, &system(System::Old)).to_string(), want);
    }
    let e = bench::detect(&fixture("malformed/hyperfine-truncated.json")).unwrap_err();
    assert_eq!(
        e.place,
        Some(Place::Line {
            line: 48,
            column: Some(19)
        })
    );
    let missing = bench::detect(&fixture("no-such-file.json")).unwrap_err();
    assert_eq!(missing.file, shown("no-such-file.json"));
    assert!(
        missing.message.contains("No such file"),
        "{}",
        missing.message
    );
}
