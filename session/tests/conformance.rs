//! One suite of behaviour that both stores must share, run on each.

use tlgen_session::{
    DcEntry, MarkedId, MemoryStore, PeerKind, PeerRecord, SessionStore, SqliteStore, UpdateState,
};

fn user(id: i64, hash: Option<i64>, min: bool) -> PeerRecord {
    PeerRecord {
        id,
        kind: PeerKind::User,
        access_hash: hash,
        min,
        usernames: Vec::new(),
        phone: None,
        seen_in: None,
    }
}

/// Runs `check` on a memory store and on a fresh SQLite store, and again on the SQLite store
/// after closing and reopening it (what was written must come back the same).
fn on_both(check: impl Fn(&dyn SessionStore), after_reopen: impl Fn(&dyn SessionStore)) {
    let memory = MemoryStore::new();
    check(&memory);
    after_reopen(&memory);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.session");
    let sqlite = SqliteStore::open(&path).unwrap();
    check(&sqlite);
    after_reopen(&sqlite);
    sqlite.close().unwrap();
    let sqlite = SqliteStore::open(&path).unwrap();
    after_reopen(&sqlite);
}

#[test]
fn empty_session() {
    on_both(
        |_| {},
        |s| {
            assert_eq!(s.home_dc().unwrap(), None);
            assert_eq!(s.self_user().unwrap(), None);
            assert_eq!(s.dcs().unwrap(), []);
            assert_eq!(s.dc(2).unwrap(), None);
            assert_eq!(s.peer(PeerKind::User, 1).unwrap(), None);
            assert_eq!(s.peer_by_username("x").unwrap(), None);
            assert_eq!(s.peer_by_phone("1").unwrap(), None);
            assert_eq!(s.peer_by_phone("").unwrap(), None);
            assert_eq!(s.update_state().unwrap(), UpdateState::default());
            assert_eq!(s.channel_pts(5).unwrap(), None);
        },
    );
}

#[test]
fn home_dc_self_user_and_dcs() {
    let key = |b: u8| {
        let mut k = [0u8; 256];
        for (i, x) in k.iter_mut().enumerate() {
            *x = b ^ i as u8;
        }
        k
    };
    on_both(
        |s| {
            s.set_home_dc(1).unwrap();
            s.set_home_dc(4).unwrap();
            s.set_self_user(Some(1)).unwrap();
            s.set_self_user(None).unwrap();
            s.set_self_user(Some(1_099_511_627_775)).unwrap();
            s.set_dc(&DcEntry {
                id: 5,
                addr: "91.108.56.130:443".into(),
                auth_key: None,
            })
            .unwrap();
            s.set_dc(&DcEntry {
                id: 2,
                addr: "149.154.167.51:443".into(),
                auth_key: Some(key(1)),
            })
            .unwrap();
            // Replaced whole: new address and a key.
            s.set_dc(&DcEntry {
                id: 5,
                addr: "[2001:b28:f23f:f005::a]:443".into(),
                auth_key: Some(key(9)),
            })
            .unwrap();
        },
        |s| {
            assert_eq!(s.home_dc().unwrap(), Some(4));
            assert_eq!(s.self_user().unwrap(), Some(1_099_511_627_775));
            let dcs = s.dcs().unwrap();
            assert_eq!(dcs.iter().map(|d| d.id).collect::<Vec<_>>(), [2, 5]);
            assert_eq!(dcs[0].auth_key, Some(key(1)));
            assert_eq!(
                s.dc(5).unwrap().unwrap().addr,
                "[2001:b28:f23f:f005::a]:443"
            );
            assert_eq!(s.dc(5).unwrap().unwrap().auth_key, Some(key(9)));
            assert_eq!(s.dc(3).unwrap(), None);
        },
    );
}

