//! DC options, home DC, auth keys, update state and seeding survive a reopen of the file.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use grammers_session::Session;
use grammers_session::types::{
    ChannelState, DcOption, PeerAuth, PeerInfo, UpdateState, UpdatesState,
};
use session::{SCHEMA_VERSION, SessionError, SessionSeed, SessionStore};

fn temp_path() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("nested/dir/test.session");
    (dir, path)
}

#[tokio::test]
async fn new_file_reports_grammers_defaults() {
    let (_dir, path) = temp_path();
    let store = SessionStore::open(&path).await.unwrap();
    assert_eq!(store.home_dc_id().unwrap(), 2);
    for id in 1..=5 {
        let dc = store.dc_option(id).unwrap().expect("static DC option");
        assert_eq!(dc.auth_key, None);
        assert_ne!(dc.ipv4.ip(), &Ipv4Addr::LOCALHOST);
    }
    assert_eq!(store.dc_option(99).unwrap(), None);
    assert_eq!(store.self_user().await.unwrap(), None);
    assert_eq!(
        store.updates_state().await.unwrap(),
        UpdatesState::default()
    );
}

#[tokio::test]
async fn home_dc_dc_options_and_auth_key_survive_reopen() {
    let (_dir, path) = temp_path();
    let dc2 = DcOption {
        id: 2,
        ipv4: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4430),
        ipv6: SocketAddrV6::new(Ipv6Addr::LOCALHOST, 4431, 0, 0),
        auth_key: Some([7; 256]),
    };
    let dc99 = DcOption {
        id: 99,
        auth_key: None,
        ..dc2.clone()
    };
    {
        let store = SessionStore::open(&path).await.unwrap();
        store.set_home_dc_id(4).await.unwrap();
        store.set_dc_option(&dc2).await.unwrap();
        store.set_dc_option(&dc99).await.unwrap();
        assert_eq!(store.home_dc_id().unwrap(), 4);
        assert_eq!(store.dc_option(2).unwrap(), Some(dc2.clone()));
    }
    let store = SessionStore::open(&path).await.unwrap();
    assert_eq!(store.home_dc_id().unwrap(), 4);
    assert_eq!(store.dc_option(2).unwrap(), Some(dc2));
    assert_eq!(store.dc_option(99).unwrap(), Some(dc99));
    assert!(
        store.dc_option(1).unwrap().is_some(),
        "static DC 1 still known"
    );
}

#[tokio::test]
async fn update_state_variants_round_trip() {
    let (_dir, path) = temp_path();
    let store = SessionStore::open(&path).await.unwrap();
    // Partial updates on an empty file create the row with zeros elsewhere.
    store
        .set_update_state(UpdateState::Secondary { qts: 9 })
        .await
        .unwrap();
    let state = store.updates_state().await.unwrap();
    assert_eq!((state.pts, state.qts, state.date, state.seq), (0, 9, 0, 0));

    store
        .set_update_state(UpdateState::All(UpdatesState {
            pts: 1,
            qts: 2,
            date: 3,
            seq: 4,
            channels: vec![
                ChannelState { id: 5, pts: 6 },
                ChannelState { id: 7, pts: 8 },
            ],
        }))
        .await
        .unwrap();
    let primary = UpdateState::Primary {
        pts: 2,
        date: 4,
        seq: 5,
    };
    store.set_update_state(primary).await.unwrap();
    let secondary = UpdateState::Secondary { qts: 3 };
    store.set_update_state(secondary).await.unwrap();
    let channel = UpdateState::Channel { id: 7, pts: 9 };
    store.set_update_state(channel).await.unwrap();
    let channel = UpdateState::Channel { id: 11, pts: 1 };
    store.set_update_state(channel).await.unwrap();
    drop(store);

    let store = SessionStore::open(&path).await.unwrap();
    let expected = UpdatesState {
        pts: 2,
        qts: 3,
        date: 4,
        seq: 5,
        channels: vec![
            ChannelState { id: 5, pts: 6 },
            ChannelState { id: 7, pts: 9 },
            ChannelState { id: 11, pts: 1 },
        ],
    };
    assert_eq!(store.updates_state().await.unwrap(), expected);

    // `All` replaces the channel list instead of merging into it.
    let all = UpdateState::All(UpdatesState::default());
    store.set_update_state(all).await.unwrap();
    assert_eq!(
        store.updates_state().await.unwrap(),
        UpdatesState::default()
    );
}

