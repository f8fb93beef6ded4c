//! The statements behind each store operation, and conversion between rows and grammers types.
//!
//! Values are read with `Row::get_value` and matched here: libsql's typed `Row::get` hits
//! `unreachable!` when a column holds an unexpected type, and this crate must not panic.

use std::net::{SocketAddrV4, SocketAddrV6};

use grammers_session::types::{
    ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use libsql::{Connection, Row, Value};

use crate::retry::OpError;
use crate::{PeerColumns, SessionError};

type OpResult<T> = Result<T, OpError>;

/// Starts a write transaction that takes the write lock up front, so it never has to upgrade a
/// read lock later (an upgrade that fails with `SQLITE_BUSY` without consulting the busy handler).
pub(crate) async fn begin_immediate(conn: &Connection) -> OpResult<()> {
    conn.execute("BEGIN IMMEDIATE", ()).await?;
    Ok(())
}

/// Commits the transaction opened by [`begin_immediate`] or a plain `BEGIN`.
pub(crate) async fn commit(conn: &Connection) -> OpResult<()> {
    conn.execute("COMMIT", ()).await?;
    Ok(())
}

pub(crate) async fn read_home_dc(conn: &Connection) -> OpResult<Option<i32>> {
    let mut rows = conn.query("SELECT dc_id FROM home_dc", ()).await?;
    match rows.next().await? {
        Some(row) => Ok(Some(int(&row, 0)?)),
        None => Ok(None),
    }
}

pub(crate) async fn write_home_dc(conn: &Connection, dc_id: i32) -> OpResult<()> {
    conn.execute(
        "INSERT INTO home_dc (id, dc_id) VALUES (0, ?1)
         ON CONFLICT (id) DO UPDATE SET dc_id = excluded.dc_id",
        [dc_id],
    )
    .await?;
    Ok(())
}

pub(crate) async fn read_dc_options(conn: &Connection) -> OpResult<Vec<DcOption>> {
    let mut rows = conn
        .query("SELECT dc_id, ipv4, ipv6, auth_key FROM dc_option", ())
        .await?;
    let mut options = Vec::new();
    while let Some(row) = rows.next().await? {
        let auth_key = match opt_blob(&row, 3)? {
            None => None,
            Some(key) => Some(<[u8; 256]>::try_from(key).map_err(|key| {
                corrupt(format!("auth key is {} bytes, expected 256", key.len()))
            })?),
        };
        options.push(DcOption {
            id: int(&row, 0)?,
            ipv4: text(&row, 1)?.parse::<SocketAddrV4>().map_err(bad_addr)?,
            ipv6: text(&row, 2)?.parse::<SocketAddrV6>().map_err(bad_addr)?,
            auth_key,
        });
    }
    Ok(options)
}

pub(crate) async fn write_dc_option(conn: &Connection, dc: &DcOption) -> OpResult<()> {
    conn.execute(
        "INSERT INTO dc_option (dc_id, ipv4, ipv6, auth_key) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (dc_id) DO UPDATE SET
             ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, auth_key = excluded.auth_key",
        (
            dc.id,
            dc.ipv4.to_string(),
            dc.ipv6.to_string(),
            dc.auth_key.map(|key| key.to_vec()),
        ),
    )
    .await?;
    Ok(())
}

/// Reads one peer; [`PeerId::self_user`] finds the row flagged `is_self`.
pub(crate) async fn read_peer(conn: &Connection, peer: PeerId) -> OpResult<Option<PeerInfo>> {
    const COLUMNS: &str = "SELECT peer_id, access_hash, bot, is_self, channel_kind FROM peer";
    let mut rows = match peer.bot_api_dialog_id() {
        Some(id) => {
            conn.query(&format!("{COLUMNS} WHERE peer_id = ?1"), [id])
                .await?
        }
        None => {
            conn.query(&format!("{COLUMNS} WHERE is_self = 1 LIMIT 1"), ())
                .await?
        }
    };
    match rows.next().await? {
        Some(row) => Ok(Some(peer_from_row(&row)?)),
        None => Ok(None),
    }
}

/// Every cached peer, by id.
pub(crate) async fn read_all_peers(conn: &Connection) -> OpResult<Vec<PeerInfo>> {
    let mut rows = conn
        .query(
            "SELECT peer_id, access_hash, bot, is_self, channel_kind FROM peer ORDER BY peer_id",
            (),
        )
        .await?;
    let mut peers = Vec::new();
    while let Some(row) = rows.next().await? {
        peers.push(peer_from_row(&row)?);
    }
    Ok(peers)
}

/// Inserts or merges one peer, field by field like grammers' `PeerInfo::extend_info`: a known
/// value is never replaced by `None`. That is what keeps an access hash when the same user later
/// arrives as a "min" constructor (grammers maps min users/channels to `auth: None`).
///
/// A peer flagged `is_self = true` clears the flag on any other user, so
/// [`PeerId::self_user`] always resolves to the account most recently seen as self.
pub(crate) async fn upsert_peer(conn: &Connection, peer: &PeerInfo) -> OpResult<()> {
    let PeerColumns {
        peer_id: id,
        access_hash: hash,
        bot,
        is_self,
        channel_kind: kind,
    } = PeerColumns::from_info(peer);
    if is_self == Some(true) {
        conn.execute(
            "UPDATE peer SET is_self = 0 WHERE is_self = 1 AND peer_id <> ?1",
            [id],
        )
        .await?;
    }
    conn.execute(
        "INSERT INTO peer (peer_id, access_hash, bot, is_self, channel_kind)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (peer_id) DO UPDATE SET
             access_hash = COALESCE(excluded.access_hash, peer.access_hash),
             bot = COALESCE(excluded.bot, peer.bot),
             is_self = COALESCE(excluded.is_self, peer.is_self),
             channel_kind = COALESCE(excluded.channel_kind, peer.channel_kind)",
        (id, hash, bot, is_self, kind),
    )
    .await?;
    Ok(())
}

pub(crate) async fn read_updates_state(conn: &Connection) -> OpResult<UpdatesState> {
    let mut state = UpdatesState::default();
    let mut rows = conn
        .query("SELECT pts, qts, date, seq FROM update_state", ())
        .await?;
    if let Some(row) = rows.next().await? {
        state.pts = int(&row, 0)?;
        state.qts = int(&row, 1)?;
        state.date = int(&row, 2)?;
        state.seq = int(&row, 3)?;
    }
    let mut rows = conn
        .query(
            "SELECT channel_id, pts FROM channel_state ORDER BY channel_id",
            (),
        )
        .await?;
    while let Some(row) = rows.next().await? {
        state.channels.push(ChannelState {
            id: int(&row, 0)?,
            pts: int(&row, 1)?,
        });
    }
    Ok(state)
}

/// Applies one [`UpdateState`]; `Primary`/`Secondary` create the row with zeros if missing.
pub(crate) async fn write_update_state(conn: &Connection, update: &UpdateState) -> OpResult<()> {
    const ENSURE_ROW: &str = "INSERT OR IGNORE INTO update_state VALUES (0, 0, 0, 0, 0)";
    match update {
        UpdateState::All(state) => {
            conn.execute(
                "INSERT OR REPLACE INTO update_state VALUES (0, ?1, ?2, ?3, ?4)",
                (state.pts, state.qts, state.date, state.seq),
            )
            .await?;
            conn.execute("DELETE FROM channel_state", ()).await?;
            for channel in &state.channels {
                write_channel_pts(conn, channel.id, channel.pts).await?;
            }
        }
        UpdateState::Primary { pts, date, seq } => {
            conn.execute(ENSURE_ROW, ()).await?;
            conn.execute(
                "UPDATE update_state SET pts = ?1, date = ?2, seq = ?3",
                (*pts, *date, *seq),
            )
            .await?;
        }
        UpdateState::Secondary { qts } => {
            conn.execute(ENSURE_ROW, ()).await?;
            conn.execute("UPDATE update_state SET qts = ?1", [*qts])
                .await?;
        }
        UpdateState::Channel { id, pts } => write_channel_pts(conn, *id, *pts).await?,
    }
    Ok(())
}

async fn write_channel_pts(conn: &Connection, id: i64, pts: i32) -> OpResult<()> {
    conn.execute(
        "INSERT OR REPLACE INTO channel_state (channel_id, pts) VALUES (?1, ?2)",
        (id, pts),
    )
    .await?;
    Ok(())
}

fn peer_from_row(row: &Row) -> OpResult<PeerInfo> {
    let columns = PeerColumns {
        peer_id: int(row, 0)?,
        access_hash: opt_int::<i64>(row, 1)?,
        bot: opt_int::<i64>(row, 2)?.map(|v| v != 0),
        is_self: opt_int::<i64>(row, 3)?.map(|v| v != 0),
        channel_kind: opt_int::<i64>(row, 4)?,
    };
    Ok(columns.into_info()?)
}

fn int<T: TryFrom<i64>>(row: &Row, idx: i32) -> OpResult<T> {
    opt_int(row, idx)?.ok_or_else(|| corrupt(format!("column {idx} is NULL")))
}

fn opt_int<T: TryFrom<i64>>(row: &Row, idx: i32) -> OpResult<Option<T>> {
    match row.get_value(idx)? {
        Value::Null => Ok(None),
        Value::Integer(v) => T::try_from(v)
            .map(Some)
            .map_err(|_| corrupt(format!("column {idx} value {v} is out of range"))),
        other => Err(corrupt(format!(
            "column {idx} holds {}, not an integer",
            kind(&other)
        ))),
    }
}

fn text(row: &Row, idx: i32) -> OpResult<String> {
    match row.get_value(idx)? {
        Value::Text(s) => Ok(s),
        other => Err(corrupt(format!(
            "column {idx} holds {}, not text",
            kind(&other)
        ))),
    }
}

fn opt_blob(row: &Row, idx: i32) -> OpResult<Option<Vec<u8>>> {
    match row.get_value(idx)? {
        Value::Null => Ok(None),
        Value::Blob(b) => Ok(Some(b)),
        other => Err(corrupt(format!(
            "column {idx} holds {}, not a blob",
            kind(&other)
        ))),
    }
}

/// The type of a value, for error messages (never the value: it may be an auth key).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Integer(_) => "an integer",
        Value::Real(_) => "a real",
        Value::Text(_) => "text",
        Value::Blob(_) => "a blob",
    }
}

fn bad_addr(err: std::net::AddrParseError) -> OpError {
    corrupt(format!("invalid DC address: {err}"))
}

fn corrupt(msg: String) -> OpError {
    OpError::Session(SessionError::Corrupt(msg))
}
