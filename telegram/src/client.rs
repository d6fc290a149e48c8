//! The Telegram client: `send` of any function with its typed result, the first call of each
//! connection wrapped in `invokeWithLayer(initConnection(...))`, the home DC moved on
//! `*_MIGRATE_X`, files fetched from other DCs with an exported authorization, and every user
//! and chat of every result kept in the peer cache for [`Client::resolve_peer`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};

use tlgen_client::{InvocationError, RpcError};
use tlgen_runtime::{Object, RemoteCall, Serializable};
use tlgen_session::{MarkedId, MemoryStore, PeerKind, PeerRecord, SessionStore};
use tracing::{debug, info};

use crate::keyed::KeyedLocks;
use crate::peers::{self, BadQuery, Peer, PeerQuery};
use crate::visit::Walk;
use crate::{enums, functions, types, LAYER};

/// Who the app is: sent in `initConnection` on every new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The app's api_id (my.telegram.org).
    pub api_id: i32,
    /// The app's api_hash.
    pub api_hash: String,
    /// `initConnection.device_model`.
    pub device_model: String,
    /// `initConnection.system_version`.
    pub system_version: String,
    /// `initConnection.app_version`.
    pub app_version: String,
    /// `initConnection.system_lang_code`.
    pub system_lang_code: String,
    /// `initConnection.lang_pack` (empty for third-party apps).
    pub lang_pack: String,
    /// `initConnection.lang_code`.
    pub lang_code: String,
}

impl App {
    /// An app with the given credentials and neutral device strings.
    pub fn new(api_id: i32, api_hash: impl Into<String>) -> Self {
        Self {
            api_id,
            api_hash: api_hash.into(),
            device_model: "tlgen".to_string(),
            system_version: std::env::consts::OS.to_string(),
            app_version: env!("CARGO_PKG_VERSION").to_string(),
            system_lang_code: "en".to_string(),
            lang_pack: String::new(),
            lang_code: "en".to_string(),
        }
    }

    /// `invokeWithLayer(LAYER, initConnection(..., query))` around a serialized query.
    pub fn wrap(&self, query: Vec<u8>) -> Vec<u8> {
        functions::InvokeWithLayer {
            layer: LAYER,
            query: functions::InitConnection {
                api_id: self.api_id,
                device_model: self.device_model.clone(),
                system_version: self.system_version.clone(),
                app_version: self.app_version.clone(),
                system_lang_code: self.system_lang_code.clone(),
                lang_pack: self.lang_pack.clone(),
                lang_code: self.lang_code.clone(),
                proxy: None,
                params: None,
                query: Object(query),
            },
        }
        .to_bytes()
    }
}

/// Why [`Client::resolve_peer`] gave no peer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ResolveError {
    /// The input is not a peer reference.
    BadQuery(BadQuery),
    /// An integer that is not a valid Bot-API marked id.
    BadId(tlgen_session::MarkedIdError),
    /// Neither the cache nor the server knows this peer (`PEER_ID_INVALID`,
    /// `USERNAME_NOT_OCCUPIED`, `USERNAME_INVALID`, `PHONE_NOT_OCCUPIED`, `CHANNEL_INVALID`,
    /// or an empty answer).
    NotFound {
        /// What was asked for.
        query: PeerQuery,
        /// The server's error, when it gave one.
        error: Option<RpcError>,
    },
    /// Any other failure of the request that asked the server.
    Invocation(InvocationError),
    /// The session store failed.
    Store(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadQuery(e) => e.fmt(f),
            Self::BadId(e) => write!(f, "not a peer id: {e}"),
            Self::NotFound { query, error } => {
                let what = match query {
                    PeerQuery::Me => "the signed-in user".to_string(),
                    PeerQuery::Id(id) => format!("peer id {id}"),
                    PeerQuery::Username(u) => format!("username @{u}"),
                    PeerQuery::Phone(p) => format!("phone +{p}"),
                };
                write!(f, "peer not found: {what}")?;
                if let Some(e) = error {
                    write!(f, " ({e})")?;
                }
                Ok(())
            }
            Self::Invocation(e) => write!(f, "resolving a peer failed: {e}"),
            Self::Store(e) => write!(f, "the session store failed: {e}"),
        }
    }
}

