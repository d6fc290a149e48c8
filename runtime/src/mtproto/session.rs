//! MTProto sessions, sans-IO: message ids, sequence numbers, salts, containers, acks, gzip and every receive check, for the client and the server end.
//!
//! A [`Session`] sits between the caller's bodies (serialized TL requests, results, updates)
//! and the encrypted payloads a transport carries. It never reads a clock or a socket: every
//! call that needs the time takes `now` (time since the Unix epoch, e.g.
//! `SystemTime::now().duration_since(UNIX_EPOCH)`), and randomness (padding) comes from the
//! caller. Rules: core.telegram.org/mtproto/description (msg_id, seq_no, salt, session),
//! /mtproto/service_messages, /mtproto/service_messages_about_messages and the receive checks
//! of /mtproto/security_guidelines.
//!
//! Sending: [`Session::push`] (or [`Session::push_request`]) queues a body and gives its
//! `msg_id`; [`Session::pack`] turns everything queued, plus acks owed to the peer, into one
//! encrypted payload — a `msg_container` when there is more than one message.
//!
//! Receiving: [`Session::unpack`] decrypts a payload, runs the checks (`auth_key_id`,
//! `msg_key`, length, padding, session id, msg_id parity, the 300 s / 30 s window, duplicates),
//! opens containers and `gzip_packed` (with a bound on the inflated size), handles the service
//! messages itself (acks, salts, time correction, re-sending refused messages) and returns what
//! is left for the caller as [`Event`]s. A payload that fails a check gives a
//! [`SessionError`] and changes nothing, except that a server end queues the notification the
//! protocol asks for (`bad_server_salt`, `bad_msg_notification`).
//!
//! After a reconnection in the same session a client settles what it sent before. The
//! requests sent and not answered, acknowledged ([`Session::awaiting_answer`]) or not
//! ([`Session::unacked`]), stay where they are; the client asks what became of them
//! ([`Session::push_state_request`], answered by [`Event::MsgsState`]), then asks for their
//! answers ([`Session::push_answer_request`]) or sends one again under its id
//! ([`Session::resend`]) when the server says it never got it. This is what `tlgen-client`
//! does. [`Session::requeue_unacked`] is the shorter way for the unacknowledged ones: all of
//! them again under their own msg_ids at once, one round trip less, but a server that lost
//! the session in between runs them a second time.
//!
//! ```
//! use std::time::Duration;
//! use tlgen_runtime::mtproto::envelope::MessageKey;
//! use tlgen_runtime::mtproto::schema::functions;
//! use tlgen_runtime::mtproto::session::{Event, Session};
//!
//! let key = MessageKey::new([7; 256]);
//! let now = Duration::from_secs(1_700_000_000);
//! let mut zero_padding = |buf: &mut [u8]| buf.fill(0);
//! let mut client = Session::client(key.clone(), 0x1234, 99, 0);
//! let mut server = Session::server(key, 99, 0x5678);
//!
//! let ping = client.push_request(now, &functions::Ping { ping_id: 1 });
//! let packet = client.pack(now, &mut zero_padding).unwrap().unwrap();
//! let events = server.unpack(now, &packet.payload).unwrap();
//! assert!(matches!(&events[..], [Event::Message { msg_id, .. }] if *msg_id == ping));
//!
//! server.push_result(now, ping, &[0xC4, 0xB5, 0x5A, 0x99]); // boolTrue
//! let reply = server.pack(now, &mut zero_padding).unwrap().unwrap();
//! let events = client.unpack(now, &reply.payload).unwrap();
//! assert!(events.iter().any(|e| matches!(e, Event::Result { req_msg_id, .. } if *req_msg_id == ping)));
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::io::{Read, Write};
use std::time::Duration;

use super::envelope::{self, EnvelopeError, Header, MessageKey};
use super::schema::{enums, types};
use crate::crypto::Direction;
use crate::{DecodeError, Deserializable, Identifiable, Reader, RemoteCall, Serializable};

/// `msg_container#73f1f8dc messages:vector<%message>`.
pub const MSG_CONTAINER_ID: u32 = 0x73f1_f8dc;
/// Most messages a container may hold (core.telegram.org/mtproto/service_messages).
pub const MAX_CONTAINER_MESSAGES: usize = 1024;
/// Most ids one `msgs_ack` may carry (core.telegram.org/mtproto/service_messages_about_messages).
pub const MAX_ACK_IDS: usize = 8192;
/// A received message whose msg_id is further in the past than this is ignored.
pub const MAX_PAST: i64 = 300;
/// A received message whose msg_id is further in the future than this is ignored.
pub const MAX_FUTURE: i64 = 30;

/// Which end of the connection a session serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Creates the session, sends requests, receives results and updates.
    Client,
    /// Receives requests, sends results; checks salts and clocks and tells the client.
    Server,
}

impl Side {
    fn sends(self) -> Direction {
        match self {
            Self::Client => Direction::ClientToServer,
            Self::Server => Direction::ServerToClient,
        }
    }

    fn receives(self) -> Direction {
        match self {
            Self::Client => Direction::ServerToClient,
            Self::Server => Direction::ClientToServer,
        }
    }

    /// Whether a received msg_id has the peer's parity: `0 mod 4` from a client, odd from a
    /// server.
    fn accepts_id(self, msg_id: i64) -> bool {
        match self {
            Self::Client => msg_id & 1 == 1,
            Self::Server => msg_id & 3 == 0,
        }
    }
}

/// Limits and choices of a session. [`Config::default`] suits Telegram's servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How many bytes the `gzip_packed` bodies of one received payload may inflate to, all
    /// together (a container holds up to 1024 of them, all inflated before any event is
    /// returned); more is an error, not an allocation. Default 16 MiB.
    pub max_inflated_len: usize,
    /// Content-related bodies at least this long are sent as `gzip_packed` when that makes them
    /// smaller; `None` never compresses. Default 512 bytes.
    pub compress_min_len: Option<usize>,
    /// How many received msg_ids are kept to spot duplicates; a msg_id below all of them is
    /// refused as too old. Default 1024.
    pub duplicate_window: usize,
    /// Most messages [`Session::pack`] puts in one container (at most 1024). Default 1024.
    pub max_container_messages: usize,
    /// Most body bytes [`Session::pack`] puts in one container; a larger body travels alone.
    /// Default 1 MiB.
    pub max_container_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_inflated_len: 16 * 1024 * 1024,
            compress_min_len: Some(512),
            duplicate_window: 1024,
            max_container_messages: MAX_CONTAINER_MESSAGES,
            max_container_len: 1024 * 1024,
        }
    }
}

/// Something received that the caller has to act on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A message that is not a result or a service message the session handles: an update on
    /// the client, a request on the server. `body` is its TL bytes, already inflated.
    Message {
        /// Its msg_id (the request id to answer on a server).
        msg_id: i64,
        /// The TL body.
        body: Vec<u8>,
    },
    /// The answer to a request: its TL bytes (inflated), or the `rpc_error` the server sent.
    Result {
        /// The msg_id of the request.
        req_msg_id: i64,
        /// The result's bytes or the error.
        result: Result<Vec<u8>, types::RpcError>,
    },
    /// The peer acknowledged these messages.
    Acked {
        /// Their msg_ids.
        msg_ids: Vec<i64>,
    },
    /// The server refused a message for a reason the session fixed (a wrong salt, a clock off
    /// by more than the window, an id reused or too old) and the message is queued again under
    /// a new id; its answer will name `new_msg_id`. A message that was
    /// [re-sent under its own id](Session::requeue_unacked) and refused for its salt only
    /// goes out again under the same id (`new_msg_id == old_msg_id`): the server may have
    /// received it the first time, and only the same id lets it tell. A refused
    /// [`msgs_state_req`](Session::push_state_request) or
    /// [`msg_resend_ans_req`](Session::push_answer_request) goes out again under a new id too
    /// (asking twice is harmless), reported the same way.
    Resent {
        /// The id the server refused.
        old_msg_id: i64,
        /// The id it is sent again under.
        new_msg_id: i64,
        /// The `bad_msg_notification` error code (48 for a wrong salt).
        code: i32,
    },
    /// The server refused a message for a reason the session cannot fix (seq_no errors, a
    /// bad container).
    Rejected {
        /// The refused msg_id.
        msg_id: i64,
        /// The `bad_msg_notification` error code.
        code: i32,
    },
    /// The server created a new session: messages sent before `first_msg_id` were lost with
    /// the old one, and updates may have been missed.
    NewSession {
        /// The first msg_id of the new session.
        first_msg_id: i64,
        /// The server's id of this session instance.
        unique_id: i64,
    },
    /// Server: a content-related message the client sent again under an id already received
    /// (after a reconnection, in a container). It is acknowledged again but not returned as a
    /// [`Event::Message`]: the server answers it from what it answered the first time (the
    /// description page: a re-sent msg_id must not run twice).
    Repeated {
        /// The msg_id received before.
        msg_id: i64,
    },
    /// Client: the server's `msgs_state_info` about the messages a
    /// [`Session::push_state_request`] or [`Session::push_answer_request`] asked about (the
    /// server answers both with it).
    MsgsState {
        /// The msg_id of the `msgs_state_req` or `msg_resend_ans_req`.
        req_msg_id: i64,
        /// Each msg_id asked about with its state, in the order asked; a state the answer
        /// left out is `MsgState(0)`.
        states: Vec<(i64, MsgState)>,
    },
    /// The answer to a `ping`.
    Pong {
        /// The msg_id of the ping.
        msg_id: i64,
        /// Its `ping_id`.
        ping_id: i64,
    },
    /// The server sent future salts; the session uses each in its time.
    FutureSalts {
        /// The msg_id of the `get_future_salts` request.
        req_msg_id: i64,
        /// How many salts were kept.
        count: usize,
    },
}

