//! Notification channels against real receivers on loopback: small HTTP servers standing in for
//! a webhook, Slack, PagerDuty and Jira that record what they were sent, and a small SMTP server
//! (with STARTTLS on a self-signed certificate) standing in for a mail relay. The store is a
//! real SQLite file; the notifier runs its real workers with a fast backoff.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use mhd_core::alerts::{Alert, AlertEvent, AlertState, Impact, Severity, Transition};
use mhd_core::plan::{Channel, ChannelKind, ChatSettings, Plan, Secret, SecretOrText};
use mhd_server::AppState;
use mhd_server::notify::{self, NotifierOptions};
use mhd_store::Database;
use mhd_store::alerts::AlertStore;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

mod common;
use common::http;

/// Asserts the answer `body` of `method` on `template` with `status` is what the OpenAPI
/// document says that route answers.
fn conforms(method: &str, template: &str, status: u16, body: &Value) {
    let doc = mhd_server::routes::openapi_document();
    if let Some(why) = common::schema::answer_departure(&doc, method, template, status, body) {
        panic!("{why}\n{body}");
    }
}

// ---------------------------------------------------------------------------------------------
// An HTTP receiver that records requests and answers from a script.

/// One recorded request.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            body: String::new(),
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    fn body(mut self, body: &str) -> Reply {
        self.body = body.to_owned();
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Reply {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

#[derive(Debug)]
struct ReceiverState {
    received: Mutex<Vec<(Instant, Received)>>,
    answered: Mutex<usize>,
    script: Mutex<VecDeque<Reply>>,
    otherwise: Mutex<Reply>,
}

/// A loopback HTTP server recording every request.
struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// A receiver that answers every request 200.
    async fn accepting() -> Receiver {
        Receiver::start(vec![], Reply::status(200)).await
    }

    /// Answers `script` in order, then `otherwise` to every further request.
    async fn start(script: Vec<Reply>, otherwise: Reply) -> Receiver {
        let state = Arc::new(ReceiverState {
            received: Mutex::new(Vec::new()),
            answered: Mutex::new(0),
            script: Mutex::new(script.into()),
            otherwise: Mutex::new(otherwise),
        });
        let shared = state.clone();
        let app = Router::new().fallback(move |request: Request<Body>| {
            let state = shared.clone();
            async move { answer(state, request).await }
        });
        let listener = common::listener().await;
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.state
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| *t)
            .collect()
    }

    fn answered(&self) -> usize {
        *self.state.answered.lock().unwrap()
    }

    fn set_otherwise(&self, reply: Reply) {
        *self.state.otherwise.lock().unwrap() = reply;
    }

    /// Waits until `n` requests arrived (panics after 10 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} requests, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn answer(state: Arc<ReceiverState>, request: Request<Body>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    state.received.lock().unwrap().push((
        Instant::now(),
        Received {
            path: parts.uri.path().to_owned(),
            headers: parts.headers,
            body,
        },
    ));
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| state.otherwise.lock().unwrap().clone());
    tokio::time::sleep(reply.delay).await;
    *state.answered.lock().unwrap() += 1;
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        reply.body.clone(),
    )
        .into_response();
    for (name, value) in &reply.headers {
        response.headers_mut().insert(*name, value.parse().unwrap());
    }
    response
}

// ---------------------------------------------------------------------------------------------
// A server state over a real store, with channels.

fn plan(channels: Vec<Channel>, chat: Option<Secret>) -> Plan {
    let mut plan = mhd_core::plan::parse(
        &mhd_core::plan::default_plan_toml(
            OffsetDateTime::now_utc().date() - time::Duration::weeks(6),
        ),
        "migration.toml",
    )
    .expect("the default plan parses");
    plan.notify = channels;
    plan.chat = ChatSettings {
        signing_secret: chat,
    };
    plan
}

fn channel(name: &str, kind: ChannelKind) -> Channel {
    Channel {
        name: name.to_owned(),
        kind,
        min_severity: Severity::Warning,
        components: Vec::new(),
        send_resolved: true,
    }
}

fn webhook(name: &str, url: String) -> Channel {
    channel(name, ChannelKind::Webhook { url, token: None })
}

/// Fast retries, no rate limit, short timeouts.
fn fast() -> NotifierOptions {
    NotifierOptions {
        public_url: "http://mhd.test:8000".into(),
        timeout: Duration::from_millis(500),
        min_interval: Duration::ZERO,
        max_attempts: 3,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(100),
        smtp_root_certificates: Vec::new(),
    }
}

