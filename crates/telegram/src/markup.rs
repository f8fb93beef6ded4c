//! Bot API `reply_markup` ↔ MTProto `ReplyMarkup`: what a send or edit carries, and the inline
//! keyboard a received message shows (Bot API "Message.reply_markup").
//!
//! Telegram honours markup from bots only; a user account's is dropped by Telegram itself
//! (the sent message comes back without it).

use botapi::types::{
    CallbackGame, CopyTextButton, DisabledButton, InlineButtonAction, InlineKeyboardButton,
    InlineKeyboardMarkup, KeyboardButton, LoginUrl, ReplyMarkup, SwitchInlineQueryChosenChat,
    WebAppInfo,
};
use grammers_tl_types as tl;

/// The MTProto form of a checked Bot API markup (see [`ReplyMarkup::check`]; a button without
/// a valid action, which a checked markup never has, becomes a callback button without data).
pub(crate) fn to_tl(markup: &ReplyMarkup) -> tl::enums::ReplyMarkup {
    match markup {
        ReplyMarkup::InlineKeyboard(k) => tl::types::ReplyInlineMarkup {
            force_reply: k.force_reply.unwrap_or(false),
            rows: k
                .inline_keyboard
                .iter()
                .map(|row| {
                    tl::types::KeyboardInlineButtonRow {
                        buttons: row.iter().map(inline_button).collect(),
                    }
                    .into()
                })
                .collect(),
        }
        .into(),
        ReplyMarkup::Keyboard(k) => tl::types::ReplyKeyboardMarkup {
            resize: k.resize_keyboard.unwrap_or(false),
            single_use: k.one_time_keyboard.unwrap_or(false),
            selective: k.selective.unwrap_or(false),
            persistent: k.is_persistent.unwrap_or(false),
            force_reply: k.force_reply.unwrap_or(false),
            rows: k
                .keyboard
                .iter()
                .map(|row| {
                    tl::types::KeyboardButtonRow {
                        buttons: row.iter().map(keyboard_button).collect(),
                    }
                    .into()
                })
                .collect(),
            placeholder: k.input_field_placeholder.clone(),
        }
        .into(),
        ReplyMarkup::Remove(r) => tl::types::ReplyKeyboardHide {
            selective: r.selective.unwrap_or(false),
        }
        .into(),
        ReplyMarkup::ForceReply(f) => tl::types::ReplyKeyboardForceReply {
            single_use: false,
            selective: f.selective.unwrap_or(false),
            placeholder: f.input_field_placeholder.clone(),
        }
        .into(),
    }
}

fn inline_button(button: &InlineKeyboardButton) -> tl::enums::KeyboardInlineButton {
    use InlineButtonAction as A;
    use tl::enums::InlineButtonType as T;
    let r#type = match button.action() {
        Ok(A::Url(url)) => T::Url(tl::types::InlineButtonTypeUrl { url: url.into() }),
        Ok(A::CallbackData(data)) => callback(data.as_bytes()),
        Ok(A::WebApp(app)) => T::WebView(tl::types::InlineButtonTypeWebView {
            url: app.url.clone(),
        }),
        Ok(A::LoginUrl(login)) => {
            T::InputInlineButtonTypeUrlAuth(tl::types::InputInlineButtonTypeUrlAuth {
                request_write_access: login.request_write_access.unwrap_or(false),
                fwd_text: login.forward_text.clone(),
                url: login.url.clone(),
                bot: None,
            })
        }
        Ok(A::SwitchInlineQuery(query)) => switch_inline(false, query, None),
        Ok(A::SwitchInlineQueryCurrentChat(query)) => switch_inline(true, query, None),
        Ok(A::SwitchInlineQueryChosenChat(chosen)) => switch_inline(
            false,
            chosen.query.as_deref().unwrap_or_default(),
            Some(peer_types(chosen)),
        ),
        Ok(A::CopyText(text)) => T::Copy(tl::types::InlineButtonTypeCopy {
            copy_text: text.into(),
        }),
        Ok(A::CallbackGame) => T::Game,
        Ok(A::Pay) => T::Buy,
        Ok(A::Disabled) => T::Disabled,
        Err(_) => callback(b""),
    };
    tl::types::KeyboardInlineButton {
        style: None,
        text: button.text.clone(),
        r#type,
    }
    .into()
}

fn callback(data: &[u8]) -> tl::enums::InlineButtonType {
    tl::types::InlineButtonTypeCallback {
        requires_password: false,
        data: data.to_vec(),
    }
    .into()
}

fn switch_inline(
    same_peer: bool,
    query: &str,
    peer_types: Option<Vec<tl::enums::InlineQueryPeerType>>,
) -> tl::enums::InlineButtonType {
    tl::types::InlineButtonTypeSwitchInline {
        same_peer,
        query: query.into(),
        peer_types,
    }
    .into()
}

