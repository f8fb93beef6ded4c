//! Startup and shutdown: [`App::build`] opens the media directory, binds the media server,
//! connects and opens the update stream; [`App::run_until_stopped`] runs the update loop, the
//! media jobs, the delivery worker, the media server and the sweep until SIGTERM or Ctrl-C,
//! then drains pending work within [`DRAIN_DEADLINE`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use botapi::payload::WebhookPayload;
use telegram::{Account, Telegram, TelegramConfig, UpdateStream};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::Config;
use crate::dispatch::{Dispatcher, Emitter};
use crate::media::fetch::Fetcher;
use crate::media::store::{self, MediaStore};
use crate::media::{MediaService, server};
use crate::pipeline;
use crate::webhook::{self, RetryPolicy, WebhookClient};

/// Capacity of grammers' update channel (it drops updates silently when full).
pub const UPDATES_CAPACITY: usize = 10_000;
/// FLOOD_WAITs up to this long are slept through inside the Telegram layer.
pub const FLOOD_SLEEP_THRESHOLD: Duration = Duration::from_secs(60);
/// Payloads waiting for the delivery worker; beyond this new ones are dropped (and logged).
pub const WEBHOOK_QUEUE_CAPACITY: usize = 10_000;
/// How long shutdown waits for media downloads and queued webhook deliveries together
/// (Docker's grace period is 10 s).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(8);
/// How long the media server may finish open responses after the drain, at least.
const SERVER_GRACE: Duration = Duration::from_secs(1);

/// A connected receiver, ready to run.
pub struct App {
    telegram: Arc<Telegram>,
    stream: UpdateStream,
    account_phone: Option<String>,
    webhook: Option<WebhookClient>,
    store: MediaStore,
    media: MediaService,
    media_listener: TcpListener,
    media_addr: SocketAddr,
    ready: (watch::Sender<bool>, watch::Receiver<bool>),
    handled: broadcast::Sender<WebhookPayload>,
    drain_deadline: Duration,
}

