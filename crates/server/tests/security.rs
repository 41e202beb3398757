//! Who may do what, over a real server on 127.0.0.1 with real users, sessions and tokens in a
//! real store: every route of the API and every page answered for every role and for nobody
//! against the table below; signing in and out; CSRF; forged, expired and revoked tokens; a
//! replayed cookie; brute force; injection and traversal attempts; the single-user mode.

use mhd_store::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

use mhd_core::auth::Role;
use mhd_server::AppState;
use mhd_store::auth::PasswordHash;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "correct horse battery staple";

mod common;
use common::http::Remote;
use common::now;

const PLAN: &str = r#"
[migration]
name = "Security"
start = "2025-01-06"
weeks = 21

[datasets]
total = 10

[[components]]
id = "storage"
name = "Storage"
"#;

/// What each route needs, written out by hand: the table the server must follow.
/// `public` anyone; `read` viewer, operator, admin; `operate` operator, admin; `write` ingest,
/// admin; `admin` admin.
const TABLE: &[(&str, &str, &str)] = &[
    ("GET", "/health", "public"),
    ("GET", "/ready", "public"),
    ("GET", "/metrics", "read"),
    ("GET", "/api/v1/openapi.json", "public"),
    ("GET", "/api/v1/auth/whoami", "public"),
    ("GET", "/api/v1/health/summary", "read"),
    ("GET", "/api/v1/migration/timeline", "read"),
    ("GET", "/api/v1/components/health", "read"),
    ("GET", "/api/v1/metrics/live", "read"),
    ("GET", "/api/v1/alerts", "read"),
    ("GET", "/api/v1/alerts/{alert_id}", "read"),
    ("POST", "/api/v1/alerts/acknowledge/{alert_id}", "operate"),
    ("POST", "/api/v1/alerts/silences", "operate"),
    ("DELETE", "/api/v1/alerts/silences/{id}", "operate"),
    ("GET", "/api/v1/tests", "read"),
    ("GET", "/api/v1/datasets", "read"),
    ("GET", "/api/v1/performance", "read"),
    ("GET", "/api/v1/resources", "read"),
    ("GET", "/api/v1/resources/history", "read"),
    ("GET", "/api/v1/operations", "read"),
    ("POST", "/api/v1/operations", "write"),
    ("POST", "/api/v1/tests/junit", "write"),
    ("POST", "/api/v1/benchmarks", "write"),
    ("POST", "/api/v1/samples", "write"),
    ("GET", "/api/v1/samples", "read"),
    ("GET", "/api/v1/notifications", "read"),
    ("POST", "/api/v1/alerts/{alert_id}/jira", "operate"),
    ("POST", "/api/v1/chat/command", "public"),
    ("GET", "/api/v1/reports/generate", "read"),
    ("GET", "/api/v1/reports/{report_id}", "read"),
    ("GET", "/api/v1/audit", "admin"),
    ("POST", "/api/v1/secure/rollback", "admin"),
    ("GET", "/", "read"),
    ("GET", "/summary", "read"),
    ("GET", "/timeline", "read"),
    ("GET", "/components", "read"),
    ("GET", "/live", "read"),
    ("GET", "/tests", "read"),
    ("GET", "/performance", "read"),
    ("GET", "/resources", "read"),
    ("GET", "/datasets", "read"),
    ("GET", "/how", "read"),
    ("GET", "/alerts", "read"),
    ("POST", "/alerts/acknowledge/{alert_id}", "operate"),
    ("POST", "/alerts/{alert_id}/jira", "operate"),
    ("POST", "/alerts/silences", "operate"),
    ("POST", "/alerts/silences/{id}/remove", "operate"),
    ("GET", "/components/{component}/rollback", "admin"),
    ("POST", "/components/{component}/rollback", "admin"),
    ("GET", "/ws/dashboard", "read"),
    ("GET", "/signin", "public"),
    ("GET", "/sw.js", "public"),
    // Last: it ends the sessions the loop uses.
    ("POST", "/signout", "public"),
];

fn allowed(level: &str, role: Option<Role>) -> bool {
    match (level, role) {
        ("public", _) => true,
        (_, None) => false,
        ("read", Some(r)) => matches!(r, Role::Viewer | Role::Operator | Role::Admin),
        ("operate", Some(r)) => matches!(r, Role::Operator | Role::Admin),
        ("write", Some(r)) => matches!(r, Role::Ingest | Role::Admin),
        ("admin", Some(r)) => r == Role::Admin,
        (other, _) => panic!("unknown level {other}"),
    }
}

struct Server {
    _dir: TempDir,
    state: AppState,
    remote: Remote,
    store: mhd_store::Database,
    tokens: HashMap<Role, String>,
}

impl std::ops::Deref for Server {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        &self.remote
    }
}

/// A server whose store has users `viewer`, `operator` and `admin` (with [`PASSWORD`]) and a
/// live token per role, unless `with_users` is false.
async fn server(with_users: bool) -> Server {
    server_with(PLAN, with_users).await
}

/// [`PLAN`] with a rollback for the storage component (a program that succeeds).
fn plan_with_rollback() -> String {
    PLAN.replace(
        "name = \"Storage\"\n",
        "name = \"Storage\"\nrollback = { command = [\"/bin/echo\", \"rolled\", \"back\"], timeout = \"10s\" }\n",
    )
}

async fn server_with(plan: &str, with_users: bool) -> Server {
    server_set(plan, with_users, |_| {}).await
}

async fn server_set(plan: &str, with_users: bool, set: fn(&AppState)) -> Server {
    let (dir, store) = common::store().await;
    let mut tokens = HashMap::new();
    if with_users {
        let hash = PasswordHash::new(PASSWORD).expect("hash");
        for role in Role::USER_ROLES {
            store
                .add_user(role.as_str(), role, &hash, now())
                .await
                .expect("user");
        }
        for role in Role::TOKEN_ROLES {
            let t = store
                .create_token(&format!("t-{role}"), role, None, now())
                .await
                .expect("token");
            tokens.insert(role, t.secret.expose().to_owned());
        }
    }
    let state = common::state(store.clone(), plan);
    set(&state);
    let base = common::serve(state.clone()).await;
    Server {
        _dir: dir,
        state,
        remote: Remote::new(base, WAIT),
        store,
        tokens,
    }
}

