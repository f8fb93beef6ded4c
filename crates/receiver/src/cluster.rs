//! Several instances (`DATABASE_URL`): the accounts are those of the cluster's registry in
//! Postgres, and this receiver serves the ones its instance owns ([`cluster::Ownership`]):
//! each runs an [`App`] with its session and outbox in Postgres, every write fenced by the
//! lease, behind the same shared HTTP front as *Many accounts* ([`crate::accounts`]).
//!
//! The receiver holds its instance's leases (the sender of the same `INSTANCE_ID` follows
//! them). An account gained is started (retried with backoff while it stays owned); an
//! account lost is stopped at once — its task is aborted, which closes its Telegram
//! connections — because another instance may take it a tenth of a lease period later. What it
//! was delivering stays open in the shared outbox and is delivered by the next owner with the
//! same `update_id` and `webhook-id`. A clean stop (SIGTERM) drains every account, then gives
//! the leases up at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use cluster::{Change, Cluster, Fence, Ownership, OwnershipConfig};
use ops::accounts::{AccountEntry, AccountSettings};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::accounts::{
    AccountState, MAX_RETRY, Shared, count_states, front, mount_for, stop_server, write,
};
use crate::app::App;
use crate::config::Config;

/// Connections this process keeps to Postgres for its leases alone: renewals never wait
/// behind the accounts' session writes (a starved renewal would lose the lease).
const LEASE_POOL: u32 = 2;
/// Connections for the registry and every account's session (each account's outbox has its
/// own).
const STORE_POOL: u32 = 16;

/// One served account's task and its stop switch.
struct Served {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Serves this instance's share of the cluster's accounts until `stop`, then drains them and
/// gives their leases up. Errors: `MEDIA_BIND` cannot be bound, Postgres cannot be reached or
/// migrated at start.
pub async fn run(
    config: Config,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let listener = crate::accounts::bind(&config).await?;
    run_on(config, listener, stop).await
}

/// [`run`] on an already bound `listener` (tests bind port 0 first).
pub async fn run_on(
    config: Config,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let settings = config.cluster.clone();
    let url = settings
        .database_url
        .as_ref()
        .context("DATABASE_URL is not set")?;
    let instance = settings.instance();
    let cluster = Cluster::connect(url.expose(), &instance, STORE_POOL)
        .await
        .context("cannot use DATABASE_URL")?;
    let leases = Cluster::connect(url.expose(), &instance, LEASE_POOL)
        .await
        .context("cannot use DATABASE_URL")?;
    let addr = listener
        .local_addr()
        .context("failed to read the HTTP server address")?;
    let shared = Arc::new(Shared {
        api_key: config.webhook_api_key.clone(),
        ..Shared::default()
    });
    let (server_stop, server_stopped) = watch::channel(false);
    let server = tokio::spawn(crate::media::server::serve(
        listener,
        front(shared.clone()),
        server_stopped,
    ));
    let (ownership, mut changes) = Ownership::start(
        leases.clone(),
        OwnershipConfig {
            period: settings.lease(),
            max_accounts: settings.max_accounts,
            sender_url: settings.sender_url.clone(),
        },
    );
    tracing::info!(%addr, instance, "receiver serving its share of the cluster's accounts");

    let mut served: BTreeMap<String, Served> = BTreeMap::new();
    tokio::pin!(stop);
    loop {
        let change = tokio::select! {
            () = &mut stop => break,
            change = changes.recv() => change,
        };
        match change {
            Some(Change::Gained { account, fence }) => {
                if let Some(old) = served.remove(&account) {
                    old.task.abort();
                }
                let (stop_tx, stop_rx) = watch::channel(false);
                let task = tokio::spawn(
                    account_task(
                        config.clone(),
                        cluster.clone(),
                        fence,
                        shared.clone(),
                        addr,
                        stop_rx,
                    )
                    .instrument(tracing::info_span!("account", name = %account)),
                );
                served.insert(
                    account,
                    Served {
                        stop: stop_tx,
                        task,
                    },
                );
            }
            Some(Change::Lost { account }) => {
                if let Some(old) = served.remove(&account) {
                    // No drain: another instance may start it within a tenth of a period.
                    old.task.abort();
                    let _ = old.task.await;
                }
                write(&shared.routes).remove(&account);
                write(&shared.states).remove(&account);
            }
            None => break,
        }
        count_states(&shared);
    }
    tracing::info!("shutdown requested; stopping every account");
    for s in served.values() {
        s.stop.send_replace(true);
    }
    for (_, s) in served {
        let _ = s.task.await;
    }
    if let Err(e) = ownership.shutdown().await {
        tracing::warn!(error = %e, "cannot give the leases up; they lapse instead");
    }
    stop_server(server_stop, server).await;
    cluster.close().await;
    leases.close().await;
    tracing::info!("receiver stopped");
    Ok(())
}

/// One owned account: reads its settings from the registry, builds its [`App`] on Postgres
/// with its routes mounted on the shared server, and runs it until `stop`; a failed start is
/// retried with backoff (1 s doubling to 30 s).
async fn account_task(
    config: Config,
    cluster: Cluster,
    fence: Fence,
    shared: Arc<Shared>,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let name = fence.account.clone();
    let mut delay = Duration::from_secs(1);
    loop {
        if *stop.borrow() {
            break;
        }
        shared.set_state(&name, AccountState::Starting);
        let wait = match start(&config, &cluster, &fence, &shared, addr).await {
            Ok(app) => {
                delay = Duration::from_secs(1);
                let user_id = app.account().user.id;
                shared.set_state(&name, AccountState::Running { user_id });
                tracing::info!(user_id, fence = fence.token, "account receiving");
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
            Err(e) => {
                let error = format!("{e:#}");
                tracing::warn!(error, retry_in = ?delay, "cannot start the account");
                let state = if crate::accounts::is_unauthorized(&e) {
                    AccountState::WaitingForSignIn
                } else {
                    AccountState::Failed { error }
                };
                shared.set_state(&name, state);
                let wait = delay;
                delay = (delay * 2).min(MAX_RETRY);
                wait
            }
        };
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    write(&shared.states).remove(&name);
}

/// The account's settings from the registry, applied to `config` as *Many accounts* does,
/// then its [`App`] built on Postgres.
async fn start(
    config: &Config,
    cluster: &Cluster,
    fence: &Fence,
    shared: &Arc<Shared>,
    addr: SocketAddr,
) -> anyhow::Result<App> {
    let name = fence.account.clone();
    let settings: AccountSettings = match cluster.account_settings(&name).await? {
        Some(value) => serde_json::from_value(value).context("the account's settings")?,
        None => anyhow::bail!("account {name} is no longer registered"),
    };
    let entry = AccountEntry {
        name: name.clone(),
        session_name: PathBuf::from(&name),
        settings,
        settings_error: None,
    };
    let account_config = config.for_account(&entry).map_err(|e| anyhow::anyhow!(e))?;
    let mount = mount_for(shared, &name);
    App::build_clustered(account_config, mount, addr, cluster, fence).await
}
