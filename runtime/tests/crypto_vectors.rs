//! Crypto tests driven by the published vectors in shared/vectors/ (read at test time, never copied), plus no-panic property tests.
#![cfg(feature = "crypto")]

mod common;

use common::{after, between, test_keypair, vectors};

use num_bigint::BigUint;
use proptest::prelude::*;

use tlgen_runtime::crypto::{
    aes_ige_decrypt, aes_ige_encrypt, check_dh_prime, factorize_pq, message_key_iv, msg_key,
    msg_key_from_large, msg_key_large, quick_ack_token, rsa_pad, rsa_pad_decrypt, sha1,
    tmp_aes_key_iv, AesCtr, AesIge, CryptoError, DhParams, Direction, RsaPublicKey, KNOWN_DH_PRIME,
};

// ---------------------------------------------------------------------------------------------
// Reading the vector files
// ---------------------------------------------------------------------------------------------

/// The values of every line of `text` that assigns `key` (as in `key = V`,
/// `key (24,16) = V`, `x=0: key = V` or `key = formula = V`): the first token after one of the
/// line's `=` signs (without a TL long-string prefix `FE000100 + `) that is a hex or decimal
/// number.
fn values(text: &str, key: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let Some(eq) = assignment(line, key) else {
            continue;
        };
        for segment in line[eq + 1..].split('=') {
            let rest = segment.trim_start();
            let rest = rest.strip_prefix("FE000100 + ").unwrap_or(rest);
            let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
            let digits = token.strip_prefix("0x").unwrap_or(&token);
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit()) {
                found.push(token);
                break;
            }
        }
    }
    found
}

/// Where the `=` is when `line` assigns `key` (optionally with a `(...)` note between them).
fn assignment(line: &str, key: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(pos) = line[from..].find(key) {
        let start = from + pos;
        from = start + key.len();
        let before = line[..start].chars().last();
        let word_start = !matches!(before, Some(c) if c.is_ascii_alphanumeric() || c == '_');
        let mut rest = &line[from..];
        let trimmed = rest.trim_start();
        if let Some(group) = trimmed.strip_prefix('(') {
            if let Some(close) = group.find(')') {
                rest = &group[close + 1..];
            }
        }
        let trimmed = rest.trim_start();
        if word_start && trimmed.starts_with('=') {
            return Some(line.len() - trimmed.len());
        }
    }
    None
}

/// The first value of `key` in `text`.
fn value(text: &str, key: &str) -> String {
    values(text, key)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no value for {key:?}"))
}

fn hex_bytes(text: &str, key: &str) -> Vec<u8> {
    hex::decode(value(text, key)).unwrap_or_else(|e| panic!("{key}: {e}"))
}

fn hex_array<const N: usize>(text: &str, key: &str) -> [u8; N] {
    let bytes = hex_bytes(text, key);
    bytes
        .try_into()
        .unwrap_or_else(|b: Vec<u8>| panic!("{key}: expected {N} bytes, got {}", b.len()))
}

fn hex_array_of<const N: usize>(hex: &str) -> [u8; N] {
    hex::decode(hex).unwrap().try_into().unwrap()
}

fn decimal(text: &str, key: &str) -> u64 {
    value(text, key)
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The unsigned numbers after the first `:` of the first line of `text` that starts with `label`.
fn number_row(text: &str, label: &str) -> Vec<u32> {
    let line = text
        .lines()
        .map(str::trim_start)
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?}"));
    let (_, numbers) = line.split_once(':').unwrap();
    numbers
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect()
}

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, entry) in (0u32..).zip(table.iter_mut()) {
        let mut c = i;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// TDLib's test generator (aes-ige.txt section 3): `seed = L`, then per byte
/// `seed = seed * 123457567 + 987651241`, `byte = (seed >> 23) & 0xFF`.
struct Lcg(u32);

impl Lcg {
    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            self.0 = self.0.wrapping_mul(123_457_567).wrapping_add(987_651_241);
            *b = (self.0 >> 23) as u8;
        }
    }
}

