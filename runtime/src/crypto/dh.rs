//! Diffie–Hellman for the auth-key handshake: the mandatory checks on `g`, `dh_prime`, `g_a`, `g_b`, and the modular powers.
//!
//! Checks (core.telegram.org/mtproto/security_guidelines and /mtproto/auth_key): `dh_prime` is a
//! safe 2048-bit prime; `g` is in 2..=7 and generates the subgroup of order `(p - 1) / 2`;
//! `1 < g_a, g_b < p - 1` and `2^1984 < g_a, g_b < p - 2^1984`.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;

use super::hash::sha256;
use super::mont::{limbs_from_be, write_be, FixedBase, Modulus};
use super::CryptoError;

/// Length of `dh_prime`, `g_a`, `g_b` and the auth key in bytes.
pub const DH_LEN: usize = 256;

/// The `dh_prime` Telegram's servers send, as printed on core.telegram.org/mtproto/auth_key and
/// /mtproto/security_guidelines. It is accepted by comparison, without the primality test.
pub const KNOWN_DH_PRIME: [u8; DH_LEN] = [
    0xc7, 0x1c, 0xae, 0xb9, 0xc6, 0xb1, 0xc9, 0x04, 0x8e, 0x6c, 0x52, 0x2f, 0x70, 0xf1, 0x3f, 0x73,
    0x98, 0x0d, 0x40, 0x23, 0x8e, 0x3e, 0x21, 0xc1, 0x49, 0x34, 0xd0, 0x37, 0x56, 0x3d, 0x93, 0x0f,
    0x48, 0x19, 0x8a, 0x0a, 0xa7, 0xc1, 0x40, 0x58, 0x22, 0x94, 0x93, 0xd2, 0x25, 0x30, 0xf4, 0xdb,
    0xfa, 0x33, 0x6f, 0x6e, 0x0a, 0xc9, 0x25, 0x13, 0x95, 0x43, 0xae, 0xd4, 0x4c, 0xce, 0x7c, 0x37,
    0x20, 0xfd, 0x51, 0xf6, 0x94, 0x58, 0x70, 0x5a, 0xc6, 0x8c, 0xd4, 0xfe, 0x6b, 0x6b, 0x13, 0xab,
    0xdc, 0x97, 0x46, 0x51, 0x29, 0x69, 0x32, 0x84, 0x54, 0xf1, 0x8f, 0xaf, 0x8c, 0x59, 0x5f, 0x64,
    0x24, 0x77, 0xfe, 0x96, 0xbb, 0x2a, 0x94, 0x1d, 0x5b, 0xcd, 0x1d, 0x4a, 0xc8, 0xcc, 0x49, 0x88,
    0x07, 0x08, 0xfa, 0x9b, 0x37, 0x8e, 0x3c, 0x4f, 0x3a, 0x90, 0x60, 0xbe, 0xe6, 0x7c, 0xf9, 0xa4,
    0xa4, 0xa6, 0x95, 0x81, 0x10, 0x51, 0x90, 0x7e, 0x16, 0x27, 0x53, 0xb5, 0x6b, 0x0f, 0x6b, 0x41,
    0x0d, 0xba, 0x74, 0xd8, 0xa8, 0x4b, 0x2a, 0x14, 0xb3, 0x14, 0x4e, 0x0e, 0xf1, 0x28, 0x47, 0x54,
    0xfd, 0x17, 0xed, 0x95, 0x0d, 0x59, 0x65, 0xb4, 0xb9, 0xdd, 0x46, 0x58, 0x2d, 0xb1, 0x17, 0x8d,
    0x16, 0x9c, 0x6b, 0xc4, 0x65, 0xb0, 0xd6, 0xff, 0x9c, 0xa3, 0x92, 0x8f, 0xef, 0x5b, 0x9a, 0xe4,
    0xe4, 0x18, 0xfc, 0x15, 0xe8, 0x3e, 0xbe, 0xa0, 0xf8, 0x7f, 0xa9, 0xff, 0x5e, 0xed, 0x70, 0x05,
    0x0d, 0xed, 0x28, 0x49, 0xf4, 0x7b, 0xf9, 0x59, 0xd9, 0x56, 0x85, 0x0c, 0xe9, 0x29, 0x85, 0x1f,
    0x0d, 0x81, 0x15, 0xf6, 0x35, 0xb1, 0x05, 0xee, 0x2e, 0x4e, 0x15, 0xd0, 0x4b, 0x24, 0x54, 0xbf,
    0x6f, 0x4f, 0xad, 0xf0, 0x34, 0xb1, 0x04, 0x03, 0x11, 0x9c, 0xd8, 0xe3, 0xb9, 0x2f, 0xcc, 0x5b,
];

