//! Shared setup for the end-to-end flows: testdc with a session, the sender and the receiver
//! in-process (configured through their command-line flags, as their binaries are), and
//! waiting until the receiver's update stream is live.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use receiver::Handled;
use testdc::{Fixture, SendText, TestDc, TestDcConfig};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// The sender's `X_API_TOKEN` in these tests.
pub(crate) const TOKEN: &str = "100000001:e2e-token";

/// A running testdc with a ready session file.
pub(crate) struct Stack {
    /// The hermetic Telegram.
    pub dc: TestDc,
    /// Scratch space (session, media).
    pub dir: tempfile::TempDir,
    /// `TG_SESSION_NAME` for both apps.
    pub session: String,
}

/// A committed media fixture.
pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

impl Stack {
    /// Starts testdc and writes the session both apps share.
    pub(crate) async fn start() -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("warn")
            .try_init();
        let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        dc.write_session(dir.path().join("e2e.session"))
            .await
            .unwrap();
        let session = dir.path().join("e2e").to_str().unwrap().to_owned();
        Self { dc, dir, session }
    }

    /// Starts the sender with extra flags; returns its address.
    pub(crate) async fn sender(&self, extra: &[&str]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut args = vec![
            "sender",
            "--x-api-token",
            TOKEN,
            "--tg-api-id",
            "1",
            "--tg-session-name",
            &self.session,
        ];
        args.extend_from_slice(extra);
        let app = sender::App::build_with_listener(
            sender::Config::try_parse_from(args).unwrap(),
            listener,
        )
        .await
        .unwrap();
        tokio::spawn(app.run_until(std::future::pending()));
        addr
    }

    /// Starts the receiver with extra flags, waits until its update stream is live, and
    /// returns its stream of handled payloads.
    pub(crate) async fn receiver(&self, extra: &[&str]) -> broadcast::Receiver<Handled> {
        let media_dir = self.dir.path().join("media");
        let media_dir = media_dir.to_str().unwrap();
        let mut args = vec![
            "receiver",
            "--api-id",
            "1",
            "--session-name",
            &self.session,
            "--media-bind",
            "127.0.0.1:0",
            "--media-dir",
            media_dir,
        ];
        args.extend_from_slice(extra);
        let app = receiver::App::build(receiver::Config::try_parse_from(args).unwrap())
            .await
            .unwrap();
        let mut payloads = app.subscribe();
        tokio::spawn(app.run_until(std::future::pending()));
        // Messages recorded before the stream's getState count as seen: probe until one comes.
        let alice = Fixture::DEFAULT.alice;
        for i in 0..100 {
            let probe = SendText {
                from: None,
                chat_id: alice,
                text: format!("probe {i}"),
                reply_to_message_id: None,
            };
            self.dc.send_text(probe).unwrap();
            if tokio::time::timeout(Duration::from_millis(250), payloads.recv())
                .await
                .is_ok()
            {
                return payloads;
            }
        }
        panic!("the receiver never delivered a probe");
    }
}
