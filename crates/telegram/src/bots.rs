//! What only a bot session may call: answering callback queries (`messages.setBotCallbackAnswer`),
//! the command menu (`bots.setBotCommands`/`getBotCommands`/`resetBotCommands`) and the
//! bot's name and descriptions (`bots.setBotInfo`/`getBotInfo`).
//!
//! A user account calling any of these gets Telegram's `400 USER_BOT_REQUIRED`.

use botapi::ids::ChatIdParam;
use botapi::types::{BotCommand, BotCommandScope};
use grammers_tl_types as tl;

use crate::{Telegram, TelegramError};

/// An answer to a callback query (Bot API `answerCallbackQuery`).
#[derive(Clone, Debug, Default)]
pub struct CallbackAnswer {
    /// Notification text, at most 200 characters.
    pub text: Option<String>,
    /// Show an alert instead of a notification at the top of the chat screen.
    pub show_alert: bool,
    /// URL the user's client opens (a game, or a `t.me/<bot>?start=` link).
    pub url: Option<String>,
    /// Seconds the client may cache the answer.
    pub cache_time: i32,
}

/// Which part of the bot's profile [`Telegram::set_bot_info`] changes (Bot API `setMyName`,
/// `setMyDescription`, `setMyShortDescription`); an empty text removes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BotInfoField {
    /// The name.
    Name,
    /// The description shown in an empty chat with the bot.
    Description,
    /// The short description ("about") on the bot's profile.
    ShortDescription,
}

/// The bot's name and descriptions for one language (`bots.getBotInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BotInfo {
    /// The name.
    pub name: String,
    /// The description.
    pub description: String,
    /// The short description ("about").
    pub short_description: String,
}

impl Telegram {
    /// Answers callback query `query_id` (the decimal `id` of a Bot API CallbackQuery).
    ///
    /// Errors: `QUERY_ID_INVALID` (unknown, answered already, or too old), `MESSAGE_TOO_LONG`,
    /// `USER_BOT_REQUIRED` (a user account) as RPC errors.
    pub async fn answer_callback_query(
        &self,
        query_id: i64,
        answer: CallbackAnswer,
    ) -> Result<(), TelegramError> {
        self.client
            .invoke(&tl::functions::messages::SetBotCallbackAnswer {
                alert: answer.show_alert,
                query_id,
                message: answer.text,
                url: answer.url,
                cache_time: answer.cache_time,
            })
            .await?;
        Ok(())
    }

    /// Sets the command list of `scope` for users with `language_code` (empty: all languages
    /// without a list of their own). An empty list removes it, as `deleteMyCommands` does.
    ///
    /// Errors: [`TelegramError::ChatNotFound`] for a scope's unknown chat; `BOT_COMMAND_INVALID`,
    /// `USER_BOT_REQUIRED`, … as RPC errors.
    pub async fn set_bot_commands(
        &self,
        scope: &BotCommandScope,
        language_code: &str,
        commands: &[BotCommand],
    ) -> Result<(), TelegramError> {
        let commands = commands
            .iter()
            .map(|c| {
                tl::types::BotCommand {
                    ephemeral: false,
                    command: c.command.clone(),
                    description: c.description.clone(),
                }
                .into()
            })
            .collect();
        self.client
            .invoke(&tl::functions::bots::SetBotCommands {
                scope: self.command_scope(scope).await?,
                lang_code: language_code.to_owned(),
                commands,
            })
            .await?;
        Ok(())
    }

    /// The command list of exactly `scope` and `language_code` (empty when it has none).
    ///
    /// Errors: as [`Telegram::set_bot_commands`].
    pub async fn get_bot_commands(
        &self,
        scope: &BotCommandScope,
        language_code: &str,
    ) -> Result<Vec<BotCommand>, TelegramError> {
        let commands = self
            .client
            .invoke(&tl::functions::bots::GetBotCommands {
                scope: self.command_scope(scope).await?,
                lang_code: language_code.to_owned(),
            })
            .await?;
        Ok(commands
            .into_iter()
            .map(|tl::enums::BotCommand::Command(c)| BotCommand {
                command: c.command,
                description: c.description,
            })
            .collect())
    }

    /// Removes the command list of `scope` and `language_code`.
    ///
    /// Errors: as [`Telegram::set_bot_commands`].
    pub async fn reset_bot_commands(
        &self,
        scope: &BotCommandScope,
        language_code: &str,
    ) -> Result<(), TelegramError> {
        self.client
            .invoke(&tl::functions::bots::ResetBotCommands {
                scope: self.command_scope(scope).await?,
                lang_code: language_code.to_owned(),
            })
            .await?;
        Ok(())
    }

    /// Sets one part of the bot's profile for `language_code` (empty: the default).
    ///
    /// Errors: `USER_BOT_REQUIRED`, `BOT_INVALID`, … as RPC errors.
    pub async fn set_bot_info(
        &self,
        field: BotInfoField,
        language_code: &str,
        text: &str,
    ) -> Result<(), TelegramError> {
        let text = Some(text.to_owned());
        let mut call = tl::functions::bots::SetBotInfo {
            bot: None,
            lang_code: language_code.to_owned(),
            name: None,
            about: None,
            description: None,
        };
        match field {
            BotInfoField::Name => call.name = text,
            BotInfoField::Description => call.description = text,
            BotInfoField::ShortDescription => call.about = text,
        }
        self.client.invoke(&call).await?;
        Ok(())
    }

    /// The bot's name and descriptions for `language_code` (empty: the default).
    ///
    /// Errors: `USER_BOT_REQUIRED`, … as RPC errors.
    pub async fn get_bot_info(&self, language_code: &str) -> Result<BotInfo, TelegramError> {
        let tl::enums::bots::BotInfo::Info(info) = self
            .client
            .invoke(&tl::functions::bots::GetBotInfo {
                bot: None,
                lang_code: language_code.to_owned(),
            })
            .await?;
        Ok(BotInfo {
            name: info.name,
            description: info.description,
            short_description: info.about,
        })
    }

    async fn command_scope(
        &self,
        scope: &BotCommandScope,
    ) -> Result<tl::enums::BotCommandScope, TelegramError> {
        use tl::enums::BotCommandScope as S;
        Ok(match scope {
            BotCommandScope::Default => S::Default,
            BotCommandScope::AllPrivateChats => S::Users,
            BotCommandScope::AllGroupChats => S::Chats,
            BotCommandScope::AllChatAdministrators => S::ChatAdmins,
            BotCommandScope::Chat { chat_id } => S::Peer(tl::types::BotCommandScopePeer {
                peer: (&self.resolve_chat(chat_id).await?).into(),
            }),
            BotCommandScope::ChatAdministrators { chat_id } => {
                S::PeerAdmins(tl::types::BotCommandScopePeerAdmins {
                    peer: (&self.resolve_chat(chat_id).await?).into(),
                })
            }
            BotCommandScope::ChatMember { chat_id, user_id } => {
                let user = self.resolve_chat(&ChatIdParam::Id(*user_id)).await?;
                S::PeerUser(tl::types::BotCommandScopePeerUser {
                    peer: (&self.resolve_chat(chat_id).await?).into(),
                    user_id: (&user).into(),
                })
            }
        })
    }
}
