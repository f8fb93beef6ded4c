//! Failures around the receiver: a failing webhook, dropped MTProto connections, no webhook.

use crate::helpers::{API_KEY, Options, ids, spawn_app, start_app};

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
    assert_eq!(first.webhook_id(), second.webhook_id(), "stable webhook-id");
    assert_eq!((first.status, second.status), (500, 200));
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

    assert_eq!(got.body["message"]["message_id"], sent.message_id);
    assert_eq!(got.body["message"]["text"], "stdout only");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn an_undelivered_update_survives_a_graceful_restart() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    app.sink_mut().down().await;
    app.send(Some(alice), alice, "deliver after the restart", None);
    // Stored (handled) while the webhook refuses connections.
    app.next_handled().await;
    let (result, dc, sink, dir, guard) = app.stop_keep().await;
    result.unwrap();
    let mut sink = sink.unwrap();
    sink.up().await;

    let mut app = start_app(dc, Some(sink), dir, guard, &Options::default()).await;
    let text = "deliver after the restart";
    let before_probes = app
        .skipped
        .iter()
        .any(|r| r.text() == Some(text) && r.delivered());
    if !before_probes {
        let got = app.next_payload().await;
        assert_eq!((got.text(), got.status), (Some(text), 200));
    }
    app.stop().await.unwrap();
}