/// Chunk lengths that vary (1, 2, 3, ... times `unit`), to check the streaming state.
fn chunks(len: usize, unit: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut left, mut k) = (len, 1);
    while left > 0 {
        let take = (k * unit).min(left);
        out.push(take);
        left -= take;
        k = k % 7 + 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// aes-ige.txt
// ---------------------------------------------------------------------------------------------

/// shared/vectors/aes-ige.txt section 3: TDLib's AES-256-IGE CRC32 vectors (tdutils/test/crypto.cpp).
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn aes_ige_matches_tdlib_crc_vectors() {
    let Some(text) = vectors("aes-ige.txt") else {
        return;
    };
    let section = between(&text, "AES-256-IGE (encrypt", "AES-256-CTR");
    let lengths = number_row(section, "L:");
    let crcs = number_row(section, "crc32:");
    assert_eq!(lengths.len(), crcs.len());
    assert!(lengths.len() >= 6);
    for (&len, &expected) in lengths.iter().zip(&crcs) {
        let len = len as usize;
        let mut lcg = Lcg(len as u32);
        let mut data = vec![0; len];
        let (mut key, mut iv) = ([0; 32], [0; 32]);
        lcg.fill(&mut data);
        lcg.fill(&mut key);
        lcg.fill(&mut iv);
        let plain = data.clone();
        let mut state = AesIge::new(&key, &iv);
        let mut at = 0;
        for chunk in chunks(len / 16, 1) {
            state.encrypt(&mut data[at..at + chunk * 16]).unwrap();
            at += chunk * 16;
        }
        assert_eq!(crc32(&data), expected, "aes-256-ige length {len}");
        aes_ige_decrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(data, plain, "aes-256-ige round trip, length {len}");
    }
}

/// shared/vectors/aes-ige.txt section 3: TDLib's AES-256-CTR CRC32 vectors, with the LCG IV and
/// with IV = FF * 16 (counter wrap-around).
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn aes_ctr_matches_tdlib_crc_vectors() {
    let Some(text) = vectors("aes-ige.txt") else {
        return;
    };
    let section = after(&text, "AES-256-CTR (iv =");
    let lengths = number_row(section, "L:");
    let lcg_crcs = number_row(section, "crc32 (LCG iv)");
    let ff_crcs = number_row(section, "crc32 (iv=FF*16)");
    assert_eq!(lengths.len(), lcg_crcs.len());
    assert_eq!(lengths.len(), ff_crcs.len());
    for ((&len, &lcg_crc), &ff_crc) in lengths.iter().zip(&lcg_crcs).zip(&ff_crcs) {
        let len = len as usize;
        let mut lcg = Lcg(len as u32);
        let plain = {
            let mut p = vec![0; len];
            lcg.fill(&mut p);
            p
        };
        let (mut key, mut iv) = ([0; 32], [0; 16]);
        lcg.fill(&mut key);
        lcg.fill(&mut iv);
        for (iv, expected) in [(iv, lcg_crc), ([0xff; 16], ff_crc)] {
            let mut data = plain.clone();
            let mut ctr = AesCtr::new(&key, &iv);
            let mut at = 0;
            for chunk in chunks(len, 5) {
                ctr.apply(&mut data[at..at + chunk]);
                at += chunk;
            }
            assert_eq!(
                crc32(&data),
                expected,
                "aes-256-ctr length {len}, iv {}",
                hex::encode(iv)
            );
        }
    }
}

/// shared/vectors/aes-ige.txt "Explicit hex for the small cases" (derived from TDLib's generator).
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn aes_ige_and_ctr_match_the_explicit_small_cases() {
    let Some(text) = vectors("aes-ige.txt") else {
        return;
    };
    let mut ige_cases = 0;
    for marker in ["tdlib-LCG IGE length=16", "tdlib-LCG IGE length=32"] {
        let case = between(&text, marker, "tdlib-LCG");
        let key = hex_array::<32>(case, "key");
        let iv = hex_array::<32>(case, "iv");
        let mut data = hex_bytes(case, "plaintext");
        aes_ige_encrypt(&mut data, &key, &iv).unwrap();
        assert_eq!(data, hex_bytes(case, "ciphertext"), "{marker}");
        ige_cases += 1;
    }
    let mut ctr_cases = 0;
    for marker in [
        "tdlib-LCG CTR length=1\n",
        "tdlib-LCG CTR length=31",
        "tdlib-LCG CTR length=32",
        "tdlib-LCG CTR length=33",
    ] {
        let case = between(&text, marker, "tdlib-LCG");
        let key = hex_array::<32>(case, "key");
        let plain = hex_bytes(case, "plaintext");
        let expect = [
            (hex_array::<16>(case, "iv"), hex_bytes(case, "ciphertext")),
            ([0xff; 16], hex_bytes(case, "ciphertext with iv=FF*16")),
        ];
        for (iv, cipher) in expect {
            let mut data = plain.clone();
            AesCtr::new(&key, &iv).apply(&mut data);
            assert_eq!(data, cipher, "{marker}");
        }
        ctr_cases += 1;
    }
    assert_eq!((ige_cases, ctr_cases), (2, 4));
}

// ---------------------------------------------------------------------------------------------
// samples-auth_key.txt
// ---------------------------------------------------------------------------------------------

/// shared/vectors/samples-auth_key.txt step 3 (core.telegram.org/mtproto/samples-auth_key).
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn factorizes_the_published_pq() {
    let Some(text) = vectors("samples-auth_key.txt") else {
        return;
    };
    let step = between(&text, "3) pq factorization", "4) encrypted_data");
    let (pq, p, q) = (decimal(step, "pq"), decimal(step, "p"), decimal(step, "q"));
    assert_eq!(factorize_pq(pq), Ok((p, q)));
    // The TL bytes of pq in resPQ carry the same number big-endian.
    let res_pq = after(&text, "2) Server sends response");
    let tl_pq = hex_bytes(res_pq, "pq");
    assert_eq!(tl_pq[0], 8);
    assert_eq!(u64::from_be_bytes(tl_pq[1..9].try_into().unwrap()), pq);
}

/// shared/vectors/samples-auth_key.txt steps 4 and 6: tmp_aes_key and tmp_aes_iv from new_nonce
/// and server_nonce.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn derives_the_published_tmp_aes_key_and_iv() {
    let Some(text) = vectors("samples-auth_key.txt") else {
        return;
    };
    let new_nonce = hex_array::<32>(&text, "new_nonce");
    let server_nonce = hex_array::<16>(&text, "server_nonce");
    let derived = tmp_aes_key_iv(&new_nonce, &server_nonce);
    assert_eq!(derived.key, hex_array::<32>(&text, "tmp_aes_key"));
    assert_eq!(derived.iv, hex_array::<32>(&text, "tmp_aes_iv"));
}

