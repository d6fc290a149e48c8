//! The server: builder, handle, listeners, and the state its connections share (auth keys,
//! sessions with their answer caches, the connection registry, statistics).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tlgen_runtime::crypto::{sha256, RsaPrivateKey, RsaPublicKey};
use tlgen_runtime::mtproto::envelope::MessageKey;
use tlgen_runtime::mtproto::session::Session;
use tlgen_world::{DcAddr, Outbox, Service};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::conn::{self, ConnMsg};
use crate::faults::Faults;
use crate::key::{public_key_pem, KeyPair};

/// How long one salt is valid (the server moves to the next at each multiple of this).
pub(crate) const SALT_PERIOD: i64 = 3600;
/// Most auth keys kept; past it the oldest is forgotten (its clients get -404 and make a new one).
const MAX_AUTH_KEYS: usize = 1 << 16;
/// Most sessions kept per auth key; past it the least recently used is forgotten.
const MAX_SESSIONS_PER_KEY: usize = 64;
/// Most answers cached per session (the oldest request ids go first).
pub(crate) const MAX_CACHED_ANSWERS: usize = 1024;
/// How long an answer stays cached.
pub(crate) const ANSWER_TTL: Duration = Duration::from_secs(600);
/// Most bytes of cached answers per session (the oldest go first).
pub(crate) const MAX_CACHED_BYTES: usize = 8 * 1024 * 1024;
/// Most (session, msg_id) execution counts kept in the statistics.
const MAX_EXECUTION_RECORDS: usize = 1 << 16;
/// How long [`ServerHandle::shutdown`] waits for connections to close before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Messages queued to one connection (updates, delayed answers) before more are dropped.
const CONNECTION_QUEUE: usize = 256;

/// Entry point: `Server::builder()`.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// A builder with one DC, a fresh key and no faults; [`Builder::service`] is required.
    pub fn builder() -> Builder {
        Builder {
            service: None,
            dcs: 1,
            key: None,
            faults: Faults::default(),
            port: 0,
        }
    }
}

/// Configures and starts a server. See the [crate docs](crate).
pub struct Builder {
    service: Option<Arc<dyn Service>>,
    dcs: usize,
    key: Option<RsaPrivateKey>,
    faults: Faults,
    port: u16,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("service", &self.service.is_some())
            .field("dcs", &self.dcs)
            .field("key", &self.key)
            .field("faults", &self.faults)
            .field("port", &self.port)
            .finish()
    }
}

impl Builder {
    /// The API behind the server (required).
    pub fn service(mut self, service: Arc<dyn Service>) -> Self {
        self.service = Some(service);
        self
    }

    /// How many DCs (ids 1..=n), each on its own 127.0.0.1 port. Default 1.
    pub fn dcs(mut self, n: usize) -> Self {
        self.dcs = n;
        self
    }

