//! Sending over HTTP: one attempt, and how its failure says whether (and when) to try again.

use super::*;

/// Why an attempt failed, and whether to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What went wrong, for the log and `last_error` (secrets are cut out before either).
    pub message: String,
    /// Whether another attempt may succeed.
    pub retry: bool,
    /// The least wait the receiver asked for (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl SendError {
    /// A failure another attempt may cure.
    pub fn transient(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: true,
            retry_after: None,
        }
    }

    /// A failure another attempt will not cure.
    pub fn permanent(message: impl Into<String>) -> SendError {
        SendError {
            message: message.into(),
            retry: false,
            retry_after: None,
        }
    }

    /// A request that got no answer: timed out, refused, or broken off. The address is left
    /// out (Slack's is a secret).
    pub fn from_reqwest(e: reqwest::Error, timeout: Duration) -> SendError {
        let e = e.without_url();
        if e.is_timeout() {
            return SendError::transient(format!("no answer within {}", seconds(timeout)));
        }
        let mut text = if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "the request failed".to_owned()
        };
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let part = s.to_string();
            if !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            source = s.source();
        }
        SendError::transient(text)
    }
}

/// A duration as people read it: `10 s`, `250 ms`.
fn seconds(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Sends a request and sorts its answer: any 2xx is returned; 408, 429 and 5xx may be tried
/// again (after `Retry-After` when given); any other status fails for good. The error names
/// the status and the start of the answer's body.
pub async fn send_http(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<reqwest::Response, SendError> {
    let response = request
        .send()
        .await
        .map_err(|e| SendError::from_reqwest(e, timeout))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response.text().await.unwrap_or_default();
    let body = one_line(body.trim());
    let mut message = format!("HTTP {status}");
    if status.is_redirection() {
        message.push_str(" (redirects are not followed: check the channel's url)");
    }
    if !body.is_empty() {
        message.push_str(": ");
        message.push_str(&truncate(&body, 200));
    }
    let retry = matches!(status.as_u16(), 408 | 429) || status.is_server_error();
    Err(SendError {
        message,
        retry,
        retry_after: retry_after.map(|d| d.min(MAX_RETRY_AFTER)),
    })
}

/// Reads `Retry-After`: seconds, or an HTTP date (the wait until then).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    let wait = at - OffsetDateTime::now_utc();
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}