struct Running {
    state: AppState,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }

    fn notifier(&self) -> notify::Notifier {
        self.state.notifier().expect("the notifier runs")
    }

    async fn enqueue(&self, t: &Transition) -> usize {
        self.notifier().enqueue(t).await.expect("queued")
    }

    fn router(&self) -> Router {
        mhd_server::app(self.state.clone())
    }

    /// `GET /api/v1/notifications` (with a query string), as text and JSON, checked against
    /// the schema the document gives it.
    async fn deliveries(&self, query: &str) -> (String, Value) {
        let answer = http::get(&self.router(), &format!("/api/v1/notifications{query}")).await;
        assert_eq!(answer.status, StatusCode::OK);
        let text = answer.text();
        let json = serde_json::from_str(&text).unwrap();
        conforms("GET", "/api/v1/notifications", 200, &json);
        (text, json)
    }

    /// Waits until no delivery is pending (panics after 10 s), then lists them all.
    async fn settled(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (_, doc) = self.deliveries("").await;
            let list = doc["deliveries"].as_array().unwrap().clone();
            if list.iter().all(|d| d["state"] != "pending") {
                return list;
            }
            assert!(Instant::now() < deadline, "still pending: {list:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn run_with(
    store: Database,
    plan: Plan,
    options: NotifierOptions,
) -> Result<Running, String> {
    let state = common::live_state(store, Some(plan));
    let tasks = mhd_server::background::start_notifications(&state, options).await?;
    Ok(Running { state, tasks })
}

async fn run(dir: &tempfile::TempDir, channels: Vec<Channel>) -> Running {
    run_with(
        common::store_in(dir.path()).await,
        plan(channels, None),
        fast(),
    )
    .await
    .expect("the notifier starts")
}

fn alert(id: i64, severity: Severity, component: Option<&str>) -> Alert {
    let now = OffsetDateTime::now_utc();
    Alert {
        id,
        key: format!("high_error_rate/{}", component.unwrap_or("*")),
        rule: "high_error_rate".into(),
        kind: "threshold".into(),
        severity,
        state: AlertState::Firing,
        title: format!(
            "Error rate above 5 % on {}",
            component.unwrap_or("the migration")
        ),
        message: "error_rate 0.12 > 0.05".into(),
        component: component.map(str::to_owned),
        value: Some(0.12),
        started_at: now - time::Duration::minutes(3),
        fired_at: Some(now - time::Duration::minutes(2)),
        last_seen: now,
        clear_since: None,
        resolved_at: None,
        resolution: None,
        acknowledged: None,
        impact: Impact {
            affected_datasets: vec!["sales".into(), "orders".into()],
            components: component.map(|c| vec![c.to_owned()]).unwrap_or_default(),
            estimated_downtime_minutes: None,
        },
        runbook: Some("https://wiki.example/runbooks/error-rate".into()),
        suppressed_by: None,
        notified: true,
    }
}

fn fired(alert: Alert) -> Transition {
    Transition {
        alert,
        event: AlertEvent::Fired,
        notify: true,
    }
}

fn resolved(mut alert: Alert) -> Transition {
    alert.state = AlertState::Resolved;
    alert.resolved_at = Some(OffsetDateTime::now_utc());
    alert.resolution = Some(mhd_core::alerts::Resolution::Automatic);
    Transition {
        alert,
        event: AlertEvent::Resolved,
        notify: true,
    }
}

fn secret_file(dir: &tempfile::TempDir, name: &str, value: &str) -> Secret {
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    Secret::File(path.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Payload shapes.

#[tokio::test]
async fn the_webhook_gets_the_alert_as_json_with_its_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::accepting().await;
    let token = secret_file(&dir, "token", "hook-token-1234");
    let ch = channel(
        "ops",
        ChannelKind::Webhook {
            url: rx.url("/hook"),
            token: Some(token),
        },
    );
    let run = run(&dir, vec![ch]).await;
    assert_eq!(
        run.enqueue(&fired(alert(7, Severity::Error, Some("storage"))))
            .await,
        1
    );
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/hook");
    assert_eq!(
        got[0].header("authorization").as_deref(),
        Some("Bearer hook-token-1234")
    );
    assert_eq!(
        got[0].header("content-type").as_deref(),
        Some("application/json")
    );
    let body = got[0].json();
    assert_eq!(body["version"], 1);
    assert_eq!(body["event"], "fired");
    assert_eq!(body["dashboard_url"], "http://mhd.test:8000/alerts#alert-7");
    assert_eq!(body["alert"]["id"], 7);
    assert_eq!(body["alert"]["key"], "high_error_rate/storage");
    assert_eq!(body["alert"]["severity"], "error");
    assert_eq!(body["alert"]["state"], "firing");
    assert_eq!(body["alert"]["component"], "storage");
    assert_eq!(
        body["alert"]["impact"]["affected_datasets"],
        json!(["sales", "orders"])
    );
    let list = run.settled().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(list[0]["attempts"], 1);
    assert_eq!(list[0]["event"], "fired");
    assert_eq!(list[0]["title"], "Error rate above 5 % on storage");
    let metrics = run.state.metrics().encode();
    assert!(
        metrics.contains("mhd_notifications_total{channel=\"ops\",outcome=\"sent\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mhd_notifications_pending{channel=\"ops\"} 0"),
        "{metrics}"
    );
    run.stop();
}

#[tokio::test]
async fn slack_gets_severity_component_impact_and_links_with_user_strings_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(vec![], Reply::status(200).body("ok")).await;
    let ch = channel(
        "chat",
        ChannelKind::Slack {
            url: SecretOrText::Text(rx.url("/services/T000/B000/XXXX")),
        },
    );
    let run = run(&dir, vec![ch]).await;
    let mut a = alert(3, Severity::Critical, Some("storage"));
    a.title = "Rows <b>lost</b> & <!channel>".into();
    run.enqueue(&fired(a.clone())).await;
    run.enqueue(&resolved(a)).await;
    let got = rx.wait_for(2).await;
    let m = got[0].json();
    assert_eq!(
        m["text"],
        "CRITICAL: Rows &lt;b&gt;lost&lt;/b&gt; &amp; &lt;!channel&gt;"
    );
    let blocks = m["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    assert_eq!(
        blocks[0]["text"]["text"],
        "CRITICAL: Rows <b>lost</b> & <!channel>"
    );
    assert_eq!(
        blocks[1]["fields"][0]["text"],
        "*Severity*\n:red_circle: Critical"
    );
    assert_eq!(blocks[1]["fields"][1]["text"], "*Component*\nstorage");
    assert_eq!(blocks[2]["text"]["text"], "error_rate 0.12 &gt; 0.05");
    assert_eq!(
        blocks[3]["text"]["text"],
        "*Impact*\n2 datasets: sales, orders; components: storage"
    );
    assert_eq!(
        blocks[4]["elements"][0]["text"],
        "<https://wiki.example/runbooks/error-rate|Runbook>  ·  <http://mhd.test:8000/alerts#alert-3|Dashboard>"
    );
    let r = got[1].json();
    assert!(r["text"].as_str().unwrap().starts_with("RESOLVED: "), "{r}");
    assert_eq!(
        r["blocks"][1]["fields"][0]["text"],
        "*Severity*\n:white_check_mark: Critical (resolved)"
    );
    run.stop();
}

#[tokio::test]
async fn pagerduty_trigger_and_resolve_share_one_dedup_key() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(
        vec![],
        Reply::status(202)
            .body(r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#),
    )
    .await;
    let key = secret_file(&dir, "pd", "R0UT1NGKEY0000000000000000000000");
    let ch = channel(
        "pager",
        ChannelKind::Pagerduty {
            url: rx.url("/v2/enqueue"),
            routing_key: key,
        },
    );
    let run = run(&dir, vec![ch]).await;
    let a = alert(42, Severity::Critical, Some("storage"));
    run.enqueue(&fired(a.clone())).await;
    run.enqueue(&resolved(a)).await;
    let got = rx.wait_for(2).await;
    let trigger = got[0].json();
    assert_eq!(trigger["routing_key"], "R0UT1NGKEY0000000000000000000000");
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["dedup_key"], "high_error_rate/storage#42");
    let p = &trigger["payload"];
    assert_eq!(
        p["summary"],
        "Error rate above 5 % on storage: error_rate 0.12 > 0.05"
    );
    assert_eq!(p["source"], "mhd");
    assert_eq!(p["severity"], "critical");
    assert_eq!(p["component"], "storage");
    assert!(
        OffsetDateTime::parse(
            p["timestamp"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    assert_eq!(p["custom_details"]["message"], "error_rate 0.12 > 0.05");
    assert_eq!(
        p["custom_details"]["runbook"],
        "https://wiki.example/runbooks/error-rate"
    );
    assert_eq!(
        p["custom_details"]["impact"],
        "2 datasets: sales, orders; components: storage"
    );
    assert_eq!(
        trigger["links"][0]["href"],
        "http://mhd.test:8000/alerts#alert-42"
    );
    assert_eq!(
        trigger["links"][1]["href"],
        "https://wiki.example/runbooks/error-rate"
    );
    assert_eq!(
        trigger["client_url"],
        "http://mhd.test:8000/alerts#alert-42"
    );
    let resolve = got[1].json();
    assert_eq!(
        resolve,
        json!({
            "routing_key": "R0UT1NGKEY0000000000000000000000",
            "event_action": "resolve",
            "dedup_key": "high_error_rate/storage#42",
        })
    );
    let list = run.settled().await;
    assert!(list.iter().all(|d| d["state"] == "sent"), "{list:?}");
    run.stop();
}

#[tokio::test]
async fn jira_makes_one_issue_per_alert_automatically_or_on_the_button() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(
        vec![
            Reply::status(201).body(
                r#"{"id":"10001","key":"OPS-1","self":"http://jira/rest/api/2/issue/10001"}"#,
            ),
            Reply::status(201).body(
                r#"{"id":"10002","key":"OPS-2","self":"http://jira/rest/api/2/issue/10002"}"#,
            ),
        ],
        Reply::status(500),
    )
    .await;
    let token = secret_file(&dir, "jira", "jira-api-token");
    let ch = channel(
        "tickets",
        ChannelKind::Jira {
            url: rx.url(""),
            project: "OPS".into(),
            issue_type: "Bug".into(),
            user: "bot@example.org".into(),
            token,
            auto_severity: Some(Severity::Critical),
        },
    );
    let run = run(&dir, vec![ch]).await;
    let critical = alert(5, Severity::Critical, Some("storage"));
    let warning = alert(6, Severity::Warning, Some("api"));
    run.state
        .store()
        .save_transitions(
            &[fired(critical.clone()), fired(warning.clone())],
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    // A critical firing makes an issue; a warning does not; resolutions never do.
    assert_eq!(run.enqueue(&fired(critical.clone())).await, 1);
    assert_eq!(run.enqueue(&fired(warning.clone())).await, 0);
    assert_eq!(run.enqueue(&resolved(critical.clone())).await, 0);
    let got = rx.wait_for(1).await;
    assert_eq!(got[0].path, "/rest/api/2/issue");
    let basic = base64::engine::general_purpose::STANDARD.encode("bot@example.org:jira-api-token");
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Basic {basic}"))
    );
    let fields = &got[0].json()["fields"];
    assert_eq!(fields["project"], json!({ "key": "OPS" }));
    assert_eq!(fields["issuetype"], json!({ "name": "Bug" }));
    assert_eq!(fields["labels"], json!(["mhd", "critical"]));
    assert_eq!(
        fields["summary"],
        "[CRITICAL] Error rate above 5 % on storage"
    );
    let description = fields["description"].as_str().unwrap();
    assert!(
        description.contains("error_rate 0.12 > 0.05"),
        "{description}"
    );
    assert!(
        description.contains("Runbook: https://wiki.example/runbooks/error-rate"),
        "{description}"
    );
    run.settled().await;

    let click = |id: &str| {
        let router = run.router();
        let uri = format!("/api/v1/alerts/{id}/jira");
        async move {
            let answer = http::call(&router, Request::post(uri).body(Body::empty()).unwrap()).await;
            let body = serde_json::from_slice::<Value>(&answer.body).unwrap();
            let status = answer.status.as_u16();
            conforms("POST", "/api/v1/alerts/{alert_id}/jira", status, &body);
            (answer.status, body)
        }
    };
    // The critical alert has its issue: the button is refused and names it.
    let (status, body) = click("5").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["error"]["message"],
        "alert 5 already has the Jira issue OPS-1"
    );
    // The warning gets one on the button, once.
    let (status, body) = click("6").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issue_key"], "OPS-2");
    assert_eq!(body["url"], format!("{}/browse/OPS-2", rx.url("")));
    let (status, _) = click("6").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = click("999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["message"], "no alert has id 999");
    let (status, _) = click("abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(rx.received().len(), 2, "Jira was asked twice in all");

    // The alerts page links each issue and offers the button where there is none.
    run.state
        .store()
        .save_transitions(
            &[fired(alert(7, Severity::Warning, None))],
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let page = |request: Request<Body>| {
        let router = run.router();
        async move {
            let answer = http::call(&router, request).await;
            (answer.status, answer.text())
        }
    };
    let (status, html) = page(Request::get("/alerts").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"{}/browse/OPS-1\"", rx.url(""))),
        "{html}"
    );
    assert!(html.contains("Create a Jira issue for #7"), "{html}");
    assert!(
        !html.contains("Create a Jira issue for #5"),
        "one issue per alert"
    );
    // The button without JavaScript: Jira now answers 500, and the page says so.
    let (status, html) = page(
        Request::post("/alerts/7/jira")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{html}");
    assert!(html.contains("Jira did not create the issue"), "{html}");
    run.stop();
}

#[tokio::test]
async fn the_jira_button_says_when_jira_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(
        vec![],
        Reply::status(400)
            .body(r#"{"errorMessages":[],"errors":{"project":"project is required"}}"#),
    )
    .await;
    let token = secret_file(&dir, "jira", "jira-api-token");
    let ch = channel(
        "tickets",
        ChannelKind::Jira {
            url: rx.url(""),
            project: "NOPE".into(),
            issue_type: "Bug".into(),
            user: "bot".into(),
            token,
            auto_severity: None,
        },
    );
    let run = run(&dir, vec![ch]).await;
    let a = alert(8, Severity::Warning, None);
    run.state
        .store()
        .save_transitions(&[fired(a)], OffsetDateTime::now_utc())
        .await
        .unwrap();
    let answer = http::call(
        &run.router(),
        Request::post("/api/v1/alerts/8/jira")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body: Value = serde_json::from_slice(&answer.body).unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Jira did not create the issue: HTTP 400 Bad Request: "),
        "{message}"
    );
    assert!(message.contains("project is required"), "{message}");
    run.stop();
}

// ---------------------------------------------------------------------------------------------
// Failures, retries and restarts.

#[tokio::test]
async fn a_receiver_failing_twice_gets_the_message_on_the_third_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(
        vec![Reply::status(500), Reply::status(503).body("busy")],
        Reply::status(200),
    )
    .await;
    let run = run(&dir, vec![webhook("ops", rx.url("/hook"))]).await;
    run.enqueue(&fired(alert(1, Severity::Warning, None))).await;
    rx.wait_for(3).await;
    let list = run.settled().await;
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(list[0]["attempts"], 3);
    assert_eq!(list[0]["last_error"], "HTTP 503 Service Unavailable: busy");
    assert_eq!(rx.received().len(), 3);
    let metrics = run.state.metrics().encode();
    assert!(
        metrics.contains("mhd_notifications_total{channel=\"ops\",outcome=\"retry\"} 2"),
        "{metrics}"
    );
    run.stop();
}

#[tokio::test]
async fn a_receiver_that_never_answers_fails_after_every_attempt_with_its_error_shown() {
    let dir = tempfile::tempdir().unwrap();
    let rx = Receiver::start(vec![], Reply::status(200).delay(Duration::from_secs(30))).await;
    // A port nobody listens on: connections are refused.
    let closed = format!("127.0.0.1:{}", common::free_port());
    let run = run(
        &dir,
        vec![
            webhook("slow", rx.url("/hook")),
            webhook("gone", format!("http://{closed}/hook")),
        ],
    )
    .await;
    let started = Instant::now();
    assert_eq!(
        run.enqueue(&fired(alert(1, Severity::Warning, None))).await,
        2
    );
    let list = run.settled().await;
    assert!(started.elapsed() < Duration::from_secs(8));
    let by = |name: &str| list.iter().find(|d| d["channel"] == name).unwrap().clone();
    let slow = by("slow");
    assert_eq!(slow["state"], "failed");
    assert_eq!(slow["attempts"], 3);
    assert_eq!(slow["last_error"], "no answer within 500 ms");
    assert_eq!(rx.received().len(), 3);
    let gone = by("gone");
    assert_eq!(gone["state"], "failed");
    assert_eq!(gone["attempts"], 3);
    let error = gone["last_error"].as_str().unwrap();
    assert!(error.starts_with("cannot connect"), "{error}");
    let metrics = run.state.metrics().encode();
    assert!(
        metrics.contains("mhd_notifications_total{channel=\"gone\",outcome=\"failed\"} 1"),
        "{metrics}"
    );
    run.stop();
}

#[tokio::test]
async fn a_client_error_fails_at_once_and_a_429_waits_for_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let refusing = Receiver::start(vec![], Reply::status(404).body("no_service")).await;
    let limited = Receiver::start(
        vec![Reply::status(429).header("retry-after", "1")],
        Reply::status(200),
    )
    .await;
    let run = run(
        &dir,
        vec![
            webhook("refusing", refusing.url("/hook")),
            webhook("limited", limited.url("/hook")),
        ],
    )
    .await;
    run.enqueue(&fired(alert(1, Severity::Warning, None))).await;
    let list = run.settled().await;
    let refused = list.iter().find(|d| d["channel"] == "refusing").unwrap();
    assert_eq!(refused["state"], "failed");
    assert_eq!(refused["attempts"], 1);
    assert_eq!(refused["last_error"], "HTTP 404 Not Found: no_service");
    let times = limited.wait_for(2).await;
    assert_eq!(times.len(), 2);
    let t = limited.times();
    assert!(
        t[1] - t[0] >= Duration::from_millis(950),
        "retried after {:?} despite Retry-After: 1",
        t[1] - t[0]
    );
    run.stop();
}

#[tokio::test]
async fn a_pending_delivery_survives_a_restart_and_is_delivered_once() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver holds the first request without answering while the server stops.
    let rx = Receiver::start(vec![], Reply::status(200).delay(Duration::from_secs(60))).await;
    let options = NotifierOptions {
        timeout: Duration::from_secs(30),
        ..fast()
    };
    let first = run_with(
        common::store_in(dir.path()).await,
        plan(vec![webhook("ops", rx.url("/hook"))], None),
        options.clone(),
    )
    .await
    .unwrap();
    first
        .enqueue(&fired(alert(11, Severity::Warning, None)))
        .await;
    rx.wait_for(1).await;
    let store = first.state.store().clone();
    first.stop();
    store.close().await;
    assert_eq!(rx.answered(), 0);

    rx.set_otherwise(Reply::status(200));
    let second = run_with(
        common::store_in(dir.path()).await,
        plan(vec![webhook("ops", rx.url("/hook"))], None),
        options,
    )
    .await
    .unwrap();
    let list = second.settled().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(list[0]["alert_id"], 11);
    assert_eq!(rx.answered(), 1, "delivered once");
    // Handing the same event over again queues nothing.
    assert_eq!(
        second
            .enqueue(&fired(alert(11, Severity::Warning, None)))
            .await,
        0
    );
    second.stop();
}

