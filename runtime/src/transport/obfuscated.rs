//! Obfuscated2: the random 64-byte header and the AES-256-CTR streams that hide any framing.
//!
//! The client draws 64 random bytes (re-drawn while they could be mistaken for another
//! protocol), writes the protocol tag at 56..60 and the DC id at 60..62, and derives one key
//! and IV per direction from them (the reversed header for the receiving direction, each key
//! hashed with the MTProxy secret when there is one). It sends bytes 0..56 as drawn and bytes
//! 56..64 encrypted; both streams then run for the life of the connection.
//! Source: <https://core.telegram.org/mtproto/mtproto-transports#transport-obfuscation>.

use std::fmt;

use sha2::{Digest, Sha256};

use super::{AesCtr, Kind, TransportError};

/// Length of the obfuscation header.
pub const HEADER_LEN: usize = 64;

/// How many headers [`client_init`] draws before giving up on the random source.
const MAX_ATTEMPTS: u32 = 1000;

/// First words (LE) an obfuscation header must not start with: HTTP verbs, a TLS record
/// header, and the intermediate markers.
const FORBIDDEN_FIRST_WORDS: [u32; 6] = [
    0x4441_4548, // "HEAD"
    0x5453_4f50, // "POST"
    0x2054_4547, // "GET "
    0x4954_504f, // "OPTI"
    0x0201_0316, // TLS handshake record
    0xdddd_dddd, // padded intermediate marker
];

/// The framing announced inside an obfuscation header (bytes 56..60).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolTag {
    /// `ef ef ef ef`
    Abridged,
    /// `ee ee ee ee`
    Intermediate,
    /// `dd dd dd dd`
    PaddedIntermediate,
}

impl ProtocolTag {
    /// The four tag bytes.
    pub fn bytes(self) -> [u8; 4] {
        match self {
            Self::Abridged => [0xef; 4],
            Self::Intermediate => [0xee; 4],
            Self::PaddedIntermediate => [0xdd; 4],
        }
    }

    /// The tag these bytes spell, if any.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        match bytes {
            [0xef, 0xef, 0xef, 0xef] => Some(Self::Abridged),
            [0xee, 0xee, 0xee, 0xee] => Some(Self::Intermediate),
            [0xdd, 0xdd, 0xdd, 0xdd] => Some(Self::PaddedIntermediate),
            _ => None,
        }
    }

    /// The tag for a framing; the full framing has none and cannot be obfuscated.
    pub fn for_kind(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Abridged => Some(Self::Abridged),
            Kind::Intermediate => Some(Self::Intermediate),
            Kind::PaddedIntermediate => Some(Self::PaddedIntermediate),
            Kind::Full => None,
        }
    }

    /// The framing this tag announces.
    pub fn kind(self) -> Kind {
        match self {
            Self::Abridged => Kind::Abridged,
            Self::Intermediate => Kind::Intermediate,
            Self::PaddedIntermediate => Kind::PaddedIntermediate,
        }
    }
}

/// An MTProxy secret: 16 bytes, or 17 with a leading `0xdd` that demands padded intermediate.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySecret {
    key: [u8; 16],
    requires_padding: bool,
}

impl ProxySecret {
    /// Parses a secret as MTProxy links give it (after hex decoding). Fake-TLS secrets
    /// (leading `0xee`) are a different protocol and are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TransportError> {
        let (key, requires_padding) = match bytes {
            [0xdd, rest @ ..] if rest.len() == 16 => (rest, true),
            _ if bytes.len() == 16 => (bytes, false),
            _ => {
                return Err(TransportError::BadProxySecret {
                    len: bytes.len(),
                    first: bytes.first().copied(),
                })
            }
        };
        let key = <[u8; 16]>::try_from(key).map_err(|_| TransportError::BadProxySecret {
            len: bytes.len(),
            first: bytes.first().copied(),
        })?;
        Ok(Self {
            key,
            requires_padding,
        })
    }

    /// The 16 bytes hashed into the keys.
    pub fn key(&self) -> &[u8; 16] {
        &self.key
    }

    /// Whether the secret had the `0xdd` prefix: the connection must use padded intermediate.
    pub fn requires_padding(&self) -> bool {
        self.requires_padding
    }
}

impl fmt::Debug for ProxySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxySecret")
            .field("requires_padding", &self.requires_padding)
            .finish_non_exhaustive()
    }
}

/// The keys and IVs of both directions, as seen by the client.
#[derive(Clone, PartialEq, Eq)]
pub struct ObfuscationKeys {
    /// Key of the client-to-server stream.
    pub encrypt_key: [u8; 32],
    /// IV of the client-to-server stream.
    pub encrypt_iv: [u8; 16],
    /// Key of the server-to-client stream.
    pub decrypt_key: [u8; 32],
    /// IV of the server-to-client stream.
    pub decrypt_iv: [u8; 16],
}

