//! [`PgSession`]: grammers' `Session` for one account, stored in Postgres, every write fenced
//! by the account's lease.

use std::collections::HashMap;
use std::fmt;
use std::net::{SocketAddrV4, SocketAddrV6};
use std::sync::{Mutex, MutexGuard};

use grammers_session::types::{
    ChannelState, DcOption, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use grammers_session::{BoxFuture, Session, SessionData};
use session::{KnownPeers, PeerColumns, SessionError};
use sqlx::{PgPool, Postgres, Transaction};

#[cfg(doc)]
use crate::Lease;
use crate::{Cluster, Fence};

/// A grammers [`Session`] for one registered account, in the cluster's Postgres database
/// (tables `gateway_session_*`), written only while the lease it was opened with is held.
///
/// Every write is one transaction that first locks the account's lease row (`FOR SHARE`) and
/// checks owner, fencing token and expiry; a takeover (which updates that row) therefore waits
/// for a write in progress, and a write after the takeover fails with
/// [`SessionError::Fenced`]. Reads are not fenced.
///
/// As in [`session::SessionStore`]: `home_dc_id()` and `dc_option()` (synchronous in the
/// trait) are served from a cache loaded at [`PgSession::open`] and written through; peers this
/// instance read or wrote with an access hash are answered from memory (access hashes never
/// change for an account), and a write that would not change a known peer is skipped.
pub struct PgSession {
    pool: PgPool,
    account: String,
    fence: Fence,
    cache: Mutex<DcCache>,
    known: KnownPeers,
}

/// What the synchronous trait methods answer without I/O.
struct DcCache {
    home_dc: i32,
    dc_options: HashMap<i32, DcOption>,
}

/// Wraps a sqlx error as a [`SessionError::Remote`] naming the operation.
fn remote(op: &'static str) -> impl FnOnce(sqlx::Error) -> SessionError {
    move |source| SessionError::Remote {
        op,
        source: Box::new(source),
    }
}

type DcRow = (i32, String, String, Option<Vec<u8>>);
type PeerRow = (i64, Option<i64>, Option<bool>, Option<bool>, Option<i16>);

impl PgSession {
    /// Opens the session of `fence`'s account, writing as that lease holder (owner and
    /// fencing token; [`Lease::fence_token`]). Loads the home DC and the DC options; DCs 1–5 missing from the database
    /// fall back to Telegram's static addresses, as grammers' own stores do.
    ///
    /// Errors: [`SessionError::Remote`], [`SessionError::Corrupt`] for an unreadable row.
    pub async fn open(cluster: &Cluster, fence: &Fence) -> Result<Self, SessionError> {
        let pool = cluster.pool().clone();
        let account = fence.account.clone();
        let home: Option<i32> =
            sqlx::query_scalar("SELECT dc_id FROM gateway_session_home WHERE account = $1")
                .bind(&account)
                .fetch_optional(&pool)
                .await
                .map_err(remote("open"))?;
        let rows: Vec<DcRow> = sqlx::query_as(
            "SELECT dc_id, ipv4, ipv6, auth_key FROM gateway_session_dc WHERE account = $1",
        )
        .bind(&account)
        .fetch_all(&pool)
        .await
        .map_err(remote("open"))?;
        let defaults = SessionData::default();
        let mut dc_options = defaults.dc_options;
        for row in rows {
            let dc = dc_from_row(row)?;
            dc_options.insert(dc.id, dc);
        }
        Ok(Self {
            pool,
            account,
            fence: fence.clone(),
            cache: Mutex::new(DcCache {
                home_dc: home.unwrap_or(defaults.home_dc),
                dc_options,
            }),
            known: KnownPeers::default(),
        })
    }

    /// The account this session belongs to.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The lease holder its writes are fenced by.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// The signed-in user (the peer flagged `is_self`), or `None` when not signed in.
    pub async fn self_user(&self) -> Result<Option<PeerInfo>, SessionError> {
        self.read_peer(PeerId::self_user()).await
    }

    /// Stores everything in `data` (from [`session::SessionStore::export_data`]: an account's
    /// SQLite session moving to Postgres) in one fenced transaction, replacing what was stored.
    pub async fn import(&self, data: &SessionData) -> Result<(), SessionError> {
        let mut tx = self.begin_fenced("import").await?;
        for statement in [
            "DELETE FROM gateway_session_dc WHERE account = $1",
            "DELETE FROM gateway_session_peers WHERE account = $1",
            "DELETE FROM gateway_session_channels WHERE account = $1",
        ] {
            sqlx::query(statement)
                .bind(&self.account)
                .execute(&mut *tx)
                .await
                .map_err(remote("import"))?;
        }
        write_home_dc(&mut tx, &self.account, data.home_dc).await?;
        for dc in data.dc_options.values() {
            write_dc(&mut tx, &self.account, dc).await?;
        }
        for peer in data.peer_infos.values() {
            upsert_peer(&mut tx, &self.account, peer).await?;
        }
        write_update_state(
            &mut tx,
            &self.account,
            &UpdateState::All(data.updates_state.clone()),
        )
        .await?;
        tx.commit().await.map_err(remote("import"))?;
        let mut cache = self.cache()?;
        cache.home_dc = data.home_dc;
        cache
            .dc_options
            .extend(data.dc_options.iter().map(|(id, dc)| (*id, dc.clone())));
        Ok(())
    }

    /// Begins a transaction holding the account's lease row (`FOR SHARE`) after checking it is
    /// still this holder's and live. Errors: [`SessionError::Fenced`], [`SessionError::Remote`].
    async fn begin_fenced(
        &self,
        op: &'static str,
    ) -> Result<Transaction<'static, Postgres>, SessionError> {
        let mut tx = self.pool.begin().await.map_err(remote(op))?;
        if !self.fence.check(&mut tx).await.map_err(remote(op))? {
            return Err(SessionError::Fenced {
                account: self.fence.account.clone(),
                fence: self.fence.token,
            });
        }
        Ok(tx)
    }

    async fn read_peer(&self, peer: PeerId) -> Result<Option<PeerInfo>, SessionError> {
        let row: Option<PeerRow> = match peer.bot_api_dialog_id() {
            Some(id) => {
                sqlx::query_as(
                    "SELECT peer_id, access_hash, bot, is_self, channel_kind
                     FROM gateway_session_peers WHERE account = $1 AND peer_id = $2",
                )
                .bind(&self.account)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
            }
            None => {
                sqlx::query_as(
                    "SELECT peer_id, access_hash, bot, is_self, channel_kind
                     FROM gateway_session_peers WHERE account = $1 AND is_self LIMIT 1",
                )
                .bind(&self.account)
                .fetch_optional(&self.pool)
                .await
            }
        }
        .map_err(remote("peer"))?;
        row.map(peer_from_row).transpose()
    }

    fn cache(&self) -> Result<MutexGuard<'_, DcCache>, SessionError> {
        self.cache.lock().map_err(|_| SessionError::Poisoned)
    }
}

