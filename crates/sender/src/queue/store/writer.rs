//! The writer task of the queue's [`Store`](super::Store): the requests it is sent, the loop
//! that gathers them into batches, and what both backends share to answer a batch.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{AfterInsert, Answer, Job, Known, StoreError, StoredBody, postgres, sqlite};

pub(super) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer.
pub(super) enum Op {
    Insert {
        job: Job,
        key: Option<String>,
        then: AfterInsert,
    },
    Finish {
        id: i64,
        answer: Answer,
        /// The request body, whose spool file goes once this is committed.
        body: StoredBody,
    },
    /// [`Store::forget`](super::Store::forget): the row of a finished send nobody can ask about.
    Forget {
        id: i64,
        body: StoredBody,
    },
    Cancel {
        id: i64,
        reply: Reply<()>,
    },
    Get {
        id: i64,
        reply: Reply<Option<Known>>,
    },
    OpenJobs {
        reply: Reply<Vec<Job>>,
    },
    Prune {
        keep: Duration,
        reply: Reply<u64>,
    },
}

/// An answer held until the batch is committed.
pub(super) enum Done {
    Insert(Result<Known, StoreError>, Job, AfterInsert),
    Unit(Result<(), StoreError>, Reply<()>),
    Get(Result<Option<Known>, StoreError>, Reply<Option<Known>>),
    Jobs(Result<Vec<Job>, StoreError>, Reply<Vec<Job>>),
    Count(Result<u64, StoreError>, Reply<u64>),
    /// Nobody waits: a failure is logged as failing to do this.
    Logged(Result<(), StoreError>, &'static str),
    /// Not run: refused with this error (a write on Postgres after the lease moved).
    Refused(Op, StoreError),
}

/// Most requests run in one transaction.
const MAX_BATCH: usize = 512;

/// Longest a deferred finish waits for a transaction with other work (see [`Writer::run`]).
pub(super) const FLUSH_AFTER: Duration = Duration::from_millis(20);

/// The writer task's backend: its connection and statements.
pub(super) enum Writer {
    Sqlite(sqlite::Writer),
    Postgres(postgres::Writer),
}

impl Writer {
    /// Runs batches until every [`Store`](super::Store) handle is gone.
    ///
    /// Finished sends nobody waits for ([`Store::record`](super::Store::record),
    /// [`Store::forget`](super::Store::forget)) are deferred: they go into the next transaction
    /// that has other work, or after [`FLUSH_AFTER`] (or [`MAX_BATCH`] of them), and first in
    /// it, so what follows them in the queue of requests sees them. A busy queue thus commits
    /// about once per batch of new sends, not twice.
    pub(super) async fn run(self, mut requests: mpsc::UnboundedReceiver<Op>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut deferred: Vec<Op> = Vec::new();
        let mut flush_at = tokio::time::Instant::now();
        loop {
            let (received, due) = if deferred.is_empty() {
                (requests.recv_many(&mut batch, MAX_BATCH).await, false)
            } else {
                tokio::select! {
                    n = requests.recv_many(&mut batch, MAX_BATCH) => (n, false),
                    () = tokio::time::sleep_until(flush_at) => (1, true),
                }
            };
            let closed = received == 0;
            if closed && deferred.is_empty() {
                return;
            }
            if !closed && !due {
                // Let the tasks that are ready run first: under load they add their sends to
                // this transaction instead of each starting one (at idle this costs a few µs).
                tokio::task::yield_now().await;
                while batch.len() < MAX_BATCH
                    && let Ok(op) = requests.try_recv()
                {
                    batch.push(op);
                }
            }
            let had = deferred.len();
            let mut work = Vec::with_capacity(batch.len());
            for op in batch.drain(..) {
                if op.is_deferrable() {
                    deferred.push(op);
                } else {
                    work.push(op);
                }
            }
            if had == 0 && !deferred.is_empty() {
                flush_at = tokio::time::Instant::now() + FLUSH_AFTER;
            }
            if work.is_empty() && !due && !closed && deferred.len() < MAX_BATCH {
                continue;
            }
            let mut ops = std::mem::take(&mut deferred);
            ops.extend(work);
            self.transaction(ops).await;
            if closed {
                return;
            }
        }
    }

