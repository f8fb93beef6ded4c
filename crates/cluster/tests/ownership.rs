//! The ownership loop against a real Postgres: instances split the accounts evenly, a dead
//! instance's accounts move to the others within the lease time, a returning instance gets
//! its share back, a clean shutdown hands over at once — and no account ever has two
//! instances serving it.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Change, Cluster, Ownership, OwnershipConfig};
use testkit::postgres::Postgres;
use tokio::sync::mpsc;

const PERIOD: Duration = Duration::from_millis(1000);

/// One event a consumer saw: (account, instance, gained?, when).
type Event = (String, String, bool, Instant);

/// What a consumer serves now per instance, and every start/stop it saw.
#[derive(Default)]
struct World {
    serving: BTreeMap<String, BTreeSet<String>>,
    events: Vec<Event>,
}

/// Starts instance `id` and a consumer task recording its changes into `world`.
async fn start(url: &str, id: &str, world: &Arc<Mutex<World>>) -> Ownership {
    let cluster = Cluster::connect(url, id, 4).await.unwrap();
    let config = OwnershipConfig {
        period: PERIOD,
        ..OwnershipConfig::default()
    };
    let (ownership, mut changes) = Ownership::start(cluster, config);
    let world = world.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        while let Some(change) = changes.recv().await {
            let mut w = world.lock().unwrap();
            let (account, gained) = match change {
                Change::Gained { account, fence } => {
                    assert_eq!(fence.owner, id);
                    (account, true)
                }
                Change::Lost { account } => (account, false),
            };
            let serving = w.serving.entry(id.clone()).or_default();
            if gained {
                assert!(
                    serving.insert(account.clone()),
                    "{id} gained {account} twice"
                );
            } else {
                assert!(
                    serving.remove(&account),
                    "{id} lost {account} it did not hold"
                );
            }
            w.events.push((account, id.clone(), gained, Instant::now()));
        }
    });
    ownership
}

