//! The receiver binary and a sender (here: the test process) on ONE session file, under load.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use botapi::ids::ChatIdParam;
use grammers_session::Session as _;
use grammers_session::types::{PeerId, PeerInfo};
use telegram::{DEFAULT_UPLOAD_CONCURRENCY, OutgoingText, Telegram, TelegramConfig};
use testdc::{SendText, TestDc, TestDcConfig};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::{
    API_KEY, Sink, group_id, ids, init_tracing, supergroup_id, wait_live_via_sink,
};

const SENDS: usize = 200;
const USER_MESSAGES: usize = 50;

/// The child's stdout and stderr lines.
pub(crate) type Output = Arc<Mutex<Vec<String>>>;

/// Starts the `receiver` binary on `dir/tg_userbot.session` delivering to `sink`.
pub(crate) fn spawn_receiver(dir: &std::path::Path, sink: &Sink) -> (Child, Output) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_receiver"))
        // No stray .env from the workspace.
        .current_dir(dir)
        .env_clear()
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", dir.join("tg_userbot"))
        .env("WEBHOOK_URL", sink.url.as_str())
        .env("WEBHOOK_API_KEY", API_KEY)
        .env("RUST_LOG", "info")
        // Never the default 0.0.0.0:8181: tests run side by side.
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", dir.join("media"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the receiver binary");
    let output = collect_output(&mut child);
    (child, output)
}

/// Collects the lines of `child`'s piped stdout and stderr as they come.
pub(crate) fn collect_output(child: &mut Child) -> Output {
    let output = Output::default();
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    for pipe in [
        Box::new(stdout) as Box<dyn tokio::io::AsyncRead + Send + Unpin>,
        Box::new(stderr),
    ] {
        let output = output.clone();
        // Drained continuously so the child never blocks on a full pipe; ends with the child.
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                output.lock().expect("output lock").push(line);
            }
        });
    }
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receiver_process_and_sender_share_one_session_file_under_load() {
    init_tracing();
    let dc = Arc::new(TestDc::start(TestDcConfig::default()).await.unwrap());
    let dir = tempfile::tempdir().unwrap();
    let session_path =
        session::SessionStore::path_for_name(&dir.path().join("tg_userbot").display().to_string());
    dc.write_session(&session_path).await.unwrap();
    let mut sink = Sink::start().await;
    let (mut child, output) = spawn_receiver(dir.path(), &sink);
    wait_live_via_sink(&dc, &mut sink).await;

    // Carol (no username, no private history) writes: the receiver process caches her.
    let carol = ids().carol;
    dc.send_text(SendText {
        from: Some(carol),
        chat_id: carol,
        text: "hola".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let got = sink.next().await;
    assert_eq!(got.body["message"]["from"]["id"], carol);
    let store = session::SessionStore::open(&session_path).await.unwrap();
    match store.peer(PeerId::user(carol).unwrap()).await.unwrap() {
        Some(PeerInfo::User { auth: Some(_), .. }) => {}
        other => panic!("Carol is not in the shared session with an access hash: {other:?}"),
    }
    drop(store);

    // The sender side: its own client on the same file, resolving Carol from what the
    // receiver cached.
    let sender = Arc::new(
        Telegram::connect(TelegramConfig {
            api_id: 1,
            session_path: session_path.clone(),
            flood_sleep_threshold: Duration::from_secs(5),
            updates_capacity: 100,
            upload_concurrency: DEFAULT_UPLOAD_CONCURRENCY,
        })
        .await
        .unwrap(),
    );
    // Carol first: before any dialog refresh, only the receiver's cache can resolve her.
    let carol_peer = sender.resolve_chat(&ChatIdParam::Id(carol)).await.unwrap();
    let mut peers = vec![carol_peer];
    // The rest sequentially (the first miss refreshes the dialog list once; see the report on
    // concurrent misses in the telegram crate).
    for chat in [ids().alice, ids().bob, group_id(), supergroup_id()] {
        peers.push(sender.resolve_chat(&ChatIdParam::Id(chat)).await.unwrap());
    }
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..SENDS {
        let sender = sender.clone();
        let peer = peers[i % peers.len()];
        sends.spawn(async move {
            sender
                .send_text(
                    peer,
                    OutgoingText {
                        text: format!("out {i}"),
                        ..Default::default()
                    },
                )
                .await
        });
    }
    let users = {
        let dc = dc.clone();
        tokio::spawn(async move {
            let targets = [
                (ids().alice, ids().alice),
                (ids().bob, group_id()),
                (carol, supergroup_id()),
            ];
            for i in 0..USER_MESSAGES {
                let (from, chat_id) = targets[i % targets.len()];
                dc.send_text(SendText {
                    from: Some(from),
                    chat_id,
                    text: format!("in {i}"),
                    reply_to_message_id: None,
                })
                .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    users.await.unwrap();
    while let Some(sent) = sends.join_next().await {
        sent.unwrap().expect("sendMessage under load");
    }

    // Every user message arrives once; nothing else (outgoing) is posted. Order is kept per
    // chat only, so the marker (in Bob's chat) may overtake the others: wait for all.
    let mut seen = BTreeMap::<String, usize>::new();
    dc.send_text(SendText {
        from: Some(ids().bob),
        chat_id: ids().bob,
        text: "end".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let mut ended = false;
    while !ended || seen.len() < USER_MESSAGES {
        let Some(got) = sink.try_next(crate::helpers::WAIT).await else {
            panic!(
                "no request in time; receiver output:\n{}",
                output.lock().unwrap().join("\n")
            );
        };
        assert_eq!(got.header("x-api-key"), Some(API_KEY));
        let text = got.text().unwrap_or_default().to_owned();
        if text == "end" {
            ended = true;
            continue;
        }
        *seen.entry(text).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        (0..USER_MESSAGES).map(|i| (format!("in {i}"), 1)).collect();
    assert_eq!(seen, expected);

    child.start_kill().unwrap();
    let _ = child.wait().await;
    sender.disconnect();
    let output = output.lock().unwrap().join("\n");
    let lower = output.to_lowercase();
    for bad in ["database is locked", "locked", "busy", "panicked"] {
        assert!(
            !lower.contains(bad),
            "the receiver printed {bad:?}:\n{output}"
        );
    }
    assert!(
        output.contains("\"in 0\""),
        "stdout shows traffic:\n{output}"
    );
}