/// One byte of `msgs_state_info`: what the peer knows of one message
/// (core.telegram.org/mtproto/service_messages_about_messages). The low three bits are one of
/// [`NOTHING_KNOWN`](Self::NOTHING_KNOWN), [`NOT_RECEIVED`](Self::NOT_RECEIVED),
/// [`NOT_RECEIVED_YET`](Self::NOT_RECEIVED_YET) and [`RECEIVED`](Self::RECEIVED); the higher
/// bits are flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MsgState(pub u8);

impl MsgState {
    /// Nothing is known of the message: its msg_id is too low, the peer may have forgotten it.
    pub const NOTHING_KNOWN: u8 = 1;
    /// Not received: the msg_id is within the range the peer keeps, and it has no such message.
    pub const NOT_RECEIVED: u8 = 2;
    /// Not received: the msg_id is too high (the peer has certainly not received it yet).
    pub const NOT_RECEIVED_YET: u8 = 3;
    /// Received (the state is an acknowledgement as well).
    pub const RECEIVED: u8 = 4;
    /// Flag: the message was already acknowledged.
    pub const ACKNOWLEDGED: u8 = 8;
    /// Flag: the message needs no acknowledgement.
    pub const NO_ACK_NEEDED: u8 = 16;
    /// Flag: the RPC query in the message is being processed, or its processing is done.
    pub const PROCESSING: u8 = 32;
    /// Flag: a content-related answer to the message was already generated.
    pub const ANSWERED: u8 = 64;
    /// Flag: the peer knows for a fact that the message was received.
    pub const KNOWN_RECEIVED: u8 = 128;

    /// The low three bits: 1 to 4 for the states above, anything else is not a state the
    /// protocol defines.
    pub fn base(self) -> u8 {
        self.0 & 7
    }

    /// Nothing is known (1): the peer cannot say whether it received the message.
    pub fn is_nothing_known(self) -> bool {
        self.base() == Self::NOTHING_KNOWN
    }

    /// Certainly not received (2 or 3).
    pub fn is_not_received(self) -> bool {
        matches!(self.base(), Self::NOT_RECEIVED | Self::NOT_RECEIVED_YET)
    }

    /// Received (4).
    pub fn is_received(self) -> bool {
        self.base() == Self::RECEIVED
    }

    /// Received, and its answer already generated (4 with +64).
    pub fn is_answered(self) -> bool {
        self.is_received() && self.0 & Self::ANSWERED != 0
    }
}

/// Why a received payload was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The envelope failed a check (size, key id, `msg_key`, length, padding).
    Envelope(EnvelopeError),
    /// The message belongs to another session.
    WrongSession {
        /// This session's id.
        expected: i64,
        /// The id in the message.
        found: i64,
    },
    /// The msg_id has the wrong parity for its sender.
    BadMsgIdParity {
        /// The msg_id.
        msg_id: i64,
    },
    /// The msg_id's time is more than 300 s behind or 30 s ahead of the (corrected) clock.
    OutOfWindow {
        /// The msg_id.
        msg_id: i64,
        /// Seconds the msg_id's time is ahead (positive) or behind (negative).
        skew: i64,
    },
    /// The msg_id was received before.
    Duplicate {
        /// The msg_id.
        msg_id: i64,
    },
    /// The msg_id is below every id in the duplicate window, so it cannot be told from a replay.
    TooOld {
        /// The msg_id.
        msg_id: i64,
    },
    /// A client used a salt the server does not accept (the server queued `bad_server_salt`).
    WrongSalt {
        /// The salt received.
        found: i64,
    },
    /// A container broke a rule: too many messages, a nested container, an inner msg_id not
    /// below the container's, or a length field past its end.
    BadContainer {
        /// Which rule.
        reason: &'static str,
    },
    /// A `gzip_packed` body did not inflate, or inflated past the limit.
    BadGzip {
        /// What went wrong.
        reason: String,
    },
    /// The `gzip_packed` bodies of one payload inflate to more than
    /// [`Config::max_inflated_len`] bytes in all.
    TooMuchInflated {
        /// The limit.
        limit: usize,
    },
    /// A service message could not be decoded.
    Decode {
        /// Which message.
        what: &'static str,
        /// The decoder's error.
        error: DecodeError,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Envelope(e) => write!(f, "bad encrypted message: {e}"),
            Self::WrongSession { expected, found } => write!(
                f,
                "expected session_id {:#018x}, got {:#018x}",
                *expected as u64, *found as u64
            ),
            Self::BadMsgIdParity { msg_id } => {
                write!(f, "msg_id {msg_id:#x} has the wrong parity for its sender")
            }
            Self::OutOfWindow { msg_id, skew } => write!(
                f,
                "msg_id {msg_id:#x} is {skew} s from the corrected clock (allowed: -{MAX_PAST}..={MAX_FUTURE})"
            ),
            Self::Duplicate { msg_id } => write!(f, "msg_id {msg_id:#x} was already received"),
            Self::TooOld { msg_id } => write!(
                f,
                "msg_id {msg_id:#x} is older than every id in the duplicate window"
            ),
            Self::WrongSalt { found } => write!(f, "salt {found:#x} is not valid now"),
            Self::BadContainer { reason } => write!(f, "bad msg_container: {reason}"),
            Self::BadGzip { reason } => write!(f, "bad gzip_packed: {reason}"),
            Self::TooMuchInflated { limit } => write!(
                f,
                "the gzip_packed bodies of one payload inflate to more than {limit} bytes"
            ),
            Self::Decode { what, error } => write!(f, "cannot decode {what}: {error}"),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Envelope(e) => Some(e),
            Self::Decode { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl From<EnvelopeError> for SessionError {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e)
    }
}

/// One encrypted payload from [`Session::pack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The bytes for the transport.
    pub payload: Vec<u8>,
    /// The msg_id of the payload itself (the container's, when there is one).
    pub msg_id: i64,
    /// The msg_ids of the messages inside, in order (the single message's id otherwise).
    pub msg_ids: Vec<i64>,
    /// The quick-ack token the server will echo for this payload.
    pub quick_ack: u32,
}

/// A queued or sent message.
struct Outgoing {
    msg_id: i64,
    seq_no: i32,
    body: Vec<u8>,
    content_related: bool,
    /// Sent before and queued again under its own msg_id ([`Session::requeue_unacked`],
    /// [`Session::resend`]): it travels in a container even alone, so the container's fresh id
    /// carries it.
    resend: bool,
}

/// A `msgs_state_req` or `msg_resend_ans_req` this session sent and the server has not
/// answered yet.
struct Inquiry {
    /// `msg_resend_ans_req` (the answers asked for), else `msgs_state_req`.
    answers: bool,
    msg_ids: Vec<i64>,
}

