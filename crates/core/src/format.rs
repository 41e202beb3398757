//! How figures are shown to people: relative times, human durations, terminal-safe text.

use std::borrow::Cow;
use time::OffsetDateTime;

/// "just now", "5m ago", "3h ago", "2d ago" (or "in 5m" for a time after `now`), as MDM shows it.
pub fn relative(now: OffsetDateTime, t: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    let (secs, future) = if secs < 0 {
        (-secs, true)
    } else {
        (secs, false)
    };
    let amount = if secs < 60 {
        return "just now".to_owned();
    } else if secs < 3600 {
        format!("{}m", secs / 60)
    } else if secs < 86_400 {
        format!("{}h", secs / 3600)
    } else {
        format!("{}d", secs / 86_400)
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// A duration in milliseconds as people read it: "12.3ms", "4.5s", "2.1m"; "N/A" when unknown.
pub fn duration_ms(ms: Option<f64>) -> String {
    match ms {
        None => "N/A".to_owned(),
        Some(ms) if ms < 1000.0 => format!("{ms:.1}ms"),
        Some(ms) if ms < 60_000.0 => format!("{:.1}s", ms / 1000.0),
        Some(ms) if ms < 3_600_000.0 => format!("{:.1}m", ms / 60_000.0),
        Some(ms) => format!("{:.1}h", ms / 3_600_000.0),
    }
}

/// A number as people write it: whole numbers without decimals ("100"), others with at most
/// two ("12.5", "0.33").
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A ratio in 0..=1 as a percentage with one decimal: "94.2%".
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// Text from users or input files made safe for a terminal: control characters (escape
/// sequences, carriage returns, …) are shown as `\u{..}` escapes instead of being obeyed.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A local date and time for tables: "2025-01-06 14:03:12" (UTC when no offset is known).
pub fn datetime(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.format(&f).unwrap_or_else(|_| t.to_string())
}

/// RFC 3339 with the UTC offset, as every JSON output exchanges time.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn relative_times_match_mdm() {
        let now = datetime!(2025-01-10 12:00 UTC);
        let cases = [
            (datetime!(2025-01-10 11:59:30 UTC), "just now"),
            (datetime!(2025-01-10 11:57 UTC), "3m ago"),
            (datetime!(2025-01-10 09:00 UTC), "3h ago"),
            (datetime!(2025-01-08 12:00 UTC), "2d ago"),
            (datetime!(2025-01-10 12:10 UTC), "in 10m"),
        ];
        for (t, want) in cases {
            assert_eq!(relative(now, t), want);
        }
    }

    #[test]
    fn durations_pick_their_unit() {
        assert_eq!(duration_ms(None), "N/A");
        assert_eq!(duration_ms(Some(12.34)), "12.3ms");
        assert_eq!(duration_ms(Some(4500.0)), "4.5s");
        assert_eq!(duration_ms(Some(126_000.0)), "2.1m");
        assert_eq!(duration_ms(Some(7_200_000.0)), "2.0h");
    }

    #[test]
    fn control_characters_are_escaped_for_terminals() {
        assert_eq!(terminal_safe("plain name"), "plain name");
        assert_eq!(terminal_safe("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(terminal_safe("x\ry"), "x\\u{d}y");
        assert_eq!(terminal_safe("ab\u{202e}cd"), "ab\\u{202e}cd");
    }

    #[test]
    fn rfc3339_is_always_utc() {
        let t = datetime!(2025-01-06 10:00 +02:00);
        assert_eq!(rfc3339(t), "2025-01-06T08:00:00Z");
    }
}
