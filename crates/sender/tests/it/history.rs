//! getChatHistory, searchChatMessages, readChatHistory and getChats against testdc.

use serde_json::{Value, json};
use testdc::SendText;

use crate::helpers::{chats, spawn_app};

fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn get_chat_history_pages_newest_first() {
    let app = spawn_app().await;
    let bob = chats().bob;
    for text in ["h1", "h2", "h3"] {
        app.send_text(bob, text).await;
    }
    let page = app
        .post("getChatHistory", json!({ "chat_id": bob, "limit": 2 }))
        .await;
    assert_eq!(texts(page.result()), ["h3", "h2"]);
    let server: Vec<i64> = app.dc.history(bob).unwrap()[..2]
        .iter()
        .map(|m| i64::from(m.message_id))
        .collect();
    let ids: Vec<i64> = page
        .result()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, server);
    let older = app
        .post(
            "getChatHistory",
            json!({ "chat_id": bob, "offset_id": ids[1], "limit": 1 }),
        )
        .await;
    assert_eq!(texts(older.result()), ["h1"]);
}

#[tokio::test]
async fn search_chat_messages_matches_text_and_sender() {
    let app = spawn_app().await;
    let c = chats();
    app.send_text(c.group, "the cake is ready").await;
    app.dc
        .send_text(SendText {
            from: Some(c.alice),
            chat_id: c.group,
            text: "Cake for everyone".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    app.send_text(c.group, "unrelated").await;
    let found = app
        .post(
            "searchChatMessages",
            json!({ "chat_id": c.group, "query": "cake" }),
        )
        .await;
    assert_eq!(
        texts(found.result()),
        ["Cake for everyone", "the cake is ready"]
    );
    let by_alice = app
        .post(
            "searchChatMessages",
            json!({ "chat_id": c.group, "query": "cake", "from_user_id": c.alice }),
        )
        .await;
    assert_eq!(texts(by_alice.result()), ["Cake for everyone"]);
    assert_eq!(by_alice.result()[0]["from"]["id"], c.alice);
}

#[tokio::test]
async fn read_chat_history_is_true_for_private_chats_and_channels() {
    let app = spawn_app().await;
    let c = chats();
    for chat_id in [c.alice, c.supergroup] {
        let reply = app
            .post("readChatHistory", json!({ "chat_id": chat_id }))
            .await;
        assert_eq!(*reply.result(), json!(true));
    }
    app.post("readChatHistory", json!({ "chat_id": 999_999_999 }))
        .await
        .assert_error(400, "Bad Request: chat not found");
}

#[tokio::test]
async fn get_chats_lists_dialogs_with_their_last_message() {
    let app = spawn_app().await;
    let c = chats();
    app.send_text(c.bob, "newest of all").await;
    let reply = app.post("getChats", json!({})).await;
    let list = reply.result().as_array().unwrap().clone();
    assert!(list.len() >= 4, "{list:?}");
    assert_eq!(list[0]["id"], c.bob);
    assert_eq!(list[0]["type"], "private");
    assert_eq!(list[0]["first_name"], "Bob");
    assert_eq!(list[0]["last_message"]["text"], "newest of all");
    assert!(list[0]["unread_count"].is_i64());
    let ids: Vec<&Value> = list.iter().map(|chat| &chat["id"]).collect();
    assert!(ids.contains(&&json!(c.group)) && ids.contains(&&json!(c.channel)));
    let page = app
        .post("getChats", json!({ "offset": 1, "limit": 2 }))
        .await;
    let page = page.result().as_array().unwrap().clone();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["id"], list[1]["id"]);
    assert_eq!(page[1]["id"], list[2]["id"]);
}
