//! `GET /api/v1/audit`: the audit log, newest first.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use mhd_store::audit::AuditFilter;
use mhd_store::prelude::*;
use serde_json::json;

use super::{Params, param, params};
use crate::error::ApiError;
use crate::state::AppState;

/// The parameters of `GET /api/v1/audit`.
pub const AUDIT_PARAMS: &[&str] = &["since", "action", "limit"];
/// Entries answered without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 10_000;

/// `GET /api/v1/audit?since&action&limit`: `{"entries": [...]}`, newest first; 400 naming a bad
/// parameter.
pub async fn entries(
    State(state): State<AppState>,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let pairs = params(query, AUDIT_PARAMS)?;
    let since = param(&pairs, "since")
        .map(|v| {
            mhd_core::time_parse::parse_timestamp(v)
                .map_err(|e| ApiError::bad_request(format!("parameter `since`: {e}")))
        })
        .transpose()?;
    let action = match param(&pairs, "action").map(str::trim) {
        None => None,
        Some("") => {
            return Err(ApiError::bad_request(
                "parameter `action`: empty; name an action such as operations.write",
            ));
        }
        Some(a) => Some(a.to_owned()),
    };
    let limit = match param(&pairs, "limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "parameter `limit`: {v:?} is not a whole number from 1 to {MAX_LIMIT}"
                )));
            }
        },
    };
    let entries = state
        .store
        .audit_entries(&AuditFilter {
            since,
            action,
            limit,
        })
        .await?;
    Ok(Json(json!({ "entries": entries })))
}
