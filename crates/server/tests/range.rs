//! The time range of the API's reads and of the pages: `since` and `until` (and `range` on the
//! pages) keep what is inside the span and leave out what is outside, and a bad range is a 400
//! naming the parameter — in the API's error shape, or on the page with its message. A real
//! SQLite store in a temporary folder, requests through `tower::ServiceExt::oneshot`.

mod common;

use axum::Router;
use axum::http::StatusCode;
use common::http::{get_ok, get_text};
use common::op;
use mhd_core::alerts::{Alert, AlertEvent, AlertState, Impact, Resolution, Severity, Transition};
use mhd_core::sample::Sample;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_store::Store;
use mhd_store::alerts::AlertStore as _;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

const PLAN: &str = r#"
[migration]
name = "Range"
start = "2025-01-06"
weeks = 21

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"
"#;

fn ago(d: Duration) -> OffsetDateTime {
    common::now() - d
}

fn run(suite: &str, at: OffsetDateTime) -> TestRun {
    TestRun {
        suite: suite.into(),
        phase: None,
        component: Some("storage".into()),
        run_at: at,
        duration: 1.0,
        cases: vec![TestCase {
            name: "works".into(),
            classname: None,
            status: TestStatus::Passed,
            time: Some(0.5),
            message: None,
        }],
    }
}

fn resolved(id: i64, rule: &str, started: OffsetDateTime, ended: OffsetDateTime) -> Transition {
    Transition {
        alert: Alert {
            id,
            key: format!("{rule}/storage"),
            rule: rule.into(),
            kind: "threshold".into(),
            severity: Severity::Warning,
            state: AlertState::Resolved,
            title: format!("{rule} on storage"),
            message: "error_rate 0.12 > 0.05".into(),
            component: Some("storage".into()),
            value: Some(0.12),
            started_at: started,
            fired_at: Some(started),
            last_seen: ended,
            clear_since: Some(ended),
            resolved_at: Some(ended),
            resolution: Some(Resolution::Automatic),
            acknowledged: None,
            impact: Impact::default(),
            runbook: None,
            suppressed_by: None,
            notified: true,
        },
        event: AlertEvent::Resolved,
        notify: false,
    }
}