impl fmt::Debug for PgSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately omits the DC options: they carry auth keys.
        f.debug_struct("PgSession")
            .field("account", &self.account)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

impl Session for PgSession {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        Ok(self.cache()?.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            self.cache()?.home_dc = dc_id;
            let mut tx = self.begin_fenced("set_home_dc_id").await?;
            write_home_dc(&mut tx, &self.account, dc_id).await?;
            tx.commit().await.map_err(remote("set_home_dc_id"))
        })
    }

    fn dc_option(&self, dc_id: i32) -> Result<Option<DcOption>, SessionError> {
        Ok(self.cache()?.dc_options.get(&dc_id).cloned())
    }

    fn set_dc_option(&self, dc_option: &DcOption) -> BoxFuture<'_, Result<(), SessionError>> {
        let dc_option = dc_option.clone();
        Box::pin(async move {
            self.cache()?
                .dc_options
                .insert(dc_option.id, dc_option.clone());
            let mut tx = self.begin_fenced("set_dc_option").await?;
            write_dc(&mut tx, &self.account, &dc_option).await?;
            tx.commit().await.map_err(remote("set_dc_option"))
        })
    }

    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move {
            let hit = self.known.hit(peer);
            if hit.is_some() {
                return Ok(hit);
            }
            let found = self.read_peer(peer).await?;
            if let Some(info) = &found {
                self.known.remember(peer, info);
            }
            Ok(found)
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        self.cache_peers(vec![peer])
    }

    /// All peers in one fenced transaction.
    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            let peers = self.known.changed(peers);
            if peers.is_empty() {
                return Ok(());
            }
            let written = async {
                let mut tx = self.begin_fenced("cache_peers").await?;
                for peer in &peers {
                    upsert_peer(&mut tx, &self.account, peer).await?;
                }
                tx.commit().await.map_err(remote("cache_peers"))
            }
            .await;
            if written.is_err() {
                // Not stored after all: let the next call try again.
                self.known.forget(&peers);
            }
            written
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        Box::pin(async move {
            // One repeatable-read transaction: the row and the channels from one snapshot.
            let mut tx = self.pool.begin().await.map_err(remote("updates_state"))?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(remote("updates_state"))?;
            let row: Option<(i32, i32, i32, i32)> = sqlx::query_as(
                "SELECT pts, qts, date, seq FROM gateway_session_updates WHERE account = $1",
            )
            .bind(&self.account)
            .fetch_optional(&mut *tx)
            .await
            .map_err(remote("updates_state"))?;
            let channels: Vec<(i64, i32)> = sqlx::query_as(
                "SELECT channel_id, pts FROM gateway_session_channels
                 WHERE account = $1 ORDER BY channel_id",
            )
            .bind(&self.account)
            .fetch_all(&mut *tx)
            .await
            .map_err(remote("updates_state"))?;
            tx.commit().await.map_err(remote("updates_state"))?;
            let mut state = UpdatesState::default();
            if let Some((pts, qts, date, seq)) = row {
                state.pts = pts;
                state.qts = qts;
                state.date = date;
                state.seq = seq;
            }
            state.channels = channels
                .into_iter()
                .map(|(id, pts)| ChannelState { id, pts })
                .collect();
            Ok(state)
        })
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            let mut tx = self.begin_fenced("set_update_state").await?;
            write_update_state(&mut tx, &self.account, &update).await?;
            tx.commit().await.map_err(remote("set_update_state"))
        })
    }
}

