//! `kind = "jira"`: a Jira issue made from an alert, automatically for firings at or above
//! `auto_severity`, or on request (`POST /api/v1/alerts/{alert_id}/jira`).
//!
//! The request is `POST {url}/rest/api/2/issue` with basic authentication (the user and the API
//! token) and the body `{"fields": {"project": {"key"}, "summary", "description", "issuetype":
//! {"name"}, "labels": ["mhd", <severity>]}}`; Jira answers 201 with `{"id", "key", "self"}`.
//! The issue's key is stored with the alert, so an alert makes at most one issue: a later
//! firing or click finds it and makes none.

use mhd_core::alerts::Severity;
use mhd_store::outbox::{JiraIssue, Outbox};
use serde::Deserialize;
use serde_json::{Value, json};

use super::webhook::http_url;
use super::{
    AlertDoc, SecretValue, SendContext, SendError, dashboard_url, one_line, send_http, truncate,
};

/// The longest summary Jira takes.
pub const MAX_SUMMARY: usize = 255;

/// A Jira channel.
#[derive(Debug)]
pub struct Jira {
    endpoint: reqwest::Url,
    site: String,
    project: String,
    issue_type: String,
    user: String,
    token: SecretValue,
    /// The least severity whose firing makes an issue without a click.
    pub auto_severity: Option<Severity>,
    /// One issue made at a time, so that a click and a firing cannot both make one.
    making: tokio::sync::Mutex<()>,
}

/// What [`Jira::create`] found or made.
#[derive(Debug)]
pub enum Created {
    /// A new issue.
    New(JiraIssue),
    /// The alert's issue, made before.
    Existing(JiraIssue),
}

/// Why [`Jira::create`] made nothing.
#[derive(Debug)]
pub enum CreateError {
    /// Jira refused or could not be reached.
    Send(SendError),
    /// The store failed.
    Store(mhd_store::StoreError),
}

/// Jira's answer to a created issue.
#[derive(Debug, Deserialize)]
struct CreatedIssue {
    id: Option<String>,
    key: String,
    #[serde(rename = "self")]
    self_url: Option<String>,
}

impl Jira {
    /// Checks the settings; `owner` names the channel in the error.
    pub fn new(
        owner: &str,
        url: &str,
        project: &str,
        issue_type: &str,
        user: &str,
        token: SecretValue,
        auto_severity: Option<Severity>,
    ) -> Result<Jira, String> {
        let site = http_url(owner, "url", url)?;
        let site = site.as_str().trim_end_matches('/').to_owned();
        let endpoint = http_url(owner, "url", &format!("{site}/rest/api/2/issue"))?;
        if project.trim().is_empty() {
            return Err(format!("{owner}: project is empty"));
        }
        if user.trim().is_empty() {
            return Err(format!("{owner}: user is empty"));
        }
        Ok(Jira {
            endpoint,
            site,
            project: project.trim().to_owned(),
            issue_type: if issue_type.trim().is_empty() {
                "Bug".to_owned()
            } else {
                issue_type.trim().to_owned()
            },
            user: user.to_owned(),
            token,
            auto_severity,
            making: tokio::sync::Mutex::new(()),
        })
    }

    /// Makes the alert's issue, unless it has one.
    pub async fn create(
        &self,
        ctx: &SendContext<'_>,
        alert: &AlertDoc,
    ) -> Result<Created, CreateError> {
        let _one_at_a_time = self.making.lock().await;
        if let Some(issue) = ctx
            .store
            .jira_issue(alert.id)
            .await
            .map_err(CreateError::Store)?
        {
            return Ok(Created::Existing(issue));
        }
        let body = issue_body(
            alert,
            &self.project,
            &self.issue_type,
            &ctx.options.public_url,
        );
        let request = ctx
            .http
            .post(self.endpoint.clone())
            .basic_auth(&self.user, Some(self.token.expose()))
            .json(&body);
        let response = send_http(request, ctx.options.timeout)
            .await
            .map_err(CreateError::Send)?;
        let created: CreatedIssue = response.json().await.map_err(|e| {
            CreateError::Send(SendError::permanent(format!(
                "Jira's answer has no issue key: {}",
                e.without_url()
            )))
        })?;
        let issue = JiraIssue {
            alert_id: alert.id,
            channel: ctx.channel.to_owned(),
            issue_url: Some(format!("{}/browse/{}", self.site, created.key)).or(created.self_url),
            issue_key: created.key,
            issue_id: created.id,
            created_at: ctx.now,
        };
        ctx.store
            .record_jira_issue(&issue)
            .await
            .map_err(CreateError::Store)?;
        Ok(Created::New(issue))
    }

    /// Makes the issue of a firing (the worker's send): an alert with an issue already is
    /// done.
    pub async fn send_auto(&self, ctx: &SendContext<'_>, alert: &Value) -> Result<(), SendError> {
        let doc = AlertDoc::from_value(alert).map_err(SendError::permanent)?;
        match self.create(ctx, &doc).await {
            Ok(Created::New(issue)) => {
                tracing::info!(
                    channel = ctx.channel,
                    alert_id = doc.id,
                    issue = issue.issue_key.as_str(),
                    "Jira issue created"
                );
                Ok(())
            }
            Ok(Created::Existing(issue)) => {
                tracing::info!(
                    channel = ctx.channel,
                    alert_id = doc.id,
                    issue = issue.issue_key.as_str(),
                    "the alert has a Jira issue already"
                );
                Ok(())
            }
            Err(CreateError::Send(e)) => Err(e),
            Err(CreateError::Store(e)) => {
                Err(SendError::transient(format!("the store failed: {e}")))
            }
        }
    }
}

/// The issue's body for an alert.
pub fn issue_body(alert: &AlertDoc, project: &str, issue_type: &str, public_url: &str) -> Value {
    let summary = truncate(
        &one_line(&format!(
            "[{}] {}",
            alert.severity_word(),
            alert.title.trim()
        )),
        MAX_SUMMARY,
    );
    let mut description = String::new();
    if !alert.message.trim().is_empty() {
        description.push_str(alert.message.trim());
        description.push_str("\n\n");
    }
    description.push_str(&format!("Severity: {}\n", alert.severity));
    description.push_str(&format!(
        "Component: {}\n",
        alert.component.as_deref().unwrap_or("whole migration")
    ));
    description.push_str(&format!(
        "Rule: {} (alert {}, key {})\n",
        alert.rule, alert.id, alert.key
    ));
    if let Some(at) = &alert.fired_at {
        description.push_str(&format!("Fired: {at}\n"));
    }
    if let Some(impact) = alert.impact_line() {
        description.push_str(&format!("Impact: {impact}\n"));
    }
    if let Some(runbook) = alert.runbook.as_deref().filter(|r| !r.trim().is_empty()) {
        description.push_str(&format!("Runbook: {runbook}\n"));
    }
    description.push_str(&format!(
        "Dashboard: {}\n",
        dashboard_url(public_url, alert.id)
    ));
    let severity = if alert.severity.is_empty() {
        "info"
    } else {
        alert.severity.as_str()
    };
    json!({
        "fields": {
            "project": { "key": project },
            "summary": summary,
            "description": description,
            "issuetype": { "name": issue_type },
            "labels": ["mhd", severity],
        }
    })
}
