//! Nothing is lost across restarts, crashes and dropped connections: getDifference and
//! getChannelDifference from the saved position, SIGKILL of the real binary mid-stream, and
//! connections dropped every second under load. A refused outbox stops the start.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use testdc::{SendText, TestDc, TestDcConfig};

use crate::helpers::{
    Options, Sink, group_id, ids, init_tracing, spawn_app, start_app, supergroup_id,
    wait_live_via_sink,
};
use crate::sink::Received;
use crate::two_processes::spawn_receiver;

/// Collects sink requests (starting with `first`) until every text in `wanted` was answered
/// 2xx; checks that each text kept one `webhook-id` on every request.
async fn collect(sink: &mut Sink, first: Vec<Received>, wanted: &HashSet<String>) {
    let mut ids = HashMap::<String, String>::new();
    let mut delivered = HashSet::<String>::new();
    let mut pending = first.into_iter();
    while delivered.len() < wanted.len() {
        let got = match pending.next() {
            Some(got) => got,
            None => match sink.try_next(crate::helpers::WAIT).await {
                Some(got) => got,
                None => {
                    let mut missing: Vec<_> = wanted.difference(&delivered).collect();
                    missing.sort();
                    panic!(
                        "{} of {} delivered; missing {missing:?}",
                        delivered.len(),
                        wanted.len()
                    );
                }
            },
        };
        let Some(text) = got.text().filter(|t| wanted.contains(*t)) else {
            continue;
        };
        let id = ids
            .entry(text.to_owned())
            .or_insert_with(|| got.webhook_id().to_owned());
        assert_eq!(id, got.webhook_id(), "{text} was re-sent under a new id");
        if got.delivered() {
            delivered.insert(text.to_owned());
        }
    }
}

fn send(dc: &TestDc, from: i64, chat_id: i64, text: &str) {
    dc.send_text(SendText {
        from: Some(from),
        chat_id,
        text: text.into(),
        reply_to_message_id: None,
    })
    .expect("send_text");
}

#[tokio::test]
async fn updates_sent_while_stopped_arrive_after_restart_via_get_difference() {
    let mut app = spawn_app(Options::default()).await;
    let (alice, carol) = (ids().alice, ids().carol);
    // The supergroup's position is saved before the stop (getChannelDifference needs it).
    app.send(Some(carol), supergroup_id(), "before the stop", None);
    assert_eq!(app.next_payload().await.text(), Some("before the stop"));
    let (result, dc, sink, dir, guard) = app.stop_keep().await;
    result.unwrap();

    let mut wanted = HashSet::new();
    for i in 0..5 {
        for (from, chat, name) in [
            (alice, alice, "private"),
            (carol, supergroup_id(), "supergroup"),
        ] {
            let text = format!("while stopped {name} {i}");
            send(&dc, from, chat, &text);
            wanted.insert(text);
        }
    }
    let mut app = start_app(dc, sink, dir, guard, &Options::default()).await;
    let skipped = std::mem::take(&mut app.skipped);
    collect(app.sink_mut(), skipped, &wanted).await;
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_stream_loses_nothing_and_never_changes_an_id() {
    init_tracing();
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut sink = Sink::start().await;
    let (mut child, _output) = spawn_receiver(dir.path(), &sink);
    wait_live_via_sink(&dc, &mut sink).await;
    // The supergroup's position exists before the crash.
    send(&dc, ids().carol, supergroup_id(), "known");
    sink.skip_until("known").await;

    const COUNT: usize = 600;
    let targets = [
        (ids().alice, ids().alice),
        (ids().bob, group_id()),
        (ids().carol, supergroup_id()),
    ];
    let wanted: HashSet<String> = (0..COUNT).map(|i| format!("k {i}")).collect();
    let sender = {
        let dc = dc.clone();
        tokio::spawn(async move {
            for i in 0..COUNT {
                let (from, chat) = targets[i % targets.len()];
                send(&dc, from, chat, &format!("k {i}"));
                tokio::task::yield_now().await;
            }
        })
    };
    // Kill while updates are arriving and being delivered.
    let mut seen = Vec::new();
    while seen.iter().filter(|r: &&Received| r.delivered()).count() < 100 {
        seen.push(sink.next().await);
    }
    child.kill().await.expect("SIGKILL the receiver");
    sender.await.unwrap();

    let (mut child, _output) = spawn_receiver(dir.path(), &sink);
    collect(&mut sink, seen, &wanted).await;
    child.kill().await.unwrap();
}

/// Sends `count` messages round-robin to `targets`, one every 10 ms, while testdc drops every
/// connection once a second; returns when all are delivered.
async fn load_with_drops(targets: &'static [(i64, i64)], count: usize) {
    let mut app = spawn_app(Options::default()).await;
    let wanted: HashSet<String> = (0..count).map(|i| format!("d {i}")).collect();
    let load = {
        let dc = app.dc.clone();
        tokio::spawn(async move {
            let mut drops = tokio::time::interval(Duration::from_secs(1));
            let mut pace = tokio::time::interval(Duration::from_millis(10));
            let mut sent = 0;
            while sent < count {
                tokio::select! {
                    _ = drops.tick() => dc.drop_connections(),
                    _ = pace.tick() => {
                        let (from, chat) = targets[sent % targets.len()];
                        send(&dc, from, chat, &format!("d {sent}"));
                        sent += 1;
                    }
                }
            }
            dc.drop_connections();
        })
    };
    collect(app.sink_mut(), Vec::new(), &wanted).await;
    load.await.unwrap();
    app.stop().await.unwrap();
}

const ALICE: i64 = 200_000_001;
const BOB: i64 = 200_000_002;
const GROUP: i64 = -300_000_001;
const SUPERGROUP: i64 = -1_001_400_000_001;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_dropped_every_second_under_load_lose_nothing() {
    assert_eq!((ALICE, BOB, GROUP), (ids().alice, ids().bob, group_id()));
    load_with_drops(&[(ALICE, ALICE), (BOB, GROUP), (BOB, BOB)], 600).await;
}

/// Supergroup messages posted while connections drop arrive too: after the reconnect,
/// getDifference announces the channel with `updateChannelTooLong` *without* a pts (grammers
/// would otherwise adopt that pts as its own position and skip the missed range), and grammers
/// fetches them with getChannelDifference from the last position it handed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn supergroup_under_dropped_connections_loses_nothing() {
    assert_eq!(SUPERGROUP, supergroup_id());
    load_with_drops(&[(ALICE, ALICE), (BOB, SUPERGROUP)], 600).await;
}