/// Limbs of a 2048-bit number.
const LIMBS: usize = DH_LEN / 8;

/// Comb tables for `g^x` modulo [`KNOWN_DH_PRIME`], one per generator 2..=7, built the first time
/// that generator is used (32 KiB, 40 KiB in the AVX-512 IFMA form, and about one ordinary
/// power each) and shared by every exchange of the process: the client talks to many servers
/// with this prime, a server to many clients. Other primes use the uncached small-base power.
static KNOWN_PRIME_COMBS: [OnceLock<FixedBase<LIMBS>>; 6] = [const { OnceLock::new() }; 6];

/// Miller–Rabin rounds on `(p - 1) / 2`; the guidelines call 15 acceptable.
const MILLER_RABIN_ROUNDS: u32 = 16;
/// `g_a` and `g_b` must lie more than 2^1984 away from 0 and from `p`.
const SAFETY_MARGIN_BITS: u64 = 2048 - 64;

/// Checked DH parameters from `server_DH_inner_data`: only constructed once `g` and `dh_prime`
/// passed every check, so later steps can rely on them.
#[derive(Clone, PartialEq, Eq)]
pub struct DhParams {
    g: u32,
    p: BigUint,
    /// `p` with its Montgomery constants, for the two modular powers (boxed: about 1.8 KiB with
    /// the IFMA constants).
    mont: Box<Modulus<LIMBS>>,
    /// Whether `p` is [`KNOWN_DH_PRIME`], whose `g^x` uses the cached comb.
    known: bool,
    /// `2^1984`.
    low: BigUint,
    /// `p - 2^1984`.
    high: BigUint,
}

impl DhParams {
    /// Checks `g` and `dh_prime` (big-endian) as received and keeps them.
    ///
    /// # Errors
    ///
    /// [`CryptoError::DhPrimeSize`], [`CryptoError::DhPrimeNotSafe`],
    /// [`CryptoError::DhGeneratorUnsupported`] or [`CryptoError::DhGeneratorNotResidue`].
    pub fn new(g: i32, dh_prime: &[u8]) -> Result<Self, CryptoError> {
        let g = check_generator_range(g)?;
        let p = parse_dh_prime(dh_prime)?;
        check_generator_residue(g, &p)?;
        let low = BigUint::one() << SAFETY_MARGIN_BITS;
        // p > 2^2047 > low, so the subtraction does not underflow.
        let high = &p - &low;
        // A checked dh_prime is odd and 2048 bits, which is all Modulus asks.
        let mont = Box::new(Modulus::new(&p).ok_or(CryptoError::DhPrimeNotSafe { which: "p" })?);
        Ok(Self {
            g,
            known: to_be_array(&p) == KNOWN_DH_PRIME,
            p,
            mont,
            low,
            high,
        })
    }

    /// The generator.
    pub fn g(&self) -> u32 {
        self.g
    }

    /// Whether the prime is [`KNOWN_DH_PRIME`].
    pub fn known_prime(&self) -> bool {
        self.known
    }

    /// The prime as 256 big-endian bytes.
    pub fn prime(&self) -> [u8; DH_LEN] {
        to_be_array(&self.p)
    }

