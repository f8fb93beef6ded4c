//! `spawn_app()`: a test DC, a session file for it and the sender on 127.0.0.1:0, plus typed
//! request helpers.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use sender::compat::{self, ResponseFormat};
use sender::{App, Config};
use serde_json::Value;
use testdc::{ChatRef, Fixture, MessageView, TestDc, TestDcConfig};
use testkit::botapi_spec;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The `x-api-key` every test app accepts.
pub(crate) const API_KEY: &str = "100000001:test-secret_key";
/// Upper bound for one request; no test should come near it.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Well-known chat ids of the default world, as Bot API chat ids.
pub(crate) struct Chats {
    pub alice: i64,
    pub bob: i64,
    pub group: i64,
    pub supergroup: i64,
    pub channel: i64,
}

pub(crate) fn chats() -> Chats {
    let f = Fixture::DEFAULT;
    Chats {
        alice: f.alice,
        bob: f.bob,
        group: ChatRef::Chat(f.group).bot_api_id(),
        supergroup: ChatRef::Channel(f.supergroup).bot_api_id(),
        channel: ChatRef::Channel(f.channel).bot_api_id(),
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `result` of a successful answer; panics with the body otherwise.
    pub(crate) fn result(&self) -> &Value {
        assert_eq!(
            (self.status, &self.body["ok"]),
            (200, &Value::Bool(true)),
            "{:?}",
            self.body
        );
        &self.body["result"]
    }

    /// Asserts the error envelope: HTTP status = `error_code`, `ok:false`, the description.
    pub(crate) fn assert_error(&self, code: u16, description: &str) {
        assert_eq!(self.status, code, "{:?}", self.body);
        assert_eq!(self.body["ok"], false);
        assert_eq!(self.body["error_code"], code);
        assert_eq!(self.body["description"], description);
    }

    /// The description of an error answer.
    pub(crate) fn description(&self) -> &str {
        self.body["description"].as_str().unwrap_or_default()
    }
}

pub(crate) struct TestApp {
    pub addr: SocketAddr,
    /// The configured answer shape; Bot API answers are checked against the spec, legacy ones
    /// (`RESPONSE_FORMAT=legacy` or `x-response-format: legacy`) are not Bot API objects.
    pub response_format: ResponseFormat,
    pub dc: TestDc,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// A config for a session file of `dc` in `dir`, listening on 127.0.0.1:0.
pub(crate) fn test_config(dir: &tempfile::TempDir, token: &str) -> Config {
    Config {
        api_token: SecretString::from(token),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        api_id: 1,
        api_hash: None,
        session_name: dir.path().join("tg_userbot").display().to_string(),
        outbox_path: None,
        flood_sleep_threshold: 5,
        allow_private_urls: false,
        max_upload_bytes: 50 * 1024 * 1024,
        url_download_timeout: 10,
        phone_number: None,
        logs_dir: None,
        log_max_files: 14,
        // Off: tests fire requests faster than any real client; `limits` turns it on.
        rate_limit_per_second: 0,
        rate_limit_burst: 60,
        upload_concurrency: telegram::DEFAULT_UPLOAD_CONCURRENCY,
        cors_allowed_origins: Vec::new(),
        response_format: ResponseFormat::BotApi,
        // Off: tests send faster than the account would be allowed to; `pacing` turns it on.
        send_pacing: false,
        send_chat_concurrency: 1,
        send_pace_chat_per_minute: 60,
        send_pace_chat_burst: 3,
        send_pace_group_per_minute: 20,
        send_pace_account_per_minute: None,
        send_pace_expensive_per_minute: 30,
        send_queue_max_wait: 20,
        send_queue_path: None,
        idempotency_ttl: 86_400,
        peer_flood_pause: 3600,
        send_result_webhook_url: None,
        nats: ops::nats::NatsSettings::default(),
        cluster: ops::cluster::ClusterSettings::default(),
        sessions_dir: None,
        admin_api_key: None,
    }
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// [`spawn_app`] with the test config adjusted by `configure` first.
pub(crate) fn init_test_logging() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .try_init();
}

pub(crate) async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_session(configure, true).await
}

/// The sender on a session signed in as the world's bot ([`Fixture::bot`], through
/// `TestDc::write_bot_session`): getMe says `is_bot: true` and the bot methods work.
pub(crate) async fn spawn_bot_app() -> TestApp {
    init_test_logging();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&dir, API_KEY);
    dc.write_bot_session(config.session_path()).await.unwrap();
    spawn_on(dc, dir, config).await
}

/// The sender on a session that is not signed in (and `TG_API_HASH` set), for the login flows.
pub(crate) async fn spawn_signed_out_app() -> TestApp {
    spawn_app_with_session(|c| c.api_hash = Some(SecretString::from("hash")), false).await
}

