//! Rollbacks against real programs and a real HTTP receiver on 127.0.0.1.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use mhd_core::plan::{RollbackAction, RollbackVia, Secret};
use mhd_server::rollback::{
    MAX_BODY, MAX_OUTPUT, RollbackOutcome, RollbackRequest, Via, history_operation, run,
};
use mhd_store::{OperationFilter, Store};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

mod common;

const TOKEN: &str = "tok-9f8e7d6c5b4a";

/// A folder standing for the plan's, with the scripts a test writes into it.
struct PlanDir(tempfile::TempDir);

impl PlanDir {
    fn new() -> PlanDir {
        PlanDir(tempfile::tempdir().expect("temp dir"))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes an executable shell script and returns its absolute path.
    fn script(&self, name: &str, body: &str) -> String {
        let path = self.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.display().to_string()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).expect("the program wrote the file")
    }
}

fn request<'a>(dir: &'a Path, reason: &'a str) -> RollbackRequest<'a> {
    RollbackRequest {
        component: "storage",
        requested_by: "alice",
        reason,
        requested_at: datetime!(2025-03-04 10:00 UTC),
        plan_dir: dir,
    }
}

fn command(program: &str, args: &[&str], timeout: Duration) -> RollbackAction {
    RollbackAction {
        via: RollbackVia::Command {
            program: program.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
        },
        timeout,
    }
}

fn webhook(url: &str, token: Option<Secret>, timeout: Duration) -> RollbackAction {
    RollbackAction {
        via: RollbackVia::Webhook {
            url: url.to_owned(),
            token,
        },
        timeout,
    }
}

#[tokio::test]
async fn a_command_that_succeeds_has_its_output_and_runs_in_the_plan_folder() {
    let dir = PlanDir::new();
    let program = dir.script(
        "rollback",
        "echo \"rolled back $MHD_ROLLBACK_COMPONENT for $MHD_ROLLBACK_REQUESTED_BY at $MHD_ROLLBACK_REQUESTED_AT\"\n\
         pwd -P > cwd.txt\n\
         echo 'one warning' >&2",
    );
    let action = command(&program, &[], Duration::minutes(5));
    let outcome = run(&action, &request(dir.path(), "bad deploy")).await;

    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(outcome.via, Via::Command);
    assert_eq!(outcome.exit_code, Some(0));
    assert_eq!(
        outcome.stdout.as_deref(),
        Some("rolled back storage for alice at 2025-03-04T10:00:00Z\n")
    );
    assert_eq!(outcome.stderr.as_deref(), Some("one warning\n"));
    assert!(!outcome.stdout_truncated && !outcome.stderr_truncated);
    assert!(!outcome.timed_out);
    assert_eq!(outcome.error, None);
    assert_eq!((outcome.status, outcome.body.as_deref()), (None, None));
    let cwd = dir.path().canonicalize().expect("canonical");
    assert_eq!(dir.read("cwd.txt").trim_end(), cwd.display().to_string());
}