impl std::error::Error for ResolveError {}

impl From<BadQuery> for ResolveError {
    fn from(e: BadQuery) -> Self {
        Self::BadQuery(e)
    }
}

/// Anything [`Client::resolve_peer`] accepts: an integer (a marked id) or a string
/// (`"me"`, a username or link, a phone number).
pub trait IntoPeerQuery {
    /// The query, or why the input is not one.
    fn into_query(self) -> Result<PeerQuery, BadQuery>;
}

impl IntoPeerQuery for i64 {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        Ok(PeerQuery::Id(self))
    }
}

impl IntoPeerQuery for i32 {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        Ok(PeerQuery::Id(self.into()))
    }
}

impl IntoPeerQuery for &str {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        self.parse()
    }
}

impl IntoPeerQuery for &String {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        self.parse()
    }
}

impl IntoPeerQuery for String {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        self.parse()
    }
}

impl IntoPeerQuery for PeerQuery {
    fn into_query(self) -> Result<PeerQuery, BadQuery> {
        Ok(self)
    }
}

/// A Telegram client. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    store: Arc<dyn SessionStore>,
    /// The connection to the home DC (replaced when the account moves).
    home: RwLock<tlgen_client::Client>,
    /// DCs whose connection carries an imported authorization.
    authorized: Mutex<BTreeMap<i32, tlgen_client::Client>>,
    /// One authorization of a DC at a time (others wait for it rather than export twice).
    authorizing: KeyedLocks<i32>,
    /// The peer cache in memory, in front of the store (the same merge rules: a `min` record
    /// never replaces a full access hash).
    peers: MemoryStore,
    /// One lock per query being resolved, so that concurrent resolves of one name ask once.
    resolving: KeyedLocks<String>,
    self_id: RwLock<Option<i64>>,
    /// Counts the moves of the home DC, so that an [`UpdateStream`] follows the account.
    home_moves: tokio::sync::watch::Sender<u64>,
}

fn store_err(e: impl fmt::Display) -> InvocationError {
    InvocationError::Store(e.to_string())
}

impl Client {
    /// Connects with `config` (address, keys, store, transport of `tlgen-client`), wrapping
    /// the first call of each connection in `invokeWithLayer(initConnection(...))` for
    /// `app`. When the store names a home DC other than `config.dc_id` and knows its address,
    /// that DC is used.
    ///
    /// # Errors
    ///
    /// The errors of [`tlgen_client::Client::connect`].
    pub async fn connect(
        mut config: tlgen_client::Config,
        app: App,
    ) -> Result<Self, InvocationError> {
        let store = config.store.clone();
        if let Some(home) = store.home_dc().map_err(store_err)? {
            if home != config.dc_id {
                let addr = config
                    .dcs
                    .iter()
                    .find(|(id, _)| *id == home)
                    .map(|(_, a)| a.clone())
                    .or(store.dc(home).map_err(store_err)?.map(|d| d.addr));
                if let Some(addr) = addr {
                    let old = (config.dc_id, std::mem::replace(&mut config.addr, addr));
                    config.dc_id = home;
                    if !config.dcs.iter().any(|(id, _)| *id == old.0) {
                        config.dcs.push(old);
                    }
                }
            }
        }
        let wrapper_app = app.clone();
        config.wrap_first = Some(Arc::new(move |query| wrapper_app.wrap(query)));
        let dc = config.dc_id;
        let home = tlgen_client::Client::connect(config).await?;
        store.set_home_dc(dc).map_err(store_err)?;
        let self_id = store.self_user().map_err(store_err)?;
        Ok(Self {
            inner: Arc::new(Inner {
                app,
                store,
                home: RwLock::new(home),
                authorized: Mutex::new(BTreeMap::new()),
                authorizing: KeyedLocks::default(),
                peers: MemoryStore::new(),
                resolving: KeyedLocks::default(),
                self_id: RwLock::new(self_id),
                home_moves: tokio::sync::watch::Sender::new(0),
            }),
        })
    }