// ---------------------------------------------------------------------------------------------
// Routing.

#[tokio::test]
async fn channels_are_chosen_by_severity_and_component() {
    let dir = tempfile::tempdir().unwrap();
    let everyone = Receiver::accepting().await;
    let storage = Receiver::accepting().await;
    let mut storage_critical = webhook("storage-critical", storage.url("/hook"));
    storage_critical.min_severity = Severity::Critical;
    storage_critical.components = vec!["storage".into()];
    let run = run(
        &dir,
        vec![webhook("everyone", everyone.url("/hook")), storage_critical],
    )
    .await;
    assert_eq!(
        run.enqueue(&fired(alert(1, Severity::Info, Some("storage"))))
            .await,
        0
    );
    assert_eq!(
        run.enqueue(&fired(alert(2, Severity::Warning, Some("storage"))))
            .await,
        1
    );
    assert_eq!(
        run.enqueue(&fired(alert(3, Severity::Critical, Some("api"))))
            .await,
        1
    );
    assert_eq!(
        run.enqueue(&fired(alert(4, Severity::Critical, Some("storage"))))
            .await,
        2
    );
    assert_eq!(
        run.enqueue(&fired(alert(5, Severity::Critical, None)))
            .await,
        1
    );
    // Not told: pending, cancelled, or notify = false.
    let mut quiet = fired(alert(6, Severity::Critical, Some("storage")));
    quiet.notify = false;
    assert_eq!(run.enqueue(&quiet).await, 0);
    let mut pending = fired(alert(7, Severity::Critical, Some("storage")));
    pending.event = AlertEvent::Pending;
    assert_eq!(run.enqueue(&pending).await, 0);
    run.settled().await;
    let ids = |rx: &Receiver| -> Vec<i64> {
        let mut ids: Vec<i64> = rx
            .received()
            .iter()
            .map(|r| r.json()["alert"]["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    };
    assert_eq!(ids(&everyone), [2, 3, 4, 5]);
    assert_eq!(ids(&storage), [4]);
    run.stop();
}

#[tokio::test]
async fn resolutions_go_only_to_channels_that_want_them_and_heard_the_firing() {
    let dir = tempfile::tempdir().unwrap();
    let both = Receiver::accepting().await;
    let firing_only = Receiver::accepting().await;
    let mut quiet = webhook("firing-only", firing_only.url("/hook"));
    quiet.send_resolved = false;
    let run = run(&dir, vec![webhook("both", both.url("/hook")), quiet]).await;
    let a = alert(9, Severity::Warning, None);
    assert_eq!(run.enqueue(&fired(a.clone())).await, 2);
    assert_eq!(run.enqueue(&resolved(a)).await, 1);
    // A resolution whose firing nobody heard (before this server's time) goes nowhere.
    assert_eq!(
        run.enqueue(&resolved(alert(10, Severity::Warning, None)))
            .await,
        0
    );
    run.settled().await;
    let events = |rx: &Receiver| -> Vec<String> {
        rx.received()
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(events(&both), ["fired", "resolved"]);
    assert_eq!(events(&firing_only), ["fired"]);
    run.stop();
}

// ---------------------------------------------------------------------------------------------
// Secrets.

#[test]
fn a_secret_never_shows_in_logs_errors_or_the_api() {
    /// Captured log output.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Capture::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // One thread, so that every task logs to the subscriber above.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    const SECRET: &str = "Sup3rS3cretT0ken-do-not-print";
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // The receiver refuses the token and echoes it back in its answer.
        let rx = Receiver::start(
            vec![],
            Reply::status(401).body(&format!("invalid token Bearer {SECRET}")),
        )
        .await;
        let token = secret_file(&dir, "token", SECRET);
        let pd_key = secret_file(&dir, "pd", SECRET);
        let run = run(
            &dir,
            vec![
                channel(
                    "ops",
                    ChannelKind::Webhook {
                        url: rx.url("/hook"),
                        token: Some(token),
                    },
                ),
                channel(
                    "pager",
                    ChannelKind::Pagerduty {
                        url: rx.url("/v2/enqueue"),
                        routing_key: pd_key,
                    },
                ),
            ],
        )
        .await;
        run.enqueue(&fired(alert(1, Severity::Critical, None)))
            .await;
        let list = run.settled().await;
        assert_eq!(list.len(), 2);
        for d in &list {
            assert_eq!(d["state"], "failed");
            assert_eq!(
                d["last_error"], "HTTP 401 Unauthorized: invalid token Bearer [redacted]",
                "{d}"
            );
        }
        let (text, _) = run.deliveries("?limit=10").await;
        assert!(!text.contains(SECRET), "{text}");
        assert!(!format!("{:?}", run.notifier()).contains(SECRET));
        assert!(!run.state.metrics().encode().contains(SECRET));
        // The receiver did get it: the secret is used, only never shown.
        let got = rx.received();
        let hook = got.iter().find(|r| r.path == "/hook").unwrap();
        assert_eq!(
            hook.header("authorization"),
            Some(format!("Bearer {SECRET}"))
        );
        let pager = got.iter().find(|r| r.path == "/v2/enqueue").unwrap();
        assert_eq!(pager.json()["routing_key"], SECRET);
        run.stop();
    });
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("notification failed"), "{logs}");
    assert!(
        logs.contains("channel=\"ops\"") || logs.contains("channel=ops"),
        "{logs}"
    );
    assert!(!logs.contains(SECRET), "the secret is in the logs:\n{logs}");
}

#[tokio::test]
async fn an_unreadable_secret_stops_the_start_naming_the_channel_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-file");
    let ch = channel(
        "pager",
        ChannelKind::Pagerduty {
            url: String::new(),
            routing_key: Secret::File(missing.display().to_string()),
        },
    );
    let state = common::live_state(
        common::store_in(dir.path()).await,
        Some(plan(vec![ch], None)),
    );
    let e = mhd_server::background::start_notifications(&state, fast())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        format!(
            "channel \"pager\": routing_key_file {}: No such file or directory",
            missing.display()
        )
    );
    assert!(state.notifier().is_none());

    let ch = channel(
        "mail",
        ChannelKind::Email {
            server: "mail.example.org:25".into(),
            tls: "none".into(),
            username: None,
            password: None,
            from: "mhd@example.org".into(),
            to: vec!["ops@example.org".into()],
        },
    );
    let state = common::live_state(
        common::store_in(dir.path()).await,
        Some(plan(vec![ch], None)),
    );
    let e = mhd_server::background::start_notifications(&state, fast())
        .await
        .unwrap_err();
    assert!(
        e.starts_with("channel \"mail\": tls \"none\" sends mail and passwords in plain text"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// E-mail through a real SMTP dialogue.

/// What the SMTP receiver saw.
#[derive(Debug, Default, Clone)]
struct Mail {
    starttls: bool,
    auth: Option<(String, String)>,
    from: String,
    to: Vec<String>,
    data: String,
}

/// A loopback SMTP server: EHLO, STARTTLS (when it has a certificate), AUTH PLAIN and LOGIN,
/// MAIL, RCPT, DATA, QUIT.
struct SmtpReceiver {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpReceiver {
    async fn start(tls: Option<Arc<rustls::ServerConfig>>) -> SmtpReceiver {
        let listener = common::listener().await;
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let shared = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let mails = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let mut mail = Mail::default();
                    let mut socket = BufReader::new(socket);
                    let _ = socket
                        .get_mut()
                        .write_all(b"220 localhost ESMTP test\r\n")
                        .await;
                    let upgraded = smtp_dialogue(&mut socket, &mut mail, tls.is_some()).await;
                    if upgraded {
                        let Some(config) = tls else { return };
                        let acceptor = tokio_rustls::TlsAcceptor::from(config);
                        let Ok(stream) = acceptor.accept(socket.into_inner()).await else {
                            return;
                        };
                        mail.starttls = true;
                        let mut stream = BufReader::new(stream);
                        smtp_dialogue(&mut stream, &mut mail, false).await;
                    }
                    if !mail.data.is_empty() {
                        mails.lock().unwrap().push(mail);
                    }
                });
            }
        });
        SmtpReceiver { port, mails, task }
    }

    async fn wait_for(&self, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.mails.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} mails, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn decode(b64: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap()
}

