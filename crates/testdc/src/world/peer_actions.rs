//! What simulated users do besides sending: edit and delete their messages, react.

use grammers_tl_types as tl;

use super::rpc::SideEffects;
use super::{ChatRef, RpcError, StoredMessage, World, now, tl_build};

impl World {
    /// The author of message `id` in `chat` edits its text (a user's own message, or a
    /// channel's post). Errors: `MESSAGE_ID_INVALID` (no such message, or it is the
    /// account's), `MESSAGE_NOT_MODIFIED`.
    pub fn peer_edits(
        &mut self,
        chat: ChatRef,
        id: i32,
        text: &str,
        fx: &mut SideEffects,
    ) -> Result<StoredMessage, RpcError> {
        let current = self
            .find(chat, id)
            .filter(|m| !m.out)
            .cloned()
            .ok_or_else(|| RpcError::bad("MESSAGE_ID_INVALID"))?;
        if current.text == text {
            return Err(RpcError::bad("MESSAGE_NOT_MODIFIED"));
        }
        let edited = StoredMessage {
            text: text.to_owned(),
            entities: Vec::new(),
            edit_date: Some(now()),
            ..current
        };
        let update = self.store_edit(&edited)?;
        fx.pushes
            .push(self.wrap_updates(vec![update], std::slice::from_ref(&edited)));
        Ok(edited)
    }

    /// Messages of `chat` are deleted for everyone (by their author or an admin). Returns how
    /// many existed. Errors: `PEER_ID_INVALID` for an unknown chat.
    pub fn peer_deletes(
        &mut self,
        chat: ChatRef,
        ids: &[i32],
        fx: &mut SideEffects,
    ) -> Result<usize, RpcError> {
        if !self.chat_exists(chat) {
            return Err(RpcError::bad("PEER_ID_INVALID"));
        }
        let Some(update) = self.store_delete(chat, ids) else {
            return Ok(0);
        };
        let count = match &update {
            tl::enums::Update::DeleteMessages(u) => u.messages.len(),
            tl::enums::Update::DeleteChannelMessages(u) => u.messages.len(),
            _ => 0,
        };
        fx.pushes.push(self.wrap_updates(vec![update], &[]));
        Ok(count)
    }

    /// User `from` reacts to message `id` of `chat` with `emoji` (adds one to its count).
    /// Errors: `MESSAGE_ID_INVALID`, `USER_NOT_PARTICIPANT`.
    pub fn peer_reacts(
        &mut self,
        from: i64,
        chat: ChatRef,
        id: i32,
        emoji: &str,
        fx: &mut SideEffects,
    ) -> Result<(), RpcError> {
        if from == self.self_id || !self.users.contains_key(&from) {
            return Err(RpcError::bad("USER_NOT_PARTICIPANT"));
        }
        let Some(m) = self
            .box_of_mut(chat)
            .and_then(|b| b.messages.get_mut(&id))
            .filter(|m| m.chat == chat)
        else {
            return Err(RpcError::bad("MESSAGE_ID_INVALID"));
        };
        match m.reactions.iter_mut().find(|r| r.0 == emoji) {
            Some(r) => r.1 += 1,
            None => m.reactions.push((emoji.to_owned(), 1, false)),
        }
        let update = tl::enums::Update::MessageReactions(tl::types::UpdateMessageReactions {
            peer: tl_build::peer(chat),
            msg_id: id,
            top_msg_id: None,
            saved_peer_id: None,
            reactions: tl_build::reactions(&m.reactions),
        });
        fx.pushes.push(self.wrap_updates(vec![update], &[]));
        Ok(())
    }
}
