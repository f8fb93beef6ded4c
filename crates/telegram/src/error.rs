//! Typed errors of the Telegram layer, so callers can branch (flood waits, missing chats)
//! without parsing strings, and [`watch_floods`]: which call a flood wait was about.

use std::cell::Cell;
use std::future::Future;

use grammers_client::InvocationError;
use grammers_tl_types as tl;

/// What went wrong talking to Telegram.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Telegram asked us to wait this many seconds (`FLOOD_WAIT_X`, code 420) and the wait was
    /// longer than the configured threshold, so it was not absorbed.
    #[error("flood wait of {seconds} s")]
    FloodWait {
        /// Seconds to wait before retrying.
        seconds: u32,
    },
    /// The chat id or username does not name a chat this account can see.
    #[error("chat not found")]
    ChatNotFound,
    /// Telegram refused the call with an RPC error (code and UPPER_SNAKE name, numeric suffix
    /// split off into `value`).
    #[error("rpc error {code} {name}")]
    Rpc {
        /// 400, 401, 403, 500, …
        code: i32,
        /// For example `MESSAGE_ID_INVALID`.
        name: String,
        /// The number in names such as `FLOOD_WAIT_7`.
        value: Option<u32>,
    },
    /// The session file does not exist. Connecting without one would make grammers create a
    /// fresh, unauthorized key and reach for the production DCs, so it is refused up front.
    #[error("session file {} does not exist; sign the account in first", .0.display())]
    NoSession(std::path::PathBuf),
    /// The session is not signed in (RPC 401).
    #[error("the session is not authorized; log in first")]
    Unauthorized,
    /// The connection to Telegram failed.
    #[error("connection to Telegram failed: {0}")]
    Network(String),
    /// A local file could not be read or written (uploads, downloads).
    #[error("file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The session file could not be read or written.
    #[error(transparent)]
    Session(#[from] session::SessionError),
    /// Telegram answered something this gateway did not expect.
    #[error("unexpected answer from Telegram: {0}")]
    Unexpected(String),
}

impl From<InvocationError> for TelegramError {
    fn from(e: InvocationError) -> Self {
        match e {
            InvocationError::Rpc(rpc) if rpc.code == 420 => {
                record_flood(&rpc);
                TelegramError::FloodWait {
                    seconds: rpc.value.unwrap_or(0),
                }
            }
            InvocationError::Rpc(rpc) if rpc.code == 401 => TelegramError::Unauthorized,
            InvocationError::Rpc(rpc) => TelegramError::Rpc {
                code: rpc.code,
                name: rpc.name,
                value: rpc.value,
            },
            InvocationError::Io(e) => TelegramError::Network(e.to_string()),
            InvocationError::Dropped(why) => TelegramError::Network(why.to_owned()),
            other => TelegramError::Unexpected(other.to_string()),
        }
    }
}

/// A flood wait Telegram imposed on a call made inside [`watch_floods`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flood {
    /// The refused call's schema name (`messages.sendMessage`, `contacts.resolveUsername`…);
    /// `None` when grammers could not say (a call wrapped in `invokeWithLayer`, say).
    pub method: Option<&'static str>,
    /// `FLOOD_PREMIUM_WAIT_X` (Telegram's speed limit for accounts without Premium, on file
    /// transfers) rather than `FLOOD_WAIT_X`.
    pub premium: bool,
    /// X, seconds.
    pub seconds: u32,
}

tokio::task_local! {
    static FLOODS: Cell<Option<Flood>>;
}

/// Runs `call` and reports the last flood wait that reached it as an error (waits grammers
/// slept through are not reported). The answer of a refused call does not say which of the
/// calls behind it was refused; the send queue needs to know, because a wait on a call about
/// one chat holds that chat only while a wait on an account-wide call (resolving a username,
/// the dialog list, uploads) holds every call of its kind.
pub async fn watch_floods<F: Future>(call: F) -> (F::Output, Option<Flood>) {
    FLOODS
        .scope(Cell::new(None), async {
            let output = call.await;
            (output, FLOODS.with(Cell::get))
        })
        .await
}

/// Reports `flood`, seen by a task spawned from inside [`watch_floods`] (task-locals are not
/// inherited by spawned tasks), to the watching task.
pub(crate) fn pass_flood(flood: Option<Flood>) {
    if let Some(flood) = flood {
        let _ = FLOODS.try_with(|cell| cell.set(Some(flood)));
    }
}

fn record_flood(rpc: &grammers_mtsender::RpcError) {
    let method = rpc
        .caused_by
        .map(tl::name_for_id)
        .filter(|name| !name.starts_with("invoke") && !name.starts_with('('));
    let flood = Flood {
        method,
        premium: rpc.name.starts_with("FLOOD_PREMIUM_WAIT"),
        seconds: rpc.value.unwrap_or(0),
    };
    let _ = FLOODS.try_with(|cell| cell.set(Some(flood)));
}

impl TelegramError {
    /// Whether this is the RPC error `name` (e.g. `MESSAGE_ID_INVALID`).
    pub fn is(&self, rpc_name: &str) -> bool {
        matches!(self, TelegramError::Rpc { name, .. } if name == rpc_name)
    }
}
