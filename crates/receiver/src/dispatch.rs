//! From incoming message to emitted payload without ever stalling the update loop.
//!
//! A message with media (its own or its replied-to message's) becomes a job that downloads
//! in the background (bounded by the fetcher's semaphore) and then waits for the previous job of
//! the same chat before it emits. So order within a chat is kept, while a slow download in
//! one chat never delays another chat. A text message whose chat has nothing pending is
//! emitted at once, in the loop.
//!
//! Emitting = the stdout line, the [`crate::App::subscribe`] broadcast and the webhook queue.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use botapi::payload::WebhookPayload;
use telegram::IncomingMessage;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::{debug, error, warn};

use crate::media::MediaService;
use crate::payload::{summary_line, webhook_payload};

/// Chats tracked before finished ones are pruned from the ordering table (it then grows to
/// twice the number still pending).
const PRUNE_AT_LEAST: usize = 64;

/// Where finished payloads go.
pub(crate) struct Emitter {
    /// The delivery queue; `None` without `WEBHOOK_URL`.
    pub queue: Option<mpsc::Sender<WebhookPayload>>,
    /// Observers of handled payloads ([`crate::App::subscribe`]).
    pub handled: broadcast::Sender<WebhookPayload>,
}

impl Emitter {
    /// Prints, broadcasts and enqueues one payload; never waits on the network.
    fn emit(&self, payload: WebhookPayload) {
        // A closed stdout (e.g. a broken pipe) must not stop the receiver: ignore write errors.
        let _ = writeln!(std::io::stdout().lock(), "{}", summary_line(&payload));
        let _ = self.handled.send(payload.clone());
        let Some(queue) = &self.queue else { return };
        match queue.try_send(payload) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(p)) => error!(
                message_id = p.message.message_id,
                chat_id = p.message.chat.id,
                "webhook queue full; payload dropped"
            ),
            Err(mpsc::error::TrySendError::Closed(p)) => error!(
                message_id = p.message.message_id,
                chat_id = p.message.chat.id,
                "webhook worker stopped; payload dropped"
            ),
        }
    }
}

/// Turns incoming messages into emitted payloads; owns the media jobs.
pub(crate) struct Dispatcher {
    account_phone: Option<String>,
    emitter: Arc<Emitter>,
    media: MediaService,
    jobs: JoinSet<()>,
    /// Per chat: resolves when the chat's last job has emitted.
    tails: HashMap<i64, oneshot::Receiver<()>>,
    prune_at: usize,
}

impl Dispatcher {
    /// `account_phone` becomes every payload's `account_phone_number`.
    pub fn new(account_phone: Option<String>, emitter: Emitter, media: MediaService) -> Self {
        Self {
            account_phone,
            emitter: Arc::new(emitter),
            media,
            jobs: JoinSet::new(),
            tails: HashMap::new(),
            prune_at: PRUNE_AT_LEAST,
        }
    }

    /// Handles one message: skipped when outgoing, emitted now when it is text and its chat
    /// has nothing pending, else queued behind its chat as a background job.
    pub fn handle(&mut self, incoming: IncomingMessage) {
        self.reap();
        if incoming.outgoing {
            debug!(
                message_id = incoming.message.message_id,
                "outgoing message skipped"
            );
            return;
        }
        let mut payload = webhook_payload(&incoming, self.account_phone.as_deref());
        let chat = payload.message.chat.id;
        let previous = self.pending_tail(chat);
        let with_media = MediaService::wants(&incoming);
        if !with_media && previous.is_none() {
            self.emitter.emit(payload);
            return;
        }
        let (done, tail) = oneshot::channel();
        self.tails.insert(chat, tail);
        self.prune();
        let media = self.media.clone();
        let emitter = self.emitter.clone();
        self.jobs.spawn(async move {
            if with_media {
                media.attach(&incoming, &mut payload).await;
            }
            if let Some(previous) = previous {
                // An error means the previous job was aborted or panicked: go on.
                let _ = previous.await;
            }
            emitter.emit(payload);
            let _ = done.send(());
        });
    }

    /// The chat's last job, if it has not emitted yet.
    fn pending_tail(&mut self, chat: i64) -> Option<oneshot::Receiver<()>> {
        let mut tail = self.tails.remove(&chat)?;
        match tail.try_recv() {
            Err(oneshot::error::TryRecvError::Empty) => Some(tail),
            _ => None,
        }
    }

    /// Forgets chats whose jobs have all emitted, once the table has grown.
    fn prune(&mut self) {
        if self.tails.len() < self.prune_at {
            return;
        }
        self.tails
            .retain(|_, tail| matches!(tail.try_recv(), Err(oneshot::error::TryRecvError::Empty)));
        self.prune_at = (self.tails.len() * 2).max(PRUNE_AT_LEAST);
    }

    /// Collects finished jobs (a `JoinSet` keeps them until joined).
    fn reap(&mut self) {
        while let Some(result) = self.jobs.try_join_next() {
            if let Err(e) = result {
                error!(error = %e, "media job failed");
            }
        }
    }

    /// Waits up to `deadline` for the pending jobs to emit, then aborts the rest. Returns
    /// whether every job finished.
    pub async fn drain(mut self, deadline: Duration) -> bool {
        let jobs = &mut self.jobs;
        let finished = tokio::time::timeout(deadline, async {
            while jobs.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !finished {
            warn!(
                jobs = self.jobs.len(),
                "media downloads still running at the drain deadline; their messages are dropped"
            );
            self.jobs.shutdown().await;
        }
        finished
    }
}
