//! Telling a gateway session file from a Telethon one without changing either: [`inspect`].
//!
//! A file in rollback-journal mode (every Telethon file: Telethon never switches to WAL) is
//! opened through an SQLite URI with `mode=ro&immutable=1`: no lock, no journal, no `-wal` or
//! `-shm` file, not one byte written. A file already in WAL mode was opened by this store before
//! (ours, or a Telethon file an older gateway converted in place), so it is opened normally.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::Path;

use libsql::{Connection, Value};

use crate::SessionError;
use crate::schema::BUSY_TIMEOUT;
use crate::telethon::TelethonSession;

/// What a session file at a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// No file.
    Missing,
    /// An empty file or an SQLite database with no table: ours to initialise.
    Empty,
    /// This crate's schema (possibly beside Telethon's tables, once signed in through us).
    Gateway,
    /// Telethon's schema (`version`, `sessions`, `entities`, …); `state` when it has an
    /// `update_state` table (Telethon session version 4 and later).
    Telethon {
        /// Whether `update_state` exists.
        state: bool,
    },
}

/// SQLite's 16-byte magic at the start of every database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Classifies the file at `path` without writing to it.
///
/// Errors: [`SessionError::NotASession`] for a file that is not an SQLite database, cannot be
/// read as one, or holds neither schema; [`SessionError::Io`] when it cannot be read.
pub(crate) async fn inspect(path: &Path) -> Result<FileKind, SessionError> {
    let io = |source| SessionError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut header = Vec::with_capacity(100);
    match std::fs::File::open(path) {
        Ok(file) => file.take(100).read_to_end(&mut header).map_err(io)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::Missing),
        Err(e) => return Err(io(e)),
    };
    if header.is_empty() {
        return Ok(FileKind::Empty);
    }
    if header.len() < 100 || !header.starts_with(SQLITE_MAGIC) {
        return Err(not_a_session(path, "it is not an SQLite database"));
    }
    let conn = open_for_reading(path, header[18] == 2 || header[19] == 2).await?;
    let tables = tables(&conn)
        .await
        .map_err(|e| not_a_session(path, &format!("SQLite cannot read it ({e})")))?;
    classify(&conn, path, &tables).await
}

/// Reads the Telethon session at `path` (which [`inspect`] found to be one) without writing.
pub(crate) async fn read_telethon(path: &Path) -> Result<TelethonSession, SessionError> {
    let kind = inspect(path).await?;
    let FileKind::Telethon { state } = kind else {
        return Err(not_a_session(path, "it is not a Telethon session"));
    };
    let header_wal = {
        let mut header = [0u8; 20];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut header))
            .map_err(|source| SessionError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        header[18] == 2 || header[19] == 2
    };
    let conn = open_for_reading(path, header_wal).await?;
    TelethonSession::read(&conn, state).await
}

/// A connection that cannot change the file: immutable read-only for rollback-journal files,
/// a normal one (with the busy timeout) for WAL files, which need the shared-memory index.
async fn open_for_reading(path: &Path, wal: bool) -> Result<Connection, SessionError> {
    let open_err = |source| SessionError::Sql {
        op: "inspect",
        source,
    };
    let target = if wal {
        path.to_string_lossy().into_owned()
    } else {
        format!("file:{}?mode=ro&immutable=1", uri_path(path))
    };
    let mut builder = libsql::Builder::new_local(target);
    if !wal {
        builder = builder.flags(libsql::OpenFlags::SQLITE_OPEN_READ_ONLY);
    }
    let db = builder.build().await.map_err(open_err)?;
    let conn = db.connect().map_err(open_err)?;
    if wal {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    }
    Ok(conn)
}

/// `path` with the characters an SQLite URI gives a meaning (`%`, `?`, `#`) percent-encoded.
fn uri_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

type Tables = BTreeMap<String, BTreeSet<String>>;

/// Every table with its column names (lower case).
async fn tables(conn: &Connection) -> libsql::Result<Tables> {
    let mut rows = conn
        .query(
            "SELECT m.name, p.name FROM sqlite_schema AS m, pragma_table_info(m.name) AS p
             WHERE m.type = 'table'",
            (),
        )
        .await?;
    let mut tables = Tables::new();
    while let Some(row) = rows.next().await? {
        if let (Value::Text(table), Value::Text(column)) = (row.get_value(0)?, row.get_value(1)?) {
            tables
                .entry(table.to_lowercase())
                .or_default()
                .insert(column.to_lowercase());
        }
    }
    Ok(tables)
}

fn has(tables: &Tables, table: &str, columns: &[&str]) -> bool {
    tables
        .get(table)
        .is_some_and(|have| columns.iter().all(|c| have.contains(*c)))
}

async fn classify(
    conn: &Connection,
    path: &Path,
    tables: &Tables,
) -> Result<FileKind, SessionError> {
    // Telethon's `sqlite.py`: the `version` table, `sessions(dc_id, server_address, port,
    // auth_key, …)` and `entities(id, hash, …)` exist since its first schema version;
    // `update_state` since version 4.
    let telethon = has(tables, "version", &["version"])
        && has(
            tables,
            "sessions",
            &["dc_id", "server_address", "port", "auth_key"],
        )
        && has(tables, "entities", &["id", "hash"]);
    let ours = has(tables, "home_dc", &["dc_id"])
        && has(tables, "dc_option", &["dc_id", "ipv4", "ipv6", "auth_key"])
        && has(tables, "peer", &["peer_id", "access_hash"]);
    let telethon_kind = FileKind::Telethon {
        state: has(tables, "update_state", &["id", "pts", "qts", "date", "seq"]),
    };
    match (telethon, ours) {
        // A Telethon file an older gateway opened in place: ours only once it was signed in
        // through us; until then Telethon's key is the only login it holds.
        (true, true) => {
            let signed_in = count(
                conn,
                "SELECT count(*) FROM dc_option WHERE auth_key IS NOT NULL",
            )
            .await
            .map_err(|e| not_a_session(path, &format!("SQLite cannot read it ({e})")))?;
            Ok(if signed_in > 0 {
                FileKind::Gateway
            } else {
                telethon_kind
            })
        }
        (true, false) => Ok(telethon_kind),
        (false, true) => Ok(FileKind::Gateway),
        (false, false) if tables.is_empty() => Ok(FileKind::Empty),
        (false, false) => {
            let names: Vec<&str> = tables.keys().map(String::as_str).collect();
            Err(not_a_session(
                path,
                &format!(
                    "it is an SQLite database with other tables ({})",
                    names.join(", ")
                ),
            ))
        }
    }
}

async fn count(conn: &Connection, sql: &str) -> libsql::Result<i64> {
    let mut rows = conn.query(sql, ()).await?;
    Ok(match rows.next().await? {
        Some(row) => match row.get_value(0)? {
            Value::Integer(n) => n,
            _ => 0,
        },
        None => 0,
    })
}

fn not_a_session(path: &Path, reason: &str) -> SessionError {
    SessionError::NotASession {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}
