//! Peers: what the cache learns from results and updates, what `resolve_peer` accepts, and
//! the `InputPeer`, `InputUser` and `InputChannel` a resolved peer becomes.

use std::fmt;

use tlgen_session::{MarkedId, PeerKind, PeerRecord};

use crate::visit::{Visitor, Walk};
use crate::{enums, types};

/// Every user, basic chat and channel inside `value` (a result or an update), as the peer
/// cache stores them. Empty users and chats carry nothing to store and are skipped.
///
/// A `min` user or channel (whose access hash works only with a message reference) gets
/// `seen_in`: the chat and id of a message in the same value that it sent, so that it can be
/// addressed with `inputPeerUserFromMessage` / `inputPeerChannelFromMessage`.
pub fn collect(value: &(impl Walk + ?Sized)) -> Vec<PeerRecord> {
    let mut found = Collector::default();
    value.walk(&mut found);
    let Collector { mut peers, senders } = found;
    // Ids outside Telegram's ranges cannot be addressed (nor marked): not stored.
    peers.retain(|p| p.marked_id().is_ok());
    for p in peers.iter_mut().filter(|p| p.min && p.seen_in.is_none()) {
        p.seen_in = senders
            .iter()
            .find(|(kind, id, _, _)| *kind == p.kind && *id == p.id)
            .map(|&(_, _, chat, msg)| (chat, msg));
    }
    peers
}

#[derive(Default)]
struct Collector {
    peers: Vec<PeerRecord>,
    /// (sender kind, sender id, marked id of the chat, message id) of each message found.
    senders: Vec<(PeerKind, i64, i64, i32)>,
}

fn kind_id(peer: &enums::Peer) -> (PeerKind, i64) {
    match peer {
        enums::Peer::User(p) => (PeerKind::User, p.user_id),
        enums::Peer::Chat(p) => (PeerKind::Chat, p.chat_id),
        enums::Peer::Channel(p) => (PeerKind::Channel, p.channel_id),
    }
}

fn names(first: Option<&String>, list: Option<&Vec<enums::Username>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let all = first.into_iter().map(String::as_str).chain(
        list.into_iter()
            .flatten()
            .map(|enums::Username::Username(u)| u.username.as_str()),
    );
    for name in all {
        let name = name.to_ascii_lowercase();
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

impl Visitor for Collector {
    fn message(&mut self, value: &enums::Message) {
        let (from, chat, id) = match value {
            enums::Message::Message(m) => (m.from_id.as_ref(), &m.peer_id, m.id),
            enums::Message::Service(m) => (m.from_id.as_ref(), &m.peer_id, m.id),
            enums::Message::Empty(_) => return,
        };
        if let Some(from) = from {
            let (kind, sender) = kind_id(from);
            let (chat_kind, chat_id) = kind_id(chat);
            // In a private chat the chat is the sender: no reference to take from it. An id
            // outside Telegram's ranges (sent by a broken server) is no reference either.
            if chat_kind != PeerKind::User {
                if let Ok(chat) = MarkedId::from_peer(chat_kind, chat_id) {
                    self.senders.push((kind, sender, chat.marked(), id));
                }
            }
        }
    }

    fn user(&mut self, value: &enums::User) {
        if let enums::User::User(u) = value {
            let u: &types::User = u;
            self.peers.push(PeerRecord {
                id: u.id,
                kind: PeerKind::User,
                access_hash: u.access_hash,
                min: u.min,
                usernames: names(u.username.as_ref(), u.usernames.as_ref()),
                phone: u
                    .phone
                    .as_ref()
                    .map(|p| p.chars().filter(char::is_ascii_digit).collect())
                    .filter(|p: &String| !p.is_empty()),
                seen_in: None,
            });
        }
    }

    fn chat(&mut self, value: &enums::Chat) {
        let record = |id, kind, access_hash, min, usernames| PeerRecord {
            id,
            kind,
            access_hash,
            min,
            usernames,
            phone: None,
            seen_in: None,
        };
        let found = match value {
            enums::Chat::Chat(c) => record(c.id, PeerKind::Chat, None, false, Vec::new()),
            enums::Chat::Forbidden(c) => record(c.id, PeerKind::Chat, None, false, Vec::new()),
            enums::Chat::Channel(c) => record(
                c.id,
                PeerKind::Channel,
                c.access_hash,
                c.min,
                names(c.username.as_ref(), c.usernames.as_ref()),
            ),
            enums::Chat::ChannelForbidden(c) => record(
                c.id,
                PeerKind::Channel,
                Some(c.access_hash),
                false,
                Vec::new(),
            ),
            // Empty chats and communities carry no peer the cache can address.
            _ => return,
        };
        self.peers.push(found);
    }
}

/// What `resolve_peer` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerQuery {
    /// The signed-in user (`"me"`, `"self"`).
    Me,
    /// A Bot-API marked id: `+id` user, `-id` basic chat, `-100…id` channel.
    Id(i64),
    /// A username, lower case, without `@` or link.
    Username(String),
    /// A phone number, digits only.
    Phone(String),
}

/// A string `resolve_peer` cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuery {
    /// What was given.
    pub input: String,
    /// Why it is not a peer reference.
    pub reason: &'static str,
}

