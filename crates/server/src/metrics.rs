//! The program's own metrics in Prometheus text format: requests, latency, ingested
//! operations, WebSocket clients, store errors. An explicit registry, no global state.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a request: its route (the pattern, never the raw path) and status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route, such as `/api/v1/operations`.
    pub route: String,
    /// The method.
    pub method: String,
    /// The response's status code.
    pub status: u16,
}

/// Labels of a latency: the route.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The matched route.
    pub route: String,
}

/// Labels of an alert gauge: the severity.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeverityLabels {
    /// `info`, `warning`, `error` or `critical`.
    pub severity: String,
}

/// Every metric the server exposes.
pub struct Metrics {
    registry: Registry,
    /// `mhd_http_requests_total`.
    pub requests: Family<RequestLabels, Counter>,
    /// `mhd_http_request_duration_seconds`.
    pub latency: Family<RouteLabels, Histogram>,
    /// `mhd_ingested_operations_total`.
    pub ingested_operations: Counter,
    /// `mhd_websocket_clients`.
    pub websocket_clients: Gauge,
    /// `mhd_store_errors_total`.
    pub store_errors: Counter,
    /// `mhd_collector_*`: each collector's health.
    pub collectors: CollectorMetrics,
    /// `mhd_notifications_*`: notification deliveries.
    pub notify: NotifyMetrics,
    /// `mhd_alerts_firing`, by severity, as of the last evaluation.
    pub alerts_firing: Family<SeverityLabels, Gauge>,
    /// `mhd_alert_evaluations_total`.
    pub alert_evaluations: Counter,
    /// `mhd_alert_evaluation_failures_total`.
    pub alert_evaluation_failures: Counter,
    /// `mhd_alert_evaluation_duration_seconds`.
    pub alert_evaluation_duration: Histogram,
    /// `mhd_leader`: 1 while this server runs the background work (alerts, collectors,
    /// notifications) for its store, 0 while another one does.
    pub leader: Gauge,
    /// `mhd_plan_reloads_total`: plans put in force without a restart.
    pub plan_reloads: Counter,
    /// `mhd_plan_reload_failures_total`: changed plans refused (the one in force kept).
    pub plan_reload_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("mhd");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        let ingested_operations = Counter::default();
        let websocket_clients = Gauge::default();
        let store_errors = Counter::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request",
            latency.clone(),
        );
        registry.register(
            "ingested_operations",
            "Operations stored",
            ingested_operations.clone(),
        );
        registry.register(
            "websocket_clients",
            "Connected WebSocket clients",
            websocket_clients.clone(),
        );
        registry.register(
            "store_errors",
            "Store operations that failed",
            store_errors.clone(),
        );
        let collectors = CollectorMetrics::register(&mut registry);
        let notify = NotifyMetrics::register(&mut registry);
        let alerts_firing = Family::<SeverityLabels, Gauge>::default();
        let alert_evaluations = Counter::default();
        let alert_evaluation_failures = Counter::default();
        let alert_evaluation_duration = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "alerts_firing",
            "Alerts firing at the last evaluation, by severity",
            alerts_firing.clone(),
        );
        registry.register(
            "alert_evaluations",
            "Evaluations of the alert rules",
            alert_evaluations.clone(),
        );
        registry.register(
            "alert_evaluation_failures",
            "Evaluations of the alert rules that failed",
            alert_evaluation_failures.clone(),
        );
        registry.register(
            "alert_evaluation_duration_seconds",
            "Time one evaluation of the alert rules took",
            alert_evaluation_duration.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this server runs the alert loop, the collectors and the notifications of its store; 0 while another server does",
            leader.clone(),
        );
        let plan_reloads = Counter::default();
        registry.register(
            "plan_reloads",
            "Plans put in force without a restart (SIGHUP, or the plan file changed)",
            plan_reloads.clone(),
        );
        let plan_reload_failures = Counter::default();
        registry.register(
            "plan_reload_failures",
            "Changed plans refused because they are not valid; the plan in force is kept",
            plan_reload_failures.clone(),
        );
        Metrics {
            leader,
            plan_reloads,
            plan_reload_failures,
            registry,
            collectors,
            notify,
            requests,
            latency,
            ingested_operations,
            websocket_clients,
            store_errors,
            alerts_firing,
            alert_evaluations,
            alert_evaluation_failures,
            alert_evaluation_duration,
        }
    }
}

impl Metrics {
    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Labels of a collector's metrics: its name in the plan and its kind.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CollectorLabels {
    /// The collector's name.
    pub collector: String,
    /// Its kind (`prometheus`, `host`, …).
    pub kind: String,
}

/// The collectors' metrics (a clone counts into the same ones).
#[derive(Clone)]
pub struct CollectorMetrics {
    /// `mhd_collector_up`: 1 when the last run succeeded, else 0.
    pub up: Family<CollectorLabels, Gauge>,
    /// `mhd_collector_duration_seconds`: how long runs take.
    pub duration: Family<CollectorLabels, Histogram>,
    /// `mhd_collector_last_success_timestamp_seconds`: when the last run succeeded (Unix time).
    pub last_success: Family<CollectorLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// `mhd_collector_failures_total`: failed runs (errors and timeouts).
    pub failures: Family<CollectorLabels, Counter>,
}

impl CollectorMetrics {
    fn register(registry: &mut Registry) -> CollectorMetrics {
        let metrics = CollectorMetrics {
            up: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.001, 4.0, 10))
            }),
            last_success: Family::default(),
            failures: Family::default(),
        };
        registry.register(
            "collector_up",
            "Whether the collector's last run succeeded",
            metrics.up.clone(),
        );
        registry.register(
            "collector_duration_seconds",
            "Time a collector's run took",
            metrics.duration.clone(),
        );
        registry.register(
            "collector_last_success_timestamp_seconds",
            "When the collector's last run succeeded",
            metrics.last_success.clone(),
        );
        registry.register(
            "collector_failures",
            "Collector runs that failed or timed out",
            metrics.failures.clone(),
        );
        metrics
    }
}

/// Labels of a notification attempt: the channel's name and what came of it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    /// The channel's name in the plan.
    pub channel: String,
    /// `sent`, `retry` (failed, tried again later) or `failed` (given up).
    pub outcome: String,
}

/// Labels of a notification channel.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// The channel's name in the plan.
    pub channel: String,
}

/// The notification channels' metrics.
pub struct NotifyMetrics {
    /// `mhd_notifications_total{channel,outcome}`: delivery attempts by outcome.
    pub attempts: Family<NotificationLabels, Counter>,
    /// `mhd_notifications_pending{channel}`: deliveries waiting to be sent.
    pub pending: Family<ChannelLabels, Gauge>,
}

impl NotifyMetrics {
    fn register(registry: &mut Registry) -> NotifyMetrics {
        let metrics = NotifyMetrics {
            attempts: Family::default(),
            pending: Family::default(),
        };
        registry.register(
            "notifications",
            "Notification delivery attempts, by channel and outcome",
            metrics.attempts.clone(),
        );
        registry.register(
            "notifications_pending",
            "Notifications waiting to be sent, by channel",
            metrics.pending.clone(),
        );
        metrics
    }
}
