//! Tests with a second process: the lock across processes, the lock's release when its
//! holder dies, and a session file that a kill in the middle of writing leaves openable.
//!
//! The second process is this test binary run again with `TLGEN_SESSION_TEST_CHILD` set:
//! the `child` test then does what the variable says, and nothing otherwise.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use tlgen_session::{
    DcEntry, PeerKind, PeerRecord, SessionStore, SqliteStore, StoreError, UpdateState,
};

const MODE: &str = "TLGEN_SESSION_TEST_CHILD";
const PATH: &str = "TLGEN_SESSION_TEST_PATH";
/// No child runs longer than this, whatever happens to the parent.
const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// Opens the session, waiting (a bounded time) while it is in use.
///
/// The parent's other tests start processes at any moment: between fork and exec such a
/// process holds a copy of every descriptor of the parent (they close on exec), the lock
/// file's included, so a lock the parent just released can stay held for that instant.
fn open_when_free(path: &str) -> Result<SqliteStore, StoreError> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match SqliteStore::open(path) {
            Err(StoreError::InUse { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

/// The child's side. Prints lines `<word> [value]` on stdout (the first one after the
/// harness's `test child ... `).
#[test]
fn child() {
    let Ok(mode) = std::env::var(MODE) else {
        return;
    };
    let path = std::env::var(PATH).expect("TLGEN_SESSION_TEST_PATH");
    let started = Instant::now();
    match mode.as_str() {
        "open" | "open-when-free" => match if mode == "open" {
            SqliteStore::open(&path)
        } else {
            open_when_free(&path)
        } {
            Ok(_) => println!("result ok"),
            Err(StoreError::InUse { path: p }) => println!("result in-use {}", p.display()),
            Err(e) => println!("result error {e}"),
        },
        "hold" => {
            let _store = open_when_free(&path).unwrap();
            println!("ready");
            while started.elapsed() < CHILD_LIMIT {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        "write" => {
            let store = open_when_free(&path).unwrap();
            let start = store.update_state().unwrap().pts;
            println!("ready");
            for i in start + 1..start + 1_000_000 {
                if started.elapsed() > CHILD_LIMIT {
                    break;
                }
                write_generation(&store, i);
                println!("committed {i}");
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

/// One generation of writes: each call is one transaction, and each leaves a pattern that
/// `check_generation` can verify.
fn write_generation(store: &SqliteStore, i: i32) {
    store
        .set_update_state(&UpdateState {
            pts: i,
            qts: i,
            date: i,
            seq: i,
            channels: (1..=20).map(|c| (c, i)).collect(),
        })
        .unwrap();
    let peers: Vec<PeerRecord> = (1..=20)
        .map(|id| PeerRecord {
            id,
            kind: PeerKind::User,
            access_hash: Some(i64::from(i)),
            min: false,
            usernames: vec![format!("u{id}_{i}"), format!("alias{id}_{i}")],
            phone: Some(format!("{id}{i}")),
            seen_in: None,
        })
        .collect();
    store.put_peers(&peers).unwrap();
    store
        .set_dc(&DcEntry {
            id: 2,
            addr: format!("10.0.0.{}:443", i % 256),
            auth_key: Some([i as u8; 256]),
        })
        .unwrap();
}

/// Whatever generation each table holds, it holds it whole.
fn check_generation(store: &SqliteStore) -> i32 {
    let state = store.update_state().unwrap();
    let i = state.pts;
    assert_eq!((state.qts, state.date, state.seq), (i, i, i));
    if i == 0 {
        assert!(state.channels.is_empty());
    } else {
        assert_eq!(state.channels, (1..=20).map(|c| (c, i)).collect::<Vec<_>>());
    }
    let peers: Vec<PeerRecord> = (1..=20)
        .filter_map(|id| store.peer(PeerKind::User, id).unwrap())
        .collect();
    assert!(
        peers.is_empty() || peers.len() == 20,
        "{} peers",
        peers.len()
    );
    if let Some(first) = peers.first() {
        let g = first.access_hash.unwrap();
        for p in &peers {
            assert_eq!(p.access_hash, Some(g));
            assert_eq!(
                p.usernames,
                [format!("u{}_{g}", p.id), format!("alias{}_{g}", p.id)]
            );
            assert_eq!(
                store.peer_by_username(&p.usernames[1]).unwrap().as_ref(),
                Some(p)
            );
            assert_eq!(
                store
                    .peer_by_phone(&format!("{}{g}", p.id))
                    .unwrap()
                    .as_ref(),
                Some(p)
            );
        }
        // Peers are written after the state in each generation.
        assert!(
            g == i64::from(i) || g == i64::from(i) - 1,
            "peers {g}, state {i}"
        );
    }
    if let Some(dc) = store.dc(2).unwrap() {
        let key = dc.auth_key.unwrap();
        assert!(key.iter().all(|&b| b == key[0]));
        assert_eq!(dc.addr, format!("10.0.0.{}:443", key[0]));
    }
    i
}

fn spawn(mode: &str, path: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(MODE, mode)
        .env(PATH, path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// The child's stdout lines, read on a thread.
fn lines(child: &mut Child) -> Receiver<String> {
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line starting with `prefix`.
fn wait_for(rx: &Receiver<String>, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            // The harness prints "test child ... " before the child's first line.
            Ok(line) => {
                if let Some(at) = line.find(prefix) {
                    return line[at..].to_string();
                }
            }
            Err(e) => panic!("the child never printed {prefix:?}: {e}"),
        }
    }
}

#[test]
fn another_process_is_refused_while_the_session_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.session");
    let store = SqliteStore::open(&path).unwrap();
    let mut other = spawn("open", &path);
    let rx = lines(&mut other);
    let line = wait_for(&rx, "result");
    assert_eq!(line, format!("result in-use {}", path.display()));
    assert!(other.wait().unwrap().success());

    drop(store);
    let mut other = spawn("open-when-free", &path);
    let rx = lines(&mut other);
    assert_eq!(wait_for(&rx, "result"), "result ok");
    assert!(other.wait().unwrap().success());
}

#[test]
fn the_lock_ends_when_its_process_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.session");
    let mut holder = spawn("hold", &path);
    let rx = lines(&mut holder);
    wait_for(&rx, "ready");
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    holder.kill().unwrap();
    holder.wait().unwrap();
    let store = SqliteStore::open(&path).unwrap();
    store.set_home_dc(1).unwrap();
}

#[test]
fn a_process_killed_while_writing_leaves_a_session_that_opens_with_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.session");
    let mut last = 0;
    // Kills at different moments: during the first writes, and later.
    for delay_ms in [0u64, 3, 20, 70, 150, 300] {
        let mut writer = spawn("write", &path);
        let rx = lines(&mut writer);
        wait_for(&rx, "ready");
        std::thread::sleep(Duration::from_millis(delay_ms));
        writer.kill().unwrap();
        writer.wait().unwrap();
        // Every generation the child reported committed must be there.
        let committed = rx
            .try_iter()
            .filter_map(|l| {
                let at = l.find("committed ")?;
                // A line cut by the kill has no number, or part of one: not counted.
                l[at + "committed ".len()..].parse::<i32>().ok()
            })
            .max()
            .unwrap_or(last);
        let store = SqliteStore::open(&path)
            .unwrap_or_else(|e| panic!("after a kill at {delay_ms} ms: {e}"));
        let found = check_generation(&store);
        assert!(
            found >= committed,
            "generation {committed} was committed, {found} found"
        );
        assert!(found >= last);
        eprintln!("kill after {delay_ms} ms: {committed} reported, generation {found} found");
        last = found;
        store.close().unwrap();
    }
    assert!(last > 0, "the children never committed anything");
}
