//! The background task that owns the connection and the MTProto session.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, sleep_until, timeout, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use tlgen_runtime::crypto::RsaPublicKey;
use tlgen_runtime::mtproto::envelope::MessageKey;
use tlgen_runtime::mtproto::handshake::AuthKey;
use tlgen_runtime::mtproto::schema::{enums, functions, types};
use tlgen_runtime::mtproto::session::{self, Event, MsgState, Session, SessionError};
use tlgen_runtime::transport::{DynCodec, Frame, TransportError};
use tlgen_runtime::{Deserializable, Identifiable, Serializable};
use tlgen_session::{DcEntry, SessionStore};

use crate::config::{Backoff, Config, Transport, Wrapper};
use crate::conn::{self, random_fill, unix_now, Link, READ_CHUNK};
use crate::error::{InvocationError, RpcError};
use crate::updates::{Update, UpdateSender};

/// A request sent again under its own msg_id must still be inside the server's 300 s window
/// for msg_ids, with a margin for clock drift and transit; older ones cannot be told from new
/// ones by the server and are reported as [`InvocationError::MayHaveRun`].
const RESEND_MAX_AGE: i64 = 240;
/// The reason of [`InvocationError::MayHaveRun`] for a call past [`RESEND_MAX_AGE`].
const TOO_OLD: &str = "too old to be sent again under its msg_id";
/// Most calls one `msgs_state_req` asks about. The protocol bounds `msgs_ack` at 8192 ids and
/// says nothing of `msgs_state_req`; the same bound keeps the question and its answer small.
const MAX_STATE_IDS: usize = session::MAX_ACK_IDS;
/// Acks owed to the server go out with the next request, or alone after this delay.
const ACK_DELAY: Duration = Duration::from_millis(100);
/// ... or at once when this many are owed.
const ACK_BATCH: usize = 512;
/// Commands taken from the channel in one go before the queue is packed.
const COMMAND_BATCH: usize = 1024;
/// `get_future_salts` asks for this many salts (one hour each on Telegram).
const FUTURE_SALTS: i32 = 64;
/// New salts are asked for when the known ones run out in less than this (seconds).
const SALT_MARGIN: i64 = 1800;

pub(crate) type Reply = oneshot::Sender<Result<Vec<u8>, InvocationError>>;

/// What a [`Client`](crate::Client) handle asks the task.
pub(crate) enum Command {
    /// Send `body` and answer on `reply`.
    Call {
        id: u64,
        body: Vec<u8>,
        reply: Reply,
    },
    /// The caller gave up on call `id` (timeout or dropped future).
    Cancel(u64),
}

/// Counters shared with the handles.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections: AtomicU64,
    pub key_exchanges: AtomicU64,
    pub resent: AtomicU64,
    pub asked: AtomicU64,
    pub may_have_run: AtomicU64,
    pub dropped_updates: Arc<AtomicU64>,
    pub in_flight: AtomicU64,
}

/// A call pushed into the session.
struct Pending {
    call_id: u64,
    reply: Reply,
    /// Packed into a payload at least once.
    sent: bool,
    /// Sent again under its id after a reconnection (or after the server said it never got
    /// it): the server may have run it already.
    resent: bool,
    /// Its body went through [`Config::wrap_first`].
    wrapped: bool,
}

/// A call waiting for a connection.
struct Waiting {
    id: u64,
    body: Vec<u8>,
    reply: Reply,
}

/// A question to the server about calls sent and not answered, asked after a reconnection:
/// `msgs_state_req`, or `msg_resend_ans_req` for answers it already made.
struct Asking {
    /// The calls asked about (their msg_ids).
    calls: Vec<i64>,
    /// `msg_resend_ans_req` rather than `msgs_state_req`.
    answers: bool,
    since: Instant,
}

/// Why a connection ended.
enum Exit {
    /// Every handle is gone.
    Closed,
    /// The connection failed; open another.
    Lost(String),
}

/// What woke the connection loop.
enum Wake {
    Command(Option<Command>),
    Read(std::io::Result<usize>),
    Tick,
    Acks,
    WriterDone,
}

pub(crate) struct Task {
    dc_id: i32,
    addr: String,
    transport: Transport,
    rsa_keys: Vec<RsaPublicKey>,
    store: Arc<dyn SessionStore>,
    wrap_first: Option<Wrapper>,
    backoff: Backoff,
    connect_timeout: Duration,
    ping_interval: Duration,
    disconnect_delay: Duration,
    ping_timeout: Duration,
    session_config: session::Config,