#[tokio::test]
async fn a_damaged_outbox_refuses_to_start_and_is_left_alone() {
    init_tracing();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = crate::helpers::config(dir.path(), None);
    dc.write_session(config.session_path()).await.unwrap();
    let outbox = config.outbox_path();
    std::fs::write(
        &outbox,
        b"SQLite format 3\0 but not really a database at all",
    )
    .unwrap();

    let err = receiver::App::build(config.clone())
        .await
        .err()
        .expect("refused");

    let message = format!("{err:#}");
    assert!(message.contains("OUTBOX_PATH"), "{message}");
    assert!(message.contains(&outbox.display().to_string()), "{message}");
    assert!(
        std::fs::read(&outbox)
            .unwrap()
            .starts_with(b"SQLite format 3\0 but")
    );

    // A directory where the file should be: unreadable, refused the same way.
    std::fs::remove_file(&outbox).unwrap();
    std::fs::create_dir(&outbox).unwrap();
    let err = receiver::App::build(config).await.err().expect("refused");
    assert!(format!("{err:#}").contains("OUTBOX_PATH"));
}

/// The drain deadline counts from the stop signal: a receiver that has run longer than its
/// `SHUTDOWN_DRAIN_TIMEOUT` still lets a webhook POST in flight at SIGTERM finish, and the
/// update counts as delivered (it is not sent again at the next start).
#[tokio::test]
async fn a_webhook_post_in_flight_at_shutdown_completes_after_a_long_uptime() {
    init_tracing();
    let app = spawn_app(Options {
        configure: |c| c.shutdown_drain_timeout = Duration::from_secs(2),
        ..Options::default()
    })
    .await;
    // The case this guards: uptime longer than the drain timeout. A deadline taken when the
    // app started would already be over at the signal and cut the attempt off.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut app = app;
    app.sink_mut().hold_next(Duration::from_millis(1_000));
    let f = ids();
    send(&app.dc, f.alice, f.alice, "in flight at shutdown");
    // Returns as soon as the sink has the request, while it still holds the answer.
    app.sink_mut().skip_until("in flight at shutdown").await;
    let outbox_path = app.dir.join("tg_userbot.outbox");
    // Keep the directory guard: dropping it deletes the outbox.
    let (result, _dc, _sink, _path, _guard) = app.stop_keep().await;
    result.expect("clean stop");
    assert!(outbox_path.exists(), "the outbox file is still there");
    let outbox = receiver::Outbox::open(&outbox_path).await.expect("outbox");
    let stats = outbox.stats().await.expect("stats");
    assert_eq!(
        stats.pending, 0,
        "the held POST was cut off by the drain deadline"
    );
}
