//! MTProto 2.0 key derivation: msg_key, per-message AES key/IV, the handshake tmp key/IV, and constant-time comparison.

use subtle::ConstantTimeEq;

use super::hash::{sha1, sha256};

/// Length of an auth key in bytes.
pub const AUTH_KEY_LEN: usize = 256;

/// Who sent a message; selects `x` in the MTProto 2.0 formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server, `x = 0`.
    ClientToServer,
    /// Server to client, `x = 8`.
    ServerToClient,
}

impl Direction {
    /// The `x` offset into the auth key.
    pub fn x(self) -> usize {
        match self {
            Self::ClientToServer => 0,
            Self::ServerToClient => 8,
        }
    }
}

/// A 256-bit AES key and the 256-bit IGE IV that goes with it.
#[derive(Clone, PartialEq, Eq)]
pub struct AesKeyIv {
    /// The AES-256 key.
    pub key: [u8; 32],
    /// The AES-256-IGE IV.
    pub iv: [u8; 32],
}

impl std::fmt::Debug for AesKeyIv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are secrets: never print them.
        f.write_str("AesKeyIv { .. }")
    }
}

/// `msg_key_large = SHA256(substr(auth_key, 88 + x, 32) + plaintext)`, where `plaintext`
/// includes the random padding.
pub fn msg_key_large(
    auth_key: &[u8; AUTH_KEY_LEN],
    direction: Direction,
    plaintext: &[u8],
) -> [u8; 32] {
    let x = direction.x();
    // 88 + x + 32 <= 128 < AUTH_KEY_LEN, so the range is inside the array.
    sha256(&[&auth_key[88 + x..120 + x], plaintext])
}

/// `msg_key`: the middle 128 bits (bytes 8..24) of [`msg_key_large`].
pub fn msg_key(auth_key: &[u8; AUTH_KEY_LEN], direction: Direction, plaintext: &[u8]) -> [u8; 16] {
    msg_key_from_large(&msg_key_large(auth_key, direction, plaintext))
}

/// Bytes 8..24 of `msg_key_large`.
pub fn msg_key_from_large(large: &[u8; 32]) -> [u8; 16] {
    let mut key = [0; 16];
    key.copy_from_slice(&large[8..24]);
    key
}

/// The quick-ack token the server echoes for a client message: the little-endian `u32` of
/// `msg_key_large[0..4]` with the top bit set (mtproto-transports#quick-ack).
pub fn quick_ack_token(large: &[u8; 32]) -> u32 {
    u32::from_le_bytes([large[0], large[1], large[2], large[3]]) | 0x8000_0000
}

/// The AES key and IV of one message from the auth key and its `msg_key`:
/// `sha256_a = SHA256(msg_key + substr(auth_key, x, 36))`,
/// `sha256_b = SHA256(substr(auth_key, 40 + x, 36) + msg_key)`,
/// `key = a[0..8] + b[8..24] + a[24..32]`, `iv = b[0..8] + a[8..24] + b[24..32]`.
pub fn message_key_iv(
    auth_key: &[u8; AUTH_KEY_LEN],
    msg_key: &[u8; 16],
    direction: Direction,
) -> AesKeyIv {
    let x = direction.x();
    // x + 36 <= 44 and 40 + x + 36 <= 84, both inside the 256-byte key.
    let a = sha256(&[msg_key, &auth_key[x..x + 36]]);
    let b = sha256(&[&auth_key[40 + x..76 + x], msg_key]);
    let mut key = [0; 32];
    key[..8].copy_from_slice(&a[..8]);
    key[8..24].copy_from_slice(&b[8..24]);
    key[24..].copy_from_slice(&a[24..]);
    let mut iv = [0; 32];
    iv[..8].copy_from_slice(&b[..8]);
    iv[8..24].copy_from_slice(&a[8..24]);
    iv[24..].copy_from_slice(&b[24..]);
    AesKeyIv { key, iv }
}

/// The handshake key and IV for `server_DH_inner_data` and `client_DH_inner_data`:
/// `key = SHA1(new_nonce + server_nonce) + SHA1(server_nonce + new_nonce)[0..12]`,
/// `iv = SHA1(server_nonce + new_nonce)[12..20] + SHA1(new_nonce + new_nonce) + new_nonce[0..4]`.
pub fn tmp_aes_key_iv(new_nonce: &[u8; 32], server_nonce: &[u8; 16]) -> AesKeyIv {
    let ns = sha1(&[new_nonce, server_nonce]);
    let sn = sha1(&[server_nonce, new_nonce]);
    let nn = sha1(&[new_nonce, new_nonce]);
    let mut key = [0; 32];
    key[..20].copy_from_slice(&ns);
    key[20..].copy_from_slice(&sn[..12]);
    let mut iv = [0; 32];
    iv[..8].copy_from_slice(&sn[12..]);
    iv[8..28].copy_from_slice(&nn);
    iv[28..].copy_from_slice(&new_nonce[..4]);
    AesKeyIv { key, iv }
}

/// Compares two byte strings in time that depends only on their lengths (for `msg_key`s and
/// hashes from the network). Slices of different lengths are unequal.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn array<const N: usize>(hex: &str) -> [u8; N] {
        hex::decode(hex).unwrap().try_into().unwrap()
    }

    // shared/vectors/mtproto2-kdf.txt section 1 (mtcute packages/core/src/utils/crypto/mtproto.test.ts).
    fn mtcute_auth_key() -> [u8; 256] {
        let chunk = array::<32>("98CB29C6FFA89E79DA695A54F572E6CB101E81C688B63A4BF73C3622DEC230E0");
        let mut key = [0; 256];
        for part in key.chunks_mut(32) {
            part.copy_from_slice(&chunk);
        }
        key
    }

    #[test]
    fn derives_the_mtcute_key_and_iv() {
        let auth_key = mtcute_auth_key();
        let msg_key = array::<16>("25D701F2A29205526757825A99EB2D32");
        let client = message_key_iv(&auth_key, &msg_key, Direction::ClientToServer);
        assert_eq!(
            hex::encode_upper(client.key),
            "AF3F8E1FFA75F4C981EEC33A3E5BBAA2EA48F9BB93E91597627EB1F67960A0C9"
        );
        assert_eq!(
            hex::encode_upper(client.iv),
            "9874D77F95155B35221BFF94B7DF4594C6996E2A62E44FCB7D93C8C4E41B79EE"
        );
        let server = message_key_iv(&auth_key, &msg_key, Direction::ServerToClient);
        assert_eq!(
            hex::encode_upper(server.key),
            "D4B378E1E0525F10FF9D4C42807CCCE5B30A033A8088C0B922B5259421751648"
        );
    }

    #[test]
    fn derives_the_mtcute_msg_key() {
        let auth_key = mtcute_auth_key();
        let plaintext: Vec<u8> = (0..32).collect();
        assert_eq!(
            hex::encode_upper(msg_key(&auth_key, Direction::ClientToServer, &plaintext)),
            "894B894875EBCE6603FFAFD3F41B19D6"
        );
        assert_eq!(
            hex::encode_upper(msg_key(&auth_key, Direction::ServerToClient, &plaintext)),
            "DD1FE9862A6907D65C65FE63FD80BF29"
        );
    }

    #[test]
    fn compares_in_constant_time() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert_eq!(quick_ack_token(&[0; 32]), 0x8000_0000);
        assert_eq!(
            format!("{:?}", tmp_aes_key_iv(&[0; 32], &[0; 16])),
            "AesKeyIv { .. }"
        );
    }
}
