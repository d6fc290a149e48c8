//! Async MTProto client for any tlgen-generated API: connection, sender, retries.
//!
//! The client knows no Telegram schema. It sends any [`RemoteCall`](tlgen_runtime::RemoteCall)
//! (or raw TL bytes) over one MTProto connection and returns the typed answer. The
//! Telegram-specific layer (`invokeWithLayer(initConnection(..))`, authorization transfer
//! between DCs, peers) lives above it, in `tlgen-telegram`, and plugs in through
//! [`Config::wrap_first`] and [`Client::dc`].
//!
//! ```no_run
//! # async fn example(store: std::sync::Arc<dyn tlgen_session::SessionStore>,
//! #                  keys: Vec<tlgen_runtime::crypto::RsaPublicKey>) -> Result<(), tlgen_client::InvocationError> {
//! use tlgen_client::{Client, Config};
//! use tlgen_runtime::mtproto::schema::{enums, functions};
//!
//! let client = Client::connect(Config::new(2, "149.154.167.50:443", keys, store)).await?;
//! let enums::Pong::Pong(pong) = client.send(&functions::Ping { ping_id: 7 }).await?;
//! assert_eq!(pong.ping_id, 7);
//! # Ok(()) }
//! ```
//!
//! # Structure
//!
//! [`Client`] is a cheap handle (`Clone + Send + Sync`) to a background tokio task. The task
//! owns the TCP connection and the sans-IO [`Session`](tlgen_runtime::mtproto::session::Session)
//! of the runtime: calls from any number of tasks are pushed into the session and packed into
//! containers, acks for what the server sent ride along with them (or go alone after 100 ms),
//! big bodies are gzipped, salts are kept fresh with `get_future_salts`, the clock offset is
//! corrected from `bad_msg_notification` 16/17 and `bad_server_salt` refreshes the salt (both
//! re-send the refused messages), and `ping_delay_disconnect` every
//! [`Config::ping_interval`] lets both ends notice a half-open connection: with a ping out and
//! nothing received for [`Config::ping_timeout`], the client reconnects; the server closes
//! the connection after [`Config::disconnect_delay`] without pings.
//!
//! The auth key of each DC is kept in the [`SessionStore`](tlgen_session::SessionStore); a
//! client started again reuses it and makes no new key exchange. [`Client::connect`] tries the
//! first connection up to [`Config::connect_attempts`] times (3 by default) when it fails with
//! an IO, transport or timeout error, waiting the [`Config::reconnect`] delays in between; a
//! store or key-exchange error is returned at once.
//!
//! # No call is lost, none runs twice
//!
//! A call ends exactly once: with its answer, or with an error that says whether it may have
//! run. The connection task follows these rules when the connection drops:
//!
//! 1. The connection is opened again (at once if the last one worked, then with a delay
//!    doubling from [`Backoff::initial`] to [`Backoff::max`]). The **session stays the same**:
//!    same auth key, same session id, same msg_id sequence.
//! 2. Every call sent and **not answered**, acknowledged or not, is **asked about**, not sent
//!    again blindly: one `msgs_state_req` lists them all (one per 8192 calls). A call not
//!    acknowledged may have run (its ack lost with the connection) or may never have arrived;
//!    sent again under its msg_id it would run a second time on a server that lost the
//!    session, so the server is asked first, as for the acknowledged ones.
//! 3. The server's `msgs_state_info` decides each call. Answered already (received, +64): its
//!    answer is asked for with `msg_resend_ans_req`, which carries only the msg_id. Received
//!    and still running (no +64): the client waits for the answer. Certainly not received (2
//!    or 3): it is **sent again under its own msg_id** (inside a container, whose id is new);
//!    should the server have got it after all, it recognizes the id and answers from what it
//!    answered instead of running it again. Nothing known (1: the server forgot it, or lost
//!    the session and knows no message from before its new one): it ends with
//!    [`InvocationError::MayHaveRun`]. A question the server leaves unanswered for
//!    [`Config::ping_timeout`] (or refuses, or whose answers it says are coming and do not
//!    come within that time) is given up: its calls go again under their own msg_ids. A
//!    question lost with another drop is asked again on the next connection, for every call
//!    still unanswered.
//! 4. A call that cannot be sent again under its own id ends with
//!    [`InvocationError::MayHaveRun`]: its msg_id is older than 240 s (the server only tells
//!    ids apart within a 300 s window; such a call is not even asked about), the server
//!    refused the repeated message for a reason only a new id would fix, the server no longer
//!    knows it (rule 3), the server lost the auth key, or no connection came back after
//!    [`Backoff::attempts`] tries. It is never sent under a new id, since that could run it
//!    twice.
//! 5. A call never sent (still queued, or waiting for a connection) is simply sent when the
//!    connection is back, and fails with the network error if none comes back: it did not run.
//! 6. A call whose caller stopped waiting ([`InvocationError::Timeout`], or the future
//!    dropped) is forgotten: it is not sent again after a reconnection. Every call has that
//!    timeout, so none waits forever, whatever the server answers or leaves unanswered.
//!
//! Other clients choose differently. Telethon, on reconnecting, starts a new session and sends
//! everything unanswered again, so a request the server did run before the drop runs a second
//! time. Pyrogram sends unanswered requests again under new msg_ids, which the server cannot
//! match to the first ones: same risk. grammers fails every request in flight when the
//! connection drops, so nothing runs twice but the caller cannot tell a request that ran from
//! one that never left. Here a call either gets its one answer or is reported as possibly run.
//!
//! What this cannot prevent: a server that answers "not received" (2 or 3) for a message it
//! did get, and has since forgotten, runs it again when it comes back under its msg_id; so
//! does one that leaves the question unanswered or refuses it (rule 3's fallback) after losing
//! the session. A server that lost the session and says so (`new_session_created`, then
//! "nothing known" for the older ids) costs nothing more than [`InvocationError::MayHaveRun`]
//! for the calls that were out; the client also reports the new session on the updates stream
//! ([`Update::NewSession`]).
//!
//! # Errors and retries
//!
//! [`InvocationError`] is typed: an `rpc_error` is an [`RpcError`] split into name and number
//! (`FLOOD_WAIT_31` is `FLOOD_WAIT` and 31). `FLOOD_WAIT_X`, `SLOW_MODE_WAIT_X` and other 420
//! `*_WAIT_X` up to [`Config::flood_sleep_threshold`] (60 s by default) are slept through and
//! the call is sent again (the server refused it, so a new id is right); longer ones are
//! returned. 5xx and negative codes are retried [`Config::server_error_retries`] times with a
//! growing delay, except `RANDOM_ID_DUPLICATE` (it says the request did run). 303
//! `*_MIGRATE_X` becomes [`InvocationError::Migrate`] with the DC; [`Client::dc`] opens (or
//! returns) the connection to another DC, with its own auth key; moving the authorization there
//! needs API types and is done above.
//!
//! Each call has a timeout ([`Config::request_timeout`], or [`CallOptions::timeout`]) that
//! covers the wait for a connection as well: a call made while disconnected waits at most that
//! long, never forever. Flood-wait sleeps and retry delays come on top of it.
//!
//! # Updates
//!
//! Bodies the server sends unasked go to a channel bounded in count and in bytes
//! ([`Client::updates`], [`Config::updates_capacity`], 1,024, and [`Config::updates_max_bytes`],
//! 32 MiB). When a new update would pass either bound it is dropped and counted,
//! and an [`Update::Gap`] with the count goes out before the next update that fits, so the
//! layer above knows to fetch the difference. The connection task never waits for the reader.
//!
//! # Logging
//!
//! Through `tracing` (connections, reconnections, calls sent again, calls asked about, flood
//! waits, calls that may have run); silent unless the program installs a subscriber.
#![warn(missing_docs)]

mod client;
mod config;
mod conn;
mod error;
mod task;
mod updates;

pub use client::{CallOptions, Client, Stats};
pub use config::{Backoff, Config, Transport, Wrapper};
pub use error::{InvocationError, RpcError};
pub use updates::{Update, Updates};

/// The runtime's framings, for [`Transport::kind`].
pub use tlgen_runtime::transport::Kind;
