//! Many accounts in one sender (`SESSIONS_DIR`): one API process for every account whose
//! session lives in the account directory ([`ops::accounts`]), routed by token, managed over
//! HTTP with `ADMIN_API_KEY`.
//!
//! Each account is served by its own copy of the single-account API ([`crate::routes::router`]
//! over its own [`ServerState`]: Telegram connection, send queue and rate limit, built by
//! `startup::build_state`), so one account's flood wait, queue or outage never touches
//! another's. The front ([`Accounts::router`]) picks the account and hands the request on:
//!
//! | credentials | account |
//! |---|---|
//! | `x-api-key: <user_id>:<secret>` on `/api_v1/…`, `/bot<user_id>:<secret>/…`, `/file/bot<user_id>:<secret>/…` | the account signed in as `user_id`, whose settings hold `secret` (constant-time) |
//! | `x-admin-key: <ADMIN_API_KEY>` + `x-account: <name>` on `/api_v1/…` | `name`, signed in or not (for the login steps) |
//! | any other key or token | the `TG_SESSION_NAME` account, which checks it against `X_API_TOKEN` itself |
//!
//! The management API under `/admin/accounts` (all with `x-admin-key`): `GET` lists accounts
//! with their state; `POST {name, phone_number?, bot_token?, …settings}` adds one and starts
//! its login; `POST /admin/accounts/<name>/auth/<step>` runs a login step
//! (`sendCode`, `signIn`, `checkPassword`, `signInBot`, `logOut`, as `/api_v1/auth/*`);
//! `PATCH /admin/accounts/<name>` changes its settings (the account restarts in both
//! binaries); `DELETE /admin/accounts/<name>` signs it out and removes its session, settings and
//! send queue. The directory is re-read every [`ops::accounts::SCAN_INTERVAL`], so files the
//! receiver or a person adds or removes take effect within a second.
//!
//! Secrets (tokens, the admin key, codes, passwords) are compared in constant time and never
//! logged; a listed account shows its token to the admin only.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use futures::StreamExt as _;
use ops::accounts::{AccountEntry, AccountSettings, token_matches, token_user_id};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::watch;
use tower::ServiceExt;
use tracing::Instrument;

use crate::auth::{API_KEY_HEADER, Authenticated};
use crate::config::Config;
use crate::error::ApiError;
use crate::state::ServerState;

mod admin;
mod cluster;

pub use cluster::FORWARDED_HEADER;

use admin::{admin_add, admin_auth, admin_delete, admin_get, admin_list, admin_patch};

/// Accounts started at once (each opens its session, send queue and Telegram connection).
const START_AT_ONCE: usize = 16;
/// The first retry of an account that failed to start; doubles up to [`RETRY_MAX`].
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_secs(1);
/// The longest wait between two start attempts of a failing account.
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// The management key's header (`ADMIN_API_KEY`).
pub const ADMIN_KEY_HEADER: &str = "x-admin-key";
/// With `x-admin-key`: which account an `/api_v1/…` request acts as, by name.
pub const ACCOUNT_HEADER: &str = "x-account";

/// One served account.
struct Slot {
    name: String,
    /// Its settings file as last read.
    settings: AccountSettings,
    /// Whether this is the `TG_SESSION_NAME` account (also reachable with `X_API_TOKEN`).
    env: bool,
    state: ServerState,
    router: Router,
    /// Stops its NATS subscriber.
    stop: watch::Sender<bool>,
    /// Its `account` label in per-account metrics (bounded: see [`ops::metrics::ACCOUNT_LABELS`]).
    label: String,
}

impl Slot {
    fn user_id(&self) -> Option<i64> {
        self.state.connection.account().map(|a| a.id)
    }

    fn shutdown(&self) {
        self.stop.send_replace(true);
        self.state.connection.disconnect();
    }
}

