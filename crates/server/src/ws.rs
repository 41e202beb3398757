//! The WebSocket `/ws/dashboard` (DESIGN §4): live updates of the dashboard.
//!
//! - **One render per change.** A hub task, started by the first connection, hears every
//!   [`Change`], gathers a burst of them for [`DEBOUNCE`], computes each update document once,
//!   serializes it once and broadcasts the text as a [`Frame`] on a bounded channel that every
//!   connection reads with its own receiver.
//! - **Server messages** are `{"type": ..., "data": ...}`: `initial_data` on connect
//!   (`{summary?, timeline?, components?, live, tests?, performance, alerts}`, `alerts` being
//!   the pending and firing ones), then `metrics:update` (the live metrics), `progress:update`
//!   (`{migration_progress, key_metrics, overall_health, estimated_completion}`, with a plan),
//!   `test:results` (the tests view), `alert:new` and `alert:resolved` (the alert that fired
//!   or resolved) and `alert:updated` (`{reason, alert?, silence?}`: pending, cancelled,
//!   acknowledged, silenced, unsilenced). Beside them:
//!   `subscribed` (the client's subscriptions, after each `subscribe` / `unsubscribe`),
//!   `error` (`{message}`) and `resync` (followed by a fresh `initial_data`).
//! - **Client messages**: `{"type":"subscribe","component":"storage"}` and `unsubscribe`. A
//!   client with at least one subscription receives only the pushes whose components meet
//!   them; pushes that concern no component in particular go to everyone.
//! - **Per-client limits** ([`Limits`]): messages over 4 KB, unknown or malformed ones are
//!   answered with an `error`; more than [`Limits::max_errors_per_second`] errors in a second
//!   close the connection (policy violation). A write that takes longer than
//!   [`Limits::write_timeout`] drops the client, so a slow client never holds up the others; a
//!   client that falls behind the channel gets `resync` and a fresh `initial_data`, and is
//!   closed when that happens more than [`Limits::max_lags`] times. Pings every 20 s; a client
//!   silent for 60 s is dropped.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use mhd_web::paths;
use prometheus_client::metrics::gauge::Gauge;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio::time::{Instant, sleep_until, timeout};

use crate::recorder::{AlertPush, Change};
use crate::security::{Caller, Who};
use crate::state::AppState;

/// How long the hub gathers a burst of changes before rendering them once.
pub const DEBOUNCE: Duration = Duration::from_millis(50);
/// Frames the hub's channel holds for a client that has not read them yet.
pub const FRAME_BUFFER: usize = 64;
/// The largest frame the protocol layer accepts; larger ones close the connection.
const MAX_FRAME: usize = 64 * 1024;
/// Most components one client may subscribe to.
const MAX_SUBSCRIPTIONS: usize = 64;
/// The read buffer each connection keeps: client messages are a few dozen bytes (at most
/// [`Limits::max_message`]), and the buffer grows for the rare larger frame.
const READ_BUFFER: usize = 1024;
/// How much the protocol layer gathers before writing to the socket. Not an allocation: the
/// write buffer grows to the largest message sent (`initial_data`) whatever this is.
const WRITE_BUFFER: usize = 8 * 1024;

/// One rendered push: its JSON text, serialized once and shared by every connection.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The message type, such as `metrics:update`.
    pub kind: &'static str,
    /// The whole message, `{"type": ..., "data": ...}`.
    pub text: Utf8Bytes,
    /// The components the push concerns; empty when it concerns everyone.
    pub components: Arc<[String]>,
}

impl Frame {
    /// Serializes `{"type": kind, "data": data}` once.
    pub fn new(kind: &'static str, data: &impl Serialize, components: Vec<String>) -> Frame {
        Frame {
            kind,
            text: message(kind, data),
            components: components.into(),
        }
    }

    /// Whether a client with these subscriptions receives this frame.
    pub fn wanted_by(&self, subscriptions: &BTreeSet<String>) -> bool {
        subscriptions.is_empty()
            || self.components.is_empty()
            || self.components.iter().any(|c| subscriptions.contains(c))
    }
}

