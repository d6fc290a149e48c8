//! MTProto cryptography: AES-256-IGE and CTR, SHA, RSA_PAD, Diffie-Hellman checks, pq factorization, the MTProto 2.0 KDF.
