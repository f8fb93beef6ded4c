//! A message box: the messages of one id space and the pts journal of their changes.

use std::collections::BTreeMap;

use grammers_tl_types as tl;

use super::{ChatRef, StoredMessage, TlView};

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

    /// Stores a new message (giving it the next id), journals its `updateNew(Channel)Message`
    /// and returns it with that update.
    pub(crate) fn store_new(
        &mut self,
        mut message: StoredMessage,
        tl: &TlView<'_>,
    ) -> (StoredMessage, tl::enums::Update) {
        message.id = self.next_id();
        let tl_message = tl.message(&message);
        let pts = self.bump_pts(1);
        let update = match message.chat {
            ChatRef::Channel(_) => {
                tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
                    message: tl_message,
                    pts,
                    pts_count: 1,
                })
            }
            _ => tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                message: tl_message,
                pts,
                pts_count: 1,
            }),
        };
        self.messages.insert(message.id, message.clone());
        self.journal.push(JournalEntry {
            pts,
            pts_count: 1,
            update: update.clone(),
            date: message.date.max(super::now()),
        });
        (message, update)
    }

    /// Replaces a message with its edited version and journals the edit update.
    pub(crate) fn store_edit(
        &mut self,
        edited: &StoredMessage,
        tl: &TlView<'_>,
    ) -> tl::enums::Update {
        let tl_message = tl.message(edited);
        self.messages.insert(edited.id, edited.clone());
        self.journal(1, |pts| match edited.chat {
            ChatRef::Channel(_) => {
                tl::enums::Update::EditChannelMessage(tl::types::UpdateEditChannelMessage {
                    message: tl_message,
                    pts,
                    pts_count: 1,
                })
            }
            _ => tl::enums::Update::EditMessage(tl::types::UpdateEditMessage {
                message: tl_message,
                pts,
                pts_count: 1,
            }),
        })
    }
}
