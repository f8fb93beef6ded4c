//! Many accounts on one DC, a world per account: each client sees only its own account's world
//! (its own self, updates, history, login code and password, sending limits), in process and
//! over the HTTP control API.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use grammers_client::session::types::{PeerAuth, PeerId, PeerRef};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::{Client, SignInError, tl};
use grammers_mtsender::{ConnectionParams, NoRetries, SenderPool};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use testdc::{AccountDc, Fixture, Limits, Rate, SendText, TestDc, TestDcConfig};
use tokio::sync::mpsc;
use tower::ServiceExt;

use crate::{WAIT, rpc_name};

const API_HASH: &str = "0123456789abcdef0123456789abcdef";

/// A grammers client on the session at `path` and the raw updates its connection receives.
/// It has spoken once (the DC pushes nothing to a connection before that).
async fn connect(path: &Path) -> (Client, mpsc::Receiver<UpdatesLike>) {
    let (client, updates) = connect_silent(path).await;
    client.get_me().await.unwrap();
    (client, updates)
}

/// [`connect`] without the first call (for sessions that must log in first).
async fn connect_silent(path: &Path) -> (Client, mpsc::Receiver<UpdatesLike>) {
    let store = Arc::new(session::SessionStore::open(path).await.unwrap());
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(store, 1, params);
    tokio::spawn(pool.runner.run());
    (Client::new(pool.handle), pool.updates)
}

/// The text of the message in the next update batch `updates` receives.
async fn next_text(updates: &mut mpsc::Receiver<UpdatesLike>) -> String {
    let batch = tokio::time::timeout(WAIT, updates.recv())
        .await
        .expect("an update in time")
        .unwrap();
    let UpdatesLike::Updates(tl::enums::Updates::Updates(batch)) = batch else {
        panic!("expected an `updates` batch, got {batch:?}");
    };
    match &batch.updates[..] {
        [tl::enums::Update::NewMessage(u)] => match &u.message {
            tl::enums::Message::Message(m) => m.message.clone(),
            other => panic!("expected a message, got {other:?}"),
        },
        other => panic!("expected one updateNewMessage, got {other:?}"),
    }
}

/// Alice writes `text` to the account in `account`'s world.
fn alice_writes(account: &AccountDc<'_>, text: &str) {
    let alice = Fixture::DEFAULT.alice;
    account
        .send_text(SendText {
            from: Some(alice),
            chat_id: alice,
            text: text.into(),
            reply_to_message_id: None,
        })
        .unwrap();
}

/// `account`'s reference to Alice (access hashes are per world).
fn alice_of(account: &AccountDc<'_>) -> PeerRef {
    let alice = Fixture::DEFAULT.alice;
    PeerRef {
        id: PeerId::user(alice).unwrap(),
        auth: PeerAuth::from_hash(account.with_world(|w| w.access_hash(alice))),
    }
}

fn user_id(user: &grammers_client::peer::User) -> i64 {
    user.id().bot_api_dialog_id().unwrap()
}

/// The texts of the account's own messages to Alice in `account`'s world.
fn sent_to_alice(account: &AccountDc<'_>) -> Vec<String> {
    let history = account.history(Fixture::DEFAULT.alice).unwrap();
    history
        .into_iter()
        .filter(|m| m.out)
        .map(|m| m.text)
        .collect()
}

