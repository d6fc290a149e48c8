//! Auth-key handshake tests: the official worked example, in-memory exchanges, every check's typed error, and no-panic properties.
#![cfg(feature = "mtproto")]

mod common;

use common::{after, between, test_keypair, vectors};

use std::sync::OnceLock;
use std::time::Instant;

use proptest::prelude::*;

use tlgen_runtime::crypto::{
    aes_ige_decrypt, aes_ige_encrypt, rsa_pad_decrypt, sha1, sha256, tmp_aes_key_iv, AesKeyIv,
    RsaPublicKey, KNOWN_DH_PRIME,
};
use tlgen_runtime::mtproto::handshake::{
    parse_plain_message, plain_message, AuthKey, Client, ClientStep, HandshakeError, Server,
};
use tlgen_runtime::mtproto::schema::{enums, functions, types};
use tlgen_runtime::{Deserializable, Reader, Serializable};

// ---------------------------------------------------------------------------------------------
// Vector files (same conventions as tests/crypto_vectors.rs)
// ---------------------------------------------------------------------------------------------

/// The hex value of the first line `key = HEX` or `key (a,b) = HEX` (a `FE000100 + ` prefix
/// dropped).
fn hex_value(text: &str, key: &str) -> Vec<u8> {
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix(key) else {
            continue;
        };
        let mut rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('(') {
            match group.find(')') {
                Some(close) => rest = group[close + 1..].trim_start(),
                None => continue,
            }
        }
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let rest = rest.strip_prefix("FE000100 + ").unwrap_or(rest);
        let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        if let Ok(bytes) = hex::decode(&token) {
            return bytes;
        }
    }
    panic!("no hex value for {key:?}")
}

fn hex_array<const N: usize>(text: &str, key: &str) -> [u8; N] {
    hex_value(text, key)
        .try_into()
        .unwrap_or_else(|_| panic!("{key}: expected {N} bytes"))
}

/// The bytes of the first `offset | bytes` dump in `text`.
fn dump(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut started = false;
    for line in text.lines() {
        let is_dump = line.len() > 7
            && line.as_bytes()[4..7] == *b" | "
            && line[..4].chars().all(|c| c.is_ascii_hexdigit());
        if is_dump {
            started = true;
            out.extend(hex::decode(line[7..].replace(' ', "")).unwrap());
        } else if started {
            break;
        }
    }
    assert!(!out.is_empty(), "no dump found");
    out
}

/// The TL body of the first plain message dumped in `text`.
fn dumped_body(text: &str) -> Vec<u8> {
    let message = dump(text);
    parse_plain_message(&message).unwrap().1.to_vec()
}

// ---------------------------------------------------------------------------------------------
// Randomness and keys
// ---------------------------------------------------------------------------------------------

/// A deterministic byte stream (SHA-256 in counter mode) standing in for a CSPRNG.
struct Stream {
    seed: [u8; 32],
    counter: u64,
    buf: Vec<u8>,
}

impl Stream {
    fn new(seed: &[u8]) -> Self {
        Self {
            seed: sha256(&[seed]),
            counter: 0,
            buf: Vec::new(),
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.buf.is_empty() {
                self.counter += 1;
                self.buf = sha256(&[&self.seed, &self.counter.to_le_bytes()]).to_vec();
            }
            *b = self.buf.pop().unwrap();
        }
    }
}

/// Randomness that answers the requests of the listed lengths, in order, with the given bytes
/// (a request of another length, like RSA_PAD's temp_key, gets stream bytes).
fn scripted(mut script: Vec<Vec<u8>>, seed: &[u8]) -> impl FnMut(&mut [u8]) {
    script.reverse();
    let mut stream = Stream::new(seed);
    move |out: &mut [u8]| match script.last() {
        Some(next) if next.len() == out.len() => {
            out.copy_from_slice(next);
            script.pop();
        }
        _ => stream.fill(out),
    }
}

fn seeded(seed: &[u8]) -> impl FnMut(&mut [u8]) {
    let mut stream = Stream::new(seed);
    move |out: &mut [u8]| stream.fill(out)
}

fn send(step: Result<ClientStep, HandshakeError>) -> Vec<u8> {
    match step {
        Ok(ClientStep::Send(body)) => body,
        other => panic!("expected a body to send, got {other:?}"),
    }
}

