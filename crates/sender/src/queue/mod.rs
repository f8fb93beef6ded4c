//! The durable, paced send queue every sending method goes through.
//!
//! A send request (`sendMessage`, `sendPhoto`…, `sendMediaGroup`, `sendLocation`…,
//! `forwardMessage(s)`, `copyMessage(s)`; [`SEND_METHODS`]) is stored first — method, query,
//! body and a fresh `random_id` — in an SQLite file next to the session, or in the account's
//! schema on Postgres when several instances share accounts ([`store`]), then put in its
//! chat's lane. A lane runs one send at a time, in arrival order, each after a token
//! from the buckets of [`pacing`]; the send is the method's own handler run on the stored
//! request inside [`telegram::with_random_id`], so every try — a retry after a network error,
//! the resumption after a restart — carries the same `random_id` and Telegram sees one send
//! (a repeat is answered `RANDOM_ID_DUPLICATE`, which `telegram` resolves to the message that
//! exists).
//!
//! Lanes ([`lanes`]): a send's lane is its chat; an `@username` is resolved to its chat
//! first, so a chat named both ways keeps one order.
//!
//! Answers: `FLOOD_WAIT_X` (429) parks what it holds for X s + jitter and tries again — the
//! lane when the refused call was about the chat, the expensive calls or every lane when it
//! was account-wide ([`pacing::Scope`], from [`telegram::watch_floods`]); `PEER_FLOOD`
//! pauses the whole account ([`QueueConfig::peer_flood_pause`]) and tries again after; 5xx
//! (network, Telegram internal) are retried with backoff ([`QueueConfig::max_attempts`]);
//! anything else is final and stored. A synchronous caller waits up to
//! [`QueueConfig::max_wait`] for its send to be *started*; past that, a send not yet tried is
//! withdrawn and answered 429 with `retry_after` = the lane's expected wait. An asynchronous
//! caller (`Prefer: respond-async` or `respond_async=true`) gets 202 with a job id at once;
//! the answer is POSTed to [`QueueConfig::result_webhook`] and readable at
//! `GET /api_v1/jobs/<id>`. An idempotency key (`Idempotency-Key` header or `idempotency_key`
//! parameter) returns the first answer of that key for [`QueueConfig::keep`].
//!
//! Modules: [`store`] (the file or the Postgres rows), [`pacing`] (buckets, parks, the account
//! pause), [`intake`] (what is read from a request before it is stored), [`lanes`]
//! (`@username` → chat).

pub mod intake;
pub mod lanes;
pub mod pacing;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backon::{ExponentialBuilder, Retryable};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::error::ApiError;
use intake::{Intake, Spool};
use lanes::{Resolver, Usernames};
use pacing::{PaceConfig, Pacing, Scope, count_flood};
use store::{Answer, Job, Known, Store, StoreError, StoredBody};

/// The methods that send messages and go through the queue (lowercase).
pub const SEND_METHODS: &[&str] = &[
    "sendmessage",
    "sendphoto",
    "senddocument",
    "sendaudio",
    "sendvoice",
    "sendvideo",
    "sendanimation",
    "sendvideonote",
    "sendsticker",
    "sendmediagroup",
    "sendlocation",
    "sendvenue",
    "sendcontact",
    "sendpoll",
    "senddice",
    "forwardmessage",
    "forwardmessages",
    "copymessage",
    "copymessages",
];

/// Methods that cost Telegram more (dialog lists, full chat info): their own bucket.
pub const EXPENSIVE_METHODS: &[&str] = &["getchats", "getchat"];

/// Runs one stored send (the method's handler on the stored request) and returns its answer
/// and the flood wait it met, if any ([`telegram::watch_floods`]).
pub type Runner =
    Arc<dyn Fn(Job) -> BoxFuture<'static, (Answer, Option<telegram::Flood>)> + Send + Sync>;

