//! What a bot gets that the account does not: callback queries from inline-button presses
//! (`updateBotCallbackQuery`, pushed to the bot's connections only), their answers
//! (`messages.setBotCallbackAnswer`), the reply markups sent with (and edited on) messages,
//! the command lists (`bots.setBotCommands`/`getBotCommands`/`resetBotCommands`, per scope and
//! language) and the bot's name and descriptions (`bots.setBotInfo`/`getBotInfo`).
//!
//! Choices where Telegram is not specific: `chat_instance` is a hash of the bot and the chat
//! (stable per pair, unguessable per run); `message` of an answer may be at most 200
//! characters (as the Bot API's `answerCallbackQuery` documents); an answer is accepted once;
//! a language code is empty or 2–3 lowercase letters (else `LANG_CODE_INVALID`); at most 100
//! commands per list (else `BOT_COMMANDS_TOO_MUCH`); a name, about and description are at
//! most 64, 120 and 512 characters (the Bot API's limits; else `BOT_INFO_TOO_LONG`, testdc's
//! name); the name of a language with none set is empty, except the default language's,
//! which is the bot's first name.

use std::collections::HashMap;

use grammers_tl_types::{self as tl, functions as f};
use serde::Serialize;

use super::rpc::SideEffects;
use super::{ChatRef, RpcError, World, now, tl_build};

/// Longest `callback_data` Telegram accepts on a button, in bytes.
pub const CALLBACK_DATA_MAX: usize = 64;
/// Longest notification text of an answer, in characters.
const ANSWER_MESSAGE_MAX: usize = 200;
/// Most commands in one list.
const COMMANDS_MAX: usize = 100;

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
    /// Command lists by bot, scope and language code.
    commands: HashMap<CommandsKey, Vec<BotCommand>>,
    /// Names and descriptions by bot and language code.
    profiles: HashMap<(i64, String), BotProfile>,
}

/// Who sees a command list (MTProto `BotCommandScope`, peers resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandScope {
    /// `botCommandScopeDefault`.
    Default,
    /// `botCommandScopeUsers`: every private chat.
    Users,
    /// `botCommandScopeChats`: every group.
    Chats,
    /// `botCommandScopeChatAdmins`: administrators of every group.
    ChatAdmins,
    /// `botCommandScopePeer`.
    Peer(ChatRef),
    /// `botCommandScopePeerAdmins`.
    PeerAdmins(ChatRef),
    /// `botCommandScopePeerUser`: one member of one chat.
    PeerUser(ChatRef, i64),
}

/// One command as the bot set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BotCommand {
    /// Without the `/`.
    pub command: String,
    /// Shown next to it.
    pub description: String,
}

/// A bot's name and descriptions in one language (`bots.setBotInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BotProfile {
    /// Name.
    pub name: Option<String>,
    /// Short description (MTProto `about`).
    pub about: Option<String>,
    /// Description shown in an empty chat.
    pub description: Option<String>,
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

    /// Sets (or with `None` removes) the markup of message `id` of `chat`; returns the one it
    /// had, to put back with another call if the edit fails.
    pub(crate) fn replace_markup(
        &mut self,
        chat: ChatRef,
        id: i32,
        markup: Option<tl::enums::ReplyMarkup>,
    ) -> Option<tl::enums::ReplyMarkup> {
        match markup {
            Some(markup) => self.bots.markups.insert((chat, id), markup),
            None => self.bots.markups.remove(&(chat, id)),
        }
    }

    /// Drops a markup [`World::attach_markup`] kept for a message that was not stored.
    pub(crate) fn forget_markup(&mut self, key: Option<(ChatRef, i32)>) {
        if let Some(key) = key {
            self.bots.markups.remove(&key);
        }
    }
}

/// A bot, the scope of its command list and the language (`""`: every language).
type CommandsKey = (i64, CommandScope, String);

/// A language code as `bots.*` take it. Errors: `LANG_CODE_INVALID`.
fn check_lang(lang: &str) -> Result<String, RpcError> {
    let ok = lang.is_empty()
        || ((2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase()));
    ok.then(|| lang.to_owned())
        .ok_or_else(|| RpcError::bad("LANG_CODE_INVALID"))
}

