//! AES-256-CTR with a 128-bit big-endian counter, applied in place and continued across calls.

use aes::cipher::{KeyIvInit, StreamCipher};
use aes::Aes256;

/// AES-256-CTR keystream state, as the obfuscated2 transport uses it.
///
/// The 16-byte IV is the initial counter block; it is incremented as one big-endian 128-bit
/// number and wraps from `FF..FF` to `00..00`. Encryption and decryption are the same operation.
#[derive(Clone)]
pub struct AesCtr {
    inner: ctr::Ctr128BE<Aes256>,
}

impl AesCtr {
    /// Starts the keystream for `key` at counter block `iv`.
    pub fn new(key: &[u8; 32], iv: &[u8; 16]) -> Self {
        Self {
            inner: ctr::Ctr128BE::<Aes256>::new(key.into(), iv.into()),
        }
    }

    /// XORs the next `data.len()` keystream bytes into `data`.
    pub fn apply(&mut self, data: &mut [u8]) {
        // `apply_keystream` panics only when the counter would run out. With the 128-bit
        // counter `remaining_blocks` is `u128::MAX - ctr`, which does not fit a `usize` until
        // 2^128 - 2^64 blocks were produced, so the check is skipped and it cannot panic.
        self.inner.apply_keystream(data);
    }
}

impl std::fmt::Debug for AesCtr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and counter are secrets: never print them.
        f.write_str("AesCtr { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array<const N: usize>(hex: &str) -> [u8; N] {
        hex::decode(hex).unwrap().try_into().unwrap()
    }

    // shared/vectors/aes-ige.txt, "tdlib-LCG CTR length=33" (TDLib tdutils/test/crypto.cpp).
    const KEY: &str = "88A1FDB96755BDF47DAB6E656225F1453EB6B640CBC2BD71521B9964AC056A12";
    const IV: &str = "4034E1E909C93EC28F5853E8EBE58118";
    const PLAIN: &str = "5B1D9203F04C2D5E562911E4D8CE40F331E52D7E8CA5BC0583D73F9A24D57BDCE7";
    const CIPHER: &str = "469E0B6EC02CC1D0F5D4E6CE9391404668EC56E7AEE6BE91BB77C09FF8EACDF79C";
    const CIPHER_IV_FF: &str = "B62AE2F08BAB500CDD92BE3A09B5A0A6CD7D26461312107A6083F8E18A54BBA595";

    #[test]
    fn matches_tdlib_vector_in_any_chunking() {
        let key = array::<32>(KEY);
        for split in [0, 1, 15, 16, 17, 32, 33] {
            let mut data = hex::decode(PLAIN).unwrap();
            let mut ctr = AesCtr::new(&key, &array::<16>(IV));
            let (a, b) = data.split_at_mut(split);
            ctr.apply(a);
            ctr.apply(b);
            assert_eq!(hex::encode_upper(&data), CIPHER, "split at {split}");
        }
    }

    #[test]
    fn counter_wraps_from_all_ones() {
        let mut data = hex::decode(PLAIN).unwrap();
        let mut ctr = AesCtr::new(&array::<32>(KEY), &[0xff; 16]);
        ctr.apply(&mut data);
        assert_eq!(hex::encode_upper(&data), CIPHER_IV_FF);
        assert_eq!(format!("{ctr:?}"), "AesCtr { .. }");
    }
}
