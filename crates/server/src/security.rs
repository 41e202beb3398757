//! Who a request comes from and what the server keeps to decide it: the caller ([`Caller`],
//! [`Who`]), the security settings ([`Security`]) with the sign-in limits ([`Limiter`],
//! [`PasswordChecks`]) and the refusals gathered for the audit log ([`Refusals`]). The types
//! only: [`crate::access`] enforces them on every request, [`crate::signin`] signs in and out,
//! [`crate::audit`] writes the refusals.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use mhd_core::auth::{Access, Role};
use mhd_store::Database;
use mhd_store::auth::PasswordHash;
use mhd_store::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::origin::{self, AllowedHosts, HostPort};

/// The actor of a request when nobody signs in.
pub const LOCAL: &str = "local";

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "mhd_session";
/// The header scripts send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages send the CSRF token in.
pub const CSRF_FIELD: &str = "csrf_token";
/// How long the answer to "is there any user?" is reused before the store is asked again.
const USERS_CHECK_MS: i64 = 1000;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Nobody signs in (no user exists): the one local user, who may do everything.
    Local,
    /// A signed-in user.
    User {
        /// The user's name.
        name: String,
        /// The user's current role.
        role: Role,
        /// The session's id (for sign-out).
        session: i64,
        /// The session's CSRF token, for the page's forms.
        csrf: String,
    },
    /// An API token.
    Token {
        /// The token's id.
        id: i64,
        /// The token's name.
        name: String,
        /// Its role.
        role: Role,
    },
    /// Nobody: sign-in is required and no credential came.
    Anonymous,
}

impl Caller {
    /// The role the caller acts with; `None` for nobody.
    pub fn role(&self) -> Option<Role> {
        match self {
            Caller::Local => Some(Role::Admin),
            Caller::User { role, .. } | Caller::Token { role, .. } => Some(*role),
            Caller::Anonymous => None,
        }
    }

    /// The name the audit log records: `local`, the user's name, `token:NAME` or `anonymous`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Local => LOCAL.to_owned(),
            Caller::User { name, .. } => name.clone(),
            Caller::Token { name, .. } => format!("token:{name}"),
            Caller::Anonymous => "anonymous".to_owned(),
        }
    }

    /// The name that acknowledges an alert or adds a silence: a user's or a token's own (never
    /// what a form says), `None` for the local user, who may give one.
    pub fn signed_name(&self) -> Option<String> {
        match self {
            Caller::User { .. } | Caller::Token { .. } => Some(self.actor()),
            Caller::Local | Caller::Anonymous => None,
        }
    }

    /// Whether the caller may do what `access` guards.
    pub fn may(&self, access: Access) -> bool {
        access == Access::Public || self.role().is_some_and(|r| access.allows(r))
    }

    /// The caller as the pages' templates see it: who, what they may do, the CSRF token.
    pub fn viewer(&self) -> mhd_web::views::Viewer {
        use mhd_web::views::Viewer;
        let can = (self.may(Access::Operate), self.may(Access::Admin));
        match self {
            Caller::Local => Viewer::local(),
            Caller::Anonymous => Viewer::anonymous(),
            Caller::User {
                name, role, csrf, ..
            } => Viewer::user(name, role.as_str(), can, csrf),
            Caller::Token { name, role, .. } => Viewer::token(name, role.as_str(), can),
        }
    }
}

/// The server's security settings and what they keep between requests.
#[derive(Debug, Default)]
pub struct Security {
    /// Served over TLS: cookies are `Secure`.
    https: AtomicBool,
    /// Behind a reverse proxy whose `X-Forwarded-Proto` and `X-Forwarded-For` are believed.
    trust_proxy: AtomicBool,
    /// Whether a user existed at the last check.
    users: AtomicBool,
    /// When that was checked (monotonic ms; 0: never).
    users_checked_ms: AtomicI64,
    /// The host names answered besides `localhost` and IP addresses.
    allowed_hosts: RwLock<AllowedHosts>,
    /// Sign-in attempts, per user and per address.
    pub sign_in_limits: Limiter,
    /// Refused requests, gathered for the audit log and counted per address.
    pub refusals: Refusals,
    /// The password checks of sign-ins, a few at once.
    pub password_checks: PasswordChecks,
}

impl Security {
    /// Says that the server is served over TLS.
    pub fn set_https(&self, on: bool) {
        self.https.store(on, Ordering::Relaxed);
    }