type Tx = Transaction<'static, Postgres>;

async fn write_home_dc(tx: &mut Tx, account: &str, dc_id: i32) -> Result<(), SessionError> {
    sqlx::query(
        "INSERT INTO gateway_session_home (account, dc_id) VALUES ($1, $2)
         ON CONFLICT (account) DO UPDATE SET dc_id = EXCLUDED.dc_id",
    )
    .bind(account)
    .bind(dc_id)
    .execute(&mut **tx)
    .await
    .map_err(remote("set_home_dc_id"))?;
    Ok(())
}

async fn write_dc(tx: &mut Tx, account: &str, dc: &DcOption) -> Result<(), SessionError> {
    sqlx::query(
        "INSERT INTO gateway_session_dc (account, dc_id, ipv4, ipv6, auth_key)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account, dc_id) DO UPDATE SET
             ipv4 = EXCLUDED.ipv4, ipv6 = EXCLUDED.ipv6, auth_key = EXCLUDED.auth_key",
    )
    .bind(account)
    .bind(dc.id)
    .bind(dc.ipv4.to_string())
    .bind(dc.ipv6.to_string())
    .bind(dc.auth_key.map(|key| key.to_vec()))
    .execute(&mut **tx)
    .await
    .map_err(remote("set_dc_option"))?;
    Ok(())
}

/// Inserts or merges one peer field by field (a known value is never replaced by `None`); a
/// peer flagged `is_self` clears the flag on any other, as the SQLite store does.
async fn upsert_peer(tx: &mut Tx, account: &str, peer: &PeerInfo) -> Result<(), SessionError> {
    let c = PeerColumns::from_info(peer);
    if c.is_self == Some(true) {
        sqlx::query(
            "UPDATE gateway_session_peers SET is_self = false
             WHERE account = $1 AND is_self AND peer_id <> $2",
        )
        .bind(account)
        .bind(c.peer_id)
        .execute(&mut **tx)
        .await
        .map_err(remote("cache_peers"))?;
    }
    sqlx::query(
        "INSERT INTO gateway_session_peers
             (account, peer_id, access_hash, bot, is_self, channel_kind)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (account, peer_id) DO UPDATE SET
             access_hash = COALESCE(EXCLUDED.access_hash, gateway_session_peers.access_hash),
             bot = COALESCE(EXCLUDED.bot, gateway_session_peers.bot),
             is_self = COALESCE(EXCLUDED.is_self, gateway_session_peers.is_self),
             channel_kind = COALESCE(EXCLUDED.channel_kind, gateway_session_peers.channel_kind)",
    )
    .bind(account)
    .bind(c.peer_id)
    .bind(c.access_hash)
    .bind(c.bot)
    .bind(c.is_self)
    .bind(c.channel_kind.and_then(|k| i16::try_from(k).ok()))
    .execute(&mut **tx)
    .await
    .map_err(remote("cache_peers"))?;
    Ok(())
}

