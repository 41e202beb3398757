//! Operations as NDJSON or a JSON array: every accepted operation validates, every rejection
//! names a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_ingest::operations;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = datetime!(2025-06-02 12:00 UTC);
    let lines = text.split('\n').count();
    let array = operations::looks_like_array(text.as_bytes());
    match operations::parse(text, mhd_core::limits::TimeLimits::at(now)) {
        Ok(ops) => {
            for op in &ops {
                op.validate()
                    .expect("an accepted operation does not validate");
            }
            if !array {
                let records = text.split('\n').filter(|l| !l.trim().is_empty()).count();
                assert_eq!(ops.len(), records, "NDJSON records lost or invented");
            }
        }
        Err(rejected) => {
            assert!(!rejected.is_empty(), "refused without a reason");
            for r in &rejected {
                assert!(
                    r.line >= 1 && r.line <= lines,
                    "line {} of {lines}: {r}",
                    r.line
                );
                assert!(!r.reason.is_empty(), "a rejection without a reason");
                if !array {
                    assert!(r.index.is_none(), "an NDJSON rejection with an index: {r}");
                }
            }
        }
    }
});
