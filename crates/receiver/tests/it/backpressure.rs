//! A small update queue (`UPDATES_QUEUE`) loses nothing: what grammers drops from its full
//! channel is fetched again with `updates.getDifference` (vendored grammers-mtsender patch)
//! and delivered exactly once, in order per chat.

use std::collections::HashMap;
use std::time::Duration;

use crate::helpers::{Options, config, ids, spawn_app};

/// Messages in the burst: far more than the queue holds.
const BURST: usize = 1_000;
/// The queue under test.
const QUEUE: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_larger_than_the_update_queue_arrives_exactly_once() {
    let mut app = spawn_app(Options {
        configure: |c| c.updates_queue = QUEUE,
        ..Options::default()
    })
    .await;
    let f = ids();
    let chats = [f.alice, f.bob, f.carol];
    // Hold the outbox's write lock from another connection, so the update loop cannot store
    // anything while the whole burst arrives: grammers' channel fills after QUEUE updates and
    // it drops the rest — the tail of the burst included, which no later update reveals as a
    // gap. Without the patch that tail would wait for grammers' 15-minute idle timeout.
    let outbox = config(&app.dir, None).outbox_path();
    let db = libsql::Builder::new_local(&outbox).build().await.unwrap();
    let conn = db.connect().unwrap();
    // The receiver may be writing (its start-up rows) at this moment: wait for the lock as
    // the receiver's own connections do, instead of failing with SQLITE_BUSY at once.
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.execute("BEGIN IMMEDIATE", ()).await.unwrap();
    let calls_before = app.dc.calls();
    for i in 0..BURST {
        let chat = chats[i % chats.len()];
        app.send(
            Some(chat),
            chat,
            &format!("b {} {i}", i % chats.len()),
            None,
        );
    }
    // Setup, not an assertion: give the pushes time to reach (and overflow) the channel.
    tokio::time::sleep(Duration::from_secs(2)).await;
    conn.execute("ROLLBACK", ()).await.unwrap();
    drop(conn);

    let sink = app.sink_mut();
    let mut delivered = HashMap::<String, usize>::new();
    let mut order = HashMap::<usize, Vec<usize>>::new();
    while delivered.len() < BURST {
        let got = sink.next().await;
        let Some(text) = got.text().filter(|t| t.starts_with("b ")) else {
            continue;
        };
        *delivered.entry(text.to_owned()).or_default() += 1;
        let mut parts = text.split(' ').skip(1).map(|p| p.parse::<usize>().unwrap());
        let (lane, seq) = (parts.next().unwrap(), parts.next().unwrap());
        order.entry(lane).or_default().push(seq);
    }
    assert!(
        delivered.values().all(|&n| n == 1),
        "each message delivered once"
    );
    for (lane, seqs) in &order {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "chat {lane} out of order"
        );
    }
    // Pushes are not calls: only the receiver asking for what it missed makes the count grow.
    assert!(
        app.dc.calls() > calls_before,
        "the dropped updates were fetched with getDifference"
    );
    app.stop().await.unwrap();
}
