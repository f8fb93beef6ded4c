//! Methods a bot calls that the account's world answers differently:
//! `messages.setBotCallbackAnswer`, and `messages.sendMessage` keeping the inline keyboard
//! (Telegram ignores a user's `reply_markup`, so the account's calls drop it).

use grammers_tl_types::{Identifiable, functions as f};

use super::{Reply, SideEffects, decode, ok};
use crate::world::World;

impl World {
    /// Whether [`World::invoke_bot`] answers method `id` for `user`.
    pub(super) fn answers_bot(&self, user: i64, id: u32) -> bool {
        id == f::messages::SetBotCallbackAnswer::CONSTRUCTOR_ID
            || (id == f::messages::SendMessage::CONSTRUCTOR_ID && self.is_bot(user))
    }

    /// Runs method `id` for `user` (a bot, or a user refused with `USER_BOT_REQUIRED`).
    pub(super) fn invoke_bot(
        &mut self,
        user: i64,
        id: u32,
        body: &[u8],
        fx: &mut SideEffects,
    ) -> Reply {
        if id == f::messages::SendMessage::CONSTRUCTOR_ID {
            let req: f::messages::SendMessage = decode(body)?;
            let chat = self.resolve_peer(&req.peer)?;
            let markup = self.attach_markup(chat, req.reply_markup.as_ref());
            let sent = self.send_message(&req, fx);
            if sent.is_err() {
                self.forget_markup(markup);
            }
            return sent.and_then(ok);
        }
        self.set_bot_callback_answer(user, &decode(body)?)
            .and_then(ok)
    }

    fn is_bot(&self, user: i64) -> bool {
        self.users.get(&user).is_some_and(|u| u.bot)
    }
}
