//! The client against the real loopback server (tlgen-loopback) with an echo service:
//! concurrency, a dropped connection, an answer held back after its ack, flood waits, salts, clocks,
//! garbage, a wrong msg_key, silence, a lost auth key, a stored key, and a second DC.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{bounded, public_key, MemoryStore};
use tlgen_client::{CallOptions, Client, Config, InvocationError};
use tlgen_loopback::{Faults, FloodWait, Server, ServerHandle};
use tlgen_world::{CallContext, Reply, Service};

/// Answers every request with its own body.
struct Echo;

impl Service for Echo {
    fn call(&self, _: &CallContext<'_>, body: &[u8]) -> Reply {
        Reply::Result(body.to_vec())
    }
}

/// A request of the made-up method `0x0ec0_0001` carrying `n`.
fn body(n: u64) -> Vec<u8> {
    let mut b = 0x0ec0_0001u32.to_le_bytes().to_vec();
    b.extend_from_slice(&n.to_le_bytes());
    b
}

const FLOODED: u32 = 0x0ec0_0002;

async fn server(dcs: usize, faults: Faults) -> ServerHandle {
    Server::builder()
        .service(Arc::new(Echo))
        .dcs(dcs)
        .key(common::private_key().clone())
        .faults(faults)
        .start()
        .await
        .unwrap()
}

fn config(server: &ServerHandle, store: Arc<MemoryStore>) -> Config {
    let mut config = Config::new(1, server.addr(1).to_string(), vec![public_key()], store);
    config.request_timeout = Duration::from_secs(20);
    config.reconnect.initial = Duration::from_millis(20);
    config.reconnect.max = Duration::from_millis(500);
    config.dcs = server
        .dcs()
        .into_iter()
        .map(|d| (d.id, d.addr.to_string()))
        .collect();
    config
}

/// `n` concurrent calls, each checked against its own body.
async fn many(client: &Client, from: u64, n: u64) {
    let mut calls = tokio::task::JoinSet::new();
    for i in from..from + n {
        let client = client.clone();
        calls.spawn(async move { (client.send_raw(body(i)).await, body(i)) });
    }
    while let Some(r) = calls.join_next().await {
        let (answer, sent) = r.unwrap();
        assert_eq!(answer.unwrap(), sent);
    }
}