#[tokio::test]
async fn each_account_sees_only_its_own_world() {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let added = dc.add_accounts(2);
    let ids: Vec<i64> = std::iter::once(dc.fixture().self_id)
        .chain(added.iter().map(|a| a.user_id))
        .collect();
    assert_eq!(
        dc.accounts().iter().map(|a| a.user_id).collect::<Vec<_>>(),
        ids
    );
    let accounts: Vec<AccountDc<'_>> = ids.iter().map(|&id| dc.account(id).unwrap()).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut clients = Vec::new();
    for account in &accounts {
        let path = dir.path().join(format!("{}.session", account.user_id()));
        account.write_session(&path).await.unwrap();
        clients.push(connect(&path).await);
    }

    for ((client, _), &id) in clients.iter().zip(&ids) {
        assert_eq!(user_id(&client.get_me().await.unwrap()), id);
        let users = client
            .invoke(&tl::functions::users::GetUsers {
                id: vec![tl::enums::InputUser::UserSelf],
            })
            .await
            .unwrap();
        let [tl::enums::User::User(me)] = &users[..] else {
            panic!("expected the account, got {users:?}");
        };
        assert_eq!((me.id, me.is_self), (id, true));
    }
    assert_eq!(added[1].first_name, "Account 2");
    assert_eq!(accounts[2].fixture().self_id, ids[2]);

    // Alice writes in the second added account's world: only that account gets it. The others'
    // next update is the one then sent in their own world.
    alice_writes(&accounts[2], "for two");
    assert_eq!(next_text(&mut clients[2].1).await, "for two");
    alice_writes(&accounts[1], "for one");
    assert_eq!(next_text(&mut clients[1].1).await, "for one");
    alice_writes(&accounts[0], "for the default");
    assert_eq!(next_text(&mut clients[0].1).await, "for the default");

    // Each account's wait_outgoing sees its own world's sends only.
    let alice = Fixture::DEFAULT.alice;
    let mut waiting_in_two = Box::pin(accounts[2].wait_outgoing(alice, 0, WAIT));
    assert!(futures::poll!(waiting_in_two.as_mut()).is_pending());
    let from_one = clients[1]
        .0
        .send_message(alice_of(&accounts[1]), "from one")
        .await
        .unwrap();
    assert_eq!(sent_to_alice(&accounts[1]), ["from one"]);
    assert!(sent_to_alice(&accounts[0]).is_empty());
    assert!(sent_to_alice(&accounts[2]).is_empty());
    let seen = accounts[1].wait_outgoing(alice, 0, WAIT).await.unwrap();
    assert_eq!(
        (seen.message_id, seen.text.as_str()),
        (from_one.id(), "from one")
    );
    clients[2]
        .0
        .send_message(alice_of(&accounts[2]), "from two")
        .await
        .unwrap();
    assert_eq!(waiting_in_two.await.unwrap().text, "from two");
}

#[tokio::test]
async fn an_added_account_logs_in_with_its_phone_code_and_password() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let info = dc.add_accounts(1).remove(0);
    assert_eq!(info.phone, "+10000000001");
    let dir = tempfile::tempdir().unwrap();
    let (ready, login) = (dir.path().join("ready"), dir.path().join("login"));
    let account = dc.account(info.user_id).unwrap();
    account.write_session(&ready).await.unwrap();
    account.write_unauthorized_session(&login).await.unwrap();
    let (ready, _) = connect(&ready).await;
    let (client, _) = connect_silent(&login).await;
    assert!(!client.is_authorized().await.unwrap());

    let shared = dc.clone();
    tokio::task::spawn_blocking(move || {
        let account = shared.account(info.user_id).unwrap();
        account.set_password(Some("secret"));
    })
    .await
    .unwrap();
    let token = client
        .request_login_code(&info.phone, API_HASH)
        .await
        .unwrap();
    // The code went to this account's world only.
    assert_eq!(dc.last_login_code(), None);
    let code = account.last_login_code().unwrap();
    let Err(SignInError::PasswordRequired(password)) = client.sign_in(&token, &code).await else {
        panic!("expected the account's password to be required");
    };
    let user = client.check_password(password, "secret").await.unwrap();
    assert_eq!(user_id(&user), info.user_id);
    let me = client.get_me().await.unwrap();
    assert_eq!(me.phone(), Some("10000000001"));
    assert_eq!(me.first_name(), Some("Account 1"));

    // The default account has no password: its login needs the code alone. Its world does not
    // know the added account's phone.
    let default_login = dir.path().join("default");
    dc.write_unauthorized_session(&default_login).await.unwrap();
    let (other, _) = connect_silent(&default_login).await;
    let token = other
        .request_login_code(&info.phone, API_HASH)
        .await
        .unwrap();
    let code = dc.last_login_code().unwrap();
    assert!(matches!(
        other.sign_in(&token, &code).await,
        Err(SignInError::SignUpRequired)
    ));
    let token = other
        .request_login_code(Fixture::PHONE, API_HASH)
        .await
        .unwrap();
    let code = dc.last_login_code().unwrap();
    let user = other.sign_in(&token, &code).await.unwrap();
    assert_eq!(user_id(&user), Fixture::DEFAULT.self_id);

    // Logging out signs out that key only.
    client.sign_out().await.unwrap();
    assert!(!client.is_authorized().await.unwrap());
    assert!(ready.is_authorized().await.unwrap());
    assert!(other.is_authorized().await.unwrap());
}

