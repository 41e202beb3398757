//! `kind = "pagerduty"`: PagerDuty's Events API v2.
//!
//! A firing is `{"routing_key", "event_action": "trigger", "dedup_key", "payload": {"summary",
//! "source": "mhd", "severity", "component", "timestamp", "class", "custom_details"}, "links",
//! "client", "client_url"}`; its resolution is `{"routing_key", "event_action": "resolve",
//! "dedup_key"}` with the same `dedup_key`: the alert's key and id (`high_error_rate/storage#42`),
//! stable for the alert and never shared by two alerts, so a retried trigger never pages twice
//! and the resolve closes the incident the trigger opened. PagerDuty answers 202.

use mhd_store::outbox::DeliveryEvent;
use serde_json::{Value, json};

use super::webhook::http_url;
use super::{AlertDoc, SecretValue, SendContext, SendError, dashboard_url, send_http, truncate};

/// PagerDuty's endpoint, when the plan gives no `url`.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// The longest `dedup_key` PagerDuty takes.
pub const MAX_DEDUP_KEY: usize = 255;
/// The longest `summary` PagerDuty takes.
pub const MAX_SUMMARY: usize = 1024;

/// A PagerDuty channel.
#[derive(Debug)]
pub struct Pagerduty {
    url: reqwest::Url,
    routing_key: SecretValue,
}

impl Pagerduty {
    /// Checks the address; `owner` names the channel in the error.
    pub fn new(owner: &str, url: &str, routing_key: SecretValue) -> Result<Pagerduty, String> {
        let url = if url.trim().is_empty() {
            DEFAULT_URL
        } else {
            url
        };
        Ok(Pagerduty {
            url: http_url(owner, "url", url)?,
            routing_key,
        })
    }

    /// Sends one event.
    pub async fn send(
        &self,
        ctx: &SendContext<'_>,
        event: DeliveryEvent,
        alert: &Value,
    ) -> Result<(), SendError> {
        let doc = AlertDoc::from_value(alert).map_err(SendError::permanent)?;
        let mut body = event_body(event, &doc, &ctx.options.public_url);
        body["routing_key"] = Value::String(self.routing_key.expose().to_owned());
        let request = ctx.http.post(self.url.clone()).json(&body);
        send_http(request, ctx.options.timeout).await.map(drop)
    }
}

/// The alert's `dedup_key`: its key and id, cut to PagerDuty's 255 characters (the id is kept).
pub fn dedup_key(alert: &AlertDoc) -> String {
    let id = format!("#{}", alert.id);
    let room = MAX_DEDUP_KEY.saturating_sub(id.chars().count());
    let key: String = alert.key.chars().take(room).collect();
    format!("{key}{id}")
}

/// PagerDuty's severity for the alert's (`critical`, `error`, `warning` or `info`).
fn severity(s: &str) -> &'static str {
    match s {
        "critical" => "critical",
        "error" => "error",
        "warning" => "warning",
        _ => "info",
    }
}

/// The event for an alert, without its `routing_key` (added when sending, so that the secret
/// is never stored).
pub fn event_body(event: DeliveryEvent, alert: &AlertDoc, public_url: &str) -> Value {
    let dedup_key = dedup_key(alert);
    if event == DeliveryEvent::Resolved {
        return json!({ "event_action": "resolve", "dedup_key": dedup_key });
    }
    let dashboard = dashboard_url(public_url, alert.id);
    let summary = if alert.message.trim().is_empty() {
        alert.title.trim().to_owned()
    } else {
        format!("{}: {}", alert.title.trim(), alert.message.trim())
    };
    let mut payload = json!({
        "summary": truncate(&summary, MAX_SUMMARY),
        "source": "mhd",
        "severity": severity(&alert.severity),
        "class": alert.kind,
        "custom_details": {
            "impact": alert.impact_line(),
            "message": alert.message,
            "runbook": alert.runbook,
            "rule": alert.rule,
            "key": alert.key,
            "value": alert.value,
            "affected_datasets": alert.impact.affected_datasets,
        },
    });
    if let Some(component) = &alert.component {
        payload["component"] = json!(component);
    }
    if let Some(at) = alert
        .fired_at
        .as_ref()
        .or(Some(&alert.started_at))
        .filter(|t| !t.is_empty())
    {
        payload["timestamp"] = json!(at);
    }
    let mut links = vec![json!({ "href": dashboard, "text": "Migration Health Dashboard" })];
    if let Some(runbook) = alert.runbook_url() {
        links.push(json!({ "href": runbook, "text": "Runbook" }));
    }
    json!({
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
        "links": links,
        "client": "mhd",
        "client_url": dashboard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedup_key_keeps_the_id_when_the_key_is_long() {
        let alert = AlertDoc {
            id: 12345,
            key: "k".repeat(400),
            ..AlertDoc::default()
        };
        let key = dedup_key(&alert);
        assert_eq!(key.chars().count(), MAX_DEDUP_KEY);
        assert!(key.ends_with("#12345"));
    }

    #[test]
    fn a_long_summary_is_cut_to_1024_characters() {
        let alert = AlertDoc {
            title: "t".into(),
            message: "m".repeat(5000),
            severity: "error".into(),
            ..AlertDoc::default()
        };
        let body = event_body(DeliveryEvent::Fired, &alert, "http://x");
        let summary = body["payload"]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), MAX_SUMMARY);
        assert_eq!(body["payload"]["severity"], "error");
    }
}
