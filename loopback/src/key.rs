//! The server's RSA key: generation, PEM reading and writing (PKCS#1, and PKCS#8 for reading).
//!
//! Keys are 2048-bit with `e = 65537`, built from their primes so that decryption uses the
//! Chinese remainder theorem. Reading is bounded: every DER length is checked against the bytes
//! that remain before anything is taken.

use std::fmt;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, Zero};
use tlgen_runtime::crypto::{CryptoError, RsaPrivateKey, RsaPublicKey};

/// Why a key could not be read or built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// No `-----BEGIN ... PRIVATE KEY-----` block, or bad base64 inside.
    Pem(&'static str),
    /// The DER inside the PEM block is malformed.
    Der(&'static str),
    /// The numbers do not make a usable 2048-bit RSA key.
    Rsa(CryptoError),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pem(what) => write!(f, "bad PEM: {what}"),
            Self::Der(what) => write!(f, "bad DER in the PEM block: {what}"),
            Self::Rsa(e) => write!(f, "not a usable RSA key: {e}"),
        }
    }
}

impl std::error::Error for KeyError {}

/// A server key with the numbers a PEM file holds.
#[derive(Clone)]
pub struct KeyPair {
    key: RsaPrivateKey,
    p: BigUint,
    q: BigUint,
    e: BigUint,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The primes are secret: only the key's Debug (its fingerprint) is printed.
        f.debug_struct("KeyPair").field("key", &self.key).finish()
    }
}

impl KeyPair {
    /// A fresh 2048-bit key from two random 1024-bit primes (0.1-0.3 s with num-bigint built
    /// at opt-level 1, as this workspace's dev profile does).
    pub fn generate() -> Self {
        let e = BigUint::from(65537u32);
        // Each attempt succeeds unless the primes are equal or e divides p-1 or q-1, which is
        // rare; 64 attempts failing means a broken random source.
        for _ in 0..64 {
            let p = random_prime(1024, &e);
            let q = random_prime(1024, &e);
            if let Ok(pair) = Self::from_primes(p, q, e.clone()) {
                return pair;
            }
        }
        panic!("64 pairs of random primes gave no RSA key: the random source is broken")
    }

    /// A key from its primes and public exponent.
    ///
    /// # Errors
    ///
    /// [`KeyError::Rsa`] when they do not make a 2048-bit key.
    pub fn from_primes(p: BigUint, q: BigUint, e: BigUint) -> Result<Self, KeyError> {
        let key = RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &e.to_bytes_be())
            .map_err(KeyError::Rsa)?;
        Ok(Self { key, p, q, e })
    }

    /// Reads a PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`) PEM block.
    ///
    /// # Errors
    ///
    /// [`KeyError`] naming what was wrong.
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_block(text)?;
        let pkcs1 = match label {
            "RSA PRIVATE KEY" => der,
            "PRIVATE KEY" => unwrap_pkcs8(&der)?,
            _ => {
                return Err(KeyError::Pem(
                    "expected an RSA PRIVATE KEY or PRIVATE KEY block",
                ))
            }
        };
        let mut outer = Der::new(&pkcs1);
        let mut seq = Der::new(outer.take(TAG_SEQUENCE)?);
        outer.finish()?;
        let version = seq.uint()?;
        if !version.is_zero() {
            return Err(KeyError::Der("expected version 0 (two primes)"));
        }
        let _n = seq.uint()?;
        let e = seq.uint()?;
        let _d = seq.uint()?;
        let p = seq.uint()?;
        let q = seq.uint()?;
        Self::from_primes(p, q, e)
    }

    /// The key as a PKCS#1 PEM block (`BEGIN RSA PRIVATE KEY`), as `openssl` writes it.
    pub fn to_pem(&self) -> String {
        let one = BigUint::one();
        let (p1, q1) = (&self.p - &one, &self.q - &one);
        // from_primes checked that these inverses exist.
        let d = self.e.modinv(&p1.lcm(&q1)).unwrap_or_else(BigUint::zero);
        let q_inv = self.q.modinv(&self.p).unwrap_or_else(BigUint::zero);
        let n = &self.p * &self.q;
        let mut body = Vec::new();
        for value in [
            BigUint::zero(),
            n,
            self.e.clone(),
            d.clone(),
            self.p.clone(),
            self.q.clone(),
            &d % &p1,
            &d % &q1,
            q_inv,
        ] {
            der_uint(&value, &mut body);
        }
        let mut der = Vec::new();
        der_element(TAG_SEQUENCE, &body, &mut der);
        pem("RSA PRIVATE KEY", &der)
    }

    /// The private key.
    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.key
    }
}

