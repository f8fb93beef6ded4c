//! The Bot API `reply_markup` parameter: `InlineKeyboardMarkup`, `ReplyKeyboardMarkup`,
//! `ReplyKeyboardRemove` and `ForceReply` (<https://core.telegram.org/bots/api#inlinekeyboardmarkup>
//! and the sections after it), checked as Telegram checks them.
//!
//! [`ReplyMarkup`] is what a send or edit method takes: one JSON object whose keys say which
//! kind it is (`inline_keyboard`, `keyboard`, `remove_keyboard`, `force_reply`). Deserializing
//! it validates the rules of those sections (each inline button has exactly one action,
//! `callback_data` is 1–64 bytes, `remove_keyboard`/`force_reply` are `true`, placeholders are
//! 1–64 characters), so a handler never sees a markup Telegram would refuse.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Longest `callback_data`, bytes ("InlineKeyboardButton": "1-64 bytes").
pub const CALLBACK_DATA_MAX_BYTES: usize = 64;
/// Longest `input_field_placeholder`, characters ("ReplyKeyboardMarkup", "ForceReply").
pub const PLACEHOLDER_MAX_CHARS: usize = 64;

/// A `reply_markup` parameter (Bot API: "InlineKeyboardMarkup or ReplyKeyboardMarkup or
/// ReplyKeyboardRemove or ForceReply").
///
/// Serialized as the object it wraps. Deserialized from any of the four objects (or, through
/// the sender's form coercions, a JSON string holding one); errors say which rule failed and
/// where, e.g. `button [0][1]: BUTTON_DATA_INVALID: callback_data is 65 bytes, 1-64 are
/// allowed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ReplyMarkup {
    /// Buttons under the message (Bot API "InlineKeyboardMarkup").
    InlineKeyboard(InlineKeyboardMarkup),
    /// A custom keyboard replacing the user's (Bot API "ReplyKeyboardMarkup").
    Keyboard(ReplyKeyboardMarkup),
    /// Removes the custom keyboard (Bot API "ReplyKeyboardRemove").
    Remove(ReplyKeyboardRemove),
    /// Opens a reply interface for the message (Bot API "ForceReply").
    ForceReply(ForceReply),
}

impl ReplyMarkup {
    /// The inline keyboard, when this is one.
    pub fn inline_keyboard(&self) -> Option<&InlineKeyboardMarkup> {
        match self {
            Self::InlineKeyboard(k) => Some(k),
            _ => None,
        }
    }
}

/// Bot API "InlineKeyboardMarkup": rows of buttons shown under a message. Also the shape of
/// `Message.reply_markup`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InlineKeyboardMarkup {
    /// Rows of buttons, top to bottom.
    pub inline_keyboard: Vec<Vec<InlineKeyboardButton>>,
    /// Also open the reply interface, as if the user had chosen to reply to the message
    /// (Bot API 10.3; can't be changed by editing the keyboard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_reply: Option<bool>,
}

/// Bot API "InlineKeyboardButton": a label and exactly one action.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InlineKeyboardButton {
    /// Label.
    pub text: String,
    /// Opens this `http(s)://` or `tg://` URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Sent back to the bot in a callback query, 1–[`CALLBACK_DATA_MAX_BYTES`] bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    /// Opens a Web App.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_app: Option<WebAppInfo>,
    /// Logs the user in to a website (Telegram Login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_url: Option<LoginUrl>,
    /// Asks the user to pick a chat and starts an inline query there with this text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_inline_query: Option<String>,
    /// Starts an inline query with this text in the current chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_inline_query_current_chat: Option<String>,
    /// Asks the user to pick a chat of the given kinds and starts an inline query there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub switch_inline_query_chosen_chat: Option<SwitchInlineQueryChosenChat>,
    /// Copies a text to the clipboard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_text: Option<CopyTextButton>,
    /// Launches the bot's game (must be the first button of the first row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_game: Option<CallbackGame>,
    /// A Pay button (invoices only; must be the first button of the first row).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pay: Option<bool>,
    /// A button that does nothing when pressed (Bot API 10.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<DisabledButton>,
}

