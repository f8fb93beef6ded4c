//! Stale update state never stalls the stream: a saved position naming a channel the DC no
//! longer knows (testdc restarted as a fresh world, so the cached access hash is refused with
//! `CHANNEL_INVALID`) drops that channel with one WARN line, and every other chat keeps flowing.

use std::io::Write;
use std::sync::{Arc, Mutex};

use testdc::{SendText, TestDc, TestDcConfig};

use crate::helpers::{
    Options, Probe, Sink, TestApp, channel_id, config, ids, init_tracing, start_app,
    start_app_probing, supergroup_id,
};

/// WARN and ERROR lines logged on this thread (the app's tasks included: the test runtime is
/// single-threaded) while the guard lives.
pub(crate) struct Warnings {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Warnings {
    pub(crate) fn capture() -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let buffer = Buffer(lines.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || buffer.clone())
            .finish();
        Self {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.lines.lock().unwrap_or_else(|e| e.into_inner()))
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Warnings {
    /// A failing test shows what was captured (the test writer never saw it).
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("captured warnings:\n{}", self.lines().join("\n"));
        }
    }
}

/// Probes of a receiver whose only traffic is in the supergroup: Carol's messages there.
const SUPERGROUP_PROBE: Probe = Probe {
    send: |dc, text| {
        dc.send_text(SendText {
            from: Some(ids().carol),
            chat_id: supergroup_id(),
            text: text.into(),
            reply_to_message_id: None,
        })
        .expect("supergroup probe");
    },
    text: |body| body["message"]["text"].as_str(),
};

/// A receiver that has only ever seen supergroup messages (its saved position is that one
/// channel's pts, no common pts: grammers' first step after a restart is that channel's
/// getChannelDifference), restarted against a fresh testdc whose world gives the supergroup a
/// new access hash (the session's peer cache still holds the old one). `before_start` runs
/// against the new DC before the receiver starts.
async fn restart_against_a_fresh_dc(before_start: fn(&TestDc)) -> TestApp {
    init_tracing();
    let old_dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    old_dc
        .write_session(config(&path, None).session_path())
        .await
        .unwrap();
    let app = start_app_probing(
        old_dc,
        Some(Sink::start().await),
        path,
        Some(dir),
        &Options::default(),
        &SUPERGROUP_PROBE,
    )
    .await;
    let (result, old_dc, sink, dir, guard) = app.stop_keep().await;
    result.unwrap();
    let saved = receiver::Outbox::open(config(&dir, None).outbox_path())
        .await
        .unwrap()
        .load_position()
        .await
        .unwrap()
        .expect("a saved position");
    assert!(saved.channels.contains_key(&ids().supergroup), "{saved:?}");
    assert_eq!(saved.common, None, "{saved:?}");

    drop(old_dc);
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    dc.write_session(config(&dir, None).session_path())
        .await
        .unwrap();
    before_start(&dc);
    start_app(dc, sink, dir, guard, &Options::default()).await
}

/// After the restart: a private message and a post in the other channel reach the webhook.
async fn other_chats_flow(app: &mut TestApp) {
    app.send(
        Some(ids().alice),
        ids().alice,
        "private after the restart",
        None,
    );
    assert_eq!(
        app.next_payload().await.text(),
        Some("private after the restart")
    );
    app.send(None, channel_id(), "channel post after the restart", None);
    assert_eq!(
        app.next_payload().await.text(),
        Some("channel post after the restart")
    );
}

#[tokio::test]
async fn a_channel_the_restarted_dc_refuses_is_dropped_with_one_warning_and_other_chats_flow() {
    let warnings = Warnings::capture();
    let mut app = restart_against_a_fresh_dc(|_| {}).await;
    other_chats_flow(&mut app).await;
    let (result, dc, _sink, dir, _guard) = app.stop_keep().await;
    result.unwrap();

    // Dropped for good: the next start does not check (nor warn about) it again.
    let saved = receiver::Outbox::open(config(&dir, None).outbox_path())
        .await
        .unwrap();
    let saved = saved.load_position().await.unwrap().expect("a position");
    assert!(!saved.channels.contains_key(&ids().supergroup), "{saved:?}");

    assert_eq!(
        dc.errors_answered("updates.getChannelDifference", "CHANNEL_INVALID"),
        0,
        "the stale channel reached grammers"
    );
    let lines = warnings.lines();
    let about_channel: Vec<_> = lines
        .iter()
        .filter(|l| l.contains(&ids().supergroup.to_string()))
        .collect();
    assert_eq!(about_channel.len(), 1, "{lines:#?}");
    assert!(
        about_channel[0].contains("WARN") && about_channel[0].contains("CHANNEL_INVALID"),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("update stream error")),
        "{lines:#?}"
    );
}

