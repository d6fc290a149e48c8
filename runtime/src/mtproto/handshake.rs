//! Sans-IO auth-key handshake (core.telegram.org/mtproto/auth_key): client and server state machines over TL bodies.
//!
//! Both sides take their randomness (`FnMut(&mut [u8])`, a CSPRNG in production) and their clock
//! (`FnMut() -> i64`, unix seconds) from the caller, so every step can be replayed against the
//! published example. [`Client::start`] gives the `req_pq_multi` body; each server answer goes to
//! [`Client::handle`], which returns the next body to send or the finished [`AuthKey`]. Bodies
//! travel in plain messages ([`plain_message`], [`parse_plain_message`]).
//!
//! The [`Server`] also accepts the older forms that Telegram's own apps and several libraries
//! still send: `req_pq` instead of `req_pq_multi`, `p_q_inner_data` (and `p_q_inner_data_temp`)
//! without a DC, and `p_q_inner_data` encrypted with the older RSA layout (SHA1(data) + data +
//! random padding to 255 bytes, raw RSA) instead of RSA_PAD; [`Server::inner_data`] says which
//! form a client used. A [`Client`] speaks the current forms unless given a [`ClientForm`].

use std::fmt;

use crate::crypto::{
    aes_ige_decrypt, aes_ige_encrypt, ct_eq, factorize_pq, is_prime_u64, rsa_pad, rsa_pad_unwrap,
    sha1, tmp_aes_key_iv, AesKeyIv, CryptoError, DhParams, RsaPrivateKey, RsaPublicKey, DH_LEN,
    KNOWN_DH_PRIME, RSA_LEN,
};
use crate::mtproto::schema::{enums, functions, types};
use crate::{DecodeError, Deserializable, Identifiable, Reader, Serializable};

/// How many `b` (or `a`) values are drawn before giving up when `g_b` falls outside the safe
/// range (each draw fails with a probability near 2^-1983).
const MAX_EXPONENT_DRAWS: u32 = 8;
/// How many `dh_gen_retry` answers the client follows before failing.
const MAX_RETRIES: u32 = 5;

/// Why a handshake step failed. Every check of the protocol has its own variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// A plain message was malformed (auth_key_id not 0, short, or a wrong length field).
    BadPlainMessage {
        /// What was wrong.
        reason: &'static str,
    },
    /// A message did not decode as the TL type expected at this step.
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's error.
        error: DecodeError,
    },
    /// `handle` was called before [`Client::start`].
    NotStarted,
    /// `handle` was called after the handshake finished or failed.
    Finished,
    /// `nonce` in a message differed from the one sent.
    NonceMismatch {
        /// The message that carried it.
        message: &'static str,
    },
    /// `server_nonce` in a message differed from the one in `resPQ`.
    ServerNonceMismatch {
        /// The message that carried it.
        message: &'static str,
    },
    /// None of the server's key fingerprints belongs to a known key.
    UnknownFingerprint {
        /// The fingerprints offered (client) or the one given (server).
        fingerprints: Vec<i64>,
    },
    /// `pq` was not an 8-byte product of two distinct odd primes, or `p`/`q` did not match it.
    BadPq {
        /// What was wrong.
        reason: &'static str,
    },
    /// RSA_PAD failed (encryption on the client, decryption on the server).
    Rsa(CryptoError),
    /// The server sent `server_DH_params_fail` (its `new_nonce_hash` was correct).
    ServerDhParamsFail,
    /// An encrypted answer or `encrypted_data` had a bad length (not a multiple of 16, or too short).
    BadEncryptedLength {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// The SHA1 at the start of a decrypted answer or `encrypted_data` did not match its content.
    AnswerHashMismatch {
        /// Which field.
        what: &'static str,
    },
    /// The padding after a decrypted TL object was not 0..15 bytes.
    BadPadding {
        /// Which field.
        what: &'static str,
        /// The number of bytes after the object.
        len: usize,
    },
    /// `dh_prime` was not a safe 2048-bit prime.
    BadDhPrime(CryptoError),
    /// `g` was not in 2..=7 or does not generate the subgroup of order `(p - 1) / 2`.
    BadGenerator(CryptoError),
    /// `g_a` (from the server) or `g_b` (from the client) was outside `2^1984 .. p - 2^1984`.
    DhValueOutOfRange {
        /// `"g_a"` or `"g_b"`.
        what: &'static str,
    },
    /// `new_nonce_hash` (N = 0 for `server_DH_params_fail`) or `new_nonce_hashN` differed from
    /// the value computed from `new_nonce` and the auth key.
    NewNonceHashMismatch {
        /// N.
        n: u8,
    },
    /// `retry_id` in `client_DH_inner_data` was neither 0 nor the last `auth_key_aux_hash`.
    BadRetryId,
    /// The server answered `dh_gen_fail`.
    DhGenFail,
    /// The server answered `dh_gen_retry` more often than the client accepts.
    TooManyRetries {
        /// Retries followed before giving up.
        retries: u32,
    },
    /// Every drawn exponent gave a public value outside the safe range (broken randomness).
    ExponentExhausted,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPlainMessage { reason } => write!(f, "bad plain message: {reason}"),
            Self::Decode { what, error } => write!(f, "could not decode {what}: {error}"),
            Self::NotStarted => write!(f, "the handshake was not started"),
            Self::Finished => write!(f, "the handshake already finished or failed"),
            Self::NonceMismatch { message } => {
                write!(f, "nonce in {message} differs from the one sent")
            }
            Self::ServerNonceMismatch { message } => {
                write!(f, "server_nonce in {message} differs from the one in resPQ")
            }
            Self::UnknownFingerprint { fingerprints } => {
                write!(f, "no known rsa key among fingerprints [")?;
                for (i, fp) in fingerprints.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{:#018x}", *fp as u64)?;
                }
                write!(f, "]")
            }
            Self::BadPq { reason } => write!(f, "bad pq: {reason}"),
            Self::Rsa(e) => write!(f, "rsa_pad failed: {e}"),
            Self::ServerDhParamsFail => write!(f, "the server answered server_DH_params_fail"),
            Self::BadEncryptedLength { what, len } => write!(
                f,
                "expected {what} to be a non-empty multiple of 16 bytes, got {len}"
            ),
            Self::AnswerHashMismatch { what } => {
                write!(f, "sha1 in {what} does not match the decrypted data")
            }
            Self::BadPadding { what, len } => {
                write!(f, "expected 0..15 padding bytes in {what}, got {len}")
            }
            Self::BadDhPrime(e) => write!(f, "bad dh_prime: {e}"),
            Self::BadGenerator(e) => write!(f, "bad g: {e}"),
            Self::DhValueOutOfRange { what } => write!(
                f,
                "expected 2^1984 < {what} < dh_prime - 2^1984, got a value outside"
            ),
            Self::NewNonceHashMismatch { n } => write!(f, "new_nonce_hash{n} does not match"),
            Self::BadRetryId => write!(
                f,
                "expected retry_id 0 or the last auth_key_aux_hash, got another value"
            ),
            Self::DhGenFail => write!(f, "the server answered dh_gen_fail"),
            Self::TooManyRetries { retries } => {
                write!(f, "the server asked for a retry after {retries} retries")
            }
            Self::ExponentExhausted => write!(
                f,
                "every drawn exponent gave a dh value outside the safe range"
            ),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// The result of a finished handshake.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey {
    /// `g_ab mod dh_prime`, 256 big-endian bytes.
    pub key: [u8; DH_LEN],
    /// SHA1(key)[12..20] read as a little-endian `long` (as sent in encrypted messages).
    pub id: i64,
    /// The first server salt: `new_nonce[0..8] XOR server_nonce[0..8]`, little-endian.
    pub server_salt: i64,
    /// `server_time - local time` when `server_DH_params_ok` arrived (0 on the server side).
    pub server_time_offset: i64,
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key itself.
        f.debug_struct("AuthKey")
            .field("id", &format_args!("{:#018x}", self.id as u64))
            .field("server_salt", &self.server_salt)
            .field("server_time_offset", &self.server_time_offset)
            .finish()
    }
}