/// What pressing an [`InlineKeyboardButton`] does: the one action field it sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlineButtonAction<'a> {
    /// `url`.
    Url(&'a str),
    /// `callback_data`.
    CallbackData(&'a str),
    /// `web_app`.
    WebApp(&'a WebAppInfo),
    /// `login_url`.
    LoginUrl(&'a LoginUrl),
    /// `switch_inline_query`.
    SwitchInlineQuery(&'a str),
    /// `switch_inline_query_current_chat`.
    SwitchInlineQueryCurrentChat(&'a str),
    /// `switch_inline_query_chosen_chat`.
    SwitchInlineQueryChosenChat(&'a SwitchInlineQueryChosenChat),
    /// `copy_text`.
    CopyText(&'a str),
    /// `callback_game`.
    CallbackGame,
    /// `pay: true`.
    Pay,
    /// `disabled` (Bot API 10.3): pressing it does nothing.
    Disabled,
}

impl InlineKeyboardButton {
    /// A button sending `data` back to the bot when pressed.
    pub fn callback(text: impl Into<String>, data: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            callback_data: Some(data.into()),
            ..Self::default()
        }
    }

    /// A button opening `url`.
    pub fn url(text: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// Every action field the button sets, in the Bot API's field order (a valid button has
    /// exactly one; `pay: false` counts as unset).
    pub fn actions(&self) -> Vec<InlineButtonAction<'_>> {
        use InlineButtonAction as A;
        let mut actions = Vec::new();
        actions.extend(self.url.as_deref().map(A::Url));
        actions.extend(self.callback_data.as_deref().map(A::CallbackData));
        actions.extend(self.web_app.as_ref().map(A::WebApp));
        actions.extend(self.login_url.as_ref().map(A::LoginUrl));
        actions.extend(
            self.switch_inline_query
                .as_deref()
                .map(A::SwitchInlineQuery),
        );
        actions.extend(
            self.switch_inline_query_current_chat
                .as_deref()
                .map(A::SwitchInlineQueryCurrentChat),
        );
        actions.extend(
            self.switch_inline_query_chosen_chat
                .as_ref()
                .map(A::SwitchInlineQueryChosenChat),
        );
        actions.extend(self.copy_text.as_ref().map(|c| A::CopyText(&c.text)));
        actions.extend(self.callback_game.as_ref().map(|_| A::CallbackGame));
        if self.pay == Some(true) {
            actions.push(A::Pay);
        }
        actions.extend(self.disabled.as_ref().map(|_| A::Disabled));
        actions
    }

    /// The button's one action. Errors (the wording of the Bot API server, plus where):
    /// none set ("text buttons are unallowed in the inline keyboard"), several set,
    /// `callback_data` empty or over [`CALLBACK_DATA_MAX_BYTES`] (`BUTTON_DATA_INVALID`),
    /// `login_url.bot_username` (not supported).
    pub fn action(&self) -> Result<InlineButtonAction<'_>, String> {
        let actions = self.actions();
        let action = match actions.as_slice() {
            [one] => *one,
            [] => return Err("text buttons are unallowed in the inline keyboard".into()),
            _ => return Err("a button must have exactly one action field".into()),
        };
        match action {
            InlineButtonAction::CallbackData(data)
                if data.is_empty() || data.len() > CALLBACK_DATA_MAX_BYTES =>
            {
                Err(format!(
                    "BUTTON_DATA_INVALID: callback_data is {} bytes, 1-{CALLBACK_DATA_MAX_BYTES} \
                     are allowed",
                    data.len()
                ))
            }
            InlineButtonAction::LoginUrl(login) if login.bot_username.is_some() => Err(
                "login_url.bot_username is not supported (the sending bot logs the user in)".into(),
            ),
            action => Ok(action),
        }
    }
}

/// Bot API "WebAppInfo".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WebAppInfo {
    /// HTTPS URL of the Web App.
    pub url: String,
}

/// Bot API "LoginUrl" (Telegram Login for websites). `bot_username` is not supported: the
/// sending bot authorizes the login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LoginUrl {
    /// HTTPS URL opened with the user's authorization data appended.
    pub url: String,
    /// Label of the button in forwarded messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward_text: Option<String>,
    /// Username of a bot used for the authorization (not supported; must be absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_username: Option<String>,
    /// Ask the user to let the bot message them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_write_access: Option<bool>,
}

/// Bot API "SwitchInlineQueryChosenChat". With no `allow_*` set, every kind is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SwitchInlineQueryChosenChat {
    /// Default inline query text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Private chats with users may be chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_user_chats: Option<bool>,
    /// Private chats with bots may be chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_bot_chats: Option<bool>,
    /// Groups and supergroups may be chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_group_chats: Option<bool>,
    /// Channels may be chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_channel_chats: Option<bool>,
}

/// Bot API "CopyTextButton".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CopyTextButton {
    /// Text copied to the clipboard, 1–256 characters.
    pub text: String,
}

/// Bot API "CallbackGame": an empty placeholder object.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CallbackGame {}

/// Bot API "DisabledButton" (10.3): marks an inline button that does nothing; holds no
/// information.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DisabledButton {}

/// Bot API "ReplyKeyboardMarkup": a custom keyboard replacing the user's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReplyKeyboardMarkup {
    /// Rows of buttons; a button may also be given as its text alone.
    pub keyboard: Vec<Vec<KeyboardButton>>,
    /// Keep the keyboard shown while the system keyboard is hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_persistent: Option<bool>,
    /// Fit the keyboard's height to its buttons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize_keyboard: Option<bool>,
    /// Hide the keyboard once a button was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_time_keyboard: Option<bool>,
    /// Placeholder of the input field, 1–[`PLACEHOLDER_MAX_CHARS`] characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_field_placeholder: Option<String>,
    /// Show it only to mentioned users and the sender of the replied message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selective: Option<bool>,
    /// Also open the reply interface for the message (Bot API 10.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_reply: Option<bool>,
}