#[tokio::test]
async fn seed_points_every_dc_at_loopback_and_caches_self_user() {
    let (_dir, path) = temp_path();
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 44300);
    let seed = SessionSeed {
        home_dc_id: 2,
        dc_addr: addr,
        auth_key: [42; 256],
        self_user: Some((777, -5, true)),
    };
    SessionStore::open(&path)
        .await
        .unwrap()
        .seed(&seed)
        .await
        .unwrap();
    assert!(
        !format!("{seed:?}").contains("42, 42"),
        "auth key not printed"
    );

    let store = SessionStore::open(&path).await.unwrap();
    assert_eq!(store.home_dc_id().unwrap(), 2);
    for id in 1..=5 {
        let dc = store.dc_option(id).unwrap().expect("seeded DC");
        assert_eq!(dc.ipv4, addr);
        assert_eq!(dc.ipv6.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(dc.ipv6.port(), 44300);
        assert_eq!(dc.auth_key, Some([42; 256]));
    }
    let expected = PeerInfo::User {
        id: 777,
        auth: Some(PeerAuth::from_hash(-5)),
        bot: Some(true),
        is_self: Some(true),
    };
    assert_eq!(store.self_user().await.unwrap(), Some(expected));
}

#[test]
fn path_for_name_appends_session_extension_once() {
    let path = SessionStore::path_for_name("/sessions/tg_userbot");
    assert_eq!(path, std::path::Path::new("/sessions/tg_userbot.session"));
    let path = SessionStore::path_for_name("/sessions/tg_userbot.session");
    assert_eq!(path, std::path::Path::new("/sessions/tg_userbot.session"));
    assert_eq!(
        SessionStore::path_for_name("bot"),
        std::path::Path::new("bot.session")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn new_file_is_owner_only_and_parent_dir_is_created() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path) = temp_path();
    let store = SessionStore::open(&path).await.unwrap();
    assert_eq!(store.path(), path);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn file_from_a_newer_schema_is_rejected() {
    let (_dir, path) = temp_path();
    drop(SessionStore::open(&path).await.unwrap());
    let db = libsql::Builder::new_local(&path).build().await.unwrap();
    let conn = db.connect().unwrap();
    let version = SCHEMA_VERSION + 1;
    let sql = format!("PRAGMA user_version = {version}");
    conn.execute(&sql, ()).await.unwrap();
    drop(conn);

    match SessionStore::open(&path).await {
        Err(SessionError::UnsupportedSchema { found, supported }) => {
            assert_eq!((found, supported), (version, SCHEMA_VERSION));
        }
        other => panic!("expected UnsupportedSchema, got {other:?}"),
    }
}

#[tokio::test]
async fn export_is_a_complete_owner_only_copy() {
    let (dir, path) = temp_path();
    let store = SessionStore::open(&path).await.unwrap();
    let seed = SessionSeed {
        home_dc_id: 2,
        dc_addr: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 4444),
        auth_key: [7; 256],
        self_user: Some((42, 99, false)),
    };
    store.seed(&seed).await.unwrap();
    let copy = dir.path().join("moved.session");
    store.export(&copy).await.unwrap();
    assert!(store.export(&copy).await.is_err(), "never overwrites");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let moved = SessionStore::open(&copy).await.unwrap();
    assert_eq!(moved.home_dc_id().unwrap(), 2);
    assert_eq!(
        moved.dc_option(2).unwrap().unwrap().auth_key,
        Some([7; 256])
    );
    assert!(moved.self_user().await.unwrap().is_some());
}
