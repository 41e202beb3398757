//! The probes and the program's own metrics: `/health` (the process is alive), `/ready` (the
//! store answers and takes writes, the plan is loaded, the views are computed) and `/metrics`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mhd_store::Store;

use crate::metrics::Metrics;
use crate::state::AppState;

/// `/health`: the process is alive.
pub(crate) async fn health() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// How long `/ready` waits for the store: a database that has not answered by then (a
/// PostgreSQL server restarting, say) makes the server not ready, rather than the probe timing
/// out.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `/ready`: the store answers and takes writes, and the plan is loaded (when one was given);
/// after `mhd serve` starts, 503 "warming" until the views the first requests read are computed.
///
/// After a write failed because of the disk (full, say), each call tries one small write, so
/// the store is reported unhealthy while writes fail and healthy again once they succeed.
pub(crate) async fn ready(State(state): State<AppState>) -> Response {
    if state.is_warming() {
        let body = serde_json::json!({
            "status": "warming",
            "store": "computing the views before the first request",
            "plan": state.plan().as_deref().map(|p| p.migration.name.clone()),
        });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let checked = tokio::time::timeout(READY_WAIT, async {
        state.store().first_operation_at().await?;
        state.store().check_writable(state.now()).await
    })
    .await;
    let store = match checked {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            state.metrics().store_errors.inc();
            Err(e.to_string())
        }
        Err(_) => {
            state.metrics().store_errors.inc();
            Err(format!(
                "the store does not answer within {} s",
                READY_WAIT.as_secs()
            ))
        }
    };
    let problem = state
        .plan_problem()
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let mut body = serde_json::json!({
        "status": if store.is_ok() { "ready" } else { "not_ready" },
        "store": store.as_ref().map_or_else(|e| e.as_str(), |()| "ok"),
        "plan": state.plan().as_deref().map(|p| p.migration.name.clone()),
    });
    // A changed plan that was refused: the server runs on the one in force, and says why.
    if let Some(problem) = problem {
        body["plan_reload"] = serde_json::json!({ "status": "refused", "error": problem });
    }
    let status = if store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `/metrics`: Prometheus text format.
pub(crate) async fn metrics(State(metrics): State<Arc<Metrics>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}
