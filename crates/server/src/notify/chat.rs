//! The chat command endpoint (`POST /api/v1/chat/command`): Slack's slash commands, answered
//! with the migration's status or its firing alerts.
//!
//! A request is Slack's form (`command`, `text`, …) signed with the app's signing secret:
//! `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`,
//! and the timestamp must be within 5 minutes of now. The signature is compared in constant
//! time; a request that fails either check is answered 401 and does nothing. Without a signing
//! secret in the plan (`[chat] signing_secret_file` / `_env`) the endpoint is off (404); while
//! notifications are not running it answers 503.
//!
//! `text` "status" answers the executive summary in a few lines (health, progress, forecast,
//! blockers), "alerts" the firing alerts, anything else the help. The answer is
//! `{"response_type": "ephemeral", "text"}`: only the person who asked sees it. Every string from
//! the plan or the data is escaped for Slack's `mrkdwn`.

use axum::http::{HeaderMap, StatusCode};
use mhd_core::alerts::{AlertState, Severity};
use mhd_core::summary::Health;
use mhd_store::alerts::{AlertFilter, AlertStore};
use time::OffsetDateTime;

use super::SecretValue;
use super::slack::{escape, link};
use mhd_core::model::ViewModel;
use mhd_core::plan::Plan;
use mhd_store::Database;

use super::Notifier;
use crate::error::ApiError;

/// How far a request's timestamp may be from now, in seconds.
pub const MAX_AGE_SECONDS: i64 = 300;
/// The most alerts listed in one answer.
pub const MAX_LISTED: usize = 15;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// The `X-Slack-Signature` of a body sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    ctx.update(format!("v0:{timestamp}:").as_bytes());
    ctx.update(body);
    let tag = ctx.sign();
    let mut out = String::from("v0=");
    for b in tag.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Reads hex digits.
fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks a request's timestamp and signature; the error says which check failed.
pub fn verify(
    secret: &SecretValue,
    headers: &HeaderMap,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header(TIMESTAMP_HEADER)
        .ok_or("the X-Slack-Request-Timestamp header is missing")?
        .trim()
        .parse::<i64>()
        .map_err(|_| "X-Slack-Request-Timestamp is not a number of seconds")?;
    if (now.unix_timestamp() - timestamp).abs() > MAX_AGE_SECONDS {
        return Err(
            "X-Slack-Request-Timestamp is more than 5 minutes from now: the request is refused \
             (a replay, or a clock out of step)"
                .to_owned(),
        );
    }
    let given = header(SIGNATURE_HEADER)
        .ok_or("the X-Slack-Signature header is missing")?
        .trim();
    let tag = given
        .strip_prefix("v0=")
        .and_then(from_hex)
        .ok_or("X-Slack-Signature is not v0= and hex digits")?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.expose().as_bytes());
    let mut message = format!("v0:{timestamp}:").into_bytes();
    message.extend_from_slice(body);
    // `ring::hmac::verify` compares in constant time.
    ring::hmac::verify(&key, &message, &tag)
        .map_err(|_| "X-Slack-Signature does not match the body".to_owned())
}

/// 503: the server's background work (notifications among it) is not running, as in a server
/// started without it.
pub fn not_running() -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "unavailable",
        message: "notifications are not running on this server".into(),
    }
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// `status`: the executive summary ([`status`]).
    Status,
    /// `alerts`: the firing alerts ([`alerts`]).
    Alerts,
    /// Anything else: the help of the command named ([`help`]).
    Help(String),
}

/// Checks one request sent at `now` (the channels' signing secret, the timestamp) and reads
/// what its `text` asks.
pub fn check(
    notifier: Option<&Notifier>,
    now: OffsetDateTime,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Asked, ApiError> {
    let Some(notifier) = notifier else {
        return Err(not_running());
    };
    let Some(secret) = notifier.chat_secret() else {
        return Err(ApiError::not_found(
            "the chat command endpoint is off: the plan's [chat] has no signing secret \
             (signing_secret_file or signing_secret_env)",
        ));
    };
    if let Err(why) = verify(secret, headers, body, now) {
        tracing::warn!("chat command refused: {why}");
        return Err(ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: why,
        });
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a form: {e}")))?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    Ok(match field("text").trim().to_lowercase().as_str() {
        "status" => Asked::Status,
        "alerts" => Asked::Alerts,
        _ => Asked::Help(field("command").to_owned()),
    })
}

/// The answer to a request: `text`, seen only by who asked.
pub fn answer(text: &str) -> ChatAnswer<'_> {
    ChatAnswer {
        response_type: "ephemeral",
        text,
    }
}

/// The answer of `POST /api/v1/chat/command`, shown only to the person who asked.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ChatAnswer<'a> {
    /// `ephemeral`: only the person who asked sees it.
    #[schema(pattern = "^ephemeral$")]
    pub response_type: &'static str,
    /// The answer in Slack mrkdwn.
    pub text: &'a str,
}

/// The help text.
pub fn help(command: &str) -> String {
    let command = if command.trim().is_empty() {
        "/mhd".to_owned()
    } else {
        escape(command.trim())
    };
    format!(
        "Ask the migration health dashboard:\n• `{command} status`: health, progress, forecast \
         and blockers\n• `{command} alerts`: the alerts firing now"
    )
}

