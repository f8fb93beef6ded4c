//! [`Follower`]: the second process of an instance (the sender) serves what the first (the
//! receiver, whose [`crate::Ownership`] holds the leases) owns, and stops in time when a lease
//! goes.
//!
//! Every tenth of a period it reads the leases held under its instance id with the time each
//! has left on the database's clock. A lease read at local instant `t` (taken before the query
//! was sent) with `r` left expires no earlier than `t + r`, so `t + r − margin` is a safe local
//! deadline; the follower reports [`Change::Lost`] when that passes without a newer reading,
//! when the lease disappears, or when its fencing token changes (the instance lost it and took
//! it again: stop and start anew under the new token).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::{Change, Cluster, Fence};

/// The running follower loop; dropping it stops the loop (no more changes are sent).
pub struct Follower {
    task: JoinHandle<()>,
}

impl Follower {
    /// Follows the leases held under `cluster`'s instance id, with lease period `period` (the
    /// same `CLUSTER_LEASE_SECONDS` the holder uses). Changes arrive on the returned channel.
    pub fn start(cluster: Cluster, period: Duration) -> (Self, mpsc::UnboundedReceiver<Change>) {
        let (changes, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(follow(cluster, period, changes));
        (Self { task }, rx)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn follow(cluster: Cluster, period: Duration, changes: mpsc::UnboundedSender<Change>) {
    let tick = (period / 10).max(Duration::from_millis(20));
    let margin = period / 10;
    // Account → (fencing token, local deadline).
    let mut served: BTreeMap<String, (i64, Instant)> = BTreeMap::new();
    loop {
        let next_deadline = served.values().map(|(_, d)| *d).min();
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = sleep_until_opt(next_deadline) => {}
        }
        let sent = Instant::now();
        let mut lost: Vec<String> = Vec::new();
        match cluster.held_here().await {
            Ok(held) => {
                let now_held: BTreeMap<String, (i64, Duration)> = held
                    .into_iter()
                    .map(|(account, fence, left)| (account, (fence, left)))
                    .collect();
                for (account, (fence, _)) in &served {
                    if now_held.get(account).is_none_or(|(f, _)| f != fence) {
                        lost.push(account.clone());
                    }
                }
                for account in &lost {
                    served.remove(account);
                    let _ = changes.send(Change::Lost {
                        account: account.clone(),
                    });
                }
                lost.clear();
                for (account, (fence, left)) in now_held {
                    let deadline = (sent + left).checked_sub(margin).unwrap_or(sent);
                    if deadline <= Instant::now() {
                        // Too close to its expiry (released, or not renewed): not ours to
                        // serve any more, whatever an earlier reading said.
                        if served.remove(&account).is_some() {
                            let _ = changes.send(Change::Lost { account });
                        }
                        continue;
                    }
                    let fresh = !served.contains_key(&account);
                    served.insert(account.clone(), (fence, deadline));
                    if fresh {
                        let fence = Fence {
                            account: account.clone(),
                            owner: cluster.instance().to_owned(),
                            token: fence,
                        };
                        let _ = changes.send(Change::Gained { account, fence });
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read this instance's leases"),
        }
        // Whatever was not confirmed in time stops now.
        let now = Instant::now();
        for (account, (_, deadline)) in &served {
            if *deadline <= now {
                lost.push(account.clone());
            }
        }
        for account in lost {
            served.remove(&account);
            tracing::warn!(
                account,
                "lease not confirmed in time: stopping the account here"
            );
            let _ = changes.send(Change::Lost { account });
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
