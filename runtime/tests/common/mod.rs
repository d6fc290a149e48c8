//! Helpers shared by the runtime's integration tests: reading shared/vectors/, and a test RSA key pair.
#![allow(dead_code)]

#[cfg(feature = "transport")]
pub mod wire;

use num_bigint::BigUint;

use tlgen_runtime::crypto::{sha256, RsaPrivateKey};

/// The text of `shared/vectors/<file>`, or `None` (after saying so) when it is missing outside
/// CI. In CI (`CI=true`) a missing file fails the test.
pub fn vectors(file: &str) -> Option<String> {
    // ../shared beside the checkout, or TLGEN_SHARED_DIR (see build.rs).
    let path = format!("{}/vectors/{file}", env!("TLGEN_SHARED_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("vector file {path} is required when CI=true but could not be read: {err}")
        }
        Err(err) => {
            eprintln!("skipping: vector file {path} could not be read ({err})");
            None
        }
    }
}

/// The text from the first `marker` on (to pick one section of a file).
pub fn after<'a>(text: &'a str, marker: &str) -> &'a str {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("marker {marker:?} not found"));
    &text[at + marker.len()..]
}

/// The text from `start` up to `end` (or the end of `text`).
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let rest = after(text, start);
    rest.find(end).map_or(rest, |at| &rest[..at])
}

/// A 2048-bit test key pair (e = 65537) from two 1024-bit primes found by a deterministic
/// Miller–Rabin search from fixed seeds; built once, from the primes (so it decrypts by CRT).
pub fn test_keypair() -> &'static RsaPrivateKey {
    static KEY: std::sync::OnceLock<RsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let p = search_prime(b"crypto_vectors p");
        let q = search_prime(b"crypto_vectors q");
        let e = BigUint::from(65537u32);
        // From the primes: the server decrypts by CRT, as a real one would.
        RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &e.to_bytes_be()).unwrap()
    })
}

pub fn search_prime(seed: &[u8]) -> BigUint {
    let mut wide = sha256(&[seed, b"0"]).to_vec();
    for i in 1..4u8 {
        wide.extend_from_slice(&sha256(&[seed, &[b'0' + i]]));
    }
    let mut candidate = BigUint::from_bytes_be(&wide);
    candidate.set_bit(1023, true);
    candidate.set_bit(1022, true);
    candidate.set_bit(0, true);
    while !miller_rabin(&candidate) {
        candidate += 2u32;
    }
    candidate
}

/// Miller–Rabin with the first 16 primes as bases (enough for test keys).
pub fn miller_rabin(n: &BigUint) -> bool {
    let one = BigUint::from(1u32);
    let n_minus_one = n - &one;
    let s = n_minus_one.trailing_zeros().unwrap_or(0);
    let d = &n_minus_one >> s;
    for small in [
        3u32, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59,
    ] {
        if (n % small) == BigUint::from(0u32) {
            return false;
        }
    }
    'bases: for a in [
        2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53,
    ] {
        let mut x = BigUint::from(a).modpow(&d, n);
        if x == one || x == n_minus_one {
            continue;
        }
        for _ in 1..s {
            x = &x * &x % n;
            if x == n_minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}
