//! Session files damaged at random: opening one never panics, and either works (every read
//! then returns a value or a typed error) or fails and leaves the file as it was.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use tlgen_session::{
    DcEntry, PeerKind, PeerRecord, SessionStore, SqliteStore, StoreError, UpdateState,
};

/// A small valid session, made once.
fn valid_session() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.session");
        let store = SqliteStore::open(&path).unwrap();
        store.set_home_dc(2).unwrap();
        store
            .set_dc(&DcEntry {
                id: 2,
                addr: "149.154.167.51:443".into(),
                auth_key: Some([3; 256]),
            })
            .unwrap();
        let peers: Vec<PeerRecord> = (1..=60)
            .map(|i| PeerRecord {
                id: i,
                kind: if i % 3 == 0 {
                    PeerKind::Channel
                } else {
                    PeerKind::User
                },
                access_hash: Some(i * 31),
                min: i % 5 == 0,
                usernames: vec![format!("name{i}")],
                phone: Some(format!("{i}000")),
                seen_in: (i % 5 == 0).then_some((-100, i as i32)),
            })
            .collect();
        store.put_peers(&peers).unwrap();
        store
            .set_update_state(&UpdateState {
                pts: 5,
                qts: 6,
                date: 7,
                seq: 8,
                channels: vec![(3, 9)],
            })
            .unwrap();
        store.close().unwrap();
        std::fs::read(&path).unwrap()
    })
}

/// Every read; each may fail, none may panic.
fn read_everything(store: &SqliteStore) {
    let _ = store.home_dc();
    let _ = store.self_user();
    let _ = store.dcs();
    let _ = store.dc(2);
    for i in 1..=60 {
        let _ = store.peer(PeerKind::User, i);
        let _ = store.peer(PeerKind::Channel, i);
        let _ = store.peer_by_username(&format!("name{i}"));
        let _ = store.peer_by_phone(&format!("{i}000"));
    }
    let _ = store.update_state();
    let _ = store.channel_pts(3);
}

fn open_damaged(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    std::fs::write(path, bytes).unwrap();
    match SqliteStore::open(path) {
        Ok(store) => {
            read_everything(&store);
            let _ = store.set_home_dc(1);
            let _ = store.close();
        }
        Err(err) => {
            prop_assert!(
                matches!(
                    err,
                    StoreError::Corrupt { .. }
                        | StoreError::Foreign { .. }
                        | StoreError::NewerVersion { .. }
                ),
                "{:?}",
                err
            );
            prop_assert_eq!(
                std::fs::read(path).unwrap(),
                bytes,
                "a refused file was changed"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn flipped_bytes(flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..8)) {
        let mut bytes = valid_session().to_vec();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let dir = tempfile::tempdir().unwrap();
        open_damaged(&dir.path().join("d.session"), &bytes)?;
    }

    #[test]
    fn flipped_header_bytes(flips in proptest::collection::vec((0usize..100, 1u8..), 1..4)) {
        let mut bytes = valid_session().to_vec();
        for (i, x) in flips {
            bytes[i] ^= x;
        }
        let dir = tempfile::tempdir().unwrap();
        open_damaged(&dir.path().join("d.session"), &bytes)?;
    }

    #[test]
    fn truncated(at in any::<prop::sample::Index>()) {
        let bytes = valid_session();
        let cut = &bytes[..at.index(bytes.len())];
        let dir = tempfile::tempdir().unwrap();
        open_damaged(&dir.path().join("d.session"), cut)?;
    }

    #[test]
    fn garbage(bytes in proptest::collection::vec(any::<u8>(), 1..9000), magic in any::<bool>()) {
        let mut bytes = bytes;
        if magic {
            let n = bytes.len().min(16);
            bytes[..n].copy_from_slice(&b"SQLite format 3\0"[..n]);
        }
        let dir = tempfile::tempdir().unwrap();
        open_damaged(&dir.path().join("d.session"), &bytes)?;
    }
}