    session: Session,
    /// The server forgot the auth key (transport error 404): exchange a new one.
    key_lost: bool,
    pending: BTreeMap<i64, Pending>,
    by_call: BTreeMap<u64, i64>,
    waiting: VecDeque<Waiting>,
    /// The task's own requests (pings, salts) in flight.
    internal: BTreeSet<i64>,
    /// Questions about calls sent on this connection and not answered yet, by msg_id.
    asking: BTreeMap<i64, Asking>,
    /// A wrapped call was answered on this connection: no more wrapping.
    wrapped_ok: bool,
    salts_asked: Option<Instant>,
    /// The last connection got at least one good payload: reconnect at once.
    healthy: bool,
    delay: Duration,
    cmd_rx: mpsc::UnboundedReceiver<Command>,
    updates: UpdateSender,
    counters: Arc<Counters>,
}

impl Task {
    /// Opens the first connection (exchanging a key if the store has none) and builds the task.
    pub(crate) async fn start(
        config: &Config,
        cmd_rx: mpsc::UnboundedReceiver<Command>,
        updates: UpdateSender,
        counters: Arc<Counters>,
    ) -> Result<(Self, Link), InvocationError> {
        let (link, session) = first_connection(config, &counters).await?;
        let task = Self {
            dc_id: config.dc_id,
            addr: config.addr.clone(),
            transport: config.transport,
            rsa_keys: config.rsa_keys.clone(),
            store: config.store.clone(),
            wrap_first: config.wrap_first.clone(),
            backoff: config.reconnect,
            connect_timeout: config.connect_timeout,
            ping_interval: config.ping_interval,
            disconnect_delay: config.disconnect_delay,
            ping_timeout: config.ping_timeout,
            session_config: config.session.clone(),
            session,
            key_lost: false,
            pending: BTreeMap::new(),
            by_call: BTreeMap::new(),
            waiting: VecDeque::new(),
            internal: BTreeSet::new(),
            asking: BTreeMap::new(),
            wrapped_ok: false,
            salts_asked: None,
            healthy: true,
            delay: config.reconnect.initial,
            cmd_rx,
            updates,
            counters,
        };
        Ok((task, link))
    }

    /// Serves connections until every handle is dropped.
    pub(crate) async fn run(mut self, first: Link) {
        let mut link = Some(first);
        loop {
            let current = match link.take() {
                Some(l) => l,
                None => match self.reconnect().await {
                    Some(l) => l,
                    None => break,
                },
            };
            match self.serve(current).await {
                Exit::Closed => break,
                Exit::Lost(reason) => {
                    warn!(dc = self.dc_id, %reason, in_flight = self.pending.len(), "connection lost");
                }
            }
        }
        debug!(dc = self.dc_id, "client task ends");
    }

    /// One connection's life.
    async fn serve(&mut self, link: Link) -> Exit {
        let Link {
            stream,
            mut codec,
            mut out,
        } = link;
        let (mut rd, wr) = stream.into_split();
        let (wtx, wrx) = mpsc::unbounded_channel();
        let mut writer = tokio::spawn(write_loop(wr, wrx));
        let exit = self
            .serve_inner(&mut rd, &mut codec, &mut out, &wtx, &mut writer)
            .await;
        writer.abort();
        exit
    }

