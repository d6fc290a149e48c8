//! Bodies that are not requests, methods that are not implemented, and the world's bounds.

use crate::common::*;
use tlgen_runtime::{Identifiable, Serializable};
use tlgen_telegram::{enums, functions as f, types};
use tlgen_world::{Reply, World};

fn invalid() -> Reply {
    Reply::error(400, "INPUT_METHOD_INVALID")
}

#[test]
fn world_is_send_sync_and_shareable() {
    fn check<T: Send + Sync + 'static>() {}
    check::<World>();
    check::<std::sync::Arc<World>>();
}

#[test]
fn bodies_that_are_not_requests() {
    let (w, p) = world();
    let c = login(&w, &p, 91, ALICE);
    assert_eq!(c.raw(&[]), invalid());
    assert_eq!(c.raw(&[1, 2, 3]), invalid());
    assert_eq!(c.raw(&0xdeadbeefu32.to_le_bytes()), invalid());
    // A known method with a truncated body.
    let mut body = f::contacts::ResolveUsername {
        username: "alice".into(),
        referer: None,
    }
    .to_bytes();
    body.truncate(body.len() - 4);
    assert_eq!(c.raw(&body), invalid());
    // A vector that claims two billion entries.
    let mut body = f::users::GetUsers::CONSTRUCTOR_ID.to_le_bytes().to_vec();
    body.extend_from_slice(&0x1cb5c415u32.to_le_bytes());
    body.extend_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert_eq!(c.raw(&body), invalid());
    // Trailing bytes after a complete request.
    let mut body = f::updates::GetState.to_bytes();
    body.extend_from_slice(&[0; 4]);
    assert_eq!(c.raw(&body), invalid());
    assert_eq!(w.method_count("updates.getState"), 0);
}

#[test]
fn other_methods_are_not_implemented() {
    let (w, p) = world();
    let c = login(&w, &p, 92, ALICE);
    assert_eq!(
        c.error(&f::account::GetPassword),
        err(400, "METHOD_NOT_IMPLEMENTED")
    );
    assert_eq!(
        c.error(&f::help::GetCdnConfig),
        err(400, "METHOD_NOT_IMPLEMENTED")
    );
}

/// Every prefix and many corruptions of valid requests: an answer each, never a panic.
#[test]
fn corrupted_requests_never_panic() {
    let (w, p) = world();
    let c = login(&w, &p, 93, ALICE);
    let requests: Vec<Vec<u8>> = vec![
        f::InvokeWithLayer {
            layer: 228,
            query: f::InitConnection {
                api_id: 1,
                device_model: "d".into(),
                system_version: "s".into(),
                app_version: "a".into(),
                system_lang_code: "en".into(),
                lang_pack: "".into(),
                lang_code: "en".into(),
                proxy: None,
                params: None,
                query: f::help::GetConfig,
            },
        }
        .to_bytes(),
        f::users::GetUsers {
            id: vec![
                enums::InputUser::InputUserSelf,
                input_user(&w, ALICE, BOB),
                types::InputUserFromMessage {
                    peer: types::InputPeerChat { chat_id: TEA_PARTY }.into(),
                    msg_id: 1,
                    user_id: CAROL,
                }
                .into(),
            ],
        }
        .to_bytes(),
        f::channels::InviteToChannel {
            channel: input_channel(&w, ALICE, NEWS),
            users: vec![input_user(&w, ALICE, DAVE)],
        }
        .to_bytes(),
        f::account::SetPrivacy {
            key: enums::InputPrivacyKey::PhoneNumber,
            rules: vec![types::InputPrivacyValueAllowUsers {
                users: vec![input_user(&w, ALICE, BOB)],
            }
            .into()],
        }
        .to_bytes(),
        f::auth::SendCode {
            phone_number: "15550001001".into(),
            api_id: 1,
            api_hash: "h".into(),
            settings: types::CodeSettings::default().into(),
        }
        .to_bytes(),
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut answers = 0;
    for body in &requests {
        for len in 0..body.len() {
            let _ = c.raw(&body[..len]);
            answers += 1;
        }
        for _ in 0..300 {
            let mut bad = body.clone();
            let flips = 1 + next() % 4;
            for _ in 0..flips {
                let i = (next() as usize) % bad.len();
                bad[i] = next() as u8;
            }
            let _ = c.raw(&bad);
            answers += 1;
        }
    }
    assert!(answers > 1500);
    // The world still works.
    assert!(c.call(&f::updates::GetState).is_ok());
    assert!(w.user(ALICE).is_some());
}

/// The outbox is called with the world unlocked: one that reads the world does not deadlock.
#[test]
fn the_outbox_runs_outside_the_lock() {
    use std::sync::{Arc, Mutex};
    struct Reentrant {
        world: Arc<World>,
        seen: Mutex<Vec<(i64, usize)>>,
    }
    impl tlgen_world::Outbox for Reentrant {
        fn push(&self, key: i64, _body: Vec<u8>) {
            let stored = self.world.messages().len();
            self.seen.lock().unwrap().push((key, stored));
        }
    }
    let w = Arc::new(World::builtin());
    w.sign_in(1, ALICE);
    w.sign_in(2, BOB);
    let outbox = Reentrant {
        world: w.clone(),
        seen: Mutex::new(Vec::new()),
    };
    let dcs = dcs();
    let ctx = tlgen_world::CallContext {
        dc: 2,
        dcs: &dcs,
        auth_key_id: 1,
        session_id: 1,
        msg_id: 4,
        connection: 1,
        now: 1_800_000_000,
        outbox: &outbox,
    };
    let request = f::messages::SendMessage {
        no_webpage: false,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: input_peer_user(&w, ALICE, BOB),
        reply_to: None,
        message: "hi".into(),
        random_id: 9,
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
    };
    let reply = tlgen_world::Service::call(&*w, &ctx, &request.to_bytes());
    assert!(matches!(reply, Reply::Result(_)));
    assert_eq!(*outbox.seen.lock().unwrap(), vec![(2, 1)]);
}