impl App {
    /// Opens `MEDIA_DIR` (deleting leftover `*.part` files), binds `MEDIA_BIND`, connects to
    /// Telegram with the session file, checks it is signed in and opens the update stream
    /// (starting from now, no catch-up). Builds the webhook client when `WEBHOOK_URL` is set.
    ///
    /// Errors: the media directory cannot be created or read, `MEDIA_BIND` cannot be bound,
    /// the session file cannot be opened, the session is not signed in, Telegram cannot be
    /// reached, or the webhook client cannot be built.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with(config, RetryPolicy::default(), None).await
    }

    /// [`App::build`] with a custom webhook retry policy.
    pub async fn build_with_retry_policy(
        config: Config,
        policy: RetryPolicy,
    ) -> anyhow::Result<Self> {
        Self::build_with(config, policy, None).await
    }

    /// [`App::build`] with a custom webhook retry policy and, optionally, an already bound
    /// listener for the media server (instead of binding `MEDIA_BIND`); tests bind port 0
    /// first so the public media URLs can name the port.
    pub async fn build_with(
        config: Config,
        policy: RetryPolicy,
        media_listener: Option<TcpListener>,
    ) -> anyhow::Result<Self> {
        let session_path = config.session_path();
        let webhook = config
            .webhook_url
            .clone()
            .map(|url| {
                WebhookClient::new(
                    url,
                    config.webhook_api_key.as_ref(),
                    config.webhook_timeout,
                    policy,
                )
            })
            .transpose()
            .context("failed to build the webhook client")?;
        let store = MediaStore::open(
            &config.media_dir,
            config.media_ttl,
            config.media_max_disk_bytes,
        )
        .await
        .with_context(|| {
            format!(
                "failed to open the media directory {} (MEDIA_DIR)",
                config.media_dir.display()
            )
        })?;
        let media_listener = match media_listener {
            Some(listener) => listener,
            None => TcpListener::bind(config.media_bind)
                .await
                .with_context(|| format!("failed to bind MEDIA_BIND {}", config.media_bind))?,
        };
        let media_addr = media_listener
            .local_addr()
            .context("failed to read the media server address")?;
        let telegram = Telegram::connect(TelegramConfig {
            api_id: config.api_id,
            session_path: session_path.clone(),
            flood_sleep_threshold: FLOOD_SLEEP_THRESHOLD,
            updates_capacity: UPDATES_CAPACITY,
        })
        .await
        .with_context(|| {
            format!(
                "failed to connect with session file {}",
                session_path.display()
            )
        })?;
        let telegram = Arc::new(telegram);
        let stream = telegram
            .updates(false)
            .await
            .context("failed to open the update stream")?;
        let account_phone = config
            .phone_number
            .clone()
            .or_else(|| telegram.account().phone.clone());
        let fetcher = Fetcher::new(
            telegram.clone(),
            store.clone(),
            config.media_max_bytes,
            usize::from(config.media_download_concurrency),
        );
        let media = MediaService::new(fetcher, config.public_media_origin());
        Ok(Self {
            telegram,
            stream,
            account_phone,
            webhook,
            store,
            media,
            media_listener,
            media_addr,
            ready: watch::channel(false),
            handled: broadcast::channel(1024).0,
            drain_deadline: DRAIN_DEADLINE,
        })
    }

    /// Address the media server (`/media/<name>`, `/healthz`) listens on.
    pub fn media_addr(&self) -> SocketAddr {
        self.media_addr
    }

    /// The media directory (for inspection and explicit sweeps; the app sweeps by itself).
    pub fn media_store(&self) -> MediaStore {
        self.store.clone()
    }

    /// The signed-in account.
    pub fn account(&self) -> &Account {
        self.telegram.account()
    }

    /// Resolves once the update loop has polled the stream for the first time, which sends
    /// the stream's initial `updates.getState` (the request is in flight, not necessarily
    /// answered: messages Telegram records before its answer count as already seen). Also
    /// resolves if the app stops first. Tests follow it with a probe message.
    pub fn ready(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.ready.1.clone();
        async move {
            // An error means the loop ended (or never polled): nothing left to wait for.
            let _ = rx.wait_for(|ready| *ready).await;
        }
    }

    /// Every payload the loop handles (incoming messages only), as it is enqueued for the
    /// webhook — also without `WEBHOOK_URL`. Lagging receivers lose the oldest entries.
    pub fn subscribe(&self) -> broadcast::Receiver<WebhookPayload> {
        self.handled.subscribe()
    }

    /// Sets how long shutdown waits for queued deliveries (default [`DRAIN_DEADLINE`]).
    pub fn with_drain_deadline(mut self, deadline: Duration) -> Self {
        self.drain_deadline = deadline;
        self
    }

    /// Runs until SIGTERM or Ctrl-C, then drains pending deliveries.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let stop = shutdown_signal()?;
        self.run_until(stop).await
    }

    /// Runs until `stop` resolves, then stops the update loop, lets pending media jobs and the
    /// delivery worker finish within the drain deadline (the media server keeps serving until
    /// the webhook queue is drained) and disconnects.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.drain_deadline;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (server_stop_tx, server_stop_rx) = watch::channel(false);
        let (queue_tx, queue_rx) = mpsc::channel(WEBHOOK_QUEUE_CAPACITY);
        let mut workers = JoinSet::new();
        let queue = match self.webhook {
            Some(client) => {
                workers.spawn(webhook::delivery_worker(client, queue_rx));
                Some(queue_tx)
            }
            None => {
                info!("WEBHOOK_URL is not set: printing messages only");
                None
            }
        };
        let mut services = JoinSet::new();
        let router = server::router(self.store.dir());
        let listener = self.media_listener;
        services.spawn(async move {
            if let Err(e) = server::serve(listener, router, server_stop_rx).await {
                error!(error = %e, "media server failed");
            }
        });
        services.spawn(store::sweeper(
            self.store.clone(),
            store::sweep_interval(self.store.ttl()),
            shutdown_rx.clone(),
        ));
        let emitter = Emitter {
            queue,
            handled: self.handled,
        };
        let dispatcher = Dispatcher::new(self.account_phone, emitter, self.media);
        let mut update_loop = tokio::spawn(pipeline::run(
            self.stream,
            dispatcher,
            shutdown_rx,
            self.ready.0,
        ));
        info!(media_addr = %self.media_addr, "receiver running");

        let ended = tokio::select! {
            () = stop => { info!("shutdown requested"); None }
            ended = &mut update_loop => { warn!("update loop ended unexpectedly"); Some(ended) }
        };
        // Stop the loop first; the dispatcher it returns owns the media jobs, whose emitter
        // holds the queue: once they are done the queue closes and the worker ends when empty.
        shutdown_tx.send_replace(true);
        let dispatcher = match ended {
            Some(ended) => ended,
            None => update_loop.await,
        };
        match dispatcher {
            Ok(dispatcher) => {
                dispatcher
                    .drain(deadline.saturating_duration_since(Instant::now()))
                    .await;
            }
            Err(e) => error!(error = %e, "update loop failed"),
        }
        let drained = tokio::time::timeout_at(deadline, async {
            while workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            warn!(
                deadline_s = self.drain_deadline.as_secs_f64(),
                "webhook deliveries still pending at the drain deadline; dropped"
            );
            workers.shutdown().await;
        }
        server_stop_tx.send_replace(true);
        let grace = deadline.max(Instant::now() + SERVER_GRACE);
        let stopped = tokio::time::timeout_at(grace, async {
            while services.join_next().await.is_some() {}
        })
        .await;
        if stopped.is_err() {
            services.shutdown().await;
        }
        self.telegram.disconnect();
        info!("receiver stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM (Unix) or Ctrl-C. Errors when the signal handlers cannot be installed.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