/// How long a server keeps accepting its previous salt after changing it (the description
/// page: "the old salt is still accepted for 1800 seconds").
const OLD_SALT_GRACE: i64 = 1800;

/// How many sent containers are remembered (to re-send their contents when the server refuses
/// the container as a whole).
const MAX_REMEMBERED_CONTAINERS: usize = 1024;

/// How many acknowledged msg_ids sent in `msgs_ack` are remembered in all (to acknowledge
/// them again when the server refuses the message or container that carried them).
const MAX_REMEMBERED_ACK_IDS: usize = 1 << 16;

/// The state of one MTProto session on one end. See the [module docs](self).
pub struct Session {
    side: Side,
    key: MessageKey,
    config: Config,
    /// `None` on a server until the first message names it.
    session_id: Option<i64>,
    /// The salt outgoing messages use (client) or incoming ones must carry (server).
    salt: i64,
    /// Server: the salt before the last change and the time it stops being accepted.
    old_salt: Option<(i64, i64)>,
    /// Client: salts from `future_salts`, by `valid_since`.
    future_salts: Vec<types::FutureSalt>,
    /// Seconds to add to the local clock to get the peer's (client: server time offset).
    time_offset: i64,
    last_msg_id: i64,
    /// Content-related messages sent so far (for seq_no).
    content_sent: i32,
    /// The last received msg_ids (at most [`Config::duplicate_window`]), to refuse
    /// duplicates and replays.
    seen: BTreeSet<i64>,
    /// Received content-related msg_ids not acknowledged yet.
    pending_acks: Vec<i64>,
    queue: VecDeque<Outgoing>,
    /// Content-related messages sent and neither acknowledged nor answered, by msg_id.
    unacked: BTreeMap<i64, Outgoing>,
    /// Client: content-related messages the server acknowledged and has not answered yet, by
    /// msg_id (kept so that one can be sent again under the same id after a reconnection,
    /// when the server says it never got it).
    awaiting: BTreeMap<i64, Outgoing>,
    /// Client: `msgs_state_req` and `msg_resend_ans_req` sent and not answered, by msg_id (at
    /// most [`MAX_REMEMBERED_CONTAINERS`], the oldest forgotten first).
    inquiries: BTreeMap<i64, Inquiry>,
    /// Sent containers and the msg_ids inside.
    containers: BTreeMap<i64, Vec<i64>>,
    /// Sent `msgs_ack` messages, by msg_id, and the ids they acknowledge (at most
    /// [`MAX_REMEMBERED_ACK_IDS`] ids in all, the oldest forgotten first).
    sent_acks: BTreeMap<i64, Vec<i64>>,
    /// How many ids `sent_acks` holds.
    sent_ack_ids: usize,
    /// Server: the unique id sent in `new_session_created`.
    unique_id: i64,
    /// Server: whether `new_session_created` was queued.
    announced: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("side", &self.side)
            .field("key", &self.key)
            .field("session_id", &self.session_id)
            .field("queued", &self.queue.len())
            .field("unacked", &self.unacked.len())
            .field("awaiting", &self.awaiting.len())
            .field("pending_acks", &self.pending_acks.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A client session: the auth key, a random `session_id` (never reused with another
    /// session), the server salt and the server time offset in seconds (both from the
    /// handshake's [`AuthKey`](super::handshake::AuthKey), or from a stored session).
    pub fn client(key: MessageKey, session_id: i64, salt: i64, time_offset: i64) -> Self {
        let mut session = Self::new(Side::Client, key, salt);
        session.session_id = Some(session_id);
        session.time_offset = time_offset;
        session
    }

    /// A server session for one auth key: it takes its session id from the first client
    /// message, answers it with `new_session_created` carrying `unique_id`, and accepts
    /// messages carrying `salt`.
    pub fn server(key: MessageKey, salt: i64, unique_id: i64) -> Self {
        let mut session = Self::new(Side::Server, key, salt);
        session.unique_id = unique_id;
        session
    }

    fn new(side: Side, key: MessageKey, salt: i64) -> Self {
        let config = Config::default();
        Self {
            side,
            key,
            session_id: None,
            salt,
            old_salt: None,
            future_salts: Vec::new(),
            time_offset: 0,
            last_msg_id: 0,
            content_sent: 0,
            seen: BTreeSet::new(),
            pending_acks: Vec::new(),
            queue: VecDeque::new(),
            unacked: BTreeMap::new(),
            awaiting: BTreeMap::new(),
            inquiries: BTreeMap::new(),
            containers: BTreeMap::new(),
            sent_acks: BTreeMap::new(),
            sent_ack_ids: 0,
            unique_id: 0,
            announced: false,
            config,
        }
    }

    /// Replaces the limits and choices (see [`Config`]).
    pub fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Which end this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The session id (`None` on a server before the first message).
    pub fn session_id(&self) -> Option<i64> {
        self.session_id
    }

    /// The current server salt.
    pub fn salt(&self) -> i64 {
        self.salt
    }

    /// Seconds added to the local clock to get the server's.
    pub fn time_offset(&self) -> i64 {
        self.time_offset
    }

    /// The peer's clock in seconds: `now` corrected by the offset (saturating: the offset comes
    /// from the server's messages and `now` from the caller, neither may overflow it).
    fn peer_now(&self, now: Duration) -> i64 {
        secs(now).saturating_add(self.time_offset)
    }

    /// Server: starts using a new salt; the old one stays valid for another 1800 s.
    pub fn change_salt(&mut self, now: Duration, salt: i64) {
        self.old_salt = Some((self.salt, self.peer_now(now).saturating_add(OLD_SALT_GRACE)));
        self.salt = salt;
    }

    /// Content-related messages sent and not yet acknowledged or answered.
    pub fn unacked(&self) -> impl Iterator<Item = i64> + '_ {
        self.unacked.keys().copied()
    }

    /// Whether [`Session::pack`] has anything to send (queued messages or acks).
    pub fn has_outgoing(&self) -> bool {
        !self.queue.is_empty() || !self.pending_acks.is_empty()
    }

    /// Client: content-related messages the server acknowledged and has not answered yet.
    pub fn awaiting_answer(&self) -> impl Iterator<Item = i64> + '_ {
        self.awaiting.keys().copied()
    }

    /// How many messages are queued for the next [`Session::pack`] (acks not counted).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How many received msg_ids are owed an acknowledgement.
    pub fn pending_acks(&self) -> usize {
        self.pending_acks.len()
    }

    /// Client: the server time (unix seconds) until which the known salts last: the end of the
    /// last future salt received, `None` when none is known (then only the current salt is,
    /// for as long as the server keeps it).
    pub fn salts_valid_until(&self) -> Option<i64> {
        self.future_salts
            .iter()
            .map(|s| i64::from(s.valid_until))
            .max()
    }

    /// The server's clock in unix seconds, as this session reckons it at local time `now`.
    pub fn server_now(&self, now: Duration) -> i64 {
        self.peer_now(now)
    }

    /// Client, after a reconnection in the same session: queues every content-related message
    /// that was sent and not acknowledged again, under its own msg_id and seq_no, ahead of
    /// anything else queued. The server recognizes the ids of those it did get and does not
    /// run them twice (it answers them again from what it answered); it runs the others, which
    /// it never got. A server that lost the session in between recognizes none of them and
    /// runs again those it had run: asking first ([`Session::push_state_request`]) avoids that. They go out in a container even when alone (the container's id is new, as
    /// the outer id of every payload must be). Returns their ids, lowest first.
    ///
    /// The messages the server acknowledged and has not answered ([`Session::awaiting_answer`])
    /// stay where they are: the server has them, so the client asks about them
    /// ([`Session::push_state_request`]) rather than sending them again.
    pub fn requeue_unacked(&mut self) -> Vec<i64> {
        let again = std::mem::take(&mut self.unacked);
        let ids = again.keys().copied().collect();
        // Lowest id first at the front of the queue.
        for mut m in again.into_values().rev() {
            m.resend = true;
            self.queue.push_front(m);
        }
        ids
    }