/// A signed-in browser: its cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Server {
    async fn sign_in(&self, name: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/signin"))
            .form(&[("name", name), ("password", password), ("next", "/alerts")])
            .send()
            .await
            .expect("sign-in request")
    }

    async fn session(&self, name: &str) -> Session {
        let r = self.sign_in(name, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{name} signs in");
        let set = r
            .headers()
            .get("set-cookie")
            .expect("a cookie")
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set.split(';').next().unwrap().to_owned();
        let page = self.page_as("/", &cookie).await;
        let csrf = page
            .split("<meta name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("the page carries the session's CSRF token")
            .to_owned();
        Session { cookie, csrf }
    }

    /// The page at `path` as the session of `cookie` sees it.
    async fn page_as(&self, path: &str, cookie: &str) -> String {
        let page = self.get_cookie(path, cookie).await;
        page.text().await.expect("the page")
    }

    async fn get_cookie(&self, path: &str, cookie: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request")
    }

    async fn get_bearer(&self, path: &str, token: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// The audit log's entries of `action`, newest first, once the refusals gathered so far
    /// are written.
    async fn audit(&self, action: &str) -> Vec<mhd_store::audit::Entry> {
        self.state.security().refusals.flush(&self.state).await;
        self.store
            .audit_entries(&mhd_store::audit::AuditFilter {
                since: None,
                action: Some(action.to_owned()),
                limit: 0,
            })
            .await
            .expect("audit")
    }
}

/// How many refusals for `reason` the entries record: one each, or their `count` when they
/// gather the repeats of one.
fn refusals(entries: &[mhd_store::audit::Entry], reason: &str) -> u64 {
    entries
        .iter()
        .filter(|e| e.details["reason"] == reason)
        .map(|e| e.details["count"].as_u64().unwrap_or(1))
        .sum()
}

/// A request for `path` (with its parameters filled) that gets past input checks where it can.
fn request(s: &Server, method: &str, path: &str) -> reqwest::RequestBuilder {
    let path = path
        .replace("{alert_id}", "1")
        .replace("{report_id}", "1")
        .replace("{id}", "1")
        .replace("{component}", "storage");
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let r = s.http.request(m, s.url(&path));
    match (method, path.as_str()) {
        ("GET", "/ws/dashboard") => r
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("GET", "/api/v1/samples") => r.query(&[("metric", "cpu_percent")]),
        ("GET", "/api/v1/reports/generate") => {
            r.query(&[("start_date", "2025-03-01"), ("end_date", "2025-03-05")])
        }
        ("POST", "/api/v1/operations") => r.json(&json!([{
            "timestamp": "2025-03-05T11:00:00Z", "metric_type": "migration",
            "operation": "copy", "dataset_name": "a", "success": true }])),
        ("POST", "/api/v1/samples") => r.json(&json!([{
            "timestamp": "2025-03-05T11:00:00Z", "metric": "cpu_percent", "value": 1.0 }])),
        ("POST", "/api/v1/alerts/silences") => {
            r.json(&json!({ "component": "storage", "duration": "1h" }))
        }
        ("POST", "/api/v1/secure/rollback") => {
            r.json(&json!({ "component": "storage", "reason": "test" }))
        }
        ("POST", "/alerts/silences") => r.form(&[("component", "storage"), ("duration", "1h")]),
        ("POST", p) if p.starts_with("/api/") => r.json(&json!({})),
        ("POST", _) => r.form(&[("x", "1")]),
        _ => r,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_and_page_answers_every_role_as_the_table_says() {
    let s = server(true).await;
    // The table covers every route of the server, with the server's role for it (but the
    // sign-in form and the assets, which have tests of their own).
    for route in mhd_server::routes::TABLE {
        let (method, path) = (route.method.as_str(), route.path);
        if (method, path) == ("POST", "/signin") || path == "/assets/{file}" {
            continue;
        }
        assert!(
            TABLE
                .iter()
                .any(|(m, p, level)| *m == method && *p == path && *level == route.access.as_str()),
            "{method} {path} is missing from the table of this test, or with another role"
        );
    }
    let sessions = [
        (Role::Viewer, s.session("viewer").await),
        (Role::Operator, s.session("operator").await),
        (Role::Admin, s.session("admin").await),
    ];
    for &(method, path, level) in TABLE {
        let api = path.starts_with("/api/") || path.starts_with("/ws/") || path == "/metrics";
        // Nobody.
        let r = request(&s, method, path).send().await.unwrap();
        let status = r.status();
        if allowed(level, None) {
            assert!(
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                "{method} {path} without credentials: {status}"
            );
        } else if api {
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} without credentials"
            );
            assert!(r.headers().contains_key("www-authenticate"));
        } else {
            assert_eq!(
                status,
                StatusCode::SEE_OTHER,
                "{method} {path} without credentials"
            );
            let to = r.headers()["location"].to_str().unwrap();
            assert!(to.starts_with("/signin?next="), "{to}");
        }
        // Each token.
        for role in Role::TOKEN_ROLES {
            let r = request(&s, method, path)
                .bearer_auth(&s.tokens[&role])
                .send()
                .await
                .unwrap();
            check(method, path, level, role, "token", r).await;
        }
        // Each signed-in user (changes carry the CSRF token, as the pages' forms do).
        for (role, session) in &sessions {
            let r = request(&s, method, path)
                .header("cookie", &session.cookie)
                .header("x-csrf-token", &session.csrf)
                .send()
                .await
                .unwrap();
            check(method, path, level, *role, "session", r).await;
        }
    }
    // The refusals are in the audit log, with who and from where.
    let refused = s.audit("request.refused").await;
    assert!(refused.iter().any(|e| e.actor == "viewer"));
    assert!(refused.iter().any(|e| e.actor == "token:t-ingest"));
    assert!(refused.iter().any(|e| e.actor == "anonymous"));
    assert!(refused.iter().all(|e| {
        // (Refusals gathered into one entry name the address alone.)
        e.client
            .as_deref()
            .is_some_and(|c| c == "127.0.0.1" || c.starts_with("127.0.0.1:"))
    }));
}

async fn check(method: &str, path: &str, level: &str, role: Role, how: &str, r: reqwest::Response) {
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if allowed(level, Some(role)) {
        assert!(
            status != StatusCode::UNAUTHORIZED
                && !(status == StatusCode::FORBIDDEN && body.contains("your role")),
            "{method} {path} as {role} ({how}) is allowed, got {status}: {body}"
        );
        // (503: a route whose service, such as notifications, this test server does not run.)
        assert!(
            status != StatusCode::INTERNAL_SERVER_ERROR,
            "{method} {path} as {role} ({how}): {status}: {body}"
        );
    } else {
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} as {role} ({how}): {body}"
        );
        assert!(body.contains("your role"), "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_and_out_and_a_replayed_cookie() {
    let s = server(true).await;
    // Not signed in: a page sends the browser to sign in, and back afterwards.
    let r = s.http.get(s.url("/alerts?x=1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/signin?next=/alerts%3Fx%3D1");
    let page = s
        .http
        .get(s.url("/signin?next=/alerts"))
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"password\"") && html.contains("value=\"/alerts\""));

    // A wrong password, and an unknown name, say the same.
    for (name, pw) in [("operator", "wrong password!!"), ("nobody", PASSWORD)] {
        let r = s.sign_in(name, pw).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().get("set-cookie").is_none());
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("the name or the password is wrong")
        );
    }
    // The right one: a strict, HttpOnly cookie (not Secure over plain HTTP), then `next`.
    let r = s.sign_in("operator", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/alerts");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["mhd_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "{set}");
    let cookie = set.split(';').next().unwrap().to_owned();
    let page = s.get_cookie("/alerts", &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Signed in as <strong>operator</strong> (operator)"),
        "{html}"
    );
    assert!(html.contains("name=\"csrf_token\""));
    let me: Value = s
        .get_cookie("/api/v1/auth/whoami", &cookie)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"kind": "user", "name": "operator", "role": "operator", "sign_in_required": true})
    );
    let csrf = html
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();

    // Sign-out needs the CSRF token too.
    let r = s
        .http
        .post(s.url("/signout"))
        .header("cookie", &cookie)
        .form(&[("x", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = s
        .http
        .post(s.url("/signout"))
        .header("cookie", &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie, replayed, proves nothing.
    let r = s.get_cookie("/alerts", &cookie).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = s.get_cookie("/api/v1/alerts", &cookie).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // `next` never leaves the site.
    let r = s
        .http
        .post(s.url("/signin"))
        .form(&[
            ("name", "viewer"),
            ("password", PASSWORD),
            ("next", "//evil.example/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");

    let signins = s.audit("signin").await;
    assert!(
        signins
            .iter()
            .any(|e| e.actor == "operator" && e.outcome == mhd_store::audit::Outcome::Ok)
    );
    assert!(
        signins
            .iter()
            .any(|e| e.actor == "nobody" && e.outcome == mhd_store::audit::Outcome::Refused)
    );
    assert_eq!(s.audit("signout").await.len(), 1);
    // No password in the log.
    for e in &signins {
        assert!(!e.details.to_string().contains(PASSWORD));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_need_the_csrf_token_and_this_site() {
    let s = server(true).await;
    let op = s.session("operator").await;
    let form = |extra: Option<&str>| {
        let mut f = vec![
            ("component", "storage".to_owned()),
            ("duration", "1h".to_owned()),
        ];
        if let Some(t) = extra {
            f.push(("csrf_token", t.to_owned()));
        }
        s.http
            .post(s.url("/alerts/silences"))
            .header("cookie", &op.cookie)
            .form(&f)
    };
    // A form without the token, or with another one: refused, nothing changes.
    for r in [form(None), form(Some("forged"))] {
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(r.text().await.unwrap().contains("CSRF token"));
    }
    let listed: Value = s
        .get_bearer("/api/v1/alerts", &s.tokens[&Role::Viewer])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["silences"], json!([]));
    // The page's own form, posted cross-site with the right token: refused all the same.
    let r = form(Some(&op.csrf))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // From the page, with the token: done.
    let r = form(Some(&op.csrf)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The script's JSON change with the cookie needs the header.
    let api = |csrf: Option<&str>| {
        let mut r = s
            .http
            .post(s.url("/api/v1/alerts/silences"))
            .header("cookie", &op.cookie)
            .json(&json!({ "component": "storage", "duration": "2h" }));
        if let Some(t) = csrf {
            r = r.header("x-csrf-token", t);
        }
        r
    };
    assert_eq!(
        api(None).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = api(Some(&op.csrf)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let silence: Value = r.json().await.unwrap();
    assert_eq!(
        silence["by"], "operator",
        "the signed-in name, not the form's"
    );
    // A token needs no CSRF token: no browser sends it by itself.
    let r = s
        .http
        .post(s.url("/api/v1/alerts/silences"))
        .bearer_auth(&s.tokens[&Role::Operator])
        .json(&json!({ "component": "storage", "duration": "2h", "by": "someone else" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["by"], "token:t-operator");
    let refused = s.audit("request.refused").await;
    assert!(refused.iter().any(|e| e.details["reason"] == "csrf"));
    assert!(refused.iter().any(|e| e.details["reason"] == "cross_site"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_expired_and_revoked_tokens_are_refused() {
    let s = server(true).await;
    let expired = s
        .store
        .create_token(
            "old",
            Role::Admin,
            Some(now() - time::Duration::hours(1)),
            now() - time::Duration::days(2),
        )
        .await
        .unwrap();
    let revoked = s
        .store
        .create_token("gone", Role::Admin, None, now())
        .await
        .unwrap();
    let ok = s
        .http
        .get(s.url("/api/v1/audit"))
        .bearer_auth(revoked.secret.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.status(),
        StatusCode::OK,
        "the token works before it is revoked"
    );
    s.store.revoke_token("gone", now()).await.unwrap();
    let admin = s.tokens[&Role::Admin].clone();
    let mut forged = admin.clone();
    forged.pop();
    forged.push(if admin.ends_with('A') { 'B' } else { 'A' });
    for (what, header) in [
        ("forged", format!("Bearer {forged}")),
        ("expired", format!("Bearer {}", expired.secret.expose())),
        ("revoked", format!("Bearer {}", revoked.secret.expose())),
        ("not a token", "Bearer ".to_owned() + &"x".repeat(300)),
        ("basic", "Basic YWRtaW46cGFzc3dvcmQ=".to_owned()),
    ] {
        let r = s
            .http
            .get(s.url("/api/v1/health/summary"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{what}");
    }
    let refused = s.audit("request.refused").await;
    assert_eq!(refusals(&refused, "bad_token"), 3, "{refused:?}");
    for e in &refused {
        let text = e.details.to_string();
        assert!(!text.contains(&forged) && !text.contains(expired.secret.expose()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brute_force_sign_in_is_held_back() {
    let s = server(true).await;
    for i in 0..mhd_server::signin::USER_FAILURES {
        let r = s.sign_in("admin", &format!("guess number {i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // Locked: even the right password is refused until the window has passed.
    let r = s.sign_in("admin", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 900, "{wait}");
    assert!(r.headers().get("set-cookie").is_none());
    // Another user is not locked by it (the address has not used its own allowance yet).
    assert_eq!(
        s.sign_in("viewer", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    // Many names from one address: the address is locked out.
    for i in 0..mhd_server::signin::ADDRESS_FAILURES {
        let r = s.sign_in(&format!("name{i}"), "wrong password!").await;
        assert!(matches!(
            r.status(),
            StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS
        ));
    }
    assert_eq!(
        s.sign_in("operator", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let limited = s
        .audit("signin")
        .await
        .into_iter()
        .filter(|e| e.details["reason"] == "rate_limited")
        .count();
    assert!(limited >= 2, "{limited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_user_nobody_signs_in_and_the_page_says_so() {
    let s = server(false).await;
    let page = s.http.get(s.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Single-user mode: nobody needs to sign in"),
        "{html}"
    );
    assert!(!html.contains("csrf-token"));
    let me: Value = s
        .http
        .get(s.url("/api/v1/auth/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me,
        json!({"kind": "local", "name": "local", "role": "admin", "sign_in_required": false})
    );
    let r = s.http.get(s.url("/signin")).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("Nobody needs to sign in"));
    // A token is still checked when one is sent.
    let r = s.get_bearer("/api/v1/health/summary", "mhd_forged").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A change from another site is refused here too.
    let r = s
        .http
        .post(s.url("/alerts/silences"))
        .header("origin", "https://evil.example")
        .form(&[("component", "storage"), ("duration", "1h")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The first user closes it within a second.
    let hash = PasswordHash::new(PASSWORD).unwrap();
    s.store
        .add_user("first", Role::Admin, &hash, now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = s
        .http
        .get(s.url("/api/v1/health/summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injection_traversal_and_oversized_headers() {
    let s = server(true).await;
    let admin = s.tokens[&Role::Admin].clone();
    let sql = "' OR '1'='1'; DROP TABLE users; --";
    for path in [
        "/api/v1/alerts",
        "/api/v1/operations",
        "/api/v1/audit",
        "/api/v1/notifications",
    ] {
        for param in [
            "component",
            "dataset",
            "action",
            "state",
            "type",
            "since",
            "limit",
            "channel",
        ] {
            let r = s
                .http
                .get(s.url(path))
                .query(&[(param, sql)])
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap();
            assert!(
                r.status() == StatusCode::OK || r.status() == StatusCode::BAD_REQUEST,
                "{path}?{param}=…: {}",
                r.status()
            );
        }
    }
    // A name made to break a query signs nobody in, and the users are all still there.
    assert_eq!(s.sign_in(sql, sql).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(s.store.users().await.unwrap().len(), 3);
    // Path traversal in the one file-name parameter of the server, the assets.
    for path in [
        "/assets/..%2f..%2fCargo.toml",
        "/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/assets/....//Cargo.toml",
        "/assets/live.js%00.css",
    ] {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Headers over the limit: 431, whoever asks.
    let r = s
        .http
        .get(s.url("/health"))
        .header("x-padding", "p".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // A hostile user name is shown as text on the page.
    let hash = PasswordHash::new(PASSWORD).unwrap();
    assert!(
        s.store
            .add_user("<b>x</b>", Role::Viewer, &hash, now())
            .await
            .is_err(),
        "names are restricted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_rolls_back_a_component_after_confirming() {
    let plan = plan_with_rollback();
    let s = server_with(&plan, true).await;
    let call = |token: &str, body: Value| {
        s.http
            .post(s.url("/api/v1/secure/rollback"))
            .bearer_auth(token)
            .json(&body)
    };
    let admin = s.tokens[&Role::Admin].clone();
    // An operator may not; nor may bad input pass.
    let r = call(
        &s.tokens[&Role::Operator],
        json!({"component": "storage", "reason": "x"}),
    );
    assert_eq!(r.send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = call(&admin, json!({"component": "nope", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("\\\"nope\\\" is not a component")
    );
    let r = call(&admin, json!({"component": "storage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The admin's: the program ran with its fixed arguments, and the history has it.
    let r = call(
        &admin,
        json!({"component": "storage", "reason": "bad data; $(rm -rf /)"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["outcome"]["ok"], true);
    assert_eq!(body["outcome"]["stdout"], "rolled back\n");
    let doc = mhd_server::routes::openapi_document();
    let rollback = "/api/v1/secure/rollback";
    if let Some(why) = common::schema::answer_departure(&doc, "POST", rollback, 200, &body) {
        panic!("{why}\n{body}");
    }
    let ops: Value = s
        .get_bearer("/api/v1/operations?type=rollback", &admin)
        .await
        .json()
        .await
        .unwrap();
    let op = &ops
        .as_array()
        .or_else(|| ops["operations"].as_array())
        .unwrap()[0];
    assert_eq!(op["component"], "storage");
    assert_eq!(op["metadata"]["requested_by"], "token:t-admin");
    let audit = s.audit("rollback").await;
    assert_eq!(audit.len(), 3, "the refused ones too: {audit:?}");
    assert_eq!(audit[0].outcome, mhd_store::audit::Outcome::Ok);
    // On the page: admins see the link and confirm; a viewer sees neither.
    let admin_s = s.session("admin").await;
    let viewer_s = s.session("viewer").await;
    let page = |c: &str| s.http.get(s.url("/components")).header("cookie", c).send();
    let html = page(&admin_s.cookie).await.unwrap().text().await.unwrap();
    assert!(
        html.contains("href=\"/components/storage/rollback\""),
        "{html}"
    );
    let html = page(&viewer_s.cookie).await.unwrap().text().await.unwrap();
    assert!(!html.contains("/rollback"));
    let confirm = s
        .page_as("/components/storage/rollback", &admin_s.cookie)
        .await;
    assert!(
        confirm.contains("runs /bin/echo rolled back") && confirm.contains("Roll back Storage now")
    );
    assert!(confirm.contains(&format!("name=\"csrf_token\" value=\"{}\"", admin_s.csrf)));
    let done = s
        .http
        .post(s.url("/components/storage/rollback"))
        .header("cookie", &admin_s.cookie)
        .form(&[
            ("reason", "from the page"),
            ("csrf_token", admin_s.csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("succeeded"));
    let audit = s.audit("rollback").await;
    assert_eq!(audit[0].actor, "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_its_headers_count_and_otherwise_they_do_not() {
    for trusted in [false, true] {
        let s = if trusted {
            server_set(PLAN, true, |st| st.security().set_trust_proxy(true)).await
        } else {
            server(true).await
        };
        let r = s
            .http
            .post(s.url("/signin"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .form(&[("name", "viewer"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert_eq!(cookie.contains("; Secure"), trusted, "{cookie}");
        let entry = &s.audit("signin").await[0];
        let client = entry.client.clone().unwrap();
        // The proxy appends the address it saw last; only that one is believed.
        assert_eq!(client.starts_with("198.51.100.7:"), trusted, "{client}");
        assert_eq!(client.starts_with("127.0.0.1:"), !trusted, "{client}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_only_the_actions_it_may_take() {
    let s = server(true).await;
    let page = |cookie: String| {
        let s = &s;
        async move { s.page_as("/alerts", &cookie).await }
    };
    let viewer = page(s.session("viewer").await.cookie).await;
    assert!(viewer.contains("Signed in as <strong>viewer</strong> (viewer)"));
    assert!(
        !viewer.contains("Add a silence"),
        "a viewer may not silence"
    );
    assert!(!viewer.contains("<!--mhd:"), "every marker is filled in");
    let operator = page(s.session("operator").await.cookie).await;
    assert!(operator.contains("Add a silence"));
    assert!(
        !operator.contains("name=\"by\""),
        "a signed-in user acts under their own name"
    );
    let token = s
        .get_bearer("/alerts", &s.tokens[&Role::Operator])
        .await
        .text()
        .await
        .unwrap();
    assert!(token.contains("Token <strong>t-operator</strong> (operator)"));
}

/// Opens the dashboard's WebSocket with `header: value` and reads its first message.
async fn open_ws(s: &Server, header: &'static str, value: &str) -> common::ws::Ws {
    use futures_util::StreamExt as _;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let mut request = common::ws::dashboard_url(&s.base)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(header, value.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the WebSocket opens");
    let first = ws.next().await.expect("a message").expect("not an error");
    assert!(first.to_text().unwrap().contains("initial_data"));
    ws
}

/// Reads until the server ends the connection; how long that took.
async fn until_closed(ws: &mut common::ws::Ws) -> Duration {
    use futures_util::StreamExt as _;
    let started = std::time::Instant::now();
    let wait = mhd_server::ws::CREDENTIAL_CHECK + Duration::from_secs(5);
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => panic!("the WebSocket was still open after {wait:?}"),
            Ok(None | Some(Err(_))) => return started.elapsed(),
            Ok(Some(Ok(m))) if m.is_close() => return started.elapsed(),
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_ends_with_its_session_or_token() {
    let s = server(true).await;
    let viewer = s.session("viewer").await;
    let mut by_cookie = open_ws(&s, "cookie", &viewer.cookie).await;
    let revoked = s
        .store
        .create_token("soon-revoked", Role::Viewer, None, now())
        .await
        .unwrap();
    let mut by_token = open_ws(
        &s,
        "authorization",
        &format!("Bearer {}", revoked.secret.expose()),
    )
    .await;
    let mut kept = open_ws(
        &s,
        "authorization",
        &format!("Bearer {}", s.tokens[&Role::Viewer]),
    )
    .await;
    // Signing out and revoking end their connections within the check's period.
    let r = s
        .http
        .post(s.url("/signout"))
        .header("cookie", &viewer.cookie)
        .header("x-csrf-token", &viewer.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    s.store.revoke_token("soon-revoked", now()).await.unwrap();
    let (a, b) = tokio::join!(until_closed(&mut by_cookie), until_closed(&mut by_token));
    assert!(
        a <= mhd_server::ws::CREDENTIAL_CHECK + Duration::from_secs(2),
        "{a:?}"
    );
    assert!(
        b <= mhd_server::ws::CREDENTIAL_CHECK + Duration::from_secs(2),
        "{b:?}"
    );
    // The connection whose token still holds stays open.
    use futures_util::SinkExt as _;
    kept.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"subscribe","component":"storage"}"#.into(),
    ))
    .await
    .expect("still open");
}

/// A request to the server at 127.0.0.1 that names `host` (and `origin`), as a page on a name
/// the attacker points at 127.0.0.1 sends it.
fn rebound(
    s: &Server,
    method: Method,
    path: &str,
    host: &str,
    origin: Option<&str>,
) -> reqwest::RequestBuilder {
    let port = s.base.rsplit(':').next().unwrap();
    let mut r = s
        .http
        .request(method, s.url(path))
        .header("host", host.replace("PORT", port));
    if let Some(o) = origin {
        r = r.header("origin", o.replace("PORT", port));
    }
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_pointed_at_loopback_is_refused_in_single_user_mode() {
    let plan = plan_with_rollback();
    let s = server_with(&plan, false).await;
    let attacker = (
        "attacker.example:PORT",
        Some("http://attacker.example:PORT"),
    );
    // The rollback, a write and the audit log, from a page on attacker.example: 421, nothing run.
    let r = rebound(
        &s,
        Method::POST,
        "/api/v1/secure/rollback",
        attacker.0,
        attacker.1,
    )
    .json(&json!({"component": "storage", "reason": "x"}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "misdirected_request", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"attacker.example:"),
        "{body}"
    );
    let r = rebound(
        &s,
        Method::POST,
        "/api/v1/operations",
        attacker.0,
        attacker.1,
    )
    .json(
        &json!([{ "timestamp": "2025-03-05T11:00:00Z", "metric_type": "migration",
            "operation": "copy", "dataset_name": "a", "success": true }]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    for path in ["/api/v1/audit", "/", "/ready", "/ws/dashboard"] {
        let r = rebound(&s, Method::GET, path, attacker.0, None)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{path}");
    }
    let ops: Value = s
        .http
        .get(s.url("/api/v1/operations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ops = ops
        .as_array()
        .or_else(|| ops["operations"].as_array())
        .unwrap();
    assert!(ops.is_empty(), "nothing ran, nothing was written: {ops:?}");
    assert!(s.audit("rollback").await.is_empty());
    let refused = s.audit("request.refused").await;
    assert!(
        refused.iter().any(|e| e.details["reason"] == "host"),
        "{refused:?}"
    );
    // The API's document says so.
    let doc: Value = s
        .http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for code in ["421", "429"] {
        assert!(
            doc["paths"]["/api/v1/secure/rollback"]["post"]["responses"][code].is_object(),
            "{code}"
        );
    }
    // A probe may name any host for /health.
    let r = rebound(&s, Method::GET, "/health", "10.0.0.7:8000", None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = rebound(&s, Method::GET, "/health", attacker.0, None)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Loopback names and addresses, with or without the port, and any address.
    for host in [
        "localhost",
        "localhost:PORT",
        "127.0.0.1",
        "127.0.0.1:PORT",
        "[::1]:PORT",
        "[::1]",
        "10.0.0.7:8000",
    ] {
        let r = rebound(&s, Method::GET, "/api/v1/auth/whoami", host, None)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
    // The dashboard's own page under its own name: the change is taken.
    let r = rebound(
        &s,
        Method::POST,
        "/api/v1/operations",
        "localhost:PORT",
        Some("http://localhost:PORT"),
    )
    .json(
        &json!([{ "timestamp": "2025-03-05T11:00:00Z", "metric_type": "migration",
            "operation": "copy", "dataset_name": "a", "success": true }]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // The origin's scheme counts: https://127.0.0.1:PORT is another site than this http one.
    let r = rebound(
        &s,
        Method::POST,
        "/alerts/silences",
        "127.0.0.1:PORT",
        Some("https://127.0.0.1:PORT"),
    )
    .form(&[("component", "storage"), ("duration", "1h")])
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_names_and_a_trusted_proxys_host_are_answered() {
    let s = server_set(PLAN, false, |st| {
        let mut hosts = mhd_server::origin::AllowedHosts::default();
        hosts.add("https://dash.example.com/").unwrap();
        st.security().set_allowed_hosts(hosts);
    })
    .await;
    let write = |host: &str, origin: &str| {
        rebound(&s, Method::POST, "/api/v1/samples", host, Some(origin))
            .json(&json!([{ "timestamp": "2025-03-05T11:00:00Z", "metric": "cpu_percent", "value": 1.0 }]))
    };
    let r = write("dash.example.com:PORT", "http://dash.example.com:PORT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = write("other.example.com:PORT", "http://other.example.com:PORT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    // Without --trust-proxy, X-Forwarded-Host is not believed either way.
    let r = write("127.0.0.1:PORT", "http://127.0.0.1:PORT")
        .header("x-forwarded-host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let s = server_set(PLAN, false, |st| {
        let mut hosts = mhd_server::origin::AllowedHosts::default();
        hosts.add("dash.example.com").unwrap();
        st.security().set_allowed_hosts(hosts);
        st.security().set_trust_proxy(true);
    })
    .await;
    let proxied = |forwarded_host: &str, origin: &str| {
        rebound(&s, Method::POST, "/api/v1/samples", "127.0.0.1:PORT", Some(origin))
            .header("x-forwarded-host", forwarded_host)
            .header("x-forwarded-proto", "https")
            .json(&json!([{ "timestamp": "2025-03-05T11:00:00Z", "metric": "cpu_percent", "value": 1.0 }]))
    };
    let r = proxied("dash.example.com", "https://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = proxied("dash.example.com", "http://dash.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the proxy said https");
    let r = proxied("attacker.example", "https://attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_from_another_site_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let s = server(false).await;
    let port = s.base.rsplit(':').next().unwrap().to_owned();
    let mut request = common::ws::dashboard_url(&s.base)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        Err(e) => panic!("refused otherwise: {e}"),
        Ok(_) => panic!("a WebSocket from another site was opened"),
    }
    // The dashboard's own page, and a script that sends no origin, open it.
    let mut ws = open_ws(&s, "origin", &format!("http://127.0.0.1:{port}")).await;
    ws.close(None).await.unwrap();
    let mut ws = open_ws(&s, "user-agent", "a script").await;
    ws.close(None).await.unwrap();
    let refused = s.audit("request.refused").await;
    assert!(
        refused
            .iter()
            .any(|e| e.details["reason"] == "cross_site" && e.resource == "/ws/dashboard"),
        "{refused:?}"
    );
}

/// Sends every sign-in of `attempts` (client, name, password) at once; their statuses.
async fn sign_in_at_once(s: &Server, attempts: Vec<(Client, String, String)>) -> Vec<StatusCode> {
    let url = s.url("/signin");
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|(client, name, password)| {
            let url = url.clone();
            tokio::spawn(async move {
                client
                    .post(url)
                    .form(&[("name", name), ("password", password)])
                    .send()
                    .await
                    .expect("sign-in request")
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

/// A client whose connections come from `ip` (any 127.0.0.0/8 address is this machine's).
fn client_from(ip: [u8; 4]) -> Client {
    Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(WAIT)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_sign_ins_cannot_slip_past_the_limit() {
    let s = server(true).await;
    // 80 at once for one name from one address: only the allowance is checked.
    let one = client_from([127, 0, 0, 1]);
    let attempts = (0..80)
        .map(|i| (one.clone(), "admin".to_owned(), format!("guess number {i}")))
        .collect();
    let statuses = sign_in_at_once(&s, attempts).await;
    let checked = statuses
        .iter()
        .filter(|&&c| c == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|&&c| c == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, limited),
        (
            mhd_server::signin::USER_FAILURES as usize,
            80 - mhd_server::signin::USER_FAILURES as usize
        ),
        "{statuses:?}"
    );
    let failures = |entries: Vec<mhd_store::audit::Entry>| {
        entries
            .iter()
            .filter(|e| e.details["reason"] == "bad_credentials")
            .count()
    };
    assert_eq!(failures(s.audit("signin").await), checked);

    // 39 wrong passwords and the right one at once, each from its own address: still only
    // the name's allowance is checked.
    let s = server(true).await;
    let attempts = (0..40u8)
        .map(|i| {
            let password = if i == 39 {
                PASSWORD.to_owned()
            } else {
                format!("guess number {i}")
            };
            (
                client_from([127, 0, 1, i + 1]),
                "operator".to_owned(),
                password,
            )
        })
        .collect();
    let statuses = sign_in_at_once(&s, attempts).await;
    let checked = statuses
        .iter()
        .filter(|&&c| c == StatusCode::UNAUTHORIZED || c == StatusCode::SEE_OTHER)
        .count();
    assert!(
        checked <= mhd_server::signin::USER_FAILURES as usize,
        "{checked} passwords checked: {statuses:?}"
    );
    assert!(failures(s.audit("signin").await) <= mhd_server::signin::USER_FAILURES as usize);
    assert_eq!(
        statuses
            .iter()
            .filter(|&&c| c == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        40 - checked
    );
}

/// Whether the server has closed `socket`: a read sees its end (or a reset) within `within`.
async fn closed_within(socket: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_time_out_and_the_cap_sheds_the_idlest() {
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::TcpStream;
    let (dir, store) = common::store().await;
    let state = common::state(store.clone(), PLAN);
    let listener = common::listener().await;
    let addr = listener.local_addr().unwrap();
    let limits = mhd_server::connections::ConnectionLimits {
        idle_timeout: Duration::from_secs(1),
        max_connections: 100,
    };
    tokio::spawn(mhd_server::app::serve_with(
        listener,
        state.clone(),
        limits,
        std::future::pending(),
    ));
    let s = Server {
        _dir: dir,
        state,
        remote: Remote::new(format!("http://{addr}"), WAIT),
        store,
        tokens: HashMap::new(),
    };

    // 300 sockets that never speak, three times the cap: /health still answers at once, and
    // the oldest were closed to make room (the cap holds).
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    let started = std::time::Instant::now();
    let r = tokio::time::timeout(
        Duration::from_millis(900),
        s.http.get(s.url("/health")).send(),
    )
    .await
    .expect("/health answers before the idle sockets time out")
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(900));
    let mut shed = 0;
    for socket in idle.iter_mut().take(200) {
        if closed_within(socket, Duration::from_millis(1)).await {
            shed += 1;
        }
    }
    assert!(
        shed >= 190,
        "only {shed} of the 200 oldest idle sockets were closed"
    );
    drop(idle);

    // A socket that never speaks, one that speaks too slowly, and one kept alive after its
    // answer are each closed after the idle timeout.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let dribble = tokio::spawn(async move {
        for b in b"GET /health HTTP/1.1\r\nHost: x\r\n" {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_within(&mut slow, Duration::from_secs(3)).await
    });
    assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    assert!(closed_within(&mut kept, Duration::from_secs(3)).await);
    assert!(dribble.await.unwrap(), "the slow head was cut off");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "{took:?}"
    );

    // A WebSocket outlives the idle timeout: it has its own pings.
    use futures_util::{SinkExt as _, StreamExt as _};
    let mut ws = open_ws(&s, "user-agent", "a script").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        r#"{"type":"subscribe","component":"storage"}"#.into(),
    ))
    .await
    .expect("still open");
    let answer = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("an answer")
        .expect("a message")
        .expect("not an error");
    assert!(
        answer.to_text().unwrap().contains("subscribed"),
        "{answer:?}"
    );
}

/// The bytes of the store's files (the database and its write-ahead log).
fn store_bytes(s: &Server) -> u64 {
    ["mhd.db", "mhd.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(s._dir.path().join(f)).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_gathered_and_held_back() {
    // Windows of 3 s instead of a minute.
    let s = server_set(PLAN, true, |st| {
        st.security().refusals.set_window(Duration::from_secs(3));
    })
    .await;
    let before = store_bytes(&s);
    let started = std::time::Instant::now();
    // 2,000 requests with a token nobody has, eight at a time.
    let statuses = futures_util::future::join_all((0..8).map(|_| {
        let (http, url) = (s.http.clone(), s.url("/api/v1/health/summary"));
        async move {
            let mut statuses = Vec::new();
            for _ in 0..250 {
                let r = http
                    .get(&url)
                    .bearer_auth("mhd_guessed")
                    .send()
                    .await
                    .unwrap();
                let retry = r.headers().get("retry-after").cloned();
                statuses.push((r.status(), retry));
            }
            statuses
        }
    }))
    .await
    .concat();
    // (A machine too busy to send them all within one window lets the next one's allowance
    // through too.)
    let windows = 1 + usize::try_from(started.elapsed().as_millis() / 3000).unwrap();
    let unauthorized = statuses
        .iter()
        .filter(|(c, _)| *c == StatusCode::UNAUTHORIZED)
        .count();
    let held_back: Vec<_> = statuses
        .iter()
        .filter(|(c, _)| *c == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let allowance = mhd_server::audit::REFUSALS_PER_WINDOW as usize;
    assert!(
        (allowance..=allowance * windows).contains(&unauthorized),
        "{unauthorized} answered 401 in {windows} window(s)"
    );
    assert_eq!(unauthorized + held_back.len(), 2000);
    assert!(held_back.iter().all(|(_, retry)| retry.is_some()));
    let r = s
        .get_bearer("/api/v1/health/summary", &s.tokens[&Role::Viewer])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a good token is never held back"
    );
    // Written when the window ends, without being asked: the first refusal, and one entry with
    // the count of the others.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let entries = s
        .store
        .audit_entries(&mhd_store::audit::AuditFilter {
            action: Some("request.refused".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        entries.len() <= 2 * windows,
        "{} entries: {entries:?}",
        entries.len()
    );
    assert_eq!(refusals(&entries, "bad_token"), 2000, "{entries:?}");
    let gathered: Vec<_> = entries
        .iter()
        .filter(|e| e.details["count"].is_u64())
        .collect();
    assert!(!gathered.is_empty());
    assert!(
        gathered
            .iter()
            .all(|e| e.client.as_deref() == Some("127.0.0.1"))
    );
    let answered_429: u64 = gathered
        .iter()
        .map(|e| e.details["answered_429"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(answered_429, held_back.len() as u64);
    let grown = store_bytes(&s).saturating_sub(before);
    assert!(grown < 256 * 1024, "the store grew by {grown} bytes");
    // Once the window has passed, the address is answered as before.
    let r = s.get_bearer("/api/v1/health/summary", "mhd_guessed").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_answers_are_not_cached_and_plain_http_sets_no_hsts() {
    let s = server(true).await;
    for (path, token) in [
        ("/api/v1/health/summary", Some(Role::Viewer)),
        ("/api/v1/alerts", Some(Role::Viewer)),
        ("/api/v1/openapi.json", None),
        ("/api/v1/health/summary", None),
        ("/health", None),
    ] {
        let mut r = s.http.get(s.url(path));
        if let Some(role) = token {
            r = r.bearer_auth(&s.tokens[&role]);
        }
        let r = r.send().await.unwrap();
        assert_eq!(
            r.headers()["cache-control"],
            "no-store",
            "{path}: {}",
            r.status()
        );
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "{path}"
        );
    }
    // The assets keep their own caching.
    let page = s
        .get_bearer("/", &s.tokens[&Role::Viewer])
        .await
        .text()
        .await
        .unwrap();
    let script = page
        .split("src=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page's script");
    let r = s.http.get(s.url(script)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()["cache-control"], "no-store", "{script}");
}

/// The specification's `user` of an acknowledgement cannot make a token or a signed-in user
/// somebody else: the acknowledgement stands under the authenticated name, and a different
/// stated name is kept beside it, in the answer and the audit entry.
#[tokio::test]
async fn an_acknowledgements_stated_user_never_replaces_the_authenticated_name() {
    use mhd_store::alerts::AlertStore as _;
    let s = server(true).await;
    let at = now();
    let alert = common::alerts::firing(5, at, at);
    s.store
        .save_transitions(&[common::alerts::stored(alert)], at)
        .await
        .expect("alert saved");

    let r = s
        .http
        .post(s.url("/api/v1/alerts/acknowledge/5?user=someone%20else"))
        .bearer_auth(&s.tokens[&Role::Operator])
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.expect("JSON");
    assert_eq!(answer["status"], "acknowledged");
    assert_eq!(answer["alert"]["acknowledged"]["by"], "token:t-operator");
    assert_eq!(answer["stated_user"], "someone else");
    // Its own name stated: nothing to keep beside it.
    let r = s
        .http
        .post(s.url("/api/v1/alerts/acknowledge/5"))
        .bearer_auth(&s.tokens[&Role::Operator])
        .json(&json!({ "user": "token:t-operator" }))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.expect("JSON");
    assert!(answer.get("stated_user").is_none(), "{answer}");
    assert_eq!(answer["replaced"]["by"], "token:t-operator");

    let entries = s.audit("alert.acknowledge").await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].actor, "token:t-operator");
    assert_eq!(entries[1].details["by"], "token:t-operator");
    assert_eq!(entries[1].details["stated_user"], "someone else");
    assert!(entries[0].details.get("stated_user").is_none());
}

/// What each variant of a page's personal parts sees on the alerts and components pages:
/// the silence form to operators, admins and the local user (with a name field only for the
/// local user, whom nobody signs in), the rollback links to admins and the local user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_variant_sees_exactly_its_actions_on_the_alerts_and_components_pages() {
    let plan = plan_with_rollback();
    let s = server_with(&plan, true).await;
    // (role, may silence, may roll back)
    for (role, operate, admin) in [
        ("viewer", false, false),
        ("operator", true, false),
        ("admin", true, true),
    ] {
        let session = s.session(role).await;
        let alerts = s.page_as("/alerts", &session.cookie).await;
        assert_eq!(alerts.contains("Add a silence"), operate, "{role}");
        assert_eq!(
            alerts.contains("action=\"/alerts/silences\""),
            operate,
            "{role}"
        );
        assert!(
            !alerts.contains("name=\"by\""),
            "{role} acts under their own name"
        );
        assert!(
            alerts.contains(&format!("Signed in as <strong>{role}</strong> ({role})")),
            "{role}"
        );
        let components = s.page_as("/components", &session.cookie).await;
        assert_eq!(
            components.contains("href=\"/components/storage/rollback\""),
            admin,
            "{role}"
        );
        assert_eq!(components.contains("id=\"rollback\""), admin, "{role}");
        for html in [&alerts, &components] {
            assert!(
                html.contains(&format!(
                    "<meta name=\"csrf-token\" content=\"{}\">",
                    session.csrf
                )),
                "{role}"
            );
        }
    }
    // Nobody signed in where sign-in is required: the pages are refused; the page of a path
    // nothing is at has no session strip and no token.
    let nobody = s.http.get(s.url("/nothing-here")).send().await.unwrap();
    let html = nobody.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    assert!(
        !html.contains("class=\"who\"") && !html.contains("csrf"),
        "{html}"
    );
    let refused = s.http.get(s.url("/alerts")).send().await.unwrap();
    assert!(!refused.text().await.unwrap().contains("Add a silence"));

    // Nobody signs in: the local user may do everything, and names who acts.
    let local = server_with(&plan, false).await;
    let alerts = local.page("/alerts").await.1;
    assert!(alerts.contains("Add a silence") && alerts.contains("name=\"by\""));
    assert!(alerts.contains("data-single-user") && !alerts.contains("csrf"));
    let components = local.page("/components").await.1;
    assert!(components.contains("href=\"/components/storage/rollback\""));
}

/// Two sessions of one role share the role's render of a page, each with its own name and
/// CSRF token joined in: the second is not rendered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_of_one_role_share_its_render_with_their_own_name_and_token() {
    let s = server(true).await;
    let hash = PasswordHash::new(PASSWORD).expect("hash");
    s.store
        .add_user("second", Role::Operator, &hash, now())
        .await
        .expect("user");
    let first = s.session("operator").await;
    let second = s.session("second").await;
    assert_ne!(first.csrf, second.csrf);
    let html = s.page_as("/summary", &first.cookie).await;
    let rendered = s.state.pages().rendered();
    let other = s.page_as("/summary", &second.cookie).await;
    assert_eq!(
        s.state.pages().rendered(),
        rendered,
        "the second session's page is the role's render"
    );
    for (html, name, own, theirs) in [
        (&html, "operator", &first.csrf, &second.csrf),
        (&other, "second", &second.csrf, &first.csrf),
    ] {
        assert!(html.contains(&format!("Signed in as <strong>{name}</strong> (operator)")));
        assert!(html.contains(&format!("<meta name=\"csrf-token\" content=\"{own}\">")));
        assert!(html.contains(&format!("name=\"csrf_token\" value=\"{own}\"")));
        assert!(
            !html.contains(theirs.as_str()),
            "{name} sees only their own token"
        );
    }
    // Compressed for a client that asks, as every signed-in page was.
    let gzip = s
        .http
        .get(s.url("/summary"))
        .header("cookie", &second.cookie)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(s.state.pages().rendered(), rendered);
    // Another role has its own render.
    let viewer = s.session("viewer").await;
    let before = s.state.pages().rendered();
    let html = s.page_as("/summary", &viewer.cookie).await;
    assert!(html.contains("Signed in as <strong>viewer</strong> (viewer)"));
    assert_eq!(s.state.pages().rendered(), before + 1);
}

/// No page carries a marker of the old after-the-fact filling: every personal part is
/// rendered by the templates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_carries_a_marker() {
    let plan = plan_with_rollback();
    let s = server_with(&plan, true).await;
    let local = server_with(&plan, false).await;
    let admin = s.session("admin").await;
    let pages = TABLE
        .iter()
        .filter(|(m, p, _)| *m == "GET" && !p.starts_with("/api") && *p != "/ws/dashboard")
        .map(|(_, p, _)| p.replace("{component}", "storage"))
        .chain(["/nothing-here".to_owned(), "/live?range=1h".to_owned()]);
    for path in pages {
        let bodies = [
            s.get_cookie(&path, &admin.cookie)
                .await
                .text()
                .await
                .unwrap(),
            s.get_bearer(&path, &s.tokens[&Role::Admin])
                .await
                .text()
                .await
                .unwrap(),
            s.page(&path).await.1,
            local.page(&path).await.1,
        ];
        for body in bodies {
            assert!(!body.contains("<!--mhd:"), "{path}: {body}");
        }
    }
}
