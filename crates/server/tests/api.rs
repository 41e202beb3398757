//! The REST API `/api/v1` driven without a network: a real SQLite store in a temporary folder,
//! requests through `tower::ServiceExt::oneshot`; and the whole server on a socket where the
//! disk under the store matters (a small tmpfs filled and freed).

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::http::{error_code, get_json, send};
use common::schema::{answer_departure, departure};
use common::{SATURDAY, op, saturday};
use mhd_core::NewOperation;
use mhd_core::auth::Access;
use mhd_server::access;
use mhd_server::api;
use mhd_server::routes::{Kind, TABLE};
use mhd_store::alerts::AlertStore as _;
use mhd_store::{Database, Store};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A store in a temporary folder and the router over it.
struct Server {
    _dir: tempfile::TempDir,
    store: Database,
    router: Router,
}

async fn server(with_plan: bool) -> Server {
    let (dir, store) = common::store().await;
    let state = common::state_at(
        store.clone(),
        with_plan.then(common::default_plan),
        saturday,
    );
    let router = Router::new()
        .merge(mhd_server::routes::api_routes())
        .with_state(state);
    Server {
        _dir: dir,
        store,
        router,
    }
}

async fn seed(store: &Database) {
    store
        .insert_operations(&common::ops::around_saturday())
        .await
        .unwrap();
}

#[tokio::test]
async fn plan_views_answer_with_the_documents_of_the_cli() {
    let s = server(true).await;
    seed(&s.store).await;
    let expected = mhd_store::view_data::view_model(
        &s.store,
        Some(&common::default_plan()),
        SATURDAY,
        false,
        mhd_core::model::Options::default(),
    )
    .await
    .unwrap();

    let (status, summary) = get_json(&s.router, "/api/v1/health/summary").await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert_eq!(summary, serde_json::to_value(&expected.summary).unwrap());
    assert_eq!(summary["key_metrics"]["datasets_migrated"], 2);
    assert!(summary["overall_health"].is_string());

    let (status, timeline) = get_json(&s.router, "/api/v1/migration/timeline").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(timeline, serde_json::to_value(&expected.timeline).unwrap());
    assert!(!timeline.as_array().unwrap().is_empty());

    let (status, components) = get_json(&s.router, "/api/v1/components/health").await;
    assert_eq!(status, StatusCode::OK);
    // Through the same text as the response, so both floats are read the same way.
    let text = serde_json::to_string(&expected.components).unwrap();
    assert_eq!(
        components,
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    );
    let storage = components
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "storage")
        .expect("the plan's storage component");
    assert!(storage["new_version"].is_object());
}

#[tokio::test]
async fn plan_views_without_a_plan_answer_409_no_plan() {
    let s = server(false).await;
    for uri in [
        "/api/v1/health/summary",
        "/api/v1/migration/timeline",
        "/api/v1/components/health",
    ] {
        let (status, body) = get_json(&s.router, uri).await;
        assert_eq!(status, StatusCode::CONFLICT, "{uri}");
        assert_eq!(error_code(&body), "no_plan", "{uri}");
    }
}

#[tokio::test]
async fn live_metrics_count_the_last_five_minutes() {
    let s = server(false).await;
    seed(&s.store).await;
    let (status, live) = get_json(&s.router, "/api/v1/metrics/live").await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["operations"], 3);
    assert_eq!(live["errors"], 1);
    assert_eq!(live["active_migrations"], 1);
    assert_eq!(live["window_seconds"], 300.0);
    assert_eq!(live["operations_per_second"]["value"], 3.0 / 300.0);
    assert_eq!(live["generated_at"], "2025-03-01T12:00:00Z");
}

#[tokio::test]
async fn alerts_tests_and_performance_have_their_shapes() {
    let s = server(false).await;
    let (status, alerts) = get_json(&s.router, "/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        alerts,
        json!({ "active": [], "resolved": [], "silences": [] })
    );

    let (status, tests) = get_json(&s.router, "/api/v1/tests").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tests["suites"], json!([]));

    let (status, perf) = get_json(&s.router, "/api/v1/performance").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(perf["comparisons"], json!([]));
    assert_eq!(perf["performance_delta"], Value::Null);
    assert_eq!(
        perf["regression_percent"],
        mhd_core::perf::DEFAULT_REGRESSION_PERCENT
    );
}

#[tokio::test]
async fn operations_are_listed_newest_first_with_filters() {
    let s = server(false).await;
    seed(&s.store).await;
    let (status, all) = get_json(&s.router, "/api/v1/operations").await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().unwrap().clone();
    assert_eq!(all.len(), 4);
    assert_eq!(all[0]["dataset_name"], "stock");
    assert!(all[0]["id"].is_i64());

    let (_, one) = get_json(&s.router, "/api/v1/operations?limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    let (_, failed) = get_json(&s.router, "/api/v1/operations?failed=true").await;
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["dataset_name"], "orders");
    let (_, sales) = get_json(&s.router, "/api/v1/operations?dataset=sales&type=migration").await;
    assert_eq!(sales.as_array().unwrap().len(), 1);
    let (_, recent) = get_json(&s.router, "/api/v1/operations?since=1h").await;
    assert_eq!(recent.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_query_parameters_are_400_naming_the_parameter() {
    let s = server(false).await;
    for (uri, name) in [
        ("/api/v1/operations?limit=abc", "`limit`"),
        ("/api/v1/operations?limit=0", "`limit`"),
        ("/api/v1/operations?limit=1001", "`limit`"),
        ("/api/v1/operations?since=yesterday-ish", "`since`"),
        ("/api/v1/operations?failed=maybe", "`failed`"),
        ("/api/v1/operations?limt=5", "`limt`"),
        ("/api/v1/operations?limit=1&limit=2", "`limit`"),
        ("/api/v1/tests?x=1", "`x`"),
    ] {
        let (status, body) = get_json(&s.router, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(error_code(&body), "bad_request");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(name), "{uri}: {message}");
    }
}

#[tokio::test]
async fn an_injection_looking_dataset_filter_matches_nothing() {
    let s = server(false).await;
    seed(&s.store).await;
    let (status, body) = get_json(
        &s.router,
        "/api/v1/operations?dataset=x%27%20OR%20%271%27%3D%271%3B%20DROP%20TABLE%20operations%3B--",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!([]));
    let (_, all) = get_json(&s.router, "/api/v1/operations").await;
    assert_eq!(all.as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn posted_json_array_and_ndjson_are_stored_and_listed() {
    let s = server(false).await;
    let array = r#"[
        {"timestamp":"2025-03-01T11:00:00Z","metric_type":"migration","operation":"m","dataset_name":"a","component":"storage"},
        {"metric_type":"verification","operation":"v","dataset_name":"a","success":false,"error_message":"mismatch"}
    ]"#;
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/json"),
        array,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({ "stored": 2 }));

    let ndjson = "{\"metric_type\":\"migration\",\"operation\":\"m\",\"dataset_name\":\"b\"}\n\n\
                  {\"metric_type\":\"migration\",\"operation\":\"m\",\"dataset_name\":\"c\"}\n";
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/x-ndjson; charset=utf-8"),
        ndjson,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({ "stored": 2 }));

    let (_, listed) = get_json(&s.router, "/api/v1/operations").await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4);
    let verification = listed
        .iter()
        .find(|o| o["metric_type"] == "verification")
        .unwrap();
    assert_eq!(verification["timestamp"], "2025-03-01T12:00:00Z");
    assert_eq!(verification["success"], false);
}

