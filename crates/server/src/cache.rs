//! A single-flight cache of computed views, valid while no write has been announced and for a
//! short time at most.
//!
//! Every change a write announces (`AppState::notify`) bumps the state's data version; a cached
//! value is reused while the version is the same and it is younger than its time to live (which
//! bounds staleness from writers the server does not hear about, such as `mhd record` run
//! beside it). When many requests miss at once, one computes and the others wait for its
//! result instead of each running the same queries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long a cached view may be served without a new write: also the most a view can lag
/// behind writes the server was not told about.
pub const TTL: Duration = Duration::from_secs(15);

struct Entry<T> {
    version: u64,
    at: Instant,
    value: Arc<T>,
}

/// One cached value.
pub struct Cache<T> {
    slot: Mutex<Option<Entry<T>>>,
    /// The last value computed and its version, readable without waiting for a computation
    /// in flight.
    last: std::sync::Mutex<Option<(u64, Arc<T>)>>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            slot: Mutex::new(None),
            last: std::sync::Mutex::new(None),
        }
    }
}

impl<T> Cache<T> {
    /// The value for `version`: the cached one when it is of that version and fresh, else the
    /// one `compute` makes (which is then cached). A failed computation caches nothing.
    pub async fn get_or_compute<E, F, Fut>(&self, version: u64, compute: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // Held across the computation: concurrent misses wait here and then hit. While a value
        // of this very version is only being refreshed for its age, it is served meanwhile
        // (a write since is never hidden: a new version always waits for its own value).
        let mut slot = match self.slot.try_lock() {
            Ok(slot) => slot,
            Err(_) => {
                if let Some(value) = self.last_of(version) {
                    return Ok(value);
                }
                self.slot.lock().await
            }
        };
        if let Some(e) = slot.as_ref()
            && e.version == version
            && e.at.elapsed() < TTL
        {
            return Ok(Arc::clone(&e.value));
        }
        let value = Arc::new(compute().await?);
        *slot = Some(Entry {
            version,
            at: Instant::now(),
            value: Arc::clone(&value),
        });
        if let Ok(mut last) = self.last.lock() {
            *last = Some((version, Arc::clone(&value)));
        }
        Ok(value)
    }

    /// The last value computed, of any version or age (None before the first computation),
    /// without waiting for a computation in flight.
    pub fn latest(&self) -> Option<Arc<T>> {
        self.last
            .lock()
            .ok()
            .and_then(|l| l.as_ref().map(|(_, v)| Arc::clone(v)))
    }

    fn last_of(&self, version: u64) -> Option<Arc<T>> {
        let last = self.last.lock().ok()?;
        match last.as_ref() {
            Some((v, value)) if *v == version => Some(Arc::clone(value)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn computes_once_per_version() {
        let cache: Cache<u32> = Cache::default();
        let runs = AtomicU32::new(0);
        let compute = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(7)
        };
        assert_eq!(*cache.get_or_compute(1, compute).await.unwrap(), 7);
        assert_eq!(*cache.get_or_compute(1, compute).await.unwrap(), 7);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        cache.get_or_compute(2, compute).await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "a new version computes again"
        );
    }

    #[tokio::test]
    async fn concurrent_misses_compute_once_and_failures_are_not_kept() {
        let cache: Arc<Cache<u32>> = Arc::default();
        let runs = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (cache, runs) = (Arc::clone(&cache), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(1, || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        Ok::<_, ()>(1)
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let failed: Result<Arc<u32>, &str> = cache
            .get_or_compute(2, || async { Err("store down") })
            .await;
        assert!(failed.is_err());
        let again = cache
            .get_or_compute(2, || async { Ok::<_, &str>(9) })
            .await
            .unwrap();
        assert_eq!(*again, 9);
    }
}
