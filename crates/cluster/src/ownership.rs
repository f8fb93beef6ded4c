//! [`Ownership`]: the loop that makes one instance own its share of the accounts — heartbeat,
//! take free accounts up to the fair share, renew, and tell the caller when to start and when to
//! stop serving an account.
//!
//! The caller serves an account from [`Change::Gained`] until [`Change::Lost`], and must have
//! stopped touching it (Telegram connections closed, no store writes) by the
//! [`Lease::valid_until`] of its lease — [`Change::Lost`] comes `stop_margin` before that, so
//! the caller has that long to stop. Timeline for one lease period `P` (default 10 s):
//! renewed every `P/3`; the holder's local deadline is `P·0.9` after the request that set the
//! expiry was sent; `Lost` comes `P/10` before that deadline; the database frees the lease at
//! `P`, and another instance, checking every `P/10`, takes it within `P/10` after that.
//! A dead owner's accounts therefore move within `1.1·P` plus the new owner's start; a cleanly
//! stopped one's, or one given up to an instance that joined, within `0.3·P`.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::lease::fair_share;
use crate::{Cluster, ClusterError, Fence, Lease, LeaseState};

/// How an instance takes part.
#[derive(Clone, Debug)]
pub struct OwnershipConfig {
    /// How long an acquisition or renewal lasts (`CLUSTER_LEASE_SECONDS`); the takeover time
    /// of a dead instance's accounts is about 1.1 times this.
    pub period: Duration,
    /// At most this many accounts on this instance (`CLUSTER_MAX_ACCOUNTS`), even when the
    /// even split would give it more.
    pub max_accounts: usize,
    /// Where this instance's sender answers, recorded in its heartbeat so other instances can
    /// forward an account's requests to its owner.
    pub sender_url: Option<String>,
}

impl Default for OwnershipConfig {
    fn default() -> Self {
        Self {
            period: Duration::from_secs(10),
            max_accounts: 1000,
            sender_url: None,
        }
    }
}

/// What the caller must do about one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Start serving the account: this instance holds its lease. Every store write for it is
    /// fenced by `fence`.
    Gained {
        /// The account's name.
        account: String,
        /// The lease holder to fence writes with.
        fence: Fence,
    },
    /// Stop serving the account now: its lease was lost, could not be renewed in time, or is
    /// being given up (another instance needs its share). The lease's local deadline is
    /// `stop_margin` (a tenth of the period) away at most.
    Lost {
        /// The account's name.
        account: String,
    },
}

/// The running loop; dropping it without [`Ownership::shutdown`] stops the loop and lets the
/// leases lapse (other instances take over after one period), as a crash would.
pub struct Ownership {
    task: Option<JoinHandle<BTreeMap<String, Lease>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    cluster: Cluster,
}

impl Ownership {
    /// Starts the loop for `cluster`'s instance. Changes arrive on the returned channel in
    /// order; the loop keeps running while the receiver is dropped (it then serves nobody).
    pub fn start(
        cluster: Cluster,
        config: OwnershipConfig,
    ) -> (Self, mpsc::UnboundedReceiver<Change>) {
        let (changes, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(run(cluster.clone(), config, changes, stopped));
        (
            Self {
                task: Some(task),
                stop: Some(stop),
                cluster,
            },
            rx,
        )
    }

    /// A clean stop, once the caller has stopped serving every account: gives every held
    /// lease up ([`Cluster::release`]: other instances take the accounts a fifth of a period
    /// later instead of after the expiry) and removes this instance's heartbeat.
    pub async fn shutdown(mut self) -> Result<(), ClusterError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let held = match self.task.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => BTreeMap::new(),
        };
        for (_, lease) in held {
            self.cluster.release(lease).await?;
        }
        self.cluster.leave().await
    }
}

