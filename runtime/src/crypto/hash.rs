//! SHA-1 and SHA-256 over the concatenation of several slices, returning fixed-size arrays.

use sha1::{Digest, Sha1};
use sha2::Sha256;

/// SHA-1 of `parts` concatenated, without building the concatenation.
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    let mut hasher = Sha1::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// SHA-256 of `parts` concatenated, without building the concatenation.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // FIPS 180 examples ("abc").
    #[test]
    fn matches_fips_examples_split_or_whole() {
        assert_eq!(
            hex::encode(sha1(&[b"abc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(sha1(&[b"a", b"", b"bc"]), sha1(&[b"abc"]));
        assert_eq!(
            hex::encode(sha256(&[b"ab", b"c"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha256(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
