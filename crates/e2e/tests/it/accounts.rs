//! Many accounts in one deployment (`SESSIONS_DIR`): one sender and one receiver serve two user
//! accounts and a bot at once — each account's updates reach its own webhook with its own key
//! and signature, each token sends as its own account — an account added over the management
//! API with the phone-code login works in both binaries within seconds, and removing one stops
//! only it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use clap::Parser;
use ops::accounts::{AccountSettings, write_settings};
use serde_json::{Value, json};
use testdc::{Fixture, SendText, TestDc, TestDcConfig};
use tokio::net::TcpListener;

const ADMIN: &str = "admin-key-for-e2e";
/// The receivers' `WEBHOOK_API_KEY` (each account's settings send their own to their webhook);
/// it also opens the receiver's list of accounts in `/status`.
const RECEIVER_KEY: &str = "receiver-env-key";

/// What one webhook path received: `(x-api-key, webhook-id, webhook-timestamp,
/// webhook-signature, body)`.
type Hooks = Arc<Mutex<HashMap<String, Vec<(String, String, String, String, Vec<u8>)>>>>;

async fn record(
    State(hooks): State<Hooks>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> &'static str {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    hooks.lock().unwrap().entry(name).or_default().push((
        header("x-api-key"),
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
        body.to_vec(),
    ));
    "ok"
}

async fn sink() -> (SocketAddr, Hooks) {
    let hooks: Hooks = Arc::default();
    let app = axum::Router::new()
        .route("/hook/{name}", axum::routing::post(record))
        .with_state(hooks.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hooks)
}

/// A signing secret of its own per account (`whsec_` + base64 of 24 bytes).
fn signing_secret(seed: u8) -> String {
    let bytes: Vec<u8> = (0..24)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i))
        .collect();
    use base64::Engine as _;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn settings(name: &str, sink: SocketAddr, seed: u8) -> AccountSettings {
    AccountSettings {
        webhook_url: Some(format!("http://{sink}/hook/{name}")),
        webhook_api_key: Some(format!("hook-key-{name}")),
        webhook_signing_secret: Some(signing_secret(seed)),
        ..AccountSettings::generate()
    }
}

/// Waits until `check` holds, polling every 50 ms, for at most `limit`.
async fn until<F: std::future::Future<Output = bool>>(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn receiver_states(http: &reqwest::Client, addr: SocketAddr) -> HashMap<String, Value> {
    let status: Value = http
        .get(format!("http://{addr}/status"))
        .header("x-api-key", RECEIVER_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["name"].as_str().unwrap().to_owned(), a["state"].clone()))
        .collect()
}

async fn running(http: &reqwest::Client, addr: SocketAddr, name: &str) -> bool {
    receiver_states(http, addr)
        .await
        .get(name)
        .is_some_and(|s| s["state"] == "running")
}

/// The payloads `name`'s webhook got whose message text is `text`, signature verified with
/// that account's secret.
fn received(hooks: &Hooks, name: &str, secret: &str, key: &str, text: &str) -> Vec<Value> {
    let hooks = hooks.lock().unwrap();
    let verifier = standardwebhooks::Webhook::new(secret).unwrap();
    hooks
        .get(name)
        .into_iter()
        .flatten()
        .filter_map(|(api_key, id, ts, sig, body)| {
            let value: Value = serde_json::from_slice(body).ok()?;
            let matches = value["message"]["text"] == text
                || value["callback_query"]["data"] == text
                || value["message"]["data"] == text;
            if !matches {
                return None;
            }
            assert_eq!(api_key, key, "{name}'s webhook got another account's key");
            let mut headers = HeaderMap::new();
            headers.insert("webhook-id", id.parse().unwrap());
            headers.insert("webhook-timestamp", ts.parse().unwrap());
            headers.insert("webhook-signature", sig.parse().unwrap());
            verifier
                .verify(body, &headers)
                .unwrap_or_else(|e| panic!("{name}: signature not by its own secret: {e:?}"));
            Some(value)
        })
        .collect()
}

