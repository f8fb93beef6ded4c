//! The update loop: drain the update stream promptly (grammers drops updates when its channel
//! is full) and hand each message to the [`Dispatcher`], which never waits on the network;
//! downloads and delivery happen elsewhere ([`crate::dispatch`], [`crate::webhook`]).

use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use telegram::{TelegramError, UpdateStream};
use tokio::sync::watch;
use tracing::{error, warn};

use crate::dispatch::Dispatcher;

/// First pause after a failing `next()`; it doubles up to [`MAX_ERROR_BACKOFF`].
pub const MIN_ERROR_BACKOFF: Duration = Duration::from_millis(100);
/// Longest pause between two failing `next()` calls.
pub const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// Runs until `shutdown` turns true, then returns the dispatcher (to drain its jobs). `ready`
/// turns true once the first `next()` has been polled, i.e. the stream has sent its initial
/// `updates.getState`.
pub(crate) async fn run(
    mut stream: UpdateStream,
    mut dispatcher: Dispatcher,
    mut shutdown: watch::Receiver<bool>,
    ready: watch::Sender<bool>,
) -> Dispatcher {
    let mut backoff = MIN_ERROR_BACKOFF;
    let mut ready = Some(ready);
    loop {
        let next = signal_when_pending(stream.next(), ready.take());
        let result = tokio::select! {
            result = next => result,
            _ = shutdown.wait_for(|stop| *stop) => return dispatcher,
        };
        match result {
            Ok(incoming) => {
                backoff = MIN_ERROR_BACKOFF;
                dispatcher.handle(incoming);
                if let Err(e) = stream.save_position().await {
                    warn!(error = %e, "could not persist the update position");
                }
            }
            Err(e) => {
                log_stream_error(&e, backoff);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return dispatcher,
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
