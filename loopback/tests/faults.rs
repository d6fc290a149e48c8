//! Each injected fault, seen from a minimal client.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tlgen_loopback::{Faults, FloodWait};
use tlgen_runtime::mtproto::envelope::{EnvelopeError, MessageKey};
use tlgen_runtime::mtproto::session::{Session, SessionError};
use tlgen_runtime::transport::{Frame, Kind};
use tlgen_world::Reply;
use tokio::io::AsyncReadExt;

const TRANSPORT: Transport = Transport::Plain(Kind::Intermediate);

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut faults = Faults::default();
    f(&mut faults);
    faults
}

/// Sends one request as a saved payload (to send the same bytes again later).
async fn send_saved(client: &mut Client, body: &[u8]) -> (i64, Vec<u8>) {
    let msg_id = client.push(body);
    let packet = client.session.pack(now(), &mut random).unwrap().unwrap();
    client.conn.send(&packet.payload).await;
    (msg_id, packet.payload)
}

#[tokio::test]
async fn drop_after_closes_before_the_answer_and_the_retry_is_answered_from_the_cache() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| f.drop_after = Some(1)));
    let (msg_id, payload) = send_saved(&mut client, &echo(1)).await;
    assert_eq!(client.conn.recv().await, Err(Closed::Eof));
    assert_eq!(server.stats().executions(msg_id), 1);
    server.set_faults(Faults::default());
    client.reconnect(server.addr(1), TRANSPORT).await;
    client.conn.send(&payload).await;
    assert_eq!(client.result(msg_id).await.unwrap(), echo(1));
    assert_eq!(server.stats().executions(msg_id), 1);
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn drop_mid_frame_cuts_the_answer_in_half() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| f.drop_mid_frame = Some(1)));
    let (msg_id, payload) = send_saved(&mut client, &echo(1)).await;
    assert_eq!(client.conn.recv().await, Err(Closed::Eof));
    assert!(client.conn.codec.buffered() > 0, "half a frame arrived");
    server.set_faults(Faults::default());
    client.reconnect(server.addr(1), TRANSPORT).await;
    client.conn.send(&payload).await;
    assert_eq!(client.result(msg_id).await.unwrap(), echo(1));
    assert_eq!(server.stats().executions(msg_id), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn delay_holds_answers_back() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(0)).await.unwrap();
    server.set_faults(faults(|f| f.delay = Some(Duration::from_millis(400))));
    let started = Instant::now();
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    assert!(started.elapsed() >= Duration::from_millis(400));
    server.shutdown().await;
}

#[tokio::test]
async fn flood_wait_by_method_inside_wrappers() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| {
        f.flood_wait = vec![FloodWait {
            constructor_id: ECHO,
            seconds: 31,
        }]
    }));
    // invokeWithLayer#da9b0d0d layer:int query:!X
    let mut wrapped = 0xda9b_0d0du32.to_le_bytes().to_vec();
    wrapped.extend_from_slice(&200u32.to_le_bytes());
    wrapped.extend_from_slice(&echo(1));
    assert_eq!(tlgen_loopback::method_of(&wrapped), ECHO);
    let error = client.call(&wrapped).await.unwrap_err();
    assert_eq!(
        (error.error_code, error.error_message.as_str()),
        (420, "FLOOD_WAIT_31")
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 0);
    assert!(client.call(&WHOAMI.to_le_bytes()).await.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn bad_server_salt_makes_the_client_resend() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    client.call(&echo(0)).await.unwrap();
    server.set_faults(faults(|f| f.bad_server_salt = 1));
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    assert_eq!(client.resent, [48]);
    assert_eq!(server.faults().bad_server_salt, 0, "one-shot");
    server.shutdown().await;
}

#[tokio::test]
async fn clock_skew_moves_the_server_time() {
    let (server, _) = start(1).await;
    server.set_faults(faults(|f| f.clock_skew = 1000));
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    let offset = client.key.server_time_offset;
    assert!((998..=1002).contains(&offset), "{offset}");
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    assert!(client.resent.is_empty());
    // A session that ignores the offset is told its msg_ids are too low, and corrects itself.
    client.session = Session::client(MessageKey::from(&client.key), client.session_id, 0, 0);
    assert_eq!(client.call(&echo(2)).await.unwrap(), echo(2));
    assert_eq!(client.resent.first(), Some(&16));
    server.shutdown().await;
}

