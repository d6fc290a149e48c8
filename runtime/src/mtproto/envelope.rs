//! MTProto 2.0 encrypted messages: building and opening one `auth_key_id | msg_key | encrypted_data` payload.
//!
//! This layer is stateless: it knows the auth key and the direction, nothing about sessions,
//! clocks or earlier messages (those checks live in [`super::session`]). Layout and formulas:
//! core.telegram.org/mtproto/description ("Encrypted Message", "Defining AES Key and
//! Initialization Vector"); receive checks: /mtproto/security_guidelines.
//!
//! The plaintext is `salt | session_id | msg_id | seq_no | length | body | padding`, with
//! 12..=1024 bytes of random padding making the whole a multiple of 16 bytes. `msg_key` is the
//! middle of SHA-256 over a 32-byte slice of the key and the whole plaintext, padding included.
//!
//! Opening a payload checks, in this order: its size (public), the `auth_key_id` (public), then
//! decrypts and compares `msg_key` in constant time over the whole plaintext, and only after that
//! reads the length field and the padding. So every check that depends on secret data happens
//! after the `msg_key` check and cannot be told apart from it by timing or by the error: a
//! tampered payload always fails with [`EnvelopeError::MsgKeyMismatch`].

use std::fmt;

use crate::crypto::{
    aes_ige_decrypt, aes_ige_encrypt, ct_eq, message_key_iv, msg_key_from_large, msg_key_large,
    quick_ack_token, sha1, Direction, AUTH_KEY_LEN,
};

/// Fewest padding bytes a message may carry.
pub const MIN_PADDING: usize = 12;
/// Most padding bytes a message may carry.
pub const MAX_PADDING: usize = 1024;
/// `salt`, `session_id`, `msg_id`, `seq_no` and the length field: 32 bytes.
pub const HEADER_LEN: usize = 32;
/// `auth_key_id` and `msg_key` in front of the encrypted data: 24 bytes.
pub const OUTER_HEADER_LEN: usize = 24;
/// How many extra 16-byte blocks of padding [`encrypt`] adds at most, beyond the minimum. The
/// random amount hides the exact body length; 15 blocks keeps the cost under 256 bytes.
pub const MAX_EXTRA_PADDING_BLOCKS: usize = 15;
/// The smallest payload that can hold a message: outer header, inner header, minimal padding
/// (rounded up to a whole block).
pub const MIN_PAYLOAD_LEN: usize = OUTER_HEADER_LEN + HEADER_LEN + 16;

/// An auth key ready for message encryption: the 256 key bytes and their `auth_key_id`.
#[derive(Clone, PartialEq, Eq)]
pub struct MessageKey {
    key: Box<[u8; AUTH_KEY_LEN]>,
    id: i64,
}

impl MessageKey {
    /// Takes the 256 bytes of an auth key and computes its id (the last 8 bytes of its SHA-1,
    /// read little-endian).
    pub fn new(key: [u8; AUTH_KEY_LEN]) -> Self {
        let hash = sha1(&[key.as_slice()]);
        let mut id = [0; 8];
        id.copy_from_slice(&hash[12..20]);
        Self {
            key: Box::new(key),
            id: i64::from_le_bytes(id),
        }
    }

    /// The `auth_key_id` every payload starts with.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The key bytes.
    pub fn bytes(&self) -> &[u8; AUTH_KEY_LEN] {
        &self.key
    }
}

impl fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: only its public id is printed.
        f.debug_struct("MessageKey")
            .field("id", &format_args!("{:#018x}", self.id as u64))
            .finish_non_exhaustive()
    }
}

impl From<&super::handshake::AuthKey> for MessageKey {
    fn from(key: &super::handshake::AuthKey) -> Self {
        Self::new(key.key)
    }
}

/// The inner header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The server salt the sender used.
    pub salt: i64,
    /// The session the message belongs to.
    pub session_id: i64,
    /// The message id.
    pub msg_id: i64,
    /// The sequence number (odd for content-related messages).
    pub seq_no: i32,
}

/// An encrypted payload, ready for a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `auth_key_id | msg_key | encrypted_data`.
    pub payload: Vec<u8>,
    /// The token a server's quick ack for this payload carries (meaningful for client
    /// messages; see core.telegram.org/mtproto/mtproto-transports#quick-ack).
    pub quick_ack: u32,
}

/// A decrypted message whose `msg_key`, length and padding were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The inner header.
    pub header: Header,
    /// The message body (`message_data`).
    pub body: Vec<u8>,
}

