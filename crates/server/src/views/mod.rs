//! Server-rendered views: the same code renders the static dashboard file (`mhd stats
//! dashboard`) and, later, the live pages and reports.
//!
//! Templates live in `crates/server/templates/` and are compiled in by askama; every `{{ }}` is
//! HTML-escaped. The only unescaped inserts are the stylesheet (a constant of this crate) and SVG
//! strings made by [`crate::charts`], which escapes every caller-supplied string itself.

mod dashboard;

pub use dashboard::render_static_dashboard;

use time::{OffsetDateTime, UtcOffset};

/// A page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The template engine failed while writing the page.
    #[error("could not render the page: {0}")]
    Template(#[from] askama::Error),
}

/// The page's stylesheet: the layout's own rules followed by the charts' rules.
pub(crate) fn stylesheet() -> String {
    let mut css = String::from(include_str!("../../templates/style.css").trim_end());
    css.push_str(crate::charts::CSS);
    css
}

/// `1234567` → `"1,234,567"`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The offset as people read it: `UTC`, `UTC+01:00`, `UTC-05:30`.
pub(crate) fn offset_label(offset: UtcOffset) -> String {
    if offset.is_utc() {
        return "UTC".to_owned();
    }
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!("UTC{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
}

/// A time in the viewer's offset: `2025-01-06 14:03:12`.
pub(crate) fn local(t: OffsetDateTime, offset: UtcOffset) -> String {
    mhd_core::format::datetime(t.to_offset(offset))
}

/// A time in the viewer's offset with the offset named: `2025-01-06 14:03:12 UTC+01:00`.
pub(crate) fn local_with_offset(t: OffsetDateTime, offset: UtcOffset) -> String {
    format!("{} {}", local(t, offset), offset_label(offset))
}

/// At most `max` characters of a stored string, so one huge value cannot swell the page.
pub(crate) fn clip(s: &str, max: usize) -> String {
    crate::charts::truncate(s, max).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn thousands_are_grouped() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1,000"),
            (123_456, "123,456"),
            (1_234_567, "1,234,567"),
        ];
        for (n, want) in cases {
            assert_eq!(thousands(n), want);
        }
    }

    #[test]
    fn offsets_and_local_times_are_labelled() {
        assert_eq!(offset_label(UtcOffset::UTC), "UTC");
        assert_eq!(offset_label(offset!(+1)), "UTC+01:00");
        assert_eq!(offset_label(offset!(-5:30)), "UTC-05:30");
        let t = datetime!(2025-01-06 13:03:12 UTC);
        assert_eq!(
            local_with_offset(t, offset!(+1)),
            "2025-01-06 14:03:12 UTC+01:00"
        );
    }
}
