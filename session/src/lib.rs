//! Session stores for the tlgen client: what a client keeps between runs.
//!
//! A session is the home DC, each DC's address and permanent auth key, the signed-in user,
//! a cache of peers (ids, access hashes, usernames, phones) and the update state. The client
//! reads and writes it through the [`SessionStore`] trait; this crate has two implementations:
//!
//! - [`MemoryStore`]: everything in memory, for tests and throw-away sessions.
//! - [`SqliteStore`]: one SQLite file per session (bundled SQLite, nothing to install), with a
//!   versioned schema and migrations, an exclusive lock so that two clients never share a
//!   file, and typed errors for files that are in use, corrupt, foreign or too new.
//!
//! It also has the Bot API's *marked* dialog ids ([`MarkedId`]): the single signed integer
//! that names a user, basic chat, channel, monoforum or secret chat.
//!
//! ```
//! use tlgen_session::{MemoryStore, PeerKind, PeerRecord, SessionStore};
//!
//! let store = MemoryStore::new();
//! store.set_home_dc(2)?;
//! store.put_peers(&[PeerRecord {
//!     id: 93372553,
//!     kind: PeerKind::User,
//!     access_hash: Some(-6_142_017_000),
//!     min: false,
//!     usernames: vec!["BotFather".into()],
//!     phone: None,
//!     seen_in: None,
//! }])?;
//! let found = store.peer_by_username("@botfather")?.expect("cached");
//! assert_eq!(found.id, 93372553);
//! assert_eq!(found.usernames, ["botfather"]); // stored in lower case
//! assert_eq!(store.home_dc()?, Some(2));
//! # Ok::<(), tlgen_session::StoreError>(())
//! ```
//!
//! ## How `put_peers` merges
//!
//! Both stores follow the same rules (Telegram's "min constructors", core.telegram.org/api/min):
//!
//! - Usernames are stored in lower case without `@`, empty ones dropped, duplicates removed;
//!   phones keep only their digits. A username or a phone belongs to one peer at a time: a
//!   record that carries one takes it from whichever peer had it before.
//! - A full record (`min: false`) replaces what was stored, except that a full user or channel
//!   record without an access hash keeps the hash already known.
//! - A `min` record never overwrites the access hash of a full record, and never turns a full
//!   record back into a min one; it does update the usernames (when it carries any) and the
//!   phone (when it carries one).
//! - A `min` record over a min record (or over nothing) is stored with its hash and with
//!   `seen_in` (the chat and message where it was seen; the previous `seen_in` is kept if the
//!   new record has none). `seen_in` is kept only while the peer is min: a full record clears
//!   it.
#![warn(missing_docs)]

use std::fmt;
use std::path::PathBuf;

pub mod marked;
mod memory;
mod merge;
mod sqlite;

pub use marked::{MarkedId, MarkedIdError, MarkedKind};
pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

/// One data centre as the client knows it.
#[derive(Clone, PartialEq, Eq)]
pub struct DcEntry {
    /// The DC id (1..=5 on Telegram).
    pub id: i32,
    /// `ip:port`.
    pub addr: String,
    /// The permanent auth key for this DC, once created.
    pub auth_key: Option<[u8; 256]>,
}

impl fmt::Debug for DcEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DcEntry")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .field("auth_key", &self.auth_key.map(|_| "<256 bytes>"))
            .finish()
    }
}

/// Which kind of peer a raw id names.
///
/// These are the three kinds of `Peer` in the API (`peerUser`, `peerChat`, `peerChannel`),
/// the kinds the peer cache stores. Monoforums are channels here; secret chats are not peers
/// (they have no access hash and no `Peer` constructor): both exist only as kinds of
/// [`MarkedId`] ([`MarkedKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKind {
    /// A user or a bot.
    User,
    /// A basic group.
    Chat,
    /// A channel or a supergroup.
    Channel,
}