/// The public key as a PKCS#1 PEM block (`BEGIN RSA PUBLIC KEY`), the form Telegram publishes
/// its keys in and clients embed.
pub fn public_key_pem(key: &RsaPublicKey) -> String {
    let mut body = Vec::new();
    der_uint(&BigUint::from_bytes_be(&key.n()), &mut body);
    der_uint(&BigUint::from_bytes_be(&key.e()), &mut body);
    let mut der = Vec::new();
    der_element(TAG_SEQUENCE, &body, &mut der);
    pem("RSA PUBLIC KEY", &der)
}

// ---------------------------------------------------------------------------------------------
// Primes
// ---------------------------------------------------------------------------------------------

/// Odd primes below 2000, for sieving candidates before Miller–Rabin.
fn small_primes() -> Vec<u32> {
    (3u32..2000)
        .step_by(2)
        .filter(|n| {
            (3..)
                .step_by(2)
                .take_while(|d| d * d <= *n)
                .all(|d| n % d != 0)
        })
        .collect()
}

fn random_bytes(out: &mut [u8]) {
    // The OS source failing leaves no safe way to make a key (it panics).
    tlgen_runtime::random::fill(out);
}

/// A random prime of exactly `bits` bits (top two bits set) with `p - 1` coprime to `e`:
/// random odd starts, stepped by 2 past multiples of small primes, then Miller–Rabin.
fn random_prime(bits: u64, e: &BigUint) -> BigUint {
    let primes = small_primes();
    let bytes = usize::try_from(bits.div_ceil(8)).unwrap_or(128);
    loop {
        let mut buf = vec![0u8; bytes];
        random_bytes(&mut buf);
        let mut start = BigUint::from_bytes_be(&buf);
        start.set_bit(bits - 1, true);
        start.set_bit(bits - 2, true);
        start.set_bit(0, true);
        let residues: Vec<u32> = primes
            .iter()
            .map(|&p| {
                let r = &start % p;
                r.to_u32_digits().first().copied().unwrap_or(0)
            })
            .collect();
        // Primes near 2^1024 are about 710 apart; 20,000 steps of 2 without one is unlucky
        // enough to start over.
        for step in (0u32..40_000).step_by(2) {
            let sieved = primes
                .iter()
                .zip(&residues)
                .all(|(&p, &r)| (u64::from(r) + u64::from(step)) % u64::from(p) != 0);
            if !sieved {
                continue;
            }
            let candidate = &start + step;
            if candidate.bits() != bits {
                break;
            }
            if (&candidate - 1u32).gcd(e).is_one() && miller_rabin(&candidate, 8) {
                return candidate;
            }
        }
    }
}

/// `rounds` Miller–Rabin rounds with random bases (odd `n` > 3).
fn miller_rabin(n: &BigUint, rounds: u32) -> bool {
    let one = BigUint::one();
    let n1 = n - &one;
    let s = n1.trailing_zeros().unwrap_or(0);
    let d = &n1 >> s;
    let mut buf = vec![0u8; usize::try_from(n.bits().div_ceil(8)).unwrap_or(128)];
    for _ in 0..rounds {
        random_bytes(&mut buf);
        // A base in 2..n-2.
        let a = BigUint::from_bytes_be(&buf) % (n - 3u32) + 2u32;
        let mut x = a.modpow(&d, n);
        if x == one || x == n1 {
            continue;
        }
        let mut witness = true;
        for _ in 1..s {
            x = &x * &x % n;
            if x == n1 {
                witness = false;
                break;
            }
        }
        if witness {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// DER and PEM
// ---------------------------------------------------------------------------------------------

const TAG_INTEGER: u8 = 0x02;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_NULL: u8 = 0x05;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
/// 1.2.840.113549.1.1.1 (rsaEncryption).
const RSA_ENCRYPTION_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// Largest PEM text read: a 4096-bit key is about 3.3 KB.
const MAX_PEM_LEN: usize = 64 * 1024;

fn der_element(tag: u8, body: &[u8], out: &mut Vec<u8>) {
    out.push(tag);
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8); // below 0x80
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8); // at most 8
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
}

fn der_uint(value: &BigUint, out: &mut Vec<u8>) {
    let mut bytes = value.to_bytes_be();
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    der_element(TAG_INTEGER, &bytes, out);
}

/// A DER reader over untrusted bytes.
struct Der<'a> {
    bytes: &'a [u8],
}