#[tokio::test]
async fn concurrent_posts_are_all_stored() {
    let s = server(false).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let router = s.router.clone();
        tasks.push(tokio::spawn(async move {
            let body = format!(
                "[{{\"metric_type\":\"migration\",\"operation\":\"m\",\"dataset_name\":\"d{i}\"}},\
                  {{\"metric_type\":\"migration\",\"operation\":\"m\",\"dataset_name\":\"e{i}\"}}]"
            );
            send(
                &router,
                Method::POST,
                "/api/v1/operations",
                Some("application/json"),
                body,
            )
            .await
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["stored"], 2);
    }
    let (_, listed) = get_json(&s.router, "/api/v1/operations?limit=1000").await;
    assert_eq!(listed.as_array().unwrap().len(), 40);
}

/// Writers over real connections, many at once: every write is acknowledged, each writer reads
/// its own operation right after its `201`, and everything written is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_over_http_are_all_acknowledged_and_read_their_own_writes() {
    let (_dir, store) = common::store().await;
    let base = common::serve(common::state_at(store.clone(), None, saturday)).await;
    let client = mhd_server::http::client(std::time::Duration::from_secs(30)).unwrap();
    let mut tasks = Vec::new();
    for writer in 0..32 {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..5 {
                let name = format!("w{writer}-r{round}");
                let r = client
                    .post(format!("{base}/api/v1/operations"))
                    .header("content-type", "application/json")
                    .body(format!(
                        "[{{\"timestamp\":\"2025-03-01T11:00:00Z\",\"metric_type\":\"dataset_read\",\
                         \"operation\":\"read\",\"dataset_name\":\"{name}\"}}]"
                    ))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201, "{name}: {}", r.text().await.unwrap());
                let listed: Value = client
                    .get(format!("{base}/api/v1/operations?limit=1000"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert!(
                    listed
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|o| o["dataset_name"] == name.as_str()),
                    "{name} was acknowledged but not read back right after"
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = store
        .recent_operations(&mhd_store::OperationFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 32 * 5);
}

/// A write is seen by the read that follows it, through the cached views too: each migration
/// posted moves the summary's count of migrated datasets at once.
#[tokio::test]
async fn a_write_and_the_summary_read_right_after_it_see_each_other() {
    let s = server(true).await;
    for i in 1..=5 {
        let body = format!(
            "{{\"timestamp\":\"2025-03-01T11:5{i}:00Z\",\"metric_type\":\"migration\",\
             \"operation\":\"migrate\",\"dataset_name\":\"d{i}\",\"success\":true}}\n"
        );
        let (status, answer) = send(
            &s.router,
            Method::POST,
            "/api/v1/operations",
            Some("application/x-ndjson"),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let (_, summary) = get_json(&s.router, "/api/v1/health/summary").await;
        assert_eq!(summary["key_metrics"]["datasets_migrated"], i, "{summary}");
    }
}

/// After start, `/ready` answers "warming" until the views the first requests read are
/// computed, and ready once they are: the first page then finds them in the caches.
#[tokio::test]
async fn ready_waits_until_the_views_are_computed() {
    let s = server(true).await;
    seed(&s.store).await;
    let state = common::state_at(s.store.clone(), Some(common::default_plan()), saturday);
    let app = mhd_server::app(state.clone());
    // Whether anyone must sign in is asked of the store once, and then remembered: the
    // request to /ready below reaches its handler without waiting on the store.
    let (status, _) = get_json(&app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    let warming = mhd_server::background::warm_up(&state);
    let (status, body) = get_json(&app, "/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "warming");
    warming.await.unwrap();
    assert!(state.views().latest().is_some() && state.dashboard_cache().latest().is_some());
    assert!(state.initial_data_cache().latest().is_some());
    let (status, body) = get_json(&app, "/ready").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn an_invalid_record_stores_nothing_and_names_every_rejected_one() {
    let s = server(false).await;
    let array = r#"[
        {"metric_type":"migration","operation":"m"},
        {"metric_type":"migration","operation":"m","colour":"red"},
        {"metric_type":"migration"}
    ]"#;
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/json"),
        array,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "bad_request");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(errors[0]["index"], 1);
    assert_eq!(errors[0]["line"], 3);
    assert!(errors[0]["reason"].as_str().unwrap().contains("colour"));
    assert_eq!(errors[1]["index"], 2);
    assert!(errors[1]["reason"].as_str().unwrap().contains("operation"));
    let (_, listed) = get_json(&s.router, "/api/v1/operations").await;
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let s = server(false).await;
    for (ct, body) in [
        ("application/json", "[{\"metric_type\": "),
        ("application/x-ndjson", "{not json}\n"),
        ("application/json", ""),
    ] {
        let (status, answer) = send(
            &s.router,
            Method::POST,
            "/api/v1/operations",
            Some(ct),
            body,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{ct} {body:?}: {answer}");
        assert_eq!(error_code(&answer), "bad_request");
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let s = server(false).await;
    for ct in [Some("text/plain"), None] {
        let (status, body) = send(&s.router, Method::POST, "/api/v1/operations", ct, "[]").await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(error_code(&body), "unsupported_media_type");
    }
    let (status, _) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit?suite=s",
        Some("application/json"),
        "<testsuite/>",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_in_the_error_shape() {
    let s = server(false).await;
    let big = vec![b' '; api::BODY_LIMIT + 1];
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/json"),
        big,
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
}

#[tokio::test]
async fn junit_reports_are_stored_or_refused_with_their_place() {
    let s = server(true).await;
    let xml = r#"<?xml version="1.0"?>
<testsuite name="unit" tests="3" time="1.5">
  <testcase classname="a" name="one" time="0.5"/>
  <testcase classname="a" name="two" time="0.5"><failure message="boom">trace</failure></testcase>
  <testcase classname="a" name="three" time="0.5"><skipped/></testcase>
</testsuite>"#;
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit?suite=unit&component=storage&run_at=2025-03-01T10:00:00Z",
        Some("application/xml"),
        xml,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["suite"], "unit");
    assert_eq!(body["results"]["total"], 3);
    assert_eq!(body["results"]["passed"], 1);
    assert_eq!(body["results"]["failed"], 1);
    assert_eq!(body["results"]["skipped"], 1);

    let (_, tests) = get_json(&s.router, "/api/v1/tests").await;
    assert_eq!(tests["suites"][0]["name"], "unit", "{tests}");

    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit?suite=unit",
        Some("text/xml"),
        "<testsuite>\n  <testcase name=\"x\">\n</testsuite>",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("body:3:"), "{message}");

    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit",
        Some("text/xml"),
        xml,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`suite`")
    );

    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit?suite=unit&component=nope",
        Some("text/xml"),
        xml,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`component`")
    );
}

/// The view model keeps the latest test runs and benchmarks while only operations are
/// written; a test run or a benchmark written is in the very next read.
#[tokio::test]
async fn kept_test_runs_and_benchmarks_follow_their_own_writes() {
    let s = server(true).await;
    let (_, tests) = get_json(&s.router, "/api/v1/tests").await;
    assert_eq!(tests["suites"], json!([]));
    let op = json!({ "timestamp": "2025-03-01T09:00:00Z", "metric_type": "dataset_read",
        "operation": "read", "component": "storage", "success": true });
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/json"),
        op.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, tests) = get_json(&s.router, "/api/v1/tests").await;
    assert_eq!(tests["suites"], json!([]), "kept across the operation");
    for (suite, expected) in [("unit", 1), ("integration", 2)] {
        let (status, body) = send(
            &s.router,
            Method::POST,
            &format!("/api/v1/tests/junit?suite={suite}&run_at=2025-03-01T10:00:00Z"),
            Some("application/xml"),
            r#"<testsuite name="s" tests="1"><testcase classname="a" name="one"/></testsuite>"#,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, tests) = get_json(&s.router, "/api/v1/tests").await;
        assert_eq!(
            tests["suites"].as_array().map_or(0, Vec::len),
            expected,
            "the run written is read at once: {tests}"
        );
    }
    let (_, perf) = get_json(&s.router, "/api/v1/performance").await;
    assert_eq!(perf["comparisons"], json!([]));
    for (system, secs, field) in [("old", 0.2, "old_samples"), ("new", 0.1, "new_samples")] {
        let times = json!({ "results": [ { "command": "load", "times": vec![secs; 6] } ] });
        let (status, body) = send(
            &s.router,
            Method::POST,
            &format!("/api/v1/benchmarks?system={system}&format=hyperfine"),
            Some("application/json"),
            times.to_string(),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (_, perf) = get_json(&s.router, "/api/v1/performance").await;
        assert_eq!(
            perf["comparisons"][0][field], 6,
            "the batch written is read at once: {perf}"
        );
    }
    let (_, perf) = get_json(&s.router, "/api/v1/performance").await;
    assert_eq!(perf["comparisons"][0]["delta_percent"], -50.0, "{perf}");
}

#[tokio::test]
async fn benchmarks_are_stored_and_compared() {
    let s = server(false).await;
    let hyperfine = |secs: f64| {
        json!({ "results": [ { "command": "load", "times": [secs, secs, secs, secs, secs, secs] } ] })
            .to_string()
    };
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?system=old&format=hyperfine",
        Some("application/json"),
        hyperfine(0.2),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored"], 6);
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?system=new",
        Some("application/json"),
        hyperfine(0.1),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let csv = "operation,system,value_ms\nsave,old,10\nsave,new,12\n";
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?format=csv",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored"], 2);

    let (_, perf) = get_json(&s.router, "/api/v1/performance").await;
    let comparisons = perf["comparisons"].as_array().unwrap();
    assert_eq!(comparisons.len(), 2, "{perf}");
    let load = comparisons
        .iter()
        .find(|c| c["operation"] == "load")
        .unwrap();
    assert_eq!(load["delta_percent"], -50.0);

    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?format=hyperfine",
        Some("application/json"),
        hyperfine(0.1),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?system=sideways",
        Some("application/json"),
        hyperfine(0.1),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`system`")
    );
}

#[tokio::test]
async fn every_route_of_the_table_has_a_role_and_each_api_route_a_documented_operation() {
    let s = server(false).await;
    let (status, doc) = get_json(&s.router, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc, mhd_server::routes::openapi_document());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"));
    let paths = doc["paths"].as_object().unwrap();
    let mut api_routes = 0;
    for route in TABLE {
        let (method, path) = (route.method.as_str(), route.path);
        // The access layer enforces the entry's role.
        assert_eq!(
            access::need(&route.method, Some(path)),
            route.access,
            "{method} {path}"
        );
        let described = paths.get(path).and_then(|p| p.get(method.to_lowercase()));
        if !matches!(route.kind, Kind::Api(_)) {
            assert!(described.is_none(), "{method} {path} is not an API route");
            continue;
        }
        api_routes += 1;
        let op = described.unwrap_or_else(|| panic!("{method} {path} is not described"));
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .iter()
                .any(|(code, r)| code.starts_with('2') && r["description"].is_string()),
            "{method} {path} documents no successful response"
        );
        if route.access == Access::Public {
            assert_eq!(op["security"], json!([]), "{method} {path}");
        } else {
            assert_eq!(op["x-mhd-access"], route.access.as_str(), "{method} {path}");
            assert!(responses.contains_key("401") && responses.contains_key("403"));
        }
    }
    let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        described, api_routes,
        "the document describes routes the table lacks"
    );
    // Every `$ref` points at a schema that exists.
    let text = doc.to_string();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split(['"', '/']).next().unwrap();
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
}