/// The whole app over a store holding, each twice — 2 hours ago (inside a one-day range) and
/// 20 days ago (outside it) —, an operation, a suite's test run, a resolved alert, and a CPU
/// sample 2 hours ago and 30 minutes ago.
async fn app() -> (tempfile::TempDir, Router) {
    let (dir, store) = common::store().await;
    store
        .insert_operations(&[
            op("recent_ds")
                .at(ago(Duration::hours(2)))
                .duration(10.0)
                .build(),
            op("old_ds")
                .at(ago(Duration::days(20)))
                .duration(10.0)
                .build(),
        ])
        .await
        .unwrap();
    store
        .insert_test_run(&run("recent_suite", ago(Duration::hours(2))), None)
        .await
        .unwrap();
    store
        .insert_test_run(&run("old_suite", ago(Duration::days(20))), None)
        .await
        .unwrap();
    store
        .save_transitions(
            &[resolved(
                1,
                "old_rule",
                ago(Duration::days(21)),
                ago(Duration::days(20)),
            )],
            ago(Duration::days(20)),
        )
        .await
        .unwrap();
    store
        .save_transitions(
            &[resolved(
                2,
                "recent_rule",
                ago(Duration::hours(3)),
                ago(Duration::hours(2)),
            )],
            ago(Duration::hours(2)),
        )
        .await
        .unwrap();
    let sample = |at: OffsetDateTime, value: f64| Sample {
        timestamp: at,
        metric: "cpu_percent".into(),
        value,
        unit: None,
        component: None,
        labels: Default::default(),
    };
    store
        .insert_samples(&[
            sample(ago(Duration::hours(2)), 42.0),
            sample(ago(Duration::minutes(30)), 99.0),
        ])
        .await
        .unwrap();
    let state = common::state(store, PLAN);
    (dir, mhd_server::app(state))
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn operations_honour_since_and_until() {
    let (_dir, app) = app().await;
    let all = get_ok(&app, "/api/v1/operations").await;
    assert_eq!(names(&all, "dataset_name"), ["recent_ds", "old_ds"]);
    let recent = get_ok(&app, "/api/v1/operations?since=1d").await;
    assert_eq!(names(&recent, "dataset_name"), ["recent_ds"]);
    let old = get_ok(&app, "/api/v1/operations?until=1d").await;
    assert_eq!(names(&old, "dataset_name"), ["old_ds"]);
    let between = get_ok(
        &app,
        "/api/v1/operations?since=2025-02-10&until=2025-02-20T00:00:00Z",
    )
    .await;
    assert_eq!(names(&between, "dataset_name"), ["old_ds"]);
    let none = get_ok(&app, "/api/v1/operations?since=1h&until=now").await;
    assert_eq!(names(&none, "dataset_name"), Vec::<String>::new());
}

#[tokio::test]
async fn alerts_honour_since_and_until() {
    let (_dir, app) = app().await;
    let all = get_ok(&app, "/api/v1/alerts").await;
    assert_eq!(names(&all["resolved"], "rule"), ["recent_rule", "old_rule"]);
    let recent = get_ok(&app, "/api/v1/alerts?since=1d").await;
    assert_eq!(names(&recent["resolved"], "rule"), ["recent_rule"]);
    let old = get_ok(&app, "/api/v1/alerts?until=7d").await;
    assert_eq!(names(&old["resolved"], "rule"), ["old_rule"]);
    // Open at some time in the span: the old alert was open 20½ days ago.
    let during = get_ok(
        &app,
        "/api/v1/alerts?since=2025-02-13T00:00:00Z&until=2025-02-13T06:00:00Z",
    )
    .await;
    assert_eq!(names(&during["resolved"], "rule"), ["old_rule"]);
}

#[tokio::test]
async fn tests_honour_since_and_until() {
    let (_dir, app) = app().await;
    let all = get_ok(&app, "/api/v1/tests").await;
    let mut suites = names(&all["suites"], "name");
    suites.sort();
    assert_eq!(suites, ["old_suite", "recent_suite"]);
    let recent = get_ok(&app, "/api/v1/tests?since=1d").await;
    assert_eq!(names(&recent["suites"], "name"), ["recent_suite"]);
    let old = get_ok(&app, "/api/v1/tests?until=7d").await;
    assert_eq!(names(&old["suites"], "name"), ["old_suite"]);
    let none = get_ok(&app, "/api/v1/tests?since=1h").await;
    assert_eq!(names(&none["suites"], "name"), Vec::<String>::new());
}

#[tokio::test]
async fn resource_history_honours_since_and_until() {
    let (_dir, app) = app().await;
    let doc = get_ok(
        &app,
        "/api/v1/resources/history?metric=cpu_percent&since=3h&until=1h",
    )
    .await;
    assert_eq!(doc["since"], "2025-03-05T09:00:00Z");
    assert_eq!(doc["until"], "2025-03-05T11:00:00Z");
    let points = doc["series"][0]["points"].as_array().unwrap();
    let means: Vec<f64> = points.iter().filter_map(|p| p["mean"].as_f64()).collect();
    assert_eq!(means, [42.0], "only the sample inside the span: {doc}");
    let last_hour = get_ok(&app, "/api/v1/resources/history?metric=cpu_percent").await;
    let means: Vec<f64> = last_hour["series"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["mean"].as_f64())
        .collect();
    assert_eq!(means, [99.0], "{last_hour}");
}

#[tokio::test]
async fn bad_ranges_are_400_naming_the_parameter_on_every_read() {
    let (_dir, app) = app().await;
    let routes = [
        "/api/v1/operations",
        "/api/v1/alerts",
        "/api/v1/tests",
        "/api/v1/resources/history",
        "/api/v1/samples?metric=cpu_percent&",
    ];
    let bad = [
        ("since=2025-03-04&until=2025-03-01", "parameter `since`"),
        ("since=7x", "parameter `since`"),
        ("until=3 fortnights", "parameter `until`"),
        ("since=now&until=1h", "parameter `since`"),
        ("since=999999999999999999d", "parameter `since`"),
    ];
    for route in routes {
        for (query, named) in bad {
            let sep = if route.ends_with('&') { "" } else { "?" };
            let uri = format!("{route}{sep}{}", query.replace(' ', "%20"));
            let (status, body) = get_text(&app, &uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["code"], "bad_request", "{uri}");
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(named), "{uri}: {message}");
        }
    }
}

#[tokio::test]
async fn the_openapi_document_describes_the_range_parameters() {
    let (_dir, app) = app().await;
    let doc = get_ok(&app, "/api/v1/openapi.json").await;
    for path in [
        "/api/v1/operations",
        "/api/v1/alerts",
        "/api/v1/tests",
        "/api/v1/resources/history",
        "/api/v1/samples",
    ] {
        let params = names(&doc["paths"][path]["get"]["parameters"], "name");
        for p in ["since", "until"] {
            assert!(
                params.iter().any(|n| n == p),
                "{path} lacks {p}: {params:?}"
            );
        }
    }
}

