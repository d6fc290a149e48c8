//! users.getUsers, users.getFullUser, access hashes per viewer.

use crate::common::*;
use tlgen_telegram::{enums, functions as f, types};

#[test]
fn access_hashes_are_per_viewer() {
    let (w, p) = world();
    let alice = login(&w, &p, 31, ALICE);
    let bob = login(&w, &p, 32, BOB);
    let for_alice = w.user_access_hash(ALICE, CAROL);
    let for_bob = w.user_access_hash(BOB, CAROL);
    assert_ne!(for_alice, for_bob);
    // What each receives is its own hash.
    let got = alice
        .call(&f::users::GetUsers {
            id: vec![input_user(&w, ALICE, CAROL)],
        })
        .unwrap();
    assert_eq!(user_of(&got[0]).access_hash, Some(for_alice));
    // Alice's hash does not work for Bob: the user is left out.
    let stolen = bob
        .call(&f::users::GetUsers {
            id: vec![types::InputUser {
                user_id: CAROL,
                access_hash: for_alice,
            }
            .into()],
        })
        .unwrap();
    assert!(stolen.is_empty());
    assert_eq!(
        bob.error(&f::users::GetFullUser {
            id: types::InputUser {
                user_id: CAROL,
                access_hash: for_alice,
            }
            .into()
        }),
        err(400, "USER_ID_INVALID")
    );
    // Another world secret gives other hashes.
    let other = tlgen_world::World::from_spec(tlgen_world::WorldSpec {
        secret: "another".into(),
        ..tlgen_world::World::builtin_spec()
    })
    .unwrap();
    assert_ne!(other.user_access_hash(ALICE, CAROL), for_alice);
}

#[test]
fn get_users_self_by_id_and_from_message() {
    let (w, p) = world();
    let alice = login(&w, &p, 33, ALICE);
    let users = alice
        .call(&f::users::GetUsers {
            id: vec![
                enums::InputUser::InputUserSelf,
                input_user(&w, ALICE, BOB),
                enums::InputUser::Empty,
                input_user(&w, ALICE, 999_999),
                types::InputUserFromMessage {
                    peer: types::InputPeerChat { chat_id: TEA_PARTY }.into(),
                    msg_id: 1,
                    user_id: CAROL,
                }
                .into(),
                // Dave is not in the Tea Party.
                types::InputUserFromMessage {
                    peer: types::InputPeerChat { chat_id: TEA_PARTY }.into(),
                    msg_id: 1,
                    user_id: DAVE,
                }
                .into(),
            ],
        })
        .unwrap();
    let ids: Vec<i64> = users.iter().map(|u| user_of(u).id).collect();
    assert_eq!(ids, vec![ALICE, BOB, CAROL]);
    let me = user_of(&users[0]);
    assert!(me.self_);
    assert_eq!(me.username.as_deref(), Some("alice"));
    let names: Vec<&str> = me
        .usernames
        .as_ref()
        .unwrap()
        .iter()
        .map(|enums::Username::Username(u)| u.username.as_str())
        .collect();
    assert_eq!(names, ["alice", "alice_l"]);
    let bob = user_of(&users[1]);
    assert!(bob.contact && bob.mutual_contact);
    assert_eq!(
        bob.phone.as_deref(),
        Some("15550001002"),
        "Bob lets contacts see his phone"
    );
    let carol = user_of(&users[2]);
    assert!(carol.contact && !carol.mutual_contact);
    assert_eq!(
        carol.phone, None,
        "Carol's phone is for her contacts, and Alice is not one"
    );
}

#[test]
fn full_user_has_the_bio() {
    let (w, p) = world();
    let bob = login(&w, &p, 34, BOB);
    let enums::users::UserFull::UserFull(full) = bob
        .call(&f::users::GetFullUser {
            id: input_user(&w, BOB, ALICE),
        })
        .unwrap();
    let enums::UserFull::UserFull(inner) = &full.full_user;
    assert_eq!(inner.id, ALICE);
    assert_eq!(inner.about.as_deref(), Some("Curiouser and curiouser."));
    assert_eq!(inner.common_chats_count, 2, "Tea Party and tlgen Chat");
    assert_eq!(user_of(&full.users[0]).id, ALICE);
    assert_eq!(
        bob.error(&f::users::GetFullUser {
            id: enums::InputUser::Empty
        }),
        err(400, "USER_ID_INVALID")
    );
}