    /// Checks a public value (`g_a` from the server, or `g_b`) against
    /// `1 < v < p - 1` and `2^1984 < v < p - 2^1984`. `what` names it in the error.
    ///
    /// # Errors
    ///
    /// [`CryptoError::DhValueOutOfRange`].
    pub fn check_public(&self, value: &[u8], what: &'static str) -> Result<(), CryptoError> {
        self.check_public_value(&BigUint::from_bytes_be(value), what)
    }

    /// `g_b = g^b mod p` as 256 big-endian bytes, for the client's random 2048-bit `b`.
    ///
    /// The power runs the same sequence of operations whatever `b` is, and reads table entries
    /// by scanning the whole table. With [`KNOWN_DH_PRIME`] it uses a comb of precomputed powers
    /// of `g` (171 squarings and 342 multiplications; the first call for a `g` in the process
    /// builds it); with another prime, four squarings and one multiplication by a one-limb `g^w`
    /// per four bits.
    ///
    /// # Errors
    ///
    /// [`CryptoError::DhValueOutOfRange`] when `g_b` falls outside the safe range; pick a new
    /// `b` and call again.
    pub fn compute_g_b(&self, b: &[u8; DH_LEN]) -> Result<[u8; DH_LEN], CryptoError> {
        let power = self
            .comb()
            .and_then(|comb| comb.pow(&self.mont, b))
            .unwrap_or_else(|| self.mont.pow_small_base(u64::from(self.g), b));
        let mut g_b = [0; DH_LEN];
        write_be(&power, &mut g_b);
        self.check_public_value(&BigUint::from_bytes_be(&g_b), "g_b")?;
        Ok(g_b)
    }

    /// `auth_key = g_a^b mod p` as 256 big-endian bytes, after checking `g_a`.
    ///
    /// The power runs the same sequence of operations whatever `b` is: five squarings and one
    /// multiplication per five bits, table entries read by a full scan.
    ///
    /// # Errors
    ///
    /// [`CryptoError::DhValueOutOfRange`] when `g_a` is outside the safe range.
    pub fn compute_auth_key(
        &self,
        g_a: &[u8],
        b: &[u8; DH_LEN],
    ) -> Result<[u8; DH_LEN], CryptoError> {
        self.check_public_value(&BigUint::from_bytes_be(g_a), "g_a")?;
        // Below p after the check, so it fits 2048 bits whatever its length.
        let g_a = limbs_from_be(g_a).ok_or(CryptoError::DhValueOutOfRange {
            what: "g_a",
            expected: "2^1984 < value < dh_prime - 2^1984",
        })?;
        let mut key = [0; DH_LEN];
        write_be(&self.mont.pow(&g_a, b), &mut key);
        Ok(key)
    }

    /// The shared comb for `g` when `p` is the known prime.
    fn comb(&self) -> Option<&'static FixedBase<LIMBS>> {
        let slot = KNOWN_PRIME_COMBS.get(usize::try_from(self.g).ok()?.checked_sub(2)?)?;
        self.known.then(|| {
            slot.get_or_init(|| {
                let mut g = [0u64; LIMBS];
                g[0] = u64::from(self.g);
                FixedBase::new(&self.mont, &g, DH_LEN)
            })
        })
    }

    fn check_public_value(&self, value: &BigUint, what: &'static str) -> Result<(), CryptoError> {
        // low > 1 and high < p - 1, so this range implies 1 < v < p - 1 as well.
        if *value > self.low && *value < self.high {
            Ok(())
        } else {
            Err(CryptoError::DhValueOutOfRange {
                what,
                expected: "2^1984 < value < dh_prime - 2^1984",
            })
        }
    }
}

impl std::fmt::Debug for DhParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DhParams")
            .field("g", &self.g)
            .field("known_prime", &(self.prime() == KNOWN_DH_PRIME))
            .finish()
    }
}