/// How the queue behaves.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// The SQLite file (`:memory:`: not durable); unused with [`QueueConfig::postgres`].
    pub path: PathBuf,
    /// The account's queue on the cluster's Postgres instead of the SQLite file: another
    /// instance that takes the account over resumes its open sends
    /// ([`Store::open_postgres`]; request bodies are stored in the rows).
    pub postgres: Option<store::PostgresQueue>,
    /// The buckets; `None` paces nothing (lanes still run one send per chat, in order).
    pub pacing: Option<PaceConfig>,
    /// How long a synchronous caller waits for its send to start (`SEND_QUEUE_MAX_WAIT`).
    pub max_wait: Duration,
    /// How long finished sends and their idempotency keys are kept (`IDEMPOTENCY_TTL`).
    pub keep: Duration,
    /// Where answers of asynchronous sends are POSTed (`SEND_RESULT_WEBHOOK_URL`).
    pub result_webhook: Option<url::Url>,
    /// How long `PEER_FLOOD` pauses the account (`PEER_FLOOD_PAUSE`).
    pub peer_flood_pause: Duration,
    /// Tries of a send that keeps failing with 5xx before its 5xx is final.
    pub max_attempts: usize,
    /// The largest request body stored, bytes (the router's whole-request limit).
    pub body_limit: usize,
    /// Sends in flight at once per chat (`SEND_CHAT_CONCURRENCY`, default 1). Above 1 a chat's
    /// order is no longer kept, and a lost send with the same content as another in flight
    /// may be answered with the other's message.
    pub chat_concurrency: usize,
}

/// A queued send in memory.
struct Entry {
    job: Job,
    /// [`WAITING`], [`TRYING`] or [`WITHDRAWN`].
    state: AtomicU8,
    kind: Kind,
    queued_at: Instant,
    /// When its synchronous caller stops waiting (`None`: asynchronous or resumed).
    deadline: Option<Instant>,
    /// A lane worker took it.
    taken: AtomicBool,
}

/// What decides a send's buckets.
#[derive(Clone, Copy, Debug)]
struct Kind {
    /// Into a group, supergroup or channel: the group bucket too.
    group: bool,
    /// To an `@username` (resolved first): the expensive bucket too.
    expensive: bool,
    /// A reply: first at the account bucket.
    reply: bool,
}

impl Kind {
    fn of(intake: &Intake) -> Self {
        Self {
            group: intake.group,
            expensive: intake.by_username,
            reply: intake.reply,
        }
    }
}

const WAITING: u8 = 0;
const TRYING: u8 = 1;
const WITHDRAWN: u8 = 2;

#[derive(Default)]
struct Lane {
    /// Oldest first; a send leaves when it is finished or withdrawn.
    jobs: VecDeque<Arc<Entry>>,
    /// Workers running (at most [`QueueConfig::chat_concurrency`]).
    workers: usize,
}

/// What the queue shows on `/status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueStatus {
    /// Sends waiting or being sent.
    pub depth: usize,
    /// Lanes (chats) with sends.
    pub lanes: usize,
    /// Lanes parked by a FLOOD_WAIT on a call about their chat.
    pub parked_lanes: usize,
    /// The expensive calls are parked by a FLOOD_WAIT on one (resolving a username, the
    /// dialog list).
    pub expensive_parked: bool,
    /// Every send is parked by a FLOOD_WAIT on another account-wide call (or
    /// `FLOOD_PREMIUM_WAIT_X`).
    pub account_parked: bool,
    /// The account is paused after PEER_FLOOD.
    pub paused: bool,
    /// Until when, unix seconds.
    pub paused_until: Option<u64>,
    /// Whether buckets are on.
    pub pacing: bool,
}

/// The queue: store, pacing, lanes and the callers waiting for answers.
pub struct SendQueue {
    store: Store,
    spool: Spool,
    pacing: Pacing,
    paced: bool,
    config: QueueConfig,
    runner: Runner,
    usernames: Usernames,
    lanes: Mutex<HashMap<String, Lane>>,
    waiters: Mutex<HashMap<i64, Vec<oneshot::Sender<Answer>>>>,
    http: reqwest::Client,
}

