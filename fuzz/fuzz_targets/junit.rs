//! JUnit XML reports: any bytes either give a report or an error at a real place.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_ingest::junit::{self, MAX_NAME_BYTES};

fuzz_target!(|data: &[u8]| {
    match junit::parse(data, "fuzz.xml") {
        Ok(report) => {
            for case in &report.cases {
                assert!(
                    case.name.len() <= MAX_NAME_BYTES,
                    "a test name over the limit"
                );
                if let Some(class) = &case.classname {
                    assert!(class.len() <= MAX_NAME_BYTES, "a class name over the limit");
                }
                if let Some(t) = case.time {
                    assert!(!t.is_nan(), "a NaN test time");
                }
            }
            let totals = report.totals();
            assert_eq!(totals.total, report.cases.len() as u64);
            // Streaming gives the same report, case by case.
            let mut streamed = Vec::new();
            let head = junit::parse_each(data, "fuzz.xml", |c| streamed.push(c))
                .expect("parse_each refused what parse accepted");
            assert!(head.cases.is_empty());
            assert_eq!(streamed.len(), report.cases.len());
        }
        Err(e) => {
            assert!(e.line >= 1, "line {} in {e}", e.line);
            assert!(e.column >= 1, "column {} in {e}", e.column);
            assert_eq!(e.source_name, "fuzz.xml");
            assert!(!e.message.is_empty(), "an error without a message");
            // Errors never claim a line past the end of the input.
            // (Counting a lone carriage return as a line end too, as XML does.)
            let lines = 1 + data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64;
            assert!(e.line <= lines, "line {} of {lines} in {e}", e.line);
        }
    }
});