/// Checks that `dh_prime` (big-endian) is a safe prime of exactly 2048 bits and returns it.
///
/// [`KNOWN_DH_PRIME`] is accepted by comparison. Any other value is sieved by small primes,
/// then `q = (p - 1) / 2` gets 16 Miller–Rabin rounds with bases drawn
/// from SHA-256 of `p` (so a server cannot pick a composite that passes fixed bases), and `p`
/// itself is proven prime from `q` by Pocklington's criterion: `q > sqrt(p)` is prime, `3 ∤ p`
/// and `2^(p-1) ≡ 1 (mod p)`. That costs one modular power instead of another 16.
///
/// # Errors
///
/// [`CryptoError::DhPrimeSize`] or [`CryptoError::DhPrimeNotSafe`].
pub fn check_dh_prime(dh_prime: &[u8]) -> Result<(), CryptoError> {
    parse_dh_prime(dh_prime).map(drop)
}

/// [`check_dh_prime`], returning the checked prime.
fn parse_dh_prime(dh_prime: &[u8]) -> Result<BigUint, CryptoError> {
    let p = BigUint::from_bytes_be(dh_prime);
    let bits = p.bits();
    if bits != 2048 {
        return Err(CryptoError::DhPrimeSize { bits });
    }
    if dh_prime.len() == DH_LEN && dh_prime == KNOWN_DH_PRIME {
        return Ok(p);
    }
    // A safe prime above 7 is 3 mod 4 (q odd) and 2 mod 3 (neither p nor q divisible by 3).
    if p.is_even() {
        return Err(CryptoError::DhPrimeNotSafe { which: "p" });
    }
    let q: BigUint = &p >> 1u32;
    for small in SMALL_PRIMES {
        let r = (&p % small).to_u32_digits().first().copied().unwrap_or(0);
        if r == 0 {
            return Err(CryptoError::DhPrimeNotSafe { which: "p" });
        }
        if r == 1 {
            // p ≡ 1 (mod s) means s divides p - 1 = 2q, and s is odd.
            return Err(CryptoError::DhPrimeNotSafe {
                which: "(p - 1) / 2",
            });
        }
    }
    if !is_probable_prime(&q, MILLER_RABIN_ROUNDS) {
        return Err(CryptoError::DhPrimeNotSafe {
            which: "(p - 1) / 2",
        });
    }
    let p_minus_one = &p - 1u32;
    if !BigUint::from(2u32).modpow(&p_minus_one, &p).is_one() {
        return Err(CryptoError::DhPrimeNotSafe { which: "p" });
    }
    Ok(p)
}

/// Odd primes used to sieve candidates before Miller–Rabin.
const SMALL_PRIMES: [u32; 53] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251,
];

fn check_generator_range(g: i32) -> Result<u32, CryptoError> {
    match u32::try_from(g) {
        Ok(g @ 2..=7) => Ok(g),
        _ => Err(CryptoError::DhGeneratorUnsupported { g: i64::from(g) }),
    }
}

/// The quadratic-residue conditions of /mtproto/auth_key: `g` generates the subgroup of order
/// `(p - 1) / 2` exactly when `p` has one of these residues.
fn check_generator_residue(g: u32, p: &BigUint) -> Result<(), CryptoError> {
    let (modulus, allowed): (u32, &[u32]) = match g {
        2 => (8, &[7]),
        3 => (3, &[2]),
        4 => return Ok(()),
        5 => (5, &[1, 4]),
        6 => (24, &[19, 23]),
        7 => (7, &[3, 5, 6]),
        // `check_generator_range` let only 2..=7 through.
        _ => return Err(CryptoError::DhGeneratorUnsupported { g: i64::from(g) }),
    };
    let residue = (p % modulus).to_u32_digits().first().copied().unwrap_or(0);
    if allowed.contains(&residue) {
        Ok(())
    } else {
        Err(CryptoError::DhGeneratorNotResidue {
            g,
            modulus,
            residue,
        })
    }
}

/// Checks `g` (2..=7) and its residue condition against `dh_prime` without the prime test.
///
/// # Errors
///
/// [`CryptoError::DhGeneratorUnsupported`] or [`CryptoError::DhGeneratorNotResidue`].
pub fn check_dh_generator(g: i32, dh_prime: &[u8]) -> Result<(), CryptoError> {
    let g = check_generator_range(g)?;
    check_generator_residue(g, &BigUint::from_bytes_be(dh_prime))
}

