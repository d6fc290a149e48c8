//! AES-256-CTR (big-endian 128-bit counter) whose keystream continues across calls.

use std::fmt;

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};

/// An AES-256-CTR stream as obfuscated2 uses it: one per direction, for the connection's life.
pub struct AesCtr(ctr::Ctr128BE<Aes256>);

impl AesCtr {
    /// A stream keyed with `key`, counter starting at `iv`.
    pub fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        Self(ctr::Ctr128BE::<Aes256>::new(key.into(), iv.into()))
    }

    /// XORs `data` with the next `data.len()` keystream bytes (encrypts or decrypts).
    pub fn apply(&mut self, data: &mut [u8]) {
        // `apply_keystream` only panics when the 128-bit counter would wrap, after 2^132
        // bytes: no connection gets there.
        self.0.apply_keystream(data);
    }
}

impl fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AesCtr { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystream_continues_across_calls() {
        let (key, iv) = ([7u8; 32], [9u8; 16]);
        let mut whole = [0u8; 50];
        AesCtr::new(&key, &iv).apply(&mut whole);
        let mut parts = [0u8; 50];
        let mut ctr = AesCtr::new(&key, &iv);
        let (a, b) = parts.split_at_mut(13);
        ctr.apply(a);
        ctr.apply(b);
        assert_eq!(whole, parts);
        assert_ne!(whole, [0u8; 50]);
    }

    #[test]
    fn matches_nist_sp800_38a_f_5_5() {
        // NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt, first block.
        let key: [u8; 32] =
            hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .unwrap()
                .try_into()
                .unwrap();
        let iv: [u8; 16] = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
            .unwrap()
            .try_into()
            .unwrap();
        let mut block = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        AesCtr::new(&key, &iv).apply(&mut block);
        assert_eq!(hex::encode(block), "601ec313775789a5b7a7f504bbf3d228");
    }
}