/// Why a payload was rejected. The message must be dropped; nothing of it may be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The payload is shorter than the smallest encrypted message.
    BadSize {
        /// The payload's length.
        len: usize,
    },
    /// The payload is for another auth key.
    WrongAuthKeyId {
        /// This key's id.
        expected: i64,
        /// The id in the payload.
        found: i64,
    },
    /// `msg_key` does not match the decrypted data: the payload was corrupted, forged, or
    /// encrypted for the other direction.
    MsgKeyMismatch,
    /// The length field is negative, not a multiple of 4, or leaves less than 12 or more than
    /// 1024 bytes of padding.
    BadLength {
        /// The length field.
        length: i32,
        /// Bytes after the inner header.
        available: usize,
    },
    /// A body to send is too long for the 32-bit length field.
    BodyTooLarge {
        /// The body's length.
        len: usize,
    },
    /// Padding given to [`encrypt_with_padding`] is outside 12..=1024 bytes or does not make
    /// the plaintext a multiple of 16 bytes.
    BadPadding {
        /// The padding's length.
        len: usize,
    },
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadSize { len } => write!(
                f,
                "expected an encrypted payload of at least {MIN_PAYLOAD_LEN} bytes, got {len}"
            ),
            Self::WrongAuthKeyId { expected, found } => write!(
                f,
                "expected auth_key_id {:#018x}, got {:#018x}",
                *expected as u64, *found as u64
            ),
            Self::MsgKeyMismatch => f.write_str("msg_key does not match the decrypted message"),
            Self::BadLength { length, available } => write!(
                f,
                "expected a length field that is a non-negative multiple of 4 leaving \
                 {MIN_PADDING}..={MAX_PADDING} bytes of padding, got {length} with {available} \
                 bytes after the header"
            ),
            Self::BodyTooLarge { len } => {
                write!(
                    f,
                    "a message body of {len} bytes does not fit the length field"
                )
            }
            Self::BadPadding { len } => write!(
                f,
                "expected {MIN_PADDING}..={MAX_PADDING} bytes of padding completing a 16-byte \
                 block, got {len}"
            ),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// The padding length [`encrypt`] uses for a body of `body_len` bytes and a random `extra`
/// number of blocks (taken modulo `MAX_EXTRA_PADDING_BLOCKS + 1`): at least 12 bytes, a
/// multiple of 16 in total, at most 1024.
pub fn padding_len(body_len: usize, extra: usize) -> usize {
    let unpadded = HEADER_LEN + body_len + MIN_PADDING;
    let minimal = MIN_PADDING + (16 - unpadded % 16) % 16;
    minimal + 16 * (extra % (MAX_EXTRA_PADDING_BLOCKS + 1))
}

