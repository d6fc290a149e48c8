//! AES-256-IGE (1 KiB, 512 KiB) and pq factorization: tlgen-runtime beside grammers-crypto.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn ige(c: &mut Criterion) {
    let key = [7u8; 32];
    let iv = [9u8; 32];
    for size in [1024usize, 512 * 1024] {
        let data: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut group = c.benchmark_group("aes_ige_encrypt");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("tlgen", size), |b| {
            let mut buf = data.clone();
            b.iter(|| tlgen_runtime::crypto::aes_ige_encrypt(&mut buf, &key, &iv).unwrap())
        });
        group.bench_function(BenchmarkId::new("grammers", size), |b| {
            let mut buf = data.clone();
            b.iter(|| grammers_crypto::aes::ige_encrypt(&mut buf, &key, &iv))
        });
        group.finish();
        let mut group = c.benchmark_group("aes_ige_decrypt");
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("tlgen", size), |b| {
            let mut buf = data.clone();
            b.iter(|| tlgen_runtime::crypto::aes_ige_decrypt(&mut buf, &key, &iv).unwrap())
        });
        group.bench_function(BenchmarkId::new("grammers", size), |b| {
            let mut buf = data.clone();
            b.iter(|| grammers_crypto::aes::ige_decrypt(&mut buf, &key, &iv))
        });
        group.finish();
    }
}

fn factorize(c: &mut Criterion) {
    // 62-bit semiprimes; 0x17ED48941A08F981 is the pq of the older official sample (61 bits).
    let cases: [u64; 4] = [
        0x17ED48941A08F981,
        1_500_000_001 * 2_900_000_017,
        2_147_483_029 * 2_147_484_007,
        1_100_000_009 * 4_000_000_007,
    ];
    let mut group = c.benchmark_group("factorize_pq");
    for pq in cases {
        group.bench_function(BenchmarkId::new("tlgen", format!("{pq:#x}")), |b| {
            b.iter(|| tlgen_runtime::crypto::factorize_pq(pq).unwrap())
        });
        group.bench_function(BenchmarkId::new("grammers", format!("{pq:#x}")), |b| {
            b.iter(|| grammers_crypto::factorize(pq))
        });
    }
    group.finish();
}

criterion_group!(benches, ige, factorize);
criterion_main!(benches);
