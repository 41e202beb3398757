//! Notification channels: alerts sent to webhooks, Slack, PagerDuty, e-mail and Jira, through a
//! durable outbox.
//!
//! How a notification travels:
//!
//! 1. The alert loop hands every transition people are told about to [`Notifier::enqueue`],
//!    which routes it (each channel's `min_severity`, `components` and `send_resolved`; Jira
//!    only for firings at or above its `auto_severity`) and writes one row per channel to the
//!    store's outbox in one transaction before it returns. Nothing is sent on the alert loop's
//!    time; a restart loses nothing still pending.
//! 2. One worker per channel, woken by each enqueue, claims the channel's due rows oldest first
//!    (an alert's "resolved" never overtakes its "fired"), at most one message per
//!    [`NotifierOptions::min_interval`], each attempt with a timeout. Only the leading replica
//!    runs workers, and a claimed row is held while it is sent, so two replicas never send the
//!    same row. A leader killed after a receiver took a message but before the row was marked
//!    sent leaves it to be sent again by the next leader: webhooks carry the row's
//!    `Idempotency-Key`, so a receiver can drop that copy.
//! 3. A 2xx marks the row sent. A 5xx, a 408, a 429 (waiting at least its `Retry-After`), a
//!    timeout or a refused connection is tried again after an exponential backoff with jitter,
//!    up to [`NotifierOptions::max_attempts`] attempts, then the row is marked failed; any other
//!    4xx fails at once. Every attempt is logged with the channel, the alert and the outcome,
//!    and counted in `mhd_notifications_total{channel,outcome}`.
//!
//! Secrets (tokens, routing keys, passwords, Slack's address) are read once at start from their
//! files or environment variables; they are never stored, logged or shown, and are cut out of
//! any error text a channel answers with.

pub mod chat;
mod deliver;
mod docs;
pub mod email;
pub mod jira;
pub mod pagerduty;
mod send;
pub mod slack;
pub mod webhook;

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use mhd_core::alerts::{AlertEvent, Severity, Transition};
use mhd_core::plan::{Channel, ChannelKind, Secret, SecretOrText};
use mhd_store::Database;
use mhd_store::outbox::{Attempt, Delivery, DeliveryEvent, JiraIssue, Notification, Outbox};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::Deserialize;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::metrics::{ChannelLabels, NotificationLabels, NotifyMetrics};

pub use deliver::run_workers;
pub use docs::{AlertDoc, ImpactDoc, ReportDoc, dashboard_url, home_url, one_line, truncate};
pub use send::{SendError, parse_retry_after, send_http};

/// How long one attempt may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time between two messages of one channel: 1 message per second.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Attempts before a delivery is marked failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// The wait before the second attempt; it doubles with each further one.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(300);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);
/// The dashboard's address in messages when `MHD_PUBLIC_URL` is not set.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8000";

/// How the notifier delivers: the dashboard's address for links, timeouts, rate, retries.
#[derive(Debug, Clone)]
pub struct NotifierOptions {
    /// The dashboard's address as the people notified reach it, for the links in messages
    /// (`MHD_PUBLIC_URL`, else `http://<bind>`).
    pub public_url: String,
    /// How long one attempt may take (default 10 s).
    pub timeout: Duration,
    /// The least time between two messages of one channel (default 1 s).
    pub min_interval: Duration,
    /// Attempts before a delivery is marked failed (default 8).
    pub max_attempts: u32,
    /// The wait before the second attempt, doubled for each further one (default 1 s).
    pub backoff_base: Duration,
    /// The longest wait between two attempts (default 5 min).
    pub backoff_cap: Duration,
    /// Certificates (PEM) trusted besides the system's for SMTP over TLS, such as a private
    /// certificate authority's.
    pub smtp_root_certificates: Vec<String>,
}

