//! The Bot API types of a bot's own profile: `BotCommand`, `BotCommandScope`, `BotName`,
//! `BotDescription`, `BotShortDescription`
//! (<https://core.telegram.org/bots/api#botcommand> and the sections after it).

use serde::{Deserialize, Serialize};

use crate::ids::ChatIdParam;

/// Bot API "BotCommand": one entry of the bot's command menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BotCommand {
    /// 1–32 characters: lowercase English letters, digits and underscores, no leading `/`.
    pub command: String,
    /// 1–256 characters.
    pub description: String,
}

impl BotCommand {
    /// Checks the limits of Bot API section "BotCommand"; the error names the broken rule.
    pub fn check(&self) -> Result<(), String> {
        let name_ok = (1..=32).contains(&self.command.len())
            && self
                .command
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(format!(
                "BOT_COMMAND_INVALID: command {:?} must be 1-32 lowercase English letters, \
                 digits and underscores",
                self.command
            ));
        }
        if !(1..=256).contains(&self.description.chars().count()) {
            return Err(format!(
                "BOT_COMMAND_DESCRIPTION_INVALID: the description of {:?} must be 1-256 \
                 characters",
                self.command
            ));
        }
        Ok(())
    }
}

/// Bot API "BotCommandScope": which users see a command list. Absent means `default`.
///
/// Deserialized through a flat object (`type` plus the fields of that type) so that form
/// bodies, where it arrives as a JSON string, parse like JSON ones.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotCommandScope {
    /// Everyone, unless a narrower scope has commands.
    #[default]
    Default,
    /// Every private chat.
    AllPrivateChats,
    /// Every group and supergroup chat.
    AllGroupChats,
    /// Administrators of every group and supergroup chat.
    AllChatAdministrators,
    /// One chat.
    Chat {
        /// The chat: id or `@username`.
        chat_id: ChatIdParam,
    },
    /// Administrators of one group or supergroup.
    ChatAdministrators {
        /// The chat: id or `@username`.
        chat_id: ChatIdParam,
    },
    /// One member of one group or supergroup.
    ChatMember {
        /// The chat: id or `@username`.
        chat_id: ChatIdParam,
        /// The member's user id.
        user_id: i64,
    },
}

#[derive(Deserialize)]
struct FlatScope {
    #[serde(rename = "type")]
    kind: String,
    chat_id: Option<ChatIdParam>,
    user_id: Option<i64>,
}

impl<'de> Deserialize<'de> for BotCommandScope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let flat = FlatScope::deserialize(deserializer)?;
        let chat = |chat_id: Option<ChatIdParam>| {
            chat_id.ok_or_else(|| D::Error::custom(format!("scope {:?} needs chat_id", flat.kind)))
        };
        Ok(match flat.kind.as_str() {
            "default" => Self::Default,
            "all_private_chats" => Self::AllPrivateChats,
            "all_group_chats" => Self::AllGroupChats,
            "all_chat_administrators" => Self::AllChatAdministrators,
            "chat" => Self::Chat {
                chat_id: chat(flat.chat_id.clone())?,
            },
            "chat_administrators" => Self::ChatAdministrators {
                chat_id: chat(flat.chat_id.clone())?,
            },
            "chat_member" => Self::ChatMember {
                chat_id: chat(flat.chat_id.clone())?,
                user_id: flat
                    .user_id
                    .ok_or_else(|| D::Error::custom("scope \"chat_member\" needs user_id"))?,
            },
            other => return Err(D::Error::custom(format!("unknown scope type {other:?}"))),
        })
    }
}

/// Bot API "BotName" (`getMyName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BotName {
    /// The bot's name.
    pub name: String,
}

/// Bot API "BotDescription" (`getMyDescription`): shown in an empty chat with the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BotDescription {
    /// The description.
    pub description: String,
}

/// Bot API "BotShortDescription" (`getMyShortDescription`): shown on the bot's profile and
/// when it is shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BotShortDescription {
    /// The short description.
    pub short_description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_tagged_by_type() {
        let scope: BotCommandScope =
            serde_json::from_str(r#"{"type":"chat_member","chat_id":"@team","user_id":7}"#)
                .expect("scope");
        assert_eq!(
            scope,
            BotCommandScope::ChatMember {
                chat_id: ChatIdParam::Username("team".into()),
                user_id: 7
            }
        );
        let all: BotCommandScope =
            serde_json::from_str(r#"{"type":"all_private_chats"}"#).expect("scope");
        assert_eq!(all, BotCommandScope::AllPrivateChats);
    }

    #[test]
    fn commands_follow_the_bot_api_limits() {
        let command = |c: &str, d: &str| BotCommand {
            command: c.into(),
            description: d.into(),
        };
        assert!(command("start_2", "Start").check().is_ok());
        for bad in ["", "Start", "/start", &"a".repeat(33)] {
            assert!(command(bad, "x").check().is_err(), "{bad:?}");
        }
        assert!(command("a", "").check().is_err());
        assert!(command("a", &"é".repeat(256)).check().is_ok());
    }
}
