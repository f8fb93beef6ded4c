//! [`Sink::run`]: the JetStream sink's scheduler. One lane per chat with sink rows: a lane
//! publishes its chat's rows in `update_id` order, each only after the previous one was
//! acknowledged, and stops at the first failure (the row is retried at the webhook's backoff,
//! or is dead past `WEBHOOK_MAX_AGE`, and then its chat moves on). Lanes of different chats run
//! at once, up to [`MAX_LANES`]. The outbox rings [`crate::outbox::Outbox::sink_wake`] when rows
//! are queued or become ready; every chat's head is also looked at when a retry falls due and
//! every few seconds.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use super::Publisher;
use crate::deliver::RetryPolicy;
use crate::outbox::{Outbox, SINK_LANE_ROWS, SinkRow, now_ms};

/// Lanes publishing at once. JetStream acknowledgements are cheap and a lane holds one
/// message in flight, so this is wider than the webhook's default 40 connections.
pub const MAX_LANES: usize = 256;
/// Longest wait between two looks at every chat's head.
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// Pause after the outbox could not be read or written.
const ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Counter of publishes by outcome (`acked`, `duplicate`, `retried`, `dead`).
pub const PUBLISHES: &str = "receiver_nats_publishes_total";
/// Gauge of sink rows not yet acknowledged.
pub const PENDING: &str = "receiver_nats_pending";

/// The sink: the outbox's queue, where to publish, how patiently.
pub struct Sink {
    /// The outbox holding the sink's queue.
    pub outbox: Arc<Outbox>,
    /// The JetStream side.
    pub publisher: Publisher,
    /// The webhook's retry settings (`WEBHOOK_RETRY_*`, `WEBHOOK_MAX_AGE`).
    pub policy: RetryPolicy,
}

/// How a lane ended.
enum LaneEnd {
    /// Nothing more to publish now (or the head waits for media / its retry time).
    Done,
    /// A full batch went out; the chat may have more.
    More,
    /// The outbox failed.
    Failed,
}

