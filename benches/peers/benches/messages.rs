//! `messages.Messages` with 100 messages (text and 2 entities each, every 3rd a reply), 10 users
//! and 1 channel, 22,220 bytes (the "~22 KB"; 132-character texts): serialize and
//! deserialize with tlgen's generated API and with grammers-tl-types, the same value built
//! natively in each (their layers differ: 228 and 230).
//!
//! Run with `benches/peers/run.sh` (it generates `gen-api/src` first).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const CHANNEL: i64 = 1_234_567_890;
const TEXT: &str = "tlgen serializes this message and grammers does too; the benchmark compares both on one value. Each text is 132 characters long.";

fn text_of(id: i32) -> String {
    format!("{id:03} {TEXT}")
}

fn ours() -> gen_api::enums::messages::Messages {
    use gen_api as api;
    let peer: api::enums::Peer = api::types::PeerChannel {
        channel_id: CHANNEL,
    }
    .into();
    let messages = (1..=100)
        .map(|id: i32| {
            let text = text_of(id);
            let entities: Vec<api::enums::MessageEntity> = vec![
                api::types::MessageEntityBold {
                    offset: 0,
                    length: 3,
                }
                .into(),
                api::types::MessageEntityUrl {
                    offset: 4,
                    length: 5,
                }
                .into(),
            ];
            let from: api::enums::Peer = api::types::PeerUser {
                user_id: 1000 + i64::from(id % 10),
            }
            .into();
            let reply: Option<api::enums::MessageReplyHeader> = (id % 3 == 0).then(|| {
                api::types::MessageReplyHeader {
                    reply_to_msg_id: Some(id - 1),
                    ..Default::default()
                }
                .into()
            });
            api::types::Message {
                out: false,
                mentioned: false,
                media_unread: false,
                silent: false,
                post: false,
                from_scheduled: false,
                legacy: false,
                edit_hide: false,
                pinned: false,
                noforwards: false,
                invert_media: false,
                offline: false,
                video_processing_pending: false,
                paid_suggested_post_stars: false,
                paid_suggested_post_ton: false,
                id: id,
                from_id: Some(from),
                from_boosts_applied: None,
                from_rank: None,
                peer_id: peer.clone(),
                saved_peer_id: None,
                fwd_from: None,
                via_bot_id: None,
                via_business_bot_id: None,
                guestchat_via_from: None,
                reply_to: reply,
                date: 1_700_000_000 + id,
                message: text.clone(),
                media: None,
                reply_markup: None,
                entities: Some(entities.clone()),
                views: None,
                forwards: None,
                replies: None,
                edit_date: None,
                post_author: None,
                grouped_id: None,
                reactions: None,
                restriction_reason: None,
                ttl_period: None,
                quick_reply_shortcut_id: None,
                effect: None,
                factcheck: None,
                report_delivery_until_date: None,
                paid_message_stars: None,
                suggested_post: None,
                schedule_repeat_period: None,
                summary_from_language: None,
                rich_message: None,
            }
            .into()
        })
        .collect();
    let users = (0..10i64)
        .map(|i| {
            let id = 1000 + i;
            api::types::User {
                id,
                access_hash: Some(id * 7919),
                first_name: Some(format!("User {id}")),
                username: Some(format!("user_{id}")),
                ..Default::default()
            }
            .into()
        })
        .collect();
    let channel = api::types::Channel {
        id: CHANNEL,
        access_hash: Some(42),
        title: "tlgen benchmarks".into(),
        date: 1_600_000_000,
        broadcast: true,
        username: Some("tlgen_bench".into()),
        ..Default::default()
    };
    api::types::messages::Messages {
        messages,
        topics: vec![],
        chats: vec![channel.into()],
        users,
    }
    .into()
}

