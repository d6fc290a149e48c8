//! The world: its state behind a lock, the admin view for tests, and the `Service`.

use crate::spec::{WorldError, WorldSpec};
use crate::state::{ClientInfo, PeerRef, State, StoredMessage};
use crate::{CallContext, Outbox, Reply, Service};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tlgen_telegram::api::NAMES;

/// A small in-memory Telegram. `Send + Sync`: share it as `Arc<World>`.
///
/// Build it with [`World::builtin`] (the default world of the crate docs), [`World::from_file`]
/// or [`World::from_spec`]; hand it to the loopback server as its [`Service`]; read what
/// clients did with the admin methods ([`World::user`], [`World::privacy`],
/// [`World::channel`], [`World::method_count`] ...).
pub struct World {
    state: Mutex<State>,
}

/// A user as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// Id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name ("" when none).
    pub last_name: String,
    /// Usernames, the main (editable) one first.
    pub usernames: Vec<String>,
    /// Phone, digits only.
    pub phone: Option<String>,
    /// Bio.
    pub about: String,
    /// A bot.
    pub bot: bool,
    /// Home DC.
    pub dc: i32,
    /// Contact list (user ids).
    pub contacts: Vec<i64>,
}

/// A basic group, channel or supergroup as the admin view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatView {
    /// Id (bare, not marked).
    pub id: i64,
    /// Title.
    pub title: String,
    /// Public username (channels only).
    pub username: Option<String>,
    /// A supergroup (channels only).
    pub megagroup: bool,
    /// Description (channels only).
    pub about: String,
    /// The creator.
    pub creator: i64,
    /// Admins besides the creator.
    pub admins: Vec<i64>,
    /// Every member, the creator and admins included, by id.
    pub members: Vec<i64>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("World")
            .field("users", &st.users.len())
            .field("chats", &st.chats.len())
            .field("channels", &st.channels.len())
            .field("auth_keys", &st.auths.len())
            .finish_non_exhaustive()
    }
}

impl World {
    /// The built-in default world (described in the crate docs).
    pub fn builtin() -> World {
        match Self::from_spec(crate::builtin::spec()) {
            Ok(w) => w,
            Err(e) => unreachable!("the built-in world is consistent: {e}"),
        }
    }

    /// The description of the built-in world (to write it to a file and change it).
    pub fn builtin_spec() -> WorldSpec {
        crate::builtin::spec()
    }

    /// A world from its description; an inconsistent one (duplicate ids, unknown members,
    /// invalid usernames ...) is a [`WorldError`] saying what is wrong.
    pub fn from_spec(spec: WorldSpec) -> Result<World, WorldError> {
        Ok(World {
            state: Mutex::new(State::new(&spec)?),
        })
    }

