//! Account leases: at most one owner per account, with a fencing token and an expiry on the
//! database's clock.
//!
//! The rules (the usual lease + fencing-token scheme; Kleppmann, "How to do distributed
//! locking", 2016):
//! - [`Cluster::acquire`] takes a lease only when none exists or the existing one has expired
//!   (`expires_at <= now()` on the database), and adds one to its fencing token. An instance
//!   never re-takes a live lease, not even one recorded under its own id: a second process
//!   started with the same id must not share the account.
//! - [`Cluster::renew`] extends a lease only while it is still live and still carries the
//!   holder's owner and fencing token.
//! - [`Cluster::release`] shortens a lease to a fifth of its period from now ([`handover`]),
//!   never to now: the holder's second process reads its leases every tenth of a period and
//!   must stop before the lease is free.
//! - The holder's local deadline ([`Lease::valid_until`]) is measured from *before* the request
//!   that set the expiry was sent, minus a tenth of the period, so it falls before the
//!   database's `expires_at`: a holder that stops touching the account by its deadline has
//!   stopped before anyone else can acquire it. Writes fenced by the token
//!   ([`crate::PgSession`]) catch whatever a paused holder still tries after that.

use std::time::{Duration, Instant};

use crate::{Cluster, ClusterError, pg, sql};

/// A lease this instance holds on one account.
#[derive(Debug)]
pub struct Lease {
    account: String,
    owner: String,
    fence: i64,
    period: Duration,
    valid_until: Instant,
}

/// What a renewal found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseState {
    /// Extended by one period; [`Lease::valid_until`] moved.
    Held,
    /// Expired, taken over or the account removed: stop touching the account now.
    Lost,
}

impl Lease {
    /// The account it covers.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The instance holding it.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The fencing token: larger for every later owner of the same account.
    pub fn fence(&self) -> i64 {
        self.fence
    }

    /// The [`crate::Fence`] that this lease's holder writes the account's rows under.
    pub fn fence_token(&self) -> crate::Fence {
        crate::Fence {
            account: self.account.clone(),
            owner: self.owner.clone(),
            token: self.fence,
        }
    }

