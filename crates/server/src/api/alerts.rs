//! Alerts through the API (DESIGN §3.5, §4): the list with its silences, one alert with its
//! history, acknowledgements and silences. The alerts page's forms
//! ([`crate::pages::alerts`]) make the same writes (one function each).
//!
//! Every write is stored before it is answered and announced to the live pages
//! (`alert:updated`). The alert loop reads acknowledgements and silences from the store at its
//! next evaluation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mhd_core::alerts::{Alert, AlertState, Silence};
use mhd_store::alerts::{
    AlertFilter, AlertStore, AlertStoreError, MAX_NAME_CHARS, NewSilence, Replaced, parse_severity,
    parse_state,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use time::Duration;

use super::{body_error, media_type};
use crate::audit;
use crate::error::ApiError;
use crate::recorder::{AlertPush, Change};
use crate::security::Who;
use crate::state::AppState;

/// Alerts of each list `GET /api/v1/alerts` returns without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most alerts of each list `GET /api/v1/alerts` returns.
pub const MAX_LIMIT: u32 = 1000;
/// The longest silence.
pub const MAX_SILENCE: Duration = Duration::days(90);
/// Who acknowledged or silenced, until people sign in.
pub const ANONYMOUS: &str = "anonymous";

/// The parameters of `GET /api/v1/alerts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The state: see `state_schema`.
    #[param(schema_with = state_schema)]
    pub state: Option<String>,
    /// The severity: see `severity_schema`.
    #[param(schema_with = severity_schema)]
    pub severity: Option<String>,
    /// Only alerts of this component (exact match).
    #[param(min_length = 1)]
    pub component: Option<String>,
    /// At most this many of each list (1 to 1000, default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
    /// The range's start (inclusive): a time (RFC 3339 or YYYY-MM-DD), a span back from now
    /// such as 30m or 7d, or `now`. Not after `until` (400 naming `since`). Default: no start;
    /// with it, only alerts not resolved before it.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// The range's end (exclusive), written as `since`. Default: no end; with it, only alerts
    /// started before it.
    #[param(min_length = 1)]
    pub until: Option<String>,
}

/// The schema of `state`, with its description.
fn state_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["pending", "firing", "active", "resolved"],
        None,
        "Only alerts in this state; `active` is pending and firing. The other list is empty.",
    )
}

/// The schema of `severity`, with its description.
fn severity_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(
        &["info", "warning", "error", "critical"],
        None,
        "Only alerts of this severity.",
    )
}

impl From<AlertStoreError> for ApiError {
    fn from(e: AlertStoreError) -> ApiError {
        match e {
            AlertStoreError::NoSuchAlert(_) | AlertStoreError::NoSuchSilence(_) => {
                ApiError::not_found(e.to_string())
            }
            AlertStoreError::Resolved(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: "resolved",
                message: format!("{e}: there is nothing left to acknowledge"),
            },
            AlertStoreError::SilenceRemoved(_) => ApiError {
                status: StatusCode::CONFLICT,
                code: "removed",
                message: e.to_string(),
            },
            AlertStoreError::Invalid(m) => ApiError::bad_request(m),
            AlertStoreError::Store(e) => e.into(),
        }
    }
}

