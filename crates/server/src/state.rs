//! What every handler shares: the recorder (the store, written through it, and the live
//! updates), the plan in force, the clock, the metrics, the security settings, the caches of
//! what the pages show, and what the background work keeps (the collectors' health, the
//! notification channels, the alert engine).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::FromRef;
use axum::extract::ws::Utf8Bytes;
use mhd_core::dashboard::DashboardData;
use mhd_core::live::LiveMetrics;
use mhd_core::model::ViewModel;
use mhd_core::plan::Plan;
use mhd_store::Database;
use mhd_web::views::ResourcesData;
use mhd_web::views::alerts::FiringCounts;
use time::{OffsetDateTime, UtcOffset};

use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::plan::PlanInForce;
use crate::recorder::Recorder;

/// The server's shared state; cheap to clone. Handlers take it whole or one part of it
/// through [`FromRef`] (`State<Recorder>`, `State<Arc<Metrics>>`…); the modules below it take
/// the parts they need.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl FromRef<AppState> for Recorder {
    fn from_ref(state: &AppState) -> Recorder {
        state.0.recorder.clone()
    }
}

impl FromRef<AppState> for Arc<Metrics> {
    fn from_ref(state: &AppState) -> Arc<Metrics> {
        Arc::clone(&state.0.metrics)
    }
}

impl FromRef<AppState> for Arc<crate::security::Security> {
    fn from_ref(state: &AppState) -> Arc<crate::security::Security> {
        Arc::clone(&state.0.security)
    }
}

/// The parts of [`AppState`].
struct Inner {
    /// Writes to the store and announces them; reads go through its store.
    recorder: Recorder,
    /// The plan in force, when there is one.
    plan: PlanInForce,
    /// Why the last change of the plan file was refused, until a good one is put in force
    /// (shown by `/ready`).
    plan_problem: std::sync::RwLock<Option<String>>,
    /// The clock: the one place the server reads the time, so tests can set it.
    clock: fn() -> OffsetDateTime,
    /// The offset pages show local times in.
    local_offset: UtcOffset,
    /// The program's own counters and histograms, served at `/metrics`.
    metrics: Arc<Metrics>,
    /// The view model (every figure of every view), computed once per views version.
    views: Cache<ViewModel>,
    /// The latest test runs and benchmarks the view model reads, read again only when they
    /// may have changed (writes of operations, the bulk of the writes, leave them).
    records: Cache<mhd_store::view_data::Records>,
    /// What the dashboard pages show but the live figures, gathered once per version.
    dashboard: Cache<DashboardData>,
    /// The live figures of the overview and the live metrics page, once per version.
    page_live: Cache<LiveMetrics>,
    /// The firing alerts by severity, for the overview, once per version.
    page_alerts: Cache<FiringCounts>,
    /// The resource page's samples, read once per version (the collectors' health is read
    /// at each request).
    resources: Cache<ResourcesData>,
    /// The WebSocket's `initial_data` message, serialized once per version.
    initial_data: Cache<Utf8Bytes>,
    /// The pages shared by every visitor, rendered and compressed once per version.
    pages: crate::pagecache::Pages,
    /// Set while [`crate::background::warm_up`] fills the caches: `/ready` waits for it.
    warming: std::sync::atomic::AtomicBool,
    /// The collectors' health.
    collectors: Arc<crate::collect::Registry>,
    /// The notification channels, once `serve` has started them.
    notifier_now: std::sync::RwLock<Option<crate::notify::Notifier>>,
    /// The alert engine, made from the store at the first evaluation and kept between them
    /// (the lock also keeps evaluations one at a time).
    alert_engine: tokio::sync::Mutex<Option<mhd_core::alerts::Engine>>,
    /// Sign-in, cookies and the limits on failed sign-ins.
    security: Arc<crate::security::Security>,
    /// The plan's folder: where rollback programs run (the working directory when unset).
    plan_dir: std::sync::OnceLock<std::path::PathBuf>,
    /// The components whose rollback is running now (one at a time per component).
    rollbacks: std::sync::Mutex<std::collections::HashSet<String>>,
    /// `--max-future`: how far ahead of now a written time may be, over the plan's setting.
    max_future: std::sync::OnceLock<time::Duration>,
    /// Set to true when the server begins to stop (see [`AppState::begin_stopping`]).
    stopping: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    /// The store, to read from; writes go through [`AppState::recorder`].
    pub fn store(&self) -> &Database {
        self.0.recorder.store()
    }

