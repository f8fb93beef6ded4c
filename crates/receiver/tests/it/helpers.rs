//! Test harness: testdc, a webhook sink and the receiver [`App`] in-process ([`spawn_app`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use botapi::payload::WebhookPayload;
use receiver::{App, Config, RetryPolicy};
use serde_json::Value;
use testdc::{ChatRef, Fixture, MessageView, SendText, TestDc, TestDcConfig};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long any awaited event may take.
pub const WAIT: Duration = Duration::from_secs(10);
/// The `WEBHOOK_API_KEY` tests configure.
pub const API_KEY: &str = "test-key-123";

/// Fixture ids in Bot API form.
pub fn ids() -> Fixture {
    Fixture::DEFAULT
}

/// Bot API id of the supergroup.
pub fn supergroup_id() -> i64 {
    ChatRef::Channel(ids().supergroup).bot_api_id()
}

/// Bot API id of the broadcast channel.
pub fn channel_id() -> i64 {
    ChatRef::Channel(ids().channel).bot_api_id()
}

/// Bot API id of the basic group.
pub fn group_id() -> i64 {
    ChatRef::Chat(ids().group).bot_api_id()
}

/// A `MessageView` date as the payload formats it.
pub fn iso(date: i32) -> String {
    botapi::payload::format_unix_date(i64::from(date)).expect("date in range")
}

/// Installs a test tracing subscriber once.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,grammers=warn".into()),
        )
        .try_init();
}

/// One request the sink received.
#[derive(Debug)]
pub struct Received {
    /// Request headers.
    pub headers: HeaderMap,
    /// JSON body.
    pub body: Value,
}

impl Received {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `message.text`.
    pub fn text(&self) -> Option<&str> {
        self.body["message"]["text"].as_str()
    }
}

#[derive(Clone)]
struct SinkState {
    tx: mpsc::UnboundedSender<Received>,
    statuses: Arc<Mutex<VecDeque<StatusCode>>>,
}

/// A webhook sink on 127.0.0.1:0 that records every request and answers 200, or the
/// scripted statuses first.
pub struct Sink {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: url::Url,
    rx: mpsc::UnboundedReceiver<Received>,
    statuses: Arc<Mutex<VecDeque<StatusCode>>>,
    server: JoinHandle<()>,
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sink {
    /// Starts the sink, answering 200.
    pub async fn start() -> Sink {
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let state = SinkState {
            tx,
            statuses: statuses.clone(),
        };
        let router = Router::new().route("/hook", post(hook)).with_state(state);
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let url = format!("http://{addr}/hook").parse().expect("sink url");
        Sink {
            url,
            rx,
            statuses,
            server,
        }
    }

    /// Answers the next requests with `statuses` (then 200 again).
    pub fn respond_next(&self, statuses: &[u16]) {
        self.statuses.lock().expect("statuses lock").extend(
            statuses
                .iter()
                .map(|s| StatusCode::from_u16(*s).expect("status")),
        );
    }

    /// The next request, within [`WAIT`].
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("the sink got no request in time")
            .expect("sink closed")
    }