/// shared/vectors/samples-auth_key.txt steps 6 and 7.1: the official AES-256-IGE decryption of
/// encrypted_answer and encryption of client_DH_inner_data.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn aes_ige_matches_the_official_handshake() {
    let Some(text) = vectors("samples-auth_key.txt") else {
        return;
    };
    let key = hex_array::<32>(&text, "tmp_aes_key");
    let iv = hex_array::<32>(&text, "tmp_aes_iv");

    let step6 = between(&text, "Decryption inputs", "server_DH_inner_data#");
    let mut answer = hex_bytes(step6, "encrypted_answer");
    assert_eq!(answer.len(), 592);
    aes_ige_decrypt(&mut answer, &key, &iv).unwrap();
    assert_eq!(answer, hex_bytes(step6, "answer_with_hash"));
    // answer_with_hash = SHA1(server_DH_inner_data (564 bytes)) + that data + padding.
    assert_eq!(sha1(&[&answer[20..584]]), answer[..20]);

    let step7 = between(&text, "Encryption inputs", "7.2)");
    let data = hex_bytes(step7, "data");
    let padding = hex_bytes(step7, "padding");
    let mut data_with_hash = sha1(&[&data]).to_vec();
    data_with_hash.extend_from_slice(&data);
    data_with_hash.extend_from_slice(&padding);
    aes_ige_encrypt(&mut data_with_hash, &key, &iv).unwrap();
    assert_eq!(data_with_hash, hex_bytes(step7, "encrypted_data"));
}