    /// Queues one content-related message this session keeps (sent and not acknowledged, or on
    /// a client acknowledged and not answered) again under its own msg_id and seq_no, ahead of
    /// anything else queued, as [`Session::requeue_unacked`] does. For a client request the
    /// server says it never got (`msgs_state_info` 2 or 3), or for a server asked with
    /// `msg_resend_req` to send one of its messages again. Returns whether the message was
    /// kept (or is queued already).
    pub fn resend(&mut self, msg_id: i64) -> bool {
        if self.queue.iter().any(|m| m.msg_id == msg_id) {
            return true;
        }
        match self
            .unacked
            .remove(&msg_id)
            .or_else(|| self.awaiting.remove(&msg_id))
        {
            Some(mut m) => {
                m.resend = true;
                self.queue.push_front(m);
                true
            }
            None => false,
        }
    }

    /// Client: queues a `msgs_state_req` about `msg_ids` (messages this session sent) and
    /// returns its msg_id. The server's `msgs_state_info` comes back as [`Event::MsgsState`],
    /// each id with its [`MsgState`]. The request is a service message (not content-related,
    /// as Telegram's own clients send it) that the session keeps until it is answered or
    /// [forgotten](Session::forget): refused for its salt or the clock, it is sent again.
    /// The protocol sets no bound on the list; callers keep it to a few thousand ids.
    pub fn push_state_request(&mut self, now: Duration, msg_ids: Vec<i64>) -> i64 {
        self.push_inquiry(now, false, msg_ids)
    }

    /// Client: queues a `msg_resend_ans_req` asking the server to send again the answers to
    /// `msg_ids` (requests of this session it answered, e.g. on a connection that dropped)
    /// and returns its msg_id. The answers come as [`Event::Result`]s; the server also sends a
    /// `msgs_state_info` about the same ids, which comes as [`Event::MsgsState`] (the
    /// service_messages_about_messages page). Kept like [`Session::push_state_request`].
    pub fn push_answer_request(&mut self, now: Duration, msg_ids: Vec<i64>) -> i64 {
        self.push_inquiry(now, true, msg_ids)
    }

    fn push_inquiry(&mut self, now: Duration, answers: bool, msg_ids: Vec<i64>) -> i64 {
        let body = if answers {
            types::MsgResendAnsReq {
                msg_ids: msg_ids.clone(),
            }
            .to_bytes()
        } else {
            types::MsgsStateReq {
                msg_ids: msg_ids.clone(),
            }
            .to_bytes()
        };
        let msg_id = self.push(now, body, false);
        if self.inquiries.len() >= MAX_REMEMBERED_CONTAINERS {
            self.inquiries.pop_first();
        }
        self.inquiries.insert(msg_id, Inquiry { answers, msg_ids });
        msg_id
    }

    /// Drops a message: from the queue if not sent yet, otherwise from the messages waiting
    /// for an acknowledgement or an answer (it will not be sent again). Returns whether it was
    /// known. For a request whose caller gave up, or a `msgs_state_req` or
    /// `msg_resend_ans_req` whose answer is no longer wanted.
    pub fn forget(&mut self, msg_id: i64) -> bool {
        let inquiry = self.inquiries.remove(&msg_id).is_some();
        if let Some(at) = self.queue.iter().position(|m| m.msg_id == msg_id) {
            self.queue.remove(at);
            return true;
        }
        inquiry || self.unacked.remove(&msg_id).is_some() || self.awaiting.remove(&msg_id).is_some()
    }

    /// A sent message was answered (or made moot): nothing more to keep of it.
    fn settle(&mut self, msg_id: i64) {
        if self.unacked.remove(&msg_id).is_none() {
            self.awaiting.remove(&msg_id);
        }
    }

    /// Queues a serialized request (content-related) and returns its msg_id.
    pub fn push_request<R: RemoteCall>(&mut self, now: Duration, request: &R) -> i64 {
        self.push(now, request.to_bytes(), true)
    }

    /// Queues a TL body and returns its msg_id. `content_related` must be true for every RPC
    /// query and answer and false for acks and other service messages (the server checks:
    /// bad_msg_notification codes 34 and 35). Content-related bodies of at least
    /// [`Config::compress_min_len`] bytes go out as `gzip_packed` when that is smaller.
    pub fn push(&mut self, now: Duration, body: Vec<u8>, content_related: bool) -> i64 {
        let body = if content_related {
            self.maybe_compress(body)
        } else {
            body
        };
        let msg_id = self.next_msg_id(now, false);
        self.enqueue(msg_id, body, content_related)
    }

    /// Server: queues the answer to request `req_msg_id` (`rpc_result`, compressed like
    /// [`Session::push`] does) and returns its msg_id.
    pub fn push_result(&mut self, now: Duration, req_msg_id: i64, result: &[u8]) -> i64 {
        let result = self.maybe_compress(result.to_vec());
        let mut body = Vec::with_capacity(12 + result.len());
        body.extend_from_slice(&types::RpcResult::CONSTRUCTOR_ID.to_le_bytes());
        body.extend_from_slice(&req_msg_id.to_le_bytes());
        body.extend_from_slice(&result);
        let msg_id = self.next_msg_id(now, true);
        self.enqueue(msg_id, body, true)
    }

    /// Server: queues an `rpc_error` answer to request `req_msg_id` and returns its msg_id.
    pub fn push_error(&mut self, now: Duration, req_msg_id: i64, error: &types::RpcError) -> i64 {
        self.push_result(now, req_msg_id, &error.to_bytes())
    }

    fn enqueue(&mut self, msg_id: i64, body: Vec<u8>, content_related: bool) -> i64 {
        let seq_no = self.next_seq_no(content_related);
        self.queue.push_back(Outgoing {
            msg_id,
            seq_no,
            body,
            content_related,
            resend: false,
        });
        msg_id
    }

    fn maybe_compress(&self, body: Vec<u8>) -> Vec<u8> {
        let packed_already = constructor(&body) == Some(types::GzipPacked::CONSTRUCTOR_ID);
        match self.config.compress_min_len {
            Some(min) if body.len() >= min && !packed_already => {
                let packed = types::GzipPacked {
                    packed_data: gzip(&body),
                }
                .to_bytes();
                if packed.len() < body.len() {
                    packed
                } else {
                    body
                }
            }
            _ => body,
        }
    }

    /// A new msg_id: the corrected time in seconds in the high 32 bits, the fraction of the
    /// second in the low 32 bits, strictly above the last one. Client ids are `0 mod 4`;
    /// server ids are `1 mod 4` for answers and `3 mod 4` otherwise.
    fn next_msg_id(&mut self, now: Duration, answer: bool) -> i64 {
        let seconds = self.peer_now(now);
        let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
        let residue = match (self.side, answer) {
            (Side::Client, _) => 0,
            (Side::Server, true) => 1,
            (Side::Server, false) => 3,
        };
        let mut id = (seconds.wrapping_shl(32) | fraction as i64) & !3;
        // The low 32 bits of a client id must not be all zero (the description page).
        if id & 0xFFFF_FFFF == 0 {
            id += 4;
        }
        let floor = (self.last_msg_id & !3) + 4;
        id = id.max(floor) | residue;
        self.last_msg_id = id;
        id
    }

    /// `2 * content-related messages sent before + 1` for a content-related message (and count
    /// it), `2 * that count` otherwise.
    fn next_seq_no(&mut self, content_related: bool) -> i32 {
        let seq_no = self.content_sent.wrapping_mul(2);
        if content_related {
            self.content_sent = self.content_sent.wrapping_add(1);
            seq_no | 1
        } else {
            seq_no
        }
    }

    /// The salt to send with: the future salt valid at the server's time now, if one is known,
    /// else the current one.
    fn current_salt(&mut self, now: Duration) -> i64 {
        let server_now = self.peer_now(now);
        self.future_salts
            .retain(|s| i64::from(s.valid_until) > server_now);
        if let Some(s) = self
            .future_salts
            .iter()
            .find(|s| i64::from(s.valid_since) <= server_now)
        {
            self.salt = s.salt;
        }
        self.salt
    }