    /// The app this client presents itself as.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    /// The connection to the home DC (for its counters, its updates, or raw calls).
    pub fn connection(&self) -> tlgen_client::Client {
        self.inner
            .home
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The signed-in user's id, once known.
    pub fn self_id(&self) -> Option<i64> {
        *self.inner.self_id.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` and returns its typed result. The users and chats in the result go to
    /// the peer cache. `PHONE_/NETWORK_/USER_MIGRATE_X` moves the home DC and sends the call
    /// again there; `FILE_MIGRATE_X` sends it to DC X over a connection authorized with
    /// `auth.exportAuthorization` / `auth.importAuthorization`.
    ///
    /// # Errors
    ///
    /// [`InvocationError`]: the server's `rpc_error` (flood waits above the threshold
    /// included), timeouts, and the connection errors of `tlgen-client`.
    pub async fn send<R>(&self, request: &R) -> Result<R::Return, InvocationError>
    where
        R: RemoteCall,
        R::Return: Walk,
    {
        // At most one move of the home DC and one other-DC hop per call.
        let mut moved = false;
        loop {
            let home = self.connection();
            match home.send(request).await {
                Ok(value) => {
                    self.remember(&value)?;
                    return Ok(value);
                }
                Err(InvocationError::Migrate { dc, error }) if !moved => {
                    moved = true;
                    if error.name.starts_with("FILE_") {
                        let other = self.authorized_dc(dc).await?;
                        let value = other.send(request).await?;
                        self.remember(&value)?;
                        return Ok(value);
                    }
                    info!(from = home.dc_id(), to = dc, error = %error, "moving the home DC");
                    let next = home.dc(dc).await?;
                    self.inner.store.set_home_dc(dc).map_err(store_err)?;
                    *self.inner.home.write().unwrap_or_else(|e| e.into_inner()) = next;
                    self.inner.home_moves.send_modify(|n| *n += 1);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A connection to `dc` that is signed in as the home DC's user.
    async fn authorized_dc(&self, dc: i32) -> Result<tlgen_client::Client, InvocationError> {
        let done = || {
            let map = self
                .inner
                .authorized
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            map.get(&dc).cloned()
        };
        if let Some(c) = done() {
            return Ok(c);
        }
        let _turn = self.inner.authorizing.lock(dc).await;
        if let Some(c) = done() {
            return Ok(c);
        }
        let home = self.connection();
        let other = home.dc(dc).await?;
        let enums::auth::ExportedAuthorization::ExportedAuthorization(exported) = home
            .send(&functions::auth::ExportAuthorization { dc_id: dc })
            .await?;
        debug!(dc, "importing the authorization");
        other
            .send(&functions::auth::ImportAuthorization {
                id: exported.id,
                bytes: exported.bytes.clone(),
            })
            .await?;
        self.inner
            .authorized
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dc, other.clone());
        Ok(other)
    }

    /// Puts the users and chats of `value` into the cache and the store.
    fn remember(&self, value: &(impl Walk + ?Sized)) -> Result<(), InvocationError> {
        let found = peers::collect(value);
        if found.is_empty() {
            return Ok(());
        }
        self.inner.peers.put_peers(&found).map_err(store_err)?;
        self.inner.store.put_peers(&found).map_err(store_err)
    }

    /// The stream of updates from the home connection, typed: each `Updates` body the server
    /// pushes is decoded and its users and chats go into the peer cache as it is read. Taken
    /// once (later calls get `None`). When a `*_MIGRATE_X` error moves the home DC, the stream
    /// moves with it to the new home connection (whose first event is usually
    /// [`UpdateEvent::NewSession`]: updates of the meantime are for `updates.getDifference`).
    pub fn updates(&self) -> Option<UpdateStream> {
        let moves = self.inner.home_moves.subscribe();
        let raw = self.connection().updates()?;
        Some(UpdateStream {
            client: self.clone(),
            raw,
            moves,
        })
    }

    /// Asks the server for the update state (`updates.getState`) and keeps it in the session
    /// store (pts, qts, date, seq; the channels' pts are kept as they were), so that a
    /// restarted client knows where its updates stopped.
    ///
    /// # Errors
    ///
    /// The server's error (`AUTH_KEY_UNREGISTERED` before sign-in), a connection error, or
    /// the store's.
    pub async fn sync_update_state(&self) -> Result<tlgen_session::UpdateState, InvocationError> {
        let enums::updates::State::State(s) = self.send(&functions::updates::GetState {}).await?;
        let store = &self.inner.store;
        let mut state = store.update_state().map_err(store_err)?;
        state.pts = s.pts;
        state.qts = s.qts;
        state.date = s.date;
        state.seq = s.seq;
        store.set_update_state(&state).map_err(store_err)?;
        Ok(state)
    }

    /// Signs in as a bot with its token (`auth.importBotAuthorization`).
    ///
    /// # Errors
    ///
    /// The server's error (`ACCESS_TOKEN_INVALID`, ...) or a connection error.
    pub async fn sign_in_bot(&self, token: &str) -> Result<types::User, InvocationError> {
        let auth = self
            .send(&functions::auth::ImportBotAuthorization {
                flags: 0,
                api_id: self.inner.app.api_id,
                api_hash: self.inner.app.api_hash.clone(),
                bot_auth_token: token.to_string(),
            })
            .await?;
        self.signed_in(auth)
    }

    /// Asks for a login code for `phone` (`auth.sendCode`); returns the `phone_code_hash`
    /// that [`Client::sign_in`] needs.
    ///
    /// # Errors
    ///
    /// The server's error (`PHONE_NUMBER_INVALID`, ...) or a connection error.
    pub async fn request_login_code(&self, phone: &str) -> Result<String, InvocationError> {
        let sent = self
            .send(&functions::auth::SendCode {
                phone_number: phone.to_string(),
                api_id: self.inner.app.api_id,
                api_hash: self.inner.app.api_hash.clone(),
                settings: enums::CodeSettings::CodeSettings(Box::default()),
            })
            .await?;
        match sent {
            enums::auth::SentCode::SentCode(s) => Ok(s.phone_code_hash),
            _ => Err(InvocationError::Rpc(RpcError::new(
                400,
                "SENT_CODE_UNEXPECTED",
            ))),
        }
    }

    /// Signs in with the code sent to `phone` (`auth.signIn`).
    ///
    /// # Errors
    ///
    /// The server's error (`PHONE_CODE_INVALID`, `PHONE_NUMBER_UNOCCUPIED` when the number
    /// needs `auth.signUp`, ...) or a connection error.
    pub async fn sign_in(
        &self,
        phone: &str,
        phone_code_hash: &str,
        code: &str,
    ) -> Result<types::User, InvocationError> {
        let auth = self
            .send(&functions::auth::SignIn {
                phone_number: phone.to_string(),
                phone_code_hash: phone_code_hash.to_string(),
                phone_code: Some(code.to_string()),
                email_verification: None,
            })
            .await?;
        self.signed_in(auth)
    }

    fn signed_in(&self, auth: enums::auth::Authorization) -> Result<types::User, InvocationError> {
        let enums::auth::Authorization::Authorization(a) = auth else {
            return Err(InvocationError::Rpc(RpcError::new(
                400,
                "PHONE_NUMBER_UNOCCUPIED",
            )));
        };
        let enums::User::User(user) = a.user else {
            return Err(InvocationError::Rpc(RpcError::new(400, "USER_EMPTY")));
        };
        self.inner
            .store
            .set_self_user(Some(user.id))
            .map_err(store_err)?;
        *self
            .inner
            .self_id
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(user.id);
        info!(user = user.id, "signed in");
        Ok(*user)
    }

    /// Whether a user is signed in on this session (from the store: a restarted client is
    /// still signed in).
    pub fn is_signed_in(&self) -> bool {
        self.self_id().is_some()
    }

    /// Finds a peer: a Bot-API marked id (`i64`), `"me"`/`"self"`, a username (`"name"`,
    /// `"@name"`, `t.me/name`, `https://t.me/name`) or a phone number (`"+393281234567"`,
    /// `"393281234567"`). An integer is always an id and a string of digits always a phone.
    ///
    /// The cache answers first; on a miss the server is asked (`contacts.resolveUsername`,
    /// `contacts.resolvePhone`, `users.getUsers` / `channels.getChannels` with access hash 0,
    /// `messages.getChats`), and concurrent resolves of one query make one request.
    ///
    /// # Errors
    ///
    /// [`ResolveError::NotFound`] naming the input when neither knows it; a bad input;
    /// connection errors.
    pub async fn resolve_peer(&self, query: impl IntoPeerQuery) -> Result<Peer, ResolveError> {
        let query = query.into_query()?;
        if let Some(peer) = self.cached(&query)? {
            return Ok(peer);
        }
        // One request per query at a time: the second caller finds the first one's answer.
        let _turn = self.inner.resolving.lock(format!("{query:?}")).await;
        match self.cached(&query)? {
            Some(peer) => Ok(peer),
            None => self.ask(&query).await,
        }
    }

    /// The peer a record addresses. A `min` record is addressed through the chat it was seen
    /// in; that chat itself is taken as a plain peer (one level: a chain of references sent by
    /// the server cannot recurse).
    fn to_peer(&self, record: &PeerRecord) -> Peer {
        let mut peer = self.plain_peer(record);
        if record.min {
            if let Some((chat, msg_id)) = record.seen_in {
                let chat = MarkedId::from_marked(chat)
                    .ok()
                    .and_then(|id| Some((id.peer_kind()?, id.raw())))
                    .and_then(|(kind, raw)| self.lookup(|s| s.peer(kind, raw)).ok().flatten());
                if let Some(chat) = chat {
                    peer.from_message = Some((Box::new(self.plain_peer(&chat)), msg_id));
                }
            }
        }
        peer
    }

    fn plain_peer(&self, record: &PeerRecord) -> Peer {
        Peer {
            kind: record.kind,
            id: record.id,
            access_hash: record.access_hash,
            is_self: record.kind == PeerKind::User && Some(record.id) == self.self_id(),
            from_message: None,
        }
    }

    /// A record from the memory cache, else from the session store.
    fn lookup(
        &self,
        find: impl Fn(&dyn SessionStore) -> Result<Option<PeerRecord>, tlgen_session::StoreError>,
    ) -> Result<Option<PeerRecord>, ResolveError> {
        let store = |e: tlgen_session::StoreError| ResolveError::Store(e.to_string());
        match find(&self.inner.peers).map_err(store)? {
            Some(r) => Ok(Some(r)),
            None => find(self.inner.store.as_ref()).map_err(store),
        }
    }

    fn cached(&self, query: &PeerQuery) -> Result<Option<Peer>, ResolveError> {
        let record = match query {
            PeerQuery::Me => {
                return Ok(self.self_id().map(|id| Peer {
                    is_self: true,
                    ..Peer::user(id, 0)
                }))
            }
            PeerQuery::Id(marked) => {
                let id = MarkedId::from_marked(*marked).map_err(ResolveError::BadId)?;
                match id.peer_kind() {
                    // A basic chat needs no access hash.
                    Some(PeerKind::Chat) => return Ok(Some(Peer::chat(id.raw()))),
                    Some(kind) => self.lookup(|s| s.peer(kind, id.raw()))?,
                    None => None,
                }
            }
            PeerQuery::Username(name) => self.lookup(|s| s.peer_by_username(name))?,
            PeerQuery::Phone(phone) => self.lookup(|s| s.peer_by_phone(phone))?,
        };
        Ok(record.map(|r| self.to_peer(&r)))
    }

    async fn ask(&self, query: &PeerQuery) -> Result<Peer, ResolveError> {
        let not_found = |error: Option<RpcError>| ResolveError::NotFound {
            query: query.clone(),
            error,
        };
        // Errors that mean "no such peer" rather than a failure.
        const MISSING: &[&str] = &[
            "PEER_ID_INVALID",
            "USERNAME_NOT_OCCUPIED",
            "USERNAME_INVALID",
            "PHONE_NOT_OCCUPIED",
            "PHONE_NUMBER_INVALID",
            "CHANNEL_INVALID",
            "CHANNEL_PRIVATE",
            "CHAT_ID_INVALID",
            "USER_ID_INVALID",
        ];
        let fail = |e: InvocationError| match e.rpc() {
            Some(rpc) if MISSING.iter().any(|m| rpc.is(m)) => not_found(Some(rpc.clone())),
            _ => ResolveError::Invocation(e),
        };
        let found: Option<(PeerKind, i64)> = match query {
            PeerQuery::Me => {
                let users = self
                    .send(&functions::users::GetUsers {
                        id: vec![enums::InputUser::InputUserSelf],
                    })
                    .await
                    .map_err(fail)?;
                let id = users.iter().find_map(|u| match u {
                    enums::User::User(u) => Some(u.id),
                    enums::User::Empty(_) => None,
                });
                if let Some(id) = id {
                    *self
                        .inner
                        .self_id
                        .write()
                        .unwrap_or_else(|e| e.into_inner()) = Some(id);
                    self.inner
                        .store
                        .set_self_user(Some(id))
                        .map_err(|e| ResolveError::Store(e.to_string()))?;
                }
                id.map(|id| (PeerKind::User, id))
            }
            PeerQuery::Username(name) => {
                let r = self
                    .send(&functions::contacts::ResolveUsername {
                        username: name.clone(),
                        referer: None,
                    })
                    .await
                    .map_err(fail)?;
                let enums::contacts::ResolvedPeer::ResolvedPeer(r) = r;
                Some(peer_key(&r.peer))
            }
            PeerQuery::Phone(phone) => {
                let r = self
                    .send(&functions::contacts::ResolvePhone {
                        phone: phone.clone(),
                    })
                    .await
                    .map_err(fail)?;
                let enums::contacts::ResolvedPeer::ResolvedPeer(r) = r;
                Some(peer_key(&r.peer))
            }
            PeerQuery::Id(marked) => {
                let id = MarkedId::from_marked(*marked).map_err(ResolveError::BadId)?;
                match id.peer_kind() {
                    Some(PeerKind::User) => {
                        self.send(&functions::users::GetUsers {
                            id: vec![enums::InputUser::InputUser(types::InputUser {
                                user_id: id.raw(),
                                access_hash: 0,
                            })],
                        })
                        .await
                        .map_err(fail)?;
                    }
                    Some(PeerKind::Channel) => {
                        self.send(&functions::channels::GetChannels {
                            id: vec![enums::InputChannel::InputChannel(types::InputChannel {
                                channel_id: id.raw(),
                                access_hash: 0,
                            })],
                        })
                        .await
                        .map_err(fail)?;
                    }
                    Some(PeerKind::Chat) => {
                        self.send(&functions::messages::GetChats { id: vec![id.raw()] })
                            .await
                            .map_err(fail)?;
                    }
                    None => return Err(not_found(None)),
                }
                id.peer_kind().map(|k| (k, id.raw()))
            }
        };
        let Some((kind, id)) = found else {
            return Err(not_found(None));
        };
        match self.lookup(|s| s.peer(kind, id))? {
            Some(r) => Ok(self.to_peer(&r)),
            None => Err(not_found(None)),
        }
    }
}

/// What [`UpdateStream::recv`] gives.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UpdateEvent {
    /// An `Updates` value the server pushed (its peers already in the cache).
    Updates(enums::Updates),
    /// Updates were lost because the stream was full: call `updates.getDifference` to catch
    /// up.
    Gap,
    /// The server started a new session (also when a client connects for the first time):
    /// updates sent before may have been missed; `updates.getDifference` tells.
    NewSession,
    /// A pushed body that is not an `Updates` value of this layer, with the reason.
    Undecodable {
        /// The body.
        body: Vec<u8>,
        /// Why it did not decode.
        error: tlgen_runtime::DecodeError,
    },
}

/// Typed updates of a [`Client`], from [`Client::updates`].
pub struct UpdateStream {
    client: Client,
    raw: tlgen_client::Updates,
    /// Moves of the home DC; on each the stream takes the new home connection's updates.
    moves: tokio::sync::watch::Receiver<u64>,
}

impl UpdateStream {
    /// The next update; `None` once the home connection's task ended.
    pub async fn recv(&mut self) -> Option<UpdateEvent> {
        use tlgen_runtime::Deserializable;
        let next = loop {
            tokio::select! {
                biased;
                Ok(()) = self.moves.changed() => self.follow_home(),
                next = self.raw.recv() => match next {
                    Some(next) => break next,
                    // The old home's task may end as the account moves: follow it if it did.
                    None if self.moves.has_changed().unwrap_or(false) => {
                        self.moves.mark_changed();
                    }
                    None => return None,
                },
            }
        };
        Some(match next {
            tlgen_client::Update::Body(body) => match enums::Updates::from_bytes(&body) {
                Ok(updates) => {
                    if let Err(e) = self.client.remember(&updates) {
                        tracing::warn!(error = %e, "peers of an update were not stored");
                    }
                    UpdateEvent::Updates(updates)
                }
                Err(error) => UpdateEvent::Undecodable { body, error },
            },
            tlgen_client::Update::NewSession => UpdateEvent::NewSession,
            _ => UpdateEvent::Gap,
        })
    }

