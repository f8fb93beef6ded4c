//! Recognising and importing Telethon session files: the Telethon file is never written, the
//! gateway file beside it gets the login, peers and update state; other files are refused
//! untouched.

use std::path::{Path, PathBuf};

use grammers_session::Session;
use grammers_session::types::{PeerAuth, PeerId, PeerInfo};
use session::{SessionError, SessionSource, SessionStore, gateway_path, resolve};

const SELF_ID: i64 = 100_000_001;
const ALICE: i64 = 200_000_001;

/// A file with Telethon's schema (session version 8: `sessions`, `entities`, `sent_files`,
/// `update_state`, `version`), written with our own statements.
async fn telethon_file(path: &Path, auth_key: &[u8]) {
    let db = libsql::Builder::new_local(path).build().await.unwrap();
    let conn = db.connect().unwrap();
    conn.execute_batch(
        "CREATE TABLE version (version INTEGER PRIMARY KEY);
         CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, server_address TEXT, port INTEGER,
                                auth_key BLOB, takeout_id INTEGER, tmp_auth_key BLOB);
         CREATE TABLE entities (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, username TEXT,
                                phone INTEGER, name TEXT, date INTEGER);
         CREATE TABLE sent_files (md5_digest BLOB, file_size INTEGER, type INTEGER, id INTEGER,
                                  hash INTEGER, PRIMARY KEY (md5_digest, file_size, type));
         CREATE TABLE update_state (id INTEGER PRIMARY KEY, pts INTEGER, qts INTEGER,
                                    date INTEGER, seq INTEGER);
         INSERT INTO version VALUES (8);",
    )
    .await
    .unwrap();
    conn.execute(
        "INSERT INTO sessions VALUES (2, '127.0.0.1', 4430, ?1, NULL, x'')",
        [auth_key.to_vec()],
    )
    .await
    .unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO entities VALUES (0, {SELF_ID}, NULL, NULL, NULL, 1);
         INSERT INTO entities VALUES ({SELF_ID}, 11, 'me', 10000000000, 'Me', 1);
         INSERT INTO entities VALUES ({ALICE}, 22, 'alice', NULL, 'Alice', 1);
         INSERT INTO entities VALUES (-300000001, 0, NULL, NULL, 'Group', 1);
         INSERT INTO entities VALUES (-1000400000001, 44, 'news', NULL, 'News', 1);
         INSERT INTO update_state VALUES (0, 120, 3, 1700000000.25, 7);
         INSERT INTO update_state VALUES (400000001, 55, 0, 1700000000.5, 0);"
    ))
    .await
    .unwrap();
}

fn side_files(path: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            PathBuf::from(p)
        })
        .filter(|p| p.exists())
        .collect()
}

#[tokio::test]
async fn telethon_file_is_imported_beside_it_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let configured = dir.path().join("tg_userbot.session");
    telethon_file(&configured, &[5; 256]).await;
    let before = std::fs::read(&configured).unwrap();

    let resolved = resolve(&configured).await.unwrap();
    let gateway = dir.path().join("tg_userbot.gateway.session");
    assert_eq!(resolved.path, gateway);
    assert_eq!(gateway_path(&configured), gateway);
    let SessionSource::Imported(summary) = &resolved.source else {
        panic!("imported: {resolved:?}");
    };
    assert_eq!((summary.users, summary.chats, summary.channels), (2, 1, 1));
    assert_eq!((summary.self_id, summary.pts), (Some(SELF_ID), Some(120)));

    let store = SessionStore::open(&gateway).await.unwrap();
    assert_eq!(store.home_dc_id().unwrap(), 2);
    let dc = store.dc_option(2).unwrap().unwrap();
    assert_eq!(dc.auth_key, Some([5; 256]));
    assert_eq!(dc.ipv4, "127.0.0.1:4430".parse().unwrap());
    assert_eq!(
        store.peer(PeerId::user(ALICE).unwrap()).await.unwrap(),
        Some(PeerInfo::User {
            id: ALICE,
            auth: Some(PeerAuth::from_hash(22)),
            bot: None,
            is_self: None
        })
    );
    assert_eq!(
        store
            .peer(PeerId::chat(300_000_001).unwrap())
            .await
            .unwrap(),
        Some(PeerInfo::Chat { id: 300_000_001 })
    );
    assert!(matches!(
        store.peer(PeerId::channel(400_000_001).unwrap()).await.unwrap(),
        Some(PeerInfo::Channel { auth: Some(a), .. }) if a == PeerAuth::from_hash(44)
    ));
    assert!(matches!(
        store.self_user().await.unwrap(),
        Some(PeerInfo::User { id: SELF_ID, .. })
    ));
    let state = store.updates_state().await.unwrap();
    assert_eq!(
        (state.pts, state.qts, state.date, state.seq),
        (120, 3, 1_700_000_000, 7)
    );
    assert_eq!(state.channels.len(), 1);
    assert_eq!(
        (state.channels[0].id, state.channels[0].pts),
        (400_000_001, 55)
    );
    drop(store);

    // Used as is from now on, never imported again.
    let again = resolve(&configured).await.unwrap();
    assert_eq!(again.path, gateway);
    assert_eq!(again.source, SessionSource::Gateway);

    assert_eq!(
        std::fs::read(&configured).unwrap(),
        before,
        "byte-identical"
    );
    assert_eq!(side_files(&configured), Vec::<PathBuf>::new());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".import-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn own_files_and_missing_files_resolve_to_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let configured = dir.path().join("s.session");
    let missing = resolve(&configured).await.unwrap();
    assert_eq!(
        (missing.path.as_path(), missing.source),
        (configured.as_path(), SessionSource::New)
    );
    SessionStore::open(&configured).await.unwrap();
    let own = resolve(&configured).await.unwrap();
    assert_eq!(
        (own.path.as_path(), own.source),
        (configured.as_path(), SessionSource::Configured)
    );
}

