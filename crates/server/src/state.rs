//! What every handler shares: the store, the plan, the clock, the metrics and the channel of
//! live updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::Utf8Bytes;
use mhd_store::gather::Analysis;

use crate::cache::Cache;

use mhd_core::plan::Plan;
use mhd_store::SqliteStore;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::broadcast;

use crate::metrics::Metrics;

/// How many updates the live channel holds for a slow client before it falls behind.
pub const UPDATE_BUFFER: usize = 256;

/// A change the live pages and WebSocket clients hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Operations were stored (their components, when they named any).
    Operations { components: Vec<String> },
    /// A test run was stored.
    TestRun { component: Option<String> },
    /// Benchmarks were stored.
    Benchmarks,
    /// Samples were stored.
    Samples,
    /// An alert changed, or an acknowledgement or a silence was made: pushed as
    /// `alert:new`, `alert:resolved` or `alert:updated` with `data`, to the clients of its
    /// component (everyone when it has none).
    Alert {
        /// Which message.
        push: AlertPush,
        /// The component the alert concerns, if any.
        component: Option<String>,
        /// The message's `data`.
        data: Arc<serde_json::Value>,
    },
}

/// The WebSocket message an alert change is pushed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertPush {
    /// `alert:new`: an alert started firing; `data` is the alert.
    New,
    /// `alert:resolved`: an alert resolved; `data` is the alert.
    Resolved,
    /// `alert:updated`: an alert became pending or was dropped, was acknowledged, or silences
    /// changed; `data` is `{reason, alert?, silence?}`.
    Updated,
}

impl AlertPush {
    /// The message type.
    pub fn message_type(self) -> &'static str {
        match self {
            AlertPush::New => "alert:new",
            AlertPush::Resolved => "alert:resolved",
            AlertPush::Updated => "alert:updated",
        }
    }
}

/// The server's shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The parts of [`AppState`].
pub struct Inner {
    /// The store.
    pub store: SqliteStore,
    /// The plan, when there is one.
    pub plan: Option<Plan>,
    /// The clock: the one place the server reads the time, so tests can set it.
    pub clock: fn() -> OffsetDateTime,
    /// The offset pages show local times in.
    pub local_offset: UtcOffset,
    /// The program's own counters and histograms, served at `/metrics`.
    pub metrics: Metrics,
    /// Changes, fanned out to every live client.
    pub changes: broadcast::Sender<Change>,
    /// Bumped by every announced change: the key of the cached views.
    pub version: AtomicU64,
    /// The plan-driven views (summary, timeline, component matrix), computed once per version.
    pub views: Cache<Analysis>,
    /// The WebSocket's `initial_data` message, serialized once per version.
    pub initial_data: Cache<Utf8Bytes>,
    /// The collectors' health.
    pub collectors: crate::collect::Registry,
    /// The notification channels, once `serve` has started them.
    pub notifier: std::sync::OnceLock<crate::notify::Notifier>,
    /// The alert engine, made from the store at the first evaluation and kept between them
    /// (the lock also keeps evaluations one at a time).
    pub alert_engine: tokio::sync::Mutex<Option<mhd_core::alerts::Engine>>,
}

impl AppState {
    /// State over a store and an optional plan, with the real clock.
    pub fn new(store: SqliteStore, plan: Option<Plan>, local_offset: UtcOffset) -> AppState {
        let (changes, _) = broadcast::channel(UPDATE_BUFFER);
        AppState(Arc::new(Inner {
            store,
            plan,
            clock: OffsetDateTime::now_utc,
            local_offset,
            metrics: Metrics::default(),
            changes,
            version: AtomicU64::new(0),
            views: Cache::default(),
            initial_data: Cache::default(),
            collectors: crate::collect::Registry::default(),
            notifier: std::sync::OnceLock::new(),
            alert_engine: tokio::sync::Mutex::new(None),
        }))
    }

    /// The same state with another clock (for tests).
    pub fn with_clock(
        store: SqliteStore,
        plan: Option<Plan>,
        clock: fn() -> OffsetDateTime,
    ) -> AppState {
        let (changes, _) = broadcast::channel(UPDATE_BUFFER);
        AppState(Arc::new(Inner {
            store,
            plan,
            clock,
            local_offset: UtcOffset::UTC,
            metrics: Metrics::default(),
            changes,
            version: AtomicU64::new(0),
            views: Cache::default(),
            initial_data: Cache::default(),
            collectors: crate::collect::Registry::default(),
            notifier: std::sync::OnceLock::new(),
            alert_engine: tokio::sync::Mutex::new(None),
        }))
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.0.clock)()
    }

    /// Tells live clients that something changed (nobody listening is fine), and makes the
    /// cached views stale.
    pub fn notify(&self, change: Change) {
        self.0.version.fetch_add(1, Ordering::SeqCst);
        let _ = self.0.changes.send(change);
    }

    /// The data version: changes whenever a write is announced.
    pub fn data_version(&self) -> u64 {
        self.0.version.load(Ordering::SeqCst)
    }

    /// The plan-driven views as of now, from the cache when nothing changed (None without a
    /// plan).
    pub async fn views(&self) -> mhd_store::Result<Option<Arc<Analysis>>> {
        let Some(plan) = &self.plan else {
            return Ok(None);
        };
        let version = self.data_version();
        let views = self
            .views
            .get_or_compute(version, || {
                mhd_store::gather::analysis(&self.store, plan, self.now(), false, true)
            })
            .await?;
        Ok(Some(views))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
