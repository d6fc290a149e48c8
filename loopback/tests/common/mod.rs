//! A minimal MTProto client for the server's tests, built from the runtime's sans-IO pieces
//! (transport codecs, `handshake::Client`, `Session::client`), and a small test service.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlgen_loopback::{KeyPair, Server, ServerHandle};
use tlgen_runtime::crypto::Direction;
use tlgen_runtime::crypto::{RsaPrivateKey, RsaPublicKey};
use tlgen_runtime::mtproto::envelope::{self, Header, MessageKey};
use tlgen_runtime::mtproto::handshake::{
    self, parse_plain_message, plain_message, AuthKey, ClientForm, ClientStep,
};
use tlgen_runtime::mtproto::schema::types;
use tlgen_runtime::mtproto::session::{Event, Session};
use tlgen_runtime::transport::{
    Abridged, Codec, Frame, Framing, Full, Intermediate, Kind, PaddedIntermediate, Role,
    TransportError,
};
use tlgen_world::{CallContext, Reply, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every wait in these tests ends after this long.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `f`, failing the test after [`WAIT`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

pub fn random(buf: &mut [u8]) {
    tlgen_loopback::random_fill(buf);
}

pub fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// One RSA key for every server of a test binary (made once: generation takes a while in a
/// debug build).
pub fn test_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| KeyPair::generate().private_key().clone())
        .clone()
}

// ---- the test service -----------------------------------------------------------------------

/// `echo#11111111 ...`: answers the whole body back.
pub const ECHO: u32 = 0x1111_1111;
/// `fail#22222222`: answers rpc_error 400 TEST_ERROR.
pub const FAIL: u32 = 0x2222_2222;
/// `notify#33333333`: pushes an update (`0x44444444` + the body's rest) to the caller's key,
/// then answers boolTrue.
pub const NOTIFY: u32 = 0x3333_3333;
/// `whoami#55555555`: answers the DC the request reached and the number of DCs (two ints).
pub const WHOAMI: u32 = 0x5555_5555;
pub const UPDATE: u32 = 0x4444_4444;
/// `panic#66666666`: the service panics.
pub const PANIC: u32 = 0x6666_6666;
pub const BOOL_TRUE: [u8; 4] = [0xb5, 0x75, 0x72, 0x99];

#[derive(Default)]
pub struct TestService {
    pub calls: AtomicU64,
    pub seen: Mutex<Vec<(i64, i64)>>,
}

impl Service for TestService {
    fn call(&self, ctx: &CallContext<'_>, body: &[u8]) -> Reply {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push((ctx.session_id, ctx.msg_id));
        let id = u32::from_le_bytes(body[..4].try_into().unwrap());
        match id {
            ECHO => Reply::Result(body.to_vec()),
            FAIL => Reply::error(400, "TEST_ERROR"),
            NOTIFY => {
                let mut update = UPDATE.to_le_bytes().to_vec();
                update.extend_from_slice(&body[4..]);
                ctx.outbox.push(ctx.auth_key_id, update);
                Reply::Result(BOOL_TRUE.to_vec())
            }
            WHOAMI => {
                let mut out = ctx.dc.to_le_bytes().to_vec();
                out.extend_from_slice(&(ctx.dcs.len() as i32).to_le_bytes());
                Reply::Result(out)
            }
            PANIC => panic!("the test service was asked to panic"),
            _ => Reply::error(400, "METHOD_NOT_IMPLEMENTED"),
        }
    }
}

pub fn echo(tag: u32) -> Vec<u8> {
    let mut body = ECHO.to_le_bytes().to_vec();
    body.extend_from_slice(&tag.to_le_bytes());
    body
}

pub async fn start(dcs: usize) -> (ServerHandle, Arc<TestService>) {
    let service = Arc::new(TestService::default());
    let server = Server::builder()
        .service(service.clone())
        .dcs(dcs)
        .key(test_key())
        .start()
        .await
        .unwrap();
    (server, service)
}

// ---- transport ------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Plain(Kind),
    Obfuscated(Kind),
}

pub const ALL_TRANSPORTS: [Transport; 7] = [
    Transport::Plain(Kind::Abridged),
    Transport::Plain(Kind::Intermediate),
    Transport::Plain(Kind::PaddedIntermediate),
    Transport::Plain(Kind::Full),
    Transport::Obfuscated(Kind::Abridged),
    Transport::Obfuscated(Kind::Intermediate),
    Transport::Obfuscated(Kind::PaddedIntermediate),
];

