//! Downloading file parameters given as HTTP(S) URLs: streamed to a temporary file under the
//! size cap and a time limit, refusing non-public addresses (see [`super::guard`]) on every
//! redirect hop unless `ALLOW_PRIVATE_URLS=true`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::redirect::{Attempt, Policy};
use url::{Host, Url};

use super::guard::{self, GuardedResolver, Refused};
use crate::error::ApiError;
use crate::upload::{Upload, UploadWriter, WriteError};

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Settings of a [`UrlFetcher`].
#[derive(Debug, Clone, Copy)]
pub struct FetchConfig {
    /// Allow loopback/private/link-local targets (`ALLOW_PRIVATE_URLS`).
    pub allow_private: bool,
    /// Largest file, bytes (`MAX_UPLOAD_BYTES`).
    pub max_bytes: u64,
    /// Whole download, connection to last byte (`URL_DOWNLOAD_TIMEOUT`).
    pub timeout: Duration,
}

/// Why a URL could not be fetched; every case is a 400 "failed to get HTTP URL content".
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The host is, or resolves to, a non-public address.
    #[error(transparent)]
    Refused(#[from] Refused),
    /// Not an `http`/`https` URL.
    #[error("only http and https URLs are supported")]
    Scheme,
    /// The server answered with a non-2xx status.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// The file exceeds `MAX_UPLOAD_BYTES`.
    #[error("the file is larger than {0} bytes (MAX_UPLOAD_BYTES)")]
    TooBig(u64),
    /// No complete answer within `URL_DOWNLOAD_TIMEOUT`.
    #[error("timed out after {0} s (URL_DOWNLOAD_TIMEOUT)")]
    Timeout(u64),
    /// Connection, TLS, redirect or protocol failure.
    #[error("{0}")]
    Transport(String),
    /// The temporary file could not be written.
    #[error("cannot store the file")]
    Io(#[source] std::io::Error),
}

impl FetchError {
    /// 400 "Bad Request: failed to get HTTP URL content: {why}" (500 for local disk failures).
    pub fn into_api_error(self) -> ApiError {
        if let FetchError::Io(e) = &self {
            tracing::error!(error = %e, "cannot store a downloaded file");
            return botapi::ApiError::internal("cannot store the downloaded file").into();
        }
        botapi::ApiError::bad_request(format_args!("failed to get HTTP URL content: {self}")).into()
    }
}

/// Downloads URLs with one shared HTTP client (system proxies ignored, so the guarded
/// resolver sees every host connected to).
#[derive(Debug, Clone)]
pub struct UrlFetcher {
    client: reqwest::Client,
    config: FetchConfig,
}

impl UrlFetcher {
    /// Builds the client. Errors: the TLS backend cannot be initialised.
    pub fn new(config: FetchConfig) -> Result<Self, reqwest::Error> {
        let allow_private = config.allow_private;
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .redirect(Policy::custom(move |attempt| {
                follow_if_allowed(attempt, allow_private)
            }))
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("sender/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { client, config })
    }

    /// Streams `url` into a temporary file. The file name is the last path segment (if any),
    /// the content type the response's `Content-Type`.
    pub async fn fetch(&self, url: &str) -> Result<Upload, FetchError> {
        let url = Url::parse(url.trim()).map_err(|e| FetchError::Transport(e.to_string()))?;
        check_url(&url, self.config.allow_private)?;
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| self.transport(&e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let max = self.config.max_bytes;
        if response.content_length().is_some_and(|len| len > max) {
            return Err(FetchError::TooBig(max));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let file_name = file_name_of(response.url());
        let mut writer = UploadWriter::create(max).await.map_err(write_error)?;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            writer.write(&chunk).await.map_err(write_error)?;
        }
        writer
            .finish(file_name, content_type)
            .await
            .map_err(write_error)
    }

    fn transport(&self, error: &reqwest::Error) -> FetchError {
        if let Some(refused) = find_refused(error) {
            return FetchError::Refused(refused);
        }
        if error.is_timeout() {
            return FetchError::Timeout(self.config.timeout.as_secs());
        }
        let mut detail = error.to_string();
        let mut cause = std::error::Error::source(error);
        while let Some(e) = cause {
            detail = format!("{detail}: {e}");
            cause = e.source();
        }
        FetchError::Transport(detail)
    }
}

fn write_error(error: WriteError) -> FetchError {
    match error {
        WriteError::TooBig { max } => FetchError::TooBig(max),
        WriteError::Io(e) => FetchError::Io(e),
    }
}

/// Scheme and, for IP-literal hosts (which bypass the resolver), the address.
fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme);
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(FetchError::Transport("the URL has no host".into())),
    };
    guard::check(&ip.to_string(), ip, allow_private)?;
    Ok(())
}

fn follow_if_allowed(attempt: Attempt<'_>, allow_private: bool) -> reqwest::redirect::Action {
    if attempt.previous().len() >= MAX_REDIRECTS {
        return attempt.error(FetchError::Transport("too many redirects".into()));
    }
    match check_url(attempt.url(), allow_private) {
        Ok(()) => attempt.follow(),
        Err(FetchError::Refused(refused)) => attempt.error(refused),
        Err(other) => attempt.error(other),
    }
}

/// The [`Refused`] in `error`'s source chain (resolver or redirect policy), if any.
fn find_refused(error: &reqwest::Error) -> Option<Refused> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        cause = e.source();
    }
    None
}

fn file_name_of(url: &Url) -> Option<String> {
    let segment = url.path_segments()?.next_back()?;
    let decoded = percent_decode(segment);
    (!decoded.trim().is_empty()).then_some(decoded)
}

fn percent_decode(segment: &str) -> String {
    form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literal_hosts_are_checked_before_connecting() {
        for url in [
            "http://127.0.0.1:1/x",
            "http://[::1]/x",
            "https://10.0.0.1/",
        ] {
            let url = Url::parse(url).expect("url");
            assert!(matches!(
                check_url(&url, false),
                Err(FetchError::Refused(_))
            ));
            assert!(check_url(&url, true).is_ok());
        }
        let ftp = Url::parse("ftp://example.com/a").expect("url");
        assert!(matches!(check_url(&ftp, true), Err(FetchError::Scheme)));
    }

    #[test]
    fn file_name_is_the_decoded_last_segment() {
        let name = |u: &str| file_name_of(&Url::parse(u).expect("url"));
        assert_eq!(
            name("http://h/a/My%20Song+1.mp3?x=1").as_deref(),
            Some("My Song+1.mp3")
        );
        assert_eq!(name("http://h/"), None);
    }
}