/// Miller–Rabin with `rounds` bases derived from SHA-256 of `n` (deterministic: the same `n`
/// always gets the same verdict). Composite numbers pass with probability at most `4^-rounds`
/// for bases the number's author cannot choose.
pub(crate) fn is_probable_prime(n: &BigUint, rounds: u32) -> bool {
    let two = BigUint::from(2u32);
    if *n < two {
        return false;
    }
    if *n < BigUint::from(4u32) {
        return true;
    }
    if n.is_even() {
        return false;
    }
    let n_minus_one = n - 1u32;
    let n_minus_three = n - 3u32;
    let s = n_minus_one.trailing_zeros().unwrap_or(0);
    let d = &n_minus_one >> s;
    let seed = n.to_bytes_be();
    'rounds: for round in 0..rounds {
        // A base in 2..=n-2 from a hash stream of n and the round number.
        let mut wide = Vec::with_capacity(seed.len() + 32);
        for block in 0..seed.len() / 32 + 2 {
            let index = u32::try_from(block).unwrap_or(u32::MAX);
            wide.extend_from_slice(&sha256(&[
                &seed,
                &round.to_be_bytes(),
                &index.to_be_bytes(),
            ]));
        }
        let a = BigUint::from_bytes_be(&wide) % &n_minus_three + &two;
        let mut x = a.modpow(&d, n);
        if x.is_one() || x == n_minus_one {
            continue;
        }
        for _ in 1..s {
            x = &x * &x % n;
            if x == n_minus_one {
                continue 'rounds;
            }
            if x.is_one() {
                return false;
            }
        }
        return false;
    }
    true
}

/// `value` as exactly `DH_LEN` big-endian bytes. Callers pass values below a 2048-bit modulus,
/// which always fit; a larger value keeps its low-order bytes.
fn to_be_array(value: &BigUint) -> [u8; DH_LEN] {
    let bytes = value.to_bytes_be();
    let mut out = [0; DH_LEN];
    let take = bytes.len().min(DH_LEN);
    let (_, low) = bytes.split_at(bytes.len() - take);
    out[DH_LEN - take..].copy_from_slice(low);
    out
}

#[cfg(test)]
mod tests {
    use num_traits::Zero;

    use super::*;

    #[test]
    fn accepts_the_known_prime_with_g_3_4_7_only() {
        for g in [3, 4, 7] {
            let params = DhParams::new(g, &KNOWN_DH_PRIME).unwrap();
            assert_eq!(params.prime(), KNOWN_DH_PRIME);
            assert_eq!(params.g(), g as u32);
        }
        // The known prime is 3 mod 8, 3 mod 5 and 11 mod 24.
        let residue = |g| match DhParams::new(g, &KNOWN_DH_PRIME) {
            Err(CryptoError::DhGeneratorNotResidue { residue, .. }) => residue,
            other => panic!("g = {g}: {other:?}"),
        };
        assert_eq!((residue(2), residue(5), residue(6)), (3, 3, 11));
        for g in [-1, 0, 1, 8, i32::MAX] {
            assert_eq!(
                DhParams::new(g, &KNOWN_DH_PRIME).unwrap_err(),
                CryptoError::DhGeneratorUnsupported { g: i64::from(g) }
            );
        }
    }

    #[test]
    fn proves_the_known_prime_without_the_shortcut() {
        // The same number with a leading zero byte skips the comparison and takes the full test.
        let mut padded = vec![0];
        padded.extend_from_slice(&KNOWN_DH_PRIME);
        assert_eq!(
            parse_dh_prime(&padded).unwrap().to_bytes_be(),
            KNOWN_DH_PRIME
        );
        check_dh_prime(&padded).unwrap();
    }

