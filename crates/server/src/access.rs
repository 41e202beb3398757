//! Who may do what, enforced in one place: [`authorize`] runs before every route, finds the
//! caller (an API token, a session cookie, or nobody), looks up what the route needs in
//! [`need`] — the one table of the server's routes — and lets the request through, or answers
//! 401/403 (a page sends an anonymous browser to the sign-in page) and records the refusal in
//! the audit log. A request must name a host the server answers for (see [`crate::origin`]),
//! else it is answered 421. State-changing requests made with a session cookie must carry the
//! session's CSRF token; no state-changing request, and no WebSocket handshake, may come from
//! another site.
//!
//! With no user in the store, nobody signs in: every request is made by the one local user,
//! who may do everything (the server refuses to listen beyond loopback like that unless told
//! `--insecure-no-auth`). A presented token is still checked.

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use mhd_core::auth::{Access, Role};
use mhd_web::paths;
use serde_json::json;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::origin::{self, HostPort};
use crate::routes;
use crate::security::{
    CSRF_FIELD, CSRF_HEADER, Caller, SESSION_COOKIE, Who, client_address, cookie, sign_in_required,
};
use crate::state::AppState;

/// The largest form body read to find its CSRF token.
const FORM_LIMIT: usize = 64 * 1024;
/// The most bytes of all request headers together; more is answered 431.
pub const HEADER_LIMIT: usize = 32 * 1024;

/// What `route` (a route pattern of [`routes`], or `None` when nothing matched) needs for
/// `method`, as its entry of [`routes::TABLE`] says. Nothing matched: public, the answer is 404
/// whoever asks. A path served for other methods only needs an admin, so that only an admin
/// learns which methods it takes (405).
pub fn need(method: &Method, route: Option<&str>) -> Access {
    let Some(route) = route else {
        return Access::Public;
    };
    routes::find(method, route).map_or(Access::Admin, |r| r.access)
}

/// Why a credential was not accepted.
enum Refusal {
    /// The `Authorization` header is not `Bearer TOKEN`.
    BadScheme,
    /// The token is unknown, expired or revoked.
    BadToken,
}

/// Finds the caller from the request's credentials. A session cookie that proves nothing is
/// ignored (the browser is sent to sign in); a bad token is refused.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    required: bool,
    now: OffsetDateTime,
) -> Result<Result<Caller, Refusal>, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let Some(secret) = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty() && t.len() <= 256)
        else {
            return Ok(Err(Refusal::BadScheme));
        };
        let token = state
            .store()
            .authenticate_token(secret, now)
            .await
            .map_err(|e| ApiError::from_auth(&e))?;
        return Ok(match token {
            Some(t) => Ok(Caller::Token {
                id: t.id,
                name: t.name,
                role: t.role,
            }),
            None => Err(Refusal::BadToken),
        });
    }
    if !required {
        return Ok(Ok(Caller::Local));
    }
    if let Some(secret) =
        cookie(headers, SESSION_COOKIE).filter(|s| !s.is_empty() && s.len() <= 256)
        && let Some(session) = state
            .store()
            .session(secret, now)
            .await
            .map_err(|e| ApiError::from_auth(&e))?
    {
        return Ok(Ok(Caller::User {
            name: session.user.name,
            role: session.user.role,
            session: session.id,
            csrf: session.csrf_token,
        }));
    }
    Ok(Ok(Caller::Anonymous))
}

/// Whether `method` may change something.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request asks to open a WebSocket.
fn is_websocket(request: &Request) -> bool {
    request
        .headers()
        .get_all(header::UPGRADE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("websocket"))
        })
}

/// Whether the path is one of the machine-facing routes (API, WebSocket, metrics), answered in
/// JSON; the others are pages, answered in HTML.
fn machine_facing(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/ws/") || path == paths::METRICS
}

/// The middleware that enforces [`need`] on every request. See the module's documentation.
pub async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match authorize_inner(&state, request, next).await {
        Ok(r) | Err(r) => r,
    }
}

