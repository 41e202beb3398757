//! The live server's pages, script and service worker, driven without a network: a real
//! SQLite store in a temporary folder, requests through `tower::ServiceExt::oneshot` on
//! `mhd_server::app(state)`.

mod common;

use axum::Router;
use axum::http::{Method, StatusCode, header};
use common::http::{get, get_page, get_with, post_json, send};
use common::{App, SATURDAY, saturday};
use mhd_core::System;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::testrun::{TestCase, TestRun, TestStatus};
use mhd_store::{Database, Store};
use time::Duration;

/// The pages and the section each one shows.
const PAGES: [(&str, &str); 9] = [
    ("/", r#"id="health""#),
    ("/summary", r#"id="health""#),
    ("/timeline", r#"id="timeline""#),
    ("/components", r#"id="components""#),
    ("/live", r#"id="live""#),
    ("/tests", r#"id="tests""#),
    ("/performance", r#"id="performance""#),
    ("/datasets", r#"id="datasets""#),
    ("/how", r#"id="how""#),
];

/// Every hook of the live contract the overview must carry.
const HOOKS: [&str; 13] = [
    "migration_progress",
    "progress_bar",
    "datasets_migrated",
    "datasets_total",
    "success_rate",
    "rollback_count",
    "overall_health",
    "estimated_completion",
    "operations_per_second",
    "errors_per_minute",
    "mean_duration_ms",
    "p95_duration_ms",
    "active_migrations",
];

/// A server over a store with operations, a test run and benchmarks (`seeded`), and a plan.
async fn server(with_plan: bool, seeded: bool) -> App {
    let (dir, store) = common::store().await;
    if seeded {
        seed(&store).await;
    }
    App::over(dir, store, with_plan.then(common::default_plan), saturday)
}

async fn seed(store: &Database) {
    store
        .insert_operations(&common::ops::around_saturday())
        .await
        .unwrap();
    let case = |name: &str, status| TestCase {
        name: name.into(),
        classname: None,
        status,
        time: Some(0.1),
        message: None,
    };
    let run = TestRun {
        suite: "unit".into(),
        phase: None,
        component: Some("storage".into()),
        run_at: SATURDAY - Duration::hours(1),
        duration: 0.2,
        cases: vec![case("a", TestStatus::Passed), case("b", TestStatus::Failed)],
    };
    store.insert_test_run(&run, None).await.unwrap();
    let bench = |system, ms: f64| BenchmarkSamples {
        operation: "load".into(),
        system,
        component: Some("storage".into()),
        values_ms: vec![ms; 6],
    };
    store
        .insert_benchmarks(
            &[bench(System::Old, 200.0), bench(System::New, 100.0)],
            None,
            SATURDAY,
        )
        .await
        .unwrap();
}

/// The script's path as the page names it.
fn script_src(html: &str) -> String {
    let start = html
        .find(r#"<script src=""#)
        .expect("the page loads its script")
        + r#"<script src=""#.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn every_page_is_html_with_the_navigation_and_its_section() {
    let s = server(true, true).await;
    for (path, section) in PAGES {
        let (status, headers, html) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert!(html.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(
            html.contains(r#"<nav class="site" aria-label="Pages">"#),
            "{path}"
        );
        assert!(html.contains(section), "{path}: {section}");
        // The current page is marked in both forms of the navigation.
        assert_eq!(
            html.matches(&format!(r#"href="{path}" aria-current="page""#))
                .count(),
            2,
            "{path}"
        );
        // Landmarks, the skip link, one h1 before any h2.
        assert!(
            html.contains(r##"<a class="skip" href="#main">"##),
            "{path}"
        );
        assert!(html.contains(r#"<main id="main">"#), "{path}");
        assert_eq!(html.matches("<h1>").count(), 1, "{path}");
        assert!(html.find("<h1>") < html.find("<h2"), "{path}");
        // The collapsible menu of small screens needs no script.
        assert!(html.contains(r#"<details class="menu"><summary>Menu</summary>"#));
        assert!(html.contains(r#"aria-live="polite""#), "{path}");
        assert!(html.contains(r#"role="status""#), "{path}");
    }
}

#[tokio::test]
async fn pages_without_a_plan_say_how_to_get_one() {
    let s = server(false, false).await;
    for path in ["/summary", "/timeline", "/components"] {
        let (status, _, html) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains("No migration plan"), "{path}");
        assert!(html.contains("mhd init"), "{path}");
    }
    let (_, _, html) = get_page(&s.router, "/tests").await;
    assert!(html.contains("No test runs recorded yet") && html.contains("mhd ingest junit"));
    let (_, _, html) = get_page(&s.router, "/performance").await;
    assert!(html.contains("No benchmarks recorded yet") && html.contains("mhd ingest bench"));
    let (status, _, html) = get_page(&s.router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("No operations recorded yet"));
}

#[tokio::test]
async fn pages_load_the_hashed_script_which_is_served_immutable() {
    let s = server(true, true).await;
    let (_, _, html) = get_page(&s.router, "/").await;
    let src = script_src(&html);
    assert_eq!(src, mhd_web::assets::live_js_path());
    assert!(html.contains(&format!(r#"<script src="{src}" defer></script>"#)));
    // One script, no inline code, no inline handlers: `script-src 'self'` holds.
    assert_eq!(html.matches("<script").count(), 1);
    for handler in [" onclick=", " onload=", " onerror=", "javascript:"] {
        assert!(!html.contains(handler), "{handler}");
    }
    let (status, headers, js) = get_page(&s.router, &src).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(js, mhd_web::assets::LIVE_JS);
    assert!(js.contains("/ws/dashboard"));
    // Another build's name is not this script.
    let (status, _, _) = get_page(&s.router, "/assets/live.0000000000000000.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_static_dashboard_file_has_only_the_charts_inline_script() {
    let (_dir, store) = common::store().await;
    seed(&store).await;
    let plan = common::default_plan();
    let data = mhd_store::view_data::dashboard(&store, Some(&plan), SATURDAY)
        .await
        .unwrap();
    let html = mhd_web::views::render_static_dashboard(&data, time::UtcOffset::UTC).unwrap();
    // No live script, no script loaded from anywhere: only the charts' read-outs, inline.
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains(&format!(
        "<script>{}</script>",
        mhd_web::assets::charts_js_inline()
    )));
    assert!(!html.contains("<script src"));
    assert!(!html.contains("<button"));
    assert!(!html.contains(r#"class="site""#));
    // The same view code: the live page carries the same figures.
    assert!(html.contains(r#"data-live="datasets_migrated""#));
}

#[tokio::test]
async fn the_overview_has_every_live_hook() {
    let s = server(true, true).await;
    let (_, _, html) = get_page(&s.router, "/").await;
    for hook in HOOKS {
        assert!(
            html.contains(&format!(r#"data-live="{hook}""#)),
            "missing data-live=\"{hook}\""
        );
    }
    // The figures the contract is about, with their values as served.
    assert!(html.contains(r#"<span data-live="datasets_migrated">2</span>"#));
    assert!(html.contains(r#"<span data-live="active_migrations">1</span>"#));
    let bar = html.find(r#"data-live="progress_bar""#).unwrap();
    assert!(html[bar..].contains(r#"role="progressbar""#));
    // Each live figure has its chart, drawn by the server and read again by the script when
    // pushes say the figures moved.
    let live = &html[html.find(r#"<section id="live""#).unwrap()..];
    let live = &live[..live.find("</section>").unwrap()];
    assert!(live.contains("data-live-refresh"));
    assert_eq!(live.matches(r#"<svg class="chart line""#).count(), 5);
    for key in HOOKS.iter().skip(8).take(4) {
        assert!(live.contains(&format!(r#"data-live="{key}""#)), "{key}");
    }
    // Relative times are marked for the script to refresh.
    assert!(html.contains("data-relative"));
}

#[tokio::test]
async fn the_service_worker_is_served_from_the_root() {
    let s = server(false, false).await;
    let (status, headers, js) = get_page(&s.router, "/sw.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(headers["service-worker-allowed"], "/");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(js.contains(r#"startsWith("/api/")"#) && js.contains(r#"startsWith("/ws/")"#));
    assert!(mhd_web::assets::LIVE_JS.contains(r#"register("/sw.js""#));
}

#[tokio::test]
async fn pages_are_compressed_when_the_client_accepts_it() {
    let s = server(true, true).await;
    let res = get_with(
        &s.router,
        mhd_web::assets::live_js_path(),
        &[(header::ACCEPT_ENCODING, "gzip")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers[header::CONTENT_ENCODING], "gzip");
}

/// GET `uri` accepting `encoding`: the `Content-Encoding` answered and the body decoded.
async fn get_encoded(router: &Router, uri: &str, encoding: &str) -> (Option<String>, String) {
    let res = get_with(router, uri, &[(header::ACCEPT_ENCODING, encoding)]).await;
    assert_eq!(res.status, StatusCode::OK, "{uri}");
    let answered = res
        .headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = res.body;
    let mut text = String::new();
    match answered.as_deref() {
        Some("gzip") => {
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
                .unwrap();
        }
        Some("br") => {
            std::io::Read::read_to_string(
                &mut brotli_decompressor::Decompressor::new(&bytes[..], 4096),
                &mut text,
            )
            .unwrap();
        }
        None => text = String::from_utf8(bytes.to_vec()).unwrap(),
        Some(other) => panic!("{uri}: unexpected Content-Encoding {other}"),
    }
    (answered, text)
}

#[tokio::test]
async fn a_compressed_page_decodes_to_the_plain_page_and_follows_writes() {
    let s = server(true, true).await;
    for uri in ["/", "/summary", "/components", "/live"] {
        let (_, _, plain) = get_page(&s.router, uri).await;
        for (accept, expected) in [("gzip", "gzip"), ("gzip, deflate, br", "br")] {
            for round in 0..2 {
                let (answered, decoded) = get_encoded(&s.router, uri, accept).await;
                assert_eq!(answered.as_deref(), Some(expected), "{uri} {accept}");
                assert!(
                    decoded == plain,
                    "{uri}, {accept}, request {round}: the decoded page is not the plain page"
                );
            }
        }
    }
    let (_, _, before) = get_page(&s.router, "/").await;
    let (_, before_br) = get_encoded(&s.router, "/", "br").await;
    let (status, _) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/x-ndjson"),
        "{\"timestamp\":\"2025-03-01T11:59:00Z\",\"metric_type\":\"migration\",\
         \"operation\":\"migrate\",\"dataset_name\":\"fresh\",\"success\":true}\n",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, after) = get_page(&s.router, "/").await;
    let (_, after_br) = get_encoded(&s.router, "/", "br").await;
    let (_, after_gzip) = get_encoded(&s.router, "/", "gzip").await;
    assert_ne!(before, after, "the page did not change after a write");
    assert_ne!(
        before_br, after_br,
        "the compressed page did not change after a write"
    );
    assert!(after_br == after && after_gzip == after);
}

#[tokio::test]
async fn hostile_names_are_escaped_on_the_live_pages() {
    let s = server(true, false).await;
    // Stored through the API, as a client would.
    let evil = r#"<script>alert(1)</script>"><img src=x onerror=alert(2)>"#;
    let body = serde_json::json!({
        "metric_type": "migration",
        "operation": evil,
        "dataset_name": evil,
        "component": evil,
        "success": false,
        "error_message": evil,
        "duration_ms": 5.0,
        "timestamp": "2025-03-01T11:59:00Z",
    });
    let (status, _) = post_json(&s.router, "/api/v1/operations", &body).await;
    assert!(status.is_success(), "{status}");
    for (path, _) in PAGES {
        let (status, _, html) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert_eq!(html.matches("<script").count(), 1, "{path}");
    }
    let (_, _, html) = get_page(&s.router, "/").await;
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;")
    );
}

#[tokio::test]
async fn no_page_loads_anything_from_another_host() {
    let s = server(true, true).await;
    let mut bodies: Vec<(String, String)> = Vec::new();
    for (path, _) in PAGES {
        bodies.push((path.to_owned(), get_page(&s.router, path).await.2));
    }
    bodies.push(("live.js".into(), mhd_web::assets::LIVE_JS.to_owned()));
    bodies.push(("sw.js".into(), mhd_web::assets::SW_JS.to_owned()));
    for (name, body) in bodies {
        // SVG's namespace is a name, not a resource.
        let body = body.replace("http://www.w3.org/2000/svg", "");
        for needle in [
            "http://",
            "https://",
            "//cdn",
            "src=\"//",
            "href=\"//",
            "@import",
        ] {
            assert!(!body.contains(needle), "{name} contains {needle}");
        }
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = App::new(None, saturday).await;
    for path in ["/", "/health", "/api/v1/operations", "/nowhere"] {
        let response = get(&app.router, path).await;
        let h = &response.headers;
        let csp = h
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(
            !csp.contains("'unsafe-eval'") && !csp.contains("script-src 'self' 'unsafe-inline'")
        );
        assert_eq!(
            h.get("x-content-type-options").unwrap(),
            "nosniff",
            "{path}"
        );
        assert_eq!(h.get("referrer-policy").unwrap(), "same-origin", "{path}");
    }
}

#[tokio::test]
async fn the_datasets_page_lists_filters_and_shows_a_history() {
    let s = server(true, true).await;
    let (status, _, html) = get_page(&s.router, "/datasets?state=migrated&component=storage").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("2 of the 103 datasets the plan counts for component Storage"),
        "{html}"
    );
    assert!(html.contains(">sales</a>") && html.contains(">old</a>"));
    assert!(
        !html.contains(">orders</a>"),
        "a failed dataset is not migrated"
    );
    assert!(
        html.contains(r#"href="/api/v1/datasets?state=migrated&#38;component=storage""#),
        "{html}"
    );
    // One dataset's history: its operations, failed ones with their error.
    let (status, _, html) = get_page(&s.router, "/datasets?name=orders").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("History of orders"));
    assert!(html.contains("disk full"));
    // A bad filter is refused, naming it.
    let (status, _, body) = get_page(&s.router, "/datasets?state=done").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("`state`"), "{body}");
    // The rules' page has every rule the explanations link to.
    let (_, _, how) = get_page(&s.router, "/how").await;
    for r in mhd_core::model::RULES {
        assert!(how.contains(&format!(r#"id="{}""#, r.id)), "{}", r.id);
    }
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page_with_the_navigation_and_a_way_home() {
    let s = server(true, false).await;
    for path in [
        "/nowhere",
        "/summary/extra",
        "/alerts/x/y/z",
        "/%3Cb%3Ebold",
    ] {
        let (status, headers, html) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert!(html.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(
            html.contains(r#"<nav class="site" aria-label="Pages">"#),
            "{path}"
        );
        assert!(
            html.contains("<h2 id=\"not-found-h\">Page not found</h2>"),
            "{path}"
        );
        assert!(
            html.contains(r#"<a href="/">Go to the overview</a>"#),
            "{path}"
        );
        assert!(html.contains("MDM refactoring"), "{path}");
        assert!(
            !html.contains(r#"aria-current="page""#),
            "{path}: no page is current"
        );
        assert!(
            !html.contains("<!--mhd:"),
            "{path}: the visitor's parts are filled in"
        );
    }
    let (_, _, html) = get_page(&s.router, "/%3Cb%3Ebold").await;
    assert!(html.contains("<code>/%3Cb%3Ebold</code>"), "{html}");
}

#[tokio::test]
async fn an_unknown_api_path_keeps_the_json_error() {
    let s = server(true, false).await;
    for path in ["/api/v1/nothing", "/api/v2/health/summary", "/api"] {
        let (status, headers, body) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{path}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(json["error"]["code"], "not_found", "{path}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(path) && m.contains("/api/v1/openapi.json")),
            "{body}"
        );
    }
}

/// Every page with charts or lists over time carries the time range picker, which works
/// without a script (links and a GET form); the others do not.
#[tokio::test]
async fn the_pages_with_time_carry_the_range_picker() {
    let s = server(true, true).await;
    for (path, with) in [
        ("/", true),
        ("/tests", true),
        ("/resources", true),
        ("/alerts", true),
        ("/datasets", true),
        ("/summary", false),
        ("/components", false),
        ("/performance", false),
        ("/how", false),
    ] {
        let (status, _, html) = get_page(&s.router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            html.contains(r#"<nav aria-label="Time range">"#),
            with,
            "{path}"
        );
        if with {
            for preset in ["1h", "24h", "7d", "30d", "90d"] {
                assert!(
                    html.contains(&format!(r#"href="{path}?range={preset}""#)),
                    "{path}: {preset}"
                );
            }
            assert!(html.contains(&format!(r#"<form method="get" action="{path}""#)));
        }
    }
    // The chosen range is kept by the links to the other pages with time.
    let (_, _, html) = get_page(&s.router, "/tests?range=90d").await;
    for other in ["/", "/resources", "/alerts", "/datasets"] {
        assert!(
            html.contains(&format!(r#"href="{other}?range=90d""#)),
            "{other}"
        );
    }
    assert!(html.contains(r#"href="/summary""#));
}
