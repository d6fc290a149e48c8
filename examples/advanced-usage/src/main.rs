//! Runs Pyrogram's three raw-API examples in typed Rust against the loopback server, in
//! process, and prints what each did and what the server now holds.

use tlgen_advanced_usage::{examples, world, BoxError, Demo};

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), BoxError> {
    let demo = Demo::start().await?;
    let dc = &demo.server.dcs()[0];
    println!(
        "loopback server: DC {} on {} (key fingerprint {})",
        dc.id,
        dc.addr,
        demo.server.fingerprint()
    );
    let me = demo.client.self_id().unwrap_or_default();
    println!(
        "signed in as user {me} with phone +{} and the world's login code {}",
        world::PHONE,
        demo.world.login_code()
    );
    println!();

    println!("1. {}", examples::update_profile(&demo.client).await?);
    println!("2. {}", examples::set_privacy(&demo.client).await?);
    println!("3. {}", examples::invite_to_channel(&demo.client).await?);
    println!();

    println!("what the server holds now:");
    if let Some(u) = demo.world.user(me) {
        println!(
            "  user {me}: {} {}, bio {:?}",
            u.first_name, u.last_name, u.about
        );
    }
    let rules = demo
        .world
        .privacy(me, "status_timestamp")
        .unwrap_or_default();
    println!("  privacy of status_timestamp: {}", rules.join(", "));
    let channel = -world::CHANNEL - 1_000_000_000_000;
    if let Some(c) = demo.world.channel(channel) {
        let names: Vec<String> = c
            .members
            .iter()
            .map(|id| match demo.world.user(*id) {
                Some(u) => format!("{} ({id})", u.first_name),
                None => id.to_string(),
            })
            .collect();
        println!("  channel {:?} members: {}", c.title, names.join(", "));
    }
    let stats = demo.client.connection().stats();
    println!();
    println!(
        "client: {} connection(s), {} key exchange(s)",
        stats.connections, stats.key_exchanges
    );
    demo.server.shutdown().await;
    Ok(())
}
