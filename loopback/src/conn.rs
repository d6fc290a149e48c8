//! One connection: transport detection, the handshake, encrypted messages, answers, faults.
//!
//! Each connection is one tokio task holding little while idle (the codec's empty buffers, the
//! handshake state only while a handshake runs); a read allocates its buffer only when bytes
//! are there.

use std::collections::BTreeSet;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use tlgen_runtime::crypto::{
    aes_ige_decrypt, message_key_iv, msg_key_large, quick_ack_token, Direction, KNOWN_DH_PRIME,
};
use tlgen_runtime::mtproto::envelope::{self, MessageKey, Opened};
use tlgen_runtime::mtproto::handshake::{self, parse_plain_message, plain_message};
use tlgen_runtime::mtproto::schema::{functions, types};
use tlgen_runtime::mtproto::session::{Event, MsgState, Session, SessionError, MSG_CONTAINER_ID};
use tlgen_runtime::transport::{accept_with_max_frame_len, DynCodec, Frame};
use tlgen_runtime::{Deserializable, Identifiable, Serializable};
use tlgen_world::{CallContext, Reply};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::faults::{take_one, Faults};
use crate::server::{lock, KeyEntry, Request, SessionSlot, Shared, SALT_PERIOD};
use crate::wrappers;

/// The largest frame a client may send: 2 MiB (uploads send 512 KiB parts).
const MAX_FRAME_LEN: usize = 2 * 1024 * 1024;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 16 * 1024;
/// A write that takes longer than this closes the connection (the client stopped reading).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Handshakes one connection may start (a perm and a temp key, and retries).
const MAX_HANDSHAKES: u32 = 16;
/// The longest `ping_delay_disconnect` delay honoured.
const MAX_DISCONNECT_DELAY: i32 = 24 * 3600;
/// Most salts one `get_future_salts` returns.
const MAX_FUTURE_SALTS: i32 = 64;

type HandshakeServer = handshake::Server<fn(&mut [u8]), Box<dyn FnMut() -> i64 + Send>>;

/// What other parts of the server send a connection.
pub(crate) enum ConnMsg {
    /// An update (from the service's outbox) for the connection's session.
    Update(Vec<u8>),
    /// A delayed answer (boxed: the queue's blocks hold 32 messages each, allocated with the
    /// queue, and stay small this way).
    Answer(Box<DelayedAnswer>),
}

pub(crate) struct DelayedAnswer {
    session: (i64, i64),
    req_msg_id: i64,
    answer: Answer,
}

/// An answer as cached and sent (again).
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// `rpc_result` with these result bytes.
    Result(Vec<u8>),
    /// `rpc_result` with an `rpc_error`.
    Error(i32, String),
    /// A service answer sent as it is (`pong`, `future_salts`, `destroy_session_ok`, ...).
    Service(Vec<u8>),
    /// `msgs_state_info`: sent as it is, not content-related (it needs no acknowledgement),
    /// and never cached (a state asked again is looked up again).
    Info(Vec<u8>),
}

impl Answer {
    pub fn len(&self) -> usize {
        match self {
            Self::Result(b) | Self::Service(b) | Self::Info(b) => b.len(),
            Self::Error(_, m) => m.len() + 8,
        }
    }

    fn push(&self, session: &mut Session, now: Duration, req_msg_id: i64) {
        match self {
            Self::Result(bytes) => {
                session.push_result(now, req_msg_id, bytes);
            }
            Self::Error(code, message) => {
                let error = types::RpcError {
                    error_code: *code,
                    error_message: message.clone(),
                };
                session.push_error(now, req_msg_id, &error);
            }
            Self::Service(body) => {
                session.push(now, body.clone(), true);
            }
            Self::Info(body) => {
                session.push(now, body.clone(), false);
            }
        }
    }
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        match reply {
            Reply::Result(bytes) => Self::Result(bytes),
            Reply::Error { code, message } => Self::Error(code, message),
        }
    }
}

