//! The peer cache: `resolve_peer` on a cache hit and on a miss (one round trip to the loopback
//! server on this machine), and peers stored per second from a large result.
//!
//! `cargo bench -p tlgen-advanced-usage --bench peers`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tlgen_session::{DcEntry, MemoryStore, SessionStore, SqliteStore};
use tlgen_telegram::{enums, peers, types, App, Client};

fn resolve(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let demo = rt.block_on(tlgen_advanced_usage::Demo::start()).unwrap();
    rt.block_on(demo.client.resolve_peer("dave_jones")).unwrap();
    let mut g = c.benchmark_group("resolve_peer");
    g.bench_function("cache_hit_username", |b| {
        b.iter(|| rt.block_on(demo.client.resolve_peer("dave_jones")).unwrap())
    });
    g.bench_function("cache_hit_marked_id", |b| {
        b.iter(|| rt.block_on(demo.client.resolve_peer(1004_i64)).unwrap())
    });
    // A miss: a client with the same (signed-in) auth key and an empty cache each time; only
    // the resolve is timed.
    let dc = demo.server.dcs()[0].clone();
    let key: DcEntry = demo
        .client
        .connection()
        .config()
        .store
        .dc(dc.id)
        .unwrap()
        .unwrap();
    g.bench_function("miss_username", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
                store.set_dc(&key).unwrap();
                let config = tlgen_advanced_usage::client_config(&demo.server, dc.id, store);
                let client = rt
                    .block_on(Client::connect(config, App::new(1, "h")))
                    .unwrap();
                let start = Instant::now();
                rt.block_on(client.resolve_peer("dave_jones")).unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn messages_with_users(n: i64) -> enums::messages::Messages {
    let users = (0..n)
        .map(|i| {
            enums::User::User(Box::new(types::User {
                id: 10_000 + i,
                access_hash: Some(i * 7919),
                first_name: Some(format!("User {i}")),
                username: Some(format!("user_{i}")),
                phone: Some(format!("1555{i:07}")),
                ..Default::default()
            }))
        })
        .collect();
    enums::messages::Messages::Messages(Box::new(types::messages::Messages {
        messages: Vec::new(),
        topics: Vec::new(),
        chats: Vec::new(),
        users,
    }))
}

fn store(c: &mut Criterion) {
    let value = messages_with_users(100);
    let mut g = c.benchmark_group("peers_from_100_users");
    g.throughput(Throughput::Elements(100));
    g.bench_function("collect", |b| b.iter(|| peers::collect(&value)));
    let memory = MemoryStore::new();
    g.bench_function("collect_and_store_memory", |b| {
        b.iter(|| memory.put_peers(&peers::collect(&value)).unwrap())
    });
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.session")).unwrap();
    g.bench_function("collect_and_store_sqlite", |b| {
        b.iter(|| sqlite.put_peers(&peers::collect(&value)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, resolve, store);
criterion_main!(benches);