/// `{"type": kind, "data": data}` as text.
fn message(kind: &str, data: &impl Serialize) -> Utf8Bytes {
    // Serializing our own view types cannot fail (string keys, no custom serializers that
    // error); should it ever, the client gets an error message instead of a panic.
    let text = serde_json::to_string(&json!({ "type": kind, "data": data })).unwrap_or_else(|e| {
        json!({ "type": "error", "data": { "message": format!("cannot render {kind}: {e}") } })
            .to_string()
    });
    Utf8Bytes::from(text)
}

/// `{"type":"error","data":{"message": ...}}`.
fn error_message(text: &str) -> Message {
    Message::Text(message("error", &json!({ "message": text })))
}

/// Per-connection limits; [`Limits::default`] holds the server's values, tests shorten them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How often the server pings an idle client.
    pub ping_interval: Duration,
    /// How long a client may stay silent (no pong, no frame) before it is dropped.
    pub idle_timeout: Duration,
    /// How long one write may take before the client is dropped.
    pub write_timeout: Duration,
    /// The largest client message answered normally, in bytes.
    pub max_message: usize,
    /// Error replies allowed per second before the connection is closed.
    pub max_errors_per_second: u32,
    /// Resyncs allowed before a client that keeps falling behind is closed.
    pub max_lags: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(5),
            max_message: 4096,
            max_errors_per_second: 10,
            max_lags: 3,
        }
    }
}

/// The WebSocket's router (the dashboard's route alone).
pub fn routes() -> Router<AppState> {
    Router::new().route(paths::WS_DASHBOARD, dashboard())
}

/// The handler of the dashboard's WebSocket.
///
/// Each call has its own hub, started by the first connection and running for the life of
/// the process.
pub(crate) fn dashboard() -> MethodRouter<AppState> {
    let hub: Arc<OnceLock<broadcast::Sender<Frame>>> = Arc::new(OnceLock::new());
    get(
        move |upgrade: WebSocketUpgrade, State(state): State<AppState>, who: Who| async move {
            let frames = hub.get_or_init(|| spawn_hub(&state)).subscribe();
            upgrade_response(upgrade, state, frames, who)
        },
    )
}

/// Accepts the upgrade and runs the connection with the server's limits. A connection opened
/// with a session or a token ends when that credential stops holding (sign-out, a new
/// password, revocation, expiry), checked every [`CREDENTIAL_CHECK`]; the page's script then
/// finds itself signed out and goes to the sign-in page.
fn upgrade_response(
    upgrade: WebSocketUpgrade,
    state: AppState,
    frames: broadcast::Receiver<Frame>,
    who: Who,
) -> Response {
    // Every connection holds its buffers for its whole life: small ones keep a thousand idle
    // connections cheap.
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket: WebSocket| async move {
            let (sink, stream) = socket.split();
            if *who.caller == Caller::Local {
                run_connection(state, frames, sink, stream, Limits::default()).await;
            } else {
                let watched = state.clone();
                tokio::select! {
                    () = run_connection(state, frames, sink, stream, Limits::default()) => {}
                    () = credential_ends(&who, &watched) => {
                        tracing::debug!(actor = who.caller.actor(), "a WebSocket's credential ended");
                    }
                }
            }
        })
}

/// How often a connection checks that its session or token still holds.
pub const CREDENTIAL_CHECK: Duration = Duration::from_secs(10);

/// Completes once `who`'s credential no longer holds.
async fn credential_ends(who: &Who, state: &AppState) {
    let mut every = tokio::time::interval_at(Instant::now() + CREDENTIAL_CHECK, CREDENTIAL_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !who.still_valid(state.store(), state.now()).await {
            return;
        }
    }
}

/// Starts the hub that turns changes into frames; returns the channel connections subscribe
/// to. The hub subscribes to the changes before returning, so none sent afterwards is missed.
pub fn spawn_hub(state: &AppState) -> broadcast::Sender<Frame> {
    let (frames, _) = broadcast::channel(FRAME_BUFFER);
    let changes = state.recorder().subscribe();
    tokio::spawn(run_hub(state.clone(), changes, frames.clone()));
    frames
}

