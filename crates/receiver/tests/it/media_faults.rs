//! Media downloads through faults: a broken media directory and failing `upload.getFile` are
//! retried until they pass (not given up after a second and a half), permanent errors fail at
//! once, and a shutdown ends the retries leaving the update to the next start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use testdc::{MediaKind, MediaMeta};

use crate::helpers::{Options, TestApp, WAIT, fixture, ids, spawn_app, start_app};
use crate::media::{get, media_url};
use crate::sink::Received;

/// Longer than the old retry budget (attempts at 0, 0.5 and 1.5 s, then `failed`).
const OUTAGE: Duration = Duration::from_secs(3);
/// How long a download retried through [`OUTAGE`] may take to arrive after it ends (the
/// backoff may be sleeping up to a few seconds when the fault clears).
const RECOVERY: Duration = Duration::from_secs(30);

/// The media directory replaced by a regular file: creating `<dir>/<name>.part` fails (ENOTDIR)
/// for root too, where taking the write permission away would not stop it.
struct BrokenDir {
    dir: PathBuf,
    aside: PathBuf,
}

impl BrokenDir {
    fn new(dir: &Path) -> Self {
        let aside = dir.with_extension("aside");
        std::fs::rename(dir, &aside).unwrap();
        std::fs::write(dir, "not a directory").unwrap();
        Self {
            dir: dir.to_owned(),
            aside,
        }
    }

    fn repair(self) {
        std::fs::remove_file(&self.dir).unwrap();
        std::fs::rename(&self.aside, &self.dir).unwrap();
    }
}

/// Alice sends the photo fixture; returns its bytes.
fn send_photo(app: &TestApp) -> Vec<u8> {
    let photo = fixture("photo.jpg");
    app.send_bytes(
        ids().alice,
        ids().alice,
        MediaKind::Photo,
        photo.clone(),
        MediaMeta::default(),
        None,
    );
    photo
}

/// The payload carries the file, and the media server serves exactly `bytes`.
async fn assert_downloaded(got: &Received, bytes: &[u8]) {
    assert_eq!(got.body["message"]["media"]["skipped"], Value::Null);
    let (status, _, body, _) = get(media_url(&got.body), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body == bytes, "served bytes differ from the photo");
}

/// Options with a drain that would outlast the test: a stop must not wait for it.
fn long_drain() -> Options {
    Options {
        configure: |config| config.shutdown_drain_timeout = Duration::from_secs(120),
        ..Options::default()
    }
}

#[tokio::test]
async fn download_waits_out_a_broken_media_dir_and_arrives_after() {
    let mut app = spawn_app(Options::default()).await;
    let broken = BrokenDir::new(app.media.dir());
    let photo = send_photo(&app);

    let during = app.sink_mut().try_next(OUTAGE).await;
    broken.repair();

    assert!(
        during.is_none(),
        "delivered while the disk was broken: {:?}",
        during.map(|r| r.body)
    );
    let got = app
        .sink_mut()
        .try_next(RECOVERY)
        .await
        .expect("the photo after the disk came back");
    assert_downloaded(&got, &photo).await;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn download_retries_get_file_errors_past_the_old_budget() {
    let mut app = spawn_app(Options::default()).await;
    // Three failures outlast the old three attempts (0, 0.5 and 1.5 s).
    app.dc.fail_next("upload.getFile", 3, "INTERNAL");
    let photo = send_photo(&app);

    let got = app
        .sink_mut()
        .try_next(RECOVERY)
        .await
        .expect("the photo after getFile recovered");

    assert_downloaded(&got, &photo).await;
    app.stop().await.unwrap();
}

#[tokio::test]
async fn permanent_download_error_fails_at_once() {
    let mut app = spawn_app(Options::default()).await;
    app.dc.fail_next("upload.getFile", 1, "FILE_ID_INVALID");
    send_photo(&app);

    // Within WAIT: a retried error would hold the update for WEBHOOK_MAX_AGE (an hour here).
    let got = app.next_payload().await;

    assert_eq!(got.body["message"]["media"]["type"], "photo");
    assert_eq!(got.body["message"]["media"]["skipped"], "failed");
    assert_eq!(got.body["message"]["media_url"], Value::Null);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_ends_download_retries_and_the_next_start_resumes_them() {
    let mut app = spawn_app(long_drain()).await;
    let broken = BrokenDir::new(app.media.dir());
    let photo = send_photo(&app);
    assert!(app.sink_mut().try_next(OUTAGE).await.is_none());

    let (result, dc, sink, dir, guard) = tokio::time::timeout(WAIT, app.stop_keep())
        .await
        .expect("the stop does not wait for the retries");
    result.unwrap();
    broken.repair();
    let mut app = start_app(dc, sink, dir, guard, &long_drain()).await;

    let mut skipped = std::mem::take(&mut app.skipped).into_iter();
    let got = match skipped.find(|r| r.body["message"]["media"].is_object()) {
        Some(got) => got,
        None => app
            .sink_mut()
            .try_next(RECOVERY)
            .await
            .expect("the photo after the restart"),
    };
    assert_downloaded(&got, &photo).await;
    app.stop().await.unwrap();
}
