//! [`TelethonSession`]: what a Telethon 1.x session (SQLite file or `StringSession`) holds that the
//! gateway needs — the home DC with its address and auth key, the peer cache and the update state.
//!
//! The rules below were read from Telethon 1.45's `telethon/sessions/sqlite.py`, `memory.py`,
//! `string.py`, `utils.py` (`get_peer_id`/`resolve_id`) and `client/telegrambaseclient.py`
//! (`_save_states_and_entities`); no Telethon code is used.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use base64::Engine as _;
use grammers_session::SessionData;
use grammers_session::types::{ChannelState, DcOption, PeerAuth, PeerInfo, UpdatesState};
use libsql::{Connection, Value};

use crate::SessionError;

/// Telethon marks channel ids as `-(10^12 + id)` (`utils.get_peer_id`), chats as `-id`.
const CHANNEL_MARK: i64 = 1_000_000_000_000;
/// A `StringSession` starts with this version character (`string.py`, `CURRENT_VERSION`).
const STRING_VERSION: char = '1';
/// Bytes after base64 decoding: dc id (1) + IPv4 (4) or IPv6 (16) + port (2) + auth key (256).
const STRING_LEN_V4: usize = 1 + 4 + 2 + 256;
const STRING_LEN_V6: usize = 1 + 16 + 2 + 256;

/// A Telethon session as the gateway imports it.
///
/// `Debug` never prints the auth key.
#[derive(Clone, PartialEq, Eq)]
pub struct TelethonSession {
    /// The DC the session is signed in on (`sessions.dc_id`; Telethon keeps one row).
    pub dc_id: i32,
    /// That DC's address (`sessions.server_address`, `sessions.port`).
    pub server: SocketAddr,
    /// The 256-byte permanent auth key (`sessions.auth_key`). Secret.
    pub auth_key: [u8; 256],
    /// The peer cache (`entities`): users and channels with their access hashes, basic groups.
    /// The signed-in user, when Telethon recorded it, is flagged `is_self`.
    pub peers: Vec<PeerInfo>,
    /// The update state (`update_state`: row 0 is the account's pts/qts/date/seq, other rows
    /// are channel pts by bare channel id); `None` when Telethon never saved one (a
    /// `StringSession` never holds one).
    pub state: Option<UpdatesState>,
}

