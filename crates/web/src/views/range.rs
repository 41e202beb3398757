//! The time range a page's charts and lists show, and the picker that chooses it.
//!
//! A range comes from the query string, so it works without JavaScript, is kept in the URL and
//! travels with links: `range=7d` (the last 7 days, ending now) or `since=…&until=…` (a custom
//! span). `since` and `until` are read by the same rules as `GET /api/v1/samples`: a time
//! (RFC 3339 or a date), a span back from now (`30m`, `7d`) or `now`. Either end may be left
//! open. The server reads them (`mhd_server::range`, for the pages and the API's reads alike,
//! so a bad range gets the same 400 everywhere, naming the parameter); this module holds the
//! range once read, its presets and the picker.
//!
//! Only the charts and the lists over time follow the range; the figures "as of now" (status,
//! progress, forecast, the live window) do not, and the picker says so.

use std::fmt::Write as _;

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::charts::escape;
use crate::url::encode_component;

/// One of the picker's ranges, ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Its value of `range`.
    pub key: &'static str,
    /// Its name in the picker.
    pub label: &'static str,
    /// Its name in a sentence: "the last 7 days".
    pub words: &'static str,
    /// How far back it reaches.
    pub span: Duration,
}

/// The picker's ranges, shortest first. Pages with one of these are cached like the page
/// without a range; any other range is rendered for its request.
pub const PRESETS: [Preset; 5] = [
    Preset {
        key: "1h",
        label: "Last hour",
        words: "the last hour",
        span: Duration::hours(1),
    },
    Preset {
        key: "24h",
        label: "24 h",
        words: "the last 24 hours",
        span: Duration::hours(24),
    },
    Preset {
        key: "7d",
        label: "7 d",
        words: "the last 7 days",
        span: Duration::days(7),
    },
    Preset {
        key: "30d",
        label: "30 d",
        words: "the last 30 days",
        span: Duration::days(30),
    },
    Preset {
        key: "90d",
        label: "90 d",
        words: "the last 90 days",
        span: Duration::days(90),
    },
];

/// The query parameters a time range is read from on a page.
pub const PAGE_PARAMS: [&str; 3] = ["range", "since", "until"];

/// How a range was asked for, as given, so that links and the form repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chosen {
    /// `range=…`: a span ending now.
    Last(String),
    /// `since=…` and/or `until=…`.
    Between {
        since: Option<String>,
        until: Option<String>,
    },
}

/// A chosen time range: `[since, until)`, an open end where `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRange {
    /// Its start, inclusive.
    pub since: Option<OffsetDateTime>,
    /// Its end, exclusive (`None`: up to now and whatever is stamped later).
    pub until: Option<OffsetDateTime>,
    /// How it was asked for.
    pub chosen: Chosen,
}

impl TimeRange {
    /// The last `preset`, ending at `now`.
    pub fn last(preset: &Preset, now: OffsetDateTime) -> TimeRange {
        TimeRange {
            since: Some(now - preset.span),
            until: None,
            chosen: Chosen::Last(preset.key.to_owned()),
        }
    }

    /// The picker's preset this range is, if it is one (such ranges are cached).
    pub fn preset(&self) -> Option<&'static Preset> {
        match &self.chosen {
            Chosen::Last(k) => PRESETS.iter().find(|p| p.key == k),
            Chosen::Between { .. } => None,
        }
    }

    /// Whether `t` is in the range.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }

    /// The query string that asks for this range again: `range=7d`, `since=…&until=…`.
    pub fn query(&self) -> String {
        match &self.chosen {
            Chosen::Last(k) => format!("range={}", encode_component(k)),
            Chosen::Between { since, until } => {
                let mut parts = Vec::new();
                if let Some(s) = since {
                    parts.push(format!("since={}", encode_component(s)));
                }
                if let Some(u) = until {
                    parts.push(format!("until={}", encode_component(u)));
                }
                parts.join("&")
            }
        }
    }

    /// The range in words, with its times in the viewer's offset: "the last 7 days (from
    /// 2025-01-06 10:00:00 UTC)", "from … to …".
    pub fn words(&self, offset: UtcOffset) -> String {
        let at = |t: OffsetDateTime| super::local_with_offset(t, offset);
        match (&self.chosen, self.since, self.until) {
            (Chosen::Last(_), Some(s), _) => {
                let what = self.preset().map_or_else(
                    || format!("the last {}", self.key_text()),
                    |p| p.words.to_owned(),
                );
                format!("{what} (since {})", at(s))
            }
            (_, Some(s), Some(u)) => format!("from {} to {}", at(s), at(u)),
            (_, Some(s), None) => format!("since {}", at(s)),
            (_, None, Some(u)) => format!("up to {}", at(u)),
            (_, None, None) => "everything".to_owned(),
        }
    }

    fn key_text(&self) -> &str {
        match &self.chosen {
            Chosen::Last(k) => k,
            Chosen::Between { .. } => "",
        }
    }
}

/// The picker as a page shows it: its HTML, and the query string its links to other pages
/// carry so that the range travels with them.
#[derive(Debug, Clone, Default)]
pub struct RangeBar {
    /// The picker's HTML (every value escaped).
    pub html: String,
    /// `range=7d` or `since=…&until=…`, empty without a range.
    pub query: String,
}

/// What a page's picker shows.
pub struct Picker<'a> {
    /// The page's path, where the links and the form go.
    pub path: &'a str,
    /// The page's other query parameters, kept by the links and the form.
    pub keep: Vec<(&'a str, &'a str)>,
    /// The chosen range, if any.
    pub range: Option<&'a TimeRange>,
    /// What the page shows without a range, in words: "the last hour".
    pub default_words: &'a str,
    /// What on the page is as of now whatever the range: "status, progress and forecast".
    pub as_of_now: &'a str,
    /// Why the range asked for was refused (the page then shows its default).
    pub error: Option<&'a str>,
    /// The viewer's offset, for the times in words.
    pub offset: UtcOffset,
    /// The longest preset offered (`None`: all of them).
    pub max_span: Option<Duration>,
}

