//! Secrets never reach the logs: the real `sender` binary (logging can be installed once per
//! process, so it runs as a child) with `RUST_LOG=debug` and `LOGS_DIR`, driven through wrong
//! keys, both URL families and the whole headless login; then stdout, stderr and every log
//! file are searched for each secret.

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use grammers_session::Session as _;
use serde_json::{Value, json};
use testdc::{Fixture, TestDc, TestDcConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::helpers::API_KEY;

const PASSWORD: &str = "Tr0ub4dor&3-pass";
const WRONG_PASSWORD: &str = "not-the-Tr0ub4dor";
const WRONG_CODE: &str = "97531";
const API_HASH: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

/// Collects every line of `stream` into `sink`, reporting the listening address on `addr`.
fn collect(
    stream: impl AsyncRead + Unpin + Send + 'static,
    sink: Arc<Mutex<String>>,
    addr: mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("sender listening")
                && let Some(at) = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("addr="))
            {
                let _ = addr.send(at.to_owned());
            }
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
}

fn spawn_sender(dir: &Path, session_name: &Path, logs: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sender"))
        .current_dir(dir) // no stray .env
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("X_API_TOKEN", API_KEY)
        .env("TG_API_ID", "1")
        .env("TG_API_HASH", API_HASH)
        .env("TG_SESSION_NAME", session_name)
        .env("SENDER_BIND", "127.0.0.1:0")
        .env("LOGS_DIR", logs)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the sender binary starts")
}