/// What a burst of changes touched.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Operations were stored.
    pub operations: bool,
    /// The components the operations named; meaningful when not `operations_everyone`.
    pub operation_components: BTreeSet<String>,
    /// Some operations named no component, so the push concerns everyone.
    pub operations_everyone: bool,
    /// A test run was stored.
    pub tests: bool,
    /// The components of the test runs.
    pub test_components: BTreeSet<String>,
    /// Some test run named no component.
    pub tests_everyone: bool,
    /// Benchmarks were stored.
    pub benchmarks: bool,
    /// Samples were stored.
    pub samples: bool,
    /// The overall status shown changed.
    pub health: bool,
    /// Alert changes, in order, each pushed as its own message.
    pub alerts: Vec<AlertChange>,
}

/// One alert change of a burst: its message, the components it concerns and its `data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertChange {
    /// The message.
    pub push: AlertPush,
    /// The components it concerns (empty: everyone).
    pub components: Vec<String>,
    /// The message's `data`.
    pub data: Arc<serde_json::Value>,
}

impl Batch {
    /// Adds one change.
    pub fn add(&mut self, change: Change) {
        match change {
            Change::Operations { components } => {
                self.operations = true;
                self.operations_everyone |= components.is_empty();
                self.operation_components.extend(components);
            }
            Change::TestRun { component } => {
                self.tests = true;
                match component {
                    Some(c) => {
                        self.test_components.insert(c);
                    }
                    None => self.tests_everyone = true,
                }
            }
            Change::Benchmarks => self.benchmarks = true,
            Change::Samples => self.samples = true,
            Change::Health => self.health = true,
            Change::External => {
                let alerts = std::mem::take(&mut self.alerts);
                *self = Batch::everything();
                self.alerts = alerts;
            }
            Change::Alert {
                push,
                component,
                data,
            } => self.alerts.push(AlertChange {
                push,
                components: component.into_iter().collect(),
                data,
            }),
        }
    }

    /// Marks everything changed: changes were missed, so nothing can be assumed.
    pub fn everything() -> Batch {
        Batch {
            operations: true,
            operations_everyone: true,
            tests: true,
            tests_everyone: true,
            benchmarks: true,
            samples: true,
            health: true,
            ..Batch::default()
        }
    }

    /// The components `metrics:update` concerns (empty: everyone).
    fn metrics_components(&self) -> Vec<String> {
        if self.operations_everyone || self.samples {
            Vec::new()
        } else {
            self.operation_components.iter().cloned().collect()
        }
    }

    /// The components `test:results` concerns (empty: everyone).
    fn test_components(&self) -> Vec<String> {
        if self.tests_everyone {
            Vec::new()
        } else {
            self.test_components.iter().cloned().collect()
        }
    }
}

/// The hub: gathers each burst of changes and broadcasts its frames.
async fn run_hub(
    state: AppState,
    mut changes: broadcast::Receiver<Change>,
    frames: broadcast::Sender<Frame>,
) {
    let mut last_render = Instant::now() - DEBOUNCE;
    loop {
        let mut batch = match changes.recv().await {
            Ok(change) => {
                let mut b = Batch::default();
                b.add(change);
                b
            }
            Err(RecvError::Lagged(_)) => Batch::everything(),
            Err(RecvError::Closed) => return,
        };
        // The first change of a quiet spell renders at once; changes within DEBOUNCE of the
        // previous render wait for its end and go out together, so a burst costs one render
        // per DEBOUNCE and a lone write is pushed without delay.
        let deadline = sleep_until(last_render + DEBOUNCE);
        tokio::pin!(deadline);
        loop {
            // Whatever already arrived joins this batch.
            match changes.try_recv() {
                Ok(change) => {
                    batch.add(change);
                    continue;
                }
                Err(TryRecvError::Lagged(_)) => {
                    batch = Batch::everything();
                    continue;
                }
                Err(TryRecvError::Closed) => return,
                Err(TryRecvError::Empty) => {}
            }
            if deadline.is_elapsed() {
                break;
            }
            tokio::select! {
                () = &mut deadline => break,
                change = changes.recv() => match change {
                    Ok(change) => batch.add(change),
                    Err(RecvError::Lagged(_)) => batch = Batch::everything(),
                    Err(RecvError::Closed) => break,
                },
            }
        }
        last_render = Instant::now();
        if frames.receiver_count() == 0 {
            continue;
        }
        // No receiver left is fine: the next connection starts from initial_data.
        let send = |frame: Frame| {
            let _ = frames.send(frame);
        };
        if let Err(e) = render_into(&state, &batch, send).await {
            state.metrics().store_errors.inc();
            tracing::warn!(error = %e, "cannot render the live update");
        }
    }
}