/// What the client does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientStep {
    /// Send this TL body (in a plain message) and pass the answer to [`Client::handle`].
    Send(Vec<u8>),
    /// The key is ready (boxed: it is ten times the size of the other variant).
    Done(Box<AuthKey>),
}

/// Wraps a TL body in a plain (unencrypted) message: `auth_key_id = 0 | msg_id | length | body`.
pub fn plain_message(msg_id: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + body.len());
    out.extend_from_slice(&0i64.to_le_bytes());
    out.extend_from_slice(&msg_id.to_le_bytes());
    // Handshake bodies are far below 2^31 bytes; a larger one would be a caller bug.
    let len = i32::try_from(body.len()).unwrap_or(i32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Splits a plain message into its `msg_id` and body.
///
/// # Errors
///
/// [`HandshakeError::BadPlainMessage`] when `auth_key_id` is not 0 or the length field does not
/// match the bytes that follow (up to 15 extra bytes of transport padding are ignored).
pub fn parse_plain_message(bytes: &[u8]) -> Result<(i64, &[u8]), HandshakeError> {
    let bad = |reason| Err(HandshakeError::BadPlainMessage { reason });
    let Some((header, body)) = bytes.split_first_chunk::<20>() else {
        return bad("shorter than the 20-byte header");
    };
    // Fixed ranges of the 20-byte header.
    if header[..8].iter().any(|&b| b != 0) {
        return bad("auth_key_id is not 0");
    }
    let msg_id = i64::from_le_bytes(header[8..16].try_into().expect("8 header bytes"));
    let len = i32::from_le_bytes(header[16..].try_into().expect("4 header bytes"));
    // Up to 15 bytes may follow the body: the padded intermediate transport adds them.
    let Some(body) = usize::try_from(len)
        .ok()
        .filter(|&n| n <= body.len() && body.len() - n <= super::MAX_TRANSPORT_PADDING)
        .map(|n| &body[..n])
    else {
        return bad("length field does not match the body length");
    };
    Ok((msg_id, body))
}

fn decode<T: Deserializable>(what: &'static str, bytes: &[u8]) -> Result<T, HandshakeError> {
    T::from_bytes(bytes).map_err(|error| HandshakeError::Decode { what, error })
}

/// Minimal big-endian bytes of `n` (as `p`, `q` and `pq` are sent).
fn be_minimal(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    // skip <= 8: it counts bytes of `bytes`.
    bytes[skip..].to_vec()
}

/// A big-endian byte string of at most 8 bytes as a number.
fn be_u64(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

/// `SHA1(new_nonce + N + auth_key_aux_hash)[4..20]`.
fn new_nonce_hash(new_nonce: &[u8; 32], n: u8, auth_key: &[u8; DH_LEN]) -> [u8; 16] {
    let aux = sha1(&[auth_key]);
    let hash = sha1(&[new_nonce, &[n], &aux[..8]]);
    hash[4..].try_into().expect("16 of the 20 bytes of a SHA-1")
}

/// `SHA1(auth_key)[0..8]` as a `long`.
fn aux_hash(auth_key: &[u8; DH_LEN]) -> i64 {
    let hash = sha1(&[auth_key]);
    i64::from_le_bytes(hash[..8].try_into().expect("8 of the 20 bytes of a SHA-1"))
}

fn finish_key(
    key: [u8; DH_LEN],
    new_nonce: &[u8; 32],
    server_nonce: &[u8; 16],
    offset: i64,
) -> AuthKey {
    let hash = sha1(&[&key]);
    let id = i64::from_le_bytes(hash[12..].try_into().expect("8 of the 20 bytes of a SHA-1"));
    let mut salt = [0u8; 8];
    for ((s, a), b) in salt.iter_mut().zip(new_nonce).zip(server_nonce) {
        *s = a ^ b;
    }
    AuthKey {
        key,
        id,
        server_salt: i64::from_le_bytes(salt),
        server_time_offset: offset,
    }
}

/// `SHA1(data) + data + random padding` to a multiple of 16, encrypted with the tmp key.
fn encrypt_with_hash(data: &[u8], tmp: &AesKeyIv, random: &mut dyn FnMut(&mut [u8])) -> Vec<u8> {
    let mut out = sha1(&[data]).to_vec();
    out.extend_from_slice(data);
    let pad = (16 - out.len() % 16) % 16;
    let mut padding = [0u8; 16];
    let padding = &mut padding[..pad]; // pad < 16
    random(padding);
    out.extend_from_slice(padding);
    // The length is a multiple of 16 by construction, the only way IGE can fail.
    let _ = aes_ige_encrypt(&mut out, &tmp.key, &tmp.iv);
    out
}

/// Decrypts `SHA1(object) + object + padding` and decodes the object, checking the hash and
/// that 0..15 padding bytes follow.
fn decrypt_with_hash<T: Deserializable>(
    what: &'static str,
    encrypted: &[u8],
    tmp: &AesKeyIv,
) -> Result<T, HandshakeError> {
    if !encrypted.len().is_multiple_of(16) || encrypted.len() < 32 {
        return Err(HandshakeError::BadEncryptedLength {
            what,
            len: encrypted.len(),
        });
    }
    let mut plain = encrypted.to_vec();
    aes_ige_decrypt(&mut plain, &tmp.key, &tmp.iv).map_err(|_| {
        HandshakeError::BadEncryptedLength {
            what,
            len: encrypted.len(),
        }
    })?;
    // At least 32 bytes (checked above), so the 20-byte hash is there.
    let (hash, rest) = plain.split_at(20);
    let mut reader = Reader::new(rest);
    let parsed = T::deserialize(&mut reader);
    let used = reader.position();
    // Check the hash first when the object decoded, so a corrupted answer reports the hash.
    // The reader read `used` bytes of `rest`, so they are there.
    let object = &rest[..used];
    if !ct_eq(&sha1(&[object]), hash) {
        return Err(HandshakeError::AnswerHashMismatch { what });
    }
    let value = parsed.map_err(|error| HandshakeError::Decode { what, error })?;
    if reader.remaining() > 15 {
        return Err(HandshakeError::BadPadding {
            what,
            len: reader.remaining(),
        });
    }
    Ok(value)
}

fn draw_public(
    dh: &DhParams,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<([u8; DH_LEN], [u8; DH_LEN]), HandshakeError> {
    for _ in 0..MAX_EXPONENT_DRAWS {
        let mut exponent = [0u8; DH_LEN];
        random(&mut exponent);
        if let Ok(public) = dh.compute_g_b(&exponent) {
            return Ok((exponent, public));
        }
    }
    Err(HandshakeError::ExponentExhausted)
}

fn check_dh(g: i32, dh_prime: &[u8]) -> Result<DhParams, HandshakeError> {
    DhParams::new(g, dh_prime).map_err(|e| match e {
        CryptoError::DhGeneratorUnsupported { .. } | CryptoError::DhGeneratorNotResidue { .. } => {
            HandshakeError::BadGenerator(e)
        }
        other => HandshakeError::BadDhPrime(other),
    })
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

enum ClientState {
    Start,
    AwaitResPq {
        nonce: [u8; 16],
    },
    AwaitDhParams {
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        new_nonce: [u8; 32],
        /// `b` and `g^b` drawn by [`Client::precompute`] for the parameters the server is
        /// expected to send.
        early: Option<Box<EarlyExponent>>,
    },
    AwaitDhGen(Box<DhGenWait>),
    Finished,
}

/// A client exponent drawn before `server_DH_params` arrived, for [`KNOWN_DH_PRIME`] and `g`.
struct EarlyExponent {
    g: u32,
    b: [u8; DH_LEN],
    g_b: [u8; DH_LEN],
}

/// The generator a client expects with [`KNOWN_DH_PRIME`] when it draws its exponent early
/// (the one Telegram's servers send; another `g` only costs the early power).
const EXPECTED_G: u32 = 3;

struct DhGenWait {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
    dh: DhParams,
    g_a: Vec<u8>,
    tmp: AesKeyIv,
    /// The exponent of the last `set_client_DH_params`.
    b: [u8; DH_LEN],
    /// `g_a^b`, once computed (by [`Client::precompute`] or on the answer).
    auth_key: Option<[u8; DH_LEN]>,
    offset: i64,
    retries: u32,
}

impl DhGenWait {
    /// `g_a^b`, computed now if [`Client::precompute`] did not.
    fn auth_key(&mut self) -> Result<[u8; DH_LEN], HandshakeError> {
        if let Some(key) = self.auth_key {
            return Ok(key);
        }
        let key = self
            .dh
            .compute_auth_key(&self.g_a, &self.b)
            .map_err(|_| HandshakeError::DhValueOutOfRange { what: "g_a" })?;
        self.auth_key = Some(key);
        Ok(key)
    }
}

/// How a [`Client`] words its requests. [`ClientForm::CURRENT`] (the default) is what
/// core.telegram.org/mtproto/auth_key describes today; [`ClientForm::LEGACY`] is the older form
/// that Telegram's own apps and libraries such as Telethon and Pyrogram still send. The
/// [`Server`] accepts every combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientForm {
    /// Opens with `req_pq_multi` (true) or the older `req_pq` (false).
    pub req_pq_multi: bool,
    /// Sends `p_q_inner_data_dc` / `p_q_inner_data_temp_dc` (true) or the older
    /// `p_q_inner_data` / `p_q_inner_data_temp` without a DC (false).
    pub inner_with_dc: bool,
    /// Encrypts the inner data with RSA_PAD (true) or with the older layout (false):
    /// `SHA1(data) + data + random padding` to 255 bytes, raised to `e` with no other padding.
    pub rsa_pad: bool,
}

impl ClientForm {
    /// `req_pq_multi`, `p_q_inner_data_dc`, RSA_PAD.
    pub const CURRENT: Self = Self {
        req_pq_multi: true,
        inner_with_dc: true,
        rsa_pad: true,
    };
    /// `req_pq`, `p_q_inner_data` without a DC, the SHA1 layout with raw RSA.
    pub const LEGACY: Self = Self {
        req_pq_multi: false,
        inner_with_dc: false,
        rsa_pad: false,
    };
}

impl Default for ClientForm {
    fn default() -> Self {
        Self::CURRENT
    }
}

/// Most bytes of inner data the older RSA layout can carry: 255 bytes less the 20-byte SHA-1.
const LEGACY_RSA_MAX_DATA: usize = RSA_LEN - 1 - 20;

/// The older RSA layout: `SHA1(data) + data + random padding` to 255 bytes, as a big-endian
/// number below 2^2040 (so below any 2048-bit modulus), raised to `e`.
fn legacy_rsa_encrypt(
    data: &[u8],
    key: &RsaPublicKey,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<[u8; RSA_LEN], HandshakeError> {
    if data.len() > LEGACY_RSA_MAX_DATA {
        return Err(HandshakeError::Rsa(CryptoError::TooLong {
            what: "p_q_inner_data",
            max: LEGACY_RSA_MAX_DATA,
            len: data.len(),
        }));
    }
    let mut block = [0u8; RSA_LEN];
    block[1..21].copy_from_slice(&sha1(&[data]));
    block[21..21 + data.len()].copy_from_slice(data);
    random(&mut block[21 + data.len()..]);
    key.encrypt_raw(&block).map_err(HandshakeError::Rsa)
}

/// The client side of the handshake.
pub struct Client<R, C> {
    keys: Vec<RsaPublicKey>,
    dc: i32,
    expires_in: Option<i32>,
    form: ClientForm,
    random: R,
    clock: C,
    state: ClientState,
}

impl<R: FnMut(&mut [u8]), C: FnMut() -> i64> Client<R, C> {
    /// A client that knows the server `keys`, asks for a key for DC `dc` (+10000 for test
    /// DCs, negative for media DCs), draws bytes from `random` and reads unix time from `clock`.
    pub fn new(keys: Vec<RsaPublicKey>, dc: i32, random: R, clock: C) -> Self {
        Self {
            keys,
            dc,
            expires_in: None,
            form: ClientForm::CURRENT,
            random,
            clock,
            state: ClientState::Start,
        }
    }

    /// Words the requests as `form` says (the current form unless told otherwise).
    pub fn with_form(mut self, form: ClientForm) -> Self {
        self.form = form;
        self
    }

    /// Asks for a temporary key valid for `expires_in` seconds (`p_q_inner_data_temp_dc`).
    pub fn temporary(mut self, expires_in: i32) -> Self {
        self.expires_in = Some(expires_in);
        self
    }

    /// The `req_pq_multi` body that opens the handshake (a new nonce on each call); `req_pq`
    /// with [`ClientForm::req_pq_multi`] off.
    pub fn start(&mut self) -> Vec<u8> {
        let mut nonce = [0; 16];
        (self.random)(&mut nonce);
        self.state = ClientState::AwaitResPq { nonce };
        if self.form.req_pq_multi {
            functions::ReqPqMulti { nonce }.to_bytes()
        } else {
            functions::ReqPq { nonce }.to_bytes()
        }
    }

    /// Does now the arithmetic that the answer to the request just sent will need, so that it
    /// runs while the server works rather than after its answer: call it after sending a
    /// request and before waiting. Optional; [`Client::handle`] does whatever was not done.
    ///
    /// After `req_DH_params` it draws `b` and computes `g^b` for [`KNOWN_DH_PRIME`] and
    /// `g = 3` (used only if the server sends those); after `set_client_DH_params` it computes
    /// the auth key `g_a^b`, which the server computes from `g_b` at the same time. On two
    /// cores this takes the longest power of the client off the exchange's critical path.
    pub fn precompute(&mut self) {
        match &mut self.state {
            ClientState::AwaitDhParams { early, .. } if early.is_none() => {
                let Ok(dh) = DhParams::new(EXPECTED_G as i32, &KNOWN_DH_PRIME) else {
                    return;
                };
                if let Ok((b, g_b)) = draw_public(&dh, &mut self.random) {
                    *early = Some(Box::new(EarlyExponent {
                        g: EXPECTED_G,
                        b,
                        g_b,
                    }));
                }
            }
            ClientState::AwaitDhGen(wait) => {
                // An error here is found again, and returned, by `handle`.
                let _ = wait.auth_key();
            }
            _ => {}
        }
    }

    /// Handles one answer body from the server. Any error ends the handshake: start a new one.
    ///
    /// # Errors
    ///
    /// A [`HandshakeError`] naming the failed check.
    pub fn handle(&mut self, body: &[u8]) -> Result<ClientStep, HandshakeError> {
        let state = std::mem::replace(&mut self.state, ClientState::Finished);
        match state {
            ClientState::Start => {
                self.state = ClientState::Start;
                Err(HandshakeError::NotStarted)
            }
            ClientState::Finished => Err(HandshakeError::Finished),
            ClientState::AwaitResPq { nonce } => self.on_res_pq(nonce, body),
            ClientState::AwaitDhParams {
                nonce,
                server_nonce,
                new_nonce,
                early,
            } => self.on_server_dh_params(nonce, server_nonce, new_nonce, early, body),
            ClientState::AwaitDhGen(wait) => self.on_dh_gen(*wait, body),
        }
    }

    fn on_res_pq(&mut self, nonce: [u8; 16], body: &[u8]) -> Result<ClientStep, HandshakeError> {
        let enums::ResPq::ResPq(res) = decode::<enums::ResPq>("resPQ", body)?;
        if !ct_eq(&res.nonce, &nonce) {
            return Err(HandshakeError::NonceMismatch { message: "resPQ" });
        }
        let key = res
            .server_public_key_fingerprints
            .iter()
            .find_map(|&fp| self.keys.iter().find(|k| k.fingerprint() as i64 == fp))
            .ok_or_else(|| HandshakeError::UnknownFingerprint {
                fingerprints: res.server_public_key_fingerprints.clone(),
            })?;
        let pq = be_u64(&res.pq).ok_or(HandshakeError::BadPq {
            reason: "longer than 8 bytes",
        })?;
        let (p, q) = factorize_pq(pq).map_err(|_| HandshakeError::BadPq {
            reason: "not a product of two distinct odd primes",
        })?;
        let mut new_nonce = [0; 32];
        (self.random)(&mut new_nonce);
        let (pq_bytes, p_bytes, q_bytes) = (res.pq.clone(), be_minimal(p), be_minimal(q));
        let inner = match (self.expires_in, self.form.inner_with_dc) {
            (None, false) => types::PQInnerData {
                pq: pq_bytes,
                p: p_bytes.clone(),
                q: q_bytes.clone(),
                nonce,
                server_nonce: res.server_nonce,
                new_nonce,
            }
            .to_bytes(),
            (Some(expires_in), false) => types::PQInnerDataTemp {
                pq: pq_bytes,
                p: p_bytes.clone(),
                q: q_bytes.clone(),
                nonce,
                server_nonce: res.server_nonce,
                new_nonce,
                expires_in,
            }
            .to_bytes(),
            (None, true) => types::PQInnerDataDc {
                pq: pq_bytes,
                p: p_bytes.clone(),
                q: q_bytes.clone(),
                nonce,
                server_nonce: res.server_nonce,
                new_nonce,
                dc: self.dc,
            }
            .to_bytes(),
            (Some(expires_in), true) => types::PQInnerDataTempDc {
                pq: pq_bytes,
                p: p_bytes.clone(),
                q: q_bytes.clone(),
                nonce,
                server_nonce: res.server_nonce,
                new_nonce,
                dc: self.dc,
                expires_in,
            }
            .to_bytes(),
        };
        let encrypted = if self.form.rsa_pad {
            rsa_pad(&inner, key, &mut self.random).map_err(HandshakeError::Rsa)?
        } else {
            legacy_rsa_encrypt(&inner, key, &mut self.random)?
        };
        let request = functions::ReqDhParams {
            nonce,
            server_nonce: res.server_nonce,
            p: p_bytes,
            q: q_bytes,
            public_key_fingerprint: key.fingerprint() as i64,
            encrypted_data: encrypted.to_vec(),
        };
        self.state = ClientState::AwaitDhParams {
            nonce,
            server_nonce: res.server_nonce,
            new_nonce,
            early: None,
        };
        Ok(ClientStep::Send(request.to_bytes()))
    }

    fn on_server_dh_params(
        &mut self,
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        new_nonce: [u8; 32],
        early: Option<Box<EarlyExponent>>,
        body: &[u8],
    ) -> Result<ClientStep, HandshakeError> {
        const WHAT: &str = "server_DH_params";
        let ok = match decode::<enums::ServerDhParams>(WHAT, body)? {
            enums::ServerDhParams::Fail(fail) => {
                check_nonces(&fail.nonce, &fail.server_nonce, &nonce, &server_nonce, WHAT)?;
                let expected = sha1(&[&new_nonce]);
                if !ct_eq(&fail.new_nonce_hash, &expected[4..]) {
                    return Err(HandshakeError::NewNonceHashMismatch { n: 0 });
                }
                return Err(HandshakeError::ServerDhParamsFail);
            }
            enums::ServerDhParams::ServerDhParamsOk(ok) => ok,
        };
        check_nonces(&ok.nonce, &ok.server_nonce, &nonce, &server_nonce, WHAT)?;
        let tmp = tmp_aes_key_iv(&new_nonce, &server_nonce);
        let enums::ServerDhInnerData::ServerDhInnerData(inner) =
            decrypt_with_hash::<enums::ServerDhInnerData>(
                "server_DH_inner_data",
                &ok.encrypted_answer,
                &tmp,
            )?;
        check_nonces(
            &inner.nonce,
            &inner.server_nonce,
            &nonce,
            &server_nonce,
            "server_DH_inner_data",
        )?;
        let dh = check_dh(inner.g, &inner.dh_prime)?;
        dh.check_public(&inner.g_a, "g_a")
            .map_err(|_| HandshakeError::DhValueOutOfRange { what: "g_a" })?;
        let offset = i64::from(inner.server_time) - (self.clock)();
        // The early exponent fits only the parameters it was drawn for.
        let early = early.filter(|e| dh.known_prime() && dh.g() == e.g);
        let wait = DhGenWait {
            nonce,
            server_nonce,
            new_nonce,
            dh,
            g_a: inner.g_a,
            tmp,
            b: [0; DH_LEN],
            auth_key: None,
            offset,
            retries: 0,
        };
        self.send_client_dh(wait, 0, early)
    }

    /// Draws `b` (or takes the early one) and builds `set_client_DH_params`; the key `g_a^b`
    /// is left to [`Client::precompute`] or to the answer, so that the request goes out first.
    fn send_client_dh(
        &mut self,
        mut wait: DhGenWait,
        retry_id: i64,
        early: Option<Box<EarlyExponent>>,
    ) -> Result<ClientStep, HandshakeError> {
        let (b, g_b) = match early {
            Some(e) => (e.b, e.g_b),
            None => draw_public(&wait.dh, &mut self.random)?,
        };
        wait.b = b;
        wait.auth_key = None;
        let inner = types::ClientDhInnerData {
            nonce: wait.nonce,
            server_nonce: wait.server_nonce,
            retry_id,
            g_b: g_b.to_vec(),
        }
        .to_bytes();
        let encrypted_data = encrypt_with_hash(&inner, &wait.tmp, &mut self.random);
        let request = functions::SetClientDhParams {
            nonce: wait.nonce,
            server_nonce: wait.server_nonce,
            encrypted_data,
        };
        self.state = ClientState::AwaitDhGen(Box::new(wait));
        Ok(ClientStep::Send(request.to_bytes()))
    }

    fn on_dh_gen(
        &mut self,
        mut wait: DhGenWait,
        body: &[u8],
    ) -> Result<ClientStep, HandshakeError> {
        const WHAT: &str = "Set_client_DH_params_answer";
        let answer = decode::<enums::SetClientDhParamsAnswer>(WHAT, body)?;
        let (nonce, server_nonce, hash, n) = match &answer {
            enums::SetClientDhParamsAnswer::DhGenOk(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash1, 1)
            }
            enums::SetClientDhParamsAnswer::DhGenRetry(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash2, 2)
            }
            enums::SetClientDhParamsAnswer::DhGenFail(a) => {
                (a.nonce, a.server_nonce, a.new_nonce_hash3, 3)
            }
        };
        check_nonces(&nonce, &server_nonce, &wait.nonce, &wait.server_nonce, WHAT)?;
        let auth_key = wait.auth_key()?;
        if !ct_eq(&hash, &new_nonce_hash(&wait.new_nonce, n, &auth_key)) {
            return Err(HandshakeError::NewNonceHashMismatch { n });
        }
        match n {
            1 => Ok(ClientStep::Done(Box::new(finish_key(
                auth_key,
                &wait.new_nonce,
                &wait.server_nonce,
                wait.offset,
            )))),
            2 => {
                if wait.retries >= MAX_RETRIES {
                    return Err(HandshakeError::TooManyRetries {
                        retries: wait.retries,
                    });
                }
                wait.retries += 1;
                let retry_id = aux_hash(&auth_key);
                self.send_client_dh(wait, retry_id, None)
            }
            _ => Err(HandshakeError::DhGenFail),
        }
    }
}

impl<R, C> fmt::Debug for Client<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            ClientState::Start => "start",
            ClientState::AwaitResPq { .. } => "await resPQ",
            ClientState::AwaitDhParams { .. } => "await server_DH_params",
            ClientState::AwaitDhGen(_) => "await dh_gen",
            ClientState::Finished => "finished",
        };
        f.debug_struct("Client")
            .field("dc", &self.dc)
            .field("state", &state)
            .finish()
    }
}

