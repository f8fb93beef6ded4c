//! Several instances (`DATABASE_URL`): the sender serves the accounts its instance owns (it
//! follows the receiver's leases, [`cluster::Follower`]) and forwards a request for any other
//! registered account to the sender of the instance that owns it (`CLUSTER_SENDER_URL` in that
//! instance's heartbeat), so a caller may use any instance.
//!
//! An account gained gets a slot as in *Many accounts* whose session, send queue and outbox
//! live in Postgres (`startup::build_state_on`); an account lost is dropped at once (its
//! connection closed): what its queue held stays in Postgres and the next owner resumes it
//! with the same `random_id`s. A forwarded request carries [`FORWARDED_HEADER`]; a request
//! that already does is never forwarded again (503 instead), so two instances that disagree
//! for a moment about an owner cannot bounce a request between them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use cluster::{Change, Cluster, Fence, Follower};
use ops::accounts::{AccountEntry, AccountSettings};
use tokio::sync::watch;

use super::{Accounts, Slot, api_error, lock_write};
use crate::config::Config;

/// Marks a request one instance forwarded to another.
pub const FORWARDED_HEADER: &str = "x-gateway-forwarded";

/// Connections the sender keeps to Postgres for following its instance's leases alone, so
/// that reading them never waits behind the accounts' session writes.
const LEASE_POOL: u32 = 1;
/// Connections for the registry, routing and every account's session.
const STORE_POOL: u32 = 16;

/// The cluster a sender takes part in.
pub(super) struct ClusterSource {
    cluster: Cluster,
    /// The same database through its own connection, for the follower.
    leases: Cluster,
    period: Duration,
    /// Forwards requests to other instances' senders.
    http: reqwest::Client,
}

impl Accounts {
    /// The sender of an instance of several (`DATABASE_URL`): no account directory; the
    /// accounts are the ones its instance owns, as they come and go ([`Accounts::serve`]
    /// follows them). Errors: an invalid `config`, Postgres unreachable.
    pub async fn start_clustered(config: Config) -> anyhow::Result<Arc<Self>> {
        config.validate()?;
        let settings = config.cluster.clone();
        let url = settings
            .database_url
            .as_ref()
            .context("DATABASE_URL is not set")?;
        let cluster = Cluster::connect(url.expose(), &settings.instance(), STORE_POOL)
            .await
            .context("cannot use DATABASE_URL")?;
        let leases = Cluster::connect(url.expose(), &settings.instance(), LEASE_POOL)
            .await
            .context("cannot use DATABASE_URL")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .context("failed to build the forwarding HTTP client")?;
        Ok(Arc::new(Self {
            changes: tokio::sync::Mutex::new(ops::accounts::Scanner::new(std::path::Path::new(""))),
            cors: crate::limits::cors(&config.cors_origins()?),
            admin_key: config.admin_api_key.clone(),
            dir: std::path::PathBuf::new(),
            base: config,
            // No account is served from the environment's session file.
            env_name: String::new(),
            env_session: std::path::PathBuf::new(),
            slots: std::sync::RwLock::default(),
            by_user: std::sync::RwLock::default(),
            labeled: std::sync::Mutex::default(),
            failed: std::sync::Mutex::default(),
            cluster: Some(ClusterSource {
                cluster,
                leases,
                period: settings.lease(),
                http,
            }),
        }))
    }

