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

/// A receiver that only receives makes no call of its own that could carry its
/// acknowledgements: they must go out on their own as updates arrive, at most 8192 ids per
/// `msgs_ack` (MTProto, "Service Messages about Messages"). Before the vendored
/// grammers-mtproto patch they waited for the keepalive ping a minute later, in one
/// `msgs_ack` that under load grew past the 1 MiB message limit and lost the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushed_updates_are_acknowledged_as_they_arrive_within_the_mtproto_limit() {
    /// Far more than grammers now lets wait for a carrier (1,024).
    const PUSHED: u64 = 3_000;
    // A queue that holds the whole burst: no drop, so no getDifference whose call could
    // carry the acknowledgements (counted below).
    let mut app = spawn_app(Options {
        configure: |c| c.updates_queue = 10_000,
        ..Options::default()
    })
    .await;
    let f = ids();
    let (acked_before, _) = app.dc.acks_received();
    let calls_before = app.dc.calls();
    for i in 0..PUSHED {
        app.send(Some(f.alice), f.alice, &format!("ack {i}"), None);
    }
    let sink = app.sink_mut();
    let mut delivered = 0;
    while delivered < PUSHED {
        if sink
            .next()
            .await
            .text()
            .is_some_and(|t| t.starts_with("ack "))
        {
            delivered += 1;
        }
    }
    // Every update is delivered; its acknowledgement follows within a network step or two.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let (acked, largest) = loop {
        let (acked, largest) = app.dc.acks_received();
        if acked - acked_before >= PUSHED - 1_024 || tokio::time::Instant::now() > deadline {
            break (acked - acked_before, largest);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        acked >= PUSHED - 1_024,
        "only {acked} of {PUSHED} pushed updates acknowledged"
    );
    assert!(largest <= 8_192, "one msgs_ack carried {largest} ids");
    assert_eq!(
        app.dc.calls(),
        calls_before,
        "the receiver made a call, which could have carried the acknowledgements"
    );
    app.stop().await.unwrap();
}