/// `needle` as a whole number: not part of a longer run of digits (timestamps, ids).
fn contains_number(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn no_key_code_password_or_auth_key_in_any_log_at_debug_level() {
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    dc.set_password(Some(PASSWORD));
    let dir = tempfile::tempdir().unwrap();
    let session_name = dir.path().join("tg_userbot");
    let session_path = session::SessionStore::path_for_name(&session_name.display().to_string());
    dc.write_unauthorized_session(&session_path).await.unwrap();
    let logs = dir.path().join("logs");
    let mut child = spawn_sender(dir.path(), &session_name, &logs);
    let output = Arc::new(Mutex::new(String::new()));
    let (addr_tx, mut addr_rx) = mpsc::unbounded_channel();
    collect(
        child.stdout.take().unwrap(),
        output.clone(),
        addr_tx.clone(),
    );
    collect(child.stderr.take().unwrap(), output.clone(), addr_tx);
    let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx.recv())
        .await
        .unwrap_or_else(|_| panic!("no address logged:\n{}", output.lock().unwrap()))
        .expect("the sender logged its address");

    let client = reqwest::Client::new();
    let url = |path: &str| format!("http://{addr}{path}");
    let call = |path: String, key: Option<&str>, body: Value| {
        let mut request = client.post(url(&path)).json(&body);
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let hello = json!({ "chat_id": Fixture::DEFAULT.alice, "text": "hello" });
    assert_eq!(
        call(
            "/api_v1/sendMessage".into(),
            Some("wrong-key"),
            hello.clone()
        )
        .await
        .0,
        401
    );
    assert_eq!(
        call(format!("/bot{API_KEY}/sendMessage"), None, hello.clone())
            .await
            .0,
        503
    );
    let phone = json!({ "phone_number": Fixture::PHONE });
    assert_eq!(
        call("/api_v1/auth/sendCode".into(), Some(API_KEY), phone)
            .await
            .0,
        200
    );
    let wrong = json!({ "phone_code": WRONG_CODE });
    assert_eq!(
        call("/api_v1/auth/signIn".into(), Some(API_KEY), wrong)
            .await
            .0,
        400
    );
    let code = dc.last_login_code().unwrap();
    let right = json!({ "phone_code": code });
    let (status, body) = call("/api_v1/auth/signIn".into(), Some(API_KEY), right).await;
    assert_eq!(
        (status, &body["result"]["step"]),
        (200, &json!("password_needed"))
    );
    // A secret in the query string must not be logged either.
    let query = format!("/api_v1/auth/checkPassword?password={WRONG_PASSWORD}");
    assert_eq!(call(query, Some(API_KEY), json!({})).await.0, 400);
    let password = json!({ "password": PASSWORD });
    let (status, body) = call("/api_v1/auth/checkPassword".into(), Some(API_KEY), password).await;
    assert_eq!(
        (status, &body["result"]["authorized"]),
        (200, &json!(true)),
        "{body}"
    );
    assert_eq!(
        call(format!("/bot{API_KEY}/sendMessage"), None, hello.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        call("/api_v1/sendMessage".into(), Some(API_KEY), hello)
            .await
            .0,
        200
    );
    // Near misses of the token URL: a base URL with a trailing slash, another case, a stray
    // or missing segment, percent-encoding. Whatever they answer, the token is not logged.
    let encoded = API_KEY.replace(':', "%3A");
    let near_misses = [
        format!("//bot{API_KEY}/getMe"),
        format!("/bot/{API_KEY}/getMe"),
        format!("/BOT{API_KEY}/getMe"),
        format!("/Bot{API_KEY}/getMe"),
        format!("/file//bot{API_KEY}/x.jpg"),
        format!("/x/bot{API_KEY}/getMe"),
        format!("/bot{encoded}/getMe"),
        format!("/%62ot{API_KEY}/getMe"),
        format!("/api_v1/{API_KEY}/getMe"),
        format!("/{API_KEY}/getMe"),
        format!("/bot{API_KEY}"),
    ];
    for path in &near_misses {
        for request in [
            client.get(url(path)),
            client.post(url(path)).json(&json!({})),
        ] {
            let status = request.send().await.unwrap().status();
            assert!(status.as_u16() < 500, "{path}: {status}");
        }
    }
    assert_eq!(
        call("/api_v1/auth/logOut".into(), Some(API_KEY), json!({}))
            .await
            .0,
        200
    );

    // SIGTERM, so the JSON writer flushes on the way out.
    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.unwrap().success());
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    assert!(exit.expect("stopped after SIGTERM").unwrap().success());

    let stdout_and_stderr = output.lock().unwrap().clone();
    let mut files = String::new();
    for entry in std::fs::read_dir(&logs).expect("LOGS_DIR was created") {
        files.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    // Not vacuous: every request is there, with its method and status.
    for (method, status) in [
        ("sendMessage", 401u16),
        ("sendMessage", 503),
        ("auth/signIn", 400),
        ("auth/checkPassword", 200),
        ("sendMessage", 200),
        ("auth/logOut", 200),
    ] {
        let human = format!("method={method}");
        assert!(
            stdout_and_stderr
                .lines()
                .any(|l| l.contains(&human) && l.contains(&format!("status={status}"))),
            "no {method} {status} line on stdout:\n{stdout_and_stderr}"
        );
        let json_line = files
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|l| l["span"]["method"] == method && l["fields"]["status"] == status);
        assert!(
            json_line,
            "no {method} {status} line in the JSON files:\n{files}"
        );
    }

    for masked in ["/BOT***/getMe", "/bot/***/getMe", "//bot***/getMe"] {
        assert!(
            stdout_and_stderr.contains(masked),
            "the near miss {masked} was not logged at all:\n{stdout_and_stderr}"
        );
    }

    let store = session::SessionStore::open(&session_path).await.unwrap();
    let home = store.home_dc_id().unwrap();
    let session_key = store
        .dc_option(home)
        .unwrap()
        .and_then(|dc| dc.auth_key)
        .unwrap();
    let secret_part = API_KEY.split_once(':').unwrap().1;
    for (source, text) in [("stdout/stderr", &stdout_and_stderr), ("log files", &files)] {
        for (what, secret) in [
            ("X_API_TOKEN", API_KEY.to_owned()),
            ("the token's secret part", secret_part.to_owned()),
            ("TG_API_HASH", API_HASH.to_owned()),
            ("the password", PASSWORD.to_owned()),
            ("the wrong password", WRONG_PASSWORD.to_owned()),
            ("the testdc auth key", hex(&dc.session_seed().auth_key)),
            ("the session's auth key", hex(&session_key)),
            (
                "the session's auth key (upper case)",
                hex(&session_key).to_uppercase(),
            ),
        ] {
            assert!(!text.contains(&secret), "{what} found in {source}");
        }
        for (what, number) in [
            ("the login code", code.as_str()),
            ("the wrong code", WRONG_CODE),
        ] {
            assert!(!contains_number(text, number), "{what} found in {source}");
        }
    }
}
