//! Many idle clients at once: the server (the binary, in its own process so that its memory
//! is measured alone) holds them after their handshakes and a first message each, then answers
//! each of them again. Prints the server's resident memory per idle connection.
//!
//! `cargo test -p tlgen-loopback --test scale -- --nocapture` shows the figures (about 20 s in
//! a debug build on two cores, most of it the clients' and the server's handshakes).

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tlgen_runtime::crypto::RsaPublicKey;
use tlgen_runtime::mtproto::handshake::ClientForm;
use tlgen_runtime::mtproto::schema::functions;
use tlgen_runtime::mtproto::session::Event;
use tlgen_runtime::transport::Kind;
use tlgen_runtime::Serializable;
use tokio::sync::Semaphore;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn start_binary() -> (Killed, SocketAddr, RsaPublicKey) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tlgen-loopback"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let (mut addr, mut pem) = (None, String::new());
    // The binary prints a handful of lines, the fingerprint last.
    for line in BufReader::new(stdout).lines().take(100) {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("dc 1 ") {
            addr = Some(rest.parse().unwrap());
        } else if line.starts_with("fingerprint") {
            break;
        } else if !line.starts_with("dc ") {
            pem.push_str(&line);
            pem.push('\n');
        }
    }
    (child, addr.unwrap(), RsaPublicKey::from_pem(&pem).unwrap())
}

async fn hold_idle_clients(n: usize) {
    // Each client takes a descriptor here and one in the server's process (which inherits
    // this process's limit).
    let limit = raise_fd_limit(n as u64 + 256);
    assert!(
        limit >= n as u64 + 64,
        "ulimit -n is {limit} and the hard limit allows no more: too low for {n} clients"
    );
    let (child, addr, key) = start_binary();
    let pid = child.0.id();
    let before = rss_of(pid);
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(16));
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let (gate, key) = (gate.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let mut conn = Conn::connect(addr, Transport::Plain(Kind::Intermediate)).await;
            let auth_key = handshake(&mut conn, key, 1, ClientForm::CURRENT, None).await;
            Client::with_key(conn, auth_key)
        }));
    }
    let mut clients = Vec::with_capacity(n);
    for task in tasks {
        clients.push(within("a handshake", task).await.unwrap());
    }
    let handshakes = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_handshakes = rss_of(pid);
    // One message each: now each has a session on the server.
    for (i, client) in clients.iter_mut().enumerate() {
        client.push(&functions::Ping { ping_id: i as i64 }.to_bytes());
        client.flush().await;
    }
    for client in clients.iter_mut() {
        client.wait_for(|e| matches!(e, Event::Pong { .. })).await;
        client.flush().await; // the acks
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_sessions = rss_of(pid);
    // All still connected: each is answered again.
    for (i, client) in clients.iter_mut().enumerate() {
        let ping_id = (n + i) as i64;
        client.push(&functions::Ping { ping_id }.to_bytes());
        client.flush().await;
        client
            .wait_for(|e| matches!(e, Event::Pong { ping_id: p, .. } if *p == ping_id))
            .await;
    }
    let per_handshake = (after_handshakes.saturating_sub(before)) as f64 / n as f64;
    let per_session = (after_sessions.saturating_sub(before)) as f64 / n as f64;
    println!(
        "{n} idle clients: {:.1} s of handshakes; server VmRSS {before} KiB before, \
         {after_handshakes} KiB after the handshakes ({per_handshake:.1} KiB per connection), \
         {after_sessions} KiB with a session each ({per_session:.1} KiB per connection); \
         ulimit -n {limit}",
        handshakes.as_secs_f64()
    );
    drop(clients);
    drop(child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_clients() {
    tokio::time::timeout(Duration::from_secs(600), hold_idle_clients(1000))
        .await
        .expect("1,000 clients within 600 s");
}
