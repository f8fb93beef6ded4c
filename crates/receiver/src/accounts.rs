//! Many accounts in one receiver (`SESSIONS_DIR`): every account whose session lives in the
//! account directory ([`ops::accounts`]) runs its own [`App`] — its own Telegram connection,
//! outbox, media directory, delivery lanes and webhook — inside this process, and one HTTP
//! server on `MEDIA_BIND` serves them all.
//!
//! Routes of the shared server: `/healthz`, `/readyz`, `/metrics`, `/status` (accounts by
//! state; with `x-api-key` = `WEBHOOK_API_KEY` every account by name); `/accounts/<name>/…` → that account's own routes (`/media/<file>`, `/status`,
//! `/dead-letters`, …; its media URLs point there); anything else → the `TG_SESSION_NAME`
//! account's routes, exactly as with one account.
//!
//! The directory is re-read every [`ops::accounts::SCAN_INTERVAL`]: a new session starts its
//! account (once the session is signed in: the sender's management API or `receiver login`
//! signs it in; until then it waits, checked through the session file without contacting
//! Telegram); a session removed, or settings changed, stops that account with the usual drain
//! (changed settings then start it again). One account failing to start is retried with
//! backoff (1 s doubling to 30 s) and never stops another.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ops::accounts::{AccountEntry, AccountSettings};
use serde::Serialize;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tracing::Instrument;

use crate::app::{App, Mount};
use crate::config::Config;

/// The longest wait between two start attempts of an account that failed.
pub(crate) const MAX_RETRY: Duration = Duration::from_secs(30);

/// Where an account stands (`/status`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub(crate) enum AccountState {
    /// Its session is not signed in yet.
    WaitingForSignIn,
    /// Connecting.
    Starting,
    /// Receiving.
    Running {
        /// The account's Telegram user id.
        user_id: i64,
    },
    /// The last start failed; retried with backoff.
    Failed {
        /// Why (no secret: names the file or setting).
        error: String,
    },
}

/// One account's task and its stop switch.
struct Running {
    settings: AccountSettings,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Shared by the front and the account tasks.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) routes: RwLock<HashMap<String, Router>>,
    pub(crate) states: RwLock<BTreeMap<String, AccountState>>,
    pub(crate) env_name: String,
    /// `WEBHOOK_API_KEY`: shows `/status`'s list of accounts.
    pub(crate) api_key: Option<secrecy::SecretString>,
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl AccountState {
    /// The state's name, as `/status` shows it.
    fn name(&self) -> &'static str {
        match self {
            Self::WaitingForSignIn => "waiting_for_sign_in",
            Self::Starting => "starting",
            Self::Running { .. } => "running",
            Self::Failed { .. } => "failed",
        }
    }
}

impl Shared {
    pub(crate) fn set_state(&self, name: &str, state: AccountState) {
        write(&self.states).insert(name.to_owned(), state);
    }
}

/// Runs every account of `config.sessions_dir` (and the `TG_SESSION_NAME` one) until `stop`,
/// then stops them all, each with its drain. Errors: `MEDIA_BIND` cannot be bound, the
/// directory cannot be created.
pub async fn run(
    config: Config,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let listener = bind(&config).await?;
    run_on(config, listener, stop).await
}

/// The shared server's listener on `MEDIA_BIND`.
pub(crate) async fn bind(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(config.media_bind)
        .await
        .with_context(|| format!("failed to bind MEDIA_BIND {}", config.media_bind))
}

/// Stops the shared server (started with its stop switch `server_stop`) and reports how it
/// ended.
pub(crate) async fn stop_server(
    server_stop: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
) {
    server_stop.send_replace(true);
    match server.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "HTTP server failed"),
        Err(e) => tracing::error!(error = %e, "HTTP server task failed"),
    }
}

/// The [`Mount`] that puts account `name`'s routes on the shared server while it runs.
pub(crate) fn mount_for(shared: &Arc<Shared>, name: &str) -> Mount {
    let (shared, name) = (shared.clone(), name.to_owned());
    Arc::new(move |router| match router {
        Some(router) => {
            write(&shared.routes).insert(name.clone(), router);
        }
        None => {
            write(&shared.routes).remove(&name);
        }
    })
}