impl fmt::Debug for TelethonSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelethonSession")
            .field("dc_id", &self.dc_id)
            .field("server", &self.server)
            .field("peers", &self.peers.len())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl TelethonSession {
    /// Parses a Telethon `StringSession`: the character `1`, then URL-safe base64 of the DC id
    /// (1 byte), the IPv4 (4 bytes) or IPv6 (16 bytes) address, the port (2 bytes, big-endian)
    /// and the auth key (256 bytes). Surrounding whitespace is ignored; missing `=` padding is
    /// accepted.
    ///
    /// Errors: [`SessionError::InvalidStringSession`], whose reason never contains the string.
    pub fn from_string(string: &str) -> Result<Self, SessionError> {
        let invalid = SessionError::InvalidStringSession;
        let string = string.trim();
        let Some(body) = string.strip_prefix(STRING_VERSION) else {
            return Err(invalid("it does not start with the version character '1'"));
        };
        let bytes = base64::engine::general_purpose::URL_SAFE
            .decode(body)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body))
            .map_err(|_| invalid("it is not URL-safe base64"))?;
        let ip_len = match bytes.len() {
            STRING_LEN_V4 => 4,
            STRING_LEN_V6 => 16,
            _ => {
                return Err(invalid(
                    "it has the wrong length for a Telethon StringSession",
                ));
            }
        };
        let (dc, rest) = bytes.split_at(1);
        let (ip, rest) = rest.split_at(ip_len);
        let (port, key) = rest.split_at(2);
        let ip = match ip_len {
            4 => IpAddr::from(<[u8; 4]>::try_from(ip).map_err(|_| invalid("bad IPv4 address"))?),
            _ => IpAddr::from(<[u8; 16]>::try_from(ip).map_err(|_| invalid("bad IPv6 address"))?),
        };
        let port = u16::from_be_bytes([port[0], port[1]]);
        let auth_key = <[u8; 256]>::try_from(key).map_err(|_| invalid("bad auth key length"))?;
        if auth_key.iter().all(|&b| b == 0) {
            return Err(invalid("it holds no auth key (not signed in)"));
        }
        Ok(Self {
            dc_id: i32::from(dc[0]),
            server: SocketAddr::new(ip, port),
            auth_key,
            peers: Vec::new(),
            state: None,
        })
    }

    /// Reads a Telethon session from `conn` (opened read-only by the caller).
    ///
    /// Errors: [`SessionError::Telethon`] when it holds no usable auth key or a value of the
    /// wrong type, [`SessionError::Sql`] from SQLite.
    pub(crate) async fn read(conn: &Connection, has_state: bool) -> Result<Self, SessionError> {
        let sql = |source| SessionError::Sql {
            op: "read_telethon",
            source,
        };
        let mut rows = conn
            .query(
                "SELECT dc_id, server_address, port, auth_key FROM sessions LIMIT 1",
                (),
            )
            .await
            .map_err(sql)?;
        let row = rows
            .next()
            .await
            .map_err(sql)?
            .ok_or_else(|| telethon("its sessions table is empty (never connected)"))?;
        let dc_id = int(row.get_value(0).map_err(sql)?, "sessions.dc_id")?;
        let address = match row.get_value(1).map_err(sql)? {
            Value::Text(t) => t,
            _ => return Err(telethon("sessions.server_address is not text")),
        };
        let port = int(row.get_value(2).map_err(sql)?, "sessions.port")?;
        let auth_key = match row.get_value(3).map_err(sql)? {
            Value::Blob(b) if b.is_empty() => None,
            Value::Null => None,
            Value::Blob(b) => Some(
                <[u8; 256]>::try_from(b.as_slice())
                    .map_err(|_| telethon("its auth key is not 256 bytes"))?,
            ),
            _ => return Err(telethon("sessions.auth_key is not a blob")),
        }
        .ok_or_else(|| telethon("it holds no auth key (not signed in)"))?;
        drop(rows);
        let ip: IpAddr = address
            .parse()
            .map_err(|_| telethon("sessions.server_address is not an IP address"))?;
        let port = u16::try_from(port).map_err(|_| telethon("sessions.port is not a TCP port"))?;
        let peers = read_entities(conn).await?;
        let state = if has_state {
            read_state(conn).await?
        } else {
            None
        };
        Ok(Self {
            dc_id: i32::try_from(dc_id).map_err(|_| telethon("sessions.dc_id is out of range"))?,
            server: SocketAddr::new(ip, port),
            auth_key,
            peers,
            state,
        })
    }

    /// The DC option our store keeps for the home DC. Telethon keeps one address; the other
    /// family gets grammers' static address for that DC (or the IPv4 address v4-mapped).
    pub(crate) fn dc_option(&self) -> DcOption {
        let fallback = SessionData::default().dc_options.remove(&self.dc_id);
        let (ipv4, ipv6) = match self.server {
            SocketAddr::V4(v4) => (
                v4,
                SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
            ),
            SocketAddr::V6(v6) => (
                match v6.ip().to_ipv4_mapped() {
                    Some(ip) => SocketAddrV4::new(ip, v6.port()),
                    None => fallback
                        .map(|dc| dc.ipv4)
                        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, v6.port())),
                },
                v6,
            ),
        };
        DcOption {
            id: self.dc_id,
            ipv4,
            ipv6,
            auth_key: Some(self.auth_key),
        }
    }
}

/// `entities(id, hash, …)`: Telethon's marked ids (users as is, chats `-id`, channels
/// `-(10^12 + id)`). Row `id = 0` is Telethon's record of the signed-in user: its `hash` is
/// that user's id (`_save_states_and_entities`).
async fn read_entities(conn: &Connection) -> Result<Vec<PeerInfo>, SessionError> {
    let sql = |source| SessionError::Sql {
        op: "read_telethon",
        source,
    };
    let mut rows = conn
        .query("SELECT id, hash FROM entities ORDER BY id", ())
        .await
        .map_err(sql)?;
    let mut self_id = None;
    let mut peers = Vec::new();
    while let Some(row) = rows.next().await.map_err(sql)? {
        let id = int(row.get_value(0).map_err(sql)?, "entities.id")?;
        let hash = int(row.get_value(1).map_err(sql)?, "entities.hash")?;
        if id == 0 {
            self_id = Some(hash);
        } else if let Some(peer) = peer_from_marked(id, hash) {
            peers.push(peer);
        }
    }
    if let Some(me) = self_id {
        for peer in &mut peers {
            if let PeerInfo::User { id, is_self, .. } = peer
                && *id == me
            {
                *is_self = Some(true);
            }
        }
    }
    Ok(peers)
}

/// One `entities` row as our peer; `None` for an id no peer can have.
pub(crate) fn peer_from_marked(marked: i64, hash: i64) -> Option<PeerInfo> {
    if marked > 0 {
        return Some(PeerInfo::User {
            id: marked,
            auth: Some(PeerAuth::from_hash(hash)),
            bot: None,
            is_self: None,
        });
    }
    let bare = marked.checked_neg()?;
    if bare > CHANNEL_MARK {
        Some(PeerInfo::Channel {
            id: bare - CHANNEL_MARK,
            auth: Some(PeerAuth::from_hash(hash)),
            kind: None,
        })
    } else if bare > 0 {
        Some(PeerInfo::Chat { id: bare })
    } else {
        None
    }
}

