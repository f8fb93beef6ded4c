//! Where the delivery scheduler POSTs right now: the environment's webhook (`WEBHOOK_URL`, in
//! `WEBHOOK_FORMAT`, with `WEBHOOK_API_KEY` and `WEBHOOK_SECRET_TOKEN`), the one set at runtime
//! with the sender's `setWebhook` (Bot API `Update`s, its `secret_token`), or none (updates
//! wait for `getUpdates`). The settings live in the outbox (`outbox::WebhookState`), written
//! by the sender; [`watch()`] reads them every [`RECHECK`] and hands the scheduler a new
//! [`Active`] when they change.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use sha2_11::{Digest, Sha256};
use tokio::sync::watch;
use tracing::{error, info, warn};
use url::Url;

use super::{SigningSecret, WebhookClient, WebhookSettings};
use outbox::{EnvWebhook, Outbox, Target, WebhookState};

/// How often the settings are read again: a `setWebhook` takes effect within this.
pub const RECHECK: Duration = Duration::from_millis(500);

/// The webhook in force.
#[derive(Debug)]
pub struct Active {
    /// Its client (URL, headers, signing).
    pub client: WebhookClient,
    /// POST the Bot API `Update` kept beside a legacy body (a `setWebhook` target) rather than
    /// the stored body.
    pub bot_api: bool,
    /// Lanes at once (`WEBHOOK_MAX_CONNECTIONS` or `max_connections`).
    pub max_connections: usize,
    /// The kinds to POST (`setWebhook`'s `allowed_updates`); others are confirmed unsent.
    /// `None`: every stored kind (the environment's `ALLOWED_UPDATES` filtered on storing).
    pub allowed: Option<Vec<String>>,
    /// Where it came from, for logs: `WEBHOOK_URL` or `setWebhook`.
    pub source: &'static str,
}

impl Active {
    /// Whether rows of `kind` are POSTed.
    pub fn posts(&self, kind: &str) -> bool {
        match &self.allowed {
            None => true,
            Some(list) => outbox::allowed(Some(list), kind),
        }
    }
}

/// The environment's webhook settings, and what a runtime webhook borrows from them.
#[derive(Clone, Debug)]
pub struct EnvSettings {
    /// `WEBHOOK_URL` and its headers; `None` when unset.
    pub webhook: Option<WebhookSettings>,
    /// `WEBHOOK_FORMAT` is `bot_api` (the stored body already is the `Update`).
    pub bot_api_format: bool,
    /// `ALLOWED_UPDATES` names.
    pub allowed_updates: Vec<String>,
    /// `WEBHOOK_SIGNING_SECRET`: runtime webhooks are signed too.
    pub signing: Option<SigningSecret>,
    /// `WEBHOOK_TIMEOUT`.
    pub timeout: Duration,
    /// `WEBHOOK_MAX_CONNECTIONS`.
    pub max_connections: usize,
}

impl EnvSettings {
    /// The record the sender reads (`getWebhookInfo`, the fingerprint of `setWebhook`).
    pub fn record(&self) -> EnvWebhook {
        let url = self.webhook.as_ref().map(|w| &w.url);
        let mut hash = Sha256::new();
        hash.update(url.map(Url::as_str).unwrap_or_default());
        hash.update([u8::from(self.bot_api_format)]);
        EnvWebhook {
            url: url.map(redacted),
            fingerprint: hash.finalize()[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            max_connections: u32::try_from(self.max_connections).unwrap_or(u32::MAX),
            allowed_updates: self.allowed_updates.clone(),
        }
    }

    /// The webhook `state` selects, with its client built. Errors name the setting, never its
    /// value (a secret token may be in it).
    pub fn active(&self, state: &WebhookState) -> anyhow::Result<Option<Active>> {
        Ok(match state.target() {
            Target::Polling => None,
            Target::Env(_) => match &self.webhook {
                Some(settings) => Some(Active {
                    client: WebhookClient::new(settings.clone())?,
                    bot_api: false,
                    max_connections: self.max_connections,
                    allowed: None,
                    source: "WEBHOOK_URL",
                }),
                // Recorded by another configuration; this one has none.
                None => None,
            },
            Target::Runtime(runtime) => {
                let url = Url::parse(&runtime.url)
                    .map_err(|_| anyhow::anyhow!("the URL set with setWebhook is not valid"))?;
                let max_connections = usize::try_from(runtime.max_connections.clamp(1, 100))
                    .unwrap_or(self.max_connections);
                Some(Active {
                    client: WebhookClient::new(WebhookSettings {
                        url,
                        api_key: None,
                        secret_token: runtime.secret_token.clone().map(SecretString::from),
                        signing: self.signing.clone(),
                        timeout: self.timeout,
                        max_connections,
                    })?,
                    bot_api: true,
                    max_connections,
                    allowed: Some(runtime.allowed_updates.clone().unwrap_or_default()),
                    source: "setWebhook",
                })
            }
        })
    }
}

/// `url` without user, password, query and fragment (they may carry credentials).
pub fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// Records the environment's webhook in the outbox (dropping a runtime setting made under
/// another `WEBHOOK_URL`) and returns the webhook in force now.
pub async fn start(outbox: &Outbox, env: &EnvSettings) -> anyhow::Result<Option<Arc<Active>>> {
    if let Some(dropped) = outbox.sync_env_webhook(&env.record()).await? {
        info!(
            runtime_url_set = !dropped.url.is_empty(),
            "WEBHOOK_URL or WEBHOOK_FORMAT changed since the last setWebhook/deleteWebhook: \
             the environment's webhook is in force again"
        );
    }
    let state = outbox.webhook_state().await?;
    let active = env.active(&state)?.map(Arc::new);
    log_target(active.as_deref());
    Ok(active)
}

fn log_target(active: Option<&Active>) {
    match active {
        Some(a) => info!(
            source = a.source,
            host = a.client.url().host_str().unwrap_or_default(),
            "delivering to the webhook"
        ),
        None => info!("no webhook (WEBHOOK_URL unset or deleted): updates wait for getUpdates"),
    }
}

/// Reads the settings every [`RECHECK`] until `stop`, sending a new [`Active`] (or `None`)
/// on `tx` whenever they change.
pub async fn watch(
    outbox: Arc<Outbox>,
    env: EnvSettings,
    tx: watch::Sender<Option<Arc<Active>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last = outbox.webhook_state().await.ok();
    let mut ticker = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let state = match outbox.webhook_state().await {
            Ok(state) => state,
            Err(e) => {
                error!(error = %e, "cannot read the webhook settings from the outbox");
                continue;
            }
        };
        if last.as_ref() == Some(&state) {
            continue;
        }
        match env.active(&state) {
            Ok(active) => {
                log_target(active.as_ref());
                tx.send_replace(active.map(Arc::new));
            }
            Err(e) => warn!(error = %e, "the webhook settings cannot be used; keeping the last"),
        }
        last = Some(state);
    }
}
