//! A small scripted MTProto server for the client's tests and benchmarks, built from the
//! runtime's sans-IO pieces (transport::accept, handshake::Server, Session::server), with the
//! faults the tests need: a dropped connection with calls in flight, wrong salts, a clock off,
//! garbage, a wrong msg_key, silence, a connection dropped after the acknowledgements and
//! before the answers, answers that take their time, a connection dropped with a
//! `msgs_state_req` unanswered, answers lost on the way, a clock moved while connections are
//! open, a session the server loses with a dropped connection. It keeps one server session per
//! (auth key, session id) across connections (one it does not have is made anew, and says it
//! knows nothing of the msg_ids sent before its first message), answers a
//! repeated msg_id from its cache of answers, and answers `msgs_state_req`,
//! `msg_resend_ans_req` and `msg_resend_req` as the service_messages_about_messages page says.
#![allow(dead_code)]

mod key;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use tlgen_client::{Config, Transport};
use tlgen_runtime::crypto::{Direction, RsaPrivateKey, RsaPublicKey, KNOWN_DH_PRIME};
use tlgen_runtime::mtproto::envelope::{self, MessageKey};
use tlgen_runtime::mtproto::handshake::{self, parse_plain_message, plain_message};
use tlgen_runtime::mtproto::schema::{functions, types};
use tlgen_runtime::mtproto::session::{Event, MsgState, Session};
use tlgen_runtime::transport::{self, DynCodec, Frame};
use tlgen_runtime::{Deserializable, Identifiable, Serializable};
use tlgen_session::{DcEntry, PeerKind, PeerRecord, SessionStore, StoreError, UpdateState};

/// Every test's bound.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` under [`TEST_TIMEOUT`] (with the client's logs on stderr when `RUST_LOG` is set).
pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("the test did not finish within its time bound")
}

/// The test key pair, built once.
pub fn private_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let hex = |parts: [&str; 4]| -> Vec<u8> {
            let s: String = parts.concat();
            (0..s.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect()
        };
        RsaPrivateKey::from_primes(&hex(key::P), &hex(key::Q), &[1, 0, 1]).unwrap()
    })
}

pub fn public_key() -> RsaPublicKey {
    private_key().public_key().clone()
}

fn fill(buf: &mut [u8]) {
    tlgen_runtime::random::fill(buf);
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A session store in memory.

#[derive(Default)]
pub struct MemoryStore {
    dcs: Mutex<BTreeMap<i32, DcEntry>>,
    home: Mutex<Option<i32>>,
}

impl MemoryStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
}

impl SessionStore for MemoryStore {
    fn home_dc(&self) -> Result<Option<i32>, StoreError> {
        Ok(*self.home.lock().unwrap())
    }
    fn set_home_dc(&self, dc: i32) -> Result<(), StoreError> {
        *self.home.lock().unwrap() = Some(dc);
        Ok(())
    }
    fn dc(&self, id: i32) -> Result<Option<DcEntry>, StoreError> {
        Ok(self.dcs.lock().unwrap().get(&id).cloned())
    }
    fn dcs(&self) -> Result<Vec<DcEntry>, StoreError> {
        Ok(self.dcs.lock().unwrap().values().cloned().collect())
    }
    fn set_dc(&self, dc: &DcEntry) -> Result<(), StoreError> {
        self.dcs.lock().unwrap().insert(dc.id, dc.clone());
        Ok(())
    }
    fn self_user(&self) -> Result<Option<i64>, StoreError> {
        Ok(None)
    }
    fn set_self_user(&self, _: Option<i64>) -> Result<(), StoreError> {
        Ok(())
    }
    fn put_peers(&self, _: &[PeerRecord]) -> Result<(), StoreError> {
        Ok(())
    }
    fn peer(&self, _: PeerKind, _: i64) -> Result<Option<PeerRecord>, StoreError> {
        Ok(None)
    }
    fn peer_by_username(&self, _: &str) -> Result<Option<PeerRecord>, StoreError> {
        Ok(None)
    }
    fn peer_by_phone(&self, _: &str) -> Result<Option<PeerRecord>, StoreError> {
        Ok(None)
    }
    fn update_state(&self) -> Result<UpdateState, StoreError> {
        Ok(UpdateState::default())
    }
    fn set_update_state(&self, _: &UpdateState) -> Result<(), StoreError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The server.

/// What the handler answers a request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Ok(Vec<u8>),
    Error(i32, String),
    /// No answer at all.
    Nothing,
    /// This answer after a delay: the request is acknowledged at once and runs meanwhile
    /// (asked about, the server says so), and the answer goes out when the time comes, on
    /// whichever connection the session has then.
    After(Duration, Box<Reply>),
}