    #[test]
    fn rejects_wrong_sizes_and_composites() {
        assert_eq!(
            check_dh_prime(&KNOWN_DH_PRIME[1..]).unwrap_err(),
            CryptoError::DhPrimeSize { bits: 2037 }
        );
        assert_eq!(
            check_dh_prime(&[]).unwrap_err(),
            CryptoError::DhPrimeSize { bits: 0 }
        );
        let mut even = KNOWN_DH_PRIME;
        even[255] ^= 1;
        assert_eq!(
            check_dh_prime(&even).unwrap_err(),
            CryptoError::DhPrimeNotSafe { which: "p" }
        );
        // Changing a middle byte keeps the size; the result is not a safe prime.
        let mut other = KNOWN_DH_PRIME;
        other[100] ^= 0x10;
        assert!(matches!(
            check_dh_prime(&other),
            Err(CryptoError::DhPrimeNotSafe { .. })
        ));
    }

    #[test]
    fn miller_rabin_separates_small_primes_and_composites() {
        let primes = [2u32, 3, 5, 7, 13, 65537, 2147483647];
        let composites = [0u32, 1, 4, 9, 561, 1105, 25326001, 3215031751];
        for p in primes {
            assert!(is_probable_prime(&BigUint::from(p), 8), "{p}");
        }
        for c in composites {
            assert!(!is_probable_prime(&BigUint::from(c), 8), "{c}");
        }
    }

    #[test]
    fn checks_public_values_at_the_edges() {
        let params = DhParams::new(3, &KNOWN_DH_PRIME).unwrap();
        let low = BigUint::one() << 1984u32;
        let p = BigUint::from_bytes_be(&KNOWN_DH_PRIME);
        let ok = |v: &BigUint| params.check_public(&v.to_bytes_be(), "g_a").is_ok();
        assert!(!ok(&BigUint::zero()));
        assert!(!ok(&BigUint::one()));
        assert!(!ok(&low));
        assert!(ok(&(&low + 1u32)));
        assert!(ok(&(&p - &low - 1u32)));
        assert!(!ok(&(&p - &low)));
        assert!(!ok(&(&p - 1u32)));
        assert!(!ok(&p));
        assert!(!ok(&(&p + 5u32)));
        // The generator itself is far below 2^1984: g_b must not be a tiny power.
        assert!(matches!(
            params.compute_g_b(&{
                let mut b = [0; DH_LEN];
                b[255] = 1;
                b
            }),
            Err(CryptoError::DhValueOutOfRange { what: "g_b", .. })
        ));
    }

    #[test]
    fn powers_match_num_bigint() {
        let p = BigUint::from_bytes_be(&KNOWN_DH_PRIME);
        let mut b = [0u8; DH_LEN];
        for (i, byte) in b.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        let exponent = BigUint::from_bytes_be(&b);
        for g in [3, 4, 7] {
            let params = DhParams::new(g, &KNOWN_DH_PRIME).unwrap();
            let g_b = params.compute_g_b(&b).unwrap();
            let expect = BigUint::from(g as u32).modpow(&exponent, &p);
            assert_eq!(BigUint::from_bytes_be(&g_b), expect, "g = {g}");
            // Twice: the second call reads the cached comb.
            assert_eq!(params.compute_g_b(&b).unwrap(), g_b);
            let key = params.compute_auth_key(&g_b, &b).unwrap();
            assert_eq!(BigUint::from_bytes_be(&key), expect.modpow(&exponent, &p));
        }
        // A leading zero byte gives the same prime, and the same comb.
        let mut padded = vec![0];
        padded.extend_from_slice(&KNOWN_DH_PRIME);
        let params = DhParams::new(3, &padded).unwrap();
        assert!(params.comb().is_some());
        assert_eq!(
            params.compute_g_b(&b).unwrap(),
            DhParams::new(3, &KNOWN_DH_PRIME)
                .unwrap()
                .compute_g_b(&b)
                .unwrap()
        );
    }

    #[test]
    fn pads_to_256_bytes() {
        assert_eq!(to_be_array(&BigUint::zero()), [0; DH_LEN]);
        let mut expect = [0; DH_LEN];
        expect[254..].copy_from_slice(&[1, 2]);
        assert_eq!(to_be_array(&BigUint::from(0x0102u32)), expect);
    }
}