/// [`run`] on an already bound `listener` (tests bind port 0 first).
pub async fn run_on(
    config: Config,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let dir = config
        .sessions_dir
        .clone()
        .context("SESSIONS_DIR is not set")?;
    tokio::fs::create_dir_all(&dir)
        .await
        .with_context(|| format!("failed to create SESSIONS_DIR {}", dir.display()))?;
    let addr = listener
        .local_addr()
        .context("failed to read the HTTP server address")?;
    let env_name = ops::accounts::env_account_name(&config.session_path(), &dir);
    let shared = Arc::new(Shared {
        env_name: env_name.clone(),
        api_key: config.webhook_api_key.clone(),
        ..Shared::default()
    });
    let (server_stop, server_stopped) = watch::channel(false);
    let server = tokio::spawn(crate::media::server::serve(
        listener,
        front(shared.clone()),
        server_stopped,
    ));
    tracing::info!(%addr, dir = %dir.display(), "receiver serving many accounts");

    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    let mut scanner = ops::accounts::Scanner::new(&dir);
    tokio::pin!(stop);
    loop {
        let mut wanted = match scanner.scan().await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read SESSIONS_DIR");
                running
                    .iter()
                    .map(|(name, r)| {
                        let entry = AccountEntry {
                            name: name.clone(),
                            session_name: dir.join(name),
                            settings: r.settings.clone(),
                            settings_error: None,
                        };
                        (name.clone(), entry)
                    })
                    .collect()
            }
        };
        wanted
            .entry(env_name.clone())
            .or_insert_with(|| AccountEntry {
                name: env_name.clone(),
                session_name: PathBuf::from(&config.session_name),
                settings: AccountSettings::default(),
                settings_error: None,
            });
        // Stop what went away or changed; a finished task (it stopped by itself) is reaped.
        let names: Vec<String> = running.keys().cloned().collect();
        for name in names {
            let keep = wanted
                .get(&name)
                .is_some_and(|entry| running[&name].settings == entry.settings.receiver_part());
            if !keep && let Some(old) = running.remove(&name) {
                tracing::info!(account = %name, "stopping account");
                old.stop.send_replace(true);
                // Its drain finishes before a changed account starts again.
                let _ = old.task.await;
                write(&shared.states).remove(&name);
            }
        }
        for (name, entry) in wanted {
            if running.contains_key(&name) {
                continue;
            }
            let is_env = name == env_name;
            let account_config = if is_env {
                // The environment's settings, routes at the root; its lines are named too.
                let mut env = config.clone();
                env.account_name = Some(name.clone());
                Ok(env)
            } else {
                config.for_account(&entry)
            };
            let account_config = match account_config {
                Ok(c) => c,
                Err(error) => {
                    if !matches!(
                        read(&shared.states).get(&name),
                        Some(AccountState::Failed { error: e }) if *e == error
                    ) {
                        tracing::warn!(account = %name, error, "cannot use the account's settings");
                    }
                    shared.set_state(&name, AccountState::Failed { error });
                    continue;
                }
            };
            let (stop_tx, stop_rx) = watch::channel(false);
            let task = tokio::spawn(
                account_task(name.clone(), account_config, shared.clone(), addr, stop_rx)
                    .instrument(tracing::info_span!("account", name = %name)),
            );
            running.insert(
                name,
                Running {
                    settings: entry.settings.receiver_part(),
                    stop: stop_tx,
                    task,
                },
            );
        }
        count_states(&shared);
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(ops::accounts::SCAN_INTERVAL) => {}
        }
    }
    tracing::info!("shutdown requested; stopping every account");
    for r in running.values() {
        r.stop.send_replace(true);
    }
    for (_, r) in running {
        let _ = r.task.await;
    }
    stop_server(server_stop, server).await;
    tracing::info!("receiver stopped");
    Ok(())
}

/// Sets the [`ops::metrics::ACCOUNTS`] gauge: accounts by state (four series, whatever the
/// number of accounts).
pub(crate) fn count_states(shared: &Shared) {
    let mut counts = [0usize; 4];
    for state in read(&shared.states).values() {
        let i = match state {
            AccountState::Running { .. } => 0,
            AccountState::WaitingForSignIn => 1,
            AccountState::Starting => 2,
            AccountState::Failed { .. } => 3,
        };
        counts[i] += 1;
    }
    for (state, count) in ["running", "waiting_for_sign_in", "starting", "failed"]
        .into_iter()
        .zip(counts)
    {
        metrics::gauge!(ops::metrics::ACCOUNTS, "state" => state).set(count as f64);
    }
}

/// Whether the session file at `path` holds a signed-in account (its self user), read without
/// contacting Telegram. A missing or unreadable file is not signed in.
async fn signed_in(path: &Path) -> bool {
    if !tokio::fs::try_exists(path).await.unwrap_or(false) {
        return false;
    }
    match session::SessionStore::open(path).await {
        Ok(store) => store.self_user().await.ok().flatten().is_some(),
        Err(_) => false,
    }
}

