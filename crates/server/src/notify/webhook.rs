//! `kind = "webhook"`: the alert as JSON, POSTed to `url`.
//!
//! The body is `{"version": 1, "event": "fired" | "resolved", "alert": <the alert as the API
//! shows it>, "dashboard_url": "…"}`, with `Authorization: Bearer <token>` when the channel has
//! a token, and `Idempotency-Key: mhd-delivery-<n>`, the same on every attempt at one
//! notification (a receiver that has seen the key can drop the copy). Any 2xx is success.

use mhd_store::outbox::DeliveryEvent;
use serde_json::{Value, json};

use super::{SecretValue, SendContext, SendError, dashboard_url, send_http};

/// The version of the body's shape, so receivers can tell when it changes.
pub const BODY_VERSION: u32 = 1;

/// A webhook channel.
#[derive(Debug)]
pub struct Webhook {
    url: reqwest::Url,
    token: Option<SecretValue>,
}

impl Webhook {
    /// Checks the address; `owner` names the channel in the error.
    pub fn new(owner: &str, url: &str, token: Option<SecretValue>) -> Result<Webhook, String> {
        Ok(Webhook {
            url: http_url(owner, "url", url)?,
            token,
        })
    }

    /// Sends one event.
    pub async fn send(
        &self,
        ctx: &SendContext<'_>,
        event: DeliveryEvent,
        alert: &Value,
    ) -> Result<(), SendError> {
        let mut request =
            ctx.http
                .post(self.url.clone())
                .json(&body(event, alert, &ctx.options.public_url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(id) = ctx.delivery {
            request = request.header("Idempotency-Key", idempotency_key(id));
        }
        send_http(request, ctx.options.timeout).await.map(drop)
    }

    /// Announces a scheduled report: `{"version": 1, "event": "report", "report": {…, "url":
    /// "<where to download it>"}}`.
    pub async fn send_report(
        &self,
        ctx: &SendContext<'_>,
        report: &super::ReportDoc,
    ) -> Result<(), SendError> {
        let mut doc = serde_json::to_value(report)
            .map_err(|e| SendError::permanent(format!("the report could not be encoded: {e}")))?;
        doc["url"] = Value::String(report.url(&ctx.options.public_url));
        let mut request = ctx.http.post(self.url.clone()).json(&json!({
            "version": BODY_VERSION,
            "event": DeliveryEvent::Report.as_str(),
            "report": doc,
        }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(id) = ctx.delivery {
            request = request.header("Idempotency-Key", idempotency_key(id));
        }
        send_http(request, ctx.options.timeout).await.map(drop)
    }
}

/// The key of one queued notification, the same on every attempt to send it.
pub fn idempotency_key(delivery: i64) -> String {
    format!("mhd-delivery-{delivery}")
}

/// The body sent for an event.
pub fn body(event: DeliveryEvent, alert: &Value, public_url: &str) -> Value {
    let id = alert.get("id").and_then(Value::as_i64).unwrap_or_default();
    json!({
        "version": BODY_VERSION,
        "event": event.as_str(),
        "alert": alert,
        "dashboard_url": dashboard_url(public_url, id),
    })
}

/// Reads an `http` or `https` address, or says which key of which channel is wrong. The value
/// is shown, so this is only for addresses written in the plan (Slack's secret one is checked
/// by [`super::slack::Slack::new`] without showing it).
pub fn http_url(owner: &str, key: &str, url: &str) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("{owner}: {key} {url:?} is not an address: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(format!(
            "{owner}: {key} {url:?} is not an http:// or https:// address"
        ));
    }
    Ok(parsed)
}
