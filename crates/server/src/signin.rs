//! Signing in and out: the sign-in page, the session cookie, the limit on failed attempts, and
//! `GET /api/v1/auth/whoami`.
//!
//! A session cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's
//! page sends it), `Path=/`, and `Secure` over TLS or behind a trusted proxy that says the
//! request came over HTTPS. Sign-ins are counted per user name and per address before the
//! password is checked, in one step, so simultaneous attempts cannot slip past the count: after
//! [`USER_FAILURES`] for one name or [`ADDRESS_FAILURES`] from one address within [`WINDOW`]
//! (a right password gives its attempt back), sign-in is refused (429) until the window has
//! passed, whether the password is right or not.
//!
//! A password check (Argon2id) works in ~19 MiB, given back when it ends: at most
//! [`PASSWORD_CHECKS`] run at once, [`PASSWORD_QUEUE`] more wait up to [`PASSWORD_WAIT`], and
//! beyond that a sign-in is answered 503 with `Retry-After`. An unknown name is checked against a decoy hash in the same
//! queue, so it costs and takes what a wrong password does.

use mhd_store::prelude::*;
use std::sync::OnceLock;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use mhd_store::audit::Outcome;
use mhd_store::auth::PasswordHash;
use mhd_web::paths;
use mhd_web::views::signin::SignInPage;
use serde::Deserialize;
use serde_json::json;

use crate::error::ApiError;
pub use crate::security::{
    ADDRESS_FAILURES, Busy, Limiter, PASSWORD_CHECKS, PASSWORD_QUEUE, PASSWORD_WAIT,
    PasswordChecks, USER_FAILURES, WINDOW,
};
use crate::security::{Caller, CallerKind, SESSION_COOKIE, Who, WhoAmI, sign_in_required};
use crate::state::AppState;

/// `page` with `status`.
fn respond(page: &SignInPage, status: StatusCode) -> Response {
    crate::pages::template_page(status, page)
}

/// A short page with a heading and a message (escaped), for refusals.
pub fn message_page(heading: &str, message: &str) -> String {
    let mut page = SignInPage::new(heading);
    page.error = Some(message.to_owned());
    page.render()
        .unwrap_or_else(|_| String::from("<!DOCTYPE html><title>Error</title>"))
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
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// `GET /signin`: the form; who is signed in; or, with no user, that nobody needs to.
pub(crate) async fn sign_in_page(
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
    respond(&page, StatusCode::OK)
}

/// What the single-user mode says of itself.
pub const NO_USERS: &str = "Nobody needs to sign in: no user has been added, so this dashboard \
    serves one local user who may do everything. Add one with `mhd user add NAME --role admin` \
    to require signing in.";

#[derive(Deserialize)]
pub(crate) struct SignInForm {
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
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    match sign_in_required(state.security(), state.store()).await {
        Ok(true) => {}
        Ok(false) => return Redirect::to(paths::OVERVIEW).into_response(),
        Err(e) => return e.into_response(),
    }
    let mut page = SignInPage::new("Sign in");
    page.form = true;
    let Ok(Form(form)) = form else {
        page.error = Some("the form could not be read: send a name and a password".to_owned());
        return respond(&page, StatusCode::BAD_REQUEST);
    };
    page.next = safe_next(form.next.as_deref());
    let name: String = form.name.trim().chars().take(64).collect();
    page.name.clone_from(&name);
    if name.is_empty() || form.password.is_empty() {
        page.error = Some("give your name and your password".to_owned());
        return respond(&page, StatusCode::BAD_REQUEST);
    }
    let now = state.now();
    let secs = now.unix_timestamp();
    let user_key = format!("user:{}", name.to_lowercase());
    let addr_key = format!(
        "addr:{}",
        who.addr
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
    );
    let limits = &state.security().sign_in_limits;
    if let Err(wait) = limits.begin(
        &[(&user_key, USER_FAILURES), (&addr_key, ADDRESS_FAILURES)],
        secs,
    ) {
        // Gathered: a locked name can be tried endlessly.
        crate::audit::refused(
            &state,
            &name,
            "signin",
            &format!("user {name}"),
            json!({ "reason": "rate_limited", "retry_after_s": wait }),
            who.addr,
        )
        .await;
        page.error = Some(format!(
            "too many failed sign-ins for this name or from this address: try again in {} \
             minute(s)",
            (wait + 59) / 60
        ));
        return retry_after(respond(&page, StatusCode::TOO_MANY_REQUESTS), wait);
    }
    let found = match state.store().user_by_name(&name).await {
        Ok(f) => f,
        Err(e) => {
            limits.give_back(&user_key);
            limits.give_back(&addr_key);
            return ApiError::from_auth(&e).into_response();
        }
    };
    let (user, hash) = match found {
        Some((u, h)) if !u.disabled => (Some(u), h),
        _ => (None, decoy_hash().clone()),
    };
    let verified = match state
        .security()
        .password_checks
        .verify(hash, form.password)
        .await
    {
        Ok(v) => v,
        Err(Busy) => {
            // Not checked: the attempt does not count.
            limits.give_back(&user_key);
            limits.give_back(&addr_key);
            page.error = Some(
                "the server is checking too many sign-ins at once: try again in a few seconds"
                    .to_owned(),
            );
            return retry_after(respond(&page, StatusCode::SERVICE_UNAVAILABLE), 2);
        }
    };
    let Some(user) = user.filter(|_| verified) else {
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
        return respond(&page, StatusCode::UNAUTHORIZED);
    };
    limits.give_back(&addr_key);
    limits.clear(&user_key);
    let client = who.addr.map(|a| a.to_string());
    let session = match state
        .store()
        .start_session(user.id, client.as_deref(), now)
        .await
    {
        Ok(s) => s,
        Err(e) => return ApiError::from_auth(&e).into_response(),
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

/// `r` with `Retry-After: seconds`.
fn retry_after(mut r: Response, seconds: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Sets the session cookie to `value` for `max_age` seconds (0: removes it), `Secure` when the
/// request came over HTTPS.
fn set_cookie(r: &mut Response, state: &AppState, headers: &HeaderMap, value: &str, max_age: i64) {
    let secure = if state.security().secure_cookies(headers) {
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
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
) -> Response {
    if let Caller::User { name, session, .. } = &*who.caller {
        let ended = state.store().end_session(*session, state.now()).await;
        if let Err(e) = ended {
            return ApiError::from_auth(&e).into_response();
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
    let mut r = Redirect::to(paths::SIGN_IN).into_response();
    set_cookie(&mut r, &state, &headers, "", 0);
    r
}

/// `GET /api/v1/auth/whoami`: who the server takes the caller for.
pub async fn whoami(State(state): State<AppState>, who: Who) -> Response {
    let required = match sign_in_required(state.security(), state.store()).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let kind = match &*who.caller {
        Caller::Local => CallerKind::Local,
        Caller::User { .. } => CallerKind::User,
        Caller::Token { .. } => CallerKind::Token,
        Caller::Anonymous => CallerKind::Anonymous,
    };
    Json(WhoAmI {
        kind,
        name: who
            .caller
            .signed_name()
            .unwrap_or_else(|| who.caller.actor()),
        role: who.caller.role(),
        sign_in_required: required,
    })
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
}
