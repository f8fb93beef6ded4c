//! What the queue's writer task is sent ([`Op`]) and what becomes of each request once its
//! batch is committed ([`Done`], [`settle`]): shared by the writer loop and both backends.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{AfterInsert, Answer, Job, Known, StoreError, StoredBody};

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
    pub(super) fn is_deferrable(&self) -> bool {
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