/// The progress figures of the executive summary.
#[derive(Serialize)]
struct Progress<'a> {
    migration_progress: f64,
    key_metrics: &'a mhd_core::summary::KeyMetrics,
    overall_health: &'a mhd_core::summary::Health,
    estimated_completion: &'a Option<mhd_core::forecast::EstimatedCompletion>,
}

/// The frames of one batch, each rendered and serialized once.
pub async fn render(state: &AppState, batch: &Batch) -> mhd_store::Result<Vec<Frame>> {
    let mut out = Vec::new();
    render_into(state, batch, |f| out.push(f)).await?;
    Ok(out)
}

/// Renders a batch's frames, handing each to `send` as soon as it is ready: the live metrics
/// first (a read of the last minutes), then what needs the plan-driven views (which a write
/// makes the server compute again).
async fn render_into(
    state: &AppState,
    batch: &Batch,
    mut send: impl FnMut(Frame),
) -> mhd_store::Result<()> {
    let now = state.now();
    // Alerts first: they are what people are waiting to hear.
    for a in &batch.alerts {
        send(Frame::new(
            a.push.message_type(),
            &*a.data,
            a.components.clone(),
        ));
    }
    if batch.operations || batch.samples {
        // The schedule delay comes from the views as last computed: not worth holding the
        // push for.
        let slip = state.views().latest().and_then(|m| m.slip_days());
        let live =
            crate::live_metrics::metrics(state.store(), state.plan().as_deref(), now, slip).await?;
        send(Frame::new(
            "metrics:update",
            &live,
            batch.metrics_components(),
        ));
    }
    // Firing alerts change the health, so alert changes refresh the progress too.
    let alerts_changed = !batch.alerts.is_empty();
    let model = if batch.operations
        || batch.tests
        || batch.benchmarks
        || batch.samples
        || batch.health
        || alerts_changed
    {
        Some(state.model().await?)
    } else {
        None
    };
    if let Some(s) = model.as_deref().and_then(|m| m.summary.as_ref()) {
        let progress = Progress {
            migration_progress: s.migration_progress,
            key_metrics: &s.key_metrics,
            overall_health: &s.overall_health,
            estimated_completion: &s.estimated_completion,
        };
        send(Frame::new("progress:update", &progress, Vec::new()));
    }
    if batch.tests
        && let Some(view) = model.as_deref().and_then(|m| m.tests.as_ref())
    {
        send(Frame::new("test:results", view, batch.test_components()));
    }
    Ok(())
}

/// The `initial_data` message: everything the dashboard shows now, serialized once per data
/// version and shared by every client that connects meanwhile.
pub async fn initial_data(state: &AppState) -> mhd_store::Result<Utf8Bytes> {
    let version = state.data_version();
    // Boxed: the computation's future is large and only needed on a miss; inline, its space
    // would stay in every connection's task for the life of the connection.
    let text = state
        .initial_data_cache()
        .get_or_compute(version, || Box::pin(compute_initial_data(state)))
        .await?;
    Ok(Utf8Bytes::clone(&text))
}

async fn compute_initial_data(state: &AppState) -> mhd_store::Result<Utf8Bytes> {
    let now = state.now();
    let m = state.model().await?;
    let live =
        crate::live_metrics::metrics(state.store(), state.plan().as_deref(), now, m.slip_days())
            .await?;
    let mut data = serde_json::Map::new();
    if let Some(s) = &m.summary {
        data.insert("summary".into(), to_value(s));
        data.insert("timeline".into(), to_value(&m.timeline));
        data.insert("components".into(), to_value(&m.components));
    }
    data.insert("live".into(), to_value(&live));
    if let Some(t) = &m.tests {
        data.insert("tests".into(), to_value(t));
    }
    data.insert("performance".into(), to_value(&m.performance.comparisons));
    data.insert("alerts".into(), to_value(&m.alerts));
    Ok(message("initial_data", &data))
}

