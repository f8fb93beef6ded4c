//! Methods a bot calls that the account's world answers differently:
//! `messages.setBotCallbackAnswer`, the `bots.*` command and profile methods (a user account
//! gets `USER_BOT_REQUIRED`, as from Telegram), and sends and edits keeping the reply markup
//! (Telegram ignores a user's `reply_markup`, so the account's calls drop it).

use grammers_tl_types::{self as tl, Identifiable, functions as f};

use super::{Reply, SideEffects, decode, ok};
use crate::world::{ChatRef, RpcError, World};

/// Methods answered here for every caller (users are refused).
const BOT_METHODS: [u32; 6] = [
    f::messages::SetBotCallbackAnswer::CONSTRUCTOR_ID,
    f::bots::SetBotCommands::CONSTRUCTOR_ID,
    f::bots::GetBotCommands::CONSTRUCTOR_ID,
    f::bots::ResetBotCommands::CONSTRUCTOR_ID,
    f::bots::SetBotInfo::CONSTRUCTOR_ID,
    f::bots::GetBotInfo::CONSTRUCTOR_ID,
];

/// Methods answered here for bots only: those carrying a `reply_markup`.
const MARKUP_METHODS: [u32; 3] = [
    f::messages::SendMessage::CONSTRUCTOR_ID,
    f::messages::SendMedia::CONSTRUCTOR_ID,
    f::messages::EditMessage::CONSTRUCTOR_ID,
];

impl World {
    /// Whether [`World::invoke_bot`] answers method `id` for `user`.
    pub(super) fn answers_bot(&self, user: i64, id: u32) -> bool {
        BOT_METHODS.contains(&id) || (MARKUP_METHODS.contains(&id) && self.is_bot(user))
    }

    /// Runs method `id` for `user` (a bot, or a user refused with `USER_BOT_REQUIRED`).
    pub(super) fn invoke_bot(
        &mut self,
        user: i64,
        id: u32,
        body: &[u8],
        fx: &mut SideEffects,
    ) -> Reply {
        match id {
            f::messages::SendMessage::CONSTRUCTOR_ID => {
                let req: f::messages::SendMessage = decode(body)?;
                let chat = self.resolve_peer(&req.peer)?;
                let markup = self.attach_markup(chat, req.reply_markup.as_ref());
                let sent = self.send_message(&req, fx);
                if sent.is_err() {
                    self.forget_markup(markup);
                }
                sent.and_then(ok)
            }
            f::messages::SendMedia::CONSTRUCTOR_ID => {
                let req: f::messages::SendMedia = decode(body)?;
                let chat = self.resolve_peer(&req.peer)?;
                let markup = self.attach_markup(chat, req.reply_markup.as_ref());
                let sent = self.send_media(&req, fx);
                if sent.is_err() {
                    self.forget_markup(markup);
                }
                sent.and_then(ok)
            }
            f::messages::EditMessage::CONSTRUCTOR_ID => {
                self.bot_edit_message(&decode(body)?, fx).and_then(ok)
            }
            f::bots::SetBotCommands::CONSTRUCTOR_ID => {
                self.set_bot_commands(user, &decode(body)?).and_then(ok)
            }
            f::bots::GetBotCommands::CONSTRUCTOR_ID => {
                self.get_bot_commands(user, &decode(body)?).and_then(ok)
            }
            f::bots::ResetBotCommands::CONSTRUCTOR_ID => {
                self.reset_bot_commands(user, &decode(body)?).and_then(ok)
            }
            f::bots::SetBotInfo::CONSTRUCTOR_ID => {
                self.set_bot_info(user, &decode(body)?).and_then(ok)
            }
            f::bots::GetBotInfo::CONSTRUCTOR_ID => {
                self.get_bot_info(user, &decode(body)?).and_then(ok)
            }
            _ => self
                .set_bot_callback_answer(user, &decode(body)?)
                .and_then(ok),
        }
    }

    /// A bot's `messages.editMessage`: the message's markup becomes `reply_markup` (absent:
    /// none, as Telegram removes a bot's keyboard on an edit without one). Without `message`
    /// and `media` only the markup changes. Errors: those of the text/media edit, and
    /// `MESSAGE_NOT_MODIFIED` when nothing (markup included) changes.
    fn bot_edit_message(
        &mut self,
        req: &f::messages::EditMessage,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let chat = self.resolve_peer(&req.peer)?;
        let before = self.replace_markup(chat, req.id, req.reply_markup.clone());
        let markup_changed = before != req.reply_markup;
        let edited = if req.message.is_none() && req.media.is_none() {
            self.edit_markup_only(chat, req.id, markup_changed, fx)
        } else {
            match self.edit_message(req, fx) {
                Err(e) if e.message == "MESSAGE_NOT_MODIFIED" && markup_changed => {
                    self.edit_markup_only(chat, req.id, true, fx)
                }
                other => other,
            }
        };
        if edited.is_err() {
            self.replace_markup(chat, req.id, before);
        }
        edited
    }

    /// Journals and pushes an edit of message `id` whose markup (already replaced) changed.
    /// Errors: `MESSAGE_ID_INVALID`, `MESSAGE_AUTHOR_REQUIRED`, `MESSAGE_NOT_MODIFIED`.
    fn edit_markup_only(
        &mut self,
        chat: ChatRef,
        id: i32,
        changed: bool,
        fx: &mut SideEffects,
    ) -> Result<tl::enums::Updates, RpcError> {
        let current = self
            .find(chat, id)
            .cloned()
            .ok_or_else(|| RpcError::bad("MESSAGE_ID_INVALID"))?;
        if !current.out {
            return Err(RpcError::from_message("MESSAGE_AUTHOR_REQUIRED"));
        }
        if !changed {
            return Err(RpcError::bad("MESSAGE_NOT_MODIFIED"));
        }
        let edited = super::StoredMessage {
            edit_date: Some(super::now()),
            ..current
        };
        let update = self.store_edit(&edited)?;
        let mentioned = std::slice::from_ref(&edited);
        fx.pushes
            .push(self.wrap_updates(vec![update.clone()], mentioned));
        Ok(self.wrap_updates(vec![update], mentioned))
    }

    fn is_bot(&self, user: i64) -> bool {
        self.users.get(&user).is_some_and(|u| u.bot)
    }
}
