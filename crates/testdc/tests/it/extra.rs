//! Forwarding, pinning, reactions, search, typing and metadata-only media, through the real
//! grammers client.

use grammers_client::session::types::PeerRef;
use grammers_client::tl;
use testdc::{Fixture, SendText};

use crate::{harness, rpc_name, user_ref};

fn send_media(
    peer: PeerRef,
    media: tl::enums::InputMedia,
    random_id: i64,
) -> tl::functions::messages::SendMedia {
    tl::functions::messages::SendMedia {
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: (&peer).into(),
        reply_to: None,
        media,
        message: String::new(),
        random_id,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
    }
}

#[tokio::test]
async fn forwards_keep_the_author_unless_dropped() {
    let h = harness().await;
    let f = Fixture::DEFAULT;
    let original =
        h.dc.send_text(SendText {
            from: None,
            chat_id: f.alice,
            text: "forward me".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    let forwarded = h
        .client
        .forward_messages(
            user_ref(&h, f.bob),
            &[original.message_id],
            user_ref(&h, f.alice),
        )
        .await
        .unwrap();
    let message = forwarded[0].as_ref().expect("forwarded");
    assert_eq!(message.text(), "forward me");
    assert!(message.forward_header().is_some());
    let copy = h
        .client
        .invoke(&tl::functions::messages::ForwardMessages {
            silent: false,
            background: false,
            with_my_score: false,
            drop_author: true,
            drop_media_captions: false,
            noforwards: false,
            allow_paid_floodskip: false,
            from_ephemeral: false,
            from_peer: (&user_ref(&h, f.alice)).into(),
            id: vec![original.message_id],
            random_id: vec![99],
            to_peer: (&user_ref(&h, f.bob)).into(),
            top_msg_id: None,
            reply_to: None,
            schedule_date: None,
            schedule_repeat_period: None,
            send_as: None,
            quick_reply_shortcut: None,
            effect: None,
            video_timestamp: None,
            allow_paid_stars: None,
            suggested_post: None,
        })
        .await
        .unwrap();
    let tl::enums::Updates::Updates(copy) = copy else {
        panic!("updates")
    };
    let has_header = copy.updates.iter().any(|u| matches!(u, tl::enums::Update::NewMessage(n) if matches!(&n.message, tl::enums::Message::Message(m) if m.fwd_from.is_some())));
    assert!(!has_header, "a copy has no forward header");
    assert_eq!(h.dc.history(f.bob).unwrap()[0].text, "forward me");
}

#[tokio::test]
async fn pins_reactions_search_and_typing() {
    let h = harness().await;
    let f = Fixture::DEFAULT;
    let alice = user_ref(&h, f.alice);
    let sent =
        h.dc.send_text(SendText {
            from: None,
            chat_id: f.alice,
            text: "Find the needle here".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    h.client.pin_message(alice, sent.message_id).await.unwrap();
    let message = |id: i32| {
        h.dc.with_world(|w| {
            w.history(testdc::ChatRef::User(f.alice))
                .into_iter()
                .find(|m| m.id == id)
                .expect("message in history")
        })
    };
    assert!(message(sent.message_id).pinned);
    // Telegram announces a pin in a private chat with a service message replying to it.
    let newest =
        h.dc.with_world(|w| w.history(testdc::ChatRef::User(f.alice))[0].clone());
    assert_eq!(
        newest.action,
        Some(testdc::world::ServiceAction::PinMessage)
    );
    assert_eq!((newest.reply_to, newest.out), (Some(sent.message_id), true));
    h.client.unpin_all_messages(alice).await.unwrap();
    assert!(!message(sent.message_id).pinned);

    h.client
        .send_reactions(alice, sent.message_id, "👍")
        .await
        .unwrap();
    let reactions = message(sent.message_id).reactions;
    assert_eq!(reactions, vec![("👍".to_owned(), 1, true)]);

    let mut found = h.client.search_messages(alice).query("NEEDLE");
    let hit = found.next().await.unwrap().expect("one hit");
    assert_eq!(hit.id(), sent.message_id);
    assert!(found.next().await.unwrap().is_none());

    let typing = tl::functions::messages::SetTyping {
        peer: (&alice).into(),
        top_msg_id: None,
        action: tl::enums::SendMessageAction::SendMessageTypingAction,
    };
    assert!(h.client.invoke(&typing).await.unwrap());
}

#[tokio::test]
async fn metadata_media_are_sent_as_telegram_shows_them() {
    let h = harness().await;
    let alice = user_ref(&h, Fixture::DEFAULT.alice);
    let point = tl::enums::InputGeoPoint::Point(tl::types::InputGeoPoint {
        lat: 52.52,
        long: 13.40,
        accuracy_radius: None,
    });
    let dice = tl::enums::InputMedia::Dice(tl::types::InputMediaDice {
        emoticon: "🎲".into(),
    });
    let geo = tl::enums::InputMedia::GeoPoint(tl::types::InputMediaGeoPoint { geo_point: point });
    for (i, media) in [dice, geo].into_iter().enumerate() {
        h.client
            .invoke(&send_media(alice, media, 1000 + i as i64))
            .await
            .unwrap();
    }
    let bad = tl::enums::InputMedia::Dice(tl::types::InputMediaDice {
        emoticon: "🍕".into(),
    });
    assert_eq!(
        rpc_name(h.client.invoke(&send_media(alice, bad, 2000)).await),
        "EMOTICON_INVALID"
    );
    let messages = h.client.get_messages_by_id(alice, &[]).await.unwrap();
    assert!(messages.is_empty());
    let mut history = h.client.iter_messages(alice).limit(2);
    let geo = history.next().await.unwrap().unwrap();
    assert!(
        matches!(&geo.raw, tl::enums::Message::Message(m) if matches!(m.media, Some(tl::enums::MessageMedia::Geo(_))))
    );
    let dice = history.next().await.unwrap().unwrap();
    assert!(
        matches!(&dice.raw, tl::enums::Message::Message(m) if matches!(&m.media, Some(tl::enums::MessageMedia::Dice(d)) if (1..=6).contains(&d.value)))
    );
}
