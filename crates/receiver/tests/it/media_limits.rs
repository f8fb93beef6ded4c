//! Media limits and lifetimes: a 30 MB file, `MEDIA_MAX_BYTES`, `MEDIA_MAX_DISK_BYTES`, the
//! TTL sweep, and expired file references.

use std::time::Duration;

use rand::RngCore as _;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use testdc::{MediaKind, MediaMeta};

use crate::helpers::{Options, fixture, ids, spawn_app};
use crate::media::{files_on_disk, get, media_url, meta};

#[tokio::test]
async fn thirty_megabyte_document_arrives_intact() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let mut bytes = vec![0u8; 30 * 1024 * 1024];
    rand::rng().fill_bytes(&mut bytes);
    let digest = Sha256::digest(&bytes);
    app.send_bytes(
        alice,
        alice,
        MediaKind::Document,
        bytes,
        meta(Some("big.bin"), "application/octet-stream", None, None),
        None,
    );

    let got = app
        .sink_mut()
        .try_next(Duration::from_secs(120))
        .await
        .expect("the 30 MB document in time")
        .body;

    assert_eq!(got["message"]["media"]["file_size"], 30 * 1024 * 1024);
    let url = media_url(&got);
    assert!(url.ends_with(".bin"), "{url}");
    let (status, _, body, _) = get(url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), 30 * 1024 * 1024);
    assert_eq!(Sha256::digest(&body), digest);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn file_over_the_size_limit_is_announced_but_not_downloaded() {
    let mut app = spawn_app(Options {
        media_max_bytes: 10_000,
        ..Options::default()
    })
    .await;
    let alice = ids().alice;
    let (_, photo) = app.send_fixture(
        alice,
        alice,
        MediaKind::Photo,
        "photo.jpg",
        MediaMeta::default(),
    );

    let got = app.next_payload().await.body;

    assert_eq!(got["message"]["media"]["type"], "photo");
    assert_eq!(got["message"]["media"]["skipped"], "too_large");
    assert_eq!(got["message"]["media"]["file_size"], photo.len());
    assert_eq!(got["message"]["media_url"], Value::Null);
    assert_eq!(files_on_disk(&app), 0);
    // Small files still go through.
    app.send_fixture(
        alice,
        alice,
        MediaKind::Voice,
        "voice.ogg",
        meta(None, "audio/ogg", Some(2.0), None),
    );
    let got = app.next_payload().await.body;
    assert_eq!(got["message"]["media"]["skipped"], Value::Null);
    assert_eq!(files_on_disk(&app), 1);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn file_that_cannot_fit_under_the_disk_ceiling_is_skipped() {
    let mut app = spawn_app(Options {
        media_max_disk_bytes: 30_000,
        ..Options::default()
    })
    .await;
    let alice = ids().alice;
    app.send_fixture(
        alice,
        alice,
        MediaKind::Video,
        "video.mp4",
        meta(Some("video.mp4"), "video/mp4", Some(2.0), Some((320, 240))),
    );

    let got = app.next_payload().await.body;

    assert_eq!(got["message"]["media"]["skipped"], "disk_full");
    assert_eq!(got["message"]["media_url"], Value::Null);
    assert_eq!(files_on_disk(&app), 0);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn ttl_sweep_deletes_expired_files() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    app.send_fixture(
        alice,
        alice,
        MediaKind::Voice,
        "voice.ogg",
        meta(None, "audio/ogg", Some(2.0), None),
    );
    let got = app.next_payload().await.body;
    let url = media_url(&got).to_owned();
    assert_eq!(get(&url, None).await.0, StatusCode::OK);

    let early = app
        .media
        .sweep_at(app.media.now() + Duration::from_secs(60))
        .await;
    assert_eq!(early.expired, 0, "not expired a minute later");
    let late = app.media.sweep_at(app.media.now() + app.media.ttl()).await;

    assert_eq!(late.expired, 1);
    assert_eq!(files_on_disk(&app), 0);
    assert_eq!(get(&url, None).await.0, StatusCode::NOT_FOUND);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn expired_file_reference_is_refreshed_and_the_file_still_downloads() {
    let mut app = spawn_app(Options::default()).await;
    let alice = ids().alice;
    let photo = fixture("photo.jpg");
    // No await in between: the pushed update carries a reference that is already expired
    // when the receiver asks for the file.
    app.send_bytes(
        alice,
        alice,
        MediaKind::Photo,
        photo.clone(),
        MediaMeta::default(),
        None,
    );
    app.dc.expire_file_references();

    let got = app.next_payload().await.body;

    assert_eq!(got["message"]["media"]["skipped"], Value::Null);
    let (status, _, body, _) = get(media_url(&got), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == photo);
    app.stop().await.unwrap();
}
