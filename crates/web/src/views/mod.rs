//! Server-rendered views: the same code renders the static dashboard file (`mhd stats
//! dashboard`) and the live server's pages ([`render_live_page`]), which add only the site
//! navigation, the live controls and a script that updates the `data-live` figures.
//!
//! One module per view (executive summary, timeline, component matrix, test results,
//! performance comparison), each a section template of its own, so live pages can reuse them.
//!
//! Templates live in `crates/web/templates/` and are compiled in by askama; every `{{ }}` is
//! HTML-escaped. The only unescaped inserts are the stylesheet (a constant of this crate), SVG
//! strings made by [`crate::charts`], which escapes every caller-supplied string itself, and the
//! sections' own rendered templates, escaped by askama in turn.

pub mod alerts;
mod components;
mod dashboard;
mod datasets;
mod live;
mod overview;
mod page;
mod perf;
pub mod range;
mod resources;
pub mod rollback;
pub mod signin;
mod summary;
mod testresults;
mod timeline;
pub mod viewer;

pub use components::RollbackLink;
pub use dashboard::render_static_dashboard;
pub use datasets::{
    DatasetsQuery, HISTORY_ROWS as DATASET_HISTORY_ROWS, render_datasets_page, render_how_page,
};
pub use page::{PageKind, render_live_page, render_not_found_page, render_overview_page};
pub use resources::{
    CHART_BUCKETS, CHART_METRICS, CHART_SPAN, LATEST_LOOKBACK, LOG_ERRORS_SHOWN, MAX_OTHER_METRICS,
    MAX_SPAN, ResourcesData, SHOWN_AS_FIGURES, parse_range, render_resources_page,
};
pub use viewer::{Looker, Page, Viewer};
// The sections, for the reports (crate::report), which render them in their own document.
pub(crate) use components::ComponentsSection;
pub(crate) use perf::{PerfSection, verdict_badge};
pub(crate) use summary::week_words;
pub(crate) use testresults::TestsSection;
pub(crate) use timeline::TimelineSection;

use std::sync::OnceLock;

use time::{OffsetDateTime, UtcOffset};

/// A page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The template engine failed while writing the page.
    #[error("could not render the page: {0}")]
    Template(#[from] askama::Error),
}

/// The banner of every page of this process ([`set_banner`]).
static BANNER: OnceLock<String> = OnceLock::new();

/// Sets the banner shown under the navigation of every page of this process (once; later
/// calls change nothing): the demo says what it is with it.
pub fn set_banner(text: String) {
    let _ = BANNER.set(text);
}

/// The banner of every page, when one was set ([`set_banner`]).
pub fn banner() -> Option<&'static str> {
    BANNER.get().map(String::as_str)
}

/// The page's stylesheet: the layout's own rules followed by the charts' rules.
pub fn stylesheet() -> String {
    let mut css = String::from(include_str!("../../templates/style.css").trim_end());
    css.push_str(crate::charts::CSS);
    css
}

/// A span in words, in its largest whole unit: "5 minutes", "1 hour", "36 hours", "7 days"
/// (days from two on, so a day reads "24 hours"); seconds when it is no whole number of
/// minutes. The live figures' window and the resource charts' span are named by it.
pub(crate) fn span_words(seconds: f64) -> String {
    let count = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds < 60.0 || seconds % 60.0 != 0.0 {
        return format!("{seconds:.0} seconds");
    }
    let s = seconds as i64;
    if s % 86_400 == 0 && s >= 2 * 86_400 {
        count(s / 86_400, "day")
    } else if s % 3_600 == 0 {
        count(s / 3_600, "hour")
    } else {
        count(s / 60, "minute")
    }
}