    /// Runs `ops` in one transaction and answers each after the commit.
    async fn transaction(&self, ops: Vec<Op>) {
        match self {
            Writer::Sqlite(writer) => writer.transaction(ops).await,
            Writer::Postgres(writer) => writer.transaction(ops).await,
        }
    }
}

/// Hands every request of a finished transaction its answer; `failed`: the transaction could
/// not be committed, so every request failed with that. The spool files of the finished sends
/// in it go only once it is committed.
pub(super) fn settle(done: Vec<Done>, spooled: Vec<StoredBody>, failed: Option<String>) {
    if failed.is_none() {
        spooled.iter().for_each(StoredBody::discard);
    }
    for done in done {
        done.deliver(failed.as_deref());
    }
}

impl Op {
    /// Whether nobody waits for it, so it may wait for the next transaction.
    fn is_deferrable(&self) -> bool {
        matches!(self, Op::Finish { .. } | Op::Forget { .. })
    }

    /// Whether it writes (on Postgres, only a batch with a write checks the fence).
    pub(super) fn writes(&self) -> bool {
        !matches!(self, Op::Get { .. } | Op::OpenJobs { .. })
    }

    /// The request body whose spool file goes once this op is committed, if it has one.
    pub(super) fn spooled_body(&self) -> Option<StoredBody> {
        match self {
            Op::Finish { body, .. } | Op::Forget { body, .. } if body.file().is_some() => {
                Some(body.clone())
            }
            _ => None,
        }
    }

    /// Answers the request with `error` (its transaction could not start, or it was refused);
    /// a deferred finish nobody waits for logs it.
    fn fail(self, error: StoreError) {
        match self {
            Op::Insert { job, then, .. } => then(Err(error), job),
            Op::Cancel { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Op::Finish { .. } | Op::Forget { .. } => {
                tracing::error!(error = %error, "recording a finished send failed");
            }
            Op::Get { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Op::OpenJobs { reply } => {
                let _ = reply.send(Err(error));
            }
            Op::Prune { reply, .. } => {
                let _ = reply.send(Err(error));
            }
        }
    }

    /// Answers every one of `ops` with [`StoreError::Commit`]: their transaction failed
    /// (`why`) before any of them ran.
    pub(super) fn fail_all(ops: Vec<Op>, why: &str) {
        for op in ops {
            op.fail(StoreError::Commit(why.to_owned()));
        }
    }
}

impl Done {
    /// The error this request met, if any.
    pub(super) fn error(&self) -> Option<&StoreError> {
        match self {
            Done::Insert(result, ..) => result.as_ref().err(),
            Done::Unit(result, _) | Done::Logged(result, _) => result.as_ref().err(),
            Done::Get(result, _) => result.as_ref().err(),
            Done::Jobs(result, _) => result.as_ref().err(),
            Done::Count(result, _) => result.as_ref().err(),
            Done::Refused(_, error) => Some(error),
        }
    }

    /// Hands the result over; `failed`: the commit failed, so every request failed (one that
    /// was refused keeps its own error: nothing of it was tried).
    fn deliver(self, failed: Option<&str>) {
        fn check<T>(result: Result<T, StoreError>, failed: Option<&str>) -> Result<T, StoreError> {
            match failed {
                Some(why) => Err(StoreError::Commit(why.to_owned())),
                None => result,
            }
        }
        match self {
            Done::Insert(known, job, then) => then(check(known, failed), job),
            Done::Unit(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Get(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Jobs(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Count(result, reply) => {
                let _ = reply.send(check(result, failed));
            }
            Done::Logged(result, what) => {
                if let Err(e) = check(result, failed) {
                    tracing::error!(error = %e, "{what} failed");
                }
            }
            Done::Refused(op, error) => op.fail(error),
        }
    }
}