    /// Takes the updates of the current home connection (unless someone took them through
    /// [`Client::connection`]; then the stream stays where it was).
    fn follow_home(&mut self) {
        self.moves.mark_unchanged();
        let home = self.client.connection();
        if let Some(raw) = home.updates() {
            debug!(dc = home.dc_id(), "the update stream follows the home DC");
            self.raw = raw;
        }
    }
}

fn peer_key(peer: &enums::Peer) -> (PeerKind, i64) {
    match peer {
        enums::Peer::User(p) => (PeerKind::User, p.user_id),
        enums::Peer::Chat(p) => (PeerKind::Chat, p.chat_id),
        enums::Peer::Channel(p) => (PeerKind::Channel, p.channel_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: i64, hash: i64, min: bool) -> PeerRecord {
        PeerRecord {
            id,
            kind: PeerKind::User,
            access_hash: Some(hash),
            min,
            usernames: vec![format!("u{hash}")],
            phone: None,
            seen_in: min.then_some((-1_000_000_000_009, 77)),
        }
    }

    #[test]
    fn a_min_object_never_replaces_a_full_access_hash() {
        // The client's memory cache is a `MemoryStore`, with the store's merge rules.
        let peers = MemoryStore::new();
        peers.put_peers(&[record(2, 10, false)]).unwrap();
        peers.put_peers(&[record(2, 99, true)]).unwrap();
        let r = peers.peer(PeerKind::User, 2).unwrap().unwrap();
        assert_eq!((r.access_hash, r.min), (Some(10), false));
        // Its usernames are news all the same.
        assert_eq!(
            peers
                .peer_by_username("u99")
                .unwrap()
                .map(|r| (r.kind, r.id)),
            Some((PeerKind::User, 2))
        );
        // A full object replaces a min one.
        let peers = MemoryStore::new();
        peers.put_peers(&[record(3, 99, true)]).unwrap();
        assert!(peers.peer(PeerKind::User, 3).unwrap().unwrap().min);
        peers.put_peers(&[record(3, 10, false)]).unwrap();
        let r = peers.peer(PeerKind::User, 3).unwrap().unwrap();
        assert_eq!((r.access_hash, r.min), (Some(10), false));
    }

    #[test]
    fn the_first_call_is_wrapped_in_init_connection() {
        let app = App::new(7, "hash");
        let wrapped = app.wrap(vec![1, 2, 3, 4]);
        let invoke =
            <functions::InvokeWithLayer<Object> as tlgen_runtime::Identifiable>::CONSTRUCTOR_ID;
        let init =
            <functions::InitConnection<Object> as tlgen_runtime::Identifiable>::CONSTRUCTOR_ID;
        assert_eq!(wrapped[..4], invoke.to_le_bytes());
        assert_eq!(wrapped[4..8], LAYER.to_le_bytes());
        assert_eq!(wrapped[8..12], init.to_le_bytes());
        assert!(wrapped.ends_with(&[1, 2, 3, 4]));
    }
}
