//! Transport errors: bad lengths, checksums and sequence numbers, server error codes, misuse.

use std::fmt;

use super::Role;

/// A failure while framing or unframing MTProto transport packets.
///
/// After any error other than [`TransportError::Server`] the byte stream can no longer be
/// trusted to be in step, so the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// A received frame announced a payload longer than the configured maximum.
    FrameTooLong {
        /// The announced payload length in bytes.
        len: u64,
        /// The configured maximum.
        max: usize,
    },
    /// A received length field that the framing cannot carry (zero, not a multiple of 4 where
    /// the framing requires it, smaller than the header, or negative).
    BadLength {
        /// The length field as read (sign-extended where the field is signed).
        len: i64,
        /// What the framing allows.
        expected: &'static str,
    },
    /// A full-transport packet whose CRC32 does not match its bytes.
    BadCrc {
        /// The CRC32 computed over the received length, sequence number and payload.
        expected: u32,
        /// The CRC32 carried by the packet.
        got: u32,
    },
    /// A full-transport packet with an out-of-order sequence number.
    BadSeq {
        /// The sequence number this side expected next.
        expected: u32,
        /// The sequence number carried by the packet.
        got: u32,
    },
    /// The server sent a transport error: a 4-byte payload holding `-code` (404: auth key not
    /// found or malformed packet; 429: transport flood; 444: invalid DC).
    Server {
        /// The error code, positive (404 for the wire value -404).
        code: u32,
    },
    /// A payload to send whose length is not a multiple of 4.
    UnalignedPayload {
        /// The payload length in bytes.
        len: usize,
    },
    /// A payload to send that is longer than the framing or the configured maximum allows.
    PayloadTooLong {
        /// The payload length in bytes.
        len: usize,
        /// The largest payload allowed.
        max: usize,
    },
    /// A transport error code to send that cannot be sent (it must be in `1..=2^31`).
    BadErrorCode {
        /// The code given.
        code: u32,
    },
    /// An operation that this framing or this side of the connection does not have
    /// (a server requesting a quick ack, a client sending one, quick acks on the full transport,
    /// obfuscating the full transport).
    Unsupported {
        /// The operation attempted.
        operation: &'static str,
        /// The framing in use.
        transport: &'static str,
        /// The side that attempted it.
        role: Role,
    },
    /// An MTProxy secret of the wrong shape (16 bytes, or 17 starting with `0xdd`, expected).
    BadProxySecret {
        /// Its length in bytes.
        len: usize,
        /// Its first byte, if any.
        first: Option<u8>,
    },
    /// A received obfuscated2 header whose decrypted protocol tag is not one of
    /// `efefefef`, `eeeeeeee`, `dddddddd` (usually: wrong MTProxy secret, or not obfuscated2).
    BadProtocolTag {
        /// The four decrypted tag bytes.
        tag: [u8; 4],
    },
    /// The random source kept producing obfuscation headers that the protocol forbids.
    ForbiddenInit {
        /// How many headers were drawn.
        attempts: u32,
    },
    /// The decoder was used again after it failed.
    Poisoned,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FrameTooLong { len, max } => write!(
                f,
                "expected a frame payload of at most {max} bytes, got a length field of {len}"
            ),
            Self::BadLength { len, expected } => {
                write!(f, "expected a frame length {expected}, got {len}")
            }
            Self::BadCrc { expected, got } => write!(
                f,
                "expected crc32 {expected:#010x} over the packet, got {got:#010x}"
            ),
            Self::BadSeq { expected, got } => {
                write!(f, "expected packet sequence number {expected}, got {got}")
            }
            Self::Server { code } => write!(f, "server sent transport error -{code}"),
            Self::UnalignedPayload { len } => write!(
                f,
                "expected a payload length that is a multiple of 4, got {len} bytes"
            ),
            Self::PayloadTooLong { len, max } => write!(
                f,
                "expected a payload of at most {max} bytes, got {len} bytes"
            ),
            Self::BadErrorCode { code } => write!(
                f,
                "expected a transport error code in 1..=2147483648, got {code}"
            ),
            Self::Unsupported {
                operation,
                transport,
                role,
            } => write!(
                f,
                "{operation} is not possible for the {role} side of the {transport} transport"
            ),
            Self::BadProxySecret { len, first } => match first {
                Some(first) => write!(
                    f,
                    "expected an mtproxy secret of 16 bytes, or 17 starting with 0xdd, got {len} bytes starting with {first:#04x}"
                ),
                None => write!(
                    f,
                    "expected an mtproxy secret of 16 bytes, or 17 starting with 0xdd, got an empty one"
                ),
            },
            Self::BadProtocolTag { tag: [a, b, c, d] } => write!(
                f,
                "expected protocol tag efefefef, eeeeeeee or dddddddd in the obfuscated header, got {a:02x}{b:02x}{c:02x}{d:02x}"
            ),
            Self::ForbiddenInit { attempts } => write!(
                f,
                "expected the random source to produce an allowed obfuscation header, got {attempts} forbidden ones"
            ),
            Self::Poisoned => f.write_str("expected no use after a transport error, got another call"),
        }
    }
}

impl std::error::Error for TransportError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_and_say_what_came() {
        let err = TransportError::BadCrc {
            expected: 0xb2bb_c22b,
            got: 0,
        };
        assert_eq!(
            err.to_string(),
            "expected crc32 0xb2bbc22b over the packet, got 0x00000000"
        );
        assert_eq!(
            TransportError::Server { code: 404 }.to_string(),
            "server sent transport error -404"
        );
        let tag = TransportError::BadProtocolTag {
            tag: [0x01, 0x02, 0xab, 0xff],
        };
        assert!(tag.to_string().ends_with("got 0102abff"));
    }
}
