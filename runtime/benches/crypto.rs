//! Criterion benchmarks for the MTProto crypto primitives: AES-256-IGE/CTR, the AES latency bound, pq factorization, the KDF, DH.

use std::hint::black_box;

use aes::cipher::consts::U16;
use aes::cipher::{
    generic_array::GenericArray, BlockBackend, BlockClosure, BlockEncrypt, BlockSizeUser, KeyInit,
};
use aes::Aes256;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use tlgen_runtime::crypto::{
    aes_ige_decrypt, aes_ige_encrypt, check_dh_prime, factorize_pq, message_key_iv, msg_key,
    AesCtr, DhParams, Direction, KNOWN_DH_PRIME,
};

const KEY: [u8; 32] = [0x42; 32];
const IV: [u8; 32] = [0x24; 32];
const KIB: usize = 1024;

/// AES-256-IGE, one-shot (key expansion included, as for every MTProto message).
fn ige(c: &mut Criterion) {
    let mut group = c.benchmark_group("aes-256-ige");
    for size in [KIB, 512 * KIB] {
        let mut data = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", size), &size, |b, _| {
            b.iter(|| aes_ige_encrypt(black_box(&mut data), &KEY, &IV))
        });
        group.bench_with_input(BenchmarkId::new("decrypt", size), &size, |b, _| {
            b.iter(|| aes_ige_decrypt(black_box(&mut data), &KEY, &IV))
        });
    }
    group.finish();
}

/// The floor for any IGE implementation: the same number of AES-256 block encryptions as IGE
/// over 512 KiB, each depending on the previous output, so nothing can overlap. Measured twice:
/// through `encrypt_block` (one dispatch and call per block) and inside the backend closure
/// (round instructions inlined into the loop, as `AesIge` runs).
fn latency_bound(c: &mut Criterion) {
    let mut group = c.benchmark_group("aes-256-chained-blocks");
    let size = 512 * KIB;
    let cipher = Aes256::new(&KEY.into());
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function(BenchmarkId::new("encrypt_block", size), |b| {
        b.iter(|| {
            let mut block = GenericArray::from([0x5au8; 16]);
            for _ in 0..size / 16 {
                cipher.encrypt_block(&mut block);
            }
            black_box(block)
        })
    });
    group.bench_function(BenchmarkId::new("backend", size), |b| {
        b.iter(|| {
            let mut block = GenericArray::from([0x5au8; 16]);
            cipher.encrypt_with_backend(Chain {
                block: &mut block,
                count: size / 16,
            });
            black_box(block)
        })
    });
    group.finish();
}

/// Encrypts one block `count` times in a row with the backend.
struct Chain<'a> {
    block: &'a mut GenericArray<u8, U16>,
    count: usize,
}

impl BlockSizeUser for Chain<'_> {
    type BlockSize = U16;
}

impl BlockClosure for Chain<'_> {
    #[inline(always)]
    fn call<B: BlockBackend<BlockSize = U16>>(self, backend: &mut B) {
        for _ in 0..self.count {
            backend.proc_block((&mut *self.block).into());
        }
    }
}

fn ctr(c: &mut Criterion) {
    let mut group = c.benchmark_group("aes-256-ctr");
    let size = 64 * KIB;
    let mut data = vec![0x5a; size];
    let mut state = AesCtr::new(&KEY, &[0x11; 16]);
    group.throughput(Throughput::Bytes(size as u64));
    group.bench_function(BenchmarkId::new("apply", size), |b| {
        b.iter(|| state.apply(black_box(&mut data)))
    });
    group.finish();
}

fn factorize(c: &mut Criterion) {
    let mut group = c.benchmark_group("factorize_pq");
    let cases = [
        // Older revision of core.telegram.org/mtproto/samples-auth_key: 1229739323 * 1402015859.
        ("official-0x17ED48941A08F981", 0x17ED_4894_1A08_F981u64),
        // 2025 revision of the same page (shared/vectors/samples-auth_key.txt).
        ("official-2025", 1_372_318_559_046_200_203),
        // 62-bit semiprimes chosen here: 1500000001 * 2900000017, 2147483029 * 2147484007,
        // 1100000009 * 4000000007.
        ("62bit-a", 4_350_000_028_400_000_017),
        ("62bit-balanced", 4_611_685_460_081_417_203),
        ("62bit-c", 4_400_000_043_700_000_063),
    ];
    for (name, pq) in cases {
        group.bench_with_input(BenchmarkId::from_parameter(name), &pq, |b, &pq| {
            b.iter(|| factorize_pq(black_box(pq)))
        });
    }
    group.finish();
}

fn kdf(c: &mut Criterion) {
    let mut group = c.benchmark_group("mtproto2-kdf");
    let auth_key = [0x33u8; 256];
    let plaintext = vec![0x77u8; KIB];
    group.throughput(Throughput::Bytes(KIB as u64));
    group.bench_function("msg_key+aes_key_iv/1024", |b| {
        b.iter(|| {
            let key = msg_key(&auth_key, Direction::ClientToServer, black_box(&plaintext));
            message_key_iv(&auth_key, &key, Direction::ClientToServer)
        })
    });
    group.finish();
}

/// Extras: the handshake's big-number steps (for scale; each runs once per auth key).
fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.sample_size(10);
    let params = DhParams::new(3, &KNOWN_DH_PRIME).expect("the built-in prime passes");
    let b_secret = [0x5au8; 256];
    group.bench_function("dh-g_b-modpow-2048", |b| {
        b.iter(|| params.compute_g_b(black_box(&b_secret)))
    });
    // A leading zero byte skips the built-in-prime comparison: the full safe-prime test.
    let mut padded = vec![0];
    padded.extend_from_slice(&KNOWN_DH_PRIME);
    group.bench_function("check_dh_prime-full-test", |b| {
        b.iter(|| check_dh_prime(black_box(&padded)))
    });
    group.bench_function("check_dh_prime-known", |b| {
        b.iter(|| check_dh_prime(black_box(&KNOWN_DH_PRIME)))
    });
    group.finish();
}

criterion_group!(benches, ige, latency_bound, ctr, factorize, kdf, handshake);
criterion_main!(benches);
