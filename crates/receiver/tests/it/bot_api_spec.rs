//! The `bot_api` webhook format against the Bot API spec: every kind of update the receiver
//! emits (messages in each chat type, replies, each media kind, edits, channel posts) is a
//! valid `Update` (`testkit::botapi_spec`).

use receiver::WebhookFormat;
use testdc::{MediaKind, MediaMeta};
use testkit::botapi_spec::spec;

use crate::helpers::{Options, channel_id, group_id, ids, spawn_app, supergroup_id};
use crate::media::meta;

#[tokio::test]
async fn every_bot_api_update_is_valid_per_the_spec() {
    let mut app = spawn_app(Options {
        configure: |c| c.webhook_format = WebhookFormat::BotApi,
        ..Options::default()
    })
    .await;
    let f = ids();
    let first = app.send(
        Some(f.alice),
        f.alice,
        "hello https://example.com @bob",
        None,
    );
    app.send(Some(f.alice), f.alice, "a reply", Some(first.message_id));
    app.send(Some(f.bob), group_id(), "in the group", None);
    app.send(Some(f.bob), supergroup_id(), "in the supergroup", None);
    let post = app.send(None, channel_id(), "a channel post", None);
    app.dc
        .edit_text(f.alice, first.message_id, "hello, edited")
        .unwrap();
    app.dc
        .edit_text(channel_id(), post.message_id, "post, edited")
        .unwrap();
    let media = [
        (MediaKind::Photo, "photo.jpg", MediaMeta::default()),
        (
            MediaKind::Voice,
            "voice.ogg",
            meta(None, "audio/ogg", Some(2.2), None),
        ),
        (
            MediaKind::Audio,
            "song.mp3",
            meta(Some("song.mp3"), "audio/mpeg", Some(3.0), None),
        ),
        (
            MediaKind::Video,
            "video.mp4",
            meta(Some("video.mp4"), "video/mp4", Some(2.0), Some((320, 240))),
        ),
        (
            MediaKind::VideoNote,
            "round.mp4",
            meta(None, "video/mp4", Some(2.0), Some((240, 240))),
        ),
        (
            MediaKind::Animation,
            "animation.mp4",
            meta(
                Some("animation.mp4"),
                "video/mp4",
                Some(1.0),
                Some((256, 144)),
            ),
        ),
        (
            MediaKind::Document,
            "document.pdf",
            meta(Some("document.pdf"), "application/pdf", None, None),
        ),
        (
            MediaKind::Sticker,
            "sticker.webp",
            meta(Some("sticker.webp"), "image/webp", None, None),
        ),
    ];
    let count = 7 + media.len();
    for (kind, file, meta) in media {
        app.send_fixture(f.bob, f.bob, kind, file, meta);
    }

    let mut kinds = Vec::new();
    for _ in 0..count {
        let got = app.next_payload().await;
        spec().assert_type("Update", &got.body);
        let object = got.body.as_object().unwrap();
        kinds.extend(object.keys().filter(|k| *k != "update_id").cloned());
    }
    kinds.sort();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "channel_post",
            "edited_channel_post",
            "edited_message",
            "message"
        ]
    );
    app.stop().await.unwrap();
}