    /// The RSA key (default: a fresh 2048-bit key, see [`KeyPair::generate`]).
    pub fn key(mut self, key: RsaPrivateKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Faults from the start (default none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// The port of DC 1; DC `i` gets `port + i - 1`. Default 0: every port chosen by the OS.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds the listeners on 127.0.0.1 and starts serving (on the current tokio runtime).
    ///
    /// # Errors
    ///
    /// [`StartError`] when no service was given, `dcs` is 0 or above 1000, or a port cannot
    /// be bound.
    pub async fn start(self) -> Result<ServerHandle, StartError> {
        let service = self.service.ok_or(StartError::NoService)?;
        if !(1..=1000).contains(&self.dcs) {
            return Err(StartError::BadDcCount(self.dcs));
        }
        let key = match self.key {
            Some(key) => key,
            None => tokio::task::spawn_blocking(|| KeyPair::generate().private_key().clone())
                .await
                .map_err(|e| StartError::Bind(std::io::Error::other(e)))?,
        };
        let mut listeners = Vec::with_capacity(self.dcs);
        let mut dcs = Vec::with_capacity(self.dcs);
        for i in 0..self.dcs {
            let port = if self.port == 0 {
                0
            } else {
                u16::try_from(usize::from(self.port) + i).map_err(|_| {
                    StartError::Bind(std::io::Error::other("port number above 65535"))
                })?
            };
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
                .await
                .map_err(StartError::Bind)?;
            let addr = listener.local_addr().map_err(StartError::Bind)?;
            let id = i32::try_from(i + 1).unwrap_or(i32::MAX); // i < 1000
            dcs.push(DcAddr { id, addr });
            listeners.push((id, listener));
        }
        let mut salt_secret = [0u8; 32];
        crate::random_fill(&mut salt_secret);
        let shared = Arc::new(Shared {
            service,
            pem: public_key_pem(key.public_key()),
            key,
            dcs,
            skew: AtomicI64::new(self.faults.clock_skew),
            faults: Mutex::new(self.faults),
            salt_secret,
            keys: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(BTreeMap::new()),
            conns: Mutex::new(BTreeMap::new()),
            next_conn: AtomicU64::new(1),
            stats: Mutex::new(Counters::default()),
        });
        let (shutdown, signal) = watch::channel(false);
        let tasks = listeners
            .into_iter()
            .map(|(dc, listener)| {
                tokio::spawn(listen(shared.clone(), dc, listener, signal.clone()))
            })
            .collect();
        Ok(ServerHandle {
            shared,
            shutdown,
            tasks,
        })
    }
}

/// Why [`Builder::start`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// [`Builder::service`] was not called.
    NoService,
    /// The number of DCs was 0 or above 1000.
    BadDcCount(usize),
    /// A listener could not be bound.
    Bind(std::io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoService => f.write_str("no service: call Builder::service"),
            Self::BadDcCount(n) => write!(f, "expected 1..=1000 DCs, got {n}"),
            Self::Bind(e) => write!(f, "cannot listen on 127.0.0.1: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind(e) => Some(e),
            _ => None,
        }
    }
}

/// What the server counted so far ([`ServerHandle::stats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections open now.
    pub connections_open: usize,
    /// Connections accepted since the start.
    pub connections_total: u64,
    /// Auth keys made (handshakes finished).
    pub handshakes: u64,
    /// Auth keys known now.
    pub auth_keys: usize,
    /// Sessions known now.
    pub sessions: usize,
    /// API requests run (passed to the service, the intercept, or answered with a flood wait).
    pub requests_executed: u64,
    /// Answers sent again from a session's cache for a re-sent msg_id.
    pub answers_replayed: u64,
    /// Encrypted payloads dropped (bad msg_key, bad session checks, ...).
    pub payloads_rejected: u64,
    /// How often each request ran, by (session_id, msg_id) (the last 65,536 requests).
    pub executed: BTreeMap<(i64, i64), u32>,
}

