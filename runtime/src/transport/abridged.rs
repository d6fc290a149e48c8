//! Abridged framing: a 1-byte (or `0x7f` + 3-byte) length in 4-byte words, then the payload.

use super::{
    check_max, classify, take, Frame, Framing, Kind, Role, TransportError, DEFAULT_MAX_FRAME_LEN,
};

/// The one-byte length value that announces a 3-byte length instead.
const LONG_LENGTH: u8 = 0x7f;
/// Bit 7 of the first byte: a client's quick-ack request, or (from a server) a quick ack.
const QUICK_ACK_BIT: u8 = 0x80;
/// Largest payload in words: the long form carries 24 bits.
const MAX_WORDS: usize = (1 << 24) - 1;

/// The abridged framing (marker `0xef`).
///
/// Packets: `len/4` in one byte when below 127, else `0x7f` and `len/4` in 3 bytes LE; then the
/// payload. A client sets bit 7 of the first byte to request a quick ack; a server sends a
/// quick ack as the 4-byte token byte-swapped (so its first byte has bit 7 set).
#[derive(Debug, Clone)]
pub struct Abridged {
    role: Role,
    max_frame_len: usize,
}

impl Abridged {
    /// An abridged framing for `role`, accepting frames up to [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new(role: Role) -> Self {
        Self {
            role,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// Sets the largest payload a received frame may announce (and a sent one may have).
    pub fn with_max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }
}

impl Framing for Abridged {
    fn kind(&self) -> Kind {
        Kind::Abridged
    }

    fn role(&self) -> Role {
        self.role
    }

    fn pack(
        &mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        quick_ack: bool,
    ) -> Result<(), TransportError> {
        if quick_ack && self.role != Role::Client {
            return Err(self.unsupported("requesting a quick ack"));
        }
        if !payload.len().is_multiple_of(4) {
            return Err(TransportError::UnalignedPayload { len: payload.len() });
        }
        let max = self.max_frame_len.min(MAX_WORDS * 4);
        if payload.len() > max {
            return Err(TransportError::PayloadTooLong {
                len: payload.len(),
                max,
            });
        }
        let words = payload.len() / 4;
        let flag = if quick_ack { QUICK_ACK_BIT } else { 0 };
        match u8::try_from(words) {
            Ok(short) if short < LONG_LENGTH => out.push(short | flag),
            _ => {
                // `words <= MAX_WORDS` was checked above, so the top byte is zero.
                let [a, b, c, _] = u32::try_from(words).unwrap_or(0).to_le_bytes();
                out.extend_from_slice(&[LONG_LENGTH | flag, a, b, c]);
            }
        }
        out.extend_from_slice(payload);
        Ok(())
    }

    fn pack_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        if self.role != Role::Server {
            return Err(self.unsupported("sending a quick ack"));
        }
        out.extend_from_slice(&(token | 0x8000_0000).to_be_bytes());
        Ok(())
    }

    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let flagged = first & QUICK_ACK_BIT != 0;
        if flagged && self.role == Role::Client {
            // A quick ack: the token, byte-swapped.
            return Ok(buf
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| (Frame::QuickAck(u32::from_be_bytes(b)), 4)));
        }
        let short = first & !QUICK_ACK_BIT;
        let (words, header) = if short == LONG_LENGTH {
            let Some(&[a, b, c]) = buf.get(1..4).and_then(|s| <&[u8; 3]>::try_from(s).ok()) else {
                return Ok(None);
            };
            (u32::from_le_bytes([a, b, c, 0]), 4)
        } else {
            (u32::from(short), 1)
        };
        if words == 0 {
            return Err(TransportError::BadLength {
                len: 0,
                expected: "of at least 1 word",
            });
        }
        let len = check_max(u64::from(words) * 4, self.max_frame_len)?;
        let Some((data, end)) = take(buf, header, len) else {
            return Ok(None);
        };
        Ok(Some((classify(data, false, self.role, flagged), end)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize, header: &[u8]) {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let mut client = Abridged::new(Role::Client);
        let mut server = Abridged::new(Role::Server);
        let mut wire = Vec::new();
        client.pack(&payload, &mut wire, false).unwrap();
        assert_eq!(&wire[..header.len()], header);
        let (frame, used) = server.unpack(&wire).unwrap().unwrap();
        assert_eq!(used, wire.len());
        assert_eq!(
            frame,
            Frame::Payload {
                data: payload,
                quick_ack: false
            }
        );
    }

    #[test]
    fn short_and_long_lengths() {
        roundtrip(4, &[0x01]);
        roundtrip(126 * 4, &[0x7e]);
        roundtrip(127 * 4, &[0x7f, 0x7f, 0, 0]);
        roundtrip(300 * 4, &[0x7f, 0x2c, 0x01, 0]);
    }

    #[test]
    fn quick_ack_request_and_reply() {
        let mut client = Abridged::new(Role::Client);
        let mut server = Abridged::new(Role::Server);
        let mut wire = Vec::new();
        client.pack(&[0; 8], &mut wire, true).unwrap();
        assert_eq!(wire[0], 0x82);
        let (frame, _) = server.unpack(&wire).unwrap().unwrap();
        assert!(matches!(
            frame,
            Frame::Payload {
                quick_ack: true,
                ..
            }
        ));

        let mut back = Vec::new();
        server.pack_quick_ack(0xe06b_e45b, &mut back).unwrap();
        assert_eq!(back, [0xe0, 0x6b, 0xe4, 0x5b]);
        assert_eq!(
            client.unpack(&back).unwrap(),
            Some((Frame::QuickAck(0xe06b_e45b), 4))
        );
    }

    #[test]
    fn rejects_bad_input() {
        let mut server = Abridged::new(Role::Server).with_max_frame_len(16);
        assert!(matches!(
            server.unpack(&[0x00]),
            Err(TransportError::BadLength { .. })
        ));
        assert!(matches!(
            server.unpack(&[0x7f, 0xff, 0xff, 0xff]),
            Err(TransportError::FrameTooLong { .. })
        ));
        assert_eq!(server.unpack(&[0x7f, 0x01]), Ok(None));
        assert_eq!(
            server.pack(&[0; 3], &mut Vec::new(), false),
            Err(TransportError::UnalignedPayload { len: 3 })
        );
        assert!(server.pack(&[0; 4], &mut Vec::new(), true).is_err());
        assert!(Abridged::new(Role::Client)
            .pack_quick_ack(1, &mut Vec::new())
            .is_err());
    }
}