fn framing(kind: Kind) -> Box<dyn Framing + Send> {
    match kind {
        Kind::Abridged => Box::new(Abridged::new(Role::Client)),
        Kind::Intermediate => Box::new(Intermediate::new(Role::Client)),
        Kind::PaddedIntermediate => {
            Box::new(PaddedIntermediate::new(Role::Client, Box::new(random)))
        }
        Kind::Full => Box::new(Full::new(Role::Client)),
    }
}

/// What a read ended with, other than a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Closed {
    /// The server closed the connection.
    Eof,
    /// The stream did not decode.
    Transport(TransportError),
}

pub struct Conn {
    pub stream: TcpStream,
    pub codec: Codec<Box<dyn Framing + Send>>,
    pending: Vec<u8>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr, transport: Transport) -> Conn {
        let stream = within("connect", TcpStream::connect(addr)).await.unwrap();
        let mut pending = Vec::new();
        let codec = match transport {
            Transport::Plain(kind) => Codec::client(framing(kind), &mut pending),
            Transport::Obfuscated(kind) => {
                Codec::obfuscated_client(framing(kind), Some(2), None, &mut random, &mut pending)
                    .unwrap()
            }
        };
        Conn {
            stream,
            codec,
            pending,
        }
    }

    pub async fn send(&mut self, payload: &[u8]) {
        self.send_with(payload, false).await;
    }

    pub async fn send_with(&mut self, payload: &[u8], quick_ack: bool) {
        let mut out = std::mem::take(&mut self.pending);
        self.codec.send(payload, quick_ack, &mut out).unwrap();
        within("write", self.stream.write_all(&out)).await.unwrap();
    }

    /// Writes raw bytes (after any pending opening).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let mut out = std::mem::take(&mut self.pending);
        out.extend_from_slice(bytes);
        within("write", self.stream.write_all(&out)).await.unwrap();
    }

    /// The next frame; `Err` when the connection closed or broke. Fails the test after WAIT.
    pub async fn recv(&mut self) -> Result<Frame, Closed> {
        within("a frame", self.recv_inner()).await
    }

    /// Like `recv`, `None` after `limit` without a frame.
    pub async fn recv_for(&mut self, limit: Duration) -> Option<Result<Frame, Closed>> {
        tokio::time::timeout(limit, self.recv_inner()).await.ok()
    }

    async fn recv_inner(&mut self) -> Result<Frame, Closed> {
        // Bounded by the connection: every pass reads at least one byte or ends.
        loop {
            match self.codec.next_frame() {
                Ok(Some(frame)) => return Ok(frame),
                Ok(None) => {}
                Err(e) => return Err(Closed::Transport(e)),
            }
            let mut buf = vec![0u8; 16 * 1024];
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return Err(Closed::Eof),
                Ok(n) => self.codec.push(&buf[..n]),
            }
        }
    }

    /// The next payload (quick acks skipped); panics on anything else.
    pub async fn recv_payload(&mut self) -> Vec<u8> {
        loop {
            match self.recv().await {
                Ok(Frame::Payload { data, .. }) => return data,
                Ok(Frame::QuickAck(_)) => continue,
                other => panic!("expected a payload, got {other:?}"),
            }
        }
    }
}

/// Runs a handshake on `conn` and returns the key.
pub async fn handshake(
    conn: &mut Conn,
    key: RsaPublicKey,
    dc: i32,
    form: ClientForm,
    temporary: Option<i32>,
) -> AuthKey {
    let clock = || now().as_secs() as i64;
    let mut client = handshake::Client::new(vec![key], dc, random, clock).with_form(form);
    if let Some(expires_in) = temporary {
        client = client.temporary(expires_in);
    }
    let mut body = client.start();
    let mut msg_id = (now().as_secs() as i64) << 32;
    for _ in 0..3 {
        msg_id += 4;
        conn.send(&plain_message(msg_id, &body)).await;
        let answer = conn.recv_payload().await;
        let (_, answer) = parse_plain_message(&answer).unwrap();
        match client.handle(answer).unwrap() {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(key) => return *key,
        }
    }
    panic!("no key after three round trips")
}

// ---- a client with a session ----------------------------------------------------------------

pub struct Client {
    pub conn: Conn,
    pub key: AuthKey,
    pub session: Session,
    pub session_id: i64,
    /// Events received and not yet taken by `call`/`wait_for`.
    pub events: Vec<Event>,
    /// The codes of the re-sends `result` followed.
    pub resent: Vec<i32>,
}

impl Client {
    pub async fn connect(server: &ServerHandle, dc: i32, transport: Transport) -> Client {
        let mut conn = Conn::connect(server.addr(dc), transport).await;
        let key = handshake(
            &mut conn,
            server.rsa_public_key(),
            dc,
            ClientForm::CURRENT,
            None,
        )
        .await;
        Client::with_key(conn, key)
    }