/// `update_state(id, pts, qts, date, seq)`: row 0 is the account's state, other rows channel
/// pts by bare channel id. Telethon writes `date` as a float timestamp, so it may be a REAL.
async fn read_state(conn: &Connection) -> Result<Option<UpdatesState>, SessionError> {
    let sql = |source| SessionError::Sql {
        op: "read_telethon",
        source,
    };
    let mut rows = conn
        .query(
            "SELECT id, pts, qts, CAST(date AS INTEGER), seq FROM update_state ORDER BY id",
            (),
        )
        .await
        .map_err(sql)?;
    let mut state: Option<UpdatesState> = None;
    let mut channels = Vec::new();
    while let Some(row) = rows.next().await.map_err(sql)? {
        let value = |i| -> Result<i32, SessionError> {
            let v = match row.get_value(i).map_err(sql)? {
                Value::Null => 0,
                v => int(v, "update_state")?,
            };
            i32::try_from(v).map_err(|_| telethon("an update_state value is out of range"))
        };
        let id = int(row.get_value(0).map_err(sql)?, "update_state.id")?;
        if id == 0 {
            state = Some(UpdatesState {
                pts: value(1)?,
                qts: value(2)?,
                date: value(3)?,
                seq: value(4)?,
                channels: Vec::new(),
            });
        } else {
            // Bare ids; a marked one is unmarked rather than dropped.
            let bare = if id < -CHANNEL_MARK {
                -id - CHANNEL_MARK
            } else {
                id
            };
            let pts = value(1)?;
            if bare > 0 && pts > 0 {
                channels.push(ChannelState { id: bare, pts });
            }
        }
    }
    Ok(match state {
        Some(mut state) => {
            state.channels = channels;
            Some(state)
        }
        None if !channels.is_empty() => Some(UpdatesState {
            channels,
            ..UpdatesState::default()
        }),
        None => None,
    })
}

fn int(value: Value, column: &str) -> Result<i64, SessionError> {
    match value {
        Value::Integer(v) => Ok(v),
        // Telethon's floats (dates); truncation is what Telethon's own reader does.
        Value::Real(v) if v.is_finite() => Ok(v as i64),
        _ => Err(telethon(&format!("{column} is not a number"))),
    }
}

fn telethon(reason: &str) -> SessionError {
    SessionError::Telethon(reason.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode(dc: u8, ip: &[u8], port: u16, key: &[u8; 256]) -> String {
        let mut bytes = vec![dc];
        bytes.extend_from_slice(ip);
        bytes.extend_from_slice(&port.to_be_bytes());
        bytes.extend_from_slice(key);
        format!(
            "1{}",
            base64::engine::general_purpose::URL_SAFE.encode(bytes)
        )
    }

    #[test]
    fn string_session_with_ipv4_and_ipv6() {
        let key = [7u8; 256];
        let s = TelethonSession::from_string(&encode(2, &[127, 0, 0, 1], 4430, &key)).unwrap();
        assert_eq!(s.dc_id, 2);
        assert_eq!(s.server, "127.0.0.1:4430".parse().unwrap());
        assert_eq!(s.auth_key, key);
        assert_eq!(s.dc_option().ipv4, "127.0.0.1:4430".parse().unwrap());

        let v6 = "2001:67c:4e8:f002::a"
            .parse::<std::net::Ipv6Addr>()
            .unwrap();
        let s =
            TelethonSession::from_string(&format!(" {} \n", encode(4, &v6.octets(), 443, &key)))
                .unwrap();
        assert_eq!(s.server, SocketAddr::new(v6.into(), 443));
        let option = s.dc_option();
        assert_eq!(option.ipv6.ip(), &v6);
        assert_ne!(
            option.ipv4.ip(),
            &Ipv4Addr::UNSPECIFIED,
            "DC 4's static IPv4"
        );
    }

    #[test]
    fn bad_string_sessions_are_refused_without_echoing_them() {
        let key = [9u8; 256];
        let good = encode(2, &[127, 0, 0, 1], 443, &key);
        let cases = [
            format!("2{}", &good[1..]),
            format!("1{}", "%%%not base64%%%".repeat(20)),
            good[..good.len() - 8].to_owned(),
            encode(2, &[127, 0, 0, 1], 443, &[0; 256]),
        ];
        for case in cases {
            let err = TelethonSession::from_string(&case).unwrap_err().to_string();
            assert!(err.starts_with("invalid Telethon StringSession"), "{err}");
            assert!(!err.contains(&case[1..20]), "{err}");
        }
    }

    #[test]
    fn marked_ids_map_to_users_chats_and_channels() {
        assert_eq!(
            peer_from_marked(42, 7),
            Some(PeerInfo::User {
                id: 42,
                auth: Some(PeerAuth::from_hash(7)),
                bot: None,
                is_self: None
            })
        );
        assert_eq!(peer_from_marked(-42, 0), Some(PeerInfo::Chat { id: 42 }));
        assert_eq!(
            peer_from_marked(-1_000_000_000_042, 8),
            Some(PeerInfo::Channel {
                id: 42,
                auth: Some(PeerAuth::from_hash(8)),
                kind: None
            })
        );
        assert_eq!(peer_from_marked(i64::MIN, 0), None);
    }
}
