//! `GET /api/v1/audit`: the audit log, newest first.

use axum::Json;
use axum::extract::State;
use mhd_store::audit::AuditFilter;
use mhd_store::prelude::*;

use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use super::Query;
use crate::error::ApiError;
use crate::state::AppState;

/// The parameters of `GET /api/v1/audit`.
/// The answer of `GET /api/v1/audit`: the entries, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditLog {
    /// The entries, newest first.
    pub entries: Vec<mhd_store::audit::Entry>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries at or after this time (RFC 3339 or a date, UTC midnight).
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// Only this action, such as `operations.write` or `silence.add`.
    #[param(min_length = 1)]
    pub action: Option<String>,
    /// At most this many entries (1 to 10000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10000, default = 100)]
    pub limit: Option<String>,
}
/// Entries answered without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit`.
pub const MAX_LIMIT: u32 = 10_000;

/// `GET /api/v1/audit?since&action&limit`: `{"entries": [...]}`, newest first; 400 naming a bad
/// parameter.
pub async fn entries(
    State(state): State<AppState>,
    Query(query): Query<AuditParams>,
) -> Result<Json<AuditLog>, ApiError> {
    let since = query
        .since
        .as_deref()
        .map(|v| {
            mhd_core::time_parse::parse_timestamp(v)
                .map_err(|e| ApiError::bad_request(format!("parameter `since`: {e}")))
        })
        .transpose()?;
    let action = match query.action.as_deref().map(str::trim) {
        None => None,
        Some("") => {
            return Err(ApiError::bad_request(
                "parameter `action`: empty; name an action such as operations.write",
            ));
        }
        Some(a) => Some(a.to_owned()),
    };
    let limit = match query.limit.as_deref() {
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
        .store()
        .audit_entries(&AuditFilter {
            since,
            action,
            limit,
        })
        .await?;
    Ok(Json(AuditLog { entries }))
}
