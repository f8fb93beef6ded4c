//! The demo: testdc (MTProto and its HTTP control API), the receiver, the sender and a tiny
//! webhook consumer, all on loopback, with no Telegram account and no Docker.
//!
//! [`Demo::start`] binds every port first (so a busy port is named in the error), starts the
//! apps and returns once the receiver's update stream is live. [`script::play`] then plays
//! the scripted conversation; [`Demo::watch_outgoing`] prints what the account sends while
//! the demo serves. Modules: [`consumer`] (the webhook consumer), [`script`].
//!
//! The demo prints to stdout: its output is its user interface.

pub mod consumer;
pub mod script;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use testdc::{ControlError, Fixture, SendText, TestDc, TestDcConfig};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

pub use consumer::Event;

/// The sender's API key (`X_API_TOKEN`) in the demo: the account's id (testdc's
/// [`Fixture::self_id`]) as the digits, as Bot API libraries expect.
pub const DEMO_KEY: &str = "100000001:demo";

/// The management API key (`ADMIN_API_KEY`) of the demo's sender.
pub const DEMO_ADMIN_KEY: &str = "demo-admin";

/// The demo's second account, signed in from the start: (name, token secret). Its testdc
/// user id is 100000002, so its token is `100000002:demo-shop2`.
pub const SHOP2: (&str, &str) = ("shop2", "demo-shop2");

/// The demo's third account, not signed in: the README logs it in over the management API.
/// Its testdc user id is 100000003 (phone +10000000002), its token `100000003:demo-shop3`.
pub const SHOP3: (&str, &str) = ("shop3", "demo-shop3");

/// The text of the messages [`Demo::start`] sends to see that the receiver is live; the
/// consumer ignores them.
pub const PROBE_PREFIX: &str = "demo start-up probe";

