//! Bounded history (`TestDcConfig::retention`): the newest messages per chat stay readable,
//! older ones and their files are forgotten, and a client behind the kept pts changes gets
//! `differenceTooLong`; without a limit everything is kept.

use grammers_tl_types as tl;
use testdc::{Fixture, MediaKind, MediaMeta, Retention, SendMedia, SendText, TestDcConfig};

use crate::harness_with;

fn text(chat_id: i64, text: String) -> SendText {
    SendText {
        from: None,
        chat_id,
        text,
        reply_to_message_id: None,
    }
}

fn document(chat_id: i64) -> SendMedia {
    SendMedia {
        from: None,
        chat_id,
        kind: MediaKind::Document,
        caption: String::new(),
        reply_to_message_id: None,
        meta: MediaMeta::default(),
    }
}

async fn difference(client: &grammers_client::Client, pts: i32) -> tl::enums::updates::Difference {
    client
        .invoke(&tl::functions::updates::GetDifference {
            pts,
            pts_limit: None,
            pts_total_limit: None,
            date: 0,
            qts: 0,
            qts_limit: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_newest_messages_per_chat_and_their_files_are_kept() {
    let config = TestDcConfig {
        retention: Retention::recent(3),
        ..TestDcConfig::default()
    };
    let h = harness_with(config).await;
    let f = Fixture::DEFAULT;
    let pts_before = h.dc.with_world(|w| w.common.pts);
    for i in 0..10 {
        h.dc.send_text(text(f.alice, format!("alice {i}"))).unwrap();
    }
    h.dc.send_text(text(f.bob, "bob 0".into())).unwrap();

    // Alice's chat keeps her 3 newest (plus the seeded greeting, which predates the limit);
    // Bob's message did not push any of hers out.
    let alice: Vec<String> =
        h.dc.history(f.alice)
            .unwrap()
            .into_iter()
            .map(|m| m.text)
            .collect();
    assert_eq!(
        alice,
        ["alice 9", "alice 8", "alice 7", "Hi! Long time no see."]
    );
    assert_eq!(h.dc.history(f.bob).unwrap()[0].text, "bob 0");

    // The journal keeps 3..4 changes: a client at the old pts fell too far behind.
    match difference(&h.client, pts_before).await {
        tl::enums::updates::Difference::TooLong(d) => {
            assert_eq!(d.pts, h.dc.with_world(|w| w.common.pts));
        }
        other => panic!("expected differenceTooLong, got {other:?}"),
    }
    // A client one change behind still gets that change.
    let now = h.dc.with_world(|w| w.common.pts);
    match difference(&h.client, now - 1).await {
        tl::enums::updates::Difference::Difference(d) => assert_eq!(d.new_messages.len(), 1),
        other => panic!("expected a difference, got {other:?}"),
    }

    // Files go with the last message that shows them.
    for _ in 0..5 {
        h.dc.send_media(document(f.carol), vec![7; 1000]).unwrap();
    }
    assert_eq!(h.dc.history(f.carol).unwrap().len(), 3);
    assert_eq!(h.dc.with_world(|w| w.media.files.len()), 3);
}

#[tokio::test]
async fn without_a_limit_every_message_and_change_is_kept() {
    let h = harness_with(TestDcConfig::default()).await;
    let f = Fixture::DEFAULT;
    let pts_before = h.dc.with_world(|w| w.common.pts);
    for i in 0..50 {
        h.dc.send_text(text(f.alice, format!("alice {i}"))).unwrap();
    }
    assert_eq!(h.dc.history(f.alice).unwrap().len(), 51);
    match difference(&h.client, pts_before).await {
        tl::enums::updates::Difference::Difference(d) => assert_eq!(d.new_messages.len(), 50),
        other => panic!("expected a difference, got {other:?}"),
    }
}
