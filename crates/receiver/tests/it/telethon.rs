//! Moving from the Python service (Telethon 1.x): Telethon itself signs a session in against
//! testdc (`tests/telethon/telethon_login.py`), then the receiver runs on that very file with no
//! login, catches up on what arrived while nothing ran, and leaves the file byte-identical; a
//! Telethon `StringSession` imports through `receiver import-session --string`.
//!
//! Without Telethon the tests print why and pass, unless `REQUIRE_CLIENT_LIBS=1` (CI). Install
//! it with `python3 -m venv crates/receiver/tests/telethon/.venv &&
//! crates/receiver/tests/telethon/.venv/bin/pip install -r crates/receiver/tests/telethon/requirements.txt`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use grammers_session::Session as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use testdc::{Fixture, SendText, TestDc, TestDcConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::helpers::{Options, Sink, ids, init_tracing, start_app};

/// A whole script run, Telethon's start-up included.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
const INSTALL: &str = "python3 -m venv crates/receiver/tests/telethon/.venv && \
     crates/receiver/tests/telethon/.venv/bin/pip install -r crates/receiver/tests/telethon/requirements.txt";

fn telethon_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/telethon")
}

/// The venv's Python, else `python3`.
fn python() -> PathBuf {
    let venv = telethon_dir().join(".venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// Whether Telethon can be imported; otherwise skips (prints why) or, with
/// `REQUIRE_CLIENT_LIBS=1`, fails.
async fn telethon_or_skip() -> bool {
    let available = Command::new(python())
        .args(["-c", "import telethon"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success());
    if available {
        return true;
    }
    let required = std::env::var("REQUIRE_CLIENT_LIBS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "Telethon is not installed and REQUIRE_CLIENT_LIBS=1; install it with: {INSTALL}"
    );
    eprintln!("SKIPPED: Telethon is not installed (install it with: {INSTALL})");
    false
}

/// An auth key testdc issued that is not signed in yet (Telethon cannot run the DH handshake
/// against testdc): written into a scratch session by testdc, read back.
async fn unauthorized_key(dc: &TestDc, dir: &Path) -> String {
    let scratch = dir.join("scratch").join("key.session");
    dc.write_unauthorized_session(&scratch).await.unwrap();
    let store = session::SessionStore::open(&scratch).await.unwrap();
    let key = store.dc_option(2).unwrap().unwrap().auth_key.unwrap();
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs `telethon_login.py` for `session` (a Telethon session name, or `string`), typing
/// testdc's login code at its prompt; returns its JSON summary.
async fn telethon_login(dc: &TestDc, dir: &Path, session: &str, pin_chat: Option<i64>) -> Value {
    let key = unauthorized_key(dc, dir).await;
    let mut command = Command::new(python());
    command
        .arg(telethon_dir().join("telethon_login.py"))
        .env("DC_HOST", dc.addr().ip().to_string())
        .env("DC_PORT", dc.addr().port().to_string())
        .env("AUTH_KEY_HEX", key)
        .env("PHONE", Fixture::PHONE)
        .env("SESSION", session)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(chat) = pin_chat {
        command.env("PIN_CHAT", chat.to_string());
    }
    let mut child = command.spawn().expect("python starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let run = async {
        let mut last = String::new();
        while let Some(line) = stdout.next_line().await.unwrap() {
            if line == "code?" {
                let code = dc.last_login_code().expect("a code was sent");
                stdin
                    .write_all(format!("{code}\n").as_bytes())
                    .await
                    .unwrap();
                stdin.flush().await.unwrap();
            }
            last = line;
        }
        let status = child.wait().await.unwrap();
        let mut errors = String::new();
        stderr.read_to_string(&mut errors).await.unwrap();
        assert!(status.success(), "telethon_login.py failed:\n{errors}");
        serde_json::from_str::<Value>(&last)
            .unwrap_or_else(|_| panic!("no JSON summary: {last}\n{errors}"))
    };
    tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .expect("telethon_login.py finished in time")
}

fn sha256(path: &Path) -> String {
    let digest = Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The files SQLite would create beside `path` if it had opened it for writing.
fn side_files(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            PathBuf::from(side)
        })
        .filter(|p| p.exists())
        .collect()
}

/// Runs the `receiver` binary with `TG_SESSION_NAME=name` and `stdin`; returns success and
/// everything it printed.
async fn receiver(name: &Path, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_receiver"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", name)
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", name.with_extension("media"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("receiver starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .expect("receiver exits in time")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn telethon_session_is_used_without_login_catches_up_and_stays_unchanged() {
    if !telethon_or_skip().await {
        return;
    }
    init_tracing();
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let alice = ids().alice;

    let name = path.join("tg_userbot");
    let summary = telethon_login(&dc, &path, name.to_str().unwrap(), Some(alice)).await;
    assert_eq!(summary["self_id"], Fixture::DEFAULT.self_id);
    assert_eq!(
        summary["pinned_service"], true,
        "Telethon's pin_message returns testdc's service message"
    );
    let telethon_file = path.join("tg_userbot.session");
    let digest = sha256(&telethon_file);
    assert_eq!(side_files(&telethon_file), Vec::<PathBuf>::new());

    // Arrives while neither the Python service nor the receiver runs.
    dc.send_text(SendText {
        from: Some(alice),
        chat_id: alice,
        text: "sent while nothing ran".into(),
        reply_to_message_id: None,
    })
    .unwrap();

    // The test helpers configure TG_SESSION_NAME=<dir>/tg_userbot: the Telethon file.
    let sink = Sink::start().await;
    let mut app = start_app(
        dc.clone(),
        Some(sink),
        path.clone(),
        Some(dir),
        &Options::default(),
    )
    .await;
    let texts: Vec<&str> = app
        .skipped
        .iter()
        .filter_map(|r| r.body["message"]["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"sent while nothing ran"),
        "caught up from Telethon's update state: {texts:?}"
    );
    app.send(Some(alice), alice, "sent after the start", None);
    let live = app.next_payload().await;
    assert_eq!(live.body["message"]["text"], "sent after the start");
    let (result, _dc, _sink, path, _dir) = app.stop_keep().await;
    result.unwrap();

    assert_eq!(
        sha256(&telethon_file),
        digest,
        "the Telethon file is unchanged"
    );
    assert_eq!(side_files(&telethon_file), Vec::<PathBuf>::new());
    assert!(path.join("tg_userbot.gateway.session").exists());

    // The same file through the command: installed as another name's session.
    let other = path.join("other");
    let from = telethon_file.to_str().unwrap();
    let (ok, said) = receiver(&other, &["import-session", "--from-telethon", from], "").await;
    assert!(ok, "{said}");
    let (ok, said) = receiver(&other, &["whoami"], "").await;
    assert!(
        ok && said.contains(&Fixture::DEFAULT.self_id.to_string()),
        "{said}"
    );
    assert_eq!(sha256(&telethon_file), digest);
    assert_eq!(side_files(&telethon_file), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn import_session_takes_a_telethon_string_session() {
    if !telethon_or_skip().await {
        return;
    }
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = telethon_login(&dc, dir.path(), "string", None).await;
    let string = summary["string"]
        .as_str()
        .expect("a StringSession")
        .to_owned();
    assert!(string.starts_with('1'));
    let name = dir.path().join("imported");

    let (ok, said) = receiver(&name, &["import-session", "--string", "-"], &string).await;
    assert!(ok, "{said}");
    assert!(!said.contains(&string[1..40]), "never printed: {said}");
    let (ok, said) = receiver(&name, &["whoami"], "").await;
    assert!(
        ok && said.contains(&Fixture::DEFAULT.self_id.to_string()),
        "{said}"
    );

    let (ok, said) = receiver(&name, &["import-session", "--string", &string], "").await;
    assert!(!ok && said.contains("pass --force"), "{said}");
    assert!(!said.contains(&string[1..40]), "never printed: {said}");
    let (ok, said) = receiver(
        &name,
        &["import-session", "--force", "--string", &string],
        "",
    )
    .await;
    assert!(ok, "{said}");

    let damaged = format!("{}AAAA", &string[..string.len() - 12]);
    let (ok, said) = receiver(
        &name,
        &["import-session", "--force", "--string", &damaged],
        "",
    )
    .await;
    assert!(
        !ok && said.contains("invalid Telethon StringSession"),
        "{said}"
    );
    assert!(!said.contains(&damaged[1..40]), "never printed: {said}");
}
