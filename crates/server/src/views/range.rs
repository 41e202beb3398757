//! The time range a page's charts and lists show, and the picker that chooses it.
//!
//! A range comes from the query string, so it works without JavaScript, is kept in the URL and
//! travels with links: `range=7d` (the last 7 days, ending now) or `since=…&until=…` (a custom
//! span). `since` and `until` are read by the same rules as `GET /api/v1/samples`: a time
//! (RFC 3339 or a date), a span back from now (`30m`, `7d`) or `now`. Either end may be left
//! open. The API's read routes take `since` and `until` by the same function, so a bad range
//! gets the same 400 everywhere, naming the parameter.
//!
//! Only the charts and the lists over time follow the range; the figures "as of now" (status,
//! progress, forecast, the live window) do not, and the picker says so.

use std::fmt::Write as _;

use time::{Duration, OffsetDateTime, UtcOffset};

use crate::api::{Params, param};
use crate::charts::escape;
use crate::error::ApiError;
use crate::signin::encode_component;

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

/// One end of a range: `now`, a span back from `now` or a time (the rules of
/// `GET /api/v1/samples`), or 400 naming the parameter.
pub fn instant(name: &str, v: &str, now: OffsetDateTime) -> Result<OffsetDateTime, ApiError> {
    match v.trim() {
        "now" => Ok(now),
        v => mhd_core::time_parse::parse_since(v, now)
            .map_err(|e| ApiError::bad_request(format!("parameter `{name}`: {e}"))),
    }
}

/// 400 when `since` is not before `until`, in the words of every route that reads both.
pub fn check_order(since: OffsetDateTime, until: OffsetDateTime) -> Result<(), ApiError> {
    if since >= until {
        return Err(ApiError::bad_request(format!(
            "parameter `since` ({}) is not before `until` ({})",
            mhd_core::format::rfc3339(since),
            mhd_core::format::rfc3339(until)
        )));
    }
    Ok(())
}

impl TimeRange {
    /// The range of the query's `since` and `until` (an API read's), or of `range` too when the
    /// route knows it (a page's; `form` also takes an empty value for "not given", as a form
    /// sends its empty fields). `None` when none is given; 400 naming the parameter when one
    /// is not a time, both `range` and an end are given, or `since` is not before `until`.
    pub fn from_params(
        pairs: &Params,
        now: OffsetDateTime,
        form: bool,
    ) -> Result<Option<TimeRange>, ApiError> {
        Self::from_values(
            param(pairs, "range"),
            param(pairs, "since"),
            param(pairs, "until"),
            now,
            form,
        )
    }

