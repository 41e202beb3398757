//! Reading times and durations that people type: RFC 3339, dates, and "15m" / "7d" spans.

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A timestamp: RFC 3339 (`2025-01-06T10:00:00Z`), or a date (`2025-01-06`, midnight UTC).
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        // A time near the end of year 9999 with a negative offset is past what UTC can hold.
        return t.checked_to_offset(UtcOffset::UTC).ok_or_else(|| {
            format!("{s:?} is out of range once converted to UTC (after the year 9999)")
        });
    }
    if let Ok(d) = parse_date(s) {
        return Ok(PrimitiveDateTime::new(d, Time::MIDNIGHT).assume_utc());
    }
    // A year of more or fewer than four digits, or with a sign, is what the formats cannot
    // hold: say so rather than where the text stopped matching.
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let signed = s.starts_with(['+', '-']) && s[1..].starts_with(|c: char| c.is_ascii_digit());
    if signed || (digits != 4 && digits > 0 && s.as_bytes().get(digits) == Some(&b'-')) {
        return Err(format!(
            "{s:?}: the year must have 4 digits (times from 1970 to 9999 are accepted)"
        ));
    }
    Err(format!(
        "{s:?} is not a time: use RFC 3339 such as 2025-01-06T10:00:00Z, or a date such as 2025-01-06"
    ))
}

/// A calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &f).map_err(|_| format!("{s:?} is not a date of the form YYYY-MM-DD"))
}

/// A span such as `500ms`, `15s`, `5m`, `2h`, `7d`, `1w`, or a sum such as `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{s:?} is not a duration: use a number and a unit (ms, s, m, h, d, w), such as 15s, 5m or 1h30m"
        )
    };
    let text = s.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        // Checked, as the constructors of minutes and longer panic on overflow.
        let part = match unit {
            "ms" => Some(Duration::milliseconds(n)),
            "s" => Some(Duration::seconds(n)),
            "m" => n.checked_mul(60).map(Duration::seconds),
            "h" => n.checked_mul(3_600).map(Duration::seconds),
            "d" => n.checked_mul(86_400).map(Duration::seconds),
            "w" => n.checked_mul(604_800).map(Duration::seconds),
            _ => return Err(bad()),
        }
        .ok_or_else(bad)?;
        total = total.checked_add(part).ok_or_else(bad)?;
    }
    Ok(total)
}

/// `--since`: a span back from `now` (`30m`, `7d`) or a point in time (RFC 3339 or a date).
pub fn parse_since(s: &str, now: OffsetDateTime) -> Result<OffsetDateTime, String> {
    if let Ok(d) = parse_duration(s) {
        return now
            .checked_sub(d)
            .ok_or_else(|| format!("{s:?} reaches too far back"));
    }
    parse_timestamp(s).map_err(|_| {
        format!("{s:?} is neither a span (30m, 2h, 7d) nor a time (2025-01-06 or RFC 3339)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn a_span_too_long_to_hold_is_an_error_not_a_panic() {
        for s in [
            "9999999999999999999w",
            "999999999999999999d",
            "106751991167301d",
        ] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
        assert!(parse_since("106751991167300d", datetime!(2025-01-06 0:00 UTC)).is_err());
        assert_eq!(parse_duration("2w").unwrap(), Duration::days(14));
    }

    #[test]
    fn timestamps_and_dates() {
        assert_eq!(
            parse_timestamp("2025-01-06T12:00:00+02:00").unwrap(),
            datetime!(2025-01-06 10:00 UTC)
        );
        assert_eq!(
            parse_timestamp("2025-01-06").unwrap(),
            datetime!(2025-01-06 0:00 UTC)
        );
        assert!(
            parse_timestamp("yesterday")
                .unwrap_err()
                .contains("yesterday")
        );
        assert_eq!(parse_date("2025-02-28").unwrap(), date!(2025 - 02 - 28));
        assert!(parse_date("2025-02-30").is_err());
    }

    #[test]
    fn a_year_without_four_digits_is_named_as_the_problem() {
        for bad in [
            "10000-01-01T00:00:00Z",
            "+10000-01-01T00:00:00Z",
            "999-01-01",
        ] {
            let e = parse_timestamp(bad).unwrap_err();
            assert!(e.contains("the year must have 4 digits"), "{bad}: {e}");
            assert!(e.contains("1970 to 9999"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_time_past_what_utc_can_hold_is_refused_not_a_panic() {
        let e = parse_timestamp("9999-12-31T23:59:59-23:59").unwrap_err();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s").unwrap(), Duration::seconds(15));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(
            parse_duration("250ms").unwrap(),
            Duration::milliseconds(250)
        );
        assert_eq!(parse_duration("2w").unwrap(), Duration::days(14));
        for bad in ["", "5", "m", "5x", "-5m", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn since_takes_spans_and_points() {
        let now = datetime!(2025-01-10 12:00 UTC);
        assert_eq!(
            parse_since("2h", now).unwrap(),
            datetime!(2025-01-10 10:00 UTC)
        );
        assert_eq!(
            parse_since("2025-01-01", now).unwrap(),
            datetime!(2025-01-01 0:00 UTC)
        );
        assert!(parse_since("soon", now).is_err());
    }
}
