//! Sessions: re-sent msg_ids answered from the cache, reconnects, service messages, salts,
//! updates, several DCs, keys.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use tlgen_runtime::crypto::Direction;
use tlgen_runtime::mtproto::envelope::{self, MessageKey};
use tlgen_runtime::mtproto::handshake::{AuthKey, ClientForm};
use tlgen_runtime::mtproto::schema::{functions, types};
use tlgen_runtime::mtproto::session::{Event, MsgState, Session};
use tlgen_runtime::transport::{Frame, Kind, TransportError};
use tlgen_runtime::{Deserializable, Identifiable, Serializable};

const TRANSPORT: Transport = Transport::Plain(Kind::Intermediate);

#[tokio::test]
async fn a_resent_payload_is_answered_from_the_cache_not_run_again() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let msg_id = client.push(&echo(1));
    let packet = client.session.pack(now(), &mut random).unwrap().unwrap();
    client.conn.send(&packet.payload).await;
    assert_eq!(client.result(msg_id).await.unwrap(), echo(1));
    // The very same payload again: the session refuses it as a duplicate, the cache answers.
    client.conn.send(&packet.payload).await;
    assert_eq!(client.result(msg_id).await.unwrap(), echo(1));
    let stats = server.stats();
    assert_eq!(stats.executions(msg_id), 1);
    assert_eq!(stats.answers_replayed, 1);
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_resent_in_a_new_container_after_a_reconnect_runs_once() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(0)).await.unwrap(); // the session exists and the salt is known
    let msg_id = client_msg_id(100);
    let request = echo(2);
    client.conn.send(&client.seal(msg_id, 101, &request)).await;
    // The answer is lost with the connection: read nothing, reconnect.
    tokio::time::sleep(Duration::from_millis(100)).await;
    client
        .reconnect(server.addr(1), Transport::Plain(Kind::Abridged))
        .await;
    let ping = functions::Ping { ping_id: 5 }.to_bytes();
    let body = container(&[(msg_id, 101, request.clone()), (msg_id + 4, 103, ping)]);
    client.conn.send(&client.seal(msg_id + 8, 104, &body)).await;
    assert_eq!(client.result(msg_id).await.unwrap(), request);
    client
        .wait_for(|e| matches!(e, Event::Pong { ping_id: 5, .. }))
        .await;
    assert_eq!(server.stats().executions(msg_id), 1);
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn reconnecting_keeps_the_key_and_the_session() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(1)).await.unwrap();
    client
        .wait_for(|e| matches!(e, Event::NewSession { .. }))
        .await;
    for transport in ALL_TRANSPORTS {
        client.reconnect(server.addr(1), transport).await;
        assert_eq!(client.call(&echo(2)).await.unwrap(), echo(2));
    }
    assert!(!client
        .events
        .iter()
        .any(|e| matches!(e, Event::NewSession { .. })));
    assert_eq!(server.stats().sessions, 1);
    assert_eq!(server.stats().handshakes, 1);
    // The earlier connections were dropped by the client: the server closed them too.
    let mut open = 0;
    for _ in 0..100 {
        open = server.stats().connections_open;
        if open == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(open, 1);
    assert_eq!(
        server.stats().connections_total,
        ALL_TRANSPORTS.len() as u64 + 1
    );
    server.shutdown().await;
}

#[tokio::test]
async fn msgs_state_req_is_answered_with_msgs_state_info() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let answered = client.push(&echo(1));
    client.result(answered).await.unwrap();
    // 1 s ahead, never sent.
    let unknown = client_msg_id(0) + (1 << 32);
    // 10 s ago: before the session's first message, so from a session the server does not have.
    let before = client_msg_id(0) - (10 << 32);
    let req = types::MsgsStateReq {
        msg_ids: vec![answered, unknown, before],
    };
    let req_id = client.push(&req.to_bytes());
    client.flush().await;
    let info = state_info(&mut client).await;
    assert_eq!(info.req_msg_id, req_id);
    assert_eq!(info.info, vec![4 | 32 | 64, 2, 1]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_session_made_anew_knows_nothing_of_the_messages_sent_before_it() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let ran = client.push(&echo(1));
    assert_eq!(client.result(ran).await.unwrap(), echo(1));
    let first = client
        .wait_for(|e| matches!(e, Event::NewSession { .. }))
        .await;
    // Another session of the key destroys this one: the server forgets it, answers included.
    let mut other = Client::with_key(
        Conn::connect(server.addr(1), TRANSPORT).await,
        client.key.clone(),
    );
    other.call(&echo(2)).await.unwrap();
    destroy_session(&mut other, client.session_id).await;
    // The same session id again: the server makes a new session, which cannot tell whether
    // the request sent before its first message ran (1, nothing known; sent again under its
    // msg_id it would run again), and did not get one sent after it (2).
    let unknown = client_msg_id(0) + (1 << 32);
    let req = types::MsgsStateReq {
        msg_ids: vec![ran, unknown],
    };
    let req_id = client.push(&req.to_bytes());
    client.flush().await;
    let second = client
        .wait_for(|e| matches!(e, Event::NewSession { .. }))
        .await;
    assert_ne!(first, second);
    let info = state_info(&mut client).await;
    assert_eq!(info.req_msg_id, req_id);
    assert_eq!(
        info.info,
        vec![MsgState::NOTHING_KNOWN, MsgState::NOT_RECEIVED]
    );
    assert_eq!(server.stats().executions(ran), 1);
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    server.shutdown().await;
}

