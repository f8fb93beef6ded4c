//! Real Bot API client libraries against the sender, changed only in their base URL and token:
//! python-telegram-bot, aiogram, pyTelegramBotAPI, grammY, telegraf and teloxide (the scripts
//! and the teloxide program in `tests/clients/`, listed in its README.md).
//!
//! Each runs the same cases (getMe, a flood wait, an unknown chat, HTML and a reply, three
//! uploads, an edit, a delete, an album, a forward, a copy, a chat action, a location, getChat,
//! getFile with the library's download helper, a poll) and prints the message ids it made; the
//! test then checks in testdc what each case did, not only what the script says. Without the
//! library the test prints why and passes, unless `REQUIRE_CLIENT_LIBS=1` (CI), where a missing
//! library fails it. `.ci/run` installs them (commands in README.md, *Test*).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use grammers_tl_types as tl;
use serde_json::Value;
use testdc::ChatRef;
use testdc::world::media::MediaRef;
use tokio::process::Command;

use crate::clients_teloxide::teloxide_program;
use crate::helpers::{API_KEY, TestApp, chats, spawn_app};
use crate::media_helpers::{fixture, fixtures_dir, sha256};

/// A whole script run, library start-up included.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(180);
/// The flood wait testdc answers the script's first sendMessage with.
const FLOOD_SECONDS: u32 = 30;
/// A Bot API chat id testdc does not know.
const UNKNOWN_CHAT: i64 = 987_654_321;

/// `tests/clients`, where the scripts and their dependency manifests live.
pub(crate) fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// `$CLIENTS_PYTHON`, else the venv in `tests/clients/.venv`, else `python3`.
pub(crate) fn python() -> PathBuf {
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
pub(crate) async fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success())
}

/// Whether the Python distribution `dist` is installed at a version starting with `version`
/// (read from its metadata: importing aiogram alone takes seconds).
pub(crate) async fn python_has(dist: &str, version: &str) -> bool {
    let code = format!(
        "import sys, importlib.metadata as m; sys.exit(not m.version('{dist}').startswith('{version}'))"
    );
    succeeds(&python(), &["-c", &code]).await
}

/// Whether node can import the npm package `package` from `tests/clients/node_modules`.
pub(crate) async fn node_has(package: &str) -> bool {
    let code = format!("await import('{package}')");
    succeeds(
        Path::new("node"),
        &["--input-type=module", "-e", code.as_str()],
    )
    .await
}

/// The install command for the Python libraries, for skip and failure messages.
pub(crate) const PIP_INSTALL: &str = "python3 -m venv crates/sender/tests/clients/.venv && \
     crates/sender/tests/clients/.venv/bin/pip install -r crates/sender/tests/clients/requirements.txt";
/// The install command for the npm libraries.
pub(crate) const NPM_INSTALL: &str = "npm ci --prefix crates/sender/tests/clients";

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

/// One script run: the app it talked to, the JSON it printed last, the file it downloaded.
pub(crate) struct Run {
    pub app: TestApp,
    pub ids: Value,
    pub downloaded: Vec<u8>,
}

/// Starts testdc and the sender, arms the flood wait and runs `program args…` with the script
/// environment (see `tests/clients/README.md`); fails with its output unless it exits 0.
pub(crate) async fn run_script(program: &Path, args: &[&str]) -> Run {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let download = dir.path().join("downloaded");
    app.dc.fail_next(
        "messages.sendMessage",
        1,
        &format!("FLOOD_WAIT_{FLOOD_SECONDS}"),
    );
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(clients_dir())
        .env("SENDER_ROOT", format!("http://{}", app.addr))
        .env("BOT_TOKEN", API_KEY)
        .env("CHAT_ID", chats().alice.to_string())
        .env("OTHER_CHAT_ID", chats().bob.to_string())
        .env("UNKNOWN_CHAT_ID", UNKNOWN_CHAT.to_string())
        // Its own chat: after the flood wait the send queue holds that chat for FLOOD_SECONDS.
        .env("FLOOD_CHAT_ID", chats().group.to_string())
        .env("PHOTO_PATH", fixtures_dir().join("photo.jpg"))
        .env("VOICE_PATH", fixtures_dir().join("voice.ogg"))
        .env("DOCUMENT_PATH", fixtures_dir().join("document.pdf"))
        .env("DOWNLOAD_PATH", &download)
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
    let downloaded = std::fs::read(&download).unwrap_or_default();
    Run {
        app,
        ids,
        downloaded,
    }
}

