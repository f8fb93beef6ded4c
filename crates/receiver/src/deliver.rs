//! The delivery scheduler. Each chat is a lane: a lane task takes the chat's oldest open
//! rows in `update_id` order and POSTs them one after another (so a chat's later update waits
//! for its earlier one, as the Bot API keeps per-chat order), while up to
//! `WEBHOOK_MAX_CONNECTIONS` lanes run at once and other chats go on. The scheduler starts a
//! lane when a row of an idle chat becomes ready ([`DeliveryWake::chat_ready`]) and looks at
//! every chat's head only at start, when a retry falls due, after a replay, and every few
//! seconds as a safety net — not once per update: with a deep backlog that full look was what
//! bounded throughput.
//!
//! A failed attempt is retried with exponential backoff and jitter, computed from the stored
//! attempt count so it survives restarts, and never sooner than the webhook's `Retry-After`;
//! past `WEBHOOK_MAX_AGE` the row becomes a dead letter and its chat moves on.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexSet;
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, warn};

use crate::webhook::target::Active;
use outbox::{Due, LANE_ROWS, Outbox, Outcome, now_ms};

/// Longest wait between two full looks at the outbox (a safety net; changes notify at once).
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// How long after delivery a row is kept for de-duplicating replays, and how often such rows
/// are pruned.
const KEEP_DELIVERED: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// The same for an in-memory outbox, where kept rows are RSS (at 5,000 updates/s, 60 s of
/// them held 160 MiB in the bench): long enough for the replays of a reconnect's
/// getDifference, short enough that memory follows the backlog, not the history.
const KEEP_DELIVERED_IN_MEMORY: Duration = Duration::from_secs(10);
const PRUNE_EVERY_IN_MEMORY: Duration = Duration::from_secs(2);
/// Pause before the next full look after the outbox could not be read or written.
const ERROR_PAUSE: Duration = Duration::from_secs(1);
/// Longest a lane holds outcomes it has not recorded yet before it records them (and goes
/// on): with a slow webhook a lane's turn can take long, and what a crash (kill -9) would
/// deliver twice stays within this window.
const RECORD_WITHIN: Duration = Duration::from_millis(100);

/// Outcomes a lane hands in, and where it hears whether they were written.
type Recorded = (Vec<(i64, Outcome)>, oneshot::Sender<bool>);

/// Group commit of delivery outcomes: lanes hand in what they attempted and wait; one task
/// writes everything handed in since its last commit in one transaction
/// ([`Outbox::record_all`]). One UPDATE transaction per delivered update was the biggest
/// share of the outbox's writes (see BENCHMARKS.md, issue #20).
#[derive(Clone)]
struct Recorder {
    tx: mpsc::UnboundedSender<Recorded>,
}

impl Recorder {
    /// Starts the writing task; it ends when every `Recorder` clone is dropped.
    fn start(outbox: Arc<Outbox>) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Recorded>();
        let task = tokio::spawn(async move {
            let mut batch: Vec<Recorded> = Vec::new();
            while rx.recv_many(&mut batch, usize::MAX).await > 0 {
                let outcomes: Vec<(i64, Outcome)> = batch
                    .iter_mut()
                    .flat_map(|(outcomes, _)| std::mem::take(outcomes))
                    .collect();
                let ok = match outbox.record_all(&outcomes).await {
                    Ok(()) => true,
                    Err(e) => {
                        error!(updates = outcomes.len(), error = %e,
                               "cannot record delivery outcomes");
                        false
                    }
                };
                for (_, done) in batch.drain(..) {
                    let _ = done.send(ok);
                }
            }
        });
        (Self { tx }, task)
    }

    /// Writes `outcomes` (with whatever other lanes handed in meanwhile); `false` when the
    /// outbox failed (the rows stay as they were, to be attempted again).
    async fn record(&self, outcomes: Vec<(i64, Outcome)>) -> bool {
        if outcomes.is_empty() {
            return true;
        }
        let (done, written) = oneshot::channel();
        if self.tx.send((outcomes, done)).is_err() {
            return false;
        }
        written.await.unwrap_or(false)
    }
}

/// How patiently updates are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failure (`WEBHOOK_RETRY_MIN_DELAY`); doubles each time.
    pub first_delay: Duration,
    /// Upper bound of one delay (`WEBHOOK_RETRY_MAX_DELAY`).
    pub max_delay: Duration,
    /// Age after which a failing update becomes a dead letter (`WEBHOOK_MAX_AGE`).
    pub max_age: Duration,
    /// Attempts in flight at once (`WEBHOOK_MAX_CONNECTIONS`).
    pub max_connections: usize,
}

