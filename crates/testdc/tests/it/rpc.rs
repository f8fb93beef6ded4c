//! RPC answers and errors as Telegram gives them.

use grammers_client::tl;
use testdc::{Fixture, SendText};

use crate::{harness, rpc_name};

fn input_user(h: &crate::Harness, id: i64) -> tl::enums::InputPeer {
    (&crate::user_ref(h, id)).into()
}

fn send(
    peer: tl::enums::InputPeer,
    text: &str,
    random_id: i64,
) -> tl::functions::messages::SendMessage {
    tl::functions::messages::SendMessage {
        no_webpage: false,
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer,
        reply_to: None,
        message: text.into(),
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
        rich_message: None,
    }
}

fn edit(peer: tl::enums::InputPeer, id: i32, text: &str) -> tl::functions::messages::EditMessage {
    tl::functions::messages::EditMessage {
        no_webpage: false,
        invert_media: false,
        peer,
        id,
        message: Some(text.into()),
        media: None,
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        quick_reply_shortcut_id: None,
        rich_message: None,
    }
}

#[tokio::test]
async fn unknown_method_gets_an_rpc_error_naming_it() {
    let h = harness().await;
    let r = h.client.invoke(&tl::functions::help::GetNearestDc {}).await;
    assert_eq!(rpc_name(r), "INPUT_METHOD_INVALID_HELP_GETNEARESTDC");
    // The connection survives: the next call works.
    assert!(
        h.client
            .invoke(&tl::functions::updates::GetState {})
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn long_gzipped_request_and_concurrent_calls_are_answered() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    // Bodies over 512 bytes are sent gzip_packed; 30 calls at once travel in containers.
    let text = "lorem ipsum ".repeat(300);
    h.client
        .invoke(&send(input_user(&h, alice), &text, 1))
        .await
        .unwrap();
    assert_eq!(h.dc.history(alice).unwrap()[0].text, text);
    let calls = (0..30).map(|_| h.client.invoke(&tl::functions::updates::GetState {}));
    // Polled together, so the client batches them into msg_containers.
    for r in futures::future::join_all(calls).await {
        r.unwrap();
    }
}

#[tokio::test]
async fn bad_peers_and_usernames_get_telegrams_errors() {
    let h = harness().await;
    let wrong_hash = tl::enums::InputPeer::User(tl::types::InputPeerUser {
        user_id: Fixture::DEFAULT.alice,
        access_hash: 12345,
    });
    assert_eq!(
        rpc_name(h.client.invoke(&send(wrong_hash, "x", 2)).await),
        "PEER_ID_INVALID"
    );
    let resolve = |name: &str| tl::functions::contacts::ResolveUsername {
        username: name.into(),
        referer: None,
    };
    assert_eq!(
        rpc_name(h.client.invoke(&resolve("nobody_here")).await),
        "USERNAME_NOT_OCCUPIED"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&resolve("a!")).await),
        "USERNAME_INVALID"
    );
    let alice = input_user(&h, Fixture::DEFAULT.alice);
    assert_eq!(
        rpc_name(h.client.invoke(&send(alice, "   ", 3)).await),
        "MESSAGE_EMPTY"
    );
}

#[tokio::test]
async fn edits_are_checked_like_telegram() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    h.client
        .invoke(&send(input_user(&h, alice), "mine", 4))
        .await
        .unwrap();
    let mine = h.dc.history(alice).unwrap()[0].message_id;
    let theirs = h.dc.history(alice).unwrap()[1].message_id;
    let peer = || input_user(&h, alice);
    assert_eq!(
        rpc_name(h.client.invoke(&edit(peer(), mine, "mine")).await),
        "MESSAGE_NOT_MODIFIED"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&edit(peer(), 9999, "x")).await),
        "MESSAGE_ID_INVALID"
    );
    assert_eq!(
        rpc_name(h.client.invoke(&edit(peer(), theirs, "x")).await),
        "MESSAGE_AUTHOR_REQUIRED"
    );
    h.client
        .invoke(&edit(peer(), mine, "edited"))
        .await
        .unwrap();
    let now = &h.dc.history(alice).unwrap()[0];
    assert_eq!(now.text, "edited");
    assert!(now.edit_date.is_some());
}

