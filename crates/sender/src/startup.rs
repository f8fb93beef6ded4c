//! Building and running the server: [`App::build`] → [`App::local_addr`] →
//! [`App::run_until_stopped`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::response::IntoResponse;
use ops::serve::ServeLimits;
use telegram::login::AccountSummary;
use telegram::{TelegramConfig, TelegramError};
use tokio::net::TcpListener;

use crate::config::Config;
use crate::connection::Connection;
use crate::limits::{RateLimit, cors};
use crate::media::fetch::{FetchConfig, UrlFetcher};
use crate::nats::Commands;
use crate::queue::lanes::{Resolved, Resolver};
use crate::queue::store::{Answer, Job};
use crate::queue::{QueueConfig, Runner, SendQueue};
use crate::routes::router;
use crate::routes::table::MethodTable;
use crate::state::{AppState, ServerState};
use crate::updates::UpdatesHub;

/// Connection limits of the HTTP server: [`ServeLimits::DEFAULT`]'s timeouts, 512 connections.
/// Twice the receiver's: the sender is the API other services call. Still half of the common
/// 1024 open-file limit, as a request in flight may hold more descriptors (a temp file per
/// uploaded part, a connection fetching a file URL) beside the MTProto connections and the
/// session database.
pub(crate) const HTTP_LIMITS: ServeLimits = ServeLimits {
    max_connections: 512,
    ..ServeLimits::DEFAULT
};

/// A sender with its listener bound and its session opened, not yet serving.
pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    state: ServerState,
    cors: Option<tower_http::cors::CorsLayer>,
    nats: Option<Commands>,
}

impl App {
    /// Validates `config`, binds `SENDER_BIND`, connects to Telegram (and to NATS in the
    /// background when `NATS_URL` is set).
    ///
    /// A session that is missing (it is created, mode 0600) or not signed in is no error: the
    /// sender starts, Bot API methods answer 503 and `/api_v1/auth/*` signs it in.
    ///
    /// Errors (each naming what failed): an invalid config (e.g. empty `X_API_TOKEN`), an
    /// address that cannot be bound, a session file that cannot be opened, Telegram
    /// unreachable.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        config.validate()?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("failed to bind SENDER_BIND {}", config.bind))?;
        Self::build_with_listener(config, listener).await
    }

    /// Like [`App::build`] but serves on an already bound `listener` (`SENDER_BIND` unused).
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let addr = listener
            .local_addr()
            .context("failed to read the listener's address")?;
        let (state, nats) = build_state(&config).await?;
        Ok(Self {
            listener,
            addr,
            state,
            cors: cors(&config.cors_origins()?),
            nats,
        })
    }

    /// The address the server listens on (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The signed-in account requests act as; `None` until the session is signed in.
    pub fn account(&self) -> Option<AccountSummary> {
        self.state.connection.account()
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting, lets in-flight requests finish
    /// and closes the Telegram connection.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let stop = ops::shutdown::signal().context("failed to install the SIGTERM handler")?;
        self.run_until(stop).await
    }

    /// Serves until `shutdown` completes, then drains in-flight requests as
    /// [`App::run_until_stopped`] does.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let connection = self.state.connection.clone();
        let app = router(self.state, self.cors);
        let shutdown = futures::FutureExt::shared(shutdown);
        let nats = self.nats.map(|nats| {
            tokio::spawn(nats.serve(app.clone(), connection.clone(), shutdown.clone()))
        });
        // Each connection's hyper-made error heads become Bot API envelopes (`listener`).
        let served = ops::serve::serve_with(
            self.listener,
            app,
            shutdown,
            HTTP_LIMITS,
            crate::listener::EnvelopeIo::new,
        )
        .await
        .context("the HTTP server failed");
        if let Some(nats) = nats {
            let _ = nats.await;
        }
        tracing::info!("HTTP server stopped; disconnecting from Telegram");
        connection.disconnect();
        served
    }
}

/// Everything one account's API needs, without a listener: its Telegram connection (signed in
/// or waiting for a login), its send queue next to its session, its rate limit, and its NATS
/// command subscriber when `NATS_URL` is set. [`App::build_with_listener`] serves one; the
/// many-accounts front ([`crate::accounts`]) one per account.
///
/// Errors: as [`App::build`]'s, minus the listener's.
pub(crate) async fn build_state(
    config: &Config,
) -> anyhow::Result<(ServerState, Option<Commands>)> {
    build_state_on(config, None).await
}