/// `GET /api/v1/alerts?state&severity&component&limit&since&until`: `{active, resolved,
/// silences}`.
///
/// `active` holds the pending and firing alerts, firing first, the most severe first, then the
/// newest; `resolved` the resolved ones by
/// resolution, newest first, `silences` those in force now or later. `state` is `pending`,
/// `firing`, `active` (both) or `resolved` and empties the other list; `severity` is `info`,
/// `warning`, `error` or `critical`; `component` matches exactly; `limit` (1..=1000, default
/// 100) applies to each list. `since` and `until` (read as `GET /api/v1/samples` reads them)
/// keep the alerts open at some time in `[since, until)`: started before `until` and not
/// resolved before `since`.
pub async fn list(
    State(state): State<AppState>,
    super::Query(query): super::Query<ListParams>,
) -> Result<Response, ApiError> {
    let states = match query.state.as_deref() {
        None => None,
        Some("active") => Some(vec![AlertState::Pending, AlertState::Firing]),
        Some(v) => Some(vec![parse_state(v).ok_or_else(|| {
            ApiError::bad_request(format!(
                "parameter `state`: {v:?} is not one of pending, firing, active, resolved"
            ))
        })?]),
    };
    let severity = query
        .severity
        .as_deref()
        .map(|v| {
            parse_severity(v).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter `severity`: {v:?} is not one of info, warning, error, critical"
                ))
            })
        })
        .transpose()?;
    let component = match query.component.as_deref() {
        Some("") => {
            return Err(ApiError::bad_request(
                "parameter `component`: must not be empty",
            ));
        }
        other => other.map(str::to_owned),
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
    let range = crate::range::of_api(query.since.as_deref(), query.until.as_deref(), state.now())?;
    let wanted = |s: AlertState| states.as_ref().is_none_or(|list| list.contains(&s));
    let open: Vec<AlertState> = [AlertState::Pending, AlertState::Firing]
        .into_iter()
        .filter(|s| wanted(*s))
        .collect();
    let filter = |states: Vec<AlertState>| AlertFilter {
        states,
        severity,
        component: component.clone(),
        limit,
        since: range.as_ref().and_then(|r| r.since),
        until: range.as_ref().and_then(|r| r.until),
    };
    let mut active = if open.is_empty() {
        Vec::new()
    } else {
        state.store().alerts(&filter(open)).await?
    };
    // Firing before pending, the most severe first, then the newest.
    mhd_core::model::sort_alerts(&mut active);
    let resolved = if wanted(AlertState::Resolved) {
        state
            .store()
            .alerts(&filter(vec![AlertState::Resolved]))
            .await?
    } else {
        Vec::new()
    };
    let silences = state.store().silences(state.now()).await?;
    Ok(Json(AlertsList {
        active,
        resolved,
        silences,
    })
    .into_response())
}

/// The id of `what` (an alert or a silence) from the path, or 400 naming it.
fn path_id(path: Result<Path<String>, PathRejection>, what: &str) -> Result<i64, ApiError> {
    let Path(text) = path.map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::bad_request(format!("path: {text:?} is not {what} id")))
}

/// An alert id from the path, or 400 naming it.
pub(crate) fn alert_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    path_id(path, "an alert")
}

/// A silence id from the path, or 400 naming it.
pub(crate) fn silence_id(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    path_id(path, "a silence")
}

/// `GET /api/v1/alerts/{alert_id}`: the alert with its `history`, oldest first.
pub async fn one(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    _: super::Query<super::NoParams>,
) -> Result<Response, ApiError> {
    let id = alert_id(path)?;
    let alert = state
        .store()
        .alert(id)
        .await?
        .ok_or(AlertStoreError::NoSuchAlert(id))?;
    let history = state.store().alert_events(id).await?;
    let mut doc = serde_json::to_value(&alert).map_err(|e| ApiError::internal(&e))?;
    doc["history"] = serde_json::to_value(&history).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(doc).into_response())
}

/// The body of an acknowledgement.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// Who (default `anonymous` until people sign in).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub by: Option<String>,
    /// Who, under the specification's name for it (`user`): the same as `by`; when both are
    /// given they must agree.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub user: Option<String>,
    /// Why, or what is being done.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

impl AckRequest {
    /// The name the request states (`by` or `user`, blank is none), or 400 when they differ.
    fn stated(&self) -> Result<Option<&str>, ApiError> {
        match (given(self.by.as_deref()), given(self.user.as_deref())) {
            (Some(by), Some(user)) if by != user => Err(ApiError::bad_request(format!(
                "fields `by` and `user` name two people ({by:?} and {user:?}); give one"
            ))),
            (by, user) => Ok(by.or(user)),
        }
    }
}

