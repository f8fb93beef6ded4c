//! How much history the world keeps: the newest messages per chat, the newest pts changes per
//! message box and the newest `random_id`s, so a long benchmark's testdc stays within a few
//! hundred MiB. Everything is kept unless a limit is set ([`Retention::default`]).

use std::collections::{HashSet, VecDeque};

/// Limits on what the world remembers (`TestDcConfig::retention`, testdc's `--keep-messages`
/// and `--keep-changes`).
///
/// A forgotten message is gone as if deleted (history and `messages.getMessages` no longer
/// return it; its stored file goes with it when no kept message shows that file, so a
/// `file_id` of a forgotten message stops working — unlike Telegram). A client
/// whose pts is older than a box's oldest kept change gets `updates.differenceTooLong` for the
/// common box (as Telegram answers a client that fell too far behind) or the kept changes only
/// for a channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// The newest messages kept per chat; `None` keeps every message.
    pub messages_per_chat: Option<usize>,
    /// The newest pts changes kept per message box for getDifference, and the newest
    /// `random_id`s kept for duplicate detection; `None` keeps all.
    pub changes: Option<usize>,
}

impl Retention {
    /// Keeps the newest `n` messages per chat and `n` changes per box (at least 1 each).
    pub fn recent(n: usize) -> Self {
        Self {
            messages_per_chat: Some(n.max(1)),
            changes: Some(n.max(1)),
        }
    }
}

/// The `random_id`s the account used, the newest [`Retention::changes`] of them when limited
/// (Telegram, too, refuses a duplicate only within a recent window).
#[derive(Debug, Default)]
pub struct RecentIds {
    seen: HashSet<i64>,
    /// Insertion order, kept only when a limit applies.
    order: VecDeque<i64>,
}

impl RecentIds {
    /// Records `id`; `false` if it is already recorded. With a `limit`, the oldest ids beyond
    /// it are forgotten.
    pub fn insert(&mut self, id: i64, limit: Option<usize>) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        if let Some(limit) = limit {
            self.order.push_back(id);
            while self.order.len() > limit {
                if let Some(old) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            }
        }
        true
    }

    /// How many ids are recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none is recorded.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_refuse_duplicates_and_forget_the_oldest_beyond_the_limit() {
        let mut ids = RecentIds::default();
        assert!(ids.insert(1, Some(2)));
        assert!(!ids.insert(1, Some(2)));
        assert!(ids.insert(2, Some(2)));
        assert!(ids.insert(3, Some(2)));
        assert_eq!(ids.len(), 2);
        // 1 was forgotten, so it is accepted again; 3 is still known.
        assert!(ids.insert(1, Some(2)));
        assert!(!ids.insert(3, Some(2)));
    }

    #[test]
    fn recent_ids_without_a_limit_keep_everything() {
        let mut ids = RecentIds::default();
        for id in 0..1000 {
            assert!(ids.insert(id, None));
        }
        assert_eq!(ids.len(), 1000);
        assert!(!ids.insert(0, None));
    }
}