/// What a handler may look at and change.
#[derive(Default)]
pub struct Ctx {
    /// How many times each body ran before this one.
    pub runs: BTreeMap<Vec<u8>, u32>,
    /// Bodies to send unasked after this request.
    pub updates: Vec<Vec<u8>>,
}

pub type Handler = Arc<dyn Fn(&mut Ctx, i64, &[u8]) -> Reply + Send + Sync>;

/// Answers `ping` with `pong` (in `rpc_result`) and echoes anything else.
pub fn echo() -> Handler {
    Arc::new(|_, msg_id, body| {
        if body.get(..4) == Some(&functions::Ping::CONSTRUCTOR_ID.to_le_bytes()) {
            let ping = functions::Ping::from_bytes(body).unwrap();
            Reply::Ok(
                types::Pong {
                    msg_id,
                    ping_id: ping.ping_id,
                }
                .to_bytes(),
            )
        } else {
            Reply::Ok(body.to_vec())
        }
    })
}

/// What goes on the wire instead of the answers, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garbage {
    /// A well-framed payload of random bytes.
    Framed,
    /// The real answers with one byte of msg_key flipped.
    WrongMsgKey,
    /// Raw bytes past the framing (a length no framing accepts).
    Unframed,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Seconds the server's clock is ahead of the real one (read again with each payload: it
    /// may be moved while connections are open, see [`ScriptServer::change_faults`]).
    pub clock_offset: i64,
    /// New sessions expect a salt other than the one the key exchange gave.
    pub wrong_salt: bool,
    /// Once: on the first connection, answer nothing and close the connection after running
    /// this many requests.
    pub drop_after: Option<usize>,
    /// With `drop_after`: the server also forgets the session when it closes the connection
    /// (the requests ran; their acks and answers are lost with it). The client, coming back
    /// with the same session id, gets a new session, which says 1, nothing known, about the
    /// msg_ids sent before its first message.
    pub forget_session_on_drop: bool,
    /// Once: after running this many requests on a connection, send garbage instead of the
    /// answers.
    pub garbage_after: Option<(usize, Garbage)>,
    /// Once: on the first connection, the `n`-th request run and the later ones of its payload
    /// are acknowledged and not answered (their answers are made and kept), and the
    /// connection closes: a client sees its calls acknowledged and unanswered.
    pub ack_then_drop: Option<usize>,
    /// With `ack_then_drop`: the server forgets the requests received on the dropped
    /// connection (as one whose memory of msg_ids ran out) and says 1, nothing known, when
    /// asked about them.
    pub forget_on_drop: bool,
    /// `msgs_state_req` and `msg_resend_ans_req` are read and never answered (a server that
    /// does not implement them).
    pub ignore_questions: bool,
    /// Once: the connection that receives a `msgs_state_req` closes before answering it (the
    /// requests after it in its payload are received and not run; the answers to those before
    /// it stay queued in the session for the next connection).
    pub drop_on_question: bool,
    /// Everything the sessions send is lost on the way (the key exchange is not affected):
    /// requests run and are answered, and their acknowledgements and answers are packed and
    /// never written (set and cleared with [`ScriptServer::change_faults`]).
    pub lose_outgoing: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub connections: u64,
    pub handshakes: u64,
    /// How many times each request msg_id ran.
    pub executed: BTreeMap<i64, u32>,
    /// Requests received again under an id already received.
    pub repeated: u64,
    /// Of those, answered from the cache.
    pub answered_from_cache: u64,
    /// `msgs_state_req` received.
    pub state_requests: u64,
    /// `msg_resend_ans_req` received.
    pub answer_requests: u64,
    /// Answers sent again for `msg_resend_ans_req`.
    pub answers_resent: u64,
    /// `msg_resend_req` received.
    pub resend_requests: u64,
    /// Every state sent in `msgs_state_info`, with the msg_id it is about.
    pub states: Vec<(i64, u8)>,
}

