//! In-process handlers against testdc: the `/familiarize` conversation (in process and as the
//! example binary), handlers that panic, fail or hang next to ones that answer, and a
//! conversation that times out. The webhook sink proves every message is still forwarded; a
//! second sink plays the service `/familiarize` notifies.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use receiver::handlers::familiarize::{self, ASK_AGAIN, ASK_NAME, Settings};
use receiver::handlers::{Context, ConversationError, Handlers};
use receiver::{App, Config, Outbox};
use serde_json::json;
use testdc::{MessageView, SendText, TestDc, TestDcConfig};
use tokio::process::Command;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::helpers::{
    API_KEY, Sink, WAIT, config, group_id, ids, init_tracing, wait_live_via_sink,
};
use crate::stale_state::Warnings;
use crate::two_processes::collect_output;

/// A receiver with handlers, its test DC and webhook sink.
struct Running {
    dc: Arc<TestDc>,
    sink: Sink,
    outbox: Arc<Outbox>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
    dir: tempfile::TempDir,
}

async fn spawn_with(handlers: Handlers, configure: fn(&mut Config)) -> Running {
    init_tracing();
    let dc = Arc::new(
        TestDc::start(TestDcConfig::default())
            .await
            .expect("testdc"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    dc.write_session(config(dir.path(), None).session_path())
        .await
        .expect("session");
    start(dc, dir, Sink::start().await, handlers, configure).await
}

/// Starts the app on `dir` (a restart when it ran there before) and waits until it is live.
async fn start(
    dc: Arc<TestDc>,
    dir: tempfile::TempDir,
    mut sink: Sink,
    handlers: Handlers,
    configure: fn(&mut Config),
) -> Running {
    let mut config = config(dir.path(), Some(sink.url.clone()));
    configure(&mut config);
    let app = App::build(config)
        .await
        .expect("app")
        .with_handlers(handlers);
    let outbox = app.outbox();
    let ready = app.ready();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    tokio::time::timeout(WAIT, ready).await.expect("app ready");
    wait_live_via_sink(&dc, &mut sink).await;
    Running {
        dc,
        sink,
        outbox,
        stop,
        task,
        dir,
    }
}

impl Running {
    /// Stops the app; returns what a restart needs.
    async fn stop(self) -> (Arc<TestDc>, Sink, tempfile::TempDir) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("app stopped in time")
            .expect("app task")
            .expect("app result");
        (self.dc, self.sink, self.dir)
    }
}

/// `from` writes `text` in `chat`.
fn write(dc: &TestDc, from: i64, chat: i64, text: &str) -> MessageView {
    dc.send_text(SendText {
        from: Some(from),
        chat_id: chat,
        text: text.into(),
        reply_to_message_id: None,
    })
    .expect("testdc send_text")
}

/// What the account sends in `chat` after `after`, within [`WAIT`].
async fn answer_to(dc: &TestDc, chat: i64, after: &MessageView) -> MessageView {
    dc.wait_outgoing(chat, after.message_id, WAIT)
        .await
        .unwrap_or_else(|e| panic!("no answer to {:?} in {chat}: {e}", after.text))
}

/// The texts of the next `n` webhook requests (all delivered), as a set.
async fn forwarded(sink: &mut Sink, n: usize) -> BTreeSet<String> {
    let mut texts = BTreeSet::new();
    for _ in 0..n {
        let got = sink.next().await;
        assert!(got.delivered());
        assert_eq!(got.header("x-api-key"), Some(API_KEY));
        texts.insert(got.text().expect("a text message").to_owned());
    }
    texts
}

fn set(texts: &[&str]) -> BTreeSet<String> {
    texts.iter().map(|t| (*t).to_owned()).collect()
}

/// Alice holds the whole `/familiarize` conversation; returns what the notify sink got.
async fn familiarize_as_alice(dc: &TestDc, notify: &mut Sink) -> serde_json::Value {
    let alice = ids().alice;
    let command = write(dc, alice, alice, "/familiarize");
    let question = answer_to(dc, alice, &command).await;
    assert_eq!(question.text, ASK_NAME);
    let digits = write(dc, alice, alice, "123");
    let again = answer_to(dc, alice, &digits).await;
    assert_eq!(again.text, ASK_AGAIN);
    let name = write(dc, alice, alice, "Bob");
    let greeting = answer_to(dc, alice, &name).await;
    assert_eq!(greeting.text, "Nice to meet you Bob!");
    notify.next().await.body
}

#[tokio::test]
async fn familiarize_reasks_until_a_name_greets_and_notifies_while_forwarding_everything() {
    let mut notify = Sink::start().await;
    let handlers = familiarize::handlers(Settings {
        notify_url: Some(notify.url.clone()),
        answer_timeout: WAIT,
    })
    .unwrap();
    let mut app = spawn_with(handlers, |_| {}).await;

    let notice = familiarize_as_alice(&app.dc, &mut notify).await;

    assert_eq!(notice, json!({"chat_id": ids().alice, "name": "Bob"}));
    // The conversation's messages reach the webhook in order, as any others.
    for text in ["/familiarize", "123", "Bob"] {
        assert_eq!(app.sink.next().await.text(), Some(text));
    }
    let (_dc, mut sink, _dir) = app.stop().await;
    assert!(sink.try_next(Duration::from_millis(200)).await.is_none());
}

/// `cargo build` of the example (a no-op when it is fresh), next to the receiver binary.
async fn build_example(name: &str) -> PathBuf {
    let bins = PathBuf::from(env!("CARGO_BIN_EXE_receiver"));
    let profile_dir = bins.parent().expect("target profile dir");
    let mut cargo = Command::new(env!("CARGO"));
    cargo.args(["build", "--quiet", "-p", "receiver", "--example", name]);
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    let out = cargo.output().await.expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build --example {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

#[tokio::test]
async fn the_familiarize_example_binary_holds_the_conversation() {
    init_tracing();
    let example = build_example("familiarize").await;
    let dc = TestDc::start(TestDcConfig::default())
        .await
        .expect("testdc");
    let dir = tempfile::tempdir().expect("tempdir");
    dc.write_session(dir.path().join("tg_userbot.session"))
        .await
        .expect("session");
    let mut sink = Sink::start().await;
    let mut notify = Sink::start().await;
    let mut child = Command::new(example)
        .current_dir(dir.path())
        .env_clear()
        .env("TG_API_ID", "1")
        .env("TG_SESSION_NAME", dir.path().join("tg_userbot"))
        .env("WEBHOOK_URL", sink.url.as_str())
        .env("WEBHOOK_API_KEY", API_KEY)
        .env("FAMILIARIZE_NOTIFY_URL", notify.url.as_str())
        .env("RUST_LOG", "info")
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_DIR", dir.path().join("media"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the example");
    let output = collect_output(&mut child);

    wait_live_via_sink(&dc, &mut sink).await;
    let notice = familiarize_as_alice(&dc, &mut notify).await;

    assert_eq!(notice, json!({"chat_id": ids().alice, "name": "Bob"}));
    for text in ["/familiarize", "123", "Bob"] {
        assert_eq!(sink.next().await.text(), Some(text));
    }
    let logged = output.lock().unwrap().join("\n");
    assert!(logged.contains("running handlers in process"), "{logged}");
    child.kill().await.expect("kill");
}

async fn boom(_: Context) -> anyhow::Result<()> {
    panic!("boom handler")
}

async fn fail(_: Context) -> anyhow::Result<()> {
    anyhow::bail!("fail handler")
}

async fn hang(_: Context) -> anyhow::Result<()> {
    std::future::pending().await
}

async fn echo(ctx: Context) -> anyhow::Result<()> {
    let args = ctx.command_args("echo").unwrap_or_default().to_owned();
    ctx.reply(format!("echo {args}")).await?;
    Ok(())
}

#[tokio::test]
async fn panicking_failing_and_hanging_handlers_block_nothing_and_every_message_is_forwarded() {
    let handlers = Handlers::new()
        .command("boom", boom)
        .command("fail", fail)
        .command("hang", hang)
        .command("echo", echo);
    let warnings = Warnings::capture();
    // The hanging handler is aborted at the drain deadline.
    let mut app = spawn_with(handlers, |c| {
        c.shutdown_drain_timeout = Duration::from_millis(500);
    })
    .await;
    let (alice, bob, carol, group) = (ids().alice, ids().bob, ids().carol, group_id());

    write(&app.dc, carol, carol, "/hang");
    write(&app.dc, alice, alice, "/boom");
    write(&app.dc, bob, bob, "/fail");
    // After the panic, in the same chat; and in a group, while Carol's handler still hangs.
    let after_panic = write(&app.dc, alice, alice, "/echo 1");
    let in_group = write(&app.dc, bob, group, "/echo 2");

    assert_eq!(answer_to(&app.dc, alice, &after_panic).await.text, "echo 1");
    let reply = answer_to(&app.dc, group, &in_group).await;
    assert_eq!(reply.text, "echo 2");
    assert_eq!(reply.reply_to_message_id, Some(in_group.message_id));
    assert_eq!(
        forwarded(&mut app.sink, 5).await,
        set(&["/hang", "/boom", "/fail", "/echo 1", "/echo 2"])
    );
    let (_dc, mut sink, _dir) = app.stop().await;
    assert!(sink.try_next(Duration::from_millis(200)).await.is_none());
    // One line per failure, naming the handler and the chat.
    let lines = warnings.lines();
    let about = |handler: &str| -> Vec<&String> {
        lines
            .iter()
            .filter(|l| l.contains(&format!("handler={handler} ")))
            .collect()
    };
    let boom = about("/boom");
    assert_eq!(boom.len(), 1, "{lines:#?}");
    assert!(boom[0].contains("ERROR") && boom[0].contains(&format!("chat={alice} ")));
    assert!(boom[0].contains("boom handler"), "{}", boom[0]);
    let fail = about("/fail");
    assert_eq!(fail.len(), 1, "{lines:#?}");
    assert!(fail[0].contains("WARN") && fail[0].contains(&format!("chat={bob} ")));
    assert!(fail[0].contains("fail handler"), "{}", fail[0]);
    assert!(
        about("/echo").is_empty() && about("/hang").is_empty(),
        "{lines:#?}"
    );
}

/// `/quiz MILLIS` asks once, waiting that long, and reports the answer or the error.
async fn quiz(ctx: Context) -> anyhow::Result<()> {
    let millis = ctx.command_args("quiz").unwrap_or_default().parse()?;
    let mut conv = ctx.conversation()?;
    match conv
        .ask("What is 2+2?", Duration::from_millis(millis))
        .await
    {
        Ok(answer) => {
            conv.say(format!("got {}", answer.text.unwrap_or_default()))
                .await?
        }
        Err(e @ ConversationError::Timeout { .. }) => conv.say(e.to_string()).await?,
        Err(e) => return Err(e.into()),
    };
    Ok(())
}

#[tokio::test]
async fn a_conversation_times_out_with_a_clear_error_and_then_frees_the_sender() {
    let mut app = spawn_with(Handlers::new().command("quiz", quiz), |_| {}).await;
    let alice = ids().alice;

    let first = write(&app.dc, alice, alice, "/quiz 300");
    let question = answer_to(&app.dc, alice, &first).await;
    assert_eq!(question.text, "What is 2+2?");
    let timed_out = answer_to(&app.dc, alice, &question).await;
    assert_eq!(
        timed_out.text,
        format!("no answer from {alice} in chat {alice} within 0.3 s")
    );

    // The sender is free again; while asked, even a command is the answer, not a new quiz.
    let second = write(&app.dc, alice, alice, "/quiz 10000");
    let question = answer_to(&app.dc, alice, &second).await;
    assert_eq!(question.text, "What is 2+2?");
    let answer = write(&app.dc, alice, alice, "/quiz 5");
    assert_eq!(answer_to(&app.dc, alice, &answer).await.text, "got /quiz 5");
    for text in ["/quiz 300", "/quiz 10000", "/quiz 5"] {
        assert_eq!(app.sink.next().await.text(), Some(text));
    }
    app.stop().await;
}

#[tokio::test]
async fn a_message_replayed_after_a_restart_is_not_handled_again() {
    let count = Arc::new(AtomicUsize::new(0));
    let counting = || {
        let count = count.clone();
        Handlers::new().command("count", move |ctx| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                ctx.reply(format!("count {n}")).await?;
                Ok(())
            }
        })
    };
    let mut app = spawn_with(counting(), |_| {}).await;
    let alice = ids().alice;
    let before = app
        .outbox
        .load_position()
        .await
        .unwrap()
        .expect("a saved position");
    let first = write(&app.dc, alice, alice, "/count");
    assert_eq!(answer_to(&app.dc, alice, &first).await.text, "count 1");
    assert_eq!(app.sink.next().await.text(), Some("/count"));
    let (dc, sink, dir) = app.stop().await;

    // Rewound to before /count: the restart fetches it again with getDifference.
    let outbox = Outbox::open(config(dir.path(), None).outbox_path())
        .await
        .unwrap();
    outbox.save_position(&before).await.unwrap();
    drop(outbox);
    let mut app = start(dc, dir, sink, counting(), |_| {}).await;
    let second = write(&app.dc, alice, alice, "/count");

    // A replayed /count would have run first in Alice's lane and answered "count 2".
    assert_eq!(answer_to(&app.dc, alice, &second).await.text, "count 2");
    let mut answers: Vec<String> = app
        .dc
        .history(alice)
        .unwrap()
        .into_iter()
        .filter(|m| m.out)
        .map(|m| m.text)
        .collect();
    answers.sort();
    assert_eq!(answers, ["count 1", "count 2"]);
    assert_eq!(app.sink.next().await.text(), Some("/count"));
    app.stop().await;
}