struct Conn {
    shared: Arc<Shared>,
    dc: i32,
    id: u64,
    /// This connection's own queue, for delayed answers (weak: the registry holds the sender).
    tx: Option<mpsc::WeakSender<ConnMsg>>,
    /// Bytes received before the transport was recognized (at most a read plus 63).
    opening: Vec<u8>,
    codec: Option<DynCodec>,
    handshake: Option<Box<HandshakeServer>>,
    handshakes: u32,
    last_plain_id: i64,
    /// Encrypted payloads received and sent (for the drop faults).
    received: u32,
    sent: u32,
    /// An API request ran for the payload being handled (for [`Faults::lose_session`]).
    ran_request: bool,
    disconnect_at: Option<Instant>,
    bound: Option<(i64, i64)>,
    out: Vec<u8>,
    close: bool,
}

/// Serves one connection until it closes, the server stops, or a fault ends it.
pub(crate) async fn run(
    shared: Arc<Shared>,
    dc: i32,
    id: u64,
    mut stream: TcpStream,
    mut rx: mpsc::Receiver<ConnMsg>,
    mut stop: watch::Receiver<bool>,
) {
    let tx = lock(&shared.conns).get(&id).map(|c| c.tx.downgrade());
    let _registered = Registered(shared.clone(), id);
    let mut conn = Conn {
        shared: shared.clone(),
        dc,
        id,
        tx,
        opening: Vec::new(),
        codec: None,
        handshake: None,
        handshakes: 0,
        last_plain_id: 0,
        received: 0,
        ran_request: false,
        sent: 0,
        disconnect_at: None,
        bound: None,
        out: Vec::new(),
        close: false,
    };
    loop {
        let deadline = conn.disconnect_at;
        tokio::select! {
            ready = stream.readable() => {
                if ready.is_err() {
                    break;
                }
                let mut buf = vec![0u8; READ_CHUNK];
                match stream.try_read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => conn.on_bytes(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(_) => break,
                }
            }
            msg = rx.recv() => match msg {
                Some(msg) => conn.on_msg(msg),
                None => break,
            },
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                tracing::debug!(id, "ping_delay_disconnect delay expired");
                break;
            }
            _ = stop.changed() => break,
        }
        if !conn.out.is_empty() {
            let out = std::mem::take(&mut conn.out);
            match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&out)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
        if let Some(handshake) = conn.handshake.as_mut() {
            // After resPQ went out: g^a is computed while the client works on its request.
            handshake.precompute();
        }
        if conn.close {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
    tracing::debug!(id, "connection closed");
}

/// Takes the connection out of the registry when its task ends, however it ends.
struct Registered(Arc<Shared>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.0.conns).remove(&self.1);
    }
}