/// Asserts `resolve` refuses the file with `reason` in the error and leaves it unchanged.
async fn refused_untouched(path: &Path, reason: &str) {
    let before = std::fs::read(path).unwrap();
    let err = resolve(path).await.unwrap_err();
    assert!(err.to_string().contains(reason), "{err}");
    assert_eq!(std::fs::read(path).unwrap(), before);
    assert_eq!(side_files(path), Vec::<PathBuf>::new());
    assert!(!gateway_path(path).exists());
}

#[tokio::test]
async fn other_and_corrupted_files_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();

    let text = dir.path().join("text.session");
    std::fs::write(&text, b"this is not a database at all, just some text\n").unwrap();
    refused_untouched(&text, "not an SQLite database").await;

    let other = dir.path().join("other.session");
    {
        let db = libsql::Builder::new_local(&other).build().await.unwrap();
        db.connect()
            .unwrap()
            .execute("CREATE TABLE notes (body TEXT)", ())
            .await
            .unwrap();
    }
    refused_untouched(&other, "other tables (notes)").await;

    // A Telethon file whose schema page is overwritten with garbage.
    let damaged = dir.path().join("damaged.session");
    telethon_file(&damaged, &[5; 256]).await;
    let mut bytes = std::fs::read(&damaged).unwrap();
    for b in &mut bytes[100..1000] {
        *b = 0xa5;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    refused_untouched(&damaged, "not a gateway or Telethon session file").await;

    // Telethon writes an empty key before the first login.
    let signed_out = dir.path().join("signed_out.session");
    telethon_file(&signed_out, &[]).await;
    let err = resolve(&signed_out).await.unwrap_err();
    assert!(matches!(err, SessionError::Telethon(_)), "{err}");
    assert!(err.to_string().contains("no auth key"), "{err}");
    assert!(!gateway_path(&signed_out).exists());
}

/// The receiver and the sender starting at the same moment: one import wins, the other uses
/// its file (never a half-written one).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_import_exactly_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let configured = dir.path().join("tg_userbot.session");
        telethon_file(&configured, &[6; 256]).await;
        let starts: Vec<_> = (0..4)
            .map(|_| {
                let configured = configured.clone();
                tokio::spawn(async move { resolve(&configured).await.unwrap() })
            })
            .collect();
        let mut imported = 0;
        for start in starts {
            let resolved = start.await.unwrap();
            assert_eq!(resolved.path, gateway_path(&configured));
            imported += usize::from(matches!(resolved.source, SessionSource::Imported(_)));
            let store = SessionStore::open(&resolved.path).await.unwrap();
            assert_eq!(
                store.dc_option(2).unwrap().unwrap().auth_key,
                Some([6; 256])
            );
        }
        assert_eq!(imported, 1, "round {round}");
    }
}
