//! Test harness: testdc, a webhook sink and the receiver [`App`] in-process ([`spawn_app`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use receiver::{App, Config, Handled, MediaStore, WebhookFormat};
use testdc::{
    ChatRef, Fixture, MediaKind, MediaMeta, MessageView, SendMedia, SendText, TestDc, TestDcConfig,
};
use tokio::sync::{broadcast, oneshot};
use tokio::task::JoinHandle;

pub(crate) use crate::sink::{Received, Sink};

/// How long any awaited event may take.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// The `WEBHOOK_API_KEY` tests configure.
pub(crate) const API_KEY: &str = "test-key-123";

/// Fixture ids in Bot API form.
pub(crate) fn ids() -> Fixture {
    Fixture::DEFAULT
}

/// Bot API id of the supergroup.
pub(crate) fn supergroup_id() -> i64 {
    ChatRef::Channel(ids().supergroup).bot_api_id()
}

/// Bot API id of the broadcast channel.
pub(crate) fn channel_id() -> i64 {
    ChatRef::Channel(ids().channel).bot_api_id()
}

/// Bot API id of the basic group.
pub(crate) fn group_id() -> i64 {
    ChatRef::Chat(ids().group).bot_api_id()
}

/// A `MessageView` date as the payload formats it.
pub(crate) fn iso(date: i32) -> String {
    botapi::payload::format_unix_date(i64::from(date)).expect("date in range")
}

/// Installs a test tracing subscriber once.
pub(crate) fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,grammers=warn".into()),
        )
        .try_init();
}

/// Bob writes `text` to the account in private (the probe chat no test asserts on).
pub(crate) fn probe(dc: &TestDc, text: &str) {
    let bob = ids().bob;
    dc.send_text(SendText {
        from: Some(bob),
        chat_id: bob,
        text: text.into(),
        reply_to_message_id: None,
    })
    .expect("probe message");
}

/// Bob presses an inline button of the bot's with `data` in his private chat with it (the
/// probe of apps running as the bot).
pub(crate) fn press_probe(dc: &TestDc, data: &str) {
    let bob = ids().bob;
    dc.press_button(bob, bob, 1, data.as_bytes())
        .expect("probe button press");
}

/// How a start-up proves the update stream is live: what a simulated user does that the app
/// forwards, and where its payload (legacy or Bot API) carries the probe's text.
pub(crate) struct Probe {
    /// Sends the probe with this text.
    pub send: fn(&TestDc, &str),
    /// The probe's text in a payload.
    pub text: fn(&serde_json::Value) -> Option<&str>,
}

/// Probes of an app on the account's session: Bob's private messages.
pub(crate) const MESSAGE_PROBE: Probe = Probe {
    send: probe,
    text: |body| body["message"]["text"].as_str(),
};

/// Probes of an app on the bot's session: Bob's button presses, their `callback_data`.
pub(crate) const BUTTON_PROBE: Probe = Probe {
    send: press_probe,
    text: |body| body["callback_query"]["data"].as_str(),
};

/// Sends probes until the sink receives one (a message recorded before the update stream's
/// getState is answered is never delivered), then a marker, and drains the sink up to it.
pub(crate) async fn wait_live_via_sink(dc: &TestDc, sink: &mut Sink) {
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
pub(crate) struct Options {
    /// Last changes to the configuration.
    pub configure: fn(&mut Config),
    /// Start a sink and set `WEBHOOK_URL`.
    pub webhook: bool,
    /// `MEDIA_MAX_BYTES`.
    pub media_max_bytes: u64,
    /// `MEDIA_MAX_DISK_BYTES`.
    pub media_max_disk_bytes: u64,
    /// `MEDIA_DOWNLOAD_CONCURRENCY`.
    pub media_download_concurrency: u16,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            configure: |_| {},
            webhook: true,
            media_max_bytes: 50 * 1024 * 1024,
            media_max_disk_bytes: 200 * 1024 * 1024,
            media_download_concurrency: 4,
        }
    }
}

