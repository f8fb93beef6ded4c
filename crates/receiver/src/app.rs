//! Startup: [`App::build`] opens the outbox (refusing a damaged one before anything else),
//! the media directory, binds the HTTP port, connects and opens the update stream with
//! catch-up from the saved position. [`App::run_until_stopped`] (in `app/run.rs`) runs
//! everything until SIGTERM or Ctrl-C.

mod run;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use telegram::{Account, DEFAULT_UPLOAD_CONCURRENCY, Telegram, TelegramConfig, UpdateStream};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::Config;
use crate::deliver::RetryPolicy;
use crate::dispatch::Handled;
use crate::handlers::Handlers;
use crate::media::MediaService;
use crate::media::fetch::Fetcher;
use crate::media::store::MediaStore;
use crate::normalize::Normalizer;
use crate::normalize::WebhookFormat;
use crate::pipeline::Health;
use crate::webhook::target::{self, Active, EnvSettings};
use crate::webhook::{WebhookClient, WebhookSettings};
use outbox::{Mode, Outbox};

/// Default capacity of grammers' update channel (`UPDATES_QUEUE`). grammers drops updates
/// when it is full; with the vendored grammers-mtsender patch the drop is reported as a gap as
/// soon as the channel has room again, so getDifference fetches what was dropped (before it,
/// a burst whose tail was dropped waited for the next update or grammers' 15-minute idle
/// timeout, and the channel had to be 10,000 deep). Each queued update holds its users and
/// chats: the bench's overload probe peaked at ~226–253 MiB with 10,000, and 256 instead of
/// 1,000 took 8–17 MiB off its peak at the same throughput (BENCHMARKS.md, issue #20).
pub const UPDATES_CAPACITY: usize = 256;
/// FLOOD_WAITs up to this long are slept through inside the Telegram layer.
pub const FLOOD_SLEEP_THRESHOLD: Duration = Duration::from_secs(60);
/// The default of `SHUTDOWN_DRAIN_TIMEOUT`: how long shutdown waits for media downloads and
/// attempts in flight together, counted from the signal (Docker's default grace period is
/// 10 s). Whatever is left stays in the outbox for the next start.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(8);

/// Where an app without a listener of its own hands its HTTP routes (`/media`, `/status`,
/// `/dead-letters`, …): called with `Some(router)` when it starts serving and `None` when it
/// stops. The many-accounts front ([`crate::accounts`]) mounts them under `/accounts/<name>`.
pub type Mount = Arc<dyn Fn(Option<axum::Router>) + Send + Sync>;

/// A connected receiver, ready to run.
pub struct App {
    telegram: Arc<Telegram>,
    stream: UpdateStream,
    outbox: Arc<Outbox>,
    normalizer: Normalizer,
    /// The webhook in force at start (the environment's or a runtime one).
    webhook: Option<Arc<Active>>,
    env_webhook: EnvSettings,
    policy: RetryPolicy,
    archive_dir: Option<PathBuf>,
    api_key: Option<SecretString>,
    store: MediaStore,
    media: MediaService,
    /// Its own HTTP server's listener; `None` when its routes are mounted on a shared server.
    listener: Option<TcpListener>,
    mount: Option<Mount>,
    addr: SocketAddr,
    ready: (watch::Sender<bool>, watch::Receiver<bool>),
    handled: broadcast::Sender<Handled>,
    health: Arc<Health>,
    metrics: PrometheusHandle,
    drain_deadline: Duration,
    handlers: Handlers,
    nats: Option<crate::nats::Publisher>,
    /// `[<account name>] ` before each stdout line with many accounts.
    line_prefix: Arc<str>,
}

/// Where an account's session and outbox live.
enum Backing {
    /// Local files: the session file and `OUTBOX_PATH`.
    Files,
    /// The cluster's Postgres, written under this instance's lease.
    Cluster {
        cluster: cluster::Cluster,
        fence: cluster::Fence,
    },
}

/// The environment's webhook settings; its client is built once here so a bad header value
/// stops the start with a message naming the variable.
fn env_webhook(config: &Config) -> anyhow::Result<EnvSettings> {
    let webhook = config.webhook_url.clone().map(|url| WebhookSettings {
        url,
        api_key: config.webhook_api_key.clone(),
        secret_token: config.webhook_secret_token.clone(),
        signing: config.webhook_signing_secret.clone(),
        timeout: config.webhook_timeout,
        max_connections: usize::from(config.webhook_max_connections),
    });
    if let Some(settings) = &webhook {
        WebhookClient::new(settings.clone()).context("failed to build the webhook client")?;
    }
    Ok(EnvSettings {
        webhook,
        bot_api_format: config.webhook_format == WebhookFormat::BotApi,
        allowed_updates: config
            .allowed_updates
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect(),
        signing: config.webhook_signing_secret.clone(),
        timeout: config.webhook_timeout,
        max_connections: usize::from(config.webhook_max_connections),
    })
}

