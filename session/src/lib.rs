//! Session stores for the tlgen client: what a client keeps between runs.
#![warn(missing_docs)]

use std::fmt;

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
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Any other failure, with a message.
    Other(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StoreError {}

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
    /// Stores peers; a `min` record never overwrites a full access hash.
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
}