fn done(step: Result<ClientStep, HandshakeError>) -> AuthKey {
    match step {
        Ok(ClientStep::Done(key)) => *key,
        other => panic!("expected a finished key, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// (a) The official worked example
// ---------------------------------------------------------------------------------------------

/// shared/vectors/samples-auth_key.txt (core.telegram.org/mtproto/samples-auth_key, 2025
/// revision) with the production key of rsa-keys.txt: the client, fed the published nonce,
/// new_nonce, RSA_PAD padding, b and client_DH_inner_data padding, sends the published
/// req_pq_multi, req_DH_params (except the RSA_PAD output, whose temp_key is unpublished) and
/// set_client_DH_params, accepts the published answers, and ends with the published auth key.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn client_replays_the_official_example() {
    let (Some(text), Some(keys)) = (vectors("samples-auth_key.txt"), vectors("rsa-keys.txt"))
    else {
        return;
    };
    let production = RsaPublicKey::from_pem(after(&keys, "=== Production key")).unwrap();
    let nonce = hex_value(&text, "nonce");
    let new_nonce = hex_value(&text, "new_nonce");
    let step4 = between(&text, "Inputs to RSA_PAD", "=====");
    let padding = hex_value(step4, "random_padding_bytes");
    let b = hex_value(after(&text, "7) Client computes"), "b");
    let dh_padding = hex_value(after(&text, "Encryption inputs"), "padding");
    let script = vec![nonce, new_nonce.clone(), padding.clone(), b, dh_padding];
    let server_time = 0x6777E5EB_i64;
    let mut client = Client::new(
        vec![production],
        2,
        scripted(script.clone(), b"official"),
        || 0x6777E5EB_i64 - 5,
    );

    // Step 1: the whole plain message, with the published msg_id.
    let step1 = dump(between(&text, "1) Client sends", "2) Server"));
    let msg_id = i64::from_le_bytes(step1[8..16].try_into().unwrap());
    assert_eq!(plain_message(msg_id, &client.start()), step1);

    // Steps 2–5: req_DH_params equals the published one up to the RSA_PAD output.
    let res_pq = dumped_body(between(&text, "2) Server sends", "3) pq"));
    let req_dh = send(client.handle(&res_pq));
    let published = dumped_body(between(&text, "5) req_DH_params", "6) Server"));
    assert_eq!(req_dh.len(), published.len());
    assert_eq!(req_dh[..64], published[..64]);

    // Steps 6–7: the published answer decrypts and passes every check; set_client_DH_params is
    // byte for byte the published one.
    let dh_ok = dumped_body(between(&text, "6) Server responds", "Decryption inputs"));
    let set_client = send(client.handle(&dh_ok));
    let published = dump(between(&text, "7.2) set_client_DH_params", "8) auth_key"));
    let msg_id = i64::from_le_bytes(published[8..16].try_into().unwrap());
    assert_eq!(plain_message(msg_id, &set_client), published);

    // Steps 8–9: dh_gen_ok with the published new_nonce_hash1 gives the published key.
    let gen_ok = dumped_body(after(&text, "9) Final server reply"));
    let key = done(client.handle(&gen_ok));
    assert_eq!(
        key.key,
        hex_array::<256>(after(&text, "8) auth_key"), "auth_key")
    );
    let derived = after(&text, "Derived values");
    assert_eq!(key.id.to_le_bytes(), hex_array::<8>(derived, "auth_key_id"));
    assert_eq!(key.id, -679495827920373756);
    assert_eq!(
        key.server_salt.to_le_bytes(),
        hex_array::<8>(derived, "initial server_salt")
    );
    assert_eq!(key.server_time_offset, 5);
    assert_eq!(key.server_time_offset + (0x6777E5EB_i64 - 5), server_time);
    assert_eq!(client.handle(&gen_ok), Err(HandshakeError::Finished));
}

/// shared/vectors/samples-auth_key.txt step 4: with a test key whose fingerprint replaces the
/// published ones, the RSA_PAD block decrypts to exactly the published p_q_inner_data_dc plus
/// the published random padding.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn client_builds_the_official_p_q_inner_data() {
    let Some(text) = vectors("samples-auth_key.txt") else {
        return;
    };
    let key = test_keypair();
    let step4 = between(&text, "Inputs to RSA_PAD", "=====");
    let padding = hex_value(step4, "random_padding_bytes");
    let script = vec![
        hex_value(&text, "nonce"),
        hex_value(&text, "new_nonce"),
        padding.clone(),
    ];
    let mut client = Client::new(
        vec![key.public_key().clone()],
        2,
        scripted(script, b"inner"),
        || 0,
    );
    client.start();
    let res_pq = dumped_body(between(&text, "2) Server sends", "3) pq"));
    let enums::ResPq::ResPq(mut res) = enums::ResPq::from_bytes(&res_pq).unwrap();
    res.server_public_key_fingerprints = vec![0x1234, key.public_key().fingerprint() as i64];
    let req = functions::ReqDhParams::from_bytes(&send(client.handle(&res.to_bytes()))).unwrap();
    assert_eq!(
        req.public_key_fingerprint,
        key.public_key().fingerprint() as i64
    );
    let data_with_padding = rsa_pad_decrypt(&req.encrypted_data, key).unwrap();
    let inner = dump(between(
        &text,
        "4) encrypted_data payload",
        "Inputs to RSA_PAD",
    ));
    assert_eq!(inner, hex_value(step4, "data"));
    assert_eq!(data_with_padding[..inner.len()], inner[..]);
    assert_eq!(data_with_padding[inner.len()..], padding[..]);
}

/// shared/vectors/samples-auth_key.txt "Derived values": answered with dh_gen_retry and the
/// derived new_nonce_hash2, the client sends client_DH_inner_data again with
/// retry_id = auth_key_aux_hash.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn client_retries_with_the_aux_hash() {
    let (Some(text), Some(keys)) = (vectors("samples-auth_key.txt"), vectors("rsa-keys.txt"))
    else {
        return;
    };
    let production = RsaPublicKey::from_pem(after(&keys, "=== Production key")).unwrap();
    let new_nonce = hex_array::<32>(&text, "new_nonce");
    let server_nonce = hex_array::<16>(&text, "server_nonce");
    let script = vec![
        hex_value(&text, "nonce"),
        new_nonce.to_vec(),
        hex_value(
            between(&text, "Inputs to RSA_PAD", "====="),
            "random_padding_bytes",
        ),
        hex_value(after(&text, "7) Client computes"), "b"),
    ];
    let mut client = Client::new(vec![production], 2, scripted(script, b"retry"), || 0);
    client.start();
    send(client.handle(&dumped_body(between(&text, "2) Server sends", "3) pq"))));
    send(client.handle(&dumped_body(between(
        &text,
        "6) Server responds",
        "Decryption",
    ))));
    let derived = after(&text, "Derived values");
    let retry = types::DhGenRetry {
        nonce: hex_array(&text, "nonce"),
        server_nonce,
        new_nonce_hash2: hex_array(derived, "new_nonce_hash2"),
    };
    let again =
        functions::SetClientDhParams::from_bytes(&send(client.handle(&retry.to_bytes()))).unwrap();
    let AesKeyIv { key, iv } = tmp_aes_key_iv(&new_nonce, &server_nonce);
    let mut plain = again.encrypted_data.clone();
    aes_ige_decrypt(&mut plain, &key, &iv).unwrap();
    let inner = types::ClientDhInnerData::deserialize(&mut Reader::new(&plain[20..])).unwrap();
    assert_eq!(
        inner.retry_id.to_le_bytes(),
        hex_array::<8>(derived, "auth_key_aux_hash")
    );
}

