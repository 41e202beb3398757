//! The alerts page and its forms: acknowledge, silence, remove a silence, make a Jira issue.
//! Each form makes the same write as the API ([`crate::api::alerts`], one function each), then
//! sends the browser back to the page; a refused form shows the page again with the reason.

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mhd_core::alerts::AlertState;
use mhd_store::alerts::{AlertFilter, AlertStore};
use mhd_web::paths;
use mhd_web::views::Viewer;
use mhd_web::views::alerts::{AlertsView, Notice};
use serde::Deserialize;

use crate::api::alerts::{
    AckRequest, SilenceRequest, alert_id, audited_acknowledge, audited_silence, audited_unsilence,
    silence_id,
};
use crate::error::ApiError;
use crate::query::Params;
use crate::security::Who;
use crate::state::AppState;

/// Resolved alerts the page lists.
const PAGE_RESOLVED: u32 = 50;

/// What the alerts page shows now, with the outcome of a form when it answers one; the
/// resolved alerts of `range` when one is given (those open at some time in it).
pub async fn view(
    state: &AppState,
    notice: Option<Notice>,
    range: Option<&mhd_web::views::range::TimeRange>,
) -> mhd_store::Result<AlertsView> {
    let now = state.now();
    let mut active = state.store().open_alerts().await?;
    mhd_core::model::sort_alerts(&mut active);
    let resolved = state
        .store()
        .alerts(&AlertFilter {
            states: vec![AlertState::Resolved],
            limit: PAGE_RESOLVED,
            since: range.and_then(|r| r.since),
            until: range.and_then(|r| r.until),
            ..AlertFilter::default()
        })
        .await?;
    let silences = state.store().silences(now).await?;
    let (rules, components) = match state.plan().as_deref() {
        Some(p) => (
            p.alerts.rules.iter().map(|r| r.name.clone()).collect(),
            p.components
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let jira_channel = state
        .plan()
        .iter()
        .flat_map(|p| &p.notify)
        .any(|c| matches!(c.kind, mhd_core::plan::ChannelKind::Jira { .. }));
    let mut jira_issues = Vec::new();
    if jira_channel {
        use mhd_store::outbox::Outbox as _;
        for a in &active {
            if let Some(issue) = state.store().jira_issue(a.id).await? {
                jira_issues.push((a.id, issue.issue_key, issue.issue_url));
            }
        }
    }
    Ok(AlertsView {
        now,
        active,
        resolved,
        silences,
        rules,
        components,
        notice,
        jira: jira_channel && state.notifier().is_some(),
        jira_issues,
    })
}

/// The alerts page as a response with `status`.
pub async fn page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    ranged_page(state, viewer, notice, status, None, None).await
}

/// The alerts page with its resolved alerts over `range`, and the picker showing `error`
/// when a range was refused.
async fn ranged_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<Notice>,
    status: StatusCode,
    range: Option<&mhd_web::views::range::TimeRange>,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let view = view(state, notice, range).await?;
    let bar = super::picker(
        state,
        mhd_web::views::PageKind::Alerts,
        Vec::new(),
        range,
        error,
    );
    let plan = state.plan();
    let migration = plan.as_deref().map(|p| {
        let days = (view.now.date() - p.migration.start).whole_days();
        (
            p.migration.name.as_str(),
            if days < 0 { 0 } else { days / 7 + 1 },
            p.migration.weeks,
        )
    });
    let html = mhd_web::views::alerts::render_alerts_page(
        &view,
        migration,
        state.local_offset(),
        mhd_web::assets::live_js_path(),
        Some(&bar),
        viewer,
    )
    .map_err(|e| ApiError::internal(&e))?;
    Ok((
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

/// The page again with a form's error, or a redirect back to it.
async fn form_outcome(
    state: &AppState,
    viewer: &Viewer,
    outcome: Result<String, ApiError>,
) -> Result<Response, ApiError> {
    match outcome {
        Ok(anchor) => Ok(Redirect::to(&format!("{}{anchor}", paths::PAGE_ALERTS)).into_response()),
        Err(e) if e.status.is_server_error() => Err(e),
        Err(e) => {
            let notice = Notice {
                error: true,
                text: e.message,
            };
            page(state, viewer, Some(notice), e.status).await
        }
    }
}

/// A form that could not be read: 400 naming what is wrong.
fn form_error(e: &FormRejection) -> ApiError {
    ApiError::bad_request(format!("the form could not be read: {}", e.body_text()))
}

/// A page form's fields: those of the API's request `T`, other fields ignored (where the
/// API's JSON body refuses them).
#[derive(Debug, Default, Deserialize)]
pub struct PageForm<T> {
    /// The fields the request knows.
    #[serde(flatten)]
    pub fields: T,
}

/// The acknowledge form's fields.
pub type AckForm = PageForm<AckRequest>;

/// The silence form's fields (an empty rule or component: every one).
pub type SilenceForm = PageForm<SilenceRequest>;

/// A form's write, then back to the page, or the page again with the write's error. (A form
/// from another site never gets here: `crate::access` refuses it.)
async fn page_write(
    state: &AppState,
    viewer: &Viewer,
    write: impl Future<Output = Result<String, ApiError>>,
) -> Result<Response, ApiError> {
    let outcome = write.await;
    form_outcome(state, viewer, outcome).await
}

/// `GET /alerts?range|since&until`: the alerts page, its resolved alerts over the time range
/// asked for; a bad range shows the page with the message and status 400.
pub async fn show(
    State(state): State<AppState>,
    who: Who,
    query: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let viewer = who.caller.viewer();
    match super::page_range(query, state.now(), &[]) {
        Ok((range, _)) => {
            ranged_page(&state, &viewer, None, StatusCode::OK, range.as_ref(), None).await
        }
        Err(e) => {
            ranged_page(
                &state,
                &viewer,
                None,
                StatusCode::BAD_REQUEST,
                None,
                Some(&e.message),
            )
            .await
        }
    }
}

/// `POST /alerts/acknowledge/{alert_id}` (form): acknowledges, then back to the page.
pub async fn acknowledge(
    State(state): State<AppState>,
    client: Who,
    path: Result<Path<String>, PathRejection>,
    form: Result<Form<AckForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let viewer = client.caller.viewer();
    page_write(&state, &viewer, async {
        let id = alert_id(path)?;
        let Form(f) = form.map_err(|e| form_error(&e))?;
        audited_acknowledge(&state, client, id, &f.fields).await?;
        Ok(format!("#alert-{id}"))
    })
    .await
}

/// `POST /alerts/{alert_id}/jira` (form): makes the alert's Jira issue, then back to the page.
pub async fn jira(
    State(state): State<AppState>,
    client: Who,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let viewer = client.caller.viewer();
    page_write(&state, &viewer, async {
        let id = alert_id(path)?;
        crate::api::notify::audited_jira_issue(&state, client, id).await?;
        Ok(format!("#alert-{id}"))
    })
    .await
}

/// `POST /alerts/silences` (form): adds a silence, then back to the page.
pub async fn silence(
    State(state): State<AppState>,
    client: Who,
    form: Result<Form<SilenceForm>, FormRejection>,
) -> Result<Response, ApiError> {
    let viewer = client.caller.viewer();
    page_write(&state, &viewer, async {
        let Form(f) = form.map_err(|e| form_error(&e))?;
        audited_silence(&state, client, &f.fields).await?;
        Ok(String::new())
    })
    .await
}

/// `POST /alerts/silences/{id}/remove` (form): removes a silence, then back to the page.
pub async fn unsilence(
    State(state): State<AppState>,
    client: Who,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let viewer = client.caller.viewer();
    page_write(&state, &viewer, async {
        let id = silence_id(path)?;
        audited_unsilence(&state, client, id).await?;
        Ok(String::new())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_forms_read_the_request_fields_and_ignore_others() {
        let f: SilenceForm = serde_urlencoded::from_str(
            "rule=&component=db&duration=2h&comment=moving&by=&submit=Silence",
        )
        .unwrap();
        assert_eq!(f.fields.rule.as_deref(), Some(""));
        assert_eq!(f.fields.component.as_deref(), Some("db"));
        assert_eq!(f.fields.duration, "2h");
        assert_eq!(f.fields.comment.as_deref(), Some("moving"));
        assert_eq!(f.fields.by.as_deref(), Some(""));
        let f: SilenceForm = serde_urlencoded::from_str("component=db").unwrap();
        assert_eq!(
            f.fields.duration, "",
            "a missing duration is left to the check"
        );
        assert_eq!(f.fields.rule, None);
        let f: AckForm = serde_urlencoded::from_str("comment=on+it&extra=1").unwrap();
        assert_eq!(f.fields.comment.as_deref(), Some("on it"));
        assert_eq!(f.fields.by, None);
        let json: Result<SilenceRequest, _> =
            serde_json::from_str(r#"{"component":"db","duration":"2h","submit":"x"}"#);
        assert!(
            json.unwrap_err()
                .to_string()
                .contains("unknown field `submit`")
        );
    }
}
