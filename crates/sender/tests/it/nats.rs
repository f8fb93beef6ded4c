//! Bot API methods over NATS request/reply, against a real `nats-server` and testdc: the reply is
//! the envelope the HTTP API answers, and the send reaches Telegram.

use std::time::Duration;

use async_nats::header::HeaderMap;
use async_nats::{Client, RequestErrorKind};
use ops::nats::{NatsSettings, NatsUrl};
use serde_json::{Value, json};
use testdc::Fixture;
use testkit::nats::NatsServer;

use crate::helpers::{TestApp, chats, spawn_app_with};

/// The subject of `method` for the test account under the default prefix.
fn subject(method: &str) -> String {
    format!("tg.{}.call.{method}", Fixture::DEFAULT.self_id)
}

async fn sender_on(server: &NatsServer) -> (TestApp, Client) {
    let url = NatsUrl::parse(&server.url()).unwrap();
    let app = spawn_app_with(|config| {
        config.nats = NatsSettings {
            url: Some(url),
            ..NatsSettings::default()
        }
    })
    .await;
    let client = async_nats::connect(server.url()).await.unwrap();
    (app, client)
}

/// Sends a request, retrying while nobody is subscribed yet (the sender subscribes once it
/// has read the account id); at most 400 tries.
async fn request(client: &Client, method: &str, headers: HeaderMap, payload: Value) -> Value {
    for _ in 0..400 {
        let sent = client
            .request_with_headers(subject(method), headers.clone(), payload.to_string().into())
            .await;
        match sent {
            Ok(reply) => return serde_json::from_slice(&reply.payload).unwrap(),
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(e) => panic!("request failed: {e}"),
        }
    }
    panic!("the sender never subscribed to {}", subject(method));
}

#[tokio::test]
async fn send_message_over_nats_reaches_telegram_and_the_reply_carries_the_message() {
    let server = NatsServer::start().await;
    let (app, client) = sender_on(&server).await;
    let alice = chats().alice;
    let reply = request(
        &client,
        "sendMessage",
        HeaderMap::new(),
        json!({"chat_id": alice, "text": "over the broker"}),
    )
    .await;
    assert_eq!(reply["ok"], true, "{reply}");
    let message = &reply["result"];
    assert_eq!(message["text"], "over the broker");
    assert_eq!(message["chat"]["id"], alice);
    let history = app.dc.history(alice).unwrap();
    assert_eq!(history[0].text, "over the broker");
    assert_eq!(
        message["message_id"].as_i64(),
        Some(i64::from(history[0].message_id))
    );
    // The same method table as HTTP: any capitalisation, and the answer is a Bot API Message.
    let reply = request(
        &client,
        "SENDMESSAGE",
        HeaderMap::new(),
        json!({"chat_id": alice, "text": "shouting"}),
    )
    .await;
    assert_eq!(reply["result"]["text"], "shouting", "{reply}");
    testkit::botapi_spec::spec().assert_result("sendMessage", &reply["result"]);
    assert_eq!(app.dc.history(alice).unwrap()[0].text, "shouting");
}

#[tokio::test]
async fn bad_requests_over_nats_get_the_error_envelope_naming_the_problem() {
    let server = NatsServer::start().await;
    let (app, client) = sender_on(&server).await;
    let before = app.dc.history(chats().alice).unwrap().len();
    let no_text = request(
        &client,
        "sendMessage",
        HeaderMap::new(),
        json!({"chat_id": chats().alice}),
    )
    .await;
    assert_eq!(no_text["ok"], false);
    assert_eq!(no_text["error_code"], 400);
    assert!(
        no_text["description"].as_str().unwrap().contains("text"),
        "{no_text}"
    );
    let unknown = request(&client, "sendTelepathy", HeaderMap::new(), json!({})).await;
    assert_eq!(
        unknown,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );
    let not_json = client
        .request(subject("sendMessage"), "chat_id=1".into())
        .await
        .unwrap();
    let not_json: Value = serde_json::from_slice(&not_json.payload).unwrap();
    assert_eq!(not_json["error_code"], 400, "{not_json}");
    assert_eq!(app.dc.history(chats().alice).unwrap().len(), before);
}

#[tokio::test]
async fn the_response_format_header_is_honoured_over_nats() {
    let server = NatsServer::start().await;
    let (_app, client) = sender_on(&server).await;
    let mut headers = HeaderMap::new();
    headers.insert("x-response-format", "legacy");
    let reply = request(
        &client,
        "sendMessage",
        headers,
        json!({"chat_id": chats().alice, "text": "legacy shape"}),
    )
    .await;
    // The Python service's shape: ISO 8601 dates instead of unix seconds.
    let date = reply["result"]["date"].as_str().unwrap_or_default();
    assert!(date.ends_with("+00:00"), "{reply}");
}

#[tokio::test]
async fn the_documented_permissions_let_a_service_send_only_what_it_is_allowed_to() {
    let account = Fixture::DEFAULT.self_id;
    let passwords = [
        ("NATS_RECEIVER_PASSWORD", "receiver-pw"),
        ("NATS_SENDER_PASSWORD", "sender-pw"),
        ("NATS_SHOP_PASSWORD", "shop-pw"),
    ];
    let config = testkit::nats::documented_config(account);
    let server = NatsServer::start_with_config(Some(&config), &passwords).await;
    // The sender as README's `sender` user: it may only take the account's requests.
    let url = NatsUrl::parse(&format!("nats://sender:sender-pw@{}", server.addr())).unwrap();
    let app = spawn_app_with(|config| {
        config.nats = NatsSettings {
            url: Some(url),
            ..NatsSettings::default()
        }
    })
    .await;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let shop = async_nats::ConnectOptions::with_user_and_password("shop".into(), "shop-pw".into())
        .request_timeout(Some(Duration::from_secs(2)))
        .event_callback(move |event| {
            let events_tx = events_tx.clone();
            async move {
                let _ = events_tx.send(event.to_string());
            }
        })
        .connect(server.url())
        .await
        .unwrap();
    let alice = chats().alice;
    let sent = request(
        &shop,
        "sendMessage",
        HeaderMap::new(),
        json!({"chat_id": alice, "text": "allowed"}),
    )
    .await;
    assert_eq!(sent["result"]["text"], "allowed", "{sent}");
    let before = app.dc.history(alice).unwrap().len();
    // Neither another method nor another account: the server refuses the publish.
    for subject in [
        format!("tg.{account}.call.sendDice"),
        format!("tg.{}.call.sendMessage", account + 1),
    ] {
        let refused = shop
            .request(
                subject.clone(),
                json!({"chat_id": alice}).to_string().into(),
            )
            .await;
        assert!(refused.is_err(), "{subject} was answered");
        let violation = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = events.recv().await {
                if event.to_lowercase().contains("permissions violation") {
                    return event;
                }
            }
            panic!("event stream closed");
        })
        .await
        .expect("a permissions violation event");
        assert!(violation.contains(&subject), "{violation}");
    }
    assert_eq!(app.dc.history(alice).unwrap().len(), before);
}
