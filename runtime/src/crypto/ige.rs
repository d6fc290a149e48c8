//! AES-256-IGE in place, the mode MTProto encrypts messages and handshake payloads with.
//!
//! IV convention (OpenSSL `AES_ige_encrypt`, TDLib, MTProto's 32-byte `aes_iv`): `iv[0..16]` is the
//! "previous ciphertext block" `c_0`, `iv[16..32]` the "previous plaintext block" `p_0`;
//! `c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}` and `p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}`.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::Aes256;

use super::CryptoError;

/// The AES block size in bytes; IGE data must be a multiple of it.
pub const BLOCK_LEN: usize = 16;

type Block = GenericArray<u8, aes::cipher::consts::U16>;

/// AES-256-IGE with its expanded key and running IV, so a message can be fed in pieces.
///
/// After each call the state holds the last ciphertext and plaintext blocks, so feeding data in
/// chunks (multiples of 16 bytes) gives the same result as one call. Use one value per direction.
#[derive(Clone)]
pub struct AesIge {
    cipher: Aes256,
    prev_cipher: Block,
    prev_plain: Block,
}

impl AesIge {
    /// Expands `key` and starts from the 32-byte `iv` (`c_0` then `p_0`).
    pub fn new(key: &[u8; 32], iv: &[u8; 32]) -> Self {
        let (c0, p0) = split_iv(iv);
        Self {
            cipher: Aes256::new(key.into()),
            prev_cipher: c0,
            prev_plain: p0,
        }
    }

    /// Encrypts `data` in place, continuing from the previous call.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnalignedLength`] when `data.len()` is not a multiple of 16; `data` is
    /// then left unchanged.
    pub fn encrypt(&mut self, data: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned(data.len())?;
        let mut prev_cipher = self.prev_cipher;
        let mut prev_plain = self.prev_plain;
        for chunk in data.chunks_exact_mut(BLOCK_LEN) {
            // `chunks_exact_mut` yields exactly BLOCK_LEN bytes, so this cannot panic.
            let block = Block::from_mut_slice(chunk);
            let plain = *block;
            xor_into(block, &prev_cipher);
            self.cipher.encrypt_block(block);
            xor_into(block, &prev_plain);
            prev_cipher = *block;
            prev_plain = plain;
        }
        self.prev_cipher = prev_cipher;
        self.prev_plain = prev_plain;
        Ok(())
    }

    /// Decrypts `data` in place, continuing from the previous call.
    ///
    /// # Errors
    ///
    /// [`CryptoError::UnalignedLength`] when `data.len()` is not a multiple of 16; `data` is
    /// then left unchanged.
    pub fn decrypt(&mut self, data: &mut [u8]) -> Result<(), CryptoError> {
        check_aligned(data.len())?;
        let mut prev_cipher = self.prev_cipher;
        let mut prev_plain = self.prev_plain;
        for chunk in data.chunks_exact_mut(BLOCK_LEN) {
            // `chunks_exact_mut` yields exactly BLOCK_LEN bytes, so this cannot panic.
            let block = Block::from_mut_slice(chunk);
            let cipher = *block;
            xor_into(block, &prev_plain);
            self.cipher.decrypt_block(block);
            xor_into(block, &prev_cipher);
            prev_cipher = cipher;
            prev_plain = *block;
        }
        self.prev_cipher = prev_cipher;
        self.prev_plain = prev_plain;
        Ok(())
    }

    /// The running IV: the last ciphertext block, then the last plaintext block.
    pub fn iv(&self) -> [u8; 32] {
        let mut iv = [0; 32];
        iv[..BLOCK_LEN].copy_from_slice(&self.prev_cipher);
        iv[BLOCK_LEN..].copy_from_slice(&self.prev_plain);
        iv
    }
}

impl std::fmt::Debug for AesIge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys and IVs are secrets: never print them.
        f.write_str("AesIge { .. }")
    }
}

/// Encrypts `data` in place with AES-256-IGE under `key` and `iv`.
///
/// # Errors
///
/// [`CryptoError::UnalignedLength`] when `data.len()` is not a multiple of 16.
pub fn aes_ige_encrypt(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32]) -> Result<(), CryptoError> {
    check_aligned(data.len())?;
    AesIge::new(key, iv).encrypt(data)
}

