//! The SQLite store's file: schema versions and migrations, locking within one process, and
//! files it must refuse without touching them.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use tlgen_session::{
    DcEntry, PeerKind, PeerRecord, SessionStore, SqliteStore, StoreError, UpdateState,
};

/// The layout of schema version 1, as the first release wrote it: one `username` column in
/// `peer`, no update state. Kept here as it was; the crate migrates files like this.
const V1_DDL: &str = "
CREATE TABLE session (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    home_dc INTEGER,
    self_user INTEGER
) STRICT;
CREATE TABLE dc (
    id INTEGER PRIMARY KEY,
    addr TEXT NOT NULL,
    auth_key BLOB CHECK (auth_key IS NULL OR length(auth_key) = 256)
) STRICT;
CREATE TABLE peer (
    kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
    id INTEGER NOT NULL,
    access_hash INTEGER,
    min INTEGER NOT NULL CHECK (min IN (0, 1)),
    username TEXT,
    phone TEXT,
    seen_chat INTEGER,
    seen_msg INTEGER,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX peer_phone ON peer (phone) WHERE phone IS NOT NULL;
CREATE INDEX peer_username ON peer (username COLLATE NOCASE) WHERE username IS NOT NULL;
PRAGMA application_id = 1953261395;
PRAGMA user_version = 1;
";

fn session(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("test.session")
}

/// A version-1 session with a DC, a self user and three peers.
fn write_v1(path: &Path) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(V1_DDL).unwrap();
    let key: Vec<u8> = (0..=255).collect();
    conn.execute_batch(
        "INSERT INTO session VALUES (0, 2, 1006);
         INSERT INTO peer VALUES (1, 1006, -42, 0, 'Durov', '15550100', NULL, NULL);
         INSERT INTO peer VALUES (3, 1234567890, 77, 0, NULL, NULL, NULL, NULL);
         INSERT INTO peer VALUES (1, 2000, 5, 1, 'MinUser', NULL, -1001234567890, 34);",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO dc VALUES (2, '149.154.167.51:443', ?1)",
        [&key],
    )
    .unwrap();
}

#[test]
fn a_version_1_file_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    write_v1(&path);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.home_dc().unwrap(), Some(2));
    assert_eq!(store.self_user().unwrap(), Some(1006));
    let key: Vec<u8> = (0..=255).collect();
    assert_eq!(
        store.dc(2).unwrap(),
        Some(DcEntry {
            id: 2,
            addr: "149.154.167.51:443".into(),
            auth_key: Some(key.try_into().unwrap()),
        })
    );
    // The username column moved into the username table, lower case.
    let durov = store.peer_by_username("DUROV").unwrap().unwrap();
    assert_eq!(
        durov,
        PeerRecord {
            id: 1006,
            kind: PeerKind::User,
            access_hash: Some(-42),
            min: false,
            usernames: vec!["durov".into()],
            phone: Some("15550100".into()),
            seen_in: None,
        }
    );
    assert_eq!(store.peer_by_phone("15550100").unwrap(), Some(durov));
    let min = store.peer_by_username("minuser").unwrap().unwrap();
    assert_eq!((min.min, min.seen_in), (true, Some((-1001234567890, 34))));
    let channel = store.peer(PeerKind::Channel, 1234567890).unwrap().unwrap();
    assert!(channel.usernames.is_empty());
    // The update state is new and empty, and works.
    assert_eq!(store.update_state().unwrap(), UpdateState::default());
    store.set_channel_pts(1234567890, 9).unwrap();
    store.close().unwrap();

    // Upgraded on disk: reopening does not migrate again, and the header says version 2.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.channel_pts(1234567890).unwrap(), Some(9));
    store.close().unwrap();
    let conn = Connection::open(&path).unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
    assert_eq!(version, 2);
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('peer')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!columns.contains(&"username".to_string()), "{columns:?}");
}

#[test]
fn a_version_1_file_with_a_username_twice_keeps_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    write_v1(&path);
    let conn = Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO peer VALUES (1, 3000, 1, 0, 'durov', NULL, NULL, NULL)",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO peer VALUES (1, 3001, 1, 0, '', NULL, NULL, NULL)",
        [],
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let owner = store.peer_by_username("durov").unwrap().unwrap();
    assert!([1006, 3000].contains(&owner.id));
    assert!(store
        .peer(PeerKind::User, 3001)
        .unwrap()
        .unwrap()
        .usernames
        .is_empty());
}