#[tokio::test]
async fn deletes_report_affected_counts() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    h.client
        .invoke(&send(input_user(&h, alice), "bye", 5))
        .await
        .unwrap();
    let id = h.dc.history(alice).unwrap()[0].message_id;
    let delete = |ids: Vec<i32>| tl::functions::messages::DeleteMessages {
        revoke: true,
        id: ids,
    };
    let tl::enums::messages::AffectedMessages::Messages(gone) =
        h.client.invoke(&delete(vec![id])).await.unwrap();
    assert_eq!(gone.pts_count, 1);
    let tl::enums::messages::AffectedMessages::Messages(none) =
        h.client.invoke(&delete(vec![id])).await.unwrap();
    assert_eq!(none.pts_count, 0);
    assert!(
        h.dc.history(alice)
            .unwrap()
            .iter()
            .all(|m| m.message_id != id)
    );
    // Someone else's post in a channel the account does not own.
    let channel = Fixture::DEFAULT.channel;
    let hash = h.dc.with_world(|w| w.access_hash(channel));
    let post =
        h.dc.history(testdc::ChatRef::Channel(channel).bot_api_id())
            .unwrap()[0]
            .message_id;
    let r = h
        .client
        .invoke(&tl::functions::channels::DeleteMessages {
            channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                channel_id: channel,
                access_hash: hash,
            }),
            id: vec![post],
        })
        .await;
    assert_eq!(rpc_name(r), "MESSAGE_DELETE_FORBIDDEN");
}

#[tokio::test]
async fn history_pages_and_dialogs_list_every_chat() {
    let h = harness().await;
    let alice = Fixture::DEFAULT.alice;
    for i in 0..5 {
        h.client
            .invoke(&send(input_user(&h, alice), &format!("m{i}"), 100 + i))
            .await
            .unwrap();
    }
    let page = |offset_id| tl::functions::messages::GetHistory {
        peer: input_user(&h, alice),
        offset_id,
        offset_date: 0,
        add_offset: 0,
        limit: 2,
        max_id: 0,
        min_id: 0,
        hash: 0,
    };
    let tl::enums::messages::Messages::Slice(first) = h.client.invoke(&page(0)).await.unwrap()
    else {
        panic!("a partial page is a messagesSlice");
    };
    assert_eq!(first.count, 6);
    let ids: Vec<i32> = first.messages.iter().map(message_id).collect();
    let tl::enums::messages::Messages::Slice(second) =
        h.client.invoke(&page(ids[1])).await.unwrap()
    else {
        panic!("slice");
    };
    assert!(second.messages.iter().map(message_id).all(|id| id < ids[1]));

    let mut dialogs = h.client.iter_dialogs();
    let mut seen = Vec::new();
    while let Some(d) = dialogs.next().await.unwrap() {
        seen.push(d.peer().id().bot_api_dialog_id().unwrap());
    }
    let f = Fixture::DEFAULT;
    for chat in [
        f.alice,
        f.bob,
        -f.group,
        testdc::ChatRef::Channel(f.supergroup).bot_api_id(),
        testdc::ChatRef::Channel(f.channel).bot_api_id(),
    ] {
        assert!(seen.contains(&chat), "{chat} missing from {seen:?}");
    }
}

fn message_id(m: &tl::enums::Message) -> i32 {
    match m {
        tl::enums::Message::Message(m) => m.id,
        tl::enums::Message::Service(m) => m.id,
        tl::enums::Message::Empty(m) => m.id,
    }
}

#[tokio::test]
async fn get_difference_replays_what_happened_since_a_state() {
    let h = harness().await;
    let tl::enums::updates::State::State(state) = h
        .client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    let f = Fixture::DEFAULT;
    for text in ["one", "two"] {
        h.dc.send_text(SendText {
            from: Some(f.alice),
            chat_id: f.alice,
            text: text.into(),
            reply_to_message_id: None,
        })
        .unwrap();
    }
    h.dc.send_text(SendText {
        from: Some(f.bob),
        chat_id: testdc::ChatRef::Channel(f.supergroup).bot_api_id(),
        text: "in sg".into(),
        reply_to_message_id: None,
    })
    .unwrap();
    let diff = crate::difference(&h, state.pts, state.date, state.qts).await;
    let tl::enums::updates::Difference::Difference(diff) = diff else {
        panic!("expected a full difference, got {diff:?}");
    };
    let texts: Vec<&str> = diff
        .new_messages
        .iter()
        .filter_map(|m| match m {
            tl::enums::Message::Message(m) => Some(m.message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(texts, ["one", "two"]);
    let tl::enums::updates::State::State(after) = &diff.state;
    assert_eq!(after.pts, state.pts + 2);
    // The supergroup changed too: announced so the client asks for its channel difference.
    assert!(diff.other_updates.iter().any(
        |u| matches!(u, tl::enums::Update::ChannelTooLong(c) if c.channel_id == f.supergroup)
    ));
    let empty = crate::difference(&h, after.pts, after.date + 1, 0).await;
    assert!(matches!(empty, tl::enums::updates::Difference::Empty(_)));
}
