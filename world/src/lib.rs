//! A small in-memory Telegram: the API half of tlgen's loopback server.
//!
//! The protocol half (`tlgen-loopback`) decrypts messages, deduplicates them by msg_id and
//! hands each request body to a [`Service`]; what the service answers goes back as
//! `rpc_result`. The service never sees bytes of the transport or of MTProto's own messages.
//! [`World`] is that service: users, basic groups, channels and supergroups, contacts,
//! privacy rules, sign-in state per auth key, and the handlers of the methods listed below.
//!
//! # The built-in world
//!
//! [`World::builtin`] is the world a demo or a test starts from:
//!
//! | id | name | usernames | phone | home DC | notes |
//! |---|---|---|---|---|---|
//! | 1001 | Alice Liddell | `alice`, `alice_l` | `+15550001001` | 2 | the demo user; bio "Curiouser and curiouser."; contacts 1002, 1003 |
//! | 1002 | Bob Builder | `bobbuilder` | `+15550001002` | 2 | contact 1001 (mutual with Alice) |
//! | 1003 | Carol Danvers | `carol` | `+15550001003` | 2 | |
//! | 1004 | Dave Jones | `dave_jones` | `+15550001004` | **1** | signs in on DC 1 (`PHONE_MIGRATE_1` elsewhere) |
//! | 1005 | Erin | — | `+15550001005` | 2 | reachable by phone and id only; phone shown to contacts only (the default) |
//! | 7000000001 | Echo Bot | `echo_bot` | — | 2 | bot; token `7000000001:AAEchoBotSecretForTheLoopbackWorld01` |
//!
//! | id (bare) | marked id | kind | title | username | creator | admins | other members |
//! |---|---|---|---|---|---|---|---|
//! | 4242 | -4242 | basic group | Tea Party | — | 1001 | — | 1002, 1003 |
//! | 1234567890 | -1001234567890 | broadcast channel | tlgen News | `tlgen_news` | 1001 | — | 1002 |
//! | 1234567891 | -1001234567891 | supergroup | tlgen Chat | `tlgen_chat` | 1002 | 1001 | 1003 |
//!
//! **Login**: `auth.sendCode` for any phone "sends" the code `12345` (the world's
//! `login_code`; logged at `info` level by `tracing`); `auth.signIn` with it signs the auth key
//! in, or answers `auth.authorizationSignUpRequired` for a phone nobody has, after which
//! `auth.signUp` creates the user (homed on the DC it signed up on). A bot signs in with
//! `auth.importBotAuthorization` and `<bot id>:<bot_token>`. Alice (phone `+15550001001`,
//! code `12345`, DC 2) is the user demos sign in as: she is the creator of the channel
//! `tlgen News` and an admin of `tlgen Chat`.
//!
//! # World files
//!
//! `world/worlds/default.json` is the built-in world as a file (a test keeps them equal), a
//! place to start a world of one's own. [`World::from_file`] reads JSON in the shape of
//! [`WorldSpec`]: `secret` (mixed into access hashes), `login_code`, `default_dc`, and lists
//! of `users`, `chats` and `channels`; unknown fields, duplicate ids or usernames, members who
//! are not users, invalid usernames or phones are [`WorldError`]s naming the file and what is
//! wrong. For example:
//!
//! ```json
//! {
//!   "login_code": "22222",
//!   "users": [
//!     {"id": 1, "first_name": "Ann", "usernames": ["ann_example"], "phone": "+44 7700 900001",
//!      "privacy": [{"key": "phone_number", "rules": ["disallow_all"]}]},
//!     {"id": 2, "first_name": "Ben", "bot": true, "bot_token": "secret-token", "dc": 1}
//!   ],
//!   "channels": [{"id": 77, "title": "News", "creator": 1, "members": [2]}]
//! }
//! ```
//!
//! # Rules of this world
//!
//! - **Access hashes are per viewer**: the hash user A receives for user (or channel) C is a
//!   keyed hash of (A, C, the world's secret); B's differs, and A's does not work for B
//!   (`USER_ID_INVALID`, `PEER_ID_INVALID`, `CHANNEL_INVALID`).
//! - **Sign-in is per auth key** (`CallContext::auth_key_id`): a key stays signed in across
//!   connections and sessions until `auth.logOut`. Before sign-in, every method outside the
//!   `help.`, `auth.` and `langpack.` namespaces answers 401 `AUTH_KEY_UNREGISTERED`.
//! - **DCs** (core.telegram.org/api/datacenter): every user has a home DC. `auth.sendCode`,
//!   `auth.signIn` and `auth.signUp` for a phone homed on another DC answer 303
//!   `PHONE_MIGRATE_X` (a new phone is homed on `default_dc`); `auth.importBotAuthorization`
//!   of a bot homed elsewhere answers 303 `USER_MIGRATE_X`; a key signed in (e.g. through
//!   `auth.importAuthorization`) on a DC other than its user's home may call `help.`, `auth.`,
//!   `langpack.`, `upload.` methods and `users.getUsers` there, and gets 303 `USER_MIGRATE_X`
//!   for anything else. A home DC that the server does not run (not in `CallContext::dcs`)
//!   never causes a migration: on a server of DC 1 alone, everybody signs in on DC 1.
//! - **Wrappers** `invokeWithLayer` (its layer recorded), `initConnection` (its app and device
//!   strings recorded per auth key, see [`World::client_info`]), `invokeAfterMsg`,
//!   `invokeAfterMsgs` and `invokeWithoutUpdates` are unwrapped and the inner query answered,
//!   up to 8 levels deep.
//! - **Updates**: private and basic-group messages go through each user's common box (pts per
//!   user, message ids per user), channel messages through the channel's pts. Every update
//!   pushed through [`Outbox`] is an `updates` with `seq` 0 (pts orders them), pushed to every
//!   auth key of the users concerned except the one that made the request.
//!   `updates.getDifference` returns the new messages a user missed (at most 100 a
//!   `differenceSlice`; `differenceTooLong` past the last 1000), and
//!   `updates.getChannelDifference` a channel's (the last 1000 are kept). A `random_id` sent
//!   twice by the same user answers `RANDOM_ID_DUPLICATE`.
//! - `channels.inviteToChannel` follows layer 228: users already in the channel are skipped
//!   (no `USER_ALREADY_PARTICIPANT`), users whose `chat_invite` rules refuse the inviter come
//!   back as `missingInvitee`s; more than 200 users in one call, or a channel past 200,000
//!   members, is `USERS_TOO_MUCH`; in a broadcast channel only the creator and admins invite
//!   (`CHAT_ADMIN_REQUIRED`), in a supergroup every member does.
//! - `inputUserFromMessage` / `inputPeerUserFromMessage` are accepted when the viewer can see
//!   the chat named and the user is in it; the message id is not looked up.
//! - **Privacy**: rules apply in order, the first that matches the viewer decides, none
//!   matching denies; a key nobody set allows everybody, except `phone_number` (contacts only).
//!   `phone_number` hides the phone in `user`, `about` the bio in `userFull`, `added_by_phone`
//!   hides the user from `contacts.resolvePhone`/`importContacts`, `chat_invite` turns an
//!   invitation into a `missingInvitee`.
//!
//! # Methods
//!
//! `help.getConfig` (dc_options from `CallContext::dcs`), `help.getNearestDc`,
//! `help.getAppConfig`; `auth.sendCode`, `auth.signIn`, `auth.signUp`,
//! `auth.importBotAuthorization`, `auth.exportAuthorization`, `auth.importAuthorization`,
//! `auth.logOut`; `users.getUsers`, `users.getFullUser`; `contacts.resolveUsername`,
//! `contacts.resolvePhone`, `contacts.getContacts`, `contacts.importContacts`;
//! `account.updateProfile`, `account.updateUsername`, `account.setPrivacy`,
//! `account.getPrivacy`; `messages.getChats`, `messages.getFullChat`, `messages.getDialogs`
//! (always empty), `messages.sendMessage`, `messages.getHistory` (text messages, the last
//! 1000 of each box or channel); `channels.getChannels`, `channels.getFullChannel`,
//! `channels.getParticipants`, `channels.getParticipant`, `channels.inviteToChannel`,
//! `channels.createChannel`; `updates.getState`, `updates.getDifference`,
//! `updates.getChannelDifference`. Any other method answers 400 `METHOD_NOT_IMPLEMENTED`; a
//! body that does not decode (or an unknown constructor) 400 `INPUT_METHOD_INVALID`. Refused
//! calls: `PEER_ID_INVALID`, `USER_ID_INVALID`, `CHANNEL_INVALID`, `CHANNEL_PRIVATE`,
//! `CHAT_ID_INVALID`, `CHAT_ADMIN_REQUIRED`, `CHAT_WRITE_FORBIDDEN`, `USERS_TOO_MUCH`,
//! `USER_NOT_PARTICIPANT`, `USERNAME_INVALID`, `USERNAME_NOT_OCCUPIED`, `USERNAME_OCCUPIED`,
//! `USERNAME_NOT_MODIFIED`, `PHONE_NUMBER_INVALID`, `PHONE_NOT_OCCUPIED`,
//! `PHONE_NUMBER_OCCUPIED`, `PHONE_CODE_EMPTY`, `PHONE_CODE_INVALID`, `PHONE_CODE_EXPIRED`,
//! `ACCESS_TOKEN_INVALID`, `AUTH_BYTES_INVALID`, `DC_ID_INVALID`, `API_ID_INVALID`,
//! `FIRSTNAME_INVALID`, `LASTNAME_INVALID`, `ABOUT_TOO_LONG`, `CHAT_TITLE_EMPTY`,
//! `CHAT_TITLE_TOO_LONG`, `CHAT_ABOUT_TOO_LONG`, `PARTICIPANT_ID_INVALID`, `MESSAGE_EMPTY`,
//! `MESSAGE_TOO_LONG`, `RANDOM_ID_DUPLICATE`, `PRIVACY_TOO_LONG`, `PRIVACY_VALUE_INVALID`
//! (400); `AUTH_KEY_UNREGISTERED` (401); `PHONE_MIGRATE_X`, `USER_MIGRATE_X` (303);
//! `FLOOD_WAIT_X` (420, when set).
//!
//! # Tests
//!
//! The admin methods of [`World`] read the state after a client acted: [`World::user`],
//! [`World::privacy`], [`World::channel`], [`World::chat`], [`World::messages`],
//! [`World::method_count`], [`World::login_code`], [`World::signed_in_user`]; and
//! [`World::set_flood_wait`] makes a method answer 420 `FLOOD_WAIT_X`.
#![warn(missing_docs)]