#[tokio::test]
async fn sending_limits_fill_per_account() {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let before = dc.add_accounts(1).remove(0);
    dc.set_limits(Limits {
        per_account: Some(Rate::per_minute(2)),
        ..Limits::default()
    });
    // Accounts added later enforce the limits too.
    let after = dc.add_accounts(1).remove(0);
    let dir = tempfile::tempdir().unwrap();
    let mut sends = Vec::new();
    for info in [&before, &after] {
        let account = dc.account(info.user_id).unwrap();
        let path = dir.path().join(format!("{}.session", info.user_id));
        account.write_session(&path).await.unwrap();
        sends.push((connect(&path).await.0, alice_of(&account)));
    }

    let (first, alice) = &sends[0];
    for text in ["one", "two"] {
        first.send_message(*alice, text).await.unwrap();
    }
    let refused = first.send_message(*alice, "three").await;
    assert_eq!(rpc_name(refused), "FLOOD_WAIT");
    assert_eq!(dc.flood_waits(), 1);

    // The other account's bucket is its own and full.
    let (second, alice) = &sends[1];
    for text in ["one", "two"] {
        second.send_message(*alice, text).await.unwrap();
    }
    assert_eq!(
        rpc_name(second.send_message(*alice, "three").await),
        "FLOOD_WAIT"
    );
    assert_eq!(dc.flood_waits(), 2);
}

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_string())))
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
async fn accounts_over_http_come_with_ready_sessions() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let app = testdc::http::router(dc.clone());
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions");

    let (status, body) = call(
        &app,
        "POST",
        "/accounts",
        Some(json!({"count": 200, "sessions_dir": sessions})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let added = body["accounts"].as_array().unwrap();
    assert_eq!(added.len(), 200);
    assert_eq!(std::fs::read_dir(&sessions).unwrap().count(), 200);
    let last = &added[199];
    let id = last["user_id"].as_i64().unwrap();
    assert_eq!(id, Fixture::DEFAULT.self_id + 200);
    assert_eq!(last["phone"], "+10000000200");
    let path = sessions.join(format!("acc{id}.session"));
    assert_eq!(last["session"], json!(path));

    let (client, mut updates) = connect(&path).await;
    assert_eq!(user_id(&client.get_me().await.unwrap()), id);

    let (_, listed) = call(&app, "GET", "/accounts", None).await;
    let listed = listed["accounts"].as_array().unwrap();
    assert_eq!(listed.len(), 201);
    assert_eq!(listed[0]["user_id"], Fixture::DEFAULT.self_id);
    assert_eq!(listed[0]["phone"], Fixture::PHONE);

    // World routes act in the named account's world.
    let alice = Fixture::DEFAULT.alice;
    let (status, sent) = call(
        &app,
        "POST",
        "/send",
        Some(json!({"account": id, "chat_id": alice, "text": "over http"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(next_text(&mut updates).await, "over http");
    let (_, history) = call(
        &app,
        "GET",
        &format!("/history?chat_id={alice}&account={id}"),
        None,
    )
    .await;
    assert_eq!(history[0]["text"], "over http");
    let (_, history) = call(&app, "GET", &format!("/history?chat_id={alice}"), None).await;
    assert_ne!(history[0]["text"], "over http");
    let (_, world) = call(&app, "GET", &format!("/world?account={id}"), None).await;
    assert_eq!(world["fixture"]["self_id"], id);

    // Without sessions_dir nothing is written.
    let (status, body) = call(&app, "POST", "/accounts", Some(json!({"count": 1}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accounts"][0]["session"], Value::Null);

    let unknown = Fixture::DEFAULT.self_id + 1_000;
    for (method, uri, body) in [
        (
            "GET",
            format!("/history?chat_id={alice}&account={unknown}"),
            None,
        ),
        ("GET", format!("/auth/last_code?account={unknown}"), None),
        (
            "POST",
            "/send".to_owned(),
            Some(json!({"account": unknown, "chat_id": alice, "text": "nobody"})),
        ),
        (
            "POST",
            "/auth/password".to_owned(),
            Some(json!({"account": unknown, "password": null})),
        ),
    ] {
        let (status, answer) = call(&app, method, &uri, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer["error"], format!("account {unknown} does not exist"));
    }
}
