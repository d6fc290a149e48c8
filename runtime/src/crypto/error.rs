//! The crypto error type: what a primitive expected and what it was given.

use std::fmt;

/// A failure of a crypto primitive on its input.
///
/// Every variant says what was expected and what came, so a caller can log it as-is. Checks on
/// values from the server (DH parameters, `pq`, hashes) fail with these, never with a panic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// A buffer whose length must be a multiple of the block size was not.
    UnalignedLength {
        /// What the buffer holds (for example `"aes-256-ige data"`).
        what: &'static str,
        /// The block size in bytes.
        block: usize,
        /// The length given.
        len: usize,
    },
    /// A buffer had a length other than the one the primitive needs.
    WrongLength {
        /// What the buffer holds.
        what: &'static str,
        /// The required length in bytes.
        expected: usize,
        /// The length given.
        len: usize,
    },
    /// A buffer was longer than the primitive accepts.
    TooLong {
        /// What the buffer holds.
        what: &'static str,
        /// The largest accepted length in bytes.
        max: usize,
        /// The length given.
        len: usize,
    },
    /// PEM armour was missing, unknown or malformed.
    InvalidPem {
        /// What was wrong.
        reason: &'static str,
    },
    /// The PEM body was not valid base64.
    InvalidBase64 {
        /// Offset of the offending character within the body (whitespace included).
        offset: usize,
    },
    /// The DER structure of a key was malformed.
    InvalidDer {
        /// Offset of the offending byte within the DER bytes.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// An RSA key had a modulus or exponent that cannot be used.
    InvalidRsaKey {
        /// What was wrong.
        reason: &'static str,
    },
    /// A value for raw RSA was not below the modulus.
    NotBelowModulus {
        /// What the value was.
        what: &'static str,
    },
    /// RSA_PAD drew this many temp keys and every result was at least the modulus (the
    /// random source is broken: each attempt fails with a probability below one half).
    RsaPadExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// A hash or key inside decrypted data did not match the one recomputed from it.
    HashMismatch {
        /// Which hash.
        what: &'static str,
    },
    /// `dh_prime` had the wrong size.
    DhPrimeSize {
        /// Its size in bits.
        bits: u64,
    },
    /// `dh_prime` was not a safe prime (`p` and `(p - 1) / 2` both prime).
    DhPrimeNotSafe {
        /// Which of the two numbers failed: `"p"` or `"(p - 1) / 2"`.
        which: &'static str,
    },
    /// The generator `g` was outside 2..=7.
    DhGeneratorUnsupported {
        /// The generator given.
        g: i64,
    },
    /// `g` does not generate the subgroup of order `(p - 1) / 2` for this prime.
    DhGeneratorNotResidue {
        /// The generator.
        g: u32,
        /// The modulus of the condition (8, 3, 5, 24 or 7).
        modulus: u32,
        /// `p` reduced by that modulus.
        residue: u32,
    },
    /// A DH value (`g_a`, `g_b`) was outside the safe range.
    DhValueOutOfRange {
        /// Which value.
        what: &'static str,
        /// The range it had to be in.
        expected: &'static str,
    },
    /// `pq` was not the product of two distinct odd primes.
    NotSemiprime {
        /// The value given.
        pq: u64,
        /// Why it was rejected.
        reason: &'static str,
    },
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnalignedLength { what, block, len } => {
                write!(f, "{what}: expected a multiple of {block} bytes, got {len}")
            }
            Self::WrongLength { what, expected, len } => {
                write!(f, "{what}: expected {expected} bytes, got {len}")
            }
            Self::TooLong { what, max, len } => {
                write!(f, "{what}: expected at most {max} bytes, got {len}")
            }
            Self::InvalidPem { reason } => write!(f, "invalid pem: {reason}"),
            Self::InvalidBase64 { offset } => {
                write!(f, "invalid pem body: expected base64, got another character at offset {offset}")
            }
            Self::InvalidDer { offset, expected } => {
                write!(f, "invalid der at byte {offset}: expected {expected}")
            }
            Self::InvalidRsaKey { reason } => write!(f, "unusable rsa key: {reason}"),
            Self::NotBelowModulus { what } => {
                write!(f, "{what}: expected a value below the rsa modulus, got one at least as large")
            }
            Self::RsaPadExhausted { attempts } => write!(
                f,
                "rsa_pad: expected a result below the modulus within {attempts} temp keys, got none (broken random source?)"
            ),
            Self::HashMismatch { what } => {
                write!(f, "{what}: expected the recomputed hash, got a different one")
            }
            Self::DhPrimeSize { bits } => {
                write!(f, "dh_prime: expected exactly 2048 bits, got {bits}")
            }
            Self::DhPrimeNotSafe { which } => {
                write!(f, "dh_prime: expected a safe prime, but {which} is composite")
            }
            Self::DhGeneratorUnsupported { g } => {
                write!(f, "dh g: expected one of 2..=7, got {g}")
            }
            Self::DhGeneratorNotResidue { g, modulus, residue } => write!(
                f,
                "dh g = {g}: dh_prime mod {modulus} = {residue} does not make g a generator of the order-(p-1)/2 subgroup"
            ),
            Self::DhValueOutOfRange { what, expected } => {
                write!(f, "{what}: expected {expected}, got a value outside")
            }
            Self::NotSemiprime { pq, reason } => {
                write!(f, "pq: expected a product of two distinct odd primes, got {pq} ({reason})")
            }
        }
    }
}

impl std::error::Error for CryptoError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_lower_case_and_name_what_came() {
        let err = CryptoError::UnalignedLength {
            what: "aes-256-ige data",
            block: 16,
            len: 17,
        };
        assert_eq!(
            err.to_string(),
            "aes-256-ige data: expected a multiple of 16 bytes, got 17"
        );
        let err = CryptoError::NotSemiprime {
            pq: 7,
            reason: "prime",
        };
        assert_eq!(
            err.to_string(),
            "pq: expected a product of two distinct odd primes, got 7 (prime)"
        );
        let err = CryptoError::DhGeneratorNotResidue {
            g: 2,
            modulus: 8,
            residue: 3,
        };
        assert!(err.to_string().starts_with("dh g = 2: dh_prime mod 8 = 3"));
    }
}
