//! Login flows with the real grammers client on a session whose auth key is not signed in:
//! phone code, 2FA password (real SRP), bot token, log out; and their control API.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use grammers_client::{Client, SignInError, tl};
use grammers_mtsender::{ConnectionParams, NoRetries, SenderPool};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use testdc::{Fixture, TestDc, TestDcConfig};
use tower::ServiceExt;

use crate::{WAIT, rpc_name};

const API_HASH: &str = "0123456789abcdef0123456789abcdef";

/// A DC and a grammers client on a session of its own that must log in first.
struct Login {
    dc: Arc<TestDc>,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn connect(dc: Arc<TestDc>, signed_in_key: bool) -> Login {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("login.session");
    if signed_in_key {
        dc.write_session(&path).await.unwrap();
    } else {
        dc.write_unauthorized_session(&path).await.unwrap();
    }
    let store = Arc::new(session::SessionStore::open(&path).await.unwrap());
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(store, 1, params);
    tokio::spawn(pool.runner.run());
    Login {
        dc,
        client: Client::new(pool.handle),
        _dir: dir,
    }
}

async fn logged_out() -> Login {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    connect(Arc::new(dc), false).await
}

impl Login {
    async fn is_authorized(&self) -> bool {
        tokio::time::timeout(WAIT, self.client.is_authorized())
            .await
            .unwrap()
            .unwrap()
    }