    /// Encrypts everything queued, with the acks owed to the peer, into one payload: the single
    /// message itself, or a `msg_container`. `None` when there is nothing to send. Messages
    /// past [`Config::max_container_messages`] or [`Config::max_container_len`] stay queued
    /// for the next call.
    ///
    /// # Errors
    ///
    /// [`SessionError::Envelope`] when a body is too large for the length field.
    pub fn pack(
        &mut self,
        now: Duration,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Option<Packet>, SessionError> {
        while !self.pending_acks.is_empty() {
            let take = self.pending_acks.len().min(MAX_ACK_IDS);
            let msg_ids: Vec<i64> = self.pending_acks.drain(..take).collect();
            let body = types::MsgsAck {
                msg_ids: msg_ids.clone(),
            }
            .to_bytes();
            let msg_id = self.next_msg_id(now, false);
            self.enqueue(msg_id, body, false);
            self.remember_acks(msg_id, msg_ids);
        }
        let Some(first) = self.queue.pop_front() else {
            return Ok(None);
        };
        let limit = self
            .config
            .max_container_messages
            .clamp(1, MAX_CONTAINER_MESSAGES);
        let mut batch = vec![first];
        let mut len = batch[0].body.len();
        while let Some(next) = self.queue.front() {
            if batch.len() >= limit || len + next.body.len() > self.config.max_container_len {
                break;
            }
            len += next.body.len();
            batch.extend(self.queue.pop_front());
        }

        let msg_ids: Vec<i64> = batch.iter().map(|m| m.msg_id).collect();
        let (msg_id, seq_no, body) = if batch.len() == 1 && !batch[0].resend {
            let m = &batch[0];
            (m.msg_id, m.seq_no, m.body.clone())
        } else {
            let mut body = Vec::with_capacity(8 + len + 16 * batch.len());
            body.extend_from_slice(&MSG_CONTAINER_ID.to_le_bytes());
            body.extend_from_slice(&(batch.len() as u32).to_le_bytes());
            for m in &batch {
                body.extend_from_slice(&m.msg_id.to_le_bytes());
                body.extend_from_slice(&m.seq_no.to_le_bytes());
                // Each body fits: the envelope refuses bodies over i32::MAX below.
                body.extend_from_slice(&(m.body.len() as u32).to_le_bytes());
                body.extend_from_slice(&m.body);
            }
            // Generated after its contents, so its id is above theirs (the description page).
            let id = self.next_msg_id(now, false);
            let seq_no = self.next_seq_no(false);
            if self.containers.len() >= MAX_REMEMBERED_CONTAINERS {
                self.containers.pop_first();
            }
            self.containers.insert(id, msg_ids.clone());
            (id, seq_no, body)
        };
        let header = Header {
            salt: self.current_salt(now),
            session_id: self.session_id.unwrap_or(0),
            msg_id,
            seq_no,
        };
        let sealed = envelope::encrypt(&self.key, self.side.sends(), &header, &body, random)?;
        for m in batch {
            if m.content_related {
                self.unacked.insert(m.msg_id, m);
            }
        }
        Ok(Some(Packet {
            payload: sealed.payload,
            msg_id,
            msg_ids,
            quick_ack: sealed.quick_ack,
        }))
    }

    /// Decrypts and checks one payload from the peer and handles what it carries. Returns the
    /// events for the caller; acks for content-related messages are queued for the next
    /// [`Session::pack`].
    ///
    /// # Errors
    ///
    /// Any [`SessionError`]: the payload is dropped as a whole. A server end may have queued a
    /// `bad_server_salt` or `bad_msg_notification` for the client.
    pub fn unpack(&mut self, now: Duration, payload: &[u8]) -> Result<Vec<Event>, SessionError> {
        let opened = envelope::decrypt(&self.key, self.side.receives(), payload)?;
        let Header {
            salt,
            session_id,
            msg_id,
            seq_no,
        } = opened.header;
        match self.session_id {
            Some(expected) if expected != session_id => {
                return Err(SessionError::WrongSession {
                    expected,
                    found: session_id,
                })
            }
            Some(_) => {}
            // A server learns the session from the client's first message; notices about that
            // message already go to this session.
            None => self.session_id = Some(session_id),
        }
        if !self.side.accepts_id(msg_id) {
            self.notify(now, msg_id, seq_no, 18);
            return Err(SessionError::BadMsgIdParity { msg_id });
        }
        let skew = (msg_id >> 32).saturating_sub(self.peer_now(now));
        let in_window = (-MAX_PAST..=MAX_FUTURE).contains(&skew);
        if !in_window && self.side == Side::Server {
            self.notify(now, msg_id, seq_no, if skew < 0 { 16 } else { 17 });
            return Err(SessionError::OutOfWindow { msg_id, skew });
        }
        self.check_seen(msg_id)?;
        if self.side == Side::Server && !self.salt_accepted(now, salt) {
            self.push_bad_salt(now, msg_id, seq_no);
            return Err(SessionError::WrongSalt { found: salt });
        }

        // Decode everything before changing any state: a payload that fails anywhere leaves
        // the session as it was.
        let mut messages = Vec::new();
        let mut inflate_budget = self.config.max_inflated_len;
        for m in self.open_body(msg_id, seq_no, &opened.body)? {
            if m.msg_id != msg_id && !self.side.accepts_id(m.msg_id) {
                return Err(SessionError::BadContainer {
                    reason: "an inner msg_id has the wrong parity",
                });
            }
            if !in_window && !is_time_or_salt_notice(&m.body) {
                // A client whose clock is off may still take the server's time and salt
                // corrections (the security guidelines); everything else is dropped.
                continue;
            }
            let content_related = m.seq_no & 1 == 1;
            let msg = self.parse(m, &mut inflate_budget)?;
            messages.push((msg, content_related));
        }
        if !in_window && messages.is_empty() {
            return Err(SessionError::OutOfWindow { msg_id, skew });
        }

        self.remember(msg_id);
        if self.side == Side::Server && !self.announced {
            self.announced = true;
            let notice = types::NewSessionCreated {
                first_msg_id: msg_id,
                unique_id: self.unique_id,
                server_salt: self.salt,
            }
            .to_bytes();
            self.push(now, notice, true);
        }
        let mut events = Vec::new();
        for (msg, content_related) in messages {
            let id = msg.msg_id;
            // Content-related messages are acknowledged, again if the peer re-sent one.
            if content_related {
                self.pending_acks.push(id);
            }
            if id != msg_id {
                if self.check_seen(id).is_err() {
                    if self.side == Side::Server && content_related && self.seen.contains(&id) {
                        events.push(Event::Repeated { msg_id: id });
                    }
                    continue;
                }
                self.remember(id);
            }
            self.apply(now, msg_id, msg, &mut events);
        }
        Ok(events)
    }

    /// Refuses a msg_id received before, or below every id kept when the window is full (it
    /// cannot be told from a replay).
    fn check_seen(&self, msg_id: i64) -> Result<(), SessionError> {
        if self.seen.contains(&msg_id) {
            return Err(SessionError::Duplicate { msg_id });
        }
        match self.seen.first() {
            Some(&lowest) if self.seen.len() >= self.config.duplicate_window && msg_id < lowest => {
                Err(SessionError::TooOld { msg_id })
            }
            _ => Ok(()),
        }
    }

    /// Keeps `msg_id` in the duplicate window, forgetting the lowest ids beyond its size.
    fn remember(&mut self, msg_id: i64) {
        self.seen.insert(msg_id);
        while self.seen.len() > self.config.duplicate_window.max(1) {
            self.seen.pop_first();
        }
    }

    /// Splits a body into its messages: the inner messages of a container (checked), or the
    /// body itself.
    fn open_body(&self, msg_id: i64, seq_no: i32, body: &[u8]) -> Result<Vec<Inner>, SessionError> {
        if constructor(body) != Some(MSG_CONTAINER_ID) {
            return Ok(vec![Inner {
                msg_id,
                seq_no,
                body: body.to_vec(),
            }]);
        }
        let bad = |reason| Err(SessionError::BadContainer { reason });
        let mut r = Reader::new(&body[4..]);
        let count = r.read_u32().map_err(|e| decode("msg_container", e))?;
        if count as usize > MAX_CONTAINER_MESSAGES {
            return bad("more than 1024 messages");
        }
        // Room for the messages whose 16-byte headers the rest can hold: the count alone would
        // reserve for 1024 of them whatever the payload's length.
        let mut inner = Vec::with_capacity((count as usize).min(r.remaining() / 16));
        for _ in 0..count {
            let (Ok(id), Ok(seq), Ok(len)) = (
                r.take_array::<8>(),
                r.take_array::<4>(),
                r.take_array::<4>(),
            ) else {
                return bad("a message header runs past the end");
            };
            let id = i64::from_le_bytes(id);
            let len = i32::from_le_bytes(len);
            if id >= msg_id {
                return bad("an inner msg_id is not below the container's");
            }
            let Ok(len) = usize::try_from(len) else {
                return bad("a negative length");
            };
            let Ok(bytes) = r.take(len) else {
                return bad("a message runs past the end");
            };
            if constructor(bytes) == Some(MSG_CONTAINER_ID) {
                return bad("a container inside a container");
            }
            inner.push(Inner {
                msg_id: id,
                seq_no: i32::from_le_bytes(seq),
                body: bytes.to_vec(),
            });
        }
        if r.remaining() != 0 {
            return bad("bytes after the last message");
        }
        Ok(inner)
    }

    /// Decodes one (inner) message: inflates `gzip_packed` (taking the inflated bytes from
    /// the payload's `budget`), and reads the service messages this end handles itself.
    fn parse(&self, m: Inner, budget: &mut usize) -> Result<Parsed, SessionError> {
        let body = self.inflate_if_packed(m.body, budget)?;
        let kind = match constructor(&body) {
            Some(types::MsgsAck::CONSTRUCTOR_ID) => {
                let enums::MsgsAck::MsgsAck(ack) = parse::<enums::MsgsAck>("msgs_ack", &body)?;
                Kind::Ack(ack.msg_ids)
            }
            _ if self.side == Side::Server => Kind::Other(body),
            Some(types::RpcResult::CONSTRUCTOR_ID) => {
                let enums::RpcResult::RpcResult(r) =
                    parse::<enums::RpcResult>("rpc_result", &body)?;
                let result = self.inflate_if_packed(r.result.0, budget)?;
                let result = if constructor(&result) == Some(types::RpcError::CONSTRUCTOR_ID) {
                    let enums::RpcError::RpcError(e) =
                        parse::<enums::RpcError>("rpc_error", &result)?;
                    Err(*e)
                } else {
                    Ok(result)
                };
                Kind::Result(r.req_msg_id, result)
            }
            Some(
                types::BadServerSalt::CONSTRUCTOR_ID | types::BadMsgNotification::CONSTRUCTOR_ID,
            ) => Kind::BadMsg(parse::<enums::BadMsgNotification>(
                "bad_msg_notification",
                &body,
            )?),
            Some(types::NewSessionCreated::CONSTRUCTOR_ID) => {
                let enums::NewSession::Created(n) =
                    parse::<enums::NewSession>("new_session_created", &body)?;
                Kind::NewSession(*n)
            }
            Some(types::Pong::CONSTRUCTOR_ID) => {
                let enums::Pong::Pong(p) = parse::<enums::Pong>("pong", &body)?;
                Kind::Pong(p)
            }
            Some(types::FutureSalts::CONSTRUCTOR_ID) => {
                let enums::FutureSalts::FutureSalts(s) =
                    parse::<enums::FutureSalts>("future_salts", &body)?;
                Kind::FutureSalts(*s)
            }
            Some(types::MsgsStateInfo::CONSTRUCTOR_ID) => {
                let enums::MsgsStateInfo::MsgsStateInfo(info) =
                    parse::<enums::MsgsStateInfo>("msgs_state_info", &body)?;
                Kind::StateInfo(*info, body)
            }
            _ => Kind::Other(body),
        };
        Ok(Parsed {
            msg_id: m.msg_id,
            kind,
        })
    }

    /// Acts on one decoded message: service messages here, the rest as events.
    fn apply(&mut self, now: Duration, outer_msg_id: i64, msg: Parsed, events: &mut Vec<Event>) {
        match msg.kind {
            Kind::Ack(msg_ids) => {
                for id in &msg_ids {
                    // A client keeps an acknowledged request until it is answered.
                    match self.unacked.remove(id) {
                        Some(m) if self.side == Side::Client => {
                            self.awaiting.insert(*id, m);
                        }
                        _ => {}
                    }
                }
                events.push(Event::Acked { msg_ids });
            }
            Kind::Result(req_msg_id, result) => {
                self.settle(req_msg_id);
                events.push(Event::Result { req_msg_id, result });
            }
            Kind::BadMsg(notice) => self.handle_bad_msg(now, outer_msg_id, notice, events),
            Kind::NewSession(n) => {
                self.salt = n.server_salt;
                events.push(Event::NewSession {
                    first_msg_id: n.first_msg_id,
                    unique_id: n.unique_id,
                });
            }
            Kind::Pong(p) => {
                self.settle(p.msg_id);
                events.push(Event::Pong {
                    msg_id: p.msg_id,
                    ping_id: p.ping_id,
                });
            }
            Kind::FutureSalts(s) => {
                self.settle(s.req_msg_id);
                let count = s.salts.len();
                self.future_salts = s.salts;
                self.future_salts.sort_by_key(|s| s.valid_since);
                events.push(Event::FutureSalts {
                    req_msg_id: s.req_msg_id,
                    count,
                });
            }
            Kind::StateInfo(info, body) => match self.inquiries.remove(&info.req_msg_id) {
                Some(inquiry) => {
                    let mut bytes = info.info.into_iter();
                    let states = inquiry
                        .msg_ids
                        .into_iter()
                        .map(|id| (id, MsgState(bytes.next().unwrap_or(0))))
                        .collect();
                    events.push(Event::MsgsState {
                        req_msg_id: info.req_msg_id,
                        states,
                    });
                }
                // About a request this session did not make through push_state_request (or
                // one forgotten): the caller decides.
                None => events.push(Event::Message {
                    msg_id: msg.msg_id,
                    body,
                }),
            },
            Kind::Other(body) => events.push(Event::Message {
                msg_id: msg.msg_id,
                body,
            }),
        }
    }

    /// Client: a `bad_msg_notification` or `bad_server_salt` about one of our messages (or
    /// containers). Fixes what can be fixed and queues the refused messages again.
    fn handle_bad_msg(
        &mut self,
        now: Duration,
        notice_msg_id: i64,
        notice: enums::BadMsgNotification,
        events: &mut Vec<Event>,
    ) {
        let (bad_msg_id, code) = match notice {
            enums::BadMsgNotification::ServerSalt(s) => {
                self.salt = s.new_server_salt;
                self.future_salts.clear();
                (s.bad_msg_id, s.error_code)
            }
            enums::BadMsgNotification::BadMsgNotification(n) => (n.bad_msg_id, n.error_code),
        };
        let resend = match code {
            // msg_id too low or too high: the clock is off; take the server's from the notice.
            16 | 17 => {
                self.time_offset = (notice_msg_id >> 32).saturating_sub(secs(now));
                // The ids so far followed the wrong clock: when it was ahead (17), the next
                // ones must be allowed to go back to the server's time. The server refused
                // the ids above it, so none of them can clash with an accepted one.
                if code == 17 {
                    self.last_msg_id = 0;
                }
                true
            }
            // Container id reused, message too old, wrong salt: a new id fixes them.
            19 | 20 | 48 => true,
            _ => false,
        };
        // A refused container stands for the messages inside. Of those, the ones this session
        // keeps (content-related, not yet acknowledged) are sent again and reported; the acks
        // it packed itself are owed again, not reported.
        let (ids, in_container) = match self.containers.remove(&bad_msg_id) {
            Some(ids) => (ids, true),
            None => (vec![bad_msg_id], false),
        };
        for id in ids {
            // Acks this session sent in the refused message: owed again.
            if let Some(acked) = self.sent_acks.remove(&id) {
                self.sent_ack_ids -= acked.len();
                if resend {
                    self.pending_acks.extend(acked);
                }
                continue;
            }
            // A question about our messages: asked again under a new id.
            if let Some(inquiry) = self.inquiries.remove(&id) {
                if resend {
                    let new_msg_id = self.push_inquiry(now, inquiry.answers, inquiry.msg_ids);
                    events.push(Event::Resent {
                        old_msg_id: id,
                        new_msg_id,
                        code,
                    });
                } else {
                    events.push(Event::Rejected { msg_id: id, code });
                }
                continue;
            }
            let kept = self
                .unacked
                .remove(&id)
                .or_else(|| self.awaiting.remove(&id));
            match kept {
                // Sent before under this id and refused only for its salt: the same id again,
                // so that a server that got it the first time still knows it.
                Some(old) if old.resend && code == 48 => {
                    self.queue.push_back(old);
                    events.push(Event::Resent {
                        old_msg_id: id,
                        new_msg_id: id,
                        code,
                    });
                }
                Some(old) if resend => {
                    let new_msg_id = self.next_msg_id(now, false);
                    self.enqueue(new_msg_id, old.body, old.content_related);
                    events.push(Event::Resent {
                        old_msg_id: id,
                        new_msg_id,
                        code,
                    });
                }
                // Not sent again: it stays unanswered, which the caller learns here.
                Some(_) => events.push(Event::Rejected { msg_id: id, code }),
                None if !in_container => events.push(Event::Rejected { msg_id: id, code }),
                None => {}
            }
        }
    }

    /// Keeps the ids a `msgs_ack` carries, forgetting the oldest past the bounds.
    fn remember_acks(&mut self, msg_id: i64, acked: Vec<i64>) {
        self.sent_ack_ids += acked.len();
        self.sent_acks.insert(msg_id, acked);
        while self.sent_ack_ids > MAX_REMEMBERED_ACK_IDS
            || self.sent_acks.len() > MAX_REMEMBERED_CONTAINERS
        {
            match self.sent_acks.pop_first() {
                Some((_, old)) => self.sent_ack_ids -= old.len(),
                None => break,
            }
        }
    }

    /// Inflates a `gzip_packed` body, at most `budget` bytes, and takes what it inflated to
    /// from `budget`; any other body is returned as it is.
    fn inflate_if_packed(
        &self,
        body: Vec<u8>,
        budget: &mut usize,
    ) -> Result<Vec<u8>, SessionError> {
        if constructor(&body) != Some(types::GzipPacked::CONSTRUCTOR_ID) {
            return Ok(body);
        }
        let enums::Object::GzipPacked(packed) = parse::<enums::Object>("gzip_packed", &body)?;
        let out =
            gunzip_at_most(&packed.packed_data, *budget)?.ok_or(SessionError::TooMuchInflated {
                limit: self.config.max_inflated_len,
            })?;
        *budget -= out.len(); // out.len() <= budget
        Ok(out)
    }

    /// Server: whether a client's salt is the current one or the previous one still in grace.
    fn salt_accepted(&self, now: Duration, salt: i64) -> bool {
        salt == self.salt
            || matches!(self.old_salt, Some((old, until)) if old == salt && self.peer_now(now) < until)
    }

    /// Server: queues `bad_msg_notification` with `code` for a refused client message.
    fn notify(&mut self, now: Duration, bad_msg_id: i64, bad_msg_seqno: i32, code: i32) {
        if self.side == Side::Server {
            let body = types::BadMsgNotification {
                bad_msg_id,
                bad_msg_seqno,
                error_code: code,
            }
            .to_bytes();
            self.push(now, body, false);
        }
    }

    fn push_bad_salt(&mut self, now: Duration, bad_msg_id: i64, bad_msg_seqno: i32) {
        let body = types::BadServerSalt {
            bad_msg_id,
            bad_msg_seqno,
            error_code: 48,
            new_server_salt: self.salt,
        }
        .to_bytes();
        self.push(now, body, false);
    }
}

/// A received message, decoded.
struct Parsed {
    msg_id: i64,
    kind: Kind,
}

/// What a received message is.
enum Kind {
    Ack(Vec<i64>),
    Result(i64, Result<Vec<u8>, types::RpcError>),
    BadMsg(enums::BadMsgNotification),
    NewSession(types::NewSessionCreated),
    Pong(types::Pong),
    FutureSalts(types::FutureSalts),
    /// Client: `msgs_state_info`, with its body for when no inquiry of ours asked for it.
    StateInfo(types::MsgsStateInfo, Vec<u8>),
    /// Anything else: an update or a request.
    Other(Vec<u8>),
}

/// One message of a received payload.
struct Inner {
    msg_id: i64,
    seq_no: i32,
    body: Vec<u8>,
}

fn secs(now: Duration) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

fn constructor(body: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(body.get(..4)?.try_into().ok()?))
}

