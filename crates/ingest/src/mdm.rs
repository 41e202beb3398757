//! MDM's `metrics.db`: the pieces of a row that need reading before it becomes an operation —
//! the `metadata` column (Python's `str(dict)`, not JSON), the `timestamp` column (Python's
//! default `datetime` adapter, naive local time) and the row's identity for idempotent imports.
//!
//! Reading the database file itself is `mhd_store::mdm`'s job; this module is pure.

use serde_json::{Map, Number, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Deepest nesting of containers [`parse_python_literal`] accepts, so hostile input cannot
/// exhaust the stack.
pub const MAX_DEPTH: usize = 128;

/// Parses a Python literal as `repr()` writes it — what MDM stores as `str(metadata_dict)` —
/// into JSON.
///
/// Accepted: dicts with string keys, lists, tuples and sets (as arrays, `set()` too), strings in
/// single or double quotes with Python's escapes, integers that fit in 64 bits, finite floats,
/// `True`, `False`, `None`. Refused, because JSON cannot hold them faithfully: non-string dict
/// keys, bytes, integers beyond 64 bits, `inf`/`nan`, complex numbers, lone surrogates, and any
/// other expression (`datetime.datetime(…)`, `Decimal('1')`, …). The error names the byte
/// offset of the problem.
pub fn parse_python_literal(s: &str) -> Result<Value, String> {
    let mut p = Parser {
        s,
        pos: 0,
        depth: 0,
    };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.pos < s.len() {
        return Err(p.error("unexpected text after the value"));
    }
    Ok(v)
}

/// MDM's `metadata` column as an operation's metadata.
///
/// NULL, blank and empty dicts (`{}`) give `None`; a JSON object, or a Python dict literal that
/// converts (see [`parse_python_literal`]), gives that object; anything else is kept as it was,
/// as a JSON string, so no row loses its details.
pub fn metadata_to_json(raw: Option<&str>) -> Option<Value> {
    let raw = raw?;
    let text = raw.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = match serde_json::from_str::<Value>(text) {
        Ok(v) => Some(v),
        Err(_) => parse_python_literal(text).ok(),
    };
    match parsed {
        Some(Value::Object(m)) if m.is_empty() => None,
        Some(v @ Value::Object(_)) => Some(v),
        _ => Some(Value::String(raw.to_owned())),
    }
}

/// A timestamp of MDM's table as written, before a zone is chosen for naive ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdmTime {
    /// No offset given: a wall-clock time of some zone.
    Naive(PrimitiveDateTime),
    /// With an offset (`+02:00`, `Z`, …).
    Aware(OffsetDateTime),
}

/// Reads a timestamp as MDM's table holds it: `2025-01-06 14:03:12.123456` (Python's default
/// adapter; the fraction is absent when zero), `2025-01-06 14:03:12` (SQLite's
/// `CURRENT_TIMESTAMP`), with `T` instead of the space, with 1 to 9 fraction digits, without
/// seconds, a bare date (midnight), and optionally an offset `Z`, `±HH:MM`, `±HHMM` or `±HH`.
pub fn parse_mdm_datetime(s: &str) -> Result<MdmTime, String> {
    let bad = || {
        format!(
            "timestamp {s:?} is not a date and time (expected YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM])"
        )
    };
    let t = s.trim();
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<u32> {
        let part = b.get(from..from + len)?;
        if part.iter().all(u8::is_ascii_digit) {
            Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
        } else {
            None
        }
    };
    // Date: YYYY-MM-DD.
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return Err(bad());
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad());
    }
    let range = |e: time::error::ComponentRange| format!("timestamp {s:?}: {e}");
    let month = Month::try_from(month as u8).map_err(range)?;
    let date = Date::from_calendar_date(year as i32, month, day as u8).map_err(range)?;
    let mut i = 10;
    if i == b.len() {
        return Ok(MdmTime::Naive(PrimitiveDateTime::new(date, Time::MIDNIGHT)));
    }
    if !matches!(b[i], b' ' | b'T' | b't') {
        return Err(bad());
    }
    i += 1;
    // Time: HH:MM[:SS[.f…]].
    let (Some(hour), Some(minute)) = (num(i, 2), num(i + 3, 2)) else {
        return Err(bad());
    };
    if b.get(i + 2) != Some(&b':') {
        return Err(bad());
    }
    i += 5;
    let mut second = 0;
    let mut nanos = 0;
    if b.get(i) == Some(&b':') {
        second = num(i + 1, 2).ok_or_else(bad)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return Err(bad());
            }
            nanos = num(i, digits).ok_or_else(bad)? * 10u32.pow(9 - digits as u32);
            i += digits;
        }
    }
    let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos).map_err(range)?;
    let naive = PrimitiveDateTime::new(date, time);
    // Offset: none, Z, ±HH:MM, ±HHMM or ±HH.
    let rest = &b[i..];
    let offset = match rest {
        [] => return Ok(MdmTime::Naive(naive)),
        [b'Z' | b'z'] => UtcOffset::UTC,
        [sign @ (b'+' | b'-'), ..] => {
            let (h, m) = match rest.len() {
                3 => (num(i + 1, 2), Some(0)),
                5 => (num(i + 1, 2), num(i + 3, 2)),
                6 if rest[3] == b':' => (num(i + 1, 2), num(i + 4, 2)),
                _ => (None, None),
            };
            let (Some(h), Some(m)) = (h, m) else {
                return Err(bad());
            };
            let sign = if *sign == b'-' { -1 } else { 1 };
            UtcOffset::from_hms(sign * h as i8, sign * m as i8, 0).map_err(range)?
        }
        _ => return Err(bad()),
    };
    Ok(MdmTime::Aware(naive.assume_offset(offset)))
}

