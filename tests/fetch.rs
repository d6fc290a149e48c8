//! Tests of `tlgen fetch` against a tiny HTTP server on 127.0.0.1: good tdesktop and TDLib schemas, and every failure with a clear error and no file written.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// A file under `../shared/schemas/`, or `None` (with a note) when shared/ is missing outside CI.
fn shared(rel: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("TLGEN_SHARED_DIR"))
        .join("schemas")
        .join(rel);
    if let Ok(bytes) = std::fs::read(&path) {
        return Some(bytes);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing: CI needs the shared/ reference schemas beside the checkout",
            path.display()
        );
    }
    eprintln!(
        "skipped: {} is missing (shared/ reference schemas not found)",
        path.display()
    );
    None
}

/// What the server answers for one path.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    /// A `Content-Length` to announce instead of the body's (then the connection is closed
    /// after the body).
    announce: Option<usize>,
}

fn ok(body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status: 200,
        body: body.into(),
        announce: None,
    }
}

/// A loopback HTTP/1.1 server: answers at most `max` connections, for at most 30 seconds,
/// then stops by itself. Unknown paths get a 404.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(routes: BTreeMap<String, Reply>, max: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut served = 0;
        while served < max && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    served += 1;
                    let _ = answer(stream, &routes, &log);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => break,
            }
        }
    });
    Server { base, requests }
}

fn answer(
    mut stream: TcpStream,
    routes: &BTreeMap<String, Reply>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let reply = routes.get(&path).cloned().unwrap_or(Reply {
        status: 404,
        body: b"404: Not Found".to_vec(),
        announce: None,
    });
    let reason = if reply.status == 200 {
        "OK"
    } else {
        "Not Found"
    };
    let length = reply.announce.unwrap_or(reply.body.len());
    let header = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        reply.status
    );
    stream.write_all(header.as_bytes())?;
    stream.write_all(&reply.body)?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Ok(())
}

const TDESKTOP_PATH: &str =
    "/telegramdesktop/tdesktop/dev/Telegram/SourceFiles/mtproto/scheme/api.tl";
const TDLIB_PATH: &str = "/tdlib/td/master/td/generate/scheme/telegram_api.tl";
const VERSION_PATH: &str = "/tdlib/td/master/td/telegram/Version.h";

fn tlgen(args: &[&str], env_base: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tlgen"));
    cmd.args(args).env_remove("TLGEN_FETCH_BASE_URL");
    if let Some(base) = env_base {
        cmd.env("TLGEN_FETCH_BASE_URL", base);
    }
    cmd.output().unwrap()
}

fn out_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("api.tl")
}

