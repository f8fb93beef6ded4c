//! Pacing: token buckets (governor's GCRA) per chat, per group, per account and for
//! expensive methods, and the waits Telegram imposes — a `FLOOD_WAIT_X` on a call about one
//! chat parks that chat's lane, one on an expensive call (resolving a username, the dialog
//! list) parks the expensive calls, one on any other account-wide call (and every
//! `FLOOD_PREMIUM_WAIT_X`) parks the whole account ([`Scope`]); a `PEER_FLOOD` pauses the
//! whole account.
//!
//! Defaults follow what Telegram documents for bots (1 message per second per chat, 20 per
//! minute per group, 30 per second overall: core.telegram.org/bots/faq "My bot is hitting
//! limits") and are lower for user accounts, which Telegram limits more tightly and punishes
//! with PEER_FLOOD and bans rather than a short wait.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Rates of the buckets; `0` turns one off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaceConfig {
    /// Sends per minute into one chat (`SEND_PACE_CHAT_PER_MINUTE`).
    pub chat_per_minute: u32,
    /// Sends into one chat at once above that rate (`SEND_PACE_CHAT_BURST`).
    pub chat_burst: u32,
    /// Sends per minute into one group, supergroup or channel (`SEND_PACE_GROUP_PER_MINUTE`).
    pub group_per_minute: u32,
    /// Sends per minute over the whole account (`SEND_PACE_ACCOUNT_PER_MINUTE`).
    pub account_per_minute: u32,
    /// Expensive calls per minute (`getChats`, `getChat`, `@username` resolution;
    /// `SEND_PACE_EXPENSIVE_PER_MINUTE`).
    pub expensive_per_minute: u32,
}

impl PaceConfig {
    /// For a user account: 1 per second per chat (burst 3), 20 per minute per group, 300 per
    /// minute overall, 30 expensive calls per minute.
    pub const USER: PaceConfig = PaceConfig {
        chat_per_minute: 60,
        chat_burst: 3,
        group_per_minute: 20,
        account_per_minute: 300,
        expensive_per_minute: 30,
    };

    /// For a bot: Telegram's documented bot limits (1/s per chat, 20/min per group, 30/s).
    pub const BOT: PaceConfig = PaceConfig {
        chat_per_minute: 60,
        chat_burst: 3,
        group_per_minute: 20,
        account_per_minute: 1800,
        expensive_per_minute: 60,
    };
}

fn quota(per_minute: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_minute)?;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_secs(60) / rate.get()).map(|q| q.allow_burst(burst))
}

/// What a flood wait holds, by the call Telegram refused ([`telegram::Flood`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A call about one chat (or a wait whose call is unknown): that chat's lane.
    Chat,
    /// An expensive account-wide call: the expensive calls (`getChats`, `getChat`, sends to an
    /// `@username` not resolved yet).
    Expensive,
    /// Any other account-wide call, and `FLOOD_PREMIUM_WAIT_X`: every send.
    Account,
}

/// Calls about one chat: a flood wait on them holds that chat (the lane of the send).
const CHAT_CALLS: &[&str] = &[
    "messages.sendMessage",
    "messages.sendMedia",
    "messages.sendMultiMedia",
    "messages.forwardMessages",
    "messages.uploadMedia",
    "messages.getHistory",
    "messages.getMessages",
    "channels.getMessages",
    "messages.search",
    "messages.setTyping",
];

/// Account-wide calls Telegram limits tightly (what `getChat`, `getChats` and resolving an
/// `@username` make): a flood wait on them holds the expensive calls only.
const EXPENSIVE_CALLS: &[&str] = &[
    "contacts.resolveUsername",
    "messages.getDialogs",
    "messages.getPeerDialogs",
    "users.getFullUser",
    "users.getUsers",
    "messages.getFullChat",
    "messages.getChats",
    "channels.getFullChannel",
    "channels.getChannels",
];

