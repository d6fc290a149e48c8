//! Encrypted messages and sessions: the derived end-to-end vector, every receive check's typed error, salts, clocks, containers, gzip, and client and server talking over every transport after a real handshake.
#![cfg(all(feature = "mtproto", feature = "transport"))]

mod common;

use std::time::Duration;

use proptest::prelude::*;

use common::wire::{connect, drain, modes, rng, AnyCodec, KINDS};
use common::{after, test_keypair, vectors};
use tlgen_runtime::crypto::{aes_ige_encrypt, message_key_iv, msg_key, Direction, KNOWN_DH_PRIME};
use tlgen_runtime::mtproto::envelope::{
    self, decrypt, encrypt, encrypt_with_padding, EnvelopeError, Header, MessageKey, MAX_PADDING,
    MIN_PADDING,
};
use tlgen_runtime::mtproto::handshake::{
    parse_plain_message, plain_message, AuthKey, Client, ClientStep, Server,
};
use tlgen_runtime::mtproto::schema::{functions, types};
use tlgen_runtime::mtproto::session::{
    gzip, Config, Event, Session, SessionError, MSG_CONTAINER_ID,
};
use tlgen_runtime::transport::{Frame, Kind};
use tlgen_runtime::{Identifiable, Serializable};

// ---------------------------------------------------------------------------------------------
// Helpers

fn hex(text: &str, key: &str) -> Vec<u8> {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(key))
        .unwrap_or_else(|| panic!("no line {key:?}"));
    let value = line.rsplit('=').next().unwrap().trim();
    let token: String = value
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    ::hex::decode(token).unwrap()
}

/// The hex token right after the first `marker` in `text`.
fn hex_after(text: &str, marker: &str) -> Vec<u8> {
    let token: String = after(text, marker)
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    ::hex::decode(token).unwrap()
}

fn le_i64(bytes: &[u8]) -> i64 {
    i64::from_le_bytes(bytes.try_into().unwrap())
}

/// Unix time 1,700,000,000 s plus `ms` milliseconds.
fn at(ms: u64) -> Duration {
    Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
}

fn zeros() -> impl FnMut(&mut [u8]) {
    |b: &mut [u8]| b.fill(0)
}

/// A client and a server session over the same fixed key, as after a handshake at `at(0)`.
fn pair() -> (Session, Session) {
    let key = test_key_of_pair();
    (
        Session::client(key.clone(), 0x5E55_1011, 0x5A17, 0),
        Session::server(key, 0x5A17, 0x0000_1D1D),
    )
}

/// Packs everything `from` has queued and unpacks it at `to`.
fn deliver(
    from: &mut Session,
    to: &mut Session,
    now: Duration,
) -> Result<Vec<Event>, SessionError> {
    let packet = from
        .pack(now, &mut rng(5))
        .unwrap()
        .expect("something to send");
    to.unpack(now, &packet.payload)
}

