//! The sender's side of the receiver's outbox: `getUpdates` long polls and the runtime
//! webhook settings (`setWebhook`, `deleteWebhook`, `getWebhookInfo`) read and write the
//! outbox file the receiver stores updates in (`OUTBOX_PATH`, default
//! `<TG_SESSION_NAME>.outbox`), so both processes share one source of truth: the same rows,
//! the same `update_id`s, the same settings (`outbox::WebhookState`).
//!
//! The file is opened on first use (a sender that never polls never touches it). A long poll
//! learns of new rows by reading `PRAGMA data_version` every [`POLL_TICK`] (it changes when
//! the receiver commits), so an update is answered within that tick of being stored.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use outbox::{Outbox, OutboxError, Polled};
use tokio::sync::{Notify, OnceCell};

/// How often a waiting `getUpdates` looks for a commit of the receiver.
pub const POLL_TICK: Duration = Duration::from_millis(10);

/// Shared by every request of the process (and every sign-in).
pub struct UpdatesHub {
    path: PathBuf,
    outbox: OnceCell<Arc<Outbox>>,
    /// Incremented by every `getUpdates`; a waiting call that sees a newer number was
    /// superseded (409, as Telegram answers the older of two concurrent polls).
    generation: AtomicU64,
    superseded: Notify,
}

impl std::fmt::Debug for UpdatesHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdatesHub")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How a long poll ended.
#[derive(Debug)]
pub enum Polling {
    /// Updates (possibly none, when the timeout passed).
    Updates(Vec<Polled>),
    /// A newer `getUpdates` started meanwhile.
    Superseded,
}

impl UpdatesHub {
    /// A hub for the outbox at `path` (not opened yet).
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            outbox: OnceCell::new(),
            generation: AtomicU64::new(0),
            superseded: Notify::new(),
        }
    }

    /// A hub for an outbox already open (an account's outbox in the cluster's Postgres);
    /// `name` only labels it in logs.
    pub fn with_outbox(name: &str, outbox: Arc<Outbox>) -> Self {
        Self {
            path: PathBuf::from(name),
            outbox: OnceCell::new_with(Some(outbox)),
            generation: AtomicU64::new(0),
            superseded: Notify::new(),
        }
    }

    /// Whether the outbox is `:memory:` (`OUTBOX_PATH`): the receiver's rows are then in its
    /// own memory, out of the sender's reach.
    pub fn shares_nothing(&self) -> bool {
        self.path.as_os_str() == outbox::IN_MEMORY
    }

    /// The outbox file, opened (and created, or migrated) on first use.
    ///
    /// Errors: the file cannot be created or read, is damaged, or has a newer schema.
    pub async fn outbox(&self) -> Result<&Arc<Outbox>, OutboxError> {
        self.outbox
            .get_or_try_init(|| async { Outbox::open(&self.path).await.map(Arc::new) })
            .await
    }

    /// Marks a new `getUpdates` as the current one, superseding any waiting; returns its
    /// number for [`UpdatesHub::poll`].
    pub fn begin(&self) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.superseded.notify_waiters();
        generation
    }

    /// Open rows from `offset` on (at most `limit`, kinds `allowed`), waiting up to `timeout`
    /// for the first one; ends early as [`Polling::Superseded`] when a newer call began.
    pub async fn poll(
        &self,
        generation: u64,
        offset: i64,
        limit: usize,
        allowed: Option<&[String]>,
        timeout: Duration,
    ) -> Result<Polling, OutboxError> {
        let outbox = self.outbox().await?.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = outbox.data_version().await?;
        loop {
            if self.generation.load(Ordering::SeqCst) != generation {
                return Ok(Polling::Superseded);
            }
            let mut updates = outbox.fetch_updates(offset, allowed).await?;
            if !updates.is_empty() || tokio::time::Instant::now() >= deadline {
                updates.truncate(limit);
                return Ok(Polling::Updates(updates));
            }
            // Wait for a commit by another connection, the deadline, or a newer poll.
            loop {
                let superseded = self.superseded.notified();
                if self.generation.load(Ordering::SeqCst) != generation {
                    break;
                }
                tokio::select! {
                    () = superseded => break,
                    () = tokio::time::sleep_until(deadline) => break,
                    () = tokio::time::sleep(POLL_TICK) => {}
                }
                let version = outbox.data_version().await?;
                if version != seen {
                    seen = version;
                    break;
                }
            }
        }
    }
}
