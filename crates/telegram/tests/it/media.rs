//! Media both ways through testdc: uploads, `file_id` resends, downloads complete on disk,
//! expired file references refreshed transparently, the bound on file parts in flight.

use std::path::PathBuf;
use std::time::Duration;

use botapi::ids::ChatIdParam;
use telegram::media::{FileId, MediaAttributes, MediaKind, MediaSource, OutgoingMedia};
use testdc::{Fixture, MediaKind as DcKind, MediaMeta, SendMedia};

use crate::{WAIT, harness, harness_with, live_stream};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn upload(kind: MediaKind, name: &str, mime: &str, attributes: MediaAttributes) -> OutgoingMedia {
    OutgoingMedia {
        kind,
        source: MediaSource::Upload {
            path: fixture(name),
            file_name: name.into(),
            mime_type: mime.into(),
        },
        attributes,
        caption: "a caption".into(),
        entities: Vec::new(),
        options: Default::default(),
    }
}

/// A document upload of the file at `path`, named `name`, without a caption.
pub(crate) fn document_upload(path: std::path::PathBuf, name: &str) -> OutgoingMedia {
    OutgoingMedia {
        kind: MediaKind::Document,
        source: MediaSource::Upload {
            path,
            file_name: name.into(),
            mime_type: "application/octet-stream".into(),
        },
        attributes: MediaAttributes::default(),
        caption: String::new(),
        entities: Vec::new(),
        options: Default::default(),
    }
}

#[tokio::test]
async fn uploaded_voice_and_photo_come_back_byte_identical() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    let peer = h.tg.resolve_chat(&ChatIdParam::Id(alice)).await.unwrap();
    let voice_attrs = MediaAttributes {
        duration: Some(2.23),
        ..Default::default()
    };
    let sent =
        h.tg.send_media(
            peer,
            upload(MediaKind::Voice, "voice.ogg", "audio/ogg", voice_attrs),
        )
        .await
        .unwrap();
    let voice = sent.voice.expect("a voice note");
    assert_eq!(voice.duration, 2);
    assert_eq!(sent.caption.as_deref(), Some("a caption"));
    let held = &h.dc.history(alice).unwrap()[0];
    let media = held.media.as_ref().unwrap();
    assert!(media.voice);
    assert_eq!(media.duration, Some(2));

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("voice.ogg");
    let file = FileId::decode(&voice.file_id).unwrap();
    let written = h.tg.download(&file, &dest).await.unwrap();
    let original = std::fs::read(fixture("voice.ogg")).unwrap();
    assert_eq!(written as usize, original.len());
    assert_eq!(std::fs::read(&dest).unwrap(), original);

    let photo =
        h.tg.send_media(
            peer,
            upload(
                MediaKind::Photo,
                "photo.jpg",
                "image/jpeg",
                MediaAttributes::default(),
            ),
        )
        .await
        .unwrap();
    let largest = photo.photo.unwrap().pop().unwrap();
    assert_eq!((largest.width, largest.height), (640, 480));
    let dest = dir.path().join("photo.jpg");
    h.tg.download(&FileId::decode(&largest.file_id).unwrap(), &dest)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(fixture("photo.jpg")).unwrap()
    );
}

#[tokio::test]
async fn file_id_resend_survives_an_expired_reference() {
    let h = harness().await;
    let f = Fixture::DEFAULT;
    let peer = h.tg.resolve_chat(&ChatIdParam::Id(f.alice)).await.unwrap();
    let sent =
        h.tg.send_media(
            peer,
            upload(
                MediaKind::Document,
                "document.pdf",
                "application/pdf",
                MediaAttributes::default(),
            ),
        )
        .await
        .unwrap();
    let document = sent.document.unwrap();
    assert_eq!(document.file_name.as_deref(), Some("document.pdf"));
    h.dc.expire_file_references();
    let bob = h.tg.resolve_chat(&ChatIdParam::Id(f.bob)).await.unwrap();
    let resend = OutgoingMedia {
        source: MediaSource::Existing(FileId::decode(&document.file_id).unwrap()),
        ..upload(
            MediaKind::Document,
            "document.pdf",
            "application/pdf",
            MediaAttributes::default(),
        )
    };
    let again = h.tg.send_media(bob, resend).await.unwrap();
    assert_eq!(
        again.document.unwrap().file_unique_id,
        document.file_unique_id
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("doc.pdf");
    h.dc.expire_file_references();
    h.tg.download(&FileId::decode(&document.file_id).unwrap(), &dest)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(fixture("document.pdf")).unwrap()
    );
}

