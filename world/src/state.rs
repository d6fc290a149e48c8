//! The world's mutable state: records, access hashes, and how records look to a viewer.

use crate::spec::{WorldError, WorldSpec};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use tlgen_session::MarkedId;
use tlgen_telegram::{enums, types};

/// Most updates kept per user for `updates.getDifference`.
pub(crate) const MAX_LOG: usize = 1000;
/// Most pending login codes and exported authorizations kept.
pub(crate) const MAX_PENDING: usize = 1024;

/// A chat as the admin view and messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeerRef {
    /// A user (private chat).
    User(i64),
    /// A basic group.
    Chat(i64),
    /// A channel or supergroup.
    Channel(i64),
}

/// One privacy rule. Written in world files and shown by the admin view as `allow_all`,
/// `allow_contacts`, `allow_close_friends`, `allow_premium`, `allow_bots`, `allow_users:1,2`,
/// `allow_chats:4242`, `disallow_all`, `disallow_contacts`, `disallow_bots`,
/// `disallow_users:3`, `disallow_chats:4242`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `allow_all`
    AllowAll,
    /// `allow_contacts`
    AllowContacts,
    /// `allow_close_friends`
    AllowCloseFriends,
    /// `allow_premium`
    AllowPremium,
    /// `allow_bots`
    AllowBots,
    /// `allow_users:ids`
    AllowUsers(Vec<i64>),
    /// `allow_chats:ids` (chat or channel ids)
    AllowChats(Vec<i64>),
    /// `disallow_all`
    DisallowAll,
    /// `disallow_contacts`
    DisallowContacts,
    /// `disallow_bots`
    DisallowBots,
    /// `disallow_users:ids`
    DisallowUsers(Vec<i64>),
    /// `disallow_chats:ids`
    DisallowChats(Vec<i64>),
}

fn ids(list: &[i64]) -> String {
    list.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

impl Rule {
    /// Parses the text form.
    pub fn parse(text: &str) -> Option<Rule> {
        let (head, tail) = match text.split_once(':') {
            Some((h, t)) => (h, Some(t)),
            None => (text, None),
        };
        let list = || -> Option<Vec<i64>> {
            let t = tail?;
            if t.trim().is_empty() {
                return Some(Vec::new());
            }
            t.split(',').map(|s| s.trim().parse().ok()).collect()
        };
        Some(match (head, tail) {
            ("allow_all", None) => Rule::AllowAll,
            ("allow_contacts", None) => Rule::AllowContacts,
            ("allow_close_friends", None) => Rule::AllowCloseFriends,
            ("allow_premium", None) => Rule::AllowPremium,
            ("allow_bots", None) => Rule::AllowBots,
            ("allow_users", Some(_)) => Rule::AllowUsers(list()?),
            ("allow_chats", Some(_)) => Rule::AllowChats(list()?),
            ("disallow_all", None) => Rule::DisallowAll,
            ("disallow_contacts", None) => Rule::DisallowContacts,
            ("disallow_bots", None) => Rule::DisallowBots,
            ("disallow_users", Some(_)) => Rule::DisallowUsers(list()?),
            ("disallow_chats", Some(_)) => Rule::DisallowChats(list()?),
            _ => return None,
        })
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::AllowAll => f.write_str("allow_all"),
            Rule::AllowContacts => f.write_str("allow_contacts"),
            Rule::AllowCloseFriends => f.write_str("allow_close_friends"),
            Rule::AllowPremium => f.write_str("allow_premium"),
            Rule::AllowBots => f.write_str("allow_bots"),
            Rule::AllowUsers(l) => write!(f, "allow_users:{}", ids(l)),
            Rule::AllowChats(l) => write!(f, "allow_chats:{}", ids(l)),
            Rule::DisallowAll => f.write_str("disallow_all"),
            Rule::DisallowContacts => f.write_str("disallow_contacts"),
            Rule::DisallowBots => f.write_str("disallow_bots"),
            Rule::DisallowUsers(l) => write!(f, "disallow_users:{}", ids(l)),
            Rule::DisallowChats(l) => write!(f, "disallow_chats:{}", ids(l)),
        }
    }
}

