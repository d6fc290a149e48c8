//! RSA for the auth-key handshake: server public keys from PEM, their fingerprints, RSA_PAD, and raw RSA.
//!
//! RSA_PAD (core.telegram.org/mtproto/auth_key, step 4.1): `data` (≤ 144 bytes) is padded with
//! random bytes to 192, reversed, followed by `SHA256(temp_key + data_with_padding)`, encrypted
//! with AES-256-IGE under the random 32-byte `temp_key` and a zero IV; `temp_key` XOR the SHA-256
//! of that ciphertext goes in front, and the 256-byte result is raised to `e` mod `n` — after
//! drawing a new `temp_key` whenever the result is not below `n`.
//!
//! The modular powers use the fixed-width Montgomery arithmetic of `mont.rs`: the public `e` with
//! the fast variable-time power, the private exponent with the constant-time one, by the Chinese
//! remainder theorem (two 1024-bit powers) when the key was built from its primes.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;

use super::dh::is_probable_prime;
use super::hash::{sha1, sha256};
use super::ige::{aes_ige_decrypt, aes_ige_encrypt};
use super::kdf::ct_eq;
use super::mont::{add_mul_band, limbs_from_be, limbs_of, write_be, Modulus};
use super::pem::{decode_pem, parse_rsa_public_key, unwrap_spki, PemKind};
use super::CryptoError;
use crate::tl::write_bytes;

/// Length of the modulus, of RSA_PAD's output, and of every raw RSA block, in bytes.
pub const RSA_LEN: usize = 256;
/// The longest `data` RSA_PAD accepts.
pub const RSA_PAD_MAX_DATA: usize = 144;
/// `data` plus random padding inside RSA_PAD.
pub const RSA_PAD_PADDED_LEN: usize = 192;
/// Temp keys [`rsa_pad`] draws before giving up. Each fails with probability below one half
/// for a 2048-bit modulus, so reaching this means the random source is broken.
pub const RSA_PAD_MAX_ATTEMPTS: u32 = 64;

/// Limbs of a 2048-bit number.
const LIMBS: usize = RSA_LEN / 8;
/// Limbs of one prime of a 2048-bit key (at most 1024 bits).
const HALF_LIMBS: usize = LIMBS / 2;
/// Miller–Rabin rounds on each prime given to [`RsaPrivateKey::from_primes`].
const PRIME_ROUNDS: u32 = 16;

/// A 2048-bit RSA public key of a Telegram server, with its fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: BigUint,
    e: BigUint,
    /// `n` with its Montgomery constants (boxed: 800 bytes).
    modulus: Box<Modulus<LIMBS>>,
    fingerprint: u64,
}

