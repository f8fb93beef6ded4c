//! What a bot gets that the account does not: callback queries from inline-button presses
//! (`updateBotCallbackQuery`, pushed to the bot's connections only), their answers
//! (`messages.setBotCallbackAnswer`), and the inline keyboards sent with messages.
//!
//! Choices where Telegram is not specific: `chat_instance` is a hash of the bot and the chat
//! (stable per pair, unguessable per run); `message` of an answer may be at most 200
//! characters (as the Bot API's `answerCallbackQuery` documents); an answer is accepted once.

use std::collections::HashMap;

use grammers_tl_types::{self as tl, functions as f};
use serde::Serialize;

use super::rpc::SideEffects;
use super::{ChatRef, RpcError, World, now, tl_build};

/// Longest `callback_data` Telegram accepts on a button, in bytes.
pub const CALLBACK_DATA_MAX: usize = 64;
/// Longest notification text of an answer, in characters.
const ANSWER_MESSAGE_MAX: usize = 200;

/// How a bot answered a callback query (`messages.setBotCallbackAnswer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallbackAnswer {
    /// Notification text shown to the user.
    pub message: Option<String>,
    /// Shown as an alert rather than a toast.
    pub alert: bool,
    /// URL the user's client opens.
    pub url: Option<String>,
    /// Seconds clients may cache the answer.
    pub cache_time: i32,
}

/// A callback query the DC sent to a bot.
#[derive(Debug)]
struct Query {
    bot: i64,
    answer: Option<CallbackAnswer>,
}

/// Bot-side state of the DC.
#[derive(Debug, Default)]
pub(crate) struct Bots {
    queries: HashMap<i64, Query>,
    /// Reply markups sent with messages, by chat and message id.
    markups: HashMap<(ChatRef, i32), tl::enums::ReplyMarkup>,
}

impl Bots {
    /// The reply markup sent with message `id` of `chat`, if any.
    pub(crate) fn markup(&self, chat: ChatRef, id: i32) -> Option<&tl::enums::ReplyMarkup> {
        self.markups.get(&(chat, id))
    }
}

/// One press of an inline button, as the control API describes it.
#[derive(Clone, Copy, Debug)]
pub struct Press<'a> {
    /// The bot whose button it is.
    pub bot: i64,
    /// Who pressed it.
    pub user: i64,
    /// Where the message with the button is.
    pub chat: ChatRef,
    /// The message with the button.
    pub message_id: i32,
    /// The button's `callback_data`.
    pub data: &'a [u8],
}

impl World {
    /// A user presses an inline button: the bot's connections get `updateBotCallbackQuery` (with
    /// the user in `users`, the chat in `chats`). Returns the query id. Errors:
    /// `USER_ID_INVALID` (no such user, or a bot), `BOT_INVALID`, `PEER_ID_INVALID` (no such
    /// chat, or a private chat of someone else), `USER_NOT_PARTICIPANT`, `MESSAGE_ID_INVALID`,
    /// `BUTTON_DATA_INVALID` (empty or over [`CALLBACK_DATA_MAX`] bytes).
    pub fn press_button(
        &mut self,
        press: Press<'_>,
        fx: &mut SideEffects,
    ) -> Result<i64, RpcError> {
        self.check_press(&press)?;
        let mut query_id = rand::random::<i64>();
        while query_id == 0 || self.bots.queries.contains_key(&query_id) {
            query_id = rand::random();
        }
        let update = tl::types::UpdateBotCallbackQuery {
            query_id,
            user_id: press.user,
            peer: tl_build::peer(press.chat),
            msg_id: press.message_id,
            chat_instance: self.chat_instance(press.bot, press.chat),
            data: Some(press.data.to_vec()),
            game_short_name: None,
        };
        let updates = tl::types::Updates {
            updates: vec![update.into()],
            users: self.tl_user(press.user).into_iter().collect(),
            chats: self.tl_chat(press.chat).into_iter().collect(),
            date: now(),
            seq: 0,
        };
        fx.addressed.push((press.bot, updates.into()));
        self.bots.queries.insert(
            query_id,
            Query {
                bot: press.bot,
                answer: None,
            },
        );
        Ok(query_id)
    }

