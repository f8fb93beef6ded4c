//! [`SessionStore`]: grammers' `Session` trait over one SQLite file shared by two processes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use grammers_session::types::{DcOption, PeerId, PeerInfo, UpdateState, UpdatesState};
use grammers_session::{BoxFuture, Session, SessionData};
use libsql::Connection;
use tokio::sync::Mutex as AsyncMutex;

use crate::retry::{self, OpError};
use crate::{KnownPeers, SCHEMA_VERSION, SessionError, schema, sql};

/// A grammers [`Session`] stored in an SQLite file that a `receiver` and a `sender` process can
/// open at the same time.
///
/// What it fixes in grammers' `SqliteSession` (grammers-session 0.11, `storages/sqlite.rs`):
/// - that store sets no busy timeout and no WAL, so the second process fails with
///   "database is locked"; here every connection uses WAL, a 5 s busy timeout, and whole
///   operations are retried with a bounded backoff;
/// - its `cache_peers` unwraps on `BEGIN`/`prepare`; here every failure is a [`SessionError`];
/// - it reads `bot`/`is_self` from one packed subtype and loses "unknown"; here they are
///   separate nullable columns.
///
/// `peer()` always reads the file, so a peer cached by the other process is visible at once.
/// `home_dc_id()` and `dc_option()` are synchronous in the trait and are served from a cache
/// loaded at [`SessionStore::open`] and written through by the setters; they do not see the
/// other process's later writes.
pub struct SessionStore {
    path: PathBuf,
    // Kept so the database handle lives as long as the connection.
    _db: libsql::Database,
    /// One connection per process; the lock keeps one task's transaction from interleaving
    /// with another's statements.
    conn: AsyncMutex<Connection>,
    cache: Mutex<DcCache>,
    /// Peers as this process last read or wrote them. Access hashes never change for an
    /// account, so a hit is served without touching the file, and a write that would not change
    /// what is stored is skipped: both were the top costs under load (an SQLite statement per
    /// peer of every RPC result).
    known: KnownPeers,
}

/// The values the synchronous trait methods must answer without I/O.
pub(crate) struct DcCache {
    pub(crate) home_dc: i32,
    pub(crate) dc_options: HashMap<i32, DcOption>,
}

impl SessionStore {
    /// Opens (creating if missing) the session file at `path`.
    ///
    /// Creates the parent directory if missing and a new file with mode 0600 (the file holds
    /// auth keys), switches it to WAL, sets the busy timeout, migrates the schema to
    /// [`SCHEMA_VERSION`] and loads the home DC and DC options into memory. DCs 1–5 missing from
    /// the file fall back to Telegram's static addresses, as grammers' own stores do.
    ///
    /// Errors: [`SessionError::Io`] for the directory/file, [`SessionError::UnsupportedSchema`]
    /// for a file from a newer version, [`SessionError::Corrupt`] for unreadable rows,
    /// [`SessionError::Sql`]/[`SessionError::Busy`] from SQLite.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, SessionError> {
        let path = path.as_ref().to_path_buf();
        prepare_file(&path).await?;
        let open_err = |source| SessionError::Sql { op: "open", source };
        let db = libsql::Builder::new_local(&path)
            .build()
            .await
            .map_err(open_err)?;
        let conn = db.connect().map_err(open_err)?;

