//! [`Recent`]: the results of the latest few computations, by what they were computed from,
//! for work that is asked for again with the same inputs far more often than they change.

use std::sync::Mutex;

/// At most `capacity` results by key; the one used least recently goes first.
#[derive(Debug)]
pub struct Recent<K, V> {
    capacity: usize,
    entries: Mutex<Vec<(K, V)>>,
}

impl<K: PartialEq, V: Clone> Recent<K, V> {
    /// Empty, keeping at most `capacity` (at least 1).
    pub const fn new(capacity: usize) -> Recent<K, V> {
        Recent {
            capacity,
            entries: Mutex::new(Vec::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(K, V)>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The result kept for `key`, if any.
    pub fn get(&self, key: &K) -> Option<V> {
        let mut entries = self.entries();
        let at = entries.iter().position(|(k, _)| k == key)?;
        let entry = entries.remove(at);
        let found = entry.1.clone();
        entries.push(entry);
        Some(found)
    }

    /// Keeps `value` for `key`, first dropping the entries `stale` says will not be asked for
    /// again, then the least recently used if it is full.
    pub fn put(&self, key: K, value: V, stale: impl Fn(&K) -> bool) {
        let mut entries = self.entries();
        entries.retain(|(k, _)| k != &key && !stale(k));
        if entries.len() >= self.capacity.max(1) {
            entries.remove(0);
        }
        entries.push((key, value));
    }

    /// Forgets every result.
    pub fn clear(&self) {
        self.entries().clear();
    }

    /// How many results are kept.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn keeps_the_latest_used_and_drops_the_stale() {
        let recent: Recent<u32, &str> = Recent::new(2);
        recent.put(1, "one", |_| false);
        recent.put(2, "two", |_| false);
        assert_eq!(recent.get(&1), Some("one"));
        // 2 was used least recently: it goes.
        recent.put(3, "three", |_| false);
        assert_eq!(recent.get(&2), None);
        assert_eq!(recent.get(&1), Some("one"));
        recent.put(4, "four", |k| *k < 4);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent.get(&4), Some("four"));
        recent.clear();
        assert!(recent.is_empty());
    }
}