/// [`build_state`] for an account of several instances when `clustered` is given: its
/// session, send queue and outbox (for `getUpdates`) live in the cluster's Postgres, every
/// write fenced by this instance's lease; there is no login over HTTP.
pub(crate) async fn build_state_on(
    config: &Config,
    clustered: Option<(&cluster::Cluster, &cluster::Fence)>,
) -> anyhow::Result<(ServerState, Option<Commands>)> {
    let session_path = config.session_path();
    let fetcher = UrlFetcher::new(FetchConfig {
        allow_private: config.allow_private_urls,
        max_bytes: config.max_upload_bytes,
        timeout: config.download_timeout(),
    })
    .context("failed to build the HTTP client for file URLs")?;
    let api_token = Arc::new(config.api_token.clone());
    let nats = config.nats.connect("sender").await?.map(|client| {
        Commands::new(
            client,
            config.nats.subject_prefix.clone(),
            api_token.clone(),
        )
    });
    let telegram = TelegramConfig {
        api_id: config.api_id,
        session_path: session_path.clone(),
        flood_sleep_threshold: config.flood_sleep(),
        // The sender reads no updates; grammers drops them when the channel is full.
        updates_capacity: 1,
        upload_concurrency: config.upload_concurrency,
    };
    let (token, max_upload_bytes, fetcher) = (
        api_token.clone(),
        config.max_upload_bytes,
        Arc::new(fetcher),
    );
    let updates = match clustered {
        None => Arc::new(UpdatesHub::new(config.outbox_path())),
        Some((cluster, fence)) => {
            let outbox = outbox::Outbox::open_postgres(cluster, fence.clone())
                .await
                .with_context(|| format!("cannot open account {}'s outbox", fence.account))?;
            Arc::new(UpdatesHub::with_outbox(&fence.account, Arc::new(outbox)))
        }
    };
    let bind = Box::new(move |telegram| AppState {
        telegram,
        api_token: token.clone(),
        max_upload_bytes,
        fetcher: fetcher.clone(),
        updates: updates.clone(),
    });
    let connection = match clustered {
        None => Connection::start(
            telegram,
            config.api_hash.clone(),
            config.phone_number.clone(),
            bind,
        )
        .await
        .with_context(|| {
            format!(
                "failed to connect to Telegram with session {} (TG_SESSION_NAME)",
                session_path.display()
            )
        })?,
        Some((cluster, fence)) => {
            let session = cluster::PgSession::open(cluster, fence)
                .await
                .context("cannot open the account's session in Postgres")?;
            Connection::start_clustered(telegram, Arc::new(session), bind)
                .await
                .context("failed to connect with the account's session in Postgres")?
        }
    };
    let connection = Arc::new(connection);
    let postgres = clustered.map(|(cluster, fence)| crate::queue::store::PostgresQueue {
        cluster: cluster.clone(),
        fence: fence.clone(),
    });
    let queue = start_queue(config, connection.clone(), postgres).await?;
    let state = ServerState {
        api_token,
        max_upload_bytes: config.max_upload_bytes,
        connection,
        rate_limit: RateLimit::new(config.rate_limit_per_second, config.rate_limit_burst)
            .map(Arc::new),
        response_format: config.response_format,
        queue,
    };
    Ok((state, nats))
}

/// Opens the send queue next to the session and resumes what the last run left. Its sends run
/// through their methods' handlers in the signed-in session's [`AppState`] (503 while signed
/// out, which the queue retries), each inside [`telegram::with_random_id`] with its stored
/// `random_id`.
async fn start_queue(
    config: &Config,
    connection: Arc<Connection<AppState>>,
    postgres: Option<crate::queue::store::PostgresQueue>,
) -> anyhow::Result<Arc<SendQueue>> {
    let table = Arc::new(MethodTable::new());
    let is_bot = connection.account().is_some_and(|a| a.is_bot);
    let resolver = username_resolver(connection.clone());
    let runner: Runner = Arc::new(move |job: Job| {
        let (table, connection) = (table.clone(), connection.clone());
        Box::pin(async move {
            let (response, flood) = match connection.signed_in() {
                Ok(app) => {
                    let request = job.request();
                    let call = table.call(&app, &job.method, request);
                    if job.random_id == 0 {
                        telegram::watch_floods(call).await
                    } else {
                        let call = telegram::with_random_id(job.random_id, call);
                        telegram::watch_floods(call).await
                    }
                }
                Err(error) => (error.into_response(), None),
            };
            (Answer::read(response).await, flood)
        })
    });
    let queue_config = QueueConfig {
        path: config.queue_path(),
        postgres,
        pacing: config.pacing(is_bot),
        max_wait: Duration::from_secs(config.send_queue_max_wait),
        keep: Duration::from_secs(config.idempotency_ttl),
        result_webhook: config.send_result_webhook_url.clone(),
        peer_flood_pause: Duration::from_secs(config.peer_flood_pause),
        max_attempts: 5,
        chat_concurrency: config.send_chat_concurrency,
        body_limit: usize::try_from(config.max_upload_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(crate::extract::MAX_BODY_BYTES),
    };
    SendQueue::start(queue_config, runner, resolver)
        .await
        .with_context(|| {
            format!(
                "failed to open the send queue {} (SEND_QUEUE_PATH)",
                config.queue_path().display()
            )
        })
}

/// Resolves an `@username` (without `@`) to its chat for the queue's lanes, through
/// `telegram`'s username cache.
fn username_resolver(connection: Arc<Connection<AppState>>) -> Resolver {
    Arc::new(move |name: String| {
        let connection = connection.clone();
        Box::pin(async move {
            let Ok(app) = connection.signed_in() else {
                return Resolved::Unknown;
            };
            let chat = botapi::ids::ChatIdParam::Username(name);
            let resolve = app.telegram.resolve_chat(&chat);
            match telegram::watch_floods(resolve).await {
                (Ok(peer), _) => peer.chat_id().map_or(Resolved::Unknown, Resolved::Chat),
                (Err(TelegramError::FloodWait { seconds }), flood) => {
                    Resolved::FloodWait { seconds, flood }
                }
                (Err(_), _) => Resolved::Unknown,
            }
        })
    })
}