/// Reads a timestamp of MDM's table (see [`parse_mdm_datetime`]) as a UTC time.
///
/// A time with an offset keeps it. A naive time is taken as local time at `local_offset`:
/// MDM always passes `datetime.now()`, a naive local time. Rows inserted without a time get
/// SQLite's `CURRENT_TIMESTAMP`, which is UTC but looks exactly like a local time without
/// microseconds; such rows (which MDM itself never writes) are read as local too and end up
/// shifted by the offset.
pub fn parse_mdm_timestamp(s: &str, local_offset: UtcOffset) -> Result<OffsetDateTime, String> {
    let t = match parse_mdm_datetime(s)? {
        MdmTime::Naive(n) => n.assume_offset(local_offset),
        MdmTime::Aware(t) => t,
    };
    t.checked_to_offset(UtcOffset::UTC)
        .ok_or_else(|| format!("timestamp {s:?} is out of range in UTC"))
}

/// The identity of an MDM row in the store, so that importing the same file twice adds nothing:
/// its id (never reused: the column is `AUTOINCREMENT`) and its timestamp exactly as stored (so
/// that a database recreated from scratch, whose ids start again at 1, is not mistaken for the
/// old one).
pub fn import_key(id: i64, raw_timestamp: &str) -> String {
    format!("mdm:{id}:{raw_timestamp}")
}