    async fn serve_inner(
        &mut self,
        rd: &mut tokio::net::tcp::OwnedReadHalf,
        codec: &mut DynCodec,
        out: &mut Vec<u8>,
        wtx: &mpsc::UnboundedSender<Vec<u8>>,
        writer: &mut tokio::task::JoinHandle<std::io::Result<()>>,
    ) -> Exit {
        let n = self.counters.connections.fetch_add(1, Ordering::Relaxed) + 1;
        info!(dc = self.dc_id, addr = %self.addr, connection = n, "connected");
        self.healthy = false;
        self.wrapped_ok = false;
        self.start_connection();
        let mut buf = vec![0u8; READ_CHUNK];
        let tick = (self.ping_interval.min(self.ping_timeout) / 2).max(Duration::from_millis(5));
        let mut housekeeping = tokio::time::interval(tick);
        housekeeping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut next_ping = Instant::now() + self.ping_interval;
        let mut ping_out: Option<Instant> = None;
        let mut ack_deadline: Option<Instant> = None;
        let mut flush_now = true;
        loop {
            if flush_now {
                if let Err(reason) = self.flush(codec, out, wtx) {
                    return Exit::Lost(reason);
                }
                ack_deadline = None;
            } else if ack_deadline.is_none() && self.session.pending_acks() > 0 {
                ack_deadline = Some(Instant::now() + ACK_DELAY);
            }
            self.counters.in_flight.store(
                (self.pending.len() + self.waiting.len()) as u64,
                Ordering::Relaxed,
            );
            let wake = tokio::select! {
                cmd = self.cmd_rx.recv() => Wake::Command(cmd),
                read = rd.read(&mut buf) => Wake::Read(read),
                _ = housekeeping.tick() => Wake::Tick,
                _ = sleep_until(ack_deadline.unwrap_or_else(Instant::now)), if ack_deadline.is_some() => Wake::Acks,
                _ = &mut *writer => Wake::WriterDone,
            };
            match wake {
                Wake::Command(None) => return Exit::Closed,
                Wake::Command(Some(cmd)) => {
                    self.command(cmd, true);
                    for _ in 1..COMMAND_BATCH {
                        match self.cmd_rx.try_recv() {
                            Ok(cmd) => self.command(cmd, true),
                            Err(_) => break,
                        }
                    }
                    flush_now = self.session.queued() > 0;
                }
                Wake::Read(Ok(0)) => return Exit::Lost("the server closed the connection".into()),
                Wake::Read(Err(e)) => return Exit::Lost(format!("read failed: {e}")),
                Wake::Read(Ok(n)) => {
                    ping_out = None;
                    codec.push(&buf[..n]);
                    if let Err(reason) = self.read_frames(codec) {
                        return Exit::Lost(reason);
                    }
                    flush_now =
                        self.session.queued() > 0 || self.session.pending_acks() >= ACK_BATCH;
                }
                Wake::Acks => flush_now = true,
                Wake::WriterDone => return Exit::Lost("write failed".into()),
                Wake::Tick => {
                    let now = Instant::now();
                    if let Some(since) = ping_out {
                        if now.duration_since(since) >= self.ping_timeout {
                            return Exit::Lost(format!(
                                "nothing received for {:?} after a ping",
                                self.ping_timeout
                            ));
                        }
                    }
                    if now >= next_ping {
                        self.ping();
                        next_ping = now + self.ping_interval;
                        ping_out.get_or_insert(now);
                    }
                    self.maybe_ask_salts();
                    self.check_asking();
                    flush_now = self.session.queued() > 0;
                }
            }
        }
    }

    /// Everything at the start of a connection: the server is asked about every call sent and
    /// not answered (acknowledged or not), calls that waited for the connection are queued.
    fn start_connection(&mut self) {
        for id in std::mem::take(&mut self.internal) {
            self.session.forget(id);
        }
        // Questions of the last connection: their answers were lost with it; asked again below.
        for id in std::mem::take(&mut self.asking).into_keys() {
            self.session.forget(id);
        }
        let server_now = self.session.server_now(unix_now());
        // Not acknowledged: the server may have run it (its ack lost with the connection) or
        // never got it. Sent again under its id it would run again on a server that lost the
        // session, so it is asked about like the acknowledged ones; one too old to go again
        // under its id may have run.
        // Acknowledged and not answered: the server has them. Sent again they would only be
        // answered from its cache; asking says which were answered, which still run, and
        // which it no longer knows.
        let unacked: Vec<i64> = self.session.unacked().collect();
        let awaiting: Vec<i64> = self.session.awaiting_answer().collect();
        let mut ask = Vec::with_capacity(unacked.len() + awaiting.len());
        let calls = unacked.iter().map(|&id| (id, false));
        for (id, acked) in calls.chain(awaiting.iter().map(|&id| (id, true))) {
            if !self.pending.contains_key(&id) {
                self.session.forget(id);
            } else if !acked && server_now.saturating_sub(id >> 32) > RESEND_MAX_AGE {
                self.may_have_run(id, TOO_OLD);
            } else {
                ask.push(id);
            }
        }
        if !ask.is_empty() {
            ask.sort_unstable();
            self.counters
                .asked
                .fetch_add(ask.len() as u64, Ordering::Relaxed);
            info!(
                dc = self.dc_id,
                count = ask.len(),
                "asking about calls sent and not answered (msgs_state_req)"
            );
            self.ask(ask, false);
        }
        for w in std::mem::take(&mut self.waiting) {
            self.push_call(w.id, w.body, w.reply);
        }
        self.maybe_ask_salts();
    }

