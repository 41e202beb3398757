//! Recording changes in the audit log (`mhd_store::audit`): who (the caller [`crate::access`]
//! found, [`LOCAL`] when nobody signs in), what, and from where. A failure to record is logged
//! and never fails the request it describes.

use std::net::SocketAddr;

use axum::response::Response;
use mhd_store::audit::{NewEntry, Outcome};
use serde_json::Value;

use crate::access::Who;
use crate::error::ApiError;
use crate::state::AppState;

/// The actor of a request when nobody signs in.
pub const LOCAL: &str = "local";

/// Appends one entry to the audit log; when the store refuses, logs a warning and carries on.
pub async fn record(
    state: &AppState,
    actor: &str,
    action: &str,
    resource: &str,
    details: Value,
    client: Option<SocketAddr>,
    outcome: Outcome,
) {
    let entry = NewEntry {
        at: state.now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        details,
        client: client.map(|a| a.to_string()),
        outcome,
    };
    if let Err(e) = state.store.record_audit(&entry).await {
        tracing::warn!(action, resource, "the audit log refused an entry: {e}");
    }
}

/// Records the outcome of a change: done when `answer` is `Ok`, else refused with the error's
/// `status` and `error` added to `details`.
pub async fn record_result<T>(
    state: &AppState,
    action: &str,
    resource: &str,
    details: Value,
    client: &Who,
    answer: &Result<T, ApiError>,
) {
    let refusal = answer
        .as_ref()
        .err()
        .map(|e| (e.status.as_u16(), Some(e.message.clone())));
    record_refusal(state, action, resource, details, client, refusal).await;
}

/// Records the answer of a request: done for a 2xx/3xx answer, refused for an error or a
/// 4xx/5xx answer, with its `status` (and the error's message) added to `details`.
///
/// The answer is looked at before the returned future starts, so the future does not hold it.
pub fn record_response<'a>(
    state: &'a AppState,
    action: &'a str,
    resource: &'a str,
    details: Value,
    client: &'a Who,
    answer: &Result<Response, ApiError>,
) -> impl Future<Output = ()> + Send + 'a {
    let refusal = match answer {
        Ok(r) => {
            let s = r.status();
            (s.is_client_error() || s.is_server_error()).then_some((s.as_u16(), None))
        }
        Err(e) => Some((e.status.as_u16(), Some(e.message.clone()))),
    };
    record_refusal(state, action, resource, details, client, refusal)
}

/// Records as the caller: refused with `(status, message)` when given, else done.
async fn record_refusal(
    state: &AppState,
    action: &str,
    resource: &str,
    details: Value,
    client: &Who,
    refusal: Option<(u16, Option<String>)>,
) {
    let mut details = match details {
        Value::Object(map) => map,
        Value::Null => serde_json::Map::new(),
        other => {
            let mut map = serde_json::Map::new();
            map.insert("value".to_owned(), other);
            map
        }
    };
    let outcome = match refusal {
        None => Outcome::Ok,
        Some((status, message)) => {
            details.insert("status".to_owned(), status.into());
            if let Some(m) = message {
                details.insert("error".to_owned(), m.into());
            }
            Outcome::Refused
        }
    };
    record(
        state,
        &client.caller.actor(),
        action,
        resource,
        Value::Object(details),
        client.addr,
        outcome,
    )
    .await;
}