/// shared/vectors/samples-auth_key.txt steps 6–9: the DH checks accept the official dh_prime,
/// g and g_a; g_b, auth_key, its ids and new_nonce_hash1 recompute exactly.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn diffie_hellman_matches_the_official_handshake() {
    let Some(text) = vectors("samples-auth_key.txt") else {
        return;
    };
    let inner = after(&text, "server_DH_inner_data#b5890dba");
    let dh_prime = hex_bytes(inner, "dh_prime");
    let g_a = hex_bytes(inner, "g_a");
    let g = value(after(inner, "%(server_DH_inner_data)"), "g");
    assert_eq!(g, "03000000");
    // The page prints the same prime as /mtproto/auth_key's "current dh_prime": the built-in one.
    assert_eq!(dh_prime, KNOWN_DH_PRIME);
    let params = DhParams::new(3, &dh_prime).unwrap();
    params.check_public(&g_a, "g_a").unwrap();

    // The full safe-prime test (not the comparison) accepts it too.
    let mut padded = vec![0];
    padded.extend_from_slice(&dh_prime);
    check_dh_prime(&padded).unwrap();

    let step7 = after(&text, "7) Client computes");
    let b = hex_array::<256>(step7, "b");
    let g_b = params.compute_g_b(&b).unwrap();
    assert_eq!(g_b, hex_array::<256>(step7, "g_b"));
    params.check_public(&g_b, "g_b").unwrap();

    let auth_key = params.compute_auth_key(&g_a, &b).unwrap();
    assert_eq!(
        auth_key,
        hex_array::<256>(after(&text, "8) auth_key"), "auth_key")
    );

    let derived = after(&text, "Derived values");
    let hash = sha1(&[&auth_key]);
    assert_eq!(hash[..8], hex_bytes(derived, "auth_key_aux_hash"));
    assert_eq!(hash[12..], hex_bytes(derived, "auth_key_id"));
    let new_nonce = hex_array::<32>(&text, "new_nonce");
    let new_nonce_hash1 = sha1(&[&new_nonce, &[1], &hash[..8]]);
    assert_eq!(new_nonce_hash1[4..], hex_bytes(&text, "new_nonce_hash1"));
}

/// shared/vectors/samples-auth_key.txt step 4 and rsa-keys.txt: the published RSA_PAD output is a
/// 256-byte value below the production modulus (it cannot be recomputed: temp_key is not
/// published), and our RSA_PAD of the same data has the same shape.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn rsa_pad_output_has_the_published_shape() {
    let (Some(samples), Some(keys)) = (vectors("samples-auth_key.txt"), vectors("rsa-keys.txt"))
    else {
        return;
    };
    let key = RsaPublicKey::from_pem(after(&keys, "=== Production key")).unwrap();
    let step4 = between(&samples, "Inputs to RSA_PAD", "=====");
    let data = hex_bytes(step4, "data");
    let padding = hex_bytes(step4, "random_padding_bytes");
    assert_eq!(data.len() + padding.len(), 192);
    let published = hex_bytes(step4, "encrypted_data");
    assert_eq!(published.len(), 256);
    assert!(BigUint::from_bytes_be(&published) < BigUint::from_bytes_be(&key.n()));

    let mut stream = padding
        .into_iter()
        .chain((0u8..).map(|i| i.wrapping_mul(73)));
    let mut random = |buf: &mut [u8]| buf.iter_mut().for_each(|b| *b = stream.next().unwrap_or(0));
    let ours = rsa_pad(&data, &key, &mut random).unwrap();
    assert!(BigUint::from_bytes_be(&ours) < BigUint::from_bytes_be(&key.n()));
}

