//! Recording changes in the audit log (`mhd_store::audit`): who (the caller [`crate::security`]
//! found, [`LOCAL`] when nobody signs in), what, and from where. A failure to record is logged
//! and never fails the request it describes.
//!
//! Refused requests are many when someone tries hard, and each entry costs ~1.3 KB of store:
//! [`refused`] records the first refusal of a source (address), actor, action and reason at
//! once, and gathers the ones that follow within [`REFUSAL_WINDOW`] into one entry with their
//! `count`, written when the window ends ([`Refusals::flush`] writes them all, as `mhd serve`
//! does when it stops). An address refused more than [`REFUSALS_PER_WINDOW`] times in a window
//! is answered 429 instead, with `Retry-After`, until the window ends.
//!
//! [`start_pruning`] deletes the entries older than the retention the user chose, at start and
//! every [`PRUNE_EVERY`].

use mhd_store::prelude::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::response::Response;
use mhd_store::audit::{NewEntry, Outcome};
use serde_json::Value;

use crate::error::ApiError;
use crate::security::Who;
use crate::state::AppState;

use crate::security::{Gathered, MAX_FOLLOWED, RefusalKey, Refusals};
pub use crate::security::{LOCAL, REFUSAL_WINDOW, REFUSALS_PER_WINDOW};

/// How often the audit log is pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(6 * 3600);

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
    if let Err(e) = state.store().record_audit(&entry).await {
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
    // The database did not answer the request: the entry would wait as long again for it,
    // delaying the answer, and fail the same way.
    let unreachable = matches!(answer, Err(e) if e.code == "unavailable");
    let refusal = match answer {
        Ok(r) => {
            let s = r.status();
            (s.is_client_error() || s.is_server_error()).then_some((s.as_u16(), None))
        }
        Err(e) => Some((e.status.as_u16(), Some(e.message.clone()))),
    };
    async move {
        if unreachable {
            tracing::warn!(
                action,
                resource,
                "audit entry not written: the database does not answer"
            );
            return;
        }
        record_refusal(state, action, resource, details, client, refusal).await;
    }
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

/// What [`refused`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Answer as the refusal says.
    Answer,
    /// The address has been refused too often: answer 429 with `Retry-After` in seconds.
    TooMany(u64),
}

/// Writing the refusals gathered (kept in [`crate::security::Security`], which is below the
/// state and so cannot write them).
impl Refusals {
    /// Writes every gathered count now, whether its window has ended or not (as `mhd serve`
    /// does when it stops); the next refusal of each kind is then recorded at once again.
    pub async fn flush(&self, state: &AppState) {
        self.flush_ended(state, true).await;
    }

    /// Writes the gathered counts whose window has ended (all of them when `all`); whether some
    /// remain gathered.
    async fn flush_ended(&self, state: &AppState, all: bool) -> bool {
        let (ended, left) = {
            let mut inner = self.lock();
            let window = inner.window.unwrap_or(REFUSAL_WINDOW);
            let keys: Vec<RefusalKey> = inner
                .gathered
                .iter()
                .filter(|(_, g)| all || g.window_started.elapsed() >= window)
                .map(|(k, _)| k.clone())
                .collect();
            let ended: Vec<(RefusalKey, Gathered)> = keys
                .into_iter()
                .filter_map(|k| inner.gathered.remove(&k).map(|g| (k, g)))
                .collect();
            inner
                .per_address
                .retain(|_, (started, _)| started.elapsed() < window);
            (ended, !inner.gathered.is_empty())
        };
        for (key, gathered) in ended {
            write_gathered(state, key, gathered).await;
        }
        left
    }
}

/// Writes the entry of refusals gathered after the first of their window, if any.
async fn write_gathered(state: &AppState, key: RefusalKey, g: Gathered) {
    if g.count == 0 {
        return;
    }
    let mut details = match g.details {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    details.insert("count".to_owned(), g.count.into());
    if g.limited > 0 {
        details.insert("answered_429".to_owned(), g.limited.into());
    }
    if let Some(first) = g.first_at.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    }) {
        details.insert("first_at".to_owned(), first.into());
    }
    let entry = NewEntry {
        at: g.last_at,
        actor: key.actor,
        action: key.action.clone(),
        resource: g.resource,
        details: Value::Object(details),
        client: key.source.map(|ip| ip.to_string()),
        outcome: Outcome::Refused,
    };
    if let Err(e) = state.store().record_audit(&entry).await {
        tracing::warn!(action = key.action, "the audit log refused an entry: {e}");
    }
}