/// The answer of `GET /api/v1/alerts`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertsList {
    /// Pending and firing alerts: firing before pending, the most severe first, then the newest.
    pub active: Vec<Alert>,
    /// Resolved alerts, the latest resolution first (when asked for).
    pub resolved: Vec<Alert>,
    /// The silences in force now or later.
    pub silences: Vec<Silence>,
}

/// That an acknowledgement was made: the answer of `POST /api/v1/alerts/acknowledge/{id}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Acknowledged {
    /// `acknowledged` (the specification's field).
    #[schema(pattern = "^acknowledged$")]
    pub status: &'static str,
    /// The alert's id (the specification's field).
    pub alert_id: i64,
    /// The alert as it is now.
    pub alert: Alert,
    /// The acknowledgement this one replaced; null for the first.
    pub replaced: Option<Replaced>,
    /// The name the request stated when a signed-in user or a token acknowledged under its own
    /// instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stated_user: Option<String>,
}

/// What an acknowledgement did: the alert as it is now, and the acknowledgement it replaced.
#[derive(Debug, Clone)]
pub struct AckOutcome {
    /// The alert, acknowledged.
    pub alert: Alert,
    /// The earlier acknowledgement this one replaced, if the alert was acknowledged already.
    pub replaced: Option<Replaced>,
}

/// The body of a new silence.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceRequest {
    /// Only this rule of the plan.
    #[serde(default)]
    pub rule: Option<String>,
    /// Only this component of the plan.
    #[serde(default)]
    pub component: Option<String>,
    /// How long, such as `2h` (at most 90 days).
    #[serde(default)]
    #[schema(required = true, example = "2h")]
    pub duration: String,
    /// Why.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// Who (default `anonymous`).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub by: Option<String>,
}

/// A JSON object body (an empty one is `T::default()`), or 400/413/415 saying what is wrong.
pub(crate) fn json_body<T: for<'de> Deserialize<'de> + Default>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| body_error(&e))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    match media_type(headers).as_deref() {
        None | Some("application/json") => {}
        Some(other) => {
            return Err(ApiError::unsupported_media_type(format!(
                "Content-Type {other}: send application/json"
            )));
        }
    }
    // serde reads a struct from a JSON array of its fields too (`[null, null]`); the API
    // takes objects only, as its document says.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("body: not a JSON object"));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("body: {e}")))
}

/// What the live pages are told when an alert or a silence of `component` changed.
fn updated(component: Option<String>, data: serde_json::Value) -> Change {
    Change::Alert {
        push: AlertPush::Updated,
        component,
        data: Arc::new(data),
    }
}