#[test]
fn peers_round_trip_and_are_normalized() {
    on_both(
        |s| {
            s.put_peers(&[
                PeerRecord {
                    usernames: vec!["@Durov".into(), "durov".into(), "".into(), "PAVEL".into()],
                    phone: Some("+1 (555) 010-99".into()),
                    ..user(1006, Some(-42), false)
                },
                PeerRecord {
                    id: 1234567890,
                    kind: PeerKind::Channel,
                    access_hash: Some(i64::MIN),
                    min: false,
                    usernames: vec!["TelegramTips".into()],
                    phone: None,
                    seen_in: None,
                },
                PeerRecord {
                    id: 999_999_999_999,
                    kind: PeerKind::Chat,
                    access_hash: None,
                    min: false,
                    usernames: vec![],
                    phone: None,
                    seen_in: None,
                },
            ])
            .unwrap();
        },
        |s| {
            let durov = s.peer(PeerKind::User, 1006).unwrap().unwrap();
            assert_eq!(durov.usernames, ["durov", "pavel"]);
            assert_eq!(durov.phone.as_deref(), Some("155501099"));
            assert_eq!(durov.access_hash, Some(-42));
            assert!(!durov.min);
            for query in ["durov", "DUROV", "@Durov", "pavel", "@PaVeL"] {
                assert_eq!(
                    s.peer_by_username(query).unwrap().as_ref(),
                    Some(&durov),
                    "{query}"
                );
            }
            assert_eq!(s.peer_by_username("pave").unwrap(), None);
            assert_eq!(s.peer_by_phone("155501099").unwrap(), Some(durov.clone()));
            assert_eq!(
                s.peer_by_phone("+1 555 010 99").unwrap(),
                Some(durov.clone())
            );
            let tips = s.peer_by_username("telegramtips").unwrap().unwrap();
            assert_eq!(
                (tips.kind, tips.id, tips.access_hash),
                (PeerKind::Channel, 1234567890, Some(i64::MIN))
            );
            // Same raw id, other kind: another peer.
            assert_eq!(s.peer(PeerKind::User, 1234567890).unwrap(), None);
            let chat = s.peer(PeerKind::Chat, 999_999_999_999).unwrap().unwrap();
            assert_eq!(chat.access_hash, None);
            // By marked id.
            let marked = MarkedId::from_marked(-1001234567890).unwrap();
            assert_eq!(s.peer_by_marked(marked).unwrap(), Some(tips.clone()));
            assert_eq!(tips.marked_id().unwrap(), marked);
            assert_eq!(
                s.peer_by_marked(MarkedId::from_marked(-999999999999).unwrap())
                    .unwrap(),
                Some(chat)
            );
            assert_eq!(
                s.peer_by_marked(MarkedId::secret_chat(5).unwrap()).unwrap(),
                None
            );
        },
    );
}

#[test]
fn min_never_overwrites_a_full_hash_but_updates_what_it_carries() {
    on_both(
        |s| {
            s.put_peers(&[PeerRecord {
                usernames: vec!["old_name".into()],
                phone: Some("111".into()),
                ..user(10, Some(1000), false)
            }])
            .unwrap();
            // A min object: other hash, seen somewhere, new username, no phone.
            s.put_peers(&[PeerRecord {
                usernames: vec!["new_name".into()],
                seen_in: Some((-1001234567890, 34)),
                ..user(10, Some(666), true)
            }])
            .unwrap();
            // A min object without usernames keeps them; with a phone updates it.
            s.put_peers(&[PeerRecord {
                phone: Some("222".into()),
                seen_in: Some((-1001234567890, 35)),
                ..user(10, None, true)
            }])
            .unwrap();
        },
        |s| {
            let p = s.peer(PeerKind::User, 10).unwrap().unwrap();
            assert_eq!(p.access_hash, Some(1000));
            assert!(!p.min);
            assert_eq!(p.seen_in, None);
            assert_eq!(p.usernames, ["new_name"]);
            assert_eq!(p.phone.as_deref(), Some("222"));
            assert_eq!(s.peer_by_username("old_name").unwrap(), None);
            assert_eq!(s.peer_by_username("new_name").unwrap(), Some(p.clone()));
            assert_eq!(s.peer_by_phone("111").unwrap(), None);
            assert_eq!(s.peer_by_phone("222").unwrap(), Some(p));
        },
    );
}

#[test]
fn min_peers_keep_where_they_were_seen_until_a_full_record_replaces_them() {
    on_both(
        |s| {
            s.put_peers(&[PeerRecord {
                seen_in: Some((-1001234567890, 34)),
                ..user(20, Some(5), true)
            }])
            .unwrap();
            // A later min object without a reference keeps the first one; one with a
            // reference replaces it.
            s.put_peers(&[
                user(21, None, true),
                PeerRecord {
                    seen_in: Some((-1001234567890, 40)),
                    ..user(21, Some(7), true)
                },
            ])
            .unwrap();
            s.put_peers(&[user(20, Some(6), true)]).unwrap();
            // A channel seen only as min, then fully.
            s.put_peers(&[PeerRecord {
                id: 77,
                kind: PeerKind::Channel,
                access_hash: Some(1),
                min: true,
                usernames: vec![],
                phone: None,
                seen_in: Some((-100, 2)),
            }])
            .unwrap();
            s.put_peers(&[PeerRecord {
                id: 77,
                kind: PeerKind::Channel,
                access_hash: Some(2),
                min: false,
                usernames: vec![],
                phone: None,
                seen_in: Some((-100, 3)),
            }])
            .unwrap();
        },
        |s| {
            let p = s.peer(PeerKind::User, 20).unwrap().unwrap();
            assert!(p.min);
            assert_eq!(p.access_hash, Some(6));
            assert_eq!(p.seen_in, Some((-1001234567890, 34)));
            let p = s.peer(PeerKind::User, 21).unwrap().unwrap();
            assert!(p.min);
            assert_eq!(
                (p.access_hash, p.seen_in),
                (Some(7), Some((-1001234567890, 40)))
            );
            let c = s.peer(PeerKind::Channel, 77).unwrap().unwrap();
            assert!(!c.min);
            assert_eq!((c.access_hash, c.seen_in), (Some(2), None));
        },
    );
}

