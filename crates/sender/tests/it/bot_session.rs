//! The sender on a bot session: `reply_markup` reaches testdc and comes back on the Message,
//! button presses are answered, commands and the bot's name and descriptions round-trip; a
//! user account is refused the bot methods and its markup is dropped, as Telegram does.

use grammers_tl_types as tl;
use serde_json::{Value, json};
use testdc::{CallbackAnswer, ChatRef, CommandScope, Fixture};

use crate::helpers::{TestApp, chats, spawn_app, spawn_bot_app};

const ONLY_FOR_BOTS: &str = "Bad Request: method is available only for bots";

fn vote_keyboard() -> Value {
    json!({ "inline_keyboard": [[
        { "text": "Yes", "callback_data": "vote:1" },
        { "text": "Docs", "url": "https://example.org/docs" }
    ]] })
}

/// The markup testdc stored for message `id` of the private chat with Alice.
fn stored_markup(app: &TestApp, id: &Value) -> Option<tl::enums::ReplyMarkup> {
    let id = i32::try_from(id.as_i64().unwrap()).unwrap();
    app.dc
        .with_world(|w| w.reply_markup(ChatRef::User(chats().alice), id).cloned())
}

#[tokio::test]
async fn bot_sends_an_inline_keyboard_and_answers_the_press() {
    let app = spawn_bot_app().await;
    assert_eq!(app.post("getMe", json!({})).await.result()["is_bot"], true);
    let alice = chats().alice;
    let sent = app
        .post(
            "sendMessage",
            json!({ "chat_id": alice, "text": "Vote?", "reply_markup": vote_keyboard() }),
        )
        .await;
    let message = sent.result();
    assert_eq!(message["reply_markup"], vote_keyboard());
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(stored)) =
        stored_markup(&app, &message["message_id"])
    else {
        panic!("testdc keeps the inline keyboard");
    };
    assert_eq!(stored.rows.len(), 1);

    let id = i32::try_from(message["message_id"].as_i64().unwrap()).unwrap();
    let query_id = app.dc.press_button(alice, alice, id, b"vote:1").unwrap();
    let answer = json!({
        "callback_query_id": query_id.to_string(), "text": "Counted", "show_alert": true
    });
    let answered = app.post("answerCallbackQuery", answer.clone()).await;
    assert_eq!(answered.result(), &json!(true));
    assert_eq!(
        app.dc.callback_answer(query_id),
        Some(CallbackAnswer {
            message: Some("Counted".into()),
            alert: true,
            url: None,
            cache_time: 0,
        })
    );
    let stale = "Bad Request: query is too old and response timeout expired or query ID is invalid";
    app.post("answerCallbackQuery", answer)
        .await
        .assert_error(400, stale);
    app.post("answerCallbackQuery", json!({ "callback_query_id": "abc" }))
        .await
        .assert_error(400, stale);
}