/// Metric names.
const DEPTH: &str = "sender_queue_depth";
const WAIT: &str = "sender_queue_wait_seconds";
const FLOOD: &str = pacing::FLOOD_METRIC;
const PAUSED: &str = "sender_account_paused";

impl SendQueue {
    /// Opens the store and resumes every send a previous run (on Postgres: the account's
    /// previous owner) left open, with its stored `random_id`, so none is sent twice.
    /// `resolver` finds the chat of an `@username`.
    ///
    /// Errors: the store cannot be opened or read.
    pub async fn start(
        config: QueueConfig,
        runner: Runner,
        resolver: Resolver,
    ) -> Result<Arc<Self>, StoreError> {
        let (store, spool) = match &config.postgres {
            Some(pg) => (
                Store::open_postgres(&pg.cluster, pg.fence.clone(), config.body_limit).await?,
                Spool::temporary(),
            ),
            None => (
                Store::open(&config.path).await?,
                Spool::beside(&config.path),
            ),
        };
        let queue = Arc::new(Self {
            store,
            spool,
            pacing: Pacing::new(config.pacing),
            paced: config.pacing.is_some(),
            config,
            runner,
            usernames: Usernames::new(resolver),
            lanes: Mutex::default(),
            waiters: Mutex::default(),
            http: reqwest::Client::new(),
        });
        let open = queue.store.open_jobs().await?;
        let spooled = open
            .iter()
            .filter_map(|job| job.body.file().map(Path::to_path_buf))
            .collect();
        queue
            .spool
            .prepare(&spooled)
            .await
            .map_err(StoreError::Spool)?;
        if !open.is_empty() {
            tracing::info!(
                count = open.len(),
                "resuming sends left open by the last run"
            );
        }
        for job in open {
            let group = job.lane.parse::<i64>().is_ok_and(|id| id < 0);
            let expensive = job.lane.starts_with('@');
            let kind = Kind {
                group,
                expensive,
                reply: false,
            };
            queue.enqueue(job, kind, false);
        }
        let pruner = Arc::downgrade(&queue);
        tokio::spawn(async move {
            loop {
                let Some(queue) = pruner.upgrade() else {
                    return;
                };
                if let Err(e) = queue.store.prune(queue.config.keep).await {
                    tracing::warn!(error = %e, "pruning the send queue failed");
                }
                drop(queue);
                tokio::time::sleep(Duration::from_secs(600)).await;
            }
        });
        Ok(queue)
    }

