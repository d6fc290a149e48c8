//! Criterion benchmarks for MTProto 2.0 messages: encrypting and decrypting a 1 KiB message, alone and through a session (with its checks, ids and acks).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use tlgen_runtime::crypto::Direction;
use tlgen_runtime::mtproto::envelope::{decrypt, encrypt, Header, MessageKey};
use tlgen_runtime::mtproto::session::{Config, Session};

const BODY_LEN: usize = 1024;

fn key() -> MessageKey {
    MessageKey::new(std::array::from_fn(|i| (i * 29 + 7) as u8))
}

/// A fast deterministic byte source for padding (xorshift).
fn random() -> impl FnMut(&mut [u8]) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    move |buf: &mut [u8]| {
        for b in buf {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
    }
}

/// The envelope alone: 1 KiB body, random padding (12..=252 bytes), msg_key, KDF, AES-IGE.
fn envelope(c: &mut Criterion) {
    let key = key();
    let body = vec![0x5a; BODY_LEN];
    let header = Header {
        salt: 1,
        session_id: 2,
        msg_id: 0x6555_4F00_0000_0004,
        seq_no: 1,
    };
    let mut random = random();
    let mut group = c.benchmark_group("message-1KiB");
    group.throughput(Throughput::Bytes(BODY_LEN as u64));
    group.bench_function("encrypt", |b| {
        b.iter(|| {
            encrypt(
                &key,
                Direction::ClientToServer,
                &header,
                black_box(&body),
                &mut random,
            )
        })
    });
    let sealed = encrypt(&key, Direction::ClientToServer, &header, &body, &mut random).unwrap();
    group.bench_function("decrypt", |b| {
        b.iter(|| decrypt(&key, Direction::ClientToServer, black_box(&sealed.payload)))
    });
    group.bench_function("encrypt+decrypt", |b| {
        b.iter(|| {
            let sealed = encrypt(
                &key,
                Direction::ClientToServer,
                &header,
                black_box(&body),
                &mut random,
            )
            .unwrap();
            decrypt(&key, Direction::ClientToServer, &sealed.payload).unwrap()
        })
    });
    group.finish();
}

/// Through sessions: the client queues and packs a 1 KiB request, the server unpacks it
/// (every receive check, duplicate window included). Compression is off so that the figure is
/// the cost of the message layer, not of gzip.
fn session(c: &mut Criterion) {
    let config = Config {
        compress_min_len: None,
        ..Config::default()
    };
    let mut client = Session::client(key(), 0x11, 0x22, 0).with_config(config.clone());
    let mut server = Session::server(key(), 0x22, 0x33).with_config(config);
    let mut random = random();
    let mut body = vec![0x5a; BODY_LEN];
    body[..4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
    let mut ms = 0u64;
    let mut group = c.benchmark_group("session-1KiB");
    group.throughput(Throughput::Bytes(BODY_LEN as u64));
    group.bench_function("push+pack+unpack", |b| {
        b.iter(|| {
            // The clock advances so that ids stay inside the 300 s window however long it runs.
            ms += 1;
            let now = Duration::from_secs(1_700_000_000) + Duration::from_micros(ms);
            client.push(now, black_box(body.clone()), true);
            let packet = client.pack(now, &mut random).unwrap().unwrap();
            server.unpack(now, &packet.payload).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, envelope, session);
criterion_main!(benches);
