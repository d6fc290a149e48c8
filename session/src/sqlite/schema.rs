//! The session file's schema, its versions and the migrations between them.
//!
//! Version 1: `session` (home DC, signed-in user), `dc`, and `peer` with one `username`
//! column. Version 2 (current): usernames in their own table (several a peer, looked up
//! without regard to case), and the update state (`update_state`, `channel_pts`).
//!
//! A new version adds a `migrate_N` below, a row in `LAYOUTS`, and a test that opens a file
//! of every older version.

use rusqlite::{params, Connection, Transaction};

use crate::merge::username_key;

/// The newest schema version.
pub(super) const CURRENT: u32 = 2;

const SESSION: &str = "CREATE TABLE session (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    home_dc INTEGER,
    self_user INTEGER
) STRICT";

const DC: &str = "CREATE TABLE dc (
    id INTEGER PRIMARY KEY,
    addr TEXT NOT NULL,
    auth_key BLOB CHECK (auth_key IS NULL OR length(auth_key) = 256)
) STRICT";

const PEER: &str = "CREATE TABLE peer (
    kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
    id INTEGER NOT NULL,
    access_hash INTEGER,
    min INTEGER NOT NULL CHECK (min IN (0, 1)),
    phone TEXT,
    seen_chat INTEGER,
    seen_msg INTEGER,
    PRIMARY KEY (kind, id)
) STRICT, WITHOUT ROWID";

const PEER_PHONE: &str = "CREATE INDEX peer_phone ON peer (phone) WHERE phone IS NOT NULL";

const USERNAME: &str = "CREATE TABLE username (
    name TEXT NOT NULL PRIMARY KEY COLLATE NOCASE,
    kind INTEGER NOT NULL,
    id INTEGER NOT NULL,
    pos INTEGER NOT NULL
) STRICT";

const USERNAME_PEER: &str = "CREATE INDEX username_peer ON username (kind, id, pos)";

const UPDATE_STATE: &str = "CREATE TABLE update_state (
    only INTEGER PRIMARY KEY CHECK (only = 0),
    pts INTEGER NOT NULL,
    qts INTEGER NOT NULL,
    date INTEGER NOT NULL,
    seq INTEGER NOT NULL
) STRICT";

const CHANNEL_PTS: &str = "CREATE TABLE channel_pts (
    id INTEGER PRIMARY KEY,
    pts INTEGER NOT NULL
) STRICT";

/// One schema object: type, name, and for tables the columns in order.
type Object = (&'static str, &'static str, &'static [&'static str]);

/// What each version's file holds (besides SQLite's own `sqlite_autoindex_*`), by name.
const LAYOUTS: [&[Object]; CURRENT as usize] = [
    // Version 1.
    &[
        ("table", "dc", &["id", "addr", "auth_key"]),
        (
            "table",
            "peer",
            &[
                "kind",
                "id",
                "access_hash",
                "min",
                "username",
                "phone",
                "seen_chat",
                "seen_msg",
            ],
        ),
        ("index", "peer_phone", &[]),
        ("index", "peer_username", &[]),
        ("table", "session", &["only", "home_dc", "self_user"]),
    ],
    // Version 2.
    &[
        ("table", "channel_pts", &["id", "pts"]),
        ("table", "dc", &["id", "addr", "auth_key"]),
        (
            "table",
            "peer",
            &[
                "kind",
                "id",
                "access_hash",
                "min",
                "phone",
                "seen_chat",
                "seen_msg",
            ],
        ),
        ("index", "peer_phone", &[]),
        ("table", "session", &["only", "home_dc", "self_user"]),
        (
            "table",
            "update_state",
            &["only", "pts", "qts", "date", "seq"],
        ),
        ("table", "username", &["name", "kind", "id", "pos"]),
        ("index", "username_peer", &[]),
    ],
];

/// Creates the current schema in an empty database.
pub(super) fn create(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    for ddl in [
        SESSION,
        DC,
        PEER,
        PEER_PHONE,
        USERNAME,
        USERNAME_PEER,
        UPDATE_STATE,
        CHANNEL_PTS,
    ] {
        tx.execute(ddl, [])?;
    }
    tx.execute("INSERT INTO session (only) VALUES (0)", [])?;
    tx.execute("INSERT INTO update_state VALUES (0, 0, 0, 0, 0)", [])?;
    tx.pragma_update(None, "application_id", super::APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", CURRENT)?;
    Ok(())
}

/// Migrates from `from` (1 ..= CURRENT - 1) to the current version.
pub(super) fn migrate(tx: &Transaction<'_>, from: u32) -> rusqlite::Result<()> {
    for version in from..CURRENT {
        match version {
            1 => migrate_1(tx)?,
            // `from` comes from a checked header (1 ..= CURRENT - 1): never reached.
            _ => {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                    Some(format!("no migration from schema version {version}")),
                ))
            }
        }
        tx.pragma_update(None, "user_version", version + 1)?;
    }
    Ok(())
}

/// 1 → 2: the `username` column becomes the `username` table; the update state is added.
fn migrate_1(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(USERNAME, [])?;
    tx.execute(USERNAME_PEER, [])?;
    {
        let mut select =
            tx.prepare("SELECT kind, id, username FROM peer WHERE username IS NOT NULL")?;
        let mut insert = tx.prepare(
            "INSERT OR IGNORE INTO username (name, kind, id, pos) VALUES (?1, ?2, ?3, 0)",
        )?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            let name = username_key(&row.get::<_, String>(2)?);
            if !name.is_empty() {
                insert.execute(params![name, row.get::<_, i64>(0)?, row.get::<_, i64>(1)?])?;
            }
        }
    }
    tx.execute("DROP INDEX peer_username", [])?;
    tx.execute("ALTER TABLE peer DROP COLUMN username", [])?;
    tx.execute(UPDATE_STATE, [])?;
    tx.execute("INSERT INTO update_state VALUES (0, 0, 0, 0, 0)", [])?;
    tx.execute(CHANNEL_PTS, [])?;
    Ok(())
}

/// Checks that the file holds exactly the objects of `version` (no more: no triggers or
/// views that a crafted file could bring), with the expected columns.
pub(super) fn verify(conn: &Connection, version: u32) -> Result<(), String> {
    let expected = usize::try_from(version)
        .ok()
        .and_then(|v| v.checked_sub(1))
        .and_then(|i| LAYOUTS.get(i))
        .ok_or_else(|| format!("no layout for schema version {version}"))?;
    let sql_err = |e: rusqlite::Error| format!("could not read the schema: {e}");
    let mut stmt = conn
        .prepare(
            "SELECT type, name FROM sqlite_schema \
             WHERE name NOT LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\' ORDER BY name",
        )
        .map_err(sql_err)?;
    let found: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .map_err(sql_err)?;
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|(t, n)| (t.as_str(), n.as_str()))
        .collect();
    let want: Vec<(&str, &str)> = expected.iter().map(|&(t, n, _)| (t, n)).collect();
    if names != want {
        return Err(format!(
            "schema version {version} should hold {want:?} but holds {names:?}"
        ));
    }
    let mut columns = conn
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .map_err(sql_err)?;
    for &(kind, table, want) in expected.iter() {
        if kind != "table" {
            continue;
        }
        let found: Vec<String> = columns
            .query_map([table], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(sql_err)?;
        if found != want {
            return Err(format!(
                "table {table} of schema version {version} should have columns {want:?} but \
                 has {found:?}"
            ));
        }
    }
    Ok(())
}
