//! Random batches of peers put into both stores: they must agree on everything they return,
//! and keep the rule that only a full record sets a full access hash.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tlgen_session::{MemoryStore, PeerKind, PeerRecord, SessionStore, SqliteStore};

const NAMES: [&str; 5] = ["alpha", "Alpha", "@beta", "gamma", ""];
const PHONES: [&str; 3] = ["+1 555", "1555", "777"];

fn kind() -> impl Strategy<Value = PeerKind> {
    prop_oneof![
        Just(PeerKind::User),
        Just(PeerKind::Chat),
        Just(PeerKind::Channel)
    ]
}

fn record() -> impl Strategy<Value = PeerRecord> {
    (
        kind(),
        1i64..4,
        proptest::option::of(-3i64..3),
        any::<bool>(),
        proptest::collection::vec(proptest::sample::select(&NAMES[..]), 0..3),
        proptest::option::of(proptest::sample::select(&PHONES[..])),
        proptest::option::of((-3i64..0, 1i32..3)),
    )
        .prop_map(
            |(kind, id, access_hash, min, names, phone, seen_in)| PeerRecord {
                id,
                kind,
                access_hash,
                min,
                usernames: names.into_iter().map(String::from).collect(),
                phone: phone.map(String::from),
                seen_in,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn memory_and_sqlite_agree(batches in proptest::collection::vec(
        proptest::collection::vec(record(), 1..4), 1..6,
    )) {
        let dir = tempfile::tempdir().unwrap();
        let memory = MemoryStore::new();
        let sqlite = SqliteStore::open(dir.path().join("d.session")).unwrap();
        let mut full_hash: BTreeMap<(PeerKind, i64), i64> = BTreeMap::new();
        for batch in &batches {
            memory.put_peers(batch).unwrap();
            sqlite.put_peers(batch).unwrap();
            for r in batch {
                // Basic chats have no hashes to keep: a full chat record replaces all.
                if r.kind == PeerKind::Chat && !r.min {
                    full_hash.remove(&(r.kind, r.id));
                }
                if let (false, Some(h)) = (r.min, r.access_hash) {
                    full_hash.insert((r.kind, r.id), h);
                }
            }
            for kind in [PeerKind::User, PeerKind::Chat, PeerKind::Channel] {
                for id in 1..4 {
                    let m = memory.peer(kind, id).unwrap();
                    prop_assert_eq!(&m, &sqlite.peer(kind, id).unwrap());
                    if let Some(&h) = full_hash.get(&(kind, id)) {
                        let p = m.as_ref().unwrap();
                        prop_assert_eq!(p.access_hash, Some(h));
                        prop_assert!(!p.min);
                        prop_assert_eq!(p.seen_in, None);
                    }
                    if let Some(m) = m {
                        prop_assert!(m.min || m.seen_in.is_none());
                    }
                }
            }
            for name in NAMES {
                prop_assert_eq!(
                    memory.peer_by_username(name).unwrap(),
                    sqlite.peer_by_username(name).unwrap()
                );
            }
            for phone in PHONES {
                prop_assert_eq!(
                    memory.peer_by_phone(phone).unwrap(),
                    sqlite.peer_by_phone(phone).unwrap()
                );
            }
        }
    }
}
