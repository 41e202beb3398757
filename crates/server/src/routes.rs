//! Every route of the server, in one place: its path (the constants below) and, in [`TABLE`],
//! each (method, path) with its handler, the access it needs and, for the API, its OpenAPI
//! operation. The router ([`router`]), the access layer ([`crate::access::need`]) and the
//! OpenAPI document ([`crate::api::openapi::document`]) are all built from the table, so a
//! route is added in one line and cannot lack a handler, a role or its documentation.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};
use mhd_core::auth::Access::{self, Admin, Operate, Public, Read, Write};
use serde_json::Value;
use tower_http::compression::CompressionLayer;

use crate::api::{self, alerts, audit, notify, openapi as doc, reads, reports, rollback, writes};
use crate::state::AppState;

/// Liveness.
pub const HEALTH: &str = "/health";
/// Readiness.
pub const READY: &str = "/ready";
/// Prometheus metrics.
pub const METRICS: &str = "/metrics";

/// The REST API's prefix.
pub const API: &str = "/api/v1";
/// The executive summary.
pub const API_SUMMARY: &str = "/api/v1/health/summary";
/// The migration timeline.
pub const API_TIMELINE: &str = "/api/v1/migration/timeline";
/// The component health matrix.
pub const API_COMPONENTS: &str = "/api/v1/components/health";
/// Live metrics.
pub const API_LIVE: &str = "/api/v1/metrics/live";
/// Alerts.
pub const API_ALERTS: &str = "/api/v1/alerts";
/// Test results.
pub const API_TESTS: &str = "/api/v1/tests";
/// Performance comparisons.
pub const API_PERFORMANCE: &str = "/api/v1/performance";
/// Operations: recent ones (GET), new ones (POST).
pub const API_OPERATIONS: &str = "/api/v1/operations";
/// A JUnit XML report.
pub const API_JUNIT: &str = "/api/v1/tests/junit";
/// Benchmark results.
pub const API_BENCHMARKS: &str = "/api/v1/benchmarks";
/// Samples (points of time series) pushed by collectors or anyone.
pub const API_SAMPLES: &str = "/api/v1/samples";
/// Resource utilization.
pub const API_RESOURCES: &str = "/api/v1/resources";
/// Resource samples over a span, from the raw samples or the aggregates retention keeps.
pub const API_RESOURCES_HISTORY: &str = "/api/v1/resources/history";
/// A report of a range of days, as HTML or PDF.
pub const API_REPORTS: &str = "/api/v1/reports/generate";
/// A stored scheduled report (the document as it was sent).
pub const API_REPORT: &str = "/api/v1/reports/{report_id}";
/// The OpenAPI document.
pub const API_OPENAPI: &str = "/api/v1/openapi.json";
/// The overview page.
pub const OVERVIEW: &str = "/";
/// The dashboard's WebSocket of live updates.
pub const WS_DASHBOARD: &str = "/ws/dashboard";
/// The executive summary page.
pub const PAGE_SUMMARY: &str = "/summary";
/// The timeline page.
pub const PAGE_TIMELINE: &str = "/timeline";
/// The component matrix page.
pub const PAGE_COMPONENTS: &str = "/components";
/// The live metrics page.
pub const PAGE_LIVE: &str = "/live";
/// The test results page.
pub const PAGE_TESTS: &str = "/tests";
/// The performance comparison page.
pub const PAGE_PERFORMANCE: &str = "/performance";
/// The datasets page: every dataset with its state, filterable.
pub const PAGE_DATASETS: &str = "/datasets";
/// The page "How these numbers are made".
pub const PAGE_HOW: &str = "/how";
/// Every dataset with its state (`?state=&component=`).
pub const API_DATASETS: &str = "/api/v1/datasets";
/// The resource utilization page.
pub const PAGE_RESOURCES: &str = "/resources";
/// Embedded assets, served under content-hashed names (`/assets/live.<hash>.js`).
pub const ASSETS: &str = "/assets/{file}";
/// The service worker; served from the root so its scope is the whole site.
pub const SERVICE_WORKER: &str = "/sw.js";
/// Notification channels and their recent deliveries.
pub const API_NOTIFICATIONS: &str = "/api/v1/notifications";
/// Makes the Jira issue of an alert (the dashboard's button).
pub const API_ALERT_JIRA: &str = "/api/v1/alerts/{alert_id}/jira";
/// The chat command endpoint: Slack slash commands answering `status` and `alerts`.
pub const API_CHAT_COMMAND: &str = "/api/v1/chat/command";
/// One alert with its history.
pub const API_ALERT: &str = "/api/v1/alerts/{alert_id}";
/// Acknowledges an alert.
pub const API_ALERT_ACK: &str = "/api/v1/alerts/acknowledge/{alert_id}";
/// Silences: a new one (POST).
pub const API_ALERT_SILENCES: &str = "/api/v1/alerts/silences";
/// One silence: its removal (DELETE).
pub const API_ALERT_SILENCE: &str = "/api/v1/alerts/silences/{id}";
/// The alerts page.
pub const PAGE_ALERTS: &str = "/alerts";
/// The alerts page's acknowledge form.
pub const PAGE_ALERT_ACK: &str = "/alerts/acknowledge/{alert_id}";
/// The alerts page's "create a Jira issue" form.
pub const PAGE_ALERT_JIRA: &str = "/alerts/{alert_id}/jira";
/// The alerts page's form adding a silence.
pub const PAGE_ALERT_SILENCES: &str = "/alerts/silences";
/// The alerts page's form removing a silence.
pub const PAGE_ALERT_UNSILENCE: &str = "/alerts/silences/{id}/remove";
/// The audit log: who changed what, from where, done or refused.
pub const API_AUDIT: &str = "/api/v1/audit";
/// The sign-in page (GET) and form (POST).
pub const SIGN_IN: &str = "/signin";
/// Signing out (POST).
pub const SIGN_OUT: &str = "/signout";
/// Who the server takes the caller for.
pub const API_WHOAMI: &str = "/api/v1/auth/whoami";
/// Runs the rollback the plan configures for a component (admin).
pub const API_ROLLBACK: &str = "/api/v1/secure/rollback";
/// The page confirming a component's rollback (GET) and running it (POST).
pub const PAGE_ROLLBACK: &str = "/components/{component}/rollback";

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
    /// The path pattern, one of the constants of this module.
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
    plain(GET, HEALTH, Public, || get(crate::app::health)),
    plain(GET, READY, Public, || get(crate::app::ready)),
    plain(GET, METRICS, Read, || get(crate::app::metrics)),
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
    page(GET, PAGE_ALERTS, Read, || get(alerts::page_get)),
    page(POST, PAGE_ALERT_ACK, Operate, || post(alerts::page_acknowledge)),
    page(POST, PAGE_ALERT_JIRA, Operate, || post(alerts::page_jira)),
    page(POST, PAGE_ALERT_SILENCES, Operate, || post(alerts::page_silence)),
    page(POST, PAGE_ALERT_UNSILENCE, Operate, || post(alerts::page_unsilence)),
    page(GET, PAGE_ROLLBACK, Admin, || get(rollback::page_get)),
    page(POST, PAGE_ROLLBACK, Admin, || post(rollback::page_post)),
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
    api(GET, API_OPENAPI, Public, || get(doc::serve), doc::openapi_get),
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
pub(crate) fn group(of: impl Fn(&Kind) -> bool) -> Router<AppState> {
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

/// Every route of [`TABLE`], each kind with its layers.
pub fn router() -> Router<AppState> {
    let pages = group(|k| matches!(k, Kind::Page))
        .layer(axum::middleware::from_fn(crate::chrome::personalize))
        .layer(CompressionLayer::new());
    api::routes()
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
