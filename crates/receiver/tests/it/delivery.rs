//! The delivery guarantee against a webhook that is down, failing and throttling; headers and
//! signatures; the Bot API format.

use std::collections::{BTreeMap, HashMap};

use receiver::{SigningSecret, WebhookFormat};
use testkit::botapi_spec::spec;

use crate::helpers::{
    API_KEY, Options, channel_id, group_id, handled_text, ids, spawn_app, supergroup_id,
};
use crate::sink::Reply;

const TOTAL: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_outage_loses_nothing_and_keeps_order_per_chat() {
    let mut app = spawn_app(Options::default()).await;
    let f = ids();
    // 20 chats: testdc's six (three private chats, the group, the supergroup, the channel) and
    // seven more private chats and seven more groups added for this test.
    let mut lanes = vec![
        (Some(f.alice), f.alice),
        (Some(f.bob), f.bob),
        (Some(f.carol), f.carol),
        (Some(f.bob), group_id()),
        (Some(f.carol), supergroup_id()),
        (None, channel_id()),
    ];
    for n in 0..7 {
        let user = app.dc.add_user(&format!("Extra {n}"));
        lanes.push((Some(user), user));
        lanes.push((
            Some(user),
            app.dc.add_group(&format!("Extra group {n}"), &[user]),
        ));
    }
    assert_eq!(lanes.len(), 20);
    app.sink_mut().down().await;
    for i in 0..TOTAL {
        let (from, chat) = lanes[i % lanes.len()];
        app.send(from, chat, &format!("m {} {i}", i % lanes.len()), None);
    }
    // Everything is stored while the webhook refuses connections.
    let mut stored = 0;
    while stored < TOTAL {
        let handled = app.next_handled().await;
        if handled_text(&handled).is_some_and(|t| t.starts_with("m ")) {
            stored += 1;
        }
    }
    // Back, but failing for a while: 500s, then 429 with Retry-After.
    let sink = app.sink_mut();
    sink.respond_next(&[500; 40]);
    sink.script(
        [Reply {
            status: 429,
            retry_after: Some(1),
        }; 6],
    );
    sink.up().await;

    let mut ids_by_text = HashMap::<String, String>::new();
    let mut delivered = HashMap::<String, usize>::new();
    let mut order = BTreeMap::<usize, Vec<usize>>::new();
    let (mut failures, mut throttled) = (0, 0);
    while delivered.len() < TOTAL {
        let got = sink.next().await;
        let Some(text) = got.text().filter(|t| t.starts_with("m ")) else {
            continue;
        };
        let id = ids_by_text
            .entry(text.to_owned())
            .or_insert_with(|| got.webhook_id().to_owned());
        assert_eq!(
            id,
            got.webhook_id(),
            "{text}: the same webhook-id on every attempt"
        );
        match got.status {
            200 => {
                *delivered.entry(id.clone()).or_default() += 1;
                let mut parts = text.split(' ').skip(1).map(|p| p.parse::<usize>().unwrap());
                let (lane, seq) = (parts.next().unwrap(), parts.next().unwrap());
                order.entry(lane).or_default().push(seq);
            }
            429 => throttled += 1,
            _ => failures += 1,
        }
    }
    assert!(
        delivered.values().all(|&n| n == 1),
        "each update delivered once"
    );
    assert_eq!(ids_by_text.len(), TOTAL);
    for (lane, seqs) in &order {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "lane {lane} out of order"
        );
    }
    assert_eq!((failures, throttled), (40, 6));
    app.stop().await.unwrap();
}

const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn requests_carry_the_api_key_secret_token_and_a_verifiable_signature() {
    let mut app = spawn_app(Options {
        configure: |c| {
            c.webhook_secret_token = Some("tok-123".to_owned().into());
            c.webhook_signing_secret = Some(SigningSecret::parse(SIGNING_SECRET).unwrap());
        },
        ..Options::default()
    })
    .await;
    let alice = ids().alice;
    app.sink_mut().respond_next(&[503]);
    app.send(Some(alice), alice, "signed", None);

    let first = app.next_payload().await;
    let second = app.next_payload().await;

    let verifier = standardwebhooks::Webhook::new(SIGNING_SECRET).unwrap();
    for got in [&first, &second] {
        assert_eq!(got.header("x-api-key"), Some(API_KEY));
        assert_eq!(
            got.header("x-telegram-bot-api-secret-token"),
            Some("tok-123")
        );
        verifier
            .verify(&got.raw, &got.headers)
            .expect("valid signature");
        assert!(got.header("webhook-signature").unwrap().starts_with("v1,"));
    }
    assert_eq!(first.webhook_id(), second.webhook_id());
    assert_eq!(
        first.webhook_id(),
        format!("tg{}_{}", ids().self_id, first.body["update_id"])
    );
    let mut tampered = second.headers.clone();
    tampered.insert("webhook-id", "someone-else".parse().unwrap());
    assert!(verifier.verify(&second.raw, &tampered).is_err());
    app.stop().await.unwrap();
}

#[tokio::test]
async fn bot_api_format_posts_updates_with_increasing_ids() {
    let mut app = spawn_app(Options {
        configure: |c| c.webhook_format = WebhookFormat::BotApi,
        ..Options::default()
    })
    .await;
    let f = ids();
    let sent = app.send(Some(f.alice), f.alice, "as a bot would see it", None);
    let post = app.send(None, channel_id(), "a channel post", None);

    // Two chats, two lanes: they may arrive in either order; ids follow arrival at the
    // receiver.
    let mut got = [app.next_payload().await, app.next_payload().await];
    got.sort_by_key(|p| p.body["update_id"].as_i64());
    let [first, second] = got;
    for update in [&first.body, &second.body] {
        spec().assert_type("Update", update);
    }

    let message = &first.body["message"];
    assert_eq!(message["message_id"], sent.message_id);
    assert_eq!(
        message["date"], sent.date,
        "unix seconds, as the Bot API sends"
    );
    assert_eq!(message["chat"]["type"], "private");
    assert_eq!(message["from"]["id"], f.alice);
    assert_eq!(second.body["channel_post"]["message_id"], post.message_id);
    assert!(second.body.get("message").is_none());
    let (a, b) = (
        first.body["update_id"].as_i64().unwrap(),
        second.body["update_id"].as_i64().unwrap(),
    );
    assert_eq!(b, a + 1);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn an_in_memory_outbox_delivers_in_order_and_leaves_no_file() {
    let mut app = spawn_app(Options {
        configure: |c| c.outbox_path = Some(receiver::outbox::IN_MEMORY.into()),
        ..Options::default()
    })
    .await;
    let f = ids();
    for text in ["first", "second", "third"] {
        app.send(Some(f.alice), f.alice, text, None);
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(app.next_payload().await.text().map(str::to_owned));
    }
    assert_eq!(
        got,
        ["first", "second", "third"].map(|t| Some(t.to_owned()))
    );
    assert!(!std::path::Path::new(receiver::outbox::IN_MEMORY).exists());
    app.stop().await.unwrap();
}