impl<'a> Der<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The body of the next element, which must have `tag`.
    fn take(&mut self, tag: u8) -> Result<&'a [u8], KeyError> {
        let bad = KeyError::Der;
        let [found, first, rest @ ..] = self.bytes else {
            return Err(bad("an element runs past the end"));
        };
        if *found != tag {
            return Err(bad("unexpected tag"));
        }
        let (len, rest) = if first & 0x80 == 0 {
            (usize::from(*first), rest)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return Err(bad("bad length"));
            }
            let len = rest[..count]
                .iter()
                .fold(0usize, |n, &b| (n << 8) | usize::from(b));
            (len, &rest[count..])
        };
        if len > rest.len() {
            return Err(bad("an element runs past the end"));
        }
        let (body, after) = rest.split_at(len);
        self.bytes = after;
        Ok(body)
    }

    fn uint(&mut self) -> Result<BigUint, KeyError> {
        let body = self.take(TAG_INTEGER)?;
        if body.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(KeyError::Der("a negative integer"));
        }
        Ok(BigUint::from_bytes_be(body))
    }

    fn finish(&self) -> Result<(), KeyError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(KeyError::Der("bytes after the key"))
        }
    }
}

/// `PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING privateKey }`.
fn unwrap_pkcs8(der: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut outer = Der::new(der);
    let mut seq = Der::new(outer.take(TAG_SEQUENCE)?);
    let _version = seq.uint()?;
    let mut algorithm = Der::new(seq.take(TAG_SEQUENCE)?);
    if algorithm.take(TAG_OID)? != RSA_ENCRYPTION_OID {
        return Err(KeyError::Der("not an RSA key"));
    }
    if !algorithm.bytes.is_empty() {
        algorithm.take(TAG_NULL)?;
    }
    Ok(seq.take(TAG_OCTET_STRING)?.to_vec())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn pem(label: &str, der: &[u8]) -> String {
    let mut text = String::new();
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(char::from(BASE64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                text.push('=');
            }
        }
    }
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The label and DER bytes of the first PEM block in `text`.
fn pem_block(text: &str) -> Result<(&str, Vec<u8>), KeyError> {
    if text.len() > MAX_PEM_LEN {
        return Err(KeyError::Pem("longer than 64 KiB"));
    }
    let start = text
        .find("-----BEGIN ")
        .ok_or(KeyError::Pem("no BEGIN line"))?;
    let rest = &text[start + 11..];
    let label_end = rest.find("-----").ok_or(KeyError::Pem("bad BEGIN line"))?;
    let label = &rest[..label_end];
    let body = &rest[label_end + 5..];
    let end = body
        .find(&format!("-----END {label}-----"))
        .ok_or(KeyError::Pem("no END line"))?;
    let mut der = Vec::with_capacity(end / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body[..end].bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(KeyError::Pem("a character outside base64")),
        };
        acc = (acc << 6 | u32::from(value)) & 0xff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            der.push((acc >> bits) as u8);
        }
    }
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_pem() {
        let pair = KeyPair::generate();
        let pem = pair.to_pem();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let again = KeyPair::from_pem(&pem).unwrap();
        assert_eq!(
            again.private_key().public_key().fingerprint(),
            pair.private_key().public_key().fingerprint()
        );
        let public = public_key_pem(pair.private_key().public_key());
        let read = RsaPublicKey::from_pem(&public).unwrap();
        assert_eq!(
            read.fingerprint(),
            pair.private_key().public_key().fingerprint()
        );
    }

    #[test]
    fn reads_pkcs8_as_openssl_writes_it() {
        let pair = KeyPair::generate();
        let (_, pkcs1) = pem_block(&pair.to_pem()).unwrap();
        // PrivateKeyInfo { 0, { rsaEncryption, NULL }, OCTET STRING pkcs1 }
        let mut algorithm = Vec::new();
        der_element(TAG_OID, &RSA_ENCRYPTION_OID, &mut algorithm);
        der_element(TAG_NULL, &[], &mut algorithm);
        let mut body = Vec::new();
        der_uint(&BigUint::zero(), &mut body);
        der_element(TAG_SEQUENCE, &algorithm, &mut body);
        der_element(TAG_OCTET_STRING, &pkcs1, &mut body);
        let mut der = Vec::new();
        der_element(TAG_SEQUENCE, &body, &mut der);
        let read = KeyPair::from_pem(&pem("PRIVATE KEY", &der)).unwrap();
        assert_eq!(
            read.private_key().public_key().fingerprint(),
            pair.private_key().public_key().fingerprint()
        );
    }

    #[test]
    fn malformed_pem_is_an_error() {
        assert!(KeyPair::from_pem("").is_err());
        assert!(KeyPair::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\n!!\n-----END RSA PRIVATE KEY-----"
        )
        .is_err());
        assert!(KeyPair::from_pem(
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"
        )
        .is_err());
        // A length field claiming far more than there is.
        let text = pem(
            "RSA PRIVATE KEY",
            &[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02],
        );
        assert!(KeyPair::from_pem(&text).is_err());
    }
}