/// Bot API "KeyboardButton": a text button, or one that sends a contact, a location or a
/// poll, opens a Web App, or asks for users or a chat. Accepted as a bare string too.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KeyboardButton {
    /// Label, sent as a message when no other field is set.
    pub text: String,
    /// Ask the user to pick users (Bot API "KeyboardButtonRequestUsers").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_users: Option<KeyboardButtonRequestUsers>,
    /// Ask the user to pick a chat (Bot API "KeyboardButtonRequestChat").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_chat: Option<KeyboardButtonRequestChat>,
    /// Send the user's phone number as a contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_contact: Option<bool>,
    /// Send the user's location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_location: Option<bool>,
    /// Let the user create a poll (`{"type":"quiz"|"regular"}`, or any kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_poll: Option<KeyboardButtonPollType>,
    /// Open a Web App.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_app: Option<WebAppInfo>,
}

impl KeyboardButton {
    /// A plain text button.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }
}

impl Serialize for KeyboardButton {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        KeyboardButton::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for KeyboardButton {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ButtonVisitor;
        impl<'de> Visitor<'de> for ButtonVisitor {
            type Value = KeyboardButton;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a KeyboardButton object or the button's text")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<KeyboardButton, E> {
                Ok(KeyboardButton::text(text))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<KeyboardButton, A::Error> {
                KeyboardButton::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(ButtonVisitor)
    }
}

/// Bot API "KeyboardButtonRequestUsers".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KeyboardButtonRequestUsers {
    /// Identifier echoed back in the `users_shared` message.
    pub request_id: i32,
    /// Only bots (`true`) or only non-bots (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_is_bot: Option<bool>,
    /// Only premium (`true`) or non-premium (`false`) users.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_is_premium: Option<bool>,
    /// How many users may be picked, 1–10 (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<i32>,
    /// Share the users' names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_name: Option<bool>,
    /// Share the users' usernames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_username: Option<bool>,
    /// Share the users' photos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_photo: Option<bool>,
}

/// Bot API "KeyboardButtonRequestChat". The administrator-rights filters are not supported
/// (a markup that sets them is refused).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KeyboardButtonRequestChat {
    /// Identifier echoed back in the `chat_shared` message.
    pub request_id: i32,
    /// A channel (`true`) or a group/supergroup (`false`).
    pub chat_is_channel: bool,
    /// Only forums (`true`) or only non-forums (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_is_forum: Option<bool>,
    /// Only chats with (`true`) or without (`false`) a username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_has_username: Option<bool>,
    /// Only chats the user created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_is_created: Option<bool>,
    /// Not supported: must be absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub user_administrator_rights: Option<serde_json::Value>,
    /// Not supported: must be absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<Object>))]
    pub bot_administrator_rights: Option<serde_json::Value>,
    /// Only chats the bot is a member of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bot_is_member: Option<bool>,
    /// Share the chat's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_title: Option<bool>,
    /// Share the chat's username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_username: Option<bool>,
    /// Share the chat's photo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_photo: Option<bool>,
}

