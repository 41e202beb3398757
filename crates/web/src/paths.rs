//! Every path of the site, written once: the pages and forms the views link to, the API the
//! pages call, and the probes and assets. The server's route table (`mhd_server::routes`)
//! serves these same constants.

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
