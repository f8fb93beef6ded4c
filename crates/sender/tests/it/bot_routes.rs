//! The Bot API URL layout `/bot<token>/<method>` beside `/api_v1/<method>`: one method table,
//! case-insensitive names, GET and POST, the token checked in constant time.

use serde_json::json;

use crate::helpers::{API_KEY, chats, spawn_app};

#[tokio::test]
async fn bot_token_urls_serve_the_same_methods_in_any_case() {
    let app = spawn_app().await;
    let me = app.get(&format!("/bot{API_KEY}/getMe")).await;
    assert_eq!(me.result()["id"], 100_000_001);
    let alice = chats().alice;
    let before = app.dc.history(alice).unwrap().len();
    for method in ["sendMessage", "SendMessage", "SENDMESSAGE"] {
        let request = app
            .client
            .post(app.url(&format!("/bot{API_KEY}/{method}")))
            .json(&json!({ "chat_id": alice, "text": method }));
        assert_eq!(app.send(request).await.result()["text"], method);
    }
    let reply = app
        .post("sendmessage", json!({ "chat_id": alice, "text": "lower" }))
        .await;
    assert_eq!(reply.result()["text"], "lower");
    assert_eq!(app.dc.history(alice).unwrap().len(), before + 4);
}

#[tokio::test]
async fn get_with_query_parameters_works_for_every_method() {
    let app = spawn_app().await;
    let alice = chats().alice;
    let sent = app
        .get(&format!(
            "/bot{API_KEY}/sendMessage?chat_id={alice}&text=via%20GET"
        ))
        .await;
    let id = sent.result()["message_id"].as_i64().unwrap();
    let request = app
        .client
        .get(app.url(&format!(
            "/api_v1/deleteMessage?chat_id={alice}&message_id={id}"
        )))
        .header("x-api-key", API_KEY);
    assert_eq!(app.send(request).await.result(), &json!(true));
    // Any other HTTP method is 405, also for the methods only bots may call.
    for method in ["getMe", "answerCallbackQuery", "close"] {
        for http in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::TRACE,
        ] {
            let request = app
                .client
                .request(http.clone(), app.url(&format!("/bot{API_KEY}/{method}")));
            app.send(request)
                .await
                .assert_error(405, "Method Not Allowed: use GET or POST");
        }
    }
}

#[tokio::test]
async fn wrong_or_missing_bot_token_is_401_before_anything_else() {
    let app = spawn_app().await;
    let unauthorized = json!({ "ok": false, "error_code": 401, "description": "Unauthorized" });
    let short = &API_KEY[..API_KEY.len() - 1];
    for path in [
        "/botwrong/getMe".to_owned(),
        "/bot/getMe".to_owned(),
        format!("/bot{short}/getMe"),
        format!("/bot{API_KEY}x/sendMessage"),
        "/botwrong/noSuchMethod".to_owned(),
    ] {
        let reply = app.get(&path).await;
        assert_eq!((reply.status, &reply.body), (401, &unauthorized), "{path}");
    }
}

#[tokio::test]
async fn unknown_method_is_404_after_auth_and_escaped_tokens_work() {
    let app = spawn_app().await;
    app.get(&format!("/bot{API_KEY}/sendTelepathy"))
        .await
        .assert_error(404, "Not Found: method not found");
    assert_eq!(app.get("/api_v1/a/b").await.status, 401);
    let request = app
        .client
        .get(app.url("/api_v1/a/b"))
        .header("x-api-key", API_KEY);
    app.send(request)
        .await
        .assert_error(404, "Not Found: method not found");
    assert_eq!(app.get("/botwrong/a/b").await.status, 401);
    app.get("/nothing/here/at/all")
        .await
        .assert_error(404, "Not Found");
    let escaped = API_KEY.replace(':', "%3A");
    assert!(app.get(&format!("/bot{escaped}/getMe")).await.result()["is_bot"] == false);
    app.post("answerCallbackQuery", json!({}))
        .await
        .assert_error(400, "Bad Request: method is available only for bots");
    app.get(&format!("/bot{API_KEY}/ANSWERCALLBACKQUERY"))
        .await
        .assert_error(400, "Bad Request: method is available only for bots");
}
