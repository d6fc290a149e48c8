//! Bot-API marked dialog ids: one signed integer for any user, chat, channel, monoforum or
//! secret chat (core.telegram.org/api/bots/ids; TDLib's `DialogId`).
//!
//! | kind | raw (MTProto) id | marked id |
//! |---|---|---|
//! | user | `1 ..= 2^40 - 1` | `id` |
//! | basic chat | `1 ..= 999999999999` | `-id` |
//! | channel or supergroup | `1 ..= 997852516352` | `-(1000000000000 + id)`: `-1000000000001 ..= -1997852516352` |
//! | secret chat | any `i32` but 0 | `id - 2000000000000`: `-1997852516353 ..= -2002147483648`, not `-2000000000000` |
//! | monoforum (a channel) | `1002147483649 ..= 3000000000000` | `-(1000000000000 + id)`: `-2002147483649 ..= -4000000000000` |
//!
//! The ranges are contiguous from `-4000000000000` to `-1` and from `1` to `2^40 - 1`; every
//! other `i64` (0, `-1000000000000`, `-2000000000000`, and everything outside) is invalid.
//!
//! Where the official page and TDLib differ (only at the boundaries), this module takes:
//! the largest channel id `997852516352` and the largest monoforum id `3000000000000` are
//! valid (the page's inclusive ranges, and TDLib's `DialogId::get_type`); secret chat id 0
//! (`-2000000000000`) is invalid (TDLib: it is the "zero" of the secret chat range, and no
//! secret chat has id 0).
//!
//! Monoforums and secret chats are kinds of marked id ([`MarkedKind`]) but not of
//! [`PeerKind`]: a monoforum is addressed as a channel (`peerChannel`, `inputPeerChannel`), so
//! the peer cache stores it as [`PeerKind::Channel`], and its raw id alone tells which of the
//! two marked ranges it takes; a secret chat is no peer at all (no access hash, no `Peer`
//! constructor), so [`MarkedId::peer_kind`] is `None` for it.
//!
//! ```
//! use tlgen_session::{MarkedId, MarkedKind, PeerKind};
//!
//! let id: MarkedId = "-1001234567890".parse()?;
//! assert_eq!(id.kind(), MarkedKind::Channel);
//! assert_eq!(id.raw(), 1234567890);
//! assert_eq!(id.peer_kind(), Some(PeerKind::Channel));
//! assert_eq!(MarkedId::channel(1234567890)?.marked(), -1001234567890);
//! assert_eq!(id.to_string(), "-1001234567890");
//!
//! assert!(MarkedId::from_marked(0).is_err());
//! assert!("-1000000000000".parse::<MarkedId>().is_err());
//! assert!(MarkedId::user(1 << 40).is_err());
//! # Ok::<(), tlgen_session::MarkedIdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::PeerKind;

/// The largest user id: `2^40 - 1`.
pub const MAX_USER_ID: i64 = (1 << 40) - 1;
/// The largest basic chat id.
pub const MAX_CHAT_ID: i64 = 999_999_999_999;
/// The largest (non-monoforum) channel id: `10^12 - 2^31`.
pub const MAX_CHANNEL_ID: i64 = 1_000_000_000_000 - (1 << 31);
/// The smallest monoforum channel id: `10^12 + 2^31 + 1`.
pub const MIN_MONOFORUM_ID: i64 = 1_000_000_000_000 + (1 << 31) + 1;
/// The largest monoforum channel id.
pub const MAX_MONOFORUM_ID: i64 = 3_000_000_000_000;

/// Channel and monoforum marked ids are `ZERO_CHANNEL - id`.
const ZERO_CHANNEL: i64 = -1_000_000_000_000;
/// Secret chat marked ids are `ZERO_SECRET + id`.
const ZERO_SECRET: i64 = -2_000_000_000_000;

/// What a marked id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkedKind {
    /// A user or bot: marked id = raw id.
    User,
    /// A basic group: marked id = `-id`.
    Chat,
    /// A channel or supergroup: marked id = `-(10^12 + id)`.
    Channel,
    /// A monoforum (a channel's direct-messages forum): `-(10^12 + id)`, with larger ids.
    Monoforum,
    /// A secret chat (raw id is the `int` chat id): `id - 2 * 10^12`.
    SecretChat,
}

impl MarkedKind {
    /// The kind of peer the cache stores for this kind of id; `None` for secret chats.
    pub fn peer_kind(self) -> Option<PeerKind> {
        match self {
            Self::User => Some(PeerKind::User),
            Self::Chat => Some(PeerKind::Chat),
            Self::Channel | Self::Monoforum => Some(PeerKind::Channel),
            Self::SecretChat => None,
        }
    }

