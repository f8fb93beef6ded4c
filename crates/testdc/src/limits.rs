//! Telegram-like sending limits, off unless a test asks ([`crate::TestDc::set_limits`]): token
//! buckets per chat, per group (basic groups, supergroups, channels), per account and per
//! method, each hosted account's world keeping buckets of its own (a `Limiter` per world). A
//! send over a limit is refused with `FLOOD_WAIT_X`, X the whole seconds until the bucket has a
//! token again (at least 1), as Telegram does; after [`Limits::peer_flood_after`] such refusals
//! every further send of that account gets `PEER_FLOOD`, Telegram's answer to an account that
//! keeps pushing. Counted, so tests prove a client's pacing by the
//! number of refusals ([`crate::TestDc::flood_waits`]), not by timing.
//!
//! Which wait, where Telegram answers one: a send over its chat's, group's or the account's
//! bucket gets `FLOOD_WAIT_X` on the send; a call over its own method's bucket gets it on that
//! call, whatever it is about — `contacts.resolveUsername` and `messages.getDialogs` are
//! account-wide, so a client must hold every such call, not one chat. File transfers
//! ([`PREMIUM_WAIT_METHODS`]) over their method's bucket get `FLOOD_PREMIUM_WAIT_X` instead,
//! Telegram's speed limit for accounts without Premium. Both carry RPC code 420.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use grammers_tl_types::{self as tl, Deserializable};

use crate::world::RpcError;

/// `count` sends per `per`, at most `count` at once (a bucket of `count` tokens refilled
/// evenly over `per`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Tokens per period, and the bucket's size.
    pub count: u32,
    /// The period.
    pub per: Duration,
}

impl Rate {
    /// `count` per second.
    pub fn per_second(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(1),
        }
    }

    /// `count` per minute.
    pub fn per_minute(count: u32) -> Self {
        Self {
            count,
            per: Duration::from_secs(60),
        }
    }
}

/// The limits to enforce; `None`: that one is off.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// Per destination chat (any kind).
    pub per_chat: Option<Rate>,
    /// Per destination group, supergroup or channel, on top of `per_chat`.
    pub per_group: Option<Rate>,
    /// Over every send of the account.
    pub per_account: Option<Rate>,
    /// Per method (schema name such as `messages.sendMessage`), for any call of it.
    pub per_method: HashMap<String, Rate>,
    /// After this many FLOOD_WAIT refusals, every send answers `PEER_FLOOD`.
    pub peer_flood_after: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Refills to `now`; the wait until one token is there (zero: there is one).
    fn wait(&mut self, rate: Rate, now: Instant) -> Duration {
        let per_token = rate.per.as_secs_f64() / f64::from(rate.count.max(1));
        let refill = now.saturating_duration_since(self.at).as_secs_f64() / per_token;
        self.tokens = (self.tokens + refill).min(f64::from(rate.count));
        self.at = now;
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - self.tokens) * per_token)
        }
    }
}

/// The enforcing state: limits, buckets and counts.
#[derive(Default)]
pub(crate) struct Limiter {
    limits: Limits,
    buckets: HashMap<String, Bucket>,
    flood_waits: u64,
    peer_floods: u64,
}

/// File transfers, whose per-method limit answers `FLOOD_PREMIUM_WAIT_X` (Telegram:
/// "wait X seconds or buy Premium", on uploads and downloads of accounts without it).
pub const PREMIUM_WAIT_METHODS: [&str; 3] = [
    "upload.saveFilePart",
    "upload.saveBigFilePart",
    "upload.getFile",
];

/// The methods that send messages, whose destination chat the per-chat limits key on.
const SENDS: [&str; 4] = [
    "messages.sendMessage",
    "messages.sendMedia",
    "messages.sendMultiMedia",
    "messages.forwardMessages",
];

impl Limiter {
    /// Replaces the limits and forgets every bucket.
    pub(crate) fn set(&mut self, limits: Limits) {
        self.limits = limits;
        self.buckets.clear();
    }

