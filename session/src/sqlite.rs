//! The SQLite store: one file per session.

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::types::Type;
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, TransactionBehavior,
};

use crate::merge::{self, normalize};
use crate::{DcEntry, PeerKind, PeerRecord, SessionStore, StoreError, UpdateState};

mod schema;

/// A session in one SQLite file.
///
/// [`SqliteStore::open`] takes an exclusive lock on the session (through a lock file beside
/// it, `<file>.lock`, locked with the operating system's advisory lock), so that a second
/// client, in this process or another, gets [`StoreError::InUse`] instead of two clients
/// writing one session. The lock ends when the store is dropped or the process ends, however
/// it ends. The lock file stays when the store closes (it holds nothing; removing it could
/// let two clients lock two different files); a new session file is created readable by its
/// owner only (on Unix), since it holds auth keys. The lock belongs to the open lock file:
/// a child process forked while the store is open shares it until it execs (the descriptor
/// closes on exec) or exits.
///
/// The file is checked before anything is written to it: a file that is not SQLite, belongs
/// to another application, is damaged, or was written by a newer version of this crate gives
/// a typed error ([`StoreError::Foreign`], [`StoreError::Corrupt`],
/// [`StoreError::NewerVersion`]) and is left as it was. An older layout is migrated in one
/// transaction. Each method is one transaction, in WAL mode with `synchronous = FULL`: a
/// process killed at any point leaves a file that opens with every committed write.
///
/// ```
/// use tlgen_session::{PeerKind, PeerRecord, SessionStore, SqliteStore, StoreError};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join(SqliteStore::file_name("main"));
/// assert!(path.ends_with("main.session"));
///
/// let store = SqliteStore::open(&path)?;
/// store.set_home_dc(4)?;
/// store.set_self_user(Some(777000))?;
///
/// // A second client of the same file is told plainly.
/// match SqliteStore::open(&path) {
///     Err(StoreError::InUse { path: p }) => assert_eq!(p, path),
///     other => panic!("{other:?}"),
/// }
///
/// drop(store);
/// let store = SqliteStore::open(&path)?;
/// assert_eq!(store.home_dc()?, Some(4));
/// assert_eq!(store.self_user()?, Some(777000));
/// # Ok::<(), StoreError>(())
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    // Dropped in order: the connection (which checkpoints and closes the file) before the lock.
    conn: Mutex<Connection>,
    path: PathBuf,
    _lock: File,
}

/// The `application_id` in the header of every session file: `"tlgS"`.
const APPLICATION_ID: i32 = i32::from_be_bytes(*b"tlgS");

/// What the header says about a file, before anything is written to it.
enum Found {
    /// An empty database (a new or empty file): the current schema is created.
    Fresh,
    /// A session of this schema version (1 ..= current).
    Version(u32),
}

impl SqliteStore {
    /// The newest schema version, the one this crate writes.
    pub const SCHEMA_VERSION: u32 = schema::CURRENT;

    /// The `application_id` in the header of every session file: `"tlgS"` as a big-endian
    /// `i32`. A file with another id is [`StoreError::Foreign`].
    pub const APPLICATION_ID: i32 = APPLICATION_ID;

    /// The file name of the session called `name`: `<name>.session` (unchanged if `name`
    /// already ends in `.session`).
    pub fn file_name(name: &str) -> PathBuf {
        if name.ends_with(".session") {
            PathBuf::from(name)
        } else {
            PathBuf::from(format!("{name}.session"))
        }
    }

    /// Opens the session called `name`: the file [`SqliteStore::file_name`] gives, relative
    /// to the current directory.
    pub fn open_named(name: &str) -> Result<Self, StoreError> {
        Self::open(Self::file_name(name))
    }