// ---------------------------------------------------------------------------------------------
// The derived end-to-end vector (shared/vectors/mtproto2-kdf.txt, section 3)

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference vectors")]
fn envelope_reproduces_the_derived_example_both_ways() {
    let (Some(kdf), Some(auth)) = (vectors("mtproto2-kdf.txt"), vectors("samples-auth_key.txt"))
    else {
        return;
    };
    let key_bytes: [u8; 256] = hex(after(&auth, "8) auth_key = g_a^b"), "auth_key =")
        .try_into()
        .unwrap();
    let key = MessageKey::new(key_bytes);
    let section = after(&kdf, "== 3. DERIVED end-to-end example");
    for (part, direction) in [
        ("--- client -> server", Direction::ClientToServer),
        ("--- server -> client", Direction::ServerToClient),
    ] {
        let text = after(section, part);
        let header = Header {
            salt: le_i64(&hex(text, "server_salt (bytes)")),
            session_id: le_i64(&hex(text, "session_id (bytes)")),
            msg_id: le_i64(&hex_after(text, "(bytes LE ")),
            seq_no: 1,
        };
        let body = hex(text, "message_data ");
        let padding = hex(text, "padding");
        let expected = hex(text, "full payload");
        let sealed = encrypt_with_padding(&key, direction, &header, &body, &padding).unwrap();
        assert_eq!(sealed.payload, expected, "{part}");
        let token = u32::from_str_radix(
            text.lines()
                .find(|l| l.starts_with("quick_ack token"))
                .unwrap()
                .rsplit("0x")
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap();
        assert_eq!(sealed.quick_ack, token, "{part}");
        let opened = decrypt(&key, direction, &expected).unwrap();
        assert_eq!((opened.header, opened.body), (header, body), "{part}");
        // The other direction's keys do not open it.
        let other = match direction {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        };
        assert_eq!(
            decrypt(&key, other, &expected),
            Err(EnvelopeError::MsgKeyMismatch)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Envelope checks

fn test_key() -> MessageKey {
    MessageKey::new(std::array::from_fn(|i| (i * 13 + 1) as u8))
}

const HEADER: Header = Header {
    salt: 1,
    session_id: 2,
    msg_id: 0x6555_4F00_0000_0004,
    seq_no: 1,
};

/// Encrypts a plaintext (header, length field, body, padding, all given) with a correct
/// msg_key, so that the checks after the msg_key check can be reached.
fn seal_raw(key: &MessageKey, plain: &[u8]) -> Vec<u8> {
    let msg_key = msg_key(key.bytes(), Direction::ClientToServer, plain);
    let aes = message_key_iv(key.bytes(), &msg_key, Direction::ClientToServer);
    let mut data = plain.to_vec();
    aes_ige_encrypt(&mut data, &aes.key, &aes.iv).unwrap();
    [&key.id().to_le_bytes()[..], &msg_key, &data].concat()
}

fn plaintext(length: i32, body_len: usize, padding: usize) -> Vec<u8> {
    let mut plain = Vec::new();
    plain.extend_from_slice(&1i64.to_le_bytes());
    plain.extend_from_slice(&2i64.to_le_bytes());
    plain.extend_from_slice(&HEADER.msg_id.to_le_bytes());
    plain.extend_from_slice(&1i32.to_le_bytes());
    plain.extend_from_slice(&length.to_le_bytes());
    plain.extend(std::iter::repeat_n(0x11, body_len));
    plain.extend(std::iter::repeat_n(0x22, padding));
    plain
}

#[test]
fn random_padding_is_12_to_1024_bytes_in_whole_blocks() {
    let key = test_key();
    let mut random = rng(99);
    let mut seen = std::collections::BTreeSet::new();
    for body_len in (0..200).step_by(4) {
        for _ in 0..20 {
            let body = vec![0x33; body_len];
            let sealed =
                encrypt(&key, Direction::ClientToServer, &HEADER, &body, &mut random).unwrap();
            let padding = sealed.payload.len() - 24 - 32 - body_len;
            assert!((MIN_PADDING..=MAX_PADDING).contains(&padding), "{padding}");
            assert_eq!((sealed.payload.len() - 24) % 16, 0);
            seen.insert(padding / 16);
            let opened = decrypt(&key, Direction::ClientToServer, &sealed.payload).unwrap();
            assert_eq!(opened.body, body);
        }
    }
    assert!(seen.len() > 10, "the amount of padding varies: {seen:?}");
    assert_eq!(
        encrypt_with_padding(&key, Direction::ClientToServer, &HEADER, &[0; 4], &[0; 11]),
        Err(EnvelopeError::BadPadding { len: 11 })
    );
}

#[test]
fn every_envelope_check_has_its_typed_error() {
    let key = test_key();
    let good = encrypt_with_padding(&key, Direction::ClientToServer, &HEADER, &[7; 8], &[0; 24])
        .unwrap()
        .payload;
    let open = |payload: &[u8]| decrypt(&key, Direction::ClientToServer, payload);
    assert!(open(&good).is_ok());

    // Size and auth_key_id, before any decryption.
    assert_eq!(open(&good[..71]), Err(EnvelopeError::BadSize { len: 71 }));
    let mut other_key = good.clone();
    other_key[0] ^= 1;
    assert!(matches!(
        open(&other_key),
        Err(EnvelopeError::WrongAuthKeyId { .. })
    ));
    // Any change to msg_key or to the encrypted data fails the msg_key check.
    for at in [8, 23, 24, 40, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x80;
        assert_eq!(open(&bad), Err(EnvelopeError::MsgKeyMismatch), "byte {at}");
    }
    // Transport padding (up to 15 bytes) after the last block is ignored.
    assert!(open(&[good.as_slice(), &[9; 15]].concat()).is_ok());

    // Length field and padding, reached only with a correct msg_key.
    let cases = [
        (plaintext(-4, 16, 16), "negative length"),
        (plaintext(6, 8, 24), "length not a multiple of 4"),
        (plaintext(64, 16, 16), "length past the data"),
        (plaintext(24, 24, 8), "padding below 12"),
        (plaintext(0, 0, 1040), "padding above 1024"),
    ];
    for (plain, what) in cases {
        assert_eq!(plain.len() % 16, 0, "{what}");
        let sealed = seal_raw(&key, &plain);
        assert!(
            matches!(open(&sealed), Err(EnvelopeError::BadLength { .. })),
            "{what}: {:?}",
            open(&sealed)
        );
    }
    // The same construction with valid values opens.
    assert!(open(&seal_raw(&key, &plaintext(16, 16, 16))).is_ok());
}

// ---------------------------------------------------------------------------------------------
// msg_id and seq_no

#[test]
fn msg_ids_increase_and_carry_the_corrected_time() {
    let (_, mut server) = pair();
    let mut client = Session::client(test_key(), 1, 1, -100);
    let mut last = 0;
    for i in 0..2000u64 {
        // Several ids in the same nanosecond must still increase.
        let id = client.push(at(i / 10), vec![0; 4], i % 3 == 0);
        assert!(id > last, "{id:#x} after {last:#x}");
        assert_eq!(id % 4, 0);
        assert_ne!(id & 0xFFFF_FFFF, 0);
        assert_eq!(id >> 32, 1_700_000_000 - 100 + (i / 10 / 1000) as i64);
        last = id;
    }
    let answer = server.push_result(at(0), 4, &[1, 2, 3, 4]);
    let other = server.push(at(0), vec![0; 4], false);
    assert_eq!((answer % 4, other % 4), (1, 3));
    assert!(other > answer);
}

#[test]
fn seq_nos_count_content_related_messages() {
    let (mut client, mut server) = pair();
    client.push(at(0), vec![1, 0, 0, 0], true); // 1
    client.push(at(0), vec![2, 0, 0, 0], false); // 2
    client.push(at(0), vec![3, 0, 0, 0], true); // 3
    client.push(at(0), vec![4, 0, 0, 0], true); // 5
    let packet = client.pack(at(0), &mut zeros()).unwrap().unwrap();
    let opened = decrypt(
        &test_key_of_pair(),
        Direction::ClientToServer,
        &packet.payload,
    )
    .unwrap();
    // A container: not content-related, numbered after its three content-related messages.
    assert_eq!(opened.header.seq_no, 6);
    let seq_nos: Vec<i32> = container_entries(&opened.body)
        .iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(seq_nos, [1, 2, 3, 5]);
    // The server sees the four bodies and acks the three content-related ones.
    let events = server.unpack(at(0), &packet.payload).unwrap();
    assert_eq!(events.len(), 4);
    let reply = server.pack(at(0), &mut zeros()).unwrap().unwrap();
    let events = client.unpack(at(0), &reply.payload).unwrap();
    let acked: Vec<i64> = events
        .iter()
        .flat_map(|e| match e {
            Event::Acked { msg_ids } => msg_ids.clone(),
            _ => vec![],
        })
        .collect();
    let content: Vec<i64> = [0, 2, 3].iter().map(|&i| packet.msg_ids[i]).collect();
    assert_eq!(acked, content);
    assert_eq!(client.unacked().count(), 0);
}

/// `(msg_id, seq_no, body)` of each message in a container body.
fn container_entries(body: &[u8]) -> Vec<(i64, i32, Vec<u8>)> {
    assert_eq!(&body[..4], MSG_CONTAINER_ID.to_le_bytes());
    let count = u32::from_le_bytes(body[4..8].try_into().unwrap());
    let mut at = 8;
    (0..count)
        .map(|_| {
            let id = le_i64(&body[at..at + 8]);
            let seq = i32::from_le_bytes(body[at + 8..at + 12].try_into().unwrap());
            let len = u32::from_le_bytes(body[at + 12..at + 16].try_into().unwrap()) as usize;
            let entry = (id, seq, body[at + 16..at + 16 + len].to_vec());
            at += 16 + len;
            entry
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Receive checks on the session

/// Seals `body` from the server side with any header, for feeding the client.
fn from_server(header: Header, body: &[u8]) -> Vec<u8> {
    let padding = vec![0; envelope::padding_len(body.len(), 0)];
    envelope::encrypt_with_padding(
        &test_key_of_pair(),
        Direction::ServerToClient,
        &header,
        body,
        &padding,
    )
    .unwrap()
    .payload
}

fn test_key_of_pair() -> MessageKey {
    MessageKey::new(std::array::from_fn(|i| (i * 7 + 3) as u8))
}

fn server_header(msg_id: i64) -> Header {
    Header {
        salt: 0x5A17,
        session_id: 0x5E55_1011,
        msg_id,
        seq_no: 1,
    }
}

/// A server msg_id for time `at(ms)`.
fn server_id(ms: u64, low: i64) -> i64 {
    let t = at(ms);
    ((t.as_secs() as i64) << 32) | low
}

#[test]
fn client_session_checks_give_typed_errors() {
    let update = functions::Ping { ping_id: 5 }.to_bytes();
    let (mut client, _) = pair();
    let good = from_server(server_header(server_id(0, 0x101)), &update);
    assert!(client.unpack(at(0), &good).is_ok());
    // Replay.
    assert!(matches!(
        client.unpack(at(0), &good),
        Err(SessionError::Duplicate { .. })
    ));
    // Wrong session.
    let mut header = server_header(server_id(0, 0x201));
    header.session_id = 7;
    assert!(matches!(
        client.unpack(at(0), &from_server(header, &update)),
        Err(SessionError::WrongSession {
            expected: 0x5E55_1011,
            found: 7
        })
    ));
    // Even msg_id from a server.
    assert!(matches!(
        client.unpack(
            at(0),
            &from_server(server_header(server_id(0, 0x300)), &update)
        ),
        Err(SessionError::BadMsgIdParity { .. })
    ));
    // 301 s in the past, 31 s in the future; 299 s and 29 s are fine.
    let old = from_server(server_header(server_id(0, 0x401)), &update);
    assert!(matches!(
        client.unpack(at(301_500), &old),
        Err(SessionError::OutOfWindow { skew: -301, .. })
    ));
    let new = from_server(server_header(server_id(31_000, 0x501)), &update);
    assert!(matches!(
        client.unpack(at(0), &new),
        Err(SessionError::OutOfWindow { skew: 31, .. })
    ));
    assert!(client
        .unpack(
            at(299_000),
            &from_server(server_header(server_id(0, 0x601)), &update)
        )
        .is_ok());
    assert!(client
        .unpack(
            at(0),
            &from_server(server_header(server_id(29_000, 0x701)), &update)
        )
        .is_ok());
    // Errors display in lower case with what was expected.
    let e = client.unpack(at(0), &good).unwrap_err();
    assert!(e.to_string().starts_with("msg_id"), "{e}");
}

#[test]
fn duplicate_window_refuses_ids_older_than_all_it_keeps() {
    let (client, _) = pair();
    let mut client = client.with_config(Config {
        duplicate_window: 4,
        ..Config::default()
    });
    let body = functions::Ping { ping_id: 5 }.to_bytes();
    for low in [0x105, 0x109, 0x10D, 0x111, 0x115] {
        client
            .unpack(at(0), &from_server(server_header(server_id(0, low)), &body))
            .unwrap();
    }
    // 0x101 is below the four ids kept (0x109..0x115): it cannot be told from a replay.
    assert!(matches!(
        client.unpack(
            at(0),
            &from_server(server_header(server_id(0, 0x101)), &body)
        ),
        Err(SessionError::TooOld { .. })
    ));
    // A new id between kept ones is fine.
    assert!(client
        .unpack(
            at(0),
            &from_server(server_header(server_id(0, 0x10F)), &body)
        )
        .is_ok());
}

fn container(entries: &[(i64, i32, Vec<u8>)]) -> Vec<u8> {
    let mut body = MSG_CONTAINER_ID.to_le_bytes().to_vec();
    body.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for (id, seq, b) in entries {
        body.extend_from_slice(&id.to_le_bytes());
        body.extend_from_slice(&seq.to_le_bytes());
        body.extend_from_slice(&(b.len() as u32).to_le_bytes());
        body.extend_from_slice(b);
    }
    body
}

#[test]
fn containers_are_checked_before_anything_is_used() {
    let ping = functions::Ping { ping_id: 5 }.to_bytes();
    let outer = server_id(0, 0x1001);
    let bad = |entries: Vec<(i64, i32, Vec<u8>)>, trailing: &[u8]| {
        let (mut client, _) = pair();
        let body = [container(&entries).as_slice(), trailing].concat();
        client.unpack(at(0), &from_server(server_header(outer), &body))
    };
    let inner = |low: i64| (server_id(0, low), 1, ping.clone());
    assert!(bad(vec![inner(0x101), inner(0x105)], &[]).is_ok());
    let reason = |r: Result<Vec<Event>, SessionError>| match r {
        Err(SessionError::BadContainer { reason }) => reason,
        other => panic!("expected BadContainer, got {other:?}"),
    };
    assert!(reason(bad(vec![inner(0x101), inner(0x1005)], &[])).contains("not below"));
    assert!(reason(bad(vec![inner(0x101)], &[0, 0, 0, 0])).contains("after the last"));
    let nested = container(&[inner(0x101)]);
    assert!(reason(bad(vec![(server_id(0, 0x105), 0, nested)], &[])).contains("inside"));
    assert!(reason(bad(vec![inner(0x100)], &[])).contains("parity"));
    let (mut client, _) = pair();
    let mut body = container(&[inner(0x101)]);
    body[4..8].copy_from_slice(&2u32.to_le_bytes());
    assert!(
        reason(client.unpack(at(0), &from_server(server_header(outer), &body)))
            .contains("past the end")
    );
    let mut body = container(&[]);
    body[4..8].copy_from_slice(&1025u32.to_le_bytes());
    let (mut client, _) = pair();
    assert!(
        reason(client.unpack(at(0), &from_server(server_header(outer), &body))).contains("1024")
    );
}

#[test]
fn gzip_is_used_both_ways_and_bounded() {
    let (client, server) = pair();
    let mut client = client;
    let mut server = server.with_config(Config {
        max_inflated_len: 64 * 1024,
        ..Config::default()
    });
    // A compressible request goes out as gzip_packed and arrives inflated.
    let request: Vec<u8> = [&0x1234_5678u32.to_le_bytes()[..], &[0x41; 8000]].concat();
    let id = client.push(at(0), request.clone(), true);
    let packet = client.pack(at(0), &mut zeros()).unwrap().unwrap();
    assert!(
        packet.payload.len() < 1000,
        "{} bytes",
        packet.payload.len()
    );
    let events = server.unpack(at(0), &packet.payload).unwrap();
    assert!(events.contains(&Event::Message {
        msg_id: id,
        body: request.clone()
    }));
    // A compressible result comes back the same way.
    server.push_result(at(1), id, &request);
    let reply = server.pack(at(1), &mut zeros()).unwrap().unwrap();
    assert!(reply.payload.len() < 1000);
    let events = client.unpack(at(1), &reply.payload).unwrap();
    assert!(events.contains(&Event::Result {
        req_msg_id: id,
        result: Ok(request)
    }));

    // A bomb: 1 MiB of zeros in a few KiB is refused past the limit without inflating it all.
    let bomb = types::GzipPacked {
        packed_data: gzip(&vec![0; 1 << 20]),
    }
    .to_bytes();
    assert!(bomb.len() < 16 * 1024, "{} bytes", bomb.len());
    let (mut client2, _) = pair();
    client2.push(at(0), bomb, true);
    let packet = client2.pack(at(0), &mut zeros()).unwrap().unwrap();
    let (_, server2) = pair();
    let mut server2 = server2.with_config(Config {
        max_inflated_len: 64 * 1024,
        ..Config::default()
    });
    assert!(matches!(
        server2.unpack(at(0), &packet.payload),
        Err(SessionError::TooMuchInflated { limit: 65536 })
    ));
    // Not gzip at all.
    let junk = types::GzipPacked {
        packed_data: vec![1, 2, 3],
    }
    .to_bytes();
    let (mut client3, mut server3) = pair();
    client3.push(at(0), junk, true);
    assert!(matches!(
        deliver(&mut client3, &mut server3, at(0)),
        Err(SessionError::BadGzip { .. })
    ));
}

/// The inflation limit holds for a payload as a whole: a container of gzip bombs, each under
/// the limit, is refused once they inflate past it together (1024 of them would be 1 GiB).
#[test]
fn gzip_bombs_in_one_container_share_one_budget() {
    let bomb = types::GzipPacked {
        packed_data: gzip(&vec![0; 1 << 20]),
    }
    .to_bytes();
    let container = |bombs: usize| {
        let (mut client, server) = pair();
        for _ in 0..bombs {
            client.push(at(0), bomb.clone(), true);
        }
        let packet = client.pack(at(0), &mut zeros()).unwrap().unwrap();
        (packet.payload, server)
    };
    // 100 bombs of 1 MiB each (about 5 KiB each on the wire) in one container: refused at
    // the 17th under the default 16 MiB.
    let (payload, mut server) = container(100);
    assert!(payload.len() < 1 << 20, "{} bytes", payload.len());
    assert_eq!(
        server.unpack(at(0), &payload),
        Err(SessionError::TooMuchInflated {
            limit: 16 * 1024 * 1024
        })
    );
    // Fifteen of them fit.
    let (payload, mut server) = container(15);
    let events = server.unpack(at(0), &payload).unwrap();
    let messages = events
        .iter()
        .filter(|e| matches!(e, Event::Message { body, .. } if body.len() == 1 << 20))
        .count();
    assert_eq!(messages, 15);
}

// ---------------------------------------------------------------------------------------------
// Salts and clocks

#[test]
fn bad_server_salt_updates_the_salt_and_resends() {
    let (_, mut server) = pair();
    let mut client = Session::client(test_key_of_pair(), 0x5E55_1011, 0xBAD, 0);
    let ping = client.push_request(at(0), &functions::Ping { ping_id: 9 });
    assert!(matches!(
        deliver(&mut client, &mut server, at(0)),
        Err(SessionError::WrongSalt { found: 0xBAD })
    ));
    // The server told the client the right salt; the client sends the ping again.
    let events = deliver(&mut server, &mut client, at(10)).unwrap();
    let new_id = match events.as_slice() {
        [Event::Resent {
            old_msg_id,
            new_msg_id,
            code: 48,
        }] if *old_msg_id == ping => *new_msg_id,
        other => panic!("{other:?}"),
    };
    assert_eq!(client.salt(), 0x5A17);
    let events = deliver(&mut client, &mut server, at(20)).unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Message { msg_id, .. } if *msg_id == new_id)));
}

#[test]
fn a_client_clock_off_by_an_hour_is_corrected_by_the_server() {
    let key = test_key_of_pair();
    let mut client = Session::client(key.clone(), 0x5E55_1011, 0x5A17, -3600);
    let mut server = Session::server(key, 0x5A17, 1);
    let ping = client.push_request(at(0), &functions::Ping { ping_id: 1 });
    assert!(matches!(
        deliver(&mut client, &mut server, at(0)),
        Err(SessionError::OutOfWindow { skew: -3600, .. })
    ));
    // The notification is an hour "in the future" for the client, which takes it anyway
    // (time and salt notices are processed despite a bad clock) and fixes its offset.
    let events = deliver(&mut server, &mut client, at(50)).unwrap();
    assert!(
        matches!(events.as_slice(), [Event::Resent { old_msg_id, code: 16, .. }] if *old_msg_id == ping),
        "{events:?}"
    );
    assert_eq!(client.time_offset(), 0);
    let events = deliver(&mut client, &mut server, at(100)).unwrap();
    assert!(events.iter().any(|e| matches!(e, Event::Message { .. })));
    // Anything else from an out-of-window time is still dropped.
    let (mut c2, _) = pair();
    let update = from_server(server_header(server_id(3_600_000, 0x101)), &[0; 8]);
    assert!(matches!(
        c2.unpack(at(0), &update),
        Err(SessionError::OutOfWindow { .. })
    ));
}

#[test]
fn future_salts_are_used_in_their_time() {
    let (mut client, mut server) = pair();
    let req = client.push_request(at(0), &functions::GetFutureSalts { num: 2 });
    let events = deliver(&mut client, &mut server, at(0)).unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Message { msg_id, .. } if *msg_id == req)));
    let t0 = 1_700_000_000;
    let salts = types::FutureSalts {
        req_msg_id: req,
        now: t0,
        salts: vec![
            types::FutureSalt {
                valid_since: t0 - 10,
                valid_until: t0 + 1800,
                salt: 0x1111,
            },
            types::FutureSalt {
                valid_since: t0 + 1800,
                valid_until: t0 + 3600,
                salt: 0x2222,
            },
        ],
    };
    server.push(at(1), salts.to_bytes(), true);
    let events = deliver(&mut server, &mut client, at(1)).unwrap();
    assert!(events.contains(&Event::FutureSalts {
        req_msg_id: req,
        count: 2
    }));
    client.push(at(2), vec![0; 4], true);
    let packet = client.pack(at(2), &mut zeros()).unwrap().unwrap();
    let opened = decrypt(
        &test_key_of_pair(),
        Direction::ClientToServer,
        &packet.payload,
    )
    .unwrap();
    assert_eq!(opened.header.salt, 0x1111);
    client.push(at(1_900_000), vec![0; 4], true);
    let packet = client.pack(at(1_900_000), &mut zeros()).unwrap().unwrap();
    let opened = decrypt(
        &test_key_of_pair(),
        Direction::ClientToServer,
        &packet.payload,
    )
    .unwrap();
    assert_eq!(opened.header.salt, 0x2222);
}

#[test]
fn server_announces_a_new_session_and_the_client_takes_its_salt() {
    let key = test_key_of_pair();
    let mut client = Session::client(key.clone(), 0x5E55_1011, 0x5A17, 0);
    let mut server = Session::server(key, 0x5A17, 0x77);
    let first = client.push(at(0), vec![1, 0, 0, 0], true);
    deliver(&mut client, &mut server, at(0)).unwrap();
    assert_eq!(server.session_id(), Some(0x5E55_1011));
    let events = deliver(&mut server, &mut client, at(1)).unwrap();
    assert!(events.contains(&Event::NewSession {
        first_msg_id: first,
        unique_id: 0x77
    }));
}

// ---------------------------------------------------------------------------------------------
// A real handshake, then sessions, over every transport

fn handshake(
    client_codec: &mut AnyCodec,
    server_codec: &mut AnyCodec,
    seed: u64,
) -> (AuthKey, AuthKey) {
    let mut server = Server::new(
        test_keypair().clone(),
        &KNOWN_DH_PRIME,
        3,
        rng(seed),
        || 1_700_000_000,
    )
    .unwrap();
    let mut client = Client::new(
        vec![test_keypair().public_key().clone()],
        2,
        rng(seed + 1),
        || 1_700_000_100,
    );
    let mut wire = Vec::new();
    let mut body = client.start();
    for step in 1.. {
        assert!(step < 10, "the handshake must finish in three round trips");
        client_codec
            .send(&plain_message(step * 4, &body), false, &mut wire)
            .unwrap();
        server_codec.push(&wire);
        wire.clear();
        let request = one_payload(server_codec);
        let answer = server
            .handle(parse_plain_message(&request).unwrap().1)
            .unwrap();
        server_codec
            .send(&plain_message(step * 4 + 1, &answer), false, &mut wire)
            .unwrap();
        client_codec.push(&wire);
        wire.clear();
        let reply = one_payload(client_codec);
        match client
            .handle(parse_plain_message(&reply).unwrap().1)
            .unwrap()
        {
            ClientStep::Send(next) => body = next,
            ClientStep::Done(key) => return (*key, server.auth_key().unwrap().clone()),
        }
    }
    unreachable!()
}

fn one_payload(codec: &mut AnyCodec) -> Vec<u8> {
    let frames = drain(codec);
    assert_eq!(frames.len(), 1);
    match frames.into_iter().next() {
        Some(Frame::Payload { data, .. }) => data,
        other => panic!("expected a payload, got {other:?}"),
    }
}

#[test]
fn client_and_server_talk_over_every_transport_after_a_handshake() {
    test_keypair();
    let mut seed = 1;
    for kind in KINDS {
        for &mode in modes(kind) {
            seed += 2;
            let mut wire = Vec::new();
            let (mut client_codec, mut server_codec) = connect(kind, mode, &mut wire);
            let (client_key, server_key) = handshake(&mut client_codec, &mut server_codec, seed);
            assert_eq!(client_key.key, server_key.key);
            let mut client = Session::client(
                MessageKey::from(&client_key),
                seed as i64 * 1000,
                client_key.server_salt,
                client_key.server_time_offset,
            );
            let mut server =
                Session::server(MessageKey::from(&server_key), server_key.server_salt, 42);
            // The client's clock is 100 s ahead of the server's; the session corrects it.
            let client_now = |ms: u64| at(100_000 + ms);
            let server_now = at;
            let mut random = rng(seed * 31);

            let mut results = 0;
            let mut pongs = 0;
            let mut updates = 0;
            for round in 0..5u64 {
                let ping = client.push_request(
                    client_now(round * 1000),
                    &functions::Ping {
                        ping_id: round as i64,
                    },
                );
                let big: Vec<u8> =
                    [&0xCAFE_0001u32.to_le_bytes()[..], &vec![round as u8; 3000]].concat();
                let call = client.push(client_now(round * 1000), big.clone(), true);
                let packet = client
                    .pack(client_now(round * 1000 + 1), &mut random)
                    .unwrap()
                    .unwrap();
                // A quick-ack request on the first round (the full transport has none).
                let quick_ack = round == 0 && kind != Kind::Full;
                client_codec
                    .send(&packet.payload, quick_ack, &mut wire)
                    .unwrap();
                server_codec.push(&wire);
                wire.clear();
                let request = one_payload(&mut server_codec);
                for event in server
                    .unpack(server_now(round * 1000 + 2), &request)
                    .unwrap()
                {
                    match event {
                        Event::Message { msg_id, body } if msg_id == ping => {
                            let functions_ping = functions::Ping {
                                ping_id: round as i64,
                            };
                            assert_eq!(body, functions_ping.to_bytes());
                            let pong = types::Pong {
                                msg_id,
                                ping_id: round as i64,
                            };
                            server.push(server_now(round * 1000 + 3), pong.to_bytes(), true);
                        }
                        Event::Message { msg_id, body } if msg_id == call => {
                            assert_eq!(body, big);
                            server.push_result(server_now(round * 1000 + 3), msg_id, &body);
                        }
                        Event::Acked { .. } => {}
                        other => panic!("{kind:?} {mode:?}: unexpected {other:?}"),
                    }
                }
                // An update that is not an answer.
                server.push(
                    server_now(round * 1000 + 4),
                    vec![0x0D, 0xF0, 0xAD, 0x8B],
                    true,
                );
                let reply = server
                    .pack(server_now(round * 1000 + 5), &mut random)
                    .unwrap()
                    .unwrap();
                server_codec.send(&reply.payload, false, &mut wire).unwrap();
                client_codec.push(&wire);
                wire.clear();
                for event in client
                    .unpack(
                        client_now(round * 1000 + 6),
                        &one_payload(&mut client_codec),
                    )
                    .unwrap()
                {
                    match event {
                        Event::Result { req_msg_id, result } => {
                            assert_eq!(req_msg_id, call);
                            assert_eq!(result.unwrap(), big);
                            results += 1;
                        }
                        Event::Pong { msg_id, ping_id } => {
                            assert_eq!((msg_id, ping_id), (ping, round as i64));
                            pongs += 1;
                        }
                        Event::Message { body, .. } => {
                            assert_eq!(body, [0x0D, 0xF0, 0xAD, 0x8B]);
                            updates += 1;
                        }
                        Event::NewSession { .. } | Event::Acked { .. } => {}
                        other => panic!("{kind:?} {mode:?}: unexpected {other:?}"),
                    }
                }
                assert_eq!(client.unacked().count(), 0, "answered requests are settled");
            }
            assert_eq!((results, pongs, updates), (5, 5, 5), "{kind:?} {mode:?}");
            // The client's acks reach the server.
            let acks = client.pack(client_now(9000), &mut random).unwrap().unwrap();
            client_codec.send(&acks.payload, false, &mut wire).unwrap();
            server_codec.push(&wire);
            wire.clear();
            let events = server
                .unpack(server_now(9000), &one_payload(&mut server_codec))
                .unwrap();
            assert!(matches!(events.as_slice(), [Event::Acked { msg_ids }] if msg_ids.len() == 3));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness: random and mutated input never panics

fn valid_payloads() -> Vec<Vec<u8>> {
    let (mut client, _) = pair();
    let mut out = Vec::new();
    for i in 0..4u64 {
        client.push(
            at(i),
            functions::Ping { ping_id: i as i64 }.to_bytes(),
            true,
        );
        if i % 2 == 1 {
            client.push(at(i), vec![0x41; 700], true);
        }
        out.push(client.pack(at(i), &mut zeros()).unwrap().unwrap().payload);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decrypt_and_unpack_never_panic_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (mut client, mut server) = pair();
        let _ = decrypt(&test_key_of_pair(), Direction::ServerToClient, &bytes);
        let _ = client.unpack(at(0), &bytes);
        let _ = server.unpack(at(0), &bytes);
    }

    #[test]
    fn mutated_payloads_are_refused(which in 0usize..4, at_byte in any::<usize>(), xor in 1u8..=255) {
        let payloads = valid_payloads();
        let mut bytes = payloads[which].clone();
        let i = at_byte % bytes.len();
        bytes[i] ^= xor;
        let (_, mut server) = pair();
        prop_assert!(server.unpack(at(0), &bytes).is_err());
    }

    /// Validly encrypted bodies of random bytes (and random containers) reach the service
    /// decoders, which return errors or events but never panic.
    #[test]
    fn service_decoders_never_panic(
        ids in proptest::collection::vec(prop_oneof![
            Just(MSG_CONTAINER_ID), Just(types::RpcResult::CONSTRUCTOR_ID),
            Just(types::MsgsAck::CONSTRUCTOR_ID), Just(types::BadMsgNotification::CONSTRUCTOR_ID),
            Just(types::BadServerSalt::CONSTRUCTOR_ID), Just(types::NewSessionCreated::CONSTRUCTOR_ID),
            Just(types::Pong::CONSTRUCTOR_ID), Just(types::FutureSalts::CONSTRUCTOR_ID),
            Just(types::GzipPacked::CONSTRUCTOR_ID), Just(types::RpcError::CONSTRUCTOR_ID), any::<u32>(),
        ], 1..4),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
        low in 0i64..1000,
        now_secs in any::<u64>(),
    ) {
        let mut body = Vec::new();
        for id in &ids {
            body.extend_from_slice(&id.to_le_bytes());
        }
        body.extend_from_slice(&tail);
        body.truncate(body.len() & !3);
        let (mut client, _) = pair();
        let payload = from_server(server_header(server_id(0, low * 4 + 1)), &body);
        let _ = client.unpack(at(0), &payload);
        // Any clock, however far from the message's (time notices are still read then).
        let (mut client, _) = pair();
        let _ = client.unpack(Duration::from_secs(now_secs), &payload);
        let _ = client.pack(Duration::from_secs(now_secs), &mut zeros());
        let (mut c2, mut server) = pair();
        c2.push(at(0), body, false);
        let _ = deliver(&mut c2, &mut server, at(0));
    }
}

#[test]
fn a_payload_that_fails_anywhere_changes_nothing() {
    let (mut client, _) = pair();
    let sent = client.push(at(0), vec![1, 0, 0, 0], true);
    client.pack(at(0), &mut zeros()).unwrap().unwrap();
    assert_eq!(client.unacked().collect::<Vec<_>>(), [sent]);
    // A container whose first message acks the request and whose second is a broken rpc_result.
    let ack = types::MsgsAck {
        msg_ids: vec![sent],
    }
    .to_bytes();
    let broken = types::RpcResult::CONSTRUCTOR_ID.to_le_bytes().to_vec();
    let body = container(&[
        (server_id(0, 0x101), 0, ack),
        (server_id(0, 0x105), 1, broken),
    ]);
    let payload = from_server(server_header(server_id(0, 0x1001)), &body);
    assert!(matches!(
        client.unpack(at(0), &payload),
        Err(SessionError::Decode {
            what: "rpc_result",
            ..
        })
    ));
    assert_eq!(
        client.unacked().collect::<Vec<_>>(),
        [sent],
        "the ack was not applied"
    );
    assert!(
        !client.has_outgoing(),
        "no ack is owed for a dropped payload"
    );
}

#[test]
fn a_refused_container_is_sent_again_message_by_message() {
    let (_, mut server) = pair();
    let mut client = Session::client(test_key_of_pair(), 0x5E55_1011, 0xBAD, 0);
    // An update the client owes an ack for, so that the container also carries a msgs_ack.
    client
        .unpack(
            at(0),
            &from_server(server_header(server_id(0, 0x103)), &[0; 8]),
        )
        .unwrap();
    let a = client.push(at(1), vec![1, 0, 0, 0], true);
    let b = client.push(at(1), vec![2, 0, 0, 0], true);
    let packet = client.pack(at(1), &mut zeros()).unwrap().unwrap();
    assert_eq!(packet.msg_ids.len(), 3, "two requests and an ack");
    assert!(matches!(
        server.unpack(at(1), &packet.payload),
        Err(SessionError::WrongSalt { .. })
    ));
    let events = deliver(&mut server, &mut client, at(2)).unwrap();
    let resent: Vec<i64> = events
        .iter()
        .map(|e| match e {
            Event::Resent {
                old_msg_id,
                code: 48,
                ..
            } => *old_msg_id,
            other => panic!("only the two requests are re-sent, got {other:?}"),
        })
        .collect();
    assert_eq!(resent, [a, b]);
    // The ack the refused container carried is owed again: the next packet carries the two
    // requests under new ids and a new msgs_ack for the update.
    let packet = client.pack(at(3), &mut zeros()).unwrap().unwrap();
    let opened = decrypt(
        &test_key_of_pair(),
        Direction::ClientToServer,
        &packet.payload,
    )
    .unwrap();
    let acks: Vec<Vec<u8>> = container_entries(&opened.body)
        .into_iter()
        .map(|(_, _, body)| body)
        .filter(|body| body[..4] == types::MsgsAck::CONSTRUCTOR_ID.to_le_bytes())
        .collect();
    let expected = types::MsgsAck {
        msg_ids: vec![server_id(0, 0x103)],
    }
    .to_bytes();
    assert_eq!(acks, [expected]);
    let events = server.unpack(at(3), &packet.payload).unwrap();
    let bodies: Vec<&[u8]> = events
        .iter()
        .filter_map(|e| match e {
            Event::Message { body, .. } => Some(body.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, [&[1, 0, 0, 0][..], &[2, 0, 0, 0][..]]);
}
