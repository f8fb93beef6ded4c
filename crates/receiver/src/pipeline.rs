//! The update loop: drain the update stream promptly (grammers drops updates when its channel
//! is full), convert, print and enqueue; delivery happens elsewhere ([`crate::webhook`]).

use std::future::Future;
use std::io::Write as _;
use std::pin::pin;
use std::time::Duration;

use botapi::payload::WebhookPayload;
use telegram::{IncomingMessage, TelegramError, UpdateStream};
use tokio::sync::{broadcast, mpsc, watch};
use tracing::{debug, error, warn};

use crate::payload::{summary_line, webhook_payload};

/// First pause after a failing `next()`; it doubles up to [`MAX_ERROR_BACKOFF`].
pub const MIN_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two failing `next()` calls.
pub const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// What the loop does with each incoming message.
pub(crate) struct Handler {
    /// `account_phone_number` of every payload.
    pub account_phone: Option<String>,
    /// The delivery queue; `None` without `WEBHOOK_URL`.
    pub queue: Option<mpsc::Sender<WebhookPayload>>,
    /// Observers of handled payloads ([`crate::App::subscribe`]).
    pub handled: broadcast::Sender<WebhookPayload>,
}

impl Handler {
    /// Converts, prints and enqueues one message; never waits on the network.
    fn handle(&self, incoming: &IncomingMessage) {
        if incoming.outgoing {
            debug!(
                message_id = incoming.message.message_id,
                "outgoing message skipped"
            );
            return;
        }
        let payload = webhook_payload(incoming, self.account_phone.as_deref());
        // A closed stdout (e.g. a broken pipe) must not stop the receiver: ignore write errors.
        let _ = writeln!(std::io::stdout().lock(), "{}", summary_line(&payload));
        let _ = self.handled.send(payload.clone());
        if let Some(queue) = &self.queue {
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
}

/// Runs until `shutdown` turns true. `ready` turns true once the first `next()` has been
/// polled, i.e. the stream has sent its initial `updates.getState`.
pub(crate) async fn run(
    mut stream: UpdateStream,
    handler: Handler,
    mut shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) {
    let mut backoff = MIN_ERROR_BACKOFF;
    let mut ready = Some(ready);
    loop {
        let next = signal_when_pending(stream.next(), ready.take());
        let result = tokio::select! {
            result = next => result,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match result {
            Ok(incoming) => {
                backoff = MIN_ERROR_BACKOFF;
                handler.handle(&incoming);
                if let Err(e) = stream.save_position().await {
                    warn!(error = %e, "could not persist the update position");
                }
            }
            Err(e) => {
                log_stream_error(&e, backoff);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return,
                }
                backoff = (backoff * 2).min(MAX_ERROR_BACKOFF);
            }
        }
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
