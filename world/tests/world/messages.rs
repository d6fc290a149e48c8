//! messages.sendMessage, updates.getState, updates.getDifference, flood waits, counts.

use crate::common::*;
use tlgen_telegram::{enums, functions as f, types};
use tlgen_world::PeerRef;

fn send(c: &Client, peer: enums::InputPeer, text: &str, random_id: i64) -> Answer<enums::Updates> {
    c.call(&f::messages::SendMessage {
        no_webpage: false,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer,
        reply_to: None,
        message: text.into(),
        random_id,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
        rich_message: None,
    })
}

fn state(c: &Client) -> types::updates::State {
    let enums::updates::State::State(s) = c.call(&f::updates::GetState).unwrap();
    *s
}

fn new_message(u: &enums::Updates) -> (&types::Message, i32) {
    let enums::Updates::Updates(u) = u else {
        panic!("updates: {u:?}")
    };
    for x in &u.updates {
        let (message, pts) = match x {
            enums::Update::NewMessage(m) => (&m.message, m.pts),
            enums::Update::NewChannelMessage(m) => (&m.message, m.pts),
            _ => continue,
        };
        let enums::Message::Message(msg) = message else {
            panic!("a message")
        };
        return (msg, pts);
    }
    panic!("no new message in {u:?}")
}

#[test]
fn private_messages_are_stored_answered_and_pushed() {
    let (w, p) = world();
    let alice = login(&w, &p, 81, ALICE);
    let alice_phone = login(&w, &p, 82, ALICE);
    let bob = login(&w, &p, 83, BOB);
    let before = state(&alice);
    let answer = send(&alice, input_peer_user(&w, ALICE, BOB), "hello Bob", 555).unwrap();
    let enums::Updates::UpdateShortSentMessage(sent) = answer else {
        panic!("updateShortSentMessage: {answer:?}")
    };
    assert!(sent.out);
    assert_eq!((sent.pts, sent.pts_count), (before.pts + 1, 1));
    assert_eq!(sent.date, 1_800_000_000);
    assert_eq!(state(&alice).pts, sent.pts);
    // Stored once.
    let stored = w.messages_to(PeerRef::User(BOB));
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].from, stored[0].text.as_str(), stored[0].id),
        (ALICE, "hello Bob", sent.id)
    );
    assert_eq!(w.method_count("messages.sendMessage"), 1);
    // Bob's key got it, with his own pts and message id.
    let pushed = p.take(bob.key);
    assert_eq!(pushed.len(), 1);
    let (msg, pts) = new_message(&pushed[0]);
    assert_eq!(msg.message, "hello Bob");
    assert!(!msg.out);
    assert_eq!(msg.peer_id, types::PeerUser { user_id: ALICE }.into());
    assert_eq!(pts, state(&bob).pts);
    // Alice's other key got the outgoing copy; the sending key got nothing pushed.
    let mine = p.take(alice_phone.key);
    assert_eq!(mine.len(), 1);
    assert!(new_message(&mine[0]).0.out);
    assert!(p.take(alice.key).is_empty());
    // The same random_id again is a duplicate, not a second message.
    assert_eq!(
        send(&alice, input_peer_user(&w, ALICE, BOB), "hello Bob", 555).unwrap_err(),
        err(400, "RANDOM_ID_DUPLICATE")
    );
    assert_eq!(w.messages().len(), 1);
}

