//! getMe, getChat, the update/webhook methods and bot-only methods against testdc.

use serde_json::json;
use testdc::Fixture;

use crate::helpers::{API_KEY, chats, spawn_app};

#[tokio::test]
async fn get_me_returns_the_account_with_every_get_me_field() {
    let app = spawn_app().await;
    for reply in [
        app.post("getMe", json!({})).await,
        app.send(
            app.client
                .get(app.url("/api_v1/getMe"))
                .header("x-api-key", API_KEY),
        )
        .await,
    ] {
        let me = reply.result();
        assert_eq!(me["id"], Fixture::DEFAULT.self_id);
        assert_eq!(me["is_bot"], false);
        assert_eq!(me["first_name"], "Test");
        assert_eq!(me["last_name"], "Account");
        assert_eq!(me["username"], "testaccount");
        assert_eq!(me["language_code"], "en");
        assert_eq!(me["can_join_groups"], true);
        assert_eq!(me["can_read_all_group_messages"], true);
        assert_eq!(me["supports_inline_queries"], false);
        assert_eq!(me["has_main_web_app"], false);
    }
}

#[test]
fn accounts_without_username_get_a_stable_one() {
    assert_eq!(
        sender::routes::account::fallback_username(100_000_001),
        "user100000001"
    );
}

#[tokio::test]
async fn get_chat_describes_users_groups_and_channels() {
    let app = spawn_app().await;
    let c = chats();
    let alice = app.post("getChat", json!({ "chat_id": c.alice })).await;
    let alice = alice.result();
    assert_eq!(alice["id"], c.alice);
    assert_eq!(alice["type"], "private");
    assert_eq!(alice["first_name"], "Alice");
    assert_eq!(alice["last_name"], "Smith");
    assert_eq!(alice["username"], "alice");
    assert!(alice["accent_color_id"].is_i64());
    assert_eq!(alice["max_reaction_count"], 11);
    let by_name = app.post("getChat", json!({ "chat_id": "@alice" })).await;
    assert_eq!(by_name.result()["id"], c.alice);
    let group = app.post("getChat", json!({ "chat_id": c.group })).await;
    assert_eq!(
        (
            group.result()["type"].as_str(),
            group.result()["title"].as_str()
        ),
        (Some("group"), Some("Test Group"))
    );
    let channel = app
        .post("getChat", json!({ "chat_id": "@testchannel" }))
        .await;
    let channel = channel.result();
    assert_eq!(channel["id"], c.channel);
    assert_eq!(channel["type"], "channel");
    assert_eq!(channel["title"], "Test Channel");
    let supergroup = app
        .post("getChat", json!({ "chat_id": c.supergroup }))
        .await;
    assert_eq!(supergroup.result()["type"], "supergroup");
}

#[tokio::test]
async fn get_chat_of_an_unknown_chat_is_400_chat_not_found() {
    let app = spawn_app().await;
    for chat_id in [json!(999_999_999), json!("@nobodyhere")] {
        app.post("getChat", json!({ "chat_id": chat_id }))
            .await
            .assert_error(400, "Bad Request: chat not found");
    }
}

#[tokio::test]
async fn bot_only_methods_answer_400_not_404() {
    let app = spawn_app().await;
    for method in [
        "answerCallbackQuery",
        "setMyCommands",
        "answerInlineQuery",
        "sendInvoice",
        "logOut",
    ] {
        app.post(method, json!({ "callback_query_id": "1", "commands": [] }))
            .await
            .assert_error(400, "Bad Request: method is available only for bots");
    }
    app.post("noSuchMethod", json!({}))
        .await
        .assert_error(404, "Not Found: method not found");
}

#[tokio::test]
async fn the_update_methods_work_on_the_outbox_without_a_receiver() {
    let app = spawn_app().await;
    assert_eq!(
        *app.post("deleteWebhook", json!({ "drop_pending_updates": true }))
            .await
            .result(),
        json!(true)
    );
    assert_eq!(
        *app.post("getUpdates", json!({ "offset": 0, "timeout": 0 }))
            .await
            .result(),
        json!([])
    );
    let info = app.post("getWebhookInfo", json!({})).await;
    assert_eq!(info.result()["url"], "");
    assert_eq!(info.result()["pending_update_count"], 0);
    let refused = app.post("setWebhook", json!({ "url": "/relative" })).await;
    assert_eq!(refused.status, 400, "{:?}", refused.body);
    assert_eq!(
        refused.description(),
        "Bad Request: bad webhook: an absolute http or https URL must be provided"
    );
    let missing = app.post("setWebhook", json!({})).await;
    assert_eq!(missing.status, 400, "{:?}", missing.body);
    assert!(missing.description().contains("url"), "{:?}", missing.body);

    let set = app
        .post(
            "setWebhook",
            json!({ "url": "https://example.com/hook", "max_connections": 1000,
                    "allowed_updates": ["message"] }),
        )
        .await;
    assert_eq!(*set.result(), json!(true));
    assert_eq!(set.body["description"], "Webhook was set");
    let info = app.post("getWebhookInfo", json!({})).await;
    assert_eq!(info.result()["url"], "https://example.com/hook");
    assert_eq!(
        info.result()["max_connections"],
        100,
        "clamped to the Bot API's 100"
    );
    assert_eq!(info.result()["allowed_updates"], json!(["message"]));
    let conflict = app.post("getUpdates", json!({})).await;
    assert_eq!(conflict.status, 409, "{:?}", conflict.body);

    assert_eq!(
        *app.post("setWebhook", json!({ "url": "" })).await.result(),
        json!(true),
        "an empty url deletes, as in the Bot API"
    );
    assert_eq!(
        app.post("getWebhookInfo", json!({})).await.result()["url"],
        ""
    );
}
