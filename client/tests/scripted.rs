//! The client against the scripted server of tests/common: concurrency, reconnection without
//! loss or double runs, flood waits, salts, clocks, garbage, silence, stored keys, migration,
//! cancellation, updates and the first-call wrapper.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{
    bounded, echo, plain, Ctx, Faults, Garbage, Handler, MemoryStore, Reply, ScriptServer,
};
use tlgen_client::{CallOptions, Client, InvocationError, Update};
use tlgen_runtime::mtproto::schema::{enums, functions, types};
use tlgen_runtime::mtproto::session::MsgState;
use tlgen_runtime::Serializable;
use tlgen_session::SessionStore;

async fn next(updates: &mut tlgen_client::Updates) -> Update {
    tokio::time::timeout(Duration::from_secs(5), updates.recv())
        .await
        .expect("an update in time")
        .expect("the client is running")
}

/// Echoes, except bodies with a 4-byte tag: `FLD<n>` answers FLOOD_WAIT_n the first time,
/// `FLA<n>` always; `E500` answers 500 INTERNAL twice then succeeds; `RDUP` answers 500
/// RANDOM_ID_DUPLICATE; `MIGR` answers 303 USER_MIGRATE_2; `HOLD` is never answered; `LATE`
/// is answered 800 ms after it arrives; `UPD<n>` sends n updates first.
fn scripted() -> Handler {
    let echo = echo();
    Arc::new(move |ctx: &mut Ctx, msg_id, body: &[u8]| {
        let runs = ctx.runs.get(body).copied().unwrap_or(0);
        let digit = body
            .get(3)
            .map(|d| u32::from(d.wrapping_sub(b'0')))
            .unwrap_or(0);
        match body.get(..3) {
            Some(b"FLD") if runs == 0 => Reply::Error(420, format!("FLOOD_WAIT_{digit}")),
            Some(b"FLA") => Reply::Error(420, format!("FLOOD_WAIT_{digit}")),
            Some(b"SLO") if runs == 0 => Reply::Error(420, format!("SLOW_MODE_WAIT_{digit}")),
            Some(b"DET") => {
                // A service message about an answer, then an update.
                let info = types::MsgNewDetailedInfo {
                    answer_msg_id: 12345,
                    bytes: 16,
                    status: 0,
                };
                ctx.updates.push(info.to_bytes());
                ctx.updates.push(vec![b'U', 9, 0, 0]);
                Reply::Ok(body.to_vec())
            }
            Some(b"UPD") => {
                for i in 0..digit {
                    ctx.updates.push(vec![b'U', i as u8, 0, 0]);
                }
                Reply::Ok(body.to_vec())
            }
            _ => match body.get(..4) {
                Some(b"E500") if runs < 2 => Reply::Error(500, "INTERNAL".into()),
                Some(b"RDUP") => Reply::Error(500, "RANDOM_ID_DUPLICATE".into()),
                Some(b"MIGR") => Reply::Error(303, "USER_MIGRATE_2".into()),
                Some(b"HOLD") => Reply::Nothing,
                Some(b"LATE") => Reply::After(
                    Duration::from_millis(800),
                    Box::new(Reply::Ok(body.to_vec())),
                ),
                _ => echo(ctx, msg_id, body),
            },
        }
    })
}

/// A unique 16-byte body.
fn body(tag: &[u8; 4], n: u64) -> Vec<u8> {
    let mut b = tag.to_vec();
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&n.to_le_bytes());
    b
}

async fn setup(faults: Faults) -> (ScriptServer, Client) {
    let server = ScriptServer::start(scripted(), faults).await;
    let client = Client::connect(server.config(2, MemoryStore::new()))
        .await
        .unwrap();
    (server, client)
}