    /// Asks the server about `calls` (their msg_ids): `msgs_state_req`, or with `answers`
    /// `msg_resend_ans_req` for their answers; at most [`MAX_STATE_IDS`] calls a question.
    fn ask(&mut self, calls: Vec<i64>, answers: bool) {
        let now = unix_now();
        for chunk in calls.chunks(MAX_STATE_IDS) {
            let msg_id = if answers {
                self.session.push_answer_request(now, chunk.to_vec())
            } else {
                self.session.push_state_request(now, chunk.to_vec())
            };
            self.asking.insert(
                msg_id,
                Asking {
                    calls: chunk.to_vec(),
                    answers,
                    since: Instant::now(),
                },
            );
        }
    }

    /// The server's `msgs_state_info` about calls asked about.
    fn states(&mut self, req_msg_id: i64, states: Vec<(i64, MsgState)>) {
        let Some(asked) = self.asking.remove(&req_msg_id) else {
            return;
        };
        let server_now = self.session.server_now(unix_now());
        let mut answers = Vec::new();
        let mut coming = Vec::new();
        for (id, state) in states {
            // Answered meanwhile, or given up by its caller.
            if !self.pending.contains_key(&id) {
                continue;
            }
            if state.is_answered() {
                // Its answer was made and lost with the connection: ask for it, not for the
                // call again. Asked for already: it is on its way.
                if asked.answers {
                    coming.push(id);
                } else {
                    answers.push(id);
                }
            } else if state.is_received() {
                debug!(
                    dc = self.dc_id,
                    msg_id = id,
                    state = state.0,
                    "the server is still running the call; waiting for its answer"
                );
            } else if state.is_nothing_known() {
                self.may_have_run(
                    id,
                    "the server no longer knows it (msgs_state_info: nothing known)",
                );
            } else {
                // Certainly not received (2, 3), or a state the protocol does not define: sent
                // again under its own id, which the server cannot run twice.
                debug!(
                    dc = self.dc_id,
                    msg_id = id,
                    state = state.0,
                    "the server did not get the call; sending it again under its msg_id"
                );
                self.send_again(id, server_now);
            }
        }
        if !answers.is_empty() {
            debug!(
                dc = self.dc_id,
                count = answers.len(),
                "asking for answers lost with the connection (msg_resend_ans_req)"
            );
            self.ask(answers, true);
        }
        if !coming.is_empty() {
            // The answers should come with this msgs_state_info; should they not, within
            // ping_timeout, check_asking sends these calls again under their ids.
            self.asking.insert(
                req_msg_id,
                Asking {
                    calls: coming,
                    answers: true,
                    since: Instant::now(),
                },
            );
        }
    }

