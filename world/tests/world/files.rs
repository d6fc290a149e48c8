//! World files: a good one, bad ones, and the built-in world written out and read back.

use crate::common::*;
use std::io::Write;
use tlgen_telegram::{enums, functions as f, types};
use tlgen_world::{World, WorldErrorKind, WorldSpec};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

const GOOD: &str = r#"{
  "secret": "file world",
  "login_code": "22222",
  "default_dc": 1,
  "users": [
    {"id": 1, "first_name": "Ann", "usernames": ["ann_example"], "phone": "+44 7700 900001",
     "dc": 1, "contacts": [2],
     "privacy": [{"key": "phone_number", "rules": ["allow_users:2", "disallow_all"]}]},
    {"id": 2, "first_name": "Ben", "last_name": "Bot", "bot": true, "bot_token": "secret-token", "dc": 1}
  ],
  "chats": [{"id": 5, "title": "Pair", "creator": 1, "members": [2]}],
  "channels": [{"id": 77, "title": "News", "username": "news_example", "creator": 1, "members": [2]}]
}"#;

#[test]
fn a_good_file_loads() {
    let f = file(GOOD);
    let w = std::sync::Arc::new(World::from_file(f.path()).unwrap());
    assert_eq!(w.login_code(), "22222");
    let ann = w.user(1).unwrap();
    assert_eq!(ann.phone.as_deref(), Some("447700900001"));
    assert_eq!(ann.usernames, vec!["ann_example".to_string()]);
    assert_eq!(ann.contacts, vec![2]);
    assert!(w.user(2).unwrap().bot);
    assert_eq!(
        w.privacy(1, "phone_number").unwrap(),
        vec!["allow_users:2", "disallow_all"]
    );
    assert_eq!(w.channel_members(77).unwrap(), vec![1, 2]);
    assert_eq!(w.chat(5).unwrap().members, vec![1, 2]);
    // It serves: the bot signs in on DC 1 and resolves the channel.
    let p = std::sync::Arc::new(Pushes::default());
    let c = Client::new(&w, &p, 1, 1);
    c.call(&f::auth::ImportBotAuthorization {
        flags: 0,
        api_id: 1,
        api_hash: "x".into(),
        bot_auth_token: "2:secret-token".into(),
    })
    .unwrap();
    let enums::contacts::ResolvedPeer::ResolvedPeer(r) = c
        .call(&f::contacts::ResolveUsername {
            username: "news_example".into(),
            referer: None,
        })
        .unwrap();
    assert_eq!(
        r.peer,
        enums::Peer::from(types::PeerChannel { channel_id: 77 })
    );
    // The login code of the file.
    let c = Client::new(&w, &p, 2, 1);
    assert_eq!(
        sign_in(&c, "+447700900001", "12345").unwrap_err(),
        err(400, "PHONE_CODE_INVALID")
    );
    sign_in(&c, "+447700900001", "22222").unwrap();
}

#[test]
fn bad_files_say_where_and_what() {
    // Syntax: the path, line and column.
    let f = file("{\n  \"users\": [\n    {\"id\": 1,, }\n  ]\n}");
    let e = World::from_file(f.path()).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(f.path()));
    match &e.kind {
        WorldErrorKind::Syntax { line, .. } => assert_eq!(*line, 3),
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains(&f.path().display().to_string()), "{text}");
    assert!(text.contains(":3:"), "{text}");
    // Unknown fields are typos, not ignored.
    let f = file(r#"{"users": [{"id": 1, "first_name": "A", "usrnames": ["x"]}]}"#);
    let e = World::from_file(f.path()).unwrap_err();
    assert!(e.to_string().contains("usrnames"), "{e}");
    // Consistency: a member who is not a user.
    let f = file(
        r#"{"users": [{"id": 1, "first_name": "A"}], "channels": [{"id": 9, "title": "T", "creator": 1, "members": [2]}]}"#,
    );
    let e = World::from_file(f.path()).unwrap_err();
    assert!(matches!(e.kind, WorldErrorKind::Invalid(_)));
    assert!(
        e.to_string().contains("channel 9: member 2 is not a user"),
        "{e}"
    );
    assert!(
        e.to_string().contains(&f.path().display().to_string()),
        "{e}"
    );
    for (text, wanted) in [
        (
            r#"{"users": [{"id": 1, "first_name": "A"}, {"id": 1, "first_name": "B"}]}"#,
            "user 1: duplicate id",
        ),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "usernames": ["x"]}]}"#,
            "username \"x\" is not valid",
        ),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "phone": "12ab"}]}"#,
            "phone \"12ab\"",
        ),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "privacy": [{"key": "shoe_size", "rules": []}]}]}"#,
            "unknown privacy key",
        ),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "privacy": [{"key": "about", "rules": ["allow_some"]}]}]}"#,
            "privacy rule \"allow_some\"",
        ),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "bot": true}]}"#,
            "bot_token",
        ),
        (r#"{"login_code": "12"}"#, "login_code"),
        (r#"{"users": [{"id": -5, "first_name": "A"}]}"#, "user -5"),
        (
            r#"{"users": [{"id": 1, "first_name": "A", "usernames": ["same_name"]}], "channels": [{"id": 2, "title": "T", "creator": 1, "username": "Same_Name"}]}"#,
            "is also user 1's",
        ),
    ] {
        let e = World::from_spec(WorldSpec::from_json(text).unwrap()).unwrap_err();
        assert!(e.to_string().contains(wanted), "{text}: {e}");
    }
    // Missing file.
    let e = World::from_file(std::path::Path::new("/nonexistent/world.json")).unwrap_err();
    assert!(matches!(e.kind, WorldErrorKind::Io(_)));
    assert!(e.to_string().contains("/nonexistent/world.json"));
    // Not JSON at all, and not UTF-8.
    let f = file("\u{0}\u{1}garbage");
    assert!(World::from_file(f.path()).is_err());
    let mut f2 = tempfile::NamedTempFile::new().unwrap();
    f2.write_all(&[0xff, 0xfe, 0x00, 0x7b]).unwrap();
    assert!(World::from_file(f2.path()).is_err());
}