struct SessionState {
    session: Session,
    cache: BTreeMap<i64, Reply>,
    /// Received, not run.
    unrun: BTreeMap<i64, Vec<u8>>,
    /// Running ([`Reply::After`]): the answer and when it is due.
    running: BTreeMap<i64, (Instant, Reply)>,
    /// Received and forgotten ([`Faults::forget_on_drop`]).
    forgotten: BTreeSet<i64>,
    /// The outer msg_id of the first payload the session took (its `new_session_created`'s
    /// `first_msg_id`): it knows nothing of lower ids it does not hold.
    first_msg_id: Option<i64>,
}

impl SessionState {
    /// The `msgs_state_info` byte for a client msg_id, at the server's time `now` (seconds).
    fn state(&self, msg_id: i64, now: i64) -> u8 {
        const RUNNING: u8 = MsgState::RECEIVED | MsgState::ACKNOWLEDGED | MsgState::PROCESSING;
        if self.forgotten.contains(&msg_id) {
            return MsgState::NOTHING_KNOWN;
        }
        match self.cache.get(&msg_id) {
            // Never answered: as if still running.
            Some(Reply::Nothing) => RUNNING,
            Some(_) => RUNNING | MsgState::ANSWERED,
            None if self.running.contains_key(&msg_id) => RUNNING,
            // Received with a payload whose connection dropped before it ran: it runs when it
            // comes again under its id, so the client is told to send it.
            None if self.unrun.contains_key(&msg_id) => MsgState::NOT_RECEIVED,
            // Sent before this session's first message: a session made anew (the server lost
            // the one the client had) cannot tell whether it ran.
            None if self.first_msg_id.is_some_and(|first| msg_id < first) => {
                MsgState::NOTHING_KNOWN
            }
            None => {
                let time = msg_id >> 32;
                if time < now - 300 {
                    MsgState::NOTHING_KNOWN
                } else if time > now + 30 {
                    MsgState::NOT_RECEIVED_YET
                } else {
                    MsgState::NOT_RECEIVED
                }
            }
        }
    }

    /// Queues the `msgs_state_info` answering `req_msg_id` about `msg_ids` (a service message:
    /// it needs no acknowledgement).
    fn push_states(
        &mut self,
        now: Duration,
        req_msg_id: i64,
        msg_ids: &[i64],
        stats: &mut ServerStats,
    ) {
        let server_now = now.as_secs() as i64;
        let info: Vec<u8> = msg_ids
            .iter()
            .map(|&id| self.state(id, server_now))
            .collect();
        stats
            .states
            .extend(msg_ids.iter().copied().zip(info.iter().copied()));
        let body = types::MsgsStateInfo { req_msg_id, info }.to_bytes();
        self.session.push(now, body, false);
    }

    /// Queues the answers of running requests that are due; whether there were any.
    fn push_due(&mut self, now: Duration) -> bool {
        let due: Vec<i64> = self
            .running
            .iter()
            .filter(|(_, (at, _))| *at <= Instant::now())
            .map(|(&id, _)| id)
            .collect();
        for id in &due {
            if let Some((_, reply)) = self.running.remove(id) {
                push_reply(&mut self.session, now, *id, &reply);
                self.cache.insert(*id, reply);
            }
        }
        !due.is_empty()
    }
}

struct State {
    keys: BTreeMap<i64, (MessageKey, i64)>,
    sessions: BTreeMap<(i64, i64), SessionState>,
    stats: ServerStats,
    faults: Faults,
    ctx: Ctx,
    handler: Handler,
    next_unique: i64,
}

