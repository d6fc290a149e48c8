//! A loopback MTProto server: the protocol half of tlgen's test Telegram.
//!
//! It listens on 127.0.0.1 (one port per DC, chosen by the OS), recognizes the transport from
//! a connection's first bytes (abridged, intermediate, padded intermediate, full, and
//! obfuscated2 over the first three), runs the auth-key exchange (permanent and temporary keys,
//! current and older forms), keeps a server `Session` per (auth key, session id), and hands
//! every request body to a [`tlgen_world::Service`]; what it answers goes back as `rpc_result`
//! or `rpc_error`. Updates the service pushes through its [`tlgen_world::Outbox`] go to every
//! live session of the auth key.
//!
//! ```no_run
//! # async fn example(service: std::sync::Arc<dyn tlgen_world::Service>) -> Result<(), Box<dyn std::error::Error>> {
//! use tlgen_loopback::{Faults, Server};
//!
//! let server = Server::builder()
//!     .service(service)            // required
//!     .dcs(2)                      // DC 1 and DC 2, each on its own port (default 1)
//!     .faults(Faults::default())   // optional: see `Faults`
//!     .start()
//!     .await?;
//! let dc1 = server.addr(1);                 // SocketAddr
//! let all = server.dcs();                   // Vec<tlgen_world::DcAddr>
//! let pem = server.public_key_pem();        // "-----BEGIN RSA PUBLIC KEY-----..."
//! let fingerprint = server.fingerprint();   // i64, as resPQ lists it
//! let key = server.rsa_public_key();        // for handshake::Client::new
//! let stats = server.stats();               // connections, requests run per msg_id, ...
//! server.set_faults(Faults { silent: true, ..Faults::default() });
//! server.shutdown().await;                  // (dropping the handle also stops it)
//! # let _ = (dc1, all, pem, fingerprint, key, stats);
//! # Ok(())
//! # }
//! ```
//!
//! # Keys
//!
//! Without [`Builder::key`] the server makes a fresh 2048-bit RSA key when it starts
//! ([`KeyPair::generate`]: two random 1024-bit primes; 0.1-0.3 s, the binary's start to its
//! printed fingerprint, in this workspace's dev profile, where dependencies build at
//! opt-level 1). Tests that start many servers can make one key and pass it to each. Auth keys live in a table shared by all DCs
//! and connections: a client that reconnects with its key and session keeps working; an unknown
//! (or expired temporary) key gets transport error -404, as Telegram answers. Binding a
//! temporary key to a permanent one (`auth.bindTempAuthKey`) is an API method: the service
//! answers it; this crate keeps temporary keys as keys of their own until they expire.
//!
//! # Sessions, salts, answers
//!
//! The runtime's `Session` does the receive checks (msg_key, session, msg_id parity, the time
//! window, duplicates), containers, gzip, acks, `new_session_created`, `bad_msg_notification`
//! and `bad_server_salt`. This crate adds: salts that change every hour (the previous one
//! stays good for 30 minutes; `get_future_salts` lists the coming ones), `ping`,
//! `ping_delay_disconnect` (the connection closes when the delay passes without another one),
//! `msgs_state_req` (answered with `msgs_state_info`, which needs no ack: 4+32+64 for a
//! request answered, 1 for one at or below an answer the cache let go of, older than 300 s,
//! or sent before the session's first message (the `first_msg_id` of its
//! `new_session_created`: a session the server made anew knows nothing of what came before),
//! 2 or 3 for one never received), `msg_resend_ans_req` (the cached answers to the listed
//! requests again, then their `msgs_state_info`), `msg_resend_req` (the server's own
//! unacknowledged messages again under their ids; `msgs_state_info` when one is not kept),
//! `rpc_drop_answer`, `destroy_session`, and quick acks.
//!
//! **A request re-sent with a msg_id the session already answered** (in the same payload
//! again, in a new container, or on a new connection after a reconnect) is answered again from
//! the session's cache, not run again. The cache keeps, per session, the answers of the last
//! 1024 requests, none older than 10 minutes, at most 8 MiB. [`Stats::executed`] counts how
//! often each (session, msg_id) ran, so tests can check "exactly once".
//!
//! # Faults
//!
//! [`Faults`] (for the whole server, or per connection with
//! [`ServerHandle::set_connection_faults`]): drop a connection after n payloads, cut a frame in
//! half, delay answers, `FLOOD_WAIT_X` by method constructor id, `bad_server_salt`, a skewed
//! clock, garbage bytes, a wrong msg_key, transport errors, silence, and an intercept closure.
//!
//! # Limits
//!
//! Frames up to 2 MiB; a write stalled 30 s closes the connection; at most 16 handshakes per
//! connection, 64 sessions per auth key and 65,536 auth keys (the oldest go first). The
//! service is called on the connection's task and should answer quickly.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod conn;
mod faults;
pub mod key;
mod server;
mod wrappers;

pub use faults::{Faults, FloodWait, Intercept};
pub use key::{public_key_pem, KeyError, KeyPair};
pub use server::{Builder, ConnectionInfo, Server, ServerHandle, StartError, Stats};
pub use tlgen_world as world;

/// Fills `buf` from the OS random source (fetched in blocks: [`tlgen_runtime::random`]).
///
/// # Panics
///
/// When the OS source fails, which leaves no safe way to run the protocol.
pub fn random_fill(buf: &mut [u8]) {
    tlgen_runtime::random::fill(buf);
}

/// The method (constructor id) inside a request's `invokeWithLayer` / `initConnection` /
/// `invokeAfterMsg` ... wrappers, as [`FloodWait`] matches it.
pub fn method_of(body: &[u8]) -> u32 {
    wrappers::innermost(body).0
}
