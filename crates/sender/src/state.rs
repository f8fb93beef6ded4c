//! What every handler shares: the one Telegram connection and the API key.

use std::sync::Arc;

use secrecy::SecretString;
use telegram::Telegram;

/// Shared by all requests; cloning is cheap (two `Arc`s).
#[derive(Clone)]
pub struct AppState {
    /// The one persistent MTProto connection (never a client per request).
    pub telegram: Arc<Telegram>,
    /// `X_API_TOKEN`, compared against each request's `x-api-key`.
    pub api_token: Arc<SecretString>,
}
