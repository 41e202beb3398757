//! `POST /api/v1/secure/rollback` (and the rollback page's confirmed form,
//! [`crate::pages::rollback`]): runs what the plan configures for the component
//! (`crate::rollback`), one at a time per component, records it in the component's history (a
//! `rollback` operation) and in the audit log.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::{ApiError, ErrorDetail};
use crate::rollback::{RollbackOutcome, RollbackRequest};
use crate::security::Who;
use crate::state::AppState;

/// The longest reason, in characters.
pub const REASON_MAX: usize = 1000;

/// The body of a rollback request.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The plan component's id.
    #[serde(default)]
    #[schema(required = true, min_length = 1)]
    pub component: String,
    /// Why (required; recorded in the history and the audit log, and given to the program in
    /// `MHD_ROLLBACK_REASON`).
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// `POST /api/v1/secure/rollback` with `{component, reason}`: 200 with the outcome when the
/// rollback succeeded, 502 `rollback_failed` with the outcome when it ran and failed.
pub async fn rollback(
    State(state): State<AppState>,
    who: Who,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: Result<RollbackBody, ApiError> = super::alerts::json_body(&headers, body);
    if request.is_err() {
        crate::audit::record_result(&state, "rollback", "rollback", json!({}), &who, &request)
            .await;
    }
    let request = request?;
    let outcome = audited_rollback(&state, &who, &request.component, &request.reason).await?;
    Ok(outcome_response(&request.component, outcome))
}

/// The answer of a rollback that ran and succeeded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RolledBack<'a> {
    /// The component rolled back.
    pub component: &'a str,
    /// How the rollback went.
    pub outcome: RollbackOutcome,
}

/// The answer of a rollback that ran and failed (502 `rollback_failed`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RollbackFailed<'a> {
    /// `rollback_failed`, and why.
    pub error: ErrorDetail,
    /// The component whose rollback failed.
    pub component: &'a str,
    /// How the rollback went.
    pub outcome: RollbackOutcome,
}

fn outcome_response(component: &str, outcome: RollbackOutcome) -> Response {
    if outcome.ok {
        Json(RolledBack { component, outcome }).into_response()
    } else {
        let message = format!(
            "the rollback of {component} failed: {}",
            outcome.error.as_deref().unwrap_or("see the outcome")
        );
        (
            StatusCode::BAD_GATEWAY,
            Json(RollbackFailed {
                error: ErrorDetail {
                    code: "rollback_failed",
                    message,
                },
                component,
                outcome,
            }),
        )
            .into_response()
    }
}

/// Checks, runs and records a rollback of `component`; the audit entry says what happened
/// (refused when it could not start or failed).
pub async fn audited_rollback(
    state: &AppState,
    who: &Who,
    component: &str,
    reason: &str,
) -> Result<RollbackOutcome, ApiError> {
    let answer = run_rollback(state, who, component, reason).await;
    let resource = format!(
        "component {}",
        component.chars().take(100).collect::<String>()
    );
    let details = match &answer {
        Ok(o) => json!({
            "reason": reason, "via": o.via.as_str(), "ok": o.ok, "exit_code": o.exit_code,
            "status": o.status, "timed_out": o.timed_out, "duration_ms": o.duration_ms,
            "error": o.error,
        }),
        Err(_) => json!({ "reason": reason.chars().take(REASON_MAX).collect::<String>() }),
    };
    let recorded: Result<(), ApiError> = match &answer {
        Ok(o) if o.ok => Ok(()),
        Ok(o) => Err(ApiError {
            status: StatusCode::BAD_GATEWAY,
            code: "rollback_failed",
            message: o.error.clone().unwrap_or_default(),
        }),
        Err(e) => Err(ApiError {
            status: e.status,
            code: e.code,
            message: e.message.clone(),
        }),
    };
    crate::audit::record_result(state, "rollback", &resource, details, who, &recorded).await;
    answer
}

async fn run_rollback(
    state: &AppState,
    who: &Who,
    component: &str,
    reason: &str,
) -> Result<RollbackOutcome, ApiError> {
    let plan = state.plan().ok_or_else(ApiError::no_plan)?;
    let Some(c) = plan.components.iter().find(|c| c.id == component) else {
        let known: Vec<&str> = plan.components.iter().map(|c| c.id.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "component: {component:?} is not a component of the plan ({})",
            if known.is_empty() {
                "it has none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    let Some(action) = &c.rollback else {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "no_rollback",
            message: format!(
                "the plan says nothing about rolling back {component}: give its [[components]] \
                 entry a `rollback` (a command or a webhook)"
            ),
        });
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ApiError::bad_request(
            "reason: required: say why, for the history and the audit log",
        ));
    }
    if reason.chars().count() > REASON_MAX {
        return Err(ApiError::bad_request(format!(
            "reason: longer than {REASON_MAX} characters"
        )));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::bad_request(
            "reason: control characters are not allowed",
        ));
    }
    let _running = Running::start(state, component)?;
    let actor = who.caller.actor();
    let dir = state
        .plan_dir()
        .get()
        .cloned()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let request = RollbackRequest {
        component,
        requested_by: &actor,
        reason,
        requested_at: state.now(),
        plan_dir: &dir,
    };
    let outcome = crate::rollback::run(action, &request).await;
    let op = crate::rollback::history_operation(&request, &outcome);
    state.recorder().operations(&[op]).await?;
    Ok(outcome)
}

/// Marks a component's rollback as running until dropped; refuses a second one meanwhile.
struct Running<'a> {
    state: &'a AppState,
    component: String,
}

impl<'a> Running<'a> {
    fn start(state: &'a AppState, component: &str) -> Result<Running<'a>, ApiError> {
        let mut running = state
            .rollbacks()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !running.insert(component.to_owned()) {
            return Err(ApiError {
                status: StatusCode::CONFLICT,
                code: "in_progress",
                message: format!("a rollback of {component} is running already"),
            });
        }
        Ok(Running {
            state,
            component: component.to_owned(),
        })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.state
            .rollbacks()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.component);
    }
}
