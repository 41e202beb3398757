//! The limits every input path applies — the API, `mhd record`, `mhd ingest`, `mhd import` —
//! so that one input is judged the same way wherever it comes from: how long a name or a text
//! may be, which characters they may hold, how large a line or a whole input read at once may
//! be, and how far in the future a time may lie.

use time::{Duration, OffsetDateTime};

/// The longest name accepted, in bytes: metric types, operations, datasets, components,
/// suites, test cases, benchmark operations, sample metrics and labels. Longer ones are
/// refused rather than cut.
pub const MAX_NAME_BYTES: usize = 4096;
/// The longest free text accepted, in bytes: error messages, metadata kept as text.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The largest input read whole into memory, in bytes: a request body, a JSON array of
/// operations, a benchmark file. The same as the API's body limit.
pub const MAX_WHOLE_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// The longest line of a line-by-line input (NDJSON), in bytes.
pub const MAX_LINE_BYTES: usize = MAX_WHOLE_INPUT_BYTES;
/// How far ahead of now a recorded time may be unless the plan (`max_future` in
/// `[thresholds]`) or `--max-future` says otherwise: clocks disagree a little, never by more.
pub const DEFAULT_MAX_FUTURE: Duration = Duration::days(1);

/// Checks a name: not empty (when `required`), at most [`MAX_NAME_BYTES`], no control
/// characters (a name is shown on one line; tabs, newlines and escapes have no place in it).
pub fn check_name(value: &str, required: bool) -> Result<(), String> {
    if required && is_blank(value) {
        return Err("must not be empty".into());
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_NAME_BYTES}",
            value.len()
        ));
    }
    if has_control(value) {
        let c = value.chars().find(|c| c.is_control()).unwrap_or('\0');
        return Err(format!(
            "must not contain control characters (found {})",
            c.escape_unicode()
        ));
    }
    Ok(())
}

/// Whether `value` is empty or only white space (Unicode's), answered at the first byte for a
/// name that starts with a letter or digit: names are checked by the million in a bulk load.
pub fn is_blank(value: &str) -> bool {
    match value.as_bytes().first() {
        None => true,
        Some(b) if b.is_ascii_alphanumeric() => false,
        Some(_) => value.trim_start().is_empty(),
    }
}

/// Whether `value` holds a control character (Unicode's `Cc`: U+0000–U+001F, U+007F–U+009F),
/// looking at bytes: names are checked by the million in a bulk load.
fn has_control(value: &str) -> bool {
    let bytes = value.as_bytes();
    // Printable ASCII alone, the usual name, is answered in one pass the compiler vectorises.
    if bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
        return false;
    }
    bytes.iter().enumerate().any(|(i, &b)| {
        b < 0x20
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// Checks a free text: at most [`MAX_TEXT_BYTES`] and no NUL. Other control characters
/// (newlines and tabs of a stack trace, a terminal's colour codes) are kept and escaped
/// wherever the text is shown.
pub fn check_text(value: &str) -> Result<(), String> {
    if value.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_TEXT_BYTES}",
            value.len()
        ));
    }
    if value.contains('\0') {
        return Err("must not contain a NUL character".into());
    }
    Ok(())
}

/// Checks a time in seconds or milliseconds read from an input: a finite number, not negative.
pub fn check_duration(value: f64, unit: &str) -> Result<(), String> {
    if !value.is_finite() || value < 0.0 {
        return Err(format!(
            "must be a finite number of {unit} ≥ 0, not {value}"
        ));
    }
    Ok(())
}

/// The moment an input is received and how far past it a time in the input may lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeLimits {
    /// Now: also the time of a record that gives none.
    pub now: OffsetDateTime,
    /// How far ahead of `now` a time is still accepted.
    pub max_future: Duration,
}

impl TimeLimits {
    /// `now`, with the default margin ([`DEFAULT_MAX_FUTURE`]).
    pub fn at(now: OffsetDateTime) -> TimeLimits {
        TimeLimits {
            now,
            max_future: DEFAULT_MAX_FUTURE,
        }
    }

    /// The latest time accepted.
    pub fn latest(&self) -> OffsetDateTime {
        self.now.saturating_add(self.max_future)
    }

    /// Refuses a time later than [`TimeLimits::latest`], saying by how much and what allows
    /// more.
    pub fn check(&self, t: OffsetDateTime) -> Result<(), String> {
        if t <= self.latest() {
            return Ok(());
        }
        Err(format!(
            "{} is more than {} in the future (the latest accepted now is {}; `max_future` in \
             the plan's [thresholds] or --max-future allows more)",
            crate::format::rfc3339(t),
            crate::plan::duration_text(self.max_future),
            crate::format::rfc3339(self.latest()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_and_texts_have_one_set_of_rules() {
        assert!(check_name("sales", true).is_ok());
        for blank in ["", " ", " \t ", "\u{3000}", "\u{a0}\u{2003}"] {
            assert!(
                check_name(blank, true).unwrap_err().contains("empty"),
                "{blank:?}"
            );
        }
        for named in ["s", "0", " s", "\u{3000}名", "_x", "-"] {
            assert!(!is_blank(named), "{named:?}");
        }
        assert!(check_name("", false).is_ok());
        assert!(check_name(&"x".repeat(MAX_NAME_BYTES), true).is_ok());
        assert!(
            check_name(&"x".repeat(MAX_NAME_BYTES + 1), true)
                .unwrap_err()
                .contains("4097 bytes")
        );
        for bad in ["a\0b", "a\tb", "a\nb", "a\u{1b}[31mb", "a\u{85}b"] {
            assert!(
                check_name(bad, true).unwrap_err().contains("control"),
                "{bad:?}"
            );
        }
        assert!(check_text("line 1\n\tline 2 \u{1b}[31mred").is_ok());
        assert!(check_text("a\0b").unwrap_err().contains("NUL"));
        assert!(check_text(&"x".repeat(MAX_TEXT_BYTES + 1)).is_err());
        assert!(check_duration(0.0, "seconds").is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(check_duration(bad, "seconds").is_err(), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_found_by_their_bytes_as_by_their_category() {
        for c in (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|c| (*c as u32) < 0x3000)
        {
            let s = format!("a{c}b");
            assert_eq!(has_control(&s), c.is_control(), "{:?}", c.escape_unicode());
        }
    }

    #[test]
    fn a_time_past_the_margin_is_refused_saying_what_allows_more() {
        let limits = TimeLimits::at(datetime!(2025-03-01 12:00 UTC));
        assert!(limits.check(datetime!(2025-03-02 12:00 UTC)).is_ok());
        let e = limits
            .check(datetime!(2025-03-02 12:00:01 UTC))
            .unwrap_err();
        assert!(e.contains("more than 1d in the future"), "{e}");
        assert!(e.contains("max_future"), "{e}");
        let far = TimeLimits {
            now: datetime!(9999-12-31 0:00 UTC),
            max_future: Duration::days(365),
        };
        assert!(far.check(datetime!(9999-12-31 23:59:59 UTC)).is_ok());
    }
}