#[tokio::test]
async fn every_api_route_of_the_table_is_served() {
    let s = server(true).await;
    for route in TABLE.iter().filter(|r| matches!(r.kind, Kind::Api(_))) {
        let (method, path) = (route.method.clone(), route.path);
        let (status, body) = send(&s.router, method.clone(), path, None, Body::empty()).await;
        assert_ne!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if !status.is_success() {
            error_code(&body);
        }
    }
}

#[tokio::test]
async fn every_view_conforms_to_the_schema_its_types_derive() {
    let s = server(true).await;
    seed(&s.store).await;
    let fired = common::alerts::firing(1, SATURDAY - Duration::hours(2), SATURDAY);
    let mut resolved = fired.clone();
    resolved.id = 2;
    resolved.key = "rollbacks/*".into();
    let resolved = common::alerts::resolved(resolved, SATURDAY - Duration::hours(1));
    for alert in [fired, resolved] {
        s.store
            .save_transitions(&[common::alerts::stored(alert)], SATURDAY)
            .await
            .unwrap();
    }
    let doc = mhd_server::routes::openapi_document();
    let (status, acknowledged) = send(
        &s.router,
        Method::POST,
        "/api/v1/alerts/acknowledge/1",
        Some("application/json"),
        Body::from(r#"{"user": "kim", "comment": "on it"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let answer = &doc["paths"]["/api/v1/alerts/acknowledge/{alert_id}"]["post"]["responses"]["200"]
        ["content"]["application/json"]["schema"];
    assert!(
        answer.is_object(),
        "the acknowledgement's answer is documented"
    );
    if let Some(why) = departure(&doc, answer, &acknowledged, "acknowledge") {
        panic!("{why}");
    }
    assert_eq!(acknowledged["status"], "acknowledged");

    let mut read = 0;
    let gets = TABLE
        .iter()
        .filter(|r| r.method == Method::GET && matches!(r.kind, Kind::Api(_)))
        .map(|r| r.path.replace("{alert_id}", "1"))
        .chain([
            "/api/v1/components/health?shape=object".to_owned(),
            "/api/v1/samples?metric=cpu_percent".to_owned(),
        ]);
    for uri in gets {
        let path = uri.split('?').next().unwrap();
        let template = if path == "/api/v1/alerts/1" {
            "/api/v1/alerts/{alert_id}"
        } else {
            path
        };
        let (status, body) = get_json(&s.router, &uri).await;
        let documented = &doc["paths"][template]["get"]["responses"][status.as_str()];
        let Some(schema) = documented["content"]["application/json"]["schema"].as_object() else {
            continue;
        };
        // An error answers the error's schema; a view its own.
        if let Some(why) = departure(&doc, &Value::Object(schema.clone()), &body, &uri) {
            panic!("{status}: {why}");
        }
        read += usize::from(status.is_success());
    }
    assert!(read >= 12, "only {read} views were read");
    // The views' schemas are closed descriptions, not open objects.
    for name in [
        "ExecutiveSummary",
        "MigrationPhase",
        "ComponentHealth",
        "LiveMetrics",
        "TestsView",
        "Alert",
        "AlertEvent",
        "Silence",
        "PerformanceComparison",
        "ResourceMetrics",
        "AuditEntry",
        "Operation",
        "DatasetsList",
        "DatasetRow",
        "SamplesSpan",
        "ResourceHistory",
        "SampleSeries",
        "SamplePoint",
        "WhoAmI",
        "Notifications",
        "Delivery",
        "NotificationChannel",
    ] {
        let schema = &doc["components"]["schemas"][name];
        assert!(
            schema["properties"]
                .as_object()
                .is_some_and(|p| p.len() >= 3),
            "{name}"
        );
        assert_ne!(schema["additionalProperties"], true, "{name}");
    }
}

/// `body` sent with `method` to `uri` (`template` in the document) as `content_type`: the
/// answer, checked against what the document says the route answers with its status.
async fn conforming(
    s: &Server,
    doc: &Value,
    (method, uri, template): (Method, &str, &str),
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, Value) {
    let (status, answer) = send(&s.router, method.clone(), uri, Some(content_type), body).await;
    if let Some(why) = answer_departure(doc, method.as_str(), template, status.as_u16(), &answer) {
        panic!("{uri}: {why}\n{answer}");
    }
    (status, answer)
}

#[tokio::test]
async fn every_write_and_what_it_feeds_conforms_to_the_schema_its_types_derive() {
    let s = server(true).await;
    seed(&s.store).await;
    let doc = mhd_server::routes::openapi_document();
    let post = |uri: &'static str| (Method::POST, uri, uri.split('?').next().unwrap());

    // Operations: good ones are stored; bad ones are each named; a body of none is refused.
    let good = json!([
        { "metric_type": "migration", "operation": "migrate", "dataset_name": "sales",
          "component": "storage", "system": "new", "duration_ms": 12.5, "success": false,
          "row_count": 10, "error_message": "disk full", "metadata": { "batch": 3 } },
        { "timestamp": null, "metric_type": "migration_start", "operation": "start", "system": null },
    ]);
    for record in good.as_array().unwrap() {
        let new_operation = json!({ "$ref": "#/components/schemas/NewOperation" });
        assert_eq!(departure(&doc, &new_operation, record, "record"), None);
    }
    let (status, stored) = conforming(
        &s,
        &doc,
        post("/api/v1/operations"),
        "application/json",
        good.to_string(),
    )
    .await;
    assert_eq!(
        (status, &stored),
        (StatusCode::CREATED, &json!({ "stored": 2 }))
    );
    let bad =
        "{\"metric_type\": \"x\", \"operation\": \"y\", \"colour\": 1}\n{\"operation\": \"y\"}\n";
    let (status, rejected) = conforming(
        &s,
        &doc,
        post("/api/v1/operations"),
        "application/x-ndjson",
        bad,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(rejected["errors"][0]["line"], 1, "{rejected}");
    assert_eq!(rejected["errors"][1]["index"], Value::Null, "{rejected}");
    let new_operation = json!({ "$ref": "#/components/schemas/NewOperation" });
    for line in bad.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(
            departure(&doc, &new_operation, &record, "record").is_some(),
            "the document refuses {record} too"
        );
    }
    let (status, refused) = conforming(
        &s,
        &doc,
        post("/api/v1/operations"),
        "application/json",
        "[]",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused.get("errors").is_none(), "{refused}");

    // Samples, then the reads of samples over them.
    let samples = json!([
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "cpu_percent", "value": 42.5,
          "unit": "%", "component": "storage", "labels": { "host": "a" } },
        { "timestamp": null, "metric": "cpu_percent", "value": 40 },
    ]);
    let (status, stored) = conforming(
        &s,
        &doc,
        post("/api/v1/samples"),
        "application/json",
        samples.to_string(),
    )
    .await;
    assert_eq!(
        (status, &stored),
        (StatusCode::CREATED, &json!({ "stored": 2 }))
    );
    let (status, rejected) = conforming(
        &s,
        &doc,
        post("/api/v1/samples"),
        "application/json",
        r#"[{"metric": "cpu %", "value": 1}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(rejected["errors"][0]["index"], 0, "{rejected}");

    // A JUnit report and benchmarks, as hyperfine and CSV.
    let xml = r#"<testsuite name="unit" tests="2" time="1.5"><testcase classname="a" name="one"/><testcase classname="a" name="two"><failure message="boom"/></testcase></testsuite>"#;
    let (status, run) = conforming(
        &s,
        &doc,
        post("/api/v1/tests/junit?suite=unit&run_at=2025-03-01T10:00:00%2B01:00"),
        "application/xml",
        xml,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    assert_eq!(
        run["run_at"], "2025-03-01T09:00:00Z",
        "times are sent in UTC"
    );
    assert_eq!(run["results"]["failed"], 1);
    let hyperfine = json!({ "results": [ { "command": "load", "times": [0.1, 0.2] } ] });
    let hyperfine_schema = &doc["paths"]["/api/v1/benchmarks"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        departure(&doc, hyperfine_schema, &hyperfine, "hyperfine"),
        None
    );
    let (status, benchmarks) = conforming(
        &s,
        &doc,
        post("/api/v1/benchmarks?system=old&component=storage"),
        "application/json",
        hyperfine.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{benchmarks}");
    assert_eq!(benchmarks["benchmarks"][0]["samples"], 2);
    assert_eq!(benchmarks["benchmarks"][0]["component"], "storage");
    let (status, benchmarks) = conforming(
        &s,
        &doc,
        post("/api/v1/benchmarks?format=csv"),
        "text/csv",
        "operation,system,value_ms\nsave,old,10\nsave,new,12\n",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{benchmarks}");
    assert_eq!(benchmarks["benchmarks"].as_array().map(Vec::len), Some(2));

    // What the writes feed: each read answers its documented schema, with something in it.
    for (uri, filled) in [
        (
            "/api/v1/samples?metric=cpu_percent&since=1h",
            "/series/0/points/0/mean",
        ),
        (
            "/api/v1/samples?metric=cpu_percent&component=storage&since=1h&step=1m",
            "/series/0/labels/host",
        ),
        (
            "/api/v1/resources/history?metric=cpu_percent,memory_percent",
            "/series/0/points/0/count",
        ),
        ("/api/v1/datasets", "/datasets/0/name"),
        ("/api/v1/datasets?state=failed", "/counts/failed"),
        ("/api/v1/operations?limit=5", "/0/timestamp"),
        ("/api/v1/auth/whoami", "/role"),
        ("/api/v1/notifications", "/pending"),
    ] {
        let (status, body) = get_json(&s.router, uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        let template = uri.split('?').next().unwrap();
        if let Some(why) = answer_departure(&doc, "GET", template, 200, &body) {
            panic!("{why}\n{body}");
        }
        assert!(
            body.pointer(filled).is_some_and(|v| !v.is_null()),
            "{uri}: {filled} is empty in {body}"
        );
    }
    let (_, operations) = get_json(&s.router, "/api/v1/operations?type=migration").await;
    let recorded = operations
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["error_message"] == "disk full")
        .expect("the operation recorded");
    assert_eq!(recorded["metadata"], json!({ "batch": 3 }));
    assert_eq!(recorded["timestamp"], "2025-03-01T12:00:00Z");
}

/// Where an open object (`"additionalProperties": true`) is in `value`, by path.
fn open_objects(value: &Value, at: &str, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(true)) {
                found.push(at.to_owned());
            }
            for (k, v) in map {
                open_objects(v, &format!("{at}/{k}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                open_objects(v, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn no_schema_is_open_but_the_free_form_metadata_of_operations() {
    let doc = mhd_server::routes::openapi_document();
    let mut found = Vec::new();
    open_objects(&doc, "", &mut found);
    // An operation's metadata is free-form by design: whatever the recorder sends.
    assert_eq!(
        found,
        [
            "/components/schemas/NewOperation/properties/metadata",
            "/components/schemas/Operation/properties/metadata/oneOf/0",
        ],
        "only an operation's metadata is an open object"
    );
    let sample = &doc["components"]["schemas"]["Sample"];
    assert_eq!(sample["additionalProperties"], false, "{sample}");
    assert_eq!(
        doc["components"]["schemas"]["NewOperation"]["additionalProperties"],
        false
    );
    assert_eq!(
        sample["properties"]["labels"]["maxProperties"], 32,
        "{sample}"
    );
    assert_eq!(
        sample["properties"]["labels"]["additionalProperties"]["maxLength"],
        200
    );
    let system = &doc["components"]["schemas"]["NewOperation"]["properties"]["system"];
    assert_eq!(system["enum"], json!(["old", "new", null]), "{system}");
    assert_eq!(system["nullable"], true, "{system}");
}

#[test]
fn a_departure_from_the_schema_is_found_and_named() {
    let doc = mhd_server::routes::openapi_document();
    let alert = json!({ "$ref": "#/components/schemas/Alert" });
    assert!(
        departure(&doc, &alert, &json!({"id": 1}), "alert")
            .is_some_and(|w| w.contains("lacks the required"))
    );
    let summary = json!({ "$ref": "#/components/schemas/ExecutiveSummary" });
    let mut wrong = json!({});
    for field in doc["components"]["schemas"]["ExecutiveSummary"]["required"]
        .as_array()
        .unwrap()
    {
        wrong[field.as_str().unwrap()] = json!(null);
    }
    assert!(departure(&doc, &summary, &wrong, "summary").is_some());
    // A field the schema does not describe is a departure too.
    let whoami = json!({ "$ref": "#/components/schemas/WhoAmI" });
    let mut me =
        json!({ "kind": "local", "name": "local", "role": "admin", "sign_in_required": false });
    assert_eq!(departure(&doc, &whoami, &me, "whoami"), None);
    me["colour"] = json!("blue");
    assert!(
        departure(&doc, &whoami, &me, "whoami").is_some_and(|w| w.contains("`colour`")),
        "an undescribed field departs"
    );
}

/// Asserts every figure of a resources document is null and the consumers are empty.
fn assert_no_figures(resources: &Value) {
    for group in ["cpu", "memory", "disk", "network", "database"] {
        let figures = resources[group].as_object().unwrap();
        assert!(!figures.is_empty(), "{group}");
        for (name, v) in figures {
            assert!(v.is_null(), "{group}.{name} = {v}");
        }
    }
    assert_eq!(resources["top_consumers"], json!([]));
}

#[tokio::test]
async fn resources_without_samples_have_every_figure_null() {
    let s = server(false).await;
    let (status, body) = get_json(&s.router, "/api/v1/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["timestamp"], "2025-03-01T12:00:00Z");
    assert_no_figures(&body);
    let (status, body) = get_json(&s.router, "/api/v1/resources?window=1h").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "bad_request");
}

#[tokio::test]
async fn posted_samples_show_in_resources() {
    let s = server(false).await;
    const GB: f64 = 1024.0 * 1024.0 * 1024.0;
    const MB: f64 = 1024.0 * 1024.0;
    // An array, with a stale sample of the same series that the newer one replaces.
    let array = json!([
        { "timestamp": "2025-03-01T11:50:00Z", "metric": "cpu_percent", "value": 5.0 },
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "cpu_percent", "value": 78.0, "unit": "%" },
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "memory_used_bytes", "value": 10.0 * GB },
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "memory_available_bytes", "value": 6.0 * GB },
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "disk_read_bytes_per_second", "value": 125.0 * MB },
        { "timestamp": "2025-03-01T11:59:00Z", "metric": "process_cpu_percent", "value": 85.0,
          "labels": { "process": "worker-3" } },
    ]);
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("application/json"),
        array.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({ "stored": 6 }));
    // NDJSON; no timestamp means now.
    let ndjson = "{\"metric\":\"db_connections_active\",\"value\":45}\n\n\
                  {\"metric\":\"db_pool_size\",\"value\":200,\"component\":\"database\"}\n";
    let (status, body) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("application/x-ndjson"),
        ndjson,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({ "stored": 2 }));

    let (status, r) = get_json(&s.router, "/api/v1/resources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(r["cpu"]["usage_percent"], 78.0);
    assert!(r["cpu"]["cores_used"].is_null());
    assert_eq!(r["memory"]["used_gb"], 10.0);
    assert_eq!(r["memory"]["available_gb"], 6.0);
    assert_eq!(r["memory"]["percent"], 62.5);
    assert_eq!(r["disk"]["read_mb_s"], 125.0);
    assert!(r["disk"]["write_mb_s"].is_null());
    assert!(r["network"]["in_mb_s"].is_null());
    assert_eq!(r["database"]["connections_active"], 45.0);
    assert_eq!(r["database"]["pool_size"], 200.0);
    assert_eq!(r["database"]["pool_usage"], 0.225);
    assert_eq!(
        r["top_consumers"],
        json!([{ "name": "worker-3", "cpu_percent": 85.0, "memory_mb": null }])
    );
    // The document's required fields are there.
    let doc = mhd_server::routes::openapi_document();
    for field in doc["components"]["schemas"]["ResourceMetrics"]["required"]
        .as_array()
        .unwrap()
    {
        assert!(r.get(field.as_str().unwrap()).is_some(), "{field}");
    }
}

#[tokio::test]
async fn samples_older_than_five_minutes_are_not_current() {
    let s = server(false).await;
    let (status, _) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("application/json"),
        json!([{ "timestamp": "2025-03-01T11:54:59Z", "metric": "cpu_percent", "value": 50 }])
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, r) = get_json(&s.router, "/api/v1/resources").await;
    assert_no_figures(&r);
}

#[tokio::test]
async fn a_bad_sample_is_400_and_stores_nothing() {
    let s = server(false).await;
    let body = "{\"metric\":\"cpu_percent\",\"value\":50}\n\
                {\"metric\":\"cpu percent\",\"value\":1}\n\
                {\"metric\":\"memory_percent\"}\n";
    let (status, answer) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("application/x-ndjson"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&answer), "bad_request");
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["line"], 2);
    assert!(errors[0]["reason"].as_str().unwrap().contains("`metric`"));
    assert_eq!(errors[1]["line"], 3);
    assert!(errors[1]["reason"].as_str().unwrap().contains("`value`"));
    assert!(
        s.store
            .latest_samples(SATURDAY - Duration::days(1))
            .await
            .unwrap()
            .is_empty()
    );
    let (_, r) = get_json(&s.router, "/api/v1/resources").await;
    assert_no_figures(&r);

    // A wrong content type, a body that is no array, an empty body.
    let (status, answer) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("text/plain"),
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    error_code(&answer);
    for bad in ["[{\"metric\":\"a\",\"value\":1},", ""] {
        let (status, answer) = send(
            &s.router,
            Method::POST,
            "/api/v1/samples",
            Some("application/json"),
            bad,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(error_code(&answer), "bad_request");
    }
}

