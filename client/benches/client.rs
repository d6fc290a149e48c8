//! Client benchmarks against the scripted test server, run in a child process (so that the
//! memory figure is the client's alone):
//!
//! - `calls/in-flight-1000`: 10,000 small calls over one connection, 1,000 in flight
//!   (criterion prints calls per second as its throughput);
//! - `calls/one-at-a-time`: the round trip of one call;
//! - `calls/tcp-echo-floor`: the same round trip without MTProto: 40 bytes written to a plain
//!   TCP echo task in a third child process with the scripted server's runtime, and read back
//!   (what this machine's loopback TCP and thread wake-ups cost, the floor of the figure above);
//! - `connect/auth-key-exchange`: TCP connect to a ready auth key (a fresh key every time);
//! - `connect/auth-key-exchange-loopback`: the same against the loopback server
//!   (`tlgen-loopback`, in a second child process, as its binary runs it);
//! - memory per idle connected client: RSS growth over 200 clients, printed at the end.
//!
//! `cargo bench -p tlgen-client --bench client`

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};

use tlgen_client::{Client, Config};

#[path = "../tests/common/mod.rs"]
mod common;

const SERVER_ENV: &str = "TLGEN_CLIENT_BENCH_SERVER";

/// A loopback-server service that answers every call with its own body.
struct Echo;

impl tlgen_world::Service for Echo {
    fn call(&self, _: &tlgen_world::CallContext<'_>, body: &[u8]) -> tlgen_world::Reply {
        tlgen_world::Reply::Result(body.to_vec())
    }
}

/// The child: serves until its stdin closes (`kind` is `script` or `loopback`).
fn serve(kind: &str) {
    let mut rt = match kind {
        // As the loopback binary runs: a worker per core.
        "loopback" => tokio::runtime::Builder::new_multi_thread(),
        _ => {
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            rt.worker_threads(1);
            rt
        }
    };
    let rt = rt.enable_all().build().unwrap();
    rt.block_on(async {
        let wait_for_stdin = || {
            tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            })
        };
        if kind == "echo" {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("{}", listener.local_addr().unwrap());
            std::io::stdout().flush().unwrap();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                while let Ok((mut socket, _)) = listener.accept().await {
                    socket.set_nodelay(true).unwrap();
                    tokio::spawn(async move {
                        let mut buf = [0; 256];
                        while let Ok(n @ 1..) = socket.read(&mut buf).await {
                            if socket.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            wait_for_stdin().await.unwrap();
        } else if kind == "loopback" {
            let server = tlgen_loopback::Server::builder()
                .service(Arc::new(Echo))
                .key(common::private_key().clone())
                .start()
                .await
                .unwrap();
            println!("{}", server.addr(1));
            std::io::stdout().flush().unwrap();
            wait_for_stdin().await.unwrap();
            server.shutdown().await;
        } else {
            let server =
                common::ScriptServer::start(common::echo(), common::Faults::default()).await;
            println!("{}", server.addr());
            std::io::stdout().flush().unwrap();
            wait_for_stdin().await.unwrap();
        }
    });
}

struct ServerProcess {
    child: Child,
    addr: String,
}

impl ServerProcess {
    fn start(kind: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(SERVER_ENV, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut addr = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut addr)
            .unwrap();
        Self {
            child,
            addr: addr.trim().to_owned(),
        }
    }

    fn config(&self) -> Config {
        let mut config = Config::new(
            2,
            self.addr.clone(),
            vec![common::public_key()],
            common::MemoryStore::new(),
        );
        config.request_timeout = Duration::from_secs(30);
        config
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn ping(i: i64) -> Vec<u8> {
    use tlgen_runtime::Serializable;
    tlgen_runtime::mtproto::schema::functions::Ping { ping_id: i }.to_bytes()
}

fn calls(c: &mut Criterion, server: &ServerProcess, echo: &ServerProcess) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(Client::connect(server.config())).unwrap();
    const CALLS: u64 = 10_000;
    const IN_FLIGHT: u64 = 1_000;
    let mut group = c.benchmark_group("calls");
    group.sample_size(20);
    group.throughput(Throughput::Elements(CALLS));
    group.bench_function("in-flight-1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let client = client.clone();
                total += rt.block_on(async move {
                    let start = Instant::now();
                    let mut tasks = tokio::task::JoinSet::new();
                    for t in 0..IN_FLIGHT {
                        let client = client.clone();
                        tasks.spawn(async move {
                            for i in 0..CALLS / IN_FLIGHT {
                                client.send_raw(ping((t * 100 + i) as i64)).await.unwrap();
                            }
                        });
                    }
                    while let Some(r) = tasks.join_next().await {
                        r.unwrap();
                    }
                    start.elapsed()
                });
            }
            total
        })
    });
    group.finish();
    drop(client);

    // One at a time, on one thread: the call and the client's task take turns.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = rt.block_on(Client::connect(server.config())).unwrap();
    let mut group = c.benchmark_group("calls");
    group.sample_size(50);
    let mut i = 0;
    group.bench_function("one-at-a-time", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(client.send_raw(ping(i))).unwrap()
        })
    });
    let mut socket = rt.block_on(async {
        let socket = tokio::net::TcpStream::connect(&echo.addr).await.unwrap();
        socket.set_nodelay(true).unwrap();
        socket
    });
    group.bench_function("tcp-echo-floor", |b| {
        b.iter(|| {
            rt.block_on(async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0; 40];
                socket.write_all(&buf).await.unwrap();
                socket.read_exact(&mut buf).await.unwrap();
            })
        })
    });
    group.finish();
}

