//! MTProto cryptography: AES-256-IGE and CTR, SHA, RSA_PAD, Diffie-Hellman checks, pq factorization, the MTProto 2.0 KDF.
//!
//! Everything here is a pure function (or a small state) over byte buffers: randomness is
//! always passed in by the caller, and input from the network gets a typed [`CryptoError`],
//! never a panic. The AES block comes from the RustCrypto `aes` crate (AES-NI when present).
//!
//! ```
//! use tlgen_runtime::crypto::{aes_ige_decrypt, aes_ige_encrypt, message_key_iv, msg_key, Direction};
//!
//! let auth_key = [7u8; 256];
//! let mut plaintext = vec![0u8; 64]; // salt, session, msg_id, seq_no, length, body, padding
//! let key = msg_key(&auth_key, Direction::ClientToServer, &plaintext);
//! let aes = message_key_iv(&auth_key, &key, Direction::ClientToServer);
//! aes_ige_encrypt(&mut plaintext, &aes.key, &aes.iv)?;
//! aes_ige_decrypt(&mut plaintext, &aes.key, &aes.iv)?;
//! assert_eq!(plaintext, [0u8; 64]);
//! # Ok::<(), tlgen_runtime::crypto::CryptoError>(())
//! ```

mod ctr;
mod dh;
mod error;
mod factor;
mod hash;
#[cfg(target_arch = "x86_64")]
mod ifma;
mod ige;
mod kdf;
mod mont;
mod pem;
mod rsa;

pub use self::ctr::AesCtr;
pub use dh::{check_dh_generator, check_dh_prime, DhParams, DH_LEN, KNOWN_DH_PRIME};
pub use error::CryptoError;
pub use factor::factorize_pq;
#[cfg(feature = "mtproto")]
pub(crate) use factor::is_prime as is_prime_u64;
pub use hash::{sha1, sha256};
pub use ige::{aes_ige_decrypt, aes_ige_encrypt, AesIge, BLOCK_LEN};
pub use kdf::{
    ct_eq, message_key_iv, msg_key, msg_key_from_large, msg_key_large, quick_ack_token,
    tmp_aes_key_iv, AesKeyIv, Direction, AUTH_KEY_LEN,
};
pub use rsa::{
    rsa_pad, rsa_pad_decrypt, rsa_pad_unwrap, rsa_pad_with, RsaPrivateKey, RsaPublicKey, RSA_LEN,
    RSA_PAD_MAX_ATTEMPTS, RSA_PAD_MAX_DATA, RSA_PAD_PADDED_LEN,
};
