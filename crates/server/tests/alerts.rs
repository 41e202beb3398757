//! Alerts end to end on a real server at 127.0.0.1:0 with a real SQLite store: failing
//! operations written through the API fire a threshold rule at the next evaluation; the alert
//! is listed by the API and the page and pushed to WebSocket clients; operators acknowledge and
//! silence it (and bad requests are refused, changing nothing); successes resolve it.

use std::time::Duration;

use futures_util::SinkExt;
use mhd_core::alerts::{AlertEvent, AlertState};
use mhd_server::AppState;
use mhd_server::alert_loop::evaluate_once;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(10);
const FORM: &str = "application/x-www-form-urlencoded";
const HOSTILE_COMPONENT: &str = "<img src=x onerror=alert(1)>";
const HOSTILE_DATASET: &str = "<script>alert('ds')</script>";

mod common;
use common::http::{Remote, error_code};
use common::now;
use common::ws::{Ws, next};

const PLAN: &str = r#"
[migration]
name = "Alerting <b>test</b>"
start = "2025-01-06"
weeks = 21

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"

[[components]]
id = "config"
name = "Config"

[alerts]
interval = "1s"

[[alerts.rules]]
name = "high_error_rate"
kind = "threshold"
metric = "error_rate"
op = ">"
threshold = 0.05
for = "0s"
keep_firing_for = "0s"
severity = "critical"
runbook = "https://wiki.example/runbooks/error-rate"
"#;

struct Server {
    _dir: TempDir,
    state: AppState,
    remote: Remote,
}

async fn server() -> Server {
    let (dir, store) = common::store().await;
    let state = common::state(store, PLAN);
    let base = common::serve(state.clone()).await;
    Server {
        _dir: dir,
        state,
        remote: Remote::new(base, WAIT),
    }
}

impl std::ops::Deref for Server {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        &self.remote
    }
}