#[tokio::test]
async fn every_migrated_figure_leads_to_the_datasets_behind_it() {
    let s = server(true).await;
    seed(&s.store).await;
    let (status, summary) = get_json(&s.router, "/api/v1/health/summary").await;
    assert_eq!(status, StatusCode::OK);
    let link = summary["explain"]["migration_progress"]["link"]
        .as_str()
        .expect("a link");
    assert_eq!(link, "/datasets?state=migrated");

    // The API behind the link lists exactly the datasets the figure counts.
    let (status, body) = get_json(&s.router, "/api/v1/datasets?state=migrated").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["old", "sales"]);
    assert_eq!(
        body["migrated"],
        summary["key_metrics"]["datasets_migrated"]
    );
    // The plan's total, not the datasets seen: the specification's 412, with the 408 not
    // seen yet pending.
    assert_eq!(body["total"], 412);
    assert_eq!(body["counts"]["pending"], 412 - 4);
    assert_eq!(body["counts"]["failed"], 1);
    assert_eq!(body["counts"]["migrating"], 1);

    // Per component: storage's 103 from the plan.
    let (_, storage) = get_json(&s.router, "/api/v1/datasets?component=storage").await;
    assert_eq!(storage["total"], 103);
    assert_eq!(storage["datasets"].as_array().unwrap().len(), 4);
    let stock = storage["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "stock")
        .unwrap();
    assert_eq!(stock["state"], "migrating");
    assert_eq!(stock["in_flight"], true);

    // Bad input names the parameter and changes nothing.
    let (status, body) = get_json(&s.router, "/api/v1/datasets?state=done").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`state`") && message.contains("\"done\""),
        "{message}"
    );
    let (status, _) = get_json(&s.router, "/api/v1/datasets?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The demo's clock: a fixed moment, moved forward by the test.
static DEMO_SECONDS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

fn demo_now() -> OffsetDateTime {
    datetime!(2026-12-02 15:00 UTC)
        + Duration::seconds(DEMO_SECONDS.load(std::sync::atomic::Ordering::SeqCst))
}

/// Every view of the demo's migration, read through the API, agrees with every other: the
/// story a user of `mhd demo` reads across the summary, the timeline, the matrix, the
/// performance comparison, the datasets and the alerts is one story.
#[tokio::test]
async fn the_demos_views_agree_with_each_other() {
    let (dir, store) = common::store().await;
    let now = demo_now();
    let monday = now.date() - Duration::days(i64::from(now.weekday().number_days_from_monday()));
    let start = monday - Duration::weeks(7);
    let receiver: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let secret = dir.path().join("key");
    std::fs::write(&secret, "k\n").unwrap();
    let mut text = mhd_core::plan::default_plan_toml(start);
    text.push_str(&mhd_server::demo::demo_plan_additions(receiver, &secret));
    let plan = common::plan(&text);
    mhd_server::demo::seed_history(&store, &plan, now, 8)
        .await
        .unwrap();
    // An incident on storage: the new system failing four times in five.
    let incident: Vec<NewOperation> = (0..200)
        .map(|i| {
            op(&format!("dataset_{:03}", i % 50))
                .at(now - Duration::seconds(200 - i))
                .kind("storage_operation")
                .failed_if(i % 5 != 0, "disk full")
                .build()
        })
        .collect();
    store.insert_operations(&incident).await.unwrap();
    let state = common::state_at(store.clone(), Some(plan.clone()), demo_now);
    // The demo's rules hold for 30 s before firing: three evaluations a little apart.
    for step in 0..3 {
        DEMO_SECONDS.store(step * 31, std::sync::atomic::Ordering::SeqCst);
        mhd_server::alert_loop::evaluate_once(&state)
            .await
            .expect("evaluates");
    }
    let router = Router::new()
        .merge(mhd_server::routes::api_routes())
        .with_state(state);
    let (_, summary) = get_json(&router, "/api/v1/health/summary").await;
    let (_, timeline) = get_json(&router, "/api/v1/migration/timeline").await;
    let (_, components) = get_json(&router, "/api/v1/components/health").await;
    let (_, performance) = get_json(&router, "/api/v1/performance").await;
    let (_, alerts) = get_json(&router, "/api/v1/alerts").await;
    let (_, datasets) = get_json(&router, "/api/v1/datasets").await;

    // Progress: one count everywhere, against the plan's totals.
    let migrated = summary["key_metrics"]["datasets_migrated"]
        .as_u64()
        .unwrap();
    assert_eq!(datasets["migrated"], migrated);
    let by_component: u64 = components
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["migration_status"]["migrated"].as_u64().unwrap())
        .sum();
    assert_eq!(by_component, migrated);
    for c in components.as_array().unwrap() {
        assert_eq!(c["migration_status"]["total"], 103, "{}", c["component"]);
    }
    // The forecast is not earlier than any unfinished phase, and says which phases hold it.
    let e = &summary["estimated_completion"];
    let p85 = e["p85"].as_str().expect("a forecast");
    for p in timeline.as_array().unwrap() {
        if p["status"] != "completed" {
            let end = p["projected_end"].as_str().expect("a projected end");
            assert!(end <= p85, "{} ends {end}, after P85 {p85}", p["id"]);
        }
    }
    if e["slip_days"].as_i64().unwrap() > 0 {
        assert!(summary["overall_health"] != "healthy");
    }
    // The matrix and the alerts: a component with a firing warning or worse is not healthy,
    // its issues are its open alerts, and the matrix is worst first.
    let active = alerts["active"].as_array().unwrap();
    assert!(
        active
            .iter()
            .any(|a| a["component"] == "storage" && a["state"] == "firing"),
        "the incident fires: {alerts}"
    );
    let rank = |h: &str| match h {
        "failing" => 3,
        "degraded" => 2,
        "no_data" => 1,
        _ => 0,
    };
    let mut last = 4;
    for c in components.as_array().unwrap() {
        let id = c["component"].as_str().unwrap();
        let open: Vec<&Value> = active.iter().filter(|a| a["component"] == id).collect();
        assert_eq!(c["issues"].as_array().unwrap().len(), open.len(), "{id}");
        if open
            .iter()
            .any(|a| a["state"] == "firing" && a["severity"] != "info")
        {
            assert_ne!(c["health"], "healthy", "{id}");
        }
        let r = rank(c["health"].as_str().unwrap());
        assert!(r <= last, "worst first");
        last = r;
    }
    // Alerts: firing before pending, worst first; titles in words.
    let key = |a: &Value| {
        let sev = ["info", "warning", "error", "critical"]
            .iter()
            .position(|s| a["severity"] == *s)
            .unwrap();
        (a["state"] == "firing", sev)
    };
    for w in active.windows(2) {
        assert!(key(&w[0]) >= key(&w[1]), "{alerts}");
    }
    assert!(
        active
            .iter()
            .all(|a| !a["title"].as_str().unwrap().contains("error_rate >")),
        "{alerts}"
    );
    // Performance: the regression is named, and the summary never calls the new system faster.
    let verdict = &performance["verdict"];
    assert!(
        !verdict["slower"].as_array().unwrap().is_empty(),
        "{performance}"
    );
    let headline = summary["key_metrics"]["performance_headline"]
        .as_str()
        .unwrap();
    assert_eq!(headline, verdict["headline"]);
    assert!(
        headline.starts_with("1 operation slower (feature generation"),
        "{headline}"
    );
    // Milestones reached by their conditions: "First 100 datasets migrated" when 100 are.
    let storage = timeline
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "storage")
        .unwrap();
    let first_100 = storage["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "First 100 datasets migrated")
        .unwrap();
    assert_eq!(
        first_100["status"] == "completed",
        migrated >= 100,
        "{first_100}"
    );
}