    /// Questions the server left unanswered for [`Config::ping_timeout`] (or answers it said
    /// were coming and that did not come) are given up: their calls go again under their own
    /// msg_ids, which the server answers from what it answered.
    fn check_asking(&mut self) {
        let expired: Vec<i64> = self
            .asking
            .iter()
            .filter(|(_, a)| a.since.elapsed() >= self.ping_timeout)
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.give_up_asking(id, "no answer");
        }
    }

    /// Drops question `msg_id` (unanswered, or refused by the server) and sends its calls that
    /// still wait again under their own msg_ids.
    fn give_up_asking(&mut self, msg_id: i64, why: &'static str) {
        let Some(asked) = self.asking.remove(&msg_id) else {
            return;
        };
        self.session.forget(msg_id);
        let calls: Vec<i64> = asked
            .calls
            .into_iter()
            .filter(|id| self.pending.contains_key(id))
            .collect();
        if calls.is_empty() {
            return;
        }
        warn!(
            dc = self.dc_id,
            count = calls.len(),
            why,
            "giving up a question about calls; sending them again under their msg_ids"
        );
        let server_now = self.session.server_now(unix_now());
        for id in calls {
            self.send_again(id, server_now);
        }
    }

    /// Sends call `msg_id`, sent before (acknowledged or not), again under its own msg_id; one
    /// too old for that may have run.
    fn send_again(&mut self, msg_id: i64, server_now: i64) {
        let age = server_now.saturating_sub(msg_id >> 32);
        let reason = if age > RESEND_MAX_AGE {
            TOO_OLD
        } else if self.session.resend(msg_id) {
            if let Some(p) = self.pending.get_mut(&msg_id) {
                p.resent = true;
                self.counters.resent.fetch_add(1, Ordering::Relaxed);
            }
            return;
        } else {
            "the session no longer holds it to send it again"
        };
        self.may_have_run(msg_id, reason);
    }

    /// Ends call `msg_id` with [`InvocationError::MayHaveRun`] and forgets its message.
    fn may_have_run(&mut self, msg_id: i64, reason: &'static str) {
        self.session.forget(msg_id);
        self.fail(msg_id, InvocationError::MayHaveRun { reason });
    }

    /// Fails call `msg_id` with `error`.
    fn fail(&mut self, msg_id: i64, error: InvocationError) {
        if let Some(p) = self.pending.remove(&msg_id) {
            self.by_call.remove(&p.call_id);
            if matches!(error, InvocationError::MayHaveRun { .. }) {
                self.counters.may_have_run.fetch_add(1, Ordering::Relaxed);
                warn!(dc = self.dc_id, msg_id, %error, "call not settled");
            }
            let _ = p.reply.send(Err(error));
        }
    }

    fn command(&mut self, cmd: Command, connected: bool) {
        match cmd {
            Command::Call { id, body, reply } => {
                if connected {
                    self.push_call(id, body, reply);
                } else {
                    self.waiting.push_back(Waiting { id, body, reply });
                }
            }
            Command::Cancel(id) => {
                if let Some(msg_id) = self.by_call.remove(&id) {
                    self.pending.remove(&msg_id);
                    self.session.forget(msg_id);
                } else {
                    self.waiting.retain(|w| w.id != id);
                }
            }
        }
    }

    fn push_call(&mut self, id: u64, body: Vec<u8>, reply: Reply) {
        if reply.is_closed() {
            return;
        }
        let (body, wrapped) = match &self.wrap_first {
            Some(wrap) if !self.wrapped_ok => (wrap(body), true),
            _ => (body, false),
        };
        let msg_id = self.session.push(unix_now(), body, true);
        self.pending.insert(
            msg_id,
            Pending {
                call_id: id,
                reply,
                sent: false,
                resent: false,
                wrapped,
            },
        );
        self.by_call.insert(id, msg_id);
    }

    fn ping(&mut self) {
        let mut id = [0; 8];
        random_fill(&mut id);
        let ping = functions::PingDelayDisconnect {
            ping_id: i64::from_le_bytes(id),
            disconnect_delay: i32::try_from(self.disconnect_delay.as_secs()).unwrap_or(i32::MAX),
        };
        let msg_id = self.session.push_request(unix_now(), &ping);
        self.internal.insert(msg_id);
    }

    /// Asks for future salts when the known ones run out within [`SALT_MARGIN`] (at most once
    /// a minute).
    fn maybe_ask_salts(&mut self) {
        if self
            .salts_asked
            .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            return;
        }
        let now = unix_now();
        let server_now = self.session.server_now(now);
        let needed = self
            .session
            .salts_valid_until()
            .is_none_or(|until| until - server_now < SALT_MARGIN);
        if needed {
            let msg_id = self
                .session
                .push_request(now, &functions::GetFutureSalts { num: FUTURE_SALTS });
            self.internal.insert(msg_id);
            self.salts_asked = Some(Instant::now());
        }
    }

    /// Packs everything queued and hands the bytes to the writer.
    fn flush(
        &mut self,
        codec: &mut DynCodec,
        out: &mut Vec<u8>,
        wtx: &mpsc::UnboundedSender<Vec<u8>>,
    ) -> Result<(), String> {
        let now = unix_now();
        loop {
            match self.session.pack(now, &mut random_fill) {
                Ok(Some(packet)) => {
                    for id in &packet.msg_ids {
                        if let Some(p) = self.pending.get_mut(id) {
                            p.sent = true;
                        }
                    }
                    codec
                        .send(&packet.payload, false, out)
                        .map_err(|e| format!("cannot frame a payload: {e}"))?;
                }
                Ok(None) => break,
                Err(e) => {
                    // Only a body past the length field's range gets here; it was dropped.
                    warn!(dc = self.dc_id, error = %e, "a message could not be sealed");
                    break;
                }
            }
        }
        if !out.is_empty() {
            wtx.send(std::mem::take(out))
                .map_err(|_| "the writer stopped".to_string())?;
        }
        Ok(())
    }

    /// Reads every whole frame received so far.
    fn read_frames(&mut self, codec: &mut DynCodec) -> Result<(), String> {
        loop {
            match codec.next_frame() {
                Ok(None) => return Ok(()),
                Ok(Some(Frame::Payload { data, .. })) => self.receive(&data)?,
                Ok(Some(Frame::QuickAck(_))) => {}
                Ok(Some(Frame::ServerError { code })) => {
                    if code == 404 {
                        // The server does not know the auth key: a new one is needed, and a
                        // new session with it.
                        self.key_lost = true;
                    }
                    return Err(TransportError::Server { code }.to_string());
                }
                Err(e) => return Err(format!("transport: {e}")),
            }
        }
    }

    fn receive(&mut self, payload: &[u8]) -> Result<(), String> {
        match self.session.unpack(unix_now(), payload) {
            Ok(events) => {
                self.healthy = true;
                self.delay = self.backoff.initial;
                for event in events {
                    self.event(event);
                }
                Ok(())
            }
            // A payload that does not open with our key (garbage, a wrong msg_key): the stream
            // cannot be trusted any more.
            Err(SessionError::Envelope(e)) => Err(format!("bad encrypted payload: {e}")),
            Err(e) => {
                debug!(dc = self.dc_id, error = %e, "payload dropped");
                Ok(())
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Result { req_msg_id, result } => {
                if self.internal.remove(&req_msg_id) {
                    return;
                }
                let Some(p) = self.pending.remove(&req_msg_id) else {
                    return;
                };
                self.by_call.remove(&p.call_id);
                let answer = match result {
                    Ok(body) => {
                        if p.wrapped {
                            self.wrapped_ok = true;
                        }
                        Ok(body)
                    }
                    Err(e) => Err(InvocationError::from_rpc(RpcError::new(
                        e.error_code,
                        &e.error_message,
                    ))),
                };
                let _ = p.reply.send(answer);
            }
            Event::Resent {
                old_msg_id,
                new_msg_id,
                code,
            } => {
                if old_msg_id == new_msg_id {
                    return;
                }
                // A question refused for the salt or the clock, asked again.
                if let Some(asked) = self.asking.remove(&old_msg_id) {
                    self.asking.insert(new_msg_id, asked);
                    return;
                }
                if self.internal.remove(&old_msg_id) {
                    self.internal.insert(new_msg_id);
                    return;
                }
                let Some(p) = self.pending.remove(&old_msg_id) else {
                    self.session.forget(new_msg_id);
                    return;
                };
                if p.resent {
                    // Sent before the reconnection, perhaps received: a new id could run it twice.
                    self.session.forget(new_msg_id);
                    self.pending.insert(old_msg_id, p);
                    self.fail(
                        old_msg_id,
                        InvocationError::MayHaveRun {
                            reason: "the server refused it when it was sent again, and only a new msg_id would pass",
                        },
                    );
                } else {
                    debug!(
                        dc = self.dc_id,
                        old_msg_id, new_msg_id, code, "server refused a message; sent again"
                    );
                    self.by_call.insert(p.call_id, new_msg_id);
                    self.pending
                        .insert(new_msg_id, Pending { sent: false, ..p });
                }
            }
            Event::Rejected { msg_id, .. } if self.asking.contains_key(&msg_id) => {
                self.give_up_asking(msg_id, "refused by the server");
            }
            Event::Rejected { msg_id, code } if !self.internal.remove(&msg_id) => {
                self.fail(msg_id, InvocationError::BadMessage { code });
            }
            Event::MsgsState { req_msg_id, states } => self.states(req_msg_id, states),
            Event::NewSession { first_msg_id, .. } => {
                debug!(
                    dc = self.dc_id,
                    first_msg_id, "server created a new session"
                );
                self.updates.deliver(Update::NewSession);
            }
            Event::Message { body, .. } => self.unasked(body),
            Event::Pong { msg_id, .. } => {
                self.internal.remove(&msg_id);
            }
            Event::FutureSalts { req_msg_id, .. } => {
                self.internal.remove(&req_msg_id);
            }
            _ => {}
        }
    }

    /// A message the server sent unasked: the service messages about messages are handled
    /// here, the rest are updates.
    fn unasked(&mut self, body: Vec<u8>) {
        let id = body
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes);
        match id {
            Some(
                types::MsgDetailedInfo::CONSTRUCTOR_ID | types::MsgNewDetailedInfo::CONSTRUCTOR_ID,
            ) => {
                let Ok(info) = enums::MsgDetailedInfo::from_bytes(&body) else {
                    debug!(dc = self.dc_id, "undecodable msg_detailed_info dropped");
                    return;
                };
                let (request, answer) = match info {
                    enums::MsgDetailedInfo::MsgDetailedInfo(i) => (Some(i.msg_id), i.answer_msg_id),
                    enums::MsgDetailedInfo::NewDetailedInfo(i) => (None, i.answer_msg_id),
                };
                // The server answered before (perhaps on a connection that dropped): ask for
                // the answer again while its call still waits for it.
                if request.is_none_or(|r| self.pending.contains_key(&r)) {
                    let ask = types::MsgResendReq {
                        msg_ids: vec![answer],
                    };
                    self.session.push(unix_now(), ask.to_bytes(), false);
                }
            }
            Some(
                types::MsgsStateInfo::CONSTRUCTOR_ID
                | types::MsgsAllInfo::CONSTRUCTOR_ID
                | types::DestroySessionOk::CONSTRUCTOR_ID
                | types::DestroySessionNone::CONSTRUCTOR_ID
                | types::RpcAnswerUnknown::CONSTRUCTOR_ID
                | types::RpcAnswerDroppedRunning::CONSTRUCTOR_ID
                | types::RpcAnswerDropped::CONSTRUCTOR_ID,
            ) => debug!(dc = self.dc_id, "service message ignored"),
            _ => self.updates.deliver(Update::Body(body)),
        }
    }

    /// Opens a new connection with a growing delay between failures; calls keep arriving
    /// meanwhile (they wait). `None` when every handle is gone.
    async fn reconnect(&mut self) -> Option<Link> {
        let mut failures = 0u32;
        let mut delay = if self.healthy {
            Duration::ZERO
        } else {
            self.delay
        };
        loop {
            if !delay.is_zero() {
                debug!(dc = self.dc_id, ?delay, "waiting before reconnecting");
                let pause = sleep(delay);
                tokio::pin!(pause);
                loop {
                    tokio::select! {
                        _ = &mut pause => break,
                        cmd = self.cmd_rx.recv() => match cmd {
                            Some(cmd) => self.command(cmd, false),
                            None => return None,
                        },
                    }
                }
            }
            let last_error = match timeout(self.connect_timeout, self.establish()).await {
                Ok(Ok(link)) => return Some(link),
                Ok(Err(e)) => e,
                Err(_) => InvocationError::Timeout,
            };
            failures += 1;
            warn!(dc = self.dc_id, attempt = failures, error = %last_error, "reconnection failed");
            delay = if delay.is_zero() {
                self.backoff.initial
            } else {
                (delay * 2).min(self.backoff.max)
            };
            self.delay = delay;
            if failures >= self.backoff.attempts.max(1) {
                self.give_up(&last_error);
                // Idle until someone calls again.
                match self.cmd_rx.recv().await {
                    Some(cmd) => self.command(cmd, false),
                    None => return None,
                }
                failures = 0;
                delay = Duration::ZERO;
            }
        }
    }

    /// No connection came back: every call in flight ends.
    fn give_up(&mut self, last_error: &InvocationError) {
        let ids: Vec<i64> = self.pending.keys().copied().collect();
        for id in ids {
            self.session.forget(id);
            let sent = self.pending.get(&id).is_some_and(|p| p.sent);
            let error = if sent {
                InvocationError::MayHaveRun {
                    reason: "it was sent and no connection came back",
                }
            } else {
                last_error.clone()
            };
            self.fail(id, error);
        }
        for w in std::mem::take(&mut self.waiting) {
            let _ = w.reply.send(Err(last_error.clone()));
        }
        self.counters.in_flight.store(0, Ordering::Relaxed);
    }

    /// Opens TCP, and exchanges a new key first if the server lost ours.
    async fn establish(&mut self) -> Result<Link, InvocationError> {
        let mut link = conn::open(&self.addr, self.transport, self.dc_id).await?;
        if self.key_lost {
            let key = conn::exchange_key(&mut link, &self.rsa_keys, self.dc_id).await?;
            self.counters.key_exchanges.fetch_add(1, Ordering::Relaxed);
            save_key(&*self.store, self.dc_id, &self.addr, &key);
            self.key_lost = false;
            // A new key is a new session: what was sent under the old one cannot be settled.
            self.session = session_from(&key, &self.session_config);
            let ids: Vec<i64> = self.pending.keys().copied().collect();
            for id in ids {
                let sent = self.pending.get(&id).is_some_and(|p| p.sent);
                let error = if sent {
                    InvocationError::MayHaveRun {
                        reason: "the server lost the auth key it was sent under",
                    }
                } else {
                    InvocationError::Transport(TransportError::Server { code: 404 })
                };
                self.fail(id, error);
            }
            self.internal.clear();
            self.asking.clear();
        }
        Ok(link)
    }
}

