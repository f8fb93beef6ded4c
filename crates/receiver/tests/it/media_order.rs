//! Media never holds up other chats, and order within a chat is kept.

use std::time::Duration;

use testdc::{MediaKind, MediaMeta};

use crate::helpers::{Options, group_id, ids, spawn_app};

#[tokio::test]
async fn slow_download_in_one_chat_does_not_delay_a_text_in_another() {
    let mut app = spawn_app(Options::default()).await;
    let (alice, bob) = (ids().alice, ids().bob);
    // Every RPC answer (so every 512 KiB chunk of the download) now takes 250 ms: the 4 MiB
    // document needs about two seconds. Pushed updates are not delayed.
    app.dc.set_latency(Duration::from_millis(250));
    let document = app.send_bytes(
        alice,
        alice,
        MediaKind::Document,
        vec![7u8; 4 * 1024 * 1024],
        MediaMeta {
            file_name: Some("slow.bin".into()),
            ..MediaMeta::default()
        },
        None,
    );
    let after = app.send(Some(alice), alice, "after the document", None);
    let other = app.send(Some(bob), group_id(), "meanwhile in the group", None);

    let first = app.next_payload().await;
    let second = app
        .sink_mut()
        .try_next(Duration::from_secs(30))
        .await
        .expect("the document");
    let third = app.next_payload().await;

    assert_eq!(first.body["message"]["message_id"], other.message_id);
    assert_eq!(first.text(), Some("meanwhile in the group"));
    assert_eq!(second.body["message"]["message_id"], document.message_id);
    assert!(second.body["message"]["media_url"].is_string());
    assert_eq!(third.body["message"]["message_id"], after.message_id);
    assert_eq!(third.text(), Some("after the document"));
    app.dc.set_latency(Duration::ZERO);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_waits_for_a_download_in_flight() {
    let mut app = spawn_app(Options::default()).await;
    let (alice, bob) = (ids().alice, ids().bob);
    app.dc.set_latency(Duration::from_millis(100));
    let document = app.send_bytes(
        alice,
        alice,
        MediaKind::Document,
        vec![1u8; 2 * 1024 * 1024],
        MediaMeta::default(),
        None,
    );
    app.send(
        Some(bob),
        group_id(),
        "the document was handled before me",
        None,
    );
    // This one arrived after the document on the same update stream, so the document's job
    // is running now.
    assert_eq!(
        app.next_payload().await.text(),
        Some("the document was handled before me")
    );
    let mut sink = app.sink.take().expect("sink");

    app.stop().await.unwrap();

    let got = sink.next().await;
    assert_eq!(got.body["message"]["message_id"], document.message_id);
    assert!(got.body["message"]["media_url"].is_string());
}
