//! `tlgen-loopback`: a loopback MTProto server with a small in-memory Telegram.
//!
//! Prints one line per DC (`dc <id> <address>`), the RSA public key PEM and its fingerprint,
//! then serves until Ctrl-C. Logging: `RUST_LOG=tlgen_loopback=debug`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tlgen_loopback::{Faults, FloodWait, KeyPair, Server};
use tlgen_world::World;

#[derive(Parser, Debug)]
#[command(
    name = "tlgen-loopback",
    version,
    about = "A loopback MTProto server with a small in-memory Telegram"
)]
struct Args {
    /// Port of DC 1 (DC n listens on PORT + n - 1); 0 lets the OS choose every port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Number of DCs.
    #[arg(long, default_value_t = 1)]
    dcs: usize,
    /// PEM private key file; created with a new key when it does not exist.
    #[arg(long)]
    key: Option<PathBuf>,
    /// World file (JSON) for the in-memory Telegram; the built-in world without it.
    #[arg(long)]
    world: Option<PathBuf>,
    /// Fault: close each connection after its N-th encrypted payload (answers lost).
    #[arg(long, value_name = "N")]
    drop_after: Option<u32>,
    /// Fault: cut each connection's N-th encrypted frame in half, then close.
    #[arg(long, value_name = "N")]
    drop_mid_frame: Option<u32>,
    /// Fault: delay every answer by this many milliseconds.
    #[arg(long, value_name = "MS")]
    delay_ms: Option<u64>,
    /// Fault: answer FLOOD_WAIT_SECONDS to a method, as CONSTRUCTOR_ID:SECONDS (hex id with
    /// 0x, or decimal); repeatable.
    #[arg(long, value_name = "ID:SECONDS", value_parser = parse_flood_wait)]
    flood_wait: Vec<FloodWait>,
    /// Fault: answer the first N payloads with bad_server_salt.
    #[arg(long, value_name = "N", default_value_t = 0)]
    bad_server_salt: u32,
    /// Fault: run the server clock this many seconds ahead (negative: behind).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    clock_skew: i64,
    /// Fault: send N frames of garbage instead of answers.
    #[arg(long, value_name = "N", default_value_t = 0)]
    garbage: u32,
    /// Fault: send N payloads with a wrong msg_key.
    #[arg(long, value_name = "N", default_value_t = 0)]
    wrong_msg_key: u32,
    /// Fault: answer the first encrypted payload with this transport error (404, 429, ...).
    #[arg(long, value_name = "CODE")]
    transport_error: Option<u32>,
    /// Fault: read everything, answer nothing.
    #[arg(long)]
    silent: bool,
}

fn parse_flood_wait(text: &str) -> Result<FloodWait, String> {
    let (id, seconds) = text
        .split_once(':')
        .ok_or_else(|| format!("expected ID:SECONDS, got {text:?}"))?;
    let constructor_id = match id.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => id.parse(),
    }
    .map_err(|e| format!("bad constructor id {id:?}: {e}"))?;
    let seconds = seconds
        .parse()
        .map_err(|e| format!("bad seconds {seconds:?}: {e}"))?;
    Ok(FloodWait {
        constructor_id,
        seconds,
    })
}

fn load_key(path: &Path) -> Result<KeyPair, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => KeyPair::from_pem(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pair = KeyPair::generate();
            write_private(path, pair.to_pem().as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(pair)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    match serve(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tlgen-loopback: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Creates `path` (not replacing a file made meanwhile), readable by its owner only.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

async fn serve(args: Args) -> Result<(), String> {
    let world = match &args.world {
        Some(path) => World::from_file(path).map_err(|e| e.to_string())?,
        None => World::builtin(),
    };
    let key = match &args.key {
        Some(path) => load_key(path)?,
        None => KeyPair::generate(),
    };
    let faults = Faults {
        drop_after: args.drop_after,
        drop_mid_frame: args.drop_mid_frame,
        delay: args.delay_ms.map(Duration::from_millis),
        flood_wait: args.flood_wait,
        bad_server_salt: args.bad_server_salt,
        clock_skew: args.clock_skew,
        garbage: args.garbage,
        wrong_msg_key: args.wrong_msg_key,
        transport_error: args.transport_error,
        silent: args.silent,
        lose_session: false,
        intercept: None,
    };
    let server = Server::builder()
        .service(Arc::new(world))
        .dcs(args.dcs)
        .port(args.port)
        .key(key.private_key().clone())
        .faults(faults)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    for dc in server.dcs() {
        println!("dc {} {}", dc.id, dc.addr);
    }
    print!("{}", server.public_key_pem());
    println!("fingerprint {:#018x}", server.fingerprint() as u64);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    server.shutdown().await;
    Ok(())
}