    /// Requests a code for the account's phone and returns the token with the code sent.
    async fn code(&self) -> (grammers_client::client::LoginToken, String) {
        let token = self
            .client
            .request_login_code(Fixture::PHONE, API_HASH)
            .await
            .unwrap();
        (token, self.dc.last_login_code().unwrap())
    }
}

fn user_id(user: &grammers_client::peer::User) -> i64 {
    user.id().bot_api_dialog_id().unwrap()
}

#[tokio::test]
async fn unauthorized_session_signs_in_with_the_code_it_was_sent() {
    let login = logged_out().await;
    assert!(!login.is_authorized().await);
    let get_state = login
        .client
        .invoke(&tl::functions::updates::GetState {})
        .await;
    assert_eq!(rpc_name(get_state), "AUTH_KEY_UNREGISTERED");

    let (token, code) = login.code().await;
    assert_eq!(code.len(), 5);
    let user = login.client.sign_in(&token, &code).await.unwrap();

    let f = Fixture::DEFAULT;
    assert_eq!(user_id(&user), f.self_id);
    assert!(login.is_authorized().await);
    let me = login.client.get_me().await.unwrap();
    assert_eq!(user_id(&me), f.self_id);
    assert_eq!(me.phone(), Some(Fixture::PHONE.trim_start_matches('+')));
}

#[tokio::test]
async fn wrong_code_is_refused_and_the_right_one_still_works() {
    let login = logged_out().await;
    let (token, code) = login.code().await;
    let wrong = if code == "00000" { "11111" } else { "00000" };
    assert!(matches!(
        login.client.sign_in(&token, wrong).await,
        Err(SignInError::InvalidCode)
    ));
    assert!(!login.is_authorized().await);
    login.client.sign_in(&token, &code).await.unwrap();
    assert!(login.is_authorized().await);
}

#[tokio::test]
async fn two_factor_login_checks_the_password_with_srp() {
    let login = logged_out().await;
    let dc = login.dc.clone();
    tokio::task::spawn_blocking(move || dc.set_password(Some("secret")))
        .await
        .unwrap();
    let (token, code) = login.code().await;
    let Err(SignInError::PasswordRequired(password)) = login.client.sign_in(&token, &code).await
    else {
        panic!("expected the password to be required");
    };
    assert_eq!(password.hint(), Some(Fixture::PASSWORD_HINT));
    // Half signed in: still not authorized.
    assert!(!login.is_authorized().await);

    let Err(SignInError::InvalidPassword(password)) =
        login.client.check_password(password, "not it").await
    else {
        panic!("expected PASSWORD_HASH_INVALID");
    };
    let user = login
        .client
        .check_password(password, "secret")
        .await
        .unwrap();
    assert_eq!(user_id(&user), Fixture::DEFAULT.self_id);
    assert!(login.is_authorized().await);
}

#[tokio::test]
async fn bot_token_signs_in_as_the_bot() {
    let login = logged_out().await;
    let wrong = login.client.bot_sign_in("700000001:nope", API_HASH).await;
    assert_eq!(rpc_name(wrong), "ACCESS_TOKEN_INVALID");

    let bot = login
        .client
        .bot_sign_in(Fixture::BOT_TOKEN, API_HASH)
        .await
        .unwrap();
    assert_eq!(user_id(&bot), Fixture::DEFAULT.bot);
    assert!(bot.is_bot());
    assert_eq!(bot.username(), Some("testdc_bot"));
    assert!(login.is_authorized().await);
    let me = login.client.get_me().await.unwrap();
    assert_eq!(user_id(&me), Fixture::DEFAULT.bot);
}

#[tokio::test]
async fn sign_out_makes_the_key_unauthorized_again() {
    let login = logged_out().await;
    let (token, code) = login.code().await;
    login.client.sign_in(&token, &code).await.unwrap();

    login.client.sign_out().await.unwrap();
    assert!(!login.is_authorized().await);
    assert_eq!(
        rpc_name(login.client.get_me().await),
        "AUTH_KEY_UNREGISTERED"
    );
    assert_eq!(
        rpc_name(login.client.sign_out().await),
        "AUTH_KEY_UNREGISTERED"
    );
}

#[tokio::test]
async fn unknown_numbers_need_a_sign_up_that_testdc_refuses() {
    let login = logged_out().await;
    let malformed = login
        .client
        .request_login_code("+1 555 CALL", API_HASH)
        .await;
    assert!(matches!(
        malformed,
        Err(grammers_client::InvocationError::Rpc(e)) if e.name == "PHONE_NUMBER_INVALID"
    ));

    let token = login
        .client
        .request_login_code("+1 999 888 7777", API_HASH)
        .await
        .unwrap();
    let code = login.dc.last_login_code().unwrap();
    assert!(matches!(
        login.client.sign_in(&token, &code).await,
        Err(SignInError::SignUpRequired)
    ));
}

#[tokio::test]
async fn sessions_keep_their_own_authorization() {
    // The pre-shared key may start signed out too.
    let dc = TestDc::start(TestDcConfig {
        signed_in: false,
        ..TestDcConfig::default()
    })
    .await
    .unwrap();
    let pre_shared = connect(Arc::new(dc), true).await;
    assert!(!pre_shared.is_authorized().await);

    // Logging one key in leaves another signed out.
    let first = logged_out().await;
    let (token, code) = first.code().await;
    first.client.sign_in(&token, &code).await.unwrap();
    let second = connect(first.dc.clone(), false).await;
    assert!(first.is_authorized().await);
    assert!(!second.is_authorized().await);
    let seeded = connect(first.dc.clone(), true).await;
    assert!(seeded.is_authorized().await);
}

async fn call(app: &axum::Router, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn login_control_over_http() {
    let login = logged_out().await;
    let app = testdc::http::router(login.dc.clone());
    let (status, _) = call(&app, "GET", "/auth/last_code", Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = call(&app, "POST", "/auth/password", json!({"password": "pw"})).await;
    assert_eq!(status, StatusCode::OK);
    let token = login
        .client
        .request_login_code(Fixture::PHONE, API_HASH)
        .await
        .unwrap();
    let (status, body) = call(&app, "GET", "/auth/last_code", Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let code = body["code"].as_str().unwrap().to_owned();
    assert!(matches!(
        login.client.sign_in(&token, &code).await,
        Err(SignInError::PasswordRequired(_))
    ));

    // Turning 2FA off means the next login needs only the code.
    let (status, _) = call(&app, "POST", "/auth/password", json!({"password": null})).await;
    assert_eq!(status, StatusCode::OK);
    let (token, code) = login.code().await;
    login.client.sign_in(&token, &code).await.unwrap();

    let path = login._dir.path().join("another.session");
    let (status, _) = call(
        &app,
        "POST",
        "/auth/unauthorized_session",
        json!({"path": path}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(path.exists());
}
