//! The demo's live traffic: what arrives while the dashboard is open, a tick a second of the
//! history's pace, with an incident on one component every hour and the demo's operator
//! acknowledging alerts that have fired for a while.

use std::time::Duration as StdDuration;

use mhd_core::testrun::TestRun;
use mhd_core::{NewOperation, System};
use mhd_store::Store;
use time::{Duration, OffsetDateTime};

use super::{
    COMPONENTS, DAYS_PER_ROLLBACK, MIGRATIONS_PER_DAY, Rng, SUITES, TEST_RUNS_PER_DAY,
    TRAFFIC_PER_DAY, acknowledge_old_alerts, migration, op, test_run, traffic,
};
use crate::recorder::Change;
use crate::state::AppState;

/// Ticks between the starts of two incidents: an hour at the demo's own pace.
pub const INCIDENT_EVERY: u64 = 3600;
/// Ticks an incident lasts: a quarter of an hour, long enough for the few operations of that
/// time to show it.
pub const INCIDENT_TICKS: u64 = 900;
/// The tick of the first incident: soon after the dashboard opens.
pub const FIRST_INCIDENT: u64 = 20;

/// The component an incident hits at this tick, if one is under way: the first starts
/// [`FIRST_INCIDENT`] ticks in, then one every [`INCIDENT_EVERY`] ticks, each on the next
/// component, for [`INCIDENT_TICKS`] ticks — long enough for the error-rate rules to fire, and
/// followed by calm long enough for them to resolve.
pub fn incident_at(tick: u64) -> Option<&'static str> {
    let since = tick.checked_sub(FIRST_INCIDENT)?;
    (since % INCIDENT_EVERY < INCIDENT_TICKS)
        .then(|| COMPONENTS[((since / INCIDENT_EVERY) % COMPONENTS.len() as u64) as usize])
}

/// How the live traffic runs.
#[derive(Debug, Clone, Copy)]
pub struct LiveOptions {
    /// Ticks come this many times a second, each a second of the history's pace (1 = the
    /// history's pace, in real time).
    pub speed: f64,
    /// The generator's seed.
    pub seed: u64,
}

/// The live traffic at the history's pace: one tick stands for a second of the migration,
/// and brings on average what a second of its history holds (so mostly nothing, now and then
/// an operation, every few hours a migration).
#[derive(Debug, Clone)]
pub struct LiveTraffic {
    rng: Rng,
    next_dataset: u64,
    ticks: u64,
}

/// What one tick of [`LiveTraffic`] brings.
#[derive(Debug, Default)]
pub struct Tick {
    /// The operations to store.
    pub operations: Vec<NewOperation>,
    /// A test run to store, with the component its suite tests.
    pub test_run: Option<(TestRun, &'static str)>,
}

impl LiveTraffic {
    /// Live traffic drawn from `seed`, the next migration being of the dataset after the
    /// `migrated` ones (and a few in flight).
    pub fn new(seed: u64, migrated: u64) -> LiveTraffic {
        LiveTraffic {
            rng: Rng::new(seed.wrapping_add(1)),
            next_dataset: migrated + 5,
            ticks: 0,
        }
    }

    /// The ticks so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// How many events of `per_day` fall in one second: the whole part always, the rest by
    /// chance.
    fn count(&mut self, per_day: f64) -> u64 {
        let expected = per_day / 86_400.0;
        let whole = expected.floor();
        whole as u64 + u64::from(self.rng.chance(expected - whole))
    }

    /// The next second of the migration, ending at `now`.
    pub fn tick(&mut self, now: OffsetDateTime) -> Tick {
        self.ticks += 1;
        let incident = incident_at(self.ticks);
        let mut tick = Tick::default();
        for _ in 0..self.count(TRAFFIC_PER_DAY) {
            tick.operations.push(traffic(&mut self.rng, now, incident));
        }
        for _ in 0..self.count(MIGRATIONS_PER_DAY) {
            if self.next_dataset < 412 {
                // It ends now: nothing live is stamped ahead of the clock.
                let mut attempt = migration(&mut self.rng, now, self.next_dataset);
                let took = attempt.last().map_or(Duration::ZERO, |o| o.timestamp - now);
                for o in &mut attempt {
                    o.timestamp -= took;
                }
                tick.operations.extend(attempt);
                self.next_dataset += 1;
            }
        }
        for _ in 0..self.count(1.0 / DAYS_PER_ROLLBACK) {
            let n = self.rng.below(self.next_dataset.max(1));
            let mut rb = op(
                now,
                "rollback",
                "rollback",
                COMPONENTS[(n % 4) as usize],
                System::New,
                self.rng.duration_ms(4000.0),
                true,
            );
            rb.dataset_name = Some(format!("dataset_{n:03}"));
            tick.operations.push(rb);
        }
        if self.count(TEST_RUNS_PER_DAY) > 0 {
            let (suite, component, rate, _, flaky) =
                SUITES[self.rng.below(SUITES.len() as u64) as usize];
            tick.test_run = Some((
                test_run(&mut self.rng, suite, component, now, rate, flaky),
                component,
            ));
        }
        tick
    }
}

/// Keeps the demo alive: every (1 / speed) seconds one tick of [`LiveTraffic`]; each stored
/// write notifies the live clients. Runs until the task is dropped.
pub async fn run_live(state: AppState, options: LiveOptions) {
    let tick = StdDuration::from_secs_f64(1.0 / options.speed.clamp(0.1, 100.0));
    let migrated = state
        .store()
        .migration_counts()
        .await
        .map(|c| c.datasets_migrated)
        .unwrap_or(0);
    let mut live = LiveTraffic::new(options.seed, migrated);
    // The host's own use, as the host collector reads it, unless the plan runs one already.
    let mut host = state
        .plan()
        .as_deref()
        .is_none_or(|p| p.collectors.host.is_empty())
        .then(crate::collect::host::HostSampler::new);
    loop {
        tokio::time::sleep(tick).await;
        let now = state.now();
        let Tick {
            operations: ops,
            test_run,
        } = live.tick(now);
        let ticks = live.ticks();
        if ticks.is_multiple_of(10) {
            acknowledge_old_alerts(&state, now).await;
        }
        if !ops.is_empty() {
            match state.recorder().operations(&ops).await {
                Ok(n) => {
                    state.metrics().ingested_operations.inc_by(n);
                }
                Err(e) => tracing::warn!("demo: could not store operations: {e}"),
            }
        }
        if ticks.is_multiple_of(5)
            && let Some(sampler) = &mut host
            && let Ok(samples) = sampler.sample(now, 5, None)
            && !samples.is_empty()
        {
            let _ = state.recorder().samples(&samples).await;
        }
        if let Some((run, component)) = test_run {
            let stored = state.store().insert_test_run(&run, Some("demo"));
            let changed = Change::TestRun {
                component: Some(component.into()),
            };
            let _ = state.recorder().commit(changed, stored).await;
        }
    }
}