    /// Opens (or creates) the session file at `path`, locks it, checks it and migrates it to
    /// the current schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let lock = lock(&path)?;
        precheck(&path)?;
        create_private(&path)?;
        let mut conn = connect(&path)?;
        let found = inspect(&conn, &path)?;
        prepare(&mut conn, &path, found)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
            _lock: lock,
        })
    }

    /// The session file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the session, reporting what dropping it would ignore (a failed final
    /// checkpoint), and releases the lock.
    pub fn close(self) -> Result<(), StoreError> {
        let conn = self.conn.into_inner().unwrap_or_else(|e| e.into_inner());
        conn.close()
            .map_err(|(_, e)| classify(&self.path, "close the database", e))
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A transaction that panicked midway was rolled back when its guard dropped.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` in one transaction.
    fn run<T>(
        &self,
        action: &'static str,
        write: bool,
        f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn();
        let behavior = if write {
            TransactionBehavior::Immediate
        } else {
            TransactionBehavior::Deferred
        };
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| classify(&self.path, action, e))?;
        let value = f(&tx).map_err(|e| classify(&self.path, action, e))?;
        tx.commit().map_err(|e| classify(&self.path, action, e))?;
        Ok(value)
    }
}

/// `<path>.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the session's lock, or says who has it.
fn lock(path: &Path) -> Result<File, StoreError> {
    let lock_path = lock_path(path);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|source| StoreError::Io {
            path: lock_path.clone(),
            action: "open the session's lock file",
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(source)) => Err(StoreError::Io {
            path: lock_path,
            action: "lock the session's lock file",
            source,
        }),
    }
}

/// Creates the session file, if there is none, readable and writable by its owner only (on
/// Unix): it holds auth keys. SQLite gives its WAL file the same permissions.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            action: "create the session file",
            source,
        }),
    }
}

/// Opens the connection with settings that read nothing and write nothing yet.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let err = |action| move |e| classify(path, action, e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err("open the database"))?;
    // Our own lock keeps other clients out; whoever else holds the file (another program
    // reading it) makes us fail at once rather than wait.
    conn.busy_timeout(Duration::ZERO)
        .map_err(err("configure the database"))?;
    // The file is untrusted: nothing in it may run code or write the schema behind SQLite.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)
        .map_err(err("configure the database"))?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)
        .map_err(err("configure the database"))?;
    conn.pragma_update(None, "cell_size_check", true)
        .map_err(err("configure the database"))?;
    // No shared-memory file, and no other connection while this one is open.
    conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(err("configure the database"))?;
    Ok(conn)
}

/// The error for what SQLite said while reading and checking a file not yet accepted: a
/// failure that is not the machine's (busy, I/O, permissions, memory, disk) comes from the
/// file's contents, such as a damaged schema text that no longer parses.
fn checking_error(path: &Path, action: &'static str, e: rusqlite::Error) -> StoreError {
    let environmental = matches!(
        e.sqlite_error_code(),
        Some(
            ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::OutOfMemory
                | ErrorCode::ReadOnly
                | ErrorCode::SystemIoFailure
                | ErrorCode::DiskFull
                | ErrorCode::CannotOpen
                | ErrorCode::PermissionDenied
                | ErrorCode::FileLockingProtocolFailed
                | ErrorCode::NoLargeFileSupport
                | ErrorCode::OperationInterrupted
        )
    );
    match classify(path, action, e) {
        StoreError::Database { source, .. } if !environmental => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("{source} (while trying to {action})"),
        },
        other => other,
    }
}

/// Reads the header and checks the file; writes nothing.
fn inspect(conn: &Connection, path: &Path) -> Result<Found, StoreError> {
    let err = |e| checking_error(path, "read the database header", e);
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(err)?;
    if app == 0 && version == 0 && objects == 0 {
        return Ok(Found::Fresh);
    }
    if app != APPLICATION_ID {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            application_id: Some(app),
        });
    }
    let version = match u32::try_from(version) {
        Ok(0) | Err(_) => {
            return Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: format!("schema version {version} in a session file"),
            })
        }
        Ok(v) if v > schema::CURRENT => {
            return Err(StoreError::NewerVersion {
                path: path.to_path_buf(),
                found: v,
                supported: schema::CURRENT,
            })
        }
        Ok(v) => v,
    };
    quick_check(conn, path)?;
    schema::verify(conn, version).map_err(|detail| StoreError::Corrupt {
        path: path.to_path_buf(),
        detail,
    })?;
    Ok(Found::Version(version))
}

/// SQLite's own consistency check of every page (without the slower index comparisons).
fn quick_check(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| checking_error(path, "check the database", e))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| checking_error(path, "check the database", e))?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: path.to_path_buf(),
        detail: rows.join("; "),
    })
}