// ---------------------------------------------------------------------------------------------
// (b) In-memory exchanges
// ---------------------------------------------------------------------------------------------

fn server(seed: &[u8]) -> Server<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
    Server::new(
        test_keypair().clone(),
        &KNOWN_DH_PRIME,
        3,
        seeded(seed),
        || 1_700_000_000,
    )
    .unwrap()
}

fn client(seed: &[u8]) -> Client<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
    Client::new(
        vec![test_keypair().public_key().clone()],
        2,
        seeded(seed),
        || 1_700_000_100,
    )
}

/// Runs one full exchange and returns the client's key after checking the server has the same.
fn exchange(seed: u32) -> AuthKey {
    let seed = seed.to_le_bytes();
    let mut server = server(&[b"server".as_slice(), &seed].concat());
    let mut client = client(&[b"client".as_slice(), &seed].concat());
    if seed[0] % 2 == 1 {
        client = client.temporary(3600);
    }
    let res_pq = server.handle(&client.start()).unwrap();
    let req_dh = send(client.handle(&res_pq));
    let dh_ok = server.handle(&req_dh).unwrap();
    let set_client = send(client.handle(&dh_ok));
    let gen_ok = server.handle(&set_client).unwrap();
    let key = done(client.handle(&gen_ok));
    let theirs = server.auth_key().unwrap();
    assert_eq!(
        (key.key, key.id, key.server_salt),
        (theirs.key, theirs.id, theirs.server_salt)
    );
    assert_eq!(key.server_time_offset, -100);
    key
}

