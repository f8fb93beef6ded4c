//! Growing the world at run time: more users and basic groups for tests that need many chats.

use super::{ChatRec, UserRec, World, now};

/// Ids handed to users and groups added at run time start here (far from the fixture's).
const FIRST_ADDED_ID: i64 = 600_000_001;

impl World {
    fn next_added_id(&self) -> i64 {
        let highest = self
            .users
            .keys()
            .chain(self.chats.keys())
            .copied()
            .filter(|&id| id >= FIRST_ADDED_ID)
            .max();
        highest.map_or(FIRST_ADDED_ID, |id| id + 1)
    }

    /// Adds a user (no username, language `en`) and returns their id.
    pub fn add_user(&mut self, first_name: &str) -> i64 {
        let id = self.next_added_id();
        self.users.insert(
            id,
            UserRec {
                id,
                first_name: first_name.to_owned(),
                last_name: None,
                username: None,
                lang_code: Some("en".into()),
                phone: None,
                bot: false,
            },
        );
        id
    }

    /// Adds a basic group with the account and `members`, created by someone else, and returns
    /// its MTProto chat id.
    pub fn add_group(&mut self, title: &str, members: &[i64]) -> i64 {
        let id = self.next_added_id();
        let mut all = vec![self.self_id];
        all.extend(
            members
                .iter()
                .copied()
                .filter(|m| self.users.contains_key(m)),
        );
        self.chats.insert(
            id,
            ChatRec {
                id,
                title: title.to_owned(),
                members: all,
                creator: false,
                date: now(),
            },
        );
        id
    }
}
