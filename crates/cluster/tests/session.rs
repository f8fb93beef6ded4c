//! `PgSession` against a real Postgres: what the SQLite store keeps round-trips, writes are
//! refused once the lease is lost, and the real grammers client (through `telegram`) runs on
//! a session moved from a file into Postgres, against testdc.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use botapi::ids::ChatIdParam;
use cluster::{Cluster, PgSession};
use grammers_session::Session;
use grammers_session::types::{
    ChannelKind, ChannelState, PeerAuth, PeerId, PeerInfo, UpdateState, UpdatesState,
};
use session::{SessionError, SessionStore};
use telegram::{OutgoingText, Telegram, TelegramConfig};
use testdc::{Fixture, TestDc, TestDcConfig};
use testkit::postgres::Postgres;

const PERIOD: Duration = Duration::from_secs(30);

async fn instance(url: &str, id: &str) -> Cluster {
    Cluster::connect(url, id, 4).await.expect("connect")
}

#[tokio::test]
async fn round_trip_and_fenced_after_takeover() {
    let pg = Postgres::start().await;
    let url = pg.create_database("sessions");
    let a = instance(&url, "a").await;
    let b = instance(&url, "b").await;
    a.register_account("shop", &serde_json::json!({}))
        .await
        .unwrap();
    let lease = a.acquire("shop", PERIOD).await.unwrap().unwrap();
    let session = PgSession::open(&a, &lease.fence_token()).await.unwrap();

    session.set_home_dc_id(4).await.unwrap();
    let me = PeerInfo::User {
        id: 10,
        auth: Some(PeerAuth::from_hash(1010)),
        bot: Some(false),
        is_self: Some(true),
    };
    let channel = PeerInfo::Channel {
        id: 77,
        auth: Some(PeerAuth::from_hash(7700)),
        kind: Some(ChannelKind::Megagroup),
    };
    session
        .cache_peers(vec![me.clone(), channel.clone()])
        .await
        .unwrap();
    // A "min" sighting (no access hash) never erases a known one.
    session
        .cache_peer(PeerInfo::Channel {
            id: 77,
            auth: None,
            kind: None,
        })
        .await
        .unwrap();
    let state = UpdatesState {
        pts: 5,
        qts: 6,
        date: 7,
        seq: 8,
        channels: vec![ChannelState { id: 77, pts: 90 }],
    };
    session
        .set_update_state(UpdateState::All(state.clone()))
        .await
        .unwrap();
    session
        .set_update_state(UpdateState::Channel { id: 77, pts: 91 })
        .await
        .unwrap();
    session
        .set_update_state(UpdateState::Primary {
            pts: 12,
            date: 13,
            seq: 14,
        })
        .await
        .unwrap();

    // A fresh store on the same account (what a new owner opens) reads it all back.
    a.release_now(lease).await.unwrap();
    let by_b = b.acquire("shop", PERIOD).await.unwrap().unwrap();
    let fresh = PgSession::open(&b, &by_b.fence_token()).await.unwrap();
    assert_eq!(fresh.home_dc_id().unwrap(), 4);
    assert_eq!(fresh.self_user().await.unwrap(), Some(me));
    assert_eq!(
        fresh.peer(PeerId::channel_unchecked(77)).await.unwrap(),
        Some(channel)
    );
    let read = fresh.updates_state().await.unwrap();
    assert_eq!(
        (read.pts, read.qts, read.date, read.seq),
        (12, 6, 13, 14),
        "{read:?}"
    );
    assert_eq!(read.channels, [ChannelState { id: 77, pts: 91 }]);

    // The old holder's writes are refused now; the new holder's go through.
    let refused = session
        .set_update_state(UpdateState::Secondary { qts: 99 })
        .await;
    assert!(
        matches!(&refused, Err(SessionError::Fenced { account, fence: 1 }) if account == "shop"),
        "{refused:?}"
    );
    assert!(matches!(
        session.set_home_dc_id(1).await,
        Err(SessionError::Fenced { .. })
    ));
    fresh
        .set_update_state(UpdateState::Secondary { qts: 100 })
        .await
        .unwrap();
    assert_eq!(fresh.updates_state().await.unwrap().qts, 100);
}

