//! What every handler shares: the one Telegram connection, the API key, the upload limit and
//! the URL fetcher.

use std::sync::Arc;

use secrecy::SecretString;
use telegram::Telegram;

use crate::media::fetch::UrlFetcher;

/// Shared by all requests; cloning is cheap (`Arc`s and a number).
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
}