    /// The range of an API read's `since` and `until` (no `range`, and an empty value is a bad
    /// time, not "not given"): [`TimeRange::from_values`] as the reads call it.
    pub fn of_api(
        since: Option<&str>,
        until: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Option<TimeRange>, ApiError> {
        Self::from_values(None, since, until, now, false)
    }

    /// [`TimeRange::from_params`] from the values of `range`, `since` and `until` themselves.
    pub fn from_values<'a>(
        range: Option<&'a str>,
        since: Option<&'a str>,
        until: Option<&'a str>,
        now: OffsetDateTime,
        form: bool,
    ) -> Result<Option<TimeRange>, ApiError> {
        let given = |v: Option<&'a str>| v.filter(|v| !(form && v.trim().is_empty()));
        let (range, since, until) = (given(range), given(since), given(until));
        if let Some(r) = range {
            if since.is_some() || until.is_some() {
                return Err(ApiError::bad_request(
                    "parameter `range`: give either `range` or `since`/`until`, not both",
                ));
            }
            let span = super::parse_range(r)
                .map_err(|e| ApiError::bad_request(format!("parameter `range`: {e}")))?;
            let key = PRESETS
                .iter()
                .find(|p| p.span == span)
                .map_or_else(|| r.trim().to_owned(), |p| p.key.to_owned());
            return Ok(Some(TimeRange {
                since: Some(now - span),
                until: None,
                chosen: Chosen::Last(key),
            }));
        }
        if since.is_none() && until.is_none() {
            return Ok(None);
        }
        let from = since.map(|v| instant("since", v, now)).transpose()?;
        let to = until.map(|v| instant("until", v, now)).transpose()?;
        if let (Some(s), Some(u)) = (from, to) {
            check_order(s, u)?;
        }
        Ok(Some(TimeRange {
            since: from,
            until: to,
            chosen: Chosen::Between {
                since: since.map(|v| v.trim().to_owned()),
                until: until.map(|v| v.trim().to_owned()),
            },
        }))
    }

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

/// The span of the live figures `range` asks for: it ends at `until` (now at the latest, so a
/// range reaching into the future stops now) and starts at `since` (five minutes before its
/// end when only `until` is given). 400 naming the parameter when the span is empty or longer
/// than [`MAX_LIVE_SPAN`].
pub fn live_span(
    range: &TimeRange,
    now: OffsetDateTime,
) -> Result<crate::live::LiveSpan, ApiError> {
    let end = range.until.unwrap_or(now).min(now);
    let since = range.since.unwrap_or(end - mhd_core::live::DEFAULT_WINDOW);
    let name = match range.chosen {
        Chosen::Last(_) => "parameter `range`",
        Chosen::Between { .. } => "parameters `since` and `until`",
    };
    if since >= end {
        return Err(ApiError::bad_request(format!(
            "{name}: the span ends at {} (now at the latest), not after its start {}",
            mhd_core::format::rfc3339(end),
            mhd_core::format::rfc3339(since)
        )));
    }
    if end - since > MAX_LIVE_SPAN {
        return Err(ApiError::bad_request(format!(
            "{name}: the live figures cover at most {} days (the overview's charts go back further)",
            MAX_LIVE_SPAN.whole_days()
        )));
    }
    Ok(crate::live::LiveSpan {
        end,
        window: end - since,
        buckets: LIVE_SPAN_BUCKETS,
    })
}

/// The test results view of the runs in `range`: each suite's last
/// [`mhd_core::testview::TREND_RUNS`] runs in it, with the plan's thresholds. `None` when no
/// suite ran in the range.
pub(crate) async fn tests_in(
    state: &crate::state::AppState,
    range: &TimeRange,
) -> mhd_store::Result<Option<mhd_core::testview::TestsView>> {
    use mhd_store::Store as _;
    let runs = state
        .store
        .test_runs_between(
            range.since,
            range.until,
            mhd_core::testview::TREND_RUNS as u32,
        )
        .await?;
    if runs.is_empty() {
        return Ok(None);
    }
    let thresholds = state.plan().map(|p| p.thresholds).unwrap_or_default();
    Ok(Some(mhd_core::testview::tests_view(&runs, &thresholds)))
}

/// What the dashboard pages show, with the charts and lists over time taken from `range`:
/// operations over time, the newest operations and errors, the test results. The rest (the
/// view model's figures, the totals) is as of now, from the state's cache.
pub(crate) async fn dashboard_in(
    state: &crate::state::AppState,
    range: &TimeRange,
) -> mhd_store::Result<mhd_core::dashboard::DashboardData> {
    use mhd_store::Store as _;
    let mut data = mhd_core::dashboard::DashboardData::clone(&*state.dashboard().await?);
    let now = state.now();
    let until = range.until.unwrap_or(now);
    let since = match range.since {
        Some(s) => s,
        None => match state.store.first_operation_at().await? {
            Some(first) => first.max(until - mhd_store::gather::HISTORY),
            None => until,
        },
    };
    data.bucket_seconds = if until - since <= Duration::days(2) {
        3600
    } else {
        86_400
    };
    data.over_time = if since < until && data.summary.overall.total_operations > 0 {
        // The store's buckets hold their start; the last one holds `until` itself, which the
        // range leaves out: end just before it.
        state
            .store
            .operations_over_time(
                since,
                until - Duration::microseconds(1),
                data.bucket_seconds,
            )
            .await?
    } else {
        Vec::new()
    };
    data.recent = state
        .store
        .recent_operations(&mhd_store::OperationFilter {
            limit: mhd_store::gather::RECENT_ROWS,
            since: range.since,
            until: range.until,
            ..mhd_store::OperationFilter::default()
        })
        .await?;
    data.summary
        .recent_errors
        .retain(|e| range.contains(e.timestamp));
    data.tests = tests_in(state, range).await?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2025-03-10 12:00 UTC);