#[tokio::test]
async fn received_media_of_every_kind_is_classified_and_downloadable() {
    let h = harness().await;
    let mut updates = live_stream(&h).await;
    let alice = Fixture::DEFAULT.alice;
    let kinds = [
        (DcKind::Photo, "photo.jpg", MediaKind::Photo),
        (DcKind::Voice, "voice.ogg", MediaKind::Voice),
        (DcKind::Audio, "song.mp3", MediaKind::Audio),
        (DcKind::Video, "video.mp4", MediaKind::Video),
        (DcKind::VideoNote, "round.mp4", MediaKind::VideoNote),
        (DcKind::Animation, "animation.mp4", MediaKind::Animation),
        (DcKind::Document, "document.pdf", MediaKind::Document),
        (DcKind::Sticker, "sticker.webp", MediaKind::Sticker),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (kind, name, expected) in kinds {
        let bytes = std::fs::read(fixture(name)).unwrap();
        let meta = MediaMeta {
            file_name: Some(name.into()),
            duration: Some(2.0),
            width: Some(320),
            height: Some(240),
            ..Default::default()
        };
        h.dc.send_media(
            SendMedia {
                from: None,
                chat_id: alice,
                kind,
                caption: String::new(),
                reply_to_message_id: None,
                meta,
            },
            bytes.clone(),
        )
        .unwrap();
        let got = tokio::time::timeout(WAIT, updates.next())
            .await
            .unwrap()
            .unwrap();
        let media = got.media.unwrap_or_else(|| panic!("{name} has media"));
        assert_eq!(media.kind, expected, "{name}");
        let dest = dir.path().join(name);
        tokio::time::timeout(Duration::from_secs(20), h.tg.download(&media.file, &dest))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), bytes, "{name}");
    }
}

#[tokio::test]
async fn concurrent_uploads_keep_to_the_upload_concurrency() {
    let h = harness_with(2).await;
    let peer =
        h.tg.resolve_chat(&ChatIdParam::Id(Fixture::DEFAULT.alice))
            .await
            .unwrap();
    // Replies are held back, so parts sent together are in flight together at the DC.
    h.dc.set_latency(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let uploads: Vec<_> = (0..6u8)
        .map(|i| {
            let path = dir.path().join(format!("file{i}.bin"));
            std::fs::write(&path, vec![i; 100 * 1024]).unwrap();
            let media = OutgoingMedia {
                kind: MediaKind::Document,
                source: MediaSource::Upload {
                    path,
                    file_name: format!("file{i}.bin"),
                    mime_type: "application/octet-stream".into(),
                },
                attributes: MediaAttributes::default(),
                caption: String::new(),
                entities: Vec::new(),
                options: Default::default(),
            };
            let tg = h.tg.clone();
            tokio::spawn(async move { tg.send_media(peer, media).await })
        })
        .collect();
    for upload in uploads {
        let sent = tokio::time::timeout(WAIT, upload)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(sent.document.unwrap().file_size, Some(100 * 1024));
    }
    // Two uploads start at once and each part's reply takes 100 ms, so both permits are used
    // together; a third part never joins them.
    assert_eq!(h.dc.peak_in_flight("upload.saveFilePart"), 2);
}

#[tokio::test]
async fn big_file_upload_keeps_to_a_limit_below_the_window() {
    // A file above 10 MB is sent as a big file; with a limit of 2 it takes both permits and
    // keeps exactly 2 parts in flight (grammers' own loop always sent 4).
    let h = harness_with(2).await;
    let peer =
        h.tg.resolve_chat(&ChatIdParam::Id(Fixture::DEFAULT.alice))
            .await
            .unwrap();
    h.dc.set_latency(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let size = 10 * 1024 * 1024 + 1;
    std::fs::write(&path, vec![7u8; size]).unwrap();
    let media = document_upload(path, "big.bin");
    let sent = tokio::time::timeout(WAIT, h.tg.send_media(peer, media))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sent.document.unwrap().file_size, Some(size as u64));
    assert_eq!(h.dc.peak_in_flight("upload.saveBigFilePart"), 2);
}

#[tokio::test]
async fn uploads_keep_the_window_of_parts_in_flight_and_arrive_byte_identical() {
    // The default limit (8) is the window: a 3 MiB file (6 parts, sent as a small file with
    // its MD5) has all 6 in flight at once, a 12 MiB one (24 parts, a big file) 8 at a time.
    let h = harness().await;
    let peer =
        h.tg.resolve_chat(&ChatIdParam::Id(Fixture::DEFAULT.alice))
            .await
            .unwrap();
    // Replies are held back long enough that a slow (debug, loaded) client still has every
    // part of a window sent before the first reply comes.
    let latency = Duration::from_secs(1);
    h.dc.set_latency(latency);
    let dir = tempfile::tempdir().unwrap();
    for (size, method, peak) in [
        (3 * 1024 * 1024usize, "upload.saveFilePart", 6u32),
        (
            12 * 1024 * 1024 + 5,
            "upload.saveBigFilePart",
            telegram::media::UPLOAD_WINDOW as u32,
        ),
    ] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        let path = dir.path().join("file.bin");
        std::fs::write(&path, &bytes).unwrap();
        let media = document_upload(path, "file.bin");
        let sent = tokio::time::timeout(WAIT, h.tg.send_media(peer, media))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(h.dc.peak_in_flight(method), peak, "{method}");
        h.dc.set_latency(Duration::ZERO);
        let file = FileId::decode(&sent.document.unwrap().file_id).unwrap();
        let dest = dir.path().join("back.bin");
        h.tg.download(&file, &dest).await.unwrap();
        assert!(
            std::fs::read(&dest).unwrap() == bytes,
            "{size} bytes differ"
        );
        h.dc.set_latency(latency);
    }
}