#[test]
fn a_new_file_gets_the_current_schema_and_application_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    SqliteStore::open(&path).unwrap().close().unwrap();
    // Nothing is left beside it but the lock file (the WAL is folded in at close), and the
    // file is its owner's alone.
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["test.session", "test.session.lock"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }
    let conn = Connection::open(&path).unwrap();
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, SqliteStore::APPLICATION_ID);
    assert_eq!(&app.to_be_bytes(), b"tlgS");
    assert_eq!(version, 2);
    // An empty file (as a crash right after creating it leaves) is a new session too.
    let empty = dir.path().join("empty.session");
    std::fs::write(&empty, b"").unwrap();
    SqliteStore::open(&empty).unwrap().set_home_dc(1).unwrap();
}

#[test]
fn open_named_uses_the_session_extension() {
    assert_eq!(SqliteStore::file_name("bot"), PathBuf::from("bot.session"));
    assert_eq!(
        SqliteStore::file_name("bot.session"),
        PathBuf::from("bot.session")
    );
    assert_eq!(SqliteStore::file_name("a/b"), PathBuf::from("a/b.session"));
    let dir = tempfile::tempdir().unwrap();
    let name = dir.path().join("named");
    let store = SqliteStore::open_named(name.to_str().unwrap()).unwrap();
    assert_eq!(store.path(), dir.path().join("named.session"));
    assert!(dir.path().join("named.session").is_file());
}

#[test]
fn a_second_store_in_this_process_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    let first = SqliteStore::open(&path).unwrap();
    first.set_home_dc(3).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::InUse { path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "session file {} is in use by another client",
            path.display()
        )
    );
    // The first store still works after the refused attempt.
    first.set_home_dc(4).unwrap();
    drop(first);
    let second = SqliteStore::open(&path).unwrap();
    assert_eq!(second.home_dc().unwrap(), Some(4));
}

#[test]
fn another_program_holding_the_database_is_in_use_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    SqliteStore::open(&path).unwrap().close().unwrap();
    // Another program (not a tlgen client, so not holding the lock file) writing the file.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::InUse { path: p } if *p == path),
        "{err:?}"
    );
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    SqliteStore::open(&path).unwrap();
}

#[test]
fn errors_can_cross_threads() {
    fn send_sync<T: Send + Sync + std::error::Error + 'static>() {}
    send_sync::<StoreError>();
    send_sync::<tlgen_session::MarkedIdError>();
}

/// Opens `path`, expects it to fail, and checks that the file is byte for byte as it was
/// and that nothing was left beside it but the lock file.
fn refused(path: &Path) -> StoreError {
    let before = std::fs::read(path).unwrap();
    let err = SqliteStore::open(path).unwrap_err();
    assert_eq!(std::fs::read(path).unwrap(), before, "the file was changed");
    let dir = path.parent().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let file = path.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        names,
        [file.to_string(), format!("{file}.lock")],
        "files beside it"
    );
    // Refused the same way a second time (nothing was half-done the first time).
    let again = SqliteStore::open(path).unwrap_err();
    assert_eq!(again.to_string(), err.to_string());
    err
}

#[test]
fn a_file_that_is_not_sqlite_is_foreign_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    for bytes in [
        &b"{\"dc\": 2, \"auth_key\": \"...\"}"[..],
        &b"x"[..],
        &[0u8; 4096][..],
        &[0xffu8; 100_000][..],
    ] {
        std::fs::write(&path, bytes).unwrap();
        let err = refused(&path);
        assert!(
            matches!(&err, StoreError::Foreign { path: p, application_id: None } if *p == path),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{} is not a tlgen session file: it is not an SQLite database",
                path.display()
            )
        );
    }
}

#[test]
fn another_applications_database_is_foreign_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    // Another program's database, with its own application id.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA application_id = 0x0f055112; CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');",
    )
    .unwrap();
    drop(conn);
    let err = refused(&path);
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                application_id: Some(0x0f05_5112),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("another application (application_id 0x0f055112)"),
        "{err}"
    );

    // One without an application id (e.g. another library's session file).
    std::fs::remove_file(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, auth_key BLOB); PRAGMA user_version = 7;",
    )
    .unwrap();
    drop(conn);
    let err = refused(&path);
    assert!(
        matches!(
            err,
            StoreError::Foreign {
                application_id: Some(0),
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_newer_version_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    let store = SqliteStore::open(&path).unwrap();
    store.set_home_dc(2).unwrap();
    store.close().unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 3; CREATE TABLE from_the_future (x);")
        .unwrap();
    let err = refused(&path);
    assert!(
        matches!(&err, StoreError::NewerVersion { found: 3, supported: 2, path: p } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "session file {} has schema version 3, newer than this version of tlgen-session \
             supports (2); it was left unchanged",
            path.display()
        )
    );
}

/// A closed session with enough peers to span many pages.
fn big_session(path: &Path) -> Vec<u8> {
    let store = SqliteStore::open(path).unwrap();
    let peers: Vec<PeerRecord> = (1..=3000)
        .map(|i| PeerRecord {
            id: i,
            kind: PeerKind::User,
            access_hash: Some(i * 7919),
            min: false,
            usernames: vec![format!("user_number_{i}")],
            phone: Some(format!("1555{i:07}")),
            seen_in: None,
        })
        .collect();
    store.put_peers(&peers).unwrap();
    store.close().unwrap();
    std::fs::read(path).unwrap()
}

fn assert_corrupt(err: &StoreError, path: &Path) {
    assert!(
        matches!(err, StoreError::Corrupt { path: p, .. } if p == path),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("session file {} is corrupt: ", path.display())),
        "{err}"
    );
}

#[test]
fn truncated_files_are_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    let whole = big_session(&path);
    assert!(whole.len() > 100_000, "{}", whole.len());
    for len in [
        10,
        16,
        50,
        99,
        100,
        4096,
        whole.len() / 2,
        whole.len() - 4096,
    ] {
        std::fs::write(&path, &whole[..len]).unwrap();
        let err = refused(&path);
        assert_corrupt(&err, &path);
    }
}

