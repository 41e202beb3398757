//! The one recorder of the server's writes: each of its write methods commits to the store
//! and, once the commit succeeded, announces the matching [`Change`] to the live pages and
//! WebSocket clients (and makes the cached views stale). A failed write is never announced,
//! and nothing else can announce, so no writer can forget to or announce what did not happen.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mhd_core::NewOperation;
use mhd_core::perf::BenchmarkSamples;
use mhd_core::sample::Sample;
use mhd_core::testrun::TestRun;
use mhd_store::{Database, Store};
use time::OffsetDateTime;
use tokio::sync::broadcast;

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
    /// Something was written to the store by another process (or another handle), or the
    /// plan changed: nothing is known of what, so every view is computed again and pushed.
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

/// Commits writes to the store and announces each once committed; cheap to clone.
#[derive(Clone)]
pub struct Recorder(Arc<Parts>);

/// What a [`Recorder`] holds.
struct Parts {
    /// The store written to.
    store: Database,
    /// Changes, fanned out to every live client.
    changes: broadcast::Sender<Change>,
    /// Bumped by every announced change: the key of what reads samples.
    version: AtomicU64,
    /// Bumped by every announced change but samples: the key of the plan-driven views and the
    /// dashboard, which read no samples.
    views_version: AtomicU64,
    /// Bumped by every announced test run, benchmarks and outside write: the key of the
    /// latest test runs and benchmarks the view model reads.
    records_version: AtomicU64,
}

impl Recorder {
    /// A recorder writing to `store`.
    pub fn new(store: Database) -> Recorder {
        let (changes, _) = broadcast::channel(UPDATE_BUFFER);
        Recorder(Arc::new(Parts {
            store,
            changes,
            version: AtomicU64::new(0),
            views_version: AtomicU64::new(0),
            records_version: AtomicU64::new(0),
        }))
    }

    /// The store, to read from (writes that the live pages show go through the recorder).
    pub fn store(&self) -> &Database {
        &self.0.store
    }

    /// Hears every change announced from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.changes.subscribe()
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

    /// The version of the latest test runs and benchmarks.
    pub fn records_version(&self) -> u64 {
        self.0.records_version.load(Ordering::SeqCst)
    }

    /// Runs `write` (a commit to the store) and, if it succeeded, announces the changes
    /// `changes` names for its result; a failed write is returned unannounced.
    pub async fn commit_with<T, E, C>(
        &self,
        write: impl Future<Output = Result<T, E>>,
        changes: impl FnOnce(&T) -> C,
    ) -> Result<T, E>
    where
        C: IntoIterator<Item = Change>,
    {
        let done = write.await?;
        for change in changes(&done) {
            self.announce(change);
        }
        Ok(done)
    }

    /// Runs `write` and, if it succeeded, announces `change`.
    pub async fn commit<T, E>(
        &self,
        change: Change,
        write: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        self.commit_with(write, |_| Some(change)).await
    }

    /// Stores operations and announces them with their components; returns how many.
    pub async fn operations(&self, ops: &[NewOperation]) -> mhd_store::Result<u64> {
        self.commit(
            Change::Operations {
                components: components(ops),
            },
            self.0.store.insert_operations(ops),
        )
        .await
    }

    /// Stores a test run and announces it; returns its id.
    pub async fn test_run(&self, run: &TestRun, source: Option<&str>) -> mhd_store::Result<i64> {
        self.commit(
            Change::TestRun {
                component: run.component.clone(),
            },
            self.0.store.insert_test_run(run, source),
        )
        .await
    }

    /// Stores the samples of one benchmark file and announces them; returns how many values.
    pub async fn benchmarks(
        &self,
        samples: &[BenchmarkSamples],
        source: Option<&str>,
        at: OffsetDateTime,
    ) -> mhd_store::Result<u64> {
        self.commit(
            Change::Benchmarks,
            self.0.store.insert_benchmarks(samples, source, at),
        )
        .await
    }

    /// Stores samples and announces them; returns how many.
    pub async fn samples(&self, samples: &[Sample]) -> mhd_store::Result<u64> {
        self.commit(Change::Samples, self.0.store.insert_samples(samples))
            .await
    }

    /// Announces what was written by others (another process, another replica), as the
    /// store's change watcher heard it: committed already, not here.
    pub fn heard(&self, changes: impl IntoIterator<Item = Change>) {
        for change in changes {
            self.announce(change);
        }
    }

    /// Announces a change of everything: written by others unheard of (while the watch of the
    /// store was broken), or the plan replaced.
    pub fn external(&self) {
        self.announce(Change::External);
    }

    /// Announces what changes once: every write method goes through here after its commit.
    fn announce(&self, change: Change) {
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
        // Nobody listening is fine.
        let _ = self.0.changes.send(change);
    }
}

/// The components `ops` name, sorted, each once.
pub fn components(ops: &[NewOperation]) -> Vec<String> {
    let mut components: Vec<String> = ops.iter().filter_map(|o| o.component.clone()).collect();
    components.sort();
    components.dedup();
    components
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::System;
    use time::macros::datetime;

    fn op(component: &str) -> NewOperation {
        let mut o = NewOperation::new(datetime!(2025-03-10 12:00 UTC), "migration", "migrate");
        o.dataset_name = Some("sales".into());
        o.component = Some(component.into());
        o.system = Some(System::New);
        o.duration_ms = Some(12.0);
        o
    }

    #[tokio::test]
    async fn a_write_is_announced_after_its_commit_and_a_failed_one_never() {
        let dir = tempfile::tempdir().unwrap();
        let store = Database::open_file(&dir.path().join("mhd.db"), 2)
            .await
            .unwrap();
        let recorder = Recorder::new(store);
        let mut heard = recorder.subscribe();

        assert_eq!(
            recorder
                .operations(&[op("b"), op("a"), op("b")])
                .await
                .unwrap(),
            3
        );
        assert_eq!(
            heard.try_recv().unwrap(),
            Change::Operations {
                components: vec!["a".into(), "b".into()]
            }
        );
        // What was announced is there to read.
        assert_eq!(
            recorder
                .store()
                .count_before(datetime!(2030-01-01 0:00 UTC))
                .await
                .unwrap(),
            3
        );
        assert_eq!(recorder.data_version(), 1);

        let failed: Result<(), &str> = recorder
            .commit(Change::Benchmarks, async { Err("refused") })
            .await;
        assert_eq!(failed, Err("refused"));
        assert!(heard.try_recv().is_err(), "a failed write is not announced");
        assert_eq!(recorder.data_version(), 1);
        assert_eq!(recorder.records_version(), 0);

        recorder.samples(&[]).await.unwrap();
        assert_eq!(heard.try_recv().unwrap(), Change::Samples);
        assert_eq!((recorder.data_version(), recorder.views_version()), (2, 1));
    }
}