async fn authorize_inner(
    state: &AppState,
    request: Request,
    next: Next,
) -> Result<Response, Response> {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > HEADER_LIMIT {
        return Err(ApiError {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            code: "headers_too_large",
            message: format!(
                "the request's headers are {header_bytes} bytes, over the limit of {HEADER_LIMIT}"
            ),
        }
        .into_response());
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let needed = need(&method, route.as_deref());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let addr = client_address(state.security(), request.headers(), peer);
    let trust_proxy = state.security().trusts_proxy();
    let host = origin::request_host(request.headers(), request.uri(), trust_proxy)
        .map(|h| h.chars().take(256).collect::<String>());
    // `/health` answers whatever host a probe names: it says nothing but "ok". A request that
    // names no host at all comes from no browser.
    if route.as_deref() != Some(paths::HEALTH)
        && let Some(h) = &host
        && !HostPort::parse(h).is_some_and(|h| state.security().allows_host(&h))
    {
        let details = json!({ "method": method.as_str(), "path": shorten(&path),
            "host": h, "reason": "host" });
        let refusal = crate::audit::refused(
            state,
            "anonymous",
            "request.refused",
            route.as_deref().unwrap_or("unmatched"),
            details,
            addr,
        )
        .await;
        return Err(answer(refusal, misdirected(h)));
    }
    let now = state.now();
    let required = sign_in_required(state.security(), state.store())
        .await
        .map_err(IntoResponse::into_response)?;
    let caller = match identify(state, request.headers(), required, now)
        .await
        .map_err(IntoResponse::into_response)?
    {
        Ok(c) => c,
        Err(refusal) => {
            let (reason, message) = match refusal {
                Refusal::BadScheme => (
                    "bad_scheme",
                    "send an API token as `Authorization: Bearer mhd_…`",
                ),
                Refusal::BadToken => ("bad_token", "the token is unknown, expired or revoked"),
            };
            let details =
                json!({ "method": method.as_str(), "path": shorten(&path), "reason": reason });
            let refusal = crate::audit::refused(
                state,
                "anonymous",
                "request.refused",
                route.as_deref().unwrap_or("unmatched"),
                details,
                addr,
            )
            .await;
            return Err(answer(refusal, unauthorized(message)));
        }
    };
    let who = Who {
        caller: Arc::new(caller),
        addr,
    };
    let refuse = |reason: &'static str| {
        let who = who.clone();
        let route = route.clone();
        let details = json!({
            "method": method.as_str(),
            "path": shorten(&path),
            "needs": needed.as_str(),
            "role": who.caller.role().map(Role::as_str),
            "reason": reason,
        });
        async move {
            crate::audit::refused(
                state,
                &who.caller.actor(),
                "request.refused",
                route.as_deref().unwrap_or("unmatched"),
                details,
                who.addr,
            )
            .await
        }
    };
    let mut request = request;
    let scheme = origin::request_scheme(request.headers(), state.security().https(), trust_proxy);
    if is_websocket(&request) && !origin::same_site(request.headers(), scheme, host.as_deref()) {
        let refusal = refuse("cross_site").await;
        return Err(answer(
            refusal,
            forbidden(
                &path,
                "the WebSocket may only be opened from the dashboard's own pages or by a script",
            ),
        ));
    }
    if changes_state(&method) && route.as_deref() != Some(paths::API_CHAT_COMMAND) {
        if !origin::same_site(request.headers(), scheme, host.as_deref()) {
            let refusal = refuse("cross_site").await;
            return Err(answer(
                refusal,
                forbidden(
                    &path,
                    "a change may only be sent from the dashboard's own pages or by a script",
                ),
            ));
        }
        if let Caller::User { csrf, .. } = &*who.caller {
            let (checked, ok) = csrf_matches(request, csrf).await;
            request = checked;
            if !ok {
                let refusal = refuse("csrf").await;
                return Err(answer(
                    refusal,
                    forbidden(
                        &path,
                        "the form is out of date or did not come from this dashboard (its CSRF \
                         token is missing or wrong): reload the page and try again",
                    ),
                ));
            }
        }
    }
    if !who.caller.may(needed) {
        if *who.caller == Caller::Anonymous {
            let refusal = refuse("not_signed_in").await;
            if machine_facing(&path) {
                return Err(answer(
                    refusal,
                    unauthorized("sign in, or send an API token as `Authorization: Bearer mhd_…`"),
                ));
            }
            let next_path = if method == Method::GET {
                request
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned()
            } else {
                "/".to_owned()
            };
            let to = format!(
                "{}?next={}",
                paths::SIGN_IN,
                mhd_web::url::encode_component(&next_path)
            );
            return Err(answer(refusal, Redirect::to(&to).into_response()));
        }
        let refusal = refuse("role").await;
        let role = who.caller.role().map_or("no role", Role::as_str);
        return Err(answer(
            refusal,
            forbidden(
                &path,
                &format!(
                    "your role ({role}) may not do this: it needs {}",
                    needed.roles()
                ),
            ),
        ));
    }
    request.extensions_mut().insert(who);
    Ok(next.run(request).await)
}