impl fmt::Display for BadQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a peer reference: {}",
            self.input, self.reason
        )
    }
}

impl std::error::Error for BadQuery {}

impl From<i64> for PeerQuery {
    fn from(id: i64) -> Self {
        Self::Id(id)
    }
}

impl From<i32> for PeerQuery {
    fn from(id: i32) -> Self {
        Self::Id(id.into())
    }
}

impl std::str::FromStr for PeerQuery {
    type Err = BadQuery;

    /// `"me"`, `"self"`, `"username"`, `"@username"`, `t.me/username`,
    /// `https://t.me/username`, or a phone number (`"+393281234567"`, `"393281234567"`, spaces
    /// and dashes allowed). A string of digits is a phone, never an id: pass an integer for
    /// an id.
    fn from_str(input: &str) -> Result<Self, BadQuery> {
        let bad = |reason| BadQuery {
            input: input.chars().take(64).collect(),
            reason,
        };
        let s = input.trim();
        if s.eq_ignore_ascii_case("me") || s.eq_ignore_ascii_case("self") {
            return Ok(Self::Me);
        }
        let digits: String = s.chars().filter(char::is_ascii_digit).collect();
        let phone_like = !digits.is_empty()
            && s.trim_start_matches('+')
                .chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
        if phone_like {
            return if (5..=15).contains(&digits.len()) {
                Ok(Self::Phone(digits))
            } else {
                Err(bad("a phone number has 5 to 15 digits"))
            };
        }
        let mut name = s;
        for scheme in ["https://", "http://"] {
            if name.len() >= scheme.len() && name[..scheme.len()].eq_ignore_ascii_case(scheme) {
                name = &name[scheme.len()..];
            }
        }
        for host in ["www.t.me/", "t.me/", "telegram.me/", "telegram.dog/"] {
            if name.len() >= host.len() && name[..host.len()].eq_ignore_ascii_case(host) {
                name = &name[host.len()..];
                break;
            }
        }
        let name = name.strip_prefix('@').unwrap_or(name);
        let name = name.trim_end_matches('/');
        if name.is_empty() {
            return Err(bad("it is empty"));
        }
        // Telegram's usernames: 4 to 32 letters, digits and underscores, starting with a
        // letter (bots and collectibles may be shorter: accept 1 to 64 here).
        if name.len() > 64
            || !name.starts_with(|c: char| c.is_ascii_alphabetic())
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad(
                "a username is letters, digits and underscores, starting with a letter",
            ));
        }
        Ok(Self::Username(name.to_ascii_lowercase()))
    }
}

impl TryFrom<&str> for PeerQuery {
    type Error = BadQuery;

    fn try_from(s: &str) -> Result<Self, BadQuery> {
        s.parse()
    }
}

impl TryFrom<String> for PeerQuery {
    type Error = BadQuery;