/// Bot API "KeyboardButtonPollType".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct KeyboardButtonPollType {
    /// `quiz`, `regular`, or absent for either.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Bot API "ReplyKeyboardRemove".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ReplyKeyboardRemove {
    /// Always `true`.
    pub remove_keyboard: bool,
    /// Remove it only for mentioned users and the sender of the replied message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selective: Option<bool>,
}

/// Bot API "ForceReply".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ForceReply {
    /// Always `true`.
    pub force_reply: bool,
    /// Placeholder of the input field, 1–[`PLACEHOLDER_MAX_CHARS`] characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_field_placeholder: Option<String>,
    /// Only for mentioned users and the sender of the replied message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selective: Option<bool>,
}

/// Every key any of the four objects may have; which ones are present decides the kind.
#[derive(Deserialize)]
struct AnyMarkup {
    inline_keyboard: Option<Vec<Vec<InlineKeyboardButton>>>,
    keyboard: Option<Vec<Vec<KeyboardButton>>>,
    remove_keyboard: Option<bool>,
    force_reply: Option<bool>,
    is_persistent: Option<bool>,
    resize_keyboard: Option<bool>,
    one_time_keyboard: Option<bool>,
    input_field_placeholder: Option<String>,
    selective: Option<bool>,
}

impl<'de> Deserialize<'de> for ReplyMarkup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let any = AnyMarkup::deserialize(deserializer)?;
        let markup = ReplyMarkup::try_from(any).map_err(de::Error::custom)?;
        markup.check().map_err(de::Error::custom)?;
        Ok(markup)
    }
}

impl TryFrom<AnyMarkup> for ReplyMarkup {
    type Error = String;

    fn try_from(m: AnyMarkup) -> Result<Self, String> {
        // Since Bot API 10.3 `force_reply` is also a flag of the two keyboards: it names the
        // kind only without them.
        let keyboard = m.inline_keyboard.is_some() || m.keyboard.is_some();
        let kinds = [
            m.inline_keyboard.is_some(),
            m.keyboard.is_some(),
            m.remove_keyboard.is_some(),
            m.force_reply.is_some() && !keyboard,
        ];
        if kinds.iter().filter(|&&k| k).count() != 1 {
            return Err(
                "can't parse reply keyboard markup JSON object: it needs exactly one of \
                        \"inline_keyboard\", \"keyboard\", \"remove_keyboard\" or \"force_reply\""
                    .into(),
            );
        }
        Ok(if let Some(inline_keyboard) = m.inline_keyboard {
            Self::InlineKeyboard(InlineKeyboardMarkup {
                inline_keyboard,
                force_reply: m.force_reply,
            })
        } else if let Some(keyboard) = m.keyboard {
            Self::Keyboard(ReplyKeyboardMarkup {
                keyboard,
                is_persistent: m.is_persistent,
                resize_keyboard: m.resize_keyboard,
                one_time_keyboard: m.one_time_keyboard,
                input_field_placeholder: m.input_field_placeholder,
                selective: m.selective,
                force_reply: m.force_reply,
            })
        } else if let Some(remove_keyboard) = m.remove_keyboard {
            Self::Remove(ReplyKeyboardRemove {
                remove_keyboard,
                selective: m.selective,
            })
        } else {
            Self::ForceReply(ForceReply {
                force_reply: m.force_reply.unwrap_or(false),
                input_field_placeholder: m.input_field_placeholder,
                selective: m.selective,
            })
        })
    }
}