pub struct ScriptServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    silent: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptServer {
    pub async fn start(handler: Handler, faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State {
            keys: BTreeMap::new(),
            sessions: BTreeMap::new(),
            stats: ServerStats::default(),
            faults,
            ctx: Ctx::default(),
            handler,
            next_unique: 1,
        }));
        let silent = Arc::new(AtomicBool::new(false));
        let (st, si) = (state.clone(), silent.clone());
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        st.lock().unwrap().stats.connections += 1;
                        conns.spawn(serve(stream, st.clone(), si.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Self {
            addr,
            state,
            silent,
            task,
        }
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn stats(&self) -> ServerStats {
        self.state.lock().unwrap().stats.clone()
    }

    /// Changes the faults while the server runs; the open connections see the change with the
    /// next payload they handle.
    pub fn change_faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.state.lock().unwrap().faults);
    }

    /// Stops (or resumes) sending anything: requests are read and dropped.
    pub fn set_silent(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }

    /// A client configuration for this server with test-friendly bounds.
    pub fn config(&self, dc: i32, store: Arc<dyn SessionStore>) -> Config {
        let mut config = Config::new(dc, self.addr(), vec![public_key()], store);
        config.request_timeout = Duration::from_secs(20);
        config.connect_timeout = Duration::from_secs(10);
        config.reconnect.initial = Duration::from_millis(20);
        config.reconnect.max = Duration::from_millis(500);
        config
    }
}

/// A plain config without obfuscation (for raw garbage).
pub fn plain(mut config: Config) -> Config {
    config.transport = Transport {
        kind: tlgen_client::Kind::Intermediate,
        obfuscated: false,
    };
    config
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>, silent: Arc<AtomicBool>) {
    let _ = serve_inner(stream, state, silent).await;
}

/// The server's clock: the real one moved by `offset` seconds.
fn shifted(offset: i64) -> Duration {
    let now = unix_now();
    if offset >= 0 {
        now + Duration::from_secs(offset as u64)
    } else {
        now - Duration::from_secs(offset.unsigned_abs())
    }
}

/// The key exchange's server end, with the server's (shifted) clock.
type HandshakeServer = handshake::Server<fn(&mut [u8]), Box<dyn FnMut() -> i64 + Send>>;

/// One connection's state.
struct Conn {
    codec: DynCodec,
    offset: i64,
    hs: Option<HandshakeServer>,
    session: Option<(i64, i64)>,
    plain_id: i64,
    ran_here: usize,
    first_connection: bool,
}

enum Step {
    Go,
    /// Close the connection now (after writing what is in `out`).
    Close,
}

async fn serve_inner(
    stream: TcpStream,
    state: Arc<Mutex<State>>,
    silent: Arc<AtomicBool>,
) -> Option<()> {
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; 64 * 1024];
    let mut opening = Vec::new();
    let codec: DynCodec = loop {
        let n = rd.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        opening.extend_from_slice(&buf[..n]);
        if let Some((mut codec, used)) = transport::accept(&opening, None, fill).ok()? {
            codec.push(&opening[used..]);
            break codec;
        }
    };
    let (offset, first_connection) = {
        let st = state.lock().unwrap();
        (st.faults.clock_offset, st.stats.connections == 1)
    };
    let mut conn = Conn {
        codec,
        offset,
        hs: None,
        session: None,
        plain_id: 0,
        ran_here: 0,
        first_connection,
    };
    loop {
        let mut out = Vec::new();
        let mut garbage = None;
        let mut close = false;
        while let Some(frame) = conn.codec.next_frame().ok()? {
            let Frame::Payload { data, .. } = frame else {
                continue;
            };
            match process(&mut conn, &state, &silent, &data, &mut out, &mut garbage)? {
                Step::Go => {}
                Step::Close => {
                    close = true;
                    break;
                }
            }
        }
        match garbage {
            Some(Garbage::Framed) => {
                let mut junk = vec![0u8; 96];
                fill(&mut junk);
                junk[0] |= 1;
                out.clear();
                conn.codec.send(&junk, false, &mut out).ok()?;
            }
            Some(Garbage::Unframed) => {
                // A length of almost 2 GiB (bit 31 clear: not a quick ack), then junk.
                out.clear();
                out.extend_from_slice(&[0xf0, 0xff, 0xff, 0x7f]);
                out.extend_from_slice(&[0xff; 28]);
            }
            _ => {}
        }
        if !out.is_empty() && !silent.load(Ordering::SeqCst) {
            wr.write_all(&out).await.ok()?;
        }
        if let Some(hs) = conn.hs.as_mut() {
            // After resPQ went out, as the loopback server does: g^a while the client works.
            hs.precompute();
        }
        if close {
            return None;
        }
        let due = next_due(&conn, &state);
        let n = tokio::select! {
            n = rd.read(&mut buf) => n.ok()?,
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                let mut answers = Vec::new();
                due_answers(&mut conn, &state, &mut answers);
                if !answers.is_empty() && !silent.load(Ordering::SeqCst) {
                    wr.write_all(&answers).await.ok()?;
                }
                continue;
            }
        };
        if n == 0 {
            return None;
        }
        conn.codec.push(&buf[..n]);
    }
}