    fn try_from(s: String) -> Result<Self, BadQuery> {
        s.parse()
    }
}

impl TryFrom<&String> for PeerQuery {
    type Error = BadQuery;

    fn try_from(s: &String) -> Result<Self, BadQuery> {
        s.parse()
    }
}

/// A resolved peer: enough to address it in any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// User, basic chat or channel.
    pub kind: PeerKind,
    /// The raw id.
    pub id: i64,
    /// The access hash (none for basic chats).
    pub access_hash: Option<i64>,
    /// Whether this is the signed-in user.
    pub is_self: bool,
    /// For a peer known only from a `min` object: the chat it was seen in and the message id.
    pub from_message: Option<(Box<Peer>, i32)>,
}

impl Peer {
    /// A user with an access hash.
    pub fn user(id: i64, access_hash: i64) -> Self {
        Self::new(PeerKind::User, id, Some(access_hash))
    }

    /// A basic chat.
    pub fn chat(id: i64) -> Self {
        Self::new(PeerKind::Chat, id, None)
    }

    /// A channel or supergroup with an access hash.
    pub fn channel(id: i64, access_hash: i64) -> Self {
        Self::new(PeerKind::Channel, id, Some(access_hash))
    }

    fn new(kind: PeerKind, id: i64, access_hash: Option<i64>) -> Self {
        Self {
            kind,
            id,
            access_hash,
            is_self: false,
            from_message: None,
        }
    }

    /// The Bot-API marked id: `id` for users, `-id` for basic chats, `-1000000000000 - id`
    /// for channels (monoforums in their own range). A raw id outside Telegram's ranges (only
    /// a hand-made `Peer` has one: the cache stores none) gives the same formula, saturated.
    pub fn marked_id(&self) -> i64 {
        match MarkedId::from_peer(self.kind, self.id) {
            Ok(id) => id.marked(),
            Err(_) => match self.kind {
                PeerKind::User => self.id,
                PeerKind::Chat => self.id.saturating_neg(),
                PeerKind::Channel => (-1_000_000_000_000_i64).saturating_sub(self.id),
            },
        }
    }

    /// The `InputPeer` that addresses this peer.
    pub fn input_peer(&self) -> enums::InputPeer {
        if self.is_self {
            return enums::InputPeer::InputPeerSelf;
        }
        let hash = self.access_hash.unwrap_or(0);
        match (self.kind, &self.from_message) {
            (PeerKind::User, Some((chat, msg_id))) => {
                enums::InputPeer::UserFromMessage(Box::new(types::InputPeerUserFromMessage {
                    peer: chat.input_peer(),
                    msg_id: *msg_id,
                    user_id: self.id,
                }))
            }
            (PeerKind::Channel, Some((chat, msg_id))) => {
                enums::InputPeer::ChannelFromMessage(Box::new(types::InputPeerChannelFromMessage {
                    peer: chat.input_peer(),
                    msg_id: *msg_id,
                    channel_id: self.id,
                }))
            }
            (PeerKind::User, None) => enums::InputPeer::User(types::InputPeerUser {
                user_id: self.id,
                access_hash: hash,
            }),
            (PeerKind::Channel, None) => enums::InputPeer::Channel(types::InputPeerChannel {
                channel_id: self.id,
                access_hash: hash,
            }),
            (PeerKind::Chat, _) => {
                enums::InputPeer::Chat(types::InputPeerChat { chat_id: self.id })
            }
        }
    }
}

/// A peer of one kind was given where another kind is needed (a basic chat as an
/// `InputChannel`, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongKind {
    /// The peer's marked id.
    pub marked_id: i64,
    /// What it is.
    pub is: PeerKind,
    /// What was needed.
    pub needed: PeerKind,
}

impl fmt::Display for WrongKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |k: PeerKind| match k {
            PeerKind::User => "a user",
            PeerKind::Chat => "a basic chat",
            PeerKind::Channel => "a channel",
        };
        write!(
            f,
            "peer {} is {}, not {}",
            self.marked_id,
            name(self.is),
            name(self.needed)
        )
    }
}