/// Every account the sender serves, and the front that routes requests to them.
pub struct Accounts {
    dir: PathBuf,
    base: Config,
    admin_key: Option<SecretString>,
    /// The name of the `TG_SESSION_NAME` account (its file stem when it lives in the
    /// directory, else `default`).
    env_name: String,
    env_session: PathBuf,
    cors: Option<tower_http::cors::CorsLayer>,
    slots: RwLock<BTreeMap<String, Arc<Slot>>>,
    by_user: RwLock<HashMap<i64, Arc<Slot>>>,
    /// Serializes starting, restarting and removing accounts; holds the directory's scanner.
    changes: tokio::sync::Mutex<ops::accounts::Scanner>,
    /// Accounts whose last start failed: when to try again and the current backoff.
    failed: std::sync::Mutex<HashMap<String, (std::time::Instant, std::time::Duration)>>,
    /// Names that have a metric label of their own (at most [`ops::metrics::ACCOUNT_LABELS`]).
    labeled: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Several instances (`DATABASE_URL`): the accounts come from the cluster, not the
    /// directory ([`Accounts::start_clustered`]).
    cluster: Option<cluster::ClusterSource>,
}

fn lock_read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn lock_write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

fn api_error(status: u16, description: &str) -> Response {
    ApiError::with_status(status, description).into_response()
}

fn unauthorized() -> Response {
    ApiError::from(botapi::ApiError::unauthorized()).into_response()
}