impl Default for RetryPolicy {
    /// 1 s doubling to 60 s, dead after 24 h, 40 connections.
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_age: Duration::from_secs(24 * 3600),
            max_connections: 40,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `failures + 1`: `first_delay · 2^(failures-1)` capped at
    /// `max_delay`, jittered to between half and all of it, and at least `retry_after`.
    pub fn delay(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .first_delay
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = half.mul_f64(rand::random::<f64>());
        (half + jitter).max(retry_after.unwrap_or_default())
    }
}

/// What wakes the scheduler: chats whose rows just became ready, or a request to look at
/// every chat (after a replay). Shared by the update loop, the media jobs and `/status`.
#[derive(Debug, Default)]
pub struct DeliveryWake {
    /// Signalled chats in first-signalled order (so chats are served in arrival order).
    chats: Mutex<IndexSet<i64>>,
    rescan: AtomicBool,
    notify: Notify,
}

impl DeliveryWake {
    /// A row of `chat_id` is ready to deliver. Never waits; many calls for one chat before the
    /// scheduler looks cost one entry.
    pub fn chat_ready(&self, chat_id: i64) {
        self.chats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(chat_id);
        self.notify.notify_one();
    }

    /// Any chat may have ready rows (e.g. dead letters were replayed): look at all of them.
    pub fn rescan(&self) {
        self.rescan.store(true, Ordering::Relaxed);
        self.notify.notify_one();
    }

    /// The chats signalled since the last call (first-signalled first), and whether a full
    /// look was requested.
    fn take(&self) -> (IndexSet<i64>, bool) {
        let chats = std::mem::take(&mut *self.chats.lock().unwrap_or_else(|p| p.into_inner()));
        (chats, self.rescan.swap(false, Ordering::Relaxed))
    }
}

/// Everything the scheduler needs.
pub struct Deliverer {
    pub(crate) outbox: Arc<Outbox>,
    /// The webhook in force (`None`: rows wait for `getUpdates`); a lane reads it when it
    /// starts, so a change applies from the next lane on.
    pub(crate) target: watch::Receiver<Option<Arc<Active>>>,
    /// Retry settings.
    pub policy: RetryPolicy,
    /// Rung whenever rows become ready.
    pub wake: Arc<DeliveryWake>,
}

