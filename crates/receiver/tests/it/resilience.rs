//! Failures around the receiver: a failing webhook, dropped MTProto connections, no webhook.

use crate::helpers::{API_KEY, Options, ids, spawn_app};

#[tokio::test]
async fn webhook_500_is_retried_until_delivered() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    app.sink_mut().respond_next(&[500]);
    let sent = app.send(Some(alice), alice, "retry me", None);

    let first = app.next_payload().await;
    let second = app.next_payload().await;

    assert_eq!(
        first.body, second.body,
        "the same payload is posted again after the 500"
    );
    assert_eq!(second.body["message"]["message_id"], sent.message_id);
    assert_eq!(second.header("x-api-key"), Some(API_KEY));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn message_after_dropped_connections_is_delivered() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    app.dc.drop_connections();
    let sent = app.send(Some(alice), alice, "after the drop", None);

    let got = app.next_payload().await;

    assert_eq!(got.text(), Some("after the drop"));
    assert_eq!(got.body["message"]["message_id"], sent.message_id);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn without_webhook_url_messages_are_still_handled() {
    let mut app = spawn_app(Options {
        webhook: false,
        ..Options::default()
    })
    .await;
    let alice = ids().alice;
    let sent = app.send(Some(alice), alice, "stdout only", None);

    let got = app.next_handled().await;

    assert_eq!(got.message.message_id, sent.message_id);
    assert_eq!(got.message.text.as_deref(), Some("stdout only"));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_drains_a_pending_delivery() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    app.sink_mut().respond_next(&[503]);
    app.send(Some(alice), alice, "deliver before exit", None);
    // Enqueued, and its first attempt is failing or about to.
    app.next_handled().await;
    let mut sink = app.sink.take().unwrap();

    app.stop().await.unwrap();

    assert_eq!(sink.next().await.text(), Some("deliver before exit"));
    assert_eq!(sink.next().await.text(), Some("deliver before exit"));
}