/// Switches to WAL and creates or migrates the schema, in one transaction.
fn prepare(conn: &mut Connection, path: &Path, found: Found) -> Result<(), StoreError> {
    let err = |action| move |e| classify(path, action, e);
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(err("switch the database to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Other(format!(
            "session file {}: could not switch to WAL mode (journal mode is {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(err("configure the database"))?;
    if matches!(found, Found::Version(schema::CURRENT)) {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err("begin the schema transaction"))?;
    match found {
        Found::Fresh => schema::create(&tx).map_err(err("create the schema"))?,
        Found::Version(v) => schema::migrate(&tx, v).map_err(err("migrate the schema"))?,
    }
    schema::verify(&tx, schema::CURRENT).map_err(|detail| {
        StoreError::Other(format!(
            "session file {}: the schema written does not match: {detail}",
            path.display()
        ))
    })?;
    tx.commit().map_err(err("commit the schema"))
}

/// The typed error for what SQLite said while doing `action`.
fn classify(path: &Path, action: &'static str, e: rusqlite::Error) -> StoreError {
    let path_buf = path.to_path_buf();
    match &e {
        // A schema format number SQLite does not know (header bytes 44..48).
        rusqlite::Error::SqliteFailure(f, Some(m))
            if f.code == ErrorCode::Unknown && m == "unsupported file format" =>
        {
            return StoreError::Corrupt {
                path: path_buf,
                detail: format!("{m} (while trying to {action})"),
            }
        }
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::InUse { path: path_buf }
            }
            ErrorCode::NotADatabase => return not_a_database(path, &e),
            ErrorCode::DatabaseCorrupt => {
                return StoreError::Corrupt {
                    path: path_buf,
                    detail: format!("{e} (while trying to {action})"),
                }
            }
            _ => {}
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => {
            return StoreError::Corrupt {
                path: path_buf,
                detail: format!("unexpected value while trying to {action}: {e}"),
            }
        }
        _ => {}
    }
    StoreError::Database {
        path: path_buf,
        action,
        source: Box::new(e),
    }
}

/// The first bytes of every SQLite database.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Up to the first 16 bytes of the file; empty if there is no file.
fn head(path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut head = Vec::with_capacity(16);
    match File::open(path).and_then(|f| f.take(16).read_to_end(&mut head)) {
        Ok(_) => Ok(head),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            action: "read the file header",
            source,
        }),
    }
}

/// Refuses a file that does not start like SQLite before SQLite sees it: SQLite itself would
/// take a file of zeros for an empty database and write over it.
///
/// Skipped while a rollback journal or a WAL file lies beside it: then the file may be in the
/// middle of a write that SQLite will finish or undo, and SQLite's own checks follow.
fn precheck(path: &Path) -> Result<(), StoreError> {
    for suffix in ["-journal", "-wal"] {
        let mut name = OsString::from(path.as_os_str());
        name.push(suffix);
        if Path::new(&name).exists() {
            return Ok(());
        }
    }
    let head = head(path)?;
    if head.is_empty() || head.as_slice() == MAGIC {
        Ok(())
    } else if MAGIC.starts_with(&head) {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "the file is {} bytes long, shorter than an SQLite header",
                head.len()
            ),
        })
    } else {
        Err(StoreError::Foreign {
            path: path.to_path_buf(),
            application_id: None,
        })
    }
}

/// SQLite's "file is not a database": damaged if it starts like SQLite, foreign otherwise.
fn not_a_database(path: &Path, e: &rusqlite::Error) -> StoreError {
    match head(path) {
        Ok(head) if MAGIC.starts_with(&head) => StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("{e}: the SQLite header is damaged or truncated"),
        },
        Ok(_) => StoreError::Foreign {
            path: path.to_path_buf(),
            application_id: None,
        },
        Err(err) => err,
    }
}

/// A row value that no valid session holds.
fn bad_value(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Integer, what.into())
}

fn kind_code(kind: PeerKind) -> i64 {
    match kind {
        PeerKind::User => 1,
        PeerKind::Chat => 2,
        PeerKind::Channel => 3,
    }
}

fn kind_from(code: i64, column: usize) -> rusqlite::Result<PeerKind> {
    match code {
        1 => Ok(PeerKind::User),
        2 => Ok(PeerKind::Chat),
        3 => Ok(PeerKind::Channel),
        other => Err(bad_value(column, format!("peer kind {other}"))),
    }
}