impl RsaPublicKey {
    /// Reads the first `-----BEGIN RSA PUBLIC KEY-----` (PKCS#1) or
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) block in `pem`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidPem`], [`CryptoError::InvalidBase64`], [`CryptoError::InvalidDer`]
    /// or [`CryptoError::InvalidRsaKey`].
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let (kind, der) = decode_pem(pem)?;
        match kind {
            PemKind::Pkcs1 => Self::from_pkcs1_der(&der),
            PemKind::Spki => Self::from_pkcs1_der(unwrap_spki(&der)?),
        }
    }

    /// Reads a DER-encoded PKCS#1 `RSAPublicKey`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidDer`] or [`CryptoError::InvalidRsaKey`].
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, CryptoError> {
        let (n, e) = parse_rsa_public_key(der)?;
        Self::from_components(n, e)
    }

    /// Builds a key from big-endian `n` and `e`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidRsaKey`] unless `n` is an odd 2048-bit number and `e` is odd,
    /// at least 3 and below `n`.
    pub fn from_components(n: &[u8], e: &[u8]) -> Result<Self, CryptoError> {
        let n = BigUint::from_bytes_be(n);
        let e = BigUint::from_bytes_be(e);
        if n.bits() != 2048 {
            return Err(CryptoError::InvalidRsaKey {
                reason: "expected a 2048-bit modulus",
            });
        }
        if !n.bit(0) {
            return Err(CryptoError::InvalidRsaKey {
                reason: "expected an odd modulus, got an even one",
            });
        }
        if !e.bit(0) || e < BigUint::from(3u32) || e >= n {
            return Err(CryptoError::InvalidRsaKey {
                reason: "expected an odd exponent with 3 <= e < n",
            });
        }
        // Both fit TL bytes: n is 256 bytes and e is shorter.
        let mut tl = Vec::with_capacity(4 + RSA_LEN + 8);
        write_bytes(&mut tl, &n.to_bytes_be());
        write_bytes(&mut tl, &e.to_bytes_be());
        let hash = sha1(&[&tl]);
        let mut low = [0; 8];
        low.copy_from_slice(&hash[12..]);
        // An odd 2048-bit n is what Modulus needs.
        let modulus = Box::new(Modulus::new(&n).ok_or(CryptoError::InvalidRsaKey {
            reason: "expected an odd 2048-bit modulus",
        })?);
        Ok(Self {
            n,
            e,
            modulus,
            fingerprint: u64::from_le_bytes(low),
        })
    }

    /// The fingerprint: the 64 lower-order bits of SHA1 of the bare TL
    /// `rsa_public_key n:string e:string`, i.e. SHA1 bytes 12..20 read as a little-endian
    /// `u64` (so `fingerprint().to_le_bytes()` is what goes on the wire).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The modulus, big-endian, 256 bytes.
    pub fn n(&self) -> Vec<u8> {
        self.n.to_bytes_be()
    }

    /// The public exponent, big-endian, without leading zeros.
    pub fn e(&self) -> Vec<u8> {
        self.e.to_bytes_be()
    }

    /// Raw RSA: `message^e mod n` for a big-endian `message` below `n`.
    ///
    /// # Errors
    ///
    /// [`CryptoError::WrongLength`] unless `message` is 256 bytes, and
    /// [`CryptoError::NotBelowModulus`] when it is not below `n`.
    pub fn encrypt_raw(&self, message: &[u8]) -> Result<[u8; RSA_LEN], CryptoError> {
        let m = self.block_below_modulus(message, "rsa message")?;
        let mut out = [0; RSA_LEN];
        write_be(&self.power_e(&m), &mut out);
        Ok(out)
    }

    /// `value^e mod n` (public exponent, so the variable-time power).
    fn power_e(&self, value: &[u64; LIMBS]) -> [u64; LIMBS] {
        self.modulus.pow_public(value, &self.e.to_bytes_be())
    }

    /// The 256-byte `block` as limbs, checked to be below `n`.
    fn block_below_modulus(
        &self,
        block: &[u8],
        what: &'static str,
    ) -> Result<[u64; LIMBS], CryptoError> {
        if block.len() != RSA_LEN {
            return Err(CryptoError::WrongLength {
                what,
                expected: RSA_LEN,
                len: block.len(),
            });
        }
        if BigUint::from_bytes_be(block) >= self.n {
            return Err(CryptoError::NotBelowModulus { what });
        }
        // 256 bytes always fit 32 limbs.
        limbs_from_be(block).ok_or(CryptoError::NotBelowModulus { what })
    }
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RsaPublicKey {{ fingerprint: {:#018x} }}",
            self.fingerprint
        )
    }
}

/// An RSA private key as a server holds it; the client never needs one. Used to test the
/// client's RSA_PAD end to end.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    /// The private exponent, big-endian and padded to 256 bytes, so that the constant-time power
    /// does not reveal its length either.
    d: Box<[u8; RSA_LEN]>,
    /// The CRT parts, when the key was built from its primes.
    crt: Option<Box<Crt>>,
}

/// The private key by the Chinese remainder theorem (PKCS #1 §5.1.2): two 1024-bit powers
/// instead of one 2048-bit power, about four times less work.
#[derive(Clone, PartialEq, Eq)]
struct Crt {
    p: Modulus<HALF_LIMBS>,
    q: Modulus<HALF_LIMBS>,
    /// `q` itself, to recombine.
    q_limbs: [u64; HALF_LIMBS],
    /// `d mod (p − 1)` and `d mod (q − 1)`, big-endian, padded to the width of a prime.
    dp: [u8; RSA_LEN / 2],
    dq: [u8; RSA_LEN / 2],
    /// `q⁻¹ mod p` in Montgomery form modulo `p`.
    q_inv: [u64; HALF_LIMBS],
}