impl Picker<'_> {
    /// The picker: a link per preset, a form for a custom span, and a sentence saying what
    /// the page shows.
    pub fn render(&self) -> RangeBar {
        let keep: String = self
            .keep
            .iter()
            .map(|(k, v)| format!("&{}={}", encode_component(k), encode_component(v)))
            .collect();
        let current = self.range.and_then(TimeRange::preset).map(|p| p.key);
        let mut html = String::from("<div class=\"range\" id=\"range\" data-live-refresh");
        if let Some(r) = self.range {
            let _ = write!(html, " data-range-query=\"{}\"", escape(&r.query()));
        }
        html.push_str("><nav aria-label=\"Time range\"><ul>");
        let default_href = match keep.strip_prefix('&') {
            Some(k) => format!("{}?{k}", self.path),
            None => self.path.to_owned(),
        };
        let _ = write!(
            html,
            "<li><a href=\"{}\"{}>Default</a></li>",
            escape(&default_href),
            if self.range.is_none() {
                " aria-current=\"true\""
            } else {
                ""
            }
        );
        for p in PRESETS
            .iter()
            .filter(|p| self.max_span.is_none_or(|m| p.span <= m))
        {
            let _ = write!(
                html,
                "<li><a href=\"{}\"{}>{}</a></li>",
                escape(&format!("{}?range={}{keep}", self.path, p.key)),
                if current == Some(p.key) {
                    " aria-current=\"true\""
                } else {
                    ""
                },
                p.label
            );
        }
        html.push_str("</ul></nav>");
        let (since, until) = match self.range.map(|r| &r.chosen) {
            Some(Chosen::Between { since, until }) => (since.as_deref(), until.as_deref()),
            _ => (None, None),
        };
        let _ = write!(
            html,
            "<form method=\"get\" action=\"{}\" class=\"range-custom\">",
            escape(self.path)
        );
        for (k, v) in &self.keep {
            let _ = write!(
                html,
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            );
        }
        let _ = write!(
            html,
            "<label>From <input name=\"since\" value=\"{}\" placeholder=\"2025-01-06 or 7d\" \
             size=\"14\"></label> <label>to <input name=\"until\" value=\"{}\" \
             placeholder=\"now\" size=\"14\"></label> <button type=\"submit\">Show</button></form>",
            escape(since.unwrap_or("")),
            escape(until.unwrap_or(""))
        );
        if let Some(e) = self.error {
            let _ = write!(
                html,
                "<p class=\"range-error\" role=\"alert\">Time range not shown: {}</p>",
                escape(e)
            );
        }
        let shown = match self.range {
            Some(r) => r.words(self.offset),
            None => self.default_words.to_owned(),
        };
        let _ = write!(
            html,
            "<p class=\"note\" data-range-span>Charts and lists over time show {}. {}</p></div>",
            escape(&shown),
            escape(self.as_of_now)
        );
        RangeBar {
            html,
            query: self.range.map(TimeRange::query).unwrap_or_default(),
        }
    }
}

/// The longest span the live figures cover: they read every operation of the span and of the
/// one before it, so longer spans are left to the overview's charts over time.
pub const MAX_LIVE_SPAN: Duration = Duration::days(7);

/// Buckets of the live charts over a chosen span (the last five minutes keep
/// [`mhd_core::live::SPARKLINE_BUCKETS`]).
pub const LIVE_SPAN_BUCKETS: usize = 60;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-10 12:00 UTC);

    #[test]
    fn the_picker_marks_the_choice_keeps_parameters_and_escapes() {
        let r = TimeRange::last(&PRESETS[3], NOW);
        let bar = Picker {
            path: "/datasets",
            keep: vec![("name", "a\"<b>&c")],
            range: Some(&r),
            default_words: "the newest operations",
            as_of_now: "States are as of now.",
            error: None,
            offset: UtcOffset::UTC,
            max_span: None,
        }
        .render();
        assert_eq!(bar.query, "range=30d");
        assert!(
            bar.html.contains(
                "<a href=\"/datasets?range=30d&amp;name=a%22%3Cb%3E%26c\" aria-current=\"true\">30 d</a>"
            ),
            "{}",
            bar.html
        );
        assert!(bar.html.contains("value=\"a&quot;&lt;b&gt;&amp;c\""));
        assert!(!bar.html.contains("<b>"));
        assert!(
            bar.html
                .contains("the last 30 days (since 2025-02-08 12:00:00 UTC)")
        );
        assert!(bar.html.contains("States are as of now."));
        let bar = Picker {
            path: "/tests",
            keep: Vec::new(),
            range: None,
            default_words: "the last 10 runs of each suite",
            as_of_now: "Each suite's figures come from its runs in the range.",
            error: Some("parameter `since`: \"<x>\" is neither a span nor a time"),
            offset: UtcOffset::UTC,
            max_span: Some(Duration::days(7)),
        }
        .render();
        assert!(bar.query.is_empty());
        assert!(
            bar.html
                .contains("<a href=\"/tests\" aria-current=\"true\">Default</a>")
        );
        assert!(bar.html.contains(
            "role=\"alert\">Time range not shown: parameter `since`: &quot;&lt;x&gt;&quot;"
        ));
        // A page with a longest span offers no preset beyond it.
        assert!(bar.html.contains(">7 d</a>") && !bar.html.contains(">30 d</a>"));
    }
}
