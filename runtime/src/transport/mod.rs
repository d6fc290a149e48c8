//! Sans-IO MTProto transports: abridged, intermediate, padded intermediate, full, and obfuscated2 over any of them.
//!
//! Everything here works on byte buffers: no sockets, no clock, and randomness comes from the
//! caller. A [`Framing`] turns payloads into packets ([`Framing::pack`]) and packets back into
//! [`Frame`]s ([`Framing::unpack`]); a [`Codec`] adds a receive buffer and, optionally,
//! [obfuscation](obfuscated) on top of any framing. Each framing is built for one [`Role`]:
//! a client packs requests and unpacks server frames (quick acks, error codes); a server does
//! the opposite, so tests can run both ends in memory.
//!
//! ```
//! use tlgen_runtime::transport::{Codec, Frame, Intermediate, Role};
//!
//! let mut wire = Vec::new();
//! let mut client = Codec::client(Intermediate::new(Role::Client), &mut wire);
//! client.send(&[1, 2, 3, 4, 5, 6, 7, 8], true, &mut wire).unwrap();
//!
//! // The server reads the marker, then the frame with its quick-ack request.
//! let (mut server, used) = tlgen_runtime::transport::accept(&wire, None, |_: &mut [u8]| {})
//!     .unwrap()
//!     .unwrap();
//! server.push(&wire[used..]);
//! let frame = server.next_frame().unwrap().unwrap();
//! assert_eq!(frame, Frame::Payload { data: vec![1, 2, 3, 4, 5, 6, 7, 8], quick_ack: true });
//! ```
//!
//! Wire rules: <https://core.telegram.org/mtproto/mtproto-transports>.

mod abridged;
mod aes_ctr;
mod codec;
mod error;
mod full;
mod intermediate;
pub mod obfuscated;
mod padded;

use std::fmt;

pub use abridged::Abridged;
pub use aes_ctr::AesCtr;
pub use codec::{accept, accept_with_max_frame_len, Codec, DynCodec};
pub use error::TransportError;
pub use full::Full;
pub use intermediate::Intermediate;
pub use obfuscated::{Obfuscation, ProtocolTag, ProxySecret};
pub use padded::PaddedIntermediate;

/// The default largest payload a received frame may announce: 16 MiB.
pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

/// A caller-supplied source of random bytes: fills the slice it is given.
pub type RandomFill = Box<dyn FnMut(&mut [u8]) + Send>;

/// Which end of the connection a framing serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends the marker and requests; may request quick acks; receives quick acks and errors.
    Client,
    /// Receives requests (with their quick-ack flags); sends responses, quick acks and errors.
    Server,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Client => "client",
            Self::Server => "server",
        })
    }
}

/// The four MTProto framings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// 1- or 4-byte length in 4-byte words; marker `0xef`.
    Abridged,
    /// 4-byte length in bytes; marker `ee ee ee ee`.
    Intermediate,
    /// Intermediate plus 0..15 random padding bytes; marker `dd dd dd dd`.
    PaddedIntermediate,
    /// Length, sequence number and CRC32; no marker.
    Full,
}

impl Kind {
    /// The bytes a client sends once before its first packet (empty for full).
    pub fn marker(self) -> &'static [u8] {
        match self {
            Self::Abridged => &[0xef],
            Self::Intermediate => &[0xee; 4],
            Self::PaddedIntermediate => &[0xdd; 4],
            Self::Full => &[],
        }
    }

    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Abridged => "abridged",
            Self::Intermediate => "intermediate",
            Self::PaddedIntermediate => "padded intermediate",
            Self::Full => "full",
        }
    }
}

/// One unit read off the transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// An MTProto packet. With padded intermediate, `data` still ends with the sender's 0..15
    /// random padding bytes: the MTProto layer knows the real length and drops them.
    Payload {
        /// The packet bytes.
        data: Vec<u8>,
        /// The client asked for a quick ack of this packet (only ever set on the server side).
        quick_ack: bool,
    },
    /// A server quick ack: the token (bit 31 set) of a packet sent with a quick-ack request.
    QuickAck(u32),
    /// A transport error from the server: the payload was `-code` (404, 429, 444, ...).
    ServerError {
        /// The error code, positive.
        code: u32,
    },
}