/// A request's field `what` names a rule or a component the plan does not have: 400 listing
/// those it has.
fn not_in_plan(what: &str, given: &str, known: &[&str]) -> ApiError {
    ApiError::bad_request(format!(
        "field `{what}`: the plan has no {what} {given:?} (its {what}s: {})",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// A name given in a request, `None` when blank.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Acknowledges an alert as the name the request states (`anonymous` without one) and tells
/// the live pages; returns the alert as it is now and the acknowledgement it replaced.
pub async fn acknowledge_alert(
    state: &AppState,
    id: i64,
    request: &AckRequest,
) -> Result<AckOutcome, ApiError> {
    let by = request.stated()?.unwrap_or(ANONYMOUS);
    let store = state.store();
    let acknowledged = async {
        let done = store
            .acknowledge(id, by, request.comment.as_deref(), state.now())
            .await?;
        let alert = store
            .alert(id)
            .await?
            .ok_or(AlertStoreError::NoSuchAlert(id))?;
        Ok::<_, ApiError>((done, alert))
    };
    let (done, alert) = state
        .recorder()
        .commit_with(acknowledged, |(done, alert)| {
            Some(updated(
                alert.component.clone(),
                json!({ "reason": "acknowledged", "alert": alert, "replaced": done.replaced }),
            ))
        })
        .await?;
    Ok(AckOutcome {
        alert,
        replaced: done.replaced,
    })
}

/// Adds a silence from now on and tells the live pages. Refuses a rule or a component the plan
/// does not name, a silence naming neither, and a bad duration.
pub async fn add_silence(state: &AppState, request: &SilenceRequest) -> Result<Silence, ApiError> {
    let rule = given(request.rule.as_deref());
    let component = given(request.component.as_deref());
    if rule.is_none() && component.is_none() {
        return Err(ApiError::bad_request(
            "a silence names a `rule`, a `component` or both",
        ));
    }
    if let Some(plan) = state.plan().as_deref() {
        if let Some(r) = rule
            && !plan.alerts.rules.iter().any(|x| x.name == r)
        {
            let known: Vec<&str> = plan.alerts.rules.iter().map(|x| x.name.as_str()).collect();
            return Err(not_in_plan("rule", r, &known));
        }
        if let Some(c) = component
            && plan.component(c).is_none()
        {
            let known: Vec<&str> = plan.components.iter().map(|x| x.id.as_str()).collect();
            return Err(not_in_plan("component", c, &known));
        }
    }
    let duration = parse_silence_duration(&request.duration)
        .map_err(|e| ApiError::bad_request(format!("field `duration`: {e}")))?;
    let now = state.now();
    let silence = NewSilence {
        rule: rule.map(str::to_owned),
        component: component.map(str::to_owned),
        starts_at: now,
        until: now + duration,
        by: given(request.by.as_deref()).unwrap_or(ANONYMOUS).to_owned(),
        comment: request.comment.clone(),
    };
    let silence = state
        .recorder()
        .commit_with(state.store().add_silence(&silence), |silence| {
            Some(updated(
                silence.component.clone(),
                json!({ "reason": "silenced", "silence": silence }),
            ))
        })
        .await?;
    Ok(silence)
}

/// A silence's length: a duration such as `2h`, longer than nothing and at most
/// [`MAX_SILENCE`].
pub fn parse_silence_duration(text: &str) -> Result<Duration, String> {
    if text.trim().is_empty() {
        return Err("required, such as 30m, 2h or 1d".to_owned());
    }
    let d = mhd_core::time_parse::parse_duration(text)?;
    if d <= Duration::ZERO {
        return Err(format!("{text:?} is no time at all"));
    }
    if d > MAX_SILENCE {
        return Err(format!(
            "{text:?} is longer than the longest silence, 90 days"
        ));
    }
    Ok(d)
}

/// Removes a silence and tells the live pages.
pub async fn remove_silence(state: &AppState, id: i64) -> Result<Silence, ApiError> {
    let silence = state
        .recorder()
        .commit_with(state.store().remove_silence(id, state.now()), |silence| {
            Some(updated(
                silence.component.clone(),
                json!({ "reason": "unsilenced", "silence": silence }),
            ))
        })
        .await?;
    Ok(silence)
}

/// The parameters of `POST /api/v1/alerts/acknowledge/{alert_id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AckParams {
    /// Who acknowledges (the specification's parameter); the same as the body's `user` or
    /// `by`.
    #[param(max_length = 200)]
    pub user: Option<String>,
}

/// `POST /api/v1/alerts/acknowledge/{alert_id}?user=` with `{by?, user?, comment?}` (or no
/// body): 200 with `{status: "acknowledged", alert_id, alert, replaced}` (`replaced`: the
/// acknowledgement this one replaced, or null); 404 for an unknown alert, 409 `resolved` for a
/// resolved one, 400 when the names given disagree.
///
/// Whose name it is: with nobody signed in, the stated `user` (query or body) or `by`; a
/// signed-in user or a token acknowledges under its own name, and a different stated name is
/// kept beside it as `stated_user` (in the answer and the audit entry), never in its place.
pub async fn acknowledge(
    State(state): State<AppState>,
    client: Who,
    path: Result<Path<String>, PathRejection>,
    super::Query(query): super::Query<AckParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = alert_id(path)?;
    let mut request: AckRequest = json_body(&headers, body)?;
    if let Some(user) = query.user.as_deref() {
        if let Some(body_user) = given(request.user.as_deref())
            && body_user != user.trim()
        {
            return Err(ApiError::bad_request(format!(
                "parameter `user` ({user:?}) and field `user` ({body_user:?}) disagree; give one"
            )));
        }
        request.user = Some(user.to_owned());
    }
    let (done, stated_user) = audited_acknowledge(&state, client, id, &request).await?;
    Ok(Json(Acknowledged {
        status: "acknowledged",
        alert_id: id,
        alert: done.alert,
        replaced: done.replaced,
        stated_user,
    })
    .into_response())
}

/// `POST /api/v1/alerts/silences` with `{rule?, component?, duration, comment?, by?}`: 201
/// with the silence.
pub async fn silence(
    State(state): State<AppState>,
    client: Who,
    _: super::Query<super::NoParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: SilenceRequest = json_body(&headers, body)?;
    let silence = audited_silence(&state, client, &request).await?;
    Ok((StatusCode::CREATED, Json(silence)).into_response())
}

/// `DELETE /api/v1/alerts/silences/{id}`: 200 with the silence removed; 404 for an unknown
/// one, 409 `removed` when it was removed already.
pub async fn unsilence(
    State(state): State<AppState>,
    client: Who,
    path: Result<Path<String>, PathRejection>,
    _: super::Query<super::NoParams>,
) -> Result<Response, ApiError> {
    let id = silence_id(path)?;
    let silence = audited_unsilence(&state, client, id).await?;
    Ok(Json(silence).into_response())
}

/// Refuses a name (`field`: `by` or `user`) the store would refuse even when a signed-in
/// caller's name replaces it, so a request is valid or not whoever sends it.
fn check_by(field: &str, by: Option<&str>) -> Result<(), ApiError> {
    let Some(by) = given(by) else {
        return Ok(());
    };
    if by.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "field `{field}`: longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if by.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "field `{field}`: must not contain control characters"
        )));
    }
    Ok(())
}