    /// Says that the server runs behind a proxy whose forwarding headers are true.
    pub fn set_trust_proxy(&self, on: bool) {
        self.trust_proxy.store(on, Ordering::Relaxed);
    }

    /// Whether the proxy's headers are believed.
    pub fn trusts_proxy(&self) -> bool {
        self.trust_proxy.load(Ordering::Relaxed)
    }

    /// Whether the server is served over TLS.
    pub fn https(&self) -> bool {
        self.https.load(Ordering::Relaxed)
    }

    /// Sets the host names answered besides `localhost` and IP addresses.
    pub fn set_allowed_hosts(&self, hosts: AllowedHosts) {
        *self
            .allowed_hosts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = hosts;
    }

    /// Whether a request naming `host` is answered.
    pub fn allows_host(&self, host: &HostPort) -> bool {
        self.allowed_hosts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allows(host)
    }

    /// Whether cookies must be `Secure`: over TLS, or behind a trusted proxy that says the
    /// request came over HTTPS.
    pub fn secure_cookies(&self, headers: &HeaderMap) -> bool {
        origin::request_scheme(headers, self.https(), self.trusts_proxy()) == "https"
    }

    /// Forgets the last answer to "is there any user?" (after a change made by this process).
    pub fn forget_users(&self) {
        self.users_checked_ms.store(0, Ordering::Relaxed);
    }
}

/// Whether users must sign in: a user exists. Asked of the store at most once a second, so a
/// user added by `mhd user add` while the server runs closes it within a second.
pub async fn sign_in_required(security: &Security, store: &Database) -> Result<bool, ApiError> {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    // Monotonic milliseconds since the first check, plus one (0 means "never checked").
    let now_ms = i64::try_from(
        START
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_millis(),
    )
    .unwrap_or(i64::MAX - 1)
        + 1;
    let checked = security.users_checked_ms.load(Ordering::Relaxed);
    if checked != 0 && (now_ms - checked).abs() < USERS_CHECK_MS {
        return Ok(security.users.load(Ordering::Relaxed));
    }
    let any = store
        .any_user()
        .await
        .map_err(|e| ApiError::from_auth(&e))?;
    security.users.store(any, Ordering::Relaxed);
    security.users_checked_ms.store(now_ms, Ordering::Relaxed);
    Ok(any)
}

/// The address a request came from: the peer, or with a trusted proxy the address the proxy
/// puts last in `X-Forwarded-For`.
pub fn client_address(
    security: &Security,
    parts_headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<SocketAddr> {
    if security.trusts_proxy()
        && let Some(ip) = parts_headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(SocketAddr::new(ip, 0));
    }
    peer
}

/// The caller and address of a request, as [`crate::access::authorize`] found them; tests that drive the
/// router without the middleware get the local user.
#[derive(Debug, Clone)]
pub struct Who {
    /// Who.
    pub caller: Arc<Caller>,
    /// From where.
    pub addr: Option<SocketAddr>,
}

impl Default for Who {
    fn default() -> Who {
        Who {
            caller: Arc::new(Caller::Local),
            addr: None,
        }
    }
}

