//! Downloads through testdc: several `upload.getFile` requests in flight at once, chunks written
//! in order (byte-identical files), one request for a small file, and an expired file reference
//! refreshed in the middle of a download.

use std::path::Path;
use std::time::Duration;

use botapi::ids::ChatIdParam;
use telegram::media::FileId;
use testdc::Fixture;

use crate::media::document_upload;
use crate::{Harness, WAIT, harness};

/// `upload.getFile` chunk size the client uses.
const CHUNK: usize = 512 * 1024;

/// Sends `bytes` as a document to Alice (the upload itself uses no `upload.getFile`) and
/// returns its `file_id`.
async fn uploaded(h: &Harness, dir: &Path, bytes: &[u8]) -> FileId {
    let path = dir.join("upload.bin");
    std::fs::write(&path, bytes).unwrap();
    let peer =
        h.tg.resolve_chat(&ChatIdParam::Id(Fixture::DEFAULT.alice))
            .await
            .unwrap();
    let media = document_upload(path, "upload.bin");
    let sent = tokio::time::timeout(WAIT, h.tg.send_media(peer, media))
        .await
        .unwrap()
        .unwrap();
    FileId::decode(&sent.document.unwrap().file_id).unwrap()
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand::fill(&mut bytes[..]);
    bytes
}

#[tokio::test]
async fn multi_chunk_download_keeps_four_requests_in_flight_and_is_byte_identical() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    // 3.3 MiB: six full chunks and a short seventh.
    let bytes = random_bytes(33 * 1024 * 1024 / 10);
    let file = uploaded(&h, dir.path(), &bytes).await;
    // Replies are held back, so requests sent together are in flight together at the DC.
    h.dc.set_latency(Duration::from_millis(100));
    let dest = dir.path().join("download.bin");
    let written = tokio::time::timeout(WAIT, h.tg.download(&file, &dest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written as usize, bytes.len());
    assert!(std::fs::read(&dest).unwrap() == bytes, "bytes differ");
    assert!(!dir.path().join("download.bin.part").exists());
    // The first chunk goes alone; once it is full, four requests stay in flight, never more.
    assert_eq!(h.dc.peak_in_flight("upload.getFile"), 4);
}

#[tokio::test]
async fn file_smaller_than_a_chunk_takes_one_request() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = random_bytes(100 * 1024);
    let file = uploaded(&h, dir.path(), &bytes).await;
    h.dc.set_latency(Duration::from_millis(50));
    let calls = h.dc.calls();
    let dest = dir.path().join("small.bin");
    tokio::time::timeout(WAIT, h.tg.download(&file, &dest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(h.dc.calls() - calls, 1, "one upload.getFile, nothing else");
    assert_eq!(h.dc.peak_in_flight("upload.getFile"), 1);
}

#[tokio::test]
async fn file_of_whole_chunks_ends_at_the_empty_chunk() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    let bytes = random_bytes(2 * CHUNK);
    let file = uploaded(&h, dir.path(), &bytes).await;
    let dest = dir.path().join("even.bin");
    let written = tokio::time::timeout(WAIT, h.tg.download(&file, &dest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(written as usize, bytes.len());
    assert!(std::fs::read(&dest).unwrap() == bytes, "bytes differ");
}

#[tokio::test]
async fn reference_expiring_mid_download_is_refreshed_and_the_download_resumes() {
    let h = harness().await;
    let dir = tempfile::tempdir().unwrap();
    // Ten chunks: with 100 ms per reply the download spans several rounds of requests.
    let bytes = random_bytes(10 * CHUNK - 1000);
    let file = uploaded(&h, dir.path(), &bytes).await;
    assert_eq!(h.dc.peak_in_flight("messages.getMessages"), 0);
    h.dc.set_latency(Duration::from_millis(100));
    let dest = dir.path().join("resumed.bin");
    let tg = h.tg.clone();
    let download = {
        let dest = dest.clone();
        tokio::spawn(async move { tg.download(&file, &dest).await })
    };
    // A second request in flight means the first chunk was read with the old reference; the
    // chunks requested after its reply (100 ms later) meet the expired one.
    tokio::time::timeout(WAIT, async {
        while h.dc.peak_in_flight("upload.getFile") < 2 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap();
    h.dc.expire_file_references();
    let written = tokio::time::timeout(WAIT, download)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(written as usize, bytes.len());
    assert!(std::fs::read(&dest).unwrap() == bytes, "bytes differ");
    // The reference was refreshed from the message the file_id came from.
    assert_eq!(h.dc.peak_in_flight("messages.getMessages"), 1);
}
