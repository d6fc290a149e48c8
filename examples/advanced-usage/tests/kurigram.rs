//! Kurigram (Pyrogram's maintained fork, Python) against the loopback server: the script
//! `tests/interop/kurigram_advanced_usage.py` signs in and runs Pyrogram's three raw-API
//! examples; this test starts the server, runs the script and checks the world afterwards.
//!
//! Python comes from `$TLGEN_PYTHON`, else the virtual environment `.ci/run` makes
//! (`.venv/bin/python` at the workspace root). Without a Python that can import `pyrogram`,
//! the test is compiled as ignored, with the reason (build.rs), except under `CI=true`, where
//! `.ci/run` installs Kurigram: there it fails unless `TLGEN_KURIGRAM_SKIP` says why Kurigram
//! could not be installed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tlgen_loopback::Server;
use tlgen_world::World;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = match std::env::var_os("TLGEN_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => vec![workspace().join(".venv/bin/python")],
    };
    for p in &candidates {
        if !p.exists() {
            continue;
        }
        let ok = Command::new(p)
            .args(["-c", "import pyrogram"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(p.clone());
        }
        return Err(format!("{} cannot import pyrogram (Kurigram)", p.display()));
    }
    Err(format!(
        "no Python with Kurigram: set TLGEN_PYTHON, or run .ci/run once to make {}",
        candidates[0].display()
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn big(bytes: &[u8]) -> String {
    // The exponent is small (65537): a u64 holds it.
    bytes
        .iter()
        .fold(0u64, |n, &b| (n << 8) | u64::from(b))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    tlgen_kurigram_missing,
    ignore = "needs Kurigram in .venv (bash .ci/run makes it) or TLGEN_PYTHON; then touch build.rs"
)]
async fn kurigram_runs_the_three_examples() {
    let python = match python() {
        Ok(p) => p,
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                match std::env::var("TLGEN_KURIGRAM_SKIP") {
                    Ok(reason) => {
                        eprintln!("skipped: {why}; .ci/run could not install Kurigram: {reason}");
                        return;
                    }
                    Err(_) => panic!("CI=true but {why}"),
                }
            }
            eprintln!("skipped: {why}");
            return;
        }
    };
    let world = Arc::new(World::builtin());
    let server = Server::builder()
        .service(world.clone())
        .start()
        .await
        .expect("the loopback server starts");
    let addr = server.addr(server.dcs()[0].id);
    let key = server.rsa_public_key();
    let script = workspace().join("tests/interop/kurigram_advanced_usage.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .env("TLGEN_LOOPBACK_HOST", addr.ip().to_string())
        .env("TLGEN_LOOPBACK_PORT", addr.port().to_string())
        .env(
            "TLGEN_LOOPBACK_FINGERPRINT",
            server.fingerprint().to_string(),
        )
        .env("TLGEN_LOOPBACK_MODULUS", hex(&key.n()))
        .env("TLGEN_LOOPBACK_EXPONENT", big(&key.e()))
        .env("TLGEN_LOOPBACK_PHONE", "15550001001")
        .env("TLGEN_LOOPBACK_CODE", world.login_code())
        .env("TLGEN_CHANNEL_ID", "-1001234567890")
        .env("TLGEN_USER_ID", "1003")
        .env("TLGEN_USERNAME", "dave_jones")
        .env("TLGEN_PHONE", "+15550001005")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    // The script has its own 60 s limit; this one covers start-up too.
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the Kurigram script did not finish in 120 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let out = child.wait_with_output().expect("python output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        status.success(),
        "the Kurigram script failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("ok"), "{stdout}");

    let alice = world.user(1001).expect("Alice");
    assert_eq!(
        (
            alice.first_name.as_str(),
            alice.last_name.as_str(),
            alice.about.as_str()
        ),
        ("First Name", "Last Name", "New bio text")
    );
    assert_eq!(
        world.privacy(1001, "status_timestamp"),
        Some(vec!["allow_contacts".to_string()])
    );
    let members = world.channel_members(1234567890).expect("the channel");
    for user in [1003, 1004, 1005] {
        assert!(members.contains(&user), "{user} not in {members:?}");
    }
    server.shutdown().await;
}
