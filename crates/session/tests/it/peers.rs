//! Peers of every kind round trip, merge like grammers' `extend_info`, and are shared at once.

use grammers_session::Session;
use grammers_session::types::{ChannelKind, PeerAuth, PeerId, PeerInfo};
use session::SessionStore;

async fn open() -> (tempfile::TempDir, SessionStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SessionStore::open(dir.path().join("peers.session"))
        .await
        .unwrap();
    (dir, store)
}

fn user(id: i64, hash: Option<i64>, bot: Option<bool>, is_self: Option<bool>) -> PeerInfo {
    let auth = hash.map(PeerAuth::from_hash);
    PeerInfo::User {
        id,
        auth,
        bot,
        is_self,
    }
}

fn channel(id: i64, hash: Option<i64>, kind: Option<ChannelKind>) -> PeerInfo {
    let auth = hash.map(PeerAuth::from_hash);
    PeerInfo::Channel { id, auth, kind }
}

#[tokio::test]
async fn peers_of_every_kind_round_trip() {
    let (_dir, store) = open().await;
    let peers = vec![
        user(10, Some(100), Some(false), Some(false)),
        user(11, Some(-110), Some(true), None),
        user(12, None, None, None),
        user(13, Some(130), Some(false), Some(true)),
        PeerInfo::Chat { id: 20 },
        channel(30, Some(300), Some(ChannelKind::Megagroup)),
        channel(31, Some(310), Some(ChannelKind::Broadcast)),
        channel(32, Some(320), Some(ChannelKind::Gigagroup)),
        channel(33, Some(330), Some(ChannelKind::Community)),
        channel(34, None, None),
    ];
    store.cache_peers(peers.clone()).await.unwrap();
    for peer in &peers {
        assert_eq!(store.peer(peer.id()).await.unwrap().as_ref(), Some(peer));
    }
    let me = user(13, Some(130), Some(false), Some(true));
    assert_eq!(
        store.peer(PeerId::self_user()).await.unwrap(),
        Some(me.clone())
    );
    assert_eq!(store.self_user().await.unwrap(), Some(me));
    assert_eq!(store.peer(PeerId::user(99).unwrap()).await.unwrap(), None);
    assert_eq!(store.peer(PeerId::chat(10).unwrap()).await.unwrap(), None);

    let channel_ref = store.peer_ref(PeerId::channel(31).unwrap()).await.unwrap();
    assert_eq!(channel_ref.map(|r| r.auth.hash()), Some(310));
}

#[tokio::test]
async fn access_hash_and_flags_are_not_overwritten_by_unknown_values() {
    let (_dir, store) = open().await;
    store
        .cache_peer(user(10, Some(100), Some(true), Some(false)))
        .await
        .unwrap();
    // A "min" user arrives: grammers gives it `auth: None`, and the flags may be unknown.
    store.cache_peer(user(10, None, None, None)).await.unwrap();
    let cached = store.peer(PeerId::user(10).unwrap()).await.unwrap();
    assert_eq!(cached, Some(user(10, Some(100), Some(true), Some(false))));

    store
        .cache_peers(vec![channel(30, Some(300), Some(ChannelKind::Megagroup))])
        .await
        .unwrap();
    store
        .cache_peers(vec![
            channel(30, None, Some(ChannelKind::Gigagroup)),
            channel(30, None, None),
        ])
        .await
        .unwrap();
    let cached = store.peer(PeerId::channel(30).unwrap()).await.unwrap();
    assert_eq!(
        cached,
        Some(channel(30, Some(300), Some(ChannelKind::Gigagroup)))
    );

    // A new, full hash does replace the old one.
    store
        .cache_peer(user(10, Some(101), None, None))
        .await
        .unwrap();
    let cached = store.peer(PeerId::user(10).unwrap()).await.unwrap();
    assert_eq!(cached, Some(user(10, Some(101), Some(true), Some(false))));
}

#[tokio::test]
async fn a_new_self_user_replaces_the_previous_one() {
    let (_dir, store) = open().await;
    store
        .cache_peer(user(1, Some(1), Some(false), Some(true)))
        .await
        .unwrap();
    store
        .cache_peer(user(2, Some(2), Some(true), Some(true)))
        .await
        .unwrap();
    let me = store.self_user().await.unwrap();
    assert_eq!(me, Some(user(2, Some(2), Some(true), Some(true))));
    let old = store.peer(PeerId::user(1).unwrap()).await.unwrap();
    assert_eq!(old, Some(user(1, Some(1), Some(false), Some(false))));
}

#[tokio::test]
async fn peer_cached_by_another_store_on_the_same_file_is_visible_at_once() {
    let (dir, writer) = open().await;
    let reader = SessionStore::open(dir.path().join("peers.session"))
        .await
        .unwrap();
    let peer = channel(40, Some(400), Some(ChannelKind::Broadcast));
    assert_eq!(reader.peer(peer.id()).await.unwrap(), None);
    writer.cache_peer(peer.clone()).await.unwrap();
    assert_eq!(reader.peer(peer.id()).await.unwrap(), Some(peer));
}
