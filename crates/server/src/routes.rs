//! Every route of the server, in one place: in [`TABLE`], each (method, path) with its
//! handler, the access it needs and, for the API, its OpenAPI operation; the paths are the
//! constants of [`mhd_web::paths`], which the pages link to. The router ([`router`]), the
//! access layer (`access::need`) and the OpenAPI document
//! ([`crate::api::openapi::document`]) are all built from the table, so a route is added in
//! one line and cannot lack a handler, a role or its documentation.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};
use axum::{Json, Router};
use mhd_core::auth::Access::{self, Admin, Operate, Public, Read, Write};
use mhd_web::paths::*;
use serde_json::Value;
use tower_http::compression::CompressionLayer;

use crate::api::{
    self, alerts, audit, notify, operations as doc, reads, reports, rollback, writes,
};
use crate::state::AppState;

/// What a route serves, which decides the layers it is served with.
#[derive(Clone, Copy)]
pub enum Kind {
    /// A route of the REST API (JSON, the body limit of writes), with the function giving its
    /// operation in the OpenAPI document.
    Api(fn() -> Value),
    /// A page, a page's form or an asset: personalised for the caller and compressed.
    Page,
    /// Answered as its handler answers: probes, metrics, the WebSocket, sign-in and sign-out.
    Plain,
}

/// One route: a method on a path, its handler, who may call it and what it serves.
pub struct Route {
    /// The method (a `GET` route also answers `HEAD`).
    pub method: Method,
    /// The path pattern, one of the constants of [`mhd_web::paths`].
    pub path: &'static str,
    /// Who may call it (enforced by [`crate::access::authorize`]).
    pub access: Access,
    /// What it serves.
    pub kind: Kind,
    /// Makes its handler.
    pub handler: fn() -> MethodRouter<AppState>,
}

/// A route of `kind`.
const fn route(
    method: Method,
    path: &'static str,
    access: Access,
    kind: Kind,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    Route {
        method,
        path,
        access,
        kind,
        handler,
    }
}

/// A route of the API.
const fn api(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
    operation: fn() -> Value,
) -> Route {
    route(method, path, access, Kind::Api(operation), handler)
}

/// A page, a page's form or an asset.
const fn page(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    route(method, path, access, Kind::Page, handler)
}

/// Any other route.
const fn plain(
    method: Method,
    path: &'static str,
    access: Access,
    handler: fn() -> MethodRouter<AppState>,
) -> Route {
    route(method, path, access, Kind::Plain, handler)
}

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const DELETE: Method = Method::DELETE;

