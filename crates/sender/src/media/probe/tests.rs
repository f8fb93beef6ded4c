//! Probing the real fixtures (`fixtures/README.md` lists their measured metadata).

use std::path::PathBuf;

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn probe_fixture(kind: MediaKind, name: &str) -> Probed {
    probe_blocking(kind, &fixture(name), Some(name.to_owned()), None)
}

#[test]
fn voice_duration_comes_from_the_opus_stream() {
    let probed = probe_fixture(MediaKind::Voice, "voice.ogg");
    assert_eq!(probed.mime_type, "audio/ogg");
    let secs = probed.attributes.duration.expect("duration");
    assert!((secs - 2.229_875).abs() < 0.01, "{secs}");
    assert_eq!(probed.attributes.waveform, None);
}

#[test]
fn mp3_tags_give_title_and_performer() {
    let probed = probe_fixture(MediaKind::Audio, "song.mp3");
    let a = &probed.attributes;
    assert_eq!(probed.mime_type, "audio/mpeg");
    assert_eq!(
        (a.title.as_deref(), a.performer.as_deref()),
        (Some("Test Song"), Some("Test Artist"))
    );
    assert_eq!(a.duration.map(f64::round), Some(3.0));
}

#[test]
fn videos_have_size_duration_and_faststart() {
    for (kind, name, w, h, secs) in [
        (MediaKind::Video, "video.mp4", 320, 240, 2.0),
        (MediaKind::VideoNote, "round.mp4", 240, 240, 2.0),
        (MediaKind::Animation, "animation.mp4", 256, 144, 1.5),
    ] {
        let a = probe_fixture(kind, name).attributes;
        assert_eq!((a.width, a.height), (Some(w), Some(h)), "{name}");
        assert!(
            (a.duration.expect("duration") - secs).abs() < 0.05,
            "{name}"
        );
        assert!(a.supports_streaming, "{name} is faststart");
    }
}

#[test]
fn images_are_measured() {
    let a = probe_fixture(MediaKind::Photo, "photo.jpg").attributes;
    assert_eq!((a.width, a.height), (Some(640), Some(480)));
    let sticker = probe_fixture(MediaKind::Sticker, "sticker.webp");
    assert_eq!(sticker.mime_type, "image/webp");
    assert_eq!(
        (sticker.attributes.width, sticker.attributes.height),
        (Some(512), Some(512))
    );
}

#[test]
fn documents_keep_the_declared_type_and_unnamed_files_get_one() {
    let pdf = fixture("document.pdf");
    let declared = probe_blocking(
        MediaKind::Document,
        &pdf,
        Some("report.pdf".into()),
        Some("application/x-custom".into()),
    );
    assert_eq!(
        (declared.mime_type.as_str(), declared.file_name.as_str()),
        ("application/x-custom", "report.pdf")
    );
    let sniffed = probe_blocking(MediaKind::Document, &pdf, None, None);
    assert_eq!(
        (sniffed.mime_type.as_str(), sniffed.file_name.as_str()),
        ("application/pdf", "document.pdf")
    );
}

#[test]
fn non_media_yields_no_attributes_not_zeroes() {
    let a = probe_fixture(MediaKind::Video, "document.pdf").attributes;
    assert_eq!((a.duration, a.width, a.height), (None, None, None));
    assert!(!a.supports_streaming);
    assert_eq!(moov_before_mdat(&fixture("document.pdf")), None);
}