    /// The recorder: every write the live pages show, committed and announced.
    pub fn recorder(&self) -> &Recorder {
        &self.0.recorder
    }

    /// The program's own counters and histograms, served at `/metrics`.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// Sign-in, cookies and the limits on failed sign-ins.
    pub fn security(&self) -> &crate::security::Security {
        &self.0.security
    }

    /// The collectors' health.
    pub fn collectors(&self) -> &crate::collect::Registry {
        &self.0.collectors
    }

    /// What the collectors need: the recorder, their registry and metrics, the plan, the clock.
    pub fn collecting(&self) -> crate::collect::Context {
        crate::collect::Context::new(
            self.0.recorder.clone(),
            Arc::clone(&self.0.collectors),
            self.0.metrics.collectors.clone(),
            self.0.plan.clone(),
            self.0.clock,
            self.0.local_offset,
        )
    }

    /// The offset pages show local times in.
    pub fn local_offset(&self) -> UtcOffset {
        self.0.local_offset
    }

    /// The clock: the one place the server reads the time.
    pub fn clock(&self) -> fn() -> OffsetDateTime {
        self.0.clock
    }

    /// The plan's folder: where rollback programs run (the working directory when unset).
    pub fn plan_dir(&self) -> &std::sync::OnceLock<std::path::PathBuf> {
        &self.0.plan_dir
    }

    /// `--max-future`: how far ahead of now a written time may be, over the plan's setting.
    pub fn max_future(&self) -> &std::sync::OnceLock<time::Duration> {
        &self.0.max_future
    }

    /// Bumped whenever the plan is replaced: the leader's work restarts on it.
    pub fn plan_generation(&self) -> &tokio::sync::watch::Sender<u64> {
        self.0.plan.generation()
    }

    /// Why the last change of the plan file was refused, until a good one is put in force.
    pub fn plan_problem(&self) -> &std::sync::RwLock<Option<String>> {
        &self.0.plan_problem
    }

    /// Puts the notification channels in force (a reloaded plan's replace the previous ones).
    pub fn set_notifier(&self, notifier: crate::notify::Notifier) {
        *self
            .0
            .notifier_now
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(notifier);
    }

    /// The alert engine, kept between evaluations (the lock keeps them one at a time).
    pub fn alert_engine(&self) -> &tokio::sync::Mutex<Option<mhd_core::alerts::Engine>> {
        &self.0.alert_engine
    }

    /// The components whose rollback is running now.
    pub fn rollbacks(&self) -> &std::sync::Mutex<std::collections::HashSet<String>> {
        &self.0.rollbacks
    }

    /// The WebSocket's `initial_data` message, serialized once per data version.
    pub fn initial_data_cache(&self) -> &Cache<Utf8Bytes> {
        &self.0.initial_data
    }

    /// The pages shared by every visitor, rendered and compressed once per version.
    pub fn pages(&self) -> &crate::pagecache::Pages {
        &self.0.pages
    }

    /// The dashboard's cache.
    pub fn dashboard_cache(&self) -> &Cache<DashboardData> {
        &self.0.dashboard
    }

    /// The view model's cache.
    pub fn views(&self) -> &Cache<ViewModel> {
        &self.0.views
    }

