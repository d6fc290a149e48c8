//! A framing with a receive buffer and optional obfuscation: push bytes in, pull frames out.

use super::obfuscated::{self, Obfuscation, ProxySecret, HEADER_LEN};
use super::{framing, Frame, Framing, Kind, Role, TransportError, DEFAULT_MAX_FRAME_LEN};

/// A codec over a framing chosen at run time (what [`accept`] returns).
pub type DynCodec = Codec<Box<dyn Framing + Send>>;

/// Unread bytes kept at the front of the buffer before it is compacted.
const COMPACT_AFTER: usize = 64 * 1024;

/// One side of a connection: a framing, its receive buffer, and the obfuscation streams if the
/// connection is obfuscated. Outgoing packets are appended to a caller's buffer; incoming
/// bytes are [pushed](Codec::push) as they arrive, in any pieces, and read back as frames.
#[derive(Debug)]
pub struct Codec<F> {
    framing: F,
    obfuscation: Option<Obfuscation>,
    rx: Vec<u8>,
    rx_start: usize,
    poisoned: bool,
}

impl<F: Framing> Codec<F> {
    /// A plain codec that sends no marker (a server after [`accept`], or a client that wrote
    /// the marker itself).
    pub fn new(framing: F) -> Self {
        Self {
            framing,
            obfuscation: None,
            rx: Vec::new(),
            rx_start: 0,
            poisoned: false,
        }
    }

    /// A codec whose bytes go through `obfuscation` both ways (header already exchanged).
    pub fn with_obfuscation(framing: F, obfuscation: Obfuscation) -> Self {
        Self {
            obfuscation: Some(obfuscation),
            ..Self::new(framing)
        }
    }

    /// A plain client: appends the framing's marker to `out`.
    pub fn client(framing: F, out: &mut Vec<u8>) -> Self {
        out.extend_from_slice(framing.init_bytes());
        Self::new(framing)
    }

    /// An obfuscated client: draws the header from `rng`, appends it to `out`. `dc_id` goes in
    /// bytes 60..62 (needed by MTProxy); a secret with the `0xdd` prefix needs padded
    /// intermediate, and the full framing cannot be obfuscated.
    pub fn obfuscated_client(
        framing: F,
        dc_id: Option<i16>,
        secret: Option<&ProxySecret>,
        rng: &mut dyn FnMut(&mut [u8]),
        out: &mut Vec<u8>,
    ) -> Result<Self, TransportError> {
        let Some(tag) = obfuscated::ProtocolTag::for_kind(framing.kind()) else {
            return Err(framing.unsupported("obfuscation"));
        };
        if secret.is_some_and(ProxySecret::requires_padding)
            && framing.kind() != Kind::PaddedIntermediate
        {
            return Err(framing.unsupported("using an mtproxy secret with the 0xdd prefix"));
        }
        let (obfuscation, header) = obfuscated::client_init(tag, dc_id, secret, rng)?;
        out.extend_from_slice(&header);
        Ok(Self::with_obfuscation(framing, obfuscation))
    }

    /// The framing.
    pub fn framing(&self) -> &F {
        &self.framing
    }

    /// Whether the connection is obfuscated.
    pub fn is_obfuscated(&self) -> bool {
        self.obfuscation.is_some()
    }

    /// Appends one packet holding `payload` to `out` (see [`Framing::pack`]).
    pub fn send(
        &mut self,
        payload: &[u8],
        quick_ack: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        let start = out.len();
        self.framing.pack(payload, out, quick_ack)?;
        self.encrypt_from(start, out);
        Ok(())
    }

    /// Appends a quick ack carrying `token` (server side).
    pub fn send_quick_ack(&mut self, token: u32, out: &mut Vec<u8>) -> Result<(), TransportError> {
        let start = out.len();
        self.framing.pack_quick_ack(token, out)?;
        self.encrypt_from(start, out);
        Ok(())
    }

    /// Appends a transport error carrying `-code` (server side).
    pub fn send_server_error(
        &mut self,
        code: u32,
        out: &mut Vec<u8>,
    ) -> Result<(), TransportError> {
        let start = out.len();
        self.framing.pack_server_error(code, out)?;
        self.encrypt_from(start, out);
        Ok(())
    }