impl Server {
    /// Stores `n` operations of `component` through the API, failed or not.
    async fn operations(&self, n: usize, component: &str, ok: bool) {
        let ops: Vec<Value> = (0..n)
            .map(|i| {
                json!({
                    "metric_type": "dataset_read",
                    "operation": "read",
                    "dataset_name": if i % 2 == 0 { HOSTILE_DATASET.to_owned() } else { format!("ds{i}") },
                    "component": component,
                    "duration_ms": 12.0,
                    "success": ok,
                    "error_message": if ok { Value::Null } else { json!("disk full") },
                })
            })
            .collect();
        let (status, body) = self.post("/api/v1/operations", Value::Array(ops)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn ws(&self) -> Ws {
        let mut ws = common::ws::connect(&common::ws::dashboard_url(&self.base)).await;
        let first = next(&mut ws).await;
        assert_eq!(first["type"], "initial_data");
        ws
    }
}

/// The `data` of the next `n` messages of type `kind`, skipping the other pushes.
async fn pushes(ws: &mut Ws, kind: &str, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        let msg = next(ws).await;
        if msg["type"] == kind {
            out.push(msg["data"].clone());
        }
    }
    out
}

/// Whether a `kind` message arrives within a short wait.
async fn arrives(ws: &mut Ws, kind: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    loop {
        let Ok(msg) = tokio::time::timeout_at(deadline, next(ws)).await else {
            return false;
        };
        if msg["type"] == kind {
            return true;
        }
    }
}

fn components(alerts: &[Value]) -> Vec<Option<String>> {
    let mut c: Vec<Option<String>> = alerts
        .iter()
        .map(|a| a["component"].as_str().map(str::to_owned))
        .collect();
    c.sort();
    c
}

#[tokio::test]
async fn failing_operations_fire_an_alert_that_is_acknowledged_silenced_and_resolved() {
    let s = server().await;
    let mut everyone = s.ws().await;
    let mut storage_only = s.ws().await;
    storage_only
        .send(Message::text(
            r#"{"type":"subscribe","component":"storage"}"#,
        ))
        .await
        .expect("subscribe");
    assert_eq!(next(&mut storage_only).await["type"], "subscribed");

    // Nothing wrong yet: nothing fires.
    s.operations(20, "storage", true).await;
    assert!(evaluate_once(&s.state).await.expect("evaluates").is_empty());

    // Half of the operations of two components fail.
    s.operations(20, "storage", false).await;
    s.operations(10, HOSTILE_COMPONENT, false).await;
    let fired = evaluate_once(&s.state).await.expect("evaluates");
    assert_eq!(fired.len(), 3, "{fired:#?}");
    assert!(
        fired
            .iter()
            .all(|t| t.event == AlertEvent::Fired && t.alert.state == AlertState::Firing)
    );
    // One incident notifies once per component: the whole migration's alert is grouped with
    // theirs, visible but not sent.
    for t in &fired {
        match &t.alert.component {
            None => {
                assert!(!t.notify, "{t:#?}");
                assert!(
                    t.alert
                        .suppressed_by
                        .as_deref()
                        .is_some_and(|s| s.starts_with("grouped with high_error_rate/")),
                    "{t:#?}"
                );
            }
            Some(_) => assert!(t.notify, "{t:#?}"),
        }
    }

    // The API lists them, firing and critical, with the runbook.
    let (status, list) = s.get("/api/v1/alerts").await;
    assert_eq!(status, StatusCode::OK);
    let active = list["active"].as_array().expect("active").clone();
    assert_eq!(
        components(&active),
        vec![
            None,
            Some(HOSTILE_COMPONENT.to_owned()),
            Some("storage".to_owned())
        ]
    );
    for a in &active {
        assert_eq!(a["state"], "firing");
        assert_eq!(a["severity"], "critical");
        assert_eq!(a["runbook"], "https://wiki.example/runbooks/error-rate");
    }
    assert_eq!(list["resolved"], json!([]));
    assert_eq!(list["silences"], json!([]));
    let storage = active
        .iter()
        .find(|a| a["component"] == "storage")
        .expect("the storage alert");
    let id = storage["id"].as_i64().expect("id");
    let whole_id = active
        .iter()
        .find(|a| a["component"].is_null())
        .and_then(|a| a["id"].as_i64())
        .expect("the whole migration's alert");

    // Every client hears the three; the storage subscriber only those of storage and of the
    // whole migration.
    let pushed = pushes(&mut everyone, "alert:new", 3).await;
    assert_eq!(components(&pushed), components(&active));
    let scoped = pushes(&mut storage_only, "alert:new", 2).await;
    assert_eq!(components(&scoped), vec![None, Some("storage".to_owned())]);

    // The summary counts them: a critical alert makes the migration critical.
    let (_, summary) = s.get("/api/v1/health/summary").await;
    assert_eq!(summary["overall_health"], "critical", "{summary}");

    // The page shows them, escaped, each with its acknowledge form; the overview counts them.
    let (status, html) = s.page("/alerts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"https://wiki.example/runbooks/error-rate\""));
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{html}"
    );
    assert!(!html.contains(HOSTILE_COMPONENT));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<b>test</b>"));
    assert!(html.contains(&format!("action=\"/alerts/acknowledge/{id}\"")));
    assert!(html.contains("aria-current=\"page\">Alerts<"));
    let (_, overview) = s.page("/").await;
    assert!(
        overview.contains("data-live=\"alerts_critical\">3<"),
        "the overview counts the firing alerts"
    );

    // A server started again on the same store takes the alerts back: nothing fires twice.
    let again = common::state_at(
        s.state.store().clone(),
        s.state.plan().map(|p| (*p).clone()),
        now,
    );
    assert!(evaluate_once(&again).await.expect("evaluates").is_empty());

    // Acknowledging: refused for unknown ids and bad input, then accepted.
    let (status, body) = s.post("/api/v1/alerts/acknowledge/999999", json!({})).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, body) = s.post("/api/v1/alerts/acknowledge/abc", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_code(&body) == "bad_request"
            && body["error"]["message"].as_str().unwrap().contains("abc")
    );
    let (status, body) = s
        .post(
            &format!("/api/v1/alerts/acknowledge/{id}"),
            json!({ "who": "ana" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("who"),
        "{body}"
    );
    let (status, acked) = s
        .post(
            &format!("/api/v1/alerts/acknowledge/{id}"),
            json!({ "by": "ana", "comment": "looking <now>" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["alert_id"], id);
    assert_eq!(acked["alert"]["acknowledged"]["by"], "ana");
    assert_eq!(acked["alert"]["acknowledged"]["comment"], "looking <now>");
    assert_eq!(acked["replaced"], Value::Null);
    let updated = pushes(&mut everyone, "alert:updated", 1).await;
    assert_eq!(updated[0]["reason"], "acknowledged");
    let (status, one) = s.get(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<&str> = one["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(events, ["fired", "acknowledged"]);
    let (_, html) = s.page("/alerts").await;
    assert!(html.contains("Acknowledged by ana"));
    assert!(!html.contains(&format!("action=\"/alerts/acknowledge/{id}\"")));
    let (status, _) = s.get("/api/v1/alerts/999999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The page's form, without JavaScript: a redirect back; from another site: refused.
    let form = s
        .http
        .post(format!("{}/alerts/acknowledge/{whole_id}", s.base))
        .header("content-type", FORM)
        .body("comment=from+the+page&by=")
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        form.headers()["location"],
        format!("/alerts#alert-{whole_id}").as_str()
    );
    let (_, whole) = s.get(&format!("/api/v1/alerts/{whole_id}")).await;
    assert_eq!(whole["acknowledged"]["by"], "anonymous");
    let cross = s
        .http
        .post(format!("{}/alerts/silences", s.base))
        .header("origin", "https://evil.example")
        .header("content-type", FORM)
        .body("rule=high_error_rate&duration=2h")
        .send()
        .await
        .expect("form");
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let bad_form = s
        .http
        .post(format!("{}/alerts/silences", s.base))
        .header("content-type", FORM)
        .body("rule=nope&duration=2h")
        .send()
        .await
        .expect("form");
    assert_eq!(bad_form.status(), StatusCode::BAD_REQUEST);
    let text = bad_form.text().await.expect("body");
    assert!(text.contains("the plan has no rule"), "the page says why");

    // Silences: bad ones refused, nothing stored; a good one listed, then removed.
    for (body, field) in [
        (json!({ "rule": "nope", "duration": "2h" }), "rule"),
        (
            json!({ "component": "nope", "duration": "2h" }),
            "component",
        ),
        (
            json!({ "rule": "high_error_rate", "duration": "soon" }),
            "duration",
        ),
        (json!({ "rule": "high_error_rate" }), "duration"),
        (json!({ "duration": "2h" }), "rule"),
    ] {
        let (status, err) = s.post("/api/v1/alerts/silences", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{body}: {err}"
        );
    }
    let (_, list) = s.get("/api/v1/alerts").await;
    assert_eq!(
        list["silences"],
        json!([]),
        "a refused silence stores nothing"
    );
    let (status, silence) = s
        .post(
            "/api/v1/alerts/silences",
            json!({ "rule": "high_error_rate", "component": "storage", "duration": "2h", "comment": "deploy", "by": "bob" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{silence}");
    assert_eq!(silence["until"], "2025-03-05T14:00:00Z");
    let sid = silence["id"].as_i64().expect("silence id");
    let (_, list) = s.get("/api/v1/alerts").await;
    assert_eq!(list["silences"].as_array().map(Vec::len), Some(1));
    let (_, html) = s.page("/alerts").await;
    assert!(html.contains("rule high_error_rate on component storage"));
    let path = format!("/api/v1/alerts/silences/{sid}");
    let (status, _) = s.send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.send(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "removed")
    );
    let (status, _) = s
        .send(
            reqwest::Method::DELETE,
            "/api/v1/alerts/silences/424242",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Successes bring every error rate under 5 %: the alerts resolve and everyone hears it;
    // the channels hear of those they heard firing.
    s.operations(1000, "storage", true).await;
    s.operations(400, HOSTILE_COMPONENT, true).await;
    let resolved = evaluate_once(&s.state).await.expect("evaluates");
    assert_eq!(resolved.len(), 3, "{resolved:#?}");
    assert!(
        resolved
            .iter()
            .all(|t| t.event == AlertEvent::Resolved && t.notify == t.alert.component.is_some())
    );
    let pushed = pushes(&mut everyone, "alert:resolved", 3).await;
    assert!(pushed.iter().all(|a| a["state"] == "resolved"));
    let (_, list) = s.get("/api/v1/alerts").await;
    assert_eq!(list["active"], json!([]));
    assert_eq!(list["resolved"].as_array().map(Vec::len), Some(3));
    let (status, body) = s
        .post(&format!("/api/v1/alerts/acknowledge/{id}"), json!({}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::CONFLICT, "resolved")
    );
    let (_, summary) = s.get("/api/v1/health/summary").await;
    assert_ne!(summary["overall_health"], "critical");

    // Filters.
    let (_, firing) = s.get("/api/v1/alerts?state=firing").await;
    assert_eq!(
        (firing["active"].clone(), firing["resolved"].clone()),
        (json!([]), json!([]))
    );
    let (_, storage_resolved) = s
        .get("/api/v1/alerts?state=resolved&component=storage")
        .await;
    assert_eq!(
        storage_resolved["resolved"].as_array().map(Vec::len),
        Some(1)
    );
    for (query, name) in [
        ("state=bogus", "state"),
        ("severity=loud", "severity"),
        ("limit=0", "limit"),
        ("component=", "component"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = s.get(&format!("/api/v1/alerts?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&format!("`{name}`")),
            "{query}: {body}"
        );
    }

    // Prometheus sees the evaluations and no alert firing.
    let metrics = s
        .http
        .get(format!("{}/metrics", s.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("mhd_alert_evaluations_total 3"),
        "{metrics}"
    );
    assert!(metrics.contains("mhd_alerts_firing{severity=\"critical\"} 0"));
    assert!(!arrives(&mut storage_only, "alert:new").await);
}

#[tokio::test]
async fn without_a_plan_there_is_nothing_to_evaluate_and_the_lists_are_empty() {
    let (_dir, store) = common::store().await;
    let state = common::state_at(store, None, now);
    assert!(matches!(
        evaluate_once(&state).await,
        Err(mhd_server::alert_loop::AlertingError::NoPlan)
    ));
    assert!(
        mhd_server::alert_loop::start(&state)
            .expect("starts")
            .is_empty(),
        "no loop without a plan"
    );
}

/// The specification's `POST /api/v1/alerts/acknowledge/{alert_id}?user=`: answered with
/// `{status, alert_id}` beside the alert; a second acknowledgement says whose it replaced, and
/// the history names it `re-acknowledged`; names that disagree are refused, changing nothing.
#[tokio::test]
async fn acknowledging_takes_the_specifications_user_and_a_second_one_says_what_it_replaced() {
    let s = server().await;
    s.operations(20, "storage", false).await;
    let fired = evaluate_once(&s.state).await.expect("evaluates");
    let id = fired
        .iter()
        .find(|t| t.alert.component.as_deref() == Some("storage"))
        .expect("the storage alert fires")
        .alert
        .id;
    let ack = format!("/api/v1/alerts/acknowledge/{id}");

    // The specification's query parameter, which used to be refused as unknown.
    let (status, first) = s
        .post(&format!("{ack}?user=ana"), json!({ "comment": "on it" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["status"], "acknowledged");
    assert_eq!(first["alert_id"], id);
    assert_eq!(first["alert"]["id"], id);
    assert_eq!(first["alert"]["acknowledged"]["by"], "ana");
    assert_eq!(first["replaced"], Value::Null, "nothing to replace");

    // The body's `user`; the second acknowledgement replaces the first and says so.
    let (status, second) = s
        .post(&ack, json!({ "user": "bob", "comment": "taking over" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["alert"]["acknowledged"]["by"], "bob");
    assert_eq!(second["replaced"]["by"], "ana");
    assert_eq!(second["replaced"]["comment"], "on it");
    assert_eq!(
        second["replaced"]["at"],
        first["alert"]["acknowledged"]["at"]
    );

    // The history tells the second from the first, naming the one it replaced.
    let (_, one) = s.get(&format!("/api/v1/alerts/{id}")).await;
    let history = one["history"].as_array().expect("history");
    let events: Vec<&str> = history.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(events, ["fired", "acknowledged", "re-acknowledged"]);
    assert_eq!(history[2]["by"], "bob");
    assert_eq!(history[2]["replaced"]["by"], "ana");
    assert!(history[1].get("replaced").is_none(), "{:#}", history[1]);

    // Two names that disagree are refused, and nothing changes.
    for (query, body, field) in [
        ("?user=carol", json!({ "by": "dave" }), "`by`"),
        ("?user=carol", json!({ "user": "dave" }), "`user`"),
        ("", json!({ "by": "carol", "user": "dave" }), "`user`"),
        ("?user=ana%07", json!({}), "`user`"),
        ("?who=carol", json!({}), "`who`"),
    ] {
        let (status, body) = s.post(&format!("{ack}{query}"), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{query}: {body}"
        );
    }
    // The same name twice is one name.
    let (status, third) = s
        .post(&format!("{ack}?user=eve"), json!({ "by": "eve" }))
        .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["replaced"]["by"], "bob");
    let (_, one) = s.get(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(one["history"].as_array().map(Vec::len), Some(4));

    // Each acknowledgement is in the audit log, with what it replaced; the refusals too.
    let (status, audit) = s.get("/api/v1/audit?action=alert.acknowledge").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let entries = audit["entries"].as_array().expect("entries");
    let done: Vec<&Value> = entries.iter().filter(|e| e["outcome"] == "ok").collect();
    let by: Vec<&str> = done
        .iter()
        .filter_map(|e| e["details"]["by"].as_str())
        .collect();
    assert_eq!(by, ["eve", "bob", "ana"]);
    assert_eq!(done[1]["details"]["replaced"]["by"], "ana");
    assert!(done[2]["details"].get("replaced").is_none());
    assert!(entries.iter().any(|e| e["outcome"] == "refused"));
}

/// `GET /api/v1/components/health` is the matrix as a list (worst first) by default and, with
/// `shape=object`, the specification's object keyed by component; another shape is refused.
#[tokio::test]
async fn component_health_answers_the_specifications_object_when_asked() {
    let s = server().await;
    s.operations(20, "storage", false).await;
    s.operations(20, "config", true).await;
    let (status, list) = s.get("/api/v1/components/health").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let rows = list.as_array().expect("a list by default");
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|c| c["component"].as_str())
        .collect();
    assert!(
        ids.contains(&"storage") && ids.contains(&"config"),
        "{ids:?}"
    );
    let (status, same) = s.get("/api/v1/components/health?shape=list").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(same, list);

    let (status, keyed) = s.get("/api/v1/components/health?shape=object").await;
    assert_eq!(status, StatusCode::OK, "{keyed}");
    let keyed = keyed.as_object().expect("an object");
    assert_eq!(keyed.len(), rows.len());
    for row in rows {
        let id = row["component"].as_str().unwrap();
        assert_eq!(&keyed[id], row, "{id}: the same row under its id");
    }

    let (status, body) = s.get("/api/v1/components/health?shape=table").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("`shape`") && message.contains("table"),
        "{message}"
    );
}
