//! The first run as a user makes it: the real `receiver` binary with exactly the environment
//! `docker compose` builds from `.env.example` (every `KEY=` line, the empty ones included)
//! plus the values the README asks for; and `docker compose up -d` before the first login —
//! healthy but not ready, the login command in the log, running as soon as `receiver login`
//! (another process) signed the session in.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use testdc::{Fixture, TestDc, TestDcConfig};
use tokio::process::{Child, Command};

use crate::helpers::{Sink, WAIT, wait_live_via_sink};
use crate::two_processes::{Output, collect_output};

/// The values README.md tells a newcomer to fill in (testdc accepts any api_id/api_hash).
const README_VALUES: [(&str, &str); 4] = [
    ("TG_API_ID", "1"),
    ("TG_API_HASH", "0123456789abcdef0123456789abcdef"),
    ("X_API_TOKEN", "123456789:first-run-key"),
    ("TG_PHONE_NUMBER", Fixture::PHONE),
];

/// `.env.example` as compose's `env_file` reads it, then the README's values and `WEBHOOK_URL`,
/// then what the compose file maps differently here: the mount points `/sessions` and
/// `/userbot_media` become `dir`, and the port a free loopback one (tests run side by side).
fn compose_env(dir: &Path, webhook: &str, media_port: u16) -> Vec<(String, String)> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.env.example");
    let mut env: Vec<(String, String)> = dotenvy::from_path_iter(&example)
        .expect(".env.example")
        .map(|kv| kv.expect(".env.example line"))
        .collect();
    assert!(
        env.iter().filter(|(_, v)| v.is_empty()).count() >= 5,
        ".env.example leaves optional values empty; the test must include them"
    );
    let mut set = |key: &str, value: String| {
        env.retain(|(k, _)| k != key);
        env.push((key.to_owned(), value));
    };
    for (key, value) in README_VALUES {
        set(key, value.to_owned());
    }
    set("WEBHOOK_URL", webhook.to_owned());
    set(
        "TG_SESSION_NAME",
        dir.join("tg_userbot").display().to_string(),
    );
    set("MEDIA_DIR", dir.join("media").display().to_string());
    set("MEDIA_BIND", format!("127.0.0.1:{media_port}"));
    env
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn receiver(env: &[(String, String)], args: &[&str], stdin: Stdio) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_receiver"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

fn spawn(dir: &Path, env: &[(String, String)]) -> (Child, Output) {
    let mut child = receiver(env, &[], Stdio::null())
        .current_dir(dir) // no stray .env
        .spawn()
        .expect("spawn the receiver binary");
    let output = collect_output(&mut child);
    (child, output)
}

async fn healthcheck(env: &[(String, String)]) -> ExitStatus {
    receiver(env, &["healthcheck"], Stdio::null())
        .status()
        .await
        .expect("receiver healthcheck runs")
}

/// Waits until `child`'s output has a line containing `text` (or the child exits).
async fn wait_for_line(child: &mut Child, output: &Output, text: &str) {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            if output
                .lock()
                .expect("output")
                .iter()
                .any(|l| l.contains(text))
            {
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the receiver exited ({status}) before logging {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        found.is_ok(),
        "no line with {text:?} in:\n{}",
        output.lock().expect("output").join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_env_example_with_the_readme_values_starts_the_receiver() {
    let dc = TestDc::start(TestDcConfig::default()).await.expect("dc");
    let dir = tempfile::tempdir().expect("dir");
    dc.write_session(dir.path().join("tg_userbot.session"))
        .await
        .expect("session");
    let mut sink = Sink::start().await;
    let env = compose_env(dir.path(), sink.url.as_str(), free_port());
    let (mut child, output) = spawn(dir.path(), &env);
    wait_live_via_sink(&dc, &mut sink).await;
    assert!(
        healthcheck(&env).await.success(),
        "healthcheck of a running receiver"
    );
    assert!(child.try_wait().expect("status").is_none(), "still running");
    child.kill().await.expect("kill");
    drop(output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_session_it_waits_healthy_not_ready_and_starts_after_login() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.expect("dc"));
    let dir = tempfile::tempdir().expect("dir");
    let mut sink = Sink::start().await;
    let port = free_port();
    let env = compose_env(dir.path(), sink.url.as_str(), port);
    let (mut child, output) = spawn(dir.path(), &env);

    wait_for_line(
        &mut child,
        &output,
        "docker compose run --rm receiver login",
    )
    .await;
    let healthz = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .expect("GET /healthz while waiting");
    assert_eq!(healthz.status(), 200, "alive while waiting for the login");
    let readyz = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .expect("GET /readyz while waiting");
    assert_eq!(readyz.status(), 503, "not ready without a session");
    assert!(
        !healthcheck(&env).await.success(),
        "healthcheck says not ready"
    );
    assert!(
        !dir.path().join("tg_userbot.session").exists(),
        "waiting creates no session file"
    );

    // `docker compose run --rm receiver login` in another container: testdc's session starts
    // signed out (it carries testdc's address), then the login signs it in.
    dc.write_unauthorized_session(dir.path().join("tg_userbot.session"))
        .await
        .expect("session");
    let mut login = receiver(&env, &["login"], Stdio::piped())
        .spawn()
        .expect("receiver login");
    let mut stdin = login.stdin.take().expect("stdin");
    tokio::io::AsyncWriteExt::write_all(&mut stdin, b"\n12345\n")
        .await
        .expect("answer the prompts");
    drop(stdin);
    let login = login.wait_with_output().await.expect("login ends");
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );

    wait_live_via_sink(&dc, &mut sink).await;
    let ready = tokio::time::timeout(WAIT, async {
        while !healthcheck(&env).await.success() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(ready.is_ok(), "ready after the login");
    assert!(child.try_wait().expect("status").is_none(), "still running");
    child.kill().await.expect("kill");
}