/// The first connection of [`Client::connect`](crate::Client::connect): up to
/// `config.connect_attempts` tries, each bounded by `connect_timeout`, with the reconnection
/// delays between them. Only failures that another try may mend (IO, transport, timeout) are
/// tried again; a store or key-exchange error is returned at once.
async fn first_connection(
    config: &Config,
    counters: &Counters,
) -> Result<(Link, Session), InvocationError> {
    let attempts = config.connect_attempts.max(1);
    let mut delay = config.reconnect.initial;
    let mut attempt = 1;
    loop {
        let connect = async {
            // Read again each time: a failed try may have stored a new key.
            let stored = config.store.dc(config.dc_id)?.and_then(|e| e.auth_key);
            let mut link = conn::open(&config.addr, config.transport, config.dc_id).await?;
            let session = match stored {
                Some(key) => {
                    info!(dc = config.dc_id, "reusing the stored auth key");
                    // Salt and clock offset unknown: the server corrects both on first use.
                    new_session(MessageKey::new(key), 0, 0, &config.session)
                }
                None => {
                    let key = conn::exchange_key(&mut link, &config.rsa_keys, config.dc_id).await?;
                    counters.key_exchanges.fetch_add(1, Ordering::Relaxed);
                    save_key(&*config.store, config.dc_id, &config.addr, &key);
                    session_from(&key, &config.session)
                }
            };
            Ok::<_, InvocationError>((link, session))
        };
        let error = match timeout(config.connect_timeout, connect).await {
            Ok(Ok(ready)) => return Ok(ready),
            Ok(Err(e)) => e,
            Err(_) => InvocationError::Timeout,
        };
        let transient = matches!(
            error,
            InvocationError::Io(_) | InvocationError::Transport(_) | InvocationError::Timeout
        );
        if !transient || attempt >= attempts {
            return Err(error);
        }
        warn!(dc = config.dc_id, attempt, %error, ?delay, "connecting failed; trying again");
        sleep(delay).await;
        delay = (delay * 2).min(config.reconnect.max);
        attempt += 1;
    }
}

fn new_session(key: MessageKey, salt: i64, offset: i64, config: &session::Config) -> Session {
    let mut id = [0; 8];
    random_fill(&mut id);
    Session::client(key, i64::from_le_bytes(id), salt, offset).with_config(config.clone())
}

fn session_from(key: &AuthKey, config: &session::Config) -> Session {
    new_session(
        MessageKey::from(key),
        key.server_salt,
        key.server_time_offset,
        config,
    )
}

/// Keeps a new key in the store; a store failure is logged (the key still serves this run).
fn save_key(store: &dyn SessionStore, dc: i32, addr: &str, key: &AuthKey) {
    let entry = DcEntry {
        id: dc,
        addr: addr.to_owned(),
        auth_key: Some(key.key),
    };
    if let Err(e) = store.set_dc(&entry) {
        warn!(dc, error = %e, "could not store the auth key");
    }
}

async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) -> std::io::Result<()> {
    while let Some(mut buf) = rx.recv().await {
        while let Ok(more) = rx.try_recv() {
            buf.extend_from_slice(&more);
        }
        wr.write_all(&buf).await?;
    }
    Ok(())
}