/// Exchanges with distinct seeds (half of them for temporary keys), on two threads: about 12 ms
/// each in a debug build (the runtime is built at opt-level 2 there), so the 1,000 take about
/// 6 s on two free cores.
const EXCHANGES: u32 = 1000;

#[test]
fn client_and_server_agree_over_many_exchanges() {
    test_keypair();
    let start = Instant::now();
    let halves: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|half| {
                scope.spawn(move || {
                    (half * EXCHANGES / 2..(half + 1) * EXCHANGES / 2)
                        .map(|seed| exchange(seed).id)
                        .collect()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let ids: std::collections::BTreeSet<i64> = halves.into_iter().flatten().collect();
    assert_eq!(ids.len(), EXCHANGES as usize);
    eprintln!("{EXCHANGES} exchanges in {:?}", start.elapsed());
}

// ---------------------------------------------------------------------------------------------
// (c) Each check gives its typed error
// ---------------------------------------------------------------------------------------------

const NONCE: [u8; 16] = [0x11; 16];
const NEW_NONCE: [u8; 32] = [0x22; 32];

/// A client whose nonce and new_nonce are [`NONCE`] and [`NEW_NONCE`].
fn known_client() -> Client<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
    Client::new(
        vec![test_keypair().public_key().clone()],
        2,
        scripted(vec![NONCE.to_vec(), NEW_NONCE.to_vec()], b"known"),
        || 0,
    )
}

/// The genuine transcript of one exchange with [`known_client`]: resPQ, server_DH_params_ok,
/// dh_gen_ok, and the auth key.
struct Transcript {
    res_pq: Vec<u8>,
    dh_ok: Vec<u8>,
    gen_ok: Vec<u8>,
    server_nonce: [u8; 16],
    auth_key: [u8; 256],
}

fn transcript() -> &'static Transcript {
    static T: OnceLock<Transcript> = OnceLock::new();
    T.get_or_init(|| {
        let mut server = server(b"transcript");
        let mut client = known_client();
        let res_pq = server.handle(&client.start()).unwrap();
        let dh_ok = server.handle(&send(client.handle(&res_pq))).unwrap();
        let gen_ok = server.handle(&send(client.handle(&dh_ok))).unwrap();
        let auth_key = done(client.handle(&gen_ok)).key;
        let enums::ResPq::ResPq(res) = enums::ResPq::from_bytes(&res_pq).unwrap();
        Transcript {
            res_pq,
            dh_ok,
            gen_ok,
            server_nonce: res.server_nonce,
            auth_key,
        }
    })
}

/// A known client after resPQ (waiting for server_DH_params).
fn client_at_dh_params() -> Client<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
    let mut client = known_client();
    client.start();
    send(client.handle(&transcript().res_pq));
    client
}

/// A known client after server_DH_params_ok (waiting for dh_gen_*).
fn client_at_dh_gen() -> Client<impl FnMut(&mut [u8]), impl FnMut() -> i64> {
    let mut client = client_at_dh_params();
    send(client.handle(&transcript().dh_ok));
    client
}

fn tmp() -> AesKeyIv {
    tmp_aes_key_iv(&NEW_NONCE, &transcript().server_nonce)
}

/// The genuine server_DH_inner_data.
fn genuine_inner() -> types::ServerDhInnerData {
    let ok = types::ServerDhParamsOk::from_bytes(&transcript().dh_ok).unwrap();
    let AesKeyIv { key, iv } = tmp();
    let mut plain = ok.encrypted_answer;
    aes_ige_decrypt(&mut plain, &key, &iv).unwrap();
    types::ServerDhInnerData::deserialize(&mut Reader::new(&plain[20..])).unwrap()
}

