//! A message box: the messages of one id space and the pts journal of their changes.

use std::collections::BTreeMap;

use grammers_tl_types as tl;

use super::StoredMessage;

/// One journaled change: the update and the pts it moved the box to.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    /// The box's pts after this update.
    pub pts: i32,
    /// How many pts this update consumed.
    pub pts_count: i32,
    /// The update as pushed to clients.
    pub update: tl::enums::Update,
    /// Unix seconds when it happened.
    pub date: i32,
}

/// The account's common box, or one channel's box.
#[derive(Clone, Debug, Default)]
pub struct MessageBox {
    /// Current pts (0 before the first change).
    pub pts: i32,
    /// Highest message id handed out.
    pub last_id: i32,
    /// Live messages by id (deleted ones are removed).
    pub messages: BTreeMap<i32, StoredMessage>,
    /// Every change in pts order, replayed by getDifference / getChannelDifference.
    pub journal: Vec<JournalEntry>,
}

impl MessageBox {
    /// Allocates the next message id.
    pub fn next_id(&mut self) -> i32 {
        self.last_id += 1;
        self.last_id
    }

    /// Advances pts by `count` and returns the new value.
    pub fn bump_pts(&mut self, count: i32) -> i32 {
        self.pts += count;
        self.pts
    }

    /// Unix seconds of the newest journal entry (0 when none).
    pub fn last_change(&self) -> i32 {
        self.journal.last().map_or(0, |e| e.date)
    }

    /// Journal entries after `pts` (exclusive), oldest first, at most `limit`.
    pub fn since(&self, pts: i32, limit: usize) -> &[JournalEntry] {
        let start = self.journal.partition_point(|e| e.pts <= pts);
        let end = (start + limit).min(self.journal.len());
        &self.journal[start..end]
    }

    /// Records a change that is not a new message (edit, delete).
    pub fn journal(
        &mut self,
        pts_count: i32,
        make: impl FnOnce(i32) -> tl::enums::Update,
    ) -> tl::enums::Update {
        let pts = self.bump_pts(pts_count);
        let update = make(pts);
        self.journal.push(JournalEntry {
            pts,
            pts_count,
            update: update.clone(),
            date: super::now(),
        });
        update
    }
}