/// Acknowledges alert `id` and records it in the audit log, done or refused; returns what it
/// did and the name the request stated when a signed-in caller's own name replaced it.
pub(crate) async fn audited_acknowledge(
    state: &AppState,
    client: Who,
    id: i64,
    request: &AckRequest,
) -> Result<(AckOutcome, Option<String>), ApiError> {
    let checked = check_by("by", request.by.as_deref())
        .and_then(|()| check_by("user", request.user.as_deref()))
        .and_then(|()| request.stated().map(|s| s.map(str::to_owned)));
    // A signed-in user or a token acknowledges under its own name, whatever the request says:
    // a name it states otherwise is kept beside it, never in its place.
    let mut stated_user = None;
    let signed;
    let request = match client.caller.signed_name() {
        Some(name) => {
            stated_user = checked
                .as_ref()
                .ok()
                .cloned()
                .flatten()
                .filter(|s| *s != name);
            signed = AckRequest {
                by: Some(name),
                user: None,
                comment: request.comment.clone(),
            };
            &signed
        }
        None => request,
    };
    let answer = match checked {
        Ok(_) => acknowledge_alert(state, id, request).await,
        Err(e) => Err(e),
    };
    // The name acknowledged under; a refused request's names as they came.
    let by = match request.stated() {
        Ok(stated) => json!(stated.unwrap_or(ANONYMOUS)),
        Err(_) => json!(request.by),
    };
    let mut details = json!({ "by": by, "comment": request.comment });
    if answer.is_err() && given(request.user.as_deref()).is_some() {
        details["user"] = json!(request.user);
    }
    if let Some(stated) = &stated_user {
        details["stated_user"] = stated.as_str().into();
    }
    if let Ok(AckOutcome {
        replaced: Some(r), ..
    }) = &answer
    {
        details["replaced"] = json!(r);
    }
    let resource = format!("alert {id}");
    audit::record_result(
        state,
        "alert.acknowledge",
        &resource,
        details,
        &client,
        &answer,
    )
    .await;
    answer.map(|done| (done, stated_user))
}