pub(crate) async fn spawn_app_with_session(
    configure: impl FnOnce(&mut Config),
    signed_in: bool,
) -> TestApp {
    init_test_logging();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir, API_KEY);
    configure(&mut config);
    if signed_in {
        dc.write_session(config.session_path()).await.unwrap();
    } else {
        dc.write_unauthorized_session(config.session_path())
            .await
            .unwrap();
    }
    spawn_on(dc, dir, config).await
}

/// Starts the sender with `config` against `dc`, keeping `dir` alive as long as the app.
pub(crate) async fn spawn_on(dc: TestDc, dir: tempfile::TempDir, config: Config) -> TestApp {
    let response_format = config.response_format;
    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel();
    let server = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        response_format,
        dc,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
        server: Some(server),
        _dir: dir,
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `POST /api_v1/{method}` with a JSON body and the right key.
    pub(crate) async fn post(&self, method: &str, body: Value) -> Reply {
        self.post_with_key(method, Some(API_KEY), body).await
    }

    /// `POST /api_v1/{method}` with a JSON body and `key` (`None`: no header).
    pub(crate) async fn post_with_key(
        &self,
        method: &str,
        key: Option<&str>,
        body: Value,
    ) -> Reply {
        let mut request = self
            .client
            .post(self.url(&format!("/api_v1/{method}")))
            .json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        self.send(request).await
    }

    /// `POST /api_v1/{method}` with a raw body and Content-Type, and the right key.
    pub(crate) async fn post_raw(&self, method: &str, content_type: &str, body: &str) -> Reply {
        let request = self
            .client
            .post(self.url(&format!("/api_v1/{method}")))
            .header("x-api-key", API_KEY)
            .header("content-type", content_type)
            .body(body.to_owned());
        self.send(request).await
    }

    /// `POST /api_v1/{method}` with a multipart body and the right key.
    pub(crate) async fn post_multipart(
        &self,
        method: &str,
        form: reqwest::multipart::Form,
    ) -> Reply {
        let request = self
            .client
            .post(self.url(&format!("/api_v1/{method}")))
            .header("x-api-key", API_KEY)
            .multipart(form);
        self.send(request).await
    }

    /// `POST /api_v1/{method}?{query}` with an empty body and no Content-Type.
    pub(crate) async fn post_query(&self, method: &str, query: &str) -> Reply {
        let request = self
            .client
            .post(self.url(&format!("/api_v1/{method}?{query}")))
            .header("x-api-key", API_KEY);
        self.send(request).await
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// `GET {path}` as text (status, body), for `/metrics`.
    pub(crate) async fn get_text(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Sends `request`; a successful Bot API answer (`{"ok":true,"result":…}` from
    /// `/api_v1/<method>` or `/bot<token>/<method>`) has its `result` checked against the
    /// spec's return type of that method, so every test is also a conformance test (answers in
    /// the legacy shape are not Bot API objects and are not checked).
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let request = request.build().unwrap();
        let method = bot_api_method(request.url()).filter(|_| {
            let asked = request.headers().get(compat::HEADER);
            match asked.and_then(|v| v.to_str().ok()) {
                Some(format) => format.trim().eq_ignore_ascii_case("bot_api"),
                None => self.response_format == ResponseFormat::BotApi,
            }
        });
        let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.execute(request))
            .await
            .expect("the sender answered in time")
            .unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)));
        if let Some(method) = method
            && status == 200
            && body["ok"] == true
        {
            botapi_spec::spec().assert_result(&method, &body["result"]);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `sendMessage` of plain `text` to `chat_id`; returns the result message.
    pub(crate) async fn send_text(&self, chat_id: i64, text: &str) -> Value {
        self.post(
            "sendMessage",
            serde_json::json!({ "chat_id": chat_id, "text": text }),
        )
        .await
        .result()
        .clone()
    }

    /// The server-side message `message_id` of `chat_id`, if it exists.
    pub(crate) fn stored(&self, chat_id: i64, message_id: i64) -> Option<MessageView> {
        self.dc
            .history(chat_id)
            .unwrap()
            .into_iter()
            .find(|m| i64::from(m.message_id) == message_id)
    }

    /// Stops the server gracefully and returns how it ended.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let server = self.server.take().expect("running");
        tokio::time::timeout(REQUEST_TIMEOUT, server)
            .await
            .expect("stopped in time")
            .unwrap()
    }
}

/// The Bot API method a URL calls: `/api_v1/<method>` or `/bot<token>/<method>` (not
/// `/api_v1/auth/…`, file downloads or the docs).
pub(crate) fn bot_api_method(url: &reqwest::Url) -> Option<String> {
    let segments: Vec<&str> = url.path_segments()?.collect();
    match segments.as_slice() {
        [prefix, method]
            if (*prefix == "api_v1" || prefix.starts_with("bot"))
                && !method.is_empty()
                && *method != "openapi.json" =>
        {
            Some((*method).to_owned())
        }
        _ => None,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}