impl Conn {
    fn on_bytes(&mut self, bytes: &[u8]) {
        match &mut self.codec {
            Some(codec) => codec.push(bytes),
            None => {
                self.opening.extend_from_slice(bytes);
                match accept_with_max_frame_len(&self.opening, None, MAX_FRAME_LEN, |buf| {
                    crate::random_fill(buf)
                }) {
                    Ok(Some((mut codec, used))) => {
                        codec.push(self.opening.get(used..).unwrap_or_default());
                        self.opening = Vec::new();
                        tracing::debug!(
                            id = self.id,
                            transport = codec.framing().kind().name(),
                            obfuscated = codec.is_obfuscated(),
                            "transport recognized"
                        );
                        self.codec = Some(codec);
                    }
                    // accept decides within 64 bytes.
                    Ok(None) => return,
                    Err(e) => {
                        tracing::debug!(id = self.id, error = %e, "unrecognized opening");
                        self.close = true;
                        return;
                    }
                }
            }
        }
        while !self.close {
            let Some(codec) = self.codec.as_mut() else {
                return;
            };
            match codec.next_frame() {
                Ok(Some(Frame::Payload { data, quick_ack })) => self.on_payload(&data, quick_ack),
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!(id = self.id, error = %e, "transport error");
                    self.close = true;
                }
            }
        }
    }

    fn on_payload(&mut self, data: &[u8], quick_ack: bool) {
        let faults = self.shared.faults_for(self.id);
        if faults.silent {
            return;
        }
        match envelope::auth_key_id(data) {
            Some(0) => self.on_plain(data),
            Some(key_id) => self.on_encrypted(key_id, data, quick_ack, &faults),
            None => {
                // Shorter than 8 bytes: nothing MTProto sends.
                self.send_transport_error(404);
                self.close = true;
            }
        }
    }

    // ---- handshake --------------------------------------------------------------------------

    fn on_plain(&mut self, data: &[u8]) {
        let Ok((_, body)) = parse_plain_message(data) else {
            self.send_transport_error(404);
            self.close = true;
            return;
        };
        let opening = wrappers::constructor(body);
        if opening == Some(functions::ReqPqMulti::CONSTRUCTOR_ID)
            || opening == Some(functions::ReqPq::CONSTRUCTOR_ID)
        {
            if self.handshakes >= MAX_HANDSHAKES {
                self.close = true;
                return;
            }
            self.handshakes += 1;
            let shared = self.shared.clone();
            let clock: Box<dyn FnMut() -> i64 + Send> = Box::new(move || shared.now_secs());
            let random: fn(&mut [u8]) = crate::random_fill;
            match handshake::Server::new(self.shared.key.clone(), &KNOWN_DH_PRIME, 3, random, clock)
            {
                Ok(server) => self.handshake = Some(Box::new(server)),
                Err(e) => {
                    tracing::error!(error = %e, "the built-in DH prime was refused");
                    self.close = true;
                    return;
                }
            }
        }
        let Some(server) = self.handshake.as_mut() else {
            self.send_transport_error(404);
            self.close = true;
            return;
        };
        match server.handle(body) {
            Ok(answer) => {
                if let Some(key) = server.auth_key() {
                    let now = self.shared.now_secs();
                    let info = server.inner_data();
                    let expires_at = info
                        .and_then(|i| i.expires_in)
                        .map(|e| now.saturating_add(i64::from(e.max(0))));
                    tracing::debug!(
                        id = self.id,
                        key = format_args!("{:#018x}", key.id as u64),
                        ?info,
                        "auth key made"
                    );
                    self.shared.add_key(
                        key.id,
                        KeyEntry {
                            key: MessageKey::from(key),
                            first_salt: key.server_salt,
                            created: now,
                            expires_at,
                        },
                    );
                    self.handshake = None;
                }
                let msg_id = self.next_plain_id();
                let message = plain_message(msg_id, &answer);
                self.send_frame(&message);
            }
            Err(e) => {
                tracing::debug!(id = self.id, error = %e, "handshake failed");
                self.handshake = None;
                self.send_transport_error(404);
                self.close = true;
            }
        }
    }

    /// A server msg_id for a plain message: time-based, `1 mod 4`, increasing.
    fn next_plain_id(&mut self) -> i64 {
        let now = self.shared.now();
        let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let fraction = (u64::from(now.subsec_nanos()) << 32) / 1_000_000_000;
        let id = (secs.wrapping_shl(32) | fraction as i64) & !3;
        let id = id.max((self.last_plain_id & !3) + 4) | 1;
        self.last_plain_id = id;
        id
    }

    // ---- encrypted messages -----------------------------------------------------------------

    fn on_encrypted(&mut self, key_id: i64, data: &[u8], quick_ack: bool, faults: &Faults) {
        let Some(entry) = self.shared.key(key_id) else {
            tracing::debug!(
                id = self.id,
                key = format_args!("{:#018x}", key_id as u64),
                "unknown auth key"
            );
            self.send_transport_error(404);
            self.close = true;
            return;
        };
        if let Some(code) = self
            .shared
            .with_faults(self.id, |f| f.transport_error.take())
        {
            self.send_transport_error(code);
            self.close = true;
            return;
        }
        self.received = self.received.saturating_add(1);
        let opened = match envelope::decrypt(&entry.key, Direction::ClientToServer, data) {
            Ok(opened) => opened,
            Err(e) => {
                tracing::debug!(id = self.id, error = %e, "payload dropped");
                lock(&self.shared.stats).payloads_rejected += 1;
                return;
            }
        };
        if quick_ack {
            if let (Some(token), Some(codec)) = (quick_ack_for(&entry.key, data), &mut self.codec) {
                let _ = codec.send_quick_ack(token, &mut self.out);
            }
        }
        let session_id = opened.header.session_id;
        let handle = self.shared.session(key_id, session_id, &entry);
        self.bind(key_id, session_id);
        let now = self.shared.now();
        let mut slot = lock(&handle.slot);
        let period = secs(now).div_euclid(SALT_PERIOD);
        let current = self.shared.salt(key_id, period);
        if slot.session.salt() != current {
            slot.session.change_salt(now, current);
        }
        if self
            .shared
            .with_faults(self.id, |f| take_one(&mut f.bad_server_salt))
        {
            // Two changes: the client's salt is then neither the current nor the previous one.
            for _ in 0..2 {
                let mut salt = [0u8; 8];
                crate::random_fill(&mut salt);
                slot.session.change_salt(now, i64::from_le_bytes(salt));
            }
        }
        let ids = message_ids(&opened);
        let mut answers = Vec::new();
        let mut fresh = BTreeSet::new();
        self.ran_request = false;
        let replay = match slot.session.unpack(now, data) {
            Ok(events) => {
                // The payload that made the session announce itself (new_session_created):
                // the session knows nothing of the messages sent before it.
                slot.first_msg_id.get_or_insert(opened.header.msg_id);
                for event in events {
                    if let Event::Message { msg_id, body } = event {
                        fresh.insert(msg_id);
                        self.on_message(
                            &mut slot,
                            (key_id, session_id),
                            msg_id,
                            &body,
                            faults,
                            &mut answers,
                        );
                    }
                }
                true
            }
            Err(SessionError::Duplicate { .. } | SessionError::TooOld { .. }) => true,
            Err(e) => {
                tracing::debug!(id = self.id, error = %e, "payload refused by the session");
                lock(&self.shared.stats).payloads_rejected += 1;
                false
            }
        };
        if replay {
            // Messages received before (the session skipped them): their cached answers again.
            for id in ids.into_iter().filter(|id| !fresh.contains(id)) {
                if let Some(Request::Answered { answer, .. }) = slot.requests.get(&id) {
                    answers.push((id, answer.clone()));
                    lock(&self.shared.stats).answers_replayed += 1;
                }
            }
        }
        for (req_msg_id, answer) in answers {
            match (faults.delay, &self.tx) {
                (Some(delay), Some(tx)) => {
                    let tx = tx.clone();
                    let session = (key_id, session_id);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        if let Some(tx) = tx.upgrade() {
                            let msg = ConnMsg::Answer(Box::new(DelayedAnswer {
                                session,
                                req_msg_id,
                                answer,
                            }));
                            let _ = tx.send(msg).await;
                        }
                    });
                }
                _ => answer.push(&mut slot.session, now, req_msg_id),
            }
        }
        let lose_session = self.ran_request
            && self
                .shared
                .with_faults(self.id, |f| std::mem::take(&mut f.lose_session));
        let drop_now = faults.drop_after == Some(self.received) || lose_session;
        self.flush(&mut slot.session, now, drop_now);
        if drop_now {
            tracing::debug!(id = self.id, "fault: dropping the connection");
            self.close = true;
        }
        if lose_session {
            tracing::debug!(id = self.id, "fault: forgetting the session");
            self.shared.destroy_session(key_id, session_id);
        }
    }

    /// Handles one message of the client (a request, or a service message the session left to
    /// its caller) and collects the answers to send.
    fn on_message(
        &mut self,
        slot: &mut SessionSlot,
        (key_id, session_id): (i64, i64),
        msg_id: i64,
        body: &[u8],
        faults: &Faults,
        answers: &mut Vec<(i64, Answer)>,
    ) {
        match slot.requests.get(&msg_id) {
            Some(Request::Answered { answer, .. }) => {
                answers.push((msg_id, answer.clone()));
                lock(&self.shared.stats).answers_replayed += 1;
                return;
            }
            None => {}
        }
        let now = self.shared.now_secs();
        let answer = match wrappers::constructor(body) {
            Some(functions::Ping::CONSTRUCTOR_ID) => match functions::Ping::from_bytes(body) {
                Ok(ping) => Answer::Service(pong(msg_id, ping.ping_id)),
                Err(_) => return,
            },
            Some(functions::PingDelayDisconnect::CONSTRUCTOR_ID) => {
                match functions::PingDelayDisconnect::from_bytes(body) {
                    Ok(ping) => {
                        self.disconnect_at = (ping.disconnect_delay > 0).then(|| {
                            let delay = ping.disconnect_delay.min(MAX_DISCONNECT_DELAY);
                            Instant::now() + Duration::from_secs(delay.unsigned_abs().into())
                        });
                        Answer::Service(pong(msg_id, ping.ping_id))
                    }
                    Err(_) => return,
                }
            }
            Some(functions::GetFutureSalts::CONSTRUCTOR_ID) => {
                match functions::GetFutureSalts::from_bytes(body) {
                    Ok(req) => Answer::Service(self.future_salts(key_id, msg_id, req.num, now)),
                    Err(_) => return,
                }
            }
            Some(types::MsgsStateReq::CONSTRUCTOR_ID) => {
                if let Ok(req) = types::MsgsStateReq::from_bytes(body) {
                    answers.push((msg_id, states(slot, msg_id, &req.msg_ids, now)));
                }
                return;
            }
            Some(types::MsgResendAnsReq::CONSTRUCTOR_ID) => {
                // The answers to these requests again, then their states as for
                // msgs_state_req (the service_messages_about_messages page).
                if let Ok(req) = types::MsgResendAnsReq::from_bytes(body) {
                    // Each cached answer at most once a payload, however often the request (or
                    // the container's other requests) lists it: the bytes replayed stay within
                    // the session's cache instead of growing with the ids a client repeats.
                    let ids: BTreeSet<i64> = req.msg_ids.iter().copied().collect();
                    let mut sent: BTreeSet<i64> = answers.iter().map(|(id, _)| *id).collect();
                    for id in ids {
                        if let Some(Request::Answered { answer, .. }) = slot.requests.get(&id) {
                            if sent.insert(id) {
                                answers.push((id, answer.clone()));
                                lock(&self.shared.stats).answers_replayed += 1;
                            }
                        }
                    }
                    answers.push((msg_id, states(slot, msg_id, &req.msg_ids, now)));
                }
                return;
            }
            Some(types::MsgResendReq::CONSTRUCTOR_ID) => {
                // These messages of the server's again, under their own ids; when one is not
                // kept (never sent, acknowledged already, or the client's own), the states of
                // all, as for msgs_state_req.
                if let Ok(req) = types::MsgResendReq::from_bytes(body) {
                    let mut all_kept = true;
                    let ids: BTreeSet<i64> = req.msg_ids.iter().copied().collect();
                    for id in ids {
                        all_kept &= slot.session.resend(id);
                    }
                    if !all_kept {
                        answers.push((msg_id, states(slot, msg_id, &req.msg_ids, now)));
                    }
                }
                return;
            }
            Some(functions::RpcDropAnswer::CONSTRUCTOR_ID) => {
                match functions::RpcDropAnswer::from_bytes(body) {
                    // Requests run to their end at once: there is never one to drop.
                    Ok(_) => Answer::Result(types::RpcAnswerUnknown.to_bytes()),
                    Err(_) => return,
                }
            }
            Some(functions::DestroySession::CONSTRUCTOR_ID) => {
                match functions::DestroySession::from_bytes(body) {
                    Ok(req) => {
                        let other = req.session_id;
                        let existed =
                            other != session_id && self.shared.destroy_session(key_id, other);
                        Answer::Service(if existed {
                            types::DestroySessionOk { session_id: other }.to_bytes()
                        } else {
                            types::DestroySessionNone { session_id: other }.to_bytes()
                        })
                    }
                    Err(_) => return,
                }
            }
            _ => {
                self.ran_request = true;
                self.execute((key_id, session_id), msg_id, body, faults, now)
            }
        };
        slot.remember(msg_id, answer.clone());
        answers.push((msg_id, answer));
    }

    /// Runs an API request: flood-wait and intercept faults first, then the service.
    fn execute(
        &self,
        (key_id, session_id): (i64, i64),
        msg_id: i64,
        body: &[u8],
        faults: &Faults,
        now: i64,
    ) -> Answer {
        self.shared.record_execution(session_id, msg_id);
        let (method, query) = wrappers::innermost(body);
        if let Some(seconds) = faults.flood_wait_for(method) {
            return Answer::Error(420, format!("FLOOD_WAIT_{seconds}"));
        }
        if let Some(intercept) = &faults.intercept {
            if let Some(reply) = intercept(method, query) {
                return reply.into();
            }
        }
        let ctx = CallContext {
            dc: self.dc,
            dcs: &self.shared.dcs,
            auth_key_id: key_id,
            session_id,
            msg_id,
            connection: self.id,
            now,
            outbox: &*self.shared,
        };
        let service = &self.shared.service;
        std::panic::catch_unwind(AssertUnwindSafe(|| service.call(&ctx, body)))
            .unwrap_or_else(|_| {
                tracing::error!(
                    method = format_args!("{method:#010x}"),
                    "the service panicked"
                );
                Reply::error(500, "INTERNAL_SERVER_ERROR")
            })
            .into()
    }

    fn future_salts(&self, key_id: i64, req_msg_id: i64, num: i32, now: i64) -> Vec<u8> {
        let first = now.div_euclid(SALT_PERIOD);
        let salts = (0..num.clamp(1, MAX_FUTURE_SALTS))
            .map(|i| {
                let period = first + i64::from(i);
                let clamp = |t: i64| i32::try_from(t).unwrap_or(i32::MAX);
                types::FutureSalt {
                    valid_since: clamp(period * SALT_PERIOD),
                    valid_until: clamp((period + 1) * SALT_PERIOD),
                    salt: self.shared.salt(key_id, period),
                }
            })
            .collect();
        types::FutureSalts {
            req_msg_id,
            now: i32::try_from(now).unwrap_or(i32::MAX),
            salts,
        }
        .to_bytes()
    }

    fn bind(&mut self, key_id: i64, session_id: i64) {
        if self.bound != Some((key_id, session_id)) {
            self.bound = Some((key_id, session_id));
            if let Some(c) = lock(&self.shared.conns).get_mut(&self.id) {
                c.bound = self.bound;
            }
        }
    }

    fn on_msg(&mut self, msg: ConnMsg) {
        if self.shared.faults_for(self.id).silent {
            return;
        }
        let (key_id, session_id) = match &msg {
            ConnMsg::Update(_) => match self.bound {
                Some(bound) => bound,
                None => return,
            },
            ConnMsg::Answer(delayed) => delayed.session,
        };
        let Some(entry) = self.shared.key(key_id) else {
            return;
        };
        let handle = self.shared.session(key_id, session_id, &entry);
        let now = self.shared.now();
        let mut slot = lock(&handle.slot);
        match msg {
            ConnMsg::Update(body) => {
                slot.session.push(now, body, true);
            }
            ConnMsg::Answer(delayed) => {
                delayed
                    .answer
                    .push(&mut slot.session, now, delayed.req_msg_id)
            }
        }
        self.flush(&mut slot.session, now, false);
    }

    /// Packs everything the session has queued and sends it (or, with `discard`, loses it as
    /// a connection dropping mid-answer would).
    fn flush(&mut self, session: &mut Session, now: Duration, discard: bool) {
        let mut random = |buf: &mut [u8]| crate::random_fill(buf);
        // Each pack takes at least one queued message; the queue is finite.
        loop {
            match session.pack(now, &mut random) {
                Ok(Some(packet)) if !discard => self.send_encrypted(packet.payload),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(id = self.id, error = %e, "cannot pack an answer");
                    break;
                }
            }
        }
    }

    // ---- writing ----------------------------------------------------------------------------

    fn send_frame(&mut self, payload: &[u8]) {
        if self.close {
            return;
        }
        if let Some(codec) = &mut self.codec {
            if let Err(e) = codec.send(payload, false, &mut self.out) {
                tracing::warn!(id = self.id, error = %e, "cannot frame a payload");
            }
        }
    }

    fn send_transport_error(&mut self, code: u32) {
        if self.close {
            return;
        }
        if let Some(codec) = &mut self.codec {
            let _ = codec.send_server_error(code, &mut self.out);
        }
    }

    fn send_encrypted(&mut self, mut payload: Vec<u8>) {
        if self.close {
            return;
        }
        self.sent = self.sent.saturating_add(1);
        if self
            .shared
            .with_faults(self.id, |f| take_one(&mut f.garbage))
        {
            let mut garbage = [0u8; 64];
            crate::random_fill(&mut garbage);
            self.out.extend_from_slice(&garbage);
            return;
        }
        if self
            .shared
            .with_faults(self.id, |f| take_one(&mut f.wrong_msg_key))
        {
            // msg_key is bytes 8..24 of the payload.
            if let Some(b) = payload.get_mut(8) {
                *b ^= 1;
            }
        }
        let start = self.out.len();
        self.send_frame(&payload);
        if self.shared.faults_for(self.id).drop_mid_frame == Some(self.sent) {
            let written = self.out.len() - start;
            self.out.truncate(start + written / 2);
            tracing::debug!(id = self.id, "fault: cutting a frame");
            self.close = true;
        }
    }
}