pub(crate) fn is_unauthorized(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(
            c.downcast_ref::<telegram::TelegramError>(),
            Some(telegram::TelegramError::Unauthorized | telegram::TelegramError::NoSession(_))
        )
    })
}

/// One account: waits for its sign-in, builds its [`App`] with its routes mounted on the
/// shared server, runs it until `stop`; starts it again (backoff) when it fails or ends.
async fn account_task(
    name: String,
    config: Config,
    shared: Arc<Shared>,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let mut delay = Duration::from_secs(1);
    let session = config.session_path();
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = if !signed_in(&session).await {
            shared.set_state(&name, AccountState::WaitingForSignIn);
            ops::accounts::SCAN_INTERVAL
        } else {
            shared.set_state(&name, AccountState::Starting);
            let mount = mount_for(&shared, &name);
            match App::build_mounted(config.clone(), mount, addr).await {
                Ok(app) => {
                    delay = Duration::from_secs(1);
                    let user_id = app.account().user.id;
                    shared.set_state(&name, AccountState::Running { user_id });
                    tracing::info!(user_id, "account receiving");
                    let mut stopped = stop.clone();
                    let until = async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    };
                    if let Err(e) = app.run_until(until).await {
                        tracing::error!(error = format!("{e:#}"), "account stopped with an error");
                    }
                    if *stop.borrow() {
                        break;
                    }
                    delay
                }
                Err(e) if is_unauthorized(&e) => {
                    shared.set_state(&name, AccountState::WaitingForSignIn);
                    delay = (delay * 2).min(MAX_RETRY);
                    delay
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::warn!(error, retry_in = ?delay, "cannot start the account");
                    shared.set_state(&name, AccountState::Failed { error });
                    let wait = delay;
                    delay = (delay * 2).min(MAX_RETRY);
                    wait
                }
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    write(&shared.states).remove(&name);
}

/// The shared server's router (see the module docs).
pub(crate) fn front(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(healthz))
        .route("/status", get(status))
        .route("/accounts/{name}", get(account_root))
        .route(
            "/accounts/{name}/{*rest}",
            axum::routing::any(account_route),
        )
        .fallback(env_route)
        .with_state(shared)
        .merge(ops::metrics::route(ops::metrics::install()))
}

async fn healthz() -> Response {
    axum::Json(json!({"ok": true})).into_response()
}

/// `GET /status`: accounts by state, and with `x-api-key` = `WEBHOOK_API_KEY` (the
/// environment's, as for the single account's details) every account by name with its state.
async fn status(State(shared): State<Arc<Shared>>, headers: axum::http::HeaderMap) -> Response {
    let states = read(&shared.states).clone();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for state in states.values() {
        *counts.entry(state.name()).or_default() += 1;
    }
    // Tasks alive in the process: flat while accounts come and go, or something leaks.
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut body = json!({"ok": true, "accounts": states.len(), "states": counts, "tasks": tasks});
    let presented = headers
        .get("x-api-key")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let allowed = shared
        .api_key
        .as_ref()
        .is_some_and(|key| ops::accounts::token_matches(key, presented));
    if allowed {
        body["list"] = states
            .into_iter()
            .map(|(name, state)| json!({"name": name, "state": state}))
            .collect();
    }
    axum::Json(body).into_response()
}

fn not_found() -> Response {
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})),
    )
        .into_response()
}

async fn account_root(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let name = request
        .uri()
        .path()
        .trim_start_matches("/accounts/")
        .to_owned();
    route_to(&shared, &name, "/status", request).await
}

/// `/accounts/<name>/<rest>` → `/<rest>` of that account's routes.
async fn account_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches("/accounts/");
    let Some((name, rest)) = path.split_once('/') else {
        return not_found();
    };
    let (name, rest) = (name.to_owned(), format!("/{rest}"));
    route_to(&shared, &name, &rest, request).await
}

async fn route_to(shared: &Shared, name: &str, path: &str, mut request: Request) -> Response {
    let Some(router) = read(&shared.routes).get(name).cloned() else {
        return not_found();
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let Ok(uri) = format!("{path}{query}").parse::<Uri>() else {
        return not_found();
    };
    *request.uri_mut() = uri;
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Any other path: the `TG_SESSION_NAME` account's routes, as with one account.
async fn env_route(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let Some(router) = read(&shared.routes).get(&shared.env_name).cloned() else {
        return not_found();
    };
    match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