/// Runs the dialogue until QUIT or STARTTLS; `true` when the client asked for STARTTLS.
async fn smtp_dialogue<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut BufReader<S>,
    mail: &mut Mail,
    offer_starttls: bool,
) -> bool {
    let mut line = String::new();
    loop {
        line.clear();
        if io.read_line(&mut line).await.unwrap_or(0) == 0 {
            return false;
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO") {
            let mut r = String::from("250-localhost\r\n250-AUTH PLAIN LOGIN\r\n");
            if offer_starttls {
                r.push_str("250-STARTTLS\r\n");
            }
            r.push_str("250 8BITMIME\r\n");
            r
        } else if upper == "STARTTLS" {
            let _ = io.get_mut().write_all(b"220 go ahead\r\n").await;
            return true;
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if initial.trim().is_empty() {
                let _ = io.get_mut().write_all(b"334 \r\n").await;
                let mut next = String::new();
                io.read_line(&mut next).await.unwrap();
                next
            } else {
                command["AUTH PLAIN ".len()..].to_owned()
            };
            let plain = decode(&encoded);
            let parts: Vec<&str> = plain.split('\0').collect();
            mail.auth = Some((parts[1].to_owned(), parts[2].to_owned()));
            "235 2.7.0 accepted\r\n".into()
        } else if upper.starts_with("AUTH LOGIN") {
            let _ = io.get_mut().write_all(b"334 VXNlcm5hbWU6\r\n").await;
            let mut user = String::new();
            io.read_line(&mut user).await.unwrap();
            let _ = io.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n").await;
            let mut password = String::new();
            io.read_line(&mut password).await.unwrap();
            mail.auth = Some((decode(&user), decode(&password)));
            "235 2.7.0 accepted\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = command[10..].trim().to_owned();
            "250 ok\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(command[8..].trim().to_owned());
            "250 ok\r\n".into()
        } else if upper == "DATA" {
            let _ = io.get_mut().write_all(b"354 end with .\r\n").await;
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if io.read_line(&mut l).await.unwrap_or(0) == 0 || l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            mail.data = data;
            "250 queued\r\n".into()
        } else if upper == "QUIT" {
            let _ = io.get_mut().write_all(b"221 bye\r\n").await;
            return false;
        } else {
            "250 ok\r\n".into()
        };
        if io.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return false;
        }
    }
}