/// The path as recorded: at most 512 characters.
fn shorten(path: &str) -> String {
    path.chars().take(512).collect()
}

/// The refusal's own answer, or 429 when its address has been refused too often.
fn answer(refusal: crate::audit::Refusal, otherwise: Response) -> Response {
    let crate::audit::Refusal::TooMany(retry_after) = refusal else {
        return otherwise;
    };
    let mut r = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "too_many_refusals",
        message: format!(
            "too many refused requests from this address: try again in {retry_after} s"
        ),
    }
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    r
}

/// 421 for a request naming a host this server does not answer for.
fn misdirected(host: &str) -> Response {
    ApiError {
        status: StatusCode::MISDIRECTED_REQUEST,
        code: "misdirected_request",
        message: format!(
            "this server does not answer for the host {host:?}: it answers for localhost, IP \
             addresses and the names given to `mhd serve` with --allowed-host or --public-url"
        ),
    }
    .into_response()
}

/// 401 for the API, with the scheme to use.
fn unauthorized(message: &str) -> Response {
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized",
        message: message.to_owned(),
    }
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mhd\""),
    );
    r
}

/// 403: JSON for the API, a short page for a browser.
fn forbidden(path: &str, message: &str) -> Response {
    if machine_facing(path) {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.to_owned(),
        }
        .into_response();
    }
    (
        StatusCode::FORBIDDEN,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::signin::message_page("Not allowed", message),
    )
        .into_response()
}

/// Whether the request carries the session's CSRF token, in the `X-CSRF-Token` header or in the
/// `csrf_token` field of a form (the form's body is read and put back). Compared in constant
/// time.
async fn csrf_matches(request: Request, expected: &str) -> (Request, bool) {
    let eq = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(v) = request.headers().get(CSRF_HEADER) {
        let ok = v.to_str().is_ok_and(eq);
        return (request, ok);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return (request, false);
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return (Request::from_parts(parts, Body::empty()), false);
    };
    let ok = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| fields.into_iter().find(|(k, _)| k == CSRF_FIELD))
        .is_some_and(|(_, v)| eq(&v));
    (Request::from_parts(parts, Body::from(bytes)), ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_needs_what_its_entry_says_and_other_methods_need_an_admin() {
        for route in routes::TABLE {
            assert_eq!(need(&route.method, Some(route.path)), route.access);
        }
        assert_eq!(need(&Method::HEAD, Some(paths::PAGE_ALERTS)), Access::Read);
        assert_eq!(need(&Method::GET, Some("/some/new/route")), Access::Admin);
        assert_eq!(need(&Method::GET, None), Access::Public);
        assert_eq!(need(&Method::POST, Some(paths::PAGE_ALERTS)), Access::Admin);
        assert_eq!(
            need(&Method::POST, Some(paths::API_OPERATIONS)),
            Access::Write
        );
        assert_eq!(
            need(&Method::GET, Some(paths::API_OPERATIONS)),
            Access::Read
        );
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mhd_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
