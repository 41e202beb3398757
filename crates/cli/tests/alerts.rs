//! `mhd alerts` on a temporary home: listing (text and JSON), acknowledging, silencing and
//! removing a silence in the real store, and bad input refused with exit status 2 and a
//! message, changing nothing.

use std::path::Path;

use assert_cmd::Command;
use mhd_core::alerts::{Alert, AlertEvent, AlertState, Impact, Resolution, Severity, Transition};
use mhd_store::alerts::AlertStore;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn mhd(home: &Path) -> Command {
    let mut c = Command::cargo_bin("mhd").expect("the mhd binary");
    c.arg("--home")
        .arg(home)
        .env_remove("MHD_HOME")
        .env_remove("MHD_PLAN")
        .env("USER", "carol")
        .env("NO_COLOR", "1");
    c
}

fn json(c: &mut Command) -> Value {
    let out = c.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Runs a command that must fail with exit status 2; returns its standard error.
fn refused(c: &mut Command) -> String {
    let out = c.output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn alert(id: i64, state: AlertState, now: OffsetDateTime) -> Alert {
    Alert {
        id,
        key: format!("high_error_rate/storage{id}"),
        rule: "high_error_rate".into(),
        kind: "threshold".into(),
        severity: Severity::Critical,
        state,
        title: "Error rate above 5 % on storage\u{1b}[31m".into(),
        message: "error_rate 0.12 > 0.05".into(),
        component: Some("storage".into()),
        value: Some(0.12),
        started_at: now - Duration::minutes(30),
        fired_at: Some(now - Duration::minutes(20)),
        last_seen: now,
        clear_since: None,
        resolved_at: (state == AlertState::Resolved).then_some(now - Duration::minutes(1)),
        resolution: (state == AlertState::Resolved).then_some(Resolution::Automatic),
        acknowledged: None,
        impact: Impact::default(),
        runbook: Some("https://wiki.example/runbooks/error-rate".into()),
        suppressed_by: None,
        notified: true,
    }
}

/// A home with the starting plan and two alerts: 1 firing, 2 resolved.
async fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    mhd(home.path())
        .args(["init", "--start", "2025-01-06"])
        .assert()
        .success();
    let store = mhd_store::Database::open_file(&home.path().join("mhd.db"), 1)
        .await
        .expect("store");
    let now = OffsetDateTime::now_utc();
    let t = |a: Alert, event| Transition {
        alert: a,
        event,
        notify: true,
    };
    store
        .save_transitions(
            &[
                t(alert(1, AlertState::Firing, now), AlertEvent::Fired),
                t(alert(2, AlertState::Resolved, now), AlertEvent::Resolved),
            ],
            now,
        )
        .await
        .expect("alerts saved");
    store.close().await;
    home
}

#[tokio::test]
async fn alerts_are_listed_acknowledged_and_silenced() {
    let home = home().await;
    let h = home.path();

    let out = mhd(h).arg("alerts").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Active alerts (1)"), "{text}");
    assert!(text.contains("◆ critical"));
    assert!(text.contains("Error rate above 5 % on storage"));
    assert!(!text.contains('\u{1b}'), "control characters are made safe");
    assert!(text.contains("runbook: https://wiki.example/runbooks/error-rate"));
    assert!(
        !text.contains("Resolved alerts"),
        "the history comes with --all"
    );

    let listed = json(mhd(h).args(["alerts", "--json"]));
    assert_eq!(listed["active"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["resolved"], Value::Array(vec![]));
    let all = json(mhd(h).args(["alerts", "--json", "--all"]));
    assert_eq!(all["resolved"][0]["id"], 2);
    let resolved = json(mhd(h).args(["alerts", "--json", "--state", "resolved"]));
    assert_eq!(resolved["active"], Value::Array(vec![]));
    assert_eq!(resolved["resolved"].as_array().map(Vec::len), Some(1));

    // Acknowledging: `--by` defaults to $USER.
    mhd(h)
        .args(["alerts", "ack", "1", "--comment", "on it"])
        .assert()
        .success()
        .stdout("Acknowledged alert 1 as carol.\n");
    let listed = json(mhd(h).args(["alerts", "--json"]));
    let ack = &listed["active"][0]["acknowledged"];
    assert_eq!(ack["by"], "carol");
    assert_eq!(ack["comment"], "on it");
    let text =
        String::from_utf8_lossy(&mhd(h).arg("alerts").output().expect("runs").stdout).into_owned();
    assert!(text.contains("acknowledged by carol"), "{text}");

    // Silencing, then removing the silence.
    mhd(h)
        .args([
            "alerts",
            "silence",
            "--rule",
            "high_error_rate",
            "--component",
            "storage",
            "--for",
            "2h",
            "--comment",
            "deploy",
            "--by",
            "dan",
        ])
        .assert()
        .success();
    let listed = json(mhd(h).args(["alerts", "--json"]));
    let s = &listed["silences"][0];
    assert_eq!(
        (
            s["rule"].as_str(),
            s["component"].as_str(),
            s["by"].as_str()
        ),
        (Some("high_error_rate"), Some("storage"), Some("dan"))
    );
    let id = s["id"].as_i64().expect("silence id").to_string();
    mhd(h).args(["alerts", "unsilence", &id]).assert().success();
    let listed = json(mhd(h).args(["alerts", "--json"]));
    assert_eq!(listed["silences"], Value::Array(vec![]));
    let err = refused(mhd(h).args(["alerts", "unsilence", &id]));
    assert!(err.contains("already removed"), "{err}");
}

#[tokio::test]
async fn bad_input_exits_with_status_2_and_changes_nothing() {
    let home = home().await;
    let h = home.path();
    let err = refused(mhd(h).args(["alerts", "ack", "999"]));
    assert!(err.contains("no alert has id 999"), "{err}");
    let err = refused(mhd(h).args(["alerts", "ack", "2"]));
    assert!(err.contains("alert 2 is already resolved"), "{err}");
    let err = refused(mhd(h).args(["alerts", "ack", "one"]));
    assert!(err.contains("one"), "{err}");
    let err = refused(mhd(h).args(["alerts", "ack", "1", "--by", "a\u{7}b"]));
    assert!(err.contains("by:"), "{err}");
    let err = refused(mhd(h).args(["alerts", "--state", "loud"]));
    assert!(err.contains("--state"), "{err}");
    let err = refused(mhd(h).args(["alerts", "silence", "--rule", "nope", "--for", "2h"]));
    assert!(err.contains("the plan has no rule \"nope\""), "{err}");
    let err = refused(mhd(h).args(["alerts", "silence", "--component", "nope", "--for", "2h"]));
    assert!(err.contains("the plan has no component \"nope\""), "{err}");
    let err = refused(mhd(h).args([
        "alerts",
        "silence",
        "--component",
        "storage",
        "--for",
        "soon",
    ]));
    assert!(err.contains("--for"), "{err}");
    let err = refused(mhd(h).args([
        "alerts",
        "silence",
        "--component",
        "storage",
        "--for",
        "91d",
    ]));
    assert!(err.contains("90 days"), "{err}");
    refused(mhd(h).args(["alerts", "silence", "--for", "2h"]));
    let err = refused(mhd(h).args(["alerts", "unsilence", "7"]));
    assert!(err.contains("no silence has id 7"), "{err}");

    let listed = json(mhd(h).args(["alerts", "--json"]));
    assert_eq!(listed["active"][0]["acknowledged"], Value::Null);
    assert_eq!(listed["silences"], Value::Array(vec![]));
}

/// `mhd alerts ack` is in `mhd audit` as an acknowledgement through the API is: actor the
/// local user, client `cli`; a second one names the acknowledgement it replaced, on the
/// terminal, in the audit log and in the alert's history; a refused one is recorded refused.
#[tokio::test]
async fn acknowledgements_made_here_are_in_the_audit_log_like_the_apis() {
    let home = home().await;
    let h = home.path();
    mhd(h)
        .args(["alerts", "ack", "1", "--comment", "on it"])
        .assert()
        .success()
        .stdout("Acknowledged alert 1 as carol.\n");
    let out = mhd(h)
        .args(["alerts", "ack", "1", "--by", "dan"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Acknowledged alert 1 as dan, replacing the acknowledgement by carol"),
        "{text}"
    );
    refused(mhd(h).args(["alerts", "ack", "2"]));

    let entries = json(mhd(h).args(["audit", "--json", "--action", "alert.acknowledge"]));
    let entries = entries.as_array().expect("entries");
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let seen: Vec<(&str, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default(),
                e["resource"].as_str().unwrap_or_default(),
                e["client"].as_str().unwrap_or_default(),
                e["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("carol", "alert 2", "cli", "refused"),
            ("carol", "alert 1", "cli", "ok"),
            ("carol", "alert 1", "cli", "ok"),
        ]
    );
    assert!(
        entries[0]["details"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("already resolved")),
        "{:#}",
        entries[0]
    );
    assert_eq!(entries[1]["details"]["by"], "dan");
    assert_eq!(entries[1]["details"]["replaced"]["by"], "carol");
    assert_eq!(entries[2]["details"]["by"], "carol");
    assert_eq!(entries[2]["details"]["comment"], "on it");
    // The specification's names too; a command line has no address.
    assert_eq!(entries[2]["user"], "carol");
    assert_eq!(entries[2]["timestamp"], entries[2]["at"]);
    assert_eq!(entries[2]["ip_address"], Value::Null);

    let table = mhd(h).arg("audit").output().expect("runs");
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("alert.acknowledge"), "{table}");

    let store = mhd_store::Database::open_file(&h.join("mhd.db"), 1)
        .await
        .expect("store");
    let events: Vec<String> = store
        .alert_events(1)
        .await
        .expect("history")
        .into_iter()
        .map(|e| e.event)
        .collect();
    store.close().await;
    assert_eq!(events, ["fired", "acknowledged", "re-acknowledged"]);

    // Silences made here are recorded too.
    mhd(h)
        .args(["alerts", "silence", "--component", "storage", "--for", "2h"])
        .assert()
        .success();
    let added = json(mhd(h).args(["audit", "--json", "--action", "silence.add"]));
    assert_eq!(added[0]["actor"], "carol");
    assert_eq!(added[0]["client"], "cli");
    assert_eq!(added[0]["details"]["component"], "storage");
}