    fn pairs(list: &[(&str, &str)]) -> Params {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn read(list: &[(&str, &str)]) -> Result<Option<TimeRange>, ApiError> {
        TimeRange::from_params(&pairs(list), NOW, true)
    }

    #[test]
    fn presets_and_spans_end_now() {
        let r = read(&[("range", "7d")]).unwrap().unwrap();
        assert_eq!(r.since, Some(datetime!(2025-03-03 12:00 UTC)));
        assert_eq!(r.until, None);
        assert_eq!(r.preset().map(|p| p.key), Some("7d"));
        assert_eq!(r.query(), "range=7d");
        // The same span written otherwise is the same preset.
        let r = read(&[("range", "1w")]).unwrap().unwrap();
        assert_eq!(r.preset().map(|p| p.key), Some("7d"));
        let r = read(&[("range", "3d")]).unwrap().unwrap();
        assert_eq!(r.preset(), None, "not a preset: rendered uncached");
        assert_eq!(r.query(), "range=3d");
        assert!(read(&[]).unwrap().is_none());
        assert!(read(&[("since", ""), ("until", "")]).unwrap().is_none());
    }

    #[test]
    fn custom_spans_read_times_dates_spans_and_now() {
        let r = read(&[("since", "2025-03-01"), ("until", "now")])
            .unwrap()
            .unwrap();
        assert_eq!(r.since, Some(datetime!(2025-03-01 0:00 UTC)));
        assert_eq!(r.until, Some(NOW));
        assert!(r.contains(datetime!(2025-03-05 0:00 UTC)));
        assert!(!r.contains(datetime!(2025-02-28 23:59 UTC)));
        assert!(!r.contains(NOW), "the end is exclusive");
        assert_eq!(r.query(), "since=2025-03-01&until=now");
        let r = read(&[("since", "2h")]).unwrap().unwrap();
        assert_eq!(r.since, Some(datetime!(2025-03-10 10:00 UTC)));
        assert_eq!(r.until, None);
        let r = read(&[("until", "2025-03-09T00:00:00+01:00")])
            .unwrap()
            .unwrap();
        assert_eq!(r.until, Some(datetime!(2025-03-08 23:00 UTC)));
    }

    #[test]
    fn bad_ranges_name_the_parameter() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (
                &[("since", "2025-03-09"), ("until", "2025-03-01")],
                "`since`",
            ),
            (&[("since", "7x")], "parameter `since`"),
            (&[("until", "soon")], "parameter `until`"),
            (&[("range", "7x")], "parameter `range`"),
            (&[("range", "7d"), ("since", "1d")], "parameter `range`"),
        ];
        for (given, named) in cases {
            let e = read(given).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{given:?}");
            assert!(e.message.contains(named), "{given:?}: {}", e.message);
        }
        // An API read has no form: an empty value is a bad time, not "not given".
        let e = TimeRange::from_params(&pairs(&[("since", "")]), NOW, false).unwrap_err();
        assert!(e.message.contains("parameter `since`"), "{}", e.message);
    }

    #[test]
    fn the_picker_marks_the_choice_keeps_parameters_and_escapes() {
        let r = read(&[("range", "30d")]).unwrap().unwrap();
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
        let custom = read(&[("since", "<script>"), ("until", "now")]);
        assert!(custom.is_err());
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

    #[test]
    fn the_live_span_ends_now_at_the_latest_and_is_at_most_a_week() {
        let span = |given: &[(&str, &str)]| live_span(&read(given).unwrap().unwrap(), NOW);
        let s = span(&[("range", "1h")]).unwrap();
        assert_eq!((s.end, s.window), (NOW, Duration::hours(1)));
        assert_eq!(s.buckets, LIVE_SPAN_BUCKETS);
        let s = span(&[("since", "2025-03-01"), ("until", "2025-03-02")]).unwrap();
        assert_eq!(s.window, Duration::days(1));
        assert_eq!(s.end, time::macros::datetime!(2025-03-02 00:00 UTC));
        // A range into the future stops now; only `until` gives five minutes up to it.
        let s = span(&[("since", "1h"), ("until", "2030-01-01")]).unwrap();
        assert_eq!((s.end, s.window), (NOW, Duration::hours(1)));
        let s = span(&[("until", "2025-03-05")]).unwrap();
        assert_eq!(s.window, Duration::minutes(5));
        let e = span(&[("range", "30d")]).unwrap_err();
        assert!(
            e.message
                .starts_with("parameter `range`: the live figures cover at most 7 days"),
            "{}",
            e.message
        );
        let e = span(&[("since", "8d")]).unwrap_err();
        assert!(
            e.message.starts_with("parameters `since` and `until`"),
            "{}",
            e.message
        );
        let e = span(&[("since", "2030-01-01")]).unwrap_err();
        assert!(e.message.contains("not after its start"), "{}", e.message);
    }
}
