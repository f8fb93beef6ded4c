//! The settings of several instances sharing accounts through Postgres (`DATABASE_URL`,
//! `INSTANCE_ID`, `CLUSTER_LEASE_SECONDS`, `CLUSTER_MAX_ACCOUNTS`, `CLUSTER_SENDER_URL`), the
//! same in both binaries (flattened into their configs). Crate `cluster` does the work.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A Postgres URL (`postgres://user:password@host:5432/db`), kept secret: it usually carries a
/// password. `Debug` shows only the host and database.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Accepts `postgres://` and `postgresql://` URLs with a host. The error never quotes the
    /// value.
    pub fn parse(value: &str) -> Result<Self, String> {
        let url = url::Url::parse(value)
            .map_err(|_| "DATABASE_URL is not a URL (postgres://user:password@host:5432/db)")?;
        if !matches!(url.scheme(), "postgres" | "postgresql") || url.host_str().is_none() {
            return Err("DATABASE_URL must be postgres://user:password@host:5432/db".to_owned());
        }
        Ok(Self(SecretString::from(value.to_owned())))
    }

    /// The URL, password included (for the database client only; never log it).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = url::Url::parse(self.0.expose_secret())
            .ok()
            .map(|u| format!("postgres://{}{}", u.host_str().unwrap_or(""), u.path()))
            .unwrap_or_default();
        f.debug_tuple("DatabaseUrl").field(&shown).finish()
    }
}

/// The settings of several instances (flattened into both binaries' configs). Without
/// `DATABASE_URL` the gateway runs on its local files, as one instance.
#[derive(Clone, Debug, clap::Args)]
pub struct ClusterSettings {
    /// Postgres shared by several instances (`DATABASE_URL`, e.g.
    /// `postgres://gateway:secret@postgres:5432/gateway`): sessions, the account registry,
    /// outboxes and send queues live there and each account is served by one instance at a
    /// time. Unset: local files, one instance. Secret: never logged.
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true,
        value_parser = DatabaseUrl::parse
    )]
    pub database_url: Option<DatabaseUrl>,
    /// This instance's name in the cluster (`INSTANCE_ID`): the receiver and the sender of one
    /// instance share it, and no two running instances may (default: the host name).
    #[arg(long = "instance-id", env = "INSTANCE_ID", value_name = "INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// How long an account's lease lasts, in seconds (`CLUSTER_LEASE_SECONDS`, default 10,
    /// 2–300): a dead instance's accounts move to others within about 1.1 times this.
    #[arg(
        long = "cluster-lease-seconds",
        env = "CLUSTER_LEASE_SECONDS",
        value_name = "CLUSTER_LEASE_SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(2..=300)
    )]
    pub lease_seconds: u64,
    /// At most this many accounts on this instance (`CLUSTER_MAX_ACCOUNTS`, default 1000),
    /// even when an even split would give it more.
    #[arg(
        long = "cluster-max-accounts",
        env = "CLUSTER_MAX_ACCOUNTS",
        value_name = "CLUSTER_MAX_ACCOUNTS",
        default_value_t = 1000
    )]
    pub max_accounts: usize,
    /// Where this instance's sender is reachable by the other instances
    /// (`CLUSTER_SENDER_URL`, e.g. `http://gateway-1-sender:8081`), so a request reaching
    /// another instance's sender for an account this instance owns is forwarded here.
    #[arg(
        long = "cluster-sender-url",
        env = "CLUSTER_SENDER_URL",
        value_name = "CLUSTER_SENDER_URL"
    )]
    pub sender_url: Option<String>,
}

impl Default for ClusterSettings {
    /// As with none of the variables set: no cluster.
    fn default() -> Self {
        Self {
            database_url: None,
            instance_id: None,
            lease_seconds: 10,
            max_accounts: 1000,
            sender_url: None,
        }
    }
}

impl ClusterSettings {
    /// Whether `DATABASE_URL` is set (cluster mode).
    pub fn enabled(&self) -> bool {
        self.database_url.is_some()
    }

    /// `INSTANCE_ID`, else the host name (`HOSTNAME`, else `/etc/hostname`), else `gateway`.
    pub fn instance(&self) -> String {
        self.instance_id
            .clone()
            .filter(|id| !id.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "gateway".to_owned())
    }

    /// The lease period.
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_checked_and_never_shown_with_their_password() {
        let url = DatabaseUrl::parse("postgres://gw:hunter2@db:5432/gateway").unwrap();
        let shown = format!("{url:?}");
        assert!(
            shown.contains("db") && shown.contains("/gateway"),
            "{shown}"
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("gw:"),
            "{shown}"
        );
        for bad in ["mysql://db/x", "not a url", "postgres:///nohost"] {
            let error = DatabaseUrl::parse(bad).unwrap_err();
            assert!(!error.contains(bad), "{error}");
        }
    }
}