    /// FLOOD_WAIT refusals so far.
    pub(crate) fn flood_waits(&self) -> u64 {
        self.flood_waits
    }

    /// PEER_FLOOD refusals so far.
    pub(crate) fn peer_floods(&self) -> u64 {
        self.peer_floods
    }

    /// Whether the call `method` with request `body` is within the limits: takes a token from
    /// each bucket it counts against, or refuses without taking any.
    pub(crate) fn check(&mut self, method: &str, body: &[u8]) -> Result<(), RpcError> {
        let send = SENDS.contains(&method);
        let method_rate = self.limits.per_method.get(method).copied();
        if !send && method_rate.is_none() {
            return Ok(());
        }
        if send
            && self
                .limits
                .peer_flood_after
                .is_some_and(|n| self.flood_waits >= n)
        {
            self.peer_floods += 1;
            return Err(RpcError::from_message("PEER_FLOOD"));
        }
        let mut keyed: Vec<(String, Rate)> = Vec::new();
        if let Some(rate) = method_rate {
            keyed.push((format!("method:{method}"), rate));
        }
        if send {
            let (chat, group) = destination(method, body);
            if let Some(rate) = self.limits.per_chat {
                keyed.push((format!("chat:{chat}"), rate));
            }
            if let (true, Some(rate)) = (group, self.limits.per_group) {
                keyed.push((format!("group:{chat}"), rate));
            }
            if let Some(rate) = self.limits.per_account {
                keyed.push(("account".into(), rate));
            }
        }
        let now = Instant::now();
        let mut longest = Duration::ZERO;
        let mut by_method = false;
        for (key, rate) in &keyed {
            let bucket = self.buckets.entry(key.clone()).or_insert(Bucket {
                tokens: f64::from(rate.count),
                at: now,
            });
            let wait = bucket.wait(*rate, now);
            if !wait.is_zero() {
                tracing::debug!(key, wait_ms = wait.as_millis() as u64, "bucket empty");
            }
            if wait > longest {
                by_method = key.starts_with("method:");
            }
            longest = longest.max(wait);
        }
        if !longest.is_zero() {
            self.flood_waits += 1;
            let seconds = longest.as_secs() + u64::from(longest.subsec_nanos() > 0);
            let name = if by_method && PREMIUM_WAIT_METHODS.contains(&method) {
                "FLOOD_PREMIUM_WAIT"
            } else {
                "FLOOD_WAIT"
            };
            return Err(RpcError::from_message(&format!(
                "{name}_{}",
                seconds.max(1)
            )));
        }
        for (key, _) in &keyed {
            if let Some(bucket) = self.buckets.get_mut(key) {
                bucket.tokens -= 1.0;
            }
        }
        Ok(())
    }
}

/// The destination chat of a send request (a key such as `user:5`) and whether it is a
/// group, supergroup or channel.
fn destination(method: &str, body: &[u8]) -> (String, bool) {
    use tl::functions::messages as m;
    // The constructor id comes first; the request's fields follow.
    let body = body.get(4..).unwrap_or_default();
    let peer = match method {
        "messages.sendMessage" => m::SendMessage::from_bytes(body).ok().map(|r| r.peer),
        "messages.sendMedia" => m::SendMedia::from_bytes(body).ok().map(|r| r.peer),
        "messages.sendMultiMedia" => m::SendMultiMedia::from_bytes(body).ok().map(|r| r.peer),
        "messages.forwardMessages" => m::ForwardMessages::from_bytes(body).ok().map(|r| r.to_peer),
        _ => None,
    };
    use tl::enums::InputPeer as P;
    match peer {
        Some(P::User(u)) => (format!("user:{}", u.user_id), false),
        Some(P::UserFromMessage(u)) => (format!("user:{}", u.user_id), false),
        Some(P::Chat(c)) => (format!("chat:{}", c.chat_id), true),
        Some(P::Channel(c)) => (format!("channel:{}", c.channel_id), true),
        Some(P::ChannelFromMessage(c)) => (format!("channel:{}", c.channel_id), true),
        Some(P::PeerSelf) => ("self".into(), false),
        _ => ("unknown".into(), false),
    }
}