impl Crt {
    /// `c^d mod pq` from `c^dp mod p` and `c^dq mod q` (Garner): `m = m₂ + q·((m₁ − m₂)·q⁻¹ mod p)`.
    fn power_d(&self, c: &[u64; LIMBS]) -> [u64; LIMBS] {
        // c < pq < p·2^1024 (and q·2^1024): what reduce_wide needs.
        let m1 = self.p.pow(&self.p.reduce_wide(c), &self.dp);
        let m2 = self.q.pow(&self.q.reduce_wide(c), &self.dq);
        // m₂ < q < 2^1024, which to_mont accepts; every step stays below p.
        let difference = self.p.sub(&self.p.to_mont(&m1), &self.p.to_mont(&m2));
        let h = self.p.to_normal(&self.p.mul(&difference, &self.q_inv));
        // m = m₂ + h·q < pq: a 16 × 16-limb product in four bands, then one addition.
        let mut m = [0u64; LIMBS];
        let mut carry = 0;
        for i in (0..HALF_LIMBS).step_by(4) {
            let band = [h[i], h[i + 1], h[i + 2], h[i + 3]];
            carry = add_mul_band(&mut m[i..i + HALF_LIMBS + 4], &self.q_limbs, band, carry);
        }
        let mut carry = false;
        for (i, limb) in m.iter_mut().enumerate() {
            let add = m2.get(i).copied().unwrap_or(0);
            let (sum, c1) = limb.overflowing_add(add);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = c1 | c2;
        }
        m
    }
}

impl RsaPrivateKey {
    /// Builds a private key from big-endian `n`, `e` and `d`. Decryption is one 2048-bit power;
    /// [`RsaPrivateKey::from_primes`] gives the faster CRT key.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidRsaKey`] when `n` or `e` are unusable (see
    /// [`RsaPublicKey::from_components`]) or `d` is not in `1..n`.
    pub fn from_components(n: &[u8], e: &[u8], d: &[u8]) -> Result<Self, CryptoError> {
        let public = RsaPublicKey::from_components(n, e)?;
        let d = BigUint::from_bytes_be(d);
        if d < BigUint::one() || d >= public.n {
            return Err(CryptoError::InvalidRsaKey {
                reason: "expected 1 <= d < n",
            });
        }
        Ok(Self {
            public,
            d: Box::new(padded(&d)),
            crt: None,
        })
    }

    /// Builds a private key from its big-endian primes `p` and `q` and public exponent `e`,
    /// computing `d = e⁻¹ mod lcm(p − 1, q − 1)` and the CRT parts, so that decryption takes two
    /// 1024-bit powers.
    ///
    /// # Errors
    ///
    /// [`CryptoError::InvalidRsaKey`] unless `p` and `q` are distinct primes of at most 1024
    /// bits (checked with 16 Miller–Rabin rounds) whose product is a 2048-bit modulus, and `e`
    /// is usable (see [`RsaPublicKey::from_components`]) and coprime to `p − 1` and `q − 1`.
    pub fn from_primes(p: &[u8], q: &[u8], e: &[u8]) -> Result<Self, CryptoError> {
        let invalid = |reason| Err(CryptoError::InvalidRsaKey { reason });
        let (p, q) = (BigUint::from_bytes_be(p), BigUint::from_bytes_be(q));
        if p == q {
            return invalid("expected two distinct primes");
        }
        let (Some(p_mod), Some(q_mod)) = (
            Modulus::<HALF_LIMBS>::new(&p),
            Modulus::<HALF_LIMBS>::new(&q),
        ) else {
            return invalid("expected odd primes of at most 1024 bits");
        };
        let public = RsaPublicKey::from_components(&(&p * &q).to_bytes_be(), e)?;
        if !is_probable_prime(&p, PRIME_ROUNDS) || !is_probable_prime(&q, PRIME_ROUNDS) {
            return invalid("expected p and q to be primes");
        }
        let (p1, q1) = (&p - 1u32, &q - 1u32);
        let Some(d) = public.e.modinv(&p1.lcm(&q1)) else {
            return invalid("expected e coprime to p - 1 and q - 1");
        };
        // p and q are distinct primes, so q is invertible modulo p.
        let Some(q_inv) = q.modinv(&p) else {
            return invalid("expected two distinct primes");
        };
        let (Some(q_limbs), Some(q_inv)) = (limbs_of(&q), limbs_of(&q_inv)) else {
            return invalid("expected odd primes of at most 1024 bits");
        };
        let crt = Crt {
            q_inv: p_mod.to_mont(&q_inv),
            dp: padded(&(&d % &p1)),
            dq: padded(&(&d % &q1)),
            p: p_mod,
            q: q_mod,
            q_limbs,
        };
        Ok(Self {
            public,
            d: Box::new(padded(&d)),
            crt: Some(Box::new(crt)),
        })
    }

