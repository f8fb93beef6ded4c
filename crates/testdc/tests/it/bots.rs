//! A raw grammers client on a session signed in as the bot: it gets the callback queries of
//! button presses (and the account does not), answers them, and sends inline keyboards.

use std::sync::Arc;

use grammers_client::Client;
use grammers_client::client::UpdateStream;
use grammers_client::message::{Button, InputMessage, ReplyMarkup};
use grammers_client::session::types::{PeerAuth, PeerId, PeerRef};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::tl;
use grammers_client::update::Update;
use grammers_mtsender::{ConnectionParams, NoRetries, SenderPool, UpdatesConfiguration};
use testdc::{CallbackAnswer, ControlError, Fixture, SendText, TestDc, TestDcConfig};
use tokio::sync::mpsc;

use crate::WAIT;

/// A grammers client on `path`, connected, and the updates its connection receives.
async fn connect(path: &std::path::Path) -> (Client, mpsc::Receiver<UpdatesLike>) {
    let store = Arc::new(session::SessionStore::open(path).await.unwrap());
    let params = ConnectionParams {
        retry_policy: Box::new(NoRetries),
        ..ConnectionParams::default()
    };
    let pool = SenderPool::with_configuration(store, 1, params);
    tokio::spawn(pool.runner.run());
    let client = Client::new(pool.handle);
    // The DC pushes nothing to a connection before the client has spoken on it.
    client.get_me().await.unwrap();
    (client, pool.updates)
}

/// A DC with the account's client (its raw updates, unprocessed: nothing is dropped as already
/// seen) and the bot's (through grammers' update stream, as a bot would run).
pub(crate) struct Both {
    pub(crate) dc: Arc<TestDc>,
    pub(crate) account: (Client, mpsc::Receiver<UpdatesLike>),
    pub(crate) bot: (Client, UpdateStream),
    _dir: tempfile::TempDir,
}

pub(crate) async fn both() -> Both {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (account_path, bot_path) = (dir.path().join("a.session"), dir.path().join("b.session"));
    dc.write_session(&account_path).await.unwrap();
    dc.write_bot_session(&bot_path).await.unwrap();
    let (bot, updates) = connect(&bot_path).await;
    let stream = bot
        .stream_updates(updates, UpdatesConfiguration { catch_up: false })
        .await
        .unwrap();
    Both {
        account: connect(&account_path).await,
        bot: (bot, stream),
        dc: Arc::new(dc),
        _dir: dir,
    }
}

/// The first update of the next batch the account's connection receives.
async fn next_raw(updates: &mut mpsc::Receiver<UpdatesLike>) -> tl::enums::Update {
    let batch = tokio::time::timeout(WAIT, updates.recv())
        .await
        .expect("updates in time")
        .unwrap();
    match batch {
        UpdatesLike::Updates(tl::enums::Updates::Updates(u)) => u.updates[0].clone(),
        other => panic!("expected an `updates` batch, got {other:?}"),
    }
}

async fn next(updates: &mut UpdateStream) -> Update {
    tokio::time::timeout(WAIT, updates.next())
        .await
        .expect("an update in time")
        .unwrap()
}

/// The Bot API id of a peer.
fn bot_api_id(peer: PeerId) -> i64 {
    peer.bot_api_dialog_id().unwrap()
}

#[tokio::test]
async fn bot_session_is_signed_in_as_the_bot() {
    let b = both().await;
    let me = b.bot.0.get_me().await.unwrap();
    assert_eq!(me.id().bot_api_dialog_id(), Some(Fixture::DEFAULT.bot));
    assert!(me.is_bot());
    let me = b.account.0.get_me().await.unwrap();
    assert_eq!(me.id().bot_api_dialog_id(), Some(Fixture::DEFAULT.self_id));
}

