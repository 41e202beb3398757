//! The plan file: any text either gives a plan that serializes or errors at real places.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_core::plan;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match plan::parse(source, "fuzz.toml") {
        Ok(plan) => {
            serde_json::to_string(&plan).expect("a parsed plan does not serialize");
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without a reason");
            let lines = source.split('\n').count();
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "place of {e}");
                assert!(e.line <= lines, "line {} of {lines} in {e}", e.line);
                assert_eq!(e.file, "fuzz.toml");
                assert!(!e.message.is_empty(), "an error without a message");
            }
            assert!(
                errors
                    .windows(2)
                    .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)),
                "errors not sorted by place"
            );
        }
    }
});