fn check_nonces(
    nonce: &[u8; 16],
    server_nonce: &[u8; 16],
    expected_nonce: &[u8; 16],
    expected_server_nonce: &[u8; 16],
    message: &'static str,
) -> Result<(), HandshakeError> {
    if !ct_eq(nonce, expected_nonce) {
        return Err(HandshakeError::NonceMismatch { message });
    }
    if !ct_eq(server_nonce, expected_server_nonce) {
        return Err(HandshakeError::ServerNonceMismatch { message });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------

enum ServerState {
    AwaitReqPq,
    AwaitReqDh {
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        pq: u64,
        p: u64,
        q: u64,
        /// `a` and `g^a`, drawn by [`Server::precompute`].
        early: Option<Box<([u8; DH_LEN], [u8; DH_LEN])>>,
    },
    AwaitClientDh(Box<ClientDhWait>),
    Finished,
}

struct ClientDhWait {
    nonce: [u8; 16],
    server_nonce: [u8; 16],
    new_nonce: [u8; 32],
    a: [u8; DH_LEN],
    tmp: AesKeyIv,
}

/// What a client asked for and how it worded it, as the [`Server`] read it from `req_pq*` and
/// the decrypted `p_q_inner_data*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InnerDataInfo {
    /// The DC in `p_q_inner_data_dc` / `_temp_dc`; `None` for the forms without one.
    pub dc: Option<i32>,
    /// `expires_in` of a temporary key (`p_q_inner_data_temp*`); `None` for a permanent key.
    pub expires_in: Option<i32>,
    /// The form: which `req_pq`, which inner constructor, which RSA layout.
    pub form: ClientForm,
}

/// The server side of one handshake (one connection), for tests and in-memory servers.
pub struct Server<R, C> {
    key: RsaPrivateKey,
    dh: DhParams,
    primes: Option<(u64, u64)>,
    random: R,
    clock: C,
    state: ServerState,
    auth_key: Option<AuthKey>,
    req_pq_multi: bool,
    inner: Option<InnerDataInfo>,
}

impl<R: FnMut(&mut [u8]), C: FnMut() -> i64> Server<R, C> {
    /// A server with its RSA `key`, DH parameters `g` and `dh_prime` (checked here), drawing
    /// bytes from `random` and reading unix time from `clock`.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::BadDhPrime`] or [`HandshakeError::BadGenerator`].
    pub fn new(
        key: RsaPrivateKey,
        dh_prime: &[u8],
        g: i32,
        random: R,
        clock: C,
    ) -> Result<Self, HandshakeError> {
        Ok(Self {
            key,
            dh: check_dh(g, dh_prime)?,
            primes: None,
            random,
            clock,
            state: ServerState::AwaitReqPq,
            auth_key: None,
            req_pq_multi: true,
            inner: None,
        })
    }

    /// Uses the distinct odd primes `p` and `q` for `pq` instead of drawing two 31-bit primes.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::BadPq`] when they are not distinct primes whose product fits 63 bits.
    pub fn with_primes(mut self, p: u64, q: u64) -> Result<Self, HandshakeError> {
        let ok = p != q
            && is_prime_u64(p)
            && is_prime_u64(q)
            && p > 2
            && q > 2
            && p.checked_mul(q).is_some_and(|pq| pq < 1 << 63);
        if !ok {
            return Err(HandshakeError::BadPq {
                reason: "expected two distinct odd primes with a product below 2^63",
            });
        }
        self.primes = Some((p.min(q), p.max(q)));
        Ok(self)
    }

    /// The key, once `dh_gen_ok` was sent.
    pub fn auth_key(&self) -> Option<&AuthKey> {
        self.auth_key.as_ref()
    }

    /// What the client asked for (DC, temporary or permanent key) and which form it used, once
    /// its `req_DH_params` was accepted.
    pub fn inner_data(&self) -> Option<InnerDataInfo> {
        self.inner
    }

    /// Does now the arithmetic that the client's next request will need: after `resPQ` it
    /// draws `a` and computes `g^a`, while the client factors `pq` and encrypts its inner data.
    /// Call it after sending an answer and before waiting; optional, as [`Server::handle`]
    /// does whatever was not done.
    pub fn precompute(&mut self) {
        if let ServerState::AwaitReqDh { early, .. } = &mut self.state {
            if early.is_none() {
                *early = draw_public(&self.dh, &mut self.random).ok().map(Box::new);
            }
        }
    }

    /// Handles one request body from the client and returns the answer body.
    /// Any error ends the handshake.
    ///
    /// # Errors
    ///
    /// A [`HandshakeError`] naming the failed check.
    pub fn handle(&mut self, body: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        let state = std::mem::replace(&mut self.state, ServerState::Finished);
        match state {
            ServerState::Finished => Err(HandshakeError::Finished),
            ServerState::AwaitReqPq => self.on_req_pq(body),
            ServerState::AwaitReqDh {
                nonce,
                server_nonce,
                pq,
                p,
                q,
                early,
            } => self.on_req_dh(nonce, server_nonce, (pq, p, q), early, body),
            ServerState::AwaitClientDh(wait) => self.on_client_dh(*wait, body),
        }
    }

    /// The first prime from a random odd start in `2^30 + 2^29 .. 2^31` (prime gaps there are
    /// a few hundred at most, so the search ends quickly and stays far below 2^32).
    fn draw_prime(&mut self) -> u64 {
        let mut bytes = [0u8; 4];
        (self.random)(&mut bytes);
        next_prime(u64::from(u32::from_le_bytes(bytes) | 0xC000_0001) >> 1 | 1)
    }

    fn on_req_pq(&mut self, body: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        // req_pq (older) and req_pq_multi have the same field and the same answer.
        let nonce = if body.get(..4) == Some(&functions::ReqPq::CONSTRUCTOR_ID.to_le_bytes()) {
            self.req_pq_multi = false;
            decode::<functions::ReqPq>("req_pq", body)?.nonce
        } else {
            decode::<functions::ReqPqMulti>("req_pq_multi", body)?.nonce
        };
        let mut server_nonce = [0; 16];
        (self.random)(&mut server_nonce);
        let (p, q) = match self.primes {
            Some(primes) => primes,
            None => {
                let a = self.draw_prime();
                let mut b = self.draw_prime();
                if a == b {
                    b = next_prime(b + 2);
                }
                (a.min(b), a.max(b))
            }
        };
        // with_primes and draw_prime keep the product below 2^63.
        let pq = p.wrapping_mul(q);
        let answer = types::ResPq {
            nonce,
            server_nonce,
            pq: be_minimal(pq),
            server_public_key_fingerprints: vec![self.key.public_key().fingerprint() as i64],
        };
        self.state = ServerState::AwaitReqDh {
            nonce,
            server_nonce,
            pq,
            p,
            q,
            early: None,
        };
        Ok(answer.to_bytes())
    }

    fn on_req_dh(
        &mut self,
        nonce: [u8; 16],
        server_nonce: [u8; 16],
        (pq, p, q): (u64, u64, u64),
        early: Option<Box<([u8; DH_LEN], [u8; DH_LEN])>>,
        body: &[u8],
    ) -> Result<Vec<u8>, HandshakeError> {
        const WHAT: &str = "req_DH_params";
        let req = decode::<functions::ReqDhParams>(WHAT, body)?;
        check_nonces(&req.nonce, &req.server_nonce, &nonce, &server_nonce, WHAT)?;
        let fingerprint = self.key.public_key().fingerprint() as i64;
        if req.public_key_fingerprint != fingerprint {
            return Err(HandshakeError::UnknownFingerprint {
                fingerprints: vec![req.public_key_fingerprint],
            });
        }
        if be_u64(&req.p) != Some(p) || be_u64(&req.q) != Some(q) {
            return Err(HandshakeError::BadPq {
                reason: "p or q differs from the factors of pq",
            });
        }
        let (inner, rsa_pad) = self.decrypt_inner_data(&req.encrypted_data)?;
        let (i_pq, i_p, i_q, i_nonce, i_server_nonce, new_nonce) = match &inner {
            enums::PQInnerData::PQInnerData(d) => {
                (&d.pq, &d.p, &d.q, d.nonce, d.server_nonce, d.new_nonce)
            }
            enums::PQInnerData::Temp(d) => {
                (&d.pq, &d.p, &d.q, d.nonce, d.server_nonce, d.new_nonce)
            }
            enums::PQInnerData::Dc(d) => (&d.pq, &d.p, &d.q, d.nonce, d.server_nonce, d.new_nonce),
            enums::PQInnerData::TempDc(d) => {
                (&d.pq, &d.p, &d.q, d.nonce, d.server_nonce, d.new_nonce)
            }
        };
        let (dc, expires_in) = match &inner {
            enums::PQInnerData::PQInnerData(_) => (None, None),
            enums::PQInnerData::Temp(d) => (None, Some(d.expires_in)),
            enums::PQInnerData::Dc(d) => (Some(d.dc), None),
            enums::PQInnerData::TempDc(d) => (Some(d.dc), Some(d.expires_in)),
        };
        check_nonces(
            &i_nonce,
            &i_server_nonce,
            &nonce,
            &server_nonce,
            "p_q_inner_data",
        )?;
        if be_u64(i_pq) != Some(pq) || be_u64(i_p) != Some(p) || be_u64(i_q) != Some(q) {
            return Err(HandshakeError::BadPq {
                reason: "pq, p or q in p_q_inner_data differs from the ones sent",
            });
        }
        self.inner = Some(InnerDataInfo {
            dc,
            expires_in,
            form: ClientForm {
                req_pq_multi: self.req_pq_multi,
                inner_with_dc: dc.is_some(),
                rsa_pad,
            },
        });
        let (a, g_a) = match early {
            Some(early) => *early,
            None => draw_public(&self.dh, &mut self.random)?,
        };
        let tmp = tmp_aes_key_iv(&new_nonce, &server_nonce);
        let server_time = i32::try_from((self.clock)()).unwrap_or(i32::MAX);
        let answer = types::ServerDhInnerData {
            nonce,
            server_nonce,
            g: i32::try_from(self.dh.g()).unwrap_or(0),
            dh_prime: self.dh.prime().to_vec(),
            g_a: g_a.to_vec(),
            server_time,
        }
        .to_bytes();
        let encrypted_answer = encrypt_with_hash(&answer, &tmp, &mut self.random);
        self.state = ServerState::AwaitClientDh(Box::new(ClientDhWait {
            nonce,
            server_nonce,
            new_nonce,
            a,
            tmp,
        }));
        Ok(types::ServerDhParamsOk {
            nonce,
            server_nonce,
            encrypted_answer,
        }
        .to_bytes())
    }

    /// Decrypts `encrypted_data` of `req_DH_params` in either RSA layout and decodes the inner
    /// data; the flag is true for RSA_PAD. The older layout is tried first: its block starts
    /// with a zero byte and the SHA-1 of the object that follows, which RSA_PAD output matches
    /// with a probability near 2^-168.
    fn decrypt_inner_data(
        &self,
        encrypted: &[u8],
    ) -> Result<(enums::PQInnerData, bool), HandshakeError> {
        const WHAT: &str = "p_q_inner_data";
        let block = self
            .key
            .decrypt_raw(encrypted)
            .map_err(HandshakeError::Rsa)?;
        if let [0, rest @ ..] = &block[..] {
            let (hash, data) = rest.split_at(20); // rest holds 255 bytes
            let mut reader = Reader::new(data);
            if let Ok(inner) = enums::PQInnerData::deserialize(&mut reader) {
                // The reader read `position()` bytes of `data`, so they are there.
                if ct_eq(&sha1(&[&data[..reader.position()]]), hash) {
                    return Ok((inner, false));
                }
            }
        }
        // One RSA power for both layouts: RSA_PAD unwraps the block decrypted above.
        let data = rsa_pad_unwrap(block).map_err(HandshakeError::Rsa)?;
        let mut reader = Reader::new(&data);
        let inner = enums::PQInnerData::deserialize(&mut reader)
            .map_err(|error| HandshakeError::Decode { what: WHAT, error })?;
        Ok((inner, true))
    }

    fn on_client_dh(&mut self, wait: ClientDhWait, body: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        const WHAT: &str = "set_client_DH_params";
        let req = decode::<functions::SetClientDhParams>(WHAT, body)?;
        check_nonces(
            &req.nonce,
            &req.server_nonce,
            &wait.nonce,
            &wait.server_nonce,
            WHAT,
        )?;
        let enums::ClientDhInnerData::ClientDhInnerData(inner) =
            decrypt_with_hash::<enums::ClientDhInnerData>(
                "client_DH_inner_data",
                &req.encrypted_data,
                &wait.tmp,
            )?;
        check_nonces(
            &inner.nonce,
            &inner.server_nonce,
            &wait.nonce,
            &wait.server_nonce,
            "client_DH_inner_data",
        )?;
        if inner.retry_id != 0 {
            return Err(HandshakeError::BadRetryId);
        }
        let key = self
            .dh
            .compute_auth_key(&inner.g_b, &wait.a)
            .map_err(|_| HandshakeError::DhValueOutOfRange { what: "g_b" })?;
        let answer = types::DhGenOk {
            nonce: wait.nonce,
            server_nonce: wait.server_nonce,
            new_nonce_hash1: new_nonce_hash(&wait.new_nonce, 1, &key),
        };
        self.auth_key = Some(finish_key(key, &wait.new_nonce, &wait.server_nonce, 0));
        Ok(answer.to_bytes())
    }
}

impl<R, C> fmt::Debug for Server<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            ServerState::AwaitReqPq => "await req_pq_multi or req_pq",
            ServerState::AwaitReqDh { .. } => "await req_DH_params",
            ServerState::AwaitClientDh(_) => "await set_client_DH_params",
            ServerState::Finished => "finished",
        };
        f.debug_struct("Server")
            .field("key", &self.key)
            .field("state", &state)
            .finish()
    }
}