#[tokio::test]
async fn a_button_press_reaches_the_bot_only_and_the_bot_answers_it() {
    let mut b = both().await;
    let alice = Fixture::DEFAULT.alice;
    let query_id = b.dc.press_button(alice, alice, 7, b"vote:1").unwrap();

    let Update::CallbackQuery(query) = next(&mut b.bot.1).await else {
        panic!("expected a callback query");
    };
    let tl::enums::Update::BotCallbackQuery(raw) = &query.raw else {
        panic!("expected updateBotCallbackQuery, got {:?}", query.raw);
    };
    assert_eq!(raw.query_id, query_id);
    assert_eq!((raw.user_id, raw.msg_id), (alice, 7));
    assert_eq!(raw.data.as_deref(), Some(&b"vote:1"[..]));
    assert_eq!(bot_api_id(query.peer_id()), alice);
    // The presser came with the update, so the client knows who it is.
    let sender = query.sender().expect("the user is in `users`");
    assert_eq!(sender.name(), Some("Alice"));

    // The account's next update is what Alice writes afterwards: it never saw the press.
    b.dc.send_text(SendText {
        from: None,
        chat_id: alice,
        text: "after the press".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let tl::enums::Update::NewMessage(m) = next_raw(&mut b.account.1).await else {
        panic!("expected the account's message");
    };
    let tl::enums::Message::Message(m) = m.message else {
        panic!("expected a message");
    };
    assert_eq!(m.message, "after the press");

    // Nor does the bot see the account's message: its next update is the next press.
    let second = b.dc.press_button(alice, alice, 7, b"vote:2").unwrap();
    let Update::CallbackQuery(again) = next(&mut b.bot.1).await else {
        panic!("expected the second callback query");
    };
    assert_eq!(again.data(), b"vote:2");
    let tl::enums::Update::BotCallbackQuery(again_raw) = &again.raw else {
        unreachable!()
    };
    assert_eq!(again_raw.query_id, second);
    assert_eq!(again_raw.chat_instance, raw.chat_instance, "same chat");

    assert_eq!(b.dc.callback_answer(query_id), None);
    query.answer().alert("counted").send().await.unwrap();
    assert_eq!(
        b.dc.callback_answer(query_id),
        Some(CallbackAnswer {
            message: Some("counted".into()),
            alert: true,
            url: None,
            cache_time: 0,
        })
    );
    let twice = query.answer().send().await;
    assert_eq!(crate::rpc_name(twice), "QUERY_ID_INVALID");
}

#[tokio::test]
async fn only_the_bot_may_answer_and_only_real_presses_are_accepted() {
    let b = both().await;
    let f = Fixture::DEFAULT;
    let query_id = b.dc.press_button(f.bob, f.bob, 1, b"x").unwrap();
    let answer = |query_id| tl::functions::messages::SetBotCallbackAnswer {
        alert: false,
        query_id,
        message: None,
        url: None,
        cache_time: 0,
    };
    let by_account = b.account.0.invoke(&answer(query_id)).await;
    assert_eq!(crate::rpc_name(by_account), "USER_BOT_REQUIRED");
    let unknown = b.bot.0.invoke(&answer(query_id ^ 1)).await;
    assert_eq!(crate::rpc_name(unknown), "QUERY_ID_INVALID");
    assert!(b.bot.0.invoke(&answer(query_id)).await.unwrap());

    let refused = |r: Result<i64, ControlError>| match r {
        Err(ControlError::Rpc(e)) => e.message,
        other => panic!("expected an RPC error, got {other:?}"),
    };
    // Carol has no private chat with the bot that Alice could press in.
    assert_eq!(
        refused(b.dc.press_button(f.alice, f.carol, 1, b"x")),
        "PEER_ID_INVALID"
    );
    assert_eq!(
        refused(b.dc.press_button(f.carol, -f.group, 1, b"x")),
        "USER_NOT_PARTICIPANT"
    );
    assert_eq!(
        refused(b.dc.press_button(f.alice, f.alice, 1, &[b'x'; 65])),
        "BUTTON_DATA_INVALID"
    );
    assert_eq!(
        refused(b.dc.press_button(f.bot, f.bot, 1, b"x")),
        "USER_ID_INVALID"
    );
    assert!(matches!(
        b.dc.press_button(f.alice, -42, 1, b"x"),
        Err(ControlError::UnknownChat(-42))
    ));
    // Groups work too: the update names the group as the peer.
    b.dc.press_button(f.bob, -f.group, 1, b"in the group")
        .unwrap();
}

#[tokio::test]
async fn a_group_press_names_the_group_and_carries_it_in_chats() {
    let mut b = both().await;
    let f = Fixture::DEFAULT;
    b.dc.press_button(f.bob, -f.group, 3, b"g").unwrap();
    let Update::CallbackQuery(query) = next(&mut b.bot.1).await else {
        panic!("expected a callback query");
    };
    assert_eq!(bot_api_id(query.peer_id()), -f.group);
    assert!(query.peer().is_some(), "the group is in `chats`");
    assert_eq!(bot_api_id(query.sender_id()), f.bob);
}

#[tokio::test]
async fn the_bot_sends_an_inline_keyboard_and_it_stays_with_the_message() {
    let b = both().await;
    let alice = Fixture::DEFAULT.alice;
    let hash = b.dc.with_world(|w| w.access_hash(alice));
    let peer = PeerRef {
        id: PeerId::user(alice).unwrap(),
        auth: PeerAuth::from_hash(hash),
    };
    let markup = ReplyMarkup::from_buttons(&[vec![
        Button::data("Yes", b"vote:1".to_vec()),
        Button::data("No", b"vote:0".to_vec()),
    ]]);
    let message = InputMessage::new().text("Vote?").reply_markup(markup);
    let sent = b.bot.0.send_message(peer, message).await.unwrap();
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(keyboard)) = sent.reply_markup() else {
        panic!(
            "expected the inline keyboard back, got {:?}",
            sent.reply_markup()
        );
    };
    assert_eq!(keyboard.rows.len(), 1);
    let stored = b.dc.with_world(|w| {
        w.reply_markup(testdc::ChatRef::User(alice), sent.id())
            .cloned()
    });
    assert!(matches!(
        stored,
        Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(_))
    ));

    // The account's markup is ignored, as Telegram ignores a user's.
    let markup = ReplyMarkup::from_buttons(&[vec![Button::data("A", b"a".to_vec())]]);
    let message = InputMessage::new()
        .text("from the account")
        .reply_markup(markup);
    let sent = b.account.0.send_message(peer, message).await.unwrap();
    assert!(sent.reply_markup().is_none());
}

#[tokio::test]
async fn button_presses_over_http() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let mut b = both().await;
    let app = testdc::http::router(b.dc.clone());
    let call = |method: &str, uri: &str, body: serde_json::Value| {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (status, json)
        }
    };
    let alice = Fixture::DEFAULT.alice;
    let press =
        serde_json::json!({"user_id": alice, "chat_id": alice, "message_id": 3, "data": "go"});
    let (status, body) = call("POST", "/press_button", press).await;
    assert_eq!(status, StatusCode::OK);
    let query_id = body["query_id"].as_str().unwrap().to_owned();
    let Update::CallbackQuery(query) = next(&mut b.bot.1).await else {
        panic!("expected a callback query");
    };
    assert_eq!(query.data(), b"go");

    let uri = format!("/callback_answer?query_id={query_id}");
    let (status, _) = call("GET", &uri, serde_json::Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    query.answer().text("ok").send().await.unwrap();
    let (status, body) = call("GET", &uri, serde_json::Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["message"], "ok");
}