#[test]
fn the_builtin_world_round_trips_through_a_file() {
    let spec = World::builtin_spec();
    let text = serde_json::to_string_pretty(&spec).unwrap();
    let f = file(&text);
    let w = World::from_file(f.path()).unwrap();
    assert_eq!(w.user(ALICE), World::builtin().user(ALICE));
    assert_eq!(WorldSpec::from_json(&text).unwrap(), spec);
}

#[test]
fn the_builtin_world_is_as_documented() {
    let w = World::builtin();
    assert_eq!(w.login_code(), "12345");
    let users = [
        (
            ALICE,
            "Alice",
            "Liddell",
            vec!["alice", "alice_l"],
            Some("15550001001"),
            2,
        ),
        (
            BOB,
            "Bob",
            "Builder",
            vec!["bobbuilder"],
            Some("15550001002"),
            2,
        ),
        (
            CAROL,
            "Carol",
            "Danvers",
            vec!["carol"],
            Some("15550001003"),
            2,
        ),
        (
            DAVE,
            "Dave",
            "Jones",
            vec!["dave_jones"],
            Some("15550001004"),
            1,
        ),
        (ERIN, "Erin", "", vec![], Some("15550001005"), 2),
        (BOT, "Echo", "Bot", vec!["echo_bot"], None, 2),
    ];
    for (id, first, last, names, phone, dc) in users {
        let u = w.user(id).unwrap();
        assert_eq!(
            (
                u.first_name.as_str(),
                u.last_name.as_str(),
                u.phone.as_deref(),
                u.dc
            ),
            (first, last, phone, dc),
            "{id}"
        );
        assert_eq!(u.usernames, names, "{id}");
        assert_eq!(u.bot, id == BOT);
    }
    assert_eq!(w.user(ALICE).unwrap().about, "Curiouser and curiouser.");
    assert_eq!(w.user(ALICE).unwrap().contacts, vec![BOB, CAROL]);
    let news = w.channel(NEWS).unwrap();
    assert_eq!(
        (
            news.title.as_str(),
            news.username.as_deref(),
            news.megagroup
        ),
        ("tlgen News", Some("tlgen_news"), false)
    );
    assert_eq!(
        (news.creator, news.members.clone()),
        (ALICE, vec![ALICE, BOB])
    );
    // Its Bot-API marked id is in today's range.
    assert_eq!(-1_000_000_000_000 - NEWS, -1001234567890);
    let group = w.channel(CHAT_GROUP).unwrap();
    assert!(group.megagroup);
    assert_eq!((group.creator, group.admins.clone()), (BOB, vec![ALICE]));
    assert_eq!(group.members, vec![ALICE, BOB, CAROL]);
    let tea = w.chat(TEA_PARTY).unwrap();
    assert_eq!((tea.title.as_str(), tea.creator), ("Tea Party", ALICE));
    assert_eq!(tea.members, vec![ALICE, BOB, CAROL]);
    assert_eq!(
        w.privacy(ERIN, "phone_number").unwrap(),
        vec!["allow_contacts"]
    );
}

/// `world/worlds/default.json` is the built-in world, for `tlgen-loopback --world` to start
/// from. Regenerate it with `TLGEN_WRITE_WORLD=1 cargo test -p tlgen-world default_json`.
#[test]
fn default_json_is_the_builtin_world() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("worlds/default.json");
    let text = serde_json::to_string_pretty(&World::builtin_spec()).unwrap() + "\n";
    if std::env::var_os("TLGEN_WRITE_WORLD").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        WorldSpec::from_json(&on_disk).unwrap(),
        World::builtin_spec()
    );
    assert!(World::from_file(&path).is_ok());
}

/// Corrupted world files give an error or a world, never a panic.
#[test]
fn corrupted_files_never_panic() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let base = GOOD.as_bytes();
    let mut loaded = 0;
    for round in 0..2000 {
        let mut bytes = base.to_vec();
        if round % 2 == 0 {
            bytes.truncate((next() as usize) % base.len());
        }
        for _ in 0..1 + next() % 3 {
            let i = (next() as usize) % bytes.len().max(1);
            if let Some(b) = bytes.get_mut(i) {
                let alphabet = b" {}[]\":,0123456789-abcxyz_";
                *b = alphabet[(next() as usize) % alphabet.len()];
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(spec) = WorldSpec::from_json(&text) {
            if World::from_spec(spec).is_ok() {
                loaded += 1;
            }
        }
    }
    // Some corruptions (inside names) still make a valid world.
    assert!(loaded > 0);
}
