//! The notification routes: the channels and their recent deliveries, a Jira issue made from an
//! alert on request, and the chat command endpoint.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mhd_store::alerts::AlertStore;
use mhd_store::outbox::{DeliveryFilter, DeliveryState, DeliveryStatus, Outbox};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

use super::body_error;
use crate::error::ApiError;
use crate::notify::{ChannelInfo, JiraError};
use crate::state::AppState;

/// Deliveries `GET /api/v1/notifications` lists without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most deliveries it lists.
pub const MAX_LIMIT: u32 = 1000;

/// The parameters of `GET /api/v1/notifications`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesParams {
    /// At most this many deliveries (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// Only this channel.
    pub channel: Option<String>,
    /// The state: see `delivery_state_schema`.
    #[param(schema_with = delivery_state_schema)]
    pub state: Option<String>,
    /// Only deliveries of this alert.
    #[param(value_type = Option<i64>)]
    pub alert_id: Option<String>,
}

/// The schema of `state`, with its description.
fn delivery_state_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["pending", "sent", "failed"],
        None,
        "Only deliveries in this state.",
    )
}

/// `GET /api/v1/notifications`: the channels (their routing, never their addresses or secrets),
/// the pending deliveries per channel, and the recent deliveries newest first with their state,
/// attempts and last error (never their payload).
pub async fn deliveries(
    State(state): State<AppState>,
    super::Query(query): super::Query<DeliveriesParams>,
) -> Result<Response, ApiError> {
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter `limit`: {v:?} is not a number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let delivery_state = query
        .state
        .as_deref()
        .map(|v| {
            DeliveryState::parse(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter `state`: {v:?} is not pending, sent or failed"
                ))
            })
        })
        .transpose()?;
    let alert_id = query
        .alert_id
        .as_deref()
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("parameter `alert_id`: {v:?} is not a number"))
            })
        })
        .transpose()?;
    let filter = DeliveryFilter {
        limit,
        channel: query.channel,
        state: delivery_state,
        alert_id,
    };
    let deliveries = state.store().recent_deliveries(&filter).await?;
    let pending = state
        .store()
        .pending_deliveries()
        .await?
        .into_iter()
        .collect();
    let channels = state
        .notifier()
        .as_ref()
        .map(crate::notify::Notifier::channels)
        .unwrap_or_default();
    Ok(Json(Notifications {
        channels,
        pending,
        deliveries,
    })
    .into_response())
}

/// The answer of `GET /api/v1/notifications`: the channels, the pending deliveries per
/// channel and the recent deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Notifications {
    /// The plan's channels: their routing, never their addresses or secrets.
    pub channels: Vec<ChannelInfo>,
    /// Pending deliveries per channel name.
    pub pending: BTreeMap<String, u64>,
    /// The recent deliveries, newest first; never their payload.
    pub deliveries: Vec<DeliveryStatus>,
}

/// The answer of `POST /api/v1/alerts/{alert_id}/jira`: the issue made.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JiraIssueMade {
    /// The alert's id.
    pub alert_id: i64,
    /// The issue's key, such as `OPS-7`.
    pub issue_key: String,
    /// Jira's id of the issue.
    pub issue_id: Option<String>,
    /// The issue's page.
    pub url: Option<String>,
    /// The channel that made it.
    pub channel: String,
}

/// `POST /api/v1/alerts/{alert_id}/jira`: makes the alert's Jira issue now, through the first
/// Jira channel; 201 with its key, 409 when the alert has one, 404 for an unknown alert or
/// without a Jira channel, 502 when Jira refuses or cannot be reached, 503 while notifications
/// are not running.
pub async fn jira_issue(
    State(state): State<AppState>,
    client: crate::security::Who,
    Path(alert_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = alert_id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("alert_id {alert_id:?}: not an alert id")))?;
    let issue = audited_jira_issue(&state, client, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(JiraIssueMade {
            alert_id: issue.alert_id,
            issue_key: issue.issue_key,
            issue_id: issue.issue_id,
            url: issue.issue_url,
            channel: issue.channel,
        }),
    )
        .into_response())
}

/// [`create_jira_issue`], recorded in the audit log, done or refused.
pub async fn audited_jira_issue(
    state: &AppState,
    client: crate::security::Who,
    id: i64,
) -> Result<mhd_store::outbox::JiraIssue, ApiError> {
    let answer = create_jira_issue(state, id).await;
    let details = match &answer {
        Ok(issue) => json!({ "issue_key": issue.issue_key, "channel": issue.channel }),
        Err(_) => json!({}),
    };
    let resource = format!("alert {id}");
    crate::audit::record_result(state, "alert.jira", &resource, details, &client, &answer).await;
    answer
}

/// Makes alert `id`'s Jira issue through the first Jira channel (the API's and the page's
/// button): 409 when it has one, 404 for an unknown alert or without a Jira channel, 502 when
/// Jira refuses or cannot be reached, 503 while notifications are not running.
pub async fn create_jira_issue(
    state: &AppState,
    id: i64,
) -> Result<mhd_store::outbox::JiraIssue, ApiError> {
    let Some(notifier) = state.notifier() else {
        return Err(crate::notify::chat::not_running());
    };
    let Some(alert) = state.store().alert(id).await? else {
        return Err(ApiError::not_found(format!("no alert has id {id}")));
    };
    let alert = serde_json::to_value(&alert).map_err(|e| ApiError::internal(&e))?;
    match notifier.create_jira_issue(&alert).await {
        Ok(issue) => Ok(issue),
        Err(e @ JiraError::NoChannel) => Err(ApiError::not_found(e.to_string())),
        Err(e @ JiraError::Exists(_)) => Err(ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: e.to_string(),
        }),
        Err(e @ JiraError::Failed(_)) => Err(ApiError {
            status: StatusCode::BAD_GATEWAY,
            code: "bad_gateway",
            message: e.to_string(),
        }),
        Err(JiraError::Store(e)) => Err(e.into()),
    }
}

/// `POST /api/v1/chat/command`: a Slack slash command (see [`crate::notify::chat`]).
pub async fn chat_command(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    use crate::notify::chat::{self, Asked};
    let body = body.map_err(|e| body_error(&e))?;
    let notifier = state.notifier();
    let asked = chat::check(notifier.as_ref(), state.now(), &headers, &body)?;
    let public_url = notifier.as_ref().map_or("", |n| n.public_url());
    let text = match asked {
        Asked::Status => {
            let plan = state.plan();
            let model = match plan {
                Some(_) => Some(state.model().await),
                None => None,
            };
            chat::status(plan.as_deref(), model, public_url)
        }
        Asked::Alerts => chat::alerts(state.store(), public_url).await,
        Asked::Help(command) => chat::help(&command),
    };
    Ok(Json(chat::answer(&text)).into_response())
}
