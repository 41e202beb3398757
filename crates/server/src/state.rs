//! What every handler shares: the store, the plan, the clock, the metrics and the channel of
//! live updates.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use mhd_core::model::ViewModel;
use mhd_web::views::ResourcesData;
use mhd_web::views::alerts::FiringCounts;

use crate::cache::Cache;
use mhd_core::dashboard::DashboardData;
use mhd_core::live::LiveMetrics;

use mhd_core::plan::Plan;
use mhd_store::Database;
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
    /// The overall status shown changed (it is kept over time by the alert loop).
    Health,
    /// Something was written to the store by another process (or another handle): nothing is
    /// known of what, so every view is computed again and pushed.
    External,
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
    pub store: Database,
    /// The plan, when there is one (read through [`AppState::plan`]; replaced whole when the
    /// plan file is reloaded).
    pub plan_now: std::sync::RwLock<Option<Arc<Plan>>>,
    /// Bumped whenever the plan is replaced: the leader's work restarts on it.
    pub plan_generation: tokio::sync::watch::Sender<u64>,
    /// Why the last change of the plan file was refused, until a good one is put in force
    /// (shown by `/ready`).
    pub plan_problem: std::sync::RwLock<Option<String>>,
    /// The clock: the one place the server reads the time, so tests can set it.
    pub clock: fn() -> OffsetDateTime,
    /// The offset pages show local times in.
    pub local_offset: UtcOffset,
    /// The program's own counters and histograms, served at `/metrics`.
    pub metrics: Metrics,
    /// Changes, fanned out to every live client.
    pub changes: broadcast::Sender<Change>,
    /// Bumped by every announced change: the key of what reads samples (the live metrics,
    /// `initial_data`, the resource page).
    pub version: AtomicU64,
    /// Bumped by every announced change but samples, which neither the plan-driven views nor
    /// the dashboard read: the key of those.
    pub views_version: AtomicU64,
    /// The view model (every figure of every view), computed once per version.
    pub views: Cache<ViewModel>,
    /// Bumped by every announced test run, benchmarks and write of another process: the key
    /// of [`Inner::records`].
    pub records_version: AtomicU64,
    /// The latest test runs and benchmarks the view model reads, read again only when they
    /// may have changed (writes of operations, the bulk of the writes, leave them).
    pub records: Cache<mhd_store::gather::Records>,
    /// What the dashboard pages show but the live figures, gathered once per version.
    pub dashboard: Cache<DashboardData>,
    /// The live figures of the overview and the live metrics page, once per version.
    pub page_live: Cache<LiveMetrics>,
    /// The firing alerts by severity, for the overview, once per version.
    pub page_alerts: Cache<FiringCounts>,
    /// The resource page's samples, read once per version (the collectors' health is read
    /// at each request).
    pub resources: Cache<ResourcesData>,
    /// The WebSocket's `initial_data` message, serialized once per version.
    pub initial_data: Cache<Utf8Bytes>,
    /// The pages shared by every visitor, rendered and compressed once per version.
    pub pages: crate::pagecache::Pages,
    /// Set while [`AppState::warm_up`] fills the caches: `/ready` waits for it.
    pub warming: std::sync::atomic::AtomicBool,
    /// The collectors' health.
    pub collectors: crate::collect::Registry,
    /// The notification channels, once `serve` has started them.
    pub notifier_now: std::sync::RwLock<Option<crate::notify::Notifier>>,
    /// The alert engine, made from the store at the first evaluation and kept between them
    /// (the lock also keeps evaluations one at a time).
    pub alert_engine: tokio::sync::Mutex<Option<mhd_core::alerts::Engine>>,
    /// Sign-in, cookies and the limits on failed sign-ins.
    pub security: crate::access::Security,
    /// The plan's folder: where rollback programs run (the working directory when unset).
    pub plan_dir: std::sync::OnceLock<std::path::PathBuf>,
    /// The components whose rollback is running now (one at a time per component).
    pub rollbacks: std::sync::Mutex<std::collections::HashSet<String>>,
    /// `--max-future`: how far ahead of now a written time may be, over the plan's setting.
    pub max_future: std::sync::OnceLock<time::Duration>,
    /// Set to true when the server begins to stop (see [`AppState::begin_stopping`]).
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// State over a store and an optional plan, with the real clock.
    pub fn new(store: Database, plan: Option<Plan>, local_offset: UtcOffset) -> AppState {
        AppState::build(store, plan, OffsetDateTime::now_utc, local_offset)
    }

    /// The same state with another clock (for tests).
    pub fn with_clock(
        store: Database,
        plan: Option<Plan>,
        clock: fn() -> OffsetDateTime,
    ) -> AppState {
        AppState::build(store, plan, clock, UtcOffset::UTC)
    }

    fn build(
        store: Database,
        plan: Option<Plan>,
        clock: fn() -> OffsetDateTime,
        local_offset: UtcOffset,
    ) -> AppState {
        let (changes, _) = broadcast::channel(UPDATE_BUFFER);
        AppState(Arc::new(Inner {
            store,
            plan_now: std::sync::RwLock::new(plan.map(Arc::new)),
            plan_generation: tokio::sync::watch::Sender::new(0),
            plan_problem: std::sync::RwLock::new(None),
            clock,
            local_offset,
            metrics: Metrics::default(),
            changes,
            version: AtomicU64::new(0),
            views_version: AtomicU64::new(0),
            views: Cache::default(),
            records_version: AtomicU64::new(0),
            records: Cache::default(),
            dashboard: Cache::default(),
            page_live: Cache::default(),
            page_alerts: Cache::default(),
            resources: Cache::default(),
            initial_data: Cache::default(),
            pages: crate::pagecache::Pages::default(),
            warming: std::sync::atomic::AtomicBool::new(false),
            collectors: crate::collect::Registry::default(),
            notifier_now: std::sync::RwLock::new(None),
            alert_engine: tokio::sync::Mutex::new(None),
            security: crate::access::Security::default(),
            plan_dir: std::sync::OnceLock::new(),
            rollbacks: std::sync::Mutex::default(),
            max_future: std::sync::OnceLock::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Tells the live clients that the server stops: each WebSocket is closed with "going
    /// away" (1001), so browsers reconnect to another replica or when it is back.
    pub fn begin_stopping(&self) {
        self.0.stopping.send_replace(true);
    }

    /// Resolves once the server begins to stop.
    pub async fn stopped(&self) {
        let mut rx = self.0.stopping.subscribe();
        let _ = rx.wait_for(|stopping| *stopping).await;
    }

    /// The plan in force now, if any.
    pub fn plan(&self) -> Option<Arc<Plan>> {
        self.0
            .plan_now
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Puts a new plan in force (one checked already): every view is computed again on it,
    /// and the leader's work (alert rules, collectors) restarts on it.
    pub fn replace_plan(&self, plan: Option<Plan>) {
        *self
            .0
            .plan_now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = plan.map(Arc::new);
        self.0.plan_generation.send_modify(|g| *g += 1);
        self.notify(Change::External);
    }

    /// The notification channels in force, once prepared.
    pub fn notifier(&self) -> Option<crate::notify::Notifier> {
        self.0
            .notifier_now
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.0.clock)()
    }

    /// Tells live clients that something changed (nobody listening is fine), and makes the
    /// cached views stale.
    pub fn notify(&self, change: Change) {
        if change != Change::Samples {
            self.0.views_version.fetch_add(1, Ordering::SeqCst);
        }
        if matches!(
            change,
            Change::TestRun { .. } | Change::Benchmarks | Change::External
        ) {
            self.0.records_version.fetch_add(1, Ordering::SeqCst);
        }
        self.0.version.fetch_add(1, Ordering::SeqCst);
        let _ = self.0.changes.send(change);
    }

    /// The data version: changes whenever a write is announced.
    pub fn data_version(&self) -> u64 {
        self.0.version.load(Ordering::SeqCst)
    }

    /// The version of what the plan-driven views and the dashboard read: changes whenever a
    /// write other than samples is announced.
    pub fn views_version(&self) -> u64 {
        self.0.views_version.load(Ordering::SeqCst)
    }

    /// The view model as of now, from the cache when nothing changed.
    pub async fn model(&self) -> mhd_store::Result<Arc<ViewModel>> {
        let version = self.views_version();
        self.views
            .get_or_compute(version, || async {
                let started = Instant::now();
                let records = self
                    .records
                    .get_or_compute(self.0.records_version.load(Ordering::SeqCst), || {
                        mhd_store::gather::records(&self.store)
                    })
                    .await?;
                let now = self.now();
                let model = mhd_store::gather::snapshot_with(&self.store, now, false, &records)
                    .await
                    .map(|snap| {
                        mhd_core::model::build(
                            self.plan().as_deref(),
                            &snap,
                            now,
                            mhd_core::model::Options::default(),
                        )
                    });
                tracing::debug!(
                    version,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "view model computed"
                );
                model
            })
            .await
    }

    /// What the dashboard pages show but the live figures, as of now: from the cache when
    /// nothing but samples changed, else gathered around the cached view model.
    pub async fn dashboard(&self) -> mhd_store::Result<Arc<DashboardData>> {
        let version = self.views_version();
        self.dashboard
            .get_or_compute(version, || async {
                let started = Instant::now();
                let model = self.model().await?;
                let data = mhd_store::gather::dashboard_with_model(
                    &self.store,
                    self.plan().as_deref(),
                    self.now(),
                    &model,
                )
                .await;
                tracing::debug!(
                    version,
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "dashboard gathered"
                );
                data
            })
            .await
    }

    /// The live figures of the pages as of now, from the cache when nothing changed;
    /// `schedule_delay_days` is the forecast's slip.
    pub async fn page_live(
        &self,
        schedule_delay_days: Option<f64>,
    ) -> mhd_store::Result<Arc<LiveMetrics>> {
        self.page_live
            .get_or_compute(self.data_version(), || {
                crate::live::metrics(self, self.now(), schedule_delay_days)
            })
            .await
    }

    /// The firing alerts by severity as of now, from the cache when nothing changed.
    pub async fn firing_counts(&self) -> mhd_store::Result<FiringCounts> {
        use mhd_store::alerts::AlertStore;
        let counts = self
            .page_alerts
            .get_or_compute(self.views_version(), || async {
                Ok::<_, mhd_store::StoreError>(FiringCounts::of(&self.store.open_alerts().await?))
            })
            .await?;
        Ok(FiringCounts::clone(&counts))
    }

    /// Fills the caches the first requests read — the view model, the dashboard, the
    /// overview's live figures and alert counts, the WebSocket's `initial_data` — in the
    /// background, so that they find them ready; `/ready` answers "warming" (503) meanwhile.
    /// A failure is logged and ends the warming: requests then compute as they would have.
    pub fn warm_up(&self) -> tokio::task::JoinHandle<()> {
        self.0.warming.store(true, Ordering::SeqCst);
        let state = self.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let warmed = async {
                let data = state.dashboard().await?;
                let slip = data
                    .views
                    .as_ref()
                    .and_then(|v| v.summary.estimated_completion.as_ref())
                    .map(|e| e.slip_days as f64);
                state.page_live(slip).await?;
                state.firing_counts().await?;
                crate::ws::initial_data(&state).await?;
                Ok::<_, mhd_store::StoreError>(())
            }
            .await;
            match warmed {
                Ok(()) => tracing::info!(
                    ms = started.elapsed().as_secs_f64() * 1e3,
                    "views computed before the first request"
                ),
                Err(e) => tracing::warn!("computing the views before the first request: {e}"),
            }
            state.0.warming.store(false, Ordering::SeqCst);
        })
    }

    /// Whether [`AppState::warm_up`] is still running.
    pub fn is_warming(&self) -> bool {
        self.0.warming.load(Ordering::SeqCst)
    }

    /// The resource page's data as of now: the samples from the cache when nothing changed,
    /// the collectors' health as it is.
    pub async fn resources(&self) -> mhd_store::Result<ResourcesData> {
        let cached = self
            .resources
            .get_or_compute(self.data_version(), || crate::resources::gather(self))
            .await?;
        Ok(ResourcesData {
            collectors: self.collectors.statuses(),
            ..ResourcesData::clone(&cached)
        })
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::{NewOperation, System};
    use mhd_store::Store;
    use time::macros::datetime;

    fn now() -> OffsetDateTime {
        datetime!(2025-03-10 12:00 UTC)
    }

    fn op(dataset: &str) -> NewOperation {
        NewOperation {
            timestamp: now() - time::Duration::minutes(5),
            metric_type: "migration".into(),
            operation: "migrate".into(),
            dataset_name: Some(dataset.into()),
            component: Some("storage".into()),
            system: Some(System::New),
            duration_ms: Some(12.0),
            success: true,
            row_count: None,
            error_message: None,
            metadata: None,
            import_key: None,
        }
    }

    #[tokio::test]
    async fn pages_read_their_own_writes_and_samples_keep_the_dashboard() {
        let dir = tempfile::tempdir().unwrap();
        let store = Database::open_file(&dir.path().join("mhd.db"), 2)
            .await
            .unwrap();
        let state = AppState::with_clock(store, None, now);
        let first = state.dashboard().await.unwrap();
        assert_eq!(first.summary.overall.total_operations, 0);

        // Unannounced, a write is not seen until the time to live runs out...
        state.store.insert_operations(&[op("sales")]).await.unwrap();
        let cached = state.dashboard().await.unwrap();
        assert!(Arc::ptr_eq(&first, &cached), "no write announced: cached");
        // ...announced, the next page shows it.
        state.notify(Change::Operations {
            components: vec!["storage".into()],
        });
        let after = state.dashboard().await.unwrap();
        assert_eq!(after.summary.overall.total_operations, 1);

        // Samples change neither the dashboard nor the views, so they keep them.
        state.notify(Change::Samples);
        assert!(Arc::ptr_eq(&after, &state.dashboard().await.unwrap()));
        assert_ne!(state.data_version(), state.views_version());
    }
}