fn email(server: String, tls: &str, password: Option<Secret>) -> Channel {
    channel(
        "mail",
        ChannelKind::Email {
            server,
            tls: tls.into(),
            username: password.as_ref().map(|_| "mhd-bot".to_owned()),
            password,
            from: "MHD <mhd@example.org>".into(),
            to: vec!["ops@example.org".into(), "lead@example.org".into()],
        },
    )
}

/// A server configuration with a new self-signed certificate for `localhost`, and the
/// certificate in PEM.
fn self_signed() -> (Arc<rustls::ServerConfig>, String) {
    mhd_server::http::install_crypto_provider();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    (Arc::new(config), certified.cert.pem())
}

#[tokio::test]
async fn email_goes_over_starttls_with_authentication() {
    let (config, cert_pem) = self_signed();
    let smtp = SmtpReceiver::start(Some(config)).await;
    let dir = tempfile::tempdir().unwrap();
    let password = secret_file(&dir, "smtp", "smtp-pass-5678");
    let options = NotifierOptions {
        smtp_root_certificates: vec![cert_pem],
        ..fast()
    };
    let run = run_with(
        common::store_in(dir.path()).await,
        plan(
            vec![email(
                format!("localhost:{}", smtp.port),
                "starttls",
                Some(password),
            )],
            None,
        ),
        options,
    )
    .await
    .unwrap();
    let a = alert(21, Severity::Critical, Some("storage"));
    run.enqueue(&fired(a.clone())).await;
    run.enqueue(&resolved(a)).await;
    let mails = smtp.wait_for(2).await;
    let m = &mails[0];
    assert!(m.starttls, "the mail went over STARTTLS");
    assert_eq!(
        m.auth,
        Some(("mhd-bot".to_owned(), "smtp-pass-5678".to_owned()))
    );
    assert_eq!(m.from, "<mhd@example.org>");
    assert_eq!(m.to, ["<ops@example.org>", "<lead@example.org>"]);
    assert!(
        m.data
            .contains("Subject: [MHD] CRITICAL: Error rate above 5 % on storage\r\n"),
        "{}",
        m.data
    );
    assert!(m.data.contains("Content-Type: text/plain"), "{}", m.data);
    assert!(m.data.contains("error_rate 0.12 > 0.05"), "{}", m.data);
    assert!(
        m.data
            .contains("Runbook:   https://wiki.example/runbooks/error-rate"),
        "{}",
        m.data
    );
    assert!(
        m.data
            .contains("Dashboard: http://mhd.test:8000/alerts#alert-21\r\n"),
        "{}",
        m.data
    );
    assert!(
        mails[1]
            .data
            .contains("Subject: [MHD] RESOLVED: Error rate above 5 % on storage\r\n"),
        "{}",
        mails[1].data
    );
    let list = run.settled().await;
    assert!(list.iter().all(|d| d["state"] == "sent"), "{list:?}");
    run.stop();
}