fn read_dc(row: &rusqlite::Row<'_>) -> rusqlite::Result<DcEntry> {
    let auth_key = match row.get_ref(2)?.as_blob_or_null()? {
        None => None,
        Some(bytes) => Some(
            <[u8; 256]>::try_from(bytes)
                .map_err(|_| bad_value(2, format!("auth key of {} bytes, not 256", bytes.len())))?,
        ),
    };
    Ok(DcEntry {
        id: row.get(0)?,
        addr: row.get(1)?,
        auth_key,
    })
}

fn load_peer(
    tx: &Transaction<'_>,
    kind: PeerKind,
    id: i64,
) -> rusqlite::Result<Option<PeerRecord>> {
    let row = tx
        .prepare_cached(
            "SELECT access_hash, min, phone, seen_chat, seen_msg FROM peer \
             WHERE kind = ?1 AND id = ?2",
        )?
        .query_row(params![kind_code(kind), id], |r| {
            let min = match r.get::<_, i64>(1)? {
                0 => false,
                1 => true,
                other => return Err(bad_value(1, format!("min flag {other}"))),
            };
            let seen_in = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i32>>(4)?) {
                (Some(chat), Some(msg)) => Some((chat, msg)),
                _ => None,
            };
            Ok((
                r.get::<_, Option<i64>>(0)?,
                min,
                r.get::<_, Option<String>>(2)?,
                seen_in,
            ))
        })
        .optional()?;
    let Some((access_hash, min, phone, seen_in)) = row else {
        return Ok(None);
    };
    let usernames = tx
        .prepare_cached("SELECT name FROM username WHERE kind = ?1 AND id = ?2 ORDER BY pos")?
        .query_map(params![kind_code(kind), id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Some(PeerRecord {
        id,
        kind,
        access_hash,
        min,
        usernames,
        phone,
        seen_in,
    }))
}

fn store_peer(tx: &Transaction<'_>, record: &PeerRecord) -> rusqlite::Result<()> {
    let new = normalize(record);
    let old = load_peer(tx, new.kind, new.id)?;
    let stored = merge::merge(old.as_ref(), &new);
    if old.as_ref() == Some(&stored) {
        return Ok(());
    }
    let kind = kind_code(stored.kind);
    if let Some(phone) = &stored.phone {
        tx.prepare_cached(
            "UPDATE peer SET phone = NULL WHERE phone = ?1 AND NOT (kind = ?2 AND id = ?3)",
        )?
        .execute(params![phone, kind, stored.id])?;
    }
    tx.prepare_cached(
        "INSERT OR REPLACE INTO peer (kind, id, access_hash, min, phone, seen_chat, seen_msg) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        kind,
        stored.id,
        stored.access_hash,
        i64::from(stored.min),
        stored.phone,
        stored.seen_in.map(|s| s.0),
        stored.seen_in.map(|s| s.1),
    ])?;
    tx.prepare_cached("DELETE FROM username WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind, stored.id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO username (name, kind, id, pos) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (pos, name) in stored.usernames.iter().enumerate() {
        insert.execute(params![name, kind, stored.id, pos as i64])?;
    }
    Ok(())
}

impl SessionStore for SqliteStore {
    fn home_dc(&self) -> Result<Option<i32>, StoreError> {
        self.run("read the home DC", false, |tx| {
            Ok(tx
                .query_row("SELECT home_dc FROM session WHERE only = 0", [], |r| {
                    r.get(0)
                })
                .optional()?
                .flatten())
        })
    }

    fn set_home_dc(&self, dc: i32) -> Result<(), StoreError> {
        self.run("store the home DC", true, |tx| {
            tx.execute("INSERT OR IGNORE INTO session (only) VALUES (0)", [])?;
            tx.execute("UPDATE session SET home_dc = ?1 WHERE only = 0", [dc])?;
            Ok(())
        })
    }

    fn dc(&self, id: i32) -> Result<Option<DcEntry>, StoreError> {
        self.run("read a DC", false, |tx| {
            tx.prepare_cached("SELECT id, addr, auth_key FROM dc WHERE id = ?1")?
                .query_row([id], read_dc)
                .optional()
        })
    }

    fn dcs(&self) -> Result<Vec<DcEntry>, StoreError> {
        self.run("read the DCs", false, |tx| {
            tx.prepare_cached("SELECT id, addr, auth_key FROM dc ORDER BY id")?
                .query_map([], read_dc)?
                .collect()
        })
    }