#[test]
fn difference_returns_what_a_key_missed() {
    let (w, p) = world();
    let alice = login(&w, &p, 84, ALICE);
    let bob = login(&w, &p, 85, BOB);
    let start = state(&bob);
    let empty = bob
        .call(&f::updates::GetDifference {
            pts: start.pts,
            pts_limit: None,
            pts_total_limit: None,
            date: start.date,
            qts: 0,
            qts_limit: None,
        })
        .unwrap();
    assert!(matches!(empty, enums::updates::Difference::Empty(_)));
    for i in 0..3 {
        send(
            &alice,
            input_peer_user(&w, ALICE, BOB),
            &format!("m{i}"),
            100 + i,
        )
        .unwrap();
    }
    let enums::updates::Difference::Difference(d) = bob
        .call(&f::updates::GetDifference {
            pts: start.pts,
            pts_limit: None,
            pts_total_limit: None,
            date: start.date,
            qts: 0,
            qts_limit: None,
        })
        .unwrap()
    else {
        panic!("a difference")
    };
    let texts: Vec<&str> = d
        .new_messages
        .iter()
        .map(|m| match m {
            enums::Message::Message(m) => m.message.as_str(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    assert_eq!(user_of(&d.users[0]).id, ALICE);
    let enums::updates::State::State(s) = &d.state;
    assert_eq!(s.pts, start.pts + 3);
    // A limit makes a slice.
    let slice = bob
        .call(&f::updates::GetDifference {
            pts: start.pts,
            pts_limit: None,
            pts_total_limit: Some(2),
            date: start.date,
            qts: 0,
            qts_limit: None,
        })
        .unwrap();
    let enums::updates::Difference::Slice(slice) = slice else {
        panic!("a slice")
    };
    assert_eq!(slice.new_messages.len(), 2);
    let enums::updates::State::State(mid) = &slice.intermediate_state;
    assert_eq!(mid.pts, start.pts + 2);
}

#[test]
fn group_and_channel_messages() {
    let (w, p) = world();
    let alice = login(&w, &p, 86, ALICE);
    let bob = login(&w, &p, 87, BOB);
    let carol = login(&w, &p, 88, CAROL);
    // Basic group: updates with updateMessageID and updateNewMessage.
    let answer = send(
        &alice,
        types::InputPeerChat { chat_id: TEA_PARTY }.into(),
        "tea?",
        1,
    )
    .unwrap();
    let enums::Updates::Updates(u) = &answer else {
        panic!("updates")
    };
    assert!(matches!(&u.updates[0], enums::Update::MessageId(m) if m.random_id == 1));
    let (msg, _) = new_message(&answer);
    assert!(msg.out);
    assert_eq!(msg.peer_id, types::PeerChat { chat_id: TEA_PARTY }.into());
    assert_eq!(p.take(bob.key).len(), 1);
    assert_eq!(p.take(carol.key).len(), 1);
    // Dave is not in it.
    let dave = login(&w, &p, 89, DAVE);
    assert_eq!(
        send(
            &dave,
            types::InputPeerChat { chat_id: TEA_PARTY }.into(),
            "hi",
            2
        )
        .unwrap_err(),
        err(400, "PEER_ID_INVALID")
    );
    // Broadcast channel: Alice (creator) posts, Bob (member) receives, Bob may not post.
    let news = types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: w.channel_access_hash(ALICE, NEWS),
    };
    let answer = send(&alice, news.into(), "release!", 3).unwrap();
    let (msg, pts) = new_message(&answer);
    assert!(msg.post && msg.from_id.is_none());
    assert_eq!(pts, 2);
    let pushed = p.take(bob.key);
    assert_eq!(pushed.len(), 1);
    assert_eq!(new_message(&pushed[0]).0.message, "release!");
    let enums::Updates::Updates(post) = &pushed[0] else {
        panic!("updates")
    };
    assert!(
        post.users.is_empty(),
        "a broadcast post does not name its author"
    );
    assert_eq!(
        channel_of(&post.chats[0]).access_hash,
        Some(w.channel_access_hash(BOB, NEWS))
    );
    let bob_news = types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: w.channel_access_hash(BOB, NEWS),
    };
    assert_eq!(
        send(&bob, bob_news.into(), "me too", 4).unwrap_err(),
        err(400, "CHAT_ADMIN_REQUIRED")
    );
    // Carol is not a member of the public channel.
    let carol_news = types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: w.channel_access_hash(CAROL, NEWS),
    };
    assert_eq!(
        send(&carol, carol_news.into(), "hey", 5).unwrap_err(),
        err(400, "CHAT_WRITE_FORBIDDEN")
    );
    assert_eq!(w.messages_to(PeerRef::Channel(NEWS)).len(), 1);
    // Wrong hash, empty text.
    assert_eq!(
        send(&carol, input_peer_user(&w, ALICE, BOB), "x", 6).unwrap_err(),
        err(400, "PEER_ID_INVALID")
    );
    assert_eq!(
        send(&carol, enums::InputPeer::InputPeerSelf, "  ", 7).unwrap_err(),
        err(400, "MESSAGE_EMPTY")
    );
    assert_eq!(
        send(
            &carol,
            enums::InputPeer::InputPeerSelf,
            &"x".repeat(4097),
            8
        )
        .unwrap_err(),
        err(400, "MESSAGE_TOO_LONG")
    );
    // Saved messages.
    assert!(send(&carol, enums::InputPeer::InputPeerSelf, "note to self", 9).is_ok());
}

#[test]
fn flood_wait_rules() {
    let (w, p) = world();
    let alice = login(&w, &p, 90, ALICE);
    assert!(!w.set_flood_wait("no.suchMethod", 5));
    assert!(w.set_flood_wait("updates.getState", 31));
    for _ in 0..3 {
        assert_eq!(
            alice.error(&f::updates::GetState),
            err(420, "FLOOD_WAIT_31")
        );
    }
    assert_eq!(
        w.method_count("updates.getState"),
        0,
        "a refused call did not run"
    );
    w.clear_flood_wait("updates.getState");
    assert!(alice.call(&f::updates::GetState).is_ok());
    // By id, twice only.
    assert!(w.set_flood_wait_times("0xedd4882a", 2, Some(2)));
    assert_eq!(alice.error(&f::updates::GetState), err(420, "FLOOD_WAIT_2"));
    assert_eq!(alice.error(&f::updates::GetState), err(420, "FLOOD_WAIT_2"));
    assert!(alice.call(&f::updates::GetState).is_ok());
    assert_eq!(w.method_count("updates.getState"), 2);
    let counts = w.method_counts();
    assert_eq!(counts.get("auth.signIn"), Some(&1));
}