#[tokio::test]
async fn email_needs_starttls_and_a_trusted_certificate() {
    // A server that does not offer STARTTLS: nothing is sent in plain text.
    let plain_only = SmtpReceiver::start(None).await;
    // A server whose certificate nobody trusts.
    let (config, _) = self_signed();
    let untrusted = SmtpReceiver::start(Some(config)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut other = email(format!("localhost:{}", untrusted.port), "starttls", None);
    other.name = "mail-untrusted".into();
    let run = run(
        &dir,
        vec![
            email(format!("localhost:{}", plain_only.port), "starttls", None),
            other,
        ],
    )
    .await;
    run.enqueue(&fired(alert(1, Severity::Warning, None))).await;
    let list = run.settled().await;
    assert_eq!(list.len(), 2);
    for d in &list {
        assert_eq!(d["state"], "failed", "{d}");
        assert!(
            d["last_error"].as_str().is_some_and(|e| !e.is_empty()),
            "{d}"
        );
    }
    assert!(plain_only.mails.lock().unwrap().is_empty());
    assert!(untrusted.mails.lock().unwrap().is_empty());
    run.stop();
}

#[tokio::test]
async fn email_in_plain_text_is_allowed_on_loopback() {
    let smtp = SmtpReceiver::start(None).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run(
        &dir,
        vec![email(format!("127.0.0.1:{}", smtp.port), "none", None)],
    )
    .await;
    run.enqueue(&fired(alert(2, Severity::Error, None))).await;
    let mails = smtp.wait_for(1).await;
    assert!(!mails[0].starttls);
    assert_eq!(mails[0].auth, None);
    assert!(
        mails[0]
            .data
            .contains("Subject: [MHD] ERROR: Error rate above 5 % on the migration\r\n"),
        "{}",
        mails[0].data
    );
    run.stop();
}

// ---------------------------------------------------------------------------------------------
// The chat command endpoint.

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

async fn chat(
    router: &Router,
    body: &str,
    timestamp: i64,
    signature: Option<String>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/chat/command")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", timestamp.to_string());
    if let Some(s) = signature {
        request = request.header("x-slack-signature", s);
    }
    let answer = http::call(router, request.body(Body::from(body.to_owned())).unwrap()).await;
    let json = serde_json::from_slice(&answer.body).unwrap();
    conforms(
        "POST",
        "/api/v1/chat/command",
        answer.status.as_u16(),
        &json,
    );
    (answer.status, json)
}

