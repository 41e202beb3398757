//! The rollback page of a component: what its configured rollback does and the form
//! confirming it; the confirmed form runs it as `POST /api/v1/secure/rollback` does
//! ([`crate::api::rollback::audited_rollback`]) and shows what happened.

use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mhd_web::views::rollback::{RollbackPage, RollbackShown};
use serde::Deserialize;

use crate::api::rollback::audited_rollback;
use crate::error::ApiError;
use crate::rollback::RollbackOutcome;
use crate::security::Who;
use crate::state::AppState;

/// What `outcome` did, as the page shows it.
fn shown(outcome: RollbackOutcome) -> RollbackShown {
    RollbackShown {
        ok: outcome.ok,
        duration_ms: outcome.duration_ms,
        error: outcome.error,
        exit_code: outcome.exit_code,
        status: outcome.status,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        body: outcome.body,
    }
}

fn page_response(page: &RollbackPage, status: StatusCode) -> Response {
    super::template_page(status, page)
}

/// The page of component `id`'s rollback, or 404 when it has none.
fn rollback_page(state: &AppState, who: &Who, id: &str) -> Result<RollbackPage, ApiError> {
    let plan = state.plan();
    let c = plan
        .as_deref()
        .and_then(|p| p.components.iter().find(|c| c.id == id))
        .ok_or_else(|| ApiError::not_found(format!("no component {id:?} in the plan")))?;
    let action = c
        .rollback
        .as_ref()
        .ok_or_else(|| ApiError::not_found(format!("the plan configures no rollback for {id}")))?;
    let what = match &action.via {
        mhd_core::plan::RollbackVia::Command { program, args } => {
            let mut words = vec![program.clone()];
            words.extend(args.iter().cloned());
            format!("runs {}", words.join(" "))
        }
        mhd_core::plan::RollbackVia::Webhook { url, .. } => format!("calls the webhook {url}"),
    };
    Ok(RollbackPage::new(
        c.id.clone(),
        c.name.clone(),
        what,
        mhd_core::plan::duration_text(action.timeout),
        who.caller.viewer(),
    ))
}

/// `GET /components/{component}/rollback`: what the rollback does, and the form confirming it.
pub async fn show(
    State(state): State<AppState>,
    who: Who,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = path else {
        return ApiError::bad_request("component: not a component id").into_response();
    };
    match rollback_page(&state, &who, &id) {
        Ok(page) => page_response(&page, StatusCode::OK),
        Err(e) => e.into_response(),
    }
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct RollbackForm {
    /// Why.
    #[serde(default)]
    reason: String,
}

/// `POST /components/{component}/rollback` (the confirmed form): runs it, shows what happened.
pub async fn confirm(
    State(state): State<AppState>,
    who: Who,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<RollbackForm>, FormRejection>,
) -> Response {
    let Ok(Path(id)) = path else {
        return ApiError::bad_request("component: not a component id").into_response();
    };
    let mut page = match rollback_page(&state, &who, &id) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let reason = form.map(|Form(f)| f.reason).unwrap_or_default();
    match audited_rollback(&state, &who, &id, &reason).await {
        Ok(outcome) => {
            let status = if outcome.ok {
                StatusCode::OK
            } else {
                StatusCode::BAD_GATEWAY
            };
            page.outcome = Some(shown(outcome));
            page_response(&page, status)
        }
        Err(e) => {
            let status = e.status;
            page.error = Some(e.message);
            page_response(&page, status)
        }
    }
}