impl crate::TestDc {
    /// Enforces `limits` from now on (buckets start full) in every account's world, existing
    /// and added later, each with buckets of its own: one account's sends never fill another's.
    /// `Limits::default()` turns them off.
    pub fn set_limits(&self, limits: Limits) {
        self.shared.set_limits(limits);
    }

    /// How many calls were refused with `FLOOD_WAIT_X` (or `FLOOD_PREMIUM_WAIT_X`) by
    /// [`crate::TestDc::set_limits`]'s limits so far, over every account (injected faults not
    /// included).
    pub fn flood_waits(&self) -> u64 {
        self.shared.refusals().0
    }

    /// How many sends were refused with `PEER_FLOOD` by the limits so far, over every account.
    pub fn peer_floods(&self) -> u64 {
        self.shared.refusals().1
    }
}

/// `POST /limits` of the HTTP control API: each rate as sends per minute, absent = off.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LimitsBody {
    per_chat_per_minute: Option<u32>,
    per_group_per_minute: Option<u32>,
    per_account_per_minute: Option<u32>,
    #[serde(default)]
    per_method_per_minute: HashMap<String, u32>,
    peer_flood_after: Option<u64>,
}

impl From<LimitsBody> for Limits {
    fn from(b: LimitsBody) -> Self {
        Limits {
            per_chat: b.per_chat_per_minute.map(Rate::per_minute),
            per_group: b.per_group_per_minute.map(Rate::per_minute),
            per_account: b.per_account_per_minute.map(Rate::per_minute),
            per_method: b
                .per_method_per_minute
                .into_iter()
                .map(|(m, n)| (m, Rate::per_minute(n)))
                .collect(),
            peer_flood_after: b.peer_flood_after,
        }
    }
}

/// `POST /limits`: replaces the limits; answers the refusals counted so far.
pub(crate) async fn set_limits_http(
    axum::extract::State(dc): axum::extract::State<std::sync::Arc<crate::TestDc>>,
    axum::Json(body): axum::Json<LimitsBody>,
) -> axum::Json<serde_json::Value> {
    dc.set_limits(body.into());
    limits_http(axum::extract::State(dc)).await
}

/// `GET /limits`: `{flood_waits, peer_floods}` answered by the limits so far.
pub(crate) async fn limits_http(
    axum::extract::State(dc): axum::extract::State<std::sync::Arc<crate::TestDc>>,
) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "flood_waits": dc.flood_waits(),
        "peer_floods": dc.peer_floods(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_bucket_refuses_with_the_wait_until_its_next_token() {
        let mut limiter = Limiter::default();
        limiter.set(Limits {
            per_method: [("messages.getDialogs".to_owned(), Rate::per_minute(2))].into(),
            ..Limits::default()
        });
        assert!(limiter.check("messages.getDialogs", &[]).is_ok());
        assert!(limiter.check("messages.getDialogs", &[]).is_ok());
        let refused = limiter.check("messages.getDialogs", &[]).unwrap_err();
        // One token per 30 s: the wait is just under 30 s, rounded up.
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (420, "FLOOD_WAIT_30")
        );
        assert_eq!(limiter.flood_waits(), 1);
        assert!(limiter.check("messages.getHistory", &[]).is_ok());
    }

    #[test]
    fn a_file_transfer_over_its_limit_gets_a_premium_wait_with_code_420() {
        let mut limiter = Limiter::default();
        limiter.set(Limits {
            per_method: [("upload.saveFilePart".to_owned(), Rate::per_minute(1))].into(),
            ..Limits::default()
        });
        assert!(limiter.check("upload.saveFilePart", &[]).is_ok());
        let refused = limiter.check("upload.saveFilePart", &[]).unwrap_err();
        assert_eq!(
            (refused.code, refused.message.as_str()),
            (420, "FLOOD_PREMIUM_WAIT_60")
        );
        assert_eq!(limiter.flood_waits(), 1);
    }
}
