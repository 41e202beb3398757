//! Operations as NDJSON (one JSON object per line) or as one JSON array, the format of
//! `mhd ingest operations` and `POST /api/v1/operations`.
//!
//! Every rejected record is reported with its line (and, in an array, its element index) and
//! the reason, naming the field when one field is at fault.

use mhd_core::limits::TimeLimits;
use mhd_core::{NewOperation, System};
use serde::Deserialize;

use crate::records::{self, describe};

/// One operation to record (`POST /api/v1/operations`, `mhd ingest operations`): what is
/// stored, with its time optional. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = NewOperation))]
#[serde(deny_unknown_fields)]
pub struct OperationInput {
    // Read as text by `mhd_core::time_parse::parse_timestamp`, for its messages.
    /// When it happened (RFC 3339). Default (absent or null): the time of the request.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    timestamp: Option<String>,
    /// What kind of operation: `migration`, `rollback`, `dataset_register`, ….
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    metric_type: String,
    /// The operation's name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    operation: String,
    /// The dataset it concerns, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    dataset_name: Option<String>,
    /// The component it concerns, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    component: Option<String>,
    /// Old or new system, if known.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = system_schema))]
    system: Option<System>,
    /// How long it took, in milliseconds.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    duration_ms: Option<f64>,
    /// Whether it succeeded.
    #[serde(default = "yes")]
    #[cfg_attr(feature = "openapi", schema(default = true))]
    success: bool,
    /// Rows it processed.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    row_count: Option<i64>,
    /// Why it failed.
    #[serde(default)]
    error_message: Option<String>,
    /// Free-form details, a JSON object of any shape.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_schema))]
    metadata: Option<serde_json::Value>,
}

/// The schema of `system`: old, new, or null (null among the values, so that 3.0's
/// validators take it).
#[cfg(feature = "openapi")]
fn system_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([
            serde_json::Value::from(System::Old.as_str()),
            System::New.as_str().into(),
            serde_json::Value::Null,
        ]))
        .description(Some("Old or new system, if known."))
        .build()
}

/// The schema of `metadata`: free-form, any JSON object (or null).
#[cfg(feature = "openapi")]
fn metadata_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        .description(Some("Free-form details, a JSON object of any shape."))
        .build()
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
