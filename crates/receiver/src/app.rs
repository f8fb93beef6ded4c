//! Startup and shutdown: [`App::build`] connects and opens the update stream,
//! [`App::run_until_stopped`] runs the update loop and the delivery worker until SIGTERM or
//! Ctrl-C, then drains pending webhook deliveries within [`DRAIN_DEADLINE`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use botapi::payload::WebhookPayload;
use telegram::{Account, Telegram, TelegramConfig, UpdateStream};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::Config;
use crate::pipeline::{self, Handler};
use crate::webhook::{self, RetryPolicy, WebhookClient};

/// Capacity of grammers' update channel (it drops updates silently when full).
pub const UPDATES_CAPACITY: usize = 10_000;
/// FLOOD_WAITs up to this long are slept through inside the Telegram layer.
pub const FLOOD_SLEEP_THRESHOLD: Duration = Duration::from_secs(60);
/// Payloads waiting for the delivery worker; beyond this new ones are dropped (and logged).
pub const WEBHOOK_QUEUE_CAPACITY: usize = 10_000;
/// How long shutdown waits for queued webhook deliveries (Docker's grace period is 10 s).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(8);

/// A connected receiver, ready to run.
pub struct App {
    telegram: Arc<Telegram>,
    stream: UpdateStream,
    account_phone: Option<String>,
    webhook: Option<WebhookClient>,
    ready: (watch::Sender<bool>, watch::Receiver<bool>),
    handled: broadcast::Sender<WebhookPayload>,
    drain_deadline: Duration,
}

impl App {
    /// Connects to Telegram with the session file, checks it is signed in and opens the update
    /// stream (starting from now, no catch-up). Builds the webhook client when `WEBHOOK_URL` is
    /// set.
    ///
    /// Errors: the session file cannot be opened, the session is not signed in, Telegram
    /// cannot be reached, or the webhook client cannot be built.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_retry_policy(config, RetryPolicy::default()).await
    }

    /// [`App::build`] with a custom webhook retry policy.
    pub async fn build_with_retry_policy(
        config: Config,
        policy: RetryPolicy,
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
        Ok(Self {
            telegram,
            stream,
            account_phone,
            webhook,
            ready: watch::channel(false),
            handled: broadcast::channel(1024).0,
            drain_deadline: DRAIN_DEADLINE,
        })
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

    /// Runs until `stop` resolves, then stops the update loop, lets the delivery worker finish
    /// the queue within the drain deadline and disconnects.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
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
        let handler = Handler {
            account_phone: self.account_phone,
            queue,
            handled: self.handled,
        };
        let mut updates = JoinSet::new();
        updates.spawn(pipeline::run(
            self.stream,
            handler,
            shutdown_rx,
            self.ready.0,
        ));
        info!("receiver running");

        tokio::select! {
            () = stop => info!("shutdown requested"),
            finished = updates.join_next() => warn!(?finished, "update loop ended unexpectedly"),
        }
        // Stop the loop first: dropping its Handler closes the queue, so the worker ends once
        // the queue is empty.
        shutdown_tx.send_replace(true);
        while updates.join_next().await.is_some() {}
        let drained = tokio::time::timeout(self.drain_deadline, async {
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
