//! Criterion benchmarks for the auth-key exchange: a full in-memory exchange (client and server), the 2048-bit modular powers, and RSA.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use num_bigint::BigUint;

use tlgen_runtime::crypto::{rsa_pad, rsa_pad_decrypt, DhParams, RsaPrivateKey, KNOWN_DH_PRIME};
use tlgen_runtime::mtproto::handshake::{Client, ClientStep, Server};

#[path = "../tests/common/mod.rs"]
mod common;

/// SplitMix64: a fast seeded generator standing in for the CSPRNG (the bench measures the
/// exchange, not the random source).
fn seeded(seed: u64) -> impl FnMut(&mut [u8]) {
    let mut state = seed;
    move |out: &mut [u8]| {
        for chunk in out.chunks_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// One full exchange: four round trips between a fresh client and a fresh server.
fn exchange(key: &RsaPrivateKey, seed: u64) -> i64 {
    let mut server = Server::new(key.clone(), &KNOWN_DH_PRIME, 3, seeded(seed), || {
        1_700_000_000
    })
    .expect("the built-in prime passes");
    let mut client = Client::new(vec![key.public_key().clone()], 2, seeded(!seed), || {
        1_700_000_100
    });
    let mut body = client.start();
    loop {
        let answer = server.handle(&body).expect("the server accepts");
        match client.handle(&answer).expect("the client accepts") {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(key) => return key.id,
        }
    }
}

fn full_exchange(c: &mut Criterion) {
    let key = common::test_keypair();
    let mut group = c.benchmark_group("auth-key-exchange");
    group.sample_size(30);
    let mut seed = 0u64;
    group.bench_function("client+server", |b| {
        b.iter(|| {
            seed += 1;
            exchange(key, black_box(seed))
        })
    });
    group.finish();
}

/// The 2048-bit MODP prime of RFC 3526 (group 14), a safe prime with generator 2: a prime
/// other than Telegram's, whose `g^b` takes the uncached small-base path.
const RFC_3526_PRIME: &str = concat!(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1",
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD",
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245",
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D",
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F",
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D",
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9",
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510",
    "15728E5A8AACAA68FFFFFFFFFFFFFFFF",
);

fn modexp(c: &mut Criterion) {
    let mut group = c.benchmark_group("modexp-2048");
    group.sample_size(30);
    let params = DhParams::new(3, &KNOWN_DH_PRIME).expect("the built-in prime passes");
    let mut exponent = [0u8; 256];
    seeded(7)(&mut exponent);
    group.bench_function("g_b = 3^b (known prime, cached comb)", |b| {
        b.iter(|| params.compute_g_b(black_box(&exponent)))
    });
    let rfc_prime = BigUint::parse_bytes(RFC_3526_PRIME.as_bytes(), 16)
        .expect("valid hex")
        .to_bytes_be();
    let other = DhParams::new(2, &rfc_prime).expect("the RFC 3526 prime is safe and fits g = 2");
    group.bench_function("g_b = 2^b (RFC 3526 prime, small-base path)", |b| {
        b.iter(|| other.compute_g_b(black_box(&exponent)))
    });
    let g_a = params.compute_g_b(&[0x5a; 256]).expect("in range");
    group.bench_function("g_a^b (full base)", |b| {
        b.iter(|| params.compute_auth_key(black_box(&g_a), black_box(&exponent)))
    });
    group.finish();
}

fn rsa(c: &mut Criterion) {
    let key = common::test_keypair();
    let mut group = c.benchmark_group("rsa-2048");
    group.sample_size(30);
    let mut random = seeded(11);
    let block = rsa_pad(&[0x42; 144], key.public_key(), &mut random).expect("rsa_pad works");
    group.bench_function("rsa_pad (encrypt, e = 65537)", |b| {
        b.iter(|| rsa_pad(black_box(&[0x42; 144]), key.public_key(), &mut random))
    });
    group.bench_function("rsa_pad_decrypt (key from primes: CRT)", |b| {
        b.iter(|| rsa_pad_decrypt(black_box(&block), key))
    });
    // The same key from n, e, d: one 2048-bit power.
    let p = common::search_prime(b"crypto_vectors p");
    let q = common::search_prime(b"crypto_vectors q");
    let n = &p * &q;
    let e = BigUint::from(65537u32);
    let phi = (&p - 1u32) * (&q - 1u32);
    let d = e.modinv(&phi).expect("65537 is coprime to phi");
    let plain =
        RsaPrivateKey::from_components(&n.to_bytes_be(), &e.to_bytes_be(), &d.to_bytes_be())
            .expect("a valid key");
    group.bench_function("rsa_pad_decrypt (key from n, e, d)", |b| {
        b.iter(|| rsa_pad_decrypt(black_box(&block), &plain))
    });
    group.finish();
}

criterion_group!(benches, full_exchange, modexp, rsa);
criterion_main!(benches);