/// The bytes of `fixtures/<name>`.
pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A running receiver with its test DC and sink.
pub(crate) struct TestApp {
    /// The test DC.
    pub dc: Arc<TestDc>,
    /// The sink, when the app has a webhook.
    pub sink: Option<Sink>,
    /// The shared session file.
    pub session_path: PathBuf,
    /// Updates the app handled (body final).
    pub handled: broadcast::Receiver<Handled>,
    /// The directory holding the session, outbox and media.
    pub dir: PathBuf,
    /// Requests the sink got before the start-up probe marker.
    pub skipped: Vec<Received>,
    /// Where the media server listens.
    pub media_addr: SocketAddr,
    /// The app's media directory.
    pub media: MediaStore,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// A receiver configuration for the session at `dir/tg_userbot.session`.
pub(crate) fn config(dir: &std::path::Path, webhook_url: Option<url::Url>) -> Config {
    Config {
        api_id: 1,
        api_hash: None,
        bot_token: None,
        logs_dir: None,
        log_max_files: 14,
        session_name: dir.join("tg_userbot").display().to_string(),
        phone_number: None,
        webhook_url,
        webhook_api_key: Some(API_KEY.to_owned().into()),
        webhook_timeout: Duration::from_secs(5),
        public_base_url: "http".into(),
        public_media_host: "localhost".into(),
        public_media_port: 8181,
        media_dir: dir.join("media"),
        media_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        media_max_bytes: 50 * 1024 * 1024,
        media_ttl: Duration::from_secs(7 * 24 * 3600),
        media_max_disk_bytes: 200 * 1024 * 1024,
        media_download_concurrency: 4,
        outbox_path: None,
        webhook_format: WebhookFormat::Legacy,
        webhook_secret_token: None,
        webhook_signing_secret: None,
        webhook_max_connections: 40,
        updates_queue: receiver::UPDATES_CAPACITY,
        // Fast retries: tests wait for outcomes, not for the clock.
        webhook_retry_min_delay: Duration::from_millis(50),
        webhook_retry_max_delay: Duration::from_millis(500),
        webhook_max_age: Duration::from_secs(3600),
        forward_outgoing: false,
        allowed_chat_ids: Vec::new(),
        ignored_chat_ids: Vec::new(),
        allowed_updates: Vec::new(),
        archive_dir: None,
        shutdown_drain_timeout: receiver::DRAIN_DEADLINE,
        nats: receiver::nats::NatsConfig::default(),
        cluster: ops::cluster::ClusterSettings::default(),
        sessions_dir: None,
        media_url_prefix: String::new(),
        account_name: None,
    }
}

/// Starts testdc, the sink (unless disabled) and the app, and waits until the update stream
/// is live (a probe went through).
pub(crate) async fn spawn_app(options: Options) -> TestApp {
    spawn_as(options, false).await
}

/// [`spawn_app`] with the app signed in as the bot (`TestDc::write_bot_session`): it gets
/// callback queries, not the account's messages, so button presses are its probes.
pub(crate) async fn spawn_bot_app(options: Options) -> TestApp {
    spawn_as(options, true).await
}

async fn spawn_as(options: Options, bot: bool) -> TestApp {
    init_tracing();
    let dc = Arc::new(
        TestDc::start(TestDcConfig::default())
            .await
            .expect("testdc"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let session = config(dir.path(), None).session_path();
    let (written, probe) = if bot {
        (dc.write_bot_session(session).await, &BUTTON_PROBE)
    } else {
        (dc.write_session(session).await, &MESSAGE_PROBE)
    };
    written.expect("session");
    let sink = if options.webhook {
        Some(Sink::start().await)
    } else {
        None
    };
    let path = dir.path().to_owned();
    start_app_probing(dc, sink, path, Some(dir), &options, probe).await
}

/// Starts the app on an existing test DC, sink and directory (a restart), and waits until
/// the update stream is live.
pub(crate) async fn start_app(
    dc: Arc<TestDc>,
    sink: Option<Sink>,
    path: PathBuf,
    dir: Option<tempfile::TempDir>,
    options: &Options,
) -> TestApp {
    start_app_probing(dc, sink, path, dir, options, &MESSAGE_PROBE).await
}

/// [`start_app`], proving the update stream live with `probe`.
pub(crate) async fn start_app_probing(
    dc: Arc<TestDc>,
    mut sink: Option<Sink>,
    path: PathBuf,
    dir: Option<tempfile::TempDir>,
    options: &Options,
    probe: &Probe,
) -> TestApp {
    let mut config = config(&path, sink.as_ref().map(|s| s.url.clone()));
    // Bound first, so the public media URLs can name the port.
    let media_listener = tokio::net::TcpListener::bind(config.media_bind)
        .await
        .expect("bind media");
    config.public_media_host = "127.0.0.1".into();
    config.public_media_port = media_listener.local_addr().expect("media addr").port();
    config.media_max_bytes = options.media_max_bytes;
    config.media_max_disk_bytes = options.media_max_disk_bytes;
    config.media_download_concurrency = options.media_download_concurrency;
    (options.configure)(&mut config);
    let session_path = config.session_path();
    let app = App::build_with_listener(config, media_listener)
        .await
        .expect("app");
    let media_addr = app.local_addr();
    let media = app.media_store();
    let ready = app.ready();
    let mut handled = app.subscribe();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));
    tokio::time::timeout(WAIT, ready).await.expect("app ready");
    wait_live_via_handled(&dc, &mut handled, probe).await;
    let skipped = match sink.as_mut() {
        Some(sink) => {
            sink.skip_until_where(|body| (probe.text)(body) == Some("probe done"))
                .await
        }
        None => Vec::new(),
    };
    TestApp {
        skipped,
        dc,
        sink,
        session_path,
        handled,
        dir: path,
        media_addr,
        media,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}

/// The text of a handled update (legacy or Bot API body).
pub(crate) fn handled_text(h: &Handled) -> Option<&str> {
    h.body["message"]["text"].as_str()
}

async fn wait_live_via_handled(
    dc: &TestDc,
    handled: &mut broadcast::Receiver<Handled>,
    probe: &Probe,
) {
    let done = |p: &Handled| (probe.text)(&p.body) == Some("probe done");
    for i in 0..100 {
        (probe.send)(dc, &format!("probe {i}"));
        if tokio::time::timeout(Duration::from_millis(250), handled.recv())
            .await
            .is_ok()
        {
            (probe.send)(dc, "probe done");
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
    pub(crate) fn send(
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

    /// A simulated user sends `fixtures/<file>` as `kind` with `caption`; returns the message
    /// and the bytes.
    pub(crate) fn send_fixture(
        &self,
        from: i64,
        chat_id: i64,
        kind: MediaKind,
        file: &str,
        meta: MediaMeta,
    ) -> (MessageView, Vec<u8>) {
        let bytes = fixture(file);
        let sent = self.send_bytes(from, chat_id, kind, bytes.clone(), meta, None);
        (sent, bytes)
    }

    /// A simulated user sends `bytes` as `kind`, optionally as a reply.
    pub(crate) fn send_bytes(
        &self,
        from: i64,
        chat_id: i64,
        kind: MediaKind,
        bytes: Vec<u8>,
        meta: MediaMeta,
        reply_to: Option<i32>,
    ) -> MessageView {
        self.dc
            .send_media(
                SendMedia {
                    from: Some(from),
                    chat_id,
                    kind,
                    caption: String::new(),
                    reply_to_message_id: reply_to,
                    meta,
                },
                bytes,
            )
            .expect("testdc send_media")
    }

    /// The next webhook request, within [`WAIT`].
    pub(crate) async fn next_payload(&mut self) -> Received {
        self.sink_mut().next().await
    }

    /// The sink (panics when the app runs without a webhook).
    pub(crate) fn sink_mut(&mut self) -> &mut Sink {
        self.sink.as_mut().expect("app has a sink")
    }

    /// The next update the app handled (also without a webhook), within [`WAIT`].
    pub(crate) async fn next_handled(&mut self) -> Handled {
        tokio::time::timeout(WAIT, self.handled.recv())
            .await
            .expect("a handled payload in time")
            .expect("handled channel")
    }

    /// Stops the app (as SIGTERM would) and returns its result.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.stop_keep().await.0
    }

    /// Stops the app and hands back what a restart needs: the test DC, the sink, the
    /// directory (and its guard).
    pub(crate) async fn stop_keep(
        mut self,
    ) -> (
        anyhow::Result<()>,
        Arc<TestDc>,
        Option<Sink>,
        PathBuf,
        Option<tempfile::TempDir>,
    ) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .expect("app stopped in time")
            .expect("app task");
        (result, self.dc, self.sink, self.dir, self._dir)
    }
}