    fn check_press(&self, press: &Press<'_>) -> Result<(), RpcError> {
        if self.users.get(&press.user).is_none_or(|u| u.bot) {
            return Err(RpcError::bad("USER_ID_INVALID"));
        }
        if !self.users.get(&press.bot).is_some_and(|u| u.bot) {
            return Err(RpcError::bad("BOT_INVALID"));
        }
        match press.chat {
            // The bot's private chat with the user is the only private chat they share.
            ChatRef::User(id) if id != press.user => return Err(RpcError::bad("PEER_ID_INVALID")),
            ChatRef::User(_) => {}
            chat if !self.chat_exists(chat) => return Err(RpcError::bad("PEER_ID_INVALID")),
            ChatRef::Chat(id) if !self.chats[&id].members.contains(&press.user) => {
                return Err(RpcError::bad("USER_NOT_PARTICIPANT"));
            }
            ChatRef::Channel(id) if !self.channels[&id].members.contains(&press.user) => {
                return Err(RpcError::bad("USER_NOT_PARTICIPANT"));
            }
            _ => {}
        }
        if press.message_id <= 0 {
            return Err(RpcError::bad("MESSAGE_ID_INVALID"));
        }
        if press.data.is_empty() || press.data.len() > CALLBACK_DATA_MAX {
            return Err(RpcError::bad("BUTTON_DATA_INVALID"));
        }
        Ok(())
    }

    /// `chat_instance`: the same for every press in one chat of one bot.
    fn chat_instance(&self, bot: i64, chat: ChatRef) -> i64 {
        self.access_hash(bot ^ chat.bot_api_id().rotate_left(21))
    }

    /// `messages.setBotCallbackAnswer` by `caller`. Errors: `USER_BOT_REQUIRED` (not a bot),
    /// `QUERY_ID_INVALID` (not a query sent to this bot, or answered already),
    /// `MESSAGE_TOO_LONG`.
    pub(crate) fn set_bot_callback_answer(
        &mut self,
        caller: i64,
        req: &f::messages::SetBotCallbackAnswer,
    ) -> Result<bool, RpcError> {
        if !self.users.get(&caller).is_some_and(|u| u.bot) {
            return Err(RpcError::bad("USER_BOT_REQUIRED"));
        }
        let query = self
            .bots
            .queries
            .get_mut(&req.query_id)
            .filter(|q| q.bot == caller && q.answer.is_none())
            .ok_or_else(|| RpcError::bad("QUERY_ID_INVALID"))?;
        if req
            .message
            .as_ref()
            .is_some_and(|m| m.chars().count() > ANSWER_MESSAGE_MAX)
        {
            return Err(RpcError::bad("MESSAGE_TOO_LONG"));
        }
        query.answer = Some(CallbackAnswer {
            message: req.message.clone(),
            alert: req.alert,
            url: req.url.clone(),
            cache_time: req.cache_time,
        });
        Ok(true)
    }

    /// The answer a bot gave to callback query `query_id`, once it answered.
    pub fn callback_answer(&self, query_id: i64) -> Option<CallbackAnswer> {
        self.bots.queries.get(&query_id)?.answer.clone()
    }

    /// The reply markup sent with message `id` of `chat`, if any.
    pub fn reply_markup(&self, chat: ChatRef, id: i32) -> Option<&tl::enums::ReplyMarkup> {
        self.bots.markup(chat, id)
    }

    /// Keeps `markup` for the message about to be stored in `chat` (the next id of its box),
    /// so every copy of it (the result, pushes, history, getDifference) carries it. Returns
    /// the key to [`World::forget_markup`] if storing the message fails after all.
    pub(crate) fn attach_markup(
        &mut self,
        chat: ChatRef,
        markup: Option<&tl::enums::ReplyMarkup>,
    ) -> Option<(ChatRef, i32)> {
        let markup = markup?.clone();
        let next = self.box_of(chat)?.last_id + 1;
        self.bots.markups.insert((chat, next), markup);
        Some((chat, next))
    }

    /// Drops a markup [`World::attach_markup`] kept for a message that was not stored.
    pub(crate) fn forget_markup(&mut self, key: Option<(ChatRef, i32)>) {
        if let Some(key) = key {
            self.bots.markups.remove(&key);
        }
    }
}