        retry::run(&conn, "configure", |c| async move {
            Ok(schema::configure(&c).await?)
        })
        .await?;
        let found = retry::run(&conn, "migrate", |c| async move {
            Ok(schema::migrate(&c).await?)
        })
        .await?;
        if found > SCHEMA_VERSION {
            return Err(SessionError::UnsupportedSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        let (home_dc, stored) = retry::run(&conn, "load", |c| async move {
            Ok((
                sql::read_home_dc(&c).await?,
                sql::read_dc_options(&c).await?,
            ))
        })
        .await?;

        let defaults = SessionData::default();
        let mut dc_options = defaults.dc_options;
        dc_options.extend(stored.into_iter().map(|dc| (dc.id, dc)));
        let cache = DcCache {
            home_dc: home_dc.unwrap_or(defaults.home_dc),
            dc_options,
        };
        tracing::debug!(path = %path.display(), home_dc = cache.home_dc, "session opened");
        Ok(Self {
            path,
            _db: db,
            conn: AsyncMutex::new(conn),
            cache: Mutex::new(cache),
            known: KnownPeers::default(),
        })
    }

    /// Writes a consistent copy of the whole session to `to` (SQLite `VACUUM INTO`, so pages
    /// still in the WAL are included), created with mode 0600 because it holds the auth key.
    /// Errors: [`SessionError::Io`] when `to` exists or cannot be written, SQL errors.
    pub async fn export(&self, to: &Path) -> Result<(), SessionError> {
        let io = |source| SessionError::Io {
            path: to.to_path_buf(),
            source,
        };
        if to.exists() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "refusing to overwrite an existing file",
            )));
        }
        let target = to.to_string_lossy().into_owned();
        let conn = self.conn.lock().await;
        conn.execute("VACUUM INTO ?1", [target])
            .await
            .map_err(|source| SessionError::Sql {
                op: "export",
                source,
            })?;
        drop(conn);
        restrict_permissions(to).map_err(io)
    }

    /// Maps a Telethon-style session name (`TG_SESSION_NAME`, e.g. `/sessions/tg_userbot`) to
    /// its file, `/sessions/tg_userbot.session`; a name already ending in `.session` is kept.
    pub fn path_for_name(name: &str) -> PathBuf {
        if name.ends_with(".session") {
            PathBuf::from(name)
        } else {
            PathBuf::from(format!("{name}.session"))
        }
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached logged-in user ([`PeerId::self_user`]), read from the file; `None` when no
    /// user flagged `is_self` was cached (the session is not signed in, or was never seeded).
    ///
    /// Errors: as for [`Session::peer`].
    pub async fn self_user(&self) -> Result<Option<PeerInfo>, SessionError> {
        self.read("self_user", |c| async move {
            sql::read_peer(&c, PeerId::self_user()).await
        })
        .await
    }

    /// Everything in the session as grammers' [`SessionData`] (home DC, DC options with their
    /// auth keys, every cached peer, the update state), read in one transaction: what another
    /// store (Postgres, crate `cluster`) imports with [`SessionData::import_to`].
    ///
    /// Errors: as for [`Session::peer`].
    pub async fn export_data(&self) -> Result<SessionData, SessionError> {
        let (home_dc, dc_options, peers, updates) = self
            .read("export_data", |c| async move {
                c.execute("BEGIN", ()).await?;
                let home_dc = sql::read_home_dc(&c).await?;
                let dc_options = sql::read_dc_options(&c).await?;
                let peers = sql::read_all_peers(&c).await?;
                let updates = sql::read_updates_state(&c).await?;
                sql::commit(&c).await?;
                Ok((home_dc, dc_options, peers, updates))
            })
            .await?;
        let mut data = SessionData::default();
        if let Some(home_dc) = home_dc {
            data.home_dc = home_dc;
        }
        data.dc_options
            .extend(dc_options.into_iter().map(|dc| (dc.id, dc)));
        data.peer_infos = peers.into_iter().map(|p| (p.id(), p)).collect();
        data.updates_state = updates;
        Ok(data)
    }

    /// Runs `op` inside `BEGIN IMMEDIATE … COMMIT`, retried as a whole while the file is busy.
    pub(crate) async fn write<T, F, Fut>(
        &self,
        name: &'static str,
        mut op: F,
    ) -> Result<T, SessionError>
    where
        F: FnMut(Connection) -> Fut,
        Fut: Future<Output = Result<T, OpError>>,
    {
        let conn = self.conn.lock().await;
        retry::run(&conn, name, |c| {
            let body = op(c.clone());
            async move {
                sql::begin_immediate(&c).await?;
                let value = body.await?;
                sql::commit(&c).await?;
                Ok(value)
            }
        })
        .await
    }

    /// Runs the read-only `op` on the connection, retried while the file is busy.
    async fn read<T, F, Fut>(&self, name: &'static str, op: F) -> Result<T, SessionError>
    where
        F: FnMut(Connection) -> Fut,
        Fut: Future<Output = Result<T, OpError>>,
    {
        let conn = self.conn.lock().await;
        retry::run(&conn, name, op).await
    }

    /// Locks the DC cache; poisoning (a panic while holding it) is reported, not propagated.
    pub(crate) fn cache(&self) -> Result<MutexGuard<'_, DcCache>, SessionError> {
        self.cache.lock().map_err(|_| SessionError::Poisoned)
    }
}