impl Scope {
    /// The scope of a flood wait on `flood`'s call; `None` (the call is unknown): the lane.
    pub fn of(flood: Option<&telegram::Flood>) -> Self {
        let Some(flood) = flood else {
            return Scope::Chat;
        };
        if flood.premium {
            return Scope::Account;
        }
        match flood.method {
            None => Scope::Chat,
            Some(m) if CHAT_CALLS.contains(&m) => Scope::Chat,
            Some(m) if EXPENSIVE_CALLS.contains(&m) => Scope::Expensive,
            Some(_) => Scope::Account,
        }
    }
}

/// The account's pause after `PEER_FLOOD`.
#[derive(Clone, Copy, Debug)]
pub struct Pause {
    /// Until when (monotonic).
    pub until: Instant,
    /// The same as wall-clock time, for `/status`.
    pub until_wall: SystemTime,
}

/// Every bucket and wait of one account.
pub struct Pacing {
    clock: DefaultClock,
    chat: Option<DefaultKeyedRateLimiter<String>>,
    group: Option<DefaultKeyedRateLimiter<String>>,
    account: Option<DefaultDirectRateLimiter>,
    expensive: Option<DefaultDirectRateLimiter>,
    chat_period: Duration,
    account_period: Duration,
    /// Replies waiting for an account token.
    replies: AtomicUsize,
    parked: Mutex<HashMap<String, Instant>>,
    /// The expensive calls' park ([`Scope::Expensive`]).
    expensive_parked: Mutex<Option<Instant>>,
    /// Every send's park ([`Scope::Account`]).
    account_parked: Mutex<Option<Instant>>,
    paused: Mutex<Option<Pause>>,
}

impl Pacing {
    /// Buckets for `config`; `None` paces nothing (lanes still keep one send per chat).
    pub fn new(config: Option<PaceConfig>) -> Self {
        let c = config.unwrap_or(PaceConfig {
            chat_per_minute: 0,
            chat_burst: 0,
            group_per_minute: 0,
            account_per_minute: 0,
            expensive_per_minute: 0,
        });
        let keyed = |q: Option<Quota>| q.map(RateLimiter::hashmap);
        let direct = |q: Option<Quota>| q.map(RateLimiter::direct);
        Self {
            clock: DefaultClock::default(),
            chat: keyed(quota(c.chat_per_minute, c.chat_burst)),
            group: keyed(quota(c.group_per_minute, 1)),
            account: direct(quota(
                c.account_per_minute,
                (c.account_per_minute / 60).max(1),
            )),
            expensive: direct(quota(c.expensive_per_minute, 1)),
            chat_period: match c.chat_per_minute {
                0 => Duration::ZERO,
                n => Duration::from_secs(60) / n,
            },
            account_period: match c.account_per_minute {
                0 => Duration::from_millis(1),
                n => Duration::from_secs(60) / n,
            },
            replies: AtomicUsize::new(0),
            parked: Mutex::default(),
            expensive_parked: Mutex::default(),
            account_parked: Mutex::default(),
            paused: Mutex::default(),
        }
    }