impl App {
    /// Opens the outbox (`OUTBOX_PATH`), `MEDIA_DIR` (deleting leftover `*.part` files), binds
    /// `MEDIA_BIND`, connects to Telegram with the session file, checks it is signed in and
    /// opens the update stream, catching up from the position saved in the session.
    ///
    /// Errors: the outbox cannot be opened or is damaged (never replaced by an empty one), the
    /// media directory cannot be created, `MEDIA_BIND` cannot be bound, the session file cannot
    /// be opened or is not signed in, Telegram cannot be reached, or a webhook header is invalid.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.media_bind)
            .await
            .with_context(|| format!("failed to bind MEDIA_BIND {}", config.media_bind))?;
        Self::build_with_listener(config, listener).await
    }

    /// Like [`App::build`] but serves on an already bound `listener` (`MEDIA_BIND` unused);
    /// tests bind port 0 first so the public media URLs can name the port.
    pub async fn build_with_listener(
        config: Config,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let addr = listener
            .local_addr()
            .context("failed to read the HTTP server address")?;
        Self::build_inner(config, Some(listener), None, addr).await
    }

    /// Like [`App::build`] for one account of many: binds nothing; its routes go to `mount`
    /// while it runs. `addr` is the shared server's address (for [`App::local_addr`]).
    pub async fn build_mounted(
        config: Config,
        mount: Mount,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        Self::build_inner(config, None, Some(mount), addr).await
    }

    /// Like [`App::build_mounted`] for an account of several instances: its session and
    /// outbox live in the cluster's Postgres, every write fenced by `fence` (this instance's
    /// lease on the account).
    pub async fn build_clustered(
        config: Config,
        mount: Mount,
        addr: SocketAddr,
        cluster: &cluster::Cluster,
        fence: &cluster::Fence,
    ) -> anyhow::Result<Self> {
        let backing = Backing::Cluster {
            cluster: cluster.clone(),
            fence: fence.clone(),
        };
        Self::build_on(config, None, Some(mount), addr, backing).await
    }

    async fn build_inner(
        config: Config,
        listener: Option<TcpListener>,
        mount: Option<Mount>,
        addr: SocketAddr,
    ) -> anyhow::Result<Self> {
        Self::build_on(config, listener, mount, addr, Backing::Files).await
    }

    async fn build_on(
        config: Config,
        listener: Option<TcpListener>,
        mount: Option<Mount>,
        addr: SocketAddr,
        backing: Backing,
    ) -> anyhow::Result<Self> {
        let outbox = match &backing {
            Backing::Files => {
                let outbox_path = config.outbox_path();
                Outbox::open(&outbox_path).await.with_context(|| {
                    format!(
                        "refusing to start: cannot open the outbox {} (OUTBOX_PATH); it is \
                         never replaced by an empty one — restore it or move it away \
                         deliberately",
                        outbox_path.display()
                    )
                })?
            }
            Backing::Cluster { cluster, fence } => Outbox::open_postgres(cluster, fence.clone())
                .await
                .with_context(|| {
                    format!(
                        "cannot open the outbox of account {} in Postgres",
                        fence.account
                    )
                })?,
        };
        let env_webhook = env_webhook(&config)?;
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
        let session_path = config.session_path();
        let telegram_config = TelegramConfig {
            api_id: config.api_id,
            session_path: session_path.clone(),
            flood_sleep_threshold: FLOOD_SLEEP_THRESHOLD,
            updates_capacity: config.updates_queue,
            upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
        };
        let telegram = match &backing {
            Backing::Files => Telegram::connect(telegram_config).await.with_context(|| {
                format!(
                    "failed to connect with session file {}",
                    session_path.display()
                )
            })?,
            Backing::Cluster { cluster, fence } => {
                let session = cluster::PgSession::open(cluster, fence)
                    .await
                    .context("cannot open the account's session in Postgres")?;
                Telegram::connect_with_session(telegram_config, Arc::new(session))
                    .await
                    .context("failed to connect with the account's session in Postgres")?
            }
        };
        let telegram = Arc::new(telegram);
        let stream = if outbox.in_memory() {
            // Nothing was saved: start from now rather than replaying from whatever old state
            // the session holds (updates sent while the receiver was down are not delivered).
            telegram.updates(false).await
        } else {
            let position = outbox
                .load_position()
                .await
                .context("failed to read the saved update position from the outbox")?;
            telegram.updates_from(position).await
        }
        .context("failed to open the update stream")?;
        let account_phone = config
            .phone_number
            .clone()
            .or_else(|| telegram.account().phone.clone());
        let account_id = telegram.account().user.id;
        // Rows wait for a webhook or getUpdates, except in an in-memory outbox without a
        // webhook: no other process can fetch them there.
        let webhook = if outbox.in_memory() {
            env_webhook
                .active(&outbox::WebhookState {
                    env: Some(env_webhook.record()),
                    runtime: None,
                })?
                .map(Arc::new)
        } else {
            target::start(&outbox, &env_webhook)
                .await
                .context("failed to read the webhook settings from the outbox")?
        };
        let deliver = env_webhook.webhook.is_some() || !outbox.in_memory();
        let outbox = Arc::new(outbox.with_mode(Mode {
            deliver,
            archive: config.archive_dir.is_some(),
            id_prefix: format!("tg{account_id}_"),
            sink: config.nats.enabled(),
        }));
        let nats = config
            .nats
            .connection
            .connect("receiver")
            .await?
            .map(|client| crate::nats::Publisher::new(client, config.nats.clone(), account_id));
        let fetcher = Fetcher::new(
            telegram.clone(),
            store.clone(),
            config.media_max_bytes,
            usize::from(config.media_download_concurrency),
            config.webhook_max_age,
        );
        let media = MediaService::new(
            fetcher,
            format!(
                "{}{}",
                config.public_media_origin(),
                config.media_url_prefix
            ),
        );
        Ok(Self {
            telegram,
            stream,
            outbox,
            normalizer: config.normalizer(account_phone).with_account_id(account_id),
            webhook,
            env_webhook,
            policy: config.retry_policy(),
            archive_dir: config.archive_dir.clone(),
            api_key: config.webhook_api_key.clone(),
            store,
            media,
            listener,
            mount,
            addr,
            ready: watch::channel(false),
            handled: broadcast::channel(4096).0,
            health: Arc::new(Health::default()),
            metrics: ops::metrics::install(),
            drain_deadline: config.shutdown_drain_timeout,
            handlers: Handlers::new(),
            nats,
            line_prefix: config
                .account_name
                .as_ref()
                .map_or_else(String::new, |name| format!("[{name}] "))
                .into(),
        })
    }

    /// Address the HTTP server (`/media`, `/healthz`, `/readyz`, `/status`, `/metrics`,
    /// `/dead-letters`) listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The media directory (for inspection and explicit sweeps; the app sweeps by itself).
    pub fn media_store(&self) -> MediaStore {
        self.store.clone()
    }

    /// The outbox.
    pub fn outbox(&self) -> Arc<Outbox> {
        self.outbox.clone()
    }

    /// The signed-in account.
    pub fn account(&self) -> &Account {
        self.telegram.account()
    }

    /// Resolves once the update loop has polled the stream for the first time (which sends
    /// its initial `updates.getState` or `updates.getDifference`), or the app stopped first.
    pub fn ready(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.ready.1.clone();
        async move {
            // An error means the loop ended (or never polled): nothing left to wait for.
            let _ = rx.wait_for(|ready| *ready).await;
        }
    }

    /// Every update whose body became final (stored and its media downloaded), also without
    /// `WEBHOOK_URL`. Lagging receivers lose the oldest entries.
    pub fn subscribe(&self) -> broadcast::Receiver<Handled> {
        self.handled.subscribe()
    }

    /// Sets how long shutdown waits for downloads and attempts in flight, counted from the
    /// stop signal (default `SHUTDOWN_DRAIN_TIMEOUT`).
    pub fn with_drain_deadline(mut self, deadline: Duration) -> Self {
        self.drain_deadline = deadline;
        self
    }

    /// Runs `handlers` in process for every new message from others it stores (see
    /// [`crate::handlers`]); replaces earlier ones. Storing and delivery are unchanged.
    pub fn with_handlers(mut self, handlers: Handlers) -> Self {
        self.handlers = handlers;
        self
    }

    /// Runs until SIGTERM or Ctrl-C, then drains.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let stop = ops::shutdown::signal().context("failed to install the SIGTERM handler")?;
        self.run_until(stop).await
    }
}
