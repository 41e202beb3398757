//! Every route string of the server, in one place.

/// Liveness.
pub const HEALTH: &str = "/health";
/// Readiness.
pub const READY: &str = "/ready";
/// Prometheus metrics.
pub const METRICS: &str = "/metrics";
