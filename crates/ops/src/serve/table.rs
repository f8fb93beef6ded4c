//! The table of open connections behind [`super::serve`]: how many are open, which have a
//! request in flight, and which idle one has waited longest, so that one can be shed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;
use tokio::time::Instant;

/// The open connections of one server.
#[derive(Default)]
pub(super) struct Table {
    rows: Mutex<Rows>,
    /// Woken when a connection closes or its last request in flight ends (there may be room).
    changed: Notify,
}

#[derive(Default)]
struct Rows {
    next_id: u64,
    open: HashMap<u64, Row>,
    /// Open connections not already told to close: what counts against the cap.
    counted: usize,
}

struct Row {
    in_flight: usize,
    /// When the last request ended, or when the connection was accepted.
    idle_since: Instant,
    /// Told to close; its task confirms it is still idle before it drops the connection.
    shedding: bool,
    shed: Arc<Notify>,
}

/// One connection's place in the [`Table`]; dropping it removes the row.
pub(super) struct Entry {
    table: Arc<Table>,
    id: u64,
    /// Notified when this connection should close if it is still idle.
    pub(super) shed: Arc<Notify>,
}

/// A request in flight on one connection; dropping it (once the response body is sent or
/// abandoned) may leave the connection idle.
pub(super) struct InFlight {
    table: Arc<Table>,
    id: u64,
}

impl Table {
    fn rows(&self) -> MutexGuard<'_, Rows> {
        // Every update below leaves the rows consistent, so a panic elsewhere cannot corrupt them.
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a connection that has just been accepted (idle: no request yet).
    pub(super) fn open(self: &Arc<Self>) -> Entry {
        let shed = Arc::new(Notify::new());
        let mut rows = self.rows();
        let id = rows.next_id;
        rows.next_id += 1;
        rows.open.insert(
            id,
            Row {
                in_flight: 0,
                idle_since: Instant::now(),
                shedding: false,
                shed: shed.clone(),
            },
        );
        rows.counted += 1;
        Entry {
            table: self.clone(),
            id,
            shed,
        }
    }

    /// Open connections, not counting those already told to close.
    pub(super) fn counted(&self) -> usize {
        self.rows().counted
    }

    /// Tells the connection idle for longest (no request in flight; ties: the older one) to
    /// close. `false` when every connection is busy or already closing.
    pub(super) fn shed_oldest_idle(&self) -> bool {
        let mut rows = self.rows();
        let oldest = rows
            .open
            .iter_mut()
            .filter(|(_, row)| row.in_flight == 0 && !row.shedding)
            .min_by_key(|(id, row)| (row.idle_since, **id));
        let Some((_, row)) = oldest else {
            return false;
        };
        row.shedding = true;
        // A stored permit: the task sees it even if it is busy right now.
        row.shed.notify_one();
        rows.counted -= 1;
        true
    }

    /// Completes when a connection has closed or gone idle since the last call (or at once,
    /// if that happened while nobody waited).
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }
}

impl Entry {
    /// Marks a request in flight until the returned guard is dropped.
    pub(super) fn begin(&self) -> InFlight {
        if let Some(row) = self.table.rows().open.get_mut(&self.id) {
            row.in_flight += 1;
        }
        InFlight {
            table: self.table.clone(),
            id: self.id,
        }
    }

    /// Whether no request is in flight. Called from the connection's own task between polls
    /// of the connection, so no request can start before the caller acts on the answer.
    pub(super) fn is_idle(&self) -> bool {
        self.table
            .rows()
            .open
            .get(&self.id)
            .is_none_or(|row| row.in_flight == 0)
    }

    /// After [`Entry::shed`] fired: `true` if the connection is still idle and must close now;
    /// `false` if a request started meanwhile (it counts against the cap again and stays).
    pub(super) fn confirm_shed(&self) -> bool {
        let mut rows = self.table.rows();
        let Some(row) = rows.open.get_mut(&self.id) else {
            return true;
        };
        if row.in_flight == 0 {
            return true;
        }
        if row.shedding {
            row.shedding = false;
            rows.counted += 1;
        }
        false
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let mut rows = self.table.rows();
        if let Some(row) = rows.open.remove(&self.id)
            && !row.shedding
        {
            rows.counted -= 1;
        }
        drop(rows);
        self.table.changed.notify_one();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut rows = self.table.rows();
        let Some(row) = rows.open.get_mut(&self.id) else {
            return;
        };
        row.in_flight = row.in_flight.saturating_sub(1);
        if row.in_flight == 0 {
            row.idle_since = Instant::now();
            drop(rows);
            self.table.changed.notify_one();
        }
    }
}