    pub fn with_key(conn: Conn, key: AuthKey) -> Client {
        let mut id = [0u8; 8];
        random(&mut id);
        let session_id = i64::from_le_bytes(id);
        let session = Session::client(
            MessageKey::from(&key),
            session_id,
            key.server_salt,
            key.server_time_offset,
        );
        Client {
            conn,
            key,
            session,
            session_id,
            events: Vec::new(),
            resent: Vec::new(),
        }
    }

    /// Opens a new connection to `addr` for the same key and session.
    pub async fn reconnect(&mut self, addr: SocketAddr, transport: Transport) {
        self.conn = Conn::connect(addr, transport).await;
    }

    pub fn push(&mut self, body: &[u8]) -> i64 {
        self.session.push(now(), body.to_vec(), true)
    }

    /// Packs and sends everything queued; returns the payloads' msg_ids.
    pub async fn flush(&mut self) -> Vec<i64> {
        let mut ids = Vec::new();
        while let Some(packet) = self.session.pack(now(), &mut random).unwrap() {
            ids.extend(packet.msg_ids.iter().copied());
            self.conn.send(&packet.payload).await;
        }
        ids
    }

    /// Receives one payload and returns its events (also kept in `self.events`).
    pub async fn recv(&mut self) -> Result<Vec<Event>, Closed> {
        loop {
            match self.conn.recv().await? {
                Frame::Payload { data, .. } => {
                    let events = self
                        .session
                        .unpack(now(), &data)
                        .unwrap_or_else(|e| panic!("the server's payload was refused: {e}"));
                    self.events.extend(events.iter().cloned());
                    return Ok(events);
                }
                Frame::QuickAck(_) => continue,
                Frame::ServerError { code } => {
                    return Err(Closed::Transport(TransportError::Server { code }))
                }
            }
        }
    }

    /// Waits for the answer to `msg_id` (following re-sends), sending acks and re-sent messages.
    pub async fn result(&mut self, mut msg_id: i64) -> Result<Vec<u8>, types::RpcError> {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no answer to {msg_id:#x}"
            );
            let mut found = None;
            for event in std::mem::take(&mut self.events) {
                match event {
                    Event::Result { req_msg_id, result } if req_msg_id == msg_id => {
                        found = Some(result)
                    }
                    Event::Resent {
                        old_msg_id,
                        new_msg_id,
                        code,
                    } if old_msg_id == msg_id => {
                        self.resent.push(code);
                        msg_id = new_msg_id;
                    }
                    other => self.events.push(other),
                }
            }
            if let Some(result) = found {
                return result;
            }
            self.flush().await;
            self.recv().await.expect("the connection closed");
        }
    }

    /// Encrypts `body` as one message with the given header fields (for hand-made payloads:
    /// re-sent ids, containers).
    pub fn seal(&self, msg_id: i64, seq_no: i32, body: &[u8]) -> Vec<u8> {
        let header = Header {
            salt: self.session.salt(),
            session_id: self.session_id,
            msg_id,
            seq_no,
        };
        envelope::encrypt(
            &MessageKey::from(&self.key),
            Direction::ClientToServer,
            &header,
            body,
            &mut random,
        )
        .unwrap()
        .payload
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&mut self, body: &[u8]) -> Result<Vec<u8>, types::RpcError> {
        let msg_id = self.push(body);
        self.flush().await;
        self.result(msg_id).await
    }

    /// Receives until an event matches; returns it.
    pub async fn wait_for(&mut self, what: impl Fn(&Event) -> bool) -> Event {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "the event did not come"
            );
            if let Some(at) = self.events.iter().position(&what) {
                return self.events.remove(at);
            }
            self.flush().await;
            self.recv().await.expect("the connection closed");
        }
    }
}

/// Raises the soft limit of open file descriptors (`ulimit -n`) towards `wanted`, as far as
/// the hard limit allows, and returns the soft limit then in force (children inherit it).
pub fn raise_fd_limit(wanted: u64) -> u64 {
    rlimit::increase_nofile_limit(wanted).unwrap_or(0)
}

/// VmRSS of this process in KiB.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A msg_container of `(msg_id, seq_no, body)` messages.
pub fn container(messages: &[(i64, i32, Vec<u8>)]) -> Vec<u8> {
    let mut out = 0x73f1_f8dcu32.to_le_bytes().to_vec();
    out.extend_from_slice(&(messages.len() as u32).to_le_bytes());
    for (id, seq, body) in messages {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
    }
    out
}

/// A client msg_id for now (plus `n` steps of 4).
pub fn client_msg_id(n: i64) -> i64 {
    let now = now();
    ((now.as_secs() as i64) << 32 | (now.subsec_nanos() as i64) << 2 & 0xffff_fff0) + 4 * n
}
