//! Transport tests: round trips for every framing and obfuscation, partial reads, quick acks, errors, published vectors.
#![cfg(feature = "transport")]

mod common;

use common::vectors;
use common::wire::{assert_payload, boxed_rng, connect, drain, modes, payload, rng, Mode, KINDS};

use proptest::prelude::*;
use tlgen_runtime::transport::obfuscated::{self, ObfuscationKeys, ProtocolTag, HEADER_LEN};
use tlgen_runtime::transport::{
    accept, framing, Abridged, Codec, Frame, Framing, Full, Intermediate, Kind, Obfuscation,
    PaddedIntermediate, ProxySecret, Role, TransportError,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The hex value after the last `=` on the `nth` line (0-based) whose trimmed text starts
/// with `prefix`.
fn hex_value(text: &str, prefix: &str, nth: usize) -> Vec<u8> {
    let line = text
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with(prefix))
        .nth(nth)
        .unwrap_or_else(|| panic!("no line {nth} starting with {prefix:?}"));
    hex_after_last_eq(line)
}

fn hex_after_last_eq(line: &str) -> Vec<u8> {
    let (_, value) = line.rsplit_once('=').expect("a line with '='");
    let token = value.split_whitespace().next().expect("a value after '='");
    let token = token.trim_start_matches("0x").trim_start_matches("0X");
    hex::decode(token).unwrap_or_else(|e| panic!("bad hex {token:?}: {e}"))
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    bytes.try_into().expect("a value of the expected length")
}

const LENGTHS: [usize; 6] = [24, 124 * 4, 126 * 4, 127 * 4, 1000 * 4, 70_000];

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn every_transport_round_trips_both_ways() {
    for kind in KINDS {
        for &mode in modes(kind) {
            let mut wire = Vec::new();
            let (mut client, mut server) = connect(kind, mode, &mut wire);
            for (i, len) in LENGTHS.into_iter().enumerate() {
                let up = payload(len, i as u8);
                client.send(&up, false, &mut wire).unwrap();
                server.push(&wire);
                wire.clear();
                let frames = drain(&mut server);
                assert_eq!(frames.len(), 1, "{kind:?} {mode:?} {len}");
                assert_payload(kind, &frames[0], &up, false);

                let down = payload(len, 0x80 | i as u8);
                server.send(&down, false, &mut wire).unwrap();
                client.push(&wire);
                wire.clear();
                let frames = drain(&mut client);
                assert_eq!(frames.len(), 1, "{kind:?} {mode:?} {len}");
                assert_payload(kind, &frames[0], &down, false);
            }
        }
    }
}

#[test]
fn partial_frames_one_byte_at_a_time() {
    for kind in KINDS {
        for &mode in modes(kind) {
            let mut wire = Vec::new();
            let (mut client, mut server) = connect(kind, mode, &mut wire);
            let sent: Vec<Vec<u8>> = LENGTHS.iter().map(|&n| payload(n, 3)).collect();
            for p in &sent {
                client.send(p, false, &mut wire).unwrap();
            }
            let mut frames = Vec::new();
            for byte in &wire {
                server.push(std::slice::from_ref(byte));
                frames.extend(drain(&mut server));
            }
            assert_eq!(frames.len(), sent.len(), "{kind:?} {mode:?}");
            for (frame, p) in frames.iter().zip(&sent) {
                assert_payload(kind, frame, p, false);
            }
            assert_eq!(server.buffered(), 0);
        }
    }
}