/// The smallest prime at or above the odd number `n` (callers pass `n < 2^32`).
fn next_prime(mut n: u64) -> u64 {
    while !is_prime_u64(n) {
        n += 2;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_messages_round_trip_and_reject_bad_headers() {
        let message = plain_message(0x6777E5EB00059760, &[1, 2, 3, 4]);
        assert_eq!(
            parse_plain_message(&message),
            Ok((0x6777E5EB00059760, &[1u8, 2, 3, 4][..]))
        );
        assert!(parse_plain_message(&message[..19]).is_err());
        assert!(parse_plain_message(&message[..23]).is_err());
        // Transport padding (padded intermediate) after the body is ignored, up to 15 bytes.
        let padded = [message.as_slice(), &[0xAA; 15]].concat();
        assert_eq!(parse_plain_message(&padded), parse_plain_message(&message));
        assert!(parse_plain_message(&[message.as_slice(), &[0xAA; 16]].concat()).is_err());
        let mut keyed = message.clone();
        keyed[0] = 1;
        assert!(parse_plain_message(&keyed).is_err());
    }

    #[test]
    fn small_primes_are_recognised() {
        assert!(is_prime_u64(1141464581) && is_prime_u64(1202243663));
        assert!(!is_prime_u64(1372318559046200203));
        assert!(!is_prime_u64(1) && is_prime_u64(2) && !is_prime_u64(3215031751));
        assert_eq!(be_minimal(1141464581), [0x44, 0x09, 0x5E, 0x05]);
        assert_eq!(be_u64(&[0x44, 0x09, 0x5E, 0x05]), Some(1141464581));
    }

    use crate::crypto::{sha256, KNOWN_DH_PRIME};
    use num_bigint::BigUint;

    /// Deterministic bytes (SHA-256 in counter mode) for replayable exchanges.
    fn seeded(seed: &'static [u8]) -> impl FnMut(&mut [u8]) {
        let mut counter = 0u64;
        move |out: &mut [u8]| {
            for chunk in out.chunks_mut(32) {
                counter += 1;
                let block = sha256(&[seed, &counter.to_le_bytes()]);
                chunk.copy_from_slice(&block[..chunk.len()]);
            }
        }
    }

    /// A 1024-bit probable prime (Miller–Rabin, 12 bases) searched upwards from a seed.
    fn seeded_prime(seed: &[u8]) -> BigUint {
        let bytes: Vec<u8> = (0..4u8).flat_map(|i| sha256(&[seed, &[i]])).collect();
        let mut n = BigUint::from_bytes_be(&bytes);
        n.set_bit(1023, true);
        n.set_bit(1022, true);
        n.set_bit(0, true);
        let one = BigUint::from(1u32);
        // Prime gaps near 2^1024 average about 710; 100,000 steps is a broken search.
        for _ in 0..100_000 {
            let n1 = &n - &one;
            let s = n1.trailing_zeros().unwrap_or(0);
            let d = &n1 >> s;
            let bases = [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
            let prime = bases.iter().all(|&b| &n % b != BigUint::from(0u32))
                && bases.iter().all(|&a| {
                    let mut x = BigUint::from(a).modpow(&d, &n);
                    if x == one || x == n1 {
                        return true;
                    }
                    (1..s).any(|_| {
                        x = &x * &x % &n;
                        x == n1
                    })
                });
            if prime {
                return n;
            }
            n += 2u32;
        }
        panic!("no prime near the seed")
    }

    fn test_key() -> RsaPrivateKey {
        static KEY: std::sync::OnceLock<RsaPrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            let (p, q) = (seeded_prime(b"forms p"), seeded_prime(b"forms q"));
            RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &[1, 0, 1]).unwrap()
        })
        .clone()
    }

    fn new_server(key: RsaPrivateKey) -> Server<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
        Server::new(key, &KNOWN_DH_PRIME, 3, seeded(b"server"), || 1_700_000_000).unwrap()
    }

    /// Runs a whole exchange with a client speaking `form`; returns what the server read.
    fn exchange(form: ClientForm, expires_in: Option<i32>) -> InnerDataInfo {
        let key = test_key();
        let mut client = Client::new(vec![key.public_key().clone()], 2, seeded(b"client"), || {
            1_700_000_000
        })
        .with_form(form);
        if let Some(expires_in) = expires_in {
            client = client.temporary(expires_in);
        }
        let mut server = new_server(key);
        let mut to_server = client.start();
        let expected_id = if form.req_pq_multi {
            functions::ReqPqMulti::CONSTRUCTOR_ID
        } else {
            functions::ReqPq::CONSTRUCTOR_ID
        };
        assert_eq!(to_server[..4], expected_id.to_le_bytes());
        for _ in 0..3 {
            let answer = server.handle(&to_server).unwrap();
            match client.handle(&answer).unwrap() {
                ClientStep::Send(body) => to_server = body,
                ClientStep::Done(key) => {
                    assert_eq!(key.key, server.auth_key().unwrap().key);
                    return server.inner_data().unwrap();
                }
            }
        }
        panic!("no key after three round trips")
    }

    /// Runs a whole exchange with generator `g`, calling `precompute` on both sides after each
    /// send when asked; returns the key both sides agreed on.
    fn exchange_precomputing(g: i32, precompute: bool) -> [u8; DH_LEN] {
        let key = test_key();
        let mut client = Client::new(vec![key.public_key().clone()], 2, seeded(b"client"), || {
            1_700_000_000
        });
        let mut server =
            Server::new(key, &KNOWN_DH_PRIME, g, seeded(b"server"), || 1_700_000_000).unwrap();
        let mut to_server = client.start();
        for _ in 0..3 {
            if precompute {
                client.precompute();
            }
            let answer = server.handle(&to_server).unwrap();
            if precompute {
                server.precompute();
            }
            match client.handle(&answer).unwrap() {
                ClientStep::Send(body) => to_server = body,
                ClientStep::Done(key) => {
                    assert_eq!(key.key, server.auth_key().unwrap().key);
                    return key.key;
                }
            }
        }
        panic!("no key after three round trips")
    }

    #[test]
    fn precomputing_changes_when_the_powers_run_not_what_they_give() {
        // Both sides draw their exponents in the same order either way, so the same seeds give
        // the same key: the early g^b and g^a are the ones used.
        assert_eq!(
            exchange_precomputing(3, true),
            exchange_precomputing(3, false)
        );
    }

    #[test]
    fn an_early_exponent_for_another_generator_is_dropped() {
        // The client draws its early exponent for g = 3; a server using another generator of
        // the known prime still gets a correct exchange (the client draws again).
        let other = (2..=7)
            .filter(|&g| g != 3)
            .find(|&g| DhParams::new(g, &KNOWN_DH_PRIME).is_ok())
            .expect("another generator of the known prime");
        let precomputed = exchange_precomputing(other, true);
        assert_ne!(precomputed, exchange_precomputing(other, false));
    }

    #[test]
    fn accepts_the_current_form() {
        let info = exchange(ClientForm::CURRENT, None);
        assert_eq!(
            info,
            InnerDataInfo {
                dc: Some(2),
                expires_in: None,
                form: ClientForm::CURRENT
            }
        );
    }

    #[test]
    fn accepts_temp_dc_keys() {
        let info = exchange(ClientForm::CURRENT, Some(3600));
        assert_eq!((info.dc, info.expires_in), (Some(2), Some(3600)));
    }

    #[test]
    fn accepts_the_legacy_form_req_pq_p_q_inner_data_and_sha1_rsa() {
        let info = exchange(ClientForm::LEGACY, None);
        assert_eq!(
            info,
            InnerDataInfo {
                dc: None,
                expires_in: None,
                form: ClientForm::LEGACY
            }
        );
    }

    #[test]
    fn accepts_legacy_temp_keys_without_a_dc() {
        let info = exchange(ClientForm::LEGACY, Some(86400));
        assert_eq!((info.dc, info.expires_in), (None, Some(86400)));
        assert!(!info.form.rsa_pad);
    }

    #[test]
    fn accepts_req_pq_with_the_current_inner_data() {
        let form = ClientForm {
            req_pq_multi: false,
            ..ClientForm::CURRENT
        };
        assert_eq!(exchange(form, None).form, form);
    }

    #[test]
    fn accepts_p_q_inner_data_without_dc_under_rsa_pad() {
        let form = ClientForm {
            inner_with_dc: false,
            ..ClientForm::CURRENT
        };
        assert_eq!(exchange(form, None).form, form);
    }

    #[test]
    fn accepts_p_q_inner_data_dc_under_the_sha1_layout() {
        let form = ClientForm {
            rsa_pad: false,
            ..ClientForm::CURRENT
        };
        let info = exchange(form, Some(60));
        assert_eq!(
            (info.form, info.dc, info.expires_in),
            (form, Some(2), Some(60))
        );
    }

    /// The older layout built by hand the way Python libraries do it (an integer power on the
    /// 255-byte block, no runtime code on the client side), then a tampered copy.
    #[test]
    fn reads_a_hand_made_sha1_layout_block_and_refuses_a_tampered_one() {
        let key = test_key();
        let mut server = new_server(key.clone());
        let res = server
            .handle(&functions::ReqPq { nonce: [5; 16] }.to_bytes())
            .unwrap();
        let enums::ResPq::ResPq(res) = enums::ResPq::from_bytes(&res).unwrap();
        let pq = be_u64(&res.pq).unwrap();
        let (p, q) = factorize_pq(pq).unwrap();
        let data = types::PQInnerData {
            pq: res.pq.clone(),
            p: be_minimal(p),
            q: be_minimal(q),
            nonce: [5; 16],
            server_nonce: res.server_nonce,
            new_nonce: [9; 32],
        }
        .to_bytes();
        let mut block = sha1(&[&data]).to_vec();
        block.extend_from_slice(&data);
        block.resize(255, 0x5a);
        let n = BigUint::from_bytes_be(&key.public_key().n());
        let e = BigUint::from_bytes_be(&key.public_key().e());
        let cipher = BigUint::from_bytes_be(&block).modpow(&e, &n).to_bytes_be();
        let mut encrypted = vec![0u8; 256 - cipher.len()];
        encrypted.extend_from_slice(&cipher);
        let request = |encrypted_data: Vec<u8>| {
            functions::ReqDhParams {
                nonce: [5; 16],
                server_nonce: res.server_nonce,
                p: be_minimal(p),
                q: be_minimal(q),
                public_key_fingerprint: key.public_key().fingerprint() as i64,
                encrypted_data,
            }
            .to_bytes()
        };
        // A flipped bit in the data breaks its SHA-1: neither layout reads it.
        let mut tampered_block = block.clone();
        tampered_block[40] ^= 1;
        let tampered = BigUint::from_bytes_be(&tampered_block)
            .modpow(&e, &n)
            .to_bytes_be();
        let mut tampered_data = vec![0u8; 256 - tampered.len()];
        tampered_data.extend_from_slice(&tampered);
        let mut copy = new_server(key.clone());
        copy.handle(&functions::ReqPq { nonce: [5; 16] }.to_bytes())
            .unwrap();
        // The copy drew the same server nonce and primes (same seed), so the request fits it.
        assert!(copy.handle(&request(tampered_data)).is_err());

        let answer = server.handle(&request(encrypted)).unwrap();
        assert!(matches!(
            enums::ServerDhParams::from_bytes(&answer).unwrap(),
            enums::ServerDhParams::ServerDhParamsOk(_)
        ));
        assert_eq!(server.inner_data().unwrap().form, ClientForm::LEGACY);
    }
}