fn secs(now: Duration) -> i64 {
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

fn pong(msg_id: i64, ping_id: i64) -> Vec<u8> {
    types::Pong { msg_id, ping_id }.to_bytes()
}

/// The msg_ids a payload carries: the inner ones of a container, else its own. A container
/// that does not parse gives what was read before the fault (the session refuses it anyway).
fn message_ids(opened: &Opened) -> Vec<i64> {
    let body = &opened.body;
    if wrappers::constructor(body) != Some(MSG_CONTAINER_ID) {
        return vec![opened.header.msg_id];
    }
    let mut ids = Vec::new();
    let Some(count) = body
        .get(4..8)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
    else {
        return ids;
    };
    let mut at = 8usize;
    for _ in 0..count.min(1024) {
        let Some(header) = body.get(at..at + 16) else {
            break;
        };
        let id = i64::from_le_bytes(header[..8].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(header[12..16].try_into().unwrap_or_default());
        ids.push(id);
        match usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(16 + len))
        {
            Some(next) if next <= body.len() => at = next,
            _ => break,
        }
    }
    ids
}

/// The `msgs_state_info` answering `req_msg_id` about `msg_ids`.
fn states(slot: &SessionSlot, req_msg_id: i64, msg_ids: &[i64], now: i64) -> Answer {
    let info = msg_ids.iter().map(|id| msg_state(slot, *id, now)).collect();
    Answer::Info(types::MsgsStateInfo { req_msg_id, info }.to_bytes())
}

/// One byte of `msgs_state_info` (core.telegram.org/mtproto/service_messages_about_messages).
fn msg_state(slot: &SessionSlot, msg_id: i64, now: i64) -> u8 {
    match slot.requests.get(&msg_id) {
        // Received; the query is processed; an answer was generated.
        Some(Request::Answered { .. }) => {
            MsgState::RECEIVED | MsgState::PROCESSING | MsgState::ANSWERED
        }
        // At or below an answer the cache let go of: it may have been received and run, and
        // the server cannot tell.
        None if msg_id <= slot.forgotten_up_to => MsgState::NOTHING_KNOWN,
        // Sent before the first message of this session (one the server created anew for a
        // session id it did not know, e.g. after losing its sessions): whatever became of it
        // went with the old session, if there was one.
        None if slot.first_msg_id.is_some_and(|first| msg_id < first) => MsgState::NOTHING_KNOWN,
        None => {
            let time = msg_id >> 32;
            if time > now + 30 {
                MsgState::NOT_RECEIVED_YET
            } else if time < now - 300 {
                MsgState::NOTHING_KNOWN
            } else {
                MsgState::NOT_RECEIVED
            }
        }
    }
}

/// The quick-ack token of a received payload: from the SHA-256 over the decrypted plaintext.
fn quick_ack_for(key: &MessageKey, payload: &[u8]) -> Option<u32> {
    let len = payload.len();
    let whole = payload.get(..len - len.checked_sub(24)? % 16)?;
    let msg_key: [u8; 16] = whole.get(8..24)?.try_into().ok()?;
    let aes = message_key_iv(key.bytes(), &msg_key, Direction::ClientToServer);
    let mut plain = whole.get(24..)?.to_vec();
    aes_ige_decrypt(&mut plain, &aes.key, &aes.iv).ok()?;
    Some(quick_ack_token(&msg_key_large(
        key.bytes(),
        Direction::ClientToServer,
        &plain,
    )))
}