fn id(ids: &Value, key: &str) -> i64 {
    ids[key]
        .as_i64()
        .unwrap_or_else(|| panic!("no {key} in {ids}"))
}

/// The inline media (location, poll) testdc stored for `message_id` in `chat_id`.
fn inline_media(app: &TestApp, chat_id: i64, message_id: i64) -> tl::enums::MessageMedia {
    let chat = ChatRef::from_bot_api_id(chat_id).unwrap();
    app.dc.with_world(
        |w| match &w.find(chat, message_id as i32).expect("stored").media {
            Some(MediaRef::Inline(media)) => (**media).clone(),
            other => panic!("not inline media: {other:?}"),
        },
    )
}

/// Every case the script ran, as testdc stored it.
pub(crate) fn assert_reached_testdc(run: &Run) {
    let (app, ids) = (&run.app, &run.ids);
    let (alice, bob) = (chats().alice, chats().bob);
    for chat in [alice, chats().group] {
        let history = app.dc.history(chat).unwrap();
        assert!(
            !history
                .iter()
                .any(|m| m.text == "flood probe" || m.text == "nobody"),
            "the flood-waited message was not sent: {history:?}"
        );
    }
    assert_eq!(
        app.dc.errors_answered(
            "messages.sendMessage",
            &format!("FLOOD_WAIT_{FLOOD_SECONDS}")
        ),
        1,
        "the library got the flood wait once and did not retry it on its own"
    );
    assert!(app.stored(alice, id(ids, "question")).is_none(), "deleted");
    let answer = app.stored(alice, id(ids, "answer")).expect("answer");
    assert_eq!(answer.text, "edited text");
    assert!(answer.edit_date.is_some());
    assert_eq!(answer.reply_to_message_id, Some(id(ids, "question") as i32));
    let media = |key: &str| {
        let message = app.stored(alice, id(ids, key)).expect(key);
        (message.text, message.media.expect("media"))
    };
    let (caption, photo) = media("photo");
    assert_eq!(
        (photo.kind.as_str(), caption.as_str()),
        ("photo", "a photo")
    );
    assert_eq!(photo.sha256, sha256(&fixture("photo.jpg")));
    let (_, voice) = media("voice");
    assert!(voice.voice, "{voice:?}");
    assert_eq!(voice.sha256, sha256(&fixture("voice.ogg")));
    let (caption, document) = media("document");
    assert_eq!(
        (document.kind.as_str(), caption.as_str()),
        ("document", "a document")
    );
    assert_eq!(document.sha256, sha256(&fixture("document.pdf")));
    assert_album(app, ids);
    assert_forward_and_copy(app, ids, bob);
    assert!(
        app.dc.peak_in_flight("messages.setTyping") >= 1,
        "sendChatAction reached testdc"
    );
    let tl::enums::MessageMedia::Geo(geo) = inline_media(app, alice, id(ids, "location")) else {
        panic!("not a location");
    };
    let tl::enums::GeoPoint::Point(point) = geo.geo else {
        panic!("empty point");
    };
    assert_eq!((point.lat, point.long), (52.52, 13.405));
    assert_poll(app, ids, alice);
    assert_eq!(ids["chat_first_name"], "Alice", "getChat");
    assert_eq!(
        sha256(&run.downloaded),
        sha256(&fixture("document.pdf")),
        "getFile + the library's download helper fetched the document"
    );
}

fn assert_album(app: &TestApp, ids: &Value) {
    let album: Vec<i64> = ids["album"]
        .as_array()
        .expect("album ids")
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(album.len(), 2, "{album:?}");
    let chat = ChatRef::from_bot_api_id(chats().alice).unwrap();
    let groups: Vec<Option<i64>> = app.dc.with_world(|w| {
        album
            .iter()
            .map(|&id| w.find(chat, id as i32).expect("album part").grouped_id)
            .collect()
    });
    assert!(
        groups[0].is_some() && groups[0] == groups[1],
        "one album: {groups:?}"
    );
    for id in album {
        let part = app.stored(chats().alice, id).unwrap().media.unwrap();
        assert_eq!(part.sha256, sha256(&fixture("photo.jpg")));
    }
}