impl ReplyMarkup {
    /// Checks the rules of the four Bot API sections; the error names the offending button as
    /// `[row][column]`, counting from 0.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Self::InlineKeyboard(k) => each_button(&k.inline_keyboard, |b| b.action().map(drop)),
            Self::Keyboard(k) => {
                check_placeholder(k.input_field_placeholder.as_deref())?;
                each_button(&k.keyboard, KeyboardButton::check)
            }
            Self::Remove(r) if !r.remove_keyboard => {
                Err("remove_keyboard must be true in ReplyKeyboardRemove".into())
            }
            Self::ForceReply(f) if !f.force_reply => {
                Err("force_reply must be true in ForceReply".into())
            }
            Self::ForceReply(f) => check_placeholder(f.input_field_placeholder.as_deref()),
            Self::Remove(_) => Ok(()),
        }
    }
}

impl KeyboardButton {
    fn check(&self) -> Result<(), String> {
        let kinds = [
            self.request_users.is_some(),
            self.request_chat.is_some(),
            self.request_contact == Some(true),
            self.request_location == Some(true),
            self.request_poll.is_some(),
            self.web_app.is_some(),
        ];
        if kinds.iter().filter(|&&k| k).count() > 1 {
            return Err("a keyboard button may request one thing only".into());
        }
        if let Some(chat) = &self.request_chat
            && (chat.user_administrator_rights.is_some() || chat.bot_administrator_rights.is_some())
        {
            return Err("request_chat administrator rights are not supported".into());
        }
        Ok(())
    }
}

fn each_button<B>(rows: &[Vec<B>], check: impl Fn(&B) -> Result<(), String>) -> Result<(), String> {
    for (r, row) in rows.iter().enumerate() {
        for (c, button) in row.iter().enumerate() {
            check(button).map_err(|e| format!("button [{r}][{c}]: {e}"))?;
        }
    }
    Ok(())
}