fn key_exchange(c: &mut Criterion, servers: [(&str, &ServerProcess); 2]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("connect");
    group.sample_size(20);
    for (name, server) in servers {
        group.bench_function(name, |b| {
            b.iter(|| {
                // A fresh store each time: TCP connect, then the whole exchange.
                let client = rt.block_on(Client::connect(server.config())).unwrap();
                assert_eq!(client.stats().key_exchanges, 1);
                client
            })
        });
    }
    group.finish();
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// RSS growth per idle connected client, over `n` clients sharing one stored key.
fn memory(server: &ServerProcess, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = common::MemoryStore::new();
        let mut config = server.config();
        config.store = store.clone();
        // The key exchange once; every client below reuses the stored key.
        let first = Client::connect(config.clone()).await.unwrap();
        first.send_raw(ping(0)).await.unwrap();
        // Warm up the allocator and the runtime with a few clients, dropped again.
        let warm: Vec<Client> = futures_join(&config, 20).await;
        drop(warm);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib();
        let clients = futures_join(&config, n).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = rss_kib();
        let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
        println!(
            "memory/idle-client: {n} clients, RSS {before} kB -> {after} kB: {:.1} kB per connected idle client",
            per / 1000.0
        );
        drop(clients);
        drop(first);
    });
}

/// `n` connected clients, each having made one call.
async fn futures_join(config: &Config, n: usize) -> Vec<Client> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let client = Client::connect(config.clone()).await.unwrap();
        client.send_raw(ping(1)).await.unwrap();
        clients.push(client);
    }
    clients
}

fn main() {
    if let Ok(kind) = std::env::var(SERVER_ENV) {
        return serve(&kind);
    }
    let server = Arc::new(ServerProcess::start("script"));
    let loopback = ServerProcess::start("loopback");
    let echo = ServerProcess::start("echo");
    let mut c = Criterion::default().configure_from_args();
    calls(&mut c, &server, &echo);
    key_exchange(
        &mut c,
        [
            ("auth-key-exchange", &server),
            ("auth-key-exchange-loopback", &loopback),
        ],
    );
    memory(&server, 200);
    c.final_summary();
}