impl Default for NotifierOptions {
    /// The defaults, with the dashboard's address from `MHD_PUBLIC_URL` when set.
    fn default() -> Self {
        NotifierOptions {
            public_url: std::env::var("MHD_PUBLIC_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_PUBLIC_URL.to_owned()),
            timeout: DEFAULT_TIMEOUT,
            min_interval: DEFAULT_MIN_INTERVAL,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            smtp_root_certificates: Vec::new(),
        }
    }
}

impl NotifierOptions {
    /// The defaults for a server listening on `bind`: links go to `MHD_PUBLIC_URL` when set,
    /// else to `http://<bind>`.
    pub fn for_bind(bind: std::net::SocketAddr) -> NotifierOptions {
        let mut options = NotifierOptions::default();
        if std::env::var("MHD_PUBLIC_URL").map_or(true, |v| v.trim().is_empty()) {
            options.public_url = format!("http://{bind}");
        }
        options
    }

    /// The wait after failed attempt number `attempt` (1-based): the base doubled for each
    /// attempt before, capped, then spread by ±20 % so that channels do not retry in step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(30));
        doubled
            .min(self.backoff_cap)
            .mul_f64(0.8 + 0.4 * unit_random())
    }
}

/// A random number in `[0, 1)`, from the standard library's randomly keyed hasher.
fn unit_random() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map_or(0, |d| d.as_nanos()),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What can go wrong when handing a notification over.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The outbox could not be written; nothing was queued.
    #[error("the notification outbox failed: {0}")]
    Store(#[from] mhd_store::StoreError),
    /// The alert could not be written as JSON.
    #[error("alert {alert_id} could not be written as JSON: {source}")]
    Encode {
        /// The alert.
        alert_id: i64,
        /// Why.
        source: serde_json::Error,
    },
}

/// A secret's value, read at start. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// The value, to put in a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

/// Reads a secret from its file or environment variable. The error names `owner`, the key
/// (`routing_key_file`, `token_env`, …) and the file or variable, never the value.
pub fn read_secret(owner: &str, key: &str, secret: &Secret) -> Result<SecretValue, String> {
    let value = match secret {
        Secret::File(path) => std::fs::read_to_string(path)
            .map_err(|e| format!("{owner}: {key}_file {path}: {}", io_reason(&e)))?,
        Secret::Env(var) => std::env::var(var).map_err(|e| {
            let why = match e {
                std::env::VarError::NotPresent => "not set",
                std::env::VarError::NotUnicode(_) => "not valid UTF-8",
            };
            format!("{owner}: {key}_env {var}: {why}")
        })?,
    };
    let value = value
        .strip_suffix('\n')
        .map(|v| v.strip_suffix('\r').unwrap_or(v))
        .unwrap_or(&value);
    if value.trim().is_empty() {
        let place = match secret {
            Secret::File(path) => format!("{key}_file {path}"),
            Secret::Env(var) => format!("{key}_env {var}"),
        };
        return Err(format!("{owner}: {place}: is empty"));
    }
    Ok(SecretValue(value.to_owned()))
}

/// An I/O error's reason without the "(os error N)" suffix.
fn io_reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// A configured channel, ready to send.
#[derive(Debug)]
struct ChannelRuntime {
    /// The plan's channel (its secrets are only references).
    config: Channel,
    /// How it sends, with its secrets.
    target: Target,
    /// Woken when a row is queued for it.
    wake: Notify,
    /// The secret values of the channel, cut out of any error text.
    secrets: Vec<SecretValue>,
}

/// How a channel sends.
#[derive(Debug)]
enum Target {
    Webhook(webhook::Webhook),
    Slack(slack::Slack),
    Pagerduty(pagerduty::Pagerduty),
    Email(email::Email),
    Jira(jira::Jira),
}