/// The privacy keys, by their snake-case names (`inputPrivacyKeyPhoneNumber` is
/// `phone_number`).
pub(crate) const PRIVACY_KEYS: &[&str] = &[
    "about",
    "added_by_phone",
    "birthday",
    "chat_invite",
    "forwards",
    "no_paid_messages",
    "phone_call",
    "phone_number",
    "phone_p2p",
    "profile_photo",
    "saved_music",
    "star_gifts_auto_save",
    "status_timestamp",
    "voice_messages",
];

/// The rules of a key nobody set: everybody, except the phone number (contacts only).
pub(crate) fn default_rules(key: &str) -> Vec<Rule> {
    match key {
        "phone_number" => vec![Rule::AllowContacts],
        _ => vec![Rule::AllowAll],
    }
}

pub(crate) struct UserRec {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub usernames: Vec<String>,
    pub phone: Option<String>,
    pub about: String,
    pub bot: bool,
    pub bot_token: Option<String>,
    pub dc: i32,
    pub contacts: BTreeSet<i64>,
    pub privacy: BTreeMap<String, Vec<Rule>>,
    /// The common message box: pts, the last private/basic-group message id.
    pub pts: i32,
    pub last_msg_id: i32,
    /// New messages for `updates.getDifference`, at most [`MAX_LOG`].
    pub log: Vec<LogEntry>,
    pub random_ids: BTreeSet<i64>,
}

/// One new message in a user's common box.
pub(crate) struct LogEntry {
    /// The box's pts after it.
    pub pts: i32,
    pub message: enums::Message,
    pub from: i64,
    /// The chat, as the box's owner names it.
    pub peer: PeerRef,
}

pub(crate) struct ChatRec {
    pub id: i64,
    pub title: String,
    pub creator: i64,
    pub admins: BTreeSet<i64>,
    /// Everybody, the creator and admins included.
    pub members: BTreeSet<i64>,
}

pub(crate) struct ChannelRec {
    pub id: i64,
    pub title: String,
    pub username: Option<String>,
    pub megagroup: bool,
    pub about: String,
    pub creator: i64,
    pub admins: BTreeSet<i64>,
    /// Everybody, the creator and admins included.
    pub members: BTreeSet<i64>,
    pub date: i32,
    pub pts: i32,
    pub last_msg_id: i32,
    /// (pts after, message as a non-sender sees it, sender) for
    /// `updates.getChannelDifference`, at most [`MAX_LOG`].
    pub log: Vec<(i32, enums::Message, i64)>,
}

/// What `initConnection` said about the client of an auth key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    /// `api_id`.
    pub api_id: i32,
    /// `device_model`.
    pub device_model: String,
    /// `system_version`.
    pub system_version: String,
    /// `app_version`.
    pub app_version: String,
    /// `system_lang_code`.
    pub system_lang_code: String,
    /// `lang_pack`.
    pub lang_pack: String,
    /// `lang_code`.
    pub lang_code: String,
    /// The layer of the last `invokeWithLayer`, if any.
    pub layer: Option<i32>,
}

#[derive(Default)]
pub(crate) struct AuthRec {
    pub user: Option<i64>,
    pub client: Option<ClientInfo>,
}

pub(crate) struct PendingCode {
    pub phone: String,
}

pub(crate) struct Export {
    pub user: i64,
    pub dc: i32,
    pub bytes: Vec<u8>,
}

/// A message as stored (the sender's copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its id in the sender's box (private chats, basic groups) or in the channel.
    pub id: i32,
    /// Who sent it.
    pub from: i64,
    /// Where.
    pub peer: PeerRef,
    /// The text.
    pub text: String,
    /// Unix time.
    pub date: i32,
    /// The client's `random_id`.
    pub random_id: i64,
}