    /// The lease period (how long one acquisition or renewal lasts).
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Until when (this machine's monotonic clock) the lease is certainly still this
    /// instance's: the holder must have stopped touching the account by then unless a
    /// renewal moved it.
    pub fn valid_until(&self) -> Instant {
        self.valid_until
    }

    /// Whether [`Lease::valid_until`] is still ahead.
    pub fn is_valid(&self) -> bool {
        Instant::now() < self.valid_until
    }

    /// The local deadline for a lease whose expiry was set by a request sent at `sent`.
    fn deadline(sent: Instant, period: Duration) -> Instant {
        sent + period - period / 10
    }
}

impl Cluster {
    /// Takes the lease on `account` for `period` if it is free or expired.
    ///
    /// Returns `None` when another live lease exists (whoever holds it, this instance's id
    /// included). Errors: [`ClusterError::UnknownAccount`] when the account is not
    /// registered, [`ClusterError::Postgres`].
    pub async fn acquire(
        &self,
        account: &str,
        period: Duration,
    ) -> Result<Option<Lease>, ClusterError> {
        let sent = Instant::now();
        let fence: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO gateway_leases (account, owner, fence, expires_at)
             VALUES ($1, $2, 1, now() + ($3::float8 * interval '1 millisecond'))
             ON CONFLICT (account) DO UPDATE SET
                 owner = EXCLUDED.owner,
                 fence = gateway_leases.fence + 1,
                 expires_at = EXCLUDED.expires_at
             WHERE gateway_leases.expires_at <= now()
             RETURNING fence",
        )
        .bind(account)
        .bind(self.instance())
        .bind(sql::millis(period))
        .fetch_optional(self.pool())
        .await;
        match fence {
            Ok(fence) => Ok(fence.map(|fence| Lease {
                account: account.to_owned(),
                owner: self.instance().to_owned(),
                fence,
                period,
                valid_until: Lease::deadline(sent, period),
            })),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(ClusterError::UnknownAccount(account.to_owned()))
            }
            Err(e) => Err(pg("acquire lease")(e)),
        }
    }

    /// Extends `lease` by its period if it is still live and still this holder's.
    ///
    /// On an error (database unreachable) the lease stays as it was: valid until
    /// [`Lease::valid_until`], after which the holder must stop.
    pub async fn renew(&self, lease: &mut Lease) -> Result<LeaseState, ClusterError> {
        let sent = Instant::now();
        let done = sqlx::query(
            "UPDATE gateway_leases
             SET expires_at = now() + ($4::float8 * interval '1 millisecond')
             WHERE account = $1 AND owner = $2 AND fence = $3 AND expires_at > now()",
        )
        .bind(&lease.account)
        .bind(&lease.owner)
        .bind(lease.fence)
        .bind(sql::millis(lease.period))
        .execute(self.pool())
        .await
        .map_err(pg("renew lease"))?;
        if done.rows_affected() == 1 {
            lease.valid_until = Lease::deadline(sent, lease.period);
            Ok(LeaseState::Held)
        } else {
            lease.valid_until = sent;
            Ok(LeaseState::Lost)
        }
    }

    /// Gives `lease` up (a clean stop, or an account handed to another instance): it expires a
    /// fifth of its period from now ([`handover`]) instead of at the end of the period, so
    /// another instance takes the account sooner. Not at once: the instance's second process
    /// ([`crate::Follower`]) must see the shortened lease at its next reading (every tenth of
    /// a period) and stop serving before anyone else can start. The fencing token stays, so
    /// the next owner's is larger.
    pub async fn release(&self, lease: Lease) -> Result<(), ClusterError> {
        sqlx::query(
            "UPDATE gateway_leases
             SET expires_at = LEAST(expires_at, now() + ($4::float8 * interval '1 millisecond'))
             WHERE account = $1 AND owner = $2 AND fence = $3",
        )
        .bind(&lease.account)
        .bind(&lease.owner)
        .bind(lease.fence)
        .bind(sql::millis(handover(lease.period)))
        .execute(self.pool())
        .await
        .map_err(pg("release lease"))?;
        Ok(())
    }

    /// Gives `lease` up at once: free for anyone from now. Only for a holder no second process
    /// follows ([`crate::Follower`] would keep serving until its next reading): a one-off
    /// command such as the import ([`Cluster::import_account`]).
    pub async fn release_now(&self, lease: Lease) -> Result<(), ClusterError> {
        sqlx::query(
            "UPDATE gateway_leases SET expires_at = LEAST(expires_at, now())
             WHERE account = $1 AND owner = $2 AND fence = $3",
        )
        .bind(&lease.account)
        .bind(&lease.owner)
        .bind(lease.fence)
        .execute(self.pool())
        .await
        .map_err(pg("release lease"))?;
        Ok(())
    }

    /// Registered accounts with no live lease (never owned, released or expired), sorted.
    pub async fn free_accounts(&self) -> Result<Vec<String>, ClusterError> {
        sqlx::query_scalar(
            "SELECT a.name FROM gateway_accounts a
             LEFT JOIN gateway_leases l ON l.account = a.name AND l.expires_at > now()
             WHERE l.account IS NULL ORDER BY a.name",
        )
        .fetch_all(self.pool())
        .await
        .map_err(pg("free accounts"))
    }

    /// The live owner of `account` and its fencing token, if any.
    pub async fn owner_of(&self, account: &str) -> Result<Option<(String, i64)>, ClusterError> {
        sqlx::query_as(
            "SELECT owner, fence FROM gateway_leases WHERE account = $1 AND expires_at > now()",
        )
        .bind(account)
        .fetch_optional(self.pool())
        .await
        .map_err(pg("owner of"))
    }

    /// Every live lease as (account, owner, fencing token), sorted by account.
    pub async fn owners(&self) -> Result<Vec<(String, String, i64)>, ClusterError> {
        sqlx::query_as(
            "SELECT account, owner, fence FROM gateway_leases
             WHERE expires_at > now() ORDER BY account",
        )
        .fetch_all(self.pool())
        .await
        .map_err(pg("owners"))
    }
}

impl Cluster {
    /// The live leases held under this instance's id: (account, fencing token, time left
    /// before the database frees it), sorted by account. The time left is measured on the
    /// database's clock; see [`crate::Follower`] for turning it into a local deadline.
    pub async fn held_here(&self) -> Result<Vec<(String, i64, Duration)>, ClusterError> {
        let rows: Vec<(String, i64, f64)> = sqlx::query_as(
            "SELECT account, fence,
                    (EXTRACT(EPOCH FROM (expires_at - now())) * 1000)::float8
             FROM gateway_leases WHERE owner = $1 AND expires_at > now() ORDER BY account",
        )
        .bind(self.instance())
        .fetch_all(self.pool())
        .await
        .map_err(pg("held here"))?;
        Ok(rows
            .into_iter()
            .map(|(account, fence, ms)| (account, fence, Duration::from_millis(ms.max(0.0) as u64)))
            .collect())
    }
}

/// How long a released lease still holds ([`Cluster::release`]): a fifth of its period.
pub fn handover(period: Duration) -> Duration {
    period / 5
}

/// How many accounts one of `instances` live instances should own: an even split rounded up,
/// capped by `max` (the configured share). At least one instance is assumed.
pub fn fair_share(accounts: usize, instances: usize, max: usize) -> usize {
    accounts.div_ceil(instances.max(1)).min(max)
}