/// A view as JSON (`null` in the unexpected case it cannot be serialized).
fn to_value(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// A message from the client.
#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Receive the pushes of this component (and those of no component in particular).
    Subscribe {
        /// The component's id.
        component: String,
    },
    /// Stop receiving the pushes of this component.
    Unsubscribe {
        /// The component's id.
        component: String,
    },
}

/// Reads a client's text message, or says what is wrong with it.
pub fn parse_client_message(text: &str, max_len: usize) -> Result<ClientMessage, String> {
    if text.len() > max_len {
        return Err(format!(
            "message too large: {} bytes, at most {max_len}",
            text.len()
        ));
    }
    let msg: ClientMessage = serde_json::from_str(text).map_err(|e| {
        format!("expected {{\"type\":\"subscribe\"|\"unsubscribe\",\"component\":\"...\"}}: {e}")
    })?;
    let (Subscribe { component } | Unsubscribe { component }) = &msg;
    if component.is_empty() || component.len() > 128 {
        return Err("component must be 1 to 128 characters".into());
    }
    Ok(msg)
}
use ClientMessage::{Subscribe, Unsubscribe};

/// Keeps the client gauge true on every exit path.
struct ClientGuard(Gauge);

impl ClientGuard {
    fn new(gauge: &Gauge) -> ClientGuard {
        gauge.inc();
        ClientGuard(gauge.clone())
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Why a write failed: the client is gone or too slow, so the connection ends.
struct Gone;

/// Sends one message, dropping the client when it takes longer than the write timeout.
async fn send<S: Sink<Message> + Unpin>(
    sink: &mut S,
    msg: Message,
    limits: &Limits,
) -> Result<(), Gone> {
    match timeout(limits.write_timeout, sink.send(msg)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(Gone),
    }
}

/// Sends `initial_data`, or an error message when the store cannot answer.
async fn send_initial<S: Sink<Message> + Unpin>(
    state: &AppState,
    sink: &mut S,
    limits: &Limits,
) -> Result<(), Gone> {
    let msg = match initial_data(state).await {
        Ok(text) => Message::Text(text),
        Err(e) => {
            state.metrics().store_errors.inc();
            tracing::warn!(error = %e, "cannot read the dashboard's initial data");
            error_message("the dashboard data cannot be read now")
        }
    };
    send(sink, msg, limits).await
}

/// Counts error replies per second.
struct ErrorRate {
    since: Instant,
    count: u32,
}

impl ErrorRate {
    /// Counts one more error; true when over the limit.
    fn exceeded(&mut self, max: u32) -> bool {
        let now = Instant::now();
        if now.duration_since(self.since) >= Duration::from_secs(1) {
            self.since = now;
            self.count = 0;
        }
        self.count += 1;
        self.count > max
    }
}

/// One client's connection: `initial_data`, then pushes and replies until the client leaves,
/// breaks a limit or the server stops. Generic over the socket's halves so tests drive it
/// with channels.
pub async fn run_connection<S, R, E>(
    state: AppState,
    mut frames: broadcast::Receiver<Frame>,
    mut sink: S,
    mut stream: R,
    limits: Limits,
) where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    let _guard = ClientGuard::new(&state.metrics().websocket_clients);
    let _ = serve_client(&state, &mut frames, &mut sink, &mut stream, &limits).await;
    let _ = timeout(limits.write_timeout, sink.close()).await;
}

/// The loop of [`run_connection`]; returns when the connection ends.
async fn serve_client<S, R, E>(
    state: &AppState,
    frames: &mut broadcast::Receiver<Frame>,
    sink: &mut S,
    stream: &mut R,
    limits: &Limits,
) -> Result<(), Gone>
where
    S: Sink<Message> + Unpin,
    R: Stream<Item = Result<Message, E>> + Unpin,
{
    send_initial(state, sink, limits).await?;
    let mut subscriptions: BTreeSet<String> = BTreeSet::new();
    let mut errors = ErrorRate {
        since: Instant::now(),
        count: 0,
    };
    let mut lags = 0u32;
    let mut last_heard = Instant::now();
    let mut ping =
        tokio::time::interval_at(Instant::now() + limits.ping_interval, limits.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    None | Some(Err(_)) => return Ok(()),
                };
                last_heard = Instant::now();
                let reply = match msg {
                    Message::Text(text) => match parse_client_message(text.as_str(), limits.max_message) {
                        Ok(m) => Ok(apply(state, &mut subscriptions, m)),
                        Err(e) => Err(e),
                    },
                    Message::Binary(_) => Err("binary messages are not supported".to_owned()),
                    // The socket answers pings itself; a pong only proves the client is alive.
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => return Ok(()),
                };
                match reply {
                    Ok(msg) => send(sink, msg, limits).await?,
                    Err(e) => {
                        if errors.exceeded(limits.max_errors_per_second) {
                            let close = Message::Close(Some(CloseFrame {
                                code: close_code::POLICY,
                                reason: Utf8Bytes::from_static("too many invalid messages"),
                            }));
                            return send(sink, close, limits).await;
                        }
                        send(sink, error_message(&e), limits).await?;
                    }
                }
            }
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if frame.wanted_by(&subscriptions) {
                        send(sink, Message::Text(frame.text), limits).await?;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    lags += 1;
                    if lags > limits.max_lags {
                        let close = Message::Close(Some(CloseFrame {
                            code: close_code::AGAIN,
                            reason: Utf8Bytes::from_static("too slow to follow the updates"),
                        }));
                        return send(sink, close, limits).await;
                    }
                    send(sink, Message::Text(Utf8Bytes::from_static(r#"{"type":"resync"}"#)), limits).await?;
                    send_initial(state, sink, limits).await?;
                }
                // The hub stopped: the server is shutting down.
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = ping.tick() => {
                send(sink, Message::Ping(Default::default()), limits).await?;
            }
            () = state.stopped() => {
                let close = Message::Close(Some(CloseFrame {
                    code: close_code::AWAY,
                    reason: Utf8Bytes::from_static("the server is stopping"),
                }));
                return send(sink, close, limits).await;
            }
            () = sleep_until(last_heard + limits.idle_timeout) => return Ok(()),
        }
    }
}

/// Applies a subscription change and returns the acknowledgement.
fn apply(state: &AppState, subscriptions: &mut BTreeSet<String>, msg: ClientMessage) -> Message {
    match msg {
        Subscribe { component } => {
            if let Some(plan) = state.plan().as_deref()
                && plan.component(&component).is_none()
            {
                return error_message(&format!("unknown component: {component}"));
            }
            if subscriptions.len() >= MAX_SUBSCRIPTIONS && !subscriptions.contains(&component) {
                return error_message(&format!(
                    "at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
                ));
            }
            subscriptions.insert(component);
        }
        Unsubscribe { component } => {
            subscriptions.remove(&component);
        }
    }
    Message::Text(message(
        "subscribed",
        &json!({ "components": subscriptions }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite as ts;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_frame_reaches_subscribers_of_its_components_and_everyone_without_subscriptions() {
        let scoped = Frame::new("metrics:update", &1, vec!["storage".into()]);
        let global = Frame::new("progress:update", &1, Vec::new());
        assert!(scoped.wanted_by(&set(&[])));
        assert!(scoped.wanted_by(&set(&["config", "storage"])));
        assert!(!scoped.wanted_by(&set(&["config"])));
        assert!(global.wanted_by(&set(&["config"])));
        assert_eq!(
            scoped.text.as_str(),
            r#"{"data":1,"type":"metrics:update"}"#
        );
    }

    #[test]
    fn client_messages_parse_or_say_why_not() {
        assert_eq!(
            parse_client_message(r#"{"type":"subscribe","component":"storage"}"#, 4096),
            Ok(Subscribe {
                component: "storage".into()
            })
        );
        assert_eq!(
            parse_client_message(r#"{"type":"unsubscribe","component":"x"}"#, 4096),
            Ok(Unsubscribe {
                component: "x".into()
            })
        );
        for bad in [
            "garbage",
            r#"{"type":"shout","component":"x"}"#,
            r#"{"type":"subscribe"}"#,
            r#"{"type":"subscribe","component":""}"#,
            r#"{"type":"subscribe","component":"x","extra":1}"#,
        ] {
            assert!(parse_client_message(bad, 4096).is_err(), "{bad}");
        }
        let big = format!(
            r#"{{"type":"subscribe","component":"{}"}}"#,
            "x".repeat(5000)
        );
        assert!(
            parse_client_message(&big, 4096)
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn a_batch_scopes_pushes_to_the_components_it_names() {
        let mut b = Batch::default();
        b.add(Change::Operations {
            components: vec!["storage".into()],
        });
        b.add(Change::TestRun {
            component: Some("config".into()),
        });
        assert_eq!(b.metrics_components(), vec!["storage".to_owned()]);
        assert_eq!(b.test_components(), vec!["config".to_owned()]);
        b.add(Change::Operations { components: vec![] });
        assert!(b.metrics_components().is_empty());
        b.add(Change::TestRun { component: None });
        assert!(b.test_components().is_empty());
        assert!(Batch::everything().metrics_components().is_empty());
    }

    /// The size of the future `f` returns, without calling it.
    fn future_size<F, A, B, C, D, L, Fut>(_: F) -> usize
    where
        F: FnOnce(A, B, C, D, L) -> Fut,
    {
        std::mem::size_of::<Fut>()
    }

    #[test]
    fn a_connection_task_stays_small() {
        // Each client keeps one for the life of its connection; computing initial_data inline
        // made it 3.4 KB.
        type S = futures_util::stream::SplitSink<WebSocket, Message>;
        type R = futures_util::stream::SplitStream<WebSocket>;
        let size = future_size(run_connection::<S, R, axum::Error>);
        assert!(size <= 2048, "the connection's future takes {size} bytes");
    }

    /// The next text message of a test client, pings skipped.
    async fn next_text<S>(ws: &mut S) -> String
    where
        S: Stream<Item = Result<ts::Message, ts::Error>> + Unpin,
    {
        loop {
            match timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(ts::Message::Text(t)))) => return t.as_str().to_owned(),
                Ok(Some(Ok(ts::Message::Ping(_) | ts::Message::Pong(_)))) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_client_message_larger_than_the_read_buffer_is_read_whole() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = mhd_store::Database::open_file(&dir.path().join("mhd.db"), 2)
            .await
            .expect("the store opens");
        let state = AppState::with_clock(store, None, time::OffsetDateTime::now_utc);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on 127.0.0.1");
        let addr = listener.local_addr().expect("the bound address");
        let app = routes().with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("ws://{addr}{}", paths::WS_DASHBOARD);
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the WebSocket opens");
        assert!(
            next_text(&mut ws)
                .await
                .contains(r#""type":"initial_data""#)
        );

        // Valid JSON three times the read buffer's size, then a message over the 4 KB limit.
        let padding = " ".repeat(3 * READ_BUFFER);
        let big = format!(r#"{{"type":"subscribe",{padding}"component":"storage"}}"#);
        let too_big = format!(r#"{{"type":"subscribe",{padding}{padding}"component":"x"}}"#);
        assert!(big.len() < Limits::default().max_message);
        assert!(too_big.len() > Limits::default().max_message);
        ws.send(big.into()).await.expect("sent");
        assert_eq!(
            next_text(&mut ws).await,
            r#"{"data":{"components":["storage"]},"type":"subscribed"}"#
        );
        ws.send(too_big.into()).await.expect("sent");
        let reply = next_text(&mut ws).await;
        assert!(reply.contains("message too large"), "{reply}");
        // The connection is still served.
        ws.send(r#"{"type":"unsubscribe","component":"storage"}"#.into())
            .await
            .expect("sent");
        assert_eq!(
            next_text(&mut ws).await,
            r#"{"data":{"components":[]},"type":"subscribed"}"#
        );
    }

    #[test]
    fn the_client_gauge_is_decremented_when_the_guard_drops() {
        let g = Gauge::default();
        {
            let _a = ClientGuard::new(&g);
            let _b = ClientGuard::new(&g);
            assert_eq!(g.get(), 2);
        }
        assert_eq!(g.get(), 0);
    }
}
