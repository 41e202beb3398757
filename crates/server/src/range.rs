//! The time range a page or an API read asks for, read from its query string (`range`,
//! `since`, `until`; the rules are those of [`mhd_web::views::range`], which also draws the
//! picker), and what the pages and reads show over it from the store. A bad range gets the
//! same 400 everywhere, naming the parameter.

use mhd_web::views::range::{Chosen, LIVE_SPAN_BUCKETS, MAX_LIVE_SPAN, PRESETS, TimeRange};
use time::{Duration, OffsetDateTime};

use crate::error::ApiError;
use crate::live_metrics::LiveSpan;
use crate::query::{Params, param};

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

/// The range of the query's `since` and `until` (an API read's), or of `range` too when the
/// route knows it (a page's; `form` also takes an empty value for "not given", as a form
/// sends its empty fields). `None` when none is given; 400 naming the parameter when one
/// is not a time, both `range` and an end are given, or `since` is not before `until`.
pub fn from_params(
    pairs: &Params,
    now: OffsetDateTime,
    form: bool,
) -> Result<Option<TimeRange>, ApiError> {
    from_values(
        param(pairs, "range"),
        param(pairs, "since"),
        param(pairs, "until"),
        now,
        form,
    )
}

/// The range of an API read's `since` and `until` (no `range`, and an empty value is a bad
/// time, not "not given"): [`from_values`] as the reads call it.
pub fn of_api(
    since: Option<&str>,
    until: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<TimeRange>, ApiError> {
    from_values(None, since, until, now, false)
}

/// [`from_params`] from the values of `range`, `since` and `until` themselves.
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
        let span = mhd_web::views::parse_range(r)
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

/// The span of the live figures `range` asks for: it ends at `until` (now at the latest, so a
/// range reaching into the future stops now) and starts at `since` (five minutes before its
/// end when only `until` is given). 400 naming the parameter when the span is empty or longer
/// than [`MAX_LIVE_SPAN`].
pub fn live_span(range: &TimeRange, now: OffsetDateTime) -> Result<LiveSpan, ApiError> {
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
    Ok(LiveSpan {
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
        .store()
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
        None => match state.store().first_operation_at().await? {
            Some(first) => first.max(until - mhd_store::view_data::HISTORY),
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
            .store()
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
        .store()
        .recent_operations(&mhd_store::OperationFilter {
            limit: mhd_store::view_data::RECENT_ROWS,
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
        from_params(&pairs(list), NOW, true)
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
        let cases: [(&[(&str, &str)], &str); 6] = [
            (
                &[("since", "2025-03-09"), ("until", "2025-03-01")],
                "`since`",
            ),
            (&[("since", "7x")], "parameter `since`"),
            (&[("until", "soon")], "parameter `until`"),
            (&[("range", "7x")], "parameter `range`"),
            (&[("range", "7d"), ("since", "1d")], "parameter `range`"),
            (
                &[("since", "<script>"), ("until", "now")],
                "parameter `since`",
            ),
        ];
        for (given, named) in cases {
            let e = read(given).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{given:?}");
            assert!(e.message.contains(named), "{given:?}: {}", e.message);
        }
        // An API read has no form: an empty value is a bad time, not "not given".
        let e = from_params(&pairs(&[("since", "")]), NOW, false).unwrap_err();
        assert!(e.message.contains("parameter `since`"), "{}", e.message);
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
