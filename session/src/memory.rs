//! The in-memory store.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::merge::{self, normalize};
use crate::{DcEntry, PeerKind, PeerRecord, SessionStore, StoreError, UpdateState};

/// A session kept in memory: for tests, and for sessions that need not outlive the process.
///
/// It follows the same rules as [`SqliteStore`](crate::SqliteStore) (the crate's tests run one
/// suite on both) and never fails.
///
/// ```
/// use tlgen_session::{DcEntry, MemoryStore, SessionStore, UpdateState};
///
/// let store = MemoryStore::new();
/// store.set_dc(&DcEntry { id: 2, addr: "149.154.167.51:443".into(), auth_key: Some([7; 256]) })?;
/// assert_eq!(store.dc(2)?.unwrap().auth_key, Some([7; 256]));
///
/// store.set_update_state(&UpdateState { pts: 10, qts: 0, date: 1_700_000_000, seq: 3, channels: vec![] })?;
/// store.set_channel_pts(1234567890, 55)?;
/// assert_eq!(store.update_state()?.channels, [(1234567890, 55)]);
/// # Ok::<(), tlgen_session::StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    home_dc: Option<i32>,
    dcs: BTreeMap<i32, DcEntry>,
    self_user: Option<i64>,
    peers: BTreeMap<(PeerKind, i64), PeerRecord>,
    usernames: BTreeMap<String, (PeerKind, i64)>,
    phones: BTreeMap<String, (PeerKind, i64)>,
    pts: i32,
    qts: i32,
    date: i32,
    seq: i32,
    channels: BTreeMap<i64, i32>,
}

impl MemoryStore {
    /// An empty session.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves every map consistent (each method
        // changes them only after computing the result), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn put(&mut self, record: &PeerRecord) {
        let new = normalize(record);
        let key = (new.kind, new.id);
        let stored = merge::merge(self.peers.get(&key), &new);
        // Names and phone this peer no longer has.
        if let Some(old) = self.peers.get(&key) {
            for name in &old.usernames {
                if !stored.usernames.contains(name) {
                    self.usernames.remove(name);
                }
            }
            if let Some(phone) = &old.phone {
                if stored.phone.as_ref() != Some(phone) {
                    self.phones.remove(phone);
                }
            }
        }
        // Names and phone taken from another peer.
        for name in &stored.usernames {
            if let Some(owner) = self.usernames.insert(name.clone(), key) {
                if owner != key {
                    if let Some(other) = self.peers.get_mut(&owner) {
                        other.usernames.retain(|n| n != name);
                    }
                }
            }
        }
        if let Some(phone) = &stored.phone {
            if let Some(owner) = self.phones.insert(phone.clone(), key) {
                if owner != key {
                    if let Some(other) = self.peers.get_mut(&owner) {
                        other.phone = None;
                    }
                }
            }
        }
        self.peers.insert(key, stored);
    }
}

impl SessionStore for MemoryStore {
    fn home_dc(&self) -> Result<Option<i32>, StoreError> {
        Ok(self.lock().home_dc)
    }

    fn set_home_dc(&self, dc: i32) -> Result<(), StoreError> {
        self.lock().home_dc = Some(dc);
        Ok(())
    }

    fn dc(&self, id: i32) -> Result<Option<DcEntry>, StoreError> {
        Ok(self.lock().dcs.get(&id).cloned())
    }

    fn dcs(&self) -> Result<Vec<DcEntry>, StoreError> {
        Ok(self.lock().dcs.values().cloned().collect())
    }

    fn set_dc(&self, dc: &DcEntry) -> Result<(), StoreError> {
        self.lock().dcs.insert(dc.id, dc.clone());
        Ok(())
    }

    fn self_user(&self) -> Result<Option<i64>, StoreError> {
        Ok(self.lock().self_user)
    }

    fn set_self_user(&self, id: Option<i64>) -> Result<(), StoreError> {
        self.lock().self_user = id;
        Ok(())
    }

    fn put_peers(&self, peers: &[PeerRecord]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for record in peers {
            inner.put(record);
        }
        Ok(())
    }

    fn peer(&self, kind: PeerKind, id: i64) -> Result<Option<PeerRecord>, StoreError> {
        Ok(self.lock().peers.get(&(kind, id)).cloned())
    }

    fn peer_by_username(&self, username: &str) -> Result<Option<PeerRecord>, StoreError> {
        let inner = self.lock();
        let key = merge::username_key(username);
        Ok(inner
            .usernames
            .get(&key)
            .and_then(|k| inner.peers.get(k))
            .cloned())
    }

    fn peer_by_phone(&self, phone: &str) -> Result<Option<PeerRecord>, StoreError> {
        let inner = self.lock();
        let key = merge::phone_key(phone);
        Ok(inner
            .phones
            .get(&key)
            .filter(|(kind, _)| *kind == PeerKind::User)
            .and_then(|k| inner.peers.get(k))
            .cloned())
    }

    fn update_state(&self) -> Result<UpdateState, StoreError> {
        let inner = self.lock();
        Ok(UpdateState {
            pts: inner.pts,
            qts: inner.qts,
            date: inner.date,
            seq: inner.seq,
            channels: inner.channels.iter().map(|(&id, &pts)| (id, pts)).collect(),
        })
    }

    fn set_update_state(&self, state: &UpdateState) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.pts = state.pts;
        inner.qts = state.qts;
        inner.date = state.date;
        inner.seq = state.seq;
        inner.channels = merge::channels(state).into_iter().collect();
        Ok(())
    }

    fn channel_pts(&self, channel: i64) -> Result<Option<i32>, StoreError> {
        Ok(self.lock().channels.get(&channel).copied())
    }

    fn set_channel_pts(&self, channel: i64, pts: i32) -> Result<(), StoreError> {
        self.lock().channels.insert(channel, pts);
        Ok(())
    }
}