/// Every file in `dir`, by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Asserts a failed fetch: status 2, `needle` in the error, nothing written in `dir`.
fn assert_failed(out: &Output, needle: &str, dir: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(listing(dir).is_empty(), "files written: {:?}", listing(dir));
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn fetches_a_tdesktop_schema_with_a_provenance_header() {
    let Some(schema) = shared("telegram/api-tdesktop.tl") else {
        return;
    };
    let server = serve(
        BTreeMap::from([(TDESKTOP_PATH.to_string(), ok(schema.clone()))]),
        2,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let old = Path::new(env!("TLGEN_SHARED_DIR")).join("schemas/layers/layer-227.tl");
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
            "--compare",
            old.to_str().unwrap(),
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let url = format!("{}{TDESKTOP_PATH}", server.base);
    assert!(
        stdout.contains(&format!(
            "fetched {url} (layer 228, sha-256 {})",
            sha256_hex(&schema)
        )),
        "{stdout}"
    );
    assert!(stdout.contains("layer 228 is newer than"), "{stdout}");
    assert!(stdout.contains("(layer 227)"), "{stdout}");

    let written = std::fs::read_to_string(&out).unwrap();
    let expected_header = format!(
        "// Fetched by tlgen fetch from {url}\n// Layer: 228\n// SHA-256 of the downloaded file: {}\n\n",
        sha256_hex(&schema)
    );
    assert!(
        written.starts_with(&expected_header),
        "{}",
        &written[..300.min(written.len())]
    );
    assert_eq!(
        &written.as_bytes()[expected_header.len()..],
        &schema[..],
        "the schema is kept as downloaded"
    );
    let (checked, _) = tlgen::check("api.tl", &written);
    assert_eq!(checked.unwrap().layer, Some(228));
    assert_eq!(
        listing(dir.path()),
        vec!["api.tl"],
        "no temporary file is left"
    );
    assert_eq!(server.requests.lock().unwrap().as_slice(), [TDESKTOP_PATH]);
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn the_base_url_and_ref_come_from_the_environment_and_flags() {
    let Some(schema) = shared("telegram/api-tdesktop.tl") else {
        return;
    };
    let path = "/telegramdesktop/tdesktop/v5.0.0/Telegram/SourceFiles/mtproto/scheme/api.tl";
    let server = serve(BTreeMap::from([(path.to_string(), ok(schema))]), 2);
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &["fetch", "--ref", "v5.0.0", "--out", out.to_str().unwrap()],
        Some(&server.base),
    );
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert_eq!(server.requests.lock().unwrap().as_slice(), [path]);
    assert!(out.is_file());
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn fetches_a_tdlib_schema_and_its_layer_from_version_h() {
    let Some(schema) = shared("telegram/api.tl") else {
        return;
    };
    let version_h = "#pragma once\n\nnamespace td {\n\nconstexpr int32 MTPROTO_LAYER = 228;\n\n}  // namespace td\n";
    let server = serve(
        BTreeMap::from([
            (TDLIB_PATH.to_string(), ok(schema.clone())),
            (VERSION_PATH.to_string(), ok(version_h)),
        ]),
        3,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &[
            "fetch",
            "--source",
            "tdlib",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        None,
    );
    assert_eq!(
        result.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(String::from_utf8_lossy(&result.stdout).contains("(layer 228, sha-256 "));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.starts_with(&format!(
        "// Fetched by tlgen fetch from {}{TDLIB_PATH}\n// Layer: 228\n",
        server.base
    )));
    assert!(
        written.ends_with("\n// LAYER 228\n"),
        "the layer is recorded for later runs"
    );
    let (checked, _) = tlgen::check("api.tl", &written);
    assert_eq!(checked.unwrap().layer, Some(228));
    assert_eq!(
        server.requests.lock().unwrap().as_slice(),
        [TDLIB_PATH, VERSION_PATH]
    );
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn a_version_h_without_the_layer_is_an_error() {
    let Some(schema) = shared("telegram/api.tl") else {
        return;
    };
    let server = serve(
        BTreeMap::from([
            (TDLIB_PATH.to_string(), ok(schema)),
            (VERSION_PATH.to_string(), ok("#pragma once\n")),
        ]),
        3,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &[
            "fetch",
            "--source",
            "tdlib",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        None,
    );
    assert_failed(&result, "no `MTPROTO_LAYER = N` constant in", dir.path());
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn a_schema_that_does_not_parse_is_rejected_with_its_diagnostics() {
    let Some(schema) = shared("telegram/api-tdesktop.tl") else {
        return;
    };
    // Cut in the middle of a definition line.
    let text = String::from_utf8(schema).unwrap();
    let line = text.find("\nuser#").expect("a user line") + 1;
    let broken = format!("{}\n", &text[..line + 40]);
    let server = serve(BTreeMap::from([(TDESKTOP_PATH.to_string(), ok(broken))]), 2);
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        None,
    );
    assert_failed(&result, "does not parse", dir.path());
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(err.contains("error: "), "{err}");
    assert!(
        err.contains("syntax error: expected a field, found end of line"),
        "{err}"
    );
    assert!(
        err.contains(&format!("--> {}{TDESKTOP_PATH}:", server.base)),
        "diagnostics name the URL: {err}"
    );
}

#[test]
#[cfg_attr(tlgen_shared_missing, ignore = "needs ../shared: reference schemas")]
fn a_truncated_download_is_an_error() {
    let Some(schema) = shared("telegram/api-tdesktop.tl") else {
        return;
    };
    let body = schema[..schema.len() / 2].to_vec();
    let reply = Reply {
        status: 200,
        announce: Some(schema.len()),
        body,
    };
    let server = serve(BTreeMap::from([(TDESKTOP_PATH.to_string(), reply)]), 2);
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
            "--timeout",
            "10",
        ],
        None,
    );
    assert_failed(&result, "truncated download", dir.path());
    let err = String::from_utf8_lossy(&result.stderr);
    assert!(
        err.contains(&format!("expected {} bytes", schema.len())),
        "{err}"
    );
}

#[test]
fn a_404_is_an_error_and_leaves_an_existing_file_alone() {
    let server = serve(BTreeMap::new(), 2);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/missing/api.tl", server.base);
    let result = tlgen(
        &[
            "fetch",
            "--source",
            &url,
            "--out",
            out_path(&dir).to_str().unwrap(),
        ],
        None,
    );
    assert_failed(&result, &format!("http status 404 from {url}"), dir.path());

    let server = serve(BTreeMap::new(), 2);
    let out = out_path(&dir);
    std::fs::write(&out, "// the old schema\n").unwrap();
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            &server.base,
        ],
        None,
    );
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("http status 404"));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "// the old schema\n"
    );
    assert_eq!(listing(dir.path()), vec!["api.tl"]);
}

#[test]
fn an_announced_size_over_the_limit_is_refused() {
    let reply = Reply {
        status: 200,
        body: b"x".to_vec(),
        announce: Some(64 * 1024 * 1024),
    };
    let server = serve(BTreeMap::from([("/big.tl".to_string(), reply)]), 2);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{}/big.tl", server.base);
    let result = tlgen(
        &[
            "fetch",
            "--source",
            &url,
            "--out",
            out_path(&dir).to_str().unwrap(),
        ],
        None,
    );
    assert_failed(
        &result,
        "larger than the limit of 16777216 bytes",
        dir.path(),
    );
}

#[test]
fn usage_errors_exit_with_2_before_any_download() {
    let dir = tempfile::tempdir().unwrap();
    let out = out_path(&dir);
    let result = tlgen(
        &[
            "fetch",
            "--source",
            "gitlab",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    );
    assert_failed(&result, "unknown source `gitlab`", dir.path());
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            "ftp://127.0.0.1/",
        ],
        None,
    );
    assert_failed(&result, "is not an http(s) URL", dir.path());
    let result = tlgen(
        &[
            "fetch",
            "--out",
            out.to_str().unwrap(),
            "--base-url",
            "http://127.0.0.1:9/",
            "--compare",
            "/no/such/old.tl",
        ],
        None,
    );
    assert_failed(
        &result,
        "--compare: cannot read /no/such/old.tl",
        dir.path(),
    );
}