impl Drop for Ownership {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The loop: every tenth of a period, heartbeat, renew what is due, drop what lapsed, and take
/// or give up accounts toward the fair share. Returns the leases held when told to stop.
async fn run(
    cluster: Cluster,
    config: OwnershipConfig,
    changes: mpsc::UnboundedSender<Change>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) -> BTreeMap<String, Lease> {
    let period = config.period;
    let tick = (period / 10).max(Duration::from_millis(20));
    let stop_margin = period / 10;
    let mut held: BTreeMap<String, Lease> = BTreeMap::new();
    // When each held lease was last renewed (or acquired).
    let mut renewed: BTreeMap<String, Instant> = BTreeMap::new();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The earliest moment a held lease must be given up unless renewed first.
        let next_deadline = held
            .values()
            .map(|lease| Instant::from_std(lease.valid_until()) - stop_margin)
            .min();
        tokio::select! {
            _ = &mut stopped => return held,
            _ = ticker.tick() => {}
            _ = sleep_until_opt(next_deadline) => {}
        }
        if let Err(e) = cluster.heartbeat(config.sender_url.as_deref()).await {
            tracing::warn!(error = %e, "cluster heartbeat failed");
        }
        // Renew what is due; a refused renewal or a deadline reached without one ends it.
        let mut lost = Vec::new();
        for (account, lease) in held.iter_mut() {
            let due = renewed
                .get(account)
                .is_none_or(|at| at.elapsed() >= period / 3);
            if due {
                match cluster.renew(lease).await {
                    Ok(LeaseState::Held) => {
                        renewed.insert(account.clone(), Instant::now());
                    }
                    Ok(LeaseState::Lost) => lost.push(account.clone()),
                    Err(e) => tracing::warn!(account, error = %e, "lease renewal failed"),
                }
            }
            if Instant::now() + stop_margin >= Instant::from_std(lease.valid_until()) {
                lost.push(account.clone());
            }
        }
        lost.dedup();
        for account in lost {
            held.remove(&account);
            renewed.remove(&account);
            tracing::warn!(account, "account lease lost: stopping it here");
            let _ = changes.send(Change::Lost { account });
        }
        if let Err(e) = balance(&cluster, &config, &mut held, &mut renewed, &changes).await {
            tracing::warn!(error = %e, "cannot take accounts");
        }
    }
}

/// Takes free accounts toward the fair share (a fifth of it per round, at least 4), or gives
/// one beyond it up per round (released: free a fifth of a period later).
async fn balance(
    cluster: &Cluster,
    config: &OwnershipConfig,
    held: &mut BTreeMap<String, Lease>,
    renewed: &mut BTreeMap<String, Instant>,
    changes: &mpsc::UnboundedSender<Change>,
) -> Result<(), ClusterError> {
    let accounts = cluster.accounts().await?.len();
    let instances = cluster.live_instances(config.period).await?.len();
    let share = fair_share(accounts, instances, config.max_accounts);
    if held.len() < share {
        // A fifth of the share per round (at least 4): instances started together see each
        // other's heartbeats before one has taken everything and must give most of it back.
        let mut budget = (share / 5).max(4);
        for account in cluster.free_accounts().await? {
            if held.len() >= share || budget == 0 {
                break;
            }
            budget -= 1;
            if let Some(lease) = cluster.acquire(&account, config.period).await? {
                tracing::info!(account, fence = lease.fence(), "account lease taken");
                let fence = lease.fence_token();
                renewed.insert(account.clone(), Instant::now());
                held.insert(account.clone(), lease);
                let _ = changes.send(Change::Gained { account, fence });
            }
        }
    } else if held.len() > share {
        // Over the share (an instance joined): give one up per round, so the accounts spread
        // without all moving at once. Every instance at most at its share leaves room for
        // every account, so this settles.
        if let Some(account) = held.keys().next_back().cloned()
            && let Some(lease) = held.remove(&account)
        {
            renewed.remove(&account);
            tracing::info!(account, share, "giving an account up to another instance");
            let _ = changes.send(Change::Lost { account });
            // Free a fifth of a period from now rather than at the end of it.
            cluster.release(lease).await?;
        }
    }
    Ok(())
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