/// Decrypts `data` in place with AES-256-IGE under `key` and `iv`.
///
/// # Errors
///
/// [`CryptoError::UnalignedLength`] when `data.len()` is not a multiple of 16.
pub fn aes_ige_decrypt(data: &mut [u8], key: &[u8; 32], iv: &[u8; 32]) -> Result<(), CryptoError> {
    check_aligned(data.len())?;
    AesIge::new(key, iv).decrypt(data)
}

fn check_aligned(len: usize) -> Result<(), CryptoError> {
    if len % BLOCK_LEN == 0 {
        Ok(())
    } else {
        Err(CryptoError::UnalignedLength {
            what: "aes-256-ige data",
            block: BLOCK_LEN,
            len,
        })
    }
}

fn split_iv(iv: &[u8; 32]) -> (Block, Block) {
    let (c0, p0) = iv.split_at(BLOCK_LEN);
    // Both halves of a 32-byte array are exactly 16 bytes long.
    (Block::clone_from_slice(c0), Block::clone_from_slice(p0))
}

#[inline(always)]
fn xor_into(dst: &mut Block, src: &Block) {
    for (d, s) in dst.iter_mut().zip(src.iter()) {
        *d ^= s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array<const N: usize>(hex: &str) -> [u8; N] {
        let bytes = hex::decode(hex).unwrap();
        bytes.try_into().unwrap()
    }

    // shared/vectors/aes-ige.txt, "tdlib-LCG IGE length=32" (TDLib tdutils/test/crypto.cpp).
    const KEY: &str = "3EF36A602C7C290E9F61268B6EA7FF16FEC2E55B47989477D17D5DF8B1381EDA";
    const IV: &str = "8EFD468BA172D4E8AEAA573D0E2CED49A7ED4639F052A1A8EF30CBA53DCB25AD";
    const PLAIN: &str = "4C7B4AECCF62F232603B211F558BF57195491F5397D8DB64620EFAB08C30DAB5";
    const CIPHER: &str = "C7DC97B92AE0375496947E56678E2BF4B1B5F178A91DFA2DDEB69D9D5DB2361C";

    #[test]
    fn encrypts_and_decrypts_the_tdlib_vector() {
        let (key, iv) = (array::<32>(KEY), array::<32>(IV));
        let mut data = hex::decode(PLAIN).unwrap();
        aes_ige_encrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(hex::encode_upper(&data), CIPHER);
        aes_ige_decrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(hex::encode_upper(&data), PLAIN);
    }

    #[test]
    fn chunked_calls_match_one_call() {
        let (key, iv) = (array::<32>(KEY), array::<32>(IV));
        let mut data = hex::decode(PLAIN).unwrap();
        let mut state = AesIge::new(&key, &iv);
        let (first, second) = data.split_at_mut(16);
        state.encrypt(first).unwrap();
        state.encrypt(second).unwrap();
        assert_eq!(hex::encode_upper(&data), CIPHER);
        assert_eq!(hex::encode_upper(state.iv()), format!("{}{}", &CIPHER[32..], &PLAIN[32..]));

        let mut state = AesIge::new(&key, &iv);
        let (first, second) = data.split_at_mut(16);
        state.decrypt(first).unwrap();
        state.decrypt(second).unwrap();
        assert_eq!(hex::encode_upper(&data), PLAIN);
    }

    #[test]
    fn empty_input_is_a_no_op_and_unaligned_is_an_error() {
        let (key, iv) = ([7; 32], [9; 32]);
        aes_ige_encrypt(&mut [], &key, &iv).unwrap();
        let mut data = [1u8; 17];
        let err = aes_ige_decrypt(&mut data, &key, &iv).unwrap_err();
        assert_eq!(
            err,
            CryptoError::UnalignedLength { what: "aes-256-ige data", block: 16, len: 17 }
        );
        assert_eq!(data, [1u8; 17]);
        assert_eq!(format!("{:?}", AesIge::new(&key, &iv)), "AesIge { .. }");
    }
}