#[test]
fn damaged_pages_are_corrupt_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    let whole = big_session(&path);
    // Garbage over a page in the middle (b-tree pages of the peer table or its indexes).
    let mut bytes = whole.clone();
    let mid = (bytes.len() / 2) / 4096 * 4096;
    for (i, b) in bytes[mid..mid + 4096].iter_mut().enumerate() {
        *b = (i * 31 + 7) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    assert_corrupt(&refused(&path), &path);

    // A damaged header (page size field).
    let mut bytes = whole.clone();
    bytes[16] = 0x12;
    bytes[17] = 0x34;
    std::fs::write(&path, &bytes).unwrap();
    assert_corrupt(&refused(&path), &path);
}

#[test]
fn a_session_with_an_unexpected_layout_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    SqliteStore::open(&path).unwrap().close().unwrap();
    // A trigger the crate never writes (a crafted file could run SQL on our writes).
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TRIGGER steal AFTER INSERT ON dc BEGIN DELETE FROM peer; END;")
        .unwrap();
    let err = refused(&path);
    assert_corrupt(&err, &path);
    assert!(err.to_string().contains("steal"), "{err}");

    // Our application id with schema version 0.
    std::fs::remove_file(&path).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA application_id = 1953261395; CREATE TABLE t (x);")
        .unwrap();
    assert_corrupt(&refused(&path), &path);

    // A version-1 header over a version-2 layout.
    std::fs::remove_file(&path).unwrap();
    SqliteStore::open(&path).unwrap().close().unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA user_version = 1;")
        .unwrap();
    assert_corrupt(&refused(&path), &path);
}

#[test]
fn values_that_break_the_constraints_are_found_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    SqliteStore::open(&path).unwrap().close().unwrap();
    // Bypass the CHECK constraints the way a crafted file would.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "PRAGMA ignore_check_constraints = ON;
         INSERT INTO dc VALUES (2, 'x', x'0102');
         INSERT INTO peer VALUES (9, 1, NULL, 0, NULL, NULL, NULL);",
    )
    .unwrap();
    drop(conn);
    let err = refused(&path);
    assert_corrupt(&err, &path);
    assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
}

#[test]
fn bad_values_that_pass_the_constraints_are_corrupt_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = session(&dir);
    SqliteStore::open(&path).unwrap().close().unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        "INSERT INTO username VALUES ('ghost', 9, 1, 0);
         INSERT INTO peer VALUES (1, 2, NULL, 1, NULL, 5, 1099511627776);
         INSERT INTO session VALUES (0, 4294967296, NULL) ON CONFLICT DO UPDATE SET home_dc = excluded.home_dc;
         INSERT INTO channel_pts VALUES (1, -4294967296);",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let errors = [
        store.peer_by_username("ghost").unwrap_err(),
        store.peer(PeerKind::User, 2).unwrap_err(),
        store.home_dc().unwrap_err(),
        store.update_state().unwrap_err(),
        store.channel_pts(1).unwrap_err(),
    ];
    for err in &errors {
        assert_corrupt(err, &path);
    }
    assert!(
        errors[0].to_string().contains("peer kind 9"),
        "{}",
        errors[0]
    );
    // The rest of the session still works.
    store.set_home_dc(2).unwrap();
    assert_eq!(store.home_dc().unwrap(), Some(2));
}

#[test]
fn errors_name_the_path_and_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the session file should be.
    let path = dir.path().join("dir.session");
    std::fs::create_dir(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: could not read the file header: ",
            path.display()
        )),
        "{text}"
    );
    assert!(std::error::Error::source(&err).is_some());

    // A directory that does not exist: the lock file cannot be created.
    let path = dir.path().join("missing").join("x.session");
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("x.session.lock: could not open the session's lock file"),
        "{err}"
    );
}
