//! Signing in and out: the sign-in page, the session cookie, the limit on failed attempts, and
//! `GET /api/v1/auth/whoami`.
//!
//! A session cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), `Path=/`, and `Secure` over TLS or behind a trusted proxy that says the
//! request came over HTTPS. Failed sign-ins are counted per user name and per address: after
//! [`USER_FAILURES`] for one name or [`ADDRESS_FAILURES`] from one address within [`WINDOW`],
//! sign-in is refused (429) until the window has passed, whether the password is right or not.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json};
use mhd_store::audit::Outcome;
use mhd_store::auth::PasswordHash;
use serde::Deserialize;
use serde_json::json;

use crate::access::{Caller, SESSION_COOKIE, Who, sign_in_required};
use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// Failed sign-ins for one user name within [`WINDOW`] before it is locked.
pub const USER_FAILURES: u32 = 5;
/// Failed sign-ins from one address within [`WINDOW`] before it is locked out.
pub const ADDRESS_FAILURES: u32 = 20;
/// How long failures are counted, and how long a lock lasts at most.
pub const WINDOW: time::Duration = time::Duration::minutes(15);
/// The most keys the limiter keeps; past it, expired ones are dropped first.
const LIMITER_KEYS: usize = 10_000;

/// Counts failed sign-ins per key (`user:NAME`, `addr:IP`) in fixed windows.
#[derive(Debug, Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl Limiter {
    /// Seconds until `key` may try again when it has used `max` failures in its window; `None`
    /// when it may try now.
    pub fn locked(&self, key: &str, max: u32, now: i64) -> Option<i64> {
        let map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let &(count, start) = map.get(key)?;
        let end = start + WINDOW.whole_seconds();
        (count >= max && now < end).then_some(end - now)
    }

    /// Counts a failure of `key` at `now` (unix seconds).
    pub fn fail(&self, key: &str, now: i64) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= LIMITER_KEYS {
            map.retain(|_, &mut (_, start)| now < start + WINDOW.whole_seconds());
        }
        if map.len() >= LIMITER_KEYS && !map.contains_key(key) {
            // Full of live keys: an attacker with that many addresses is still held back by
            // the per-user count, which is kept first.
            if !key.starts_with("user:") {
                return;
            }
            if let Some(k) = map.keys().find(|k| k.starts_with("addr:")).cloned() {
                map.remove(&k);
            }
        }
        let entry = map.entry(key.to_owned()).or_insert((0, now));
        if now >= entry.1 + WINDOW.whole_seconds() {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Forgets the failures of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// The sign-in page and sign-out (`GET /api/v1/auth/whoami` is among the API's routes).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(routes::SIGN_IN, get(sign_in_page).post(sign_in))
        .route(routes::SIGN_OUT, axum::routing::post(sign_out))
}

#[derive(Template)]
#[template(path = "signin.html", whitespace = "minimize")]
struct SignInPage {
    heading: String,
    css: String,
    error: Option<String>,
    notice: Option<String>,
    signed_in: Option<(String, &'static str)>,
    csrf: String,
    form: bool,
    next: String,
    name: String,
}

impl SignInPage {
    fn new(heading: &str) -> SignInPage {
        SignInPage {
            heading: heading.to_owned(),
            css: crate::views::stylesheet(),
            error: None,
            notice: None,
            signed_in: None,
            csrf: String::new(),
            form: false,
            next: "/".to_owned(),
            name: String::new(),
        }
    }

    fn respond(&self, status: StatusCode) -> Response {
        crate::pages::template_page(status, self)
    }
}

/// A short page with a heading and a message (escaped), for refusals.
pub fn message_page(heading: &str, message: &str) -> String {
    let mut page = SignInPage::new(heading);
    page.error = Some(message.to_owned());
    page.render()
        .unwrap_or_else(|_| String::from("<!DOCTYPE html><title>Error</title>"))
}

/// Percent-encodes `s` for a query string's value.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where to go after signing in: a path of this site (`/…`, never `//host` or `/\host`, which
/// browsers read as another site), else `/`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.len() <= 2048
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// `GET /signin`: the form; who is signed in; or, with no user, that nobody needs to.
async fn sign_in_page(
    who: Who,
    query: Result<Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let next = safe_next(query.ok().and_then(|Query(q)| q.next).as_deref());
    let mut page = SignInPage::new("Sign in");
    match &*who.caller {
        Caller::User {
            name, role, csrf, ..
        } => {
            page.signed_in = Some((name.clone(), role.as_str()));
            page.csrf.clone_from(csrf);
        }
        Caller::Local => {
            page.heading = "No sign-in needed".to_owned();
            page.notice = Some(NO_USERS.to_owned());
        }
        Caller::Token { .. } | Caller::Anonymous => {
            page.form = true;
            page.next = next;
        }
    }
    page.respond(StatusCode::OK)
}

/// What the single-user mode says of itself.
pub const NO_USERS: &str = "Nobody needs to sign in: no user has been added, so this dashboard \
    serves one local user who may do everything. Add one with `mhd user add NAME --role admin` \
    to require signing in.";

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A hash no password matches in practice, verified for unknown names so that a wrong name
/// takes as long as a wrong password.
fn decoy_hash() -> &'static PasswordHash {
    static DECOY: OnceLock<PasswordHash> = OnceLock::new();
    DECOY.get_or_init(|| {
        PasswordHash::new("a decoy password nobody has: it evens out timing")
            .unwrap_or_else(|_| PasswordHash::from_phc(String::new()))
    })
}