/// Handles one payload; `None` closes the connection at once (nothing more written).
fn process(
    conn: &mut Conn,
    state: &Mutex<State>,
    silent: &AtomicBool,
    data: &[u8],
    out: &mut Vec<u8>,
    garbage: &mut Option<Garbage>,
) -> Option<Step> {
    // The clock may have been moved since the last payload (ScriptServer::change_faults).
    conn.offset = state.lock().unwrap().faults.clock_offset;
    let offset = conn.offset;
    let clock = move || i64::try_from(unix_now().as_secs()).unwrap() + offset;
    if data.len() >= 8 && data[..8] == [0; 8] {
        let (_, body) = parse_plain_message(data).ok()?;
        let server = conn.hs.get_or_insert_with(|| {
            handshake::Server::new(
                private_key().clone(),
                &KNOWN_DH_PRIME,
                3,
                fill as fn(&mut [u8]),
                Box::new(clock) as Box<dyn FnMut() -> i64 + Send>,
            )
            .unwrap()
        });
        let answer = server.handle(body).ok()?;
        if let Some(key) = server.auth_key() {
            let mut st = state.lock().unwrap();
            st.stats.handshakes += 1;
            st.keys
                .insert(key.id, (MessageKey::from(key), key.server_salt));
        }
        conn.plain_id = conn.plain_id.max((clock() << 32) | 1) + 4;
        conn.codec
            .send(&plain_message(conn.plain_id, &answer), false, out)
            .ok()?;
        return Some(Step::Go);
    }
    let key_id = i64::from_le_bytes(data.get(..8)?.try_into().ok()?);
    let mut guard = state.lock().unwrap();
    let st = &mut *guard;
    let Some((key, salt)) = st.keys.get(&key_id).cloned() else {
        conn.codec.send_server_error(404, out).ok()?;
        return Some(Step::Close);
    };
    let sid = match conn.session {
        Some((_, sid)) => sid,
        None => {
            let Ok(opened) = envelope::decrypt(&key, Direction::ClientToServer, data) else {
                return Some(Step::Go);
            };
            let sid = opened.header.session_id;
            conn.session = Some((key_id, sid));
            sid
        }
    };
    let now = shifted(offset);
    if !st.sessions.contains_key(&(key_id, sid)) {
        let start_salt = if st.faults.wrong_salt {
            salt ^ 0x5a5a
        } else {
            salt
        };
        let unique = st.next_unique;
        st.next_unique += 1;
        st.sessions.insert(
            (key_id, sid),
            SessionState {
                session: Session::server(key.clone(), start_salt, unique),
                cache: BTreeMap::new(),
                unrun: BTreeMap::new(),
                running: BTreeMap::new(),
                forgotten: BTreeSet::new(),
                first_msg_id: None,
            },
        );
    }
    let sess = st.sessions.get_mut(&(key_id, sid))?;
    let events = match sess.session.unpack(now, data) {
        Ok(events) => {
            if sess.first_msg_id.is_none() {
                sess.first_msg_id = envelope::decrypt(&key, Direction::ClientToServer, data)
                    .ok()
                    .map(|opened| opened.header.msg_id);
            }
            events
        }
        Err(e) => {
            tracing::debug!(error = %e, "server: payload refused");
            Vec::new()
        }
    };
    let quiet = silent.load(Ordering::SeqCst);
    // Requests received before but never run (the connection dropped while their payload
    // was being handled) run now; the others are answered from the cache.
    let mut requests = Vec::new();
    for event in events {
        match event {
            Event::Message { msg_id, body } => requests.push((msg_id, body)),
            Event::Repeated { msg_id } => {
                st.stats.repeated += 1;
                if let Some(reply) = sess.cache.get(&msg_id) {
                    st.stats.answered_from_cache += 1;
                    push_reply(&mut sess.session, now, msg_id, reply);
                } else if let Some(body) = sess.unrun.remove(&msg_id) {
                    requests.push((msg_id, body));
                }
            }
            _ => {}
        }
    }
    // After ack_then_drop took this payload: answers are kept, not sent.
    let mut holding = false;
    let mut requests = requests.into_iter();
    while let Some((msg_id, body)) = requests.next() {
        let id = u32::from_le_bytes(body.get(..4)?.try_into().ok()?);
        if id == functions::PingDelayDisconnect::CONSTRUCTOR_ID {
            let ping = functions::PingDelayDisconnect::from_bytes(&body).ok()?;
            let pong = types::Pong {
                msg_id,
                ping_id: ping.ping_id,
            };
            sess.session.push(now, pong.to_bytes(), false);
        } else if id == functions::GetFutureSalts::CONSTRUCTOR_ID {
            let server_now = clock() as i32;
            let salts = types::FutureSalts {
                req_msg_id: msg_id,
                now: server_now,
                salts: vec![types::FutureSalt {
                    valid_since: server_now - 60,
                    valid_until: server_now + 7200,
                    salt: sess.session.salt(),
                }],
            };
            sess.session.push(now, salts.to_bytes(), false);
        } else if id == types::MsgsStateReq::CONSTRUCTOR_ID {
            let req = types::MsgsStateReq::from_bytes(&body).ok()?;
            st.stats.state_requests += 1;
            if st.faults.drop_on_question {
                st.faults.drop_on_question = false;
                // Close before answering; the rest of the payload was received and not run.
                for (msg_id, body) in requests {
                    sess.unrun.insert(msg_id, body);
                }
                return None;
            }
            if !st.faults.ignore_questions {
                sess.push_states(now, msg_id, &req.msg_ids, &mut st.stats);
            }
        } else if id == types::MsgResendAnsReq::CONSTRUCTOR_ID {
            // The answers to these requests again, then their states as for msgs_state_req.
            let req = types::MsgResendAnsReq::from_bytes(&body).ok()?;
            st.stats.answer_requests += 1;
            if !st.faults.ignore_questions {
                for id in &req.msg_ids {
                    if let Some(reply) = sess.cache.get(id) {
                        st.stats.answers_resent += 1;
                        push_reply(&mut sess.session, now, *id, reply);
                    }
                }
                sess.push_states(now, msg_id, &req.msg_ids, &mut st.stats);
            }
        } else if id == types::MsgResendReq::CONSTRUCTOR_ID {
            // These messages of the server's again, under their ids; if one is not kept (never
            // sent, acknowledged, or the client's own), the states of all.
            let req = types::MsgResendReq::from_bytes(&body).ok()?;
            st.stats.resend_requests += 1;
            let mut all_kept = true;
            for id in &req.msg_ids {
                all_kept &= sess.session.resend(*id);
            }
            if !all_kept {
                sess.push_states(now, msg_id, &req.msg_ids, &mut st.stats);
            }
        } else if quiet {
            // Silent: requests vanish.
        } else {
            *st.stats.executed.entry(msg_id).or_default() += 1;
            let reply = (st.handler)(&mut st.ctx, msg_id, &body);
            *st.ctx.runs.entry(body.clone()).or_default() += 1;
            conn.ran_here += 1;
            if let (true, Some(limit)) = (conn.first_connection, st.faults.ack_then_drop) {
                holding |= conn.ran_here >= limit;
            }
            if let Reply::After(delay, answer) = reply {
                sess.running
                    .insert(msg_id, (Instant::now() + delay, *answer));
                continue;
            }
            sess.cache.insert(msg_id, reply.clone());
            if holding {
                continue;
            }
            if let (true, Some(limit)) = (conn.first_connection, st.faults.drop_after) {
                if conn.ran_here >= limit {
                    st.faults.drop_after = None;
                    if st.faults.forget_session_on_drop {
                        // The session goes, with what it received and ran.
                        st.sessions.remove(&(key_id, sid));
                        return None;
                    }
                    // Close with every answer unsent; the rest of the payload was received
                    // and not run.
                    for (msg_id, body) in requests {
                        sess.unrun.insert(msg_id, body);
                    }
                    return None;
                }
                continue;
            }
            if let Some((after, kind)) = st.faults.garbage_after {
                if conn.ran_here >= after {
                    st.faults.garbage_after = None;
                    *garbage = Some(kind);
                }
            }
            push_reply(&mut sess.session, now, msg_id, &reply);
        }
    }
    for update in std::mem::take(&mut st.ctx.updates) {
        sess.session.push(now, update, true);
    }
    sess.push_due(now);
    if quiet {
        return Some(Step::Go);
    }
    let lost = st.faults.lose_outgoing;
    while let Some(packet) = sess.session.pack(now, &mut fill).ok()? {
        if lost {
            continue;
        }
        let mut payload = packet.payload;
        if *garbage == Some(Garbage::WrongMsgKey) {
            payload[12] ^= 0x40;
        }
        conn.codec.send(&payload, false, out).ok()?;
    }
    if holding {
        // The acknowledgements went out above; the answers stay here.
        st.faults.ack_then_drop = None;
        if st.faults.forget_on_drop {
            let sess = st.sessions.get_mut(&(key_id, sid))?;
            let known: Vec<i64> = sess.cache.keys().copied().collect();
            for id in known {
                sess.cache.remove(&id);
                sess.forgotten.insert(id);
            }
        }
        return Some(Step::Close);
    }
    Some(Step::Go)
}