impl Frame {
    /// The payload bytes, or the server's transport error as [`TransportError::Server`];
    /// `None` for a quick ack.
    pub fn into_payload(self) -> Result<Option<Vec<u8>>, TransportError> {
        match self {
            Self::Payload { data, .. } => Ok(Some(data)),
            Self::QuickAck(_) => Ok(None),
            Self::ServerError { code } => Err(TransportError::Server { code }),
        }
    }
}

/// A framing: packs payloads into packets and unpacks packets into frames, for one role.
///
/// `unpack` is given the unread bytes of the (decrypted) stream. It returns `Ok(None)` when
/// they do not yet hold a whole frame, and otherwise the frame and how many bytes it took; its
/// state (the full transport's sequence number) only moves when it returns a frame. Length
/// fields are checked against the maximum before anything is allocated.
pub trait Framing {
    /// Which framing this is.
    fn kind(&self) -> Kind;

    /// Which side this framing serves.
    fn role(&self) -> Role;

    /// The marker a client sends first (`0xef`, `ee ee ee ee`, `dd dd dd dd`, or none for full).
    fn init_bytes(&self) -> &'static [u8] {
        self.kind().marker()
    }

    /// Whether this framing can carry quick-ack requests and quick acks.
    fn supports_quick_ack(&self) -> bool {
        self.kind() != Kind::Full
    }

    /// Appends one packet holding `payload` (a multiple of 4 bytes) to `out`. `quick_ack`
    /// asks the server for a quick ack; only a client on a framing that supports it may set it.
    fn pack(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        quick_ack: bool,
    ) -> Result<(), TransportError>;

    /// Appends a server quick ack carrying `token` (bit 31 is forced on). Server side only.
    fn pack_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError>;

    /// Appends a transport error packet carrying `-code` (e.g. 404, 429). Server side only.
    fn pack_server_error(&mut self, code: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        if self.role() != Role::Server {
            return Err(self.unsupported("sending a transport error"));
        }
        let value = i32::try_from(0i64 - i64::from(code))
            .ok()
            .filter(|v| *v < 0)
            .ok_or(TransportError::BadErrorCode { code })?;
        self.pack(&value.to_le_bytes(), out, false)
    }

    /// Reads one frame from the start of `buf`: `Ok(None)` means more bytes are needed.
    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError>;

    /// The error for `operation` not being possible here.
    fn unsupported(&self, operation: &'static str) -> TransportError {
        TransportError::Unsupported {
            operation,
            transport: self.kind().name(),
            role: self.role(),
        }
    }
}

impl<F: Framing + ?Sized> Framing for Box<F> {
    fn kind(&self) -> Kind {
        (**self).kind()
    }

    fn role(&self) -> Role {
        (**self).role()
    }

    fn pack(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        quick_ack: bool,
    ) -> Result<(), TransportError> {
        (**self).pack(payload, out, quick_ack)
    }

    fn pack_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        (**self).pack_quick_ack(token, out)
    }

    fn pack_server_error(&mut self, code: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        (**self).pack_server_error(code, out)
    }

    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError> {
        (**self).unpack(buf)
    }
}

/// Builds a boxed framing of `kind` for `role`; `padding` feeds the padded framing's padding.
pub fn framing(
    kind: Kind,
    role: Role,
    max_frame_len: usize,
    padding: RandomFill,
) -> Box<dyn Framing + Send> {
    match kind {
        Kind::Abridged => Box::new(Abridged::new(role).with_max_frame_len(max_frame_len)),
        Kind::Intermediate => Box::new(Intermediate::new(role).with_max_frame_len(max_frame_len)),
        Kind::PaddedIntermediate => {
            Box::new(PaddedIntermediate::new(role, padding).with_max_frame_len(max_frame_len))
        }
        Kind::Full => Box::new(Full::new(role).with_max_frame_len(max_frame_len)),
    }
}