    /// Marks the caches as being filled (`/ready` waits) or filled.
    pub fn set_warming(&self, on: bool) {
        self.0.warming.store(on, Ordering::SeqCst);
    }
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
        AppState(Arc::new(Inner {
            recorder: Recorder::new(store),
            plan: PlanInForce::new(plan),
            plan_problem: std::sync::RwLock::new(None),
            clock,
            local_offset,
            metrics: Arc::default(),
            views: Cache::default(),
            records: Cache::default(),
            dashboard: Cache::default(),
            page_live: Cache::default(),
            page_alerts: Cache::default(),
            resources: Cache::default(),
            initial_data: Cache::default(),
            pages: crate::pagecache::Pages::default(),
            warming: std::sync::atomic::AtomicBool::new(false),
            collectors: Arc::default(),
            notifier_now: std::sync::RwLock::new(None),
            alert_engine: tokio::sync::Mutex::new(None),
            security: Arc::default(),
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
        self.0.plan.get()
    }

    /// The plan in force, to read later (what runs on after this call reads it there).
    pub fn plan_in_force(&self) -> &PlanInForce {
        &self.0.plan
    }

    /// Puts a new plan in force (one checked already): every view is computed again on it,
    /// and the leader's work (alert rules, collectors) restarts on it.
    pub fn replace_plan(&self, plan: Option<Plan>) {
        self.0.plan.replace(plan);
        self.0.recorder.external();
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

    /// The data version: changes whenever a write is announced.
    pub fn data_version(&self) -> u64 {
        self.0.recorder.data_version()
    }

    /// The version of what the plan-driven views and the dashboard read: changes whenever a
    /// write other than samples is announced.
    pub fn views_version(&self) -> u64 {
        self.0.recorder.views_version()
    }

    /// The view model as of now, from the cache when nothing changed.
    pub async fn model(&self) -> mhd_store::Result<Arc<ViewModel>> {
        let version = self.views_version();
        self.0
            .views
            .get_or_compute(version, || async {
                let started = Instant::now();
                let records = self
                    .0
                    .records
                    .get_or_compute(self.0.recorder.records_version(), || {
                        mhd_store::view_data::records(self.store())
                    })
                    .await?;
                let now = self.now();
                let model = mhd_store::view_data::snapshot_with(self.store(), now, false, &records)
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
        self.0
            .dashboard
            .get_or_compute(version, || async {
                let started = Instant::now();
                let model = self.model().await?;
                let data = mhd_store::view_data::dashboard_with_model(
                    self.store(),
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
        self.0
            .page_live
            .get_or_compute(self.data_version(), || async move {
                let plan = self.plan();
                crate::live_metrics::metrics(
                    self.store(),
                    plan.as_deref(),
                    self.now(),
                    schedule_delay_days,
                )
                .await
            })
            .await
    }

    /// The firing alerts by severity as of now, from the cache when nothing changed.
    pub async fn firing_counts(&self) -> mhd_store::Result<FiringCounts> {
        use mhd_store::alerts::AlertStore;
        let counts = self
            .0
            .page_alerts
            .get_or_compute(self.views_version(), || async {
                Ok::<_, mhd_store::StoreError>(FiringCounts::of(&self.store().open_alerts().await?))
            })
            .await?;
        Ok(FiringCounts::clone(&counts))
    }

    /// Whether the caches are being filled ([`crate::background::warm_up`]).
    pub fn is_warming(&self) -> bool {
        self.0.warming.load(Ordering::SeqCst)
    }

    /// The resource page's data as of now: the samples from the cache when nothing changed,
    /// the collectors' health as it is.
    pub async fn resources(&self) -> mhd_store::Result<ResourcesData> {
        let cached = self
            .0
            .resources
            .get_or_compute(self.data_version(), || async {
                let plan = self.plan();
                crate::resources::gather(self.store(), plan.as_deref(), Vec::new(), self.now())
                    .await
            })
            .await?;
        Ok(ResourcesData {
            collectors: self.0.collectors.statuses(),
            ..ResourcesData::clone(&cached)
        })
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
        let mut o = NewOperation::new(now() - time::Duration::minutes(5), "migration", "migrate");
        o.dataset_name = Some(dataset.into());
        o.component = Some("storage".into());
        o.system = Some(System::New);
        o.duration_ms = Some(12.0);
        o
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
        state
            .store()
            .insert_operations(&[op("sales")])
            .await
            .unwrap();
        let cached = state.dashboard().await.unwrap();
        assert!(Arc::ptr_eq(&first, &cached), "no write announced: cached");
        // ...recorded (committed and announced), the next page shows both.
        state.recorder().operations(&[op("sales")]).await.unwrap();
        let after = state.dashboard().await.unwrap();
        assert_eq!(after.summary.overall.total_operations, 2);

        // Samples change neither the dashboard nor the views, so they keep them.
        state.recorder().samples(&[]).await.unwrap();
        assert!(Arc::ptr_eq(&after, &state.dashboard().await.unwrap()));
        assert_ne!(state.data_version(), state.views_version());
    }
}
