//! messages.getChats, channels.getChannels, getParticipants, inviteToChannel, createChannel.

use crate::common::*;
use tlgen_runtime::Serializable;
use tlgen_telegram::{enums, functions as f, types};

fn chats(r: enums::messages::Chats) -> Vec<enums::Chat> {
    match r {
        enums::messages::Chats::Chats(c) => c.chats,
        enums::messages::Chats::Slice(c) => c.chats,
    }
}

#[test]
fn basic_groups_by_id() {
    let (w, p) = world();
    let alice = login(&w, &p, 61, ALICE);
    let got = chats(
        alice
            .call(&f::messages::GetChats {
                id: vec![TEA_PARTY],
            })
            .unwrap(),
    );
    let enums::Chat::Chat(tea) = &got[0] else {
        panic!("a chat")
    };
    assert_eq!(tea.title, "Tea Party");
    assert!(tea.creator);
    assert_eq!(tea.participants_count, 3);
    assert_eq!(
        alice.error(&f::messages::GetChats { id: vec![777] }),
        err(400, "PEER_ID_INVALID")
    );
    // Dave is not a member: he sees chatForbidden.
    let dave = login(&w, &p, 62, DAVE);
    let got = chats(
        dave.call(&f::messages::GetChats {
            id: vec![TEA_PARTY],
        })
        .unwrap(),
    );
    assert!(matches!(got[0], enums::Chat::Forbidden(_)));
}

#[test]
fn channels_by_input_channel() {
    let (w, p) = world();
    let carol = login(&w, &p, 63, CAROL);
    let got = chats(
        carol
            .call(&f::channels::GetChannels {
                id: vec![
                    input_channel(&w, CAROL, CHAT_GROUP),
                    input_channel(&w, CAROL, NEWS),
                ],
            })
            .unwrap(),
    );
    let group = channel_of(&got[0]);
    assert!(group.megagroup && !group.left && !group.creator);
    assert_eq!(group.participants_count, Some(3));
    let news = channel_of(&got[1]);
    assert!(news.broadcast && news.left, "Carol is not in tlgen News");
    assert_eq!(news.username.as_deref(), Some("tlgen_news"));
    // Bob's hash is not Carol's.
    assert_eq!(
        carol.error(&f::channels::GetChannels {
            id: vec![input_channel(&w, BOB, NEWS)]
        }),
        err(400, "CHANNEL_INVALID")
    );
    assert_eq!(
        carol.error(&f::channels::GetChannels {
            id: vec![enums::InputChannel::Empty]
        }),
        err(400, "CHANNEL_INVALID")
    );
}

fn participants(
    c: &Client,
    channel: i64,
    filter: enums::ChannelParticipantsFilter,
) -> Answer<types::channels::ChannelParticipants> {
    c.call(&f::channels::GetParticipants {
        channel: input_channel(&c.world, c.world.signed_in_user(c.key).unwrap(), channel),
        filter,
        offset: 0,
        limit: 100,
        hash: 0,
    })
    .map(|r| match r {
        enums::channels::ChannelParticipants::ChannelParticipants(p) => *p,
        other => panic!("{other:?}"),
    })
}