    fn encrypt_from(&mut self, start: usize, out: &mut [u8]) {
        if let (Some(obfuscation), Some(new)) = (&mut self.obfuscation, out.get_mut(start..)) {
            obfuscation.encrypt(new);
        }
    }

    /// Takes received bytes, in whatever pieces the network delivered them.
    pub fn push(&mut self, bytes: &[u8]) {
        let at = self.rx.len();
        self.rx.extend_from_slice(bytes);
        if let (Some(obfuscation), Some(new)) = (&mut self.obfuscation, self.rx.get_mut(at..)) {
            obfuscation.decrypt(new);
        }
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed. After an error every later
    /// call fails with [`TransportError::Poisoned`]: the stream is out of step.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, TransportError> {
        if self.poisoned {
            return Err(TransportError::Poisoned);
        }
        // `rx_start <= rx.len()` always holds: it only grows up to `rx.len()`, and `compact`
        // lowers both.
        let unread = &self.rx[self.rx_start..];
        match self.framing.unpack(unread) {
            Ok(Some((frame, used))) => {
                self.rx_start = self.rx_start.saturating_add(used).min(self.rx.len());
                self.compact();
                Ok(Some(frame))
            }
            Ok(None) => {
                self.compact();
                Ok(None)
            }
            Err(err) => {
                self.poisoned = true;
                Err(err)
            }
        }
    }

    /// The next payload: quick acks are skipped, a server error becomes
    /// [`TransportError::Server`].
    pub fn next_payload(&mut self) -> Result<Option<Vec<u8>>, TransportError> {
        while let Some(frame) = self.next_frame()? {
            if let Some(data) = frame.into_payload()? {
                return Ok(Some(data));
            }
        }
        Ok(None)
    }

    /// How many received bytes are buffered and not yet part of a frame.
    pub fn buffered(&self) -> usize {
        self.rx.len().saturating_sub(self.rx_start)
    }

    fn compact(&mut self) {
        if self.rx_start >= self.rx.len() {
            self.rx.clear();
            self.rx_start = 0;
        } else if self.rx_start >= COMPACT_AFTER && self.rx_start.saturating_mul(2) >= self.rx.len()
        {
            self.rx.drain(..self.rx_start);
            self.rx_start = 0;
        }
    }
}

/// Server side: recognizes how a client opened the connection from its first bytes.
///
/// `buf` holds the bytes received so far. Returns `Ok(None)` until it can tell; then a server
/// codec and how many bytes of `buf` the opening took (push the rest into the codec). Markers
/// `0xef`, `ee ee ee ee` and `dd dd dd dd` select the plain framings; a first packet with zero
/// bytes 4..8 (sequence number 0) is the full framing; anything else is read as a 64-byte
/// obfuscation header. With an MTProxy `secret`, only obfuscated connections are accepted.
/// `padding` feeds the padded framing's padding.
pub fn accept(
    buf: &[u8],
    secret: Option<&ProxySecret>,
    padding: impl FnMut(&mut [u8]) + Send + 'static,
) -> Result<Option<(DynCodec, usize)>, TransportError> {
    accept_with_max_frame_len(buf, secret, DEFAULT_MAX_FRAME_LEN, padding)
}

