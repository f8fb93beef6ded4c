//! Several instances on one Postgres (`DATABASE_URL`), as processes: three instances (a receiver
//! and a sender each, the real binaries) share thirty accounts through a real throwaway
//! Postgres, under steady receive and send load; one instance is killed with SIGKILL. Its
//! accounts move to the others; no update is lost (every one reaches its account's webhook,
//! a repeat only with the same `webhook-id`), no send is lost or made twice (a caller retries
//! on another instance with its idempotency key), and no auth key is ever used by two instances
//! at once (testdc counts connections per auth key).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use testdc::{Fixture, SendText, TestDc, TestDcConfig};
use testkit::postgres::Postgres;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

const ACCOUNTS: usize = 30;
const INSTANCES: usize = 3;
/// `CLUSTER_LEASE_SECONDS` of every instance.
const LEASE_SECONDS: u64 = 2;
/// The receivers' `WEBHOOK_API_KEY`: opens their `/status` list.
const RECEIVER_KEY: &str = "cluster-receiver-key";

/// Per account name: every (webhook-id, message text) its webhook got.
type Hooks = Arc<Mutex<HashMap<String, Vec<(String, String)>>>>;

async fn record(
    State(hooks): State<Hooks>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> &'static str {
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let value: Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = value["message"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    hooks
        .lock()
        .unwrap()
        .entry(name)
        .or_default()
        .push((id, text));
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

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The workspace's `receiver` and `sender` binaries beside this test's profile directory,
/// built first (a no-op when fresh).
async fn binaries() -> (PathBuf, PathBuf) {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args([
        "build", "--quiet", "-p", "receiver", "-p", "sender", "--bins",
    ]);
    if profile.ends_with("release") {
        cargo.arg("--release");
    }
    let out = cargo.output().await.unwrap();
    assert!(
        out.status.success(),
        "cargo build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exe = |name: &str| profile.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    (exe("receiver"), exe("sender"))
}

/// One instance: a receiver and a sender process sharing `INSTANCE_ID`.
struct Instance {
    id: String,
    receiver: Child,
    sender: Child,
    receiver_addr: SocketAddr,
    sender_addr: SocketAddr,
}

async fn start_instance(
    bins: &(PathBuf, PathBuf),
    id: &str,
    database_url: &str,
    scratch: &Path,
) -> Instance {
    let (receiver_addr, sender_addr) = (free_port(), free_port());
    let common = |command: &mut Command| {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("TG_API_ID", "1")
            .env("TG_SESSION_NAME", scratch.join("unused").to_str().unwrap())
            .env("DATABASE_URL", database_url)
            .env("INSTANCE_ID", id)
            .env("CLUSTER_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .env("CLUSTER_SENDER_URL", format!("http://{sender_addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
    };
    let mut receiver = Command::new(&bins.0);
    common(&mut receiver);
    receiver
        .env("MEDIA_BIND", receiver_addr.to_string())
        .env("MEDIA_DIR", scratch.join(format!("media-{id}")))
        .env("WEBHOOK_API_KEY", RECEIVER_KEY);
    let mut sender = Command::new(&bins.1);
    common(&mut sender);
    sender
        .env("SENDER_BIND", sender_addr.to_string())
        .env("X_API_TOKEN", "1:cluster-env-token")
        .env("TG_API_HASH", "e2e-hash")
        .env("SEND_PACING", "false");
    Instance {
        id: id.to_owned(),
        receiver: receiver.spawn().unwrap(),
        sender: sender.spawn().unwrap(),
        receiver_addr,
        sender_addr,
    }
}

/// Which accounts each live receiver runs (`/status` list, state `running`).
async fn running(http: &reqwest::Client, instances: &[Instance]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for instance in instances {
        let Ok(response) = http
            .get(format!("http://{}/status", instance.receiver_addr))
            .header("x-api-key", RECEIVER_KEY)
            .send()
            .await
        else {
            continue;
        };
        let Ok(status) = response.json::<Value>().await else {
            continue;
        };
        for account in status["list"].as_array().into_iter().flatten() {
            if account["state"]["state"] == "running" {
                let name = account["name"].as_str().unwrap_or_default().to_owned();
                out.insert(name, instance.id.clone());
            }
        }
    }
    out
}

async fn until_all_running(http: &reqwest::Client, instances: &[Instance], limit: Duration) {
    let start = Instant::now();
    loop {
        let now = running(http, instances).await;
        if now.len() == ACCOUNTS {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{} of {ACCOUNTS} accounts running: {now:?}",
            now.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One account of the test: its name, user id and token.
#[derive(Clone)]
struct Account {
    name: String,
    user_id: i64,
    token: String,
}

/// Sends `text` as `account` to Alice with idempotency key `text`, starting at instance
/// `first` and moving on to the next live one on a connection error or a 503, for up to 60 s.
/// Returns the `message_id`.
async fn send_until_done(
    http: &reqwest::Client,
    senders: &[SocketAddr],
    first: usize,
    account: &Account,
    text: &str,
) -> i64 {
    let start = Instant::now();
    let mut at = first;
    loop {
        let addr = senders[at % senders.len()];
        let sent = http
            .post(format!("http://{addr}/bot{}/sendMessage", account.token))
            .header("Idempotency-Key", text)
            .json(&json!({"chat_id": Fixture::DEFAULT.alice, "text": text}))
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or_default();
            if status == 200 {
                return body["result"]["message_id"].as_i64().unwrap();
            }
            assert!(
                status == 503 || status == 502 || status == 500,
                "{}: {text} answered {status} {body}",
                account.name
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{}: {text} never sent",
            account.name
        );
        at += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_thirty_accounts_survive_a_killed_instance() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("warn")
        .try_init();
    let bins = binaries().await;
    let pg = Postgres::start().await;
    let url = pg.create_database("cluster_e2e");
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    dc.add_accounts(ACCOUNTS - 1);
    let scratch = tempfile::tempdir().unwrap();
    let (hook_addr, hooks) = sink().await;

    // The accounts: each session written by testdc, moved into Postgres with its settings.
    let setup = cluster::Cluster::connect(&url, "e2e-setup", 2)
        .await
        .unwrap();
    let mut accounts = Vec::new();
    for (i, info) in dc.accounts().into_iter().enumerate() {
        let name = format!("acct{i:02}");
        let file = scratch.path().join(format!("{name}.session"));
        dc.account(info.user_id)
            .unwrap()
            .write_session(&file)
            .await
            .unwrap();
        let data = session::SessionStore::open(&file)
            .await
            .unwrap()
            .export_data()
            .await
            .unwrap();
        let secret = format!("secret-{i}");
        let settings = json!({
            "secret": secret,
            "webhook_url": format!("http://{hook_addr}/hook/{name}"),
        });
        assert!(
            setup
                .import_account(&name, &settings, &data, false)
                .await
                .unwrap()
        );
        accounts.push(Account {
            token: format!("{}:{secret}", info.user_id),
            name,
            user_id: info.user_id,
        });
    }

    // Connections per auth key are counted from here: the start (where instances started
    // together hand accounts to each other) and the failover.
    dc.reset_auth_key_peaks();
    let mut instances = Vec::new();
    for i in 0..INSTANCES {
        instances.push(start_instance(&bins, &format!("inst{i}"), &url, scratch.path()).await);
    }
    let http = reqwest::Client::new();
    until_all_running(&http, &instances, Duration::from_secs(90)).await;
    let spread = running(&http, &instances).await;
    for instance in &instances {
        let n = spread.values().filter(|id| **id == instance.id).count();
        assert_eq!(n, ACCOUNTS / INSTANCES, "uneven split: {spread:?}");
    }
    let senders: Vec<SocketAddr> = instances.iter().map(|i| i.sender_addr).collect();

    // Steady load: every round, Alice writes to every account and every account sends once,
    // through an instance chosen round-robin (usually not the owner: forwarded).
    let mut expected_updates: HashMap<String, Vec<String>> = HashMap::new();
    let mut sent: HashMap<String, i64> = HashMap::new();
    let alice = Fixture::DEFAULT.alice;
    let mut round = |r: usize, senders: Vec<SocketAddr>| {
        let mut calls = Vec::new();
        for (i, account) in accounts.iter().enumerate() {
            let text = format!("update {} round {r}", account.name);
            dc.account(account.user_id)
                .unwrap()
                .send_text(SendText {
                    from: Some(alice),
                    chat_id: alice,
                    text: text.clone(),
                    reply_to_message_id: None,
                })
                .unwrap();
            expected_updates
                .entry(account.name.clone())
                .or_default()
                .push(text);
            let (http, senders, account) = (http.clone(), senders.clone(), account.clone());
            let text = format!("send {} round {r}", account.name);
            calls.push(tokio::spawn(async move {
                let id = send_until_done(&http, &senders, i + r, &account, &text).await;
                (text, id)
            }));
        }
        calls
    };
    for r in 0..3 {
        for call in round(r, senders.clone()) {
            let (text, id) = call.await.unwrap();
            sent.insert(text, id);
        }
    }

    // Kill one instance (SIGKILL, both processes) in the middle of a round.
    let before = dc.auth_key_connections();
    let mut victim = instances.remove(0);
    let calls = round(3, senders.clone());
    let killed_at = Instant::now();
    victim.receiver.start_kill().unwrap();
    victim.sender.start_kill().unwrap();
    let _ = victim.receiver.wait().await;
    let _ = victim.sender.wait().await;
    for call in calls {
        let (text, id) = call.await.unwrap();
        sent.insert(text, id);
    }
    until_all_running(&http, &instances, Duration::from_secs(60)).await;
    let moved_in = killed_at.elapsed();
    eprintln!("accounts of the killed instance running elsewhere after {moved_in:?}");
    let live: Vec<SocketAddr> = instances.iter().map(|i| i.sender_addr).collect();
    for r in 4..6 {
        for call in round(r, live.clone()) {
            let (text, id) = call.await.unwrap();
            sent.insert(text, id);
        }
    }

    // 0 updates lost: every text reached its account's webhook; a repeat carries the same
    // webhook-id (at least once, de-duplicated by id).
    let start = Instant::now();
    loop {
        let got = hooks.lock().unwrap().clone();
        let missing: Vec<String> = expected_updates
            .iter()
            .flat_map(|(name, texts)| {
                texts
                    .iter()
                    .filter(|t| {
                        !got.get(name)
                            .is_some_and(|v| v.iter().any(|(_, x)| x == *t))
                    })
                    .map(move |t| format!("{name}: {t}"))
            })
            .collect();
        if missing.is_empty() {
            for (name, deliveries) in &got {
                let mut ids: HashMap<&str, &str> = HashMap::new();
                for (id, text) in deliveries {
                    let first = ids.entry(text.as_str()).or_insert(id.as_str());
                    assert_eq!(*first, id.as_str(), "{name}: {text} under two webhook-ids");
                }
            }
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "updates lost: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 0 sends lost or made twice: each text once in its account's chat with Alice.
    for account in &accounts {
        let history = dc.account(account.user_id).unwrap().history(alice).unwrap();
        for r in 0..6 {
            let text = format!("send {} round {r}", account.name);
            let copies: Vec<i64> = history
                .iter()
                .filter(|m| m.out && m.text == text)
                .map(|m| i64::from(m.message_id))
                .collect();
            assert_eq!(copies, [sent[&text]], "{text}");
        }
    }

    // Never two instances on one auth key: no key ever had more connections open at once
    // (while accounts were handed over at the start, or moved off the killed instance) than
    // one instance keeps for it in the steady state before the kill.
    let most_before = before.iter().map(|k| k.open).max().unwrap_or(0).max(1);
    for key in dc.auth_key_connections() {
        assert!(
            key.peak <= most_before,
            "auth key {} of account {} had {} connections at once (steady state: at most {most_before})",
            key.auth_key_id,
            key.account,
            key.peak
        );
    }
    for mut instance in instances {
        let _ = instance.receiver.start_kill();
        let _ = instance.sender.start_kill();
        let _ = instance.receiver.wait().await;
        let _ = instance.sender.wait().await;
    }
}
