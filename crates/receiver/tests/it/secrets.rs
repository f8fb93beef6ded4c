//! Secrets never reach the receiver's logs: the real binary at `RUST_LOG=debug`, with every
//! secret configured, a failing then working webhook and media, leaves no key, hash, signing
//! secret or auth key in stdout, stderr or the JSON log files.

use std::process::Stdio;
use std::time::Duration;

use testdc::{MediaKind, MediaMeta, SendMedia, SendText, TestDc, TestDcConfig};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::helpers::{API_KEY, Sink, ids, wait_live_via_sink};

const API_HASH: &str = "f00dfacecafebabe0123456789abcdef";
const SECRET_TOKEN: &str = "tok_4f1a9c2e7b";
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_log_at_debug_level() {
    let dc = TestDc::start(TestDcConfig::default()).await.expect("dc");
    let dir = tempfile::tempdir().expect("dir");
    dc.write_session(dir.path().join("tg_userbot.session"))
        .await
        .expect("session");
    let logs = dir.path().join("logs");
    let mut sink = Sink::start().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_receiver"))
        .current_dir(dir.path())
        .env_clear()
        .env("TG_API_ID", "1")
        .env("TG_API_HASH", API_HASH)
        .env("TG_SESSION_NAME", dir.path().join("tg_userbot"))
        .env("WEBHOOK_URL", sink.url.as_str())
        .env("WEBHOOK_API_KEY", API_KEY)
        .env("WEBHOOK_SECRET_TOKEN", SECRET_TOKEN)
        .env("WEBHOOK_SIGNING_SECRET", SIGNING_SECRET)
        .env("WEBHOOK_RETRY_MIN_DELAY", "1")
        .env("RUST_LOG", "debug")
        .env("LOGS_DIR", &logs)
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", dir.path().join("media"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the receiver");
    let (mut stdout, mut stderr) = (
        child.stdout.take().expect("stdout"),
        child.stderr.take().expect("stderr"),
    );
    let out = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s).await;
        s
    });
    let err = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });

    wait_live_via_sink(&dc, &mut sink).await;
    let alice = ids().alice;
    sink.respond_next(&[500]);
    dc.send_text(SendText {
        from: None,
        chat_id: alice,
        text: "first try fails".into(),
        reply_to_message_id: None,
    })
    .expect("send");
    let voice = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/voice.ogg"),
    )
    .expect("fixture");
    let meta = MediaMeta {
        duration: Some(2.0),
        ..Default::default()
    };
    dc.send_media(
        SendMedia {
            from: None,
            chat_id: alice,
            kind: MediaKind::Voice,
            caption: String::new(),
            reply_to_message_id: None,
            meta,
        },
        voice,
    )
    .expect("media");
    let mut delivered = 0;
    while delivered < 2 {
        let got = tokio::time::timeout(Duration::from_secs(30), sink.next())
            .await
            .expect("delivery");
        if got.delivered() {
            delivered += 1;
        }
    }

    // Stop it and read everything written so far (the JSON writer flushes per line).
    child.kill().await.expect("stop");
    let text = format!(
        "{}\n{}",
        out.await.expect("stdout"),
        err.await.expect("stderr")
    );
    let mut files = String::new();
    for entry in std::fs::read_dir(&logs).expect("logs dir") {
        files.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("log file"));
    }
    assert!(
        text.contains("first try fails") || files.contains("first try fails"),
        "the logs show the traffic"
    );
    assert!(
        files.contains("\"level\":\"DEBUG\"") || files.contains("DEBUG"),
        "debug lines were written to LOGS_DIR"
    );
    let auth_key: String = dc
        .session_seed()
        .auth_key
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let secrets = [
        API_KEY,
        API_HASH,
        SECRET_TOKEN,
        SIGNING_SECRET,
        &SIGNING_SECRET["whsec_".len()..],
        &auth_key[..32],
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} in stdout/stderr");
        assert!(!files.contains(secret), "{secret:?} in LOGS_DIR");
    }
}

/// A refused setting is named with its rule, never with its value: secrets (quoted, not
/// base64, too short) and credentials inside a URL stay out of stderr (`docker logs`).
#[tokio::test]
async fn refused_settings_never_print_the_secret_value() {
    let dir = tempfile::tempdir().expect("dir");
    for (variable, value, secret) in [
        (
            "WEBHOOK_SIGNING_SECRET",
            "\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"",
            "MfKQ9r8GKYqrTwjU",
        ),
        (
            "WEBHOOK_SIGNING_SECRET",
            "whsec_n0t*base64*Zq9sEcr3t",
            "Zq9sEcr3t",
        ),
        (
            "WEBHOOK_SIGNING_SECRET",
            "whsec_c2hvcnRrZXk=",
            "c2hvcnRrZXk",
        ),
        ("WEBHOOK_URL", "ftp://u:PASSWORD7x@h/x", "PASSWORD7x"),
        ("WEBHOOK_URL", "http://user:PASSWORD7y@/x", "PASSWORD7y"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_receiver"))
            .current_dir(dir.path())
            .env_clear()
            .env("TG_API_ID", "1")
            .env("TG_SESSION_NAME", dir.path().join("tg_userbot"))
            .env("MEDIA_BIND", "127.0.0.1:0")
            .env(variable, value)
            .stdin(Stdio::null())
            .output()
            .await
            .expect("receiver runs");
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{variable}={value} refused: {said}"
        );
        assert!(said.contains(variable), "names {variable}: {said}");
        assert!(
            !said.contains(secret),
            "{variable}: the value leaked: {said}"
        );
    }
}