    /// The public half.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Raw RSA decryption: `cipher^d mod n` for a big-endian `cipher` below `n`.
    ///
    /// The power runs the same sequence of operations whatever `d` is. With CRT, the result is
    /// checked by raising it back to `e` (a fault in one half would otherwise reveal a factor of
    /// `n`, Boneh–DeMillo–Lipton 1997); on a mismatch the 2048-bit power is used instead.
    ///
    /// # Errors
    ///
    /// [`CryptoError::WrongLength`] unless `cipher` is 256 bytes, and
    /// [`CryptoError::NotBelowModulus`] when it is not below `n`.
    pub fn decrypt_raw(&self, cipher: &[u8]) -> Result<[u8; RSA_LEN], CryptoError> {
        let c = self.public.block_below_modulus(cipher, "rsa ciphertext")?;
        let by_crt = self
            .crt
            .as_ref()
            .map(|crt| crt.power_d(&c))
            .filter(|m| self.public.power_e(m) == c);
        let m = by_crt.unwrap_or_else(|| self.public.modulus.pow(&c, &self.d[..]));
        let mut out = [0; RSA_LEN];
        write_be(&m, &mut out);
        Ok(out)
    }
}

impl std::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print d.
        write!(
            f,
            "RsaPrivateKey {{ fingerprint: {:#018x} }}",
            self.public.fingerprint
        )
    }
}