/// Adds a silence and records it in the audit log, done or refused.
pub(crate) async fn audited_silence(
    state: &AppState,
    client: Who,
    request: &SilenceRequest,
) -> Result<Silence, ApiError> {
    let checked = check_by("by", request.by.as_deref());
    let signed;
    let request = match client.caller.signed_name() {
        Some(name) => {
            signed = SilenceRequest {
                by: Some(name),
                ..request.clone()
            };
            &signed
        }
        None => request,
    };
    let answer = match checked {
        Ok(()) => add_silence(state, request).await,
        Err(e) => Err(e),
    };
    let details = json!({
        "rule": request.rule,
        "component": request.component,
        "duration": request.duration,
        "by": request.by,
        "comment": request.comment,
    });
    let resource = match &answer {
        Ok(s) => format!("silence {}", s.id),
        Err(_) => "silence".to_owned(),
    };
    audit::record_result(state, "silence.add", &resource, details, &client, &answer).await;
    answer
}

/// Removes silence `id` and records it in the audit log, done or refused.
pub(crate) async fn audited_unsilence(
    state: &AppState,
    client: Who,
    id: i64,
) -> Result<Silence, ApiError> {
    let answer = remove_silence(state, id).await;
    let resource = format!("silence {id}");
    audit::record_result(
        state,
        "silence.remove",
        &resource,
        json!({}),
        &client,
        &answer,
    )
    .await;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_durations_are_checked() {
        assert_eq!(parse_silence_duration("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_silence_duration("1h30m"), Ok(Duration::minutes(90)));
        assert!(parse_silence_duration("").unwrap_err().contains("required"));
        assert!(
            parse_silence_duration("0s")
                .unwrap_err()
                .contains("no time")
        );
        assert!(
            parse_silence_duration("91d")
                .unwrap_err()
                .contains("90 days")
        );
        assert!(
            parse_silence_duration("soon")
                .unwrap_err()
                .contains("not a duration")
        );
    }

    #[test]
    fn a_given_by_is_checked_whoever_sends_it() {
        assert!(check_by("by", None).is_ok());
        assert!(check_by("by", Some("  ")).is_ok(), "blank is the default");
        assert!(check_by("by", Some(&"a".repeat(MAX_NAME_CHARS))).is_ok());
        let e = check_by("by", Some(&"a".repeat(MAX_NAME_CHARS + 1))).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message.contains("field `by`: longer than 200"),
            "{}",
            e.message
        );
        let e = check_by("user", Some("ana\u{7}")).unwrap_err();
        assert!(e.message.contains("control characters"), "{}", e.message);
        assert!(e.message.contains("field `user`"), "{}", e.message);
    }

    #[test]
    fn json_bodies_must_be_objects() {
        let headers = HeaderMap::new();
        let read = |text: &'static str| json_body::<AckRequest>(&headers, Ok(Bytes::from(text)));
        let ack = read(r#" {"by":"ana"}"#).unwrap();
        assert_eq!(ack.by.as_deref(), Some("ana"));
        assert_eq!(
            read("  \n").unwrap().by,
            None,
            "an empty body is the default"
        );
        for text in ["[null, null]", "[\"ana\"]", "null", "\"ana\""] {
            let e = read(text).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{text}");
            assert!(
                e.message.contains("not a JSON object"),
                "{text}: {}",
                e.message
            );
        }
    }
}