impl Accounts {
    /// Reads `SESSIONS_DIR` (created if missing) and starts every account in it plus the
    /// `TG_SESSION_NAME` one. An account that cannot start is named in the log and retried at
    /// the next scan; the others run. Errors: an invalid `config`, the directory cannot be
    /// created or listed.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Self>> {
        config.validate()?;
        let dir = config
            .sessions_dir
            .clone()
            .context("SESSIONS_DIR is not set")?;
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("failed to create SESSIONS_DIR {}", dir.display()))?;
        let env_session = config.session_path();
        let env_name = ops::accounts::env_account_name(&env_session, &dir);
        let scanner = ops::accounts::Scanner::new(&dir);
        let this = Arc::new(Self {
            changes: tokio::sync::Mutex::new(scanner),
            cors: crate::limits::cors(&config.cors_origins()?),
            admin_key: config.admin_api_key.clone(),
            dir,
            base: config,
            env_name,
            env_session,
            slots: RwLock::default(),
            by_user: RwLock::default(),
            labeled: std::sync::Mutex::default(),
            failed: std::sync::Mutex::default(),
            cluster: None,
        });
        this.sync().await?;
        Ok(this)
    }

    /// Serves the front on `listener` (with the single-account server's connection limits and
    /// envelopes) and re-reads the directory until `shutdown`; then stops every account.
    /// Errors: the HTTP server failed.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let watcher = if self.cluster.is_some() {
            tokio::spawn(self.clone().follow(stopped))
        } else {
            tokio::spawn(self.clone().watch(stopped))
        };
        let served = ops::serve::serve_with(
            listener,
            self.router(),
            shutdown,
            crate::startup::HTTP_LIMITS,
            crate::listener::EnvelopeIo::new,
        )
        .await
        .context("the HTTP server failed");
        stop.send_replace(true);
        let _ = watcher.await;
        tracing::info!("HTTP server stopped; every account disconnected");
        served
    }

    /// Names of the accounts served now.
    pub fn names(&self) -> Vec<String> {
        lock_read(&self.slots).keys().cloned().collect()
    }

    /// Re-reads the directory every [`ops::accounts::SCAN_INTERVAL`] until `stop` turns true:
    /// starts new accounts, restarts those whose settings changed, stops removed ones.
    pub async fn watch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                () = tokio::time::sleep(ops::accounts::SCAN_INTERVAL) => {}
            }
            if let Err(e) = self.sync().await {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot read SESSIONS_DIR");
            }
        }
        let slots = std::mem::take(&mut *lock_write(&self.slots));
        slots.values().for_each(|slot| slot.shutdown());
    }

    /// One pass over the directory (see [`Accounts::watch`]).
    async fn sync(&self) -> anyhow::Result<()> {
        let mut scanner = self.changes.lock().await;
        let mut wanted = scanner.scan().await?;
        for entry in wanted.values_mut() {
            if entry.settings.secret.is_empty()
                && entry.settings_error.is_none()
                && !ops::accounts::settings_path(&self.dir, &entry.name).exists()
            {
                // A session put there by hand gets a token of its own.
                entry.settings = AccountSettings::generate();
                if let Err(e) =
                    ops::accounts::write_settings(&self.dir, &entry.name, &entry.settings).await
                {
                    tracing::warn!(account = %entry.name, error = %e, "cannot write the account's settings");
                }
            }
        }
        if !wanted.contains_key(&self.env_name) {
            wanted.insert(
                self.env_name.clone(),
                AccountEntry {
                    name: self.env_name.clone(),
                    session_name: PathBuf::from(&self.base.session_name),
                    settings: AccountSettings::default(),
                    settings_error: None,
                },
            );
        }
        let running: BTreeMap<String, Arc<Slot>> = lock_read(&self.slots).clone();
        for (name, slot) in &running {
            let keep = wanted
                .get(name)
                .is_some_and(|entry| entry.settings.sender_part() == slot.settings.sender_part());
            if !keep {
                tracing::info!(account = %name, "stopping account");
                lock_write(&self.slots).remove(name);
                slot.shutdown();
            }
        }
        // Start what is new, several at once (each opens files and connects), except accounts
        // whose last start failed and whose retry is not due yet.
        let now = std::time::Instant::now();
        let starting: Vec<AccountEntry> = wanted
            .into_values()
            .filter(|entry| !lock_read(&self.slots).contains_key(&entry.name))
            .filter(|entry| {
                self.failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&entry.name)
                    .is_none_or(|(due, _)| *due <= now)
            })
            .collect();
        let mut started = futures::stream::iter(starting)
            .map(|entry| async move {
                let slot = self.start_slot(&entry).await;
                (entry, slot)
            })
            .buffer_unordered(START_AT_ONCE);
        while let Some((entry, slot)) = started.next().await {
            let name = entry.name.clone();
            if let Some(error) = &entry.settings_error {
                tracing::warn!(account = %name, error, "unreadable account settings; served with defaults");
            }
            let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
            match slot {
                Ok(slot) => {
                    failed.remove(&name);
                    tracing::debug!(account = %name, signed_in = slot.user_id().is_some(), "account started");
                    lock_write(&self.slots).insert(name, Arc::new(slot));
                }
                Err(e) => {
                    let delay = failed
                        .get(&name)
                        .map_or(RETRY_FIRST, |(_, d)| (*d * 2).min(RETRY_MAX));
                    tracing::warn!(account = %name, error = format!("{e:#}"), retry_in = ?delay, "cannot start account");
                    failed.insert(name, (std::time::Instant::now() + delay, delay));
                }
            }
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&self) {
        let index: HashMap<i64, Arc<Slot>> = lock_read(&self.slots)
            .values()
            .filter_map(|slot| slot.user_id().map(|id| (id, slot.clone())))
            .collect();
        let total = lock_read(&self.slots).len();
        metrics::gauge!(ops::metrics::ACCOUNTS, "state" => "signed_in").set(index.len() as f64);
        metrics::gauge!(ops::metrics::ACCOUNTS, "state" => "signed_out")
            .set(total.saturating_sub(index.len()) as f64);
        *lock_write(&self.by_user) = index;
    }

    /// The configuration of one account: the environment's, with its session, its own send
    /// queue and outbox beside that session, and its settings' rate limit.
    fn account_config(&self, entry: &AccountEntry, env: bool) -> Config {
        let mut config = self.base.clone();
        if !env {
            config.session_name = entry.session_name.to_string_lossy().into_owned();
            config.outbox_path = None;
            config.send_queue_path = None;
            // Requests reach it only through the front's own checks; no key of its own.
            config.api_token = SecretString::from(ops::accounts::random_secret());
            config.phone_number = None;
        }
        if let Some(rate) = entry.settings.rate_limit_per_second {
            config.rate_limit_per_second = rate;
        }
        if let Some(burst) = entry.settings.rate_limit_burst {
            config.rate_limit_burst = burst;
        }
        config
    }

    async fn start_slot(&self, entry: &AccountEntry) -> anyhow::Result<Slot> {
        self.start_slot_on(entry, None).await
    }

    /// [`Accounts::start_slot`], with the account's state in the cluster's Postgres when
    /// `clustered` names this instance's lease on it.
    async fn start_slot_on(
        &self,
        entry: &AccountEntry,
        clustered: Option<(&::cluster::Cluster, &::cluster::Fence)>,
    ) -> anyhow::Result<Slot> {
        let env = entry.name == self.env_name
            && same_file(
                &session::SessionStore::path_for_name(&entry.session_name.to_string_lossy()),
                &self.env_session,
            );
        let config = self.account_config(entry, env);
        let span = tracing::info_span!("account", name = %entry.name);
        let (state, nats) = crate::startup::build_state_on(&config, clustered)
            .instrument(span.clone())
            .await?;
        let router = crate::routes::router(state.clone(), self.cors.clone());
        let (stop, stopped) = watch::channel(false);
        if let Some(nats) = nats {
            let shutdown = async move {
                let mut stopped = stopped;
                let _ = stopped.wait_for(|s| *s).await;
            };
            tokio::spawn(
                nats.serve(router.clone(), state.connection.clone(), shutdown)
                    .instrument(span),
            );
        }
        let label = {
            let mut labeled = self.labeled.lock().unwrap_or_else(|e| e.into_inner());
            if labeled.contains(&entry.name) || labeled.len() < ops::metrics::ACCOUNT_LABELS {
                labeled.insert(entry.name.clone());
                entry.name.clone()
            } else {
                "_other".to_owned()
            }
        };
        Ok(Slot {
            label,
            name: entry.name.clone(),
            settings: entry.settings.clone(),
            env,
            state,
            router,
            stop,
        })
    }

    fn slot(&self, name: &str) -> Option<Arc<Slot>> {
        lock_read(&self.slots).get(name).cloned()
    }

    fn env_slot(&self) -> Option<Arc<Slot>> {
        self.slot(&self.env_name).filter(|s| s.env)
    }

    fn by_user(&self, id: i64) -> Option<Arc<Slot>> {
        if let Some(slot) = lock_read(&self.by_user).get(&id) {
            return Some(slot.clone());
        }
        // Signed in since the last scan (a login through the API).
        let slot = lock_read(&self.slots)
            .values()
            .find(|s| s.user_id() == Some(id))
            .cloned()?;
        lock_write(&self.by_user).insert(id, slot.clone());
        Some(slot)
    }

    fn admin_ok(&self, presented: &[u8]) -> bool {
        self.admin_key
            .as_ref()
            .is_some_and(|key| token_matches(key, presented))
    }

    /// The front: `/healthz`, `/readyz`, `/metrics`, `/status`, the OpenAPI document and the
    /// management API here; every other request goes to its account's router (see the module
    /// docs for how the account is chosen).
    pub fn router(self: &Arc<Self>) -> Router {
        // The management API is logged and counted here; an account's requests (also a login
        // step, which goes on to the account's `/api_v1/auth/<step>`) are logged by its own
        // router, so no request counts twice.
        let admin = Router::new()
            .route("/admin/accounts", get(admin_list).post(admin_add))
            .route(
                "/admin/accounts/{name}",
                get(admin_get).patch(admin_patch).delete(admin_delete),
            )
            .route_layer(axum::middleware::from_fn(crate::telemetry::track))
            .route("/admin/accounts/{name}/auth/{step}", any(admin_auth));
        Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(healthz))
            .route("/status", get(status))
            .merge(admin)
            .fallback(front)
            .with_state(self.clone())
            .merge(crate::openapi::router())
            .merge(ops::metrics::route(ops::metrics::install()))
            // axum's own answers (a 405 on /admin/accounts) in the envelope too.
            .layer(axum::middleware::map_response(crate::envelope::errors))
    }

    fn view(&self, slot: &Slot, with_token: bool) -> Value {
        let account = slot.state.connection.account();
        let token = account
            .as_ref()
            .and_then(|a| slot.settings.token(a.id))
            .filter(|_| with_token)
            .map(|t| t.expose_secret().to_owned());
        json!({
            "name": slot.name,
            "user_id": account.as_ref().map(|a| a.id),
            "first_name": account.as_ref().map(|a| a.first_name.clone()),
            "username": account.as_ref().and_then(|a| a.username.clone()),
            "is_bot": account.as_ref().map(|a| a.is_bot),
            "signed_in": account.is_some(),
            "token": token,
            "env": slot.env,
            "queue": slot.state.queue.status(),
        })
    }
}