    /// `/status`'s view.
    pub fn status(&self) -> QueueStatus {
        let (depth, lanes) = self
            .lanes
            .lock()
            .map(|l| (l.values().map(|l| l.jobs.len()).sum(), l.len()))
            .unwrap_or_default();
        let pause = self.pacing.pause();
        QueueStatus {
            depth,
            lanes,
            parked_lanes: self.pacing.parked_lanes(),
            expensive_parked: self.pacing.expensive_parked(),
            account_parked: self.pacing.account_parked(),
            paused: pause.is_some(),
            paused_until: pause.and_then(|p| {
                p.until_wall
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs())
            }),
            pacing: self.paced,
        }
    }

    /// Runs an expensive call (`getChats`, `getChat`) after its park (answering 429 at once
    /// when that lasts longer than [`QueueConfig::max_wait`]) and a token of the expensive
    /// bucket; a flood wait it meets parks what it holds, as a send's would.
    pub async fn expensive(&self, call: impl Future<Output = Response>) -> Response {
        let parked = self.pacing.expensive_blocked();
        if parked > self.config.max_wait {
            return too_many_requests(parked);
        }
        tokio::time::sleep(parked).await;
        self.pacing.expensive().await;
        let (response, flood) = telegram::watch_floods(call).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS
            && let Some(flood) = flood
        {
            let scope = match Scope::of(Some(&flood)) {
                Scope::Chat => Scope::Expensive,
                other => other,
            };
            count_flood(scope);
            self.pacing
                .park_all(scope, Duration::from_secs(u64::from(flood.seconds)));
        }
        response
    }

    /// The lane of `intake`'s send and whether it is a group's and waits for an expensive
    /// call: its chat, with an `@username` resolved to the chat when it can be now.
    async fn lane_of(&self, intake: &Intake, lane: String) -> (String, Kind) {
        let mut kind = Kind::of(intake);
        if intake.by_username
            && let Some(id) = self.usernames.chat_id(&lane, &self.pacing).await
        {
            kind.group = id < 0;
            kind.expensive = false;
            return (id.to_string(), kind);
        }
        (lane, kind)
    }

    /// Handles one send request of `method`: stores, queues and answers it (see the module
    /// docs). A request naming no `chat_id` runs at once, so its handler answers the error.
    pub async fn handle(self: &Arc<Self>, method: &str, request: Request<Body>) -> Response {
        let intake = match intake::read(request, self.config.body_limit, &self.spool).await {
            Ok(intake) => intake,
            Err(error) => return error.into_response(),
        };
        let Some(lane) = intake.lane.clone() else {
            let answer = (self.runner)(job_of(0, method, "", &intake)).await.0;
            intake.body.discard();
            return respond(answer);
        };
        let (lane, kind) = self.lane_of(&intake, lane).await;
        let job = job_of(rand::random(), method, &lane, &intake);
        // Queued by the store's writer right after the commit, in job id order, so a lane
        // runs its sends in that order; a synchronous caller's waiter is there before.
        let waited = !intake.is_async;
        let (stored, known) = oneshot::channel();
        let queue = self.clone();
        let then: store::AfterInsert = Box::new(move |known, job| {
            let known = known.map(|known| {
                let waiter = match known {
                    Known::Inserted(id) | Known::Open(id) if waited => Some(queue.wait(id)),
                    _ => None,
                };
                let slot = match known {
                    Known::Inserted(id) => queue.enqueue(Job { id, ..job }, kind, waited),
                    _ => None,
                };
                (known, waiter, slot)
            });
            // A slot the caller is gone for starts its worker as it is dropped.
            let _ = stored.send(known);
        });
        self.store.insert_then(job, intake.key.clone(), then);
        let (known, answer, slot) = match known.await {
            Ok(Ok(known)) => known,
            Ok(Err(e)) => {
                intake.body.discard();
                return store_failed(&e);
            }
            Err(_) => {
                intake.body.discard();
                return shutting_down();
            }
        };
        if !matches!(known, Known::Inserted(_)) {
            // The key's first request is stored; this one's body is not needed.
            intake.body.discard();
        }
        let (id, fresh) = match known {
            Known::Done(_, answer) => return replayed(respond(answer)),
            Known::Open(id) => (id, false),
            Known::Inserted(id) => (id, true),
        };
        let Some(answer) = answer else {
            return accepted(id);
        };
        if !fresh && let Ok(Some(Known::Done(_, answer))) = self.store.get(id).await {
            return replayed(respond(answer));
        }
        if let Some(slot) = slot
            && slot.run().await
        {
            return answer.await.map_or_else(|_| shutting_down(), respond);
        }
        self.await_answer(id, &lane, answer).await
    }

    fn wait(&self, id: i64) -> oneshot::Receiver<Answer> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.entry(id).or_default().push(tx);
        }
        rx
    }

    /// Waits for job `id`'s answer up to `max_wait` for it to start, then withdraws it.
    async fn await_answer(
        &self,
        id: i64,
        lane: &str,
        mut answer: oneshot::Receiver<Answer>,
    ) -> Response {
        if let Ok(got) = tokio::time::timeout(self.config.max_wait, &mut answer).await {
            return got.map_or_else(|_| shutting_down(), respond);
        }
        match self.withdraw(id) {
            Some((ahead, body)) => {
                let wait = self.pacing.estimate(lane, ahead);
                match self.store.cancel(id).await {
                    Ok(()) => body.discard(),
                    Err(e) => {
                        tracing::error!(error = %e, "withdrawing a send from the queue failed");
                    }
                }
                // Every caller waiting for this send (a retry with the same idempotency key)
                // is told too: the send will not run.
                let refused = Answer::read(too_many_requests(wait)).await;
                self.notify(id, &refused);
                respond(refused)
            }
            // Being tried: its answer comes soon.
            None => answer.await.map_or_else(|_| shutting_down(), respond),
        }
    }

    /// Withdraws job `id` if it is waiting; how many sends were ahead of it, and its body.
    /// `None` when it is being tried (or finished).
    fn withdraw(&self, id: i64) -> Option<(usize, StoredBody)> {
        let lanes = self.lanes.lock().ok()?;
        for lane in lanes.values() {
            if let Some(at) = lane.jobs.iter().position(|e| e.job.id == id) {
                let entry = &lane.jobs[at];
                return entry
                    .state
                    .compare_exchange(WAITING, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire)
                    .ok()
                    .map(|_| (at, entry.job.body.clone()));
            }
        }
        None
    }

    /// Puts `job` in its lane and starts a worker for the lane if it has room for one. With
    /// pacing off, the worker for a synchronous send (`waited`) that finds the lane idle is
    /// not spawned but returned, for the caller's own task to run ([`WorkerSlot`]): a send
    /// that need not wait then runs without a hop to another task and back.
    fn enqueue(self: &Arc<Self>, job: Job, kind: Kind, waited: bool) -> Option<WorkerSlot> {
        let lane_name = job.lane.clone();
        let now = Instant::now();
        let entry = Arc::new(Entry {
            job,
            state: AtomicU8::new(WAITING),
            kind,
            queued_at: now,
            deadline: waited.then(|| now + self.config.max_wait),
            taken: AtomicBool::new(false),
        });
        let start = {
            let Ok(mut lanes) = self.lanes.lock() else {
                return None;
            };
            let lane = lanes.entry(lane_name.clone()).or_default();
            lane.jobs.push_back(entry.clone());
            let start = lane.workers < self.config.chat_concurrency.max(1);
            if start {
                lane.workers += 1;
            }
            start
        };
        metrics::gauge!(DEPTH).increment(1.0);
        if !start {
            return None;
        }
        if waited && !self.paced {
            return Some(WorkerSlot {
                queue: self.clone(),
                lane: lane_name,
                entry,
                armed: true,
                running: false,
            });
        }
        let queue = self.clone();
        tokio::spawn(async move { queue.run_lane(lane_name).await });
        None
    }

    /// One worker of `lane`: takes the oldest send no worker has taken, runs it, and repeats
    /// until none is left. With [`QueueConfig::chat_concurrency`] 1 (the default) a lane has
    /// one worker, so its sends run one after another, in order.
    async fn run_lane(self: Arc<Self>, lane: String) {
        loop {
            let next = {
                let Ok(mut lanes) = self.lanes.lock() else {
                    return;
                };
                let Some(l) = lanes.get_mut(&lane) else {
                    return;
                };
                match l
                    .jobs
                    .iter()
                    .find(|e| !e.taken.swap(true, Ordering::AcqRel))
                {
                    Some(next) => next.clone(),
                    None => {
                        l.workers -= 1;
                        if l.jobs.is_empty() && l.workers == 0 {
                            lanes.remove(&lane);
                        }
                        return;
                    }
                }
            };
            if next.state.load(Ordering::Acquire) != WITHDRAWN {
                self.run_entry(&lane, &next).await;
            }
            if let Ok(mut lanes) = self.lanes.lock()
                && let Some(l) = lanes.get_mut(&lane)
            {
                l.jobs.retain(|e| !Arc::ptr_eq(e, &next));
            }
            metrics::gauge!(DEPTH).decrement(1.0);
        }
    }

    /// Tries one send until it has a final answer (or is withdrawn), then records it.
    async fn run_entry(&self, lane: &str, entry: &Entry) {
        // Becomes true when the send met a wait on an expensive call: it then waits for those.
        let mut expensive = entry.kind.expensive;
        let answer = loop {
            self.pacing
                .acquire(lane, entry.kind.group, expensive, entry.kind.reply)
                .await;
            if entry
                .state
                .compare_exchange(WAITING, TRYING, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return;
            }
            metrics::histogram!(WAIT).record(entry.queued_at.elapsed().as_secs_f64());
            let (answer, flood) = self.attempt(&entry.job).await;
            let wait = match verdict(&answer) {
                Verdict::Final => break answer,
                Verdict::FloodWait(seconds) => {
                    let scope = Scope::of(flood.as_ref());
                    count_flood(scope);
                    let method = flood.and_then(|f| f.method).unwrap_or("unknown");
                    tracing::warn!(lane, seconds, method, ?scope, "FLOOD_WAIT: parked");
                    let wait = Duration::from_secs(seconds);
                    match scope {
                        Scope::Chat => self.pacing.park(lane, wait),
                        Scope::Expensive => {
                            expensive = true;
                            self.pacing.park_all(scope, wait);
                        }
                        Scope::Account => self.pacing.park_all(scope, wait),
                    }
                    wait
                }
                Verdict::PeerFlood => {
                    metrics::counter!(FLOOD, "kind" => "peer_flood").increment(1);
                    metrics::gauge!(PAUSED).set(1.0);
                    tracing::error!(
                        pause_s = self.config.peer_flood_pause.as_secs(),
                        "PEER_FLOOD: Telegram limits this account; every send is paused"
                    );
                    self.pacing.pause_account(self.config.peer_flood_pause);
                    self.config.peer_flood_pause
                }
            };
            // Not sent (Telegram refused it). A caller that will have stopped waiting by the
            // end of the wait is told now, with the wait, and the send is withdrawn.
            if entry
                .deadline
                .is_some_and(|deadline| Instant::now() + wait > deadline)
            {
                entry.state.store(WITHDRAWN, Ordering::Release);
                match self.store.cancel(entry.job.id).await {
                    Ok(()) => entry.job.body.discard(),
                    Err(e) => {
                        tracing::error!(error = %e, "withdrawing a send from the queue failed");
                    }
                }
                let seconds = u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX);
                let refused = ApiError::from(botapi::ApiError::too_many_requests(seconds));
                self.notify(entry.job.id, &Answer::read(refused.into_response()).await);
                return;
            }
            entry.state.store(WAITING, Ordering::Release);
        };
        metrics::gauge!(PAUSED).set(0.0);
        // Written with the writer's next transaction, not awaited: the caller need not wait
        // for a second commit, and a crash before it only resumes the send with its
        // `random_id` (Telegram answers the repeat with the message already sent). An answer
        // nobody can ask for again (synchronous, no idempotency key) is not kept at all.
        if entry.job.is_async || entry.job.keyed {
            self.store
                .record(entry.job.id, answer.clone(), &entry.job.body);
        } else {
            self.store.forget(entry.job.id, &entry.job.body);
        }
        if entry.job.is_async {
            self.post_result(entry.job.id, &entry.job.method, &answer)
                .await;
        }
        self.notify(entry.job.id, &answer);
    }

    /// Hands `answer` to every caller waiting for job `id`.
    fn notify(&self, id: i64, answer: &Answer) {
        let waiters = self.waiters.lock().ok().and_then(|mut w| w.remove(&id));
        for waiter in waiters.into_iter().flatten() {
            let _ = waiter.send(answer.clone());
        }
    }

    /// One try, repeated with backoff while it fails with 5xx (same `random_id` each time);
    /// its answer and the flood wait it met.
    async fn attempt(&self, job: &Job) -> (Answer, Option<telegram::Flood>) {
        let tries = self.config.max_attempts.max(1);
        let run = || async {
            let ran = (self.runner)(job.clone()).await;
            if ran.0.status >= 500 {
                Err(ran)
            } else {
                Ok(ran)
            }
        };
        run.retry(
            ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(10))
                .with_max_times(tries - 1)
                .with_jitter(),
        )
        .notify(|(answer, _): &(Answer, Option<telegram::Flood>), after| {
            tracing::warn!(
                status = answer.status,
                retry_in_ms = after.as_millis() as u64,
                "send failed; retrying with the same random_id"
            );
        })
        .await
        .unwrap_or_else(|answer| answer)
    }

    /// POSTs an asynchronous send's answer to the result webhook (a few tries).
    async fn post_result(&self, id: i64, method: &str, answer: &Answer) {
        let Some(url) = &self.config.result_webhook else {
            return;
        };
        let body = job_json(id, Some(method), Some(answer));
        let post = || async {
            self.http
                .post(url.clone())
                .json(&body)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
        };
        let sent = post
            .retry(
                ExponentialBuilder::default()
                    .with_max_times(4)
                    .with_jitter(),
            )
            .await;
        if let Err(e) = sent {
            tracing::warn!(job_id = id, error = %e.without_url(), "the result webhook failed");
        }
    }

    /// `GET /api_v1/jobs/<id>`: the job's state and, once done, its answer.
    pub async fn job(&self, id: i64) -> Response {
        match self.store.get(id).await {
            Ok(Some(Known::Done(id, answer))) => {
                axum::Json(json!({"ok": true, "result": job_json(id, None, Some(&answer))}))
                    .into_response()
            }
            Ok(Some(Known::Open(id) | Known::Inserted(id))) => {
                axum::Json(json!({"ok": true, "result": job_json(id, None, None)})).into_response()
            }
            Ok(None) => {
                ApiError::from(botapi::ApiError::bad_request("job not found")).into_response()
            }
            Err(e) => store_failed(&e),
        }
    }
}