/// Records a refused request (or sign-in): the first of its kind in a window at once, the
/// following ones gathered into one entry with their count. `details` must hold its `reason`.
/// Says whether the address has been refused too often, so that the answer is 429.
pub async fn refused(
    state: &AppState,
    actor: &str,
    action: &str,
    resource: &str,
    details: Value,
    client: Option<SocketAddr>,
) -> Refusal {
    let refusals = &state.security().refusals;
    let now = state.now();
    let key = RefusalKey {
        action: action.to_owned(),
        source: client.map(|a| a.ip()),
        actor: actor.to_owned(),
        reason: details["reason"].as_str().unwrap_or("").to_owned(),
    };
    let (answer, record_now, overflow, start_flusher) = {
        let mut inner = refusals.lock();
        let window = inner.window.unwrap_or(REFUSAL_WINDOW);
        let mut overflow = Vec::new();
        if inner.gathered.len() >= MAX_FOLLOWED || inner.per_address.len() >= MAX_FOLLOWED {
            inner
                .per_address
                .retain(|_, (started, _)| started.elapsed() < window);
            if inner.gathered.len() >= MAX_FOLLOWED {
                overflow = inner.gathered.drain().collect();
            }
            if inner.per_address.len() >= MAX_FOLLOWED {
                inner.per_address.clear();
            }
        }
        let answer = match key.source {
            Some(ip) => {
                let (started, count) = inner.per_address.entry(ip).or_insert((Instant::now(), 0));
                if started.elapsed() >= window {
                    *started = Instant::now();
                    *count = 0;
                }
                *count = count.saturating_add(1);
                if *count > REFUSALS_PER_WINDOW {
                    let left = window.saturating_sub(started.elapsed());
                    Refusal::TooMany(left.as_secs().max(1))
                } else {
                    Refusal::Answer
                }
            }
            None => Refusal::Answer,
        };
        let mut ended = None;
        let record_now = match inner.gathered.get_mut(&key) {
            Some(g) if g.window_started.elapsed() < window => {
                g.count += 1;
                if answer != Refusal::Answer {
                    g.limited += 1;
                }
                g.first_at.get_or_insert(now);
                g.last_at = now;
                g.resource = resource.to_owned();
                g.details = details.clone();
                false
            }
            _ => {
                ended = inner.gathered.remove(&key);
                inner.gathered.insert(
                    key.clone(),
                    Gathered {
                        window_started: Instant::now(),
                        count: 0,
                        limited: 0,
                        first_at: None,
                        last_at: now,
                        resource: resource.to_owned(),
                        details: Value::Null,
                    },
                );
                true
            }
        };
        overflow.extend(ended.map(|g| (key.clone(), g)));
        let start_flusher = !inner.flushing && !record_now;
        if start_flusher {
            inner.flushing = true;
        }
        (answer, record_now, overflow, start_flusher)
    };
    for (k, g) in overflow {
        write_gathered(state, k, g).await;
    }
    if record_now {
        record(
            state,
            actor,
            action,
            resource,
            details,
            client,
            Outcome::Refused,
        )
        .await;
    }
    if start_flusher {
        let state = state.clone();
        tokio::spawn(async move {
            let refusals = &state.security().refusals;
            loop {
                let window = refusals.lock().window.unwrap_or(REFUSAL_WINDOW);
                tokio::time::sleep(window / 4).await;
                if !refusals.flush_ended(&state, false).await {
                    let mut inner = refusals.lock();
                    if inner.gathered.is_empty() {
                        inner.flushing = false;
                        break;
                    }
                }
            }
        });
    }
    answer
}

/// Deletes the audit entries older than `retention` now, then every [`PRUNE_EVERY`], until the
/// returned task is aborted.
pub fn start_pruning(state: &AppState, retention: time::Duration) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        loop {
            let before = state.now() - retention;
            match state.store().prune_audit(before).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(deleted = n, %before, "audit entries past their retention deleted")
                }
                Err(e) => tracing::warn!("cannot prune the audit log: {e}"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    })
}
