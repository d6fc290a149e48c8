//! contacts.resolveUsername, resolvePhone, getContacts, importContacts.

use crate::common::*;
use tlgen_telegram::{enums, functions as f, types};

fn resolve(c: &Client, name: &str) -> Answer<types::contacts::ResolvedPeer> {
    c.call(&f::contacts::ResolveUsername {
        username: name.into(),
        referer: None,
    })
    .map(|enums::contacts::ResolvedPeer::ResolvedPeer(r)| *r)
}

#[test]
fn usernames_resolve_to_users_and_channels() {
    let (w, p) = world();
    let alice = login(&w, &p, 41, ALICE);
    for name in ["bobbuilder", "@bobbuilder", "BobBuilder"] {
        let r = resolve(&alice, name).unwrap();
        assert_eq!(
            r.peer,
            enums::Peer::from(types::PeerUser { user_id: BOB }),
            "{name}"
        );
        let bob = user_of(&r.users[0]);
        assert_eq!(bob.access_hash, Some(w.user_access_hash(ALICE, BOB)));
    }
    // A secondary username.
    let bob = login(&w, &p, 42, BOB);
    let r = resolve(&bob, "alice_l").unwrap();
    assert_eq!(
        r.peer,
        enums::Peer::from(types::PeerUser { user_id: ALICE })
    );
    let r = resolve(&alice, "tlgen_news").unwrap();
    assert_eq!(
        r.peer,
        enums::Peer::from(types::PeerChannel { channel_id: NEWS })
    );
    let news = channel_of(&r.chats[0]);
    assert!(news.broadcast && news.creator && !news.left);
    assert_eq!(news.access_hash, Some(w.channel_access_hash(ALICE, NEWS)));
    assert_eq!(
        resolve(&alice, "nobody_here").unwrap_err(),
        err(400, "USERNAME_NOT_OCCUPIED")
    );
    for bad in [
        "",
        "ab",
        "1alice",
        "white space",
        "toolong_toolong_toolong_toolong_x",
    ] {
        assert_eq!(
            resolve(&alice, bad).unwrap_err(),
            err(400, "USERNAME_INVALID"),
            "{bad:?}"
        );
    }
}

#[test]
fn phones_resolve_unless_privacy_forbids() {
    let (w, p) = world();
    let bob = login(&w, &p, 43, BOB);
    let enums::contacts::ResolvedPeer::ResolvedPeer(r) = bob
        .call(&f::contacts::ResolvePhone {
            phone: "+15550001005".into(),
        })
        .unwrap();
    assert_eq!(r.peer, enums::Peer::from(types::PeerUser { user_id: ERIN }));
    assert_eq!(
        bob.error(&f::contacts::ResolvePhone {
            phone: "+19999999999".into()
        }),
        err(400, "PHONE_NOT_OCCUPIED")
    );
    assert_eq!(
        bob.error(&f::contacts::ResolvePhone {
            phone: "nope".into()
        }),
        err(400, "PHONE_NUMBER_INVALID")
    );
    // Erin lets only contacts find her by phone.
    let erin = login(&w, &p, 44, ERIN);
    erin.call(&f::account::SetPrivacy {
        key: enums::InputPrivacyKey::AddedByPhone,
        rules: vec![enums::InputPrivacyRule::ValueAllowContacts],
    })
    .unwrap();
    assert_eq!(
        bob.error(&f::contacts::ResolvePhone {
            phone: "+15550001005".into()
        }),
        err(400, "PHONE_NOT_OCCUPIED")
    );
}

#[test]
fn contacts_list_and_import() {
    let (w, p) = world();
    let alice = login(&w, &p, 45, ALICE);
    let enums::contacts::Contacts::Contacts(list) =
        alice.call(&f::contacts::GetContacts { hash: 0 }).unwrap()
    else {
        panic!("contacts")
    };
    let ids: Vec<(i64, bool)> = list
        .contacts
        .iter()
        .map(|enums::Contact::Contact(c)| (c.user_id, c.mutual))
        .collect();
    assert_eq!(ids, vec![(BOB, true), (CAROL, false)]);
    assert_eq!(list.users.len(), 2);
    // The hash of an unchanged list gives contactsNotModified.
    let hash = {
        let mut h: u64 = 0;
        for id in [BOB, CAROL] {
            h ^= h >> 21;
            h ^= h << 35;
            h ^= h >> 4;
            h = h.wrapping_add(id as u64);
        }
        h as i64
    };
    assert_eq!(
        alice.call(&f::contacts::GetContacts { hash }).unwrap(),
        enums::contacts::Contacts::NotModified
    );
    let enums::contacts::ImportedContacts::ImportedContacts(imported) = alice
        .call(&f::contacts::ImportContacts {
            contacts: vec![
                types::InputPhoneContact {
                    client_id: 1,
                    phone: "+1 555 000 1004".into(),
                    first_name: "Dave".into(),
                    last_name: String::new(),
                    note: None,
                }
                .into(),
                types::InputPhoneContact {
                    client_id: 2,
                    phone: "+1 999 999 9999".into(),
                    first_name: "Nobody".into(),
                    last_name: String::new(),
                    note: None,
                }
                .into(),
            ],
        })
        .unwrap();
    let got: Vec<(i64, i64)> = imported
        .imported
        .iter()
        .map(|enums::ImportedContact::ImportedContact(c)| (c.user_id, c.client_id))
        .collect();
    assert_eq!(got, vec![(DAVE, 1)]);
    assert_eq!(user_of(&imported.users[0]).id, DAVE);
    assert_eq!(w.user(ALICE).unwrap().contacts, vec![BOB, CAROL, DAVE]);
}
