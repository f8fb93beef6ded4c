//! Value parsers of [`super::Config`]: each error says what is wrong; clap adds the variable.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::webhook::SigningSecret;

pub(super) fn parse_secret(value: &str) -> Result<SecretString, String> {
    if value.is_empty() {
        return Err("must not be empty (unset the variable instead)".into());
    }
    Ok(SecretString::from(value.to_owned()))
}

pub(super) fn parse_phone(value: &str) -> Result<String, String> {
    let digits = value.trim().trim_start_matches('+');
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err("must be a phone number in international format, e.g. +15551234567".into());
    }
    Ok(format!("+{digits}"))
}

pub(super) fn parse_webhook_url(value: &str) -> Result<Url, String> {
    let url = Url::parse(value).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err("the URL has no host".into()),
        other => Err(format!("scheme must be http or https, not {other:?}")),
    }
}

pub(super) fn parse_seconds(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("must be a number of seconds, not {value:?}"))?;
    if !(seconds > 0.0 && seconds <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub(super) fn parse_public_base(value: &str) -> Result<String, String> {
    match value {
        "http" | "https" => Ok(value.to_owned()),
        _ => parse_webhook_url(value)
            .map(|_| value.trim_end_matches('/').to_owned())
            .map_err(|e| format!("must be http, https or an http(s) base URL: {e}")),
    }
}

pub(super) fn parse_bytes(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(bytes) if bytes > 0 => Ok(bytes),
        _ => Err(format!("must be a positive number of bytes, not {value:?}")),
    }
}

pub(super) fn parse_ttl(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "must be a positive whole number of seconds, not {value:?}"
        )),
    }
}

pub(super) fn parse_host(value: &str) -> Result<String, String> {
    url::Host::parse(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not a host name: {e}"))
}

pub(super) fn parse_signing_secret(value: &str) -> Result<SigningSecret, String> {
    SigningSecret::parse(value)
}

pub(super) fn parse_whole_seconds(value: &str) -> Result<Duration, String> {
    match value.trim().parse::<u64>() {
        Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
        _ => Err(format!(
            "must be a positive whole number of seconds, not {value:?}"
        )),
    }
}

pub(super) fn parse_chat_id(value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(id) if id != 0 => Ok(id),
        _ => Err(format!(
            "must be Bot API chat ids (e.g. 123, -1001234567890), not {value:?}"
        )),
    }
}