#[tokio::test]
async fn a_command_that_fails_reports_its_exit_code_and_error_output() {
    let dir = PlanDir::new();
    let program = dir.script("rollback", "echo 'disk full' >&2\nexit 3");
    let outcome = run(
        &command(&program, &[], Duration::minutes(5)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(outcome.exit_code, Some(3));
    assert_eq!(outcome.stderr.as_deref(), Some("disk full\n"));
    assert_eq!(
        outcome.error.as_deref(),
        Some("the program exited with status 3")
    );
    assert!(!outcome.timed_out);
}

#[tokio::test]
async fn a_command_past_its_timeout_is_stopped_with_what_it_started() {
    let dir = PlanDir::new();
    // A child of the program keeps the output pipes open: it must be stopped too, or the
    // rollback would wait for it.
    let program = dir.script(
        "rollback",
        "echo started\nsleep 30 &\necho $! > child.pid\nwait",
    );
    let started = Instant::now();
    let outcome = run(
        &command(&program, &[], Duration::seconds(1)),
        &request(dir.path(), "r"),
    )
    .await;
    let took = started.elapsed();

    assert!(took < StdDuration::from_millis(2500), "took {took:?}");
    assert!(took >= StdDuration::from_secs(1), "took {took:?}");
    assert!(!outcome.ok);
    assert!(outcome.timed_out);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(outcome.stdout.as_deref(), Some("started\n"));
    assert_eq!(
        outcome.error.as_deref(),
        Some("the program did not finish within 1 s and was stopped")
    );
    assert!(outcome.duration_ms >= 1000, "{}", outcome.duration_ms);

    let pid = dir.read("child.pid");
    let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
    let gone = (0..50).any(|_| {
        let alive =
            std::fs::read_to_string(proc.join("stat")).is_ok_and(|stat| !stat.contains(") Z "));
        if alive {
            std::thread::sleep(StdDuration::from_millis(20));
        }
        !alive
    });
    assert!(gone, "the program's child {} is still running", pid.trim());
}

#[tokio::test]
async fn a_command_that_prints_too_much_is_cut_at_64_kib() {
    let dir = PlanDir::new();
    let program = dir.script(
        "rollback",
        "head -c 200000 /dev/zero | tr '\\0' 'x'\nhead -c 70000 /dev/zero | tr '\\0' 'e' >&2\necho done > finished.txt",
    );
    let outcome = run(
        &command(&program, &[], Duration::minutes(1)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(outcome.ok, "{:?}", outcome.error);
    let stdout = outcome.stdout.as_deref().unwrap_or_default();
    assert_eq!(stdout.len(), MAX_OUTPUT);
    assert!(stdout.bytes().all(|b| b == b'x'));
    assert!(outcome.stdout_truncated);
    assert_eq!(outcome.stderr.as_deref().map(str::len), Some(MAX_OUTPUT));
    assert!(outcome.stderr_truncated);
    // The rest was read and discarded: the program was never stuck on a full pipe.
    assert_eq!(dir.read("finished.txt"), "done\n");
}

#[tokio::test]
async fn the_reason_reaches_the_program_only_through_its_environment() {
    let dir = PlanDir::new();
    let program = dir.script(
        "rollback",
        "printf '%s\\n' \"$#\" \"$@\" > argv.txt\n\
         printf '%s' \"$MHD_ROLLBACK_REASON\" > reason.txt\n\
         printf '%s' \"$MHD_ROLLBACK_COMPONENT|$MHD_ROLLBACK_REQUESTED_BY\" > who.txt",
    );
    let reason = "; rm -rf / $(x) \" `id` && echo pwned";
    let outcome = run(
        &command(&program, &["storage", "--now"], Duration::minutes(1)),
        &request(dir.path(), reason),
    )
    .await;
    assert!(outcome.ok, "{:?}", outcome.error);
    assert_eq!(dir.read("argv.txt"), "2\nstorage\n--now\n");
    assert_eq!(dir.read("reason.txt"), reason);
    assert_eq!(dir.read("who.txt"), "storage|alice");
    assert!(!dir.path().join("x").exists());
}

#[tokio::test]
async fn a_program_that_cannot_start_is_a_failure_saying_why() {
    let dir = PlanDir::new();
    let outcome = run(
        &command("/nonexistent/bin/rollback", &[], Duration::minutes(1)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some("cannot start /nonexistent/bin/rollback: No such file or directory")
    );

    let outcome = run(
        &command("mhd-surely-not-a-program", &[], Duration::minutes(1)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(
        outcome
            .error
            .as_deref()
            .is_some_and(|e| e.ends_with("(not found in PATH)")),
        "{:?}",
        outcome.error
    );
}

// ---- webhook -------------------------------------------------------------------------------

/// What the receiver saw: the `Authorization` header and the JSON body of each request.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// An HTTP receiver on 127.0.0.1 answering `status` with `body` (or, when `body` is `None`,
/// echoing the `Authorization` header back) after `delay`.
async fn receiver(status: StatusCode, body: Option<String>, delay: StdDuration) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().route(
        "/hooks/rollback",
        post(move |headers: HeaderMap, body_in: String| {
            let record = record.clone();
            let body = body.clone();
            async move {
                tokio::time::sleep(delay).await;
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let json: Value = serde_json::from_str(&body_in).unwrap_or(Value::Null);
                record.lock().expect("lock").push((auth.clone(), json));
                let answer =
                    body.unwrap_or_else(|| format!("you sent {}", auth.unwrap_or_default()));
                (status, answer)
            }
        }),
    );
    let addr = common::serve_router(app).await;
    (format!("http://{addr}/hooks/rollback"), seen)
}

/// The token in a file of the plan's folder, named relatively as a plan would.
fn token_file(dir: &PlanDir) -> Secret {
    std::fs::write(dir.path().join("deploy-token"), format!("{TOKEN}\n")).expect("write token");
    Secret::File("deploy-token".to_owned())
}

fn assert_no_token(outcome: &RollbackOutcome) {
    let debug = format!("{outcome:?}");
    let json = serde_json::to_string(outcome).expect("JSON");
    assert!(!debug.contains(TOKEN), "{debug}");
    assert!(!json.contains(TOKEN), "{json}");
}

#[tokio::test]
async fn a_webhook_answering_200_is_done_and_is_sent_the_request_with_the_token() {
    let dir = PlanDir::new();
    let (url, seen) = receiver(
        StatusCode::OK,
        Some("{\"job\":42}".into()),
        StdDuration::ZERO,
    )
    .await;
    let action = webhook(&url, Some(token_file(&dir)), Duration::seconds(30));
    let outcome = run(&action, &request(dir.path(), "bad deploy; $(x)")).await;

    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(outcome.via, Via::Webhook);
    assert_eq!(outcome.status, Some(200));
    assert_eq!(outcome.body.as_deref(), Some("{\"job\":42}"));
    assert_eq!(outcome.error, None);
    assert_eq!((outcome.exit_code, outcome.stdout.as_deref()), (None, None));
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].0.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        seen[0].1,
        json!({
            "component": "storage",
            "requested_by": "alice",
            "reason": "bad deploy; $(x)",
            "requested_at": "2025-03-04T10:00:00Z",
        })
    );
    assert_no_token(&outcome);
}

#[tokio::test]
async fn a_webhook_without_a_token_sends_no_authorization() {
    let dir = PlanDir::new();
    let (url, seen) = receiver(StatusCode::ACCEPTED, Some(String::new()), StdDuration::ZERO).await;
    let outcome = run(
        &webhook(&url, None, Duration::seconds(30)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(outcome.status, Some(202));
    assert_eq!(seen.lock().expect("lock")[0].0, None);
}

#[tokio::test]
async fn a_webhook_answering_500_failed_with_its_status_and_the_start_of_its_body() {
    let dir = PlanDir::new();
    let long = format!("boom: {}", "e".repeat(10_000));
    let (url, _) = receiver(
        StatusCode::INTERNAL_SERVER_ERROR,
        Some(long.clone()),
        StdDuration::ZERO,
    )
    .await;
    let outcome = run(
        &webhook(&url, Some(token_file(&dir)), Duration::seconds(30)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(outcome.status, Some(500));
    assert_eq!(
        outcome.error.as_deref(),
        Some("the webhook answered HTTP 500 Internal Server Error")
    );
    let body = outcome.body.as_deref().unwrap_or_default();
    assert_eq!(body.len(), MAX_BODY);
    assert!(long.starts_with(body));
    assert!(outcome.body_truncated);
    assert_no_token(&outcome);
}

#[tokio::test]
async fn a_webhook_echoing_the_token_does_not_get_it_into_the_outcome() {
    let dir = PlanDir::new();
    let (url, _) = receiver(StatusCode::BAD_REQUEST, None, StdDuration::ZERO).await;
    let outcome = run(
        &webhook(&url, Some(token_file(&dir)), Duration::seconds(30)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(outcome.body.as_deref(), Some("you sent Bearer [redacted]"));
    assert_no_token(&outcome);
}

#[tokio::test]
async fn an_unreachable_webhook_failed_saying_why() {
    let dir = PlanDir::new();
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/rollback");
    let outcome = run(
        &webhook(&url, Some(token_file(&dir)), Duration::seconds(5)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    assert_eq!(outcome.status, None);
    assert!(!outcome.timed_out);
    let error = outcome.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("the webhook failed: cannot connect") && error.contains("refused"),
        "{error}"
    );
    assert_no_token(&outcome);
}

#[tokio::test]
async fn a_webhook_that_does_not_answer_in_time_timed_out() {
    let dir = PlanDir::new();
    let (url, _) = receiver(
        StatusCode::OK,
        Some("late".into()),
        StdDuration::from_secs(5),
    )
    .await;
    let started = Instant::now();
    let outcome = run(
        &webhook(&url, None, Duration::seconds(1)),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(started.elapsed() < StdDuration::from_millis(2500));
    assert!(!outcome.ok);
    assert!(outcome.timed_out);
    assert_eq!(
        outcome.error.as_deref(),
        Some("the webhook failed: no answer within 1 s")
    );
}

#[tokio::test]
async fn an_unreadable_token_fails_before_anything_is_sent() {
    let dir = PlanDir::new();
    let (url, seen) = receiver(StatusCode::OK, Some(String::new()), StdDuration::ZERO).await;
    let outcome = run(
        &webhook(
            &url,
            Some(Secret::File("missing-token".into())),
            Duration::seconds(5),
        ),
        &request(dir.path(), "r"),
    )
    .await;
    assert!(!outcome.ok);
    let error = outcome.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with(
            "cannot read the webhook's token: rollback of component `storage`: token_file "
        ) && error.contains("missing-token"),
        "{error}"
    );
    assert!(seen.lock().expect("lock").is_empty());
}

// ---- history -------------------------------------------------------------------------------

#[tokio::test]
async fn a_rollback_is_recorded_in_the_component_history() {
    let dir = PlanDir::new();
    let program = dir.script("rollback", "exit 4");
    let req = request(dir.path(), "bad deploy");
    let outcome = run(&command(&program, &[], Duration::minutes(1)), &req).await;
    let op = history_operation(&req, &outcome);

    assert_eq!(op.metric_type, "rollback");
    assert_eq!(op.component.as_deref(), Some("storage"));
    assert_eq!(op.dataset_name, None);
    assert!(!op.success);
    assert_eq!(
        op.error_message.as_deref(),
        Some("the program exited with status 4")
    );
    assert_eq!(op.duration_ms, Some(outcome.duration_ms as f64));
    assert!(op.timestamp >= req.requested_at);
    assert_eq!(
        op.metadata,
        Some(json!({
            "action": "rollback",
            "requested_by": "alice",
            "reason": "bad deploy",
            "via": "command",
            "exit_code": 4,
        }))
    );
    assert_eq!(op.validate(), Ok(()));

    let (url, _) = receiver(StatusCode::OK, Some(String::new()), StdDuration::ZERO).await;
    let done = run(&webhook(&url, None, Duration::seconds(5)), &req).await;
    let ok = history_operation(&req, &done);
    assert!(ok.success);
    assert_eq!(ok.error_message, None);
    assert_eq!(
        ok.metadata.as_ref().map(|m| m["status"].clone()),
        Some(json!(200))
    );
    assert_eq!(
        ok.metadata.as_ref().map(|m| m["via"].clone()),
        Some(json!("webhook"))
    );

    let store = common::store_in(dir.path()).await;
    assert_eq!(store.insert_operations(&[op, ok]).await.expect("stored"), 2);
    let stored = store
        .recent_operations(&OperationFilter {
            limit: 10,
            metric_type: Some("rollback".to_owned()),
            ..OperationFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|o| o.op.component.as_deref() == Some("storage"))
    );
    assert_eq!(stored.iter().filter(|o| o.op.success).count(), 1);
}