fn assert_each_ran_once(server: &ServerHandle, expected: usize) {
    let executed = server.stats().executed;
    assert_eq!(executed.len(), expected, "requests the server ran");
    assert!(executed.values().all(|&n| n == 1), "{executed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_over_one_connection() {
    bounded(async {
        let server = server(1, Faults::default()).await;
        let client = Client::connect(config(&server, MemoryStore::new()))
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..50 {
            let client = client.clone();
            tasks.spawn(async move { many(&client, t * 20, 20).await });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        assert_each_ran_once(&server, 1000);
        assert_eq!(server.stats().connections_total, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_with_100_calls_in_flight() {
    bounded(async {
        // The first connection closes after its second encrypted payload: the requests in it
        // ran, their answers (and acks) were never written. The calls are asked about on the
        // next connection; the answers come in reply to its second payload.
        let server = server(1, Faults::default()).await;
        let client = Client::connect(config(&server, MemoryStore::new()))
            .await
            .unwrap();
        let conns = server.connections();
        let [conn] = &conns[..] else {
            panic!("one connection: {conns:?}");
        };
        let drop = Faults {
            drop_after: Some(2),
            ..Faults::default()
        };
        assert!(server.set_connection_faults(conn.id, Some(drop)));
        many(&client, 0, 100).await;
        assert_each_ran_once(&server, 100);
        assert!(server.stats().answers_replayed > 0, "{:?}", server.stats());
        assert!(client.stats().connections >= 2, "{:?}", client.stats());
        assert_eq!(client.stats().may_have_run, 0);
    })
    .await;
}

#[tokio::test]
async fn an_acknowledged_call_whose_answer_was_held_back_is_asked_about() {
    bounded(async {
        let server = server(1, Faults::default()).await;
        let mut config = config(&server, MemoryStore::new());
        config.ping_interval = Duration::from_millis(100);
        let client = Client::connect(config).await.unwrap();
        // On this connection every answer is held for 2 s while the acks go at once.
        let conns = server.connections();
        let [conn] = &conns[..] else {
            panic!("one connection: {conns:?}");
        };
        let held = Faults {
            delay: Some(Duration::from_secs(2)),
            ..Faults::default()
        };
        assert!(server.set_connection_faults(conn.id, Some(held.clone())));
        let start = Instant::now();
        let c = client.clone();
        let call = tokio::spawn(async move { c.send_raw(body(1)).await });
        // The call runs and is acknowledged (the ack goes at once; the client gets it well
        // within the pause below); then the connection ends (transport error 429 to the
        // client's next payload, a ping or acks) before the answer goes out.
        while server.stats().requests_executed == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(server.set_connection_faults(
            conn.id,
            Some(Faults {
                transport_error: Some(429),
                ..held
            })
        ));
        assert_eq!(call.await.unwrap().unwrap(), body(1));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "not the held answer"
        );
        let mine = client.stats();
        assert_eq!(mine.connections, 2, "{mine:?}");
        assert_eq!(mine.asked, 1, "asked about, not sent again: {mine:?}");
        assert_eq!(mine.resent, 0, "{mine:?}");
        assert_eq!(mine.may_have_run, 0, "{mine:?}");
        assert_each_ran_once(&server, 1);
        // The answer came from the cache, asked for with msg_resend_ans_req.
        assert_eq!(server.stats().answers_replayed, 1, "{:?}", server.stats());
    })
    .await;
}

#[tokio::test]
async fn a_call_run_by_a_server_that_then_lost_the_session_may_have_run_and_ran_once() {
    bounded(async {
        let server = server(1, Faults::default()).await;
        let client = Client::connect(config(&server, MemoryStore::new()))
            .await
            .unwrap();
        assert_eq!(client.send_raw(body(0)).await.unwrap(), body(0));
        // The next payload that runs a request is handled and nothing of its answer (the ack
        // included) is written; the connection closes and the server forgets the session.
        let conns = server.connections();
        let [conn] = &conns[..] else {
            panic!("one connection: {conns:?}");
        };
        let lose = Faults {
            lose_session: true,
            ..Faults::default()
        };
        assert!(server.set_connection_faults(conn.id, Some(lose)));
        // Not acknowledged, so asked about on the next connection; the session the server
        // makes anew for the same id knows nothing of it (1), and sent again it would run
        // again.
        match client.send_raw(body(1)).await {
            Err(InvocationError::MayHaveRun { reason }) => {
                assert!(reason.contains("no longer knows"), "{reason}");
            }
            other => panic!("expected MayHaveRun, got {other:?}"),
        }
        assert_each_ran_once(&server, 2);
        let mine = client.stats();
        assert_eq!(
            (mine.asked, mine.resent, mine.may_have_run, mine.connections),
            (1, 0, 1, 2),
            "{mine:?}"
        );
        // The new session works.
        assert_eq!(client.send_raw(body(2)).await.unwrap(), body(2));
        assert_each_ran_once(&server, 3);
        assert_eq!(server.stats().answers_replayed, 0, "{:?}", server.stats());
    })
    .await;
}

#[tokio::test]
async fn flood_waits_above_the_threshold_are_returned_with_the_seconds() {
    bounded(async {
        let faults = Faults {
            flood_wait: vec![FloodWait {
                constructor_id: FLOODED,
                seconds: 120,
            }],
            ..Faults::default()
        };
        let server = server(1, faults).await;
        let client = Client::connect(config(&server, MemoryStore::new()))
            .await
            .unwrap();
        let mut flooded = FLOODED.to_le_bytes().to_vec();
        flooded.extend_from_slice(&[0; 4]);
        let start = Instant::now();
        match client.send_raw(flooded).await {
            Err(InvocationError::Rpc(e)) => {
                assert_eq!((e.name.as_str(), e.value), ("FLOOD_WAIT", Some(120)));
            }
            other => panic!("{other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(client.send_raw(body(1)).await.unwrap(), body(1));
    })
    .await;
}

#[tokio::test]
async fn bad_server_salts_and_a_skewed_clock_are_corrected() {
    bounded(async {
        for skew in [3600, -3600] {
            // The server's clock is off from the start (a clock that jumps during a session
            // moves the server's own msg_ids out of step, which no client can follow).
            let server = server(
                1,
                Faults {
                    clock_skew: skew,
                    ..Faults::default()
                },
            )
            .await;
            let store = MemoryStore::new();
            let client = Client::connect(config(&server, store.clone()))
                .await
                .unwrap();
            assert_eq!(client.send_raw(body(0)).await.unwrap(), body(0));
            server.set_faults(Faults {
                bad_server_salt: 3,
                clock_skew: skew,
                ..Faults::default()
            });
            many(&client, 1, 10).await;
            // A new client with the stored key: no time offset, no salt; the server corrects both.
            let again = Client::connect(config(&server, store)).await.unwrap();
            many(&again, 100, 10).await;
            assert_eq!(server.stats().handshakes, 1);
            assert_each_ran_once(&server, 21);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_a_wrong_msg_key_make_the_client_reconnect() {
    bounded(async {
        for faults in [
            Faults {
                garbage: 1,
                ..Faults::default()
            },
            Faults {
                wrong_msg_key: 1,
                ..Faults::default()
            },
        ] {
            let server = server(1, Faults::default()).await;
            let client = Client::connect(config(&server, MemoryStore::new()))
                .await
                .unwrap();
            assert_eq!(client.send_raw(body(0)).await.unwrap(), body(0));
            server.set_faults(faults);
            many(&client, 1, 20).await;
            assert!(client.stats().connections >= 2, "{:?}", client.stats());
            assert_each_ran_once(&server, 21);
        }
    })
    .await;
}

#[tokio::test]
async fn a_silent_server_times_calls_out() {
    bounded(async {
        let server = server(1, Faults::default()).await;
        let mut config = config(&server, MemoryStore::new());
        config.ping_interval = Duration::from_millis(100);
        config.ping_timeout = Duration::from_millis(300);
        let client = Client::connect(config).await.unwrap();
        assert_eq!(client.send_raw(body(0)).await.unwrap(), body(0));
        server.set_faults(Faults {
            silent: true,
            ..Faults::default()
        });
        let short = CallOptions {
            timeout: Some(Duration::from_millis(400)),
        };
        let result = client.send_raw_with(body(1), short).await;
        assert!(
            matches!(result, Err(InvocationError::Timeout)),
            "{result:?}"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(client.stats().connections >= 2, "{:?}", client.stats());
        server.set_faults(Faults::default());
        assert_eq!(client.send_raw(body(2)).await.unwrap(), body(2));
    })
    .await;
}

#[tokio::test]
async fn a_stored_key_is_reused_and_a_forgotten_one_replaced() {
    bounded(async {
        let server = server(1, Faults::default()).await;
        let store = MemoryStore::new();
        let first = Client::connect(config(&server, store.clone()))
            .await
            .unwrap();
        assert_eq!(first.send_raw(body(0)).await.unwrap(), body(0));
        drop(first);
        let second = Client::connect(config(&server, store.clone()))
            .await
            .unwrap();
        assert_eq!(second.send_raw(body(1)).await.unwrap(), body(1));
        assert_eq!(second.stats().key_exchanges, 0);
        assert_eq!(server.stats().handshakes, 1);

        // The server answers the next payload with -404 (auth key unknown): a new key.
        server.set_faults(Faults {
            transport_error: Some(404),
            ..Faults::default()
        });
        let result = second.send_raw(body(2)).await;
        assert!(
            matches!(
                result,
                Ok(_) | Err(InvocationError::Transport(_) | InvocationError::MayHaveRun { .. })
            ),
            "{result:?}"
        );
        assert_eq!(second.send_raw(body(3)).await.unwrap(), body(3));
        assert_eq!(second.stats().key_exchanges, 1);
        assert_eq!(server.stats().handshakes, 2);
    })
    .await;
}

#[tokio::test]
async fn a_second_dc_gets_its_own_connection_and_key() {
    bounded(async {
        let server = server(2, Faults::default()).await;
        let store = MemoryStore::new();
        let client = Client::connect(config(&server, store.clone()))
            .await
            .unwrap();
        let dc2 = client.dc(2).await.unwrap();
        assert_eq!(dc2.send_raw(body(1)).await.unwrap(), body(1));
        assert_eq!(client.send_raw(body(2)).await.unwrap(), body(2));
        assert_eq!(server.stats().handshakes, 2);
        use tlgen_session::SessionStore;
        assert!(store.dc(2).unwrap().unwrap().auth_key.is_some());
    })
    .await;
}

#[tokio::test]
async fn every_transport_works() {
    use tlgen_client::{Kind, Transport};
    bounded(async {
        let server = server(1, Faults::default()).await;
        let store = MemoryStore::new();
        let mut n = 0;
        for kind in [
            Kind::Abridged,
            Kind::Intermediate,
            Kind::PaddedIntermediate,
            Kind::Full,
        ] {
            for obfuscated in [false, true] {
                if kind == Kind::Full && obfuscated {
                    continue;
                }
                let mut config = config(&server, store.clone());
                config.transport = Transport { kind, obfuscated };
                let client = Client::connect(config).await.unwrap();
                n += 1;
                assert_eq!(
                    client.send_raw(body(n)).await.unwrap(),
                    body(n),
                    "{kind:?}, obfuscated: {obfuscated}"
                );
            }
        }
        // Full cannot be obfuscated: a typed error, not a panic.
        let mut config = config(&server, store);
        config.transport = Transport {
            kind: Kind::Full,
            obfuscated: true,
        };
        assert!(matches!(
            Client::connect(config).await,
            Err(InvocationError::Transport(_))
        ));
    })
    .await;
}
