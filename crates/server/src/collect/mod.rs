//! Collectors: each runs on its own interval with its own timeout and reports its health here.
//!
//! [`start_in`] spawns one task per collector of the plan (`[[collectors.*]]`). Each task runs its
//! collector every `interval`; a run that takes longer than `timeout` is abandoned and counts
//! as failed. Ticks missed while a run was going on are skipped, never made up in a burst, and
//! one collector failing or hanging never delays another (they are separate tasks).
//!
//! After every run the collector's [`CollectorHealth`] is updated in the [`Registry`] (what the
//! dashboard's "Collectors" table, [`collectors_table`], and the `collector_down` alert rule
//! read) and in `/metrics` (`mhd_collector_up`, `mhd_collector_duration_seconds`,
//! `mhd_collector_last_success_timestamp_seconds`, `mhd_collector_failures_total`, labelled
//! with `collector` and `kind`). The samples a run produced are stored with
//! [`crate::recorder::Recorder::samples`], which announces them as [`crate::recorder::Change::Samples`]; a sample that
//! breaks a rule of [`Sample::validate`] (a NaN, a label too long) is left out and logged.
//!
//! The kinds: [`prometheus`], [`host`], [`database`], [`logs`], [`git`], [`junit_folder`] (the
//! plan's `[[collectors.tests]]`).
//!
//! Errors shown in the health never hold a secret: a database's connection string, a URL's
//! user name and password or query are never part of them.

pub mod database;
pub mod git;
pub mod host;
pub mod junit_folder;
pub mod logs;
pub mod prometheus;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mhd_core::alerts::CollectorHealth;
use mhd_core::plan::{Collectors, Plan, Schedule};
use mhd_core::sample::Sample;
use mhd_store::Database;
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use crate::metrics::{CollectorLabels, CollectorMetrics};
use crate::plan::PlanInForce;
use crate::recorder::Recorder;

/// The health of every collector, as the dashboard, `/metrics` and the alert rules read it.
#[derive(Debug, Default)]
pub struct Registry {
    statuses: Mutex<Vec<CollectorHealth>>,
}

impl Registry {
    /// Every collector's health, in the plan's order.
    pub fn statuses(&self) -> Vec<CollectorHealth> {
        self.statuses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records a collector's health, replacing the one of the same name.
    pub fn update(&self, health: CollectorHealth) {
        let mut all = self
            .statuses
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match all.iter_mut().find(|h| h.name == health.name) {
            Some(slot) => *slot = health,
            None => all.push(health),
        }
    }
}

/// What the collectors need of the server: the recorder their samples and test runs go
/// through, the registry of their health, their metrics, the plan in force, the clock and the
/// offset local log times are read in. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    recorder: Recorder,
    registry: Arc<Registry>,
    metrics: CollectorMetrics,
    plan: PlanInForce,
    clock: fn() -> OffsetDateTime,
    local_offset: UtcOffset,
}

impl Context {
    /// The collectors' context over these parts.
    pub fn new(
        recorder: Recorder,
        registry: Arc<Registry>,
        metrics: CollectorMetrics,
        plan: PlanInForce,
        clock: fn() -> OffsetDateTime,
        local_offset: UtcOffset,
    ) -> Context {
        Context {
            recorder,
            registry,
            metrics,
            plan,
            clock,
            local_offset,
        }
    }

    /// The current time.
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }

    /// The store, to read from.
    pub fn store(&self) -> &Database {
        self.recorder.store()
    }

    /// Stores what the collectors produce and announces it.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The collectors' health.
    pub fn collectors(&self) -> &Registry {
        &self.registry
    }

    /// The collectors' metrics.
    pub fn metrics(&self) -> &CollectorMetrics {
        &self.metrics
    }

    /// The plan in force now, if any.
    pub fn plan(&self) -> Option<Arc<Plan>> {
        self.plan.get()
    }

    /// The offset local times (of log lines) are read in.
    pub fn local_offset(&self) -> UtcOffset {
        self.local_offset
    }
}