impl World {
    /// The caller when it is a bot. Errors: `USER_BOT_REQUIRED`.
    fn calling_bot(&self, caller: i64) -> Result<i64, RpcError> {
        if self.users.get(&caller).is_some_and(|u| u.bot) {
            Ok(caller)
        } else {
            Err(RpcError::bad("USER_BOT_REQUIRED"))
        }
    }

    fn command_scope(&self, scope: &tl::enums::BotCommandScope) -> Result<CommandScope, RpcError> {
        use tl::enums::BotCommandScope as S;
        Ok(match scope {
            S::Default => CommandScope::Default,
            S::Users => CommandScope::Users,
            S::Chats => CommandScope::Chats,
            S::ChatAdmins => CommandScope::ChatAdmins,
            S::Peer(p) => CommandScope::Peer(self.resolve_peer(&p.peer)?),
            S::PeerAdmins(p) => match self.resolve_peer(&p.peer)? {
                ChatRef::User(_) => return Err(RpcError::bad("PEER_ID_INVALID")),
                chat => CommandScope::PeerAdmins(chat),
            },
            S::PeerUser(p) => match self.resolve_peer(&p.peer)? {
                ChatRef::User(_) => return Err(RpcError::bad("PEER_ID_INVALID")),
                chat => CommandScope::PeerUser(chat, self.resolve_user(&p.user_id)?),
            },
        })
    }

    /// Where a command list is kept: the calling bot, the scope and the language. Errors: as
    /// [`World::set_bot_commands`].
    fn commands_key(
        &self,
        caller: i64,
        scope: &tl::enums::BotCommandScope,
        lang_code: &str,
    ) -> Result<CommandsKey, RpcError> {
        Ok((
            self.calling_bot(caller)?,
            self.command_scope(scope)?,
            check_lang(lang_code)?,
        ))
    }

    /// `bots.setBotCommands` by `caller`; an empty list removes the scope's list. Errors:
    /// `USER_BOT_REQUIRED`, `LANG_CODE_INVALID`, `PEER_ID_INVALID`, `BOT_COMMANDS_TOO_MUCH`,
    /// `BOT_COMMAND_INVALID` (not 1–32 of `a-z0-9_`), `BOT_COMMAND_DESCRIPTION_INVALID`
    /// (empty or over 256 characters).
    pub(crate) fn set_bot_commands(
        &mut self,
        caller: i64,
        req: &f::bots::SetBotCommands,
    ) -> Result<bool, RpcError> {
        let key = self.commands_key(caller, &req.scope, &req.lang_code)?;
        if req.commands.len() > COMMANDS_MAX {
            return Err(RpcError::bad("BOT_COMMANDS_TOO_MUCH"));
        }
        let commands = req
            .commands
            .iter()
            .map(|tl::enums::BotCommand::Command(c)| check_command(c))
            .collect::<Result<Vec<_>, _>>()?;
        if commands.is_empty() {
            self.bots.commands.remove(&key);
        } else {
            self.bots.commands.insert(key, commands);
        }
        Ok(true)
    }

    /// `bots.getBotCommands`: the list of exactly that scope and language (empty if none).
    /// Errors: as [`World::set_bot_commands`].
    pub(crate) fn get_bot_commands(
        &self,
        caller: i64,
        req: &f::bots::GetBotCommands,
    ) -> Result<Vec<tl::enums::BotCommand>, RpcError> {
        let key = self.commands_key(caller, &req.scope, &req.lang_code)?;
        let list = self.bots.commands.get(&key).map(Vec::as_slice);
        Ok(list
            .unwrap_or_default()
            .iter()
            .map(|c| {
                tl::types::BotCommand {
                    ephemeral: false,
                    command: c.command.clone(),
                    description: c.description.clone(),
                }
                .into()
            })
            .collect())
    }

    /// `bots.resetBotCommands`. Errors: as [`World::set_bot_commands`].
    pub(crate) fn reset_bot_commands(
        &mut self,
        caller: i64,
        req: &f::bots::ResetBotCommands,
    ) -> Result<bool, RpcError> {
        let key = self.commands_key(caller, &req.scope, &req.lang_code)?;
        self.bots.commands.remove(&key);
        Ok(true)
    }