fn ids(list: &types::channels::ChannelParticipants) -> Vec<i64> {
    list.participants
        .iter()
        .map(|p| match p {
            enums::ChannelParticipant::Creator(c) => c.user_id,
            enums::ChannelParticipant::Admin(a) => a.user_id,
            enums::ChannelParticipant::ChannelParticipant(m) => m.user_id,
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn participants_of_channels() {
    let (w, p) = world();
    let alice = login(&w, &p, 64, ALICE);
    let list = participants(&alice, NEWS, enums::ChannelParticipantsFilter::Recent).unwrap();
    assert_eq!(list.count, 2);
    assert_eq!(ids(&list), vec![ALICE, BOB]);
    assert!(matches!(
        list.participants[0],
        enums::ChannelParticipant::Creator(_)
    ));
    assert_eq!(list.users.len(), 2);
    let list = participants(&alice, CHAT_GROUP, enums::ChannelParticipantsFilter::Admins).unwrap();
    assert_eq!(ids(&list), vec![BOB, ALICE]);
    let list = participants(
        &alice,
        CHAT_GROUP,
        types::ChannelParticipantsSearch { q: "car".into() }.into(),
    )
    .unwrap();
    assert_eq!(ids(&list), vec![CAROL]);
    // Bob is a plain member of the broadcast channel: admins only.
    let bob = login(&w, &p, 65, BOB);
    assert_eq!(
        participants(&bob, NEWS, enums::ChannelParticipantsFilter::Recent).unwrap_err(),
        err(400, "CHAT_ADMIN_REQUIRED")
    );
}

#[test]
fn admins_invite_users() {
    let (w, p) = world();
    let alice = login(&w, &p, 66, ALICE);
    let carol = login(&w, &p, 67, CAROL);
    let enums::messages::InvitedUsers::InvitedUsers(r) = alice
        .call(&f::channels::InviteToChannel {
            channel: input_channel(&w, ALICE, NEWS),
            users: vec![
                input_user(&w, ALICE, CAROL),
                // Already a member: skipped.
                input_user(&w, ALICE, BOB),
            ],
        })
        .unwrap();
    assert!(r.missing_invitees.is_empty());
    let enums::Updates::Updates(u) = &r.updates else {
        panic!("updates")
    };
    assert!(u
        .updates
        .contains(&types::UpdateChannel { channel_id: NEWS }.into()));
    assert_eq!(w.channel_members(NEWS).unwrap(), vec![ALICE, BOB, CAROL]);
    // Carol's key heard of it.
    let pushed = p.take(carol.key);
    assert_eq!(pushed.len(), 1);
    // Carol is a plain member of a broadcast channel now: she may not invite.
    assert_eq!(
        carol.error(&f::channels::InviteToChannel {
            channel: input_channel(&w, CAROL, NEWS),
            users: vec![input_user(&w, CAROL, DAVE)],
        }),
        err(400, "CHAT_ADMIN_REQUIRED")
    );
    // Invalid users.
    assert_eq!(
        alice.error(&f::channels::InviteToChannel {
            channel: input_channel(&w, ALICE, NEWS),
            users: vec![input_user(&w, BOB, DAVE)],
        }),
        err(400, "USER_ID_INVALID")
    );
    // Too many at once.
    let many = vec![input_user(&w, ALICE, DAVE); 201];
    assert_eq!(
        alice.error(&f::channels::InviteToChannel {
            channel: input_channel(&w, ALICE, NEWS),
            users: many,
        }),
        err(400, "USERS_TOO_MUCH")
    );
    // Privacy: Dave accepts invitations from nobody.
    let dave = login(&w, &p, 68, DAVE);
    dave.call(&f::account::SetPrivacy {
        key: enums::InputPrivacyKey::ChatInvite,
        rules: vec![enums::InputPrivacyRule::ValueDisallowAll],
    })
    .unwrap();
    let enums::messages::InvitedUsers::InvitedUsers(r) = alice
        .call(&f::channels::InviteToChannel {
            channel: input_channel(&w, ALICE, NEWS),
            users: vec![input_user(&w, ALICE, DAVE), input_user(&w, ALICE, ERIN)],
        })
        .unwrap();
    let missing: Vec<i64> = r
        .missing_invitees
        .iter()
        .map(|enums::MissingInvitee::MissingInvitee(m)| m.user_id)
        .collect();
    assert_eq!(missing, vec![DAVE]);
    assert_eq!(
        w.channel_members(NEWS).unwrap(),
        vec![ALICE, BOB, CAROL, ERIN]
    );
    // Every call whose handler ran counts, refused ones included.
    assert_eq!(w.method_count("channels.inviteToChannel"), 5);
}

#[test]
fn supergroup_members_invite_with_a_service_message() {
    let (w, p) = world();
    let carol = login(&w, &p, 69, CAROL);
    let bob = login(&w, &p, 70, BOB);
    let enums::messages::InvitedUsers::InvitedUsers(r) = carol
        .call(&f::channels::InviteToChannel {
            channel: input_channel(&w, CAROL, CHAT_GROUP),
            users: vec![input_user(&w, CAROL, DAVE)],
        })
        .unwrap();
    let enums::Updates::Updates(u) = &r.updates else {
        panic!("updates")
    };
    assert!(u
        .updates
        .iter()
        .any(|x| matches!(x, enums::Update::NewChannelMessage(_))));
    assert!(w.channel_members(CHAT_GROUP).unwrap().contains(&DAVE));
    // Bob (a member) gets the service message.
    let pushed = p.take(bob.key);
    assert_eq!(pushed.len(), 1);
}

#[test]
fn created_channels_are_private_until_joined() {
    let (w, p) = world();
    let bob = login(&w, &p, 71, BOB);
    let created = bob
        .call(&f::channels::CreateChannel {
            broadcast: true,
            megagroup: false,
            for_import: false,
            forum: false,
            title: "Bob's Builds".into(),
            about: "Construction news".into(),
            geo_point: None,
            address: None,
            ttl_period: None,
        })
        .unwrap();
    let enums::Updates::Updates(u) = created else {
        panic!("updates")
    };
    let channel = channel_of(&u.chats[0]);
    assert!(channel.creator && channel.broadcast);
    let id = channel.id;
    let view = w.channel(id).unwrap();
    assert_eq!(view.title, "Bob's Builds");
    assert_eq!(view.about, "Construction news");
    assert_eq!(view.members, vec![BOB]);
    // Carol learnt the hash somehow, but may not look inside.
    let carol = login(&w, &p, 72, CAROL);
    assert_eq!(
        carol.error(&f::channels::GetChannels {
            id: vec![input_channel(&w, CAROL, id)]
        }),
        err(400, "CHANNEL_PRIVATE")
    );
    assert_eq!(
        carol.error(&f::channels::CreateChannel {
            broadcast: true,
            megagroup: false,
            for_import: false,
            forum: false,
            title: " ".into(),
            about: String::new(),
            geo_point: None,
            address: None,
            ttl_period: None,
        }),
        err(400, "CHAT_TITLE_EMPTY")
    );
}

#[test]
fn full_channel_full_chat_and_one_participant() {
    let (w, p) = world();
    let alice = login(&w, &p, 73, ALICE);
    let enums::messages::ChatFull::ChatFull(full) = alice
        .call(&f::channels::GetFullChannel {
            channel: input_channel(&w, ALICE, NEWS),
        })
        .unwrap();
    let enums::ChatFull::ChannelFull(inner) = &full.full_chat else {
        panic!("channelFull")
    };
    assert_eq!(inner.about, "Announcements of the loopback world.");
    assert_eq!(inner.participants_count, Some(2));
    assert!(inner.can_view_participants && inner.can_delete_channel);
    assert_eq!(channel_of(&full.chats[0]).id, NEWS);

    let enums::messages::ChatFull::ChatFull(full) = alice
        .call(&f::messages::GetFullChat { chat_id: TEA_PARTY })
        .unwrap();
    let enums::ChatFull::ChatFull(inner) = &full.full_chat else {
        panic!("chatFull")
    };
    let enums::ChatParticipants::ChatParticipants(list) = &inner.participants else {
        panic!("participants")
    };
    assert_eq!(list.participants.len(), 3);
    assert!(matches!(
        list.participants[0],
        enums::ChatParticipant::Creator(_)
    ));
    assert_eq!(full.users.len(), 3);
    let dave = login(&w, &p, 74, DAVE);
    assert_eq!(
        dave.error(&f::messages::GetFullChat { chat_id: TEA_PARTY }),
        err(400, "CHAT_ID_INVALID")
    );

    let enums::channels::ChannelParticipant::ChannelParticipant(one) = alice
        .call(&f::channels::GetParticipant {
            channel: input_channel(&w, ALICE, CHAT_GROUP),
            participant: input_peer_user(&w, ALICE, CAROL),
        })
        .unwrap();
    assert!(
        matches!(&one.participant, enums::ChannelParticipant::ChannelParticipant(m) if m.user_id == CAROL)
    );
    assert_eq!(
        alice.error(&f::channels::GetParticipant {
            channel: input_channel(&w, ALICE, CHAT_GROUP),
            participant: input_peer_user(&w, ALICE, DAVE),
        }),
        err(400, "USER_NOT_PARTICIPANT")
    );
}

#[test]
fn input_peers_stand_in_for_input_users_and_channels() {
    // Pyrogram's documented inviteToChannel example passes `InputPeer`s from resolve_peer.
    let (w, p) = world();
    let alice = login(&w, &p, 71, ALICE);
    let peer_channel = types::InputPeerChannel {
        channel_id: NEWS,
        access_hash: w.channel_access_hash(ALICE, NEWS),
    };
    let peer_user = input_peer_user(&w, ALICE, CAROL);
    // The request as Pyrogram serializes it: InputPeer ids where InputChannel/InputUser go.
    let mut body = Vec::new();
    body.extend_from_slice(
        &<f::channels::InviteToChannel as tlgen_runtime::Identifiable>::CONSTRUCTOR_ID
            .to_le_bytes(),
    );
    enums::InputPeer::Channel(peer_channel).serialize(&mut body);
    vec![peer_user].serialize(&mut body);
    match alice.raw(&body) {
        tlgen_world::Reply::Result(_) => {}
        other => panic!("{other:?}"),
    }
    assert!(w.channel_members(NEWS).unwrap().contains(&CAROL));
    // A chat where a channel goes has no twin: refused, not guessed.
    let mut body = Vec::new();
    body.extend_from_slice(
        &<f::channels::InviteToChannel as tlgen_runtime::Identifiable>::CONSTRUCTOR_ID
            .to_le_bytes(),
    );
    enums::InputPeer::Chat(types::InputPeerChat { chat_id: TEA_PARTY }).serialize(&mut body);
    Vec::<enums::InputUser>::new().serialize(&mut body);
    assert_eq!(
        alice.raw(&body),
        tlgen_world::Reply::error(400, "INPUT_METHOD_INVALID")
    );
}

#[test]
fn dialogs_list_the_chats_and_channels_of_the_user() {
    let (w, p) = world();
    let alice = login(&w, &p, 72, ALICE);
    let enums::messages::Dialogs::Dialogs(d) = alice
        .call(&f::messages::GetDialogs {
            limit: 100,
            offset_peer: enums::InputPeer::Empty,
            ..Default::default()
        })
        .unwrap()
    else {
        panic!("one page")
    };
    let peers: Vec<&enums::Peer> = d
        .dialogs
        .iter()
        .map(|x| match x {
            enums::Dialog::Dialog(x) => &x.peer,
            _ => panic!("a dialog"),
        })
        .collect();
    assert!(peers.contains(&&enums::Peer::Chat(types::PeerChat { chat_id: TEA_PARTY })));
    assert!(peers.contains(&&enums::Peer::Channel(types::PeerChannel {
        channel_id: NEWS
    })));
    assert!(peers.contains(&&enums::Peer::Channel(types::PeerChannel {
        channel_id: CHAT_GROUP
    })));
    assert_eq!(d.chats.len(), 3);
}