/// A tmpfs of a given size mounted on a temporary folder, unmounted when dropped. Mounting
/// needs root: without it the test that needs one is skipped with the reason, or fails under
/// `CI`, where it must run.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let why = match out {
            Ok(o) if o.status.success() => return Some(SmallDisk { dir }),
            Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
            Err(e) => format!("cannot run mount: {e}"),
        };
        let message = format!(
            "a {size} tmpfs could not be mounted ({why}): the full-disk test needs root \
             (`mount -t tmpfs`)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{message}");
        }
        eprintln!("skipped: {message}");
        None
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazily: the server's connections may still hold the store's files open; the kernel
        // lets go of the tmpfs once they close.
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes `path` until the disk is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![7u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    // What is left after the last whole block, byte by byte in pages.
    while f.write_all(&block[..4096]).is_ok() {}
    while f.write_all(&block[..1]).is_ok() {}
    let _ = f.sync_all();
}

/// 200 operations as NDJSON, named after `batch`.
fn batch_of_operations(batch: usize) -> String {
    (0..200)
        .map(|i| {
            format!(
                "{{\"timestamp\":\"2025-03-01T11:00:00Z\",\"metric_type\":\"migration\",\
                 \"operation\":\"migrate\",\"dataset_name\":\"dataset-{batch}-{i}\",\
                 \"error_message\":\"{}\"}}\n",
                "x".repeat(100)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_writes_succeed_again_once_space_is_freed() {
    let Some(disk) = SmallDisk::mount("2m") else {
        return;
    };
    let store = common::store_in(disk.path()).await;
    let base = common::serve(common::state_at(store.clone(), None, saturday)).await;
    let client = mhd_server::http::client(std::time::Duration::from_secs(30)).unwrap();
    let post = |batch: usize| {
        client
            .post(format!("{base}/api/v1/operations"))
            .header("content-type", "application/x-ndjson")
            .body(batch_of_operations(batch))
            .send()
    };
    let ready = || client.get(format!("{base}/ready")).send();
    let mut acknowledged = 0u64;
    let mut batch = 0;
    let r = post(batch).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    acknowledged += 200;
    assert_eq!(ready().await.unwrap().status(), reqwest::StatusCode::OK);

    // The disk fills up: writes go on until the store's files cannot grow, then each is
    // refused as 507 `storage_full`, and nothing of it is stored.
    fill(&disk.path().join("filler"));
    let refused = loop {
        batch += 1;
        assert!(batch < 500, "the writes never failed on a full disk");
        let r = post(batch).await.unwrap();
        match r.status() {
            reqwest::StatusCode::CREATED => acknowledged += 200,
            status => break (status, r.json::<Value>().await.unwrap()),
        }
    };
    assert_eq!(
        refused.0,
        reqwest::StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        refused.1
    );
    assert_eq!(error_code(&refused.1), "storage_full");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disk holding the server's store is full"),
        "{}",
        refused.1
    );
    for _ in 0..3 {
        batch += 1;
        let r = post(batch).await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::INSUFFICIENT_STORAGE);
    }
    let r = ready().await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert!(body["store"].as_str().unwrap().contains("full"), "{body}");

    // Space is freed: writes succeed again at once (every connection of the pool that saw
    // the failure was closed, not left inside its transaction) and /ready says so.
    std::fs::remove_file(disk.path().join("filler")).unwrap();
    let r = ready().await.unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::OK,
        "{}",
        r.text().await.unwrap()
    );
    for i in 0..3 {
        batch += 1;
        let r = post(batch).await.unwrap();
        let status = r.status();
        assert_eq!(
            status,
            reqwest::StatusCode::CREATED,
            "write {i} after freeing: {}",
            r.text().await.unwrap()
        );
        acknowledged += 200;
    }

    // Every acknowledged operation is there, and nothing of the refused ones.
    let rows = store
        .count_before(OffsetDateTime::now_utc() + Duration::days(3650))
        .await
        .unwrap();
    assert_eq!(rows as u64, acknowledged);
    let summary = store.stats_summary().await.unwrap();
    assert_eq!(summary.overall.total_operations, acknowledged);
}

#[tokio::test]
async fn writes_refuse_times_too_far_ahead_and_names_over_the_limit_naming_the_place() {
    let s = server(true).await;
    // Now is 2025-03-01 12:00; a day ahead is accepted, more is refused, with its line.
    let body = "{\"timestamp\":\"2025-03-02T12:00:00Z\",\"metric_type\":\"m\",\"operation\":\"ok\"}\n\
                {\"timestamp\":\"9999-12-31T23:59:59Z\",\"metric_type\":\"m\",\"operation\":\"late\"}\n\
                {\"timestamp\":\"10000-01-01T00:00:00Z\",\"metric_type\":\"m\",\"operation\":\"y\"}\n";
    let (status, v) = send(
        &s.router,
        Method::POST,
        "/api/v1/operations",
        Some("application/x-ndjson"),
        body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["errors"][0]["line"], 2);
    let reason = v["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("field `timestamp`: 9999-12-31T23:59:59Z is more than 1d in the future"),
        "{reason}"
    );
    assert_eq!(v["errors"][1]["line"], 3);
    assert!(
        v["errors"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("the year must have 4 digits"),
        "{v}"
    );
    let (status, v) = send(
        &s.router,
        Method::POST,
        "/api/v1/samples",
        Some("application/x-ndjson"),
        "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"metric\":\"cpu_percent\",\"value\":1}\n",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["errors"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("field `timestamp`")
    );
    let (status, v) = send(
        &s.router,
        Method::POST,
        "/api/v1/tests/junit?suite=unit&run_at=2030-01-01",
        Some("application/xml"),
        "<testsuite><testcase name=\"a\"/></testsuite>",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("parameter `run_at`: 2030-01-01T00:00:00Z is more than 1d"),
        "{v}"
    );
    // A benchmark operation of 15 MB (inside the body limit) is refused, naming the field.
    let csv = format!(
        "operation,system,value_ms\n{},old,1\n",
        "x".repeat(15 << 20)
    );
    let (status, v) = send(
        &s.router,
        Method::POST,
        "/api/v1/benchmarks?format=csv",
        Some("text/csv"),
        csv,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("field `operation`: is 15728640 bytes long; the limit is 4096"),
        "{v}"
    );
    let (_, listed) = get_json(&s.router, "/api/v1/operations").await;
    assert_eq!(listed.as_array().unwrap().len(), 0, "nothing was stored");
}