/// The chat kinds a `switch_inline_query_chosen_chat` button offers; none named means all.
fn peer_types(chosen: &SwitchInlineQueryChosenChat) -> Vec<tl::enums::InlineQueryPeerType> {
    use tl::enums::InlineQueryPeerType as P;
    let allowed = |flag: Option<bool>| flag.unwrap_or(false);
    let kinds = [
        (allowed(chosen.allow_user_chats), vec![P::Pm]),
        (allowed(chosen.allow_bot_chats), vec![P::BotPm]),
        (
            allowed(chosen.allow_group_chats),
            vec![P::Chat, P::Megagroup],
        ),
        (allowed(chosen.allow_channel_chats), vec![P::Broadcast]),
    ];
    let none = kinds.iter().all(|(on, _)| !on);
    kinds
        .into_iter()
        .filter(|(on, _)| *on || none)
        .flat_map(|(_, types)| types)
        .collect()
}

fn keyboard_button(button: &KeyboardButton) -> tl::enums::KeyboardButton {
    use tl::enums::ButtonType as T;
    let r#type = if let Some(users) = &button.request_users {
        request_peer(
            users.request_id,
            tl::types::RequestPeerTypeUser {
                bot: users.user_is_bot,
                premium: users.user_is_premium,
            }
            .into(),
            users.max_quantity.unwrap_or(1),
            [
                users.request_name,
                users.request_username,
                users.request_photo,
            ],
        )
    } else if let Some(chat) = &button.request_chat {
        let peer_type = if chat.chat_is_channel {
            tl::types::RequestPeerTypeBroadcast {
                creator: chat.chat_is_created.unwrap_or(false),
                has_username: chat.chat_has_username,
                user_admin_rights: None,
                bot_admin_rights: None,
            }
            .into()
        } else {
            tl::types::RequestPeerTypeChat {
                creator: chat.chat_is_created.unwrap_or(false),
                bot_participant: chat.bot_is_member.unwrap_or(false),
                has_username: chat.chat_has_username,
                forum: chat.chat_is_forum,
                user_admin_rights: None,
                bot_admin_rights: None,
            }
            .into()
        };
        let shared = [
            chat.request_title,
            chat.request_username,
            chat.request_photo,
        ];
        request_peer(chat.request_id, peer_type, 1, shared)
    } else if button.request_contact == Some(true) {
        T::RequestPhone
    } else if button.request_location == Some(true) {
        T::RequestGeoLocation
    } else if let Some(poll) = &button.request_poll {
        T::RequestPoll(tl::types::ButtonTypeRequestPoll {
            quiz: match poll.kind.as_deref() {
                Some("quiz") => Some(true),
                Some("regular") => Some(false),
                _ => None,
            },
        })
    } else if let Some(app) = &button.web_app {
        T::SimpleWebView(tl::types::ButtonTypeSimpleWebView {
            url: app.url.clone(),
        })
    } else {
        T::Default
    };
    tl::types::KeyboardButton {
        style: None,
        text: button.text.clone(),
        r#type,
    }
    .into()
}

/// A request-peer button; `shared` = whether the name/title, username and photo are asked for.
fn request_peer(
    button_id: i32,
    peer_type: tl::enums::RequestPeerType,
    max_quantity: i32,
    shared: [Option<bool>; 3],
) -> tl::enums::ButtonType {
    let [name, username, photo] = shared.map(|s| s.unwrap_or(false));
    tl::types::InputButtonTypeRequestPeer {
        name_requested: name,
        username_requested: username,
        photo_requested: photo,
        button_id,
        peer_type,
        max_quantity,
    }
    .into()
}

/// The inline keyboard of a received message as the Bot API shows it; `None` for other kinds
/// of markup (a reply keyboard belongs to the recipient's input field, not to the message).
/// Buttons the Bot API has no form for (user profile) are left out; disabled ones and the
/// keyboard's `force_reply` flag are shown as Bot API 10.3 does.
pub(crate) fn inline_from_tl(markup: &tl::enums::ReplyMarkup) -> Option<InlineKeyboardMarkup> {
    let tl::enums::ReplyMarkup::ReplyInlineMarkup(m) = markup else {
        return None;
    };
    let inline_keyboard = m
        .rows
        .iter()
        .map(|tl::enums::KeyboardInlineButtonRow::Row(row)| {
            row.buttons.iter().filter_map(inline_from_button).collect()
        })
        .collect();
    Some(InlineKeyboardMarkup {
        inline_keyboard,
        force_reply: m.force_reply.then_some(true),
    })
}

