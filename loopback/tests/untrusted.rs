//! Untrusted bytes: random openings, random frames, random plain and encrypted payloads, and
//! broken handshake steps. The server closes or ignores them and keeps serving everyone else.

mod common;

use common::*;
use tlgen_runtime::mtproto::handshake::{self, plain_message, ClientForm, ClientStep};
use tlgen_runtime::mtproto::schema::functions;
use tlgen_runtime::mtproto::session::MSG_CONTAINER_ID;
use tlgen_runtime::transport::Kind;
use tlgen_runtime::Serializable;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[tokio::test]
async fn random_bytes_never_stop_the_server() {
    let (server, _) = start(1).await;
    let mut good = Client::connect(&server, 1, ALL_TRANSPORTS[1]).await;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for round in 0..60u64 {
        let transport = ALL_TRANSPORTS[round as usize % ALL_TRANSPORTS.len()];
        let mut conn = Conn::connect(server.addr(1), transport).await;
        let len = 4 * (1 + rng.next() as usize % 64);
        let mut payload = rng.bytes(len);
        match round % 4 {
            // A plain message with a random body.
            0 => payload = plain_message(rng.next() as i64, &payload),
            // An encrypted-looking payload under the good client's key id.
            1 => {
                payload.splice(..0, good.key.id.to_le_bytes());
                payload.resize(payload.len().div_ceil(16) * 16 + 8, 0);
            }
            // Raw bytes instead of a frame.
            2 => {
                conn.send_raw(&payload).await;
                let _ = conn.recv_for(std::time::Duration::from_millis(50)).await;
                continue;
            }
            _ => {}
        }
        conn.send(&payload).await;
        // Closed, an error, or silence: anything but a hang of the server.
        let _ = conn.recv_for(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(good.call(&echo(1)).await.unwrap(), echo(1));
    server.shutdown().await;
}

#[tokio::test]
async fn broken_handshake_steps_close_the_connection() {
    let (server, _) = start(1).await;
    let key = server.rsa_public_key();
    // A req_DH_params with random encrypted data, after a real resPQ.
    for step in 0..3 {
        let mut conn = Conn::connect(server.addr(1), Transport::Plain(Kind::Abridged)).await;
        let mut client =
            handshake::Client::new(vec![key.clone()], 1, random, || now().as_secs() as i64);
        let mut body = client.start();
        let mut msg_id = (now().as_secs() as i64) << 32;
        for i in 0..=step {
            if i == step {
                // Corrupt the step: flip bytes in the middle of the body.
                let at = body.len() / 2;
                let end = (at + 8).min(body.len());
                for b in &mut body[at..end] {
                    *b ^= 0xa5;
                }
            }
            msg_id += 4;
            conn.send(&plain_message(msg_id, &body)).await;
            if i == step {
                break;
            }
            let answer = conn.recv_payload().await;
            let (_, answer) = handshake::parse_plain_message(&answer).unwrap();
            match client.handle(answer).unwrap() {
                ClientStep::Send(next) => body = next,
                ClientStep::Done(_) => panic!("finished early"),
            }
        }
        // Refused with -404 and closed, or (a corrupted nonce in req_pq) answered with a resPQ
        // the client cannot use; never a key.
        loop {
            match conn.recv().await {
                Err(Closed::Eof) => break,
                Ok(_) | Err(Closed::Transport(_)) => {}
            }
            if step == 0 {
                break;
            }
        }
    }
    assert_eq!(server.stats().handshakes, 0);
    // A container nested in a container, and one claiming more messages than it holds.
    let mut client = Client::connect(&server, 1, ALL_TRANSPORTS[0]).await;
    client.call(&echo(0)).await.unwrap();
    let id = client_msg_id(10);
    let ping = functions::Ping { ping_id: 1 }.to_bytes();
    let inner = container(&[(id, 1, ping.clone())]);
    let nested = container(&[(id + 4, 3, inner)]);
    client.conn.send(&client.seal(id + 8, 4, &nested)).await;
    let mut lying = MSG_CONTAINER_ID.to_le_bytes().to_vec();
    lying.extend_from_slice(&1000u32.to_le_bytes());
    lying.extend_from_slice(&(id + 12).to_le_bytes());
    client.conn.send(&client.seal(id + 16, 6, &lying)).await;
    assert_eq!(client.call(&echo(2)).await.unwrap(), echo(2));
    // Both refused whole (the payloads of one connection are handled in order).
    assert_eq!(server.stats().payloads_rejected, 2);
    // The legacy form still works after all that.
    let mut conn = Conn::connect(server.addr(1), ALL_TRANSPORTS[4]).await;
    handshake(&mut conn, key, 1, ClientForm::LEGACY, None).await;
    assert_eq!(server.stats().handshakes, 2);
    server.shutdown().await;
}