pub(crate) struct State {
    pub secret: Vec<u8>,
    pub login_code: String,
    pub default_dc: i32,
    pub users: BTreeMap<i64, UserRec>,
    pub chats: BTreeMap<i64, ChatRec>,
    pub channels: BTreeMap<i64, ChannelRec>,
    pub auths: BTreeMap<i64, AuthRec>,
    pub codes: BTreeMap<String, PendingCode>,
    pub exports: BTreeMap<i64, Export>,
    pub messages: Vec<StoredMessage>,
    pub counts: BTreeMap<&'static str, u64>,
    /// Constructor id → (seconds, calls left or every call).
    pub flood: BTreeMap<u32, (i32, Option<u32>)>,
    pub serial: u64,
}

/// What [`valid_username`] accepts, for error messages.
const USERNAME_RULE: &str = "5 to 32 of a-z, A-Z, 0-9 and _, starting with a letter, \
                             no __, not ending with _";

/// The forms of [`Rule`], for error messages.
const RULE_FORMS: &str = "allow_all, allow_contacts, allow_users:ID,..., allow_chats:ID,..., \
                          allow_bots, allow_premium, allow_close_friends, disallow_all, \
                          disallow_contacts, disallow_users:ID,..., disallow_chats:ID,..., \
                          disallow_bots";

/// The members of a group or channel of a world file (creator and admins included), after
/// checking its title and that each is a user of the world.
fn group_members<U>(
    who: &str,
    title: &str,
    creator: i64,
    admins: &[i64],
    members: &[i64],
    users: &BTreeMap<i64, U>,
) -> Result<BTreeSet<i64>, String> {
    if title.trim().is_empty() || title.chars().count() > 128 {
        return Err(format!("{who}: title must be 1 to 128 characters"));
    }
    let mut all = BTreeSet::new();
    for m in std::iter::once(&creator).chain(admins).chain(members) {
        if !users.contains_key(m) {
            return Err(format!("{who}: member {m} is not a user of the world"));
        }
        all.insert(*m);
    }
    Ok(all)
}

pub(crate) fn valid_username(name: &str) -> bool {
    let b = name.as_bytes();
    (5..=32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !name.ends_with('_')
        && !name.contains("__")
}

/// Digits of a phone number (`+1 555-000 1001` → `15550001001`), or `None` when it is not one.
pub(crate) fn normalize_phone(phone: &str) -> Option<String> {
    if phone.len() > 64 {
        return None;
    }
    let mut digits = String::new();
    for c in phone.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '+' | ' ' | '-' | '(' | ')' => {}
            _ => return None,
        }
    }
    (5..=15).contains(&digits.len()).then_some(digits)
}

