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
        Metrics {
            registry,
            requests,
            latency,
            ingested_operations,
            websocket_clients,
            store_errors,
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