    fn set_dc(&self, dc: &DcEntry) -> Result<(), StoreError> {
        self.run("store a DC", true, |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO dc (id, addr, auth_key) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                dc.id,
                dc.addr,
                dc.auth_key.as_ref().map(|k| &k[..])
            ])?;
            Ok(())
        })
    }

    fn self_user(&self) -> Result<Option<i64>, StoreError> {
        self.run("read the signed-in user", false, |tx| {
            Ok(tx
                .query_row("SELECT self_user FROM session WHERE only = 0", [], |r| {
                    r.get(0)
                })
                .optional()?
                .flatten())
        })
    }

    fn set_self_user(&self, id: Option<i64>) -> Result<(), StoreError> {
        self.run("store the signed-in user", true, |tx| {
            tx.execute("INSERT OR IGNORE INTO session (only) VALUES (0)", [])?;
            tx.execute("UPDATE session SET self_user = ?1 WHERE only = 0", [id])?;
            Ok(())
        })
    }

    fn put_peers(&self, peers: &[PeerRecord]) -> Result<(), StoreError> {
        self.run("store peers", true, |tx| {
            peers.iter().try_for_each(|record| store_peer(tx, record))
        })
    }

    fn peer(&self, kind: PeerKind, id: i64) -> Result<Option<PeerRecord>, StoreError> {
        self.run("read a peer", false, |tx| load_peer(tx, kind, id))
    }

    fn peer_by_username(&self, username: &str) -> Result<Option<PeerRecord>, StoreError> {
        let key = merge::username_key(username);
        self.run("find a peer by username", false, |tx| {
            let owner = tx
                .prepare_cached("SELECT kind, id FROM username WHERE name = ?1")?
                .query_row([&key], |r| Ok((kind_from(r.get(0)?, 0)?, r.get(1)?)))
                .optional()?;
            match owner {
                Some((kind, id)) => load_peer(tx, kind, id),
                None => Ok(None),
            }
        })
    }

    fn peer_by_phone(&self, phone: &str) -> Result<Option<PeerRecord>, StoreError> {
        let key = merge::phone_key(phone);
        if key.is_empty() {
            return Ok(None);
        }
        self.run("find a user by phone", false, |tx| {
            let id = tx
                .prepare_cached("SELECT id FROM peer WHERE phone = ?1 AND kind = 1 LIMIT 1")?
                .query_row([&key], |r| r.get(0))
                .optional()?;
            match id {
                Some(id) => load_peer(tx, PeerKind::User, id),
                None => Ok(None),
            }
        })
    }

    fn update_state(&self) -> Result<UpdateState, StoreError> {
        self.run("read the update state", false, |tx| {
            let (pts, qts, date, seq) = tx
                .query_row(
                    "SELECT pts, qts, date, seq FROM update_state WHERE only = 0",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?
                .unwrap_or_default();
            let channels = tx
                .prepare_cached("SELECT id, pts FROM channel_pts ORDER BY id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(UpdateState {
                pts,
                qts,
                date,
                seq,
                channels,
            })
        })
    }

    fn set_update_state(&self, state: &UpdateState) -> Result<(), StoreError> {
        self.run("store the update state", true, |tx| {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO update_state (only, pts, qts, date, seq) \
                 VALUES (0, ?1, ?2, ?3, ?4)",
            )?
            .execute(params![state.pts, state.qts, state.date, state.seq])?;
            tx.execute("DELETE FROM channel_pts", [])?;
            let mut insert =
                tx.prepare_cached("INSERT INTO channel_pts (id, pts) VALUES (?1, ?2)")?;
            for (id, pts) in merge::channels(state) {
                insert.execute(params![id, pts])?;
            }
            Ok(())
        })
    }

    fn channel_pts(&self, channel: i64) -> Result<Option<i32>, StoreError> {
        self.run("read a channel's pts", false, |tx| {
            tx.prepare_cached("SELECT pts FROM channel_pts WHERE id = ?1")?
                .query_row([channel], |r| r.get(0))
                .optional()
        })
    }

    fn set_channel_pts(&self, channel: i64, pts: i32) -> Result<(), StoreError> {
        self.run("store a channel's pts", true, |tx| {
            tx.prepare_cached("INSERT OR REPLACE INTO channel_pts (id, pts) VALUES (?1, ?2)")?
                .execute(params![channel, pts])?;
            Ok(())
        })
    }
}
