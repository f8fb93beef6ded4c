//! The writer task of the queue's [`Store`](super::Store): the loop that gathers the requests
//! it is sent ([`super::ops`]) into batches and runs them on its backend.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::ops::Op;
use super::{postgres, sqlite};

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
    pub(super) async fn run(
        self,
        mut requests: mpsc::UnboundedReceiver<Op>,
        commits: Arc<AtomicU64>,
    ) {
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
            commits.fetch_add(1, Ordering::AcqRel);
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