/// A recursive-descent parser over the text of one Python literal.
struct Parser<'a> {
    s: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        let near: String = self.s[self.pos..].chars().take(24).collect();
        if near.is_empty() {
            format!("at byte {}: {what} (at the end)", self.pos)
        } else {
            format!("at byte {}: {what} (near {near:?})", self.pos)
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some(b'{') => self.nested(|p| p.dict_or_set()),
            Some(b'[') => self.nested(|p| {
                p.pos += 1;
                p.sequence(b']').map(Value::Array)
            }),
            Some(b'(') => self.nested(|p| p.tuple()),
            Some(b'\'' | b'"') => self.string().map(Value::String),
            Some(b'b' | b'B') if matches!(self.rest().as_bytes().get(1), Some(b'\'' | b'"')) => {
                Err(self.error("bytes cannot be converted to JSON"))
            }
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(_) => self.word(),
        }
    }

    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Value, String>,
    ) -> Result<Value, String> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    /// Elements separated by commas up to `close` (a trailing comma is allowed), after the
    /// opening bracket.
    fn sequence(&mut self, close: u8) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value()?);
            self.skip_ws();
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(b',') {
                return Err(self.error(&format!("expected ',' or '{}'", close as char)));
            }
        }
    }

    /// `()`, `(x,)`, `(x, y)` as arrays; `(x)` is just `x`, as in Python.
    fn tuple(&mut self) -> Result<Value, String> {
        self.pos += 1;
        self.skip_ws();
        if self.eat(b')') {
            return Ok(Value::Array(Vec::new()));
        }
        let first = self.value()?;
        self.skip_ws();
        if self.eat(b')') {
            return Ok(first);
        }
        if !self.eat(b',') {
            return Err(self.error("expected ',' or ')'"));
        }
        let mut items = vec![first];
        items.extend(self.sequence(b')')?);
        Ok(Value::Array(items))
    }

    fn dict_or_set(&mut self) -> Result<Value, String> {
        self.pos += 1;
        self.skip_ws();
        if self.eat(b'}') {
            return Ok(Value::Object(Map::new()));
        }
        let key_at = self.pos;
        let first = self.value()?;
        self.skip_ws();
        if !self.eat(b':') {
            // A set: its elements, in the order written.
            let mut items = vec![first];
            if self.eat(b'}') {
                return Ok(Value::Array(items));
            }
            if !self.eat(b',') {
                return Err(self.error("expected ',', ':' or '}'"));
            }
            items.extend(self.sequence(b'}')?);
            return Ok(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        let mut key_at = key_at;
        loop {
            let Value::String(k) = key else {
                self.pos = key_at;
                return Err(self.error("a dict key that is not a string cannot be a JSON key"));
            };
            self.skip_ws();
            let v = self.value()?;
            map.insert(k, v);
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            if !self.eat(b',') {
                return Err(self.error("expected ',' or '}'"));
            }
            self.skip_ws();
            if self.eat(b'}') {
                return Ok(Value::Object(map));
            }
            key_at = self.pos;
            key = self.value()?;
            self.skip_ws();
            if !self.eat(b':') {
                return Err(self.error("expected ':'"));
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let quote = self.peek().unwrap_or(b'\'');
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.rest().chars().next() else {
                self.pos = start;
                return Err(self.error("string without its closing quote"));
            };
            self.pos += c.len_utf8();
            match c {
                _ if c as u32 == u32::from(quote) => return Ok(out),
                '\n' => {
                    self.pos = start;
                    return Err(self.error("line break inside a string"));
                }
                '\\' => self.escape(&mut out)?,
                _ => out.push(c),
            }
        }
    }

    /// One escape sequence after its backslash, with Python's meaning.
    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        let at = self.pos - 1;
        let Some(c) = self.rest().chars().next() else {
            return Err(self.error("string without its closing quote"));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            '\n' => return Ok(()),
            '\\' => '\\',
            '\'' => '\'',
            '"' => '"',
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '0'..='7' => {
                let mut n = c as u32 - '0' as u32;
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            n = n * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                char::from_u32(n).ok_or_else(|| self.error("invalid octal escape"))?
            }
            'x' | 'u' | 'U' => {
                let len = match c {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits = self
                    .rest()
                    .get(..len)
                    .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_owned);
                let Some(digits) = digits else {
                    self.pos = at;
                    return Err(self.error(&format!("\\{c} needs {len} hexadecimal digits")));
                };
                let n = u32::from_str_radix(&digits, 16).map_err(|e| e.to_string())?;
                let Some(ch) = char::from_u32(n) else {
                    self.pos = at;
                    return Err(self.error(&format!(
                        "\\{c}{digits} is not a Unicode scalar value (a lone surrogate?)"
                    )));
                };
                self.pos += len;
                ch
            }
            'N' => {
                self.pos = at;
                return Err(self.error("named escapes (\\N{…}) are not supported"));
            }
            // Python keeps unknown escapes as they are, backslash included.
            other => {
                out.push('\\');
                other
            }
        };
        out.push(simple);
        Ok(())
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.pos;
        let b = self.s.as_bytes();
        let mut i = self.pos;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        // `-inf`, `+nan`: the sign belongs to a word.
        if b.get(i).is_some_and(u8::is_ascii_alphabetic) {
            self.pos = i;
            let word = format!("{}{}", &self.s[start..i], self.word_text());
            self.pos = start;
            return Err(self.error(&format!("{word} cannot be represented in JSON")));
        }
        let mut is_float = false;
        while let Some(&c) = b.get(i) {
            match c {
                b'0'..=b'9' | b'_' => {}
                b'.' => is_float = true,
                b'e' | b'E' => {
                    is_float = true;
                    if matches!(b.get(i + 1), Some(b'-' | b'+')) {
                        i += 1;
                    }
                }
                _ => break,
            }
            i += 1;
        }
        if matches!(b.get(i), Some(b'j' | b'J')) {
            return Err(self.error("complex numbers cannot be represented in JSON"));
        }
        let text: String = self.s[start..i].chars().filter(|c| *c != '_').collect();
        self.pos = i;
        let fail = |p: &mut Self, what: String| {
            p.pos = start;
            Err(p.error(&what))
        };
        if is_float {
            match text.parse::<f64>() {
                Ok(f) => match Number::from_f64(f) {
                    Some(n) => Ok(Value::Number(n)),
                    None => fail(self, format!("{text} is not a finite number")),
                },
                Err(_) => fail(self, format!("{text:?} is not a number")),
            }
        } else {
            let digits = text.trim_start_matches(['-', '+']);
            if digits.is_empty() {
                return fail(self, format!("{text:?} is not a number"));
            }
            if let Ok(n) = text.parse::<i64>() {
                Ok(Value::Number(n.into()))
            } else if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
                Ok(Value::Number(n.into()))
            } else if digits.bytes().all(|c| c.is_ascii_digit()) {
                fail(self, format!("the integer {text} does not fit in 64 bits"))
            } else {
                fail(self, format!("{text:?} is not a number"))
            }
        }
    }

    fn word_text(&mut self) -> &str {
        let start = self.pos;
        let len = self
            .rest()
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        self.pos += len;
        &self.s[start..self.pos]
    }

    /// `True`, `False`, `None`, `set()`; anything else is an expression JSON cannot hold.
    fn word(&mut self) -> Result<Value, String> {
        let start = self.pos;
        let word = self.word_text().to_owned();
        match word.as_str() {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::Null),
            "set" if self.rest().starts_with("()") => {
                self.pos += 2;
                Ok(Value::Array(Vec::new()))
            }
            "inf" | "nan" => {
                self.pos = start;
                Err(self.error(&format!("{word} cannot be represented in JSON")))
            }
            _ => {
                self.pos = start;
                Err(self.error("not a Python literal (an object such as datetime or Decimal?)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use time::macros::{datetime, offset};

    #[test]
    fn python_literals_convert() {
        let cases: &[(&str, Value)] = &[
            ("{}", json!({})),
            ("{'rows': 10}", json!({"rows": 10})),
            (
                r#"{'rows': 10, 'path': '/tmp/x', 'ok': True, 'ratio': 0.5, 'none': None, 'cols': ['a', "b'c"], 'nested': {'k': (1, 2)}}"#,
                json!({"rows": 10, "path": "/tmp/x", "ok": true, "ratio": 0.5, "none": null,
                       "cols": ["a", "b'c"], "nested": {"k": [1, 2]}}),
            ),
            (
                "[1, -2, +3, 4.0, -1.5e-05, 1e+16]",
                json!([1, -2, 3, 4.0, -1.5e-05, 1e16]),
            ),
            ("(1,)", json!([1])),
            ("()", json!([])),
            ("(7)", json!(7)),
            ("{1, 2, 3}", json!([1, 2, 3])),
            ("set()", json!([])),
            ("[1, 2, ]", json!([1, 2])),
            ("{'a': 1, }", json!({"a": 1})),
            ("False", json!(false)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("-9223372036854775808", json!(i64::MIN)),
            ("1_000", json!(1000)),
            (r#"'a\nb\tc\\d\'e\"f'"#, json!("a\nb\tc\\d'e\"f")),
            (r#""it's""#, json!("it's")),
            (r"'\x41\u00e9\U0001F600\0\101'", json!("Aé😀\u{0}A")),
            (r"'\q'", json!("\\q")),
            ("'naïve café ✓'", json!("naïve café ✓")),
            (
                "'<script>alert(1)</script>'",
                json!("<script>alert(1)</script>"),
            ),
            ("  {'a' : [ ] }  ", json!({"a": []})),
        ];
        for (text, want) in cases {
            assert_eq!(parse_python_literal(text).as_ref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn what_json_cannot_hold_is_refused_with_its_place() {
        let cases: &[(&str, &str)] = &[
            (
                "{'when': datetime.datetime(2025, 1, 6, 0, 0)}",
                "at byte 9: not a Python literal",
            ),
            ("{1: 'a'}", "at byte 1: a dict key that is not a string"),
            ("{'a': 1, (1, 2): 'b'}", "at byte 9: a dict key"),
            ("b'raw'", "bytes"),
            ("{'x': inf}", "inf cannot"),
            ("[nan]", "nan cannot"),
            ("-inf", "-inf cannot"),
            ("1e400", "not a finite number"),
            ("1j", "complex"),
            ("123456789012345678901234567890", "does not fit in 64 bits"),
            (r"'\ud800'", "lone surrogate"),
            (r"'\x4'", "2 hexadecimal digits"),
            ("'open", "closing quote"),
            ("{'a': 1", "expected ',' or '}'"),
            ("{'a' 1}", "expected ',', ':' or '}'"),
            ("[1 2]", "expected ',' or ']'"),
            ("{'a': 1} x", "after the value"),
            ("", "expected a value"),
            ("Decimal('1.5')", "not a Python literal"),
            ("-", "not a number"),
        ];
        for (text, want) in cases {
            let err = parse_python_literal(text).unwrap_err();
            assert!(
                err.contains(want),
                "{text}: {err:?} should mention {want:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(
            parse_python_literal(&deep)
                .unwrap_err()
                .contains("nested deeper")
        );
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse_python_literal(&ok).is_ok());
    }

    #[test]
    fn metadata_becomes_an_object_or_stays_as_written() {
        let dt = "{'when': datetime.datetime(2025, 1, 6, 0, 0)}";
        let cases: &[(Option<&str>, Option<Value>)] = &[
            (None, None),
            (Some(""), None),
            (Some("  "), None),
            (Some("{}"), None),
            (Some("{'a': 1}"), Some(json!({"a": 1}))),
            (Some(r#"{"a": [1, true]}"#), Some(json!({"a": [1, true]}))),
            (Some(dt), Some(json!(dt))),
            (Some("{1: 'a'}"), Some(json!("{1: 'a'}"))),
            (Some("[1, 2]"), Some(json!("[1, 2]"))),
            (Some("just text"), Some(json!("just text"))),
            (Some("42"), Some(json!("42"))),
        ];
        for (raw, want) in cases {
            assert_eq!(&metadata_to_json(*raw), want, "{raw:?}");
        }
    }

    #[test]
    fn timestamps_read_as_mdm_writes_them() {
        let plus2 = offset!(+2);
        let cases: &[(&str, OffsetDateTime)] = &[
            (
                "2025-01-06 14:03:12.123456",
                datetime!(2025-01-06 12:03:12.123456 UTC),
            ),
            ("2025-01-06 14:03:12", datetime!(2025-01-06 12:03:12 UTC)),
            (
                "2025-01-06T14:03:12.5",
                datetime!(2025-01-06 12:03:12.5 UTC),
            ),
            ("2025-01-06 14:03", datetime!(2025-01-06 12:03 UTC)),
            ("2025-01-06", datetime!(2025-01-05 22:00 UTC)),
            (
                "2025-01-06 14:03:12.123456789",
                datetime!(2025-01-06 12:03:12.123456789 UTC),
            ),
            (
                "2025-01-06 14:03:12+00:00",
                datetime!(2025-01-06 14:03:12 UTC),
            ),
            (
                "2025-01-06T14:03:12.25Z",
                datetime!(2025-01-06 14:03:12.25 UTC),
            ),
            (
                "2025-01-06 14:03:12.000001-05:30",
                datetime!(2025-01-06 19:33:12.000001 UTC),
            ),
            (
                "2025-01-06 14:03:12+0100",
                datetime!(2025-01-06 13:03:12 UTC),
            ),
            ("2025-01-06 14:03:12+01", datetime!(2025-01-06 13:03:12 UTC)),
            (" 2025-01-06 14:03:12 ", datetime!(2025-01-06 12:03:12 UTC)),
        ];
        for (text, want) in cases {
            let got = parse_mdm_timestamp(text, plus2).unwrap();
            assert_eq!(got, *want, "{text}");
            assert_eq!(got.offset(), UtcOffset::UTC, "{text}");
        }
    }

    #[test]
    fn naive_and_aware_times_are_told_apart() {
        assert_eq!(
            parse_mdm_datetime("2025-01-06 14:03:12").unwrap(),
            MdmTime::Naive(datetime!(2025-01-06 14:03:12))
        );
        assert_eq!(
            parse_mdm_datetime("2025-01-06 14:03:12Z").unwrap(),
            MdmTime::Aware(datetime!(2025-01-06 14:03:12 UTC))
        );
    }

    #[test]
    fn bad_timestamps_are_refused_with_the_text() {
        let cases: &[(&str, &str)] = &[
            ("", "is not a date and time"),
            ("yesterday", "is not a date and time"),
            ("1736172192", "is not a date and time"),
            ("2025-13-06 10:00:00", "month"),
            ("2025-02-30 10:00:00", "day"),
            ("2025-01-06 25:00:00", "hour"),
            ("2025-01-06 10:00:00.", "is not a date and time"),
            ("2025-01-06 10:00:00.1234567890", "is not a date and time"),
            ("2025-01-06 10:00:00 UTC", "is not a date and time"),
            ("2025-01-06 10:00:00+2", "is not a date and time"),
            ("2025-01-06 10:00:00+26:00", "offset hour"),
            ("2025/01/06 10:00:00", "is not a date and time"),
            ("2025-01-06 10", "is not a date and time"),
            ("2025-01-06x10:00", "is not a date and time"),
            ("9999-12-31 23:59:59.999999999-23:59", "out of range"),
        ];
        for (text, want) in cases {
            let err = parse_mdm_timestamp(text, UtcOffset::UTC).unwrap_err();
            assert!(
                err.contains(want),
                "{text:?}: {err:?} should mention {want:?}"
            );
            assert!(
                err.contains(&format!("{text:?}")),
                "{err:?} should quote the input"
            );
        }
        let err = parse_mdm_timestamp("9999-12-31 23:00", offset!(-2)).unwrap_err();
        assert!(err.contains("out of range"), "{err:?}");
    }

    #[test]
    fn import_keys_name_the_row() {
        assert_eq!(
            import_key(42, "2025-01-06 14:03:12.5"),
            "mdm:42:2025-01-06 14:03:12.5"
        );
        assert_ne!(
            import_key(1, "2025-01-06 14:03:12"),
            import_key(1, "2025-01-07 14:03:12")
        );
    }

    /// Renders JSON the way Python's `repr()` renders the same dict.
    fn python_repr(v: &Value) -> String {
        match v {
            Value::Null => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => python_str(s),
            Value::Array(a) => {
                format!(
                    "[{}]",
                    a.iter().map(python_repr).collect::<Vec<_>>().join(", ")
                )
            }
            Value::Object(m) => format!(
                "{{{}}}",
                m.iter()
                    .map(|(k, v)| format!("{}: {}", python_str(k), python_repr(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Python's `repr(str)`: single quotes unless the text has one and no double quote.
    fn python_str(s: &str) -> String {
        let quote = if s.contains('\'') && !s.contains('"') {
            '"'
        } else {
            '\''
        };
        let mut out = String::from(quote);
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c == quote => {
                    out.push('\\');
                    out.push(c);
                }
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if ('\u{80}'..='\u{a0}').contains(&c) => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c => out.push(c),
            }
        }
        out.push(quote);
        out
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
            "[ '\"\\\\a-z\n\t]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_object_round_trips_through_its_python_repr(
            m in prop::collection::btree_map("[ -~éñ✓'\"\\\\]{0,10}", json_value(), 0..8)
        ) {
            let v = Value::Object(m.into_iter().collect());
            let text = python_repr(&v);
            prop_assert_eq!(parse_python_literal(&text), Ok(v), "{}", text);
        }

        #[test]
        fn the_parser_never_panics(s in "\\PC{0,64}") {
            let _ = parse_python_literal(&s);
            let _ = parse_mdm_timestamp(&s, UtcOffset::UTC);
        }
    }
}