    /// Reads a world file (JSON, the shape of [`WorldSpec`]). Errors name the path and, for
    /// syntax, the line and column.
    pub fn from_file(path: &Path) -> Result<World, WorldError> {
        let spec = WorldSpec::from_file(path)?;
        Self::from_spec(spec).map_err(|e| e.at(path))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The code `auth.signIn` accepts for every phone.
    pub fn login_code(&self) -> String {
        self.lock().login_code.clone()
    }

    /// A user's profile, or `None` when there is no such user.
    pub fn user(&self, id: i64) -> Option<UserView> {
        let st = self.lock();
        st.users.get(&id).map(|u| UserView {
            id: u.id,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            usernames: u.usernames.clone(),
            phone: u.phone.clone(),
            about: u.about.clone(),
            bot: u.bot,
            dc: u.dc,
            contacts: u.contacts.iter().copied().collect(),
        })
    }

    /// The id of the user with this phone (any format `auth.sendCode` accepts).
    pub fn user_by_phone(&self, phone: &str) -> Option<i64> {
        let phone = crate::state::normalize_phone(phone)?;
        self.lock().user_by_phone(&phone)
    }

    /// The privacy rules `user` set for `key` (`phone_number`, `status_timestamp` ...), in the
    /// text form of world files (`allow_contacts`, `disallow_users:1002` ...); the default
    /// rules when the user set none; `None` for an unknown user or key.
    pub fn privacy(&self, user: i64, key: &str) -> Option<Vec<String>> {
        let st = self.lock();
        let u = st.users.get(&user)?;
        if !crate::state::PRIVACY_KEYS.contains(&key) {
            return None;
        }
        let rules = match u.privacy.get(key) {
            Some(r) => r.clone(),
            None => crate::state::default_rules(key),
        };
        Some(rules.iter().map(|r| r.to_string()).collect())
    }

    /// A channel or supergroup (bare id).
    pub fn channel(&self, id: i64) -> Option<ChatView> {
        let st = self.lock();
        st.channels.get(&id).map(|c| ChatView {
            id: c.id,
            title: c.title.clone(),
            username: c.username.clone(),
            megagroup: c.megagroup,
            about: c.about.clone(),
            creator: c.creator,
            admins: c.admins.iter().copied().collect(),
            members: c.members.iter().copied().collect(),
        })
    }

    /// A channel's members (creator and admins included), or `None` for an unknown channel.
    pub fn channel_members(&self, id: i64) -> Option<Vec<i64>> {
        self.channel(id).map(|c| c.members)
    }

    /// A basic group.
    pub fn chat(&self, id: i64) -> Option<ChatView> {
        let st = self.lock();
        st.chats.get(&id).map(|c| ChatView {
            id: c.id,
            title: c.title.clone(),
            username: None,
            megagroup: false,
            about: String::new(),
            creator: c.creator,
            admins: c.admins.iter().copied().collect(),
            members: c.members.iter().copied().collect(),
        })
    }

    /// How many times the handler of `method` (its TL name, `messages.sendMessage`) ran.
    /// Wrappers count under their own names as well; a call refused before its handler ran
    /// (`AUTH_KEY_UNREGISTERED`, `FLOOD_WAIT_X`, `USER_MIGRATE_X`, a body that does not
    /// decode) does not count.
    pub fn method_count(&self, method: &str) -> u64 {
        self.lock().counts.get(method).copied().unwrap_or(0)
    }

    /// Every method that ran, with its count.
    pub fn method_counts(&self) -> BTreeMap<String, u64> {
        self.lock()
            .counts
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// The user an auth key is signed in as.
    pub fn signed_in_user(&self, auth_key_id: i64) -> Option<i64> {
        self.lock().auths.get(&auth_key_id).and_then(|a| a.user)
    }

    /// Signs an auth key in as `user` without the login flow (for tests of the server half).
    /// False when there is no such user.
    pub fn sign_in(&self, auth_key_id: i64, user: i64) -> bool {
        let mut st = self.lock();
        if !st.users.contains_key(&user) {
            return false;
        }
        st.auths.entry(auth_key_id).or_default().user = Some(user);
        true
    }

    /// What `initConnection` (and `invokeWithLayer`) said for an auth key.
    pub fn client_info(&self, auth_key_id: i64) -> Option<ClientInfo> {
        self.lock()
            .auths
            .get(&auth_key_id)
            .and_then(|a| a.client.clone())
    }

    /// Every message sent, in order (the sender's copy).
    pub fn messages(&self) -> Vec<StoredMessage> {
        self.lock().messages.clone()
    }

    /// The messages sent to `peer` (a user's private chat with anybody, a group, a channel).
    pub fn messages_to(&self, peer: PeerRef) -> Vec<StoredMessage> {
        self.lock()
            .messages
            .iter()
            .filter(|m| m.peer == peer)
            .cloned()
            .collect()
    }

    /// The access hash `viewer` receives for user `target`.
    pub fn user_access_hash(&self, viewer: i64, target: i64) -> i64 {
        self.lock().user_hash(viewer, target)
    }

    /// The access hash `viewer` receives for channel `channel`.
    pub fn channel_access_hash(&self, viewer: i64, channel: i64) -> i64 {
        self.lock().channel_hash(viewer, channel)
    }

    /// Every call of `method` (a TL name such as `users.getUsers`, or a constructor id as
    /// `0x0d91a548` or decimal) answers 420 `FLOOD_WAIT_<seconds>` until
    /// [`World::clear_flood_wait`]. False when the method is unknown.
    pub fn set_flood_wait(&self, method: &str, seconds: i32) -> bool {
        self.set_flood_wait_times(method, seconds, None)
    }

    /// The next `times` calls of `method` (all of them when `None`) answer 420
    /// `FLOOD_WAIT_<seconds>`. False when the method is unknown.
    pub fn set_flood_wait_times(&self, method: &str, seconds: i32, times: Option<u32>) -> bool {
        let Some(id) = method_id(method) else {
            return false;
        };
        self.lock().flood.insert(id, (seconds.max(0), times));
        true
    }

    /// Removes the `FLOOD_WAIT` rule of `method`.
    pub fn clear_flood_wait(&self, method: &str) {
        if let Some(id) = method_id(method) {
            self.lock().flood.remove(&id);
        }
    }
}

/// The TL name of a constructor or function id.
pub(crate) fn name_of(id: u32) -> Option<&'static str> {
    NAMES
        .binary_search_by_key(&id, |(i, _)| *i)
        .ok()
        .map(|i| NAMES[i].1)
}

/// A method given by name, `0x` hex id or decimal id.
fn method_id(method: &str) -> Option<u32> {
    let method = method.trim();
    if let Some(hex) = method.strip_prefix("0x") {
        let id = u32::from_str_radix(hex, 16).ok()?;
        return name_of(id).map(|_| id);
    }
    if let Ok(id) = method.parse::<u32>() {
        return name_of(id).map(|_| id);
    }
    if let Ok(id) = method.parse::<i32>() {
        return name_of(id as u32).map(|_| id as u32);
    }
    NAMES.iter().find(|(_, n)| *n == method).map(|(i, _)| *i)
}

/// Holds the pushes of one call until the world's lock is released.
#[derive(Default)]
struct Held(Mutex<Vec<(i64, Vec<u8>)>>);

impl Outbox for Held {
    fn push(&self, auth_key_id: i64, body: Vec<u8>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((auth_key_id, body));
    }
}

impl Service for World {
    fn call(&self, ctx: &CallContext<'_>, body: &[u8]) -> Reply {
        // The outbox is called after the lock is released: an outbox that blocks, or one
        // that calls the world, cannot stall other calls.
        let held = Held::default();
        let inner = CallContext {
            dc: ctx.dc,
            dcs: ctx.dcs,
            auth_key_id: ctx.auth_key_id,
            session_id: ctx.session_id,
            msg_id: ctx.msg_id,
            connection: ctx.connection,
            now: ctx.now,
            outbox: &held,
        };
        let reply = {
            let mut st = self.lock();
            crate::api::call(&mut st, &inner, body)
        };
        let pushes = held.0.into_inner().unwrap_or_else(|e| e.into_inner());
        for (key, body) in pushes {
            ctx.outbox.push(key, body);
        }
        reply
    }
}
