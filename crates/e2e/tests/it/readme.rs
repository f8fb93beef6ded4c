//! Every shell block README.md offers runs as written. `.ci/readme_blocks.py TAG` extracts the
//! blocks by their `<!-- run: TAG -->` marker (and refuses unmarked ones); here the `demo`
//! blocks run with `bash -euo pipefail`, from the repository root, against the demo serving on
//! its fixed ports, exactly as `cargo run -p e2e --example demo -- --serve` does (the same
//! `e2e::demo` code, in this process). Each block must exit 0 and have its effect: a user
//! writing through the control API (`:9445/send`) reaches the consumer, which answers; each
//! sender call (`/api_v1/send…`) puts one message into Alice's chat in testdc; and every
//! `"text": "…"` the block sends arrives. The other tags are checked with `bash -n`.
//!
//! This is the only test on the demo's fixed ports (8001, 8181, 8002, 9444, 9445); every other
//! test binds port 0.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use e2e::demo::{DEMO_KEY, Demo, Event, Ports};
use testdc::Fixture;
use tokio::process::Command;
use tokio::sync::broadcast;

/// How long one block may run, and then how long its effects may take to show.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(60);

const TAGS: [&str; 5] = ["demo", "compose", "cluster", "account", "ci"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A README shell block: where it starts (`README.md:<line>`) and its text.
struct Block {
    place: String,
    text: String,
}

async fn extractor(args: &[&str]) -> Output {
    Command::new("python3")
        .arg(".ci/readme_blocks.py")
        .args(args)
        .current_dir(root())
        .output()
        .await
        .expect("python3 runs .ci/readme_blocks.py")
}

/// The README's blocks marked `tag`, in order.
async fn blocks(tag: &str) -> Vec<Block> {
    let out = extractor(&[tag, "-0"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "readme_blocks.py {tag}: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_terminator('\0')
        .map(|chunk| {
            let header = chunk.lines().next().unwrap();
            let place = header.trim_start_matches("# ");
            let place = place.split(" run:").next().unwrap().to_owned();
            Block {
                place,
                text: chunk.to_owned(),
            }
        })
        .collect()
}

async fn bash(args: &[&str], script: &str) -> Output {
    let run = Command::new("bash")
        .args(args)
        .arg("-c")
        .arg(script)
        .current_dir(root())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(BLOCK_TIMEOUT, run)
        .await
        .expect("the block finished in time")
        .unwrap()
}

/// The values of every `"text": "…"` in a block.
fn texts(block: &str) -> Vec<String> {
    block
        .split("\"text\": \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// What the consumer received (texts) and answered (message ids), `writes` payloads of each.
async fn consumer_saw(
    events: &mut broadcast::Receiver<Event>,
    writes: usize,
) -> (Vec<String>, HashSet<i64>) {
    let (mut received, mut answered) = (Vec::new(), HashSet::new());
    let wait = async {
        while received.len() < writes || answered.len() < writes {
            match events.recv().await {
                Ok(Event::Received(p)) => {
                    received.push(p["message"]["text"].as_str().unwrap_or_default().to_owned());
                }
                Ok(Event::Answered(m)) => {
                    answered.insert(m["message_id"].as_i64().unwrap());
                }
                Ok(Event::Failed(why)) => panic!("the consumer could not answer: {why}"),
                Ok(Event::Probe) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the consumer stopped"),
            }
        }
    };
    tokio::time::timeout(BLOCK_TIMEOUT, wait)
        .await
        .expect("the consumer received and answered every message the block made a user write");
    (received, answered)
}

/// Runs one `demo` block and checks its effects.
async fn run_demo_block(demo: &Demo, block: &Block) {
    let alice = Fixture::DEFAULT.alice;
    // Alice's chat in every account's world (the demo serves several accounts), newest first.
    let chats = |demo: &Demo| {
        demo.dc()
            .accounts()
            .into_iter()
            .map(|a| {
                demo.dc()
                    .account(a.user_id)
                    .unwrap()
                    .history(alice)
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let before: Vec<i32> = chats(demo)
        .iter()
        .map(|h| h.first().map_or(0, |m| m.message_id))
        .collect();
    let mut events = demo.subscribe();

    let out = bash(&["-euo", "pipefail"], &block.text).await;
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\nstdout: {}\nstderr: {}",
        block.place,
        out.status,
        block.text,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let writes = block.text.matches(":9445/send").count();
    let (received, answered) = consumer_saw(&mut events, writes).await;
    // The sender answers once Telegram has the message, so it is in the history already.
    let sent: Vec<String> = chats(demo)
        .into_iter()
        .zip(&before)
        .enumerate()
        .flat_map(|(account, (history, &before))| {
            let answered = &answered;
            history.into_iter().filter(move |m| {
                // The consumer answers only in the demo account's world (the first).
                let answer = account == 0 && answered.contains(&i64::from(m.message_id));
                m.out && m.message_id > before && !answer
            })
        })
        .map(|m| m.text)
        .collect();
    // Sending calls of any account: `/api_v1/send…` and `/bot<token>/send…`, not testdc's
    // `:9445/send` nor the login's `/auth/sendCode`.
    let calls =
        block.text.matches("/send").count() - writes - block.text.matches("/auth/send").count();
    assert_eq!(
        sent.len(),
        calls,
        "{}: {calls} sender calls, but Alice's chat got {sent:?}",
        block.place
    );
    for text in texts(&block.text) {
        assert!(
            received.contains(&text) || sent.contains(&text),
            "{}: {text:?} never arrived (consumer got {received:?}, Alice got {sent:?})",
            block.place
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_demo_blocks_run_against_the_serving_demo() {
    let blocks = blocks("demo").await;
    assert!(
        blocks.len() >= 2,
        "README.md shows no demo blocks to make Alice write and to send"
    );
    let demo = Demo::start(Ports::FIXED)
        .await
        .expect("the demo starts on its fixed ports (is `--serve` or the compose demo running?)");
    for block in &blocks {
        run_demo_block(&demo, block).await;
    }
    demo.shutdown().await.unwrap();
}

#[test]
fn readme_names_the_command_ports_and_key_of_the_serving_demo() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let p = Ports::FIXED;
    let mut missing: Vec<String> = [p.sender, p.media, p.mtproto, p.control, p.consumer]
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .chain([
            "cargo run -p e2e --example demo -- --serve".to_owned(),
            DEMO_KEY.to_owned(),
        ])
        .filter(|s| !readme.contains(s.as_str()))
        .collect();
    missing.sort();
    assert!(missing.is_empty(), "README.md does not mention {missing:?}");
}

#[tokio::test]
async fn every_readme_shell_block_is_marked_and_parses() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let fences = readme
        .lines()
        .filter(|l| ["```sh", "```bash", "```shell", "```console"].contains(&l.trim()))
        .count();
    let mut total = 0;
    for tag in TAGS {
        for block in blocks(tag).await {
            total += 1;
            let out = bash(&["-n"], &block.text).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{}: bash -n: {stderr}", block.place);
        }
    }
    assert_eq!(total, fences, "every shell block has exactly one tag");
}

#[tokio::test]
async fn the_block_extractor_refuses_an_unmarked_or_mistagged_shell_block() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("README.md");
    let text = "# t\n\n```sh\necho unmarked\n```\n\n<!-- run: nightly -->\n```bash\necho x\n```\n\
                \n<!-- run: ci -->\n```sh\necho fine\n```\n";
    std::fs::write(&file, text).unwrap();
    let out = extractor(&["ci", "--file", file.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("README.md:3: ```sh block without"),
        "{stderr}"
    );
    assert!(
        stderr.contains("README.md:7: unknown tag 'nightly'"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is printed from a README with errors"
    );
}
