//! Intermediate framing: a 4-byte little-endian length in bytes, then the payload.

use super::{
    check_max, classify, le_u32, take, Frame, Framing, Kind, Role, TransportError,
    DEFAULT_MAX_FRAME_LEN,
};

/// Bit 31 of the length word: a client's quick-ack request, or (from a server) a quick ack.
pub(super) const QUICK_ACK_BIT: u32 = 0x8000_0000;

/// The intermediate framing (marker `ee ee ee ee`).
///
/// Packets: payload length as `u32` LE, then the payload. A client sets bit 31 of the length to
/// request a quick ack; a server sends a quick ack as the 4-byte token, LE, bit 31 set (never a
/// valid length).
#[derive(Debug, Clone)]
pub struct Intermediate {
    role: Role,
    max_frame_len: usize,
}

impl Intermediate {
    /// An intermediate framing for `role`, accepting frames up to [`DEFAULT_MAX_FRAME_LEN`].
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

impl Framing for Intermediate {
    fn kind(&self) -> Kind {
        Kind::Intermediate
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
        pack_header(self, self.max_frame_len, payload.len(), 0, quick_ack, out)?;
        out.extend_from_slice(payload);
        Ok(())
    }

    fn pack_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        if self.role != Role::Server {
            return Err(self.unsupported("sending a quick ack"));
        }
        out.extend_from_slice(&(token | QUICK_ACK_BIT).to_le_bytes());
        Ok(())
    }

    fn unpack(&mut self, buf: &[u8]) -> Result<Option<(Frame, usize)>, TransportError> {
        unpack_frame(buf, self.role, self.max_frame_len, false)
    }
}

/// Checks a payload of `len` bytes to send (at most `max`) and appends the length word for
/// `len + padding` bytes.
pub(super) fn pack_header(
    framing: &dyn Framing,
    max: usize,
    len: usize,
    padding: usize,
    quick_ack: bool,
    out: &mut Vec<u8>,
) -> Result<(), TransportError> {
    if quick_ack && framing.role() != Role::Client {
        return Err(framing.unsupported("requesting a quick ack"));
    }
    if !len.is_multiple_of(4) {
        return Err(TransportError::UnalignedPayload { len });
    }
    // Leaves room for the padding below bit 31, which marks quick acks.
    let max = max.min(0x7fff_fff0);
    let total = u32::try_from(len.saturating_add(padding))
        .ok()
        .filter(|_| len <= max)
        .ok_or(TransportError::PayloadTooLong { len, max })?;
    let flag = if quick_ack { QUICK_ACK_BIT } else { 0 };
    out.extend_from_slice(&(total | flag).to_le_bytes());
    Ok(())
}

/// Reads one intermediate or padded intermediate frame.
pub(super) fn unpack_frame(
    buf: &[u8],
    role: Role,
    max_frame_len: usize,
    padded: bool,
) -> Result<Option<(Frame, usize)>, TransportError> {
    let Some(word) = le_u32(buf, 0) else {
        return Ok(None);
    };
    let flagged = word & QUICK_ACK_BIT != 0;
    if flagged && role == Role::Client {
        return Ok(Some((Frame::QuickAck(word), 4)));
    }
    let len = word & !QUICK_ACK_BIT;
    if len == 0 || (!padded && !len.is_multiple_of(4)) {
        return Err(TransportError::BadLength {
            len: i64::from(len),
            expected: if padded {
                "of at least 1 byte"
            } else {
                "that is a non-zero multiple of 4"
            },
        });
    }
    let len = check_max(u64::from(len), max_frame_len)?;
    let Some((data, end)) = take(buf, 4, len) else {
        return Ok(None);
    };
    Ok(Some((classify(data, padded, role, flagged), end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_both_directions() {
        let mut client = Intermediate::new(Role::Client);
        let mut server = Intermediate::new(Role::Server);
        let mut wire = Vec::new();
        client.pack(&[9; 12], &mut wire, true).unwrap();
        assert_eq!(&wire[..4], &[12, 0, 0, 0x80]);
        assert_eq!(
            server.unpack(&wire).unwrap(),
            Some((
                Frame::Payload {
                    data: vec![9; 12],
                    quick_ack: true
                },
                16
            ))
        );
        let mut back = Vec::new();
        server.pack(&[5; 8], &mut back, false).unwrap();
        server.pack_quick_ack(0x1234, &mut back).unwrap();
        server.pack_server_error(404, &mut back).unwrap();
        let (first, used) = client.unpack(&back).unwrap().unwrap();
        assert_eq!(
            first,
            Frame::Payload {
                data: vec![5; 8],
                quick_ack: false
            }
        );
        let (ack, used2) = client.unpack(&back[used..]).unwrap().unwrap();
        assert_eq!(ack, Frame::QuickAck(0x8000_1234));
        let (err, _) = client.unpack(&back[used + used2..]).unwrap().unwrap();
        assert_eq!(err, Frame::ServerError { code: 404 });
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut server = Intermediate::new(Role::Server).with_max_frame_len(64);
        assert!(matches!(
            server.unpack(&[6, 0, 0, 0]),
            Err(TransportError::BadLength { len: 6, .. })
        ));
        assert!(matches!(
            server.unpack(&[0, 0, 0, 0]),
            Err(TransportError::BadLength { len: 0, .. })
        ));
        assert!(matches!(
            server.unpack(&[0xfc, 0xff, 0xff, 0x7f]),
            Err(TransportError::FrameTooLong { .. })
        ));
        assert!(matches!(
            server.pack(&[0; 68], &mut Vec::new(), false),
            Err(TransportError::PayloadTooLong { len: 68, max: 64 })
        ));
        assert_eq!(server.unpack(&[8, 0, 0, 0, 1, 2]), Ok(None));
    }
}
