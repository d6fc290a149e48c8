//! One async lock per key, for "one request per key at a time" (concurrent resolves of one
//! username, the authorization of one DC). An entry lives while someone holds or waits for
//! its lock, so the map never grows past the keys in use.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

pub(crate) struct KeyedLocks<K: Ord + Clone> {
    locks: Mutex<BTreeMap<K, Entry>>,
}

/// A key's lock and how many hold it or wait for it.
struct Entry {
    lock: Arc<tokio::sync::Mutex<()>>,
    users: usize,
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
    // Fields drop in order: the lock is released before the entry is let go.
    _guard: OwnedMutexGuard<()>,
    _user: User<'a, K>,
}

/// One holder or waiter of a key's lock; its drop (also when a waiting future is dropped)
/// removes the entry once nobody uses it.
struct User<'a, K: Ord + Clone> {
    owner: &'a KeyedLocks<K>,
    key: K,
}

impl<K: Ord + Clone> KeyedLocks<K> {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<K, Entry>> {
        self.locks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the lock of `key`. The wait lasts as long as the holder's work, which the
    /// callers bound (every call they make has a timeout).
    pub(crate) async fn lock(&self, key: K) -> KeyedGuard<'_, K> {
        let lock = {
            let mut map = self.map();
            let entry = map.entry(key.clone()).or_insert_with(|| Entry {
                lock: Arc::default(),
                users: 0,
            });
            entry.users += 1;
            entry.lock.clone()
        };
        let user = User { owner: self, key };
        KeyedGuard {
            _guard: lock.lock_owned().await,
            _user: user,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.map().len()
    }
}

impl<K: Ord + Clone> Drop for User<'_, K> {
    fn drop(&mut self) {
        let mut map = self.owner.map();
        if let Some(entry) = map.get_mut(&self.key) {
            entry.users -= 1;
            if entry.users == 0 {
                map.remove(&self.key);
            }
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

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_no_entry_behind() {
        let locks = KeyedLocks::<u8>::default();
        let held = locks.lock(1).await;
        // A second caller waits, then gives up (its future is dropped by the timeout).
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), locks.lock(1)).await;
        assert!(waited.is_err());
        // A third starts waiting, the holder lets go, and the waiter is dropped before it
        // runs again: the entry must still go.
        let mut waiter = Box::pin(locks.lock(1));
        tokio::select! {
            biased;
            _ = &mut waiter => panic!("the lock is held"),
            () = std::future::ready(()) => {}
        }
        drop(held);
        drop(waiter);
        assert_eq!(locks.len(), 0);
        // The key can be locked again.
        drop(locks.lock(1).await);
        assert_eq!(locks.len(), 0);
    }
}