/// Deletes delivered rows once they are too old to de-duplicate anything (7 days; 10 s in an
/// in-memory outbox, where kept rows are RSS), until `stop` turns true. Runs whether or not a
/// webhook is in force; while none is (`target` holds `None`), open rows older than `max_age`
/// expire too: nothing fetched them with `getUpdates` (Telegram drops a bot's unfetched
/// updates after 24 hours).
pub async fn prune(
    outbox: Arc<Outbox>,
    target: watch::Receiver<Option<Arc<Active>>>,
    max_age: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let (keep, every) = if outbox.in_memory() {
        (KEEP_DELIVERED_IN_MEMORY, PRUNE_EVERY_IN_MEMORY)
    } else {
        (KEEP_DELIVERED, PRUNE_EVERY)
    };
    while !*stop.borrow() {
        let before = now_ms() - keep.as_millis() as i64;
        match outbox.prune_delivered(before).await {
            Ok(0) => {}
            Ok(rows) => debug!(rows, "pruned delivered updates"),
            Err(e) => warn!(error = %e, "could not prune delivered updates"),
        }
        if target.borrow().is_none() {
            match outbox
                .expire_unfetched(now_ms() - max_age.as_millis() as i64)
                .await
            {
                Ok(0) => {}
                Ok(rows) => warn!(rows, "updates nobody fetched with getUpdates expired"),
                Err(e) => warn!(error = %e, "could not expire unfetched updates"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
    }
}

/// Why a lane stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LaneEnd {
    /// The chat has no open row left (as far as the lane read).
    Idle,
    /// The lane delivered a full batch; the chat may have more.
    More,
    /// The head still waits for its media (its completion signals the chat again).
    Media,
    /// The head's next attempt is due at this time, unix ms.
    RetryAt(i64),
    /// The outbox failed; look again after [`ERROR_PAUSE`].
    Failed,
}

/// The scheduler's view of the lanes.
#[derive(Default)]
struct Lanes {
    /// Running lanes; `true` when the chat was signalled while its lane ran.
    running: HashMap<i64, bool>,
    /// Chats with ready rows waiting for a connection, first come first served.
    queue: VecDeque<i64>,
    queued: HashSet<i64>,
}

impl Lanes {
    /// Queues `chat` unless it runs (then it is looked at again when its lane ends).
    fn want(&mut self, chat: i64) {
        if let Some(signalled) = self.running.get_mut(&chat) {
            *signalled = true;
        } else if self.queued.insert(chat) {
            self.queue.push_back(chat);
        }
    }
}

impl Deliverer {
    /// Runs until `stop` turns true, then finishes the lanes in flight and attempts the rows
    /// signalled ready until then (the caller bounds the wait with its drain deadline); rows
    /// not attempted stay in the outbox.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut target = self.target.clone();
        let (recorder, recording) = Recorder::start(self.outbox.clone());
        let this = Arc::new(self);
        let mut lanes = Lanes::default();
        let mut tasks: JoinSet<LaneEnd> = JoinSet::new();
        let mut task_chats: HashMap<tokio::task::Id, i64> = HashMap::new();
        let mut next_scan = now_ms();
        let mut next_gauge = now_ms();
        while !*stop.borrow() {
            if target.borrow_and_update().is_none() {
                // Rows wait for getUpdates (or for a webhook to be set).
                tokio::select! {
                    // A new webhook: every chat's head is looked at again.
                    () = target_changed(&mut target) => next_scan = now_ms(),
                    _ = stop.wait_for(|s| *s) => {}
                    Some(done) = tasks.join_next_with_id() => {
                        lane_ended(&mut lanes, &mut task_chats, done);
                    }
                }
                continue;
            }
            let (signalled, rescan) = this.wake.take();
            signalled.into_iter().for_each(|chat| lanes.want(chat));
            if rescan || now_ms() >= next_scan {
                next_scan = this.scan(&mut lanes).await;
            }
            this.start_lanes(&mut lanes, &mut tasks, &mut task_chats, &recorder);
            // At most once a second: counting the backlog on every pass made a deep backlog
            // quadratic.
            if now_ms() >= next_gauge {
                next_gauge = now_ms() + 1000;
                if let Ok(stats) = this.outbox.stats().await {
                    metrics::gauge!(ops::metrics::DELIVERY_PENDING).set(stats.pending as f64);
                }
            }
            let wait = Duration::from_millis((next_scan - now_ms()).max(0) as u64);
            tokio::select! {
                () = this.wake.notify.notified() => {}
                () = tokio::time::sleep(wait) => {}
                () = target_changed(&mut target) => next_scan = now_ms(),
                Some(done) = tasks.join_next_with_id() => {
                    next_scan = next_scan.min(lane_ended(&mut lanes, &mut task_chats, done));
                }
                _ = stop.wait_for(|s| *s) => {}
            }
            // Collect every finished lane before deciding what to start next.
            while let Some(done) = tasks.try_join_next_with_id() {
                next_scan = next_scan.min(lane_ended(&mut lanes, &mut task_chats, done));
            }
        }
        // Rows that became ready while the update loop and the media jobs drained (they
        // stop before this scheduler does) still get their attempt; the caller's drain
        // deadline bounds the wait.
        this.wake
            .take()
            .0
            .into_iter()
            .for_each(|chat| lanes.want(chat));
        if this.target.borrow().is_some() {
            this.start_lanes(&mut lanes, &mut tasks, &mut task_chats, &recorder);
        }
        while tasks.join_next().await.is_some() {}
        drop(recorder);
        if let Err(e) = recording.await {
            error!(error = %e, "the delivery recorder failed");
        }
    }

    /// Starts queued lanes while connections are free.
    fn start_lanes(
        self: &Arc<Self>,
        lanes: &mut Lanes,
        tasks: &mut JoinSet<LaneEnd>,
        task_chats: &mut HashMap<tokio::task::Id, i64>,
        recorder: &Recorder,
    ) {
        let max = self
            .target
            .borrow()
            .as_ref()
            .map_or(self.policy.max_connections, |t| t.max_connections);
        while lanes.running.len() < max {
            let Some(chat) = lanes.queue.pop_front() else {
                break;
            };
            lanes.queued.remove(&chat);
            lanes.running.insert(chat, false);
            let this = self.clone();
            let recorder = recorder.clone();
            let task = tasks.spawn(async move { this.lane(chat, &recorder).await });
            task_chats.insert(task.id(), chat);
        }
    }

    /// Looks at every chat's head: queues the ready ones, and returns when to look again
    /// (the earliest retry, at most [`IDLE_RECHECK`] from now).
    async fn scan(&self, lanes: &mut Lanes) -> i64 {
        let heads = match self.outbox.heads().await {
            Ok(heads) => heads,
            Err(e) => {
                error!(error = %e, "cannot read the outbox");
                return now_ms() + ERROR_PAUSE.as_millis() as i64;
            }
        };
        let now = now_ms();
        let mut next = now + IDLE_RECHECK.as_millis() as i64;
        for due in &heads {
            if !due.ready || lanes.running.contains_key(&due.chat_id) {
                continue;
            }
            if due.next_attempt_at > now {
                next = next.min(due.next_attempt_at);
            } else {
                lanes.want(due.chat_id);
            }
        }
        debug!(
            heads = heads.len(),
            running = lanes.running.len(),
            queued = lanes.queue.len(),
            "delivery scan"
        );
        next
    }

    /// Delivers chat `chat_id`'s ready rows in order, one batch at most (so a lane running
    /// at shutdown ends within [`LANE_ROWS`] attempts). The outcomes are recorded together
    /// (group commit with other lanes) when the lane stops, or before its next POST once the
    /// oldest unrecorded one is [`RECORD_WITHIN`] old; the lane ends only after they are
    /// written, so its chat's next turn never reads a delivered row as open.
    async fn lane(&self, chat_id: i64, recorder: &Recorder) -> LaneEnd {
        let Some(target) = self.target.borrow().clone() else {
            return LaneEnd::Idle;
        };
        let rows = match self.outbox.lane(chat_id).await {
            Ok(rows) => rows,
            Err(e) => {
                error!(chat_id, error = %e, "cannot read the outbox");
                return LaneEnd::Failed;
            }
        };
        // After a full batch the lane goes to the back of the queue, so a busy chat cannot
        // keep a connection from the chats waiting for one.
        let mut end = if rows.len() == LANE_ROWS {
            LaneEnd::More
        } else {
            LaneEnd::Idle
        };
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut oldest: Option<std::time::Instant> = None;
        for due in rows {
            if !due.ready {
                end = LaneEnd::Media;
                break;
            }
            if due.next_attempt_at > now_ms() {
                end = LaneEnd::RetryAt(due.next_attempt_at);
                break;
            }
            if oldest.is_some_and(|t| t.elapsed() >= RECORD_WITHIN) {
                oldest = None;
                if !recorder.record(std::mem::take(&mut outcomes)).await {
                    // The rows stay as they were: attempted again (at least once), and the
                    // chat's later rows wait for them.
                    return LaneEnd::Failed;
                }
            }
            let id = due.id;
            let outcome = if target.posts(&due.kind) {
                self.attempt(&target, due).await
            } else {
                // Left out by setWebhook's allowed_updates: Telegram would not have queued it.
                Outcome::Delivered
            };
            oldest.get_or_insert_with(std::time::Instant::now);
            let retry_at = match &outcome {
                Outcome::Retry { retry_at, .. } => Some(*retry_at),
                _ => None,
            };
            outcomes.push((id, outcome));
            if let Some(at) = retry_at {
                end = LaneEnd::RetryAt(at);
                break;
            }
        }
        if !recorder.record(outcomes).await {
            return LaneEnd::Failed;
        }
        end
    }

    /// One attempt: POSTs the row and says what to record.
    async fn attempt(&self, target: &Active, due: Due) -> Outcome {
        let started = std::time::Instant::now();
        let body = match (target.bot_api, due.update_json) {
            (true, Some(update)) if !update.is_empty() => update,
            _ => due.body,
        };
        let result = target.client.attempt(&due.webhook_id, body).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        let now = now_ms();
        match &result {
            Ok(()) => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "ok").increment(1);
                let age = (now - due.received_at).max(0) as f64 / 1000.0;
                metrics::histogram!(ops::metrics::DELIVERY_LATENCY).record(age);
                debug!(
                    update_id = due.id,
                    chat_id = due.chat_id,
                    latency_ms,
                    "delivered"
                );
                Outcome::Delivered
            }
            Err(e) if now - due.received_at >= self.policy.max_age.as_millis() as i64 => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "failed").increment(1);
                error!(update_id = due.id, chat_id = due.chat_id, kind = %due.kind,
                       attempts = due.attempts + 1, error = %e,
                       "update older than WEBHOOK_MAX_AGE; moved to the dead letters");
                Outcome::Dead {
                    error: e.to_string(),
                }
            }
            Err(e) => {
                metrics::counter!(ops::metrics::DELIVERIES, "outcome" => "retried").increment(1);
                let delay = self.policy.delay(due.attempts + 1, e.retry_after());
                warn!(update_id = due.id, chat_id = due.chat_id, attempt = due.attempts + 1,
                      status = ?e.status(), latency_ms, retry_in_ms = delay.as_millis() as u64,
                      error = %e, "webhook delivery attempt failed");
                Outcome::Retry {
                    error: e.to_string(),
                    retry_at: now + delay.as_millis() as i64,
                }
            }
        }
    }
}