/// RSA_PAD of `data` for `key`, drawing the padding once and a fresh 32-byte `temp_key` for
/// each attempt from `random` (a CSPRNG the caller owns).
///
/// # Errors
///
/// [`CryptoError::TooLong`] when `data` exceeds 144 bytes, [`CryptoError::RsaPadExhausted`]
/// when [`RSA_PAD_MAX_ATTEMPTS`] temp keys all gave a value not below the modulus.
pub fn rsa_pad(
    data: &[u8],
    key: &RsaPublicKey,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<[u8; RSA_LEN], CryptoError> {
    check_data_len(data)?;
    let mut padding = [0; RSA_PAD_PADDED_LEN];
    let padding = &mut padding[..RSA_PAD_PADDED_LEN - data.len()];
    random(padding);
    for _ in 0..RSA_PAD_MAX_ATTEMPTS {
        let mut temp_key = [0; 32];
        random(&mut temp_key);
        match rsa_pad_with(data, padding, &temp_key, key) {
            Err(CryptoError::NotBelowModulus { .. }) => continue,
            other => return other,
        }
    }
    Err(CryptoError::RsaPadExhausted {
        attempts: RSA_PAD_MAX_ATTEMPTS,
    })
}

/// One deterministic RSA_PAD attempt with the caller's `padding` (exactly `192 - data.len()`
/// bytes) and `temp_key`, for replaying vectors.
///
/// # Errors
///
/// [`CryptoError::TooLong`] or [`CryptoError::WrongLength`] for the lengths, and
/// [`CryptoError::NotBelowModulus`] when `key_aes_encrypted` is not below the modulus: draw a
/// new `temp_key` and try again.
pub fn rsa_pad_with(
    data: &[u8],
    padding: &[u8],
    temp_key: &[u8; 32],
    key: &RsaPublicKey,
) -> Result<[u8; RSA_LEN], CryptoError> {
    check_data_len(data)?;
    let expected = RSA_PAD_PADDED_LEN - data.len();
    if padding.len() != expected {
        return Err(CryptoError::WrongLength {
            what: "rsa_pad padding",
            expected,
            len: padding.len(),
        });
    }
    let mut data_with_padding = [0; RSA_PAD_PADDED_LEN];
    data_with_padding[..data.len()].copy_from_slice(data);
    data_with_padding[data.len()..].copy_from_slice(padding);

    // key_aes_encrypted = temp_key_xor (32) | aes_encrypted (224)
    let mut block = [0; RSA_LEN];
    let (key_xor, aes_part) = block.split_at_mut(32);
    let (reversed, hash) = aes_part.split_at_mut(RSA_PAD_PADDED_LEN);
    reversed.copy_from_slice(&data_with_padding);
    reversed.reverse();
    hash.copy_from_slice(&sha256(&[temp_key, &data_with_padding]));
    aes_ige_encrypt(aes_part, temp_key, &[0; 32])?;
    let aes_hash = sha256(&[aes_part]);
    for ((out, k), h) in key_xor.iter_mut().zip(temp_key).zip(&aes_hash) {
        *out = k ^ h;
    }
    key.encrypt_raw(&block)
        .map_err(|_| CryptoError::NotBelowModulus {
            what: "rsa_pad key_aes_encrypted",
        })
}

/// The server's side of RSA_PAD: decrypts `encrypted` and returns `data_with_padding`
/// (the 192 bytes the client padded; the TL object inside says where `data` ends).
///
/// # Errors
///
/// [`CryptoError::WrongLength`] or [`CryptoError::NotBelowModulus`] for a malformed block, and
/// [`CryptoError::HashMismatch`] when the embedded SHA-256 does not match.
pub fn rsa_pad_decrypt(
    encrypted: &[u8],
    key: &RsaPrivateKey,
) -> Result<[u8; RSA_PAD_PADDED_LEN], CryptoError> {
    rsa_pad_unwrap(key.decrypt_raw(encrypted)?)
}

/// The part of [`rsa_pad_decrypt`] after the RSA power: `data_with_padding` from the block
/// that [`RsaPrivateKey::decrypt_raw`] gave, for a server that decrypted the block once to try
/// the older layout first.
///
/// # Errors
///
/// [`CryptoError::HashMismatch`] when the embedded SHA-256 does not match.
pub fn rsa_pad_unwrap(mut block: [u8; RSA_LEN]) -> Result<[u8; RSA_PAD_PADDED_LEN], CryptoError> {
    let (key_xor, aes_part) = block.split_at_mut(32);
    let aes_hash = sha256(&[aes_part]);
    let mut temp_key = [0; 32];
    for ((out, x), h) in temp_key.iter_mut().zip(key_xor.iter()).zip(&aes_hash) {
        *out = x ^ h;
    }
    aes_ige_decrypt(aes_part, &temp_key, &[0; 32])?;
    let (reversed, hash) = aes_part.split_at(RSA_PAD_PADDED_LEN);
    let mut data_with_padding = [0; RSA_PAD_PADDED_LEN];
    data_with_padding.copy_from_slice(reversed);
    data_with_padding.reverse();
    if !ct_eq(&sha256(&[&temp_key, &data_with_padding]), hash) {
        return Err(CryptoError::HashMismatch {
            what: "rsa_pad data hash",
        });
    }
    Ok(data_with_padding)
}

fn check_data_len(data: &[u8]) -> Result<(), CryptoError> {
    if data.len() > RSA_PAD_MAX_DATA {
        return Err(CryptoError::TooLong {
            what: "rsa_pad data",
            max: RSA_PAD_MAX_DATA,
            len: data.len(),
        });
    }
    Ok(())
}

/// `value` (below a 2048-bit modulus, or a 1024-bit one for `M = 128`) as exactly `M`
/// big-endian bytes; a larger value would keep its low-order bytes.
fn padded<const M: usize>(value: &BigUint) -> [u8; M] {
    let bytes = value.to_bytes_be();
    let mut out = [0; M];
    let take = bytes.len().min(M);
    out[M - take..].copy_from_slice(&bytes[bytes.len() - take..]);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use num_integer::Integer;

    use super::super::dh::is_probable_prime;
    use super::*;

    /// The smallest probable prime at or above the SHA-256 expansion of `seed`, forced to
    /// `bits` bits with the top two bits set (so two such primes multiply to exactly 2 * bits).
    pub(crate) fn test_prime(seed: &str, bits: u64) -> BigUint {
        let mut wide = Vec::new();
        let mut counter = 0u32;
        while (wide.len() as u64) * 8 < bits {
            wide.extend_from_slice(&sha256(&[seed.as_bytes(), &counter.to_be_bytes()]));
            counter += 1;
        }
        let mut candidate = BigUint::from_bytes_be(&wide) >> ((wide.len() as u64) * 8 - bits);
        candidate.set_bit(bits - 1, true);
        candidate.set_bit(bits - 2, true);
        candidate.set_bit(0, true);
        while !is_probable_prime(&candidate, 24) {
            candidate += 2u32;
        }
        candidate
    }

    /// A 2048-bit test key pair from two deterministic 1024-bit primes, e = 65537 (built once).
    pub(crate) fn test_keypair() -> RsaPrivateKey {
        static KEY: std::sync::OnceLock<RsaPrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(build_test_keypair).clone()
    }

    fn build_test_keypair() -> RsaPrivateKey {
        let p = test_prime("tlgen rsa test p", 1024);
        let q = test_prime("tlgen rsa test q", 1024);
        let e = BigUint::from(65537u32);
        RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &e.to_bytes_be()).unwrap()
    }

    #[test]
    fn crt_and_plain_keys_decrypt_alike() {
        let p = test_prime("tlgen rsa test p", 1024);
        let q = test_prime("tlgen rsa test q", 1024);
        let n = &p * &q;
        let e = BigUint::from(65537u32);
        let d = e.modinv(&(&p - 1u32).lcm(&(&q - 1u32))).unwrap();
        let plain =
            RsaPrivateKey::from_components(&n.to_bytes_be(), &e.to_bytes_be(), &d.to_bytes_be())
                .unwrap();
        let crt = test_keypair();
        assert_eq!(plain.public_key(), crt.public_key());
        assert_eq!(plain.d, crt.d);
        for fill in [0x00, 0x01, 0x5a, 0x7f] {
            let mut cipher = [fill; RSA_LEN];
            cipher[0] = 0x3c;
            let expect = BigUint::from_bytes_be(&cipher).modpow(&d, &n);
            assert_eq!(
                BigUint::from_bytes_be(&crt.decrypt_raw(&cipher).unwrap()),
                expect
            );
            assert_eq!(
                plain.decrypt_raw(&cipher).unwrap(),
                crt.decrypt_raw(&cipher).unwrap()
            );
        }
        // A corrupted CRT half fails the check against e: the plain power answers instead.
        let mut faulty = crt.clone();
        if let Some(parts) = faulty.crt.as_mut() {
            parts.dp[127] ^= 2;
        }
        let cipher = [0x42; RSA_LEN];
        assert_eq!(faulty.decrypt_raw(&cipher), crt.decrypt_raw(&cipher));
    }

    #[test]
    fn rejects_unusable_primes() {
        let p = test_prime("tlgen rsa test p", 1024);
        let q = test_prime("tlgen rsa test q", 1024);
        let e = BigUint::from(65537u32).to_bytes_be();
        let reason = |p: &BigUint, q: &BigUint, e: &[u8]| match RsaPrivateKey::from_primes(
            &p.to_bytes_be(),
            &q.to_bytes_be(),
            e,
        ) {
            Err(CryptoError::InvalidRsaKey { reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&p, &p, &e), "expected two distinct primes");
        assert_eq!(
            reason(&(&p + 1u32), &q, &e),
            "expected odd primes of at most 1024 bits"
        );
        assert_eq!(
            reason(&(&p << 1u32 | BigUint::one()), &q, &e),
            "expected odd primes of at most 1024 bits"
        );
        assert_eq!(
            reason(&(&p + 2u32), &q, &e),
            "expected p and q to be primes"
        );
        assert_eq!(
            reason(&p, &(&q >> 1u32 | BigUint::one()), &e),
            "expected a 2048-bit modulus"
        );
        // 3 divides p - 1 or q - 1 for many primes; these two have e = 3 unusable or usable.
        let three = [3u8];
        let coprime = (&p - 1u32).gcd(&BigUint::from(3u32)).is_one()
            && (&q - 1u32).gcd(&BigUint::from(3u32)).is_one();
        match RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &three) {
            Ok(_) => assert!(coprime),
            Err(err) => {
                assert!(!coprime);
                assert_eq!(
                    err,
                    CryptoError::InvalidRsaKey {
                        reason: "expected e coprime to p - 1 and q - 1"
                    }
                );
            }
        }
    }

    #[test]
    fn rsa_pad_round_trips_through_the_private_key() {
        let key = test_keypair();
        let data: Vec<u8> = (0..100).collect();
        let mut counter = 0u8;
        let mut random = |buf: &mut [u8]| {
            for b in buf {
                counter = counter.wrapping_add(37);
                *b = counter;
            }
        };
        let encrypted = rsa_pad(&data, key.public_key(), &mut random).unwrap();
        let padded = rsa_pad_decrypt(&encrypted, &key).unwrap();
        assert_eq!(&padded[..100], &data[..]);

        // A flipped bit in the ciphertext breaks the hash (or the modulus bound), never panics.
        let mut broken = encrypted;
        broken[200] ^= 1;
        assert!(rsa_pad_decrypt(&broken, &key).is_err());
    }

    #[test]
    fn rsa_pad_retries_until_below_the_modulus_and_gives_up_on_a_stuck_source() {
        let key = test_keypair();
        let data = [7u8; 144];
        // All-0xFF bytes: temp_key_xor is unlikely to start below n's top byte on every try,
        // but a stuck source gives the same result each time.
        let mut stuck = |buf: &mut [u8]| buf.fill(0xff);
        match rsa_pad(&data, key.public_key(), &mut stuck) {
            Ok(encrypted) => assert_eq!(rsa_pad_decrypt(&encrypted, &key).unwrap()[..144], data),
            Err(err) => assert_eq!(
                err,
                CryptoError::RsaPadExhausted {
                    attempts: RSA_PAD_MAX_ATTEMPTS
                }
            ),
        }
        assert_eq!(
            rsa_pad(&[0; 145], key.public_key(), &mut stuck).unwrap_err(),
            CryptoError::TooLong {
                what: "rsa_pad data",
                max: 144,
                len: 145
            }
        );
        assert_eq!(
            rsa_pad_with(&[0; 100], &[0; 91], &[0; 32], key.public_key()).unwrap_err(),
            CryptoError::WrongLength {
                what: "rsa_pad padding",
                expected: 92,
                len: 91
            }
        );
    }

    #[test]
    fn raw_rsa_round_trips_and_checks_its_input() {
        let key = test_keypair();
        let mut message = [0u8; RSA_LEN];
        message[1..].fill(0x5a);
        let cipher = key.public_key().encrypt_raw(&message).unwrap();
        assert_eq!(key.decrypt_raw(&cipher).unwrap(), message);
        assert_eq!(
            key.public_key().encrypt_raw(&[0xff; RSA_LEN]).unwrap_err(),
            CryptoError::NotBelowModulus {
                what: "rsa message"
            }
        );
        assert_eq!(
            key.decrypt_raw(&[1; 10]).unwrap_err(),
            CryptoError::WrongLength {
                what: "rsa ciphertext",
                expected: 256,
                len: 10
            }
        );
        assert!(format!("{key:?}").starts_with("RsaPrivateKey { fingerprint: 0x"));
    }

    #[test]
    fn rejects_unusable_components() {
        let n = [0xc1; 256];
        assert!(RsaPublicKey::from_components(&n, &[1, 0, 1]).is_ok());
        let reason = |n: &[u8], e: &[u8]| match RsaPublicKey::from_components(n, e) {
            Err(CryptoError::InvalidRsaKey { reason }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(&n[1..], &[3]), "expected a 2048-bit modulus");
        assert_eq!(
            reason(&[0xc2; 256], &[3]),
            "expected an odd modulus, got an even one"
        );
        assert_eq!(reason(&n, &[1]), "expected an odd exponent with 3 <= e < n");
        assert_eq!(reason(&n, &[4]), "expected an odd exponent with 3 <= e < n");
        assert_eq!(reason(&n, &n), "expected an odd exponent with 3 <= e < n");
    }
}