impl fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately omits the DC options: they carry auth keys.
        f.debug_struct("SessionStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Session for SessionStore {
    type Error = SessionError;

    fn home_dc_id(&self) -> Result<i32, SessionError> {
        Ok(self.cache()?.home_dc)
    }

    fn set_home_dc_id(&self, dc_id: i32) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            // Cache first, like grammers: the running client uses the new DC even if the
            // write fails.
            self.cache()?.home_dc = dc_id;
            self.write("set_home_dc_id", |c| async move {
                sql::write_home_dc(&c, dc_id).await
            })
            .await
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
            let dc = &dc_option;
            self.write("set_dc_option", |c| async move {
                sql::write_dc_option(&c, dc).await
            })
            .await
        })
    }

    /// A peer known to this process with its access hash is answered from memory; anything
    /// else is read from the file (so a peer the other process cached is visible at once).
    fn peer(&self, peer: PeerId) -> BoxFuture<'_, Result<Option<PeerInfo>, SessionError>> {
        Box::pin(async move {
            let hit = self.known.hit(peer);
            if hit.is_some() {
                return Ok(hit);
            }
            let found = self
                .read(
                    "peer",
                    move |c| async move { sql::read_peer(&c, peer).await },
                )
                .await?;
            if let Some(info) = &found {
                self.known.remember(peer, info);
            }
            Ok(found)
        })
    }

    fn cache_peer(&self, peer: PeerInfo) -> BoxFuture<'_, Result<(), SessionError>> {
        self.cache_peers(vec![peer])
    }

    /// All peers in one transaction: one lock acquisition instead of one per peer.
    fn cache_peers(&self, peers: Vec<PeerInfo>) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            let peers = self.known.changed(peers);
            if peers.is_empty() {
                return Ok(());
            }
            let written = {
                let peers = &peers;
                self.write("cache_peers", |c| async move {
                    for peer in peers {
                        sql::upsert_peer(&c, peer).await?;
                    }
                    Ok(())
                })
                .await
            };
            if written.is_err() {
                // Not stored after all: let the next call try again.
                self.known.forget(&peers);
            }
            written
        })
    }

    fn updates_state(&self) -> BoxFuture<'_, Result<UpdatesState, SessionError>> {
        Box::pin(self.read("updates_state", |c| async move {
            // One read transaction: the row and the channel list come from the same snapshot.
            c.execute("BEGIN", ()).await?;
            let state = sql::read_updates_state(&c).await?;
            sql::commit(&c).await?;
            Ok(state)
        }))
    }

    fn set_update_state(&self, update: UpdateState) -> BoxFuture<'_, Result<(), SessionError>> {
        Box::pin(async move {
            let update = &update;
            self.write("set_update_state", |c| async move {
                sql::write_update_state(&c, update).await
            })
            .await
        })
    }
}

/// Creates the parent directory and, if missing, the file with mode 0600.
///
/// SQLite gives its `-wal` and `-shm` files the same permissions as the database file.
async fn prepare_file(path: &Path) -> Result<(), SessionError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SessionError::Io { path, source }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io_err(parent))?;
    }
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path).await {
        Ok(_) => set_owner_only(path).await.map_err(io_err(path)),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(io_err(path)(err)),
    }
}

/// Re-applies 0600 after creation, in case the umask or filesystem altered the create mode.
#[cfg(unix)]
async fn set_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).await
}

#[cfg(not(unix))]
async fn set_owner_only(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Makes `path` readable and writable by its owner only (it holds an auth key).
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
