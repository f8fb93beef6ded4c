//! The `testdc` binary as containers run it: `healthcheck` reports the control API's readiness,
//! and SIGTERM (what `docker compose down` sends) stops it at once.

use std::process::Stdio;
use std::sync::Arc;

use testdc::{TestDc, TestDcConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::WAIT;

/// Runs `testdc healthcheck --control <control>` and returns whether it exited 0.
async fn healthcheck(control: std::net::SocketAddr) -> bool {
    let status = Command::new(env!("CARGO_BIN_EXE_testdc"))
        .env_clear()
        .args(["healthcheck", "--control", &control.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    tokio::time::timeout(WAIT, status)
        .await
        .expect("healthcheck finishes")
        .unwrap()
        .success()
}

#[tokio::test]
async fn healthcheck_exits_0_only_while_the_control_api_answers() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = listener.local_addr().unwrap();
    let server = tokio::spawn(axum::serve(listener, testdc::http::router(dc)).into_future());

    assert!(healthcheck(control).await, "answering control API");

    server.abort();
    let _ = server.await;
    assert!(!healthcheck(control).await, "nothing listening");
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_binary_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_testdc"))
        .current_dir(dir.path())
        .env_clear()
        .env("RUST_LOG", "info")
        .args(["--bind", "127.0.0.1:0", "--control", "127.0.0.1:0"])
        .args(["--session", "demo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("control API listening") {
                return;
            }
        }
        panic!("testdc exited before listening");
    })
    .await
    .expect("testdc starts");
    assert!(dir.path().join("demo.session").exists(), "session written");

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().await;
    assert!(killed.unwrap().success(), "kill -TERM {pid}");
    // Far below compose's 10 s stop timeout, after which it would send SIGKILL.
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
        .await
        .expect("testdc stops within 5 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit: {status}");
}

#[tokio::test]
async fn send_makes_a_user_write_through_the_control_api() {
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let control = listener.local_addr().unwrap();
    let server =
        tokio::spawn(axum::serve(listener, testdc::http::router(dc.clone())).into_future());
    let alice = testdc::Fixture::DEFAULT.alice;
    let out = Command::new(env!("CARGO_BIN_EXE_testdc"))
        .env_clear()
        .args(["send", "--control", &control.to_string()])
        .args([
            "--chat-id",
            &alice.to_string(),
            "--text",
            "written from the CLI",
        ])
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .expect("send finishes")
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = dc.history(alice).unwrap();
    assert_eq!(history[0].text, "written from the CLI");
    server.abort();
}
