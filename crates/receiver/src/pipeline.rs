//! The update loop: take the next update from the stream (with the rest of its burst, up to
//! [`MAX_BATCH`]), store them in the outbox in one transaction (the step that makes them
//! "received"), start their media downloads, and only then save the stream's position (in
//! the outbox too, at batch boundaries). A store that fails is retried with the same update — never skipped — so a
//! restart always resumes at or before the first update not stored. A freshly stored update
//! (never a replay) is also offered to the in-process handlers, when there are any; that never
//! waits.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use telegram::{Event, TelegramError, UpdateStream};
use tokio::sync::watch;
use tracing::{debug, error, warn};

use crate::dispatch::{Announcer, MediaJobs};
use crate::handlers::Feed;
use crate::normalize::Normalizer;
use outbox::{NewUpdate, Outbox, PendingMedia};

/// Most updates stored in one transaction (a burst beyond it takes several).
pub(crate) const MAX_BATCH: usize = 256;

/// First pause after a failing `next()` or store; it doubles up to [`MAX_ERROR_BACKOFF`].
pub(crate) const MIN_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two failing attempts.
pub(crate) const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// Whether the update stream works (for `/readyz`).
#[derive(Debug)]
pub struct Health {
    telegram: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            telegram: AtomicBool::new(true),
        }
    }
}

impl Health {
    /// `false` after the stream failed, until it delivers again.
    pub fn telegram_ok(&self) -> bool {
        self.telegram.load(Ordering::Relaxed)
    }

    fn set_telegram(&self, ok: bool) {
        self.telegram.store(ok, Ordering::Relaxed);
    }
}

/// What the loop works with.
pub(crate) struct Pipeline {
    pub stream: UpdateStream,
    pub normalizer: Normalizer,
    pub outbox: Arc<Outbox>,
    pub jobs: MediaJobs,
    pub announcer: Announcer,
    pub health: Arc<Health>,
    /// Offered every freshly stored update when handlers are registered.
    pub handlers: Option<Feed>,
}

/// Runs until `shutdown` turns true, then returns the media jobs (to drain). `ready` turns
/// true once the first `next()` has been polled.
pub(crate) async fn run(
    mut p: Pipeline,
    mut shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) -> MediaJobs {
    let mut backoff = MIN_ERROR_BACKOFF;
    let mut ready = Some(ready);
    loop {
        let next = signal_when_pending(p.stream.next_event(), ready.take());
        let result = tokio::select! {
            result = next => result,
            _ = shutdown.wait_for(|stop| *stop) => return p.jobs,
        };
        let failed = match result {
            Ok(event) => {
                backoff = MIN_ERROR_BACKOFF;
                p.health.set_telegram(true);
                // The rest of a burst grammers already holds is stored in the same
                // transaction: one commit per burst instead of one per update.
                let mut events = vec![event];
                let mut failed = None;
                while failed.is_none() && events.len() < MAX_BATCH {
                    match p.stream.try_next_event().await {
                        Some(Ok(event)) => events.push(event),
                        Some(Err(e)) => failed = Some(e),
                        None => break,
                    }
                }
                if !p.store(&events, &mut shutdown).await {
                    return p.jobs;
                }
                if let Some(position) = p.stream.checkpoint()
                    && let Err(e) = p.outbox.save_position(&position).await
                {
                    // The next checkpoint writes a later position; a restart before it only
                    // replays updates the outbox already holds (de-duplicated).
                    warn!(error = %e, "could not persist the update position");
                }
                failed
            }
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            p.health.set_telegram(false);
            log_stream_error(&e, backoff);
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait_for(|stop| *stop) => return p.jobs,
            }
            backoff = (backoff * 2).min(MAX_ERROR_BACKOFF);
        }
    }
}

impl Pipeline {
    /// Stores the events in one transaction (retrying while the outbox fails), then starts
    /// their media jobs or announces them; `false` when shutdown came first.
    async fn store(&mut self, events: &[Event], shutdown: &mut watch::Receiver<bool>) -> bool {
        let (rows, sources): (Vec<NewUpdate>, Vec<&Event>) = events
            .iter()
            .filter_map(|event| Some((self.normalizer.row(event)?, event)))
            .unzip();
        if rows.len() < events.len() {
            debug!(filtered = events.len() - rows.len(), "updates filtered out");
        }
        if rows.is_empty() {
            return true;
        }
        let mut backoff = MIN_ERROR_BACKOFF;
        let inserted = loop {
            match self.outbox.insert_all(&rows).await {
                Ok(inserted) => break inserted,
                Err(e) => {
                    error!(error = %e, updates = rows.len(),
                           "cannot store updates in the outbox; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return false,
                    }
                    backoff = (backoff * 2).min(MAX_ERROR_BACKOFF);
                }
            }
        };
        for ((row, inserted), event) in rows.into_iter().zip(inserted).zip(sources) {
            if !inserted.fresh {
                debug!(update_id = inserted.id, "replayed update already stored");
                continue;
            }
            if let Some(feed) = &self.handlers {
                feed.offer(inserted.id, event);
            }
            let kind = row.kind;
            metrics::counter!(ops::metrics::UPDATES_RECEIVED, "kind" => kind).increment(1);
            let mut body = row.body;
            body["update_id"] = inserted.id.into();
            if inserted.media {
                self.jobs.spawn(PendingMedia {
                    id: inserted.id,
                    kind: kind.to_owned(),
                    chat_id: row.chat_id,
                    body,
                    downloads: row.downloads,
                });
            } else {
                self.announcer.ready(inserted.id, row.chat_id, kind, body);
            }
        }
        true
    }
}

fn log_stream_error(e: &TelegramError, backoff: Duration) {
    match e {
        TelegramError::Unauthorized => {
            error!(error = %e, retry_in_ms = backoff.as_millis() as u64, "update stream: session not authorized")
        }
        _ => warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "update stream error"),
    }
}

/// Polls `fut`; the first time it is pending, sends `true` on `signal` (if any).
async fn signal_when_pending<F: Future>(
    fut: F,
    mut signal: Option<watch::Sender<bool>>,
) -> F::Output {
    let mut fut = pin!(fut);
    std::future::poll_fn(|cx| {
        let poll = fut.as_mut().poll(cx);
        if poll.is_pending()
            && let Some(signal) = signal.take()
        {
            signal.send_replace(true);
        }
        poll
    })
    .await
}
