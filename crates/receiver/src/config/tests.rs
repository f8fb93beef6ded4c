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

#[test]
fn an_account_of_many_takes_its_settings_over_the_environments() {
    let base = parse(&[
        "--api-id",
        "1",
        "--webhook-url",
        "http://env.example/hook",
        "--webhook-api-key",
        "env-key",
        "--media-dir",
        "media",
        "--allowed-chat-ids",
        "5",
    ])
    .expect("valid");
    let entry = |settings: ops::accounts::AccountSettings| ops::accounts::AccountEntry {
        name: "shop2".into(),
        session_name: PathBuf::from("sessions/shop2"),
        settings,
        settings_error: None,
    };
    let settings = ops::accounts::AccountSettings {
        webhook_url: Some("https://shop2.example/hook".into()),
        webhook_format: Some("bot_api".into()),
        allowed_updates: Some(vec!["message".into(), "callback_query".into()]),
        ignored_chat_ids: Some(vec![-100]),
        ..ops::accounts::AccountSettings::generate()
    };
    let config = base.for_account(&entry(settings)).expect("valid settings");
    assert_eq!(
        config.session_path(),
        PathBuf::from("sessions/shop2.session")
    );
    assert_eq!(config.outbox_path(), PathBuf::from("sessions/shop2.outbox"));
    assert_eq!(config.media_dir, PathBuf::from("media/shop2"));
    assert_eq!(config.media_url_prefix, "/accounts/shop2");
    assert_eq!(config.account_name.as_deref(), Some("shop2"));
    assert_eq!(
        config.webhook_url.as_ref().map(Url::as_str),
        Some("https://shop2.example/hook")
    );
    assert_eq!(config.webhook_format, WebhookFormat::BotApi);
    assert_eq!(
        config.allowed_updates,
        [UpdateKind::Message, UpdateKind::CallbackQuery]
    );
    assert_eq!(config.ignored_chat_ids, [-100]);
    // What its settings leave out stays the environment's.
    assert_eq!(config.allowed_chat_ids, [5]);
    assert!(config.webhook_api_key.is_some());

    let bad = ops::accounts::AccountSettings {
        webhook_signing_secret: Some("not-a-whsec-secret-value".into()),
        allowed_updates: Some(vec!["everything".into()]),
        ..ops::accounts::AccountSettings::default()
    };
    let err = base.for_account(&entry(bad)).expect_err("refused");
    assert!(err.starts_with("shop2.account.json: "), "{err}");
    assert!(!err.contains("not-a-whsec-secret-value"), "{err}");
}