impl State {
    pub fn new(spec: &WorldSpec) -> Result<State, WorldError> {
        let bad = |m: String| Err(WorldError::invalid(m));
        if normalize_code(&spec.login_code).is_none() {
            return bad(format!(
                "login_code {:?} must be 5 digits or more (at most 10)",
                spec.login_code
            ));
        }
        if !(1..=1000).contains(&spec.default_dc) {
            return bad(format!(
                "default_dc {} is not a DC id (1..=1000)",
                spec.default_dc
            ));
        }
        let mut users = BTreeMap::new();
        let mut taken: BTreeMap<String, String> = BTreeMap::new();
        let mut phones = BTreeSet::new();
        for u in &spec.users {
            let who = format!("user {}", u.id);
            if let Err(e) = MarkedId::user(u.id) {
                return bad(format!("{who}: not a user id: {e}"));
            }
            if users.contains_key(&u.id) {
                return bad(format!("{who}: duplicate id"));
            }
            if u.first_name.trim().is_empty() || u.first_name.chars().count() > 64 {
                return bad(format!("{who}: first_name must be 1 to 64 characters"));
            }
            if u.last_name.chars().count() > 64 || u.about.chars().count() > 70 {
                return bad(format!(
                    "{who}: last_name is at most 64 characters, about at most 70"
                ));
            }
            if !(1..=1000).contains(&u.dc) {
                return bad(format!("{who}: dc {} is not a DC id (1..=1000)", u.dc));
            }
            for name in &u.usernames {
                if !valid_username(name) {
                    return bad(format!(
                        "{who}: username {name:?} is not valid ({USERNAME_RULE})"
                    ));
                }
                if let Some(owner) = taken.insert(name.to_ascii_lowercase(), who.clone()) {
                    return bad(format!("{who}: username {name:?} is also {owner}'s"));
                }
            }
            let phone = match &u.phone {
                Some(p) => match normalize_phone(p) {
                    Some(p) if phones.insert(p.clone()) => Some(p),
                    Some(_) => return bad(format!("{who}: phone {p:?} is also another user's")),
                    None => return bad(format!("{who}: phone {p:?} is not 5 to 15 digits")),
                },
                None => None,
            };
            if u.bot != u.bot_token.is_some() {
                return bad(format!("{who}: a bot has a bot_token, and only a bot"));
            }
            if let Some(t) = &u.bot_token {
                if t.len() < 8
                    || !t
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    return bad(format!(
                        "{who}: bot_token must be 8 or more of A-Z, a-z, 0-9, _ and -"
                    ));
                }
            }
            let mut privacy = BTreeMap::new();
            for p in &u.privacy {
                if !PRIVACY_KEYS.contains(&p.key.as_str()) {
                    return bad(format!(
                        "{who}: unknown privacy key {:?} (one of {})",
                        p.key,
                        PRIVACY_KEYS.join(", ")
                    ));
                }
                let mut rules = Vec::new();
                for r in &p.rules {
                    match Rule::parse(r) {
                        Some(rule) => rules.push(rule),
                        None => {
                            return bad(format!(
                                "{who}: privacy rule {r:?} of {} is not one of {RULE_FORMS}",
                                p.key
                            ))
                        }
                    }
                }
                privacy.insert(p.key.clone(), rules);
            }
            users.insert(
                u.id,
                UserRec {
                    id: u.id,
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    usernames: u.usernames.clone(),
                    phone,
                    about: u.about.clone(),
                    bot: u.bot,
                    bot_token: u.bot_token.clone(),
                    dc: u.dc,
                    contacts: BTreeSet::new(),
                    privacy,
                    pts: 1,
                    last_msg_id: 0,
                    log: Vec::new(),
                    random_ids: BTreeSet::new(),
                },
            );
        }
        for u in &spec.users {
            for c in &u.contacts {
                if !users.contains_key(c) || *c == u.id {
                    return bad(format!(
                        "user {}: contact {c} is not another user of the world",
                        u.id
                    ));
                }
            }
            if let Some(rec) = users.get_mut(&u.id) {
                rec.contacts = u.contacts.iter().copied().collect();
            }
        }
        let mut chats = BTreeMap::new();
        for c in &spec.chats {
            let who = format!("chat {}", c.id);
            if let Err(e) = MarkedId::chat(c.id) {
                return bad(format!("{who}: not a basic group id: {e}"));
            }
            if chats.contains_key(&c.id) {
                return bad(format!("{who}: duplicate id"));
            }
            let members =
                match group_members(&who, &c.title, c.creator, &c.admins, &c.members, &users) {
                    Ok(m) => m,
                    Err(m) => return bad(m),
                };
            chats.insert(
                c.id,
                ChatRec {
                    id: c.id,
                    title: c.title.clone(),
                    creator: c.creator,
                    admins: c.admins.iter().copied().collect(),
                    members,
                },
            );
        }
        let mut channels = BTreeMap::new();
        for c in &spec.channels {
            let who = format!("channel {}", c.id);
            if let Err(e) = MarkedId::channel(c.id) {
                return bad(format!("{who}: not a channel id: {e}"));
            }
            if channels.contains_key(&c.id) {
                return bad(format!("{who}: duplicate id"));
            }
            if c.about.chars().count() > 255 {
                return bad(format!("{who}: about is at most 255 characters"));
            }
            if let Some(name) = &c.username {
                if !valid_username(name) {
                    return bad(format!(
                        "{who}: username {name:?} is not valid ({USERNAME_RULE})"
                    ));
                }
                if let Some(owner) = taken.insert(name.to_ascii_lowercase(), who.clone()) {
                    return bad(format!("{who}: username {name:?} is also {owner}'s"));
                }
            }
            let members =
                match group_members(&who, &c.title, c.creator, &c.admins, &c.members, &users) {
                    Ok(m) => m,
                    Err(m) => return bad(m),
                };
            channels.insert(
                c.id,
                ChannelRec {
                    id: c.id,
                    title: c.title.clone(),
                    username: c.username.clone(),
                    megagroup: c.megagroup,
                    about: c.about.clone(),
                    creator: c.creator,
                    admins: c.admins.iter().copied().collect(),
                    members,
                    date: 0,
                    pts: 1,
                    last_msg_id: 0,
                    log: Vec::new(),
                },
            );
        }
        Ok(State {
            secret: spec.secret.as_bytes().to_vec(),
            login_code: spec.login_code.clone(),
            default_dc: spec.default_dc,
            users,
            chats,
            channels,
            auths: BTreeMap::new(),
            codes: BTreeMap::new(),
            exports: BTreeMap::new(),
            messages: Vec::new(),
            counts: BTreeMap::new(),
            flood: BTreeMap::new(),
            serial: 0,
        })
    }

    /// A keyed hash of `parts`, 8 bytes.
    pub fn keyed(&self, tag: &[u8], parts: &[i64]) -> i64 {
        let mut h = Sha256::new();
        h.update((self.secret.len() as u64).to_le_bytes());
        h.update(&self.secret);
        h.update(tag);
        for p in parts {
            h.update(p.to_le_bytes());
        }
        let d = h.finalize();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        match i64::from_le_bytes(b) {
            0 => 1,
            v => v,
        }
    }

    /// The access hash `viewer` gets for user `target`.
    pub fn user_hash(&self, viewer: i64, target: i64) -> i64 {
        self.keyed(b"user", &[viewer, target])
    }

    /// The access hash `viewer` gets for channel `target`.
    pub fn channel_hash(&self, viewer: i64, target: i64) -> i64 {
        self.keyed(b"channel", &[viewer, target])
    }

    pub fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    pub fn user_by_phone(&self, phone: &str) -> Option<i64> {
        self.users
            .values()
            .find(|u| u.phone.as_deref() == Some(phone))
            .map(|u| u.id)
    }

    pub fn owner_of_username(&self, name: &str) -> Option<PeerRef> {
        let lower = name.to_ascii_lowercase();
        if let Some(u) = self
            .users
            .values()
            .find(|u| u.usernames.iter().any(|n| n.to_ascii_lowercase() == lower))
        {
            return Some(PeerRef::User(u.id));
        }
        self.channels
            .values()
            .find(|c| c.username.as_deref().map(|n| n.to_ascii_lowercase()) == Some(lower.clone()))
            .map(|c| PeerRef::Channel(c.id))
    }

    pub fn is_contact(&self, owner: i64, other: i64) -> bool {
        self.users
            .get(&owner)
            .is_some_and(|u| u.contacts.contains(&other))
    }

    fn in_chat_or_channel(&self, id: i64, user: i64) -> bool {
        self.chats
            .get(&id)
            .is_some_and(|c| c.members.contains(&user))
            || self
                .channels
                .get(&id)
                .is_some_and(|c| c.members.contains(&user))
    }

    /// Whether `owner`'s rules for `key` let `viewer` see or do it. Rules apply in order, the
    /// first that matches decides; none matching denies. The owner always may.
    pub fn allows(&self, owner: i64, key: &str, viewer: i64) -> bool {
        if owner == viewer {
            return true;
        }
        let Some(rec) = self.users.get(&owner) else {
            return false;
        };
        let default;
        let rules = match rec.privacy.get(key) {
            Some(r) => r,
            None => {
                default = default_rules(key);
                &default
            }
        };
        let contact = rec.contacts.contains(&viewer);
        let bot = self.users.get(&viewer).is_some_and(|u| u.bot);
        for rule in rules {
            let decided = match rule {
                Rule::AllowAll => Some(true),
                Rule::DisallowAll => Some(false),
                Rule::AllowContacts if contact => Some(true),
                Rule::DisallowContacts if contact => Some(false),
                Rule::AllowBots if bot => Some(true),
                Rule::DisallowBots if bot => Some(false),
                Rule::AllowUsers(l) if l.contains(&viewer) => Some(true),
                Rule::DisallowUsers(l) if l.contains(&viewer) => Some(false),
                Rule::AllowChats(l) if l.iter().any(|c| self.in_chat_or_channel(*c, viewer)) => {
                    Some(true)
                }
                Rule::DisallowChats(l) if l.iter().any(|c| self.in_chat_or_channel(*c, viewer)) => {
                    Some(false)
                }
                _ => None,
            };
            if let Some(d) = decided {
                return d;
            }
        }
        false
    }

    /// User `id` as `viewer` sees it.
    pub fn render_user(&self, viewer: i64, id: i64) -> enums::User {
        let Some(u) = self.users.get(&id) else {
            return types::UserEmpty { id }.into();
        };
        let mutual = self.is_contact(viewer, id) && self.is_contact(id, viewer);
        let phone = if self.allows(id, "phone_number", viewer) {
            u.phone.clone()
        } else {
            None
        };
        let usernames = (u.usernames.len() > 1).then(|| {
            u.usernames
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    types::Username {
                        editable: i == 0,
                        active: true,
                        username: n.clone(),
                    }
                    .into()
                })
                .collect()
        });
        types::User {
            self_: viewer == id,
            contact: self.is_contact(viewer, id),
            mutual_contact: mutual,
            id,
            access_hash: Some(self.user_hash(viewer, id)),
            first_name: Some(u.first_name.clone()),
            last_name: (!u.last_name.is_empty()).then(|| u.last_name.clone()),
            username: u.usernames.first().cloned(),
            phone,
            bot_info_version: u.bot.then_some(1),
            usernames,
            ..Default::default()
        }
        .into()
    }

    pub fn admin_rights(creator: bool) -> enums::ChatAdminRights {
        types::ChatAdminRights {
            change_info: true,
            post_messages: true,
            edit_messages: true,
            delete_messages: true,
            ban_users: true,
            invite_users: true,
            pin_messages: true,
            add_admins: creator,
            manage_call: true,
            other: true,
            ..Default::default()
        }
        .into()
    }

    /// Basic group `id` as `viewer` sees it.
    pub fn render_chat(&self, viewer: i64, id: i64) -> enums::Chat {
        let Some(c) = self.chats.get(&id) else {
            return types::ChatEmpty { id }.into();
        };
        if !c.members.contains(&viewer) {
            return types::ChatForbidden {
                id,
                title: c.title.clone(),
            }
            .into();
        }
        let admin = c.creator == viewer || c.admins.contains(&viewer);
        types::Chat {
            creator: c.creator == viewer,
            id,
            title: c.title.clone(),
            participants_count: c.members.len() as i32,
            version: 1,
            admin_rights: admin.then(|| Self::admin_rights(c.creator == viewer)),
            ..Default::default()
        }
        .into()
    }

    /// Channel `id` as `viewer` sees it.
    pub fn render_channel(&self, viewer: i64, id: i64) -> enums::Chat {
        let Some(c) = self.channels.get(&id) else {
            return types::ChatEmpty { id }.into();
        };
        let member = c.members.contains(&viewer);
        let admin = c.creator == viewer || c.admins.contains(&viewer);
        types::Channel {
            creator: c.creator == viewer,
            left: !member,
            broadcast: !c.megagroup,
            megagroup: c.megagroup,
            id,
            access_hash: Some(self.channel_hash(viewer, id)),
            title: c.title.clone(),
            username: c.username.clone(),
            date: c.date,
            admin_rights: admin.then(|| Self::admin_rights(c.creator == viewer)),
            participants_count: Some(c.members.len() as i32),
            ..Default::default()
        }
        .into()
    }

    pub fn render_peer_chat(&self, viewer: i64, peer: PeerRef) -> Option<enums::Chat> {
        match peer {
            PeerRef::User(_) => None,
            PeerRef::Chat(id) => Some(self.render_chat(viewer, id)),
            PeerRef::Channel(id) => Some(self.render_channel(viewer, id)),
        }
    }

    /// The auth keys signed in as `user`.
    pub fn keys_of(&self, user: i64) -> Vec<i64> {
        self.auths
            .iter()
            .filter(|(_, a)| a.user == Some(user))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Drops the oldest entries of a map keyed by insertion serials past [`MAX_PENDING`].
    pub fn trim_pending(&mut self) {
        while self.codes.len() > MAX_PENDING {
            let Some(k) = self.codes.keys().next().cloned() else {
                break;
            };
            self.codes.remove(&k);
        }
        while self.exports.len() > MAX_PENDING {
            let Some(k) = self.exports.keys().next().copied() else {
                break;
            };
            self.exports.remove(&k);
        }
    }
}