    /// Serves the accounts this instance owns, as they come and go, until `stop`; then drops
    /// them all.
    pub(super) async fn follow(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(source) = &self.cluster else {
            return;
        };
        let (_follower, mut changes) = Follower::start(source.leases.clone(), source.period);
        // Accounts gained whose start failed: retried every second while still owned.
        let mut pending: BTreeMap<String, Fence> = BTreeMap::new();
        loop {
            let change = tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                change = changes.recv() => change,
                () = tokio::time::sleep(Duration::from_secs(1)), if !pending.is_empty() => None,
            };
            match change {
                Some(Change::Gained { account, fence }) => {
                    pending.insert(account, fence);
                }
                Some(Change::Lost { account }) => {
                    pending.remove(&account);
                    if let Some(slot) = lock_write(&self.slots).remove(&account) {
                        tracing::info!(account, "account moved away: stopped here");
                        slot.shutdown();
                    }
                    self.reindex();
                }
                None if changes.is_closed() => break,
                None => {}
            }
            let due: Vec<(String, Fence)> = std::mem::take(&mut pending).into_iter().collect();
            for (account, fence) in due {
                match self.start_clustered_slot(source, &fence).await {
                    Ok(slot) => {
                        tracing::info!(account, fence = fence.token, "account served here");
                        if let Some(old) = lock_write(&self.slots).insert(account, Arc::new(slot)) {
                            old.shutdown();
                        }
                    }
                    Err(e) => {
                        tracing::warn!(account, error = format!("{e:#}"), "cannot start account");
                        pending.insert(account, fence);
                    }
                }
            }
            self.reindex();
        }
        let slots = std::mem::take(&mut *lock_write(&self.slots));
        slots.values().for_each(|slot| slot.shutdown());
    }

    async fn start_clustered_slot(
        &self,
        source: &ClusterSource,
        fence: &Fence,
    ) -> anyhow::Result<Slot> {
        let settings: AccountSettings =
            match source.cluster.account_settings(&fence.account).await? {
                Some(value) => serde_json::from_value(value).context("the account's settings")?,
                None => anyhow::bail!("account {} is no longer registered", fence.account),
            };
        let entry = AccountEntry {
            name: fence.account.clone(),
            session_name: std::path::PathBuf::from(&fence.account),
            settings,
            settings_error: None,
        };
        self.start_slot_on(&entry, Some((&source.cluster, fence)))
            .await
    }

    /// Where a request whose token names `user_id`, which no local slot serves, goes: `None`
    /// when this is no cluster or no registered account has that id (the caller answers as
    /// without a cluster); else the owner's sender URL, or the 503 to answer now (the account
    /// is between owners, this request was already forwarded once, or the database is down).
    pub(super) async fn remote_owner(
        &self,
        user_id: i64,
        forwarded: bool,
    ) -> Option<Result<String, Response>> {
        let source = self.cluster.as_ref()?;
        let route = match source.cluster.route(user_id).await {
            Ok(route) => route?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the account's owner");
                return Some(Err(api_error(
                    503,
                    "Service Unavailable: the cluster's database is unreachable",
                )));
            }
        };
        match (route.owner, route.sender_url) {
            _ if forwarded => Some(Err(moving())),
            (Some(owner), Some(base)) if owner != source.cluster.instance() => Some(Ok(base)),
            // Nobody's, ours but not started yet (the follower picks it up within a tick), or
            // an owner without CLUSTER_SENDER_URL.
            _ => Some(Err(moving())),
        }
    }

    /// Forwards `request` to another instance's sender at `base` ([`proxy`]).
    pub(super) async fn proxy_to(&self, base: &str, request: Request) -> Response {
        match &self.cluster {
            Some(source) => proxy(&source.http, base, request).await,
            None => api_error(503, "Service Unavailable"),
        }
    }
}

/// The 503 for an account between owners.
fn moving() -> Response {
    api_error(
        503,
        "Service Unavailable: the account is moving between instances; retry in a few seconds",
    )
}

/// Sends `request` to `base` (another instance's sender) with its method, path, query,
/// headers and streamed body, and streams the answer back.
async fn proxy(http: &reqwest::Client, base: &str, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut headers = parts.headers.clone();
    for hop in ["host", "connection", "content-length", "transfer-encoding"] {
        headers.remove(hop);
    }
    headers.insert(FORWARDED_HEADER, axum::http::HeaderValue::from_static("1"));
    let sent = http
        .request(parts.method, url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if !matches!(name.as_str(), "connection" | "transfer-encoding" | "content-length") {
                    response = response.header(name, value);
                }
            }
            response
                .body(axum::body::Body::from_stream(answer.bytes_stream()))
                .unwrap_or_else(|_| api_error(502, "Bad Gateway: the owner's answer was malformed"))
        }
        Err(e) => {
            // The URL may carry nothing secret, but the request's path may (a bot token).
            tracing::warn!(error = %e.without_url(), "cannot forward to the account's owner");
            api_error(
                503,
                "Service Unavailable: the instance serving this account cannot be reached; retry in a few seconds",
            )
        }
    }
    .into_response()
}
