//! Every TL object testdc builds survives a serialize → deserialize round trip; flags that
//! share a bit (e.g. `views`/`forwards`) would break the client's parser otherwise.

use grammers_tl_types::{self as tl, Deserializable, Serializable};
use testdc::world::{ChatRef, World};

#[test]
fn every_world_object_round_trips() {
    let w = World::new(5);
    let chats = w
        .chats
        .keys()
        .map(|&id| ChatRef::Chat(id))
        .chain(w.channels.keys().map(|&id| ChatRef::Channel(id)));
    for c in chats {
        let chat = w.tl_chat(c).unwrap();
        assert!(
            tl::enums::Chat::from_bytes(&chat.to_bytes()).is_ok(),
            "{c:?}"
        );
    }
    let all = w
        .users
        .keys()
        .map(|&id| ChatRef::User(id))
        .chain(w.chats.keys().map(|&id| ChatRef::Chat(id)))
        .chain(w.channels.keys().map(|&id| ChatRef::Channel(id)));
    for c in all {
        for m in w.history(c) {
            let bytes = w.tl_message(&m).to_bytes();
            assert!(
                tl::enums::Message::from_bytes(&bytes).is_ok(),
                "message in {c:?}"
            );
        }
    }
    for id in w.users.keys() {
        let bytes = w.tl_user(*id).unwrap().to_bytes();
        assert!(tl::enums::User::from_bytes(&bytes).is_ok());
    }
}