/// A lane's worker slot, reserved by [`SendQueue::enqueue`] for a synchronous send's own task.
/// Whatever happens to that task, the slot is used: [`WorkerSlot::run`] runs the send there
/// when it is next in its lane, and a slot dropped while still `armed` goes to a spawned
/// worker — the send was not next, more sends wait after it, or the caller's task was dropped
/// (the client went away) before or while its send ran; a send interrupted that way is tried
/// again by that worker with the same `random_id`.
struct WorkerSlot {
    queue: Arc<SendQueue>,
    lane: String,
    /// The send the slot was reserved for.
    entry: Arc<Entry>,
    /// Dropping the slot spawns a worker for the lane.
    armed: bool,
    /// The send is being run here: dropping the slot puts it back to waiting first.
    running: bool,
}

impl WorkerSlot {
    /// Runs this slot's send here if it is the oldest send of its lane no worker has taken
    /// and no park holds the lane, then gives the slot back (or hands it to a spawned worker
    /// when more sends wait); otherwise hands the slot on at once. Whether it ran the send.
    async fn run(mut self) -> bool {
        let entry = self.entry.clone();
        let ours = {
            let Ok(lanes) = self.queue.lanes.lock() else {
                return false;
            };
            lanes.get(&self.lane).is_some_and(|l| {
                l.jobs
                    .iter()
                    .find(|e| !e.taken.load(Ordering::Acquire))
                    .is_some_and(|e| Arc::ptr_eq(e, &entry))
            }) && self
                .queue
                .pacing
                .blocked(&self.lane, entry.kind.expensive)
                .is_zero()
                && !entry.taken.swap(true, Ordering::AcqRel)
        };
        if !ours {
            return false;
        }
        self.running = true;
        if entry.state.load(Ordering::Acquire) != WITHDRAWN {
            self.queue.run_entry(&self.lane, &entry).await;
        }
        self.running = false;
        let Ok(mut lanes) = self.queue.lanes.lock() else {
            return true;
        };
        let Some(l) = lanes.get_mut(&self.lane) else {
            self.armed = false;
            return true;
        };
        l.jobs.retain(|e| !Arc::ptr_eq(e, &entry));
        metrics::gauge!(DEPTH).decrement(1.0);
        if !l.jobs.iter().any(|e| !e.taken.load(Ordering::Acquire)) {
            l.workers -= 1;
            if l.jobs.is_empty() && l.workers == 0 {
                lanes.remove(&self.lane);
            }
            self.armed = false;
        }
        true
    }
}