/// Encrypts one message with random padding (12..=1024 bytes, a random number of extra
/// blocks) drawn from `random`.
///
/// # Errors
///
/// [`EnvelopeError::BodyTooLarge`] when the body does not fit the 32-bit length field.
pub fn encrypt(
    key: &MessageKey,
    direction: Direction,
    header: &Header,
    body: &[u8],
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<Sealed, EnvelopeError> {
    let mut choice = [0u8; 1];
    random(&mut choice);
    let mut padding = vec![0; padding_len(body.len(), usize::from(choice[0]))];
    random(&mut padding);
    encrypt_with_padding(key, direction, header, body, &padding)
}

/// Encrypts one message with the given padding (for replaying vectors; [`encrypt`] draws it).
///
/// # Errors
///
/// [`EnvelopeError::BadPadding`] when the padding is outside 12..=1024 bytes or the plaintext
/// is not a multiple of 16 bytes; [`EnvelopeError::BodyTooLarge`] when the body does not fit
/// the length field.
pub fn encrypt_with_padding(
    key: &MessageKey,
    direction: Direction,
    header: &Header,
    body: &[u8],
    padding: &[u8],
) -> Result<Sealed, EnvelopeError> {
    let length =
        i32::try_from(body.len()).map_err(|_| EnvelopeError::BodyTooLarge { len: body.len() })?;
    let plain_len = HEADER_LEN + body.len() + padding.len();
    if !(MIN_PADDING..=MAX_PADDING).contains(&padding.len()) || !plain_len.is_multiple_of(16) {
        return Err(EnvelopeError::BadPadding { len: padding.len() });
    }
    let mut payload = Vec::with_capacity(OUTER_HEADER_LEN + plain_len);
    payload.extend_from_slice(&key.id.to_le_bytes());
    payload.extend_from_slice(&[0; 16]);
    payload.extend_from_slice(&header.salt.to_le_bytes());
    payload.extend_from_slice(&header.session_id.to_le_bytes());
    payload.extend_from_slice(&header.msg_id.to_le_bytes());
    payload.extend_from_slice(&header.seq_no.to_le_bytes());
    payload.extend_from_slice(&length.to_le_bytes());
    payload.extend_from_slice(body);
    payload.extend_from_slice(padding);

    let (outer, plain) = payload.split_at_mut(OUTER_HEADER_LEN);
    let large = msg_key_large(&key.key, direction, plain);
    let msg_key = msg_key_from_large(&large);
    let aes = message_key_iv(&key.key, &msg_key, direction);
    // The plaintext length is a multiple of 16 (checked above), so IGE cannot fail.
    aes_ige_encrypt(plain, &aes.key, &aes.iv)
        .map_err(|_| EnvelopeError::BadPadding { len: padding.len() })?;
    outer[8..].copy_from_slice(&msg_key);
    Ok(Sealed {
        payload,
        quick_ack: quick_ack_token(&large),
    })
}

/// The `auth_key_id` of a payload (its first 8 bytes), or `None` when it is shorter. A server
/// reads it to pick the key; `0` marks a plain (handshake) message.
pub fn auth_key_id(payload: &[u8]) -> Option<i64> {
    let bytes: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(i64::from_le_bytes(bytes))
}

/// Decrypts and checks one payload: size, `auth_key_id`, `msg_key` (constant time, over the
/// whole plaintext), the length field and the padding range. Up to 15 bytes after the last
/// whole 16-byte block are transport padding and ignored. The session checks (session id,
/// msg_id parity, time window, duplicates) are the caller's.
///
/// # Errors
///
/// Any [`EnvelopeError`]; the payload must then be dropped.
pub fn decrypt(
    key: &MessageKey,
    direction: Direction,
    payload: &[u8],
) -> Result<Opened, EnvelopeError> {
    let len = payload.len();
    if len < MIN_PAYLOAD_LEN {
        return Err(EnvelopeError::BadSize { len });
    }
    // The encrypted part is whole 16-byte blocks; up to 15 bytes after them are transport
    // padding (padded intermediate), never decrypted or used.
    let payload = &payload[..len - (len - OUTER_HEADER_LEN) % 16];
    let (outer, encrypted) = payload.split_at(OUTER_HEADER_LEN);
    let found = auth_key_id(outer).expect("the outer header starts with the auth_key_id");
    if found != key.id {
        return Err(EnvelopeError::WrongAuthKeyId {
            expected: key.id,
            found,
        });
    }
    let mut msg_key = [0; 16];
    msg_key.copy_from_slice(&outer[8..]);
    let aes = message_key_iv(&key.key, &msg_key, direction);
    let mut plain = encrypted.to_vec();
    aes_ige_decrypt(&mut plain, &aes.key, &aes.iv).map_err(|_| EnvelopeError::BadSize { len })?;
    let expected = msg_key_from_large(&msg_key_large(&key.key, direction, &plain));
    if !ct_eq(&expected, &msg_key) {
        return Err(EnvelopeError::MsgKeyMismatch);
    }

    let word = |at: usize| -> [u8; 8] {
        let mut out = [0; 8];
        out.copy_from_slice(&plain[at..at + 8]);
        out
    };
    let header = Header {
        salt: i64::from_le_bytes(word(0)),
        session_id: i64::from_le_bytes(word(8)),
        msg_id: i64::from_le_bytes(word(16)),
        seq_no: i32::from_le_bytes([plain[24], plain[25], plain[26], plain[27]]),
    };
    let length = i32::from_le_bytes([plain[28], plain[29], plain[30], plain[31]]);
    let available = plain.len() - HEADER_LEN;
    let body_len = usize::try_from(length)
        .ok()
        .filter(|&n| n.is_multiple_of(4) && n <= available)
        .filter(|&n| (MIN_PADDING..=MAX_PADDING).contains(&(available - n)))
        .ok_or(EnvelopeError::BadLength { length, available })?;
    plain.truncate(HEADER_LEN + body_len);
    plain.drain(..HEADER_LEN);
    Ok(Opened {
        header,
        body: plain,
    })
}