impl Who {
    /// Whether the credential the request came with still holds: its session not ended, idle
    /// or expired, its token not revoked or expired (the local user's always does). For
    /// connections that outlive their request, such as the WebSocket's. A store that cannot
    /// answer keeps the connection (and the failure is logged).
    pub async fn still_valid(&self, store: &Database, now: OffsetDateTime) -> bool {
        let live = match &*self.caller {
            Caller::User { session, .. } => store.session_live(*session, now).await,
            Caller::Token { id, .. } => store.token_live(*id, now).await,
            Caller::Local | Caller::Anonymous => Ok(true),
        };
        live.unwrap_or_else(|e| {
            tracing::warn!("cannot check whether a connection's credential still holds: {e}");
            true
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(who) = parts.extensions.get::<Who>() {
            return Ok(who.clone());
        }
        Ok(Who {
            caller: Arc::new(Caller::Local),
            addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| *a),
        })
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Failed sign-ins for one user name within [`WINDOW`] before it is locked.
pub const USER_FAILURES: u32 = 5;
/// Failed sign-ins from one address within [`WINDOW`] before it is locked out.
pub const ADDRESS_FAILURES: u32 = 20;
/// How long failures are counted, and how long a lock lasts at most.
pub const WINDOW: time::Duration = time::Duration::minutes(15);
/// The most keys the limiter keeps; past it, expired ones are dropped first.
const LIMITER_KEYS: usize = 10_000;
/// Password checks that run at once, at most.
pub const PASSWORD_CHECKS: usize = 2;
/// Sign-ins that wait for a password check, at most; more are answered 503.
pub const PASSWORD_QUEUE: usize = 16;
/// How long a sign-in waits for a password check before it is answered 503.
pub const PASSWORD_WAIT: Duration = Duration::from_secs(5);

/// Counts sign-in attempts per key (`user:NAME`, `addr:IP`) in fixed windows.
#[derive(Debug, Default)]
pub struct Limiter {
    attempts: Mutex<HashMap<String, (u32, i64)>>,
}

impl Limiter {
    /// Counts an attempt against every key of `keys` (each with its allowance) at `now` (unix
    /// seconds), in one step, before the password is checked; or, when any key has used its
    /// allowance in its window, counts nothing and gives the seconds until it may try again.
    pub fn begin(&self, keys: &[(&str, u32)], now: i64) -> Result<(), i64> {
        let window = WINDOW.whole_seconds();
        let mut map = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let wait = keys
            .iter()
            .filter_map(|(key, max)| {
                let &(count, start) = map.get(*key)?;
                (count >= *max && now < start + window).then_some(start + window - now)
            })
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for (key, _) in keys {
            count(&mut map, key, now);
        }
        Ok(())
    }

    /// Gives back an attempt of `key` that was not a failure (a right password, or a password
    /// that was never checked).
    pub fn give_back(&self, key: &str) {
        let mut map = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(entry) = map.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    /// Forgets the attempts of `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// Counts one attempt of `key` at `now` in `map`, starting a new window when the last one is
/// over.
fn count(map: &mut HashMap<String, (u32, i64)>, key: &str, now: i64) {
    let window = WINDOW.whole_seconds();
    if map.len() >= LIMITER_KEYS {
        map.retain(|_, &mut (_, start)| now < start + window);
    }
    if map.len() >= LIMITER_KEYS && !map.contains_key(key) {
        // Full of live keys: an attacker with that many addresses is still held back by the
        // per-user count, which is kept first.
        if !key.starts_with("user:") {
            return;
        }
        if let Some(k) = map.keys().find(|k| k.starts_with("addr:")).cloned() {
            map.remove(&k);
        }
    }
    let entry = map.entry(key.to_owned()).or_insert((0, now));
    if now >= entry.1 + window {
        *entry = (0, now);
    }
    entry.0 += 1;
}

/// The password checks of sign-ins: at most a few at once, a bounded queue with a deadline.
#[derive(Debug)]
pub struct PasswordChecks {
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    wait: Duration,
}

impl Default for PasswordChecks {
    fn default() -> PasswordChecks {
        PasswordChecks::new(PASSWORD_CHECKS, PASSWORD_QUEUE, PASSWORD_WAIT)
    }
}

/// The password checks are all busy and the queue is full, or the wait ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

impl PasswordChecks {
    /// At most `at_once` checks at once (at least one), `queue` more waiting up to `wait`.
    pub fn new(at_once: usize, queue: usize, wait: Duration) -> PasswordChecks {
        PasswordChecks {
            running: Arc::new(Semaphore::new(at_once.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
        }
    }

    /// Whether `password` is the one of `hash`, checked on a blocking thread once a place is
    /// free; [`Busy`] when none frees in time or too many wait already.
    pub async fn verify(&self, hash: PasswordHash, password: String) -> Result<bool, Busy> {
        let permit = match Arc::clone(&self.running).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(Busy);
                }
                let acquired =
                    tokio::time::timeout(self.wait, Arc::clone(&self.running).acquire_owned())
                        .await;
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                match acquired {
                    Ok(Ok(p)) => p,
                    _ => return Err(Busy),
                }
            }
        };
        // The place is held until the check ends, even if the sign-in is abandoned meanwhile.
        tokio::task::spawn_blocking(move || {
            let ok = hash.verify(&password);
            drop(permit);
            ok
        })
        .await
        .map_err(|_| Busy)
    }
}

/// How long repeated refusals are gathered into one entry, and the window of the per-address
/// limit.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Refusals of one address in a window before its further refusals are answered 429.
pub const REFUSALS_PER_WINDOW: u32 = 300;
/// The most sources and addresses followed at once; past it, everything gathered is written.
pub(crate) const MAX_FOLLOWED: usize = 10_000;

/// What one kind of refusal is gathered by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RefusalKey {
    pub(crate) action: String,
    pub(crate) source: Option<IpAddr>,
    pub(crate) actor: String,
    pub(crate) reason: String,
}

/// Refusals gathered since the first one of a window (which was recorded at once).
#[derive(Debug)]
pub(crate) struct Gathered {
    pub(crate) window_started: Instant,
    /// Refusals after the first.
    pub(crate) count: u64,
    /// How many of them were answered 429.
    pub(crate) limited: u64,
    pub(crate) first_at: Option<OffsetDateTime>,
    pub(crate) last_at: OffsetDateTime,
    pub(crate) resource: String,
    pub(crate) details: Value,
}

/// Refusals gathered per source, actor, action and reason, and counted per address.
#[derive(Debug, Default)]
pub struct Refusals {
    inner: Mutex<RefusalState>,
}

#[derive(Debug, Default)]
pub(crate) struct RefusalState {
    pub(crate) gathered: HashMap<RefusalKey, Gathered>,
    pub(crate) per_address: HashMap<IpAddr, (Instant, u32)>,
    /// Whether a task writes the windows that end.
    pub(crate) flushing: bool,
    /// The window, when not [`REFUSAL_WINDOW`] (tests).
    pub(crate) window: Option<Duration>,
}

impl Refusals {
    /// Sets the window (default [`REFUSAL_WINDOW`]).
    pub fn set_window(&self, window: Duration) {
        self.lock().window = Some(window);
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, RefusalState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The answer of `GET /api/v1/auth/whoami`: who the server takes the caller for.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// What the caller is.
    pub kind: CallerKind,
    /// The user's or the token's name, or the actor written in the audit log.
    pub name: String,
    /// The caller's role; null for nobody signed in while sign-in is required.
    #[schema(required = true)]
    pub role: Option<mhd_core::auth::Role>,
    /// Whether a user exists, so that everyone must sign in or send a token.
    pub sign_in_required: bool,
}

/// What a caller is.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CallerKind {
    /// Nobody signs in on this server: the local user.
    Local,
    /// A signed-in user.
    User,
    /// An API token.
    Token,
    /// Nobody, while sign-in is required.
    Anonymous,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_counts_before_the_check_and_forgets_after_the_window() {
        let l = Limiter::default();
        let keys = [("user:a", USER_FAILURES), ("addr:1", ADDRESS_FAILURES)];
        for i in 0..USER_FAILURES {
            assert_eq!(l.begin(&keys, 100 + i64::from(i)), Ok(()), "{i}");
        }
        let wait = l.begin(&keys, 110).unwrap_err();
        assert_eq!(wait, WINDOW.whole_seconds() - 10);
        assert_eq!(l.begin(&[("user:b", USER_FAILURES)], 110), Ok(()));
        assert_eq!(l.begin(&keys, 100 + WINDOW.whole_seconds()), Ok(()));
        l.clear("user:a");
        assert_eq!(l.begin(&keys, 110), Ok(()));
        // A refused attempt counts nothing; a given-back one makes room for another.
        let l = Limiter::default();
        for _ in 0..USER_FAILURES {
            l.begin(&[("user:c", USER_FAILURES)], 100).unwrap();
        }
        assert!(
            l.begin(&[("user:c", USER_FAILURES), ("addr:2", 1)], 100)
                .is_err()
        );
        assert_eq!(
            l.begin(&[("addr:2", 1)], 100),
            Ok(()),
            "addr:2 was not counted"
        );
        l.give_back("user:c");
        assert_eq!(l.begin(&[("user:c", USER_FAILURES)], 100), Ok(()));
    }

    #[tokio::test]
    async fn password_checks_run_a_few_at_once_and_refuse_beyond_the_queue() {
        let hash = PasswordHash::new("a long enough password").unwrap();
        let checks = Arc::new(PasswordChecks::new(1, 2, Duration::from_secs(30)));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (checks, hash) = (Arc::clone(&checks), hash.clone());
            tasks.push(tokio::spawn(async move {
                checks.verify(hash, "a long enough password".into()).await
            }));
        }
        let mut results = Vec::new();
        for t in tasks {
            results.push(t.await.unwrap());
        }
        let done = results.iter().filter(|r| **r == Ok(true)).count();
        let busy = results.iter().filter(|r| **r == Err(Busy)).count();
        assert_eq!(
            (done, busy),
            (3, 3),
            "one running and two waiting: {results:?}"
        );
    }
}