/// Resolves when the webhook in force changes; never, once nothing can change it (an
/// in-memory outbox has no settings to watch).
async fn target_changed(target: &mut watch::Receiver<Option<Arc<Active>>>) {
    if target.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Books a finished lane; returns when the scheduler must look at every chat again
/// (`i64::MAX` when this lane does not need it).
fn lane_ended(
    lanes: &mut Lanes,
    task_chats: &mut HashMap<tokio::task::Id, i64>,
    done: Result<(tokio::task::Id, LaneEnd), tokio::task::JoinError>,
) -> i64 {
    let id = match &done {
        Ok((id, _)) => *id,
        Err(e) => e.id(),
    };
    let Some(chat) = task_chats.remove(&id) else {
        return i64::MAX;
    };
    let signalled = lanes.running.remove(&chat).unwrap_or(false);
    let end = match done {
        Ok((_, end)) => end,
        Err(e) => {
            // The chat's rows stay in the outbox; the next full look finds its head again.
            error!(chat_id = chat, error = %e, "delivery lane task failed");
            LaneEnd::Failed
        }
    };
    match end {
        LaneEnd::More => {
            lanes.want(chat);
            i64::MAX
        }
        LaneEnd::Idle | LaneEnd::Media => {
            if signalled {
                lanes.want(chat);
            }
            i64::MAX
        }
        LaneEnd::RetryAt(at) => at,
        LaneEnd::Failed => now_ms() + ERROR_PAUSE.as_millis() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_to_the_cap_with_jitter_and_honour_retry_after() {
        let policy = RetryPolicy::default();
        for (failures, full) in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)] {
            let d = policy.delay(failures, None);
            let full = Duration::from_secs(full);
            assert!(d >= full / 2 && d <= full, "{failures}: {d:?}");
        }
        let d = policy.delay(1, Some(Duration::from_secs(120)));
        assert_eq!(d, Duration::from_secs(120));
    }

    #[test]
    fn wakes_keep_first_signalled_order_once_per_chat_and_carry_a_rescan() {
        let wake = DeliveryWake::default();
        for chat in [5, 3, 5, 9, 3] {
            wake.chat_ready(chat);
        }
        let (chats, rescan) = wake.take();
        assert_eq!(chats.into_iter().collect::<Vec<_>>(), [5, 3, 9]);
        assert!(!rescan);
        wake.rescan();
        let (chats, rescan) = wake.take();
        assert!(chats.is_empty() && rescan);
        assert!(!wake.take().1, "a rescan is taken once");
    }

    #[tokio::test]
    async fn a_chat_signalled_while_its_lane_runs_is_queued_again_unless_it_waits_for_a_retry() {
        let mut lanes = Lanes::default();
        let mut tasks = JoinSet::new();
        let mut task_chats = HashMap::new();
        for (chat, end) in [
            (1, LaneEnd::Idle),
            (2, LaneEnd::RetryAt(42)),
            (3, LaneEnd::Idle),
        ] {
            lanes.running.insert(chat, false);
            task_chats.insert(tasks.spawn(async move { end }).id(), chat);
        }
        lanes.want(1);
        lanes.want(2);
        lanes.want(4);
        assert_eq!(
            lanes.queue,
            [4],
            "running chats are marked, not queued twice"
        );
        let mut next_scans = Vec::new();
        while let Some(done) = tasks.join_next_with_id().await {
            next_scans.push(lane_ended(&mut lanes, &mut task_chats, done));
        }
        assert!(lanes.running.is_empty() && task_chats.is_empty());
        let mut queued: Vec<i64> = lanes.queue.iter().copied().collect();
        queued.sort_unstable();
        assert_eq!(
            queued,
            [1, 4],
            "1 was signalled while running; 2 waits; 3 is idle"
        );
        assert!(
            next_scans.contains(&42),
            "a retry asks for a look at its time"
        );
    }
}