/// What every send needs besides the channel.
pub struct SendContext<'a> {
    /// The HTTP client (its timeout is the attempt's).
    pub http: &'a reqwest::Client,
    /// The options.
    pub options: &'a NotifierOptions,
    /// The store (Jira records its issues there).
    pub store: &'a Database,
    /// The current time.
    pub now: OffsetDateTime,
    /// The channel's name.
    pub channel: &'a str,
    /// The outbox row being delivered (none for a message that is not queued, such as a
    /// test): sent along where the channel has a place for it, so that a receiver can tell a
    /// message sent again after a leader died between sending it and recording that it was
    /// sent from a new one.
    pub delivery: Option<i64>,
}

impl ChannelRuntime {
    /// Whether the channel is sent this transition.
    fn routes(&self, event: DeliveryEvent, severity: Severity, components: &[&str]) -> bool {
        let c = &self.config;
        if severity < c.min_severity {
            return false;
        }
        if !c.components.is_empty()
            && !components
                .iter()
                .any(|x| c.components.iter().any(|y| y == x))
        {
            return false;
        }
        match (&self.target, event) {
            (_, DeliveryEvent::Resolved) if !c.send_resolved => false,
            (Target::Jira(j), DeliveryEvent::Fired) => {
                j.auto_severity.is_some_and(|s| severity >= s)
            }
            (Target::Jira(_), DeliveryEvent::Resolved) => false,
            _ => true,
        }
    }

    /// `text` with every secret of the channel cut out.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if !s.expose().is_empty() {
                out = out.replace(s.expose(), "[redacted]");
            }
        }
        out
    }

    /// Whether the channel can carry a scheduled report (e-mail, Slack, webhook).
    fn carries_reports(&self) -> bool {
        matches!(
            self.target,
            Target::Webhook(_) | Target::Slack(_) | Target::Email(_)
        )
    }

    async fn send(
        &self,
        ctx: &SendContext<'_>,
        event: DeliveryEvent,
        alert: &serde_json::Value,
    ) -> Result<(), SendError> {
        if event == DeliveryEvent::Report {
            let report: ReportDoc = serde_json::from_value(alert.clone()).map_err(|e| {
                SendError::permanent(format!("the stored report notice is unreadable: {e}"))
            })?;
            return match &self.target {
                Target::Webhook(w) => w.send_report(ctx, &report).await,
                Target::Slack(s) => s.send_report(ctx, &report).await,
                Target::Email(m) => m.send_report(ctx, &report).await,
                Target::Pagerduty(_) | Target::Jira(_) => Err(SendError::permanent(
                    "this channel does not carry reports (only e-mail, Slack and webhooks do)",
                )),
            };
        }
        match &self.target {
            Target::Webhook(w) => w.send(ctx, event, alert).await,
            Target::Slack(s) => s.send(ctx, event, alert).await,
            Target::Pagerduty(p) => p.send(ctx, event, alert).await,
            Target::Email(m) => m.send(ctx, event, alert).await,
            Target::Jira(j) => j.send_auto(ctx, alert).await,
        }
    }
}

/// What the notifier and its workers share.
struct Shared {
    store: Database,
    channels: Vec<ChannelRuntime>,
    options: NotifierOptions,
    http: reqwest::Client,
    clock: fn() -> OffsetDateTime,
    chat_secret: Option<SecretValue>,
    sent: Family<NotificationLabels, Counter>,
    pending: Family<ChannelLabels, Gauge>,
}

/// Sends the notifications alerts ask for, through the plan's channels (see the module's
/// description).
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self
            .shared
            .channels
            .iter()
            .map(|c| c.config.name.as_str())
            .collect();
        f.debug_struct("Notifier")
            .field("channels", &names)
            .finish()
    }
}

/// A channel as the API shows it: its routing, never its address or secrets.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = NotificationChannel)]
pub struct ChannelInfo {
    /// Its name.
    pub name: String,
    /// `webhook`, `slack`, `pagerduty`, `email` or `jira`.
    #[schema(schema_with = channel_kind_schema)]
    pub kind: &'static str,
    /// The least severity it is sent.
    pub min_severity: Severity,
    /// Only these components (empty: all).
    pub components: Vec<String>,
    /// Whether resolutions are sent.
    pub send_resolved: bool,
}

