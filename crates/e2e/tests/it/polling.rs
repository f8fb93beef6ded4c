//! Each Bot API client library's own long-polling loop against the gateway: python-telegram-bot
//! (`Application.run_polling`), aiogram (`Dispatcher.start_polling`), pyTelegramBotAPI
//! (`infinity_polling`), grammY (`bot.start`), telegraf (`bot.launch`) and teloxide (a
//! `Dispatcher` on its polling listener), each unchanged but for base URL and token (scripts in
//! `crates/sender/tests/clients/`, `*_poll.*` and `teloxide-check poll`).
//!
//! Both binaries run: the receiver stores what testdc sends in its outbox, the sender serves it
//! with `getUpdates`. Alice writes `ping …` in testdc; the library's handler answers with
//! `pong: …` as a reply and stops its loop; the answer must be in Alice's chat in testdc,
//! replying to her message. Without the library the test prints `SKIPPED`, unless
//! `REQUIRE_CLIENT_LIBS=1` (set by `.ci/run`), where it fails; the install commands are in
//! `crates/sender/tests/clients/README.md`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use testdc::{Fixture, SendText};
use tokio::process::Command;

use crate::common::{Stack, TOKEN};

/// One whole polling run: library start-up, the answer, the loop's shutdown.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sender/tests/clients")
}

/// `$CLIENTS_PYTHON`, else the venv in the clients folder, else `python3`.
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

/// Whether `program args…` exits 0 in the clients folder.
async fn succeeds(program: &Path, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|status| status.success())
}

/// Whether the Python distribution `dist` is installed (its metadata only: importing aiogram
/// alone takes seconds).
async fn python_has(dist: &str) -> bool {
    let code = format!("import importlib.metadata as m; m.version('{dist}')");
    succeeds(&python(), &["-c", &code]).await
}

async fn node_imports(package: &str) -> bool {
    let code = format!("await import('{package}')");
    succeeds(Path::new("node"), &["--input-type=module", "-e", &code]).await
}

/// `true` when the library can run; otherwise skips (prints why) or, with
/// `REQUIRE_CLIENT_LIBS=1`, fails.
fn available_or_skip(available: bool, library: &str) -> bool {
    if available {
        return true;
    }
    let required = std::env::var("REQUIRE_CLIENT_LIBS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{library} is not installed and REQUIRE_CLIENT_LIBS=1 (crates/sender/tests/clients/README.md)"
    );
    eprintln!("SKIPPED: {library} is not installed (crates/sender/tests/clients/README.md)");
    false
}

/// Builds `teloxide-check` (a no-op once `.ci/run` built it) into `target/clients-teloxide`,
/// the directory the sender's client tests use too.
async fn teloxide_program() -> Option<PathBuf> {
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/clients-teloxide");
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--locked", "--quiet", "--manifest-path"])
        .arg(clients_dir().join("teloxide/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .output()
        .await;
    let built = match &output {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!("{}", String::from_utf8_lossy(&output.stderr));
            false
        }
        Err(error) => {
            eprintln!("cannot run cargo: {error}");
            false
        }
    };
    available_or_skip(built, "teloxide").then(|| target.join("debug/teloxide-check"))
}

/// Runs `program args…` as the library's polling bot against the sender and receiver, has
/// Alice write `ping {library}`, and checks the library answered it in testdc.
async fn answers_through_its_polling_loop(library: &str, program: &Path, args: &[&str]) {
    let stack = Stack::start().await;
    let sender = stack.sender(&[]).await;
    let _payloads = stack.receiver(&[]).await;
    let bot = Command::new(program)
        .args(args)
        .current_dir(clients_dir())
        .env("SENDER_ROOT", format!("http://{sender}"))
        .env("BOT_TOKEN", TOKEN)
        // Loopback only: never through a proxy the environment may configure.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the polling bot started");
    let alice = Fixture::DEFAULT.alice;
    let text = format!("ping {library}");
    let ping = stack
        .dc
        .send_text(SendText {
            from: None,
            chat_id: alice,
            text: text.clone(),
            reply_to_message_id: None,
        })
        .unwrap()
        .message_id;

    let output = tokio::time::timeout(RUN_TIMEOUT, bot.wait_with_output())
        .await
        .expect("the bot answered and stopped its loop in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{library} failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let answered: Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON line on stdout:\n{stdout}\nstderr:\n{stderr}"));
    assert_eq!(
        answered["answered"], ping,
        "the handler got Alice's message"
    );

    let history = stack.dc.history(alice).unwrap();
    let answers: Vec<_> = history
        .iter()
        .filter(|m| m.out && m.text == format!("pong: {text}"))
        .collect();
    assert_eq!(answers.len(), 1, "one answer in testdc: {history:?}");
    assert_eq!(answers[0].reply_to_message_id, Some(ping));
}

#[tokio::test]
async fn python_telegram_bot_run_polling_answers_a_user() {
    if available_or_skip(
        python_has("python-telegram-bot").await,
        "python-telegram-bot",
    ) {
        answers_through_its_polling_loop("python-telegram-bot", &python(), &["ptb_poll.py"]).await;
    }
}

#[tokio::test]
async fn aiogram_start_polling_answers_a_user() {
    if available_or_skip(python_has("aiogram").await, "aiogram") {
        answers_through_its_polling_loop("aiogram", &python(), &["aiogram_poll.py"]).await;
    }
}

#[tokio::test]
async fn py_telegram_bot_api_infinity_polling_answers_a_user() {
    if available_or_skip(python_has("pyTelegramBotAPI").await, "pyTelegramBotAPI") {
        answers_through_its_polling_loop("pyTelegramBotAPI", &python(), &["telebot_poll.py"]).await;
    }
}

#[tokio::test]
async fn grammy_bot_start_answers_a_user() {
    if available_or_skip(node_imports("grammy").await, "grammY") {
        answers_through_its_polling_loop("grammY", Path::new("node"), &["grammy_poll.mjs"]).await;
    }
}

#[tokio::test]
async fn telegraf_launch_answers_a_user() {
    if available_or_skip(node_imports("telegraf").await, "telegraf") {
        answers_through_its_polling_loop("telegraf", Path::new("node"), &["telegraf_poll.mjs"])
            .await;
    }
}

#[tokio::test]
async fn teloxide_dispatcher_answers_a_user() {
    if let Some(program) = teloxide_program().await {
        answers_through_its_polling_loop("teloxide", &program, &["poll"]).await;
    }
}
