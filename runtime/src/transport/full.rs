//! Full framing: length, per-direction sequence number, payload and CRC32.

use super::{
    check_max, classify, le_u32, Frame, Framing, Kind, Role, TransportError, DEFAULT_MAX_FRAME_LEN,
};

/// Length, sequence number and CRC32 around the payload.
const OVERHEAD: usize = 12;

/// The full framing (no marker).
///
/// Packets: `len` (u32 LE, the whole packet: 12 + payload), `seq` (u32 LE, 0 for the first
/// packet each side sends, then 1, 2, ...), the payload, and the CRC32 (IEEE) of everything
/// before it. A wrong CRC or an out-of-order `seq` is an error. There are no quick acks.
#[derive(Debug, Clone)]
pub struct Full {
    role: Role,
    max_frame_len: usize,
    send_seq: u32,
    recv_seq: u32,
}

impl Full {
    /// A full framing for `role`, accepting payloads up to [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new(role: Role) -> Self {
        Self {
            role,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            send_seq: 0,
            recv_seq: 0,
        }
    }

    /// Sets the largest payload a received frame may announce (and a sent one may have).
    pub fn with_max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// The sequence number of the next packet this side sends.
    pub fn send_seq(&self) -> u32 {
        self.send_seq
    }

    /// The sequence number expected on the next received packet.
    pub fn recv_seq(&self) -> u32 {
        self.recv_seq
    }
}

impl Framing for Full {
    fn kind(&self) -> Kind {
        Kind::Full
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
        if quick_ack {
            return Err(self.unsupported("requesting a quick ack"));
        }
        if !payload.len().is_multiple_of(4) {
            return Err(TransportError::UnalignedPayload { len: payload.len() });
        }
        let max = self.max_frame_len.min(0x7fff_ffff - OVERHEAD);
        let len = payload
            .len()
            .checked_add(OVERHEAD)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|_| payload.len() <= max)
            .ok_or(TransportError::PayloadTooLong {
                len: payload.len(),
                max,
            })?;
        let start = out.len();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.send_seq.to_le_bytes());
        out.extend_from_slice(payload);
        // `start` was the length of `out` a moment ago, so the range is in bounds.
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        self.send_seq = self.send_seq.wrapping_add(1);
        Ok(())
    }

    fn pack_quick_ack(&mut self, _token: u32, _out: &mut Vec<u8>) -> Result<(), TransportError> {
        Err(self.unsupported("sending a quick ack"))
    }

    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError> {
        let Some(len) = le_u32(buf, 0) else {
            return Ok(None);
        };
        let signed = i32::from_le_bytes(len.to_le_bytes());
        if signed < 0 || len < 12 || len % 4 != 0 {
            return Err(TransportError::BadLength {
                len: i64::from(signed),
                expected: "that is a multiple of 4 of at least 12",
            });
        }
        // `len >= 12` was checked just above.
        let payload_len = check_max(u64::from(len) - 12, self.max_frame_len)?;
        // `payload_len + 12` is `len`, which fits in u32 and so in u64; in usize it fits
        // because `payload_len` passed the maximum check, unless the maximum is near usize::MAX.
        let Some(total) = payload_len.checked_add(OVERHEAD) else {
            return Err(TransportError::FrameTooLong {
                len: u64::from(len),
                max: self.max_frame_len,
            });
        };
        let Some(packet) = buf.get(..total) else {
            return Ok(None);
        };
        // `total >= 12`, so the CRC's 4 bytes are inside the packet.
        let (body, crc_bytes) = packet.split_at(total - 4);
        let got = le_u32(crc_bytes, 0).expect("the packet's last 4 bytes");
        let expected = crc32fast::hash(body);
        if got != expected {
            return Err(TransportError::BadCrc { expected, got });
        }
        // The body is the packet without its CRC: at least 8 bytes, length and seq.
        let seq = le_u32(body, 4).expect("the body's bytes 4..8");
        if seq != self.recv_seq {
            return Err(TransportError::BadSeq {
                expected: self.recv_seq,
                got: seq,
            });
        }
        let data = body[8..].to_vec();
        self.recv_seq = self.recv_seq.wrapping_add(1);
        Ok(Some((classify(data, false, self.role, false), total)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_packets_per_direction() {
        let mut client = Full::new(Role::Client);
        let mut server = Full::new(Role::Server);
        let mut wire = Vec::new();
        for i in 0..3u8 {
            client.pack(&[i; 8], &mut wire, false).unwrap();
        }
        assert_eq!(&wire[4..8], &[0, 0, 0, 0]);
        assert_eq!(&wire[24..28], &[1, 0, 0, 0]);
        let mut at = 0;
        for i in 0..3u8 {
            let (frame, used) = server.unpack(&wire[at..]).unwrap().unwrap();
            assert_eq!(
                frame,
                Frame::Payload {
                    data: vec![i; 8],
                    quick_ack: false
                }
            );
            at += used;
        }
        assert_eq!((server.recv_seq(), client.send_seq()), (3, 3));
        assert_eq!(server.send_seq(), 0);
    }

    #[test]
    fn rejects_bad_crc_seq_and_lengths() {
        let mut client = Full::new(Role::Client);
        let mut wire = Vec::new();
        client.pack(&[1; 4], &mut wire, false).unwrap();
        client.pack(&[2; 4], &mut wire, false).unwrap();

        let mut corrupt = wire.clone();
        corrupt[9] ^= 1;
        assert!(matches!(
            Full::new(Role::Server).unpack(&corrupt),
            Err(TransportError::BadCrc { .. })
        ));
        // The second packet alone carries seq 1 where 0 is expected.
        assert_eq!(
            Full::new(Role::Server).unpack(&wire[16..]),
            Err(TransportError::BadSeq {
                expected: 0,
                got: 1
            })
        );
        for bad in [[8, 0, 0, 0], [14, 0, 0, 0], [0x6c, 0xfe, 0xff, 0xff]] {
            assert!(matches!(
                Full::new(Role::Server).unpack(&bad),
                Err(TransportError::BadLength { .. })
            ));
        }
        assert!(matches!(
            Full::new(Role::Server)
                .with_max_frame_len(4)
                .unpack(&[20, 0, 0, 0]),
            Err(TransportError::FrameTooLong { len: 8, max: 4 })
        ));
        assert!(client.pack(&[0; 4], &mut Vec::new(), true).is_err());
    }
}
