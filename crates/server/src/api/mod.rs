//! The REST API under `/api/v1` (DESIGN §4 "HTTP API"): the views as JSON — the same documents
//! as the CLI's `--json` — and the writes that feed them, described by the OpenAPI document at
//! `/api/v1/openapi.json`.
//!
//! [`API_ROUTES`] lists every (method, path) of the API; [`routes()`] builds the router from that
//! list and [`openapi::document`] must describe each of them (a test checks both ways).
//!
//! - [`reads`]: the views and the recent operations;
//! - [`writes`]: operations (batched into shared transactions by [`writes::Batcher`]), JUnit
//!   reports, benchmarks and samples, each durable before its `201`;
//! - [`openapi`]: the hand-written OpenAPI 3.0 document.
//! - [`alerts`]: alerts, acknowledgements and silences (and the alerts page's forms).
//! - [`notify`]: notification deliveries, Jira issues on request and the chat command endpoint.

pub mod alerts;
pub mod audit;
pub mod notify;
pub mod openapi;
pub mod reads;
pub mod reports;
pub mod rollback;
pub mod writes;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, delete, get, post};

use crate::error::ApiError;
use crate::routes;
use crate::state::AppState;

/// The largest request body a write accepts: 16 MiB. Larger bodies are answered 413.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Every route of the API as (method, path): the router is built from this list and the
/// OpenAPI document describes each entry.
pub const API_ROUTES: &[(&str, &str)] = &[
    ("GET", routes::API_SUMMARY),
    ("GET", routes::API_TIMELINE),
    ("GET", routes::API_COMPONENTS),
    ("GET", routes::API_LIVE),
    ("GET", routes::API_ALERTS),
    ("GET", routes::API_ALERT),
    ("POST", routes::API_ALERT_ACK),
    ("POST", routes::API_ALERT_SILENCES),
    ("DELETE", routes::API_ALERT_SILENCE),
    ("GET", routes::API_TESTS),
    ("GET", routes::API_DATASETS),
    ("GET", routes::API_PERFORMANCE),
    ("GET", routes::API_RESOURCES),
    ("GET", routes::API_RESOURCES_HISTORY),
    ("GET", routes::API_OPERATIONS),
    ("POST", routes::API_OPERATIONS),
    ("POST", routes::API_JUNIT),
    ("POST", routes::API_BENCHMARKS),
    ("POST", routes::API_SAMPLES),
    ("GET", routes::API_SAMPLES),
    ("GET", routes::API_OPENAPI),
    ("GET", routes::API_NOTIFICATIONS),
    ("POST", routes::API_ALERT_JIRA),
    ("POST", routes::API_CHAT_COMMAND),
    ("GET", routes::API_REPORTS),
    ("GET", routes::API_REPORT),
    ("GET", routes::API_AUDIT),
    ("GET", routes::API_WHOAMI),
    ("POST", routes::API_ROLLBACK),
];

/// The API's routes, to merge into the server's router (`app()`).
///
/// # Panics
///
/// When [`API_ROUTES`] names a route without a handler (a programming error a test catches).
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    let mut paths: Vec<&str> = API_ROUTES.iter().map(|(_, p)| *p).collect();
    paths.sort_unstable();
    paths.dedup();
    for path in paths {
        let mut methods: MethodRouter<AppState> = MethodRouter::new();
        for (method, p) in API_ROUTES {
            if *p == path {
                methods = methods.merge(handler(method, path));
            }
        }
        router = router.route(path, methods);
    }
    router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::Extension(writes::Batcher::default()))
}

/// The handler of one entry of [`API_ROUTES`].
fn handler(method: &str, path: &str) -> MethodRouter<AppState> {
    match (method, path) {
        ("GET", routes::API_SUMMARY) => get(reads::summary),
        ("GET", routes::API_TIMELINE) => get(reads::timeline),
        ("GET", routes::API_COMPONENTS) => get(reads::components),
        ("GET", routes::API_LIVE) => get(reads::live),
        ("GET", routes::API_ALERTS) => get(alerts::list),
        ("GET", routes::API_ALERT) => get(alerts::one),
        ("POST", routes::API_ALERT_ACK) => post(alerts::acknowledge),
        ("POST", routes::API_ALERT_SILENCES) => post(alerts::silence),
        ("DELETE", routes::API_ALERT_SILENCE) => delete(alerts::unsilence),
        ("GET", routes::API_TESTS) => get(reads::tests),
        ("GET", routes::API_DATASETS) => get(reads::datasets),
        ("GET", routes::API_PERFORMANCE) => get(reads::performance),
        ("GET", routes::API_RESOURCES) => get(reads::resources),
        ("GET", routes::API_RESOURCES_HISTORY) => get(reads::resources_history),
        ("GET", routes::API_OPERATIONS) => get(reads::operations),
        ("POST", routes::API_OPERATIONS) => post(writes::operations),
        ("POST", routes::API_JUNIT) => post(writes::junit),
        ("POST", routes::API_BENCHMARKS) => post(writes::benchmarks),
        ("POST", routes::API_SAMPLES) => post(writes::samples),
        ("GET", routes::API_SAMPLES) => get(reads::samples),
        ("GET", routes::API_OPENAPI) => get(openapi::serve),
        ("GET", routes::API_REPORTS) => get(reports::generate),
        ("GET", routes::API_REPORT) => get(reports::stored),
        ("GET", routes::API_NOTIFICATIONS) => get(notify::deliveries),
        ("POST", routes::API_ALERT_JIRA) => post(notify::jira_issue),
        ("POST", routes::API_CHAT_COMMAND) => post(notify::chat_command),
        ("GET", routes::API_AUDIT) => get(audit::entries),
        ("GET", routes::API_WHOAMI) => get(crate::signin::whoami),
        ("POST", routes::API_ROLLBACK) => post(rollback::rollback),
        _ => panic!("API_ROUTES names {method} {path} but no handler serves it"),
    }
}

/// Query parameters as (name, value) pairs, refusing names outside `known` so that a typo is
/// an error rather than a silently ignored filter.
pub(crate) type Params = Vec<(String, String)>;

/// Reads the query string's parameters, or answers 400 naming what is wrong.
pub(crate) fn params(
    query: Result<axum::extract::Query<Params>, QueryRejection>,
    known: &[&str],
) -> Result<Params, ApiError> {
    let axum::extract::Query(pairs) =
        query.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    for (name, _) in &pairs {
        if !known.contains(&name.as_str()) {
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(ApiError::bad_request(format!(
                "parameter `{name}`: unknown (this route takes: {known})"
            )));
        }
    }
    let mut seen: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    seen.sort_unstable();
    if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApiError::bad_request(format!(
            "parameter `{}`: given more than once",
            w[0]
        )));
    }
    Ok(pairs)
}

/// The value of parameter `name`, if given.
pub(crate) fn param<'a>(pairs: &'a Params, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A body that could not be read: 413 over [`BODY_LIMIT`], else 400 — both in the API's shape.
fn body_error(e: &BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(BODY_LIMIT)
    } else {
        ApiError::bad_request(format!("the body could not be read: {}", e.body_text()))
    }
}

/// The media type of a request (`application/json` of `application/json; charset=utf-8`),
/// lowercase, or `None` without a `Content-Type`.
fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}