// ---------------------------------------------------------------------------------------------
// rsa-keys.txt
// ---------------------------------------------------------------------------------------------

/// shared/vectors/rsa-keys.txt (keys from TDLib PublicRsaKeySharedMain.cpp): every PEM parses to
/// the listed modulus, and the computed fingerprint is the listed SHA1's last 8 bytes.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn parses_the_server_keys_and_computes_their_fingerprints() {
    let Some(text) = vectors("rsa-keys.txt") else {
        return;
    };
    let mut fingerprints = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("-----BEGIN ") {
        let block = &rest[at..];
        let key = RsaPublicKey::from_pem(block).unwrap();
        let sha = hex_bytes(block, "SHA1(tl(n)+tl(e))");
        assert_eq!(key.n(), hex_bytes(block, "n"));
        assert_eq!(key.e(), [1, 0, 1]);
        assert_eq!(key.fingerprint().to_le_bytes(), sha[12..]);
        // The TL form the fingerprint hashes: FE 00 01 00 + n, then 03 01 00 01.
        let mut tl = vec![0xfe, 0x00, 0x01, 0x00];
        tl.extend_from_slice(&key.n());
        tl.extend_from_slice(&[0x03, 0x01, 0x00, 0x01]);
        assert_eq!(sha1(&[&tl]).to_vec(), sha);
        fingerprints.push(key.fingerprint());
        rest = &block[block.find("-----END").unwrap() + 8..];
    }
    // Published fingerprints (core.telegram.org/mtproto/samples-auth_key resPQ lists
    // 85FD64DE851D9DD0, A5B7F709355FC30B, 216BE86C022BB4C3; TDLib's test-DC key is 03268D20DF9858B2).
    assert_eq!(
        fingerprints,
        [
            0xD09D_1D85_DE64_FD85,
            0xB258_98DF_208D_2603,
            0xC3B4_2B02_6CE8_6B21,
            0x0BC3_5F35_09F7_B7A5
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// mtproto2-kdf.txt
// ---------------------------------------------------------------------------------------------

/// shared/vectors/mtproto2-kdf.txt section 1 (mtcute) and section 2 (gramjs).
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn kdf_matches_the_third_party_vectors() {
    let Some(text) = vectors("mtproto2-kdf.txt") else {
        return;
    };
    let mtcute = between(&text, "== 1.", "== 2.");
    let chunk = hex_array::<32>(mtcute, "auth_key chunk");
    let mut auth_key = [0; 256];
    auth_key
        .chunks_mut(32)
        .for_each(|c| c.copy_from_slice(&chunk));
    let msg_keys = values(mtcute, "msg_key");
    let (aes_keys, aes_ivs) = (values(mtcute, "aes_key"), values(mtcute, "aes_iv"));
    let given = hex_array_of::<16>(&msg_keys[0]);
    for (i, direction) in [Direction::ClientToServer, Direction::ServerToClient]
        .into_iter()
        .enumerate()
    {
        let derived = message_key_iv(&auth_key, &given, direction);
        assert_eq!(
            hex::encode_upper(derived.key),
            aes_keys[i],
            "mtcute {direction:?}"
        );
        assert_eq!(
            hex::encode_upper(derived.iv),
            aes_ivs[i],
            "mtcute {direction:?}"
        );
        let plaintext: Vec<u8> = (0..32).collect();
        let computed = msg_key(&auth_key, direction, &plaintext);
        assert_eq!(
            hex::encode_upper(computed),
            msg_keys[i + 1],
            "mtcute msg_key {direction:?}"
        );
    }

    let gramjs = between(&text, "== 2.", "== 3.");
    let auth_key = hex_array::<256>(gramjs, "auth_key");
    let msg_key = hex_array::<16>(gramjs, "msg_key");
    let derived = message_key_iv(&auth_key, &msg_key, Direction::ServerToClient);
    assert_eq!(derived.key, hex_array::<32>(gramjs, "aes_key"));
    assert_eq!(derived.iv, hex_array::<32>(gramjs, "aes_iv"));
}

/// shared/vectors/mtproto2-kdf.txt section 3 (derived end-to-end example over the official auth
/// key of samples-auth_key.txt): msg_key, key/iv, the encrypted payload and quick-ack tokens.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn encrypts_the_derived_end_to_end_messages() {
    let (Some(text), Some(samples)) =
        (vectors("mtproto2-kdf.txt"), vectors("samples-auth_key.txt"))
    else {
        return;
    };
    let auth_key = hex_array::<256>(after(&samples, "8) auth_key"), "auth_key");
    let auth_key_id = &sha1(&[&auth_key])[12..];
    let cases = [
        (
            "--- client -> server",
            "--- server -> client",
            Direction::ClientToServer,
        ),
        (
            "--- server -> client",
            "--- transport framings",
            Direction::ServerToClient,
        ),
    ];
    for (start, end, direction) in cases {
        let case = between(&text, start, end);
        let mut plaintext = hex_bytes(case, "plaintext");
        let large = msg_key_large(&auth_key, direction, &plaintext);
        assert_eq!(
            large,
            hex_array::<32>(case, "msg_key_large"),
            "{direction:?}"
        );
        let key = msg_key_from_large(&large);
        assert_eq!(key, msg_key(&auth_key, direction, &plaintext));
        assert_eq!(key, hex_array::<16>(case, "msg_key"), "{direction:?}");
        let quick_ack = value(case, "quick_ack token");
        assert_eq!(
            format!("{:#010X}", quick_ack_token(&large)).replace("0X", "0x"),
            quick_ack
        );

        let aes = message_key_iv(&auth_key, &key, direction);
        assert_eq!(aes.key, hex_array::<32>(case, "aes_key"), "{direction:?}");
        assert_eq!(aes.iv, hex_array::<32>(case, "aes_iv"), "{direction:?}");
        let plain = plaintext.clone();
        aes_ige_encrypt(&mut plaintext, &aes.key, &aes.iv).unwrap();
        assert_eq!(
            plaintext,
            hex_bytes(case, "encrypted_data"),
            "{direction:?}"
        );
        let mut payload = auth_key_id.to_vec();
        payload.extend_from_slice(&key);
        payload.extend_from_slice(&plaintext);
        assert_eq!(payload, hex_bytes(case, "full payload"), "{direction:?}");

        // The receiver's side: decrypt and re-derive msg_key (security_guidelines check 1).
        aes_ige_decrypt(&mut plaintext, &aes.key, &aes.iv).unwrap();
        assert_eq!(plaintext, plain);
        assert!(tlgen_runtime::crypto::ct_eq(
            &msg_key(&auth_key, direction, &plaintext),
            &key
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests: decryption and checks of untrusted bytes never panic
// ---------------------------------------------------------------------------------------------

#[test]
fn rsa_pad_round_trips_with_a_test_key() {
    let key = test_keypair();
    let data = b"p_q_inner_data_dc stands in here";
    let mut counter = 0u8;
    let mut random = |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(101);
            *b = counter;
        }
    };
    let encrypted = rsa_pad(data, key.public_key(), &mut random).unwrap();
    assert_eq!(
        &rsa_pad_decrypt(&encrypted, key).unwrap()[..data.len()],
        data
    );
}

proptest! {
    #[test]
    fn aes_ige_decrypt_never_panics(data in prop::collection::vec(any::<u8>(), 0..300), key in any::<[u8; 32]>(), iv in any::<[u8; 32]>()) {
        let mut buf = data.clone();
        let result = aes_ige_decrypt(&mut buf, &key, &iv);
        prop_assert_eq!(result.is_ok(), data.len() % 16 == 0);
        if result.is_ok() {
            aes_ige_encrypt(&mut buf, &key, &iv).unwrap();
        }
        prop_assert_eq!(buf, data);
    }

    #[test]
    fn aes_ige_streaming_decrypt_never_panics(data in prop::collection::vec(any::<u8>(), 0..300), cuts in prop::collection::vec(0usize..300, 0..6)) {
        let mut buf = data;
        let mut state = AesIge::new(&[3; 32], &[4; 32]);
        let mut at = 0;
        for cut in cuts {
            let end = (at + cut).min(buf.len());
            let piece = &mut buf[at..end];
            let aligned = piece.len() % 16 == 0;
            prop_assert_eq!(state.decrypt(piece).is_ok(), aligned);
            if aligned {
                at = end;
            }
        }
    }

    #[test]
    fn aes_ctr_is_its_own_inverse(data in prop::collection::vec(any::<u8>(), 0..300), key in any::<[u8; 32]>(), iv in any::<[u8; 16]>(), split in 0usize..300) {
        let mut buf = data.clone();
        let split = split.min(buf.len());
        let mut ctr = AesCtr::new(&key, &iv);
        let (a, b) = buf.split_at_mut(split);
        ctr.apply(a);
        ctr.apply(b);
        AesCtr::new(&key, &iv).apply(&mut buf);
        prop_assert_eq!(buf, data);
    }

    #[test]
    fn factorize_never_panics_and_only_returns_true_factors(pq in any::<u64>()) {
        if let Ok((p, q)) = factorize_pq(pq) {
            prop_assert!(p < q && p > 2);
            prop_assert_eq!(u128::from(p) * u128::from(q), u128::from(pq));
        }
    }

    #[test]
    fn factorize_splits_products_of_random_primes(a in 1000u32..1 << 31, b in 1000u32..1 << 31) {
        let next_prime = |mut n: u64| { n |= 1; while factorize_pq(n) != Err(CryptoError::NotSemiprime { pq: n, reason: "prime" }) { n += 2; } n };
        let (p, q) = (next_prime(u64::from(a)), next_prime(u64::from(b)));
        prop_assume!(p != q);
        prop_assert_eq!(factorize_pq(p * q), Ok((p.min(q), p.max(q))));
    }

    #[test]
    fn rsa_key_parsing_never_panics(der in prop::collection::vec(any::<u8>(), 0..300), text in ".{0,200}") {
        let _ = RsaPublicKey::from_pkcs1_der(&der);
        let _ = RsaPublicKey::from_pem(&text);
        let _ = RsaPublicKey::from_pem(&format!("-----BEGIN RSA PUBLIC KEY-----\n{text}\n-----END RSA PUBLIC KEY-----"));
        let _ = RsaPublicKey::from_pem(&format!("-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----"));
    }

    #[test]
    fn dh_checks_never_panic(value in prop::collection::vec(any::<u8>(), 0..300), g in any::<i32>()) {
        let params = DhParams::new(3, &KNOWN_DH_PRIME).unwrap();
        let _ = params.check_public(&value, "g_a");
        let _ = tlgen_runtime::crypto::check_dh_generator(g, &value);
        // Random values are (almost surely) not safe primes; the test must reject them cheaply.
        if value.len() == 256 && value[0] & 0x80 != 0 {
            prop_assert!(check_dh_prime(&value).is_err());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn rsa_pad_decrypt_never_panics(block in prop::collection::vec(any::<u8>(), 0..300)) {
        let key = test_keypair();
        // Random blocks fail the length, modulus or hash check; none panics.
        prop_assert!(rsa_pad_decrypt(&block, key).is_err());
        let mut full = [0u8; 256];
        for (out, b) in full.iter_mut().zip(block.iter().cycle()) {
            *out = *b;
        }
        full[0] &= 0x7f;
        prop_assert!(rsa_pad_decrypt(&full, key).is_err());
    }

    #[test]
    fn auth_key_derivation_rejects_out_of_range_g_a(g_a in prop::collection::vec(any::<u8>(), 0..240)) {
        // Anything up to 240 bytes is below 2^1984 + 1: always out of range.
        let params = DhParams::new(3, &KNOWN_DH_PRIME).unwrap();
        let rejected = matches!(
            params.compute_auth_key(&g_a, &[1; 256]),
            Err(CryptoError::DhValueOutOfRange { what: "g_a", .. })
        );
        prop_assert!(rejected);
    }
}