/// The executive summary in a few lines, from the view model (`None` without a plan).
pub fn status(
    plan: Option<&Plan>,
    model: Option<mhd_store::Result<std::sync::Arc<ViewModel>>>,
    public_url: &str,
) -> String {
    let (Some(plan), Some(model)) = (plan, model) else {
        return "The dashboard runs without a plan, so it has no summary.".to_owned();
    };
    let model = match model {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("chat status: {e}");
            return "The summary could not be computed just now (the cause is logged).".to_owned();
        }
    };
    let Some(s) = &model.summary else {
        return "The dashboard runs without a plan, so it has no summary.".to_owned();
    };
    let (dot, health) = match s.overall_health {
        Health::Healthy => (":large_green_circle:", "healthy"),
        Health::AtRisk => (":large_yellow_circle:", "at risk"),
        Health::Critical => (":red_circle:", "critical"),
    };
    let mut lines = vec![format!(
        "*{}*: week {} of {}",
        escape(&plan.migration.name),
        s.week,
        s.weeks
    )];
    let mut health_line = format!("Health: {dot} {health}");
    if let Some(reason) = s.health_reasons.first() {
        health_line.push_str(&format!(" ({})", escape(reason)));
    }
    lines.push(health_line);
    let k = &s.key_metrics;
    let mut progress = format!(
        "Progress: {:.1} % ({} of {} datasets)",
        s.migration_progress, k.datasets_migrated, k.datasets_total
    );
    if let Some(rate) = k.success_rate {
        progress.push_str(&format!(", success rate {:.1} %", rate * 100.0));
    }
    if k.rollback_count > 0 {
        progress.push_str(&format!(", {} rollbacks", k.rollback_count));
    }
    lines.push(progress);
    lines.push(match &s.estimated_completion {
        Some(e) => {
            let against = match e.slip_days {
                d if d > 0 => format!("{d} days late"),
                d if d < 0 => format!("{} days early", -d),
                _ => "on time".to_owned(),
            };
            format!(
                "ETA: {} (85 % likely; planned {}, {against})",
                e.p85, e.planned_end
            )
        }
        None => "ETA: no forecast yet (no migrations in the last 28 days)".to_owned(),
    });
    if s.blockers.is_empty() {
        lines.push("Blockers: none".to_owned());
    } else {
        let titles: Vec<String> = s
            .blockers
            .iter()
            .take(3)
            .map(|b| escape(&b.title))
            .collect();
        let more = s.blockers.len().saturating_sub(titles.len());
        let mut line = format!("Blockers ({}): {}", s.blockers.len(), titles.join("; "));
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
        lines.push(line);
    }
    lines.push(link(&super::home_url(public_url), "Open the dashboard"));
    lines.join("\n")
}

/// The firing alerts, worst first.
pub async fn alerts(store: &Database, public_url: &str) -> String {
    let filter = AlertFilter {
        states: vec![AlertState::Firing],
        ..AlertFilter::default()
    };
    let mut firing = match store.alerts(&filter).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("chat alerts: {e}");
            return "The alerts could not be read just now (the cause is logged).".to_owned();
        }
    };
    if firing.is_empty() {
        return "No alert is firing.".to_owned();
    }
    firing.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.id.cmp(&a.id)));
    let mut lines = vec![format!(
        "{} alert{} firing:",
        firing.len(),
        if firing.len() == 1 { "" } else { "s" }
    )];
    for a in firing.iter().take(MAX_LISTED) {
        let word = match a.severity {
            Severity::Critical => "CRITICAL",
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        };
        let mut line = format!("• *{word}* {}", escape(&a.title));
        if let Some(c) = &a.component {
            line.push_str(&format!(" ({})", escape(c)));
        }
        if let Some(at) = a.fired_at {
            line.push_str(&format!(", since {} UTC", short_time(at)));
        }
        if let Some(ack) = &a.acknowledged {
            line.push_str(&format!(", acknowledged by {}", escape(&ack.by)));
        }
        if let Some(runbook) = a
            .runbook
            .as_deref()
            .filter(|r| r.starts_with("https://") || r.starts_with("http://"))
        {
            line.push_str(&format!(" {}", link(runbook, "runbook")));
        }
        lines.push(line);
    }
    if firing.len() > MAX_LISTED {
        lines.push(format!("and {} more", firing.len() - MAX_LISTED));
    }
    lines.push(link(&super::home_url(public_url), "Open the dashboard"));
    lines.join("\n")
}

/// `2025-03-01 12:04`.
fn short_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(SIGNATURE_HEADER, HeaderValue::from_str(sig).unwrap());
        h
    }

    #[test]
    fn slacks_documented_example_signature_verifies() {
        // The example of Slack's "Verifying requests from Slack" page.
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let ts = 1_531_420_618;
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(signature(secret, ts, body), expected);
        let now = OffsetDateTime::from_unix_timestamp(ts + 10).unwrap();
        let secret = SecretValue(secret.to_owned());
        assert_eq!(verify(&secret, &headers(ts, expected), body, now), Ok(()));
        let late = OffsetDateTime::from_unix_timestamp(ts + 301).unwrap();
        assert!(verify(&secret, &headers(ts, expected), body, late).is_err());
        let mut tampered = body.to_vec();
        tampered[0] = b'T';
        assert!(verify(&secret, &headers(ts, expected), &tampered, now).is_err());
        assert!(verify(&secret, &headers(ts, "v0=zz"), body, now).is_err());
    }
}