/// Applies one [`UpdateState`]; `Primary`/`Secondary` create the row with zeros if missing.
async fn write_update_state(
    tx: &mut Tx,
    account: &str,
    update: &UpdateState,
) -> Result<(), SessionError> {
    let err = remote("set_update_state");
    match update {
        UpdateState::All(state) => {
            sqlx::query(
                "INSERT INTO gateway_session_updates (account, pts, qts, date, seq)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account) DO UPDATE SET pts = EXCLUDED.pts, qts = EXCLUDED.qts,
                     date = EXCLUDED.date, seq = EXCLUDED.seq",
            )
            .bind(account)
            .bind(state.pts)
            .bind(state.qts)
            .bind(state.date)
            .bind(state.seq)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
            sqlx::query("DELETE FROM gateway_session_channels WHERE account = $1")
                .bind(account)
                .execute(&mut **tx)
                .await
                .map_err(remote("set_update_state"))?;
            for channel in &state.channels {
                write_channel_pts(tx, account, channel.id, channel.pts).await?;
            }
        }
        UpdateState::Primary { pts, date, seq } => {
            sqlx::query(
                "INSERT INTO gateway_session_updates (account, pts, date, seq)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (account) DO UPDATE SET pts = EXCLUDED.pts,
                     date = EXCLUDED.date, seq = EXCLUDED.seq",
            )
            .bind(account)
            .bind(*pts)
            .bind(*date)
            .bind(*seq)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
        }
        UpdateState::Secondary { qts } => {
            sqlx::query(
                "INSERT INTO gateway_session_updates (account, qts) VALUES ($1, $2)
                 ON CONFLICT (account) DO UPDATE SET qts = EXCLUDED.qts",
            )
            .bind(account)
            .bind(*qts)
            .execute(&mut **tx)
            .await
            .map_err(err)?;
        }
        UpdateState::Channel { id, pts } => write_channel_pts(tx, account, *id, *pts).await?,
    }
    Ok(())
}

async fn write_channel_pts(
    tx: &mut Tx,
    account: &str,
    id: i64,
    pts: i32,
) -> Result<(), SessionError> {
    sqlx::query(
        "INSERT INTO gateway_session_channels (account, channel_id, pts) VALUES ($1, $2, $3)
         ON CONFLICT (account, channel_id) DO UPDATE SET pts = EXCLUDED.pts",
    )
    .bind(account)
    .bind(id)
    .bind(pts)
    .execute(&mut **tx)
    .await
    .map_err(remote("set_update_state"))?;
    Ok(())
}

fn dc_from_row((id, ipv4, ipv6, auth_key): DcRow) -> Result<DcOption, SessionError> {
    let bad =
        |e: std::net::AddrParseError| SessionError::Corrupt(format!("invalid DC address: {e}"));
    let auth_key = match auth_key {
        None => None,
        Some(key) => Some(<[u8; 256]>::try_from(key).map_err(|key| {
            SessionError::Corrupt(format!("auth key is {} bytes, expected 256", key.len()))
        })?),
    };
    Ok(DcOption {
        id,
        ipv4: ipv4.parse::<SocketAddrV4>().map_err(bad)?,
        ipv6: ipv6.parse::<SocketAddrV6>().map_err(bad)?,
        auth_key,
    })
}

fn peer_from_row(
    (peer_id, access_hash, bot, is_self, channel_kind): PeerRow,
) -> Result<PeerInfo, SessionError> {
    PeerColumns {
        peer_id,
        access_hash,
        bot,
        is_self,
        channel_kind: channel_kind.map(i64::from),
    }
    .into_info()
}