impl std::error::Error for WrongKind {}

impl From<Peer> for enums::InputPeer {
    fn from(peer: Peer) -> Self {
        peer.input_peer()
    }
}

impl From<&Peer> for enums::InputPeer {
    fn from(peer: &Peer) -> Self {
        peer.input_peer()
    }
}

impl Peer {
    fn check(&self, needed: PeerKind) -> Result<(), WrongKind> {
        if self.kind == needed {
            Ok(())
        } else {
            Err(WrongKind {
                marked_id: self.marked_id(),
                is: self.kind,
                needed,
            })
        }
    }
}

impl TryFrom<Peer> for enums::InputUser {
    type Error = WrongKind;

    fn try_from(peer: Peer) -> Result<Self, WrongKind> {
        peer.check(PeerKind::User)?;
        if peer.is_self {
            return Ok(Self::InputUserSelf);
        }
        Ok(match peer.from_message {
            Some((chat, msg_id)) => Self::FromMessage(Box::new(types::InputUserFromMessage {
                peer: chat.input_peer(),
                msg_id,
                user_id: peer.id,
            })),
            None => Self::InputUser(types::InputUser {
                user_id: peer.id,
                access_hash: peer.access_hash.unwrap_or(0),
            }),
        })
    }
}

impl TryFrom<Peer> for enums::InputChannel {
    type Error = WrongKind;

