//! What requests share: [`ServerState`] (the router's state: the API key, the rate limit and
//! the [`Connection`] that may or may not be signed in) and [`AppState`] (what the Bot API
//! handlers see once it is — the connection binds one to each sign-in: the Telegram
//! connection, the upload limit and the URL fetcher).

use std::sync::Arc;

use secrecy::SecretString;
use telegram::Telegram;

use crate::connection::Connection;
use crate::limits::RateLimit;
use crate::media::fetch::UrlFetcher;

/// The state of the Bot API method handlers, built when the session is signed in; cloning
/// is cheap (`Arc`s and a number).
#[derive(Clone)]
pub struct AppState {
    /// The one persistent MTProto connection (never a client per request).
    pub telegram: Arc<Telegram>,
    /// `X_API_TOKEN`, compared against each request's `x-api-key`.
    pub api_token: Arc<SecretString>,
    /// `MAX_UPLOAD_BYTES`: the largest file per file parameter, bytes.
    pub max_upload_bytes: u64,
    /// Downloads file parameters given as HTTP(S) URLs.
    pub fetcher: Arc<UrlFetcher>,
    /// The receiver's outbox, for `getUpdates` and the webhook methods (one per process).
    pub updates: Arc<crate::updates::UpdatesHub>,
}

/// The router's state, alive from start to stop whether or not the session is signed in.
#[derive(Clone)]
pub struct ServerState {
    /// `X_API_TOKEN`.
    pub api_token: Arc<SecretString>,
    /// `MAX_UPLOAD_BYTES`, for the whole-request size limit.
    pub max_upload_bytes: u64,
    /// The Telegram session: signed in (with its [`AppState`]) or being signed in.
    pub connection: Arc<Connection<AppState>>,
    /// `RATE_LIMIT_PER_SECOND` / `RATE_LIMIT_BURST`; `None` when turned off.
    pub rate_limit: Option<Arc<RateLimit>>,
    /// `RESPONSE_FORMAT`: the answers' shape unless a request asks otherwise.
    pub response_format: crate::config::ResponseFormat,
}
