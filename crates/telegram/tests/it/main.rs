//! End-to-end tests of the Telegram layer: the real grammers client against testdc.
#![allow(clippy::unwrap_used)]

mod bursts;
mod downloads;
mod login;
mod media;

use std::sync::Arc;
use std::time::Duration;

use botapi::ids::ChatIdParam;
use telegram::{DEFAULT_UPLOAD_CONCURRENCY, OutgoingText, Telegram, TelegramConfig, TelegramError};
use testdc::{Fixture, SendText, TestDc, TestDcConfig};

/// Longest single wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// A DC and a connected client.
pub struct Harness {
    /// The server.
    pub dc: TestDc,
    /// The client under test.
    pub tg: Arc<Telegram>,
    _dir: tempfile::TempDir,
}

/// Starts testdc and connects a client through a seeded session.
pub async fn harness() -> Harness {
    harness_with(DEFAULT_UPLOAD_CONCURRENCY).await
}

/// [`harness`] with a client uploading at most `upload_concurrency` file parts at once.
pub async fn harness_with(upload_concurrency: usize) -> Harness {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.session");
    dc.write_session(&path).await.unwrap();
    let tg = Telegram::connect(config(path, upload_concurrency))
        .await
        .unwrap();
    Harness {
        dc,
        tg: Arc::new(tg),
        _dir: dir,
    }
}

/// The client settings of these tests.
pub fn config(session_path: std::path::PathBuf, upload_concurrency: usize) -> TelegramConfig {
    TelegramConfig {
        api_id: 1,
        session_path,
        flood_sleep_threshold: Duration::from_secs(5),
        updates_capacity: 1000,
        upload_concurrency,
    }
}

impl Harness {
    /// A second client on the same session file (after the first disconnected).
    pub async fn reconnect(&self) -> Arc<Telegram> {
        let path = self._dir.path().join("test.session");
        let config = config(path, DEFAULT_UPLOAD_CONCURRENCY);
        Arc::new(Telegram::connect(config).await.unwrap())
    }
}

#[tokio::test]
async fn connects_and_knows_the_account() {
    let h = harness().await;
    let me = h.tg.account();
    assert_eq!(me.user.id, Fixture::DEFAULT.self_id);
    assert_eq!(me.user.username.as_deref(), Some("testaccount"));
    assert_eq!(me.phone.as_deref(), Some(Fixture::PHONE));
}

#[tokio::test]
async fn sent_text_reaches_the_server_history() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    let peer = h.tg.resolve_chat(&ChatIdParam::Id(alice)).await.unwrap();
    let sent =
        h.tg.send_text(
            peer,
            OutgoingText {
                text: "hi alice".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.text.as_deref(), Some("hi alice"));
    assert_eq!(sent.chat.id, alice);
    assert_eq!(sent.from.as_ref().unwrap().id, Fixture::DEFAULT.self_id);
    let history = h.dc.history(alice).unwrap();
    assert_eq!(history[0].message_id, sent.message_id);
    assert!(history[0].out);
}

#[tokio::test]
async fn incoming_text_arrives_on_the_update_stream() {
    let h = harness().await;
    let mut updates = live_stream(&h).await;
    let alice = Fixture::DEFAULT.alice;
    h.dc.send_text(SendText {
        from: Some(alice),
        chat_id: alice,
        text: "hello".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    // A probe `live_stream` sent may still be on its way: skip to the message sent here.
    let got = tokio::time::timeout(WAIT, async {
        loop {
            let got = updates.next().await.unwrap();
            if got.message.text.as_deref() != Some("probe") {
                return got;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got.message.text.as_deref(), Some("hello"));
    assert_eq!(got.message.from.unwrap().first_name, "Alice");
    assert!(!got.outgoing);
}

/// Starts the update stream and waits until its initial getState has been answered, by sending
/// probe messages until one arrives (messages recorded before getState count as seen).
pub async fn live_stream(h: &Harness) -> telegram::UpdateStream {
    let mut updates = h.tg.updates(false).await.unwrap();
    let alice = Fixture::DEFAULT.alice;
    for _ in 0..50 {
        h.dc.send_text(SendText {
            from: None,
            chat_id: alice,
            text: "probe".into(),
            reply_to_message_id: None,
        })
        .unwrap();
        if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), updates.next()).await {
            got.unwrap();
            return updates;
        }
    }
    panic!("update stream never became live");
}

#[tokio::test]
async fn messages_in_every_chat_kind_arrive_in_order() {
    let h = harness().await;
    let mut updates = live_stream(&h).await;
    let f = Fixture::DEFAULT;
    let supergroup = testdc::ChatRef::Channel(f.supergroup).bot_api_id();
    let channel = testdc::ChatRef::Channel(f.channel).bot_api_id();
    let sends = [
        (Some(f.bob), -f.group, "in group"),
        (Some(f.carol), supergroup, "in supergroup"),
        (None, channel, "channel post"),
        (Some(supergroup), supergroup, "anonymous admin"),
    ];
    for (from, chat_id, text) in sends {
        h.dc.send_text(SendText {
            from,
            chat_id,
            text: text.into(),
            reply_to_message_id: None,
        })
        .unwrap();
        let got = tokio::time::timeout(WAIT, updates.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.message.text.as_deref(), Some(text));
        assert_eq!(got.message.chat.id, chat_id, "{text}");
    }
}

#[tokio::test]
async fn after_dropped_connections_the_stream_catches_up() {
    let h = harness().await;
    let mut updates = live_stream(&h).await;
    let f = Fixture::DEFAULT;
    h.dc.drop_connections();
    h.dc.send_text(SendText {
        from: None,
        chat_id: f.bob,
        text: "while down".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let got = tokio::time::timeout(WAIT, updates.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message.text.as_deref(), Some("while down"));
    h.dc.send_text(SendText {
        from: None,
        chat_id: f.bob,
        text: "after".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let got = tokio::time::timeout(WAIT, updates.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message.text.as_deref(), Some("after"));
}

#[tokio::test]
async fn username_resolves_and_unknown_chat_is_not_found() {
    let h = harness().await;
    assert!(
        h.tg.resolve_chat(&ChatIdParam::Username("testsupergroup".into()))
            .await
            .is_ok()
    );
    assert!(matches!(
        h.tg.resolve_chat(&ChatIdParam::Id(987_654_321)).await,
        Err(TelegramError::ChatNotFound)
    ));
}