#[tokio::test]
async fn msg_resend_ans_req_sends_the_answers_again_without_running_them() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let answered = client.push(&echo(1));
    assert_eq!(client.result(answered).await.unwrap(), echo(1));
    let unknown = client_msg_id(0) + (1 << 32); // 1 s ahead, never sent
    let ask = client
        .session
        .push_answer_request(now(), vec![answered, unknown]);
    client.flush().await;
    let states = client
        .wait_for(|e| matches!(e, Event::MsgsState { req_msg_id, .. } if *req_msg_id == ask))
        .await;
    // The states come as for msgs_state_req, and the answer came again before them.
    assert_eq!(
        states,
        Event::MsgsState {
            req_msg_id: ask,
            states: vec![
                (answered, MsgState(4 | 32 | 64)),
                (unknown, MsgState(MsgState::NOT_RECEIVED)),
            ],
        }
    );
    assert!(client.events.iter().any(|e| matches!(
        e,
        Event::Result { req_msg_id, result: Ok(r) } if *req_msg_id == answered && *r == echo(1)
    )));
    let stats = server.stats();
    assert_eq!(stats.executions(answered), 1);
    assert_eq!(stats.answers_replayed, 1);
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn an_answer_listed_many_times_in_one_payload_is_sent_again_once() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let answered = client.push(&echo(1));
    assert_eq!(client.result(answered).await.unwrap(), echo(1));
    // Two requests in one container, each listing the answered call 1,000 times: replaying
    // per listing would multiply the cached answer by the ids a client repeats.
    let first = client
        .session
        .push_answer_request(now(), vec![answered; 1000]);
    let second = client
        .session
        .push_answer_request(now(), vec![answered; 1000]);
    client.flush().await;
    for ask in [first, second] {
        client
            .wait_for(|e| matches!(e, Event::MsgsState { req_msg_id, .. } if *req_msg_id == ask))
            .await;
    }
    assert_eq!(server.stats().answers_replayed, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn msg_resend_req_sends_the_servers_own_message_again_under_its_id() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let mut notify = NOTIFY.to_le_bytes().to_vec();
    notify.extend_from_slice(&78u32.to_le_bytes());
    assert_eq!(client.call(&notify).await.unwrap(), BOOL_TRUE);
    let mut update = UPDATE.to_le_bytes().to_vec();
    update.extend_from_slice(&78u32.to_le_bytes());
    let wanted = update.clone();
    let Event::Message {
        msg_id: update_id, ..
    } = client
        .wait_for(|e| matches!(e, Event::Message { body, .. } if *body == wanted))
        .await
    else {
        unreachable!()
    };
    // Not acknowledged yet, so the server keeps it. Asked for it in a hand-made payload (one
    // that carries no ack), it sends it again under the same msg_id.
    let ask = types::MsgResendReq {
        msg_ids: vec![update_id],
    }
    .to_bytes();
    client
        .conn
        .send(&client.seal(client_msg_id(0), 0, &ask))
        .await;
    let key = MessageKey::from(&client.key);
    let contains = |body: &[u8], part: &[u8]| body.windows(part.len()).any(|w| w == part);
    within("the update sent again", async {
        loop {
            if let Frame::Payload { data, .. } = client.conn.recv().await.unwrap() {
                let opened = envelope::decrypt(&key, Direction::ServerToClient, &data).unwrap();
                if contains(&opened.body, &update_id.to_le_bytes())
                    && contains(&opened.body, &update)
                {
                    break;
                }
            }
        }
    })
    .await;

    // A message the server does not keep (never sent): msgs_state_info instead.
    // 1 s ahead (an id from before the session's first message would be "nothing known").
    let never = ((now().as_secs() as i64 + 1) << 32) | 3;
    let req = client.push(
        &types::MsgResendReq {
            msg_ids: vec![never],
        }
        .to_bytes(),
    );
    client.flush().await;
    let info = state_info(&mut client).await;
    assert_eq!(info.req_msg_id, req);
    assert_eq!(info.info, [MsgState::NOT_RECEIVED]);
    server.shutdown().await;
}

