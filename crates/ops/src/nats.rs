//! The NATS settings both binaries share (`NATS_URL`, `NATS_CREDS`, `NATS_SUBJECT_PREFIX`) and
//! the one way they connect: in the background, reconnecting forever, credentials taken out of
//! the URL (async-nats ignores a URL's `user:password@`) and never logged.
//!
//! Subjects (README, *NATS*): `<prefix>.<account>.update.<kind>.<chat>` for the receiver's
//! stream, `<prefix>.<account>.call.<method>` for the sender's requests; `<account>` is the
//! signed-in Telegram account's user id.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// The subject prefix when `NATS_SUBJECT_PREFIX` is unset.
pub const DEFAULT_PREFIX: &str = "tg";

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The NATS settings of both binaries (flattened into their configs).
#[derive(Clone, Debug, clap::Args)]
pub struct NatsSettings {
    /// NATS server (`NATS_URL`, e.g. `nats://nats:4222`; `nats://user:password@host:4222` for a
    /// user with a password, `nats://token@host:4222` for a token; `tls://` for TLS). Unset:
    /// no NATS. Secret when it carries credentials: never logged.
    #[arg(
        long = "nats-url",
        env = "NATS_URL",
        value_name = "NATS_URL",
        hide_env_values = true,
        value_parser = NatsUrl::parse
    )]
    pub url: Option<NatsUrl>,
    /// A NATS credentials file (`NATS_CREDS`: the user JWT and NKey seed `nsc` writes) for
    /// servers in operator mode; unset: the URL's credentials, if any.
    #[arg(long = "nats-creds", env = "NATS_CREDS", value_name = "NATS_CREDS")]
    pub creds: Option<PathBuf>,
    /// First token(s) of every subject (`NATS_SUBJECT_PREFIX`, default `tg`): letters, digits,
    /// `-` and `_`, dot-separated.
    #[arg(
        long = "nats-subject-prefix",
        env = "NATS_SUBJECT_PREFIX",
        value_name = "NATS_SUBJECT_PREFIX",
        default_value = DEFAULT_PREFIX,
        value_parser = parse_prefix
    )]
    pub subject_prefix: String,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self {
            url: None,
            creds: None,
            subject_prefix: DEFAULT_PREFIX.to_owned(),
        }
    }
}

/// `NATS_URL` split into the server address (loggable) and its credentials (secret).
#[derive(Clone)]
pub struct NatsUrl {
    server: String,
    user: Option<String>,
    password: Option<SecretString>,
}

impl std::fmt::Debug for NatsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user name can be a token: neither it nor the password is shown.
        f.debug_struct("NatsUrl")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a NATS setting or connection was refused; never contains a credential.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// `NATS_URL` is not `nats://host:port` or `tls://host:port`.
    #[error("NATS_URL is not a nats:// or tls:// URL with a host (e.g. nats://nats:4222)")]
    BadUrl,
    /// `NATS_SUBJECT_PREFIX` has a character NATS subjects do not allow.
    #[error(
        "NATS_SUBJECT_PREFIX must be dot-separated tokens of letters, digits, '-' and '_' (e.g. tg)"
    )]
    BadPrefix,
    /// `NATS_CREDS` could not be read.
    #[error("cannot read NATS_CREDS {path}: {source}")]
    Creds {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The client refused the options (e.g. an unparsable server address).
    #[error("cannot connect to NATS at {server}: {reason}")]
    Connect {
        /// The server, without credentials.
        server: String,
        /// The client's reason.
        reason: String,
    },
}

impl NatsUrl {
    /// Parses `NATS_URL`. Errors: [`NatsError::BadUrl`] (the value is never repeated).
    pub fn parse(value: &str) -> Result<Self, NatsError> {
        let url = url::Url::parse(value.trim()).map_err(|_| NatsError::BadUrl)?;
        let host = url.host_str().filter(|h| !h.is_empty());
        let (Some(host), true) = (host, matches!(url.scheme(), "nats" | "tls")) else {
            return Err(NatsError::BadUrl);
        };
        let port = url.port().unwrap_or(4222);
        let decode = |s: &str| {
            percent_decode(s)
                .filter(|s| !s.is_empty())
                .ok_or(NatsError::BadUrl)
        };
        let user = match url.username() {
            "" => None,
            user => Some(decode(user)?),
        };
        let password = match url.password() {
            None => None,
            Some(password) => Some(SecretString::from(decode(password)?)),
        };
        Ok(Self {
            server: format!("{}://{host}:{port}", url.scheme()),
            user,
            password,
        })
    }