fn inline_from_button(button: &tl::enums::KeyboardInlineButton) -> Option<InlineKeyboardButton> {
    use tl::enums::InlineButtonType as T;
    let tl::enums::KeyboardInlineButton::Button(b) = button;
    let mut out = InlineKeyboardButton {
        text: b.text.clone(),
        ..InlineKeyboardButton::default()
    };
    match &b.r#type {
        T::Url(u) => out.url = Some(u.url.clone()),
        T::UrlAuth(u) => out.login_url = Some(login_url(&u.url, u.fwd_text.clone())),
        T::InputInlineButtonTypeUrlAuth(u) => {
            out.login_url = Some(login_url(&u.url, u.fwd_text.clone()));
        }
        T::WebView(w) => out.web_app = Some(WebAppInfo { url: w.url.clone() }),
        T::Callback(c) => out.callback_data = Some(String::from_utf8_lossy(&c.data).into_owned()),
        T::Game => out.callback_game = Some(CallbackGame {}),
        T::Buy => out.pay = Some(true),
        T::SwitchInline(s) if s.same_peer => {
            out.switch_inline_query_current_chat = Some(s.query.clone());
        }
        T::SwitchInline(s) => match &s.peer_types {
            Some(types) => out.switch_inline_query_chosen_chat = Some(chosen_chat(s, types)),
            None => out.switch_inline_query = Some(s.query.clone()),
        },
        T::Copy(c) => {
            out.copy_text = Some(CopyTextButton {
                text: c.copy_text.clone(),
            });
        }
        T::Disabled => out.disabled = Some(DisabledButton {}),
        T::UserProfile(_) | T::InputInlineButtonTypeUserProfile(_) => return None,
    }
    Some(out)
}

fn login_url(url: &str, forward_text: Option<String>) -> LoginUrl {
    LoginUrl {
        url: url.to_owned(),
        forward_text,
        bot_username: None,
        request_write_access: None,
    }
}

fn chosen_chat(
    s: &tl::types::InlineButtonTypeSwitchInline,
    types: &[tl::enums::InlineQueryPeerType],
) -> SwitchInlineQueryChosenChat {
    use tl::enums::InlineQueryPeerType as P;
    let has = |wanted: &[P]| Some(types.iter().any(|t| wanted.contains(t)));
    SwitchInlineQueryChosenChat {
        query: Some(s.query.clone()).filter(|q| !q.is_empty()),
        allow_user_chats: has(&[P::Pm, P::SameBotPm]),
        allow_bot_chats: has(&[P::BotPm]),
        allow_group_chats: has(&[P::Chat, P::Megagroup]),
        allow_channel_chats: has(&[P::Broadcast]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> Option<InlineKeyboardMarkup> {
        let markup: ReplyMarkup = serde_json::from_str(json).expect("valid markup");
        inline_from_tl(&to_tl(&markup))
    }

    #[test]
    fn inline_buttons_survive_the_trip_through_mtproto() {
        let json = r#"{"inline_keyboard":[[
            {"text":"a","callback_data":"d:1"},{"text":"b","url":"https://example.org"},
            {"text":"c","switch_inline_query":"q"},{"text":"d","switch_inline_query_current_chat":""},
            {"text":"e","copy_text":{"text":"x"}},{"text":"f","web_app":{"url":"https://app"}},
            {"text":"g","switch_inline_query_chosen_chat":{"query":"z","allow_group_chats":true}}
        ]]}"#;
        let sent: ReplyMarkup = serde_json::from_str(json).expect("valid");
        let back = round_trip(json).expect("an inline keyboard");
        let Some(sent) = sent.inline_keyboard() else {
            panic!("inline");
        };
        assert_eq!(back.inline_keyboard[0][..6], sent.inline_keyboard[0][..6]);
        let chosen = back.inline_keyboard[0][6]
            .switch_inline_query_chosen_chat
            .as_ref()
            .expect("chosen chat");
        assert_eq!(
            (chosen.allow_group_chats, chosen.allow_user_chats),
            (Some(true), Some(false))
        );
    }

    /// Bot API 10.3's disabled buttons and `force_reply` flag reach MTProto and come back.
    #[test]
    fn disabled_buttons_and_force_reply_survive_the_trip() {
        let json = r#"{"inline_keyboard":[[{"text":"soon","disabled":{}}]],"force_reply":true}"#;
        let back = round_trip(json).expect("an inline keyboard");
        assert_eq!(back.force_reply, Some(true));
        assert_eq!(back.inline_keyboard[0][0].disabled, Some(DisabledButton {}));
        let without = round_trip(r#"{"inline_keyboard":[[{"text":"a","callback_data":"d"}]]}"#);
        assert_eq!(without.expect("inline").force_reply, None);
        let keyboard: ReplyMarkup =
            serde_json::from_str(r#"{"keyboard":[["a"]],"force_reply":true}"#).expect("valid");
        let tl::enums::ReplyMarkup::ReplyKeyboardMarkup(k) = to_tl(&keyboard) else {
            panic!("a reply keyboard");
        };
        assert!(k.force_reply);
    }

    #[test]
    fn other_markups_map_to_their_mtproto_kinds_and_show_no_inline_keyboard() {
        let cases = [
            r#"{"keyboard":[["a"]],"resize_keyboard":true,"one_time_keyboard":true}"#,
            r#"{"remove_keyboard":true}"#,
            r#"{"force_reply":true,"input_field_placeholder":"p"}"#,
        ];
        for json in cases {
            assert_eq!(round_trip(json), None, "{json}");
        }
        let keyboard: ReplyMarkup = serde_json::from_str(cases[0]).expect("valid");
        let tl::enums::ReplyMarkup::ReplyKeyboardMarkup(k) = to_tl(&keyboard) else {
            panic!("a reply keyboard");
        };
        assert!(k.resize && k.single_use && !k.persistent);
    }
}