/// server_DH_params_ok carrying `inner`, encrypted properly, with `hash` (or the right SHA1).
fn sealed(inner: &types::ServerDhInnerData, hash: Option<[u8; 20]>) -> Vec<u8> {
    let data = inner.to_bytes();
    let mut plain = hash.unwrap_or_else(|| sha1(&[&data])).to_vec();
    plain.extend_from_slice(&data);
    plain.resize(plain.len().div_ceil(16) * 16, 0xAB);
    let AesKeyIv { key, iv } = tmp();
    aes_ige_encrypt(&mut plain, &key, &iv).unwrap();
    types::ServerDhParamsOk {
        nonce: NONCE,
        server_nonce: transcript().server_nonce,
        encrypted_answer: plain,
    }
    .to_bytes()
}

fn res_pq() -> types::ResPq {
    let enums::ResPq::ResPq(res) = enums::ResPq::from_bytes(&transcript().res_pq).unwrap();
    *res
}

fn res_pq_error(res: types::ResPq) -> HandshakeError {
    let mut client = known_client();
    client.start();
    client.handle(&res.to_bytes()).unwrap_err()
}

fn dh_params_error(body: &[u8]) -> HandshakeError {
    client_at_dh_params().handle(body).unwrap_err()
}

#[test]
fn res_pq_checks_give_typed_errors() {
    let mut res = res_pq();
    res.nonce[0] ^= 1;
    assert_eq!(
        res_pq_error(res),
        HandshakeError::NonceMismatch { message: "resPQ" }
    );

    let mut res = res_pq();
    res.server_public_key_fingerprints = vec![1, 2];
    assert_eq!(
        res_pq_error(res),
        HandshakeError::UnknownFingerprint {
            fingerprints: vec![1, 2]
        }
    );

    let mut res = res_pq();
    res.pq = 1141464581u64.to_be_bytes().to_vec(); // a prime
    assert!(matches!(res_pq_error(res), HandshakeError::BadPq { .. }));
    let mut res = res_pq();
    res.pq = vec![1; 9];
    assert!(matches!(res_pq_error(res), HandshakeError::BadPq { .. }));

    assert!(matches!(
        res_pq_error(types::ResPq::default()),
        HandshakeError::NonceMismatch { .. }
    ));
    let mut client = known_client();
    assert_eq!(
        client.handle(&transcript().res_pq),
        Err(HandshakeError::NotStarted)
    );
    client.start();
    let err = client.handle(&[1, 2, 3]).unwrap_err();
    assert!(matches!(err, HandshakeError::Decode { what: "resPQ", .. }));
    // Any error ends the handshake.
    assert_eq!(
        client.handle(&transcript().res_pq),
        Err(HandshakeError::Finished)
    );
}