/// A testdc session file moves into Postgres (`SessionStore::export_data` → `PgSession::import`)
/// and the real client signs in with it, resolves a username (a peer written through the
/// store) and posts there; the file is not used after the import.
#[tokio::test]
async fn the_real_client_runs_on_a_session_moved_into_postgres() {
    let pg = Postgres::start().await;
    let url = pg.create_database("client");
    let dc = TestDc::start(TestDcConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shop.session");
    dc.write_session(&file).await.unwrap();
    let data = SessionStore::open(&file)
        .await
        .unwrap()
        .export_data()
        .await
        .unwrap();
    std::fs::remove_file(&file).unwrap();

    let cluster = instance(&url, "a").await;
    let settings = serde_json::json!({"secret": "s3"});
    assert!(
        cluster
            .import_account("shop", &settings, &data, false)
            .await
            .unwrap()
    );
    // Again without --force: left as it is.
    assert!(
        !cluster
            .import_account("shop", &settings, &data, false)
            .await
            .unwrap()
    );
    assert_eq!(
        cluster.account_settings("shop").await.unwrap(),
        Some(settings)
    );
    let unowned = cluster
        .route(Fixture::DEFAULT.self_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((unowned.account.as_str(), unowned.owner), ("shop", None));
    assert_eq!(cluster.route(42).await.unwrap(), None);

    cluster.heartbeat(Some("http://a:8081")).await.unwrap();
    let lease = cluster.acquire("shop", PERIOD).await.unwrap().unwrap();
    let route = cluster
        .route(Fixture::DEFAULT.self_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(route.owner.as_deref(), Some("a"));
    assert_eq!(route.sender_url.as_deref(), Some("http://a:8081"));
    // Importing over an account an instance serves is refused.
    assert!(matches!(
        cluster
            .import_account("shop", &serde_json::json!({}), &data, true)
            .await,
        Err(cluster::ClusterError::AccountBusy(..))
    ));
    let store = Arc::new(
        PgSession::open(&cluster, &lease.fence_token())
            .await
            .unwrap(),
    );
    let group = PeerId::channel_unchecked(Fixture::DEFAULT.supergroup);
    let before = store.peer(group).await.unwrap();
    assert!(
        before.is_none(),
        "the seed already knew the group: {before:?}"
    );

    let config = TelegramConfig {
        api_id: 1,
        session_path: dir.path().join("unused.session"),
        flood_sleep_threshold: Duration::from_secs(5),
        updates_capacity: 100,
        upload_concurrency: telegram::DEFAULT_UPLOAD_CONCURRENCY,
    };
    let tg = Telegram::connect_with_session(config, store.clone())
        .await
        .unwrap();
    assert_eq!(tg.account().user.id, Fixture::DEFAULT.self_id);
    let peer = tg
        .resolve_chat(&ChatIdParam::Username("testsupergroup".into()))
        .await
        .unwrap();
    let sent = tg
        .send_text(
            peer,
            OutgoingText {
                text: "from postgres".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(Some(sent.chat.id), group.bot_api_dialog_id());
    let history = dc.history(sent.chat.id).unwrap();
    assert!(history.iter().any(|m| m.text == "from postgres"));

    // The group's access hash reached Postgres (another instance's store reads it there).
    let other = instance(&url, "b").await;
    cluster.release_now(lease).await.unwrap();
    let lease_b = other.acquire("shop", PERIOD).await.unwrap().unwrap();
    let seen_by_b = PgSession::open(&other, &lease_b.fence_token())
        .await
        .unwrap();
    let stored = seen_by_b.peer(group).await.unwrap();
    assert!(
        stored.as_ref().and_then(PeerInfo::auth).is_some(),
        "before: {before:?}, stored: {stored:?}"
    );
    tg.disconnect();
}
