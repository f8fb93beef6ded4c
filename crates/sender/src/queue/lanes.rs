//! Which lane a send takes: its chat. A chat named by `@username` is resolved to its chat id
//! first (remembered for [`telegram::USERNAME_TTL`]), so sends to one chat by id and by
//! username share one lane and keep one order. Resolving is an expensive call: it takes a
//! token of the expensive bucket; when none is there now, or Telegram answers a flood wait,
//! the send takes the `@username` lane instead and its handler resolves the name when the
//! send runs (its order against sends by id is then not kept).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::future::BoxFuture;

use super::pacing::{Pacing, Scope, count_flood};

/// What resolving an `@username` gave.
#[derive(Clone, Copy, Debug)]
pub enum Resolved {
    /// The chat's Bot API id.
    Chat(i64),
    /// Telegram asked to wait `seconds` (`FLOOD_WAIT_X`), on `flood`'s call.
    FloodWait {
        /// X.
        seconds: u32,
        /// The refused call, when known.
        flood: Option<telegram::Flood>,
    },
    /// Not resolved (no such username, signed out, a network error): the handler answers.
    Unknown,
}

/// Resolves a username (without `@`) to its chat.
pub type Resolver = Arc<dyn Fn(String) -> BoxFuture<'static, Resolved> + Send + Sync>;

/// Usernames resolved lately, and how to resolve more.
pub struct Usernames {
    resolver: Resolver,
    /// `@name` (lowercase) → chat id and when it was resolved.
    known: Mutex<HashMap<String, (i64, Instant)>>,
}

impl Usernames {
    /// Resolves with `resolver`.
    pub fn new(resolver: Resolver) -> Self {
        Self {
            resolver,
            known: Mutex::default(),
        }
    }

    /// The chat id behind `name` (`@name`, lowercase), resolved now or within
    /// [`telegram::USERNAME_TTL`]; `None` when it cannot be resolved now (no expensive token
    /// now, a park, a flood wait — which parks what it holds — or an unknown name).
    pub async fn chat_id(&self, name: &str, pacing: &Pacing) -> Option<i64> {
        let cached = self.known.lock().ok().and_then(|known| {
            known
                .get(name)
                .filter(|(_, at)| at.elapsed() < telegram::USERNAME_TTL)
                .map(|(id, _)| *id)
        });
        if cached.is_some() {
            return cached;
        }
        if !pacing.try_expensive() {
            return None;
        }
        let bare = name.trim_start_matches('@').to_owned();
        match (self.resolver)(bare).await {
            Resolved::Chat(id) => {
                if let Ok(mut known) = self.known.lock() {
                    known.retain(|_, (_, at)| at.elapsed() < telegram::USERNAME_TTL);
                    known.insert(name.to_owned(), (id, Instant::now()));
                }
                Some(id)
            }
            Resolved::FloodWait { seconds, flood } => {
                // Resolving is account-wide: never a lane's park.
                let scope = match Scope::of(flood.as_ref()) {
                    Scope::Chat => Scope::Expensive,
                    other => other,
                };
                count_flood(scope);
                tracing::warn!(seconds, ?scope, "FLOOD_WAIT resolving a username: parked");
                pacing.park_all(scope, std::time::Duration::from_secs(u64::from(seconds)));
                None
            }
            Resolved::Unknown => None,
        }
    }
}