/// "the last hour", "the last 5 minutes", "the last 7 days": [`span_words`] after "the last",
/// without a count of one.
pub(crate) fn last_span_words(seconds: f64) -> String {
    let words = span_words(seconds);
    format!("the last {}", words.strip_prefix("1 ").unwrap_or(&words))
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

/// A time in the viewer's offset: `2025-01-06 14:03:12` (in UTC when the offset would take it
/// past the year 9999).
pub(crate) fn local(t: OffsetDateTime, offset: UtcOffset) -> String {
    mhd_core::format::datetime(t.checked_to_offset(offset).unwrap_or(t))
}

/// A time in the viewer's offset with the offset named: `2025-01-06 14:03:12 UTC+01:00`.
pub(crate) fn local_with_offset(t: OffsetDateTime, offset: UtcOffset) -> String {
    match t.checked_to_offset(offset) {
        Some(_) => format!("{} {}", local(t, offset), offset_label(offset)),
        None => format!("{} UTC", local(t, UtcOffset::UTC)),
    }
}

/// At most `max` characters of a stored string, so one huge value cannot swell the page.
pub(crate) fn clip(s: &str, max: usize) -> String {
    crate::charts::truncate(s, max).into_owned()
}

/// Shown for a figure that does not exist (no operations, no duration, no dataset).
pub(crate) const DASH: &str = "—";

/// Longest name (dataset, operation, component, phase, suite, test) shown on a page.
pub(crate) const MAX_NAME_CHARS: usize = 200;
/// Longest message (error, reason, recommendation) shown on a page; the rest is cut, so the
/// page stays small.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// A moment shown three ways: relative, local, and RFC 3339 for `<time datetime>`.
pub(crate) struct Stamp {
    pub(crate) relative: String,
    pub(crate) local: String,
    pub(crate) rfc3339: String,
}

impl Stamp {
    pub(crate) fn new(t: OffsetDateTime, now: OffsetDateTime, offset: UtcOffset) -> Self {
        Stamp {
            relative: mhd_core::format::relative(now, t),
            local: local_with_offset(t, offset),
            rfc3339: mhd_core::format::rfc3339(t),
        }
    }
}

/// A state told by a symbol, a word and a colour together, so colour is never alone. The
/// symbol is hidden from screen readers, which read the word.
pub(crate) struct Badge {
    /// `✓`, `⚠`, `✗`, `●`, …
    pub(crate) symbol: &'static str,
    /// What the state is called.
    pub(crate) word: &'static str,
    /// The colour's class in the stylesheet: `ok`, `warn`, `bad`, `mut` or empty.
    pub(crate) class: &'static str,
}

impl Badge {
    pub(crate) const fn new(symbol: &'static str, word: &'static str, class: &'static str) -> Self {
        Badge {
            symbol,
            word,
            class,
        }
    }
}

/// A change in percent with its sign: `+12.0%`, `-3.5%`; [`DASH`] when unknown.
pub(crate) fn signed_percent(v: Option<f64>) -> String {
    match v.filter(|v| v.is_finite()) {
        Some(v) => format!("{v:+.1}%"),
        None => DASH.to_owned(),
    }
}

/// A percentage (0–100) rounded down to a whole number, so 99.6 % is not shown as done, yet
/// 116 / 200 (57.999… in floating point) is 58; NaN is 0.
pub(crate) fn whole_percent(p: f64) -> String {
    let p = if p.is_finite() {
        p.clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!("{:.0}%", (p + 1e-9).floor())
}

/// A number of days in words: `1 day`, `18 days`.
pub(crate) fn days_text(n: i64) -> String {
    format!("{n} day{}", if n.abs() == 1 { "" } else { "s" })
}

/// Seconds as people read a test run's time: `25.0ms`, `45.2s`, `2m 34s`, `1h 05m`.
pub(crate) fn seconds_text(s: f64) -> String {
    let s = if s.is_finite() && s > 0.0 { s } else { 0.0 };
    if s < 60.0 {
        mhd_core::format::duration_ms(Some(s * 1000.0))
    } else if s < 3600.0 {
        let whole = s.round() as u64;
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else {
        let minutes = (s / 60.0).round() as u64;
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    }
}

/// Text with `code` spans (between backticks, as the recommendations name commands) split
/// into pieces: `(true, text)` for code, `(false, text)` for prose. An unpaired backtick is
/// kept as text.
pub(crate) fn code_spans(s: &str) -> Vec<(bool, String)> {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        return vec![(false, s.to_owned())];
    }
    parts
        .into_iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(i, p)| (i % 2 == 1, p.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn spans_read_in_their_largest_whole_unit() {
        for (seconds, words, last) in [
            (300.0, "5 minutes", "the last 5 minutes"),
            (60.0, "1 minute", "the last minute"),
            (3_600.0, "1 hour", "the last hour"),
            (5_400.0, "90 minutes", "the last 90 minutes"),
            (86_400.0, "24 hours", "the last 24 hours"),
            (129_600.0, "36 hours", "the last 36 hours"),
            (604_800.0, "7 days", "the last 7 days"),
            (90.0, "90 seconds", "the last 90 seconds"),
        ] {
            assert_eq!(span_words(seconds), words, "{seconds}");
            assert_eq!(last_span_words(seconds), last, "{seconds}");
        }
    }

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
    fn small_formats() {
        assert_eq!(signed_percent(Some(12.0)), "+12.0%");
        assert_eq!(signed_percent(Some(-3.46)), "-3.5%");
        assert_eq!(signed_percent(Some(f64::NAN)), DASH);
        assert_eq!(signed_percent(None), DASH);
        assert_eq!(whole_percent(116.0 / 200.0 * 100.0), "58%");
        assert_eq!(whole_percent(99.6), "99%");
        assert_eq!(whole_percent(f64::NAN), "0%");
        assert_eq!(whole_percent(250.0), "100%");
        assert_eq!(days_text(1), "1 day");
        assert_eq!(days_text(-1), "-1 day");
        assert_eq!(days_text(18), "18 days");
        for (s, want) in [
            (0.025, "25.0ms"),
            (0.42, "420.0ms"),
            (45.2, "45.2s"),
            (154.0, "2m 34s"),
            (908.4, "15m 08s"),
            (3900.0, "1h 05m"),
            (f64::NAN, "0.0ms"),
            (-3.0, "0.0ms"),
        ] {
            assert_eq!(seconds_text(s), want, "{s}");
        }
    }

    #[test]
    fn code_spans_split_on_paired_backticks() {
        assert_eq!(
            code_spans("look at them (`mhd alerts`)."),
            vec![
                (false, "look at them (".to_owned()),
                (true, "mhd alerts".to_owned()),
                (false, ").".to_owned())
            ]
        );
        assert_eq!(code_spans("a ` b"), vec![(false, "a ` b".to_owned())]);
        assert_eq!(code_spans("plain"), vec![(false, "plain".to_owned())]);
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
