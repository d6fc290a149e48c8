//! The handle: sending calls, retry rules, other DCs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use tlgen_runtime::{Deserializable, RemoteCall};

use crate::config::Config;
use crate::error::InvocationError;
use crate::task::{Command, Counters, Task};
use crate::updates::{self, Updates};

/// A connection to one DC: a cheap handle (clone it freely, use it from any task) to a
/// background tokio task that owns the TCP connection and the MTProto session.
///
/// Dropping every clone ends the task and closes the connection.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    cmd: mpsc::UnboundedSender<Command>,
    next_call: AtomicU64,
    config: Config,
    updates: Mutex<Option<Updates>>,
    others: tokio::sync::Mutex<BTreeMap<i32, Client>>,
    counters: Arc<Counters>,
}

/// Counters of a client, for logs and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections opened (the first one included).
    pub connections: u64,
    /// Auth keys exchanged (0 when the stored key served).
    pub key_exchanges: u64,
    /// Calls sent again under their msg_ids after a reconnection: not acknowledged before it,
    /// or reported not received by the server when asked.
    pub resent: u64,
    /// Calls the server had acknowledged and not answered when the connection dropped, asked
    /// about with `msgs_state_req` after the reconnection instead of being sent again.
    pub asked: u64,
    /// Calls that ended with [`InvocationError::MayHaveRun`].
    pub may_have_run: u64,
    /// Updates dropped because the updates channel was full.
    pub dropped_updates: u64,
    /// Calls sent or waiting for a connection, and not answered yet.
    pub in_flight: u64,
}

/// Options of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    /// How long to wait for the answer (and for a connection); the client's
    /// [`Config::request_timeout`] when `None`.
    pub timeout: Option<Duration>,
}

impl Client {
    /// Connects to `config.dc_id` at `config.addr`: TCP, then the auth key stored for that DC,
    /// or a new one from the key exchange (stored at once). Returns when the connection is
    /// ready; calls may be sent right away.
    ///
    /// # Errors
    ///
    /// [`InvocationError::Io`], [`InvocationError::Transport`], [`InvocationError::Handshake`],
    /// [`InvocationError::Store`], or [`InvocationError::Timeout`] after
    /// [`Config::connect_timeout`].
    pub async fn connect(config: Config) -> Result<Self, InvocationError> {
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let (update_tx, update_rx) = updates::channel(
            config.updates_capacity,
            config.updates_max_bytes,
            counters.dropped_updates.clone(),
        );
        let (task, link) = Task::start(&config, cmd_rx, update_tx, counters.clone()).await?;
        tokio::spawn(task.run(link));
        Ok(Self {
            inner: Arc::new(Inner {
                cmd,
                next_call: AtomicU64::new(1),
                config,
                updates: Mutex::new(Some(update_rx)),
                others: tokio::sync::Mutex::new(BTreeMap::new()),
                counters,
            }),
        })
    }

