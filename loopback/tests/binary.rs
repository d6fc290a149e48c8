//! The `tlgen-loopback` binary: started as a child process with `--port 0`, its printed
//! address and key used by the minimal client, then stopped.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use tlgen_runtime::crypto::RsaPublicKey;
use tlgen_runtime::mtproto::handshake::ClientForm;
use tlgen_runtime::transport::Kind;

/// Kills the child when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Started {
    child: Killed,
    dcs: Vec<(i32, SocketAddr)>,
    pem: String,
    fingerprint: u64,
}

/// Starts the binary and reads what it prints until the fingerprint line (at most 60 s: a
/// key is generated first).
fn start_binary(args: &[&str]) -> Started {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tlgen-loopback"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Killed(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().take(100) {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (mut dcs, mut pem) = (Vec::new(), String::new());
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the binary printed its fingerprint");
        if let Some(rest) = line.strip_prefix("dc ") {
            let (id, addr) = rest.split_once(' ').unwrap();
            dcs.push((id.parse().unwrap(), addr.parse().unwrap()));
        } else if let Some(hex) = line.strip_prefix("fingerprint 0x") {
            let fingerprint = u64::from_str_radix(hex, 16).unwrap();
            return Started {
                child,
                dcs,
                pem,
                fingerprint,
            };
        } else {
            pem.push_str(&line);
            pem.push('\n');
        }
    }
}

#[tokio::test]
async fn the_binary_serves_on_the_printed_address_with_the_printed_key() {
    let started = start_binary(&["--port", "0", "--dcs", "2"]);
    assert_eq!(started.dcs.len(), 2);
    let key = RsaPublicKey::from_pem(&started.pem).unwrap();
    assert_eq!(key.fingerprint(), started.fingerprint);
    let (_, addr) = started.dcs[1];
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let mut conn = Conn::connect(addr, Transport::Obfuscated(Kind::PaddedIntermediate)).await;
    let auth_key = handshake(&mut conn, key, 2, ClientForm::CURRENT, None).await;
    let mut client = Client::with_key(conn, auth_key);
    // The built-in world answers what it does not implement with an error.
    let error = client.call(&[1, 2, 3, 4]).await.unwrap_err();
    assert_eq!(error.error_code, 400);
    drop(started.child);
}

#[tokio::test]
async fn the_key_file_is_created_once_and_reused() {
    let dir = std::env::temp_dir().join(format!("tlgen-loopback-key-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("key.pem");
    let _ = std::fs::remove_file(&path);
    let arg = path.to_str().unwrap();
    let first = start_binary(&["--port", "0", "--key", arg]);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is the owner's alone");
    }
    drop(first.child);
    let second = start_binary(&["--port", "0", "--key", arg, "--silent"]);
    assert_eq!(first.fingerprint, second.fingerprint);
    drop(second.child);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_world_file_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_tlgen-loopback"))
        .args(["--port", "0", "--world", "/nonexistent/world.json"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(!output.stderr.is_empty());
}