fn check_placeholder(placeholder: Option<&str>) -> Result<(), String> {
    match placeholder.map(|p| p.chars().count()) {
        Some(n) if n == 0 || n > PLACEHOLDER_MAX_CHARS => Err(format!(
            "input_field_placeholder must be 1-{PLACEHOLDER_MAX_CHARS} characters, got {n}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<ReplyMarkup, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn each_kind_parses_and_serializes_back() {
        for json in [
            r#"{"inline_keyboard":[[{"text":"Yes","callback_data":"y"},{"text":"Docs","url":"https://example.org"}]]}"#,
            r#"{"keyboard":[[{"text":"Phone","request_contact":true}]],"resize_keyboard":true,"input_field_placeholder":"pick"}"#,
            r#"{"remove_keyboard":true,"selective":true}"#,
            r#"{"force_reply":true,"input_field_placeholder":"answer"}"#,
        ] {
            let markup = parse(json).expect(json);
            assert_eq!(serde_json::to_string(&markup).expect("serialize"), json);
        }
    }

    #[test]
    fn keyboard_buttons_may_be_plain_strings() {
        let markup = parse(r#"{"keyboard":[["a","b"],[{"text":"c"}]]}"#).expect("parses");
        let ReplyMarkup::Keyboard(k) = markup else {
            panic!("a reply keyboard");
        };
        assert_eq!(k.keyboard[0][1], KeyboardButton::text("b"));
        assert_eq!(k.keyboard[1][0], KeyboardButton::text("c"));
    }

    #[test]
    fn rule_breakers_are_refused_with_the_rule() {
        let long = "x".repeat(65);
        let too_long = format!(
            r#"{{"inline_keyboard":[[{{"text":"a","callback_data":"ok"}},{{"text":"b","callback_data":"{long}"}}]]}}"#
        );
        assert_eq!(
            parse(&too_long).expect_err("too long"),
            "button [0][1]: BUTTON_DATA_INVALID: callback_data is 65 bytes, 1-64 are allowed"
        );
        let exactly = too_long.replace(&long, &"x".repeat(64));
        assert!(parse(&exactly).is_ok());
        assert_eq!(
            parse(r#"{"inline_keyboard":[[{"text":"a"}]]}"#).expect_err("no action"),
            "button [0][0]: text buttons are unallowed in the inline keyboard"
        );
        assert!(
            parse(r#"{"inline_keyboard":[[{"text":"a","url":"https://x","callback_data":"d"}]]}"#)
                .expect_err("two actions")
                .contains("exactly one action")
        );
        assert!(
            parse(r#"{"text":"hi"}"#)
                .expect_err("no kind")
                .starts_with("can't parse reply keyboard markup JSON object")
        );
        assert_eq!(
            parse(r#"{"remove_keyboard":false}"#).expect_err("false"),
            "remove_keyboard must be true in ReplyKeyboardRemove"
        );
        assert!(
            parse(r#"{"force_reply":true,"input_field_placeholder":""}"#)
                .expect_err("empty placeholder")
                .contains("1-64 characters")
        );
    }

    /// Bot API 10.3: `force_reply` is also a flag of both keyboards, and `disabled` an action.
    #[test]
    fn the_10_3_keyboard_fields_parse_and_serialize_back() {
        let inline = r#"{"inline_keyboard":[[{"text":"soon","disabled":{}}]],"force_reply":true}"#;
        let markup = parse(inline).expect("inline keyboard with force_reply");
        let k = markup.inline_keyboard().expect("an inline keyboard");
        assert_eq!(k.force_reply, Some(true));
        assert_eq!(
            k.inline_keyboard[0][0].action(),
            Ok(InlineButtonAction::Disabled)
        );
        assert_eq!(serde_json::to_string(&markup).expect("serialize"), inline);
        let keyboard = r#"{"keyboard":[[{"text":"a"}]],"force_reply":true}"#;
        let markup = parse(keyboard).expect("reply keyboard with force_reply");
        assert!(matches!(&markup, ReplyMarkup::Keyboard(k) if k.force_reply == Some(true)));
        assert_eq!(serde_json::to_string(&markup).expect("serialize"), keyboard);
        assert!(
            parse(r#"{"inline_keyboard":[[{"text":"a","url":"https://x","disabled":{}}]]}"#)
                .expect_err("disabled and a url")
                .contains("exactly one action")
        );
        assert!(
            parse(r#"{"remove_keyboard":true,"force_reply":true}"#)
                .expect_err("two kinds")
                .starts_with("can't parse reply keyboard markup JSON object")
        );
    }

    #[test]
    fn inline_actions_are_typed() {
        let button = InlineKeyboardButton {
            copy_text: Some(CopyTextButton { text: "c".into() }),
            ..InlineKeyboardButton::default()
        };
        assert_eq!(button.action(), Ok(InlineButtonAction::CopyText("c")));
        let pay = InlineKeyboardButton {
            pay: Some(false),
            ..InlineKeyboardButton::callback("x", "d")
        };
        assert_eq!(pay.action(), Ok(InlineButtonAction::CallbackData("d")));
    }
}