/// The pages with time, each with what it shows of the store: (path, inside a day, outside).
/// The overview's ranged part is its chart of operations over time (no names: the browser
/// test `the_time_range_is_kept_in_the_url_and_through_live_updates` counts its periods).
const RANGED_PAGES: [(&str, &str, &str); 4] = [
    ("/", "", ""),
    ("/tests", "recent_suite", "old_suite"),
    ("/alerts", "recent_rule", "old_rule"),
    ("/datasets?name=recent_ds", "", ""),
];

#[tokio::test]
async fn pages_with_time_carry_the_picker_and_follow_the_range() {
    let (_dir, app) = app().await;
    for (path, inside, outside) in RANGED_PAGES {
        let (status, html) = get_text(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(r#"<nav aria-label="Time range">"#), "{path}");
        assert!(
            html.contains(r#"aria-current="true">Default</a>"#),
            "{path}"
        );
        assert!(html.contains(r#"<input name="since""#), "{path}");
        if !inside.is_empty() {
            assert!(html.contains(inside), "{path} shows {inside} by default");
            assert!(html.contains(outside), "{path} shows {outside} by default");
        }
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, html) = get_text(&app, &format!("{path}{sep}range=24h")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(r#"aria-current="true">24 h</a>"#), "{path}");
        assert!(html.contains("the last 24 hours"), "{path}: says the span");
        if !inside.is_empty() {
            assert!(html.contains(inside), "{path}: {inside} is in the last day");
            assert!(!html.contains(outside), "{path}: {outside} is not");
        }
        // The links to the other pages with time keep the range; the others do not take it.
        assert!(html.contains(r#"href="/alerts?range=24h""#), "{path}");
        assert!(html.contains(r#"href="/tests?range=24h""#), "{path}");
        assert!(html.contains(r#"href="/performance""#), "{path}");
        // A custom span, kept in the form.
        let (status, html) = get_text(
            &app,
            &format!("{path}{sep}since=2025-02-10&until=2025-02-20"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(r#"value="2025-02-10""#), "{path}");
        assert!(html.contains(r#"href="/tests?since=2025-02-10&#38;until=2025-02-20""#));
        if !inside.is_empty() {
            assert!(html.contains(outside), "{path}: {outside} is in the span");
            assert!(!html.contains(inside), "{path}: {inside} is not");
        }
    }
    // The resource page: its charts over the range asked for.
    let (status, html) = get_text(&app, "/resources?range=7d").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(r#"aria-current="true">7 d</a>"#));
    assert!(html.contains("the last 7 days"));
    let (status, html) = get_text(&app, "/resources?since=3h&until=1h").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("from 2025-03-05 09:00:00 UTC to 2025-03-05 11:00:00 UTC"),
        "the page says its span"
    );
    // A page without time has no picker.
    let (_, html) = get_text(&app, "/performance").await;
    assert!(!html.contains(r#"aria-label="Time range""#));
}

#[tokio::test]
async fn a_dataset_history_follows_the_range() {
    let (_dir, app) = app().await;
    let history = |html: &str| {
        let from = &html[html.find(r#"id="history-h""#).unwrap()..];
        from[..from.find("</section>").unwrap()].to_owned()
    };
    let (_, html) = get_text(&app, "/datasets?name=old_ds").await;
    assert!(
        history(&html).contains(r#"<time datetime="2025-02-13T12:00:00Z""#),
        "the old operation is listed"
    );
    let (_, html) = get_text(&app, "/datasets?name=old_ds&range=7d").await;
    let shown = history(&html);
    assert!(!shown.contains("2025-02-13"), "not in the last 7 days");
    assert!(shown.contains("No operation of this dataset is stored in the chosen time range."));
    assert!(html.contains(r#"href="/datasets?range=30d&amp;name=old_ds""#));
    let (_, html) = get_text(
        &app,
        "/datasets?name=old_ds&since=2025-02-13&until=2025-02-14",
    )
    .await;
    assert!(history(&html).contains(r#"<time datetime="2025-02-13T12:00:00Z""#));
}

#[tokio::test]
async fn a_bad_range_shows_the_page_with_the_message_and_status_400() {
    let (_dir, app) = app().await;
    for path in ["/", "/tests", "/alerts", "/resources", "/datasets"] {
        for (query, named) in [
            ("since=2025-03-04&until=2025-03-01", "parameter `since`"),
            ("since=7x", "parameter `since`"),
            ("until=soon", "parameter `until`"),
            ("range=7x", "parameter `range`"),
        ] {
            let uri = format!("{path}?{query}");
            let (status, html) = get_text(&app, &uri).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            assert!(html.starts_with("<!DOCTYPE html>"), "{uri}: a page");
            assert!(
                html.contains(r#"<nav class="site""#),
                "{uri}: with its navigation"
            );
            assert!(
                html.contains(r#"class="range-error" role="alert""#),
                "{uri}"
            );
            assert!(html.contains(named), "{uri}: names {named}");
        }
    }
    // What a user typed is shown escaped.
    let (status, html) = get_text(&app, "/tests?since=%3Cscript%3Ex").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!html.contains("<script>x"));
    assert!(html.contains("&lt;script&gt;x"));
}

/// The live page and `GET /api/v1/metrics/live` cover the last five minutes, or the span asked
/// for (at most 7 days) against the span before it: the operation 2 hours ago is in the last
/// day's figures and not in the five minutes'. Over a chosen span the pushed figures leave the
/// section alone (`data-live-frozen`); a span that ended is not read again.
#[tokio::test]
async fn the_live_figures_follow_the_range_up_to_a_week() {
    let (_dir, app) = app().await;
    let now = get_ok(&app, "/api/v1/metrics/live").await;
    assert_eq!(
        (now["window_seconds"].as_f64(), now["operations"].as_u64()),
        (Some(300.0), Some(0))
    );
    assert_eq!(
        now["operations_per_second"]["sparkline"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    let day = get_ok(&app, "/api/v1/metrics/live?since=1d").await;
    assert_eq!(
        (day["window_seconds"].as_f64(), day["operations"].as_u64()),
        (Some(86_400.0), Some(1))
    );
    assert_eq!(
        day["operations_per_second"]["sparkline"]
            .as_array()
            .unwrap()
            .len(),
        60
    );
    // The day before the last one holds nothing; the span 3 to 1 hours ago holds the operation.
    assert_eq!(day["operations_per_second"]["previous"].as_f64(), Some(0.0));
    let past = get_ok(&app, "/api/v1/metrics/live?since=3h&until=1h").await;
    assert_eq!(
        (past["window_seconds"].as_f64(), past["operations"].as_u64()),
        (Some(7_200.0), Some(1))
    );
    for (uri, named) in [
        (
            "/api/v1/metrics/live?since=8d",
            "parameters `since` and `until`: the live figures cover at most 7 days",
        ),
        ("/api/v1/metrics/live?since=yesterday", "parameter `since`"),
        (
            "/api/v1/metrics/live?window=1h",
            "parameter `window`: unknown",
        ),
    ] {
        let (status, body) = get_text(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(body.contains(named), "{uri}: {body}");
    }

    let (status, page) = get_text(&app, "/live").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Over the last 5 minutes, as of"), "{page}");
    assert!(!page.contains("data-live-frozen"));
    let (status, page) = get_text(&app, "/live?range=24h").await;
    assert_eq!(status, StatusCode::OK);
    let section = &page[page.find("<section id=\"live\"").expect("the live section")..];
    let head = &section[..section.find('>').unwrap()];
    assert!(
        head.contains("data-live-refresh") && head.contains("data-live-frozen"),
        "{head}"
    );
    assert!(
        section.contains("Over the last 24 hours, as of"),
        "{section}"
    );
    assert!(
        section.contains("<span data-live=\"window_operations\">1</span> operations"),
        "{section}"
    );
    assert!(page.contains("aria-current=\"true\">24 h</a>"));
    // The picker offers no preset past a week here.
    assert!(
        page.contains(">7 d</a>") && !page.contains(">30 d</a>"),
        "{page}"
    );
    let (status, page) = get_text(&app, "/live?since=3h&until=1h").await;
    assert_eq!(status, StatusCode::OK);
    let section = &page[page.find("<section id=\"live\"").unwrap()..];
    let head = &section[..section.find('>').unwrap()];
    assert!(
        head.contains("data-live-frozen") && !head.contains("data-live-refresh"),
        "{head}"
    );
    assert!(section.contains("Over the 2 hours up to"), "{section}");
    // Too long a span: the page's default with the message, and 400.
    let (status, page) = get_text(&app, "/live?range=30d").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        page.contains(
            "Time range not shown: parameter `range`: the live figures cover at most 7 days"
        ),
        "{page}"
    );
    assert!(page.contains("Over the last 5 minutes, as of"));
}

/// A range chosen on the overview travels to the pages whose charts follow it, but not to the
/// live page, whose range is its figures' span of at most a week.
#[tokio::test]
async fn the_overview_range_is_not_carried_to_the_live_page() {
    let (_dir, app) = app().await;
    let (status, page) = get_text(&app, "/?range=30d").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("href=\"/tests?range=30d\""), "{page}");
    assert!(page.contains("href=\"/live\""), "{page}");
    assert!(!page.contains("href=\"/live?range=30d\""), "{page}");
}