    /// The next request within `wait`, if any.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Received> {
        tokio::time::timeout(wait, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Skips requests until the one whose text is `text` (within [`WAIT`] each).
    pub async fn skip_until(&mut self, text: &str) {
        while self.next().await.text() != Some(text) {}
    }
}

async fn hook(
    State(state): State<SinkState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> StatusCode {
    let status = state
        .statuses
        .lock()
        .expect("statuses lock")
        .pop_front()
        .unwrap_or(StatusCode::OK);
    let _ = state.tx.send(Received { headers, body });
    status
}

/// Bob writes `text` to the account in private (the probe chat no test asserts on).
pub fn probe(dc: &TestDc, text: &str) {
    let bob = ids().bob;
    dc.send_text(SendText {
        from: Some(bob),
        chat_id: bob,
        text: text.into(),
        reply_to_message_id: None,
    })
    .expect("probe message");
}

/// Sends probes until the sink receives one (a message recorded before the update stream's
/// getState is answered is never delivered), then a marker, and drains the sink up to it.
pub async fn wait_live_via_sink(dc: &TestDc, sink: &mut Sink) {
    for i in 0..100 {
        probe(dc, &format!("probe {i}"));
        if sink.try_next(Duration::from_millis(250)).await.is_some() {
            probe(dc, "probe done");
            sink.skip_until("probe done").await;
            return;
        }
    }
    panic!("the receiver never delivered a probe");
}

/// Options of [`spawn_app`].
pub struct Options {
    /// Start a sink and set `WEBHOOK_URL`.
    pub webhook: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { webhook: true }
    }
}

/// A running receiver with its test DC and sink.
pub struct TestApp {
    /// The test DC.
    pub dc: Arc<TestDc>,
    /// The sink, when the app has a webhook.
    pub sink: Option<Sink>,
    /// The shared session file.
    pub session_path: PathBuf,
    /// Payloads the app handled.
    pub handled: broadcast::Receiver<WebhookPayload>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// A receiver configuration for the session at `dir/tg_userbot.session`.
pub fn config(dir: &std::path::Path, webhook_url: Option<url::Url>) -> Config {
    Config {
        api_id: 1,
        api_hash: None,
        session_name: dir.join("tg_userbot").display().to_string(),
        phone_number: None,
        webhook_url,
        webhook_api_key: Some(API_KEY.to_owned().into()),
        webhook_timeout: Duration::from_secs(5),
        public_base_url: "http".into(),
        public_media_host: "localhost".into(),
        public_media_port: 8181,
    }
}

/// Starts testdc, the sink (unless disabled) and the app, and waits until the update stream
/// is live (a probe went through).
pub async fn spawn_app(options: Options) -> TestApp {
    init_tracing();
    let dc = Arc::new(
        TestDc::start(TestDcConfig::default())
            .await
            .expect("testdc"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sink = if options.webhook {
        Some(Sink::start().await)
    } else {
        None
    };
    let config = config(dir.path(), sink.as_ref().map(|s| s.url.clone()));
    let session_path = config.session_path();
    dc.write_session(&session_path).await.expect("session");
    let policy = RetryPolicy {
        max_attempts: 5,
        first_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
    };
    let app = App::build_with_retry_policy(config, policy)
        .await
        .expect("app");
    let ready = app.ready();
    let mut handled = app.subscribe();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));
    tokio::time::timeout(WAIT, ready).await.expect("app ready");
    wait_live_via_handled(&dc, &mut handled).await;
    if let Some(sink) = sink.as_mut() {
        sink.skip_until("probe done").await;
    }
    TestApp {
        dc,
        sink,
        session_path,
        handled,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}

async fn wait_live_via_handled(dc: &TestDc, handled: &mut broadcast::Receiver<WebhookPayload>) {
    let done = |p: &WebhookPayload| p.message.text.as_deref() == Some("probe done");
    for i in 0..100 {
        probe(dc, &format!("probe {i}"));
        if tokio::time::timeout(Duration::from_millis(250), handled.recv())
            .await
            .is_ok()
        {
            probe(dc, "probe done");
            loop {
                let p = tokio::time::timeout(WAIT, handled.recv())
                    .await
                    .expect("probe marker in time")
                    .expect("handled channel");
                if done(&p) {
                    return;
                }
            }
        }
    }
    panic!("the receiver never handled a probe");
}

impl TestApp {
    /// A simulated user (or channel) sends `text`.
    pub fn send(
        &self,
        from: Option<i64>,
        chat_id: i64,
        text: &str,
        reply_to: Option<i32>,
    ) -> MessageView {
        self.dc
            .send_text(SendText {
                from,
                chat_id,
                text: text.into(),
                reply_to_message_id: reply_to,
            })
            .expect("testdc send_text")
    }

    /// The next webhook request, within [`WAIT`].
    pub async fn next_payload(&mut self) -> Received {
        self.sink_mut().next().await
    }

    /// The sink (panics when the app runs without a webhook).
    pub fn sink_mut(&mut self) -> &mut Sink {
        self.sink.as_mut().expect("app has a sink")
    }

    /// The next payload the app handled (also without a webhook), within [`WAIT`].
    pub async fn next_handled(&mut self) -> WebhookPayload {
        tokio::time::timeout(WAIT, self.handled.recv())
            .await
            .expect("a handled payload in time")
            .expect("handled channel")
    }

    /// Stops the app (as SIGTERM would) and returns its result.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("app stopped in time")
            .expect("app task")
    }
}
