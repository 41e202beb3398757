//! Samples as NDJSON (one JSON object per line) or as one JSON array, the format of
//! `POST /api/v1/samples`, read like [`crate::operations`].
//!
//! Every rejected record is reported with its line (and, in an array, its element index) and
//! the reason, naming the field when one field is at fault.

use std::collections::BTreeMap;

use mhd_core::limits::TimeLimits;
use mhd_core::sample::Sample;
use serde::Deserialize;

use crate::records::{self, describe};
pub use crate::records::{Rejected, looks_like_array};

/// One sample to record (`POST /api/v1/samples`): a point of a time series, with its time
/// optional. Unknown fields are refused.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Sample))]
#[serde(deny_unknown_fields)]
pub struct SampleInput {
    // Read as text by `mhd_core::time_parse::parse_timestamp`, for its messages.
    /// When it was measured (RFC 3339). Default (absent or null): the time of the request.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    timestamp: Option<String>,
    // The limits are `mhd_core::sample::MAX_NAME_LEN` and `MAX_LABELS`.
    /// The metric's name: letters, digits, `_`, `.` and `:`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_.:]{1,200}$"))]
    metric: String,
    /// The value, a finite number.
    value: f64,
    /// The unit of the value, such as `%` or `bytes`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    unit: Option<String>,
    /// The plan component it belongs to, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    component: Option<String>,
    /// Labels telling the series apart, such as `{"process": "worker-3"}`: at most 32, each
    /// value at most 200 characters.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = json!({})))]
    labels: BTreeMap<String, String>,
}

/// Parses one JSON object into a sample, checking every rule; `limits.now` fills a missing
/// time, and a time past `limits.latest()` is refused.
pub fn parse_sample(json: &str, limits: TimeLimits) -> Result<Sample, String> {
    let input: SampleInput = serde_json::from_str(json).map_err(|e| describe(&e))?;
    let sample = Sample {
        timestamp: records::timestamp(input.timestamp.as_deref(), limits)?,
        metric: input.metric,
        value: input.value,
        unit: input.unit,
        component: input.component,
        labels: input.labels,
    };
    sample.validate().map_err(|e| e.to_string())?;
    Ok(sample)
}

/// Parses one NDJSON line (1-based `line`). Blank lines give `None`.
pub fn parse_ndjson_line(
    text: &str,
    line: usize,
    limits: TimeLimits,
) -> Option<Result<Sample, Rejected>> {
    records::ndjson_line(text, line, |json| parse_sample(json, limits))
}

/// Parses a whole JSON array of samples, each element checked on its own.
///
/// Returns `Err` when the text is not a JSON array at all (with the line of the problem).
pub fn parse_array(
    text: &str,
    limits: TimeLimits,
) -> Result<Vec<Result<Sample, Rejected>>, Rejected> {
    records::array(text, "samples", |json| parse_sample(json, limits))
}

/// Parses a body of samples (array or NDJSON), all or nothing: see [`records::body`].
pub fn parse(text: &str, limits: TimeLimits) -> Result<Vec<Sample>, Vec<Rejected>> {
    records::body(text, "samples", |json| parse_sample(json, limits))
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
        let s = parse_sample(
            r#"{"timestamp":"2025-03-01T13:00:00+01:00","metric":"process_cpu_percent","value":85.5,
                "unit":"%","component":"storage","labels":{"process":"worker-3","host":"a"}}"#,
            AT,
        )
        .unwrap();
        assert_eq!(s.timestamp, NOW);
        assert_eq!(s.metric, "process_cpu_percent");
        assert_eq!(s.value, 85.5);
        assert_eq!(s.unit.as_deref(), Some("%"));
        assert_eq!(s.component.as_deref(), Some("storage"));
        assert_eq!(s.labels["process"], "worker-3");
        assert_eq!(s.labels.len(), 2);
    }

    #[test]
    fn defaults_fill_time_and_labels() {
        let s = parse_sample(r#"{"metric":"cpu_percent","value":3}"#, AT).unwrap();
        assert_eq!(s, Sample::new(NOW, "cpu_percent", 3.0));
    }

    #[test]
    fn rejections_name_the_field_or_place() {
        let cases = [
            (
                r#"{"metric":"x","value":1,"colour":1}"#,
                "unknown field `colour`",
            ),
            (r#"{"value":1}"#, "missing field `metric`"),
            (r#"{"metric":"x"}"#, "missing field `value`"),
            (r#"{"metric":"x","value":"high"}"#, "invalid type"),
            (r#"{"metric":"x","value":null}"#, "invalid type"),
            (r#"{"metric":"cpu %","value":1}"#, "metric"),
            (r#"{"metric":"","value":1}"#, "metric"),
            (
                r#"{"metric":"x","value":1,"labels":{"a":1}}"#,
                "invalid type",
            ),
            (r#"{"metric":"x","value":1,"labels":{"":"v"}}"#, "labels"),
            (
                r#"{"metric":"x","value":1,"timestamp":"now"}"#,
                "field `timestamp`: \"now\" is not a time",
            ),
            (
                r#"{"metric":"x","value":1,"timestamp":"1960-01-01T00:00:00Z"}"#,
                "timestamp",
            ),
            (r#"{"metric":"x","value":1"#, "EOF"),
        ];
        for (json, want) in cases {
            let err = parse_sample(json, AT).unwrap_err();
            assert!(
                err.contains(want),
                "{json}: {err:?} should mention {want:?}"
            );
        }
    }

    #[test]
    fn ndjson_lines_keep_their_numbers_and_skip_blanks() {
        let text = "{\"metric\":\"a\",\"value\":1}\n\n{\"metric\":\"b\"}\r\n{\"metric\":\"c\",\"value\":2}\n";
        let err = parse(text, AT).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!((err[0].line, err[0].index), (3, None));
        assert!(err[0].to_string().starts_with("line 3: "));
        let ok = parse(
            "{\"metric\":\"a\",\"value\":1}\n\n{\"metric\":\"b\",\"value\":2}",
            AT,
        )
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].metric, "b");
    }

    #[test]
    fn array_elements_are_checked_one_by_one_with_their_lines() {
        let text = "[\n  {\"metric\":\"a\",\"value\":1},\n  {\"metric\":\"a\"},\n  {\"metric\":\"c\",\"value\":1},\n  {\"metric\":\"d d\",\"value\":1}\n]";
        let out = parse_array(text, AT).unwrap();
        assert_eq!(out.len(), 4);
        assert!(out[0].is_ok() && out[2].is_ok());
        let bad = out[1].as_ref().unwrap_err();
        assert_eq!((bad.line, bad.index), (3, Some(1)));
        assert!(bad.reason.contains("value"));
        let bad = out[3].as_ref().unwrap_err();
        assert_eq!((bad.line, bad.index), (5, Some(3)));
        let all = parse(text, AT).unwrap_err();
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn a_broken_array_is_rejected_whole() {
        let err = parse("[\n{\"metric\":\"a\",\"value\":1},\n", AT).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 3);
        assert!(err[0].reason.contains("not a JSON array of samples"));
    }

    #[test]
    fn an_empty_body_holds_no_samples() {
        assert_eq!(parse("", AT).unwrap(), vec![]);
        assert_eq!(parse("[]", AT).unwrap(), vec![]);
    }
}
