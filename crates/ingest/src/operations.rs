//! Operations as NDJSON (one JSON object per line) or as one JSON array, the format of
//! `mhd ingest operations` and `POST /api/v1/operations`.
//!
//! Every rejected record is reported with its line (and, in an array, its element index) and
//! the reason, naming the field when one field is at fault.

use mhd_core::limits::TimeLimits;
use mhd_core::{NewOperation, System};
use serde::Deserialize;

use crate::records::{self, describe};

/// One operation as written in the input: like [`NewOperation`], with the time optional
/// (it defaults to the moment of ingestion).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationInput {
    /// RFC 3339, read by [`mhd_core::time_parse::parse_timestamp`] for its messages.
    #[serde(default)]
    timestamp: Option<String>,
    metric_type: String,
    operation: String,
    #[serde(default)]
    dataset_name: Option<String>,
    #[serde(default)]
    component: Option<String>,
    #[serde(default)]
    system: Option<System>,
    #[serde(default)]
    duration_ms: Option<f64>,
    #[serde(default = "yes")]
    success: bool,
    #[serde(default)]
    row_count: Option<i64>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

fn yes() -> bool {
    true
}

pub use crate::records::{Rejected, looks_like_array};

/// Parses one JSON object into an operation, checking every rule; `limits.now` fills a
/// missing time, and a time past `limits.latest()` is refused.
pub fn parse_operation(json: &str, limits: TimeLimits) -> Result<NewOperation, String> {
    let input: OperationInput = serde_json::from_str(json).map_err(|e| describe(&e))?;
    let timestamp = records::timestamp(input.timestamp.as_deref(), limits)?;
    let op = NewOperation {
        timestamp,
        metric_type: input.metric_type,
        operation: input.operation,
        dataset_name: input.dataset_name,
        component: input.component,
        system: input.system,
        duration_ms: input.duration_ms,
        success: input.success,
        row_count: input.row_count,
        error_message: input.error_message,
        metadata: input.metadata,
        import_key: None,
    };
    op.validate().map_err(|e| e.to_string())?;
    Ok(op)
}

/// Parses one NDJSON line (1-based `line`). Blank lines give `None`.
pub fn parse_ndjson_line(
    text: &str,
    line: usize,
    limits: TimeLimits,
) -> Option<Result<NewOperation, Rejected>> {
    records::ndjson_line(text, line, |json| parse_operation(json, limits))
}

/// Parses a whole JSON array of operations, each element checked on its own.
///
/// Returns `Err` when the text is not a JSON array at all (with the line of the problem).
pub fn parse_array(
    text: &str,
    limits: TimeLimits,
) -> Result<Vec<Result<NewOperation, Rejected>>, Rejected> {
    records::array(text, "operations", |json| parse_operation(json, limits))
}

/// Parses a body of operations (array or NDJSON), all or nothing: see [`records::body`].
pub fn parse(text: &str, limits: TimeLimits) -> Result<Vec<NewOperation>, Vec<Rejected>> {
    records::body(text, "operations", |json| parse_operation(json, limits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-01 12:00 UTC);
    const AT: TimeLimits = TimeLimits {
        now: NOW,
        max_future: mhd_core::limits::DEFAULT_MAX_FUTURE,
    };

    #[test]
    fn a_full_record_parses() {
        let op = parse_operation(
            r#"{"timestamp":"2025-01-06T10:00:00+01:00","metric_type":"migration","operation":"migrate",
                "dataset_name":"sales","component":"storage","system":"new","duration_ms":12.5,
                "success":false,"row_count":10,"error_message":"disk full","metadata":{"k":1}}"#,
            AT,
        )
        .unwrap();
        assert_eq!(op.timestamp, datetime!(2025-01-06 09:00 UTC));
        assert_eq!(op.system, Some(System::New));
        assert!(!op.success);
        assert_eq!(op.metadata, Some(serde_json::json!({"k": 1})));
    }

    #[test]
    fn defaults_fill_time_and_success() {
        let op = parse_operation(r#"{"metric_type":"x","operation":"y"}"#, AT).unwrap();
        assert_eq!(op.timestamp, NOW);
        assert!(op.success);
    }

    #[test]
    fn rejections_name_the_field_or_place() {
        let cases = [
            (
                r#"{"metric_type":"x","operation":"y","colour":1}"#,
                "unknown field `colour`",
            ),
            (r#"{"operation":"y"}"#, "missing field `metric_type`"),
            (
                r#"{"metric_type":"x","operation":"y","system":"mid"}"#,
                "unknown variant `mid`",
            ),
            (
                r#"{"metric_type":"x","operation":"y","duration_ms":-3}"#,
                "duration_ms",
            ),
            (
                r#"{"metric_type":"x","operation":"y","timestamp":"yesterday"}"#,
                "field `timestamp`: \"yesterday\" is not a time",
            ),
            (
                r#"{"metric_type":"x","operation":"y","timestamp":"10000-01-01T00:00:00Z"}"#,
                "field `timestamp`: \"10000-01-01T00:00:00Z\": the year must have 4 digits",
            ),
            (
                r#"{"metric_type":"x","operation":"y","timestamp":"2025-03-03T00:00:00Z"}"#,
                "field `timestamp`: 2025-03-03T00:00:00Z is more than 1d in the future",
            ),
            (
                r#"{"metric_type":"x","operation":"y","metadata":[1]}"#,
                "metadata",
            ),
            (r#"{"metric_type":"","operation":"y"}"#, "metric_type"),
            (r#"{"metric_type":"x","operation":"y""#, "EOF"),
        ];
        for (json, want) in cases {
            let err = parse_operation(json, AT).unwrap_err();
            assert!(
                err.contains(want),
                "{json}: {err:?} should mention {want:?}"
            );
        }
    }

    #[test]
    fn ndjson_lines_keep_their_numbers_and_skip_blanks() {
        assert!(parse_ndjson_line("   ", 3, AT).is_none());
        let r = parse_ndjson_line("{nope}", 7, AT).unwrap().unwrap_err();
        assert_eq!(r.line, 7);
        assert!(r.to_string().starts_with("line 7: "));
    }

    #[test]
    fn array_elements_are_checked_one_by_one_with_their_lines() {
        let text = "[\n  {\"metric_type\":\"a\",\"operation\":\"b\"},\n  {\"metric_type\":\"a\"},\n  {\"metric_type\":\"c\",\"operation\":\"d\"}\n]";
        let out = parse_array(text, AT).unwrap();
        assert_eq!(out.len(), 3);
        assert!(out[0].is_ok() && out[2].is_ok());
        let bad = out[1].as_ref().unwrap_err();
        assert_eq!((bad.line, bad.index), (3, Some(1)));
        assert!(bad.reason.contains("operation"));
    }

    #[test]
    fn a_broken_array_is_rejected_whole() {
        let err = parse_array("[\n{\"metric_type\":\"a\",\"operation\":\"b\"},\n", AT).unwrap_err();
        assert_eq!(err.line, 3);
        assert!(looks_like_array(b"  \n [ "));
        assert!(!looks_like_array(b"{\"a\":1}"));
    }
}