/// A peer as the cache stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The raw (unmarked) id.
    pub id: i64,
    /// User, chat or channel.
    pub kind: PeerKind,
    /// The access hash; `None` for basic chats or when unknown.
    pub access_hash: Option<i64>,
    /// Whether the hash came from a `min` object (valid only with a from-message reference).
    pub min: bool,
    /// Every username, lower case, without `@`.
    pub usernames: Vec<String>,
    /// The phone number, digits only.
    pub phone: Option<String>,
    /// Where a `min` peer was seen: the marked id of the chat and the message id.
    pub seen_in: Option<(i64, i32)>,
}

impl PeerRecord {
    /// This peer's Bot-API marked id, or why its raw id has none.
    pub fn marked_id(&self) -> Result<MarkedId, MarkedIdError> {
        MarkedId::from_peer(self.kind, self.id)
    }
}

/// The update state: pts, qts, date, seq, and each channel's pts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateState {
    /// Common pts.
    pub pts: i32,
    /// Secret chat qts.
    pub qts: i32,
    /// Date of the last update.
    pub date: i32,
    /// Updates seq.
    pub seq: i32,
    /// `(raw channel id, pts)`.
    pub channels: Vec<(i64, i32)>,
}

/// Why the store failed.
///
/// Every variant about a file names the file; `Display` says what failed in one sentence.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Another client (another process, or another store in this process) has the session
    /// file open. The lock is the operating system's: it goes away when that client closes
    /// the store or its process ends.
    InUse {
        /// The session file.
        path: PathBuf,
    },
    /// The file is an SQLite database of this crate's, or was meant to be, but is damaged:
    /// truncated, with bad pages, or with a layout that does not match its version.
    Corrupt {
        /// The session file.
        path: PathBuf,
        /// What is wrong, as SQLite or the check found it.
        detail: String,
    },
    /// The file is not a tlgen session: not an SQLite database at all, or one that belongs to
    /// another application.
    Foreign {
        /// The file.
        path: PathBuf,
        /// `None` when the file is not SQLite at all; otherwise the `application_id` found in
        /// its header (0 when unset).
        application_id: Option<i32>,
    },
    /// The file was written by a newer version of this crate, with a schema this one does not
    /// know. It is left as it is.
    NewerVersion {
        /// The session file.
        path: PathBuf,
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this crate reads and writes.
        supported: u32,
    },
    /// An I/O error on a file beside the database (the lock file).
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "create the lock file".
        action: &'static str,
        /// The error from the operating system.
        source: std::io::Error,
    },
    /// SQLite failed (disk full, permissions, I/O error, ...).
    Database {
        /// The session file.
        path: PathBuf,
        /// What was being done, e.g. "store peers".
        action: &'static str,
        /// SQLite's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Any other failure, with a message.
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InUse { path } => write!(
                f,
                "session file {} is in use by another client",
                path.display()
            ),
            Self::Corrupt { path, detail } => {
                write!(f, "session file {} is corrupt: {detail}", path.display())
            }
            Self::Foreign {
                path,
                application_id: None,
            } => write!(
                f,
                "{} is not a tlgen session file: it is not an SQLite database",
                path.display()
            ),
            Self::Foreign {
                path,
                application_id: Some(id),
            } => write!(
                f,
                "{} is not a tlgen session file: it is an SQLite database of another \
                 application (application_id {:#010x})",
                path.display(),
                *id as u32
            ),
            Self::NewerVersion {
                path,
                found,
                supported,
            } => write!(
                f,
                "session file {} has schema version {found}, newer than this version of \
                 tlgen-session supports ({supported}); it was left unchanged",
                path.display()
            ),
            Self::Io {
                path,
                action,
                source,
            } => write!(f, "{}: could not {action}: {source}", path.display()),
            Self::Database {
                path,
                action,
                source,
            } => write!(
                f,
                "session file {}: could not {action}: {source}",
                path.display()
            ),
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Database { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// What the client stores. Every method is one transaction.
pub trait SessionStore: Send + Sync {
    /// The home DC, once known.
    fn home_dc(&self) -> Result<Option<i32>, StoreError>;
    /// Sets the home DC.
    fn set_home_dc(&self, dc: i32) -> Result<(), StoreError>;
    /// A DC's entry.
    fn dc(&self, id: i32) -> Result<Option<DcEntry>, StoreError>;
    /// Every DC entry.
    fn dcs(&self) -> Result<Vec<DcEntry>, StoreError>;
    /// Inserts or replaces a DC's entry.
    fn set_dc(&self, dc: &DcEntry) -> Result<(), StoreError>;
    /// The signed-in user's id.
    fn self_user(&self) -> Result<Option<i64>, StoreError>;
    /// Sets (or clears) the signed-in user's id.
    fn set_self_user(&self, id: Option<i64>) -> Result<(), StoreError>;
    /// Stores peers; a `min` record never overwrites a full access hash (see the crate docs
    /// for every rule).
    fn put_peers(&self, peers: &[PeerRecord]) -> Result<(), StoreError>;
    /// A peer by kind and raw id.
    fn peer(&self, kind: PeerKind, id: i64) -> Result<Option<PeerRecord>, StoreError>;
    /// A peer by username (any case, without `@`).
    fn peer_by_username(&self, username: &str) -> Result<Option<PeerRecord>, StoreError>;
    /// A user by phone (digits only).
    fn peer_by_phone(&self, phone: &str) -> Result<Option<PeerRecord>, StoreError>;
    /// The update state.
    fn update_state(&self) -> Result<UpdateState, StoreError>;
    /// Replaces the update state.
    fn set_update_state(&self, state: &UpdateState) -> Result<(), StoreError>;

    /// A peer by its Bot-API marked id; `None` for secret chats, which are not peers.
    fn peer_by_marked(&self, id: MarkedId) -> Result<Option<PeerRecord>, StoreError> {
        match id.peer_kind() {
            Some(kind) => self.peer(kind, id.raw()),
            None => Ok(None),
        }
    }

    /// One channel's pts, if stored.
    fn channel_pts(&self, channel: i64) -> Result<Option<i32>, StoreError> {
        Ok(self
            .update_state()?
            .channels
            .iter()
            .find(|(id, _)| *id == channel)
            .map(|&(_, pts)| pts))
    }

    /// Sets one channel's pts, leaving the rest of the update state as it is. The default
    /// reads and writes the whole state (two transactions); both stores here do it in one.
    fn set_channel_pts(&self, channel: i64, pts: i32) -> Result<(), StoreError> {
        let mut state = self.update_state()?;
        match state.channels.iter_mut().find(|(id, _)| *id == channel) {
            Some(entry) => entry.1 = pts,
            None => state.channels.push((channel, pts)),
        }
        self.set_update_state(&state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_well() {
        let path = PathBuf::from("/tmp/a.session");
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let cases: [(StoreError, &str); 5] = [
            (
                StoreError::Io {
                    path: path.clone(),
                    action: "open the session's lock file",
                    source: io,
                },
                "/tmp/a.session: could not open the session's lock file: denied",
            ),
            (
                StoreError::Database {
                    path: path.clone(),
                    action: "store peers",
                    source: "database or disk is full".into(),
                },
                "session file /tmp/a.session: could not store peers: database or disk is full",
            ),
            (
                StoreError::Corrupt {
                    path: path.clone(),
                    detail: "database disk image is malformed".into(),
                },
                "session file /tmp/a.session is corrupt: database disk image is malformed",
            ),
            (
                StoreError::Foreign {
                    path: path.clone(),
                    application_id: Some(-1),
                },
                "/tmp/a.session is not a tlgen session file: it is an SQLite database of \
                 another application (application_id 0xffffffff)",
            ),
            (StoreError::Other("x".into()), "x"),
        ];
        for (err, text) in cases {
            assert_eq!(err.to_string(), text);
        }
        let err = StoreError::Io {
            path,
            action: "a",
            source: std::io::Error::other("b"),
        };
        assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "b");
    }
}