/// The schema of a channel's `kind`.
fn channel_kind_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["webhook", "slack", "pagerduty", "email", "jira"]))
        .description(Some("What the channel sends to."))
        .build()
}

/// Why a Jira issue could not be made on request.
#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    /// No channel of kind `jira` is configured.
    #[error("no [[notify]] channel of kind \"jira\" is configured")]
    NoChannel,
    /// The alert has an issue already.
    #[error("alert {} already has the Jira issue {}", .0.alert_id, .0.issue_key)]
    Exists(JiraIssue),
    /// Jira refused or could not be reached.
    #[error("Jira did not create the issue: {0}")]
    Failed(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mhd_store::StoreError),
}

impl Notifier {
    /// Routes a transition and queues it for its channels, durably, before returning; returns
    /// how many channels it was queued for. A transition nobody is told about (pending,
    /// cancelled, `notify == false`) queues nothing. Sending happens on the channels' workers.
    pub async fn enqueue(&self, t: &Transition) -> Result<usize, NotifyError> {
        let event = match t.event {
            AlertEvent::Fired => DeliveryEvent::Fired,
            AlertEvent::Resolved => DeliveryEvent::Resolved,
            AlertEvent::Pending | AlertEvent::Cancelled => return Ok(0),
        };
        if !t.notify {
            return Ok(0);
        }
        let alert = &t.alert;
        let mut components: Vec<&str> =
            alert.impact.components.iter().map(String::as_str).collect();
        if let Some(c) = &alert.component {
            components.push(c);
        }
        let chosen: Vec<&str> = self
            .shared
            .channels
            .iter()
            .filter(|c| c.routes(event, alert.severity, &components))
            .map(|c| c.config.name.as_str())
            .collect();
        if chosen.is_empty() {
            return Ok(0);
        }
        let queued = self.queue(alert.id, event, alert, &chosen).await?;
        tracing::debug!(
            alert_id = alert.id,
            event = event.as_str(),
            channels = ?queued,
            "notification queued"
        );
        Ok(queued.len())
    }

    /// Queues a scheduled report for `channels` (those of them that carry reports: e-mail,
    /// Slack, webhooks), durably, before returning; returns the channels it was queued for.
    pub async fn enqueue_report(
        &self,
        report: &ReportDoc,
        channels: &[&str],
    ) -> Result<Vec<String>, NotifyError> {
        let chosen: Vec<&str> = self
            .shared
            .channels
            .iter()
            .filter(|c| channels.contains(&c.config.name.as_str()))
            .filter(|c| {
                let ok = c.carries_reports();
                if !ok {
                    tracing::warn!(channel = %c.config.name, "this channel does not carry reports: only e-mail, Slack and webhooks do");
                }
                ok
            })
            .map(|c| c.config.name.as_str())
            .collect();
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        self.queue(report.id, DeliveryEvent::Report, report, &chosen)
            .await
    }

    /// Stores one delivery of `doc` (an alert or a report notice, numbered `id`) per channel
    /// of `chosen`, counts each as pending and wakes its worker; the channels it was queued
    /// for (a channel that has it already is left out).
    async fn queue(
        &self,
        id: i64,
        event: DeliveryEvent,
        doc: &impl serde::Serialize,
        chosen: &[&str],
    ) -> Result<Vec<String>, NotifyError> {
        let json = serde_json::to_string(doc).map_err(|source| NotifyError::Encode {
            alert_id: id,
            source,
        })?;
        let queued = self
            .shared
            .store
            .enqueue_notification(
                &Notification {
                    alert_id: id,
                    event,
                    alert: &json,
                    channels: chosen,
                },
                (self.shared.clock)(),
            )
            .await?;
        for name in &queued {
            if let Some(c) = self.shared.channels.iter().find(|c| &c.config.name == name) {
                self.shared
                    .pending
                    .get_or_create(&ChannelLabels {
                        channel: name.clone(),
                    })
                    .inc();
                c.wake.notify_one();
            }
        }
        Ok(queued)
    }