/// Whether two paths name the same file (their directories compared canonically).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.parent(), b.parent()) {
        (Some(pa), Some(pb)) => ops::accounts::same_dir(pa, pb) && a.file_name() == b.file_name(),
        _ => a == b,
    }
}

async fn healthz() -> Response {
    axum::Json(json!({"ok": true})).into_response()
}

/// `GET /status`: how many accounts are signed in, and with `x-admin-key` every account's name,
/// user id and send queue (names and ids are not for anyone who can reach the port).
async fn status(State(accounts): State<Arc<Accounts>>, headers: axum::http::HeaderMap) -> Response {
    let slots: Vec<Arc<Slot>> = lock_read(&accounts.slots).values().cloned().collect();
    let signed_in = slots.iter().filter(|s| s.user_id().is_some()).count();
    let mut body = json!({
        "ok": true,
        "accounts": slots.len(),
        "signed_in": signed_in,
        "queue_depth": slots.iter().map(|s| s.state.queue.status().depth).sum::<usize>(),
    });
    let admin = headers
        .get(ADMIN_KEY_HEADER)
        .is_some_and(|key| accounts.admin_ok(key.as_bytes()));
    if admin {
        body["list"] = slots
            .iter()
            .map(|slot| {
                json!({
                    "name": slot.name,
                    "user_id": slot.user_id(),
                    "signed_in": slot.user_id().is_some(),
                    "queue": slot.state.queue.status(),
                })
            })
            .collect();
    }
    axum::Json(body).into_response()
}

