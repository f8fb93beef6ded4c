//! A message box: the messages of one id space and the pts journal of their changes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use grammers_tl_types::{self as tl, Deserializable as _, Serializable as _};

use super::{ChatRef, Retention, StoredMessage, TlView};

/// One journaled change: the update and the pts it moved the box to.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    /// The box's pts after this update.
    pub pts: i32,
    /// How many pts this update consumed.
    pub pts_count: i32,
    /// The update as pushed to clients, TL-serialized: a short text message takes ~200 bytes
    /// so, against ~4 KB parsed, and only getDifference reads it back ([`JournalEntry::update`]).
    bytes: Box<[u8]>,
    /// Unix seconds when it happened.
    pub date: i32,
}

impl JournalEntry {
    fn new(pts: i32, pts_count: i32, update: &tl::enums::Update, date: i32) -> Self {
        Self {
            pts,
            pts_count,
            bytes: update.to_bytes().into_boxed_slice(),
            date,
        }
    }

    /// The update as pushed to clients (`None` only if its own serialization does not parse
    /// back, which would be a grammers-tl-types bug).
    pub fn update(&self) -> Option<tl::enums::Update> {
        tl::enums::Update::from_bytes(&self.bytes).ok()
    }
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
    /// Every change in pts order (the newest ones under a [`Retention`]), replayed by
    /// getDifference / getChannelDifference.
    pub journal: Vec<JournalEntry>,
    /// The pts of the newest change trimmed from `journal` (0 when none was): a client at an
    /// older pts has missed changes the journal no longer holds.
    pub forgotten_pts: i32,
    /// Message ids per chat, oldest first; kept only under a per-chat [`Retention`] limit.
    pub(crate) recent: HashMap<ChatRef, VecDeque<i32>>,
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

    /// Whether a client at `pts` has missed changes trimmed from the journal.
    pub fn forgot_since(&self, pts: i32) -> bool {
        pts < self.forgotten_pts
    }

    /// Forgets what `retention` does not keep: the oldest messages of `chat` beyond its limit
    /// (returned, so their files can go too) and the oldest journal entries beyond its limit.
    /// The journal is trimmed in batches (when it is half again over the limit), so appending
    /// stays amortised O(1).
    pub(crate) fn forget(&mut self, chat: ChatRef, retention: Retention) -> Vec<StoredMessage> {
        let mut forgotten = Vec::new();
        if let Some(limit) = retention.messages_per_chat
            && let Some(ids) = self.recent.get_mut(&chat)
        {
            while ids.len() > limit {
                let Some(id) = ids.pop_front() else { break };
                forgotten.extend(self.messages.remove(&id));
            }
        }
        if let Some(limit) = retention.changes
            && self.journal.len() > limit + limit / 2
        {
            let cut = self.journal.len() - limit;
            self.forgotten_pts = self.journal[cut - 1].pts;
            self.journal.drain(..cut);
        }
        forgotten
    }

    /// Records a change that is not a new message (edit, delete).
    pub fn journal(
        &mut self,
        pts_count: i32,
        make: impl FnOnce(i32) -> tl::enums::Update,
    ) -> tl::enums::Update {
        let pts = self.bump_pts(pts_count);
        let update = make(pts);
        self.journal
            .push(JournalEntry::new(pts, pts_count, &update, super::now()));
        update
    }

    /// Stores a new message (giving it the next id), journals its `updateNew(Channel)Message`
    /// and returns it with that update. Under a per-chat `retention` limit the id is tracked
    /// for [`MessageBox::forget`].
    pub(crate) fn store_new(
        &mut self,
        mut message: StoredMessage,
        tl: &TlView<'_>,
        retention: Retention,
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
        if retention.messages_per_chat.is_some() {
            self.recent
                .entry(message.chat)
                .or_default()
                .push_back(message.id);
        }
        let date = message.date.max(super::now());
        self.journal.push(JournalEntry::new(pts, 1, &update, date));
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