#[test]
fn a_full_record_without_a_hash_keeps_the_known_hash() {
    on_both(
        |s| {
            s.put_peers(&[user(30, Some(300), false)]).unwrap();
            s.put_peers(&[PeerRecord {
                usernames: vec!["later".into()],
                ..user(30, None, false)
            }])
            .unwrap();
            s.put_peers(&[PeerRecord {
                seen_in: Some((-5, 6)),
                ..user(31, Some(310), true)
            }])
            .unwrap();
            s.put_peers(&[user(31, None, false)]).unwrap();
        },
        |s| {
            let p = s.peer(PeerKind::User, 30).unwrap().unwrap();
            assert_eq!((p.access_hash, p.min), (Some(300), false));
            assert_eq!(p.usernames, ["later"]);
            // Only a min hash was known: it stays, still min, with its reference.
            let p = s.peer(PeerKind::User, 31).unwrap().unwrap();
            assert_eq!(
                (p.access_hash, p.min, p.seen_in),
                (Some(310), true, Some((-5, 6)))
            );
        },
    );
}

#[test]
fn a_username_or_phone_belongs_to_one_peer() {
    on_both(
        |s| {
            s.put_peers(&[PeerRecord {
                usernames: vec!["shared".into(), "keep".into()],
                phone: Some("5550".into()),
                ..user(40, Some(1), false)
            }])
            .unwrap();
            // Another peer now has the username (and, in the same batch, the phone).
            s.put_peers(&[
                PeerRecord {
                    id: 41,
                    kind: PeerKind::Channel,
                    access_hash: Some(2),
                    min: false,
                    usernames: vec!["Shared".into()],
                    phone: None,
                    seen_in: None,
                },
                PeerRecord {
                    phone: Some("5550".into()),
                    ..user(42, Some(3), false)
                },
            ])
            .unwrap();
        },
        |s| {
            let old = s.peer(PeerKind::User, 40).unwrap().unwrap();
            assert_eq!(old.usernames, ["keep"]);
            assert_eq!(old.phone, None);
            assert_eq!(s.peer_by_username("SHARED").unwrap().unwrap().id, 41);
            assert_eq!(s.peer_by_username("keep").unwrap().unwrap().id, 40);
            assert_eq!(s.peer_by_phone("5550").unwrap().unwrap().id, 42);
        },
    );
}

#[test]
fn a_full_record_replaces_usernames_and_phone() {
    on_both(
        |s| {
            s.put_peers(&[PeerRecord {
                usernames: vec!["a".into(), "b".into()],
                phone: Some("1".into()),
                ..user(50, Some(1), false)
            }])
            .unwrap();
            s.put_peers(&[user(50, Some(1), false)]).unwrap();
        },
        |s| {
            let p = s.peer(PeerKind::User, 50).unwrap().unwrap();
            assert!(p.usernames.is_empty());
            assert_eq!(p.phone, None);
            assert_eq!(s.peer_by_username("a").unwrap(), None);
            assert_eq!(s.peer_by_phone("1").unwrap(), None);
        },
    );
}

#[test]
fn update_state_and_channel_pts() {
    on_both(
        |s| {
            s.set_update_state(&UpdateState {
                pts: 100,
                qts: -1,
                date: 1_700_000_000,
                seq: 7,
                channels: vec![(9, 1), (3, 30), (9, 90)],
            })
            .unwrap();
            s.set_channel_pts(5, 50).unwrap();
            s.set_channel_pts(3, 31).unwrap();
        },
        |s| {
            assert_eq!(
                s.update_state().unwrap(),
                UpdateState {
                    pts: 100,
                    qts: -1,
                    date: 1_700_000_000,
                    seq: 7,
                    channels: vec![(3, 31), (5, 50), (9, 90)],
                }
            );
            assert_eq!(s.channel_pts(5).unwrap(), Some(50));
            assert_eq!(s.channel_pts(6).unwrap(), None);
        },
    );
    // Replacing the state drops channels that are no longer in it.
    let check = |s: &dyn SessionStore| {
        s.set_channel_pts(1, 1).unwrap();
        s.set_update_state(&UpdateState::default()).unwrap();
        assert_eq!(s.update_state().unwrap(), UpdateState::default());
    };
    check(&MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    check(&SqliteStore::open(dir.path().join("s")).unwrap());
}

#[test]
fn stores_are_shared_between_threads() {
    fn shared<T: SessionStore + 'static>(store: T) {
        let store = std::sync::Arc::new(store);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        store
                            .put_peers(&[user(t * 100 + i, Some(i), false)])
                            .unwrap();
                        store.set_channel_pts(t, i as i32).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        for t in 0..4 {
            assert_eq!(store.channel_pts(t).unwrap(), Some(24));
            assert_eq!(
                store
                    .peer(PeerKind::User, t * 100 + 24)
                    .unwrap()
                    .unwrap()
                    .access_hash,
                Some(24)
            );
        }
    }
    shared(MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    shared(SqliteStore::open(dir.path().join("s")).unwrap());
}