#[tokio::test]
async fn bot_commands_round_trip_per_scope_and_language() {
    let app = spawn_bot_app().await;
    let alice = chats().alice;
    let scope = json!({ "type": "chat", "chat_id": alice });
    let commands = json!([
        { "command": "start", "description": "Start over" },
        { "command": "help", "description": "What I can do" }
    ]);
    let set = json!({ "commands": commands, "scope": scope, "language_code": "en" });
    assert_eq!(app.post("setMyCommands", set).await.result(), &json!(true));
    let of = json!({ "scope": scope, "language_code": "en" });
    assert_eq!(
        app.post("getMyCommands", of.clone()).await.result(),
        &commands
    );
    // Another scope or language has its own (empty) list.
    assert_eq!(
        app.post("getMyCommands", json!({})).await.result(),
        &json!([])
    );
    let bot = Fixture::DEFAULT.bot;
    let stored = app.dc.with_world(|w| {
        w.bot_commands(bot, CommandScope::Peer(ChatRef::User(alice)), "en")
            .map(<[_]>::len)
    });
    assert_eq!(stored, Some(2));

    // Form bodies carry the list and the scope as JSON strings.
    let form = "commands=%5B%7B%22command%22%3A%22ping%22%2C%22description%22%3A%22Pong%22%7D%5D\
                &scope=%7B%22type%22%3A%22all_private_chats%22%7D";
    let reply = app
        .post_raw("setMyCommands", "application/x-www-form-urlencoded", form)
        .await;
    assert_eq!(reply.result(), &json!(true));
    let private = json!({ "scope": { "type": "all_private_chats" } });
    let listed = app.post("getMyCommands", private).await;
    assert_eq!(listed.result()[0]["command"], "ping");

    assert_eq!(
        app.post("deleteMyCommands", of.clone()).await.result(),
        &json!(true)
    );
    assert_eq!(app.post("getMyCommands", of).await.result(), &json!([]));
    let bad = json!({ "commands": [{ "command": "Start", "description": "x" }] });
    let refused = app.post("setMyCommands", bad).await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.description().contains("BOT_COMMAND_INVALID"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn bot_name_and_descriptions_round_trip() {
    let app = spawn_bot_app().await;
    let name = app.post("getMyName", json!({})).await;
    assert_eq!(name.result(), &json!({ "name": "Test Bot" }));
    let calls = [
        (
            "setMyName",
            json!({ "name": "Helfer", "language_code": "de" }),
        ),
        (
            "setMyDescription",
            json!({ "description": "Ich helfe.", "language_code": "de" }),
        ),
        (
            "setMyShortDescription",
            json!({ "short_description": "Hilft" , "language_code": "de"}),
        ),
    ];
    for (method, body) in calls {
        assert_eq!(
            app.post(method, body).await.result(),
            &json!(true),
            "{method}"
        );
    }
    let de = json!({ "language_code": "de" });
    assert_eq!(
        app.post("getMyName", de.clone()).await.result()["name"],
        "Helfer"
    );
    assert_eq!(
        app.post("getMyDescription", de.clone()).await.result()["description"],
        "Ich helfe."
    );
    assert_eq!(
        app.post("getMyShortDescription", de).await.result()["short_description"],
        "Hilft"
    );
    // The default language kept its own (none set).
    assert_eq!(
        app.post("getMyDescription", json!({})).await.result()["description"],
        ""
    );
    let profile = app
        .dc
        .with_world(|w| w.bot_profile(Fixture::DEFAULT.bot, "de").cloned())
        .unwrap();
    assert_eq!(profile.about.as_deref(), Some("Hilft"));
    let long = json!({ "name": "n".repeat(65) });
    app.post("setMyName", long)
        .await
        .assert_error(400, "Bad Request: name is longer than 64 characters");
}

#[tokio::test]
async fn bot_edits_the_inline_keyboard_and_testdc_keeps_it() {
    let app = spawn_bot_app().await;
    let alice = chats().alice;
    let sent = app
        .post(
            "sendMessage",
            json!({ "chat_id": alice, "text": "Vote?", "reply_markup": vote_keyboard() }),
        )
        .await
        .result()
        .clone();
    let id = &sent["message_id"];
    let closed = json!({ "inline_keyboard": [[{ "text": "Closed", "callback_data": "noop" }]] });
    let edit = json!({ "chat_id": alice, "message_id": id, "reply_markup": closed });
    let edited = app.post("editMessageReplyMarkup", edit.clone()).await;
    assert_eq!(edited.result()["reply_markup"], closed);
    assert_eq!(edited.result()["text"], "Vote?");
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(stored)) = stored_markup(&app, id) else {
        panic!("the new keyboard is stored");
    };
    let tl::enums::KeyboardInlineButtonRow::Row(row) = &stored.rows[0];
    let tl::enums::KeyboardInlineButton::Button(button) = &row.buttons[0];
    assert_eq!(button.text, "Closed");
    let again = app.post("editMessageReplyMarkup", edit).await;
    assert_eq!(again.status, 400);
    assert!(
        again
            .description()
            .starts_with("Bad Request: message is not modified")
    );

    // editMessageText keeps a keyboard given with it; without one the keyboard goes.
    let text = json!({ "chat_id": alice, "message_id": id, "text": "Results", "reply_markup": vote_keyboard() });
    let edited = app.post("editMessageText", text).await;
    assert_eq!(edited.result()["reply_markup"], vote_keyboard());
    let removed = app
        .post(
            "editMessageReplyMarkup",
            json!({ "chat_id": alice, "message_id": id }),
        )
        .await;
    assert!(removed.result().get("reply_markup").is_none());
    assert_eq!(stored_markup(&app, id), None);
}

#[tokio::test]
async fn bot_reply_keyboards_removal_and_force_reply_reach_testdc() {
    let app = spawn_bot_app().await;
    let alice = chats().alice;
    let send = |markup: Value| {
        let app = &app;
        async move {
            let body = json!({ "chat_id": alice, "text": "pick", "reply_markup": markup });
            let message = app.post("sendMessage", body).await.result().clone();
            // Only inline keyboards are part of the Bot API Message.
            assert!(message.get("reply_markup").is_none());
            stored_markup(app, &message["message_id"]).expect("stored")
        }
    };
    let keyboard = json!({
        "keyboard": [["Yes", "No"], [{ "text": "Share phone", "request_contact": true }]],
        "resize_keyboard": true, "one_time_keyboard": true, "is_persistent": true,
        "input_field_placeholder": "Your answer"
    });
    let tl::enums::ReplyMarkup::ReplyKeyboardMarkup(k) = send(keyboard).await else {
        panic!("a reply keyboard");
    };
    assert!(k.resize && k.single_use && k.persistent && !k.selective);
    assert_eq!(k.placeholder.as_deref(), Some("Your answer"));
    let tl::enums::KeyboardButtonRow::Row(second) = &k.rows[1];
    let tl::enums::KeyboardButton::Button(phone) = &second.buttons[0];
    assert!(matches!(phone.r#type, tl::enums::ButtonType::RequestPhone));

    let removal = send(json!({ "remove_keyboard": true, "selective": true })).await;
    assert!(matches!(
        removal,
        tl::enums::ReplyMarkup::ReplyKeyboardHide(h) if h.selective
    ));
    let force = send(json!({ "force_reply": true, "input_field_placeholder": "Why?" })).await;
    assert!(matches!(
        force,
        tl::enums::ReplyMarkup::ReplyKeyboardForceReply(f) if f.placeholder.as_deref() == Some("Why?")
    ));

    // Every send method takes it: a location, form-encoded with the markup as a JSON string.
    let form = format!(
        "chat_id={alice}&latitude=52.5&longitude=13.4&reply_markup={}",
        urlencode(&vote_keyboard().to_string())
    );
    let located = app
        .post_raw("sendLocation", "application/x-www-form-urlencoded", &form)
        .await;
    assert_eq!(located.result()["reply_markup"], vote_keyboard());
    assert!(stored_markup(&app, &located.result()["message_id"]).is_some());

    // Multipart bodies carry it as a JSON string too.
    let form = crate::media_helpers::form_with_file(alice, "photo", "photo.jpg", "image/jpeg")
        .text("reply_markup", vote_keyboard().to_string());
    let photo = app.post_multipart("sendPhoto", form).await;
    assert_eq!(photo.result()["reply_markup"], vote_keyboard());
    assert!(photo.result()["photo"].is_array());

    // copyMessage sets an inline keyboard on the copy; other kinds can't go on a copy.
    let original = app.send_text(alice, "copy me").await;
    let copy = json!({ "chat_id": alice, "from_chat_id": alice,
        "message_id": original["message_id"], "reply_markup": vote_keyboard() });
    let copied = app.post("copyMessage", copy).await;
    let copy_id = &copied.result()["message_id"];
    assert!(matches!(
        stored_markup(&app, copy_id),
        Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(_))
    ));
    let copy = json!({ "chat_id": alice, "from_chat_id": alice,
        "message_id": original["message_id"], "reply_markup": { "remove_keyboard": true } });
    app.post("copyMessage", copy).await.assert_error(
        400,
        "Bad Request: copyMessage supports only an inline keyboard as reply_markup",
    );
}

#[tokio::test]
async fn bot_refuses_bad_reply_markup_with_the_rule() {
    let app = spawn_bot_app().await;
    let alice = chats().alice;
    let send = |markup: Value| {
        app.post(
            "sendMessage",
            json!({ "chat_id": alice, "text": "x", "reply_markup": markup }),
        )
    };
    let long = "d".repeat(65);
    let too_long =
        send(json!({ "inline_keyboard": [[{ "text": "a", "callback_data": long }]] })).await;
    too_long.assert_error(
        400,
        "Bad Request: field \"reply_markup\": button [0][0]: BUTTON_DATA_INVALID: callback_data \
         is 65 bytes, 1-64 are allowed",
    );
    let sent = app.send_text(alice, "to edit").await;
    let edit = json!({ "chat_id": alice, "message_id": sent["message_id"],
        "reply_markup": { "inline_keyboard": [[{ "text": "a", "callback_data": "d".repeat(65) }]] } });
    let refused = app.post("editMessageReplyMarkup", edit).await;
    assert_eq!(refused.description(), too_long.description());
    let no_kind = send(json!({ "text": "a" })).await;
    assert_eq!(no_kind.status, 400);
    assert!(
        no_kind
            .description()
            .contains("can't parse reply keyboard markup JSON object"),
        "{no_kind:?}"
    );
    let form = format!("chat_id={alice}&text=x&reply_markup=%7Binline_keyboard");
    let malformed = app
        .post_raw("sendMessage", "application/x-www-form-urlencoded", &form)
        .await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.description().starts_with(
            "Bad Request: field \"reply_markup\": can't parse an object from a JSON string"
        ),
        "{malformed:?}"
    );
    assert!(app.dc.history(alice).unwrap().iter().all(|m| m.text != "x"));
}

#[tokio::test]
async fn user_account_is_refused_bot_methods_and_its_markup_is_dropped() {
    let app = spawn_app().await;
    let alice = chats().alice;
    for (method, body) in [
        ("answerCallbackQuery", json!({ "callback_query_id": "1" })),
        ("setMyCommands", json!({ "commands": [] })),
        ("getMyName", json!({})),
        (
            "editMessageReplyMarkup",
            json!({ "chat_id": alice, "message_id": 1 }),
        ),
    ] {
        app.post(method, body)
            .await
            .assert_error(400, ONLY_FOR_BOTS);
    }
    // Telegram drops a user's keyboard: the message is sent, without it.
    let body = json!({ "chat_id": alice, "text": "keyboard?", "reply_markup": vote_keyboard() });
    let sent = app.post("sendMessage", body).await.result().clone();
    assert_eq!(sent["text"], "keyboard?");
    assert!(sent.get("reply_markup").is_none());
    assert_eq!(stored_markup(&app, &sent["message_id"]), None);
}

/// Percent-encodes everything but unreserved characters (`application/x-www-form-urlencoded`).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Bot API 10.3: a disabled button and the inline keyboard's `force_reply` reach Telegram
/// (testdc stores them) and come back in the sent Message (checked against the 10.3 spec).
#[tokio::test]
async fn bot_sends_a_10_3_keyboard_with_a_disabled_button_and_force_reply() {
    let app = spawn_bot_app().await;
    let keyboard = json!({
        "inline_keyboard": [[
            { "text": "Sold out", "disabled": {} },
            { "text": "Notify me", "callback_data": "notify" }
        ]],
        "force_reply": true
    });
    let body = json!({ "chat_id": chats().alice, "text": "Tickets", "reply_markup": keyboard });
    let sent = app.post("sendMessage", body).await.result().clone();
    assert_eq!(sent["reply_markup"], keyboard);
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(stored)) =
        stored_markup(&app, &sent["message_id"])
    else {
        panic!("the keyboard is stored");
    };
    assert!(stored.force_reply);
    let tl::enums::KeyboardInlineButtonRow::Row(row) = &stored.rows[0];
    let tl::enums::KeyboardInlineButton::Button(first) = &row.buttons[0];
    assert_eq!(first.r#type, tl::enums::InlineButtonType::Disabled);
}
