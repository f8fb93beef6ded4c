//! Parsing the environment: defaults, errors naming the variable, derived values.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser as _;

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
