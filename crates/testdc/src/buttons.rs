//! The control API's bot side: a simulated user presses an inline button of the bot's
//! message, and tests read how the bot answered. Sessions signed in as the bot come from
//! [`TestDc::write_bot_session`] (and [`AccountDc::write_bot_session`] in other accounts'
//! worlds, each with a bot of its own).

use crate::account::AccountDc;
use crate::dc::{ControlError, TestDc};
use crate::world::bots::{CallbackAnswer, Press};
use crate::world::rpc::SideEffects;
use crate::world::{ChatRef, Fixture};

impl AccountDc<'_> {
    /// User `user_id` presses an inline button with `data` (its `callback_data`, 1–64 bytes) on
    /// message `message_id` of chat `chat_id` (a Bot API id; the user's own id for their private
    /// chat with the bot). The bot's connections ([`TestDc::write_bot_session`]) get
    /// `updateBotCallbackQuery` with the user in `users`, as Telegram sends it; the account's
    /// get nothing. Returns the query id, which `messages.setBotCallbackAnswer` answers.
    ///
    /// Errors: [`ControlError::UnknownChat`], or [`ControlError::Rpc`] with `USER_ID_INVALID`,
    /// `PEER_ID_INVALID` (a private chat of someone else), `USER_NOT_PARTICIPANT`,
    /// `MESSAGE_ID_INVALID` or `BUTTON_DATA_INVALID`.
    pub fn press_button(
        &self,
        user_id: i64,
        chat_id: i64,
        message_id: i32,
        data: &[u8],
    ) -> Result<i64, ControlError> {
        let chat = ChatRef::from_bot_api_id(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
        let press = Press {
            bot: Fixture::DEFAULT.bot,
            user: user_id,
            chat,
            message_id,
            data,
        };
        let mut fx = SideEffects::default();
        let query_id = {
            let mut world = self.hosted.world();
            if !matches!(chat, ChatRef::User(_)) && !world.chat_exists(chat) {
                return Err(ControlError::UnknownChat(chat_id));
            }
            world
                .press_button(press, &mut fx)
                .map_err(ControlError::Rpc)?
        };
        self.hosted.publish(fx, 0);
        Ok(query_id)
    }

    /// How the bot answered callback query `query_id` (`messages.setBotCallbackAnswer`), once
    /// it has; `None` before that or for an unknown id.
    pub fn callback_answer(&self, query_id: i64) -> Option<CallbackAnswer> {
        self.hosted.world().callback_answer(query_id)
    }
}

impl TestDc {
    /// [`AccountDc::press_button`] in the default account's world.
    pub fn press_button(
        &self,
        user_id: i64,
        chat_id: i64,
        message_id: i32,
        data: &[u8],
    ) -> Result<i64, ControlError> {
        self.default_account()
            .press_button(user_id, chat_id, message_id, data)
    }

    /// [`AccountDc::callback_answer`] in the default account's world.
    pub fn callback_answer(&self, query_id: i64) -> Option<CallbackAnswer> {
        self.default_account().callback_answer(query_id)
    }
}