    /// The configured channels.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        self.shared
            .channels
            .iter()
            .map(|c| ChannelInfo {
                name: c.config.name.clone(),
                kind: c.config.kind.name(),
                min_severity: c.config.min_severity,
                components: c.config.components.clone(),
                send_resolved: c.config.send_resolved,
            })
            .collect()
    }

    /// The dashboard's address used in links.
    pub fn public_url(&self) -> &str {
        &self.shared.options.public_url
    }

    /// The chat command endpoint's signing secret, when `[chat]` has one.
    pub fn chat_secret(&self) -> Option<&SecretValue> {
        self.shared.chat_secret.as_ref()
    }

    /// Makes the Jira issue of an alert now (the dashboard's button), through the first Jira
    /// channel: refused when the alert has one already. `alert` is the alert as JSON.
    pub async fn create_jira_issue(
        &self,
        alert: &serde_json::Value,
    ) -> Result<JiraIssue, JiraError> {
        let Some((channel, jira)) = self.shared.channels.iter().find_map(|c| match &c.target {
            Target::Jira(j) => Some((c, j)),
            _ => None,
        }) else {
            return Err(JiraError::NoChannel);
        };
        let ctx = self.context(&channel.config.name);
        let doc = AlertDoc::from_value(alert).map_err(JiraError::Failed)?;
        match jira.create(&ctx, &doc).await {
            Ok(jira::Created::New(issue)) => {
                tracing::info!(
                    channel = channel.config.name.as_str(),
                    alert_id = doc.id,
                    issue = issue.issue_key.as_str(),
                    "Jira issue created on request"
                );
                Ok(issue)
            }
            Ok(jira::Created::Existing(issue)) => Err(JiraError::Exists(issue)),
            Err(jira::CreateError::Store(e)) => Err(JiraError::Store(e)),
            Err(jira::CreateError::Send(e)) => {
                let message = channel.redact(&e.message);
                tracing::warn!(
                    channel = channel.config.name.as_str(),
                    alert_id = doc.id,
                    error = message.as_str(),
                    "Jira issue not created"
                );
                Err(JiraError::Failed(message))
            }
        }
    }

    fn context<'a>(&'a self, channel: &'a str) -> SendContext<'a> {
        SendContext {
            http: &self.shared.http,
            options: &self.shared.options,
            store: &self.shared.store,
            now: (self.shared.clock)(),
            channel,
            delivery: None,
        }
    }
}

/// Makes the channels of `plan` ready — every secret read now (an unreadable one is an error
/// naming the channel, the key and the file or variable) — without delivering anything: every
/// replica does this, so that each can answer what needs a channel (a Jira issue on request);
/// only the leading one delivers ([`run_workers`]). The notifier writes to `store`, reads the
/// time of `clock` and counts into `metrics`.
pub fn prepare(
    store: &Database,
    clock: fn() -> OffsetDateTime,
    metrics: &NotifyMetrics,
    plan: Option<&mhd_core::plan::Plan>,
    options: NotifierOptions,
) -> Result<Notifier, String> {
    let (configs, chat) = match plan {
        Some(plan) => (plan.notify.clone(), plan.chat.signing_secret.clone()),
        None => (Vec::new(), None),
    };
    let mut channels = Vec::with_capacity(configs.len());
    for config in configs {
        channels.push(build_channel(config, &options)?);
    }
    let chat_secret = chat
        .as_ref()
        .map(|s| read_secret("[chat]", "signing_secret", s))
        .transpose()?;
    let http = crate::http::client(options.timeout).map_err(|e| {
        // reqwest's own words are "builder error": the cause (such as no CA certificates
        // on the system) is in its source.
        let cause = std::error::Error::source(&e).map_or_else(String::new, |s| format!(" ({s})"));
        format!("notifications: cannot build the HTTP client: {e}{cause}")
    })?;
    let shared = Arc::new(Shared {
        store: store.clone(),
        channels,
        options,
        http,
        clock,
        chat_secret,
        sent: metrics.attempts.clone(),
        pending: metrics.pending.clone(),
    });
    Ok(Notifier { shared })
}