impl Drop for WorkerSlot {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.running {
            // Interrupted while being tried: back to waiting, for the worker to try again with
            // its `random_id`; a withdrawn send stays withdrawn.
            let _ = self.entry.state.compare_exchange(
                TRYING,
                WAITING,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            self.entry.taken.store(false, Ordering::Release);
        }
        let queue = self.queue.clone();
        let lane = std::mem::take(&mut self.lane);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { queue.run_lane(lane).await });
        }
    }
}

fn job_of(random_id: i64, method: &str, lane: &str, intake: &Intake) -> Job {
    Job {
        id: 0,
        method: method.to_owned(),
        lane: lane.to_owned(),
        random_id,
        is_async: intake.is_async,
        keyed: intake.key.is_some(),
        content_type: intake.content_type.clone(),
        query: intake.query.clone(),
        body: intake.body.clone(),
    }
}

impl Job {
    /// The stored request, rebuilt for the method's handler.
    pub fn request(&self) -> Request<Body> {
        let uri = match &self.query {
            Some(q) => format!("/api_v1/{}?{q}", self.method),
            None => format!("/api_v1/{}", self.method),
        };
        let body = match &self.body {
            StoredBody::Inline(bytes) => Body::from(bytes.clone()),
            // Read back from its spool file at each try; a file that cannot be opened gives an
            // empty body, which the handler answers as a request without the file.
            StoredBody::File(path) => match std::fs::File::open(path.as_ref()) {
                Ok(file) => Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
                    tokio::fs::File::from_std(file),
                    intake::SPOOL_ABOVE,
                )),
                Err(e) => {
                    tracing::error!(error = %e, "a spooled request body is missing");
                    Body::empty()
                }
            },
        };
        let mut request = Request::new(body);
        *request.method_mut() = axum::http::Method::POST;
        if let Ok(uri) = uri.parse() {
            *request.uri_mut() = uri;
        }
        if let Some(ct) = self
            .content_type
            .as_deref()
            .and_then(|c| HeaderValue::from_str(c).ok())
        {
            request.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        request
    }
}