impl Sink {
    /// Creates the stream (retrying while NATS is unreachable), then publishes until `stop`
    /// turns true; lanes in flight then finish their current batch (the caller bounds the
    /// wait with its drain deadline). What is not acknowledged stays queued.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut failures = 0;
        loop {
            match self.publisher.ensure_stream().await {
                Ok(()) => break,
                Err(e) => {
                    failures += 1;
                    let delay = self.policy.delay(failures, None);
                    warn!(stream = self.publisher.stream(), error = %e,
                          retry_in_ms = delay.as_millis() as u64,
                          "cannot create or find the JetStream stream");
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            }
        }
        info!(
            stream = self.publisher.stream(),
            "publishing updates to JetStream"
        );
        let this = Arc::new(self);
        let wake = this.outbox.sink_wake();
        let mut lanes = Lanes::default();
        let mut next_gauge = 0;
        while !*stop.borrow() {
            let next = this.start_lanes(&mut lanes).await;
            // At most once a second: the count walks every pending row.
            if now_ms() >= next_gauge {
                next_gauge = now_ms() + 1000;
                if let Ok(stats) = this.outbox.sink_stats().await {
                    metrics::gauge!(PENDING).set(stats.pending as f64);
                }
            }
            let wait = Duration::from_millis((next - now_ms()).max(0) as u64);
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(done) = lanes.tasks.join_next_with_id() => lanes.ended(done),
                _ = stop.wait_for(|s| *s) => {}
            }
            while let Some(done) = lanes.tasks.try_join_next_with_id() {
                lanes.ended(done);
            }
        }
        while let Some(done) = lanes.tasks.join_next_with_id().await {
            lanes.ended(done);
        }
    }

    /// Starts a lane for every chat whose head is ready and due (while lanes are free);
    /// returns when to look again (unix ms).
    async fn start_lanes(self: &Arc<Self>, lanes: &mut Lanes) -> i64 {
        let heads = match self.outbox.sink_heads().await {
            Ok(heads) => heads,
            Err(e) => {
                error!(error = %e, "cannot read the outbox's sink queue");
                return now_ms() + ERROR_PAUSE.as_millis() as i64;
            }
        };
        let now = now_ms();
        let mut next = now + IDLE_RECHECK.as_millis() as i64;
        for (chat, ready, due_at) in heads {
            if !ready || lanes.running.contains(&chat) {
                continue;
            }
            if due_at > now {
                next = next.min(due_at);
                continue;
            }
            if lanes.running.len() >= MAX_LANES {
                break;
            }
            let this = self.clone();
            let task = lanes.tasks.spawn(async move { this.lane(chat).await });
            lanes.running.insert(chat);
            lanes.chats.insert(task.id(), chat);
        }
        next
    }

    /// Publishes chat `chat_id`'s due rows in order, each after the previous one's
    /// acknowledgement; records the acknowledged prefix in one statement.
    async fn lane(&self, chat_id: i64) -> LaneEnd {
        let end = self.publish_rows(chat_id).await;
        if let LaneEnd::Failed = end {
            // The chat stays taken meanwhile, so a failing outbox is not hammered.
            tokio::time::sleep(ERROR_PAUSE).await;
        }
        end
    }

    async fn publish_rows(&self, chat_id: i64) -> LaneEnd {
        let rows = match self.outbox.sink_lane(chat_id).await {
            Ok(rows) => rows,
            Err(e) => {
                error!(chat_id, error = %e, "cannot read the outbox's sink queue");
                return LaneEnd::Failed;
            }
        };
        let full = rows.len() == SINK_LANE_ROWS;
        let mut acked = None;
        let mut end = if full { LaneEnd::More } else { LaneEnd::Done };
        for row in rows {
            if !row.ready || row.next_attempt_at > now_ms() {
                end = LaneEnd::Done;
                break;
            }
            let id = row.id;
            match self.attempt(row).await {
                Attempt::Acked => acked = Some(id),
                Attempt::Dead => {}
                Attempt::Retry => {
                    end = LaneEnd::Done;
                    break;
                }
                Attempt::Failed => {
                    end = LaneEnd::Failed;
                    break;
                }
            }
        }
        if let Some(last) = acked
            && let Err(e) = self.outbox.sink_acked(chat_id, last).await
        {
            // Published but not recorded: published again later, and JetStream drops the
            // copy by its Nats-Msg-Id.
            error!(chat_id, error = %e, "cannot record JetStream acknowledgements");
            return LaneEnd::Failed;
        }
        end
    }

    /// One publish of `row`, its failure recorded.
    async fn attempt(&self, row: SinkRow) -> Attempt {
        let (id, chat_id, attempts, received_at) =
            (row.id, row.chat_id, row.attempts, row.received_at);
        let published = self
            .publisher
            .publish(&row.kind, row.chat_id, &row.webhook_id, row.body)
            .await;
        let e = match published {
            Ok(duplicate) => {
                let outcome = if duplicate { "duplicate" } else { "acked" };
                metrics::counter!(PUBLISHES, "outcome" => outcome).increment(1);
                debug!(update_id = id, chat_id, duplicate, "published to JetStream");
                return Attempt::Acked;
            }
            Err(e) => e,
        };
        let now = now_ms();
        let (retry_at, attempt) = if now - received_at >= self.policy.max_age.as_millis() as i64 {
            metrics::counter!(PUBLISHES, "outcome" => "dead").increment(1);
            error!(update_id = id, chat_id, attempts = attempts + 1, error = %e,
                   "update older than WEBHOOK_MAX_AGE; a dead letter of the NATS sink");
            (None, Attempt::Dead)
        } else {
            metrics::counter!(PUBLISHES, "outcome" => "retried").increment(1);
            let delay = self.policy.delay(attempts + 1, None);
            warn!(update_id = id, chat_id, attempt = attempts + 1,
                  retry_in_ms = delay.as_millis() as u64, error = %e,
                  "JetStream publish failed");
            (Some(now + delay.as_millis() as i64), Attempt::Retry)
        };
        match self.outbox.sink_failed(id, &e.to_string(), retry_at).await {
            Ok(()) => attempt,
            Err(e) => {
                error!(update_id = id, error = %e, "cannot record a JetStream failure");
                Attempt::Failed
            }
        }
    }
}

/// How one publish ended.
enum Attempt {
    Acked,
    Dead,
    Retry,
    Failed,
}

/// The running lanes: at most one per chat, so a chat's rows leave in order.
#[derive(Default)]
struct Lanes {
    running: HashSet<i64>,
    chats: HashMap<tokio::task::Id, i64>,
    tasks: JoinSet<LaneEnd>,
}

impl Lanes {
    /// Books a finished lane: its chat is free again (the next look at the heads finds it
    /// if it has more).
    fn ended(&mut self, done: Result<(tokio::task::Id, LaneEnd), tokio::task::JoinError>) {
        let id = match &done {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let Some(chat) = self.chats.remove(&id) else {
            return;
        };
        self.running.remove(&chat);
        match done {
            Ok((_, LaneEnd::Failed)) => warn!(chat_id = chat, "sink lane failed; retried"),
            Ok(_) => {}
            Err(e) => error!(chat_id = chat, error = %e, "sink lane task failed; retried"),
        }
    }
}