#[test]
fn server_dh_params_checks_give_typed_errors() {
    let ok = types::ServerDhParamsOk::from_bytes(&transcript().dh_ok).unwrap();

    let mut bad = ok.clone();
    bad.nonce[3] ^= 1;
    assert_eq!(
        dh_params_error(&bad.to_bytes()),
        HandshakeError::NonceMismatch {
            message: "server_DH_params"
        }
    );
    let mut bad = ok.clone();
    bad.server_nonce[3] ^= 1;
    assert_eq!(
        dh_params_error(&bad.to_bytes()),
        HandshakeError::ServerNonceMismatch {
            message: "server_DH_params"
        }
    );

    // A flipped ciphertext byte garbles the answer: the SHA1 check catches it.
    let mut bad = ok.clone();
    bad.encrypted_answer[100] ^= 1;
    assert_eq!(
        dh_params_error(&bad.to_bytes()),
        HandshakeError::AnswerHashMismatch {
            what: "server_DH_inner_data"
        }
    );
    let mut bad = ok.clone();
    bad.encrypted_answer.truncate(100);
    assert!(matches!(
        dh_params_error(&bad.to_bytes()),
        HandshakeError::BadEncryptedLength { .. }
    ));

    // A well-encrypted answer with a wrong hash.
    let inner = genuine_inner();
    assert_eq!(
        dh_params_error(&sealed(&inner, Some([7; 20]))),
        HandshakeError::AnswerHashMismatch {
            what: "server_DH_inner_data"
        }
    );

    let mut bad = inner.clone();
    bad.nonce[0] ^= 1;
    assert_eq!(
        dh_params_error(&sealed(&bad, None)),
        HandshakeError::NonceMismatch {
            message: "server_DH_inner_data"
        }
    );
    let mut bad = inner.clone();
    bad.server_nonce[0] ^= 1;
    assert_eq!(
        dh_params_error(&sealed(&bad, None)),
        HandshakeError::ServerNonceMismatch {
            message: "server_DH_inner_data"
        }
    );

    for g in [0, 1, 8, -3] {
        let mut bad = inner.clone();
        bad.g = g;
        assert!(matches!(
            dh_params_error(&sealed(&bad, None)),
            HandshakeError::BadGenerator(_)
        ));
    }
    let mut bad = inner.clone();
    bad.dh_prime[255] ^= 2;
    assert!(matches!(
        dh_params_error(&sealed(&bad, None)),
        HandshakeError::BadDhPrime(_)
    ));
    let mut bad = inner.clone();
    bad.dh_prime.truncate(128);
    assert!(matches!(
        dh_params_error(&sealed(&bad, None)),
        HandshakeError::BadDhPrime(_)
    ));

    for g_a in [
        vec![1],
        vec![0; 256],
        inner.dh_prime.clone(),
        vec![0xFF; 256],
    ] {
        let mut bad = inner.clone();
        bad.g_a = g_a;
        assert_eq!(
            dh_params_error(&sealed(&bad, None)),
            HandshakeError::DhValueOutOfRange { what: "g_a" }
        );
    }

    // server_DH_params_fail: correct new_nonce_hash gives the typed failure, a wrong one a mismatch.
    let hash: [u8; 16] = sha1(&[&NEW_NONCE])[4..].try_into().unwrap();
    let mut fail = types::ServerDhParamsFail {
        nonce: NONCE,
        server_nonce: transcript().server_nonce,
        new_nonce_hash: hash,
    };
    assert_eq!(
        dh_params_error(&fail.to_bytes()),
        HandshakeError::ServerDhParamsFail
    );
    fail.new_nonce_hash[0] ^= 1;
    assert_eq!(
        dh_params_error(&fail.to_bytes()),
        HandshakeError::NewNonceHashMismatch { n: 0 }
    );

    // The genuine answer passes.
    send(client_at_dh_params().handle(&sealed(&inner, None)));
}

#[test]
fn dh_gen_checks_give_typed_errors() {
    let t = transcript();
    let ok = types::DhGenOk::from_bytes(&t.gen_ok).unwrap();
    let err = |body: Vec<u8>| client_at_dh_gen().handle(&body).unwrap_err();

    let mut bad = ok.clone();
    bad.new_nonce_hash1[15] ^= 1;
    assert_eq!(
        err(bad.to_bytes()),
        HandshakeError::NewNonceHashMismatch { n: 1 }
    );
    let mut bad = ok.clone();
    bad.nonce[15] ^= 1;
    assert!(matches!(
        err(bad.to_bytes()),
        HandshakeError::NonceMismatch { .. }
    ));
    let mut bad = ok.clone();
    bad.server_nonce[15] ^= 1;
    assert!(matches!(
        err(bad.to_bytes()),
        HandshakeError::ServerNonceMismatch { .. }
    ));

    let aux = sha1(&[&t.auth_key]);
    let hash = |n: u8| -> [u8; 16] {
        sha1(&[&NEW_NONCE, &[n], &aux[..8]])[4..]
            .try_into()
            .unwrap()
    };
    let fail = types::DhGenFail {
        nonce: NONCE,
        server_nonce: t.server_nonce,
        new_nonce_hash3: hash(3),
    };
    assert_eq!(err(fail.to_bytes()), HandshakeError::DhGenFail);
    let fail = types::DhGenFail {
        new_nonce_hash3: hash(1),
        ..fail
    };
    assert_eq!(
        err(fail.to_bytes()),
        HandshakeError::NewNonceHashMismatch { n: 3 }
    );

    // dh_gen_retry with the right hash: a new set_client_DH_params with retry_id = aux hash.
    let mut client = client_at_dh_gen();
    let retry = types::DhGenRetry {
        nonce: NONCE,
        server_nonce: t.server_nonce,
        new_nonce_hash2: hash(2),
    };
    let again =
        functions::SetClientDhParams::from_bytes(&send(client.handle(&retry.to_bytes()))).unwrap();
    let AesKeyIv { key, iv } = tmp();
    let mut plain = again.encrypted_data;
    aes_ige_decrypt(&mut plain, &key, &iv).unwrap();
    let inner = types::ClientDhInnerData::deserialize(&mut Reader::new(&plain[20..])).unwrap();
    assert_eq!(inner.retry_id.to_le_bytes(), aux[..8]);

    // The genuine answer passes, and the key matches the transcript's.
    assert_eq!(done(client_at_dh_gen().handle(&t.gen_ok)).key, t.auth_key);
}