/// The token a request presents: `x-api-key` on `/api_v1/…`, the path's `bot<token>` segment
/// on `/bot<token>/…` and `/file/bot<token>/…` (percent-decoded).
fn presented_token(request: &Request) -> Option<Vec<u8>> {
    let path = request.uri().path();
    if path.starts_with("/api_v1/") {
        return request
            .headers()
            .get(API_KEY_HEADER)
            .map(|v| v.as_bytes().to_vec());
    }
    let mut segments = path.trim_start_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let segment = if first == "file" {
        segments.next().unwrap_or_default()
    } else {
        first
    };
    segment.strip_prefix("bot").map(crate::auth::percent_decode)
}

/// Every request that is not the front's own: to its account's router.
async fn front(State(accounts): State<Arc<Accounts>>, mut request: Request) -> Response {
    if let Some(admin) = request.headers().get(ADMIN_KEY_HEADER) {
        if !accounts.admin_ok(admin.as_bytes()) {
            return unauthorized();
        }
        let Some(name) = request
            .headers()
            .get(ACCOUNT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return api_error(400, "Bad Request: x-account names no account");
        };
        let Some(slot) = accounts.slot(&name) else {
            return api_error(404, "Not Found: account not found");
        };
        request.extensions_mut().insert(Authenticated);
        return forward(&slot, request).await;
    }
    if let Some(token) = presented_token(&request)
        && let Some(id) = token_user_id(&token)
        && let Some(slot) = accounts.by_user(id)
    {
        let matches = slot
            .settings
            .token(id)
            .is_some_and(|expected| token_matches(&expected, &token));
        if matches {
            request.extensions_mut().insert(Authenticated);
            return forward(&slot, request).await;
        }
        if !slot.env {
            return unauthorized();
        }
    }
    if let Some(token) = presented_token(&request)
        && let Some(id) = token_user_id(&token)
        && accounts.by_user(id).is_none()
    {
        let forwarded = request.headers().contains_key(FORWARDED_HEADER);
        match accounts.remote_owner(id, forwarded).await {
            Some(Ok(base)) => return accounts.proxy_to(&base, request).await,
            Some(Err(response)) => return response,
            None => {}
        }
    }
    match accounts.env_slot() {
        Some(slot) => forward(&slot, request).await,
        None if request.uri().path().starts_with("/api_v1/")
            || request.uri().path().starts_with("/bot") =>
        {
            unauthorized()
        }
        None => ApiError::not_found().into_response(),
    }
}

async fn forward(slot: &Slot, request: Request) -> Response {
    metrics::counter!(ops::metrics::ACCOUNT_REQUESTS, "account" => slot.label.clone()).increment(1);
    let span = tracing::info_span!("account", name = %slot.name);
    match slot.router.clone().oneshot(request).instrument(span).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