/// How long start-up waits for the receiver's update stream to deliver a probe.
const LIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Demo::shutdown`] waits for the apps to drain.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(15);

/// The loopback ports the demo listens on; 0 picks a free one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// The sender's Bot API (`SENDER_BIND`).
    pub sender: u16,
    /// The receiver's `/media`, `/status` and `/healthz` (`MEDIA_BIND`, `PUBLIC_MEDIA_PORT`).
    pub media: u16,
    /// testdc's MTProto listener.
    pub mtproto: u16,
    /// testdc's HTTP control API (`POST /send` makes a user write, `GET /history`, …).
    pub control: u16,
    /// The webhook consumer (`POST /webhook`) and the files it serves.
    pub consumer: u16,
}

impl Ports {
    /// `--serve`: the sender and `/media` on the host ports docker compose publishes (8001,
    /// 8181), testdc on the ports its binary uses by default (9444, 9445), the consumer on 8002.
    pub const FIXED: Ports = Ports {
        sender: 8001,
        media: 8181,
        mtproto: 9444,
        control: 9445,
        consumer: 8002,
    };

    /// The scripted run: free ports, so demos and tests can run side by side.
    pub const ANY: Ports = Ports {
        sender: 0,
        media: 0,
        mtproto: 0,
        control: 0,
        consumer: 0,
    };
}

/// Where a started demo listens (real ports, also when started with [`Ports::ANY`]).
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    /// The sender's Bot API.
    pub sender: SocketAddr,
    /// The receiver's `/media`.
    pub media: SocketAddr,
    /// testdc's MTProto listener.
    pub mtproto: SocketAddr,
    /// testdc's HTTP control API.
    pub control: SocketAddr,
    /// The webhook consumer.
    pub consumer: SocketAddr,
}

/// A running demo. Dropping it stops everything abruptly; [`Demo::shutdown`] drains.
pub struct Demo {
    dc: Arc<TestDc>,
    addrs: Addrs,
    events: broadcast::Sender<Event>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .with_context(|| {
            format!("failed to bind 127.0.0.1:{port} for the {what} (is another demo running?)")
        })
}

impl Demo {
    /// Starts testdc, the sender, the consumer, testdc's control API and the receiver on
    /// `ports`, and waits until the receiver delivers updates.
    ///
    /// Errors: a port cannot be bound, an app fails to start, or the receiver delivers
    /// nothing within 30 s.
    pub async fn start(ports: Ports) -> anyhow::Result<Self> {
        let sender_listener = bind(ports.sender, "sender").await?;
        let media_listener = bind(ports.media, "receiver's /media").await?;
        let control_listener = bind(ports.control, "testdc control API").await?;
        let consumer_listener = bind(ports.consumer, "webhook consumer").await?;
        let mtproto = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.mtproto));
        let dc = TestDc::start(TestDcConfig {
            bind: mtproto,
            ..TestDcConfig::default()
        })
        .await
        .with_context(|| format!("failed to start testdc on {mtproto}"))?;
        let dc = Arc::new(dc);
        let addrs = Addrs {
            sender: sender_listener.local_addr()?,
            media: media_listener.local_addr()?,
            mtproto: dc.addr(),
            control: control_listener.local_addr()?,
            consumer: consumer_listener.local_addr()?,
        };

        let dir = tempfile::tempdir().context("failed to create a scratch directory")?;
        let sessions = dir.path().join("sessions");
        dc.write_session(sessions.join("demo.session"))
            .await
            .context("failed to write the demo session")?;
        // Two more accounts in the same processes (SESSIONS_DIR): shop2 signed in, shop3
        // waiting for its login over the management API.
        let more = dc.add_accounts(2);
        for ((name, secret), account, signed_in) in
            [(SHOP2, &more[0], true), (SHOP3, &more[1], false)]
        {
            let account = dc
                .account(account.user_id)
                .context("testdc lost an account it just added")?;
            let path = sessions.join(format!("{name}.session"));
            if signed_in {
                account.write_session(&path).await
            } else {
                account.write_unauthorized_session(&path).await
            }
            .with_context(|| format!("failed to write the {name} session"))?;
            let settings = ops::accounts::AccountSettings {
                secret: secret.to_owned(),
                ..ops::accounts::AccountSettings::default()
            };
            ops::accounts::write_settings(&sessions, name, &settings)
                .await
                .with_context(|| format!("failed to write the {name} settings"))?;
        }
        let session = path_str(&sessions.join("demo"))?;
        let sessions = path_str(&sessions)?;
        let media_dir = path_str(&dir.path().join("media"))?;

        let (stop, _) = watch::channel(false);
        let (events, _) = broadcast::channel(256);
        let mut tasks = JoinSet::new();

        let sender_args = [
            "sender",
            "--x-api-token",
            DEMO_KEY,
            "--tg-api-id",
            "1",
            "--tg-session-name",
            &session,
            "--tg-api-hash",
            "00000000000000000000000000000000",
            "--sessions-dir",
            &sessions,
            "--admin-api-key",
            DEMO_ADMIN_KEY,
            // The consumer answers voice notes with a file it serves on loopback.
            "--allow-private-urls",
            "true",
        ];
        let sender =
            sender::accounts::Accounts::start(sender::Config::try_parse_from(sender_args)?)
                .await
                .context("failed to start the sender")?;
        tasks.spawn(sender.serve(sender_listener, stopped(&stop)));

        let consumer = consumer::Consumer::new(addrs.sender, addrs.consumer, events.clone());
        tasks.spawn(serve(consumer_listener, consumer.router(), stopped(&stop)));
        let control = testdc::http::router(dc.clone());
        tasks.spawn(serve(control_listener, control, stopped(&stop)));

        let webhook_url = format!("http://{}/webhook", addrs.consumer);
        let media_bind = addrs.media.to_string();
        let media_port = addrs.media.port().to_string();
        let receiver_args = [
            "receiver",
            "--api-id",
            "1",
            "--session-name",
            &session,
            "--webhook-url",
            &webhook_url,
            "--media-dir",
            &media_dir,
            "--media-bind",
            &media_bind,
            "--public-media-host",
            "127.0.0.1",
            "--public-media-port",
            &media_port,
            "--sessions-dir",
            &sessions,
        ];
        let mut probes = events.subscribe();
        tasks.spawn(receiver::accounts::run_on(
            receiver::Config::try_parse_from(receiver_args)?,
            media_listener,
            stopped(&stop),
        ));

        let demo = Self {
            dc,
            addrs,
            events,
            stop,
            tasks,
            _dir: dir,
        };
        demo.until_live(&mut probes).await?;
        Ok(demo)
    }

    /// Messages testdc recorded before the receiver's first `getState` count as seen: probe
    /// (in Carol's chat, out of the way of the README's examples) until one is delivered.
    async fn until_live(&self, probes: &mut broadcast::Receiver<Event>) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + LIVE_TIMEOUT;
        for i in 0.. {
            if tokio::time::Instant::now() > deadline {
                bail!("the receiver delivered no update within {LIVE_TIMEOUT:?}");
            }
            self.dc.send_text(SendText {
                from: None,
                chat_id: Fixture::DEFAULT.carol,
                text: format!("{PROBE_PREFIX} {i}"),
                reply_to_message_id: None,
            })?;
            let probed =
                async { while !matches!(probes.recv().await, Ok(Event::Probe) | Err(_)) {} };
            if tokio::time::timeout(Duration::from_millis(250), probed)
                .await
                .is_ok()
            {
                break;
            }
        }
        Ok(())
    }

    /// The hermetic Telegram.
    pub fn dc(&self) -> &TestDc {
        &self.dc
    }

    /// Where everything listens.
    pub fn addrs(&self) -> Addrs {
        self.addrs
    }

    /// What the consumer does from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The addresses and the key, one per line, for the terminal.
    pub fn describe(&self) -> String {
        let a = self.addrs;
        format!(
            "  sender (Bot API)     http://{}   x-api-key: {DEMO_KEY}   x-admin-key: {DEMO_ADMIN_KEY}\n  \
             receiver /media      http://{}\n  \
             testdc MTProto       {}\n  \
             testdc control API   http://{}   (GET /world lists every id)\n  \
             webhook consumer     http://{}/webhook",
            a.sender, a.media, a.mtproto, a.control, a.consumer
        )
    }

    /// How to drive the running demo with curl, for the terminal.
    pub fn try_this(&self) -> String {
        let alice = Fixture::DEFAULT.alice;
        let (control, sender) = (self.addrs.control, self.addrs.sender);
        format!(
            "Make Alice write (the consumer answers her):\n  \
             curl -fsS {control}/send -H 'content-type: application/json' \
             -d '{{\"chat_id\": {alice}, \"text\": \"hello\"}}'\n\
             Write to Alice through the sender:\n  \
             curl -fsS {sender}/api_v1/sendMessage -H 'x-api-key: {DEMO_KEY}' \
             -H 'content-type: application/json' -d '{{\"chat_id\": {alice}, \"text\": \"hi Alice\"}}'"
        )
    }

    /// Prints every message the account sends to Alice, Bob or Carol from now on (through
    /// the sender, or the consumer's answers), as testdc records it.
    pub fn watch_outgoing(&mut self) {
        let f = Fixture::DEFAULT;
        for (name, chat) in [("Alice", f.alice), ("Bob", f.bob), ("Carol", f.carol)] {
            let dc = self.dc.clone();
            let mut stop = self.stop.subscribe();
            self.tasks.spawn(async move {
                tokio::select! {
                    watched = watch_chat(&dc, name, chat) => watched,
                    _ = stop.wait_for(|stop| *stop) => Ok(()),
                }
            });
        }
    }

    /// Stops everything and waits for the apps to drain. Errors: an app failed.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop.send_replace(true);
        let drained = tokio::time::timeout(SHUTDOWN_TIMEOUT, async {
            while let Some(joined) = self.tasks.join_next().await {
                joined.context("a demo task panicked")??;
            }
            anyhow::Ok(())
        });
        drained
            .await
            .with_context(|| format!("the demo did not stop within {SHUTDOWN_TIMEOUT:?}"))?
    }
}

/// Prints each message the account sends in `chat`, as long as testdc runs.
async fn watch_chat(dc: &TestDc, name: &str, chat: i64) -> anyhow::Result<()> {
    let mut after = dc
        .history(chat)?
        .iter()
        .map(|m| m.message_id)
        .max()
        .unwrap_or(0);
    loop {
        match dc
            .wait_outgoing(chat, after, Duration::from_secs(3600))
            .await
        {
            Ok(m) => {
                after = m.message_id;
                let media = m
                    .media
                    .map(|x| format!(" [{} {}]", x.kind, x.mime_type))
                    .unwrap_or_default();
                println!(
                    "   Telegram (testdc): you → {name}, #{}: {}{media}",
                    m.message_id, m.text
                );
            }
            Err(ControlError::Timeout(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

fn path_str(path: &std::path::Path) -> anyhow::Result<String> {
    path.to_str()
        .map(str::to_owned)
        .with_context(|| format!("scratch path {} is not UTF-8", path.display()))
}

/// Resolves once `stop` is set (or dropped).
fn stopped(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut stop = stop.subscribe();
    async move {
        let _ = stop.wait_for(|stop| *stop).await;
    }
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
        .context("an HTTP server of the demo failed")
}
