//! `UpdateStream::try_next_event`: the rest of a batch grammers already holds is handed out
//! without waiting, and nothing is invented when no batch is pending.

use std::time::Duration;

use telegram::Event;
use testdc::{Fixture, SendText};

use crate::{WAIT, harness, live_stream};

fn text(event: &Event) -> Option<&str> {
    match event {
        Event::NewMessage(m) => m.message.text.as_deref(),
        _ => None,
    }
}

#[tokio::test]
async fn a_caught_up_batch_is_handed_out_without_waiting_and_in_order() {
    let h = harness().await;
    let bob = Fixture::DEFAULT.bob;
    let mut updates = live_stream(&h).await;
    // Nothing is waiting now: no event is invented and the call does not wait for one.
    let idle = tokio::time::timeout(Duration::from_secs(1), updates.try_next_event()).await;
    assert!(
        matches!(idle, Ok(None)),
        "an idle stream answers None at once"
    );
    let position = updates.checkpoint().expect("the probe moved the position");
    drop(updates);
    h.tg.disconnect();

    // Twenty messages while no client is connected: the next start gets them in one
    // getDifference, which grammers hands out as one batch.
    let texts: Vec<String> = (0..20).map(|i| format!("burst {i}")).collect();
    for t in &texts {
        h.dc.send_text(SendText {
            from: None,
            chat_id: bob,
            text: t.clone(),
            reply_to_message_id: None,
        })
        .expect("send");
    }
    let tg = h.reconnect().await;
    let mut updates = tg.updates_from(Some(position)).await.expect("stream");
    let first = tokio::time::timeout(WAIT, updates.next_event())
        .await
        .expect("catch-up in time")
        .expect("event");
    let mut got = vec![text(&first).map(str::to_owned)];
    while let Some(event) = updates.try_next_event().await {
        got.push(text(&event.expect("event")).map(str::to_owned));
    }
    let want: Vec<Option<String>> = texts.into_iter().map(Some).collect();
    assert_eq!(got, want, "the whole batch, in order, without waiting");
    assert!(
        updates.checkpoint().is_some(),
        "the batch ended: a checkpoint"
    );
}
