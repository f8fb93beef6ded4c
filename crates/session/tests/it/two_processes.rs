//! Two processes hammer one session file, as the `receiver` and `sender` do in production.
//!
//! The parent test re-runs this test binary twice, each running only the ignored child test,
//! with the shared file path and a child index in the environment.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::time::Instant;

use grammers_session::Session;
use grammers_session::types::{ChannelKind, DcOption, PeerAuth, PeerInfo, UpdateState};
use session::SessionStore;

const PATH_VAR: &str = "SESSION_IT_SHARED_FILE";
const INDEX_VAR: &str = "SESSION_IT_CHILD_INDEX";
const CHILD_TEST: &str = "two_processes::child_process_hammers_shared_file";
const ITERATIONS: i64 = 300;
const PEERS_PER_ITERATION: i64 = 4;

/// The peers child `child` caches in iteration `i`: ids never collide between children.
fn peers(child: i64, i: i64) -> Vec<PeerInfo> {
    let base = (child + 1) * 1_000_000 + i * PEERS_PER_ITERATION;
    vec![
        PeerInfo::User {
            id: base,
            auth: Some(PeerAuth::from_hash(base * 7)),
            bot: Some(false),
            is_self: None,
        },
        PeerInfo::User {
            id: base + 1,
            auth: Some(PeerAuth::from_hash(-base)),
            bot: Some(true),
            is_self: None,
        },
        PeerInfo::Chat { id: base + 2 },
        PeerInfo::Channel {
            id: base + 3,
            auth: Some(PeerAuth::from_hash(base + 3)),
            kind: Some(ChannelKind::Megagroup),
        },
    ]
}

#[tokio::test]
async fn two_processes_share_one_file_under_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sessions/shared.session");
    let exe = std::env::current_exe().expect("test binary path");

    let child = |index: u32| {
        tokio::process::Command::new(&exe)
            .args(["--exact", CHILD_TEST, "--ignored", "--nocapture"])
            .env(PATH_VAR, &path)
            .env(INDEX_VAR, index.to_string())
            .kill_on_drop(true)
            .output()
    };
    let started = Instant::now();
    let (first, second) = tokio::join!(child(0), child(1));
    let elapsed = started.elapsed();
    let outputs = [first, second];

    for (index, output) in outputs.into_iter().enumerate() {
        let output = output.expect("child ran");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("errors=0"),
            "child {index} failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        let summary = stdout
            .lines()
            .find(|l| l.starts_with("child "))
            .unwrap_or("");
        println!("{summary}");
    }
    println!(
        "2 processes x {ITERATIONS} iterations on one session file took {:.2?}",
        elapsed
    );

    let store = SessionStore::open(&path).await.unwrap();
    for child in 0..2 {
        for i in 0..ITERATIONS {
            for peer in peers(child, i) {
                let cached = store.peer(peer.id()).await.unwrap();
                assert_eq!(cached, Some(peer), "child {child} iteration {i}");
            }
        }
    }
}

/// One child: ≥300 iterations mixing every write the client does with reads of the other
/// child's peers. Does nothing unless started by the parent test.
#[tokio::test]
#[ignore = "run as a child process by two_processes_share_one_file_under_load"]
async fn child_process_hammers_shared_file() {
    let (Ok(path), Ok(index)) = (std::env::var(PATH_VAR), std::env::var(INDEX_VAR)) else {
        return;
    };
    let child: i64 = index.parse().expect("child index");
    let other = 1 - child;
    let store = SessionStore::open(&path).await.expect("open shared file");
    start_together(&store, child).await;

    let mut tally = Tally::default();
    for i in 0..ITERATIONS {
        tally.record(
            child,
            "cache_peers",
            store.cache_peers(peers(child, i)).await,
        );
        let primary = UpdateState::Primary {
            pts: i as i32,
            date: i as i32,
            seq: child as i32,
        };
        tally.record(child, "primary", store.set_update_state(primary).await);
        let channel = UpdateState::Channel {
            id: child + 1,
            pts: i as i32,
        };
        tally.record(child, "channel", store.set_update_state(channel).await);
        let port = 10_000 + child as u16;
        let dc = DcOption {
            id: (i % 5) as i32 + 1,
            ipv4: SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
            ipv6: SocketAddrV6::new(Ipv6Addr::LOCALHOST, port, 0, 0),
            auth_key: Some([child as u8; 256]),
        };
        tally.record(child, "set_dc_option", store.set_dc_option(&dc).await);
        for peer in peers(other, i) {
            let found = store.peer(peer.id()).await;
            tally.seen_other += u32::from(matches!(found, Ok(Some(_))));
            tally.record(child, "peer", found.map(drop));
        }
        let state = store.updates_state().await;
        tally.record(child, "updates_state", state.map(drop));
    }
    let Tally {
        ops,
        errors,
        seen_other,
    } = tally;
    println!("child {child}: ops={ops} errors={errors} seen_other_peers={seen_other}");
    assert_eq!(errors, 0);
}

/// A barrier through the shared file itself: each child caches a marker user and waits (at most
/// 10 s) until the other's is visible, so the measured loops really overlap.
async fn start_together(store: &SessionStore, child: i64) {
    let marker = |c: i64| PeerInfo::User {
        id: 900_000 + c,
        auth: None,
        bot: None,
        is_self: None,
    };
    store.cache_peer(marker(child)).await.expect("cache marker");
    let other = marker(1 - child).id();
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while store.peer(other).await.expect("read marker").is_none() {
        assert!(Instant::now() < deadline, "other child never started");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

/// Operation counts of one child.
#[derive(Default)]
struct Tally {
    ops: u32,
    errors: u32,
    seen_other: u32,
}

impl Tally {
    fn record(&mut self, child: i64, what: &str, result: Result<(), session::SessionError>) {
        self.ops += 1;
        if let Err(err) = result {
            self.errors += 1;
            eprintln!("child {child}: {what} failed: {err:?}");
        }
    }
}
