//! The rules both stores share: how records are normalized and how a new record merges with
//! the stored one (see the crate docs).

use crate::{PeerKind, PeerRecord, UpdateState};

/// A username as stored and looked up: without leading `@`, lower case.
pub(crate) fn username_key(name: &str) -> String {
    name.trim_start_matches('@').to_lowercase()
}

/// A phone as stored and looked up: its ASCII digits.
pub(crate) fn phone_key(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The record with usernames and phone in their stored form.
pub(crate) fn normalize(record: &PeerRecord) -> PeerRecord {
    let mut usernames: Vec<String> = Vec::with_capacity(record.usernames.len());
    for name in &record.usernames {
        let name = username_key(name);
        if !name.is_empty() && !usernames.contains(&name) {
            usernames.push(name);
        }
    }
    PeerRecord {
        usernames,
        phone: record
            .phone
            .as_deref()
            .map(phone_key)
            .filter(|p| !p.is_empty()),
        ..record.clone()
    }
}

/// Whether the kind has access hashes at all.
fn hashed(kind: PeerKind) -> bool {
    matches!(kind, PeerKind::User | PeerKind::Channel)
}

/// What to store when `new` (normalized) arrives and `old` is stored.
pub(crate) fn merge(old: Option<&PeerRecord>, new: &PeerRecord) -> PeerRecord {
    let Some(old) = old else {
        let mut out = new.clone();
        if !out.min {
            out.seen_in = None;
        }
        return out;
    };
    let usernames = if new.min && new.usernames.is_empty() {
        old.usernames.clone()
    } else {
        new.usernames.clone()
    };
    let phone = if new.min && new.phone.is_none() {
        old.phone.clone()
    } else {
        new.phone.clone()
    };
    let old_full = !old.min && old.access_hash.is_some();
    let (access_hash, min, seen_in) = if !new.min {
        if new.access_hash.is_none() && hashed(new.kind) && old.access_hash.is_some() {
            // A full object without a hash: keep the hash (and its min-ness) already known.
            (
                old.access_hash,
                old.min,
                if old.min { old.seen_in } else { None },
            )
        } else {
            (new.access_hash, false, None)
        }
    } else if old_full {
        (old.access_hash, false, None)
    } else {
        (
            new.access_hash.or(old.access_hash),
            true,
            new.seen_in.or(old.seen_in),
        )
    };
    PeerRecord {
        id: new.id,
        kind: new.kind,
        access_hash,
        min,
        usernames,
        phone,
        seen_in,
    }
}

/// The channels of `state` by id, the last of duplicates winning.
pub(crate) fn channels(state: &UpdateState) -> Vec<(i64, i32)> {
    let mut map = std::collections::BTreeMap::new();
    for &(id, pts) in &state.channels {
        map.insert(id, pts);
    }
    map.into_iter().collect()
}