fn is_time_or_salt_notice(body: &[u8]) -> bool {
    matches!(
        constructor(body),
        Some(types::BadServerSalt::CONSTRUCTOR_ID | types::BadMsgNotification::CONSTRUCTOR_ID)
    )
}

fn decode(what: &'static str, error: DecodeError) -> SessionError {
    SessionError::Decode { what, error }
}

fn parse<T: Deserializable>(what: &'static str, body: &[u8]) -> Result<T, SessionError> {
    T::from_bytes(body).map_err(|e| decode(what, e))
}

/// gzip of `data` (the `packed_data` of `gzip_packed`).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(data)
        .expect("writing into a Vec cannot fail");
    encoder.finish().expect("writing into a Vec cannot fail")
}

/// Inflates gzip `data`, refusing output longer than `max_len` without allocating for it.
///
/// # Errors
///
/// [`SessionError::BadGzip`] when the data is not gzip or inflates past `max_len`.
pub fn gunzip(data: &[u8], max_len: usize) -> Result<Vec<u8>, SessionError> {
    gunzip_at_most(data, max_len)?.ok_or_else(|| SessionError::BadGzip {
        reason: format!("inflates to more than {max_len} bytes"),
    })
}

/// Inflates gzip `data`, or `None` when it inflates past `max_len` (stopping one byte past it).
fn gunzip_at_most(data: &[u8], max_len: usize) -> Result<Option<Vec<u8>>, SessionError> {
    let mut out = Vec::new();
    let limit = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| SessionError::BadGzip {
            reason: e.to_string(),
        })?;
    Ok((out.len() <= max_len).then_some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mtproto::schema::functions;

    fn at(ms: u64) -> Duration {
        Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
    }

    fn zeros(buf: &mut [u8]) {
        buf.fill(0);
    }

    fn pair() -> (Session, Session) {
        let key = MessageKey::new([3; 256]);
        (
            Session::client(key.clone(), 0x1111, 77, 0),
            Session::server(key, 77, 5),
        )
    }

    /// Packs everything `from` has and hands it to `to`; the events `to` returned.
    fn deliver(from: &mut Session, to: &mut Session, now: Duration) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(packet) = from.pack(now, &mut zeros).unwrap() {
            events.extend(to.unpack(now, &packet.payload).unwrap());
        }
        events
    }

    fn requests(events: &[Event]) -> Vec<i64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Message { msg_id, body } if body.first() != Some(&0x08) => Some(*msg_id),
                _ => None,
            })
            .collect()
    }

    fn repeated(events: &[Event]) -> Vec<i64> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Repeated { msg_id } => Some(*msg_id),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn unacknowledged_requests_are_sent_again_under_their_own_ids() {
        let (mut client, mut server) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        let b = client.push_request(now, &functions::Ping { ping_id: 2 });
        let first = deliver(&mut client, &mut server, now);
        assert_eq!(requests(&first), [a, b]);
        // The server's acks are lost with the connection: both go again under the same ids,
        // in a container; the server reports them as repeated, not as new requests.
        assert_eq!(client.unacked().collect::<Vec<_>>(), [a, b]);
        assert_eq!(client.requeue_unacked(), [a, b]);
        let again = deliver(&mut client, &mut server, at(10));
        assert!(requests(&again).is_empty());
        assert_eq!(repeated(&again), [a, b]);

        // Now acknowledged: kept until answered, and not re-queued by a reconnection.
        deliver(&mut server, &mut client, at(10));
        assert_eq!(client.unacked().count(), 0);
        assert_eq!(client.awaiting_answer().collect::<Vec<_>>(), [a, b]);
        assert!(client.requeue_unacked().is_empty());
        assert_eq!(client.queued(), 0);

        // An answer settles a request for good.
        server.push_result(at(20), a, &[1, 2, 3, 4]);
        let answered = deliver(&mut server, &mut client, at(20));
        assert!(answered
            .iter()
            .any(|e| matches!(e, Event::Result { req_msg_id, .. } if *req_msg_id == a)));
        assert_eq!(client.awaiting_answer().collect::<Vec<_>>(), [b]);
    }

    #[test]
    fn acknowledged_requests_are_asked_about_and_one_sent_again_on_demand() {
        let (mut client, mut server) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        let b = client.push_request(now, &functions::Ping { ping_id: 2 });
        deliver(&mut client, &mut server, now);
        deliver(&mut server, &mut client, now);
        assert_eq!(client.awaiting_answer().collect::<Vec<_>>(), [a, b]);

        // The client asks about both; the server (here by hand) says a was answered and b is
        // unknown to it.
        let ask = client.push_state_request(at(10), vec![a, b]);
        let got = deliver(&mut client, &mut server, at(10));
        let body = got
            .iter()
            .find_map(|e| match e {
                Event::Message { msg_id, body } if *msg_id == ask => Some(body.clone()),
                _ => None,
            })
            .expect("the server got the msgs_state_req");
        let req = types::MsgsStateReq::from_bytes(&body).unwrap();
        assert_eq!(req.msg_ids, [a, b]);
        assert_eq!(
            server.pending_acks(),
            0,
            "a service message: not acknowledged"
        );
        let info = types::MsgsStateInfo {
            req_msg_id: ask,
            info: vec![4 | 32 | 64, 2],
        };
        server.push(at(10), info.to_bytes(), false);
        let events = deliver(&mut server, &mut client, at(10));
        assert!(events.contains(&Event::MsgsState {
            req_msg_id: ask,
            states: vec![(a, MsgState(4 | 32 | 64)), (b, MsgState(2))],
        }));
        assert!(MsgState(4 | 32 | 64).is_answered());
        assert!(MsgState(2).is_not_received());

        // b goes again under its own id (the server recognizes it); a's answer is asked for.
        assert!(client.resend(b));
        assert!(!client.resend(0x1234));
        let want = client.push_answer_request(at(11), vec![a]);
        let again = deliver(&mut client, &mut server, at(11));
        assert_eq!(repeated(&again), [b]);
        assert!(again.iter().any(|e| matches!(
            e,
            Event::Message { msg_id, body } if *msg_id == want
                && types::MsgResendAnsReq::from_bytes(body).unwrap().msg_ids == [a]
        )));
        // A msgs_state_info nobody asked for is left to the caller.
        let stray = types::MsgsStateInfo {
            req_msg_id: 99,
            info: vec![1],
        };
        server.push(at(12), stray.to_bytes(), false);
        let events = deliver(&mut server, &mut client, at(12));
        assert!(events.iter().any(|e| matches!(e, Event::Message { .. })));
        // An answer that leaves states out gives them as 0.
        server.push(
            at(12),
            types::MsgsStateInfo {
                req_msg_id: want,
                info: Vec::new(),
            }
            .to_bytes(),
            false,
        );
        let events = deliver(&mut server, &mut client, at(12));
        assert!(events.contains(&Event::MsgsState {
            req_msg_id: want,
            states: vec![(a, MsgState(0))],
        }));
    }

    #[test]
    fn a_refused_state_request_is_asked_again_under_a_new_id() {
        let (mut client, mut server) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        deliver(&mut client, &mut server, now);
        deliver(&mut server, &mut client, now);
        server.change_salt(now, 99);
        server.change_salt(now, 100);
        let ask = client.push_state_request(at(1), vec![a]);
        let refused = client.pack(at(1), &mut zeros).unwrap().unwrap();
        assert!(server.unpack(at(1), &refused.payload).is_err());
        let events = deliver(&mut server, &mut client, at(1));
        let new = events
            .iter()
            .find_map(|e| match e {
                Event::Resent {
                    old_msg_id,
                    new_msg_id,
                    code: 48,
                } if *old_msg_id == ask => Some(*new_msg_id),
                _ => None,
            })
            .expect("the msgs_state_req is sent again");
        assert_ne!(new, ask);
        let got = deliver(&mut client, &mut server, at(2));
        assert!(got
            .iter()
            .any(|e| matches!(e, Event::Message { msg_id, .. } if *msg_id == new)));
        // Forgotten, its answer is the caller's.
        assert!(client.forget(new));
        server.push(
            at(2),
            types::MsgsStateInfo {
                req_msg_id: new,
                info: vec![4],
            }
            .to_bytes(),
            false,
        );
        let events = deliver(&mut server, &mut client, at(2));
        assert!(!events.iter().any(|e| matches!(e, Event::MsgsState { .. })));
    }

    #[test]
    fn one_message_sent_again_travels_in_a_container() {
        let (mut client, _) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        let first = client.pack(now, &mut zeros).unwrap().unwrap();
        assert_eq!(first.msg_id, a);
        client.requeue_unacked();
        let again = client.pack(at(5), &mut zeros).unwrap().unwrap();
        assert_ne!(again.msg_id, a);
        assert!(again.msg_id > a);
        assert_eq!(again.msg_ids, [a]);
    }

    #[test]
    fn forgotten_messages_are_not_sent_again() {
        let (mut client, _) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        let b = client.push_request(now, &functions::Ping { ping_id: 2 });
        assert!(client.forget(b));
        assert!(!client.forget(b));
        let packet = client.pack(now, &mut zeros).unwrap().unwrap();
        assert_eq!(packet.msg_ids, [a]);
        assert!(client.forget(a));
        assert!(client.requeue_unacked().is_empty());
        assert_eq!(client.queued(), 0);
    }

    #[test]
    fn a_resent_message_refused_for_its_salt_keeps_its_id() {
        let (mut client, mut server) = pair();
        let now = at(0);
        let a = client.push_request(now, &functions::Ping { ping_id: 1 });
        deliver(&mut client, &mut server, now);
        client.requeue_unacked();
        // The server changed its salt while the client was away.
        server.change_salt(now, 99);
        server.change_salt(now, 100);
        let refused = client.pack(at(1), &mut zeros).unwrap().unwrap();
        assert!(matches!(
            server.unpack(at(1), &refused.payload),
            Err(SessionError::WrongSalt { .. })
        ));
        let events = deliver(&mut server, &mut client, at(1));
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Resent { old_msg_id, new_msg_id, code: 48 } if *old_msg_id == a && *new_msg_id == a
        )));
        assert_eq!(client.salt(), 100);
        let again = deliver(&mut client, &mut server, at(2));
        assert!(again
            .iter()
            .any(|e| matches!(e, Event::Repeated { msg_id } if *msg_id == a)));
    }

    #[test]
    fn a_client_clock_an_hour_ahead_is_corrected_and_its_ids_go_back() {
        let key = MessageKey::new([3; 256]);
        let mut client = Session::client(key.clone(), 0x1111, 77, 0);
        let mut server = Session::server(key, 77, 5);
        // The client's clock is an hour ahead of the server's.
        let late = Duration::from_secs(3600);
        let a = client.push_request(at(0) + late, &functions::Ping { ping_id: 1 });
        let packet = client.pack(at(0) + late, &mut zeros).unwrap().unwrap();
        assert!(matches!(
            server.unpack(at(0), &packet.payload),
            Err(SessionError::OutOfWindow { .. })
        ));
        let events = deliver(&mut server, &mut client, at(0));
        let new = events
            .iter()
            .find_map(|e| match e {
                Event::Resent {
                    old_msg_id,
                    new_msg_id,
                    code: 17,
                } if *old_msg_id == a => Some(*new_msg_id),
                _ => None,
            })
            .expect("the request is sent again");
        assert!(
            (new >> 32) - 1_700_000_000 < 5,
            "the new id follows the server's clock"
        );
        let packet = client.pack(at(1) + late, &mut zeros).unwrap().unwrap();
        let again = server.unpack(at(1), &packet.payload).unwrap();
        assert_eq!(requests(&again), [new]);
    }

    #[test]
    fn counters_and_salt_horizon() {
        let (mut client, mut server) = pair();
        assert_eq!(client.salts_valid_until(), None);
        assert_eq!(client.server_now(at(0)), 1_700_000_000);
        client.push_request(at(0), &functions::Ping { ping_id: 1 });
        assert_eq!(client.queued(), 1);
        deliver(&mut client, &mut server, at(0));
        assert_eq!(client.queued(), 0);
        assert!(server.pending_acks() >= 1);
    }
}
