//! Where handlers run: the update loop offers each freshly stored message ([`Feed`]); the
//! [`Router`] task hands it to the conversation holding its sender, or else to the first
//! handler whose filter matches, as a task of its own. Invocations for one sender in one chat
//! run one after another (a lane); everything else runs concurrently, so a slow or stuck
//! handler delays only its own lane and never the update loop, delivery or another chat.
//! A handler's error or panic is one log line; the message was stored before and is
//! delivered regardless. Queues are unbounded so the update loop never waits: a sender whose
//! handler hangs only piles up their own later invocations (until the conversation times
//! out, or shutdown drops them).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use botapi::types::Message;
use futures::FutureExt as _;
use telegram::{Event, Telegram};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use super::conversation::{Claims, ConversationError, SenderKey, sender_key};
use super::{Context, Handlers, Registered};

/// A stored message on its way to the handlers.
struct Stored {
    update_id: i64,
    message: Message,
}

/// The update loop's side: offers stored messages; never waits.
#[derive(Clone)]
pub(crate) struct Feed {
    tx: mpsc::UnboundedSender<Stored>,
}

impl Feed {
    /// Offers the event stored as `update_id` (only just stored: a replay is never offered).
    /// New messages from others go on; edits, deletions, reactions, button presses and the
    /// account's own messages are not for handlers.
    pub(crate) fn offer(&self, update_id: i64, event: &Event) {
        if let Event::NewMessage(m) = event
            && !m.outgoing
        {
            // Fails only once the router is gone (shutdown): nothing left to run it.
            let _ = self.tx.send(Stored {
                update_id,
                message: m.message.clone(),
            });
        }
    }
}

/// A handler invocation waiting for its lane.
struct Job {
    handler: Arc<Registered>,
    stored: Stored,
}

/// The task owning every handler invocation (see the module docs).
pub(crate) struct Router {
    handlers: Handlers,
    telegram: Arc<Telegram>,
    me: Option<Arc<str>>,
    claims: Claims,
    rx: mpsc::UnboundedReceiver<Stored>,
    tasks: JoinSet<SenderKey>,
    /// Busy lanes and what waits in them (a lane without an entry is idle).
    lanes: HashMap<SenderKey, VecDeque<Job>>,
}

/// The feed for the update loop and the router to run.
pub(crate) fn router(handlers: Handlers, telegram: Arc<Telegram>) -> (Feed, Router) {
    let (tx, rx) = mpsc::unbounded_channel();
    let me = telegram.account().user.username.as_deref().map(Arc::from);
    let router = Router {
        handlers,
        telegram,
        me,
        claims: Claims::default(),
        rx,
        tasks: JoinSet::new(),
        lanes: HashMap::new(),
    };
    (Feed { tx }, router)
}

impl Router {
    /// Runs until `stop` carries the drain deadline: then ends the conversations (their waits
    /// fail with [`ConversationError::Closed`]), drops invocations not yet started, waits
    /// for the running ones until the deadline and aborts the rest.
    pub(crate) async fn run(mut self, mut stop: watch::Receiver<Option<Instant>>) {
        loop {
            tokio::select! {
                stored = self.rx.recv() => match stored {
                    Some(stored) => self.route(stored),
                    None => break,
                },
                Some(done) = self.tasks.join_next() => self.finished(done),
                _ = stop.wait_for(Option::is_some) => break,
            }
        }
        let deadline = match stop.wait_for(Option::is_some).await {
            Ok(deadline) => deadline.unwrap_or_else(Instant::now),
            Err(_) => Instant::now(),
        };
        self.drain(deadline).await;
    }

    fn route(&mut self, stored: Stored) {
        let Some(message) = self.claims.offer(stored.message) else {
            debug!(
                update_id = stored.update_id,
                "message handed to a conversation"
            );
            return;
        };
        let stored = Stored { message, ..stored };
        let Some(handler) = self
            .handlers
            .first_match(&stored.message, self.me.as_deref())
        else {
            return;
        };
        let key = sender_key(&stored.message);
        let job = Job { handler, stored };
        match self.lanes.get_mut(&key) {
            Some(queue) => queue.push_back(job),
            None => {
                self.lanes.insert(key, VecDeque::new());
                self.spawn(key, job);
            }
        }
    }

    /// A lane's invocation ended: start its next one, or mark it idle.
    fn finished(&mut self, done: Result<SenderKey, tokio::task::JoinError>) {
        // Invocations catch their own panics; an error here is an abort, only at shutdown.
        let Ok(key) = done else { return };
        match self.lanes.get_mut(&key).and_then(VecDeque::pop_front) {
            Some(job) => self.spawn(key, job),
            None => {
                self.lanes.remove(&key);
            }
        }
    }

    fn spawn(&mut self, key: SenderKey, job: Job) {
        let Job { handler, stored } = job;
        let chat_id = stored.message.chat.id;
        let update_id = stored.update_id;
        let ctx = Context::new(
            stored.message,
            update_id,
            handler.name.clone(),
            self.me.clone(),
            self.telegram.clone(),
            self.claims.clone(),
        );
        self.tasks.spawn(async move {
            let run = async { (handler.run)(ctx).await };
            match AssertUnwindSafe(run).catch_unwind().await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failed(&handler.name, chat_id, update_id, &e),
                Err(panic) => error!(
                    handler = %handler.name, chat = chat_id, update_id,
                    panic = panic_text(panic.as_ref()),
                    "handler panicked; the message is stored and delivered as usual"
                ),
            }
            key
        });
    }

    async fn drain(mut self, deadline: Instant) {
        self.claims.close();
        let waiting: usize = self.lanes.values().map(VecDeque::len).sum();
        if waiting > 0 {
            info!(
                invocations = waiting,
                "shutdown: handler invocations not started are dropped"
            );
        }
        let tasks = &mut self.tasks;
        let all = tokio::time::timeout_at(deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if all.is_err() {
            warn!(
                handlers = self.tasks.len(),
                "handlers still running at the drain deadline; aborted"
            );
            self.tasks.shutdown().await;
        }
    }
}

fn failed(handler: &str, chat: i64, update_id: i64, e: &anyhow::Error) {
    if matches!(
        e.downcast_ref::<ConversationError>(),
        Some(ConversationError::Closed)
    ) {
        info!(handler = %handler, chat, update_id, "handler ended by the shutdown");
    } else {
        warn!(
            handler = %handler,
            chat,
            update_id,
            error = format!("{e:#}"),
            "handler failed; the message is stored and delivered as usual"
        );
    }
}

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