    /// The valid raw ids of this kind, inclusive.
    pub fn raw_range(self) -> (i64, i64) {
        match self {
            Self::User => (1, MAX_USER_ID),
            Self::Chat => (1, MAX_CHAT_ID),
            Self::Channel => (1, MAX_CHANNEL_ID),
            Self::Monoforum => (MIN_MONOFORUM_ID, MAX_MONOFORUM_ID),
            Self::SecretChat => (i32::MIN as i64, i32::MAX as i64),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Chat => "basic chat",
            Self::Channel => "channel",
            Self::Monoforum => "monoforum",
            Self::SecretChat => "secret chat",
        }
    }
}

impl fmt::Display for MarkedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A valid Bot-API dialog id: a kind and a raw id in that kind's range.
///
/// Built only through checked constructors, so `marked()` never overflows and always
/// round-trips through [`MarkedId::from_marked`]. Ordered by kind, then raw id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MarkedId {
    kind: MarkedKind,
    raw: i64,
}

/// Why a marked id, or a raw id of some kind, is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MarkedIdError {
    /// The text is not a decimal `i64`.
    NotANumber {
        /// The start of the text (at most 32 characters).
        text: String,
    },
    /// The number is in no kind's range.
    OutOfRange {
        /// The number.
        marked: i64,
    },
    /// The raw id is not valid for the kind.
    InvalidRaw {
        /// The kind asked for.
        kind: MarkedKind,
        /// The raw id.
        raw: i64,
    },
}

impl fmt::Display for MarkedIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotANumber { text } => {
                write!(f, "{text:?} is not a dialog id: expected a decimal integer")
            }
            Self::OutOfRange { marked } => write!(
                f,
                "{marked} is not a valid dialog id: users are 1..={MAX_USER_ID}, chats, \
                 channels, secret chats and monoforums -1..=-4000000000000 (except \
                 -1000000000000 and -2000000000000)"
            ),
            Self::InvalidRaw { kind, raw } => {
                let (lo, hi) = kind.raw_range();
                write!(f, "{raw} is not a valid {kind} id: expected {lo}..={hi}")?;
                if *kind == MarkedKind::SecretChat {
                    f.write_str(" except 0")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for MarkedIdError {}

impl MarkedId {
    /// A raw id of `kind`, checked against the kind's range.
    pub fn new(kind: MarkedKind, raw: i64) -> Result<Self, MarkedIdError> {
        let (lo, hi) = kind.raw_range();
        if raw < lo || raw > hi || (kind == MarkedKind::SecretChat && raw == 0) {
            return Err(MarkedIdError::InvalidRaw { kind, raw });
        }
        Ok(Self { kind, raw })
    }

    /// A user.
    pub fn user(id: i64) -> Result<Self, MarkedIdError> {
        Self::new(MarkedKind::User, id)
    }

    /// A basic chat.
    pub fn chat(id: i64) -> Result<Self, MarkedIdError> {
        Self::new(MarkedKind::Chat, id)
    }

    /// A channel or supergroup (not a monoforum: see [`MarkedId::from_peer`] to accept both).
    pub fn channel(id: i64) -> Result<Self, MarkedIdError> {
        Self::new(MarkedKind::Channel, id)
    }

    /// A monoforum.
    pub fn monoforum(id: i64) -> Result<Self, MarkedIdError> {
        Self::new(MarkedKind::Monoforum, id)
    }

    /// A secret chat (its `int` id; never 0).
    pub fn secret_chat(id: i32) -> Result<Self, MarkedIdError> {
        Self::new(MarkedKind::SecretChat, id.into())
    }

    /// The marked id of a cached peer: a [`PeerKind::Channel`] id is a channel or a
    /// monoforum, whichever range holds it.
    pub fn from_peer(kind: PeerKind, raw: i64) -> Result<Self, MarkedIdError> {
        match kind {
            PeerKind::User => Self::user(raw),
            PeerKind::Chat => Self::chat(raw),
            PeerKind::Channel if raw >= MIN_MONOFORUM_ID => Self::monoforum(raw),
            PeerKind::Channel => Self::channel(raw),
        }
    }

    /// Reads a marked id.
    pub fn from_marked(marked: i64) -> Result<Self, MarkedIdError> {
        // Each arm's arithmetic stays far inside i64 because the pattern bounds `marked`.
        let (kind, raw) = match marked {
            1..=MAX_USER_ID => (MarkedKind::User, marked),
            m if (-MAX_CHAT_ID..=-1).contains(&m) => (MarkedKind::Chat, -m),
            m if (ZERO_CHANNEL - MAX_CHANNEL_ID..ZERO_CHANNEL).contains(&m) => {
                (MarkedKind::Channel, ZERO_CHANNEL - m)
            }
            m if (ZERO_SECRET + i32::MIN as i64..ZERO_CHANNEL - MAX_CHANNEL_ID).contains(&m)
                && m != ZERO_SECRET =>
            {
                (MarkedKind::SecretChat, m - ZERO_SECRET)
            }
            m if (ZERO_CHANNEL - MAX_MONOFORUM_ID..=ZERO_CHANNEL - MIN_MONOFORUM_ID)
                .contains(&m) =>
            {
                (MarkedKind::Monoforum, ZERO_CHANNEL - m)
            }
            _ => return Err(MarkedIdError::OutOfRange { marked }),
        };
        Ok(Self { kind, raw })
    }

    /// The marked id.
    pub fn marked(self) -> i64 {
        match self.kind {
            MarkedKind::User => self.raw,
            MarkedKind::Chat => -self.raw,
            MarkedKind::Channel | MarkedKind::Monoforum => ZERO_CHANNEL - self.raw,
            MarkedKind::SecretChat => ZERO_SECRET + self.raw,
        }
    }

    /// What the id names.
    pub fn kind(self) -> MarkedKind {
        self.kind
    }

    /// The raw (MTProto) id.
    pub fn raw(self) -> i64 {
        self.raw
    }

    /// The kind of peer the cache stores for this id; `None` for secret chats.
    pub fn peer_kind(self) -> Option<PeerKind> {
        self.kind.peer_kind()
    }
}

impl fmt::Display for MarkedId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.marked(), f)
    }
}

