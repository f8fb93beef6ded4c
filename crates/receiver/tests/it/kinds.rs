//! Update coverage: edits, deletions, reactions and channel posts reach the webhook with their
//! kind; filters drop what is not wanted.

use crate::helpers::{Options, channel_id, ids, spawn_app, supergroup_id};

#[tokio::test]
async fn edits_reactions_and_deletions_arrive_with_their_kind() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let sent = app.send(Some(alice), alice, "first version", None);
    assert_eq!(app.next_payload().await.body["event"], "message");

    app.dc
        .edit_text(alice, sent.message_id, "second version")
        .unwrap();
    let edited = app.next_payload().await;
    assert_eq!(edited.body["event"], "edited_message");
    assert_eq!(edited.text(), Some("second version"));
    assert_eq!(edited.body["message"]["message_id"], sent.message_id);
    assert!(edited.body["message"]["edit_date"].is_string());

    app.dc.react(alice, alice, sent.message_id, "👍").unwrap();
    let reaction = app.next_payload().await;
    assert_eq!(reaction.body["event"], "message_reaction_count");
    assert_eq!(reaction.body["message_id"], sent.message_id);
    assert_eq!(reaction.body["chat"]["id"], alice);
    assert_eq!(reaction.body["reactions"][0]["type"]["emoji"], "👍");
    assert_eq!(reaction.body["reactions"][0]["total_count"], 1);

    app.dc.delete_messages(alice, &[sent.message_id]).unwrap();
    let deleted = app.next_payload().await;
    assert_eq!(deleted.body["event"], "deleted_messages");
    assert_eq!(deleted.body["message_ids"][0], sent.message_id);
    assert_eq!(deleted.body["chat_id"], serde_json::Value::Null);

    let ids: Vec<i64> = [&edited, &reaction, &deleted]
        .iter()
        .map(|r| r.body["update_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn channel_posts_their_edits_and_supergroup_deletions_are_forwarded() {
    let mut app = spawn_app(Options::default()).await;
    let post = app.send(None, channel_id(), "news", None);
    let got = app.next_payload().await;
    assert_eq!(got.body["event"], "channel_post");

    app.dc
        .edit_text(channel_id(), post.message_id, "corrected news")
        .unwrap();
    let got = app.next_payload().await;
    assert_eq!(got.body["event"], "edited_channel_post");
    assert_eq!(got.text(), Some("corrected news"));

    let carol = ids().carol;
    let sent = app.send(Some(carol), supergroup_id(), "oops", None);
    app.next_payload().await;
    app.dc
        .delete_messages(supergroup_id(), &[sent.message_id])
        .unwrap();
    let got = app.next_payload().await;
    assert_eq!(got.body["event"], "deleted_messages");
    assert_eq!(got.body["chat_id"], supergroup_id());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn filters_keep_only_allowed_chats_and_kinds_and_outgoing_when_asked() {
    let mut app = spawn_app(Options {
        configure: |c| {
            c.ignored_chat_ids = vec![ids().alice];
            c.allowed_updates = vec![receiver::UpdateKind::Message];
        },
        ..Options::default()
    })
    .await;
    let (alice, bob) = (ids().alice, ids().bob);
    let ignored = app.send(Some(alice), alice, "from an ignored chat", None);
    app.dc
        .edit_text(alice, ignored.message_id, "edited, also ignored")
        .unwrap();
    let sent = app.send(Some(bob), bob, "from bob", None);
    app.dc
        .edit_text(bob, sent.message_id, "an edit is not an allowed kind")
        .unwrap();
    app.send(Some(bob), bob, "marker", None);

    assert_eq!(app.next_payload().await.text(), Some("from bob"));
    assert_eq!(app.next_payload().await.text(), Some("marker"));
    app.stop().await.unwrap();
}