fn assert_forward_and_copy(app: &TestApp, ids: &Value, bob: i64) {
    let chat = ChatRef::from_bot_api_id(bob).unwrap();
    let forwarded = app.dc.with_world(|w| {
        w.find(chat, id(ids, "forward") as i32)
            .map(|m| m.fwd_from.is_some())
    });
    assert_eq!(forwarded, Some(true), "forwardMessage reached {bob}");
    let forward = app.stored(bob, id(ids, "forward")).unwrap();
    assert_eq!(forward.media.unwrap().sha256, sha256(&fixture("photo.jpg")));
    let copy = app.stored(bob, id(ids, "copy")).expect("copy");
    assert_eq!(copy.text, "edited text");
    let copied_plainly = app.dc.with_world(|w| {
        w.find(chat, id(ids, "copy") as i32)
            .map(|m| m.fwd_from.is_none())
    });
    assert_eq!(copied_plainly, Some(true), "a copy has no forward header");
}

fn assert_poll(app: &TestApp, ids: &Value, alice: i64) {
    let tl::enums::MessageMedia::Poll(poll) = inline_media(app, alice, id(ids, "poll")) else {
        panic!("not a poll");
    };
    let tl::enums::Poll::Poll(poll) = poll.poll;
    let tl::enums::TextWithEntities::Entities(question) = poll.question;
    assert_eq!(question.text, "Which?");
    let answers: Vec<String> = poll
        .answers
        .into_iter()
        .map(|a| {
            let text = match a {
                tl::enums::PollAnswer::Answer(a) => a.text,
                tl::enums::PollAnswer::InputPollAnswer(a) => a.text,
            };
            let tl::enums::TextWithEntities::Entities(text) = text;
            text.text
        })
        .collect();
    assert_eq!(answers, ["yes", "no"]);
}

#[tokio::test]
async fn python_telegram_bot_passes_every_case() {
    if !available_or_skip(
        python_has("python-telegram-bot", "22.").await,
        "python-telegram-bot 22.x",
        PIP_INSTALL,
    ) {
        return;
    }
    let run = run_script(&python(), &["ptb_check.py"]).await;
    assert_reached_testdc(&run);
}

#[tokio::test]
async fn aiogram_passes_every_case() {
    if !available_or_skip(
        python_has("aiogram", "3.").await,
        "aiogram 3.x",
        PIP_INSTALL,
    ) {
        return;
    }
    let run = run_script(&python(), &["aiogram_check.py"]).await;
    assert_reached_testdc(&run);
}

#[tokio::test]
async fn py_telegram_bot_api_passes_every_case() {
    let installed = python_has("pyTelegramBotAPI", "4.").await;
    if !available_or_skip(installed, "pyTelegramBotAPI 4.x", PIP_INSTALL) {
        return;
    }
    let run = run_script(&python(), &["telebot_check.py"]).await;
    assert_reached_testdc(&run);
}

#[tokio::test]
async fn grammy_passes_every_case() {
    let installed = node_has("grammy").await && node_has("@grammyjs/files").await;
    if !available_or_skip(installed, "grammY", NPM_INSTALL) {
        return;
    }
    let run = run_script(Path::new("node"), &["grammy_check.mjs"]).await;
    assert_reached_testdc(&run);
}

#[tokio::test]
async fn telegraf_passes_every_case() {
    if !available_or_skip(node_has("telegraf").await, "telegraf", NPM_INSTALL) {
        return;
    }
    let run = run_script(Path::new("node"), &["telegraf_check.mjs"]).await;
    assert_reached_testdc(&run);
}

#[tokio::test]
async fn teloxide_passes_every_case() {
    let Some(program) = teloxide_program().await else {
        return;
    };
    let run = run_script(&program, &[]).await;
    assert_reached_testdc(&run);
}
