//! After an update is stored: its media downloads run as background jobs (bounded by the
//! fetcher's semaphore, transient failures retried up to `WEBHOOK_MAX_AGE`), then the row is
//! marked ready; an update without media is ready at once. Per-chat order is the outbox's
//! business (a chat's row waiting for media holds back the chat's later rows), so a slow or
//! retried download in one chat never delays another chat. At shutdown the retries end and
//! their rows stay waiting in the outbox, resumed at the next start.
//!
//! Announcing a ready update = one line on stdout, the [`crate::App::subscribe`] broadcast
//! and a wake-up for the delivery scheduler and the archiver.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::deliver::DeliveryWake;
use crate::media::MediaService;
use crate::media::object::summary;
use outbox::{Outbox, PendingMedia};

/// An update whose body is final, as [`crate::App::subscribe`] reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct Handled {
    /// Its `update_id`.
    pub update_id: i64,
    /// Its kind (`message`, `edited_message`, …).
    pub kind: String,
    /// The body that is (or would be) POSTed.
    pub body: Value,
}

/// Where ready updates are announced.
#[derive(Clone)]
pub(crate) struct Announcer {
    /// Observers ([`crate::App::subscribe`]).
    pub handled: broadcast::Sender<Handled>,
    /// Wakes the delivery scheduler and the archiver.
    pub wakes: Wakes,
    /// Starts each stdout line: `[<account name>] ` with many accounts, else empty.
    pub prefix: Arc<str>,
}

/// The tasks that wait for ready rows.
#[derive(Clone, Default)]
pub(crate) struct Wakes {
    pub(crate) deliver: Arc<DeliveryWake>,
    pub(crate) archive: Arc<Notify>,
}

impl Wakes {
    /// Wakes both for a ready row of `chat_id` (a wake-up while one is busy is kept for its
    /// next wait).
    pub(crate) fn ring(&self, chat_id: i64) {
        self.deliver.chat_ready(chat_id);
        self.archive.notify_one();
    }
}

impl Announcer {
    /// Prints, broadcasts and wakes (row `update_id` of chat `chat_id` is ready); never
    /// waits.
    pub(crate) fn ready(&self, update_id: i64, chat_id: i64, kind: &str, body: Value) {
        // A closed stdout (e.g. a broken pipe) must not stop the receiver: ignore write errors.
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}{}",
            self.prefix,
            line(kind, &body)
        );
        let _ = self.handled.send(Handled {
            update_id,
            kind: kind.to_owned(),
            body,
        });
        self.wakes.ring(chat_id);
    }
}

/// `message update_id=7 chat=200000001 message_id=9 [voice 2s] "hi"` for either format.
pub(crate) fn line(kind: &str, body: &Value) -> String {
    let object = if body["message"].is_object() {
        &body["message"]
    } else if body[kind].is_object() {
        &body[kind]
    } else {
        body
    };
    // A callback query names its chat and message through `message` (InaccessibleMessage).
    let at = if object["message"].is_object() {
        &object["message"]
    } else {
        object
    };
    let chat = at["chat"]["id"]
        .as_i64()
        .or_else(|| at["chat_id"].as_i64())
        .unwrap_or_default();
    let mut out = format!("{kind} update_id={} chat={chat}", body["update_id"]);
    if let Some(id) = at["message_id"].as_i64() {
        out.push_str(&format!(" message_id={id}"));
    }
    if object["media"].is_object() {
        out.push_str(&format!(" {}", summary(&object["media"])));
    }
    // The legacy format's `text` is "" for media without caption: nothing to show.
    let text = object["text"].as_str().filter(|t| !t.is_empty());
    let text = text.or(object["caption"].as_str());
    if let Some(text) = text.or(object["data"].as_str()) {
        out.push_str(&format!(" {text:?}"));
    }
    out
}

/// The media downloads of stored updates.
pub(crate) struct MediaJobs {
    outbox: Arc<Outbox>,
    media: MediaService,
    announcer: Announcer,
    jobs: JoinSet<()>,
    /// Turns true when the drain starts: downloads stop retrying.
    stop: watch::Sender<bool>,
}

impl MediaJobs {
    pub(crate) fn new(outbox: Arc<Outbox>, media: MediaService, announcer: Announcer) -> Self {
        Self {
            outbox,
            media,
            announcer,
            jobs: JoinSet::new(),
            stop: watch::channel(false).0,
        }
    }

    /// Downloads the row's files in the background, then marks it ready.
    pub(crate) fn spawn(&mut self, pending: PendingMedia) {
        self.reap();
        let outbox = self.outbox.clone();
        let media = self.media.clone();
        let announcer = self.announcer.clone();
        let stop = self.stop.subscribe();
        self.jobs.spawn(async move {
            let mut body = pending.body;
            if media
                .complete(&mut body, &pending.downloads, &stop)
                .await
                .is_err()
            {
                info!(update_id = pending.id, "media left for the next start");
                return;
            }
            match outbox.media_done(pending.id, &body).await {
                Ok(()) => announcer.ready(pending.id, pending.chat_id, &pending.kind, body),
                // The row stays waiting; the next start downloads again.
                Err(e) => error!(update_id = pending.id, error = %e, "cannot store finished media"),
            }
        });
    }

    /// Collects finished jobs (a `JoinSet` keeps them until joined).
    fn reap(&mut self) {
        while let Some(result) = self.jobs.try_join_next() {
            if let Err(e) = result {
                error!(error = %e, "media job failed");
            }
        }
    }

    /// Ends the downloads' retries (a job waiting to retry ends at once, an attempt in flight
    /// is finished), waits up to `deadline` for the running jobs, then aborts the rest. The
    /// rows of jobs that did not finish stay in the outbox and are downloaded again at the
    /// next start. Returns whether all finished.
    pub(crate) async fn drain(mut self, deadline: Duration) -> bool {
        self.stop.send_replace(true);
        let jobs = &mut self.jobs;
        let finished = tokio::time::timeout(deadline, async {
            while jobs.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !finished {
            warn!(
                jobs = self.jobs.len(),
                "media downloads still running at the drain deadline; resumed at the next start"
            );
            self.jobs.shutdown().await;
        }
        finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_read_both_formats_and_callback_queries() {
        let legacy = json!({"update_id": 7, "event": "message",
            "message": {"message_id": 9, "chat": {"id": 5}, "text": "hi", "media": null}});
        assert_eq!(
            line("message", &legacy),
            r#"message update_id=7 chat=5 message_id=9 "hi""#
        );
        let photo = json!({"update_id": 10, "event": "message", "message": {"message_id": 4,
            "chat": {"id": 5}, "text": "", "media": {"type": "photo"}}});
        assert_eq!(
            line("message", &photo),
            "message update_id=10 chat=5 message_id=4 [photo]"
        );
        let bot = json!({"update_id": 8, "edited_message": {"message_id": 9,
            "chat": {"id": 5}, "caption": "c"}});
        assert_eq!(
            line("edited_message", &bot),
            r#"edited_message update_id=8 chat=5 message_id=9 "c""#
        );
        let press = json!({"update_id": 9, "event": "callback_query", "callback_query":
            {"id": "1", "message": {"chat": {"id": 5}, "message_id": 3, "date": 0},
             "data": "vote:1"}});
        assert_eq!(
            line("callback_query", &press),
            r#"callback_query update_id=9 chat=5 message_id=3 "vote:1""#
        );
    }
}
