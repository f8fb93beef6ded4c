//! The `receiver` binary's operator commands, run as real processes against testdc (waiting
//! for a login without a session: `first_run`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use testdc::{ChatRef, Fixture, TestDc, TestDcConfig};

fn receiver(session: &Path, args: &[&str], stdin: &str) -> Output {
    let name = session.with_extension("");
    let mut child = Command::new(env!("CARGO_BIN_EXE_receiver"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TG_API_ID", "1")
        .env("TG_API_HASH", "0123456789abcdef")
        .env("TG_SESSION_NAME", name.to_str().expect("utf-8 path"))
        .env("TG_PHONE_NUMBER", Fixture::PHONE)
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", session.parent().expect("dir").join("media"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("receiver starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("receiver exits")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn login_whoami_send_test_and_session_export_import() {
    let dc = TestDc::start(TestDcConfig::default()).await.expect("dc");
    let dir = tempfile::tempdir().expect("dir");
    let session = dir.path().join("ops.session");
    dc.write_unauthorized_session(&session)
        .await
        .expect("session");

    // Phone from TG_PHONE_NUMBER (empty answer), then testdc's first code.
    let s = session.clone();
    let out = tokio::task::spawn_blocking(move || receiver(&s, &["login"], "\n12345\n"))
        .await
        .expect("join");
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("Signed in as Test"), "{said}");
    assert!(!said.contains("12345\n"), "the code is not echoed");

    let s = session.clone();
    let out = tokio::task::spawn_blocking(move || receiver(&s, &["whoami"], ""))
        .await
        .expect("join");
    assert!(
        text(&out).contains(&Fixture::DEFAULT.self_id.to_string()),
        "{}",
        text(&out)
    );

    let s = session.clone();
    let out = tokio::task::spawn_blocking(move || receiver(&s, &["send-test"], ""))
        .await
        .expect("join");
    assert!(out.status.success(), "{}", text(&out));
    let saved = dc
        .history(ChatRef::User(Fixture::DEFAULT.self_id).bot_api_id())
        .expect("saved messages");
    assert!(saved[0].text.starts_with("tg-gateway test message"));

    let exported = dir.path().join("exported.session");
    let (s, e) = (
        session.clone(),
        exported.to_str().expect("utf-8").to_owned(),
    );
    let out = tokio::task::spawn_blocking(move || receiver(&s, &["export-session", &e], ""))
        .await
        .expect("join");
    assert!(out.status.success(), "{}", text(&out));
    let moved = dir.path().join("moved").join("new.session");
    let (m, e) = (moved.clone(), exported.to_str().expect("utf-8").to_owned());
    let out = tokio::task::spawn_blocking(move || receiver(&m, &["import-session", &e], ""))
        .await
        .expect("join");
    assert!(out.status.success(), "{}", text(&out));
    let out = tokio::task::spawn_blocking(move || receiver(&moved, &["whoami"], ""))
        .await
        .expect("join");
    assert!(
        text(&out).contains(&Fixture::DEFAULT.self_id.to_string()),
        "the imported session works"
    );

    let s = session.clone();
    let out = tokio::task::spawn_blocking(move || receiver(&s, &["dead-letters"], ""))
        .await
        .expect("join");
    assert!(text(&out).contains("no dead letters"), "{}", text(&out));
}