    /// The command list a bot set for `scope` and `lang`, if any (for tests).
    pub fn bot_commands(&self, bot: i64, scope: CommandScope, lang: &str) -> Option<&[BotCommand]> {
        self.bots
            .commands
            .get(&(bot, scope, lang.to_owned()))
            .map(Vec::as_slice)
    }

    /// The bot `bots.setBotInfo`/`getBotInfo` act on: the caller, or `bot` if it names the
    /// caller. Errors: `USER_BOT_REQUIRED`, `BOT_INVALID` (another bot: only bots this account
    /// owns could be named, and it owns none).
    fn info_target(
        &self,
        caller: i64,
        bot: Option<&tl::enums::InputUser>,
    ) -> Result<i64, RpcError> {
        let me = self.calling_bot(caller)?;
        match bot {
            None | Some(tl::enums::InputUser::UserSelf) => Ok(me),
            Some(other) if self.resolve_user(other).ok() == Some(me) => Ok(me),
            Some(_) => Err(RpcError::bad("BOT_INVALID")),
        }
    }

    /// `bots.setBotInfo`: each field given replaces that language's (empty: removes it).
    /// Errors: those of `info_target`, `LANG_CODE_INVALID`, `BOT_INFO_TOO_LONG`.
    pub(crate) fn set_bot_info(
        &mut self,
        caller: i64,
        req: &f::bots::SetBotInfo,
    ) -> Result<bool, RpcError> {
        let bot = self.info_target(caller, req.bot.as_ref())?;
        let lang = check_lang(&req.lang_code)?;
        let limits = [(&req.name, 64), (&req.about, 120), (&req.description, 512)];
        if limits
            .iter()
            .any(|(text, max)| text.as_ref().is_some_and(|t| t.chars().count() > *max))
        {
            return Err(RpcError::bad("BOT_INFO_TOO_LONG"));
        }
        let profile = self.bots.profiles.entry((bot, lang)).or_default();
        let set = |slot: &mut Option<String>, value: &Option<String>| {
            if let Some(value) = value {
                *slot = Some(value.clone()).filter(|v| !v.is_empty());
            }
        };
        set(&mut profile.name, &req.name);
        set(&mut profile.about, &req.about);
        set(&mut profile.description, &req.description);
        Ok(true)
    }

    /// `bots.getBotInfo`. Errors: those of `info_target`, `LANG_CODE_INVALID`.
    pub(crate) fn get_bot_info(
        &self,
        caller: i64,
        req: &f::bots::GetBotInfo,
    ) -> Result<tl::enums::bots::BotInfo, RpcError> {
        let bot = self.info_target(caller, req.bot.as_ref())?;
        let lang = check_lang(&req.lang_code)?;
        let profile = self.bot_profile(bot, &lang).cloned().unwrap_or_default();
        let name = match profile.name {
            Some(name) => name,
            None if lang.is_empty() => self.users[&bot].first_name.clone(),
            None => String::new(),
        };
        Ok(tl::types::bots::BotInfo {
            name,
            about: profile.about.unwrap_or_default(),
            description: profile.description.unwrap_or_default(),
        }
        .into())
    }

    /// What a bot set with `bots.setBotInfo` for `lang`, if anything (for tests).
    pub fn bot_profile(&self, bot: i64, lang: &str) -> Option<&BotProfile> {
        self.bots.profiles.get(&(bot, lang.to_owned()))
    }
}

/// Errors: `BOT_COMMAND_INVALID`, `BOT_COMMAND_DESCRIPTION_INVALID`.
fn check_command(c: &tl::types::BotCommand) -> Result<BotCommand, RpcError> {
    let name_ok = (1..=32).contains(&c.command.len())
        && c.command
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !name_ok {
        return Err(RpcError::bad("BOT_COMMAND_INVALID"));
    }
    if !(1..=256).contains(&c.description.chars().count()) {
        return Err(RpcError::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
    }
    Ok(BotCommand {
        command: c.command.clone(),
        description: c.description.clone(),
    })
}
