//! What every handler shares: the store, the plan, the clock, the metrics and the channel of
//! live updates.

use std::sync::Arc;

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
        }))
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.0.clock)()
    }

    /// Tells live clients that something changed (nobody listening is fine).
    pub fn notify(&self, change: Change) {
        let _ = self.0.changes.send(change);
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