impl ObfuscationKeys {
    /// Derives the client's keys from the plain header (tag and DC id already written):
    /// encrypt = `init[8..40]`, `init[40..56]`; decrypt = the same ranges of the reversed
    /// header; each key becomes `SHA256(key + secret)` with an MTProxy secret.
    pub fn derive(init: &[u8; HEADER_LEN], secret: Option<&ProxySecret>) -> Self {
        let mut reversed = *init;
        reversed.reverse();
        let (encrypt_key, encrypt_iv) = key_iv(init, secret);
        let (decrypt_key, decrypt_iv) = key_iv(&reversed, secret);
        Self {
            encrypt_key,
            encrypt_iv,
            decrypt_key,
            decrypt_iv,
        }
    }

    /// The same keys seen from the server: its encrypt stream is the client's decrypt stream.
    pub fn for_server(self) -> Self {
        Self {
            encrypt_key: self.decrypt_key,
            encrypt_iv: self.decrypt_iv,
            decrypt_key: self.encrypt_key,
            decrypt_iv: self.encrypt_iv,
        }
    }
}

impl fmt::Debug for ObfuscationKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObfuscationKeys { .. }")
    }
}

/// Key (`bytes[8..40]`, hashed with the secret if any) and IV (`bytes[40..56]`).
fn key_iv(bytes: &[u8; HEADER_LEN], secret: Option<&ProxySecret>) -> ([u8; 32], [u8; 16]) {
    let mut key = [0u8; 32];
    let mut iv = [0u8; 16];
    // Constant ranges inside a 64-byte array: these cannot panic.
    key.copy_from_slice(&bytes[8..40]);
    iv.copy_from_slice(&bytes[40..56]);
    if let Some(secret) = secret {
        let mut hash = Sha256::new();
        hash.update(key);
        hash.update(secret.key());
        key = hash.finalize().into();
    }
    (key, iv)
}

/// The two AES-256-CTR streams of an obfuscated connection, for one side.
#[derive(Debug)]
pub struct Obfuscation {
    encrypt: AesCtr,
    decrypt: AesCtr,
}

impl Obfuscation {
    /// Streams from keys as this side sees them.
    pub fn new(keys: &ObfuscationKeys) -> Self {
        Self {
            encrypt: AesCtr::new(&keys.encrypt_key, &keys.encrypt_iv),
            decrypt: AesCtr::new(&keys.decrypt_key, &keys.decrypt_iv),
        }
    }

    /// Encrypts outgoing bytes in place, continuing the outgoing stream.
    pub fn encrypt(&mut self, data: &mut [u8]) {
        self.encrypt.apply(data);
    }

    /// Decrypts incoming bytes in place, continuing the incoming stream.
    pub fn decrypt(&mut self, data: &mut [u8]) {
        self.decrypt.apply(data);
    }
}

/// Whether 64 random bytes must be re-drawn: first byte `0xef`, a forbidden first word, or
/// zero bytes 4..8 (which would look like the full transport's first sequence number).
pub fn is_forbidden(init: &[u8; HEADER_LEN]) -> bool {
    let [b0, b1, b2, b3, b4, b5, b6, b7, ..] = *init;
    let first = u32::from_le_bytes([b0, b1, b2, b3]);
    b0 == 0xef
        || first == 0xeeee_eeee
        || FORBIDDEN_FIRST_WORDS.contains(&first)
        || [b4, b5, b6, b7] == [0; 4]
}

/// Builds the header to send from a plain header whose tag and DC id are already written, and
/// the client's streams (the outgoing one already past the 64 header bytes). Deterministic:
/// [`client_init`] calls it after drawing the random bytes; tests replay vectors with it.
pub fn client_header(
    init: &[u8; HEADER_LEN],
    secret: Option<&ProxySecret>,
) -> (Obfuscation, [u8; HEADER_LEN]) {
    let mut obfuscation = Obfuscation::new(&ObfuscationKeys::derive(init, secret));
    let mut encrypted = *init;
    obfuscation.encrypt(&mut encrypted);
    let mut header = *init;
    // Constant ranges inside 64-byte arrays: these cannot panic.
    header[56..].copy_from_slice(&encrypted[56..]);
    (obfuscation, header)
}

/// Starts an obfuscated client connection: draws the random header from `rng` (again while
/// [`is_forbidden`]), writes `tag` and `dc_id` (LE; +10000 for test DCs, negative for media;
/// `None` leaves those bytes random), and returns the streams and the 64 bytes to send first.
pub fn client_init(
    tag: ProtocolTag,
    dc_id: Option<i16>,
    secret: Option<&ProxySecret>,
    rng: &mut dyn FnMut(&mut [u8]),
) -> Result<(Obfuscation, [u8; HEADER_LEN]), TransportError> {
    let mut init = [0u8; HEADER_LEN];
    let mut attempts = 0;
    loop {
        if attempts == MAX_ATTEMPTS {
            return Err(TransportError::ForbiddenInit { attempts });
        }
        attempts += 1;
        rng(&mut init);
        if !is_forbidden(&init) {
            break;
        }
    }
    // Constant ranges inside a 64-byte array: these cannot panic.
    init[56..60].copy_from_slice(&tag.bytes());
    if let Some(dc) = dc_id {
        init[60..62].copy_from_slice(&dc.to_le_bytes());
    }
    Ok(client_header(&init, secret))
}