#[test]
fn server_checks_give_typed_errors() {
    let mut srv = server(b"server checks");
    let mut client = known_client();
    let res = srv.handle(&client.start()).unwrap();
    let req = functions::ReqDhParams::from_bytes(&send(client.handle(&res))).unwrap();
    let mut bad = req.clone();
    bad.public_key_fingerprint ^= 1;
    let mut fresh = server(b"server checks");
    fresh.handle(&client_start_bytes()).unwrap();
    assert!(matches!(
        fresh.handle(&bad.to_bytes()),
        Err(HandshakeError::UnknownFingerprint { .. })
    ));
    let mut fresh = server(b"server checks");
    fresh.handle(&client_start_bytes()).unwrap();
    let mut bad = req.clone();
    bad.encrypted_data[7] ^= 1;
    assert!(matches!(
        fresh.handle(&bad.to_bytes()),
        Err(HandshakeError::Rsa(_))
    ));
    // The genuine request passes.
    assert!(srv.handle(&req.to_bytes()).is_ok());
}

/// The req_pq_multi a known client sends.
fn client_start_bytes() -> Vec<u8> {
    functions::ReqPqMulti { nonce: NONCE }.to_bytes()
}

#[test]
fn errors_display_in_lower_case() {
    let errors = [
        HandshakeError::NonceMismatch { message: "resPQ" },
        HandshakeError::UnknownFingerprint {
            fingerprints: vec![-1],
        },
        HandshakeError::NewNonceHashMismatch { n: 1 },
        HandshakeError::DhValueOutOfRange { what: "g_a" },
        HandshakeError::Finished,
    ];
    for e in errors {
        let text = e.to_string();
        assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// (d) Untrusted bytes never panic
// ---------------------------------------------------------------------------------------------

fn mutate(mut bytes: Vec<u8>, at: usize, xor: u8, cut: usize) -> Vec<u8> {
    if !bytes.is_empty() {
        let at = at % bytes.len();
        bytes[at] ^= xor;
        let cut = cut % (bytes.len() + 8);
        if cut < bytes.len() {
            bytes.truncate(cut);
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_at_res_pq_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut client = known_client();
        client.start();
        let _ = client.handle(&bytes);
    }

    #[test]
    fn mutated_res_pq_never_panics(at in any::<usize>(), xor in 1u8.., cut in any::<usize>()) {
        let mut client = known_client();
        client.start();
        let _ = client.handle(&mutate(transcript().res_pq.clone(), at, xor, cut));
    }

    #[test]
    fn random_bytes_at_dh_params_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let _ = client_at_dh_params().handle(&bytes);
    }

    #[test]
    fn mutated_dh_params_never_panic(at in any::<usize>(), xor in 1u8.., cut in any::<usize>()) {
        let _ = client_at_dh_params().handle(&mutate(transcript().dh_ok.clone(), at, xor, cut));
    }
}

proptest! {
    // Reaching the last state costs two modular powers per case.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_and_mutated_dh_gen_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..80), at in any::<usize>(), xor in 1u8.., cut in any::<usize>()) {
        let _ = client_at_dh_gen().handle(&bytes);
        let _ = client_at_dh_gen().handle(&mutate(transcript().gen_ok.clone(), at, xor, cut));
    }
}

/// A server whose randomness is stuck at zero still offers a valid pq (two distinct primes).
#[test]
fn server_with_constant_randomness_offers_distinct_primes() {
    let mut server = Server::new(
        test_keypair().clone(),
        &KNOWN_DH_PRIME,
        3,
        |b: &mut [u8]| b.fill(0),
        || 0,
    )
    .unwrap();
    let enums::ResPq::ResPq(res) =
        enums::ResPq::from_bytes(&server.handle(&client_start_bytes()).unwrap()).unwrap();
    let pq = res.pq.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    let (p, q) = tlgen_runtime::crypto::factorize_pq(pq).unwrap();
    assert!(p < q && q < 1 << 32);
    assert!(Server::new(
        test_keypair().clone(),
        &KNOWN_DH_PRIME,
        3,
        seeded(b"x"),
        || 0
    )
    .unwrap()
    .with_primes(p, p)
    .is_err());
}
