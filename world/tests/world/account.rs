//! account.updateProfile, updateUsername, setPrivacy, getPrivacy.

use crate::common::*;
use tlgen_telegram::{enums, functions as f, types};

#[test]
fn profile_updates_show_in_the_admin_view() {
    let (w, p) = world();
    let bob = login(&w, &p, 51, BOB);
    let user = bob
        .call(&f::account::UpdateProfile {
            first_name: Some("Robert".into()),
            last_name: None,
            about: Some("Can we fix it?".into()),
        })
        .unwrap();
    assert_eq!(user_of(&user).first_name.as_deref(), Some("Robert"));
    let view = w.user(BOB).unwrap();
    assert_eq!(view.first_name, "Robert");
    assert_eq!(view.last_name, "Builder");
    assert_eq!(view.about, "Can we fix it?");
    assert_eq!(
        bob.error(&f::account::UpdateProfile {
            first_name: None,
            last_name: None,
            about: Some("x".repeat(71)),
        }),
        err(400, "ABOUT_TOO_LONG")
    );
    assert_eq!(
        bob.error(&f::account::UpdateProfile {
            first_name: Some(String::new()),
            last_name: None,
            about: None,
        }),
        err(400, "FIRSTNAME_INVALID")
    );
    assert_eq!(
        w.user(BOB).unwrap().about,
        "Can we fix it?",
        "a refused update changes nothing"
    );
    assert_eq!(w.method_count("account.updateProfile"), 3);
}

#[test]
fn usernames_change_and_resolve() {
    let (w, p) = world();
    let carol = login(&w, &p, 52, CAROL);
    let user = carol
        .call(&f::account::UpdateUsername {
            username: "captain_marvel".into(),
        })
        .unwrap();
    assert_eq!(user_of(&user).username.as_deref(), Some("captain_marvel"));
    assert_eq!(
        w.user(CAROL).unwrap().usernames,
        vec!["captain_marvel".to_string()]
    );
    assert_eq!(
        carol.error(&f::account::UpdateUsername {
            username: "captain_marvel".into()
        }),
        err(400, "USERNAME_NOT_MODIFIED")
    );
    assert_eq!(
        carol.error(&f::account::UpdateUsername {
            username: "alice".into()
        }),
        err(400, "USERNAME_OCCUPIED")
    );
    assert_eq!(
        carol.error(&f::account::UpdateUsername {
            username: "tlgen_news".into()
        }),
        err(400, "USERNAME_OCCUPIED")
    );
    assert_eq!(
        carol.error(&f::account::UpdateUsername {
            username: "no way".into()
        }),
        err(400, "USERNAME_INVALID")
    );
    let alice = login(&w, &p, 53, ALICE);
    let enums::contacts::ResolvedPeer::ResolvedPeer(r) = alice
        .call(&f::contacts::ResolveUsername {
            username: "captain_marvel".into(),
            referer: None,
        })
        .unwrap();
    assert_eq!(
        r.peer,
        enums::Peer::from(types::PeerUser { user_id: CAROL })
    );
    assert_eq!(
        alice.error(&f::contacts::ResolveUsername {
            username: "carol".into(),
            referer: None
        }),
        err(400, "USERNAME_NOT_OCCUPIED")
    );
    // An empty username removes it.
    carol
        .call(&f::account::UpdateUsername {
            username: String::new(),
        })
        .unwrap();
    assert!(w.user(CAROL).unwrap().usernames.is_empty());
}

#[test]
fn privacy_rules_are_stored_and_applied() {
    let (w, p) = world();
    let bob = login(&w, &p, 54, BOB);
    let alice = login(&w, &p, 55, ALICE);
    assert_eq!(
        w.privacy(BOB, "phone_number").unwrap(),
        vec!["allow_contacts"]
    );
    // Alice, a contact of Bob's, sees his phone.
    let seen = |c: &Client| {
        let users = c
            .call(&f::users::GetUsers {
                id: vec![input_user(&w, ALICE, BOB)],
            })
            .unwrap();
        user_of(&users[0]).phone.clone()
    };
    assert!(seen(&alice).is_some());
    let enums::account::PrivacyRules::PrivacyRules(rules) = bob
        .call(&f::account::SetPrivacy {
            key: enums::InputPrivacyKey::PhoneNumber,
            rules: vec![
                types::InputPrivacyValueAllowUsers {
                    users: vec![input_user(&w, BOB, CAROL)],
                }
                .into(),
                enums::InputPrivacyRule::ValueDisallowAll,
            ],
        })
        .unwrap();
    assert_eq!(
        rules.rules,
        vec![
            types::PrivacyValueAllowUsers { users: vec![CAROL] }.into(),
            enums::PrivacyRule::ValueDisallowAll
        ]
    );
    assert_eq!(user_of(&rules.users[0]).id, CAROL);
    assert_eq!(
        w.privacy(BOB, "phone_number").unwrap(),
        vec!["allow_users:1003", "disallow_all"]
    );
    assert_eq!(seen(&alice), None);
    let enums::account::PrivacyRules::PrivacyRules(back) = bob
        .call(&f::account::GetPrivacy {
            key: enums::InputPrivacyKey::PhoneNumber,
        })
        .unwrap();
    assert_eq!(back.rules, rules.rules);
    // Unset keys answer the default.
    let enums::account::PrivacyRules::PrivacyRules(status) = bob
        .call(&f::account::GetPrivacy {
            key: enums::InputPrivacyKey::StatusTimestamp,
        })
        .unwrap();
    assert_eq!(status.rules, vec![enums::PrivacyRule::ValueAllowAll]);
    // A user given with somebody else's hash is refused.
    assert_eq!(
        bob.error(&f::account::SetPrivacy {
            key: enums::InputPrivacyKey::About,
            rules: vec![types::InputPrivacyValueDisallowUsers {
                users: vec![input_user(&w, ALICE, CAROL)],
            }
            .into()],
        }),
        err(400, "USER_ID_INVALID")
    );
    // `about` hides the bio.
    bob.call(&f::account::UpdateProfile {
        first_name: None,
        last_name: None,
        about: Some("secret bio".into()),
    })
    .unwrap();
    bob.call(&f::account::SetPrivacy {
        key: enums::InputPrivacyKey::About,
        rules: vec![enums::InputPrivacyRule::ValueDisallowAll],
    })
    .unwrap();
    let enums::users::UserFull::UserFull(full) = alice
        .call(&f::users::GetFullUser {
            id: input_user(&w, ALICE, BOB),
        })
        .unwrap();
    let enums::UserFull::UserFull(inner) = &full.full_user;
    assert_eq!(inner.about, None);
    assert_eq!(w.privacy(BOB, "about").unwrap(), vec!["disallow_all"]);
    assert_eq!(w.privacy(BOB, "no_such_key"), None);
}
