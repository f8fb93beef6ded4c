//! The receiver's configuration: read once from the environment (and `.env`), validated up front.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use secrecy::SecretString;
use url::Url;

/// Everything the receiver reads from its environment. Tests construct it literally.
///
/// Every flag has an environment variable of the same meaning; errors name the variable
/// (clap prints it as the value name, e.g. `--webhook-url <WEBHOOK_URL>`).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "receiver",
    version,
    about = "Streams Telegram updates to a webhook"
)]
pub struct Config {
    /// Application id from my.telegram.org.
    #[arg(long, env = "TG_API_ID", value_name = "TG_API_ID")]
    pub api_id: i32,

    /// Application hash from my.telegram.org (unused while the session is already signed in).
    #[arg(long, env = "TG_API_HASH", value_name = "TG_API_HASH", hide_env_values = true,
          value_parser = parse_secret)]
    pub api_hash: Option<SecretString>,

    /// Session name; the file is `<name>.session` (shared with the sender process).
    #[arg(
        long,
        env = "TG_SESSION_NAME",
        value_name = "TG_SESSION_NAME",
        default_value = "sessions/tg_userbot"
    )]
    pub session_name: String,

    /// The account's phone number for `account_phone_number` in payloads; defaults to the
    /// phone Telegram reports for the signed-in account.
    #[arg(long, env = "TG_PHONE_NUMBER", value_name = "TG_PHONE_NUMBER",
          value_parser = parse_phone)]
    pub phone_number: Option<String>,

    /// Where every incoming message is POSTed (http or https). Unset: stdout only.
    #[arg(long, env = "WEBHOOK_URL", value_name = "WEBHOOK_URL", value_parser = parse_webhook_url)]
    pub webhook_url: Option<Url>,

    /// Sent as the `x-api-key` header of every webhook request (omitted when unset).
    #[arg(long, env = "WEBHOOK_API_KEY", value_name = "WEBHOOK_API_KEY", hide_env_values = true,
          value_parser = parse_secret)]
    pub webhook_api_key: Option<SecretString>,

    /// Timeout of one webhook request, in seconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT", value_name = "WEBHOOK_TIMEOUT", default_value = "10",
          value_parser = parse_seconds)]
    pub webhook_timeout: Duration,

    /// Scheme (`http` or `https`, or an http(s) base URL) of the public media URLs.
    #[arg(long, env = "PUBLIC_BASE_URL", value_name = "PUBLIC_BASE_URL", default_value = "http",
          value_parser = parse_public_base)]
    pub public_base_url: String,

    /// Host name of the public media URLs.
    #[arg(long, env = "PUBLIC_MEDIA_HOST", value_name = "PUBLIC_MEDIA_HOST",
          default_value = "localhost", value_parser = parse_host)]
    pub public_media_host: String,

    /// Port of the public media URLs.
    #[arg(long, env = "PUBLIC_MEDIA_PORT", value_name = "PUBLIC_MEDIA_PORT", default_value = "8181",
          value_parser = clap::value_parser!(u16).range(1..))]
    pub public_media_port: u16,

    /// Directory the downloaded media is stored in and served from (created when missing).
    #[arg(
        long,
        env = "MEDIA_DIR",
        value_name = "MEDIA_DIR",
        default_value = "userbot_media"
    )]
    pub media_dir: PathBuf,

    /// Listen address of the `/media` and `/healthz` HTTP server.
    #[arg(
        long,
        env = "MEDIA_BIND",
        value_name = "MEDIA_BIND",
        default_value = "0.0.0.0:8181"
    )]
    pub media_bind: SocketAddr,

    /// Largest file downloaded, in bytes; larger media is announced with
    /// `"skipped": "too_large"` and no URL.
    #[arg(long, env = "MEDIA_MAX_BYTES", value_name = "MEDIA_MAX_BYTES", default_value = "52428800",
          value_parser = parse_bytes)]
    pub media_max_bytes: u64,

    /// How long a downloaded file is kept, in seconds (default 7 days).
    #[arg(long, env = "MEDIA_TTL", value_name = "MEDIA_TTL", default_value = "604800",
          value_parser = parse_ttl)]
    pub media_ttl: Duration,

    /// Ceiling of the bytes kept in `MEDIA_DIR`: the oldest files are deleted first to stay
    /// under it; a file that cannot fit is announced with `"skipped": "disk_full"`.
    #[arg(long, env = "MEDIA_MAX_DISK_BYTES", value_name = "MEDIA_MAX_DISK_BYTES",
          default_value = "2147483648", value_parser = parse_bytes)]
    pub media_max_disk_bytes: u64,

    /// Downloads running at the same time, over all chats.
    #[arg(long, env = "MEDIA_DOWNLOAD_CONCURRENCY", value_name = "MEDIA_DOWNLOAD_CONCURRENCY",
          default_value = "4", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub media_download_concurrency: u16,
}

impl Config {
    /// The session file this configuration names (`TG_SESSION_NAME` + `.session`).
    pub fn session_path(&self) -> PathBuf {
        session::SessionStore::path_for_name(&self.session_name)
    }

    /// Where media URLs point: `<scheme>://PUBLIC_MEDIA_HOST[:PUBLIC_MEDIA_PORT]`, the scheme
    /// taken from `PUBLIC_BASE_URL` and the port left out when it is the scheme's default
    /// (80 for http, 443 for https). A media URL is this plus `/media/<name>`.
    pub fn public_media_origin(&self) -> String {
        let scheme = match self.public_base_url.split_once("://") {
            Some((scheme, _)) => scheme.to_ascii_lowercase(),
            None => self.public_base_url.to_ascii_lowercase(),
        };
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host = &self.public_media_host;
        // An IPv6 literal needs brackets in a URL.
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        if self.public_media_port == default_port {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{}", self.public_media_port)
        }
    }
}

fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty (unset the variable instead)".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

fn parse_phone(value: &str) -> Result<String, String> {
    let digits = value.trim().trim_start_matches('+');
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("must be a phone number in international format, e.g. +15551234567".into());
    }
    Ok(format!("+{digits}"))
}

fn parse_webhook_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("scheme must be http or https, not {other:?}")),
    }
}

fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("must be a number of seconds, not {value:?}"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_public_base(value: &str) -> Result<String, String> {
    match value {
        "http" | "https" => Ok(value.to_owned()),
        _ => parse_webhook_url(value)
            .map(|_| value.trim_end_matches('/').to_owned())
            .map_err(|e| format!("must be http, https or an http(s) base URL: {e}")),
    }
}

fn parse_bytes(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!("must be a positive number of bytes, not {value:?}")),
    }
}

fn parse_ttl(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "must be a positive whole number of seconds, not {value:?}"
        )),
    }
}

fn parse_host(value: &str) -> Result<String, String> {
    url::Host::parse(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not a host name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from(std::iter::once("receiver").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_apply_when_only_the_api_id_is_given() {
        let config = parse(&["--api-id", "12345"]).expect("valid");
        assert_eq!(config.api_id, 12345);
        assert_eq!(
            config.session_path(),
            PathBuf::from("sessions/tg_userbot.session")
        );
        assert_eq!(config.webhook_timeout, Duration::from_secs(10));
        assert_eq!(config.public_base_url, "http");
        assert_eq!(config.public_media_host, "localhost");
        assert_eq!(config.public_media_port, 8181);
        assert_eq!(config.media_dir, PathBuf::from("userbot_media"));
        assert_eq!(config.media_bind, SocketAddr::from(([0, 0, 0, 0], 8181)));
        assert_eq!(config.media_max_bytes, 50 * 1024 * 1024);
        assert_eq!(config.media_ttl, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(config.media_max_disk_bytes, 2 * 1024 * 1024 * 1024);
        assert_eq!(config.media_download_concurrency, 4);
        assert!(config.webhook_url.is_none() && config.webhook_api_key.is_none());
    }

    #[test]
    fn errors_name_the_variable() {
        let err = parse(&[]).expect_err("api id missing").to_string();
        assert!(err.contains("TG_API_ID"), "{err}");
        let err = parse(&["--api-id", "1", "--webhook-url", "ftp://x"]).expect_err("bad scheme");
        assert!(err.to_string().contains("WEBHOOK_URL"), "{err}");
        let err = parse(&["--api-id", "1", "--webhook-url", "not a url"]).expect_err("not a url");
        assert!(err.to_string().contains("WEBHOOK_URL"), "{err}");
        let err = parse(&["--api-id", "1", "--webhook-timeout", "0"]).expect_err("zero timeout");
        assert!(err.to_string().contains("WEBHOOK_TIMEOUT"), "{err}");
        let err = parse(&["--api-id", "1", "--public-media-port", "0"]).expect_err("port 0");
        assert!(err.to_string().contains("PUBLIC_MEDIA_PORT"), "{err}");
        for (flag, var) in [
            ("--media-max-bytes", "MEDIA_MAX_BYTES"),
            ("--media-ttl", "MEDIA_TTL"),
            ("--media-max-disk-bytes", "MEDIA_MAX_DISK_BYTES"),
            ("--media-bind", "MEDIA_BIND"),
        ] {
            let err = parse(&["--api-id", "1", flag, "0.5"]).expect_err(var);
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = parse(&["--api-id", "x"]).expect_err("not a number");
        assert!(err.to_string().contains("TG_API_ID"), "{err}");
    }

    #[test]
    fn media_origin_omits_the_default_port_of_the_scheme() {
        let origin = |args: &[&str]| {
            let mut all = vec!["--api-id", "1"];
            all.extend_from_slice(args);
            parse(&all).expect("valid").public_media_origin()
        };
        assert_eq!(origin(&[]), "http://localhost:8181");
        assert_eq!(origin(&["--public-media-port", "80"]), "http://localhost");
        assert_eq!(
            origin(&["--public-base-url", "https", "--public-media-port", "443"]),
            "https://localhost"
        );
        assert_eq!(
            origin(&["--public-base-url", "https", "--public-media-port", "80"]),
            "https://localhost:80"
        );
        assert_eq!(
            origin(&[
                "--public-base-url",
                "https://gw.example.com/x",
                "--public-media-host",
                "media.example.com",
                "--public-media-port",
                "8443"
            ]),
            "https://media.example.com:8443"
        );
        assert_eq!(
            origin(&[
                "--public-media-host",
                "[::1]",
                "--public-media-port",
                "8181"
            ]),
            "http://[::1]:8181"
        );
    }

    #[test]
    fn phone_is_normalised_and_secrets_are_not_printed() {
        let config = parse(&[
            "--api-id",
            "1",
            "--phone-number",
            "15551234567",
            "--webhook-api-key",
            "s3cret",
            "--webhook-url",
            "https://example.com/hook",
        ])
        .expect("valid");
        assert_eq!(config.phone_number.as_deref(), Some("+15551234567"));
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
