//! AES-256-IGE in place, the mode MTProto encrypts messages and handshake payloads with.
//!
//! IV convention (OpenSSL `AES_ige_encrypt`, TDLib, MTProto's 32-byte `aes_iv`): `iv[0..16]` is the
//! "previous ciphertext block" `c_0`, `iv[16..32]` the "previous plaintext block" `p_0`;
//! `c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}` and `p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}`.

use aes::cipher::consts::U16;
use aes::cipher::{
    generic_array::GenericArray, BlockBackend, BlockClosure, BlockDecrypt, BlockEncrypt,
    BlockSizeUser, KeyInit,
};
use aes::Aes256;

use super::CryptoError;

/// The AES block size in bytes; IGE data must be a multiple of it.
pub const BLOCK_LEN: usize = 16;

type Block = GenericArray<u8, U16>;

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
        encrypt_blocks(
            &self.cipher,
            &mut self.prev_cipher,
            &mut self.prev_plain,
            data,
        );
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
        decrypt_blocks(
            &self.cipher,
            &mut self.prev_cipher,
            &mut self.prev_plain,
            data,
        );
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

/// IGE encryption of whole blocks (the caller checked the length), for any 128-bit block
/// cipher; the running IV halves are updated.
///
/// The loop runs inside the cipher's backend closure, so with AES-NI the whole chain is one
/// function with the round instructions inlined: no per-block dispatch or call, which brings
/// IGE close to the AES latency bound (each block depends on the previous one).
fn encrypt_blocks<C: BlockEncrypt<BlockSize = U16>>(
    cipher: &C,
    prev_cipher: &mut Block,
    prev_plain: &mut Block,
    data: &mut [u8],
) {
    cipher.encrypt_with_backend(IgeChain {
        data,
        prev_cipher,
        prev_plain,
        decrypt: false,
    });
}

/// IGE decryption of whole blocks, the inverse of [`encrypt_blocks`].
fn decrypt_blocks<C: BlockDecrypt<BlockSize = U16>>(
    cipher: &C,
    prev_cipher: &mut Block,
    prev_plain: &mut Block,
    data: &mut [u8],
) {
    cipher.decrypt_with_backend(IgeChain {
        data,
        prev_cipher,
        prev_plain,
        decrypt: true,
    });
}

/// One IGE pass over `data`, run by the cipher with its block backend.
struct IgeChain<'a> {
    data: &'a mut [u8],
    prev_cipher: &'a mut Block,
    prev_plain: &'a mut Block,
    /// Whether the backend decrypts (the XOR order swaps the IV halves).
    decrypt: bool,
}

impl BlockSizeUser for IgeChain<'_> {
    type BlockSize = U16;
}

impl BlockClosure for IgeChain<'_> {
    #[inline(always)]
    fn call<B: BlockBackend<BlockSize = U16>>(self, backend: &mut B) {
        // Encryption: c_i = E(p_i ^ c_{i-1}) ^ p_{i-1}. Decryption is the same chain with the
        // roles of the two halves swapped: p_i = D(c_i ^ p_{i-1}) ^ c_{i-1}.
        let (before, after) = if self.decrypt {
            (&mut *self.prev_plain, &mut *self.prev_cipher)
        } else {
            (&mut *self.prev_cipher, &mut *self.prev_plain)
        };
        let (mut xor_in, mut xor_out) = (*before, *after);
        for chunk in self.data.chunks_exact_mut(BLOCK_LEN) {
            // `chunks_exact_mut` yields exactly BLOCK_LEN bytes, so this cannot panic.
            let io = Block::from_mut_slice(chunk);
            let input = *io;
            let mut block = xor(&input, &xor_in);
            backend.proc_block((&mut block).into());
            xor_in = xor(&block, &xor_out);
            xor_out = input;
            *io = xor_in;
        }
        *before = xor_in;
        *after = xor_out;
    }
}

fn check_aligned(len: usize) -> Result<(), CryptoError> {
    if len.is_multiple_of(BLOCK_LEN) {
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

/// `a ^ b` bytewise; on fixed 16-byte arrays this compiles to one vector XOR, so the chain
/// stays in vector registers between AES rounds.
#[inline(always)]
fn xor(a: &Block, b: &Block) -> Block {
    let mut out = *a;
    for (o, x) in out.iter_mut().zip(b.iter()) {
        *o ^= x;
    }
    out
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
        assert_eq!(
            hex::encode_upper(state.iv()),
            format!("{}{}", &CIPHER[32..], &PLAIN[32..])
        );

        let mut state = AesIge::new(&key, &iv);
        let (first, second) = data.split_at_mut(16);
        state.decrypt(first).unwrap();
        state.decrypt(second).unwrap();
        assert_eq!(hex::encode_upper(&data), PLAIN);
    }

    // OpenSSL test/igetest.c (vectors from Ben Laurie's AES-IGE note), AES-128; quoted in
    // shared/vectors/aes-ige.txt section 1. They pin the IV convention with another key size.
    #[test]
    fn matches_the_openssl_aes128_vectors() {
        use aes::Aes128;

        let cipher = Aes128::new(&array::<16>("000102030405060708090A0B0C0D0E0F").into());
        let iv = array::<32>("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        let (mut c0, mut p0) = split_iv(&iv);
        let mut data = [0u8; 32];
        encrypt_blocks(&cipher, &mut c0, &mut p0, &mut data);
        assert_eq!(
            hex::encode_upper(data),
            "1A8519A6557BE652E9DA8E43DA4EF4453CF456B4CA488AA383C79C98B34797CB"
        );

        let cipher = Aes128::new(&array::<16>("5468697320697320616E20696D706C65").into());
        let iv = array::<32>("6D656E746174696F6E206F6620494745206D6F646520666F72204F70656E5353");
        let (mut c0, mut p0) = split_iv(&iv);
        let mut data =
            array::<32>("4C2E204C6574277320686F70652042656E20676F74206974207269676874210A");
        decrypt_blocks(&cipher, &mut c0, &mut p0, &mut data);
        assert_eq!(
            hex::encode_upper(data),
            "99706487A1CDE613BC6DE0B6F24B1C7AA448C8B9C3403E3467A8CAD89340F53B"
        );
    }

    #[test]
    fn empty_input_is_a_no_op_and_unaligned_is_an_error() {
        let (key, iv) = ([7; 32], [9; 32]);
        aes_ige_encrypt(&mut [], &key, &iv).unwrap();
        let mut data = [1u8; 17];
        let err = aes_ige_decrypt(&mut data, &key, &iv).unwrap_err();
        assert_eq!(
            err,
            CryptoError::UnalignedLength {
                what: "aes-256-ige data",
                block: 16,
                len: 17
            }
        );
        assert_eq!(data, [1u8; 17]);
        assert_eq!(format!("{:?}", AesIge::new(&key, &iv)), "AesIge { .. }");
    }
}