impl FromStr for MarkedId {
    type Err = MarkedIdError;

    /// A decimal integer with an optional sign, as [`i64::from_str`] reads it (no spaces).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let marked: i64 = s.parse().map_err(|_| MarkedIdError::NotANumber {
            text: s.chars().take(32).collect(),
        })?;
        Self::from_marked(marked)
    }
}

impl From<MarkedId> for i64 {
    fn from(id: MarkedId) -> i64 {
        id.marked()
    }
}

impl TryFrom<i64> for MarkedId {
    type Error = MarkedIdError;

    fn try_from(marked: i64) -> Result<Self, Self::Error> {
        Self::from_marked(marked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The valid marked ranges, inclusive, written out as numbers (independent of the
    /// constants above), and the one hole inside them.
    const VALID: [(i64, i64); 5] = [
        (1, 1_099_511_627_775),
        (-999_999_999_999, -1),
        (-1_997_852_516_352, -1_000_000_000_001),
        (-2_002_147_483_648, -1_997_852_516_353),
        (-4_000_000_000_000, -2_002_147_483_649),
    ];
    const HOLE: i64 = -2_000_000_000_000;

    fn valid(marked: i64) -> bool {
        marked != HOLE && VALID.iter().any(|&(lo, hi)| lo <= marked && marked <= hi)
    }

    #[test]
    fn edges() {
        for (marked, kind, raw) in [
            (1, MarkedKind::User, 1),
            (-1_997_852_516_352, MarkedKind::Channel, 997_852_516_352),
            (-4_000_000_000_000, MarkedKind::Monoforum, 3_000_000_000_000),
            (-2_002_147_483_649, MarkedKind::Monoforum, 1_002_147_483_649),
            (-1_003_142_518_418, MarkedKind::Channel, 3_142_518_418),
        ] {
            let id = MarkedId::from_marked(marked).unwrap();
            assert_eq!((id.kind(), id.raw(), id.marked()), (kind, raw, marked));
        }
        for bad in [
            0,
            HOLE,
            -1_000_000_000_000,
            -4_000_000_000_001,
            1 << 40,
            i64::MIN,
            i64::MAX,
            i64::MIN + 1,
        ] {
            assert_eq!(
                MarkedId::from_marked(bad),
                Err(MarkedIdError::OutOfRange { marked: bad })
            );
        }
        assert!(MarkedId::secret_chat(0).is_err());
        assert!(MarkedId::channel(997_852_516_353).is_err());
        assert!(MarkedId::monoforum(1_002_147_483_648).is_err());
        assert!(MarkedId::chat(1_000_000_000_000).is_err());
        assert!(MarkedId::user(0).is_err());
        assert!(MarkedId::new(MarkedKind::User, i64::MIN).is_err());
        assert_eq!(
            MarkedId::from_peer(PeerKind::Channel, 2_999_999_999_999)
                .unwrap()
                .kind(),
            MarkedKind::Monoforum
        );
        assert!(MarkedId::from_peer(PeerKind::Channel, 1_000_000_000_000).is_err());
    }

    #[test]
    fn parse_and_display() {
        assert_eq!("777000".parse(), Ok(MarkedId::user(777000).unwrap()));
        assert_eq!("+777000".parse(), Ok(MarkedId::user(777000).unwrap()));
        for bad in [
            "",
            "-",
            " 1",
            "1 ",
            "0x10",
            "1e3",
            "99999999999999999999",
            "--1",
            "１",
        ] {
            assert!(
                matches!(
                    bad.parse::<MarkedId>(),
                    Err(MarkedIdError::NotANumber { .. })
                ),
                "{bad:?}"
            );
        }
        let long = "9".repeat(10_000);
        match long.parse::<MarkedId>() {
            Err(MarkedIdError::NotANumber { text }) => assert_eq!(text.len(), 32),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            MarkedIdError::OutOfRange { marked: 0 }.to_string(),
            "0 is not a valid dialog id: users are 1..=1099511627775, chats, channels, secret \
             chats and monoforums -1..=-4000000000000 (except -1000000000000 and -2000000000000)"
        );
        assert_eq!(
            MarkedIdError::InvalidRaw {
                kind: MarkedKind::SecretChat,
                raw: 0
            }
            .to_string(),
            "0 is not a valid secret chat id: expected -2147483648..=2147483647 except 0"
        );
    }

    fn valid_id() -> impl Strategy<Value = MarkedId> {
        prop_oneof![
            (1..=MAX_USER_ID).prop_map(|r| MarkedId::user(r).unwrap()),
            (1..=MAX_CHAT_ID).prop_map(|r| MarkedId::chat(r).unwrap()),
            (1..=MAX_CHANNEL_ID).prop_map(|r| MarkedId::channel(r).unwrap()),
            (MIN_MONOFORUM_ID..=MAX_MONOFORUM_ID).prop_map(|r| MarkedId::monoforum(r).unwrap()),
            any::<i32>()
                .prop_filter("secret chat 0", |r| *r != 0)
                .prop_map(|r| MarkedId::secret_chat(r).unwrap()),
        ]
    }

    /// Numbers near every range boundary, where off-by-one errors live, and anything else.
    fn any_marked() -> impl Strategy<Value = i64> {
        let edges: Vec<i64> = VALID
            .iter()
            .flat_map(|&(lo, hi)| [lo, hi])
            .chain([0, HOLE, i64::MIN, i64::MAX])
            .collect();
        prop_oneof![
            (proptest::sample::select(edges), -3i64..=3).prop_map(|(e, d)| e.saturating_add(d)),
            -5_000_000_000_000i64..=2_000_000_000_000,
            any::<i64>(),
        ]
    }

    proptest! {
        #[test]
        fn every_valid_id_round_trips(id in valid_id()) {
            let marked = id.marked();
            prop_assert!(valid(marked));
            prop_assert_eq!(MarkedId::from_marked(marked), Ok(id));
            prop_assert_eq!(id.to_string().parse::<MarkedId>(), Ok(id));
            prop_assert_eq!(MarkedId::new(id.kind(), id.raw()), Ok(id));
            if let Some(kind) = id.peer_kind() {
                prop_assert_eq!(MarkedId::from_peer(kind, id.raw()), Ok(id));
            }
        }

        #[test]
        fn every_number_is_valid_exactly_in_the_ranges(marked in any_marked()) {
            match MarkedId::from_marked(marked) {
                Ok(id) => {
                    prop_assert!(valid(marked), "{} accepted", marked);
                    prop_assert_eq!(id.marked(), marked);
                }
                Err(e) => {
                    prop_assert!(!valid(marked), "{} rejected", marked);
                    prop_assert_eq!(e, MarkedIdError::OutOfRange { marked });
                }
            }
            prop_assert_eq!(marked.to_string().parse::<MarkedId>(), MarkedId::from_marked(marked));
        }

        #[test]
        fn every_raw_id_is_checked(raw in any_marked(), kind in proptest::sample::select(vec![
            MarkedKind::User, MarkedKind::Chat, MarkedKind::Channel,
            MarkedKind::Monoforum, MarkedKind::SecretChat,
        ])) {
            // The marked form, computed wide so that any raw id has one.
            let wide = match kind {
                MarkedKind::User => raw as i128,
                MarkedKind::Chat => -(raw as i128),
                MarkedKind::Channel | MarkedKind::Monoforum => -1_000_000_000_000 - raw as i128,
                MarkedKind::SecretChat => raw as i128 - 2_000_000_000_000,
            };
            let expected = i64::try_from(wide).ok().filter(|&m| valid(m)).and_then(|m| {
                MarkedId::from_marked(m).ok().filter(|id| id.kind() == kind)
            });
            match MarkedId::new(kind, raw) {
                Ok(id) => {
                    prop_assert_eq!(Some(id), expected);
                    prop_assert_eq!(id.raw(), raw);
                }
                Err(e) => {
                    prop_assert_eq!(expected, None);
                    prop_assert_eq!(e, MarkedIdError::InvalidRaw { kind, raw });
                }
            }
        }

        #[test]
        fn any_text_is_an_id_or_an_error(text in ".{0,40}") {
            let _ = text.parse::<MarkedId>();
        }
    }
}
