//! Simulated users edit, delete and react; the account learns it through updates.

use grammers_client::tl;
use testdc::{ChatRef, Fixture, SendText};

use crate::harness;

#[tokio::test]
async fn edits_deletes_and_reactions_reach_the_difference() {
    let h = harness().await;
    let tl::enums::updates::State::State(state) = h
        .client
        .invoke(&tl::functions::updates::GetState {})
        .await
        .unwrap();
    let f = Fixture::DEFAULT;
    let supergroup = ChatRef::Channel(f.supergroup).bot_api_id();
    let private =
        h.dc.send_text(SendText {
            from: None,
            chat_id: f.alice,
            text: "typo".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    let edited =
        h.dc.edit_text(f.alice, private.message_id, "fixed")
            .unwrap();
    assert_eq!(edited.text, "fixed");
    assert!(edited.edit_date.is_some());
    assert!(
        h.dc.edit_text(f.alice, private.message_id, "fixed")
            .is_err(),
        "not modified"
    );
    h.dc.react(f.bob, f.alice, private.message_id, "❤").unwrap();
    assert_eq!(
        h.dc.delete_messages(f.alice, &[private.message_id, 424242])
            .unwrap(),
        1
    );
    assert!(
        h.dc.history(f.alice)
            .unwrap()
            .iter()
            .all(|m| m.message_id != private.message_id)
    );

    let post =
        h.dc.send_text(SendText {
            from: Some(f.bob),
            chat_id: supergroup,
            text: "sg".into(),
            reply_to_message_id: None,
        })
        .unwrap();
    h.dc.edit_text(supergroup, post.message_id, "sg edited")
        .unwrap();

    let diff = crate::difference(&h, state.pts, state.date, state.qts).await;
    let tl::enums::updates::Difference::Difference(diff) = diff else {
        panic!("difference")
    };
    assert!(
        diff.other_updates
            .iter()
            .any(|u| matches!(u, tl::enums::Update::EditMessage(_)))
    );
    assert!(diff.other_updates.iter().any(|u| matches!(u, tl::enums::Update::DeleteMessages(d) if d.messages == vec![private.message_id])));
}
