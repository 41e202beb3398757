//! Benchmark files (hyperfine JSON, CSV, Criterion's files, and telling them apart): any bytes
//! give samples of finite, non-negative milliseconds, or an error naming the file and a real
//! place.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mhd_core::System;
use mhd_core::perf::BenchmarkSamples;
use mhd_ingest::bench::{self, BenchError, CriterionFiles, Options, Place};

/// Separates the Criterion files in one input: `sample.json`, `estimates.json`, `benchmark.json`.
const SEPARATOR: &[u8] = b"\n@@\n";

fn check_error(e: &BenchError, file: &str, data: &[u8]) {
    assert_eq!(e.file, file, "{e}");
    assert!(!e.message.is_empty(), "an error without a message: {e}");
    let lines = 1 + data.iter().filter(|&&b| b == b'\n').count();
    match &e.place {
        Some(Place::Line { line, column }) => {
            assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {e}");
            assert!(column.is_none_or(|c| c >= 1), "{e}");
        }
        Some(Place::Field { line, .. }) => {
            assert!(*line >= 1 && *line <= lines, "line {line} of {lines}: {e}")
        }
        Some(Place::Json(_)) | None => {}
    }
}

fn check_samples(list: &[BenchmarkSamples]) {
    for s in list {
        assert!(
            !s.values_ms.is_empty(),
            "a benchmark without runs: {}",
            s.operation
        );
        for v in &s.values_ms {
            assert!(v.is_finite() && *v >= 0.0, "{v} ms in {}", s.operation);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let with_system = Options {
        system: Some(System::New),
        ..Options::default()
    };
    let _ =
        bench::detect_content("fuzz.json", data).map_err(|e| check_error(&e, "fuzz.json", data));
    let _ = bench::detect_content("fuzz.csv", data).map_err(|e| check_error(&e, "fuzz.csv", data));

    match bench::parse_hyperfine("fuzz.json", data, &with_system) {
        Ok(list) => {
            check_samples(&list);
            assert!(list.iter().all(|s| s.system == System::New));
        }
        Err(e) => check_error(&e, "fuzz.json", data),
    }
    match bench::parse_csv("fuzz.csv", data, &Options::default()) {
        Ok(list) => check_samples(&list),
        Err(e) => check_error(&e, "fuzz.csv", data),
    }

    let mut parts = split(data);
    let sample = parts.next().unwrap_or_default();
    let estimates = parts.next().unwrap_or_default();
    let benchmark = parts.next();
    let files = CriterionFiles {
        sample,
        estimates,
        benchmark,
    };
    match bench::parse_criterion(Path::new("fuzz"), files, "fallback", &with_system) {
        Ok(s) => check_samples(std::slice::from_ref(&s)),
        Err(e) => {
            assert!(e.file.starts_with("fuzz"), "{e}");
            assert!(!e.message.is_empty(), "{e}");
        }
    }
});

fn split(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => {
                rest = Some(&r[i + SEPARATOR.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}
