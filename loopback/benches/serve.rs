//! Calls per second the loopback server serves to many clients at once, each client its own
//! connection and auth key, all on this machine.
//!
//! `cargo bench -p tlgen-loopback --bench serve`

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tlgen_loopback::Server;
use tlgen_runtime::Serializable;
use tlgen_session::{MemoryStore, SessionStore};
use tlgen_world::{CallContext, Reply, Service, World};

/// Answers every request with its own bytes: the protocol half alone.
struct Echo;

impl Service for Echo {
    fn call(&self, _: &CallContext<'_>, body: &[u8]) -> Reply {
        Reply::Result(body.to_vec())
    }
}

const CLIENTS: usize = 50;
const CALLS_PER_CLIENT: usize = 40;

fn serve(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("loopback_serves_50_clients");
    g.throughput(Throughput::Elements((CLIENTS * CALLS_PER_CLIENT) as u64));
    g.sample_size(20);
    let services: [(&str, Arc<dyn Service>); 2] = [
        ("echo", Arc::new(Echo)),
        ("world_help_getNearestDc", Arc::new(World::builtin())),
    ];
    for (name, service) in services {
        let server = rt
            .block_on(Server::builder().service(service).start())
            .unwrap();
        let dc = server.dcs()[0].clone();
        let clients: Vec<tlgen_client::Client> = (0..CLIENTS)
            .map(|_| {
                let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
                let config = tlgen_client::Config::new(
                    dc.id,
                    dc.addr.to_string(),
                    vec![server.rsa_public_key()],
                    store,
                );
                rt.block_on(tlgen_client::Client::connect(config)).unwrap()
            })
            .collect();
        let body = tlgen_telegram::functions::help::GetNearestDc {}.to_bytes();
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let tasks: Vec<_> = clients
                        .iter()
                        .map(|c| {
                            let c = c.clone();
                            let body = body.clone();
                            tokio::spawn(async move {
                                let calls = (0..CALLS_PER_CLIENT).map(|_| c.send_raw(body.clone()));
                                for r in futures_join(calls).await {
                                    r.unwrap();
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                })
            })
        });
        drop(clients);
        rt.block_on(server.shutdown());
    }
    g.finish();
}

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

criterion_group!(benches, serve);
criterion_main!(benches);
