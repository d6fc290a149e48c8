//! Fault injection: what the server does wrong on purpose, so clients can be tested against it.
//!
//! A [`Faults`] value is set for the whole server ([`crate::Builder::faults`],
//! [`crate::ServerHandle::set_faults`]) or for one connection
//! ([`crate::ServerHandle::set_connection_faults`], which then replaces the server's for that
//! connection). Connections read it at each event, so a change applies at once. The counted
//! faults (`bad_server_salt`, `garbage`, `wrong_msg_key`, `transport_error`) are one-shot: each
//! use takes one from the count of the value it came from.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tlgen_world::Reply;

/// Answers a request body (the innermost query, wrappers removed) instead of the service, or
/// returns `None` to let it through.
pub type Intercept = Arc<dyn Fn(u32, &[u8]) -> Option<Reply> + Send + Sync>;

/// Faults to inject. [`Faults::default`] injects none.
#[derive(Clone, Default)]
pub struct Faults {
    /// Close a connection right after its `n`-th encrypted payload was handled: its requests
    /// ran and their answers are cached, but nothing of that payload's answer is written. A
    /// client that re-sends the same msg_id on a new connection gets the cached answer.
    pub drop_after: Option<u32>,
    /// Write only the first half of a connection's `n`-th encrypted frame (counted per
    /// connection from 1), then close it.
    pub drop_mid_frame: Option<u32>,
    /// Hold every answer to a request (`rpc_result`, `rpc_error`, `pong`) this long before
    /// sending it. The request runs at once; the answer is cached at once.
    pub delay: Option<Duration>,
    /// Answer `rpc_error 420 FLOOD_WAIT_<seconds>` to requests whose method (the innermost
    /// query's constructor id, after `invokeWithLayer`, `initConnection`, `invokeAfterMsg(s)`,
    /// `invokeWithoutUpdates` and `invokeWithTakeout`) is listed. The request does not run.
    pub flood_wait: Vec<FloodWait>,
    /// Refuse the next `n` received encrypted payloads with `bad_server_salt` (the server moves
    /// to a new salt, and the client's is no longer accepted).
    pub bad_server_salt: u32,
    /// Seconds added to the server's clock (handshake `server_time`, msg_ids, time checks,
    /// `CallContext::now`). Negative runs it behind.
    pub clock_skew: i64,
    /// Replace the next `n` encrypted frames written with 64 random bytes (not framed).
    pub garbage: u32,
    /// Send the next `n` encrypted payloads with one bit of their msg_key flipped.
    pub wrong_msg_key: u32,
    /// Answer the next received encrypted payload with this transport error (404, 429, ...)
    /// instead of handling it, then close the connection. Cleared once used.
    pub transport_error: Option<u32>,
    /// Read and drop everything received, answer nothing, keep the socket open.
    pub silent: bool,
    /// Once: close the connection right after the next payload that runs an API request,
    /// writing nothing of its answer (acks included), and forget the connection's session, as
    /// a server that lost its sessions would. The requests ran; the client, coming back with
    /// the same session id, gets `new_session_created` and "nothing known" (1) for the msg_ids
    /// it sent before. Cleared once used.
    pub lose_session: bool,
    /// Called with the method's constructor id and the innermost query for every request
    /// before the service; its `Some` answer replaces the service's (the service is not
    /// called).
    pub intercept: Option<Intercept>,
}

/// One entry of [`Faults::flood_wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodWait {
    /// The method's constructor id (e.g. `0x0d91a548` for `messages.sendMessage` of some layer).
    pub constructor_id: u32,
    /// The X of `FLOOD_WAIT_X`.
    pub seconds: u32,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("drop_after", &self.drop_after)
            .field("drop_mid_frame", &self.drop_mid_frame)
            .field("delay", &self.delay)
            .field("flood_wait", &self.flood_wait)
            .field("bad_server_salt", &self.bad_server_salt)
            .field("clock_skew", &self.clock_skew)
            .field("garbage", &self.garbage)
            .field("wrong_msg_key", &self.wrong_msg_key)
            .field("transport_error", &self.transport_error)
            .field("silent", &self.silent)
            .field("lose_session", &self.lose_session)
            .field("intercept", &self.intercept.is_some())
            .finish()
    }
}

impl Faults {
    /// Whether nothing is injected.
    pub fn is_none(&self) -> bool {
        self.drop_after.is_none()
            && self.drop_mid_frame.is_none()
            && self.delay.is_none()
            && self.flood_wait.is_empty()
            && self.bad_server_salt == 0
            && self.clock_skew == 0
            && self.garbage == 0
            && self.wrong_msg_key == 0
            && self.transport_error.is_none()
            && !self.silent
            && !self.lose_session
            && self.intercept.is_none()
    }

    /// The `FLOOD_WAIT` seconds for a method, if it is listed.
    pub(crate) fn flood_wait_for(&self, constructor_id: u32) -> Option<u32> {
        self.flood_wait
            .iter()
            .find(|f| f.constructor_id == constructor_id)
            .map(|f| f.seconds)
    }
}

/// Takes one from a one-shot count; whether there was one.
pub(crate) fn take_one(count: &mut u32) -> bool {
    if *count > 0 {
        *count -= 1;
        true
    } else {
        false
    }
}
