//! Padded intermediate framing: intermediate with 0..15 random bytes after each payload.

use std::fmt;

use super::intermediate::{pack_header, unpack_frame};
use super::{Frame, Framing, Kind, RandomFill, Role, TransportError, DEFAULT_MAX_FRAME_LEN};

/// Most padding bytes added after a payload.
const MAX_PADDING: usize = 15;

/// The padded intermediate framing (marker `dd dd dd dd`), meant for obfuscated connections
/// and MTProxy.
///
/// Packets: total length (payload plus 0..15 random bytes) as `u32` LE, the payload, the
/// padding. The receiver cannot tell padding from payload: [`Frame::Payload`] keeps it and the
/// MTProto layer drops it. A server quick ack is a packet of 8..16 bytes: `ff ff ff ff`, the
/// token LE, 0..8 random bytes.
pub struct PaddedIntermediate {
    role: Role,
    max_frame_len: usize,
    rng: RandomFill,
}

impl PaddedIntermediate {
    /// A padded intermediate framing for `role` that draws its padding from `rng`.
    pub fn new(role: Role, rng: RandomFill) -> Self {
        Self {
            role,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            rng,
        }
    }

    /// Sets the largest total (payload and padding) a received frame may announce; a payload
    /// to send may be at most this minus 15 bytes.
    pub fn with_max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// A padding length in `0..=max` and that many random bytes.
    fn padding(&mut self, max: usize) -> Vec<u8> {
        let mut pick = [0u8; 1];
        (self.rng)(&mut pick);
        let [pick] = pick;
        // `max` is 8 or 15 here, so `max + 1` neither overflows nor is zero.
        let len = usize::from(pick) % (max + 1);
        let mut bytes = vec![0u8; len];
        (self.rng)(&mut bytes);
        bytes
    }
}

impl fmt::Debug for PaddedIntermediate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaddedIntermediate")
            .field("role", &self.role)
            .field("max_frame_len", &self.max_frame_len)
            .finish_non_exhaustive()
    }
}

impl Framing for PaddedIntermediate {
    fn kind(&self) -> Kind {
        Kind::PaddedIntermediate
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
        let padding = self.padding(MAX_PADDING);
        let max = self.max_frame_len.saturating_sub(MAX_PADDING);
        pack_header(self, max, payload.len(), padding.len(), quick_ack, out)?;
        out.extend_from_slice(payload);
        out.extend_from_slice(&padding);
        Ok(())
    }

    fn pack_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        if self.role != Role::Server {
            return Err(self.unsupported("sending a quick ack"));
        }
        let padding = self.padding(8);
        // At most 16 bytes, so the length always fits.
        let total = u32::try_from(8 + padding.len()).unwrap_or(8);
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(&[0xff; 4]);
        out.extend_from_slice(&(token | 0x8000_0000).to_le_bytes());
        out.extend_from_slice(&padding);
        Ok(())
    }

    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError> {
        unpack_frame(buf, self.role, self.max_frame_len, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> RandomFill {
        let mut n = 0u8;
        Box::new(move |buf: &mut [u8]| {
            for b in buf {
                n = n.wrapping_add(7);
                *b = n;
            }
        })
    }

    #[test]
    fn pads_with_up_to_15_bytes_and_roundtrips() {
        let mut client = PaddedIntermediate::new(Role::Client, counter());
        let mut server = PaddedIntermediate::new(Role::Server, counter());
        for i in 0..40 {
            let payload = vec![i; 24];
            let mut wire = Vec::new();
            client.pack(&payload, &mut wire, i % 2 == 0).unwrap();
            assert!((28..=28 + 15).contains(&wire.len()));
            let (frame, used) = server.unpack(&wire).unwrap().unwrap();
            assert_eq!(used, wire.len());
            let Frame::Payload { data, quick_ack } = frame else {
                panic!("expected a payload");
            };
            assert_eq!(quick_ack, i % 2 == 0);
            assert_eq!(&data[..24], &payload[..]);
        }
    }

    #[test]
    fn server_quick_acks_and_errors_reach_the_client() {
        let mut client = PaddedIntermediate::new(Role::Client, counter());
        let mut server = PaddedIntermediate::new(Role::Server, counter());
        for _ in 0..20 {
            let mut wire = Vec::new();
            server.pack_quick_ack(0xb118_0f2e, &mut wire).unwrap();
            assert!((12..=20).contains(&wire.len()));
            server.pack_server_error(429, &mut wire).unwrap();
            let (ack, used) = client.unpack(&wire).unwrap().unwrap();
            assert_eq!(ack, Frame::QuickAck(0xb118_0f2e));
            let (err, _) = client.unpack(&wire[used..]).unwrap().unwrap();
            assert_eq!(err, Frame::ServerError { code: 429 });
        }
    }

    #[test]
    fn accepts_unaligned_totals() {
        let mut server = PaddedIntermediate::new(Role::Server, counter());
        let wire = [5, 0, 0, 0, 1, 2, 3, 4, 5];
        assert_eq!(
            server.unpack(&wire).unwrap(),
            Some((
                Frame::Payload {
                    data: vec![1, 2, 3, 4, 5],
                    quick_ack: false
                },
                9
            ))
        );
    }
}
