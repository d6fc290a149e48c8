//! Each transport, plain and obfuscated: a handshake, then requests in a session.

mod common;

use common::*;
use tlgen_runtime::mtproto::session::Event;
use tlgen_runtime::transport::{Frame, Kind};

async fn exchange_over(transport: Transport) {
    let (server, service) = start(1).await;
    let mut client = Client::connect(&server, 1, transport).await;
    assert_eq!(client.call(&echo(7)).await.unwrap(), echo(7));
    client
        .wait_for(|e| matches!(e, Event::NewSession { .. }))
        .await;
    let error = client.call(&FAIL.to_le_bytes()).await.unwrap_err();
    assert_eq!(
        (error.error_code, error.error_message.as_str()),
        (400, "TEST_ERROR")
    );
    // A large body goes out gzip-packed (the session packs bodies of 512 bytes and more).
    let mut big = echo(8);
    big.extend_from_slice(&[0u8; 4000]);
    assert_eq!(client.call(&big).await.unwrap(), big);
    assert_eq!(service.calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    // A quick ack is sent when asked for (the full transport has none).
    if transport != Transport::Plain(Kind::Full) {
        client.push(&echo(9));
        let packet = client.session.pack(now(), &mut random).unwrap().unwrap();
        client.conn.send_with(&packet.payload, true).await;
        let first = client.conn.recv().await.unwrap();
        assert_eq!(first, Frame::QuickAck(packet.quick_ack | 0x8000_0000));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn abridged() {
    exchange_over(Transport::Plain(Kind::Abridged)).await;
}

#[tokio::test]
async fn intermediate() {
    exchange_over(Transport::Plain(Kind::Intermediate)).await;
}

#[tokio::test]
async fn padded_intermediate() {
    exchange_over(Transport::Plain(Kind::PaddedIntermediate)).await;
}

#[tokio::test]
async fn full() {
    exchange_over(Transport::Plain(Kind::Full)).await;
}

#[tokio::test]
async fn obfuscated_abridged() {
    exchange_over(Transport::Obfuscated(Kind::Abridged)).await;
}

#[tokio::test]
async fn obfuscated_intermediate() {
    exchange_over(Transport::Obfuscated(Kind::Intermediate)).await;
}

#[tokio::test]
async fn obfuscated_padded_intermediate() {
    exchange_over(Transport::Obfuscated(Kind::PaddedIntermediate)).await;
}

/// Bytes that open no transport close the connection; the server keeps serving others.
#[tokio::test]
async fn garbage_openings_close_the_connection() {
    let (server, _) = start(1).await;
    let mut conn = Conn::connect(server.addr(1), Transport::Plain(Kind::Intermediate)).await;
    // 0xee marker, then a length that is not a multiple of 4.
    conn.send_raw(&[3, 0, 0, 0, 1, 2, 3]).await;
    assert!(conn.recv().await.is_err());
    let mut client = Client::connect(&server, 1, ALL_TRANSPORTS[0]).await;
    assert_eq!(client.call(&echo(1)).await.unwrap(), echo(1));
    server.shutdown().await;
}