    /// The DC this client talks to.
    pub fn dc_id(&self) -> i32 {
        self.inner.config.dc_id
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The stream of updates (bodies the server sent unasked). The first call takes it; later
    /// calls return `None`.
    pub fn updates(&self) -> Option<Updates> {
        self.inner
            .updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The client's counters now.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.counters;
        Stats {
            connections: c.connections.load(Ordering::Relaxed),
            key_exchanges: c.key_exchanges.load(Ordering::Relaxed),
            resent: c.resent.load(Ordering::Relaxed),
            asked: c.asked.load(Ordering::Relaxed),
            may_have_run: c.may_have_run.load(Ordering::Relaxed),
            dropped_updates: c.dropped_updates.load(Ordering::Relaxed),
            in_flight: c.in_flight.load(Ordering::Relaxed),
        }
    }

    /// Sends `request` and decodes its answer.
    ///
    /// # Errors
    ///
    /// See [`Client::send_raw`]; and [`InvocationError::Decode`] when the answer is not a
    /// `R::Return`.
    pub async fn send<R: RemoteCall>(&self, request: &R) -> Result<R::Return, InvocationError> {
        self.send_with(request, CallOptions::default()).await
    }

    /// [`Client::send`] with options (a timeout of its own).
    ///
    /// # Errors
    ///
    /// See [`Client::send`].
    pub async fn send_with<R: RemoteCall>(
        &self,
        request: &R,
        options: CallOptions,
    ) -> Result<R::Return, InvocationError> {
        let answer = self.send_raw_with(request.to_bytes(), options).await?;
        R::Return::from_bytes(&answer).map_err(InvocationError::Decode)
    }

    /// Sends a serialized request and returns the serialized answer.
    ///
    /// Waits (at most the call's timeout) for a connection if there is none. `FLOOD_WAIT_X`
    /// and other 420 `*_WAIT_X` up to [`Config::flood_sleep_threshold`] are slept through and
    /// the call is sent again; 5xx and negative errors (except `RANDOM_ID_DUPLICATE`) are
    /// retried [`Config::server_error_retries`] times with a growing delay. Dropping the
    /// future cancels the call (it is not sent again after a reconnection).
    ///
    /// # Errors
    ///
    /// [`InvocationError::Rpc`] and [`InvocationError::Migrate`] from the server;
    /// [`InvocationError::Timeout`]; [`InvocationError::MayHaveRun`] when the connection was
    /// lost and the call could not be settled; [`InvocationError::Dropped`] when the client
    /// task ended; a network error when no connection could be made and the call was never
    /// sent.
    pub async fn send_raw(&self, body: Vec<u8>) -> Result<Vec<u8>, InvocationError> {
        self.send_raw_with(body, CallOptions::default()).await
    }

    /// [`Client::send_raw`] with options.
    ///
    /// # Errors
    ///
    /// See [`Client::send_raw`].
    pub async fn send_raw_with(
        &self,
        body: Vec<u8>,
        options: CallOptions,
    ) -> Result<Vec<u8>, InvocationError> {
        let config = &self.inner.config;
        let timeout = options.timeout.unwrap_or(config.request_timeout);
        let mut server_errors = 0;
        loop {
            let error = match self.call_once(body.clone(), timeout).await {
                Err(InvocationError::Rpc(e)) => e,
                other => return other,
            };
            if let Some(seconds) = error.wait_seconds() {
                let wait = Duration::from_secs(u64::from(seconds));
                if wait <= config.flood_sleep_threshold {
                    info!(dc = self.dc_id(), error = %error.name, seconds, "flood wait: sleeping, then sending again");
                    tokio::time::sleep(wait).await;
                    continue;
                }
                info!(dc = self.dc_id(), error = %error.name, seconds, "flood wait above the threshold: returned");
            } else if error.is_retryable_server_error()
                && server_errors < config.server_error_retries
            {
                server_errors += 1;
                let wait = Duration::from_millis(200) * (1 << server_errors.min(6));
                warn!(dc = self.dc_id(), %error, attempt = server_errors, "server error: retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            return Err(InvocationError::Rpc(error));
        }
    }

    /// One round: hands the call to the task and waits for its answer.
    async fn call_once(
        &self,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, InvocationError> {
        let id = self.inner.next_call.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.inner
            .cmd
            .send(Command::Call { id, body, reply })
            .map_err(|_| InvocationError::Dropped)?;
        let mut guard = CancelOnDrop {
            cmd: &self.inner.cmd,
            id,
            armed: true,
        };
        let result = tokio::time::timeout(timeout, answer).await;
        match result {
            Ok(Ok(answer)) => {
                guard.armed = false;
                answer
            }
            Ok(Err(_)) => {
                guard.armed = false;
                Err(InvocationError::Dropped)
            }
            // The guard tells the task to forget the call.
            Err(_) => Err(InvocationError::Timeout),
        }
    }

    /// A client for DC `dc` with the same configuration (keys, store, transport, hooks): the
    /// one already open, or a new connection to the address in [`Config::dcs`] or, failing
    /// that, in the store. Its auth key is its own (stored per DC); authorizing it (Telegram:
    /// `auth.exportAuthorization` / `importAuthorization`) is up to the layer above.
    ///
    /// # Errors
    ///
    /// [`InvocationError::UnknownDc`] when no address is known; the errors of
    /// [`Client::connect`].
    pub async fn dc(&self, dc: i32) -> Result<Client, InvocationError> {
        if dc == self.dc_id() {
            return Ok(self.clone());
        }
        let mut others = self.inner.others.lock().await;
        if let Some(client) = others.get(&dc) {
            return Ok(client.clone());
        }
        let config = &self.inner.config;
        let addr = match config.dcs.iter().find(|(id, _)| *id == dc) {
            Some((_, addr)) => addr.clone(),
            None => match config.store.dc(dc)? {
                Some(entry) => entry.addr,
                None => return Err(InvocationError::UnknownDc { dc }),
            },
        };
        let mut other = config.clone();
        other.dc_id = dc;
        other.addr = addr;
        info!(dc, addr = %other.addr, "opening a connection to another DC");
        let client = Client::connect(other).await?;
        others.insert(dc, client.clone());
        Ok(client)
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("dc_id", &self.dc_id())
            .field("addr", &self.inner.config.addr)
            .finish_non_exhaustive()
    }
}

/// Tells the task to forget a call whose caller stopped waiting.
struct CancelOnDrop<'a> {
    cmd: &'a mpsc::UnboundedSender<Command>,
    id: u64,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.cmd.send(Command::Cancel(self.id));
        }
    }
}