/// Why a collector's run failed. The text is shown on the dashboard and never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The run took longer than the collector's `timeout`.
    #[error("timed out after {0}")]
    Timeout(String),
    /// A Prometheus query failed.
    #[error(transparent)]
    Prometheus(#[from] prometheus::PrometheusError),
    /// The host's figures could not be read.
    #[error(transparent)]
    Host(#[from] host::HostError),
    /// The database could not be read.
    #[error(transparent)]
    Database(#[from] database::DatabaseError),
    /// A log file could not be followed.
    #[error(transparent)]
    Logs(#[from] logs::LogsError),
    /// The repository could not be read.
    #[error(transparent)]
    Git(#[from] git::GitError),
    /// Reports could not be read, or were refused.
    #[error(transparent)]
    Reports(#[from] junit_folder::ReportsError),
    /// What the run found could not be stored.
    #[error("cannot store what it collected: {0}")]
    Store(#[from] mhd_store::StoreError),
    /// The run's work could not be finished (a blocking task failed).
    #[error("the run stopped unexpectedly: {0}")]
    Task(String),
}

/// One configured collector of any kind, ready to run.
pub enum Collector {
    /// `[[collectors.prometheus]]`
    Prometheus(prometheus::PrometheusRunner),
    /// `[[collectors.host]]`
    Host(host::HostRunner),
    /// `[[collectors.database]]`
    Database(database::DatabaseRunner),
    /// `[[collectors.logs]]`
    Logs(logs::LogsRunner),
    /// `[[collectors.git]]`
    Git(git::GitRunner),
    /// `[[collectors.tests]]`
    Reports(junit_folder::ReportsRunner),
}

impl Collector {
    /// Every collector of the plan's `[[collectors.*]]`, relative paths taken from `base`.
    pub fn from_plan(collectors: &Collectors, base: &Path) -> Vec<Collector> {
        let mut out = Vec::new();
        out.extend(
            collectors
                .prometheus
                .iter()
                .map(|c| Collector::Prometheus(prometheus::PrometheusRunner::new(c.clone()))),
        );
        out.extend(
            collectors
                .host
                .iter()
                .map(|c| Collector::Host(host::HostRunner::new(c.clone()))),
        );
        out.extend(
            collectors
                .database
                .iter()
                .map(|c| Collector::Database(database::DatabaseRunner::new(c.clone(), base))),
        );
        out.extend(
            collectors
                .logs
                .iter()
                .map(|c| Collector::Logs(logs::LogsRunner::new(c.clone(), base))),
        );
        out.extend(
            collectors
                .git
                .iter()
                .map(|c| Collector::Git(git::GitRunner::new(c.clone(), base))),
        );
        out.extend(
            collectors
                .tests
                .iter()
                .map(|c| Collector::Reports(junit_folder::ReportsRunner::new(c.clone(), base))),
        );
        out
    }

    /// Its name in the plan.
    pub fn name(&self) -> &str {
        match self {
            Collector::Prometheus(c) => &c.config().name,
            Collector::Host(c) => &c.config().name,
            Collector::Database(c) => &c.config().name,
            Collector::Logs(c) => &c.config().name,
            Collector::Git(c) => &c.config().name,
            Collector::Reports(c) => &c.config().name,
        }
    }

    /// Its kind, as the plan's section names it (`tests` for test reports).
    pub fn kind(&self) -> &'static str {
        match self {
            Collector::Prometheus(_) => "prometheus",
            Collector::Host(_) => "host",
            Collector::Database(_) => "database",
            Collector::Logs(_) => "logs",
            Collector::Git(_) => "git",
            Collector::Reports(_) => "tests",
        }
    }

    /// Its interval and timeout.
    pub fn schedule(&self) -> Schedule {
        match self {
            Collector::Prometheus(c) => c.config().schedule,
            Collector::Host(c) => c.config().schedule,
            Collector::Database(c) => c.config().schedule,
            Collector::Logs(c) => c.config().schedule,
            Collector::Git(c) => c.config().schedule,
            Collector::Reports(c) => c.config().schedule,
        }
    }

    /// The components whose figures it supplies.
    pub fn components(&self) -> Vec<String> {
        let mut out: Vec<String> = match self {
            Collector::Prometheus(c) => c.config().component.iter().cloned().collect(),
            Collector::Host(c) => c.config().component.iter().cloned().collect(),
            Collector::Database(c) => c.config().component.iter().cloned().collect(),
            Collector::Logs(c) => c.config().component.iter().cloned().collect(),
            Collector::Git(c) => c
                .config()
                .patterns
                .iter()
                .map(|p| p.component.clone())
                .collect(),
            Collector::Reports(c) => c.config().component.iter().cloned().collect(),
        };
        out.sort();
        out.dedup();
        out
    }

    /// The metrics it writes.
    pub fn metrics(&self) -> Vec<String> {
        let names: Vec<&str> = match self {
            Collector::Prometheus(c) => {
                return c.config().queries.iter().map(|q| q.name.clone()).collect();
            }
            Collector::Host(_) => host::METRICS.to_vec(),
            Collector::Database(_) => database::METRICS.to_vec(),
            Collector::Logs(_) => vec![logs::METRIC],
            Collector::Git(_) => vec![git::MATCHES_METRIC, git::COMMITS_METRIC],
            Collector::Reports(_) => Vec::new(),
        };
        names.into_iter().map(str::to_owned).collect()
    }

    /// Runs once (without the timeout: [`Runner::run_once`] applies it), returning the samples
    /// to store.
    pub async fn run(&mut self, cx: &Context) -> Result<Vec<Sample>, CollectError> {
        match self {
            Collector::Prometheus(c) => Ok(c.run(cx.now()).await?),
            Collector::Host(c) => c.run(cx.now()).await,
            Collector::Database(c) => Ok(c.run(cx.now()).await?),
            Collector::Logs(c) => c.run(cx).await,
            Collector::Git(c) => c.run(cx).await,
            Collector::Reports(c) => c.run(cx).await,
        }
    }
}

/// A collector with its health: runs it once at a time, under its timeout, and reports.
pub struct Runner {
    collector: Collector,
    health: CollectorHealth,
    labels: CollectorLabels,
}

impl Runner {
    /// A runner for `collector`, whose health says it has not run yet.
    pub fn new(collector: Collector) -> Runner {
        let health = CollectorHealth {
            name: collector.name().to_owned(),
            kind: collector.kind().to_owned(),
            up: false,
            last_success: None,
            last_error: None,
            last_run: None,
            last_duration_ms: None,
            runs: 0,
            failures: 0,
            components: collector.components(),
            metrics: collector.metrics(),
        };
        let labels = CollectorLabels {
            collector: health.name.clone(),
            kind: health.kind.clone(),
        };
        Runner {
            collector,
            health,
            labels,
        }
    }

    /// Its health so far.
    pub fn health(&self) -> &CollectorHealth {
        &self.health
    }

    /// Runs the collector once under its timeout, stores the samples it produced, and records
    /// the outcome in the registry and the metrics. Returns the new health.
    pub async fn run_once(&mut self, cx: &Context) -> &CollectorHealth {
        let timeout = std_duration(self.collector.schedule().timeout);
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, self.collector.run(cx)).await {
            Ok(result) => result,
            Err(_) => Err(CollectError::Timeout(mhd_core::plan::duration_text(
                self.collector.schedule().timeout,
            ))),
        };
        let outcome = match outcome {
            Ok(samples) => store_samples(cx, &self.health.name, samples).await,
            Err(e) => Err(e),
        };
        let elapsed = started.elapsed();
        let now = cx.now();
        self.record(now, elapsed.as_secs_f64(), outcome.err());
        self.publish(cx, elapsed.as_secs_f64());
        cx.collectors().update(self.health.clone());
        &self.health
    }

    fn record(&mut self, now: OffsetDateTime, seconds: f64, error: Option<CollectError>) {
        self.health.runs += 1;
        self.health.last_run = Some(now);
        self.health.last_duration_ms = Some(seconds * 1000.0);
        match error {
            None => {
                self.health.up = true;
                self.health.last_success = Some(now);
                self.health.last_error = None;
            }
            Some(e) => {
                let message = format!("{} collector {:?}: {e}", self.health.kind, self.health.name);
                tracing::warn!("{message}");
                self.health.up = false;
                self.health.failures += 1;
                self.health.last_error = Some(message);
            }
        }
    }

    fn publish(&self, cx: &Context, seconds: f64) {
        let m = cx.metrics();
        m.up.get_or_create(&self.labels)
            .set(i64::from(self.health.up));
        m.duration.get_or_create(&self.labels).observe(seconds);
        if self.health.up
            && let Some(t) = self.health.last_success
        {
            m.last_success
                .get_or_create(&self.labels)
                .set(t.unix_timestamp_nanos() as f64 / 1e9);
        }
        if !self.health.up {
            m.failures.get_or_create(&self.labels).inc();
        }
    }
}

/// Validates and stores a run's samples, then tells live clients.
async fn store_samples(
    cx: &Context,
    collector: &str,
    samples: Vec<Sample>,
) -> Result<(), CollectError> {
    let total = samples.len();
    let valid: Vec<Sample> = samples
        .into_iter()
        .filter(|s| match s.validate() {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(
                    "collector {collector:?}: sample {:?} left out: {e}",
                    s.metric
                );
                false
            }
        })
        .collect();
    if valid.len() < total {
        tracing::warn!(
            "collector {collector:?}: {} of {total} samples left out (not finite, or a name or \
             label breaks the rules of samples)",
            total - valid.len()
        );
    }
    if !valid.is_empty() {
        cx.recorder().samples(&valid).await?;
    }
    Ok(())
}

/// A plan duration as a standard one (negative ones are zero).
pub(crate) fn std_duration(d: time::Duration) -> std::time::Duration {
    std::time::Duration::try_from(d).unwrap_or_default()
}

/// Starts every collector of the plan, each on its own task, with relative paths (log files,
/// repositories, report folders, secret files) taken from `base`, normally the plan file's
/// folder. Every collector is listed in the registry at once, as not run yet.
///
/// Refuses (naming the collector) a schedule whose interval or timeout is not above zero.
pub fn start_in(cx: &Context, base: &Path) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
    let Some(plan) = cx.plan() else {
        return Ok(Vec::new());
    };
    let collectors = Collector::from_plan(&plan.collectors, base);
    for c in &collectors {
        let s = c.schedule();
        if s.interval <= time::Duration::ZERO || s.timeout <= time::Duration::ZERO {
            return Err(format!(
                "{} collector {:?}: interval and timeout must be above zero",
                c.kind(),
                c.name()
            ));
        }
    }
    let mut tasks = Vec::with_capacity(collectors.len());
    for collector in collectors {
        let runner = Runner::new(collector);
        cx.collectors().update(runner.health().clone());
        tasks.push(tokio::spawn(run_forever(cx.clone(), runner)));
    }
    Ok(tasks)
}

/// Runs a collector on its interval until the task is aborted; missed ticks are skipped.
async fn run_forever(cx: Context, mut runner: Runner) {
    let interval = std_duration(runner.collector.schedule().interval);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        runner.run_once(&cx).await;
    }
}

/// One row of the dashboard's "Collectors" table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectorRow {
    /// Its name in the plan.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// `up`, `down`, or `waiting` before its first run ends.
    pub status: &'static str,
    /// A shape for the status, so it is not told by colour alone: `✓`, `✗` or `…`.
    pub symbol: &'static str,
    /// When its last run succeeded (RFC 3339), if one did.
    pub last_success: Option<String>,
    /// The same, relative to now ("5m ago"), or `never`.
    pub last_success_relative: String,
    /// Its last error, when its last run failed (never holds a secret; escape it when shown).
    pub last_error: Option<String>,
    /// How long its last run took, in milliseconds.
    pub last_duration_ms: Option<f64>,
    /// The same as people read it ("12.3ms"), or `N/A`.
    pub last_duration: String,
    /// Runs since the server started.
    pub runs: u64,
    /// Failed runs since the server started.
    pub failures: u64,
}