impl Answer {
    /// Reads a handler's response into an answer.
    pub async fn read(response: Response) -> Answer {
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        Answer { status, body }
    }
}

enum Verdict {
    Final,
    FloodWait(u64),
    PeerFlood,
}

/// What an answer means for the queue: final, or a wait Telegram imposed.
fn verdict(answer: &Answer) -> Verdict {
    if answer.status != 429 && answer.status != 400 {
        return Verdict::Final;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&answer.body) else {
        return Verdict::Final;
    };
    if answer.status == 429 {
        let seconds = body["parameters"]["retry_after"].as_u64().unwrap_or(1);
        return Verdict::FloodWait(seconds);
    }
    if body["description"].as_str() == Some("Bad Request: PEER_FLOOD") {
        return Verdict::PeerFlood;
    }
    Verdict::Final
}

fn respond(answer: Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = (status == StatusCode::TOO_MANY_REQUESTS)
        .then(|| serde_json::from_slice::<Value>(&answer.body).ok())
        .flatten()
        .and_then(|body| body["parameters"]["retry_after"].as_u64());
    let mut response = (status, answer.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn replayed(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn accepted(id: i64) -> Response {
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"ok": true, "result": job_json(id, None, None)})),
    )
        .into_response()
}

fn job_json(id: i64, method: Option<&str>, answer: Option<&Answer>) -> Value {
    let mut job = json!({"job_id": id, "state": if answer.is_some() { "done" } else { "queued" }});
    if let Some(method) = method {
        job["method"] = json!(method);
    }
    if let Some(answer) = answer {
        job["status"] = json!(answer.status);
        job["response"] = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    }
    job
}

/// 429 "Too Many Requests: retry after N", N = `wait` in whole seconds rounded up (at least 1).
fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = u32::try_from(seconds.max(1)).unwrap_or(u32::MAX);
    ApiError::from(botapi::ApiError::too_many_requests(seconds)).into_response()
}

fn shutting_down() -> Response {
    ApiError::with_status(503, "Service Unavailable: the sender is shutting down").into_response()
}

fn store_failed(error: &StoreError) -> Response {
    tracing::error!(error = %error, "the send queue failed");
    ApiError::from(botapi::ApiError::internal("the send queue failed")).into_response()
}