/// Sends the answers of this connection's session that came due (on a timer, with no payload
/// from the client).
fn due_answers(conn: &mut Conn, state: &Mutex<State>, out: &mut Vec<u8>) -> Option<()> {
    let key = conn.session?;
    let mut st = state.lock().unwrap();
    let now = shifted(conn.offset);
    let lost = st.faults.lose_outgoing;
    let sess = st.sessions.get_mut(&key)?;
    if sess.push_due(now) {
        while let Some(packet) = sess.session.pack(now, &mut fill).ok()? {
            if lost {
                continue;
            }
            conn.codec.send(&packet.payload, false, out).ok()?;
        }
    }
    Some(())
}

/// When the next running answer of this connection's session is due.
fn next_due(conn: &Conn, state: &Mutex<State>) -> Option<tokio::time::Instant> {
    let st = state.lock().unwrap();
    let sess = st.sessions.get(&conn.session?)?;
    let at = sess.running.values().map(|(at, _)| *at).min()?;
    Some(tokio::time::Instant::from_std(at))
}

fn push_reply(session: &mut Session, now: Duration, msg_id: i64, reply: &Reply) {
    match reply {
        Reply::Ok(bytes) => {
            session.push_result(now, msg_id, bytes);
        }
        Reply::Error(code, message) => {
            session.push_error(
                now,
                msg_id,
                &types::RpcError {
                    error_code: *code,
                    error_message: message.clone(),
                },
            );
        }
        Reply::Nothing => {}
        Reply::After(_, answer) => push_reply(session, now, msg_id, answer),
    }
}