/// The "Collectors" table of the resource view: every collector of the plan with its status,
/// last success, last error and last run's duration, in the plan's order.
pub fn collectors_table(cx: &Context) -> Vec<CollectorRow> {
    let now = cx.now();
    cx.collectors()
        .statuses()
        .into_iter()
        .map(|h| {
            let (status, symbol) = if h.up {
                ("up", "✓")
            } else if h.runs == 0 {
                ("waiting", "…")
            } else {
                ("down", "✗")
            };
            CollectorRow {
                status,
                symbol,
                last_success: h.last_success.map(mhd_core::format::rfc3339),
                last_success_relative: h.last_success.map_or_else(
                    || "never".to_owned(),
                    |t| mhd_core::format::relative(now, t),
                ),
                last_error: h.last_error,
                last_duration: mhd_core::format::duration_ms(h.last_duration_ms),
                last_duration_ms: h.last_duration_ms,
                runs: h.runs,
                failures: h.failures,
                name: h.name,
                kind: h.kind,
            }
        })
        .collect()
}

/// [`collectors_table`] as JSON: `{"collectors": [rows]}`.
pub fn collectors_json(cx: &Context) -> serde_json::Value {
    serde_json::json!({ "collectors": collectors_table(cx) })
}

/// Resolves a path of the plan against `base` when it is relative.
pub(crate) fn resolve(base: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}