fn grammers() -> grammers_tl_types::enums::messages::Messages {
    use grammers_tl_types as gt;
    let peer: gt::enums::Peer = gt::types::PeerChannel {
        channel_id: CHANNEL,
    }
    .into();
    let messages = (1..=100)
        .map(|id: i32| {
            let text = text_of(id);
            let entities: Vec<gt::enums::MessageEntity> = vec![
                gt::types::MessageEntityBold {
                    offset: 0,
                    length: 3,
                }
                .into(),
                gt::types::MessageEntityUrl {
                    offset: 4,
                    length: 5,
                }
                .into(),
            ];
            let from: gt::enums::Peer = gt::types::PeerUser {
                user_id: 1000 + i64::from(id % 10),
            }
            .into();
            let reply: Option<gt::enums::MessageReplyHeader> = (id % 3 == 0).then(|| {
                gt::types::MessageReplyHeader {
                    reply_to_scheduled: false,
                    forum_topic: false,
                    quote: false,
                    reply_to_ephemeral: false,
                    reply_to_msg_id: Some(id - 1),
                    reply_to_peer_id: None,
                    reply_from: None,
                    reply_media: None,
                    reply_to_top_id: None,
                    quote_text: None,
                    quote_entities: None,
                    quote_offset: None,
                    todo_item_id: None,
                    poll_option: None,
                }
                .into()
            });
            gt::types::Message {
                out: false,
                mentioned: false,
                media_unread: false,
                silent: false,
                post: false,
                from_scheduled: false,
                legacy: false,
                edit_hide: false,
                pinned: false,
                noforwards: false,
                invert_media: false,
                offline: false,
                video_processing_pending: false,
                paid_suggested_post_stars: false,
                paid_suggested_post_ton: false,
                id: id,
                from_id: Some(from),
                from_boosts_applied: None,
                from_rank: None,
                peer_id: peer.clone(),
                saved_peer_id: None,
                fwd_from: None,
                via_bot_id: None,
                via_business_bot_id: None,
                guestchat_via_from: None,
                reply_to: reply,
                date: 1_700_000_000 + id,
                message: text.clone(),
                media: None,
                reply_markup: None,
                entities: Some(entities.clone()),
                views: None,
                forwards: None,
                replies: None,
                edit_date: None,
                post_author: None,
                grouped_id: None,
                reactions: None,
                restriction_reason: None,
                ttl_period: None,
                quick_reply_shortcut_id: None,
                effect: None,
                factcheck: None,
                report_delivery_until_date: None,
                paid_message_stars: None,
                suggested_post: None,
                schedule_repeat_period: None,
                summary_from_language: None,
                rich_message: None,
            }
            .into()
        })
        .collect();
    let users = (0..10i64)
        .map(|i| {
            let id = 1000 + i;
            gt::types::User {
                is_self: false,
                contact: false,
                mutual_contact: false,
                deleted: false,
                bot: false,
                bot_chat_history: false,
                bot_nochats: false,
                verified: false,
                restricted: false,
                min: false,
                bot_inline_geo: false,
                support: false,
                scam: false,
                apply_min_photo: false,
                fake: false,
                bot_attach_menu: false,
                premium: false,
                attach_menu_enabled: false,
                bot_can_edit: false,
                close_friend: false,
                stories_hidden: false,
                stories_unavailable: false,
                contact_require_premium: false,
                bot_business: false,
                bot_has_main_app: false,
                bot_forum_view: false,
                bot_forum_can_manage_topics: false,
                bot_can_manage_bots: false,
                bot_guestchat: false,
                bot_guard: false,
                id: id,
                access_hash: Some(id * 7919),
                first_name: Some(format!("User {id}")),
                last_name: None,
                username: Some(format!("user_{id}")),
                phone: None,
                photo: None,
                status: None,
                bot_info_version: None,
                restriction_reason: None,
                bot_inline_placeholder: None,
                lang_code: None,
                emoji_status: None,
                usernames: None,
                stories_max_id: None,
                color: None,
                profile_color: None,
                bot_active_users: None,
                bot_verification_icon: None,
                send_paid_messages_stars: None,
                linked_community_id: None,
            }
            .into()
        })
        .collect();
    let channel = gt::types::Channel {
        creator: false,
        left: false,
        broadcast: true,
        verified: false,
        megagroup: false,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: false,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id: CHANNEL,
        access_hash: Some(42),
        title: "tlgen benchmarks".into(),
        username: Some("tlgen_bench".into()),
        photo: gt::enums::ChatPhoto::Empty,
        date: 1_600_000_000,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    };
    gt::types::messages::Messages {
        messages,
        topics: vec![],
        chats: vec![channel.into()],
        users,
    }
    .into()
}

fn bench(c: &mut Criterion) {
    use grammers_tl_types::{Deserializable as _, Serializable as _};
    use tlgen_runtime::{Deserializable as _, Serializable as _};

    let ours = ours();
    let peer = grammers();
    let ours_bytes = ours.to_bytes();
    let peer_bytes = peer.to_bytes();
    println!(
        "messages.Messages: tlgen {} bytes, grammers {} bytes",
        ours_bytes.len(),
        peer_bytes.len()
    );
    assert_eq!(
        gen_api::enums::messages::Messages::from_bytes(&ours_bytes).unwrap(),
        ours
    );

    let mut group = c.benchmark_group("messages_serialize");
    group.throughput(Throughput::Bytes(ours_bytes.len() as u64));
    let mut buf = Vec::with_capacity(64 << 10);
    group.bench_function(BenchmarkId::new("tlgen", ours_bytes.len()), |b| {
        b.iter(|| {
            buf.clear();
            ours.serialize(&mut buf);
            buf.len()
        })
    });
    group.throughput(Throughput::Bytes(peer_bytes.len() as u64));
    group.bench_function(BenchmarkId::new("grammers", peer_bytes.len()), |b| {
        b.iter(|| {
            buf.clear();
            peer.serialize(&mut buf);
            buf.len()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("messages_deserialize");
    group.throughput(Throughput::Bytes(ours_bytes.len() as u64));
    group.bench_function(BenchmarkId::new("tlgen", ours_bytes.len()), |b| {
        b.iter(|| gen_api::enums::messages::Messages::from_bytes(&ours_bytes).unwrap())
    });
    group.throughput(Throughput::Bytes(peer_bytes.len() as u64));
    group.bench_function(BenchmarkId::new("grammers", peer_bytes.len()), |b| {
        b.iter(|| grammers_tl_types::enums::messages::Messages::from_bytes(&peer_bytes).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
