//! MDM's Python literals and timestamps: literals become JSON that round-trips, timestamps
//! become UTC times, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mhd_ingest::mdm::{self, MdmTime};
use serde_json::Value;
use time::UtcOffset;

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(v) = mdm::parse_python_literal(text) {
        let json = serde_json::to_string(&v).expect("a literal's JSON does not serialize");
        let back: Value = serde_json::from_str(&json).expect("a literal's JSON does not read back");
        assert!(
            same(&back, &v),
            "JSON of {text:?} does not round-trip: {back} / {v}"
        );
    }
    if let Some(v) = mdm::metadata_to_json(Some(text)) {
        assert!(
            matches!(v, Value::Object(_) | Value::String(_)),
            "metadata {v}"
        );
    }

    // The first byte picks the local zone of naive times, -23:45 to +23:45 by quarter hours.
    let quarters = i32::from(head % 191) - 95;
    let local = UtcOffset::from_whole_seconds(quarters * 900).expect("offset in range");
    let parsed = mdm::parse_mdm_datetime(text);
    let utc = mdm::parse_mdm_timestamp(text, local);
    // A time that parses may still be refused when it falls outside the years UTC can hold.
    assert!(
        parsed.is_ok() || utc.is_err(),
        "{text:?}: {parsed:?} / {utc:?}"
    );
    if let (Ok(p), Ok(t)) = (parsed, utc) {
        assert_eq!(t.offset(), UtcOffset::UTC);
        let expected = match p {
            MdmTime::Naive(n) => n.assume_offset(local),
            MdmTime::Aware(a) => a,
        };
        assert_eq!(t, expected, "{text:?}");
    }
});

/// Equal JSON, numbers within one unit in the last place: serde_json's default float reading is
/// fast rather than exact, so a float written as its shortest form may read back one ulp off.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs())
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