/// `POST /signin`: checks the name and password, starts a session, and goes on to `next`.
async fn sign_in(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    match sign_in_required(&state).await {
        Ok(true) => {}
        Ok(false) => return Redirect::to(routes::OVERVIEW).into_response(),
        Err(e) => return e.into_response(),
    }
    let mut page = SignInPage::new("Sign in");
    page.form = true;
    let Ok(Form(form)) = form else {
        page.error = Some("the form could not be read: send a name and a password".to_owned());
        return page.respond(StatusCode::BAD_REQUEST);
    };
    page.next = safe_next(form.next.as_deref());
    let name: String = form.name.trim().chars().take(64).collect();
    page.name.clone_from(&name);
    if name.is_empty() || form.password.is_empty() {
        page.error = Some("give your name and your password".to_owned());
        return page.respond(StatusCode::BAD_REQUEST);
    }
    let now = state.now();
    let secs = now.unix_timestamp();
    let user_key = format!("user:{}", name.to_lowercase());
    let addr_key = format!(
        "addr:{}",
        who.addr
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
    );
    let limits = &state.security.sign_in_limits;
    let locked = limits
        .locked(&user_key, USER_FAILURES, secs)
        .max(limits.locked(&addr_key, ADDRESS_FAILURES, secs));
    if let Some(wait) = locked {
        crate::audit::record(
            &state,
            &name,
            "signin",
            &format!("user {name}"),
            json!({ "reason": "rate_limited", "retry_after_s": wait }),
            who.addr,
            Outcome::Refused,
        )
        .await;
        page.error = Some(format!(
            "too many failed sign-ins for this name or from this address: try again in {} \
             minute(s)",
            (wait + 59) / 60
        ));
        let mut r = page.respond(StatusCode::TOO_MANY_REQUESTS);
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let found = match state.store.user_by_name(&name).await {
        Ok(f) => f,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    let password = form.password;
    let (user, hash) = match found {
        Some((u, h)) if !u.disabled => (Some(u), h),
        _ => (None, decoy_hash().clone()),
    };
    let verified = tokio::task::spawn_blocking(move || hash.verify(&password))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| verified) else {
        limits.fail(&user_key, secs);
        limits.fail(&addr_key, secs);
        crate::audit::record(
            &state,
            &name,
            "signin",
            &format!("user {name}"),
            json!({ "reason": "bad_credentials" }),
            who.addr,
            Outcome::Refused,
        )
        .await;
        page.error = Some("the name or the password is wrong".to_owned());
        return page.respond(StatusCode::UNAUTHORIZED);
    };
    limits.clear(&user_key);
    let client = who.addr.map(|a| a.to_string());
    let session = match state
        .store
        .start_session(user.id, client.as_deref(), now)
        .await
    {
        Ok(s) => s,
        Err(e) => return ApiError::internal(&e).into_response(),
    };
    crate::audit::record(
        &state,
        &user.name,
        "signin",
        &format!("user {}", user.name),
        json!({ "session": session.id, "role": user.role.as_str() }),
        who.addr,
        Outcome::Ok,
    )
    .await;
    let mut r = Redirect::to(&page.next).into_response();
    set_cookie(
        &mut r,
        &state,
        &headers,
        &session.secret,
        mhd_store::sessions::LIFETIME.whole_seconds(),
    );
    r
}

/// Sets the session cookie to `value` for `max_age` seconds (0: removes it), `Secure` when the
/// request came over HTTPS.
fn set_cookie(r: &mut Response, state: &AppState, headers: &HeaderMap, value: &str, max_age: i64) {
    let secure = if state.security.secure_cookies(headers) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
}

/// `POST /signout`: ends the session (its cookie proves nothing afterwards) and clears it.
async fn sign_out(State(state): State<AppState>, who: Who, headers: HeaderMap) -> Response {
    if let Caller::User { name, session, .. } = &*who.caller {
        let ended = state.store.end_session(*session, state.now()).await;
        if let Err(e) = ended {
            return ApiError::internal(&e).into_response();
        }
        crate::audit::record(
            &state,
            name,
            "signout",
            &format!("user {name}"),
            json!({ "session": session }),
            who.addr,
            Outcome::Ok,
        )
        .await;
    }
    let mut r = Redirect::to(routes::SIGN_IN).into_response();
    set_cookie(&mut r, &state, &headers, "", 0);
    r
}

/// `GET /api/v1/auth/whoami`: who the server takes the caller for.
pub async fn whoami(State(state): State<AppState>, who: Who) -> Response {
    let required = match sign_in_required(&state).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let kind = match &*who.caller {
        Caller::Local => "local",
        Caller::User { .. } => "user",
        Caller::Token { .. } => "token",
        Caller::Anonymous => "anonymous",
    };
    Json(json!({
        "kind": kind,
        "name": who.caller.signed_name().unwrap_or_else(|| who.caller.actor()),
        "role": who.caller.role().map(mhd_core::auth::Role::as_str),
        "sign_in_required": required,
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/alerts?x=1")), "/alerts?x=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example",
            "",
            "alerts",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn the_limiter_locks_after_the_failures_and_forgets_after_the_window() {
        let l = Limiter::default();
        for i in 0..USER_FAILURES {
            assert_eq!(l.locked("user:a", USER_FAILURES, 100), None, "{i}");
            l.fail("user:a", 100 + i64::from(i));
        }
        let wait = l.locked("user:a", USER_FAILURES, 110).unwrap();
        assert_eq!(wait, WINDOW.whole_seconds() - 10);
        assert_eq!(l.locked("user:b", USER_FAILURES, 110), None);
        assert_eq!(
            l.locked("user:a", USER_FAILURES, 100 + WINDOW.whole_seconds()),
            None
        );
        l.clear("user:a");
        assert_eq!(l.locked("user:a", USER_FAILURES, 110), None);
    }
}
