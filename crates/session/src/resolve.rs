//! Which file a configured session name opens, importing a Telethon session beside it first:
//! [`resolve`], the one function every process and command uses before [`SessionStore::open`].
//!
//! A Telethon file is never opened for writing: its contents are imported into the gateway
//! file [`gateway_path`] (`tg_userbot.session` → `tg_userbot.gateway.session`), written to a
//! temporary file and moved into place in one step, so two processes starting at once never see
//! a half-written file and never import twice over each other.

use std::path::{Path, PathBuf};

use crate::inspect::{self, FileKind};
use crate::retry;
use crate::telethon::TelethonSession;
use crate::{SessionError, SessionStore, schema, sql};

/// Where a configured session name leads, as decided by [`resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The file to open with [`SessionStore::open`].
    pub path: PathBuf,
    /// What that file is.
    pub source: SessionSource,
}

/// How [`resolve`] chose [`Resolved::path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionSource {
    /// No session exists yet; the path is where a login will create one.
    New,
    /// The configured file is the gateway's own (or empty).
    Configured,
    /// The configured file is a Telethon session (or gone) and the gateway file beside it,
    /// imported earlier, is used.
    Gateway,
    /// The configured file is a Telethon session, imported just now into the gateway file.
    Imported(ImportSummary),
}

/// What an import wrote (counts only: nothing secret).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The home DC.
    pub dc_id: i32,
    /// Users in the peer cache.
    pub users: usize,
    /// Basic groups in the peer cache.
    pub chats: usize,
    /// Channels and supergroups in the peer cache.
    pub channels: usize,
    /// The signed-in user, when Telethon recorded it.
    pub self_id: Option<i64>,
    /// The account's update position (pts), when Telethon saved one.
    pub pts: Option<i32>,
    /// Channels with a saved pts.
    pub channel_states: usize,
}

/// The gateway's own session file beside a Telethon one: `NAME.session` becomes
/// `NAME.gateway.session` (a path without `.session` gets `.gateway.session` appended).
pub fn gateway_path(configured: &Path) -> PathBuf {
    let text = configured.as_os_str().to_string_lossy();
    let stem = text.strip_suffix(".session").unwrap_or(&text);
    PathBuf::from(format!("{stem}.gateway.session"))
}

/// Decides which file the session configured at `configured` (`TG_SESSION_NAME` + `.session`)
/// is read from, importing a Telethon session first when needed:
///
/// - configured file missing: the gateway file if it exists, else [`SessionSource::New`];
/// - configured file empty or the gateway's own: that file;
/// - configured file a Telethon session: the gateway file, imported from it first unless it
///   already exists (never re-imported). The Telethon file stays byte-identical; one INFO line
///   says what was imported (never the auth key).
///
/// Errors: [`SessionError::NotASession`] for a configured file that is neither (garbage, a
/// damaged database, another program's schema), left untouched; [`SessionError::Telethon`]
/// for a Telethon session without a login; I/O and SQL errors writing the gateway file.
pub async fn resolve(configured: &Path) -> Result<Resolved, SessionError> {
    let gateway = gateway_path(configured);
    let resolved = |path: &Path, source| Resolved {
        path: path.to_path_buf(),
        source,
    };
    match inspect::inspect(configured).await? {
        FileKind::Missing if gateway.exists() => Ok(resolved(&gateway, SessionSource::Gateway)),
        FileKind::Missing => Ok(resolved(configured, SessionSource::New)),
        FileKind::Empty | FileKind::Gateway => Ok(resolved(configured, SessionSource::Configured)),
        FileKind::Telethon { .. } if gateway.exists() => {
            Ok(resolved(&gateway, SessionSource::Gateway))
        }
        FileKind::Telethon { .. } => {
            let telethon = TelethonSession::from_file(configured).await?;
            match install(&telethon, &gateway, false).await {
                Ok(summary) => {
                    tracing::info!(
                        from = %configured.display(),
                        to = %gateway.display(),
                        dc_id = summary.dc_id,
                        users = summary.users,
                        chats = summary.chats,
                        channels = summary.channels,
                        self_id = ?summary.self_id,
                        pts = ?summary.pts,
                        channel_states = summary.channel_states,
                        "imported the Telethon session (the Telethon file is left unchanged)"
                    );
                    Ok(resolved(&gateway, SessionSource::Imported(summary)))
                }
                // Another process (the sender or receiver starting at the same moment) won.
                Err(SessionError::AlreadyExists { .. }) => {
                    Ok(resolved(&gateway, SessionSource::Gateway))
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Where `receiver import-session` writes for the session configured at `configured`: that
/// file, unless it is a Telethon session, which is never overwritten: then the gateway file
/// beside it ([`gateway_path`]), which [`resolve`] prefers.
///
/// Errors: as [`resolve`] for an unrecognised configured file.
pub async fn import_target(configured: &Path) -> Result<PathBuf, SessionError> {
    Ok(match inspect::inspect(configured).await? {
        FileKind::Telethon { .. } => gateway_path(configured),
        FileKind::Missing | FileKind::Empty | FileKind::Gateway => configured.to_path_buf(),
    })
}

impl TelethonSession {
    /// Reads the Telethon SQLite session at `path` without writing to it (no lock, journal,
    /// `-wal` or `-shm`; see the `inspect` module).
    ///
    /// Errors: [`SessionError::NotASession`] when it is not a Telethon session,
    /// [`SessionError::Telethon`] when it holds no login, I/O and SQL errors.
    pub async fn from_file(path: &Path) -> Result<Self, SessionError> {
        inspect::read_telethon(path).await
    }
}

/// Writes `session` as a new gateway session file at `to` (mode 0600): the home DC with its
/// address and auth key, the peer cache and the update state. The file is built under a
/// temporary name in the same directory, synced, then linked into place: with `replace`
/// false an existing `to` is never touched ([`SessionError::AlreadyExists`]); with `replace`
/// it is replaced in one rename (its stale `-wal`/`-shm` removed first; stop the processes
/// using it beforehand).
///
/// Errors: [`SessionError::AlreadyExists`], [`SessionError::Io`], SQL errors.
pub async fn install(
    session: &TelethonSession,
    to: &Path,
    replace: bool,
) -> Result<ImportSummary, SessionError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SessionError::Io { path, source }
    };
    if !replace && to.exists() {
        return Err(SessionError::AlreadyExists {
            path: to.to_path_buf(),
        });
    }
    let dir = match to.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.to_path_buf(),
        None => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let temp = TempFile(dir.join(format!(".{name}.import-{}-{nanos}", std::process::id())));
    create_private(&temp.0).map_err(io(&temp.0))?;
    let summary = write_store(&temp.0, session).await?;
    std::fs::File::open(&temp.0)
        .and_then(|f| f.sync_all())
        .map_err(io(&temp.0))?;
    if replace {
        for suffix in ["-wal", "-shm"] {
            let mut side = to.as_os_str().to_owned();
            side.push(suffix);
            match std::fs::remove_file(PathBuf::from(side)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(to)(e)),
                _ => {}
            }
        }
        std::fs::rename(&temp.0, to).map_err(io(to))?;
    } else {
        // A hard link never replaces an existing file, so of two processes importing at
        // once exactly one installs its (complete) file.
        match std::fs::hard_link(&temp.0, to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(SessionError::AlreadyExists {
                    path: to.to_path_buf(),
                });
            }
            // Filesystems without hard links: a rename, after checking once more.
            Err(_) if !to.exists() => std::fs::rename(&temp.0, to).map_err(io(to))?,
            Err(_) => {
                return Err(SessionError::AlreadyExists {
                    path: to.to_path_buf(),
                });
            }
        }
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(summary)
}

/// A temporary file (and its rollback journal) removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let mut journal = self.0.as_os_str().to_owned();
        journal.push("-journal");
        let _ = std::fs::remove_file(PathBuf::from(journal));
    }
}

fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Writes the schema and `session` into the empty file at `path`, in rollback-journal mode so
/// the whole database is in the one file that is moved into place.
async fn write_store(
    path: &Path,
    session: &TelethonSession,
) -> Result<ImportSummary, SessionError> {
    let open_err = |source| SessionError::Sql {
        op: "import",
        source,
    };
    let db = libsql::Builder::new_local(path)
        .build()
        .await
        .map_err(open_err)?;
    let conn = db.connect().map_err(open_err)?;
    retry::run(&conn, "import", |c| async move {
        Ok(schema::migrate(&c).await?)
    })
    .await?;
    let option = session.dc_option();
    let (option, peers, state) = (&option, &session.peers, &session.state);
    retry::run(&conn, "import", |c| async move {
        sql::begin_immediate(&c).await?;
        sql::write_home_dc(&c, session.dc_id).await?;
        sql::write_dc_option(&c, option).await?;
        for peer in peers {
            sql::upsert_peer(&c, peer).await?;
        }
        if let Some(state) = state {
            sql::write_update_state(
                &c,
                &grammers_session::types::UpdateState::All(state.clone()),
            )
            .await?;
        }
        sql::commit(&c).await?;
        Ok(())
    })
    .await?;
    drop(conn);
    drop(db);
    Ok(summary(session))
}

fn summary(session: &TelethonSession) -> ImportSummary {
    use grammers_session::types::PeerInfo;
    let mut summary = ImportSummary {
        dc_id: session.dc_id,
        pts: session.state.as_ref().map(|s| s.pts).filter(|&p| p != 0),
        channel_states: session.state.as_ref().map_or(0, |s| s.channels.len()),
        ..ImportSummary::default()
    };
    for peer in &session.peers {
        match peer {
            PeerInfo::User { id, is_self, .. } => {
                summary.users += 1;
                if *is_self == Some(true) {
                    summary.self_id = Some(*id);
                }
            }
            PeerInfo::Chat { .. } => summary.chats += 1,
            PeerInfo::Channel { .. } => summary.channels += 1,
        }
    }
    summary
}

impl SessionStore {
    /// [`resolve`]s `configured` (importing a Telethon session beside it when needed) and
    /// opens the file it leads to; returns the store and how it was chosen. With
    /// [`SessionSource::New`] the file is created at `configured`, as [`SessionStore::open`]
    /// does.
    ///
    /// Errors: those of [`resolve`] and [`SessionStore::open`].
    pub async fn open_configured(configured: &Path) -> Result<(Self, SessionSource), SessionError> {
        let resolved = resolve(configured).await?;
        Ok((Self::open(&resolved.path).await?, resolved.source))
    }
}