/// [`accept`] with a maximum frame length other than [`DEFAULT_MAX_FRAME_LEN`].
pub fn accept_with_max_frame_len(
    buf: &[u8],
    secret: Option<&ProxySecret>,
    max_frame_len: usize,
    padding: impl FnMut(&mut [u8]) + Send + 'static,
) -> Result<Option<(DynCodec, usize)>, TransportError> {
    let plain = match (secret, buf) {
        (Some(_), _) => None,
        (None, []) => return Ok(None),
        (None, [0xef, ..]) => Some((Kind::Abridged, 1)),
        (None, [0xee, 0xee, 0xee, 0xee, ..]) => Some((Kind::Intermediate, 4)),
        (None, [0xdd, 0xdd, 0xdd, 0xdd, ..]) => Some((Kind::PaddedIntermediate, 4)),
        (None, [_, _, _, _, 0, 0, 0, 0, ..]) => Some((Kind::Full, 0)),
        (None, _) => None,
    };
    if let Some((kind, used)) = plain {
        let framing = framing(kind, Role::Server, max_frame_len, Box::new(padding));
        return Ok(Some((Codec::new(framing), used)));
    }
    let Some(header) = buf
        .get(..HEADER_LEN)
        .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
    else {
        return Ok(None);
    };
    let accepted = obfuscated::server_accept(header, secret)?;
    let framing = framing(
        accepted.tag.kind(),
        Role::Server,
        max_frame_len,
        Box::new(padding),
    );
    Ok(Some((
        Codec::with_obfuscation(framing, accepted.obfuscation),
        HEADER_LEN,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{Abridged, Full, Intermediate};

    fn no_padding(_: &mut [u8]) {}

    #[test]
    fn reassembles_frames_from_single_bytes() {
        let mut wire = Vec::new();
        let mut client = Codec::client(Abridged::new(Role::Client), &mut wire);
        client.send(&[1; 8], false, &mut wire).unwrap();
        client.send(&[2; 600], true, &mut wire).unwrap();
        let (mut server, used) = accept(&wire, None, no_padding).unwrap().unwrap();
        let mut frames = Vec::new();
        for byte in &wire[used..] {
            server.push(std::slice::from_ref(byte));
            while let Some(frame) = server.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(server.buffered(), 0);
    }

    #[test]
    fn detects_each_opening() {
        assert!(accept(&[], None, no_padding).unwrap().is_none());
        assert!(accept(&[0xee, 0xee], None, no_padding).unwrap().is_none());
        let (codec, used) = accept(&[0xdd; 4], None, no_padding).unwrap().unwrap();
        assert_eq!(
            (codec.framing().kind(), used),
            (Kind::PaddedIntermediate, 4)
        );
        let mut wire = Vec::new();
        Full::new(Role::Client)
            .pack(&[0; 4], &mut wire, false)
            .unwrap();
        let (codec, used) = accept(&wire, None, no_padding).unwrap().unwrap();
        assert_eq!((codec.framing().kind(), used), (Kind::Full, 0));
        // Not yet 64 bytes of an obfuscation header.
        assert!(accept(&[1; 63], None, no_padding).unwrap().is_none());
    }

    #[test]
    fn compacts_the_buffer_and_keeps_partial_frames() {
        let mut wire = Vec::new();
        let mut client = Codec::client(Intermediate::new(Role::Client), &mut wire);
        wire.clear();
        for i in 0..100u8 {
            client.send(&[i; 1000], false, &mut wire).unwrap();
        }
        let mut server = Codec::new(Intermediate::new(Role::Server));
        server.push(&wire[..wire.len() - 10]);
        for i in 0..99u8 {
            let frame = server.next_frame().unwrap().unwrap();
            assert_eq!(frame.into_payload().unwrap(), Some(vec![i; 1000]));
        }
        assert_eq!(server.next_frame(), Ok(None));
        assert_eq!(server.buffered(), 1004 - 10);
        server.push(&wire[wire.len() - 10..]);
        assert_eq!(server.next_payload(), Ok(Some(vec![99; 1000])));
        assert_eq!(server.buffered(), 0);
    }

    #[test]
    fn poisons_after_an_error() {
        let mut server = Codec::new(Intermediate::new(Role::Server));
        server.push(&[3, 0, 0, 0]);
        assert!(server.next_frame().is_err());
        assert_eq!(server.next_frame(), Err(TransportError::Poisoned));
    }

    #[test]
    fn refuses_to_obfuscate_full() {
        let mut rng = |buf: &mut [u8]| buf.fill(0x42);
        assert!(matches!(
            Codec::obfuscated_client(
                Full::new(Role::Client),
                None,
                None,
                &mut rng,
                &mut Vec::new()
            ),
            Err(TransportError::Unsupported { .. })
        ));
    }
}