    /// Waits until `lane` may send: the account's pause and park, the lane's park (and for
    /// `expensive` sends the expensive park), then one token
    /// from the chat bucket, the group bucket (`group`), the account bucket and, for
    /// `expensive` calls, that bucket. A `reply` goes first at the account bucket: sends
    /// that are no replies wait while a reply waits there.
    pub async fn acquire(&self, lane: &str, group: bool, expensive: bool, reply: bool) {
        loop {
            let wait = self.blocked(lane, expensive);
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        if let Some(chat) = &self.chat {
            self.take(|| chat.check_key(&lane.to_owned())).await;
        }
        if group && let Some(bucket) = &self.group {
            self.take(|| bucket.check_key(&lane.to_owned())).await;
        }
        if let Some(account) = &self.account {
            if reply {
                self.replies.fetch_add(1, Ordering::AcqRel);
                self.take(|| account.check()).await;
                self.replies.fetch_sub(1, Ordering::AcqRel);
            } else {
                // Checked again before every try, not only once: a reply that starts waiting
                // while this send sleeps for its token still goes first.
                loop {
                    while self.replies.load(Ordering::Acquire) > 0 {
                        tokio::time::sleep(self.account_period).await;
                    }
                    match account.check() {
                        Ok(()) => break,
                        Err(not_until) => {
                            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                        }
                    }
                }
            }
        }
        if expensive && let Some(bucket) = &self.expensive {
            self.take(|| bucket.check()).await;
        }
    }

    /// Waits for a token of the expensive bucket only (`getChats`, `getChat`).
    pub async fn expensive(&self) {
        if let Some(bucket) = &self.expensive {
            self.take(|| bucket.check()).await;
        }
    }

    /// Takes an expensive token if one is there now and no park holds the expensive calls;
    /// whether it did (with the bucket off: whether no park holds them).
    pub fn try_expensive(&self) -> bool {
        self.expensive_blocked().is_zero()
            && self.expensive.as_ref().is_none_or(|b| b.check().is_ok())
    }

    /// How long the expensive calls are held by their park or the account's from now.
    pub fn expensive_blocked(&self) -> Duration {
        let now = Instant::now();
        until(&self.expensive_parked, now).max(until(&self.account_parked, now))
    }

    async fn take(
        &self,
        mut check: impl FnMut() -> Result<(), governor::NotUntil<governor::clock::QuantaInstant>>,
    ) {
        while let Err(not_until) = check() {
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
    }

    /// How long `lane` is held by a park or the account's pause from now (zero: free);
    /// `expensive`: its send waits for an expensive call too.
    pub fn blocked(&self, lane: &str, expensive: bool) -> Duration {
        let now = Instant::now();
        let parked = self
            .parked
            .lock()
            .ok()
            .and_then(|p| p.get(lane).copied())
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
        let paused = self
            .pause()
            .map_or(Duration::ZERO, |p| p.until.saturating_duration_since(now));
        let account = until(&self.account_parked, now);
        let expensive = if expensive {
            until(&self.expensive_parked, now)
        } else {
            Duration::ZERO
        };
        parked.max(paused).max(account).max(expensive)
    }

    /// The expected wait of a send behind `ahead` others in `lane`: its park or pause plus a
    /// chat-bucket period per send ahead.
    pub fn estimate(&self, lane: &str, ahead: usize) -> Duration {
        self.blocked(lane, lane.starts_with('@'))
            + self.chat_period * u32::try_from(ahead).unwrap_or(u32::MAX)
    }

    /// Parks `lane` for `wait` plus up to 10 % jitter (at least 100 ms), after `FLOOD_WAIT_X`.
    pub fn park(&self, lane: &str, wait: Duration) {
        let jitter = jitter(wait);
        if let Ok(mut parked) = self.parked.lock() {
            parked.retain(|_, until| *until > Instant::now());
            parked.insert(lane.to_owned(), Instant::now() + wait + jitter);
        }
    }

    /// Parks the expensive calls ([`Scope::Expensive`]) or every send ([`Scope::Account`]) for
    /// `wait` plus jitter, as [`Pacing::park`] does a lane.
    pub fn park_all(&self, scope: Scope, wait: Duration) {
        let slot = match scope {
            Scope::Chat => return,
            Scope::Expensive => &self.expensive_parked,
            Scope::Account => &self.account_parked,
        };
        let until = Instant::now() + wait + jitter(wait);
        if let Ok(mut parked) = slot.lock() {
            *parked = Some(parked.map_or(until, |old| old.max(until)));
        }
    }

    /// Whether the expensive calls are parked now (`/status`).
    pub fn expensive_parked(&self) -> bool {
        !until(&self.expensive_parked, Instant::now()).is_zero()
    }

    /// Whether every send is parked now by an account-wide flood wait (`/status`).
    pub fn account_parked(&self) -> bool {
        !until(&self.account_parked, Instant::now()).is_zero()
    }

    /// Pauses every lane for `wait`, after `PEER_FLOOD`.
    pub fn pause_account(&self, wait: Duration) {
        if let Ok(mut paused) = self.paused.lock() {
            *paused = Some(Pause {
                until: Instant::now() + wait,
                until_wall: SystemTime::now() + wait,
            });
        }
    }

    /// The account's pause while it lasts.
    pub fn pause(&self) -> Option<Pause> {
        let paused = self.paused.lock().ok()?;
        paused.filter(|p| p.until > Instant::now())
    }

    /// How many lanes are parked now.
    pub fn parked_lanes(&self) -> usize {
        let now = Instant::now();
        self.parked
            .lock()
            .map(|p| p.values().filter(|until| **until > now).count())
            .unwrap_or_default()
    }
}

/// The counter of flood refusals the queue met (`sender_queue_flood_total`).
pub const FLOOD_METRIC: &str = "sender_queue_flood_total";

/// Counts one `FLOOD_WAIT_X` of `scope` (`kind`: `flood_wait` for a lane,
/// `flood_wait_expensive`, `flood_wait_account`).
pub fn count_flood(scope: Scope) {
    let kind = match scope {
        Scope::Chat => "flood_wait",
        Scope::Expensive => "flood_wait_expensive",
        Scope::Account => "flood_wait_account",
    };
    metrics::counter!(FLOOD_METRIC, "kind" => kind).increment(1);
}

/// Up to 10 % of `wait` at random, plus 100 ms: parked callers do not all come back at once.
fn jitter(wait: Duration) -> Duration {
    wait.mul_f64(rand::random_range(0.0..0.1)) + Duration::from_millis(100)
}

/// How long the park in `slot` lasts from `now` (zero: none).
fn until(slot: &Mutex<Option<Instant>>, now: Instant) -> Duration {
    slot.lock()
        .ok()
        .and_then(|p| *p)
        .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood(method: Option<&'static str>, premium: bool) -> telegram::Flood {
        telegram::Flood {
            method,
            premium,
            seconds: 30,
        }
    }

    #[test]
    fn a_wait_on_a_chat_call_holds_the_chat_and_account_wide_ones_more() {
        let scope = |m, p| Scope::of(Some(&flood(m, p)));
        assert_eq!(scope(Some("messages.sendMessage"), false), Scope::Chat);
        assert_eq!(scope(None, false), Scope::Chat);
        assert_eq!(Scope::of(None), Scope::Chat);
        assert_eq!(
            scope(Some("contacts.resolveUsername"), false),
            Scope::Expensive
        );
        assert_eq!(scope(Some("messages.getDialogs"), false), Scope::Expensive);
        assert_eq!(scope(Some("upload.saveFilePart"), false), Scope::Account);
        assert_eq!(scope(Some("upload.saveFilePart"), true), Scope::Account);
        assert_eq!(scope(Some("messages.sendMedia"), true), Scope::Account);
    }

    #[test]
    fn an_expensive_park_holds_expensive_sends_only_and_an_account_park_every_lane() {
        let pacing = Pacing::new(None);
        pacing.park_all(Scope::Expensive, Duration::from_secs(30));
        assert!(pacing.blocked("42", false).is_zero());
        assert!(pacing.blocked("@name", true) >= Duration::from_secs(30));
        assert!(!pacing.try_expensive());
        assert!(pacing.expensive_parked() && !pacing.account_parked());
        pacing.park_all(Scope::Account, Duration::from_secs(30));
        assert!(pacing.blocked("42", false) >= Duration::from_secs(30));
        assert_eq!(pacing.parked_lanes(), 0);
    }
}