#[tokio::test]
async fn future_salts_are_listed_and_accepted() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(1)).await.unwrap();
    let req = client.push(&functions::GetFutureSalts { num: 3 }.to_bytes());
    client.flush().await;
    let event = client
        .wait_for(|e| matches!(e, Event::FutureSalts { .. }))
        .await;
    assert_eq!(
        event,
        Event::FutureSalts {
            req_msg_id: req,
            count: 3
        }
    );
    // The client now sends with the salt valid now; the server takes it.
    assert_eq!(client.call(&echo(2)).await.unwrap(), echo(2));
    assert!(client.resent.is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn ping_delay_disconnect_closes_an_idle_connection() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    // Pings every 300 ms with a 1 s delay keep the connection.
    let mut last_pong = std::time::Instant::now();
    for ping_id in 0..5 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        client.push(
            &functions::PingDelayDisconnect {
                ping_id,
                disconnect_delay: 1,
            }
            .to_bytes(),
        );
        client.flush().await;
        client
            .wait_for(|e| matches!(e, Event::Pong { ping_id: p, .. } if *p == ping_id))
            .await;
        last_pong = std::time::Instant::now();
    }
    // Then silence: closed about a second after the last ping arrived.
    assert!(client.conn.recv().await.is_err());
    let waited = last_pong.elapsed();
    assert!(
        waited > Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn updates_reach_every_live_session_of_the_key() {
    let (server, _) = start(1).await;
    let mut a = Client::connect(&server, 1, TRANSPORT).await;
    a.call(&echo(1)).await.unwrap();
    let conn = Conn::connect(server.addr(1), TRANSPORT).await;
    let mut b = Client::with_key(conn, a.key.clone());
    b.call(&echo(2)).await.unwrap();
    let mut notify = NOTIFY.to_le_bytes().to_vec();
    notify.extend_from_slice(&77u32.to_le_bytes());
    assert_eq!(a.call(&notify).await.unwrap(), BOOL_TRUE);
    let mut update = UPDATE.to_le_bytes().to_vec();
    update.extend_from_slice(&77u32.to_le_bytes());
    for client in [&mut a, &mut b] {
        let wanted = update.clone();
        client
            .wait_for(|e| matches!(e, Event::Message { body, .. } if *body == wanted))
            .await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn several_dcs_share_the_keys_and_tell_the_service_which_dc() {
    let (server, _) = start(3).await;
    let dcs = server.dcs();
    assert_eq!(dcs.iter().map(|d| d.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(dcs.iter().all(|d| d.addr.ip().is_loopback()));
    let mut client = Client::connect(&server, 2, TRANSPORT).await;
    let whoami = client.call(&WHOAMI.to_le_bytes()).await.unwrap();
    assert_eq!(whoami, [2, 0, 0, 0, 3, 0, 0, 0]);
    client.reconnect(server.addr(3), TRANSPORT).await;
    let whoami = client.call(&WHOAMI.to_le_bytes()).await.unwrap();
    assert_eq!(whoami[..4], [3, 0, 0, 0]);
    server.shutdown().await;
}

#[tokio::test]
async fn an_unknown_auth_key_gets_transport_error_404() {
    let (server, _) = start(1).await;
    let conn = Conn::connect(server.addr(1), TRANSPORT).await;
    let key = AuthKey {
        key: [7; 256],
        id: MessageKey::new([7; 256]).id(),
        server_salt: 0,
        server_time_offset: 0,
    };
    let mut client = Client::with_key(conn, key);
    client.push(&echo(1));
    client.flush().await;
    assert_eq!(
        client.recv().await.unwrap_err(),
        Closed::Transport(TransportError::Server { code: 404 })
    );
    server.shutdown().await;
}

#[tokio::test]
async fn temporary_keys_work_until_they_expire() {
    let (server, _) = start(1).await;
    let mut conn = Conn::connect(server.addr(1), TRANSPORT).await;
    let key = handshake(
        &mut conn,
        server.rsa_public_key(),
        1,
        ClientForm::CURRENT,
        Some(1),
    )
    .await;
    let mut client = Client::with_key(conn, key);
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    client.push(&echo(2));
    client.flush().await;
    assert_eq!(
        client.recv().await.unwrap_err(),
        Closed::Transport(TransportError::Server { code: 404 })
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_legacy_handshake_works_over_the_network() {
    let (server, _) = start(1).await;
    let mut conn = Conn::connect(server.addr(1), Transport::Obfuscated(Kind::Abridged)).await;
    let key = handshake(
        &mut conn,
        server.rsa_public_key(),
        1,
        ClientForm::LEGACY,
        None,
    )
    .await;
    let mut client = Client::with_key(conn, key);
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    // A temporary key on the same connection, legacy form too.
    let key = handshake(
        &mut client.conn,
        server.rsa_public_key(),
        1,
        ClientForm::LEGACY,
        Some(60),
    )
    .await;
    let mut temp = Client::with_key(Conn::connect(server.addr(1), TRANSPORT).await, key);
    assert_eq!(temp.call(&echo(2)).await.unwrap(), echo(2));
    assert_eq!(server.stats().handshakes, 2);
    server.shutdown().await;
}

#[tokio::test]
async fn a_wrong_salt_and_a_wrong_clock_are_corrected_by_the_session() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    // A salt the server never gave, and a clock 1000 s behind.
    client.session = Session::client(
        MessageKey::from(&client.key),
        client.session_id,
        12345,
        -1000,
    );
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    // msg_id too low (16), then, with the clock fixed, the salt (48).
    assert_eq!(client.resent, [16, 48]);
    server.shutdown().await;
}

#[tokio::test]
async fn errors_panics_and_service_messages() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let error = client.call(&PANIC.to_le_bytes()).await.unwrap_err();
    assert_eq!(
        (error.error_code, error.error_message.as_str()),
        (500, "INTERNAL_SERVER_ERROR")
    );
    let error = client.call(&[9, 9, 9, 9]).await.unwrap_err();
    assert_eq!(error.error_message, "METHOD_NOT_IMPLEMENTED");
    // rpc_drop_answer of an answered request: rpc_answer_unknown.
    let answered = client.push(&echo(1));
    client.result(answered).await.unwrap();
    let drop = client
        .call(
            &functions::RpcDropAnswer {
                req_msg_id: answered,
            }
            .to_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(drop, types::RpcAnswerUnknown.to_bytes());
    // destroy_session of another session of the key.
    let mut other = Client::with_key(
        Conn::connect(server.addr(1), TRANSPORT).await,
        client.key.clone(),
    );
    other.call(&echo(2)).await.unwrap();
    assert_eq!(server.stats().sessions, 2);
    destroy_session(&mut client, other.session_id).await;
    assert_eq!(server.stats().sessions, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_close_connections_and_listeners() {
    let (server, _) = start(2).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(1)).await.unwrap();
    let addrs = [server.addr(1), server.addr(2)];
    server.shutdown().await;
    assert_eq!(client.conn.recv().await, Err(Closed::Eof));
    for addr in addrs {
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let addr = server.addr(1);
    drop(server);
    assert_eq!(client.conn.recv().await, Err(Closed::Eof));
    // The listener closes soon after the handle is gone.
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused);
}

/// `destroy_session` of `session_id` sent by `by` (another session of the same key), and its
/// `destroy_session_ok` awaited.
/// The next `msgs_state_info` the client receives.
async fn state_info(client: &mut Client) -> types::MsgsStateInfo {
    let event = client
        .wait_for(|e| matches!(e, Event::Message { body, .. } if body[..4] == types::MsgsStateInfo::CONSTRUCTOR_ID.to_le_bytes()))
        .await;
    let Event::Message { body, .. } = event else {
        unreachable!()
    };
    types::MsgsStateInfo::from_bytes(&body).unwrap()
}

async fn destroy_session(by: &mut Client, session_id: i64) {
    by.push(&functions::DestroySession { session_id }.to_bytes());
    by.flush().await;
    let ok = types::DestroySessionOk { session_id }.to_bytes();
    by.wait_for(|e| matches!(e, Event::Message { body, .. } if *body == ok))
        .await;
}
