//! `kind = "slack"`: a message through a Slack incoming webhook.
//!
//! The body is `{"text": …, "blocks": […]}`: `text` is the one-line fallback notifications show,
//! the blocks are a header (severity and title), the severity and component as fields, the
//! alert's message, its impact, and links to its runbook and the dashboard. Every string that
//! comes from the plan or the data is escaped for Slack's `mrkdwn` (`&`, `<`, `>`), so it can
//! neither mention people nor make links. Slack answers 200 `ok`; 429 carries `Retry-After`.

use mhd_store::outbox::DeliveryEvent;
use serde_json::{Value, json};

use super::{AlertDoc, SecretValue, SendContext, SendError, dashboard_url, send_http, truncate};

/// A Slack channel. Its address is a secret: it is never shown.
#[derive(Debug)]
pub struct Slack {
    url: SecretValue,
}

impl Slack {
    /// Checks the address without showing it; `owner` names the channel in the error.
    pub fn new(owner: &str, url: SecretValue) -> Result<Slack, String> {
        let ok = reqwest::Url::parse(url.expose())
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !ok {
            return Err(format!(
                "{owner}: url is not an http:// or https:// address (the value is not shown: it \
                 is Slack's secret address)"
            ));
        }
        Ok(Slack { url })
    }

    /// Sends one event.
    pub async fn send(
        &self,
        ctx: &SendContext<'_>,
        event: DeliveryEvent,
        alert: &Value,
    ) -> Result<(), SendError> {
        let doc = AlertDoc::from_value(alert).map_err(SendError::permanent)?;
        let request =
            ctx.http
                .post(self.url.expose())
                .json(&message(event, &doc, &ctx.options.public_url));
        send_http(request, ctx.options.timeout).await.map(drop)
    }

    /// Announces a scheduled report with a link to it.
    pub async fn send_report(
        &self,
        ctx: &SendContext<'_>,
        report: &super::ReportDoc,
    ) -> Result<(), SendError> {
        let url = report.url(&ctx.options.public_url);
        let text = format!(
            ":page_facing_up: {}: {}",
            escape(&report.title),
            link(
                &url,
                &format!("download the {}", report.format.to_uppercase())
            )
        );
        let request = ctx.http.post(self.url.expose()).json(&json!({
            "text": text,
            "blocks": [{ "type": "section", "text": { "type": "mrkdwn", "text": text } }],
        }));
        send_http(request, ctx.options.timeout).await.map(drop)
    }
}

/// Escapes a string for Slack's `mrkdwn`: `&`, `<` and `>` become entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A link in `mrkdwn`: `<url|text>`, with both escaped (a `|` in the address is
/// percent-encoded so that it cannot end the address early).
pub fn link(url: &str, text: &str) -> String {
    format!(
        "<{}|{}>",
        escape(&url.replace('|', "%7C")),
        escape(&text.replace('|', "/"))
    )
}

/// The emoji shown before a severity.
fn emoji(event: DeliveryEvent, severity: &str) -> &'static str {
    match (event, severity) {
        (DeliveryEvent::Resolved, _) => ":white_check_mark:",
        (_, "critical") => ":red_circle:",
        (_, "error") => ":large_orange_circle:",
        (_, "warning") => ":large_yellow_circle:",
        _ => ":large_blue_circle:",
    }
}

/// The message for an event.
pub fn message(event: DeliveryEvent, alert: &AlertDoc, public_url: &str) -> Value {
    let word = match event {
        DeliveryEvent::Fired | DeliveryEvent::Report => alert.severity_word(),
        DeliveryEvent::Resolved => "RESOLVED".to_owned(),
    };
    let title = alert.title.trim();
    let text = format!("{word}: {}", escape(title));
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": truncate(&format!("{word}: {title}"), 150), "emoji": true }
    })];
    let mut severity = format!(
        "*Severity*\n{} {}",
        emoji(event, &alert.severity),
        escape(&capitalised(&alert.severity))
    );
    if event == DeliveryEvent::Resolved {
        severity.push_str(" (resolved)");
    }
    let component = alert
        .component
        .as_deref()
        .map_or_else(|| "_whole migration_".to_owned(), escape);
    blocks.push(json!({
        "type": "section",
        "fields": [
            { "type": "mrkdwn", "text": truncate(&severity, 2000) },
            { "type": "mrkdwn", "text": truncate(&format!("*Component*\n{component}"), 2000) },
        ]
    }));
    if !alert.message.trim().is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&escape(alert.message.trim()), 3000) }
        }));
    }
    if let Some(impact) = alert.impact_line() {
        blocks.push(json!({
            "type": "section",
            "text": { "type": "mrkdwn", "text": truncate(&format!("*Impact*\n{}", escape(&impact)), 3000) }
        }));
    }
    let mut links = Vec::new();
    if let Some(runbook) = alert.runbook_url() {
        links.push(link(runbook, "Runbook"));
    } else if let Some(runbook) = alert.runbook.as_deref().filter(|r| !r.trim().is_empty()) {
        links.push(format!("Runbook: {}", escape(runbook)));
    }
    links.push(link(&dashboard_url(public_url, alert.id), "Dashboard"));
    blocks.push(json!({
        "type": "context",
        "elements": [ { "type": "mrkdwn", "text": truncate(&links.join("  ·  "), 3000) } ]
    }));
    json!({ "text": text, "blocks": blocks })
}

/// `critical` → `Critical`.
fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_strings_cannot_mention_or_link() {
        assert_eq!(
            escape("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
        assert_eq!(
            link("https://w/a|b>c", "Run|book"),
            "<https://w/a%7Cb&gt;c|Run/book>"
        );
    }

    #[test]
    fn the_message_has_severity_component_impact_and_links() {
        let alert = AlertDoc {
            id: 4,
            severity: "critical".into(),
            title: "Error rate <high>".into(),
            message: "error_rate 0.12 > 0.10".into(),
            component: Some("storage".into()),
            runbook: Some("https://wiki.example/rb".into()),
            impact: super::super::ImpactDoc {
                affected_datasets: vec!["sales".into()],
                ..Default::default()
            },
            ..AlertDoc::default()
        };
        let m = message(DeliveryEvent::Fired, &alert, "http://mhd.example:8000");
        assert_eq!(m["text"], "CRITICAL: Error rate &lt;high&gt;");
        let blocks = m["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["text"]["text"], "CRITICAL: Error rate <high>");
        assert_eq!(
            blocks[1]["fields"][0]["text"],
            "*Severity*\n:red_circle: Critical"
        );
        assert_eq!(blocks[1]["fields"][1]["text"], "*Component*\nstorage");
        assert_eq!(blocks[2]["text"]["text"], "error_rate 0.12 &gt; 0.10");
        assert_eq!(blocks[3]["text"]["text"], "*Impact*\n1 dataset: sales");
        assert_eq!(
            blocks[4]["elements"][0]["text"],
            "<https://wiki.example/rb|Runbook>  ·  <http://mhd.example:8000/alerts#alert-4|Dashboard>"
        );
    }
}
