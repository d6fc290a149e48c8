//! A small in-memory Telegram: the API half of tlgen's loopback server.
//!
//! The protocol half (`tlgen-loopback`) decrypts messages, deduplicates them by msg_id and
//! hands each request body to a [`Service`]; what the service answers goes back as
//! `rpc_result`. The service never sees bytes of the transport or of MTProto's own messages.
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