/// The start-up check cannot run (`channels.getChannels` fails once with a 500), so grammers
/// asks for the stale channel's difference itself: its first `CHANNEL_INVALID` drops the
/// channel and the stream goes on, with no retry.
#[tokio::test]
async fn a_channel_refused_after_an_unchecked_start_is_dropped_on_the_first_refusal() {
    let warnings = Warnings::capture();
    let mut app =
        restart_against_a_fresh_dc(|dc| dc.fail_next("channels.getChannels", 1, "INTERNAL")).await;
    other_chats_flow(&mut app).await;
    let dc = app.dc.clone();
    app.stop().await.unwrap();

    assert_eq!(
        dc.errors_answered("updates.getChannelDifference", "CHANNEL_INVALID"),
        1
    );
    let lines = warnings.lines();
    let about_channel: Vec<_> = lines
        .iter()
        .filter(|l| l.contains(&ids().supergroup.to_string()))
        .collect();
    let ours = about_channel
        .iter()
        .filter(|l| l.contains("telegram::stale") && l.contains("CHANNEL_INVALID"));
    assert_eq!(ours.count(), 1, "{lines:#?}");
    // grammers adds its own line when it drops the channel ("missing its hash").
    assert!(about_channel.len() <= 2, "{lines:#?}");
    assert!(
        !lines.iter().any(|l| l.contains("update stream error")),
        "{lines:#?}"
    );
}

/// The compose demo run twice on the same `./sessions`: the testdc binary's world is new, but
/// its counters start from the clock (`counters_from_clock`), so the saved common pts and the
/// outbox's message ids of the earlier run are behind it — new messages are neither skipped as
/// already seen nor taken for replays of old ones. (With counters from 0, every message Alice
/// wrote while the receiver was down is lost.)
#[tokio::test]
async fn a_testdc_restarted_with_clock_counters_is_ahead_of_the_saved_state() {
    init_tracing();
    let mut app = crate::helpers::spawn_app(Options::default()).await;
    let alice = ids().alice;
    for n in 0..5 {
        app.send(Some(alice), alice, &format!("earlier run {n}"), None);
        assert_eq!(
            app.next_payload().await.text(),
            Some(format!("earlier run {n}").as_str())
        );
    }
    let (result, old_dc, sink, dir, guard) = app.stop_keep().await;
    result.unwrap();
    drop(old_dc);

    let dc = Arc::new(
        TestDc::start(TestDcConfig {
            counters_from_clock: true,
            ..TestDcConfig::default()
        })
        .await
        .unwrap(),
    );
    dc.write_session(config(&dir, None).session_path())
        .await
        .unwrap();
    // Alice writes while the receiver is down; it catches up at start. With counters from 0
    // these messages take the ids the earlier run already stored for her chat (and a pts the
    // saved state has passed), and the receiver drops them as replays.
    let texts: Vec<String> = (0..8).map(|n| format!("while down {n}")).collect();
    for text in &texts {
        dc.send_text(SendText {
            from: Some(alice),
            chat_id: alice,
            text: text.clone(),
            reply_to_message_id: None,
        })
        .unwrap();
    }
    let mut app = start_app(dc, sink, dir, guard, &Options::default()).await;
    let mut seen: Vec<String> = app
        .skipped
        .iter()
        .filter_map(|r| r.text().map(str::to_owned))
        .collect();
    app.send(Some(alice), alice, "second run", None);
    loop {
        let got = app.next_payload().await;
        let text = got.text().unwrap_or_default().to_owned();
        seen.push(text.clone());
        if text == "second run" {
            break;
        }
    }
    for text in &texts {
        assert!(
            seen.contains(text),
            "{text:?} was never delivered; got {seen:?}"
        );
    }
    app.stop().await.unwrap();
}