    fn try_from(peer: Peer) -> Result<Self, WrongKind> {
        peer.check(PeerKind::Channel)?;
        Ok(match peer.from_message {
            Some((chat, msg_id)) => Self::FromMessage(Box::new(types::InputChannelFromMessage {
                peer: chat.input_peer(),
                msg_id,
                channel_id: peer.id,
            })),
            None => Self::InputChannel(types::InputChannel {
                channel_id: peer.id,
                access_hash: peer.access_hash.unwrap_or(0),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = |s: &str| s.parse::<PeerQuery>();
        assert_eq!(q("me"), Ok(PeerQuery::Me));
        assert_eq!(q("SELF"), Ok(PeerQuery::Me));
        assert_eq!(q("durov"), Ok(PeerQuery::Username("durov".into())));
        assert_eq!(q("@Durov"), Ok(PeerQuery::Username("durov".into())));
        assert_eq!(q("t.me/durov"), Ok(PeerQuery::Username("durov".into())));
        assert_eq!(
            q("https://t.me/durov/"),
            Ok(PeerQuery::Username("durov".into()))
        );
        assert_eq!(
            q("393281234567"),
            Ok(PeerQuery::Phone("393281234567".into()))
        );
        assert_eq!(
            q("+39 328-1234567"),
            Ok(PeerQuery::Phone("393281234567".into()))
        );
        assert_eq!(
            PeerQuery::from(-1001234567890_i64),
            PeerQuery::Id(-1001234567890)
        );
        assert!(q("").is_err());
        assert!(q("1234").is_err());
        assert!(q("no spaces").is_err());
        assert!(q("_x").is_err());
        assert!(q(&"a".repeat(65)).is_err());
    }

    #[test]
    fn kinds_convert_or_say_why_not() {
        let chat = Peer::chat(42);
        let err = enums::InputChannel::try_from(chat.clone()).unwrap_err();
        assert_eq!(err.to_string(), "peer -42 is a basic chat, not a channel");
        assert!(enums::InputUser::try_from(chat.clone()).is_err());
        assert!(matches!(
            enums::InputPeer::from(chat),
            enums::InputPeer::Chat(_)
        ));
        let channel = Peer::channel(1234567890, 7);
        assert_eq!(channel.marked_id(), -1001234567890);
        assert!(matches!(
            enums::InputChannel::try_from(channel).unwrap(),
            enums::InputChannel::InputChannel(types::InputChannel {
                channel_id: 1234567890,
                access_hash: 7
            })
        ));
        let mut min = Peer::user(5, 0);
        min.from_message = Some((Box::new(Peer::channel(9, 3)), 77));
        assert!(matches!(
            enums::InputUser::try_from(min).unwrap(),
            enums::InputUser::FromMessage(m) if m.msg_id == 77 && m.user_id == 5
        ));
    }

    #[test]
    fn collects_users_and_chats_from_any_value() {
        let user = |id, min| {
            enums::User::User(Box::new(types::User {
                id,
                min,
                access_hash: Some(id * 10),
                username: Some("Alice".into()),
                usernames: Some(vec![enums::Username::Username(Box::new(types::Username {
                    username: "alice2".into(),
                    ..Default::default()
                }))]),
                phone: Some("+1 555".into()),
                ..Default::default()
            }))
        };
        let resolved =
            enums::contacts::ResolvedPeer::ResolvedPeer(Box::new(types::contacts::ResolvedPeer {
                peer: enums::Peer::User(types::PeerUser { user_id: 1 }),
                chats: vec![enums::Chat::Channel(Box::new(types::Channel {
                    id: 9,
                    access_hash: Some(3),
                    ..Default::default()
                }))],
                users: vec![
                    user(1, false),
                    user(2, true),
                    enums::User::Empty(types::UserEmpty { id: 3 }),
                ],
            }));
        let found = collect(&resolved);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].kind, PeerKind::Channel);
        assert_eq!(
            found[1].usernames,
            vec!["alice".to_string(), "alice2".to_string()]
        );
        assert_eq!(found[1].phone.as_deref(), Some("1555"));
        assert!(found[2].min);
    }

    #[test]
    fn min_senders_are_found_with_the_message_they_sent() {
        let value = enums::messages::Messages::Messages(Box::new(types::messages::Messages {
            messages: vec![enums::Message::Service(Box::new(types::MessageService {
                out: false,
                mentioned: false,
                media_unread: false,
                reactions_are_possible: false,
                silent: false,
                post: false,
                legacy: false,
                id: 77,
                from_id: Some(enums::Peer::User(types::PeerUser { user_id: 2 })),
                peer_id: enums::Peer::Channel(types::PeerChannel { channel_id: 9 }),
                saved_peer_id: None,
                reply_to: None,
                date: 0,
                action: enums::MessageAction::Empty,
                reactions: None,
                ttl_period: None,
            }))],
            chats: vec![enums::Chat::Channel(Box::new(types::Channel {
                id: 9,
                access_hash: Some(3),
                ..Default::default()
            }))],
            users: vec![
                enums::User::User(Box::new(types::User {
                    id: 2,
                    min: true,
                    access_hash: Some(5),
                    ..Default::default()
                })),
                enums::User::User(Box::new(types::User {
                    id: 4,
                    min: true,
                    access_hash: Some(6),
                    ..Default::default()
                })),
            ],
            topics: Vec::new(),
        }));
        let found = collect(&value);
        let user = |id| {
            found
                .iter()
                .find(|p| p.id == id && p.kind == PeerKind::User)
                .unwrap()
        };
        assert_eq!(user(2).seen_in, Some((-1_000_000_000_009, 77)));
        // A min user that sent nothing here has no reference.
        assert_eq!(user(4).seen_in, None);
    }

    #[test]
    fn ids_outside_telegram_ranges_are_not_stored_and_never_panic() {
        let value = enums::messages::Chats::Chats(Box::new(types::messages::Chats {
            chats: vec![
                enums::Chat::Channel(Box::new(types::Channel {
                    id: i64::MAX,
                    access_hash: Some(1),
                    ..Default::default()
                })),
                enums::Chat::Chat(Box::new(types::Chat {
                    id: i64::MIN,
                    ..Default::default()
                })),
                enums::Chat::Channel(Box::new(types::Channel {
                    id: 9,
                    access_hash: Some(3),
                    ..Default::default()
                })),
            ],
        }));
        let found = collect(&value);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, 9);
        // A hand-made peer with such an id still gives a marked id, saturated.
        assert_eq!(Peer::channel(i64::MAX, 0).marked_id(), i64::MIN);
        assert_eq!(Peer::chat(i64::MIN).marked_id(), i64::MAX);
    }
}
