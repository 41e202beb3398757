//! What every JSON record input shares (operations, samples): a body that is either NDJSON or
//! one JSON array, each record parsed on its own, and each rejected one reported with its line
//! (and, in an array, its element index) and the reason.

use serde_json::value::RawValue;

/// A record that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line of the input where the record starts.
    pub line: usize,
    /// For a JSON array, the 0-based index of the element.
    pub index: Option<usize>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "line {} (element {i}): {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Whether the input is a JSON array (its first non-blank byte is `[`) rather than NDJSON.
pub fn looks_like_array(start: &[u8]) -> bool {
    start.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// serde_json's message without its trailing "at line 1 column N" on one-line records, which
/// would contradict the line number of the input.
pub(crate) fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => format!("{} (column {})", &msg[..i], e.column()),
        None => msg,
    }
}

/// A record's `timestamp` field: RFC 3339 (or a date), not past `limits.latest()`; `None`
/// is the time of receipt, `limits.now`.
pub fn timestamp(
    text: Option<&str>,
    limits: mhd_core::limits::TimeLimits,
) -> Result<time::OffsetDateTime, String> {
    let Some(text) = text else {
        return Ok(limits.now);
    };
    let t = mhd_core::time_parse::parse_timestamp(text)
        .map_err(|e| format!("field `timestamp`: {e}"))?;
    limits
        .check(t)
        .map_err(|e| format!("field `timestamp`: {e}"))?;
    Ok(t)
}

/// One NDJSON line (1-based `line`) through `parse`. Blank lines give `None`.
pub fn ndjson_line<T>(
    text: &str,
    line: usize,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<Result<T, Rejected>> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    Some(parse(trimmed).map_err(|reason| Rejected {
        line,
        index: None,
        reason,
    }))
}

/// A whole JSON array of `what` (for the message), each element through `parse`.
///
/// Returns `Err` when the text is not a JSON array at all (with the line of the problem).
pub fn array<T>(
    text: &str,
    what: &str,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<Result<T, Rejected>>, Rejected> {
    let elements: Vec<&RawValue> = serde_json::from_str(text).map_err(|e| Rejected {
        line: e.line(),
        index: None,
        reason: format!("not a JSON array of {what}: {}", describe(&e)),
    })?;
    let base = text.as_ptr() as usize;
    let (mut line, mut counted) = (1, 0);
    Ok(elements
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            // Elements come in order: count the newlines since the previous one only.
            let offset = raw.get().as_ptr() as usize - base;
            line += text.as_bytes()[counted..offset]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            counted = offset;
            parse(raw.get()).map_err(|reason| Rejected {
                line,
                index: Some(index),
                reason,
            })
        })
        .collect())
}

/// A whole body, array or NDJSON, all or nothing: every record, or every rejected one (a body
/// that is not an array at all is one rejection).
pub fn body<T>(
    text: &str,
    what: &str,
    mut parse: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, Vec<Rejected>> {
    let parsed: Vec<Result<T, Rejected>> = if looks_like_array(text.as_bytes()) {
        array(text, what, parse).map_err(|e| vec![e])?
    } else {
        text.split('\n')
            .enumerate()
            .filter_map(|(i, line)| ndjson_line(line, i + 1, &mut parse))
            .collect()
    };
    let (mut records, mut rejected) = (Vec::with_capacity(parsed.len()), Vec::new());
    for p in parsed {
        match p {
            Ok(r) => records.push(r),
            Err(r) => rejected.push(r),
        }
    }
    if rejected.is_empty() {
        Ok(records)
    } else {
        Err(rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(s: &str) -> Result<i64, String> {
        s.parse().map_err(|_| format!("{s} is not a number"))
    }

    #[test]
    fn array_lines_count_from_each_element() {
        let out = array("[\n1,\n\n\"x\",\n3]", "numbers", number).unwrap();
        assert_eq!(out[0], Ok(1));
        assert_eq!(out[1].as_ref().unwrap_err().line, 4);
        assert_eq!(out[1].as_ref().unwrap_err().index, Some(1));
        assert_eq!(out[2], Ok(3));
    }

    #[test]
    fn bodies_are_all_or_nothing() {
        assert_eq!(body("1\n\n2\n", "numbers", number), Ok(vec![1, 2]));
        let bad = body("1\nx\n3\ny", "numbers", number).unwrap_err();
        assert_eq!(bad.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 4]);
        let broken = body("[1,", "numbers", number).unwrap_err();
        assert!(broken[0].reason.starts_with("not a JSON array of numbers"));
    }
}