fn counts(world: &Arc<Mutex<World>>) -> BTreeMap<String, usize> {
    let w = world.lock().unwrap();
    w.serving
        .iter()
        .map(|(id, set)| (id.clone(), set.len()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Waits (up to `within`) until exactly the instances `ids` serve, together all `total`
/// accounts, none more than the even split rounded up; returns how long it took.
async fn until_split(
    world: &Arc<Mutex<World>>,
    ids: &[&str],
    total: usize,
    within: Duration,
) -> Duration {
    let start = Instant::now();
    let share = total.div_ceil(ids.len());
    loop {
        let now = counts(world);
        let even = now.keys().map(String::as_str).eq(ids.iter().copied())
            && now.values().sum::<usize>() == total
            && now.values().all(|n| *n <= share);
        if even {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "counts {now:?}, want {ids:?} sharing {total}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn accounts_spread_move_off_a_dead_instance_and_never_have_two_owners() {
    let pg = Postgres::start().await;
    let url = pg.create_database("own");
    let setup = Cluster::connect(&url, "setup", 2).await.unwrap();
    for i in 0..9 {
        setup
            .register_account(&format!("acct{i}"), &serde_json::json!({}))
            .await
            .unwrap();
    }
    let world = Arc::new(Mutex::new(World::default()));
    let a = start(&url, "a", &world).await;
    let b = start(&url, "b", &world).await;
    let c = start(&url, "c", &world).await;
    until_split(&world, &["a", "b", "c"], 9, 10 * PERIOD).await;

    // `a` dies (no release, no stop): the consumer's serving set stays as it was, as a
    // crashed process's would; b and c take its accounts once the leases lapse.
    let dead: BTreeSet<String> = world.lock().unwrap().serving["a"].clone();
    let killed_at = Instant::now();
    drop(a);
    world.lock().unwrap().serving.remove("a");
    // (How long the move takes is measured in BENCHMARKS.md, not asserted here.)
    until_split(&world, &["b", "c"], 9, 5 * PERIOD).await;
    // None of a's accounts was gained by another before a's lease could have lapsed.
    {
        let w = world.lock().unwrap();
        for (account, id, gained, at) in &w.events {
            if *gained && dead.contains(account) && *at > killed_at {
                assert_ne!(id, "a");
            }
        }
    }

    // `a` comes back under the same id: b gives accounts up until the split is even again.
    let a = start(&url, "a", &world).await;
    until_split(&world, &["a", "b", "c"], 9, 15 * PERIOD).await;

    // A clean shutdown of `c` (after its consumer stopped serving) hands over at once.
    let stopped: Vec<String> = world.lock().unwrap().serving["c"].iter().cloned().collect();
    world.lock().unwrap().serving.remove("c");
    let shut_at = Instant::now();
    c.shutdown().await.unwrap();
    // Released, not left to expire: right after the shutdown c's leases have at most the
    // handover (a fifth of a period) left, where renewed ones had at least two thirds.
    let as_c = Cluster::connect(&url, "c", 1).await.unwrap();
    for (account, _, left) in as_c.held_here().await.unwrap() {
        assert!(
            left <= cluster::lease::handover(PERIOD),
            "{account}: {left:?} left after the release"
        );
    }
    until_split(&world, &["a", "b"], 9, 5 * PERIOD).await;
    assert_eq!(stopped.len(), 3);

    // Never two owners: per account, every tenure (gained → lost) ends before the next
    // begins; a's first tenures ended at its death.
    let w = world.lock().unwrap();
    let mut open: BTreeMap<String, (String, Instant)> = BTreeMap::new();
    let mut events = w.events.clone();
    events.sort_by_key(|e| e.3);
    for (account, id, gained, at) in events {
        if gained {
            if let Some((holder, since)) = open.get(&account) {
                // Only a dead or shut-down holder may still be "open" here.
                let ended = if holder == "a" && since < &killed_at {
                    killed_at
                } else if holder == "c" {
                    shut_at
                } else {
                    panic!("{account}: {id} gained it while {holder} served it");
                };
                assert!(
                    ended <= at,
                    "{account}: {id} gained it before {holder} stopped"
                );
            }
            open.insert(account, (id, at));
        } else {
            let (holder, _) = open.remove(&account).expect("lost what was gained");
            assert_eq!(holder, id);
        }
    }
    drop((a, b));
}

#[tokio::test]
async fn the_share_is_capped_and_a_new_account_is_taken() {
    let pg = Postgres::start().await;
    let url = pg.create_database("cap");
    let setup = Cluster::connect(&url, "setup", 2).await.unwrap();
    for i in 0..4 {
        setup
            .register_account(&format!("acct{i}"), &serde_json::json!({}))
            .await
            .unwrap();
    }
    let cluster = Cluster::connect(&url, "solo", 2).await.unwrap();
    let config = OwnershipConfig {
        period: PERIOD,
        max_accounts: 3,
        sender_url: Some("http://solo:8081".into()),
    };
    let (ownership, mut changes) = Ownership::start(cluster, config);
    let mut gained = BTreeSet::new();
    while gained.len() < 3 {
        if let Some(Change::Gained { account, .. }) = recv(&mut changes).await {
            gained.insert(account);
        }
    }
    // The cap holds: nothing more within a few checks.
    assert!(
        tokio::time::timeout(PERIOD / 2, changes.recv())
            .await
            .is_err(),
        "more than the cap"
    );
    assert_eq!(setup.free_accounts().await.unwrap().len(), 1);
    assert_eq!(
        setup.live_instances(PERIOD).await.unwrap(),
        [("solo".to_owned(), Some("http://solo:8081".to_owned()))]
    );
    ownership.shutdown().await.unwrap();
    assert!(setup.live_instances(PERIOD).await.unwrap().is_empty());
    // Free after the handover (a fifth of a period), not after the whole period.
    tokio::time::sleep(cluster::lease::handover(PERIOD) + Duration::from_millis(50)).await;
    assert_eq!(setup.free_accounts().await.unwrap().len(), 4);
}

async fn recv(changes: &mut mpsc::UnboundedReceiver<Change>) -> Option<Change> {
    tokio::time::timeout(PERIOD * 5, changes.recv())
        .await
        .expect("a change within five periods")
}

/// The instance's second process follows the holder: it serves what the holder gained, and
/// when the holder dies it stops every account before another instance takes one.
#[tokio::test]
async fn the_follower_serves_what_its_instance_holds_and_stops_before_a_takeover() {
    let pg = Postgres::start().await;
    let url = pg.create_database("follow");
    let setup = Cluster::connect(&url, "setup", 2).await.unwrap();
    for i in 0..3 {
        setup
            .register_account(&format!("acct{i}"), &serde_json::json!({}))
            .await
            .unwrap();
    }
    let config = OwnershipConfig {
        period: PERIOD,
        ..OwnershipConfig::default()
    };
    let holder = Cluster::connect(&url, "a", 2).await.unwrap();
    let (ownership, mut held) = Ownership::start(holder, config.clone());
    let second = Cluster::connect(&url, "a", 2).await.unwrap();
    let (_follower, mut followed) = cluster::Follower::start(second, PERIOD);
    let mut gained = BTreeMap::new();
    while gained.len() < 3 {
        if let Some(Change::Gained { account, fence }) = recv(&mut held).await {
            gained.insert(account, fence);
        }
    }
    let mut following = BTreeMap::new();
    while following.len() < 3 {
        if let Some(Change::Gained { account, fence }) = recv(&mut followed).await {
            following.insert(account, fence);
        }
    }
    assert_eq!(
        following, gained,
        "the follower serves the same accounts, same fences"
    );

    // The holder dies; another instance starts. The follower stops each account before the
    // other instance gains it.
    drop(ownership);
    let other = Cluster::connect(&url, "b", 2).await.unwrap();
    let (_b, mut b_changes) = Ownership::start(other, config);
    // Both consumers record when they hear of a change, concurrently.
    let stops = tokio::spawn(async move {
        let mut at = BTreeMap::new();
        while at.len() < 3 {
            if let Some(Change::Lost { account }) = recv(&mut followed).await {
                at.insert(account, Instant::now());
            }
        }
        at
    });
    let takes = tokio::spawn(async move {
        let mut at = BTreeMap::new();
        while at.len() < 3 {
            if let Some(Change::Gained { account, .. }) = recv(&mut b_changes).await {
                at.insert(account, Instant::now());
            }
        }
        at
    });
    let (stopped_at, taken_at) = (stops.await.unwrap(), takes.await.unwrap());
    for (account, taken) in taken_at {
        assert!(
            stopped_at[&account] < taken,
            "{account} taken before the follower stopped"
        );
    }
}