#[tokio::test]
async fn garbage_replaces_an_answer() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| f.garbage = 1));
    client.push(&echo(1));
    client.flush().await;
    // Exactly 64 bytes arrive where the answer frame should be, and they are not it (an
    // intermediate frame carries the auth key id at 4..12).
    let mut raw = Vec::new();
    while raw.len() < 64 {
        let mut buf = [0u8; 256];
        let n = within("garbage", client.conn.stream.read(&mut buf))
            .await
            .unwrap();
        assert!(n > 0, "closed after {} bytes", raw.len());
        raw.extend_from_slice(&buf[..n]);
    }
    let mut more = [0u8; 16];
    let extra = tokio::time::timeout(
        Duration::from_millis(300),
        client.conn.stream.read(&mut more),
    )
    .await;
    assert!(extra.is_err(), "more bytes followed the garbage");
    assert_eq!(raw.len(), 64);
    assert_ne!(raw[4..12], client.key.id.to_le_bytes());
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_msg_key_is_refused_by_the_client_then_the_retry_works() {
    let (server, _) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| f.wrong_msg_key = 1));
    let (msg_id, payload) = send_saved(&mut client, &echo(1)).await;
    let data = client.conn.recv_payload().await;
    assert_eq!(
        client.session.unpack(now(), &data),
        Err(SessionError::Envelope(EnvelopeError::MsgKeyMismatch))
    );
    client.conn.send(&payload).await;
    assert_eq!(client.result(msg_id).await.unwrap(), echo(1));
    assert_eq!(server.stats().executions(msg_id), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn transport_errors_404_and_429() {
    let (server, _) = start(1).await;
    for code in [404, 429] {
        let mut client = Client::connect(&server, 1, TRANSPORT).await;
        server.set_faults(faults(|f| f.transport_error = Some(code)));
        client.push(&echo(1));
        client.flush().await;
        assert_eq!(client.conn.recv().await, Ok(Frame::ServerError { code }));
        assert_eq!(client.conn.recv().await, Err(Closed::Eof));
        assert_eq!(server.faults().transport_error, None, "one-shot");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn silent_keeps_the_socket_open_and_answers_nothing() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| f.silent = true));
    client.push(&echo(1));
    client.flush().await;
    assert!(client
        .conn
        .recv_for(Duration::from_millis(500))
        .await
        .is_none());
    assert_eq!(service.calls.load(Ordering::SeqCst), 0);
    server.set_faults(Faults::default());
    assert_eq!(client.call(&echo(2)).await.unwrap(), echo(2));
    server.shutdown().await;
}

#[tokio::test]
async fn intercept_answers_instead_of_the_service() {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, TRANSPORT).await;
    server.set_faults(faults(|f| {
        f.intercept = Some(Arc::new(|method, _query: &[u8]| {
            (method == ECHO).then(|| Reply::error(303, "USER_MIGRATE_2"))
        }))
    }));
    let error = client.call(&echo(1)).await.unwrap_err();
    assert_eq!(
        (error.error_code, error.error_message.as_str()),
        (303, "USER_MIGRATE_2")
    );
    assert!(client.call(&WHOAMI.to_le_bytes()).await.is_ok());
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn faults_for_one_connection_leave_the_others_alone() {
    let (server, _) = start(1).await;
    let mut a = Client::connect(&server, 1, TRANSPORT).await;
    let mut b = Client::connect(&server, 1, TRANSPORT).await;
    let a_addr = a.conn.stream.local_addr().unwrap();
    let a_id = server
        .connections()
        .into_iter()
        .find(|c| c.peer == a_addr)
        .unwrap()
        .id;
    assert!(server.set_connection_faults(a_id, Some(faults(|f| f.silent = true))));
    assert_eq!(b.call(&echo(1)).await.unwrap(), echo(1));
    a.push(&echo(2));
    a.flush().await;
    assert!(a.conn.recv_for(Duration::from_millis(300)).await.is_none());
    assert!(server.set_connection_faults(a_id, None));
    assert_eq!(a.call(&echo(3)).await.unwrap(), echo(3));
    server.shutdown().await;
}