/// The little-endian `u32` at `at`, if `buf` holds it.
fn le_u32(buf: &[u8], at: usize) -> Option<u32> {
    let end = at.checked_add(4)?;
    let bytes: [u8; 4] = buf.get(at..end)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// Checks a received payload length against the maximum without allocating.
fn check_max(len: u64, max: usize) -> Result<usize, TransportError> {
    match usize::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(TransportError::FrameTooLong { len, max }),
    }
}

/// Copies `len` payload bytes at `start` out of `buf`, or `None` if they have not all arrived.
fn take(buf: &[u8], start: usize, len: usize) -> Option<(Vec<u8>, usize)> {
    let end = start.checked_add(len)?;
    buf.get(start..end).map(|data| (data.to_vec(), end))
}

/// What a client makes of a received packet: a transport error code, a padded quick ack, or a
/// payload. A real MTProto packet is never shorter than 24 bytes (auth_key_id, msg_id, length
/// and a constructor), so shorter ones that start with a negative int are transport signals.
fn classify(data: Vec<u8>, padded: bool, role: Role, quick_ack: bool) -> Frame {
    const SHORTEST_MESSAGE: usize = 24;
    if role == Role::Client {
        let first = le_u32(&data, 0).map(|v| i32::from_le_bytes(v.to_le_bytes()));
        if padded && data.len() < SHORTEST_MESSAGE {
            // Padded quick ack: ff ff ff ff, the token, 0..8 random bytes.
            if let (Some(-1), Some(token)) = (first, le_u32(&data, 4)) {
                return Frame::QuickAck(token);
            }
            if let Some(value @ i32::MIN..=-1) = first {
                return Frame::ServerError {
                    code: value.unsigned_abs(),
                };
            }
        } else if data.len() == 4 {
            if let Some(value @ i32::MIN..=-1) = first {
                return Frame::ServerError {
                    code: value.unsigned_abs(),
                };
            }
        }
    }
    Frame::Payload { data, quick_ack }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_negative_payloads_are_errors_for_clients_only() {
        let minus_404 = vec![0x6c, 0xfe, 0xff, 0xff];
        assert_eq!(
            classify(minus_404.clone(), false, Role::Client, false),
            Frame::ServerError { code: 404 }
        );
        assert!(matches!(
            classify(minus_404, false, Role::Server, false),
            Frame::Payload { .. }
        ));
        assert!(matches!(
            classify(vec![4, 0, 0, 0], false, Role::Client, false),
            Frame::Payload { .. }
        ));
    }

    #[test]
    fn padded_quick_acks_and_errors_are_recognized() {
        let mut ack = vec![0xff; 4];
        ack.extend_from_slice(&0x8000_0001u32.to_le_bytes());
        ack.extend_from_slice(&[7; 5]);
        assert_eq!(
            classify(ack, true, Role::Client, false),
            Frame::QuickAck(0x8000_0001)
        );
        let mut err = (-429i32).to_le_bytes().to_vec();
        err.extend_from_slice(&[1; 15]);
        assert_eq!(
            classify(err, true, Role::Client, false),
            Frame::ServerError { code: 429 }
        );
    }

    #[test]
    fn error_frames_convert_to_typed_errors() {
        assert_eq!(
            Frame::ServerError { code: 444 }.into_payload(),
            Err(TransportError::Server { code: 444 })
        );
        assert_eq!(Frame::QuickAck(1).into_payload(), Ok(None));
    }

    #[test]
    fn checks_lengths_without_allocating() {
        assert_eq!(
            check_max(u64::MAX, 16),
            Err(TransportError::FrameTooLong {
                len: u64::MAX,
                max: 16
            })
        );
        assert_eq!(take(&[1, 2, 3], 1, usize::MAX), None);
        assert_eq!(le_u32(&[1, 2, 3], usize::MAX), None);
    }
}
