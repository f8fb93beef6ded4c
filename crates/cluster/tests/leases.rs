//! Leases against a real Postgres (testkit::postgres): one owner per account, fencing tokens
//! that grow with every owner, takeover after expiry, and no two holders' local deadlines
//! overlapping under contention.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster::{Cluster, ClusterError, LeaseState, lease::fair_share};
use testkit::postgres::Postgres;

async fn instance(url: &str, id: &str) -> Cluster {
    Cluster::connect(url, id, 4).await.expect("connect")
}

#[tokio::test]
async fn one_owner_fence_grows_release_and_expiry_hand_over() {
    let pg = Postgres::start().await;
    let url = pg.create_database("leases");
    let a = instance(&url, "a").await;
    let b = instance(&url, "b").await;
    a.register_account("shop", &serde_json::json!({}))
        .await
        .unwrap();

    let period = Duration::from_secs(30);
    let lease = a
        .acquire("shop", period)
        .await
        .unwrap()
        .expect("free lease");
    assert_eq!((lease.fence(), lease.owner()), (1, "a"));
    assert!(b.acquire("shop", period).await.unwrap().is_none());
    // Not even the holder's own id takes a live lease twice.
    assert!(a.acquire("shop", period).await.unwrap().is_none());
    assert_eq!(b.owner_of("shop").await.unwrap(), Some(("a".to_owned(), 1)));

    // A release leaves the lease a fifth of its period (the follower's time to stop); an
    // immediate one hands over at once, with a larger token.
    let (period_s, short_id) = (Duration::from_secs(5), "a");
    a.register_account("other", &serde_json::json!({}))
        .await
        .unwrap();
    let other = a.acquire("other", period_s).await.unwrap().unwrap();
    a.release(other).await.unwrap();
    let left: Vec<Duration> = a
        .held_here()
        .await
        .unwrap()
        .into_iter()
        .filter(|(account, _, _)| account == "other")
        .map(|(_, _, left)| left)
        .collect();
    assert_eq!(
        left.len(),
        1,
        "{short_id} still holds other for the handover"
    );
    assert!(left[0] <= cluster::lease::handover(period_s), "{left:?}");
    assert!(b.acquire("other", period_s).await.unwrap().is_none());
    a.release_now(lease).await.unwrap();
    assert_eq!(
        b.free_accounts().await.unwrap(),
        ["shop"],
        "shop free, other not yet"
    );
    let mut by_b = b.acquire("shop", period).await.unwrap().expect("released");
    assert_eq!(by_b.fence(), 2);

    // Expiry: a short lease left to lapse is taken over; the old holder's renewal is refused
    // and its local deadline had passed before the takeover.
    let short = Duration::from_millis(300);
    b.release_now(by_b).await.unwrap();
    let mut lapsing = a.acquire("shop", short).await.unwrap().expect("free again");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let taken_at = Instant::now();
    let new = b.acquire("shop", period).await.unwrap().expect("expired");
    assert!(lapsing.valid_until() <= taken_at);
    assert_eq!(new.fence(), lapsing.fence() + 1);
    assert_eq!(a.renew(&mut lapsing).await.unwrap(), LeaseState::Lost);
    assert!(!lapsing.is_valid());

    // The live holder renews; a removed account's lease is gone (renewal refused).
    by_b = new;
    assert_eq!(b.renew(&mut by_b).await.unwrap(), LeaseState::Held);
    assert!(by_b.is_valid());
    assert!(b.remove_account("shop").await.unwrap());
    assert_eq!(b.renew(&mut by_b).await.unwrap(), LeaseState::Lost);
    assert!(matches!(
        a.acquire("shop", period).await,
        Err(ClusterError::UnknownAccount(name)) if name == "shop"
    ));
}

#[tokio::test]
async fn heartbeats_list_live_instances_and_leave_removes() {
    let pg = Postgres::start().await;
    let url = pg.create_database("beats");
    let a = instance(&url, "a").await;
    let b = instance(&url, "b").await;
    a.heartbeat(Some("http://a:8081")).await.unwrap();
    b.heartbeat(None).await.unwrap();
    let live = a.live_instances(Duration::from_secs(15)).await.unwrap();
    assert_eq!(
        live,
        [
            ("a".to_owned(), Some("http://a:8081".to_owned())),
            ("b".to_owned(), None)
        ]
    );
    b.leave().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        a.live_instances(Duration::from_millis(30)).await.unwrap(),
        []
    );
    assert_eq!(
        a.live_instances(Duration::from_secs(15))
            .await
            .unwrap()
            .len(),
        1
    );
}

/// One holder's time with a lease: from the acquisition's answer to its last local deadline.
#[derive(Debug)]
struct Tenure {
    account: String,
    fence: i64,
    from: Instant,
    until: Instant,
}