fn form(text: &str) -> String {
    format!(
        "token=abc&team_id=T1&command=%2Fmhd&text={text}&user_name=ada&response_url=https%3A%2F%2Fhooks.example%2Fx"
    )
}

#[tokio::test]
async fn the_chat_command_answers_status_and_alerts_to_signed_requests_only() {
    let dir = tempfile::tempdir().unwrap();
    let secret = secret_file(&dir, "signing", SIGNING_SECRET);
    let run = run_with(
        common::store_in(dir.path()).await,
        plan(vec![], Some(secret)),
        fast(),
    )
    .await
    .unwrap();
    let mut firing = alert(31, Severity::Critical, Some("storage"));
    firing.title = "Rows <lost> & found".into();
    run.state
        .store()
        .save_transitions(&[fired(firing)], OffsetDateTime::now_utc())
        .await
        .unwrap();
    let router = run.router();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let sign =
        |body: &str, ts: i64| Some(notify::chat::signature(SIGNING_SECRET, ts, body.as_bytes()));

    let body = form("status");
    let (status, answer) = chat(&router, &body, now, sign(&body, now)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("week 7 of 21"), "{text}");
    assert!(text.contains("Health: "), "{text}");
    assert!(text.contains("Progress: "), "{text}");
    assert!(text.contains("ETA: "), "{text}");

    let body = form("alerts");
    let (status, answer) = chat(&router, &body, now, sign(&body, now)).await;
    assert_eq!(status, StatusCode::OK);
    let text = answer["text"].as_str().unwrap();
    assert!(text.starts_with("1 alert firing:"), "{text}");
    assert!(
        text.contains("• *CRITICAL* Rows &lt;lost&gt; &amp; found (storage)"),
        "{text}"
    );

    let body = form("what");
    let (_, answer) = chat(&router, &body, now, sign(&body, now)).await;
    assert!(
        answer["text"].as_str().unwrap().contains("`/mhd status`"),
        "{answer}"
    );

    // A wrong signature, a replay from 10 minutes ago, a missing signature: refused.
    let body = form("status");
    let (status, answer) = chat(&router, &body, now, sign("other", now)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], "unauthorized");
    let old = now - 600;
    let (status, _) = chat(&router, &body, old, sign(&body, old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = chat(&router, &body, now, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    run.stop();
}

#[tokio::test]
async fn the_chat_command_is_off_without_a_signing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(&dir, vec![]).await;
    let body = form("status");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let (status, answer) = chat(
        &run.router(),
        &body,
        now,
        Some(notify::chat::signature(
            SIGNING_SECRET,
            now,
            body.as_bytes(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    run.stop();
}

#[tokio::test]
async fn the_deliveries_list_refuses_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let run = run(&dir, vec![]).await;
    for query in ["?limit=0", "?state=lost", "?alert_id=x", "?colour=red"] {
        let answer = http::get(&run.router(), &format!("/api/v1/notifications{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
    }
    run.stop();
}

// ---------------------------------------------------------------------------------------------
// Scheduled reports through the outbox.

/// The attachment of a MIME message: its file name and its bytes (base64 decoded).
fn attachment(data: &str) -> (String, Vec<u8>) {
    let at = data
        .find("Content-Disposition: attachment;")
        .unwrap_or_else(|| panic!("no attachment in:\n{data}"));
    let rest = &data[at..];
    // `filename="…"`, or folded as RFC 2231's `filename*0="…"`.
    let quoted = &rest[rest.find("filename").unwrap()..];
    let quoted = &quoted[quoted.find('"').unwrap() + 1..];
    let name = quoted[..quoted.find('"').unwrap()].to_owned();
    let body_at = rest.find("\r\n\r\n").unwrap() + 4;
    let body = &rest[body_at..];
    let end = body.find("\r\n--").unwrap();
    let b64: String = body[..end].split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("the attachment is base64");
    (name, bytes)
}

#[tokio::test]
async fn a_scheduled_report_is_mailed_attached_and_linked_to_slack_and_webhooks() {
    use mhd_core::plan::{Every, ScheduledReport};
    let smtp = SmtpReceiver::start(None).await;
    let hook = Receiver::accepting().await;
    let slack = Receiver::start(vec![], Reply::status(200).body("ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let mut p = plan(
        vec![
            email(format!("127.0.0.1:{}", smtp.port), "none", None),
            webhook("hook", hook.url("/reports")),
            channel(
                "team-slack",
                ChannelKind::Slack {
                    url: SecretOrText::Text(slack.url("/services/T0/B0/X")),
                },
            ),
        ],
        None,
    );
    p.reports = vec![ScheduledReport {
        every: Every::parse("day 00:00").unwrap(),
        format: "pdf".into(),
        last_days: 7,
        channels: vec!["mail".into(), "hook".into(), "team-slack".into()],
    }];
    let run = run_with(common::store_in(dir.path()).await, p, fast())
        .await
        .expect("the notifier starts");
    let made = mhd_server::scheduled::run_due(&run.state)
        .await
        .expect("the due report");
    assert_eq!(made.len(), 1, "the latest due report, once");
    let id = made[0].id;
    // Made once: the next pass finds it stored.
    assert!(
        mhd_server::scheduled::run_due(&run.state)
            .await
            .unwrap()
            .is_empty()
    );
    let today = OffsetDateTime::now_utc().date();
    let file = format!("mhd-report-{}-{today}.pdf", today - time::Duration::days(6));

    // E-mail: the document attached.
    let mails = smtp.wait_for(1).await;
    let data = &mails[0].data;
    assert!(
        data.contains(&format!(
            "Subject: [MHD] Migration report, {} to {today}",
            today - time::Duration::days(6)
        )),
        "{data}"
    );
    let (name, attached) = attachment(data);
    assert_eq!(name, file);
    assert!(attached.starts_with(b"%PDF-"), "a PDF is attached");

    // Webhook and Slack: a link to GET /api/v1/reports/{id}.
    let link = format!("http://mhd.test:8000/api/v1/reports/{id}");
    let got = hook.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["event"], "report");
    assert_eq!(body["report"]["url"], link.as_str());
    assert_eq!(body["report"]["file_name"], file.as_str());
    let got = slack.wait_for(1).await;
    let text = got[0].json()["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains(&format!("<{link}|download the PDF>")),
        "{text}"
    );

    // The link downloads the same bytes as the attachment.
    let answer = http::get(&run.router(), &format!("/api/v1/reports/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers["content-type"], "application/pdf");
    assert_eq!(answer.body, attached, "the link and the attachment agree");
    // An unknown or bad id.
    for (path, status) in [
        (format!("/api/v1/reports/{}", id + 1), StatusCode::NOT_FOUND),
        ("/api/v1/reports/abc".to_owned(), StatusCode::BAD_REQUEST),
    ] {
        let answer = http::get(&run.router(), &path).await;
        assert_eq!(answer.status, status, "{path}");
    }
    let deliveries = run.settled().await;
    assert_eq!(
        deliveries.iter().filter(|d| d["state"] == "sent").count(),
        3,
        "{deliveries:?}"
    );
    run.stop();
}
