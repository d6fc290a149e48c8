//! Fuzz target: arbitrary bytes into the encrypted-message layer, as raw payloads and as bodies of validly encrypted messages (so the service-message decoders are reached).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tlgen_runtime::crypto::Direction;
use tlgen_runtime::mtproto::envelope::{self, Header, MessageKey};
use tlgen_runtime::mtproto::session::Session;

const NOW: Duration = Duration::from_secs(1_700_000_000);

fuzz_target!(|data: &[u8]| {
    let key = MessageKey::new([0x5A; 256]);
    let mut client = Session::client(key.clone(), 1, 2, 0);
    let mut server = Session::server(key.clone(), 2, 3);

    // Raw payloads: every check before and at msg_key.
    let _ = envelope::decrypt(&key, Direction::ServerToClient, data);
    let _ = client.unpack(NOW, data);
    let _ = server.unpack(NOW, data);

    // The bytes as the body of an authentic message, from each side.
    let body = &data[..data.len() & !3];
    let padding = vec![0; envelope::padding_len(body.len(), 0)];
    for (direction, msg_id) in [
        (Direction::ServerToClient, (1_700_000_000i64 << 32) | 0x101),
        (Direction::ClientToServer, (1_700_000_000i64 << 32) | 0x104),
    ] {
        let header = Header { salt: 2, session_id: 1, msg_id, seq_no: 1 };
        if let Ok(sealed) = envelope::encrypt_with_padding(&key, direction, &header, body, &padding) {
            let _ = client.unpack(NOW, &sealed.payload);
            let _ = server.unpack(NOW, &sealed.payload);
            // Whatever was accepted can be answered.
            let _ = client.pack(NOW, &mut |b: &mut [u8]| b.fill(1));
            let _ = server.pack(NOW, &mut |b: &mut [u8]| b.fill(1));
        }
    }
});