/// Every route of the server.
#[rustfmt::skip]
pub static TABLE: &[Route] = &[
    // Probes, metrics and the WebSocket.
    plain(GET, HEALTH, Public, || get(crate::probes::health)),
    plain(GET, READY, Public, || get(crate::probes::ready)),
    plain(GET, METRICS, Read, || get(crate::probes::metrics)),
    plain(GET, WS_DASHBOARD, Read, crate::ws::dashboard),
    // Signing in and out.
    plain(GET, SIGN_IN, Public, || get(crate::signin::sign_in_page)),
    plain(POST, SIGN_IN, Public, || post(crate::signin::sign_in)),
    plain(POST, SIGN_OUT, Public, || post(crate::signin::sign_out)),
    // Pages, their forms and assets.
    page(GET, OVERVIEW, Read, || get(crate::pages::overview)),
    page(GET, PAGE_SUMMARY, Read, || get(crate::pages::summary)),
    page(GET, PAGE_TIMELINE, Read, || get(crate::pages::timeline)),
    page(GET, PAGE_COMPONENTS, Read, || get(crate::pages::components)),
    page(GET, PAGE_LIVE, Read, || get(crate::pages::live)),
    page(GET, PAGE_TESTS, Read, || get(crate::pages::tests)),
    page(GET, PAGE_PERFORMANCE, Read, || get(crate::pages::performance)),
    page(GET, PAGE_RESOURCES, Read, || get(crate::pages::resources)),
    page(GET, PAGE_DATASETS, Read, || get(crate::pages::datasets)),
    page(GET, PAGE_HOW, Read, || get(crate::pages::how)),
    page(GET, PAGE_ALERTS, Read, || get(crate::pages::alerts::show)),
    page(POST, PAGE_ALERT_ACK, Operate, || post(crate::pages::alerts::acknowledge)),
    page(POST, PAGE_ALERT_JIRA, Operate, || post(crate::pages::alerts::jira)),
    page(POST, PAGE_ALERT_SILENCES, Operate, || post(crate::pages::alerts::silence)),
    page(POST, PAGE_ALERT_UNSILENCE, Operate, || post(crate::pages::alerts::unsilence)),
    page(GET, PAGE_ROLLBACK, Admin, || get(crate::pages::rollback::show)),
    page(POST, PAGE_ROLLBACK, Admin, || post(crate::pages::rollback::confirm)),
    page(GET, ASSETS, Public, || get(crate::assets::asset)),
    page(GET, SERVICE_WORKER, Public, || get(crate::assets::service_worker)),
    // The API.
    api(GET, API_SUMMARY, Read, || get(reads::summary), doc::summary_get),
    api(GET, API_TIMELINE, Read, || get(reads::timeline), doc::timeline_get),
    api(GET, API_COMPONENTS, Read, || get(reads::components), doc::components_get),
    api(GET, API_LIVE, Read, || get(reads::live), doc::live_get),
    api(GET, API_ALERTS, Read, || get(alerts::list), doc::alerts_get),
    api(GET, API_ALERT, Read, || get(alerts::one), doc::alert_get),
    api(POST, API_ALERT_ACK, Operate, || post(alerts::acknowledge), doc::alert_ack_post),
    api(POST, API_ALERT_SILENCES, Operate, || post(alerts::silence), doc::alert_silences_post),
    api(DELETE, API_ALERT_SILENCE, Operate, || delete(alerts::unsilence), doc::alert_silence_delete),
    api(GET, API_TESTS, Read, || get(reads::tests), doc::tests_get),
    api(GET, API_DATASETS, Read, || get(reads::datasets), doc::datasets_get),
    api(GET, API_PERFORMANCE, Read, || get(reads::performance), doc::performance_get),
    api(GET, API_RESOURCES, Read, || get(reads::resources), doc::resources_get),
    api(GET, API_RESOURCES_HISTORY, Read, || get(reads::resources_history), doc::resources_history_get),
    api(GET, API_OPERATIONS, Read, || get(reads::operations), doc::operations_get),
    api(POST, API_OPERATIONS, Write, || post(writes::operations), doc::operations_post),
    api(POST, API_JUNIT, Write, || post(writes::junit), doc::junit_post),
    api(POST, API_BENCHMARKS, Write, || post(writes::benchmarks), doc::benchmarks_post),
    api(GET, API_SAMPLES, Read, || get(reads::samples), doc::samples_get),
    api(POST, API_SAMPLES, Write, || post(writes::samples), doc::samples_post),
    api(GET, API_OPENAPI, Public, || get(openapi), doc::openapi_get),
    api(GET, API_REPORTS, Read, || get(reports::generate), doc::reports_get),
    api(GET, API_REPORT, Read, || get(reports::stored), doc::report_get),
    api(GET, API_NOTIFICATIONS, Read, || get(notify::deliveries), doc::notifications_get),
    api(POST, API_ALERT_JIRA, Operate, || post(notify::jira_issue), doc::alert_jira_post),
    // Proven by the chat platform's signature, checked by its handler.
    api(POST, API_CHAT_COMMAND, Public, || post(notify::chat_command), doc::chat_command_post),
    api(GET, API_AUDIT, Admin, || get(audit::entries), doc::audit_get),
    api(GET, API_WHOAMI, Public, || get(crate::signin::whoami), doc::whoami_get),
    api(POST, API_ROLLBACK, Admin, || post(rollback::rollback), doc::rollback_post),
];

/// The routes of [`TABLE`] of one kind, each path with all its methods.
fn group(of: impl Fn(&Kind) -> bool) -> Router<AppState> {
    let mut paths: Vec<&str> = TABLE
        .iter()
        .filter(|r| of(&r.kind))
        .map(|r| r.path)
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut router = Router::new();
    for path in paths {
        let methods = TABLE
            .iter()
            .filter(|r| r.path == path && of(&r.kind))
            .fold(MethodRouter::new(), |m, r| m.merge((r.handler)()));
        router = router.route(path, methods);
    }
    router
}

/// The OpenAPI document of every API route of [`TABLE`] ([`crate::api::openapi`]).
pub fn openapi_document() -> Value {
    api::openapi::document(TABLE.iter().filter_map(|r| match r.kind {
        Kind::Api(operation) => Some((&r.method, r.path, r.access, operation)),
        Kind::Page | Kind::Plain => None,
    }))
}

/// `GET /api/v1/openapi.json`.
async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// The API's routes (those of [`TABLE`] of kind [`Kind::Api`]) with the body limit of writes
/// and the batcher of operations.
pub fn api_routes() -> Router<AppState> {
    group(|k| matches!(k, Kind::Api(_)))
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .layer(axum::Extension(writes::Batcher::default()))
}

/// Every route of [`TABLE`], each kind with its layers.
pub fn router() -> Router<AppState> {
    let pages = group(|k| matches!(k, Kind::Page)).layer(CompressionLayer::new());
    api_routes()
        .merge(pages)
        .merge(group(|k| matches!(k, Kind::Plain)))
}

/// The route of [`TABLE`] for `method` on the route pattern `path` (`HEAD` is `GET`'s).
pub fn find(method: &Method, path: &str) -> Option<&'static Route> {
    static INDEX: OnceLock<HashMap<&'static str, Vec<&'static Route>>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        let mut index: HashMap<&'static str, Vec<&'static Route>> = HashMap::new();
        for route in TABLE {
            index.entry(route.path).or_default().push(route);
        }
        index
    });
    let method = if *method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    index
        .get(path)?
        .iter()
        .find(|r| r.method == *method)
        .copied()
}
