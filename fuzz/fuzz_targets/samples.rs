//! Samples as NDJSON or a JSON array: every accepted sample validates, every rejection names a
//! line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_ingest::samples;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = datetime!(2025-06-02 12:00 UTC);
    let lines = text.split('\n').count();
    match samples::parse(text, mhd_core::limits::TimeLimits::at(now)) {
        Ok(list) => {
            for s in &list {
                s.validate().expect("an accepted sample does not validate");
                assert!(s.value.is_finite(), "a sample that is not finite");
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
            }
        }
    }
});