    /// The server without credentials, e.g. `nats://nats:4222` (safe to log).
    pub fn server(&self) -> &str {
        &self.server
    }
}

/// `%XX` escapes decoded (credentials may hold `@`, `:` or `/` escaped), `None` if not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn parse_prefix(value: &str) -> Result<String, NatsError> {
    let valid = value.split('.').all(|token| {
        !token.is_empty()
            && token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    if valid {
        Ok(value.to_owned())
    } else {
        Err(NatsError::BadPrefix)
    }
}

impl NatsSettings {
    /// Connects as `name` (shown by the server's monitoring) when `NATS_URL` is set; `None`
    /// otherwise. The connection is made in the background and remade forever after a loss
    /// (each disconnection and reconnection is logged), so an unreachable server is no error
    /// here: what is published meanwhile fails or times out, and the caller retries.
    ///
    /// Errors: `NATS_CREDS` unreadable; options the client refuses.
    pub async fn connect(&self, name: &str) -> Result<Option<async_nats::Client>, NatsError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        let mut options = async_nats::ConnectOptions::new();
        if let Some(path) = &self.creds {
            options = options
                .credentials_file(path)
                .await
                .map_err(|source| NatsError::Creds {
                    path: path.clone(),
                    source,
                })?;
        }
        options = match (&url.user, &url.password) {
            (Some(user), Some(password)) => {
                options.user_and_password(user.clone(), password.expose_secret().to_owned())
            }
            (Some(token), None) => options.token(token.clone()),
            _ => options,
        };
        let server = url.server.clone();
        let logged = server.clone();
        options
            .name(name)
            .connection_timeout(CONNECT_TIMEOUT)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(move |event| {
                let server = logged.clone();
                async move { log_event(&server, event) }
            })
            .connect(server.as_str())
            .await
            .map(Some)
            .map_err(|e| NatsError::Connect {
                server,
                reason: e.kind().to_string(),
            })
    }
}

fn log_event(server: &str, event: async_nats::Event) {
    use async_nats::Event;
    match event {
        Event::Connected => tracing::info!(server, "connected to NATS"),
        Event::Disconnected => tracing::warn!(server, "disconnected from NATS; reconnecting"),
        Event::ClientError(e) => tracing::warn!(server, error = %e, "NATS client error"),
        Event::ServerError(e) => tracing::warn!(server, error = %e, "NATS server error"),
        other => tracing::debug!(server, event = %other, "NATS event"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_leave_the_url_and_its_debug_output() {
        let url = NatsUrl::parse("nats://svc:p%40ss@nats.internal:4223").expect("valid");
        assert_eq!(url.server(), "nats://nats.internal:4223");
        assert_eq!(url.user.as_deref(), Some("svc"));
        assert_eq!(
            url.password.as_ref().map(|p| p.expose_secret().to_owned()),
            Some("p@ss".to_owned())
        );
        let debug = format!("{url:?}");
        assert!(!debug.contains("svc") && !debug.contains("p@ss"), "{debug}");
        assert_eq!(
            NatsUrl::parse("tls://nats").expect("valid").server(),
            "tls://nats:4222"
        );
    }

    #[test]
    fn other_schemes_and_bad_prefixes_are_refused_without_the_value() {
        for bad in [
            "http://u:secret@nats:4222",
            "nats:secret",
            "nats://",
            "secret",
        ] {
            let error = NatsUrl::parse(bad).expect_err(bad);
            assert!(error.to_string().contains("NATS_URL"), "{error}");
            assert!(!error.to_string().contains("secret"), "{error}");
        }
        assert_eq!(parse_prefix("tg.prod-1").as_deref().ok(), Some("tg.prod-1"));
        for bad in ["", "tg.", "tg.*", "tg >", "tg..x"] {
            assert!(parse_prefix(bad).is_err(), "{bad}");
        }
    }
}