/// Reads a channel's secrets and checks its settings.
fn build_channel(config: Channel, options: &NotifierOptions) -> Result<ChannelRuntime, String> {
    let owner = format!("channel {:?}", config.name);
    let mut secrets = Vec::new();
    let mut secret = |key: &str, s: &Secret| -> Result<SecretValue, String> {
        let v = read_secret(&owner, key, s)?;
        secrets.push(v.clone());
        Ok(v)
    };
    let target = match &config.kind {
        ChannelKind::Webhook { url, token } => {
            let token = token.as_ref().map(|t| secret("token", t)).transpose()?;
            Target::Webhook(webhook::Webhook::new(&owner, url, token)?)
        }
        ChannelKind::Slack { url } => {
            let url = match url {
                SecretOrText::Text(t) => SecretValue(t.clone()),
                SecretOrText::Secret(s) => secret("url", s)?,
            };
            Target::Slack(slack::Slack::new(&owner, url)?)
        }
        ChannelKind::Pagerduty { url, routing_key } => {
            let key = secret("routing_key", routing_key)?;
            Target::Pagerduty(pagerduty::Pagerduty::new(&owner, url, key)?)
        }
        ChannelKind::Email {
            server,
            tls,
            username,
            password,
            from,
            to,
        } => {
            let password = password
                .as_ref()
                .map(|p| secret("password", p))
                .transpose()?;
            Target::Email(email::Email::new(
                &owner,
                &email::EmailSettings {
                    server,
                    tls,
                    username: username.as_deref(),
                    password,
                    from,
                    to,
                },
                options,
            )?)
        }
        ChannelKind::Jira {
            url,
            project,
            issue_type,
            user,
            token,
            auto_severity,
        } => {
            let token = secret("token", token)?;
            Target::Jira(jira::Jira::new(
                &owner,
                url,
                project,
                issue_type,
                user,
                token,
                *auto_severity,
            )?)
        }
    };
    Ok(ChannelRuntime {
        config,
        target,
        wake: Notify::new(),
        secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let o = NotifierOptions {
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(300),
            ..NotifierOptions::default()
        };
        for (attempt, nominal) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (8, 128.0),
            (9, 256.0),
            (20, 300.0),
        ] {
            let d = o.backoff(attempt).as_secs_f64();
            assert!(
                d >= nominal * 0.8 && d <= nominal * 1.2,
                "attempt {attempt}: {d} s"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn a_missing_secret_names_the_channel_the_key_and_the_file() {
        let e = read_secret(
            "channel \"pager\"",
            "routing_key",
            &Secret::File("/nonexistent/pd".into()),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "channel \"pager\": routing_key_file /nonexistent/pd: No such file or directory"
        );
        let e = read_secret(
            "channel \"ops\"",
            "token",
            &Secret::Env("MHD_TEST_SURELY_UNSET_VARIABLE".into()),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "channel \"ops\": token_env MHD_TEST_SURELY_UNSET_VARIABLE: not set"
        );
    }

    #[test]
    fn a_secret_file_loses_its_trailing_newline_and_hides_in_debug() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "s3cr3t-value\r\n").unwrap();
        let v = read_secret(
            "x",
            "routing_key",
            &Secret::File(path.display().to_string()),
        )
        .unwrap();
        assert_eq!(v.expose(), "s3cr3t-value");
        assert!(!format!("{v:?}").contains("s3cr3t"));
        std::fs::write(&path, "\n").unwrap();
        let e = read_secret(
            "x",
            "routing_key",
            &Secret::File(path.display().to_string()),
        )
        .unwrap_err();
        assert!(e.ends_with(": is empty"), "{e}");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("ééééé", 3), "éé…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(one_line("a\nb\tc"), "a b c");
    }
}