#[test]
fn several_frames_in_one_buffer() {
    for kind in KINDS {
        for &mode in modes(kind) {
            let mut wire = Vec::new();
            let (mut client, mut server) = connect(kind, mode, &mut wire);
            let sent: Vec<Vec<u8>> = (0..10).map(|i| payload(24 + 8 * i, i as u8)).collect();
            for p in &sent {
                server.send(p, false, &mut wire).unwrap();
            }
            // Half a frame more: it must wait in the buffer.
            let extra = payload(40, 9);
            let mut tail = Vec::new();
            server.send(&extra, false, &mut tail).unwrap();
            let (first_half, second_half) = tail.split_at(tail.len() / 2);
            wire.extend_from_slice(first_half);
            client.push(&wire);
            let frames = drain(&mut client);
            assert_eq!(frames.len(), sent.len(), "{kind:?} {mode:?}");
            for (frame, p) in frames.iter().zip(&sent) {
                assert_payload(kind, frame, p, false);
            }
            assert!(client.buffered() > 0);
            client.push(second_half);
            let frames = drain(&mut client);
            assert_eq!(frames.len(), 1);
            assert_payload(kind, &frames[0], &extra, false);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Quick acks and transport errors

#[test]
fn quick_ack_request_and_server_quick_ack() {
    for kind in [Kind::Abridged, Kind::Intermediate, Kind::PaddedIntermediate] {
        for &mode in modes(kind) {
            let mut wire = Vec::new();
            let (mut client, mut server) = connect(kind, mode, &mut wire);
            let p = payload(88, 1);
            client.send(&p, true, &mut wire).unwrap();
            client.send(&p, false, &mut wire).unwrap();
            server.push(&wire);
            wire.clear();
            let frames = drain(&mut server);
            assert_payload(kind, &frames[0], &p, true);
            assert_payload(kind, &frames[1], &p, false);

            server.send_quick_ack(0xe06b_e45b, &mut wire).unwrap();
            server.send(&p, false, &mut wire).unwrap();
            server.send_quick_ack(0x0000_0001, &mut wire).unwrap();
            client.push(&wire);
            wire.clear();
            let frames = drain(&mut client);
            assert_eq!(frames[0], Frame::QuickAck(0xe06b_e45b), "{kind:?} {mode:?}");
            assert_payload(kind, &frames[1], &p, false);
            // Bit 31 is forced on: tokens always carry it.
            assert_eq!(frames[2], Frame::QuickAck(0x8000_0001));
            // Only clients request quick acks; only servers send them.
            assert!(server.send(&p, true, &mut wire).is_err());
            assert!(client.send_quick_ack(1, &mut wire).is_err());
        }
    }
    let mut wire = Vec::new();
    let (mut client, mut server) = connect(Kind::Full, Mode::Plain, &mut wire);
    assert!(matches!(
        client.send(&[0; 8], true, &mut wire),
        Err(TransportError::Unsupported { .. })
    ));
    assert!(server.send_quick_ack(1, &mut wire).is_err());
    assert!(!Full::new(Role::Client).supports_quick_ack());
}

#[test]
fn server_errors_404_and_429_reach_the_client() {
    for kind in KINDS {
        for &mode in modes(kind) {
            for code in [404, 429, 444] {
                let mut wire = Vec::new();
                let (mut client, mut server) = connect(kind, mode, &mut wire);
                server.send_server_error(code, &mut wire).unwrap();
                client.push(&wire);
                assert_eq!(
                    client.next_frame().unwrap(),
                    Some(Frame::ServerError { code }),
                    "{kind:?} {mode:?}"
                );
                // The frame API keeps the stream usable; the payload API makes it an error.
                wire.clear();
                server.send_server_error(code, &mut wire).unwrap();
                client.push(&wire);
                assert_eq!(client.next_payload(), Err(TransportError::Server { code }));
            }
        }
    }
}

#[test]
fn published_minus_404_bytes() {
    // MTPROTO.md section 6 (core.telegram.org/mtproto/mtproto-transports): -404 = 6C FE FF FF.
    let minus_404 = [0x6c, 0xfe, 0xff, 0xff];
    let mut wire = vec![0x04, 0, 0, 0];
    wire.extend_from_slice(&minus_404);
    let mut client = Codec::new(Intermediate::new(Role::Client));
    client.push(&wire);
    assert_eq!(
        client.next_payload(),
        Err(TransportError::Server { code: 404 })
    );

    let mut abridged = Codec::new(Abridged::new(Role::Client));
    abridged.push(&[0x01, 0x6c, 0xfe, 0xff, 0xff]);
    assert_eq!(
        abridged.next_frame(),
        Ok(Some(Frame::ServerError { code: 404 }))
    );
    let minus_429 = (-429i32).to_le_bytes();
    assert_eq!(minus_429, [0x53, 0xfe, 0xff, 0xff]);
    let mut sent = Vec::new();
    Abridged::new(Role::Server)
        .pack_server_error(429, &mut sent)
        .unwrap();
    assert_eq!(sent, [0x01, 0x53, 0xfe, 0xff, 0xff]);
    assert_eq!(
        Abridged::new(Role::Server).pack_server_error(0, &mut sent),
        Err(TransportError::BadErrorCode { code: 0 })
    );
}

// ---------------------------------------------------------------------------------------------
// Full transport checks and length bounds

#[test]
fn full_transport_rejects_bad_crc_and_seq() {
    let mut wire = Vec::new();
    let mut client = Codec::new(Full::new(Role::Client));
    client.send(&payload(24, 1), false, &mut wire).unwrap();
    let first_len = wire.len();
    client.send(&payload(24, 2), false, &mut wire).unwrap();

    let mut flipped = wire.clone();
    flipped[first_len - 1] ^= 0x40;
    let mut server = Codec::new(Full::new(Role::Server));
    server.push(&flipped);
    assert!(matches!(
        server.next_frame(),
        Err(TransportError::BadCrc { .. })
    ));
    assert_eq!(server.next_frame(), Err(TransportError::Poisoned));

    let mut server = Codec::new(Full::new(Role::Server));
    server.push(&wire[first_len..]);
    assert_eq!(
        server.next_frame(),
        Err(TransportError::BadSeq {
            expected: 0,
            got: 1
        })
    );

    // Replaying the first packet: seq 0 again where 1 is expected.
    let mut server = Codec::new(Full::new(Role::Server));
    server.push(&wire[..first_len]);
    server.push(&wire[..first_len]);
    assert!(server.next_frame().unwrap().is_some());
    assert_eq!(
        server.next_frame(),
        Err(TransportError::BadSeq {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn oversized_and_impossible_lengths_are_errors_without_waiting() {
    let max = 1024;
    let cases: [(Box<dyn Framing>, &[u8]); 7] = [
        (
            Box::new(Abridged::new(Role::Server).with_max_frame_len(max)),
            &[0x7f, 0x01, 0x01, 0x00],
        ),
        (
            Box::new(Intermediate::new(Role::Server).with_max_frame_len(max)),
            &[0x00, 0x00, 0x00, 0x7f],
        ),
        (
            Box::new(Intermediate::new(Role::Client).with_max_frame_len(max)),
            &[0x02, 0x00, 0x00, 0x00],
        ),
        (
            Box::new(PaddedIntermediate::new(Role::Server, boxed_rng(1)).with_max_frame_len(max)),
            &[0x01, 0x04, 0x00, 0x00],
        ),
        (
            Box::new(Full::new(Role::Server).with_max_frame_len(max)),
            &[0x10, 0x04, 0x00, 0x00],
        ),
        (Box::new(Full::new(Role::Server)), &[0x6c, 0xfe, 0xff, 0xff]),
        (Box::new(Full::new(Role::Server)), &[0x0d, 0x00, 0x00, 0x00]),
    ];
    for (mut framing, bytes) in cases {
        let err = framing.unpack(bytes).unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::FrameTooLong { .. } | TransportError::BadLength { .. }
            ),
            "{:?}: {err}",
            framing.kind()
        );
    }
    // 16 MiB by default: a 16 MiB + 4 announcement fails at once.
    let too_long = u32::try_from(16 * 1024 * 1024 + 4).unwrap().to_le_bytes();
    assert!(matches!(
        Intermediate::new(Role::Server).unpack(&too_long),
        Err(TransportError::FrameTooLong { .. })
    ));
    assert!(matches!(
        Intermediate::new(Role::Client).pack(
            &vec![0; 16 * 1024 * 1024 + 4],
            &mut Vec::new(),
            false
        ),
        Err(TransportError::PayloadTooLong { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Published vectors

/// shared/vectors/mtproto2-kdf.txt: "transport framings of the client packet above".
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn mtproto2_kdf_transport_framings() {
    let Some(text) = vectors("mtproto2-kdf.txt") else {
        return;
    };
    let packet = hex_value(&text, "full payload = auth_key_id", 0);
    assert_eq!(packet.len(), 88);
    let abridged = hex_value(&text, "abridged (first packet", 0);
    let intermediate = hex_value(&text, "intermediate (first packet", 0);
    let full = hex_value(&text, "full (first packet", 0);
    let crc = u32::from_str_radix(&hex::encode(hex_value(&text, "full CRC32 =", 0)), 16).unwrap();

    let cases: [(Box<dyn Framing + Send>, &[u8]); 3] = [
        (Box::new(Abridged::new(Role::Client)), &abridged),
        (Box::new(Intermediate::new(Role::Client)), &intermediate),
        (Box::new(Full::new(Role::Client)), &full),
    ];
    for (client, expected) in cases {
        let kind = client.kind();
        let mut wire = Vec::new();
        let mut client = Codec::client(client, &mut wire);
        client.send(&packet, false, &mut wire).unwrap();
        assert_eq!(hex::encode(&wire), hex::encode(expected), "{kind:?}");

        // The server recognizes the framing from the opening and reads the packet back.
        let (mut server, used) = accept(expected, None, rng(1)).unwrap().unwrap();
        assert_eq!(server.framing().kind(), kind);
        server.push(&expected[used..]);
        assert_eq!(
            server.next_frame().unwrap(),
            Some(Frame::Payload {
                data: packet.clone(),
                quick_ack: false
            }),
            "{kind:?}"
        );
    }
    assert_eq!(full[full.len() - 4..], crc.to_le_bytes());
    assert_eq!(crc, 0xb2bb_c22b);
}

/// shared/vectors/mtproto2-kdf.txt: quick-ack tokens (client and server packets), as each
/// framing carries them.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn mtproto2_kdf_quick_ack_tokens_on_the_wire() {
    let Some(text) = vectors("mtproto2-kdf.txt") else {
        return;
    };
    for nth in 0..2 {
        let token = u32::from_be_bytes(array(&hex_value(&text, "quick_ack token", nth)));
        assert_ne!(token & 0x8000_0000, 0);

        let mut wire = Vec::new();
        Abridged::new(Role::Server)
            .pack_quick_ack(token, &mut wire)
            .unwrap();
        assert_eq!(wire, token.to_be_bytes(), "abridged: byte-swapped");
        assert_eq!(
            Abridged::new(Role::Client).unpack(&wire).unwrap(),
            Some((Frame::QuickAck(token), 4))
        );

        let mut wire = Vec::new();
        Intermediate::new(Role::Server)
            .pack_quick_ack(token, &mut wire)
            .unwrap();
        assert_eq!(wire, token.to_le_bytes(), "intermediate: raw LE");
        assert_eq!(
            Intermediate::new(Role::Client).unpack(&wire).unwrap(),
            Some((Frame::QuickAck(token), 4))
        );
    }
}

/// shared/vectors/obfuscated2.txt section 1: mtcute's header vectors (init = FF*56 + EEEEEEEE
/// + 4 bytes), direct and through an MTProxy with secret 00*16 for DCs 1, 10001 and -1.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn obfuscated2_mtcute_vectors() {
    let Some(text) = vectors("obfuscated2.txt") else {
        return;
    };
    let mut seen = 0;
    let lines: Vec<&str> = text.lines().collect();
    for (i, sent_line) in lines.iter().enumerate() {
        if !sent_line.contains("sent bytes[56:64] =") {
            continue;
        }
        // The direct case puts init[60:64] on the line before its sent bytes.
        let line = if sent_line.contains("init[60:64] = ") || i == 0 {
            sent_line.to_string()
        } else {
            format!("{} {sent_line}", lines[i - 1])
        };
        let line = line.as_str();
        let after = |key: &str| -> Vec<u8> {
            let rest = &line[line.find(key).expect(key) + key.len()..];
            let token: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            hex::decode(token).unwrap()
        };
        let tail: [u8; 4] = array(&after("init[60:64] = "));
        let sent: [u8; 8] = array(&after("sent bytes[56:64] = "));
        let proxy = line.trim_start().starts_with("(proxy");
        let secret = proxy.then(|| {
            assert!(line.contains("secret = 00*16"), "{line}");
            ProxySecret::from_bytes(&[0; 16]).unwrap()
        });

        let mut init = [0xffu8; HEADER_LEN];
        init[56..60].copy_from_slice(&[0xee; 4]);
        init[60..64].copy_from_slice(&tail);
        let (_, header) = obfuscated::client_header(&init, secret.as_ref());
        assert_eq!(header[..56], init[..56]);
        assert_eq!(hex::encode(&header[56..]), hex::encode(sent), "{line}");

        // The same through client_init: random FF bytes, tag and DC id written by it.
        let dc = proxy.then(|| i16::from_le_bytes([tail[0], tail[1]]));
        let (_, header) = obfuscated::client_init(
            ProtocolTag::Intermediate,
            dc,
            secret.as_ref(),
            &mut |buf: &mut [u8]| buf.fill(0xff),
        )
        .unwrap();
        assert_eq!(hex::encode(&header[56..]), hex::encode(sent), "{line}");

        // And the server recovers tag and DC id.
        let accepted = obfuscated::server_accept(&header, secret.as_ref()).unwrap();
        assert_eq!(accepted.tag, ProtocolTag::Intermediate);
        assert_eq!(accepted.dc_id, i16::from_le_bytes([tail[0], tail[1]]));
        seen += 1;
    }
    assert_eq!(seen, 4, "expected 4 mtcute vectors in obfuscated2.txt");
}

/// shared/vectors/obfuscated2.txt section 2: the derived padded-intermediate MTProxy example
/// (secret dd99..99, media DC -4) and the same init without a proxy.
#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn obfuscated2_derived_mtproxy_example() {
    let Some(text) = vectors("obfuscated2.txt") else {
        return;
    };
    let init: [u8; 64] = array(&hex_value(&text, "init (before encryption)", 0));
    let keys = ObfuscationKeys::derive(&init, None);
    assert_eq!(
        keys.encrypt_key.to_vec(),
        hex_value(&text, "encryptKey = init", 0)
    );
    assert_eq!(
        keys.encrypt_iv.to_vec(),
        hex_value(&text, "encryptIV  = init", 0)
    );
    assert_eq!(
        keys.decrypt_key.to_vec(),
        hex_value(&text, "decryptKey = rev", 0)
    );
    assert_eq!(
        keys.decrypt_iv.to_vec(),
        hex_value(&text, "decryptIV  = rev", 0)
    );

    let mut secret_bytes = vec![0xdd];
    secret_bytes.extend_from_slice(&hex_value(&text, "secret (17-byte dd-form", 0));
    let secret = ProxySecret::from_bytes(&secret_bytes).unwrap();
    assert!(secret.requires_padding());
    let proxied = ObfuscationKeys::derive(&init, Some(&secret));
    assert_eq!(
        proxied.encrypt_key.to_vec(),
        hex_value(&text, "encryptKey' =", 0)
    );
    assert_eq!(
        proxied.decrypt_key.to_vec(),
        hex_value(&text, "decryptKey' =", 0)
    );
    assert_eq!(proxied.encrypt_iv, keys.encrypt_iv);

    // The whole encrypted init, with and without the secret.
    for (keys, prefix) in [
        (&proxied, "CTR(encryptKey', encryptIV, init)"),
        (&keys, "CTR(encryptKey, encryptIV, init)"),
    ] {
        let mut encrypted = init;
        Obfuscation::new(keys).encrypt(&mut encrypted);
        assert_eq!(encrypted.to_vec(), hex_value(&text, prefix, 0), "{prefix}");
    }

    let final_proxy = hex_value(&text, "finalInit", 0);
    let final_direct = hex_value(&text, "finalInit", 1);
    let (_, header) = obfuscated::client_header(&init, Some(&secret));
    assert_eq!(header.to_vec(), final_proxy);
    let (_, header) = obfuscated::client_header(&init, None);
    assert_eq!(header.to_vec(), final_direct);

    // client_init writes the tag and DC id over the drawn bytes.
    let mut drawn = init;
    drawn[56..62].fill(0);
    let (mut client, header) = obfuscated::client_init(
        ProtocolTag::PaddedIntermediate,
        Some(-4),
        Some(&secret),
        &mut |buf: &mut [u8]| buf.copy_from_slice(&drawn),
    )
    .unwrap();
    assert_eq!(header.to_vec(), final_proxy);

    // The server side: accept() reads the header and pairs its streams with the client's.
    let mut wire = header.to_vec();
    let up = payload(40, 5);
    let mut framed = Vec::new();
    PaddedIntermediate::new(Role::Client, boxed_rng(3))
        .pack(&up, &mut framed, false)
        .unwrap();
    client.encrypt(&mut framed);
    wire.extend_from_slice(&framed);
    let (mut server, used) = accept(&wire, Some(&secret), rng(4)).unwrap().unwrap();
    assert_eq!(used, HEADER_LEN);
    assert_eq!(server.framing().kind(), Kind::PaddedIntermediate);
    server.push(&wire[used..]);
    let frames = drain(&mut server);
    assert_payload(Kind::PaddedIntermediate, &frames[0], &up, false);
    let accepted = obfuscated::server_accept(&array(&final_proxy), Some(&secret)).unwrap();
    assert_eq!(accepted.dc_id, -4);
}

// ---------------------------------------------------------------------------------------------
// Untrusted bytes never panic

fn every_decoder() -> Vec<Box<dyn Framing + Send>> {
    let mut all = Vec::new();
    for kind in KINDS {
        for role in [Role::Client, Role::Server] {
            all.push(framing(kind, role, 1 << 16, boxed_rng(5)));
        }
    }
    all
}

/// A valid client stream of every framing, to mutate.
fn valid_stream(kind: Kind) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut client = framing(kind, Role::Client, 1 << 16, boxed_rng(9));
    for len in [8, 24, 600] {
        client
            .pack(&payload(len, 1), &mut wire, kind != Kind::Full)
            .unwrap();
    }
    wire
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for mut decoder in every_decoder() {
            let mut at = 0;
            while let Ok(Some((_, used))) = decoder.unpack(&bytes[at..]) {
                prop_assert!(used > 0 && at + used <= bytes.len());
                at += used;
            }
        }
        let secret = ProxySecret::from_bytes(&[1; 16]).unwrap();
        for secret in [None, Some(&secret)] {
            if let Ok(Some((mut server, used))) = accept(&bytes, secret, rng(1)) {
                server.push(&bytes[used..]);
                while let Ok(Some(_)) = server.next_frame() {}
            }
        }
    }

    #[test]
    fn mutated_streams_never_panic(
        kind_index in 0usize..4,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let kind = KINDS[kind_index];
        let mut wire = valid_stream(kind);
        for (at, xor) in flips {
            let i = at % wire.len();
            wire[i] ^= xor;
        }
        wire.truncate(cut % (wire.len() + 1));
        let mut codec = Codec::new(framing(kind, Role::Server, 1 << 16, boxed_rng(2)));
        for chunk in wire.chunks(7) {
            codec.push(chunk);
            while let Ok(Some(_)) = codec.next_frame() {}
        }
    }

    #[test]
    fn any_split_reassembles(kind_index in 0usize..4, split in any::<usize>()) {
        let kind = KINDS[kind_index];
        let wire = valid_stream(kind);
        let split = split % (wire.len() + 1);
        let mut codec = Codec::new(framing(kind, Role::Server, 1 << 16, boxed_rng(2)));
        codec.push(&wire[..split]);
        let mut frames = drain(&mut codec);
        codec.push(&wire[split..]);
        frames.extend(drain(&mut codec));
        prop_assert_eq!(frames.len(), 3);
    }
}