use std::net::SocketAddr;

mod api;
mod builtin;
mod spec;
mod state;
mod world;

pub use spec::{
    ChannelSpec, ChatSpec, PrivacySpec, UserSpec, WorldError, WorldErrorKind, WorldSpec,
    MAX_FILE_LEN,
};
pub use state::{ClientInfo, PeerRef, Rule, StoredMessage};
pub use world::{ChatView, UserView, World};

/// One data centre served by the loopback server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DcAddr {
    /// Its id (1, 2, ...).
    pub id: i32,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Sends bodies to connected clients unasked (updates).
pub trait Outbox: Send + Sync {
    /// Queues `body` (a serialized `Updates`) to every live session of the auth key
    /// `auth_key_id`; a key with no live session drops it.
    fn push(&self, auth_key_id: i64, body: Vec<u8>);
}

/// What the protocol layer knows about a request.
pub struct CallContext<'a> {
    /// The DC the connection is to.
    pub dc: i32,
    /// Every DC of this server (for `help.getConfig`).
    pub dcs: &'a [DcAddr],
    /// The auth key the request was encrypted with.
    pub auth_key_id: i64,
    /// The client's session id.
    pub session_id: i64,
    /// The request's msg_id.
    pub msg_id: i64,
    /// A number unique to the TCP connection.
    pub connection: u64,
    /// Unix time on the server's (possibly skewed) clock.
    pub now: i64,
    /// Where to push updates for other sessions.
    pub outbox: &'a dyn Outbox,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The serialized result (the function's return type, boxed).
    Result(Vec<u8>),
    /// An `rpc_error`.
    Error {
        /// 400, 401, 403, 420, 500, 303 ...
        code: i32,
        /// `PEER_ID_INVALID`, `FLOOD_WAIT_31` ...
        message: String,
    },
}

impl Reply {
    /// An `rpc_error` with `code` and `message`.
    pub fn error(code: i32, message: impl Into<String>) -> Self {
        Self::Error {
            code,
            message: message.into(),
        }
    }
}

/// The API behind the server: one call per request body, already inflated and outside any
/// container. The body is the request as sent, wrappers (`invokeWithLayer`, `initConnection`,
/// `invokeAfterMsg` ...) included: they are API functions.
pub trait Service: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, ctx: &CallContext<'_>, body: &[u8]) -> Reply;
}
