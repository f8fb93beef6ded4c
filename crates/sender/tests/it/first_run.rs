//! The first run as a user makes it: the real `sender` binary with exactly the environment
//! `docker compose` builds from `.env.example` (every `KEY=` line, the empty ones included)
//! plus the values the README asks for; `sender healthcheck` (the image's HEALTHCHECK) reports
//! ready only once the session is signed in.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::Value;
use testdc::{TestDc, TestDcConfig};
use tokio::process::Command;

use crate::helpers::API_KEY;

/// `.env.example` as compose's `env_file` reads it, the README's values, and what compose maps
/// differently here (the `/sessions` mount is `dir`, the port a free loopback one).
fn compose_env(dir: &Path, port: u16) -> Vec<(String, String)> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.env.example");
    let mut env: Vec<(String, String)> = dotenvy::from_path_iter(&example)
        .expect(".env.example")
        .map(|kv| kv.expect(".env.example line"))
        .collect();
    let overrides = [
        ("TG_API_ID", "1".to_owned()),
        ("TG_API_HASH", "0123456789abcdef0123456789abcdef".to_owned()),
        ("X_API_TOKEN", API_KEY.to_owned()),
        ("TG_PHONE_NUMBER", "+15550001111".to_owned()),
        (
            "TG_SESSION_NAME",
            dir.join("tg_userbot").display().to_string(),
        ),
        ("SENDER_BIND", format!("127.0.0.1:{port}")),
    ];
    env.retain(|(k, _)| !overrides.iter().any(|(o, _)| o == k));
    env.extend(overrides.map(|(k, v)| (k.to_owned(), v)));
    env
}

fn sender(env: &[(String, String)], args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sender"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn healthcheck(env: &[(String, String)]) -> ExitStatus {
    sender(env, &["healthcheck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("sender healthcheck runs")
}

/// Starts the sender binary in `dir` (no stray `.env`) and waits until it serves HTTP.
async fn start(env: &[(String, String)], dir: &Path, port: u16) -> tokio::process::Child {
    let child = sender(env, &[])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the sender binary");
    wait_serving(port).await;
    child
}

/// Polls `GET /healthz` until the sender serves HTTP.
async fn wait_serving(port: u16) {
    let up = tokio::time::timeout(Duration::from_secs(30), async {
        while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(up.is_ok(), "the sender never served /healthz");
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[tokio::test]
async fn the_env_example_with_the_readme_values_starts_the_sender() {
    let dc = TestDc::start(TestDcConfig::default()).await.expect("dc");
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let env = compose_env(dir.path(), port);
    assert!(
        env.iter().filter(|(_, v)| v.is_empty()).count() >= 5,
        ".env.example leaves optional values empty; the test must include them"
    );
    let session = dir.path().join("tg_userbot.session");

    // Signed out first (as before the first login): serving, not ready.
    dc.write_unauthorized_session(&session)
        .await
        .expect("session");
    let mut child = start(&env, dir.path(), port).await;
    assert!(!healthcheck(&env).await.success(), "not ready signed out");
    child.kill().await.expect("kill");

    dc.write_session(&session).await.expect("session");
    let mut child = start(&env, dir.path(), port).await;
    assert!(healthcheck(&env).await.success(), "ready when signed in");
    let me: Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api_v1/getMe"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .expect("getMe")
        .json()
        .await
        .expect("json");
    assert_eq!(me["ok"], true, "{me}");
    assert!(child.try_wait().expect("status").is_none(), "still running");
    child.kill().await.expect("kill");
}

#[tokio::test]
async fn healthcheck_needs_no_secret_and_fails_when_nothing_listens() {
    let env = vec![(
        "SENDER_BIND".to_owned(),
        format!("127.0.0.1:{}", free_port()),
    )];
    let out = sender(&env, &["healthcheck"])
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("not ready"), "{said}");
    assert!(
        !said.contains("X_API_TOKEN"),
        "no missing-setting error: {said}"
    );
}
