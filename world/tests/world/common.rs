//! A test client: serializes a request, calls the world with a context it builds, decodes the
//! reply with the function's `Return` type.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tlgen_runtime::{Deserializable, RemoteCall};
use tlgen_telegram::{enums, functions as f, types};
use tlgen_world::{CallContext, DcAddr, Outbox, Reply, Service, World};

pub const ALICE: i64 = 1001;
pub const BOB: i64 = 1002;
pub const CAROL: i64 = 1003;
pub const DAVE: i64 = 1004;
pub const ERIN: i64 = 1005;
pub const BOT: i64 = 7000000001;
pub const BOT_TOKEN: &str = "7000000001:AAEchoBotSecretForTheLoopbackWorld01";
pub const NEWS: i64 = 1234567890;
pub const CHAT_GROUP: i64 = 1234567891;
pub const TEA_PARTY: i64 = 4242;

/// Collects what the world pushes.
#[derive(Default)]
pub struct Pushes(Mutex<Vec<(i64, Vec<u8>)>>);

impl Outbox for Pushes {
    fn push(&self, auth_key_id: i64, body: Vec<u8>) {
        self.0.lock().unwrap().push((auth_key_id, body));
    }
}

impl Pushes {
    /// The pushes to `key`, decoded, removed from the list.
    pub fn take(&self, key: i64) -> Vec<enums::Updates> {
        let mut all = self.0.lock().unwrap();
        let (mine, rest): (Vec<_>, Vec<_>) = all.drain(..).partition(|(k, _)| *k == key);
        *all = rest;
        mine.into_iter()
            .map(|(_, b)| enums::Updates::from_bytes(&b).expect("a push decodes as Updates"))
            .collect()
    }
}

pub fn dcs() -> Vec<DcAddr> {
    (1..=3)
        .map(|id| DcAddr {
            id,
            addr: SocketAddr::from(([127, 0, 0, 1], 44400 + id as u16)),
        })
        .collect()
}

/// One auth key on one DC.
pub struct Client {
    pub world: Arc<World>,
    pub key: i64,
    pub dc: i32,
    pub dcs: Vec<DcAddr>,
    pub pushes: Arc<Pushes>,
    pub now: i64,
    pub connection: u64,
}

pub type Answer<T> = Result<T, (i32, String)>;

impl Client {
    pub fn new(world: &Arc<World>, pushes: &Arc<Pushes>, key: i64, dc: i32) -> Client {
        Client {
            world: world.clone(),
            key,
            dc,
            dcs: dcs(),
            pushes: pushes.clone(),
            now: 1_800_000_000,
            connection: 1,
        }
    }

    pub fn raw(&self, body: &[u8]) -> Reply {
        let ctx = CallContext {
            dc: self.dc,
            dcs: &self.dcs,
            auth_key_id: self.key,
            session_id: 7,
            msg_id: 1,
            connection: self.connection,
            now: self.now,
            outbox: &*self.pushes,
        };
        self.world.call(&ctx, body)
    }

    pub fn call<F: RemoteCall>(&self, request: &F) -> Answer<F::Return> {
        match self.raw(&request.to_bytes()) {
            Reply::Result(bytes) => Ok(F::Return::from_bytes(&bytes).expect("the result decodes")),
            Reply::Error { code, message } => Err((code, message)),
        }
    }

    /// Calls and expects an error.
    pub fn error<F: RemoteCall>(&self, request: &F) -> (i32, String)
    where
        F::Return: std::fmt::Debug,
    {
        self.call(request).expect_err("an error")
    }
}

pub fn err(code: i32, message: &str) -> (i32, String) {
    (code, message.to_string())
}

/// A world, its outbox, and a client signed in as `user` (phone flow, or token for the bot).
pub fn world() -> (Arc<World>, Arc<Pushes>) {
    (Arc::new(World::builtin()), Arc::new(Pushes::default()))
}

pub fn phone_of(user: i64) -> String {
    format!("+1555000{user}")
}

pub fn send_code(c: &Client, phone: &str) -> Answer<String> {
    c.call(&f::auth::SendCode {
        phone_number: phone.to_string(),
        api_id: 1,
        api_hash: "0123456789abcdef".to_string(),
        settings: types::CodeSettings::default().into(),
    })
    .map(|sent| match sent {
        enums::auth::SentCode::SentCode(s) => s.phone_code_hash,
        other => panic!("unexpected {other:?}"),
    })
}

pub fn sign_in(c: &Client, phone: &str, code: &str) -> Answer<enums::auth::Authorization> {
    let hash = send_code(c, phone)?;
    c.call(&f::auth::SignIn {
        phone_number: phone.to_string(),
        phone_code_hash: hash,
        phone_code: Some(code.to_string()),
        email_verification: None,
    })
}

/// A client on the user's home DC, signed in through the phone flow.
pub fn login(world: &Arc<World>, pushes: &Arc<Pushes>, key: i64, user: i64) -> Client {
    let dc = world.user(user).expect("a user").dc;
    let c = Client::new(world, pushes, key, dc);
    if user == BOT {
        c.call(&f::auth::ImportBotAuthorization {
            flags: 0,
            api_id: 1,
            api_hash: "0123456789abcdef".to_string(),
            bot_auth_token: BOT_TOKEN.to_string(),
        })
        .expect("bot sign-in");
    } else {
        sign_in(&c, &phone_of(user), "12345").expect("sign-in");
    }
    assert_eq!(world.signed_in_user(key), Some(user));
    c
}

pub fn user_of(u: &enums::User) -> &types::User {
    match u {
        enums::User::User(u) => u,
        other => panic!("not a user: {other:?}"),
    }
}

pub fn channel_of(c: &enums::Chat) -> &types::Channel {
    match c {
        enums::Chat::Channel(c) => c,
        other => panic!("not a channel: {other:?}"),
    }
}

/// The input user `viewer` would build from what the world gave it.
pub fn input_user(world: &World, viewer: i64, user: i64) -> enums::InputUser {
    types::InputUser {
        user_id: user,
        access_hash: world.user_access_hash(viewer, user),
    }
    .into()
}

pub fn input_peer_user(world: &World, viewer: i64, user: i64) -> enums::InputPeer {
    types::InputPeerUser {
        user_id: user,
        access_hash: world.user_access_hash(viewer, user),
    }
    .into()
}

pub fn input_channel(world: &World, viewer: i64, channel: i64) -> enums::InputChannel {
    types::InputChannel {
        channel_id: channel,
        access_hash: world.channel_access_hash(viewer, channel),
    }
    .into()
}
