//! The audit log over a real server on 127.0.0.1: writes, acknowledgements and silences are
//! recorded with actor, action, resource, client address and outcome, and read back through
//! `GET /api/v1/audit`.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(10);
const HOSTILE: &str = "</script><script>alert(\"x\")</script>";

mod common;
use common::http::Remote;

const PLAN: &str = r#"
[migration]
name = "Audit"
start = "2025-01-06"
weeks = 21

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"
"#;

/// The server over a new store with [`PLAN`], and a client.
async fn server() -> (TempDir, Remote) {
    let (dir, store) = common::store().await;
    let base = common::serve(common::state(store, PLAN)).await;
    (dir, Remote::new(base, WAIT))
}

#[tokio::test]
async fn changes_are_recorded_and_listed_newest_first() {
    let (_dir, s) = server().await;
    let ops = json!([
        {"metric_type":"migration","operation":"m","dataset_name":"a","component":"storage"},
        {"metric_type":"migration","operation":"m","dataset_name":"b","component":"storage"}
    ]);
    assert_eq!(
        s.post("/api/v1/operations", ops).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        s.post(
            "/api/v1/alerts/acknowledge/9999",
            json!({"comment": "looking"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let silence = json!({"component": "storage", "duration": "2h", "comment": HOSTILE});
    assert_eq!(
        s.post("/api/v1/alerts/silences", silence).await.0,
        StatusCode::CREATED
    );

    let (status, text) = s.page("/api/v1/audit").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    // The hostile comment's quotes are escaped in the JSON text, so it cannot end the string.
    assert!(text.contains(r#"alert(\"x\")"#), "{text}");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let entries = doc["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3, "{doc:#}");
    let summary: Vec<(&str, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default(),
                e["action"].as_str().unwrap_or_default(),
                e["resource"].as_str().unwrap_or_default(),
                e["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("local", "silence.add", "silence 1", "ok"),
            ("local", "alert.acknowledge", "alert 9999", "refused"),
            ("local", "operations.write", "operations", "ok"),
        ]
    );
    // Stored as given, returned unchanged once the JSON is decoded.
    assert_eq!(entries[0]["details"]["comment"], HOSTILE);
    assert_eq!(entries[1]["details"]["status"], 404);
    assert_eq!(entries[2]["details"]["stored"], 2);
    for e in entries {
        let client = e["client"].as_str().expect("client address");
        assert!(client.starts_with("127.0.0.1:"), "{client}");
        // The specification's AuditEntry fields, beside the log's own: the address without
        // its port.
        assert_eq!(e["ip_address"], "127.0.0.1", "{e:#}");
        assert_eq!(e["timestamp"], e["at"]);
        assert_eq!(e["user"], e["actor"]);
        for field in ["action", "resource", "details"] {
            assert!(e.get(field).is_some(), "{field}: {e:#}");
        }
    }

    let (status, text) = s.page("/api/v1/audit?action=alert.acknowledge").await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["entries"].as_array().map(Vec::len), Some(1));
    let (_, text) = s.page("/api/v1/audit?limit=1").await;
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["entries"][0]["action"], "silence.add");
    let (_, text) = s.page("/api/v1/audit?since=2025-03-06").await;
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["entries"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn refused_writes_are_recorded_and_bad_parameters_named() {
    let (_dir, s) = server().await;
    let bad = json!([{"metric_type":"migration"}]);
    assert_eq!(
        s.post("/api/v1/operations", bad).await.0,
        StatusCode::BAD_REQUEST
    );
    let (_, text) = s.page("/api/v1/audit?action=operations.write").await;
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["entries"][0]["outcome"], "refused", "{doc:#}");
    assert_eq!(doc["entries"][0]["details"]["status"], 400);

    for (query, name) in [
        ("since=yesterday-ish", "since"),
        ("limit=0", "limit"),
        ("limit=many", "limit"),
        ("action=", "action"),
        ("actor=me", "actor"),
    ] {
        let (status, text) = s.page(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {text}");
        assert!(text.contains(&format!("`{name}`")), "{query}: {text}");
    }
}