#[test]
fn channel_difference_returns_channel_messages() {
    let (w, p) = world();
    let alice = login(&w, &p, 94, ALICE);
    let bob = login(&w, &p, 95, BOB);
    let news = |viewer: i64| -> enums::InputPeer {
        types::InputPeerChannel {
            channel_id: NEWS,
            access_hash: w.channel_access_hash(viewer, NEWS),
        }
        .into()
    };
    send(&alice, news(ALICE), "one", 1).unwrap();
    send(&alice, news(ALICE), "two", 2).unwrap();
    let diff = |c: &Client, viewer: i64, pts: i32, limit: i32| {
        c.call(&f::updates::GetChannelDifference {
            force: false,
            channel: input_channel(&w, viewer, NEWS),
            filter: enums::ChannelMessagesFilter::Empty,
            pts,
            limit,
        })
        .unwrap()
    };
    let enums::updates::ChannelDifference::ChannelDifference(d) = diff(&bob, BOB, 1, 100) else {
        panic!("a difference")
    };
    assert!(d.r#final);
    assert_eq!(d.pts, 3);
    let texts: Vec<(&str, bool)> = d
        .new_messages
        .iter()
        .map(|m| match m {
            enums::Message::Message(m) => (m.message.as_str(), m.out),
            _ => panic!(),
        })
        .collect();
    assert_eq!(texts, [("one", false), ("two", false)]);
    let enums::updates::ChannelDifference::ChannelDifference(d) = diff(&bob, BOB, 1, 1) else {
        panic!("a difference")
    };
    assert!(!d.r#final);
    assert_eq!((d.pts, d.new_messages.len()), (2, 1));
    assert!(matches!(
        diff(&bob, BOB, 3, 100),
        enums::updates::ChannelDifference::Empty(_)
    ));
    // The sender sees its own messages as outgoing.
    let enums::updates::ChannelDifference::ChannelDifference(d) = diff(&alice, ALICE, 2, 100)
    else {
        panic!("a difference")
    };
    assert!(
        matches!(&d.new_messages[0], enums::Message::Message(m) if m.out && m.message == "two")
    );
}

#[test]
fn history_of_private_chats_and_channels() {
    let (w, p) = world();
    let alice = login(&w, &p, 96, ALICE);
    let bob = login(&w, &p, 97, BOB);
    for (i, text) in ["a", "b", "c"].iter().enumerate() {
        send(&alice, input_peer_user(&w, ALICE, BOB), text, 10 + i as i64).unwrap();
    }
    send(&bob, input_peer_user(&w, BOB, ALICE), "d", 20).unwrap();
    send(&alice, input_peer_user(&w, ALICE, CAROL), "not for Bob", 21).unwrap();
    let history =
        |c: &Client, peer: enums::InputPeer, offset_id: i32, limit: i32| -> Vec<(String, bool)> {
            let r = c
                .call(&f::messages::GetHistory {
                    peer,
                    offset_id,
                    offset_date: 0,
                    add_offset: 0,
                    limit,
                    max_id: 0,
                    min_id: 0,
                    hash: 0,
                })
                .unwrap();
            let enums::messages::Messages::Messages(m) = r else {
                panic!("messages")
            };
            m.messages
                .iter()
                .map(|m| match m {
                    enums::Message::Message(m) => (m.message.clone(), m.out),
                    _ => panic!(),
                })
                .collect()
        };
    let s = |t: &str, out: bool| (t.to_string(), out);
    assert_eq!(
        history(&bob, input_peer_user(&w, BOB, ALICE), 0, 10),
        vec![s("d", true), s("c", false), s("b", false), s("a", false)]
    );
    assert_eq!(
        history(&alice, input_peer_user(&w, ALICE, BOB), 0, 2),
        vec![s("d", false), s("c", true)]
    );
    // Older than Alice's message 2 ("b").
    assert_eq!(
        history(&alice, input_peer_user(&w, ALICE, BOB), 2, 10),
        vec![s("a", true)]
    );
    let news = types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: w.channel_access_hash(BOB, NEWS),
    };
    send(
        &alice,
        types::InputPeerChannel {
            channel_id: NEWS,
            access_hash: w.channel_access_hash(ALICE, NEWS),
        }
        .into(),
        "post",
        30,
    )
    .unwrap();
    assert_eq!(history(&bob, news.into(), 0, 10), vec![s("post", false)]);
}