/// `n` ECHO calls at once, each of which must come back with its own body (`what` says where).
async fn echo_all(client: &Client, n: u64, what: &str) {
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..n {
        let client = client.clone();
        calls.spawn(async move {
            let b = body(b"ECHO", i);
            (client.send_raw(b.clone()).await, b)
        });
    }
    let mut answered = 0;
    while let Some(r) = calls.join_next().await {
        let (answer, sent) = r.unwrap();
        assert_eq!(answer.unwrap(), sent, "{what}");
        answered += 1;
    }
    assert_eq!(answered, n, "{what}");
}

fn assert_each_ran_once(server: &ScriptServer, expected: usize) {
    let executed = server.stats().executed;
    assert_eq!(executed.len(), expected, "requests the server ran");
    let twice: Vec<_> = executed.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "msg_ids run more than once: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_calls_from_fifty_tasks_share_one_connection() {
    bounded(async {
        let (server, client) = setup(Faults::default()).await;
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..50i64 {
            let client = client.clone();
            tasks.spawn(async move {
                let mut calls = tokio::task::JoinSet::new();
                for i in 0..20i64 {
                    let client = client.clone();
                    let ping_id = t * 1000 + i;
                    calls.spawn(async move {
                        let enums::Pong::Pong(pong) =
                            client.send(&functions::Ping { ping_id }).await.unwrap();
                        assert_eq!(pong.ping_id, ping_id);
                    });
                }
                while let Some(r) = calls.join_next().await {
                    r.unwrap();
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
        assert_eq!(client.stats().connections, 1);
        assert_eq!(server.stats().connections, 1);
        assert_each_ran_once(&server, 1000);
        assert_eq!(client.stats().in_flight, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_with_100_calls_in_flight_loses_none_and_runs_none_twice() {
    bounded(async {
        // The server runs 60 of them, answers none, and closes the connection.
        let faults = Faults {
            drop_after: Some(60),
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        echo_all(&client, 100, "each call gets its own answer").await;
        let stats = server.stats();
        assert_each_ran_once(&server, 100);
        // All were asked about: the answers of those the server ran were asked for, those it
        // never ran (2, not received) came again under their ids: none ran twice.
        assert!(
            stats.answered_from_cache + stats.answers_resent >= 60,
            "{stats:?}"
        );
        assert!(stats.connections >= 2);
        let mine = client.stats();
        assert!(mine.resent + mine.asked >= 60, "{mine:?}");
        assert_eq!(mine.may_have_run, 0);
        assert!(mine.connections >= 2);
    })
    .await;
}

/// The msg_ids the server was asked about with `msgs_state_req` or `msg_resend_ans_req`, and
/// the states it answered.
fn states(server: &ScriptServer) -> Vec<u8> {
    server.stats().states.iter().map(|&(_, s)| s).collect()
}

#[tokio::test]
async fn an_acknowledged_call_whose_answer_was_lost_is_asked_about_not_sent_again() {
    bounded(async {
        // The server acknowledges the call, makes its answer, and drops the connection before
        // sending it.
        let faults = Faults {
            ack_then_drop: Some(1),
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        let b = body(b"ECHO", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);

        let stats = server.stats();
        assert_eq!(stats.state_requests, 1, "{stats:?}");
        // Answered already (4 + 64): the answer was asked for, by msg_id only.
        assert_eq!(stats.answer_requests, 1, "{stats:?}");
        assert!(
            states(&server).iter().all(|s| s & 0x47 == 0x44),
            "{stats:?}"
        );
        assert_eq!(stats.repeated, 0, "the request itself was not sent again");
        assert_each_ran_once(&server, 1);
        let mine = client.stats();
        assert_eq!(mine.asked, 1, "{mine:?}");
        assert_eq!(mine.resent, 0, "{mine:?}");
        assert_eq!(mine.may_have_run, 0, "{mine:?}");
        assert_eq!(mine.connections, 2, "{mine:?}");
        assert_eq!(mine.in_flight, 0, "{mine:?}");
        // The session goes on.
        let b = body(b"ECHO", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
    })
    .await;
}

#[tokio::test]
async fn an_acknowledged_call_the_server_no_longer_knows_may_have_run() {
    bounded(async {
        let faults = Faults {
            ack_then_drop: Some(1),
            forget_on_drop: true,
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        match client.send_raw(body(b"ECHO", 1)).await {
            Err(InvocationError::MayHaveRun { reason }) => {
                assert!(reason.contains("no longer knows"), "{reason}");
            }
            other => panic!("expected MayHaveRun, got {other:?}"),
        }
        let stats = server.stats();
        assert_eq!(stats.state_requests, 1, "{stats:?}");
        assert_eq!(states(&server), [1], "{stats:?}");
        assert_eq!(stats.answer_requests, 0, "{stats:?}");
        assert_eq!(stats.repeated, 0, "not sent again: it may have run");
        assert_each_ran_once(&server, 1);
        let mine = client.stats();
        assert_eq!((mine.asked, mine.may_have_run, mine.resent), (1, 1, 0));
        let b = body(b"ECHO", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
    })
    .await;
}

#[tokio::test]
async fn an_acknowledged_call_still_running_is_waited_for() {
    bounded(async {
        // Answered 800 ms after it arrives; the connection drops right after the ack.
        let faults = Faults {
            ack_then_drop: Some(1),
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        let b = body(b"LATE", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        let stats = server.stats();
        assert_eq!(stats.state_requests, 1, "{stats:?}");
        // Received and running, no answer yet (4, +8 acknowledged, +32 running, no +64).
        assert_eq!(states(&server), [4 | 8 | 32], "{stats:?}");
        assert_eq!(stats.answer_requests, 0, "{stats:?}");
        assert_eq!(stats.repeated, 0, "{stats:?}");
        assert_each_ran_once(&server, 1);
        let mine = client.stats();
        assert_eq!((mine.asked, mine.resent, mine.may_have_run), (1, 0, 0));
    })
    .await;
}

#[tokio::test]
async fn a_question_the_server_never_answers_falls_back_to_the_same_msg_id() {
    bounded(async {
        // A server that ignores msgs_state_req: after ping_timeout the call goes again under
        // its own msg_id, which the server answers from its cache.
        let faults = Faults {
            ack_then_drop: Some(1),
            ignore_questions: true,
            ..Faults::default()
        };
        let server = ScriptServer::start(scripted(), faults).await;
        let mut config = server.config(2, MemoryStore::new());
        config.ping_timeout = Duration::from_millis(300);
        let client = Client::connect(config).await.unwrap();
        let start = Instant::now();
        let b = body(b"ECHO", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        assert!(start.elapsed() >= Duration::from_millis(300));
        let stats = server.stats();
        assert_eq!(stats.state_requests, 1, "{stats:?}");
        assert_eq!(stats.repeated, 1, "{stats:?}");
        assert_eq!(stats.answered_from_cache, 1, "{stats:?}");
        assert_each_ran_once(&server, 1);
        let mine = client.stats();
        assert_eq!((mine.asked, mine.resent, mine.may_have_run), (1, 1, 0));
    })
    .await;
}

/// Waits until `done` holds, looking every 5 ms, for at most 10 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_unacknowledged_call_too_old_for_its_msg_id_may_have_run_and_is_not_sent_again() {
    bounded(async {
        // The third request run on the first connection is acknowledged, not answered, and the
        // connection closes: ECHO 0, then the call that ages (ECHO 1), then ECHO 2.
        let faults = Faults {
            ack_then_drop: Some(3),
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        let b = body(b"ECHO", 0);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);

        // The call runs; its acknowledgement and its answer are lost on the way back.
        server.change_faults(|f| f.lose_outgoing = true);
        let c = client.clone();
        let old = tokio::spawn(async move { c.send_raw(body(b"ECHO", 1)).await });
        until("the server to run the call", || {
            server.stats().executed.len() == 2
        })
        .await;
        // An hour passes on the server's clock (none on the client's) and the way back works
        // again. The next call's msg_id is an hour behind: refused (bad_msg_notification 16),
        // the client takes the server's time from the notice and sends it under a new id; by
        // that clock the first call's msg_id is an hour old.
        server.change_faults(|f| {
            f.lose_outgoing = false;
            f.clock_offset = 3600;
        });
        let c = client.clone();
        let next = tokio::spawn(async move { c.send_raw(body(b"ECHO", 2)).await });

        // After the reconnection the first call, never acknowledged, is past RESEND_MAX_AGE:
        // the server would refuse its msg_id, and a new one could run it twice.
        match old.await.unwrap() {
            Err(InvocationError::MayHaveRun { reason }) => {
                assert_eq!(reason, "too old to be sent again under its msg_id");
            }
            other => panic!("expected MayHaveRun, got {other:?}"),
        }
        // The second, acknowledged on the first connection, is asked about and answered.
        assert_eq!(next.await.unwrap().unwrap(), body(b"ECHO", 2));

        let stats = server.stats();
        assert_eq!(stats.connections, 2, "{stats:?}");
        assert_eq!(stats.repeated, 0, "nothing came again: {stats:?}");
        // The old call ran once, under its first msg_id, and never again under another.
        assert_each_ran_once(&server, 3);
        let mine = client.stats();
        assert_eq!(
            (mine.may_have_run, mine.resent, mine.asked, mine.connections),
            (1, 0, 1, 2),
            "{mine:?}"
        );
        assert_eq!(mine.in_flight, 0, "{mine:?}");
        // The session goes on, on the server's clock.
        let b = body(b"ECHO", 3);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        assert_each_ran_once(&server, 4);
    })
    .await;
}

#[tokio::test]
async fn a_second_drop_while_the_question_is_out_loses_no_call_and_runs_none_twice() {
    bounded(async {
        // First connection: the calls are acknowledged, not answered, and the connection
        // closes. Second: the msgs_state_req about them arrives and the connection closes
        // before it is answered. Third: the server answers.
        let faults = Faults {
            ack_then_drop: Some(1),
            drop_on_question: true,
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        const CALLS: u64 = 20;
        echo_all(&client, CALLS, "each call gets its own answer").await;

        let stats = server.stats();
        assert_each_ran_once(&server, CALLS as usize);
        assert_eq!(stats.connections, 3, "{stats:?}");
        // One question on the second connection (lost with it), one on the third; the answers
        // made on the first connection were asked for once.
        assert_eq!(stats.state_requests, 2, "{stats:?}");
        assert_eq!(stats.answer_requests, 1, "{stats:?}");
        assert!(stats.answers_resent >= 1, "{stats:?}");
        // Answered calls, and calls that went in a later payload of the first connection,
        // which the server never read (2, not received: sent again under their ids).
        assert!(
            states(&server)
                .iter()
                .all(|&s| s & 0x47 == 0x44 || s == MsgState::NOT_RECEIVED),
            "only answered or never received calls were asked about: {stats:?}"
        );
        let mine = client.stats();
        assert_eq!(mine.connections, 3, "{mine:?}");
        assert_eq!(mine.may_have_run, 0, "{mine:?}");
        assert_eq!(mine.in_flight, 0, "{mine:?}");
        // The calls were asked about on both connections.
        assert!(mine.asked >= 2, "{mine:?}");
        let b = body(b"ECHO", CALLS);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_run_by_a_server_that_then_lost_the_session_may_have_run_and_ran_once() {
    bounded(async {
        // The server runs the calls; their acknowledgements (for the last payload) and answers
        // are lost with the connection, and the server forgets the session. The client comes
        // back under the same session id to a new session, which knows nothing of them.
        const CALLS: u64 = 5;
        let faults = Faults {
            drop_after: Some(CALLS as usize),
            forget_session_on_drop: true,
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        let mut updates = client.updates().unwrap();
        assert_eq!(next(&mut updates).await, Update::NewSession);
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..CALLS {
            let client = client.clone();
            calls.spawn(async move { client.send_raw(body(b"ECHO", i)).await });
        }
        while let Some(r) = calls.join_next().await {
            match r.unwrap() {
                Err(InvocationError::MayHaveRun { reason }) => {
                    assert!(reason.contains("no longer knows"), "{reason}");
                }
                other => panic!("expected MayHaveRun, got {other:?}"),
            }
        }
        // The new session announced itself.
        assert_eq!(next(&mut updates).await, Update::NewSession);
        let stats = server.stats();
        assert_eq!(stats.connections, 2, "{stats:?}");
        assert_eq!(stats.repeated, 0, "none came again: {stats:?}");
        assert_eq!(stats.answer_requests, 0, "{stats:?}");
        assert_eq!(
            states(&server),
            [MsgState::NOTHING_KNOWN; CALLS as usize],
            "{stats:?}"
        );
        // Each ran once, on the first connection, and never again.
        assert_each_ran_once(&server, CALLS as usize);
        let mine = client.stats();
        assert_eq!(
            (mine.asked, mine.resent, mine.may_have_run, mine.connections),
            (CALLS, 0, CALLS, 2),
            "{mine:?}"
        );
        assert_eq!(mine.in_flight, 0, "{mine:?}");
        // The new session works.
        let b = body(b"ECHO", CALLS);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        assert_each_ran_once(&server, CALLS as usize + 1);
    })
    .await;
}

#[tokio::test]
async fn flood_waits_below_the_threshold_are_slept_through_and_above_it_returned() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        let mut config = server.config(2, MemoryStore::new());
        config.flood_sleep_threshold = Duration::from_secs(2);
        let client = Client::connect(config).await.unwrap();

        let start = Instant::now();
        let b = body(b"FLD1", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        assert!(start.elapsed() >= Duration::from_secs(1));

        let b = body(b"SLO1", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);

        let start = Instant::now();
        match client.send_raw(body(b"FLA9", 3)).await {
            Err(InvocationError::Rpc(e)) => {
                assert_eq!(
                    (e.code, e.name.as_str(), e.value),
                    (420, "FLOOD_WAIT", Some(9))
                );
            }
            other => panic!("expected FLOOD_WAIT_9, got {other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(2));
        // Slept through: two runs each; returned: one.
        let runs: Vec<u32> = server.stats().executed.values().copied().collect();
        assert_eq!(runs, [1, 1, 1, 1, 1]);
    })
    .await;
}

#[tokio::test]
async fn server_errors_are_retried_except_those_that_say_the_call_ran() {
    bounded(async {
        let (server, client) = setup(Faults::default()).await;
        let b = body(b"E500", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        match client.send_raw(body(b"RDUP", 2)).await {
            Err(InvocationError::Rpc(e)) => assert!(e.is("RANDOM_ID_DUPLICATE")),
            other => panic!("{other:?}"),
        }
        // E500 three times (two errors, one answer), RDUP once.
        assert_eq!(server.stats().executed.len(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_salt_is_corrected_without_running_anything_twice() {
    bounded(async {
        let faults = Faults {
            wrong_salt: true,
            ..Faults::default()
        };
        let (server, client) = setup(faults).await;
        for i in 0..10 {
            let b = body(b"ECHO", i);
            assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        }
        assert_each_ran_once(&server, 10);
        assert_eq!(client.stats().connections, 1);
    })
    .await;
}

#[tokio::test]
async fn a_server_clock_an_hour_off_is_corrected() {
    bounded(async {
        for offset in [3600, -3600] {
            let faults = Faults {
                clock_offset: offset,
                ..Faults::default()
            };
            let server = ScriptServer::start(scripted(), faults).await;
            let store = MemoryStore::new();
            // A new key: the exchange tells the client the server's time.
            let client = Client::connect(server.config(2, store.clone()))
                .await
                .unwrap();
            let b = body(b"ECHO", 1);
            assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
            drop(client);
            // A stored key: the clock is learnt from bad_msg_notification 16/17.
            let client = Client::connect(server.config(2, store)).await.unwrap();
            for i in 2..5 {
                let b = body(b"ECHO", i);
                assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
            }
            assert_eq!(server.stats().handshakes, 1);
            assert_each_ran_once(&server, 4);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_or_a_wrong_msg_key_from_the_server_makes_the_client_reconnect() {
    bounded(async {
        for kind in [Garbage::Framed, Garbage::WrongMsgKey, Garbage::Unframed] {
            let faults = Faults {
                garbage_after: Some((3, kind)),
                ..Faults::default()
            };
            let server = ScriptServer::start(scripted(), faults).await;
            let mut config = server.config(2, MemoryStore::new());
            if kind == Garbage::Unframed {
                config = plain(config);
            }
            let client = Client::connect(config).await.unwrap();
            echo_all(&client, 10, &format!("{kind:?}")).await;
            assert!(
                client.stats().connections >= 2,
                "{kind:?}: {:?}",
                client.stats()
            );
            assert_each_ran_once(&server, 10);
        }
    })
    .await;
}

#[tokio::test]
async fn a_server_that_stops_answering_times_calls_out_and_is_left() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        let mut config = server.config(2, MemoryStore::new());
        config.ping_interval = Duration::from_millis(100);
        config.ping_timeout = Duration::from_millis(300);
        let client = Client::connect(config).await.unwrap();
        let b = body(b"ECHO", 0);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);

        server.set_silent(true);
        let short = CallOptions {
            timeout: Some(Duration::from_millis(400)),
        };
        let start = Instant::now();
        let result = client.send_raw_with(body(b"ECHO", 1), short).await;
        assert!(
            matches!(result, Err(InvocationError::Timeout)),
            "{result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        // The pings went unanswered: the client opened another connection.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(client.stats().connections >= 2, "{:?}", client.stats());
        assert_eq!(client.stats().in_flight, 0);

        server.set_silent(false);
        let b = body(b"ECHO", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
    })
    .await;
}

#[tokio::test]
async fn a_call_made_while_no_server_is_there_times_out() {
    bounded(async {
        let (server, client) = setup(Faults::default()).await;
        drop(server);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let short = CallOptions {
            timeout: Some(Duration::from_millis(500)),
        };
        let start = Instant::now();
        let result = client.send_raw_with(body(b"ECHO", 1), short).await;
        assert!(
            matches!(
                result,
                Err(InvocationError::Timeout | InvocationError::Io(_))
            ),
            "{result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
    })
    .await;
}

#[tokio::test]
async fn a_restarted_client_reuses_its_stored_auth_key() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        let store = MemoryStore::new();
        let first = Client::connect(server.config(2, store.clone()))
            .await
            .unwrap();
        assert_eq!(first.stats().key_exchanges, 1);
        let b = body(b"ECHO", 1);
        assert_eq!(first.send_raw(b.clone()).await.unwrap(), b);
        drop(first);

        let second = Client::connect(server.config(2, store)).await.unwrap();
        let b = body(b"ECHO", 2);
        assert_eq!(second.send_raw(b.clone()).await.unwrap(), b);
        assert_eq!(second.stats().key_exchanges, 0);
        assert_eq!(server.stats().handshakes, 1);
    })
    .await;
}

#[tokio::test]
async fn migrate_errors_are_typed_and_another_dc_gets_its_own_connection() {
    bounded(async {
        let home = ScriptServer::start(scripted(), Faults::default()).await;
        let other = ScriptServer::start(scripted(), Faults::default()).await;
        let store = MemoryStore::new();
        let mut config = home.config(1, store.clone());
        config.dcs = vec![(2, other.addr())];
        let client = Client::connect(config).await.unwrap();

        let migrate = body(b"MIGR", 1);
        match client.send_raw(migrate.clone()).await {
            Err(InvocationError::Migrate { dc, error }) => {
                assert_eq!(dc, 2);
                assert_eq!(error.name, "USER_MIGRATE");
            }
            other => panic!("{other:?}"),
        }
        let dc2 = client.dc(2).await.unwrap();
        assert_eq!(dc2.dc_id(), 2);
        let b = body(b"ECHO", 2);
        assert_eq!(dc2.send_raw(b.clone()).await.unwrap(), b);
        // The same connection the second time; one key per DC, both stored.
        let again = client.dc(2).await.unwrap();
        assert_eq!(again.stats().connections, 1);
        assert_eq!(other.stats().connections, 1);
        assert!(store.dc(1).unwrap().unwrap().auth_key.is_some());
        assert!(store.dc(2).unwrap().unwrap().auth_key.is_some());
        assert!(matches!(
            client.dc(5).await,
            Err(InvocationError::UnknownDc { dc: 5 })
        ));
    })
    .await;
}

#[tokio::test]
async fn a_dropped_call_future_is_forgotten() {
    bounded(async {
        let (_server, client) = setup(Faults::default()).await;
        let c = client.clone();
        let call = tokio::spawn(async move { c.send_raw(body(b"HOLD", 1)).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(client.stats().in_flight, 1);
        call.abort();
        let _ = call.await;
        // The next round of the task sees the cancellation.
        let b = body(b"ECHO", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(client.stats().in_flight, 0);
    })
    .await;
}

#[tokio::test]
async fn updates_arrive_and_a_full_channel_reports_a_gap() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        let mut config = server.config(2, MemoryStore::new());
        config.updates_capacity = 4;
        let client = Client::connect(config).await.unwrap();
        let mut updates = client.updates().unwrap();
        assert!(client.updates().is_none());
        client.send_raw(body(b"ECHO", 0)).await.unwrap();
        assert_eq!(next(&mut updates).await, Update::NewSession);

        client.send_raw(body(b"UPD9", 1)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 0..4u8 {
            assert_eq!(next(&mut updates).await, Update::Body(vec![b'U', i, 0, 0]));
        }
        assert!(updates.try_recv().is_none());
        assert_eq!(client.stats().dropped_updates, 5);
        client.send_raw(body(b"UPD1", 2)).await.unwrap();
        assert_eq!(next(&mut updates).await, Update::Gap { dropped: 5 });
        assert_eq!(next(&mut updates).await, Update::Body(vec![b'U', 0, 0, 0]));
    })
    .await;
}

#[tokio::test]
async fn the_first_call_of_each_connection_is_wrapped() {
    bounded(async {
        let faults = Faults {
            garbage_after: Some((3, Garbage::Framed)),
            ..Faults::default()
        };
        let server = ScriptServer::start(scripted(), faults).await;
        let mut config = server.config(2, MemoryStore::new());
        config.wrap_first = Some(Arc::new(|body: Vec<u8>| {
            let mut wrapped = b"WRAP".to_vec();
            wrapped.extend_from_slice(&body);
            wrapped
        }));
        let client = Client::connect(config).await.unwrap();
        let first = client.send_raw(body(b"ECHO", 1)).await.unwrap();
        assert!(first.starts_with(b"WRAP"));
        let second = client.send_raw(body(b"ECHO", 2)).await.unwrap();
        assert_eq!(second, body(b"ECHO", 2));
        // The third run is answered with garbage: reconnection; the call goes again under its
        // id, unwrapped as it was.
        let third = client.send_raw(body(b"ECHO", 3)).await.unwrap();
        assert_eq!(third, body(b"ECHO", 3));
        assert_eq!(client.stats().connections, 2);
        let fourth = client.send_raw(body(b"ECHO", 4)).await.unwrap();
        assert!(fourth.starts_with(b"WRAP"));
    })
    .await;
}

#[tokio::test]
async fn service_messages_about_answers_are_not_updates() {
    bounded(async {
        let (_server, client) = setup(Faults::default()).await;
        let mut updates = client.updates().unwrap();
        client.send_raw(body(b"ECHO", 0)).await.unwrap();
        assert_eq!(next(&mut updates).await, Update::NewSession);
        client.send_raw(body(b"DET0", 1)).await.unwrap();
        assert_eq!(next(&mut updates).await, Update::Body(vec![b'U', 9, 0, 0]));
        // The client asked for the answer again (msg_resend_req) and goes on working.
        let b = body(b"ECHO", 2);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
    })
    .await;
}

#[test]
fn the_client_is_a_cheap_shareable_handle() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Client>();
    fn sendable<T: Send>(_: &T) {}
    let client: Option<Client> = None;
    if let Some(c) = &client {
        sendable(&c.send_raw(Vec::new()));
    }
}

#[tokio::test]
async fn calls_sent_before_the_server_vanished_may_have_run_and_later_ones_did_not() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        let mut config = server.config(2, MemoryStore::new());
        config.reconnect.attempts = 3;
        let client = Client::connect(config).await.unwrap();
        assert_eq!(
            client.send_raw(body(b"ECHO", 0)).await.unwrap(),
            body(b"ECHO", 0)
        );

        // The server takes the call and never answers; then it is gone for good.
        server.set_silent(true);
        let c = client.clone();
        let call = tokio::spawn(async move { c.send_raw(body(b"ECHO", 1)).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(server);
        let result = call.await.unwrap();
        assert!(
            matches!(result, Err(InvocationError::MayHaveRun { .. })),
            "{result:?}"
        );
        assert_eq!(client.stats().may_have_run, 1);

        // A call made now is never sent: a network error, not "may have run".
        let result = client.send_raw(body(b"ECHO", 2)).await;
        assert!(matches!(result, Err(InvocationError::Io(_))), "{result:?}");
        assert_eq!(client.stats().may_have_run, 1);
    })
    .await;
}

/// A TCP relay to `target` on 127.0.0.1 that closes the first `refuse` connections as soon as
/// they are accepted; returns its address and how many connections it accepted.
async fn flaky_relay(
    target: String,
    refuse: usize,
) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if count.fetch_add(1, Ordering::SeqCst) < refuse {
                drop(inbound);
                continue;
            }
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn connect_tries_again_after_a_failed_first_connection_and_stops_at_its_limit() {
    bounded(async {
        let server = ScriptServer::start(scripted(), Faults::default()).await;
        // Two connections closed at once, then a working one: the default three tries get
        // through, and the call goes over the third connection.
        let (addr, accepted) = flaky_relay(server.addr(), 2).await;
        let mut config = server.config(2, MemoryStore::new());
        config.addr = addr;
        let client = Client::connect(config).await.unwrap();
        let b = body(b"ECHO", 1);
        assert_eq!(client.send_raw(b.clone()).await.unwrap(), b);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert_each_ran_once(&server, 1);

        // One try only: the first closed connection is the answer.
        let (addr, accepted) = flaky_relay(server.addr(), 1).await;
        let mut config = server.config(2, MemoryStore::new());
        config.addr = addr;
        config.connect_attempts = 1;
        match Client::connect(config).await {
            Err(InvocationError::Io(_) | InvocationError::Transport(_)) => {}
            Err(other) => panic!("expected an IO or transport error, got {other}"),
            Ok(_) => panic!("connected through a relay that closes every connection"),
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);

        // More refusals than tries: the last error comes back after exactly that many.
        let (addr, accepted) = flaky_relay(server.addr(), 10).await;
        let mut config = server.config(2, MemoryStore::new());
        config.addr = addr;
        assert!(Client::connect(config).await.is_err());
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    })
    .await;
}
