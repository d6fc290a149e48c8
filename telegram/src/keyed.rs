//! One async lock per key, for "one request per key at a time" (concurrent resolves of one
//! username, the authorization of one DC). An entry lives while someone holds or waits for
//! its lock, so the map never grows past the keys in use.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

pub(crate) struct KeyedLocks<K: Ord + Clone> {
    locks: Mutex<BTreeMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K: Ord + Clone> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self {
            locks: Mutex::new(BTreeMap::new()),
        }
    }
}

/// Holds the lock of one key; dropping it releases the lock and, when nobody else waits,
/// the entry.
pub(crate) struct KeyedGuard<'a, K: Ord + Clone> {
    owner: &'a KeyedLocks<K>,
    key: K,
    guard: Option<OwnedMutexGuard<()>>,
}

impl<K: Ord + Clone> KeyedLocks<K> {
    /// Waits for the lock of `key`. The wait lasts as long as the holder's work, which the
    /// callers bound (every call they make has a timeout).
    pub(crate) async fn lock(&self, key: K) -> KeyedGuard<'_, K> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        KeyedGuard {
            owner: self,
            key,
            guard: Some(lock.lock_owned().await),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.locks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl<K: Ord + Clone> Drop for KeyedGuard<'_, K> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self.owner.locks.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it now: nobody waits, the entry can go. (A waiter clones the
        // `Arc` under this same mutex before it waits, so it is counted here.)
        if locks
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            locks.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_holder_per_key_and_no_entry_left_behind() {
        let locks = Arc::new(KeyedLocks::<String>::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (locks, inside) = (locks.clone(), inside.clone());
                tokio::spawn(async move {
                    let _g = locks.lock(format!("k{}", i % 2)).await;
                    assert!(
                        inside.fetch_add(1, Ordering::SeqCst) < 2,
                        "two holders of a key"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in tasks {
            tokio::time::timeout(std::time::Duration::from_secs(10), t)
                .await
                .expect("bounded")
                .unwrap();
        }
        assert_eq!(locks.len(), 0);
    }
}