/// What a server learns from a client's obfuscation header.
#[derive(Debug)]
pub struct Accepted {
    /// The server's streams (the incoming one already past the 64 header bytes).
    pub obfuscation: Obfuscation,
    /// The framing the client announced.
    pub tag: ProtocolTag,
    /// The DC id in bytes 60..62 (random when the client did not set one).
    pub dc_id: i16,
}

/// Reads a received 64-byte header: derives the server's streams and decrypts the tag and DC
/// id. A tag that is not one of the three (wrong secret, or not obfuscated2) is an error.
pub fn server_accept(
    header: &[u8; HEADER_LEN],
    secret: Option<&ProxySecret>,
) -> Result<Accepted, TransportError> {
    // Bytes 8..56, the only ones the keys use, travel in the clear.
    let keys = ObfuscationKeys::derive(header, secret).for_server();
    let mut obfuscation = Obfuscation::new(&keys);
    let mut plain = *header;
    obfuscation.decrypt(&mut plain);
    let [.., t0, t1, t2, t3, d0, d1, _, _] = plain;
    let tag = [t0, t1, t2, t3];
    let tag = ProtocolTag::from_bytes(tag).ok_or(TransportError::BadProtocolTag { tag })?;
    Ok(Accepted {
        obfuscation,
        tag,
        dc_id: i16::from_le_bytes([d0, d1]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(draws: Vec<[u8; 64]>) -> impl FnMut(&mut [u8]) {
        let mut draws = draws.into_iter();
        move |buf: &mut [u8]| {
            let next = draws.next().unwrap_or([0x11; 64]);
            buf.copy_from_slice(&next[..buf.len()]);
        }
    }

    #[test]
    fn redraws_forbidden_headers() {
        for start in [
            &[0xef][..],
            b"HEAD",
            b"POST",
            b"GET ",
            b"OPTI",
            &[0x16, 0x03, 0x01, 0x02],
            &[0xdd; 4],
            &[0xee; 4],
        ] {
            let mut bad = [0x42u8; 64];
            bad[..start.len()].copy_from_slice(start);
            assert!(is_forbidden(&bad), "{start:02x?}");
            let mut rng = scripted(vec![bad, [0x42; 64]]);
            let (_, header) = client_init(ProtocolTag::Intermediate, None, None, &mut rng).unwrap();
            assert_eq!(header[..56], [0x42; 56]);
        }
        let mut zero_seq = [0x42u8; 64];
        zero_seq[4..8].fill(0);
        assert!(is_forbidden(&zero_seq));
        let mut always_bad = |buf: &mut [u8]| buf.fill(0xef);
        assert_eq!(
            client_init(ProtocolTag::Abridged, None, None, &mut always_bad).unwrap_err(),
            TransportError::ForbiddenInit { attempts: 1000 }
        );
    }

    #[test]
    fn server_reads_what_the_client_wrote() {
        let secret = ProxySecret::from_bytes(&[0x33; 16]).unwrap();
        let mut rng = scripted(vec![[0x5a; 64]]);
        let (mut client, header) = client_init(
            ProtocolTag::PaddedIntermediate,
            Some(-2),
            Some(&secret),
            &mut rng,
        )
        .unwrap();
        let mut server = server_accept(&header, Some(&secret)).unwrap();
        assert_eq!(server.tag, ProtocolTag::PaddedIntermediate);
        assert_eq!(server.dc_id, -2);

        let mut up = *b"client to server";
        client.encrypt(&mut up);
        server.obfuscation.decrypt(&mut up);
        assert_eq!(&up, b"client to server");
        let mut down = *b"server to client";
        server.obfuscation.encrypt(&mut down);
        client.decrypt(&mut down);
        assert_eq!(&down, b"server to client");

        assert!(matches!(
            server_accept(&header, None),
            Err(TransportError::BadProtocolTag { .. })
        ));
    }

    #[test]
    fn parses_proxy_secrets() {
        assert!(!ProxySecret::from_bytes(&[1; 16])
            .unwrap()
            .requires_padding());
        let mut dd = vec![0xdd];
        dd.extend_from_slice(&[0x99; 16]);
        let secret = ProxySecret::from_bytes(&dd).unwrap();
        assert!(secret.requires_padding());
        assert_eq!(secret.key(), &[0x99; 16]);
        let mut ee = vec![0xee];
        ee.extend_from_slice(&[0x99; 16]);
        assert_eq!(
            ProxySecret::from_bytes(&ee),
            Err(TransportError::BadProxySecret {
                len: 17,
                first: Some(0xee)
            })
        );
        assert!(ProxySecret::from_bytes(&[]).is_err());
    }
}