async fn send(
    http: &reqwest::Client,
    sender: SocketAddr,
    token: &str,
    chat_id: i64,
    text: &str,
) -> (u16, Value) {
    let response = http
        .post(format!("http://{sender}/bot{token}/sendMessage"))
        .json(&json!({"chat_id": chat_id, "text": text}))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn last_text_from(dc: &TestDc, account: Option<i64>, chat: i64) -> Option<(i64, String)> {
    let history = match account {
        None => dc.history(chat).unwrap(),
        Some(id) => dc.account(id).unwrap().history(chat).unwrap(),
    };
    history
        .first()
        .map(|m| (m.from_id.unwrap_or_default(), m.text.clone()))
}

/// Alice writes `text` to the account of `world` (its private chat).
fn alice_writes(world: &testdc::AccountDc<'_>, text: &str) {
    let alice = Fixture::DEFAULT.alice;
    world
        .send_text(SendText {
            from: Some(alice),
            chat_id: alice,
            text: text.to_owned(),
            reply_to_message_id: None,
        })
        .unwrap();
}

/// Makes `write` happen with a fresh text (`<text> #<attempt>`) every 500 ms until `name`'s
/// webhook got one, signed with its settings' secret and carrying its key; returns that payload
/// and its text. Retried because what testdc records before an update stream's first
/// `getState` counts as seen.
async fn until_delivered(
    hooks: &Hooks,
    name: &str,
    settings: &AccountSettings,
    text: &str,
    write: impl Fn(&str),
) -> (Value, String) {
    let key = settings.webhook_api_key.clone().unwrap();
    let secret = settings.webhook_signing_secret.clone().unwrap();
    let start = Instant::now();
    for attempt in 0.. {
        let text = format!("{text} #{attempt}");
        write(&text);
        let wait = Instant::now();
        while wait.elapsed() < Duration::from_millis(500) {
            if let Some(payload) = received(hooks, name, &secret, &key, &text).first() {
                return (payload.clone(), text);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{name} got nothing"
        );
    }
    unreachable!()
}

/// A many-accounts sender over `dir` with `extra` flags.
async fn start_sender(dir: &Path, env_session: &str, extra: &[&str]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = [
        "sender",
        "--x-api-token",
        "1:env-token",
        "--tg-api-id",
        "1",
        "--tg-api-hash",
        "e2e-hash",
        "--tg-session-name",
        env_session,
        "--sessions-dir",
        dir.to_str().unwrap(),
        "--admin-api-key",
        ADMIN,
        "--send-pacing",
        "false",
    ];
    let config = sender::Config::try_parse_from(args.iter().chain(extra)).unwrap();
    let accounts = sender::accounts::Accounts::start(config).await.unwrap();
    tokio::spawn(accounts.serve(listener, std::future::pending()));
    addr
}

async fn start_receiver(dir: &Path, env_session: &str, media: &Path) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = receiver::Config::try_parse_from([
        "receiver",
        "--api-id",
        "1",
        "--session-name",
        env_session,
        "--media-dir",
        media.to_str().unwrap(),
        "--sessions-dir",
        dir.to_str().unwrap(),
        "--outbox-path",
        ":memory:",
        "--webhook-api-key",
        RECEIVER_KEY,
    ])
    .unwrap();
    tokio::spawn(receiver::accounts::run_on(
        config,
        listener,
        std::future::pending(),
    ));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_accounts_one_process_each_its_own_webhook_token_and_login() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let added = dc.add_accounts(2);
    let (b, d) = (added[0].clone(), added[1].clone());
    let a_id = Fixture::DEFAULT.self_id;
    let bot_id = Fixture::DEFAULT.bot;
    let alice = Fixture::DEFAULT.alice;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    let env_session = scratch.path().join("env").join("unused");
    let env_session = env_session.to_str().unwrap();
    let (hook_addr, hooks) = sink().await;

    // Two users (the default account and an added one) and the default world's bot.
    dc.write_session(dir.join("a.session")).await.unwrap();
    dc.account(b.user_id)
        .unwrap()
        .write_session(dir.join("b.session"))
        .await
        .unwrap();
    dc.write_bot_session(dir.join("c.session")).await.unwrap();
    let mut all = HashMap::new();
    for (seed, (name, id)) in [("a", a_id), ("b", b.user_id), ("c", bot_id)]
        .into_iter()
        .enumerate()
    {
        let s = settings(name, hook_addr, seed as u8 + 1);
        write_settings(&dir, name, &s).await.unwrap();
        all.insert(name, (id, s));
    }
    let token = |name: &str| {
        let (id, s) = &all[name];
        format!("{id}:{}", s.secret)
    };

    let sender = start_sender(&dir, env_session, &[]).await;
    let receiver = start_receiver(&dir, env_session, &scratch.path().join("media")).await;
    let http = reqwest::Client::new();
    for name in ["a", "b", "c"] {
        until(Duration::from_secs(20), &format!("{name} running"), || {
            running(&http, receiver, name)
        })
        .await;
    }

    // Updates: each account's reach only its own webhook, with its key and signature and
    // its account_id. The update stream is live only once getState answered: retry probes.
    let world_a = dc.default_account();
    let world_b = dc.account(b.user_id).unwrap();
    let (payload, text_a) = until_delivered(&hooks, "a", &all["a"].1, "to a", |t| {
        alice_writes(&world_a, t)
    })
    .await;
    assert_eq!(payload["account_id"], a_id);
    let (payload, text_b) = until_delivered(&hooks, "b", &all["b"].1, "to b", |t| {
        alice_writes(&world_b, t)
    })
    .await;
    assert_eq!(payload["account_id"], b.user_id);
    let (bot_payload, text_c) = until_delivered(&hooks, "c", &all["c"].1, "to c", |t| {
        dc.press_button(alice, alice, 42, t.as_bytes()).unwrap();
    })
    .await;
    assert_eq!(bot_payload["account_id"], bot_id);
    for (name, text) in [("a", &text_a), ("b", &text_b), ("c", &text_c)] {
        for other in ["a", "b", "c"].into_iter().filter(|o| *o != name) {
            let hooks = hooks.lock().unwrap();
            let leaked = hooks
                .get(other)
                .into_iter()
                .flatten()
                .any(|(_, _, _, _, body)| String::from_utf8_lossy(body).contains(text.as_str()));
            assert!(!leaked, "{name}'s update reached {other}'s webhook");
        }
    }

    // Sends: each token acts as its own account.
    let (status, body) = send(&http, sender, &token("a"), alice, "from a").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["from"]["id"], a_id);
    assert_eq!(
        last_text_from(&dc, None, alice).unwrap(),
        (a_id, "from a".into())
    );
    let (status, body) = send(&http, sender, &token("b"), alice, "from b").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["from"]["id"], b.user_id);
    assert_eq!(
        last_text_from(&dc, Some(b.user_id), alice).unwrap(),
        (b.user_id, "from b".into())
    );
    // testdc runs a bot's calls in its owner's world and records its sends as that account's
    // (it has no separate bot chats), so the bot's send is checked by getMe below and by
    // answering a callback query only the bot's connection could have received.
    let (status, body) = send(&http, sender, &token("c"), alice, "from the bot").await;
    assert_eq!(status, 200, "{body}");
    let query_id = bot_payload["callback_query"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answered: Value = http
        .post(format!(
            "http://{sender}/bot{}/answerCallbackQuery",
            token("c")
        ))
        .json(&json!({"callback_query_id": query_id, "text": "seen by the bot"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answered["result"], true, "{answered}");
    assert_eq!(
        dc.callback_answer(query_id.parse().unwrap())
            .and_then(|a| a.message)
            .as_deref(),
        Some("seen by the bot")
    );
    // getMe answers each token's account; a token with a wrong secret is refused.
    for name in ["a", "b", "c"] {
        let me: Value = http
            .get(format!("http://{sender}/bot{}/getMe", token(name)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["result"]["id"], all[name].0, "{me}");
    }
    let wrong = format!("{}:not-the-secret", b.user_id);
    assert_eq!(send(&http, sender, &wrong, alice, "x").await.0, 401);
    let (status, _) = send(
        &http,
        sender,
        &token("a").replace(&a_id.to_string(), &b.user_id.to_string()),
        alice,
        "x",
    )
    .await;
    assert_eq!(status, 401, "a's secret must not open b");

    // An account added over HTTP, logged in with its phone and code.
    dc.account(d.user_id)
        .unwrap()
        .write_unauthorized_session(dir.join("d.session"))
        .await
        .unwrap();
    let d_hook = settings("d", hook_addr, 9);
    let d_settings = json!({
        "name": "d",
        "phone_number": d.phone,
        "webhook_url": d_hook.webhook_url,
        "webhook_api_key": d_hook.webhook_api_key,
        "webhook_signing_secret": d_hook.webhook_signing_secret,
    });
    let admin = |r: reqwest::RequestBuilder| r.header("x-admin-key", ADMIN);
    let added: Value = admin(http.post(format!("http://{sender}/admin/accounts")))
        .json(&d_settings)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(added["result"]["login"]["step"], "code_sent", "{added}");
    let code = dc.account(d.user_id).unwrap().last_login_code().unwrap();
    let signed: Value = admin(http.post(format!("http://{sender}/admin/accounts/d/auth/signIn")))
        .json(&json!({"phone_code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signed["result"]["authorized"], true, "{signed}");
    let signed_at = Instant::now();
    let listed: Value = admin(http.get(format!("http://{sender}/admin/accounts/d")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let d_token = listed["result"]["token"].as_str().unwrap().to_owned();
    assert!(d_token.starts_with(&format!("{}:", d.user_id)), "{listed}");
    let (status, body) = send(&http, sender, &d_token, alice, "from d").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["from"]["id"], d.user_id);
    until(Duration::from_secs(10), "d running in the receiver", || {
        running(&http, receiver, "d")
    })
    .await;
    eprintln!(
        "receiver started the new account {:?} after its sign-in",
        signed_at.elapsed()
    );
    let world_d = dc.account(d.user_id).unwrap();
    let (payload, _) =
        until_delivered(&hooks, "d", &d_hook, "to d", |t| alice_writes(&world_d, t)).await;
    assert_eq!(payload["account_id"], d.user_id);

    // Removing b stops only b.
    let removed = admin(http.delete(format!("http://{sender}/admin/accounts/b")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert!(!dir.join("b.session").exists());
    assert_eq!(send(&http, sender, &token("b"), alice, "x").await.0, 401);
    until(
        Duration::from_secs(10),
        "b gone from the receiver",
        || async { !receiver_states(&http, receiver).await.contains_key("b") },
    )
    .await;
    let (status, body) = send(&http, sender, &token("a"), alice, "a still works").await;
    assert_eq!(status, 200, "{body}");
    let (payload, _) = until_delivered(&hooks, "a", &all["a"].1, "a after b left", |t| {
        alice_writes(&world_a, t)
    })
    .await;
    assert_eq!(payload["account_id"], a_id);
    let states = receiver_states(&http, receiver).await;
    for name in ["a", "c", "d"] {
        assert_eq!(states[name]["state"], "running", "{states:?}");
    }

    // The front's own refusals are envelopes too, and the admin key is required.
    let wrong_verb = admin(http.put(format!("http://{sender}/admin/accounts")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_verb.status(), 405);
    let body: Value = wrong_verb.json().await.unwrap();
    assert_eq!(body["ok"], false, "{body}");
    assert_eq!(body["error_code"], 405, "{body}");
    let no_key = http
        .get(format!("http://{sender}/admin/accounts"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 401);

    // Per-account metrics: requests by account name, accounts by state.
    let metrics = http
        .get(format!("http://{sender}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"sender_account_requests_total{account="a"}"#,
        r#"sender_account_requests_total{account="d"}"#,
        r#"gateway_accounts{state="signed_in"}"#,
        r#"gateway_accounts{state="running"}"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from /metrics");
    }
}

/// One account in trouble — its chat in a FLOOD_WAIT, its webhook down — while another account
/// of the same processes sends and receives as if alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_accounts_flood_wait_and_dead_webhook_never_hold_up_another() {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    // Each world has its own buckets: two sends per chat per minute, then FLOOD_WAIT.
    dc.set_limits(testdc::Limits {
        per_chat: Some(testdc::Rate {
            count: 2,
            per: Duration::from_secs(60),
        }),
        ..testdc::Limits::default()
    });
    let b = dc.add_accounts(1).remove(0);
    let (a_id, alice) = (Fixture::DEFAULT.self_id, Fixture::DEFAULT.alice);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    let env_session = scratch.path().join("env").join("unused");
    let env_session = env_session.to_str().unwrap();
    let (hook_addr, hooks) = sink().await;
    dc.write_session(dir.join("a.session")).await.unwrap();
    dc.account(b.user_id)
        .unwrap()
        .write_session(dir.join("b.session"))
        .await
        .unwrap();
    let a = settings("a", hook_addr, 1);
    // Nothing listens on port 1: every delivery of b's fails and is retried.
    let b_settings = AccountSettings {
        webhook_url: Some("http://127.0.0.1:1/hook/b".into()),
        ..settings("b", hook_addr, 2)
    };
    write_settings(&dir, "a", &a).await.unwrap();
    write_settings(&dir, "b", &b_settings).await.unwrap();
    let (a_token, b_token) = (
        format!("{a_id}:{}", a.secret),
        format!("{}:{}", b.user_id, b_settings.secret),
    );
    let sender = start_sender(&dir, env_session, &["--send-queue-max-wait", "1"]).await;
    let receiver = start_receiver(&dir, env_session, &scratch.path().join("media")).await;
    let http = reqwest::Client::new();
    for name in ["a", "b"] {
        until(Duration::from_secs(20), &format!("{name} running"), || {
            running(&http, receiver, name)
        })
        .await;
    }

    // b's chat with Alice: two sends, then Telegram's FLOOD_WAIT parks b's lane; the
    // synchronous caller gets 429 after SEND_QUEUE_MAX_WAIT.
    for i in 0..2 {
        let (status, body) = send(&http, sender, &b_token, alice, &format!("b {i}")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = send(&http, sender, &b_token, alice, "b over the limit").await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(dc.flood_waits(), 1);
    // a, same processes, same chat id in its own world: not held up by b's wait.
    for i in 0..2 {
        let (status, body) = send(&http, sender, &a_token, alice, &format!("a {i}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["from"]["id"], a_id);
    }
    assert_eq!(dc.flood_waits(), 1, "a's sends met no flood wait");

    // b's webhook is down; Alice writes to b, then to a: a's update arrives all the same.
    let b_dc = dc.account(b.user_id).unwrap();
    for i in 0..5 {
        alice_writes(&b_dc, &format!("to b {i}"));
    }
    let world_a = dc.default_account();
    let (payload, _) =
        until_delivered(&hooks, "a", &a, "to a", |t| alice_writes(&world_a, t)).await;
    assert_eq!(payload["account_id"], a_id);
    // b's updates are kept for their retries, not lost: its own status counts them open.
    let b_status: Value = http
        .get(format!("http://{receiver}/accounts/b/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(hooks.lock().unwrap().get("b").is_none());
    assert!(
        b_status["pending"].as_u64().unwrap() >= 5,
        "b's five updates wait for their retries: {b_status}"
    );
}