/// Six instances race for eight accounts with 200 ms leases, renewing some and abandoning
/// others (a stalled owner), for three seconds. Every tenure of one account must end (its
/// local deadline) before the next owner's begins, in fencing-token order.
#[tokio::test]
async fn contention_never_overlaps_two_owners() {
    let pg = Postgres::start().await;
    let url = pg.create_database("race");
    let accounts: Vec<String> = (0..8).map(|i| format!("acct{i}")).collect();
    let setup = instance(&url, "setup").await;
    for name in &accounts {
        setup
            .register_account(name, &serde_json::json!({}))
            .await
            .unwrap();
    }
    let tenures = Arc::new(Mutex::new(Vec::<Tenure>::new()));
    let end = Instant::now() + Duration::from_secs(3);
    let mut tasks = Vec::new();
    for i in 0..6 {
        let cluster = instance(&url, &format!("inst{i}")).await;
        let accounts = accounts.clone();
        let tenures = tenures.clone();
        tasks.push(tokio::spawn(async move {
            let period = Duration::from_millis(200);
            let mut round = 0u64;
            while Instant::now() < end {
                round += 1;
                for name in &accounts {
                    let Some(mut lease) = cluster.acquire(name, period).await.unwrap() else {
                        continue;
                    };
                    let from = Instant::now();
                    // Renew a few times, then either release or abandon (let it lapse).
                    for _ in 0..(round + i) % 3 {
                        tokio::time::sleep(Duration::from_millis(60)).await;
                        if cluster.renew(&mut lease).await.unwrap() == LeaseState::Lost {
                            break;
                        }
                    }
                    let until = lease.valid_until().min(Instant::now());
                    let abandon = (round + i).is_multiple_of(2);
                    let until = if abandon { lease.valid_until() } else { until };
                    tenures.lock().unwrap().push(Tenure {
                        account: name.clone(),
                        fence: lease.fence(),
                        from,
                        until,
                    });
                    if !abandon {
                        cluster.release_now(lease).await.unwrap();
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut tenures = std::mem::take(&mut *tenures.lock().unwrap());
    tenures.sort_by(|x, y| (&x.account, x.fence).cmp(&(&y.account, y.fence)));
    let mut checked = 0;
    for pair in tenures.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        if earlier.account != later.account {
            continue;
        }
        assert!(later.fence > earlier.fence, "{earlier:?} then {later:?}");
        assert!(
            earlier.until <= later.from,
            "two owners at once: {earlier:?} overlaps {later:?}"
        );
        checked += 1;
    }
    assert!(
        checked > 50,
        "too few handovers to prove anything: {checked}"
    );
}

#[test]
fn fair_share_splits_evenly_rounding_up_and_caps() {
    assert_eq!(fair_share(30, 3, 100), 10);
    assert_eq!(fair_share(30, 2, 100), 15);
    assert_eq!(fair_share(31, 3, 100), 11);
    assert_eq!(fair_share(30, 1, 12), 12);
    assert_eq!(fair_share(5, 0, 100), 5);
}

/// A store's own schema per account (`store_pool`) and the fence check its writes run.
#[tokio::test]
async fn store_pools_work_in_their_schema_and_fences_follow_the_lease() {
    let pg = Postgres::start().await;
    let url = pg.create_database("stores");
    let a = instance(&url, "a").await;
    let b = instance(&url, "b").await;
    for name in [
        "shop",
        "a-very-long-account-name-that-is-sixty-four-characters-long-xxxxx",
    ] {
        a.register_account(name, &serde_json::json!({}))
            .await
            .unwrap();
    }
    let id = a.account_id("shop").await.unwrap();
    assert_ne!(
        id,
        a.account_id("a-very-long-account-name-that-is-sixty-four-characters-long-xxxxx")
            .await
            .unwrap()
    );
    assert!(matches!(
        a.account_id("nobody").await,
        Err(ClusterError::UnknownAccount(_))
    ));
    let schema = cluster::account_schema("outbox", id);
    let pool = a.store_pool(&schema, 2).await.unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    let found: String = sqlx::query_scalar(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 'meta'",
    )
    .fetch_one(a.pool())
    .await
    .unwrap();
    assert_eq!(found, schema);

    let lease = a
        .acquire("shop", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    let fence = lease.fence_token();
    let mut conn = pool.acquire().await.unwrap();
    assert!(fence.check(&mut conn).await.unwrap());
    a.release_now(lease).await.unwrap();
    let _new = b
        .acquire("shop", Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(!fence.check(&mut conn).await.unwrap());
}

/// Stores opening one new schema at once (an instance's receiver and sender starting) all get
/// their pool: `CREATE SCHEMA IF NOT EXISTS` alone fails when another connection creates the
/// schema at the same moment.
#[tokio::test]
async fn concurrent_store_pools_of_one_new_schema_all_open() {
    let pg = Postgres::start().await;
    let url = pg.create_database("schemas");
    let a = instance(&url, "a").await;
    for id in 0..8 {
        let schema = cluster::account_schema("outbox", id);
        let mut opens = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (a, schema) = (a.clone(), schema.clone());
            opens.spawn(async move { a.store_pool(&schema, 1).await.map(drop) });
        }
        while let Some(opened) = opens.join_next().await {
            opened.unwrap().unwrap();
        }
    }
}