/// The login code if it is 5 to 10 digits.
fn normalize_code(code: &str) -> Option<&str> {
    ((5..=10).contains(&code.len()) && code.bytes().all(|c| c.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_back_as_written() {
        for text in [
            "allow_all",
            "allow_contacts",
            "allow_close_friends",
            "allow_premium",
            "allow_bots",
            "allow_users:1,2",
            "allow_chats:4242",
            "disallow_all",
            "disallow_contacts",
            "disallow_bots",
            "disallow_users:3",
            "disallow_chats:1,1234567890",
            "allow_users:",
        ] {
            let rule = Rule::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(rule.to_string(), text);
        }
        for bad in [
            "",
            "allow",
            "allow_all:1",
            "allow_users",
            "allow_users:x",
            "allow_users:1,,2",
        ] {
            assert_eq!(Rule::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn phones_and_usernames() {
        assert_eq!(
            normalize_phone("+1 (555) 000-1001").as_deref(),
            Some("15550001001")
        );
        assert_eq!(normalize_phone("1234"), None);
        assert_eq!(normalize_phone("1234567890123456"), None);
        assert_eq!(normalize_phone("12345x"), None);
        assert_eq!(normalize_phone(&"1".repeat(100)), None);
        for good in ["alice", "alice_l", "a1234", "tlgen_news"] {
            assert!(valid_username(good), "{good}");
        }
        for bad in [
            "",
            "abcd",
            "1abcd",
            "_abcd",
            "abcd_",
            "ab__cd",
            "héllo",
            &"a".repeat(33),
        ] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn hashes_depend_on_viewer_target_kind_and_secret() {
        let a = State::new(&crate::builtin::spec()).unwrap();
        let mut other = crate::builtin::spec();
        other.secret = "x".into();
        let b = State::new(&other).unwrap();
        assert_ne!(a.user_hash(1, 2), a.user_hash(2, 1));
        assert_ne!(a.user_hash(1, 2), a.user_hash(1, 3));
        assert_ne!(a.user_hash(1, 2), a.channel_hash(1, 2));
        assert_ne!(a.user_hash(1, 2), b.user_hash(1, 2));
        assert_eq!(
            a.user_hash(1, 2),
            State::new(&crate::builtin::spec()).unwrap().user_hash(1, 2)
        );
    }

    #[test]
    fn privacy_first_matching_rule_decides() {
        let mut st = State::new(&crate::builtin::spec()).unwrap();
        let set = |st: &mut State, rules: Vec<Rule>| {
            st.users
                .get_mut(&1003)
                .unwrap()
                .privacy
                .insert("about".into(), rules);
        };
        set(
            &mut st,
            vec![Rule::DisallowUsers(vec![1001]), Rule::AllowAll],
        );
        assert!(!st.allows(1003, "about", 1001));
        assert!(st.allows(1003, "about", 1002));
        assert!(st.allows(1003, "about", 1003), "the owner always may");
        set(&mut st, vec![Rule::AllowChats(vec![4242])]);
        assert!(st.allows(1003, "about", 1002), "Bob is in the Tea Party");
        assert!(!st.allows(1003, "about", 1004), "Dave is not");
        set(&mut st, vec![]);
        assert!(!st.allows(1003, "about", 1001), "no rule matching denies");
        set(&mut st, vec![Rule::AllowBots]);
        assert!(st.allows(1003, "about", 7000000001));
    }
}
