//! Groups, supergroups and channels: Bot API chat ids and pseudo-senders.

use serde_json::json;

use crate::helpers::{Options, channel_id, group_id, ids, iso, spawn_app, supergroup_id};

#[tokio::test]
async fn basic_group_message_has_negative_chat_id_and_user_sender() {
    let mut app = spawn_app(Options::default()).await;
    let bob = ids().bob;
    let sent = app.send(Some(bob), group_id(), "hallo gruppe", None);

    let got = app.next_payload().await;

    assert_eq!(group_id(), -ids().group);
    let message = &got.body["message"];
    assert_eq!(message["message_id"], sent.message_id);
    assert_eq!(
        message["chat"],
        json!({"id": group_id(), "type": "group", "title": "Test Group"})
    );
    assert_eq!(message["date"], iso(sent.date));
    assert_eq!(
        message["from"],
        json!({"id": bob, "first_name": "Bob", "last_name": null, "username": "bob",
               "language_code": "de", "phone_number": null})
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn supergroup_message_has_minus_100_chat_id() {
    let mut app = spawn_app(Options::default()).await;
    let carol = ids().carol;
    let sent = app.send(Some(carol), supergroup_id(), "hola", None);

    let got = app.next_payload().await;

    assert!(supergroup_id().to_string().starts_with("-100"));
    let message = &got.body["message"];
    assert_eq!(message["message_id"], sent.message_id);
    assert_eq!(
        message["chat"],
        json!({"id": supergroup_id(), "type": "supergroup", "title": "Test Supergroup"})
    );
    assert_eq!(message["from"]["id"], carol);
    assert_eq!(message["from"]["first_name"], "Carol");
    assert_eq!(message["from"]["username"], json!(null));
    app.stop().await.unwrap();
}

#[tokio::test]
async fn channel_post_has_the_channel_as_pseudo_sender() {
    let mut app = spawn_app(Options::default()).await;
    let sent = app.send(None, channel_id(), "breaking news", None);

    let got = app.next_payload().await;

    let message = &got.body["message"];
    assert_eq!(message["message_id"], sent.message_id);
    assert_eq!(message["text"], "breaking news");
    assert_eq!(
        message["chat"],
        json!({"id": channel_id(), "type": "channel", "title": "Test Channel"})
    );
    assert_eq!(
        message["from"],
        json!({"id": channel_id(), "first_name": "Test Channel", "last_name": null,
               "username": "testchannel", "language_code": null, "phone_number": null})
    );
    app.stop().await.unwrap();
}

#[tokio::test]
async fn anonymous_admin_message_does_not_break_the_handler() {
    let mut app = spawn_app(Options::default()).await;
    let group = supergroup_id();
    app.send(Some(group), group, "anonymous announcement", None);

    let got = app.next_payload().await;
    assert_eq!(got.text(), Some("anonymous announcement"));
    assert_eq!(got.body["message"]["from"]["id"], group);
    assert_eq!(got.body["message"]["from"]["first_name"], "Test Supergroup");

    let alice = ids().alice;
    app.send(Some(alice), group, "after the admin", None);
    let next = app.next_payload().await;
    assert_eq!(next.text(), Some("after the admin"));
    assert_eq!(next.body["message"]["from"]["id"], alice);
    app.stop().await.unwrap();
}