impl Stats {
    /// How often requests with this msg_id ran, over all sessions.
    pub fn executions(&self, msg_id: i64) -> u32 {
        self.executed
            .iter()
            .filter(|((_, id), _)| *id == msg_id)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One open connection, as [`ServerHandle::connections`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The number [`tlgen_world::CallContext::connection`] carries.
    pub id: u64,
    /// The DC it reached.
    pub dc: i32,
    /// The client's address.
    pub peer: SocketAddr,
    /// The auth key and session of its last encrypted message.
    pub session: Option<(i64, i64)>,
}

/// A running server. Dropping it stops it (listeners close; connections close soon after);
/// [`ServerHandle::shutdown`] also waits for that.
pub struct ServerHandle {
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerHandle")
            .field("dcs", &self.shared.dcs)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

impl ServerHandle {
    /// The address of DC `dc_id`.
    ///
    /// # Panics
    ///
    /// When the server has no such DC.
    pub fn addr(&self, dc_id: i32) -> SocketAddr {
        self.shared
            .dcs
            .iter()
            .find(|d| d.id == dc_id)
            .map(|d| d.addr)
            .unwrap_or_else(|| panic!("no DC {dc_id}: this server has {}", self.shared.dcs.len()))
    }

    /// Every DC and its address.
    pub fn dcs(&self) -> Vec<DcAddr> {
        self.shared.dcs.clone()
    }

    /// The public key as a PKCS#1 PEM block (`BEGIN RSA PUBLIC KEY`).
    pub fn public_key_pem(&self) -> String {
        self.shared.pem.clone()
    }

    /// The key's fingerprint as `resPQ` lists it.
    pub fn fingerprint(&self) -> i64 {
        self.shared.key.public_key().fingerprint() as i64
    }

    /// The public key, as `handshake::Client::new` takes it.
    pub fn rsa_public_key(&self) -> RsaPublicKey {
        self.shared.key.public_key().clone()
    }

    /// Counts so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The open connections.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        lock(&self.shared.conns)
            .iter()
            .map(|(&id, c)| ConnectionInfo {
                id,
                dc: c.dc,
                peer: c.peer,
                session: c.bound,
            })
            .collect()
    }

    /// Replaces the server's faults (connections with their own keep those).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.skew.store(faults.clock_skew, Ordering::Relaxed);
        *lock(&self.shared.faults) = faults;
    }

    /// The server's faults now (one-shot counts as left).
    pub fn faults(&self) -> Faults {
        lock(&self.shared.faults).clone()
    }

    /// Gives one connection its own faults (`None`: the server's again). Its `clock_skew` is
    /// ignored: the clock is the server's. Returns false when no such connection is open.
    pub fn set_connection_faults(&self, connection: u64, faults: Option<Faults>) -> bool {
        match lock(&self.shared.conns).get_mut(&connection) {
            Some(c) => {
                c.faults = faults;
                true
            }
            None => false,
        }
    }

    /// Queues `body` to every live session of an auth key, as the service's outbox does.
    pub fn push(&self, auth_key_id: i64, body: Vec<u8>) {
        self.shared.push(auth_key_id, body);
    }

    /// Stops listening, closes every connection and waits for them (at most a few seconds,
    /// then they are aborted).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn listen(
    shared: Arc<Shared>,
    dc: i32,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
                    let (tx, rx) = mpsc::channel(CONNECTION_QUEUE);
                    lock(&shared.conns).insert(id, ConnEntry { dc, peer, tx, bound: None, faults: None });
                    lock(&shared.stats).connections_total += 1;
                    tracing::debug!(dc, id, %peer, "connection accepted");
                    tasks.spawn(conn::run(shared.clone(), dc, id, stream, rx, stop.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(dc, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.shutdown().await;
    }
}

/// A registered connection.
pub(crate) struct ConnEntry {
    pub dc: i32,
    pub peer: SocketAddr,
    pub tx: mpsc::Sender<ConnMsg>,
    /// The (auth key, session) of its last encrypted message.
    pub bound: Option<(i64, i64)>,
    pub faults: Option<Faults>,
}

/// An auth key the server made.
#[derive(Clone)]
pub(crate) struct KeyEntry {
    pub key: MessageKey,
    /// The first salt (from the handshake's nonces) and when the key was made (server time).
    pub first_salt: i64,
    pub created: i64,
    /// Server time after which a temporary key is refused.
    pub expires_at: Option<i64>,
}

/// A session and its answers.
pub(crate) struct SessionSlot {
    pub session: Session,
    /// Requests by msg_id: running or answered (bounded, see [`MAX_CACHED_ANSWERS`]).
    pub requests: BTreeMap<i64, Request>,
    pub cached_bytes: usize,
    /// The highest msg_id whose answer the cache let go of (0 before any): asked about an id
    /// up to it that it does not hold, the server says it knows nothing.
    pub forgotten_up_to: i64,
    /// The outer msg_id of the first payload the session took (the `first_msg_id` of its
    /// `new_session_created`), `None` before: asked about a lower id that it does not hold,
    /// the server says it knows nothing (the message belongs to a session it does not have).
    pub first_msg_id: Option<i64>,
}

pub(crate) struct SessionHandle {
    /// Seconds since the server started at the last use (for eviction without locking).
    last_used: AtomicU64,
    pub slot: Mutex<SessionSlot>,
}

/// A request the session received.
pub(crate) enum Request {
    /// Its answer, to send again if the msg_id comes again (cached as soon as it is made,
    /// before a delay fault holds it back).
    Answered { answer: conn::Answer, at: Instant },
}

impl SessionSlot {
    /// Keeps an answer, dropping the oldest beyond the bounds.
    pub fn remember(&mut self, msg_id: i64, answer: conn::Answer) {
        let now = Instant::now();
        self.cached_bytes += answer.len();
        if let Some(Request::Answered { answer: old, .. }) = self
            .requests
            .insert(msg_id, Request::Answered { answer, at: now })
        {
            self.cached_bytes -= old.len();
        }
        // Expired answers, then the lowest msg_ids (oldest) past the count or byte bounds.
        let expired: Vec<i64> = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r, Request::Answered { at, .. } if now.duration_since(*at) > ANSWER_TTL))
            .map(|(&id, _)| id)
            .collect();
        for id in expired {
            self.forget(id);
        }
        while self.requests.len() > MAX_CACHED_ANSWERS || self.cached_bytes > MAX_CACHED_BYTES {
            let Some(&oldest) = self.requests.keys().next() else {
                break;
            };
            self.forget(oldest);
        }
    }

    fn forget(&mut self, msg_id: i64) {
        if let Some(Request::Answered { answer, .. }) = self.requests.remove(&msg_id) {
            self.cached_bytes -= answer.len();
            self.forgotten_up_to = self.forgotten_up_to.max(msg_id);
        }
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub connections_total: u64,
    pub handshakes: u64,
    pub requests_executed: u64,
    pub answers_replayed: u64,
    pub payloads_rejected: u64,
    pub executed: BTreeMap<(i64, i64), u32>,
}

/// What every connection of a server shares.
pub(crate) struct Shared {
    pub service: Arc<dyn Service>,
    pub key: RsaPrivateKey,
    pub pem: String,
    pub dcs: Vec<DcAddr>,
    pub faults: Mutex<Faults>,
    pub skew: AtomicI64,
    salt_secret: [u8; 32],
    pub keys: Mutex<BTreeMap<i64, KeyEntry>>,
    sessions: Mutex<BTreeMap<(i64, i64), Arc<SessionHandle>>>,
    pub conns: Mutex<BTreeMap<u64, ConnEntry>>,
    next_conn: AtomicU64,
    pub stats: Mutex<Counters>,
}

/// Locks a mutex, also after a panic elsewhere poisoned it (the state stays usable: every
/// change under these locks is complete before anything that can panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The server's clock (skewed by the fault), as time since the Unix epoch.
    pub fn now(&self) -> Duration {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let skew = self.skew.load(Ordering::Relaxed);
        let shift = Duration::from_secs(skew.unsigned_abs());
        if skew >= 0 {
            real.saturating_add(shift)
        } else {
            real.saturating_sub(shift)
        }
    }

    pub fn now_secs(&self) -> i64 {
        i64::try_from(self.now().as_secs()).unwrap_or(i64::MAX)
    }

    /// The salt of an auth key for one salt period.
    pub fn salt(&self, auth_key_id: i64, period: i64) -> i64 {
        let hash = sha256(&[
            &self.salt_secret,
            &auth_key_id.to_le_bytes(),
            &period.to_le_bytes(),
        ]);
        i64::from_le_bytes(hash[..8].try_into().unwrap_or_default())
    }

    /// The faults for a connection: its own, else the server's.
    pub fn faults_for(&self, connection: u64) -> Faults {
        if let Some(own) = lock(&self.conns)
            .get(&connection)
            .and_then(|c| c.faults.clone())
        {
            return own;
        }
        lock(&self.faults).clone()
    }

    /// Runs `f` on the faults that apply to a connection (to take a one-shot fault).
    pub fn with_faults<R>(&self, connection: u64, f: impl FnOnce(&mut Faults) -> R) -> R {
        let mut conns = lock(&self.conns);
        if let Some(own) = conns.get_mut(&connection).and_then(|c| c.faults.as_mut()) {
            return f(own);
        }
        drop(conns);
        f(&mut lock(&self.faults))
    }

    /// Keeps a new auth key.
    pub fn add_key(&self, id: i64, entry: KeyEntry) {
        let mut keys = lock(&self.keys);
        let now = self.now_secs();
        keys.retain(|_, k| k.expires_at.is_none_or(|t| t > now));
        keys.insert(id, entry);
        while keys.len() > MAX_AUTH_KEYS {
            let oldest = keys
                .iter()
                .min_by_key(|(_, k)| k.created)
                .map(|(&id, _)| id);
            match oldest {
                Some(id) => keys.remove(&id),
                None => break,
            };
        }
        lock(&self.stats).handshakes += 1;
    }

    /// A usable key by id (not expired).
    pub fn key(&self, id: i64) -> Option<KeyEntry> {
        let now = self.now_secs();
        lock(&self.keys)
            .get(&id)
            .filter(|k| k.expires_at.is_none_or(|t| t > now))
            .cloned()
    }

    /// The session (auth key, session id), created on first use.
    pub fn session(&self, key_id: i64, session_id: i64, key: &KeyEntry) -> Arc<SessionHandle> {
        let tick = self.tick();
        let mut sessions = lock(&self.sessions);
        if let Some(handle) = sessions.get(&(key_id, session_id)) {
            handle.last_used.store(tick, Ordering::Relaxed);
            return handle.clone();
        }
        let now = self.now();
        let now_secs = self.now_secs();
        let mut unique_id = [0u8; 8];
        crate::random_fill(&mut unique_id);
        let current = self.salt(key_id, now_secs.div_euclid(SALT_PERIOD));
        // The handshake's salt stays good for a while after the key was made.
        let session = if now_secs - key.created < 1800 {
            let mut s = Session::server(
                key.key.clone(),
                key.first_salt,
                i64::from_le_bytes(unique_id),
            );
            s.change_salt(now, current);
            s
        } else {
            Session::server(key.key.clone(), current, i64::from_le_bytes(unique_id))
        };
        let handle = Arc::new(SessionHandle {
            last_used: AtomicU64::new(tick),
            slot: Mutex::new(SessionSlot {
                session,
                requests: BTreeMap::new(),
                cached_bytes: 0,
                forgotten_up_to: 0,
                first_msg_id: None,
            }),
        });
        let of_key: Vec<(i64, u64)> = sessions
            .range((key_id, i64::MIN)..=(key_id, i64::MAX))
            .map(|(&(_, sid), h)| (sid, h.last_used.load(Ordering::Relaxed)))
            .collect();
        if of_key.len() >= MAX_SESSIONS_PER_KEY {
            if let Some(&(sid, _)) = of_key.iter().min_by_key(|(_, used)| *used) {
                sessions.remove(&(key_id, sid));
            }
        }
        sessions.insert((key_id, session_id), handle.clone());
        handle
    }

    /// Forgets a session; whether there was one.
    pub fn destroy_session(&self, key_id: i64, session_id: i64) -> bool {
        lock(&self.sessions).remove(&(key_id, session_id)).is_some()
    }

    fn tick(&self) -> u64 {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        let start = *START.get_or_init(Instant::now);
        start.elapsed().as_millis().try_into().unwrap_or(u64::MAX)
    }

    pub fn record_execution(&self, session_id: i64, msg_id: i64) {
        let mut stats = lock(&self.stats);
        stats.requests_executed += 1;
        *stats.executed.entry((session_id, msg_id)).or_insert(0) += 1;
        while stats.executed.len() > MAX_EXECUTION_RECORDS {
            stats.executed.pop_first();
        }
    }

    fn stats(&self) -> Stats {
        let counters = lock(&self.stats);
        Stats {
            connections_open: lock(&self.conns).len(),
            connections_total: counters.connections_total,
            handshakes: counters.handshakes,
            auth_keys: lock(&self.keys).len(),
            sessions: lock(&self.sessions).len(),
            requests_executed: counters.requests_executed,
            answers_replayed: counters.answers_replayed,
            payloads_rejected: counters.payloads_rejected,
            executed: counters.executed.clone(),
        }
    }
}

impl Outbox for Shared {
    fn push(&self, auth_key_id: i64, body: Vec<u8>) {
        // One connection per session (the newest), so each session gets the update once.
        let conns = lock(&self.conns);
        let mut newest: BTreeMap<i64, u64> = BTreeMap::new();
        for (&id, c) in conns.iter() {
            if let Some((key, session)) = c.bound {
                if key == auth_key_id {
                    let slot = newest.entry(session).or_insert(id);
                    *slot = (*slot).max(id);
                }
            }
        }
        for id in newest.values() {
            if let Some(c) = conns.get(id) {
                if c.tx.try_send(ConnMsg::Update(body.clone())).is_err() {
                    tracing::debug!(
                        connection = id,
                        "update dropped: the connection's queue is full"
                    );
                }
            }
        }
    }
}
