//! The headless login (`/api_v1/auth/*`): a sender started on a signed-out session answers
//! 503 until signed in over HTTP (code, 2FA password), then serves without a restart;
//! `logOut` reverses it.

use sender::connection::NOT_SIGNED_IN;
use serde_json::{Value, json};
use testdc::Fixture;

use crate::helpers::{API_KEY, TestApp, chats, spawn_app, spawn_signed_out_app};

const PASSWORD: &str = "correct horse";

async fn auth(app: &TestApp, route: &str, body: Value) -> crate::helpers::Reply {
    app.post(&format!("auth/{route}"), body).await
}

async fn status(app: &TestApp) -> Value {
    let request = app
        .client
        .get(app.url("/api_v1/auth/status"))
        .header("x-api-key", API_KEY);
    app.send(request).await.result().clone()
}

async fn send_hello(app: &TestApp) -> crate::helpers::Reply {
    app.post(
        "sendMessage",
        json!({ "chat_id": chats().alice, "text": "hello" }),
    )
    .await
}

#[tokio::test]
async fn code_and_password_sign_in_without_restart_and_log_out_reverses_it() {
    let app = spawn_signed_out_app().await;
    app.dc.set_password(Some(PASSWORD));
    let signed_out = json!({ "authorized": false, "step": "none", "account": null, "hint": null });
    assert_eq!(status(&app).await, signed_out);
    send_hello(&app).await.assert_error(503, NOT_SIGNED_IN);
    app.get("/readyz").await.assert_error(503, NOT_SIGNED_IN);

    auth(&app, "signIn", json!({ "phone_code": "12345" }))
        .await
        .assert_error(
            400,
            "Bad Request: no login code was requested; call /api_v1/auth/sendCode first",
        );
    let sent = auth(&app, "sendCode", json!({ "phone_number": Fixture::PHONE })).await;
    assert_eq!(sent.result()["step"], "code_sent");
    auth(&app, "signIn", json!({ "phone_code": "00000" }))
        .await
        .assert_error(400, "Bad Request: PHONE_CODE_INVALID");
    assert_eq!(
        status(&app).await["step"],
        "code_sent",
        "a wrong code can be retried"
    );

    // Codes are digits; clients send them as numbers too.
    let code: u64 = app.dc.last_login_code().unwrap().parse().unwrap();
    let needs_password = auth(&app, "signIn", json!({ "phone_code": code })).await;
    assert_eq!(
        needs_password.result(),
        &json!({ "authorized": false, "step": "password_needed", "account": null,
                 "hint": Fixture::PASSWORD_HINT })
    );
    auth(&app, "checkPassword", json!({ "password": "wrong" }))
        .await
        .assert_error(400, "Bad Request: PASSWORD_HASH_INVALID");
    let done = auth(&app, "checkPassword", json!({ "password": PASSWORD })).await;
    let result = done.result();
    assert_eq!(result["authorized"], true);
    assert_eq!(result["step"], "none");
    assert_eq!(result["account"]["id"], Fixture::DEFAULT.self_id);
    assert_eq!(result["account"]["is_bot"], false);

    send_hello(&app).await.result();
    assert_eq!(app.get("/readyz").await.body, json!({ "ok": true }));
    auth(&app, "sendCode", json!({ "phone_number": Fixture::PHONE }))
        .await
        .assert_error(
            400,
            "Bad Request: the session is already signed in; call /api_v1/auth/logOut first",
        );

    let out = auth(&app, "logOut", json!({})).await;
    assert_eq!(out.result(), &signed_out);
    send_hello(&app).await.assert_error(503, NOT_SIGNED_IN);
    app.get("/readyz").await.assert_error(503, NOT_SIGNED_IN);

    // And in again, this time without two-step verification: the code alone signs in.
    app.dc.set_password(None);
    auth(&app, "sendCode", json!({ "phone_number": Fixture::PHONE }))
        .await
        .result();
    let code = app.dc.last_login_code().unwrap();
    let again = auth(&app, "signIn", json!({ "phone_code": code })).await;
    assert_eq!(again.result()["authorized"], true);
    send_hello(&app).await.result();
}

#[tokio::test]
async fn a_refused_request_learns_nothing_about_the_session() {
    let unauthorized = json!({ "ok": false, "error_code": 401, "description": "Unauthorized" });
    let signed_out = spawn_signed_out_app().await;
    let signed_in = spawn_app().await;
    for app in [&signed_out, &signed_in] {
        for (method, route) in [
            ("POST", "/api_v1/auth/sendCode"),
            ("POST", "/api_v1/auth/signIn"),
            ("POST", "/api_v1/auth/checkPassword"),
            ("POST", "/api_v1/auth/logOut"),
            ("GET", "/api_v1/auth/status"),
            ("POST", "/api_v1/sendMessage"),
            ("GET", "/api_v1/file/photos/x.jpg"),
            ("POST", "/botwrong:key/sendMessage"),
            ("GET", "/file/botwrong:key/photos/x.jpg"),
        ] {
            for key in [None, Some("wrong")] {
                let mut request = app
                    .client
                    .request(method.parse().unwrap(), app.url(route))
                    .json(&json!({ "phone_number": Fixture::PHONE }));
                if let Some(key) = key {
                    request = request.header("x-api-key", key);
                }
                let reply = app.send(request).await;
                assert_eq!((reply.status, &reply.body), (401, &unauthorized), "{route}");
            }
        }
    }
    assert_eq!(
        signed_out.dc.last_login_code(),
        None,
        "no code was requested"
    );
}

#[tokio::test]
async fn send_code_needs_a_phone_number_and_the_api_hash() {
    let app = spawn_signed_out_app().await;
    auth(&app, "sendCode", json!({})).await.assert_error(
        400,
        "Bad Request: phone_number is empty and TG_PHONE_NUMBER is not set",
    );
    let without_hash = crate::helpers::spawn_app_with_session(
        |c| c.phone_number = Some(Fixture::PHONE.into()),
        false,
    )
    .await;
    auth(&without_hash, "sendCode", json!({}))
        .await
        .assert_error(
            400,
            "Bad Request: TG_API_HASH is not set; it is needed to sign in",
        );
}

#[tokio::test]
async fn a_bot_token_signs_the_session_in_as_that_bot_without_restart() {
    let app = spawn_signed_out_app().await;
    auth(&app, "signInBot", json!({ "bot_token": "700000001:wrong" }))
        .await
        .assert_error(400, "Bad Request: ACCESS_TOKEN_INVALID");
    assert_eq!(status(&app).await["authorized"], false);
    let signed = auth(
        &app,
        "signInBot",
        json!({ "bot_token": Fixture::BOT_TOKEN }),
    )
    .await;
    assert_eq!(signed.result()["authorized"], true);
    assert_eq!(signed.result()["account"]["id"], Fixture::DEFAULT.bot);
    assert_eq!(signed.result()["account"]["is_bot"], true);
    let me = app.post("getMe", json!({})).await;
    assert_eq!(me.result()["id"], Fixture::DEFAULT.bot);
    auth(
        &app,
        "signInBot",
        json!({ "bot_token": Fixture::BOT_TOKEN }),
    )
    .await
    .assert_error(
        400,
        "Bad Request: the session is already signed in; call /api_v1/auth/logOut first",
    );
}
