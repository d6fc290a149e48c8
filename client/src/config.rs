//! How a client connects and behaves.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tlgen_runtime::crypto::RsaPublicKey;
use tlgen_runtime::mtproto::session;
use tlgen_runtime::transport::Kind;
use tlgen_session::SessionStore;

/// The framing on the TCP connection, and whether it is obfuscated.
///
/// The default is **padded intermediate with obfuscation**. Telegram's transport page
/// describes padded intermediate as the framing "to use with obfuscation enabled to bypass
/// ISP blocks": obfuscation (obfuscated2) hides the framing's marker and every length field
/// behind AES-CTR, so the stream has no fixed bytes a filter can match, and the random 0..15
/// bytes of padding hide the exact packet lengths too. It is the combination Telegram's own
/// apps use through MTProxy, and costs little: one AES-CTR pass over the bytes and a few
/// padding bytes per packet. Plain abridged is the lightest framing when the network is
/// trusted; full adds a CRC32 that TCP already makes redundant (and cannot be obfuscated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Transport {
    /// The framing.
    pub kind: Kind,
    /// Whether to obfuscate the stream (not possible with [`Kind::Full`]).
    pub obfuscated: bool,
}

impl Default for Transport {
    fn default() -> Self {
        Self {
            kind: Kind::PaddedIntermediate,
            obfuscated: true,
        }
    }
}

/// Turns the body of the first call of a connection into what is sent instead (Telegram:
/// `invokeWithLayer(layer, initConnection(..., query))`).
pub type Wrapper = Arc<dyn Fn(Vec<u8>) -> Vec<u8> + Send + Sync>;

/// How reconnections are spaced: `initial`, doubled after each failure up to `max`; after
/// `attempts` failures in a row the calls in flight fail (see
/// [`InvocationError::MayHaveRun`](crate::InvocationError::MayHaveRun)) and the client waits
/// for the next call to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay. Default 100 ms.
    pub initial: Duration,
    /// The longest delay. Default 10 s.
    pub max: Duration,
    /// Failed attempts in a row before the calls in flight are given up. Default 8.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            attempts: 8,
        }
    }
}

/// Everything [`Client::connect`](crate::Client::connect) needs. [`Config::new`] fills in the
/// defaults; every field is public.
#[derive(Clone)]
pub struct Config {
    /// The DC to connect to (its id also goes into the auth-key exchange and the obfuscation
    /// header).
    pub dc_id: i32,
    /// Its address, `ip:port` or `host:port`.
    pub addr: String,
    /// Other DCs' addresses, for [`Client::dc`](crate::Client::dc) (the store's DC table is
    /// read when a DC is not here).
    pub dcs: Vec<(i32, String)>,
    /// Framing and obfuscation. Default: padded intermediate, obfuscated.
    pub transport: Transport,
    /// The server's RSA public keys (for the auth-key exchange).
    pub rsa_keys: Vec<RsaPublicKey>,
    /// Where auth keys are kept between runs ([`tlgen_session::DcEntry::auth_key`]).
    pub store: Arc<dyn SessionStore>,
    /// Applied to the first call of each new connection (until one such call is answered).
    pub wrap_first: Option<Wrapper>,
    /// How long a call waits for its answer (including the wait for a connection), unless
    /// the call says otherwise. Default 60 s.
    pub request_timeout: Duration,
    /// How long opening a connection (TCP and, if needed, the key exchange) may take. Default 10 s.
    pub connect_timeout: Duration,
    /// How many times [`Client::connect`](crate::Client::connect) tries to open the first
    /// connection when it fails with an IO, transport or timeout error, waiting the
    /// [`Config::reconnect`] delays between tries (each try bounded by `connect_timeout`).
    /// Default 3; 1 fails at the first error.
    pub connect_attempts: u32,
    /// `FLOOD_WAIT_X` (and other 420 `*_WAIT_X`) up to this long are slept through and the
    /// call is sent again; longer ones are returned. Default 60 s.
    pub flood_sleep_threshold: Duration,
    /// How many times a 5xx or negative `rpc_error` is retried (with a growing delay) before
    /// it is returned. Default 3.
    pub server_error_retries: u32,
    /// Reconnection delays.
    pub reconnect: Backoff,
    /// How often a `ping_delay_disconnect` goes out. Default 60 s.
    pub ping_interval: Duration,
    /// The `disconnect_delay` of those pings: the server closes the connection when no ping
    /// came for this long. Default 75 s.
    pub disconnect_delay: Duration,
    /// With a ping out and nothing at all received for this long, the connection is taken
    /// as dead and opened again. Default 20 s.
    pub ping_timeout: Duration,
    /// How many updates wait in [`Client::updates`](crate::Client::updates) before new ones
    /// are dropped (and a gap is reported). Default 1024.
    pub updates_capacity: usize,
    /// How many bytes of update bodies wait in [`Client::updates`](crate::Client::updates)
    /// before new ones are dropped (and a gap is reported). Default 32 MiB: with the count
    /// bound alone, a server sending large updates to a client that does not read them could
    /// fill 1,024 bodies of up to the inflation bound each.
    pub updates_max_bytes: usize,
    /// Limits of the MTProto session (compression, container sizes, inflation bound).
    pub session: session::Config,
}

impl Config {
    /// A configuration for `dc_id` at `addr` with the defaults.
    pub fn new(
        dc_id: i32,
        addr: impl Into<String>,
        rsa_keys: Vec<RsaPublicKey>,
        store: Arc<dyn SessionStore>,
    ) -> Self {
        Self {
            dc_id,
            addr: addr.into(),
            dcs: Vec::new(),
            transport: Transport::default(),
            rsa_keys,
            store,
            wrap_first: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            connect_attempts: 3,
            flood_sleep_threshold: Duration::from_secs(60),
            server_error_retries: 3,
            reconnect: Backoff::default(),
            ping_interval: Duration::from_secs(60),
            disconnect_delay: Duration::from_secs(75),
            ping_timeout: Duration::from_secs(20),
            updates_capacity: 1024,
            updates_max_bytes: 32 << 20,
            session: session::Config::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("dc_id", &self.dc_id)
            .field("addr", &self.addr)
            .field("dcs", &self.dcs)
            .field("transport", &self.transport)
            .field("rsa_keys", &self.rsa_keys.len())
            .field("wrap_first", &self.wrap_first.is_some())
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("connect_attempts", &self.connect_attempts)
            .field("flood_sleep_threshold", &self.flood_sleep_threshold)
            .field("server_error_retries", &self.server_error_retries)
            .field("reconnect", &self.reconnect)
            .field("ping_interval", &self.ping_interval)
            .field("disconnect_delay", &self.disconnect_delay)
            .field("ping_timeout", &self.ping_timeout)
            .field("updates_capacity", &self.updates_capacity)
            .field("updates_max_bytes", &self.updates_max_bytes)
            .finish_non_exhaustive()
    }
}
