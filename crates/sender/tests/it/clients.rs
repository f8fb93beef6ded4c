//! Real Bot API client libraries against the sender, changed only in their base URL:
//! python-telegram-bot (`tests/clients/ptb_check.py`) and grammY (`grammy_check.mjs`).
//!
//! Each script sends, uploads, downloads by URL, edits, deletes and meets a flood wait; the
//! test then checks what reached testdc. Without the library the test prints why and passes,
//! unless `REQUIRE_CLIENT_LIBS=1` (CI), where a missing library fails it. Install them with
//! `python3 -m venv crates/sender/tests/clients/.venv && crates/sender/tests/clients/.venv/bin/pip
//! install -r crates/sender/tests/clients/requirements.txt` and
//! `npm ci --prefix crates/sender/tests/clients`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{API_KEY, TestApp, chats, spawn_app_with};
use crate::media_helpers::{FileServer, fixture, fixtures_dir, sha256};

/// A whole script run, library start-up included.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// The flood wait testdc answers the script's first sendMessage with.
const FLOOD_SECONDS: u32 = 30;

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// `$CLIENTS_PYTHON`, else the venv in `tests/clients/.venv`, else `python3`.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("CLIENTS_PYTHON") {
        return python.into();
    }
    let venv = clients_dir().join(".venv/bin/python3");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

/// Whether `program args…` exits 0 (run in `tests/clients`); false when it cannot start.
async fn succeeds(program: &PathBuf, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success())
}

/// `true` when the library can run; otherwise skips (prints why) or, with
/// `REQUIRE_CLIENT_LIBS=1`, fails.
pub(crate) fn available_or_skip(available: bool, library: &str, install: &str) -> bool {
    if available {
        return true;
    }
    let required = std::env::var("REQUIRE_CLIENT_LIBS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{library} is not installed and REQUIRE_CLIENT_LIBS=1; install it with: {install}"
    );
    eprintln!("SKIPPED: {library} is not installed (install it with: {install})");
    false
}

/// Starts testdc, the sender (private URLs allowed, for the file server) and the file server,
/// arms the flood wait and runs `program args…` with the script environment. Returns the app,
/// the file server (kept alive) and the ids the script printed.
async fn run_script(program: PathBuf, args: &[&str]) -> (TestApp, FileServer, Value) {
    let app = spawn_app_with(|c| c.allow_private_urls = true).await;
    let files = FileServer::start().await;
    app.dc.fail_next(
        "messages.sendMessage",
        1,
        &format!("FLOOD_WAIT_{FLOOD_SECONDS}"),
    );
    let mut command = Command::new(&program);
    command
        .args(args)
        .current_dir(clients_dir())
        .env("SENDER_ROOT", format!("http://{}", app.addr))
        .env("BOT_TOKEN", API_KEY)
        .env("CHAT_ID", chats().alice.to_string())
        .env("PHOTO_PATH", fixtures_dir().join("photo.jpg"))
        .env("VOICE_URL", files.url("/files/voice.ogg"))
        .env("FLOOD_SECONDS", FLOOD_SECONDS.to_string())
        // Loopback only: never through a proxy the environment may configure.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true);
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, command.output())
        .await
        .expect("the script finished in time")
        .expect("the script started");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program:?} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let last = stdout.lines().last().unwrap_or_default();
    let ids = serde_json::from_str(last)
        .unwrap_or_else(|_| panic!("no JSON summary on stdout:\n{stdout}\nstderr:\n{stderr}"));
    (app, files, ids)
}

/// What the script did, as testdc stored it.
fn assert_history(app: &TestApp, ids: &Value) {
    let id = |key: &str| ids[key].as_i64().unwrap();
    assert!(
        app.stored(chats().alice, id("question")).is_none(),
        "deleted"
    );
    let answer = app.stored(chats().alice, id("answer")).expect("answer");
    assert_eq!(answer.text, "edited text");
    assert!(answer.edit_date.is_some());
    assert_eq!(answer.reply_to_message_id, Some(id("question") as i32));
    let photo = app.stored(chats().alice, id("photo")).expect("photo");
    let photo_media = photo.media.expect("photo media");
    assert_eq!(
        (photo_media.kind.as_str(), photo.text.as_str()),
        ("photo", "a photo")
    );
    assert_eq!(photo_media.sha256, sha256(&fixture("photo.jpg")));
    let voice = app.stored(chats().alice, id("voice")).expect("voice");
    let voice_media = voice.media.expect("voice media");
    assert!(voice_media.voice, "{voice_media:?}");
    assert_eq!(voice_media.sha256, sha256(&fixture("voice.ogg")));
    let texts: Vec<String> = app
        .dc
        .history(chats().alice)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert!(
        !texts.iter().any(|t| t == "flood probe"),
        "the flood-waited message was not sent: {texts:?}"
    );
}

#[tokio::test]
async fn python_telegram_bot_works_unchanged_but_for_its_base_url() {
    let python = python();
    let installed = succeeds(
        &python,
        &[
            "-c",
            "import telegram, sys; sys.exit(telegram.__version__[:3] != '22.')",
        ],
    )
    .await;
    let install = "python3 -m venv crates/sender/tests/clients/.venv && \
                   crates/sender/tests/clients/.venv/bin/pip install -r \
                   crates/sender/tests/clients/requirements.txt";
    if !available_or_skip(installed, "python-telegram-bot 22.x", install) {
        return;
    }
    let (app, _files, ids) = run_script(python, &["ptb_check.py"]).await;
    assert_history(&app, &ids);
}

#[tokio::test]
async fn grammy_works_unchanged_but_for_its_api_root() {
    let node = PathBuf::from("node");
    let installed = succeeds(
        &node,
        &["--input-type=module", "-e", "await import('grammy')"],
    )
    .await;
    let install = "npm ci --prefix crates/sender/tests/clients";
    if !available_or_skip(installed, "grammY", install) {
        return;
    }
    let (app, _files, ids) = run_script(node, &["grammy_check.mjs"]).await;
    assert_history(&app, &ids);
}
