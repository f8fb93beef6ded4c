//! Every method of the sender's table called once against testdc, each `result` checked
//! against the Bot API spec (`helpers::TestApp::send` does the check), so every type the
//! sender emits is covered: User, Message with each kind of content, MessageId, ChatFullInfo
//! of each chat type, File, Poll, ….

use std::collections::BTreeSet;

use reqwest::multipart::Form;
use serde_json::{Value, json};
use testdc::SendText;
use testkit::botapi_spec::spec;

use crate::helpers::{API_KEY, TestApp, chats, spawn_app};
use crate::media_helpers::form_with_file;

/// The sender with the calls made so far, by lowercase method name.
struct Calls {
    app: TestApp,
    called: BTreeSet<String>,
}

impl Calls {
    /// `method` with a JSON body; its result (already checked against the spec).
    async fn json(&mut self, method: &str, body: Value) -> Value {
        self.called.insert(method.to_ascii_lowercase());
        self.app.post(method, body).await.result().clone()
    }

    /// `method` with a multipart body.
    async fn form(&mut self, method: &str, form: Form) -> Value {
        self.called.insert(method.to_ascii_lowercase());
        self.app.post_multipart(method, form).await.result().clone()
    }

    /// `method` with the fixture `file` uploaded as `part` to `chat_id`.
    async fn upload(&mut self, method: &str, part: &str, file: &str, mime: &str) -> Value {
        let form = form_with_file(chats().alice, part, file, mime).text("caption", "<i>c</i>");
        self.form(method, form.text("parse_mode", "HTML")).await
    }

    /// An incoming message from Alice; its id.
    fn alice_says(&self, text: &str) -> i64 {
        self.incoming(None, chats().alice, text)
    }

    /// An incoming message in `chat_id` (from `from`, a user id, where the chat has several
    /// senders); its id.
    fn incoming(&self, from: Option<i64>, chat_id: i64, text: &str) -> i64 {
        let sent = self.app.dc.send_text(SendText {
            from,
            chat_id,
            text: text.into(),
            reply_to_message_id: None,
        });
        i64::from(sent.unwrap().message_id)
    }
}

fn id(message: &Value) -> i64 {
    message["message_id"].as_i64().unwrap()
}

#[tokio::test]
async fn every_method_of_the_table_answers_as_the_spec_says() {
    let mut calls = Calls {
        app: spawn_app().await,
        called: BTreeSet::new(),
    };
    let c = chats();
    messages(&mut calls).await;
    media(&mut calls).await;
    content(&mut calls).await;
    forwarding_and_management(&mut calls).await;
    for chat in [c.alice, c.bob, c.group, c.supergroup, c.channel] {
        calls.json("getChat", json!({ "chat_id": chat })).await;
    }
    calls.json("getChat", json!({ "chat_id": "@alice" })).await;
    calls
        .json("setWebhook", json!({ "url": "https://example.com/hook" }))
        .await;
    calls.json("getWebhookInfo", json!({})).await;
    calls.json("deleteWebhook", json!({})).await;
    calls.json("getUpdates", json!({ "timeout": 0 })).await;
    // The history of every chat the calls above wrote to: incoming, forwarded, media, polls.
    for chat in [c.alice, c.group, c.supergroup, c.channel] {
        let body = json!({ "chat_id": chat, "limit": 100 });
        calls.json("getChatHistory", body).await;
    }
    let body = json!({ "chat_id": c.alice, "query": "hello" });
    calls.json("searchChatMessages", body).await;
    calls
        .json("readChatHistory", json!({ "chat_id": c.alice }))
        .await;
    calls.json("getChats", json!({ "limit": 100 })).await;

    for method in sender::routes::table::methods() {
        let name = method.name.to_ascii_lowercase();
        if method.family == "bot" {
            // Bot-session methods: a user account gets Telegram's refusal; their results are
            // spec-checked by the bot-session tests (`bot_session.rs`, through the same helper).
            let reply = calls.app.post(method.name, json!({})).await;
            assert_eq!(reply.status, 400, "{}: {:?}", method.name, reply.body);
            assert_eq!(
                reply.body["description"], "Bad Request: method is available only for bots",
                "{}",
                method.name
            );
            continue;
        }
        if method.result.is_none() {
            // Bot-only methods: always the error envelope, never a result.
            let reply = calls.app.post(method.name, json!({})).await;
            assert_eq!(reply.status, 400, "{}: {:?}", method.name, reply.body);
            continue;
        }
        assert!(
            calls.called.contains(&name),
            "{} is in the table but this test never calls it",
            method.name
        );
        assert!(
            spec().returns(method.name).is_some(),
            "{} is neither in the spec nor a documented extension",
            method.name
        );
    }
}

async fn messages(calls: &mut Calls) {
    let alice = chats().alice;
    let incoming = calls.alice_says("hello there");
    let body = json!({
        "chat_id": alice,
        "text": "<b>bold</b> <a href=\"https://example.com\">link</a> @alice #tag",
        "parse_mode": "HTML",
        "reply_parameters": { "message_id": incoming },
        "link_preview_options": { "is_disabled": true },
    });
    let sent = calls.json("sendMessage", body).await;
    assert!(sent["reply_to_message"].is_object(), "{sent}");
    let body = json!({ "chat_id": alice, "message_id": id(&sent), "text": "edited *x*", "parse_mode": "MarkdownV2" });
    calls.json("editMessageText", body).await;
    let doomed = calls.app.send_text(alice, "delete me").await;
    let body = json!({ "chat_id": alice, "message_id": id(&doomed) });
    calls.json("deleteMessage", body).await;
    calls.json("getMe", json!({})).await;
    // The Bot API URL layout answers the same.
    let request = calls
        .app
        .client
        .get(calls.app.url(&format!("/bot{API_KEY}/getMe")));
    calls.app.send(request).await.result();
}

async fn media(calls: &mut Calls) {
    let document = calls
        .upload(
            "sendDocument",
            "document",
            "document.pdf",
            "application/pdf",
        )
        .await;
    let file_id = document["document"]["file_id"].as_str().unwrap().to_owned();
    calls.json("getFile", json!({ "file_id": file_id })).await;
    let photo = calls
        .upload("sendPhoto", "photo", "photo.jpg", "image/jpeg")
        .await;
    calls
        .upload("sendAudio", "audio", "song.mp3", "audio/mpeg")
        .await;
    calls
        .upload("sendVoice", "voice", "voice.ogg", "audio/ogg")
        .await;
    calls
        .upload("sendVideo", "video", "video.mp4", "video/mp4")
        .await;
    calls
        .upload("sendAnimation", "animation", "animation.mp4", "video/mp4")
        .await;
    let form = form_with_file(chats().alice, "video_note", "round.mp4", "video/mp4");
    calls.form("sendVideoNote", form).await;
    let form = form_with_file(chats().alice, "sticker", "sticker.webp", "image/webp");
    calls.form("sendSticker", form).await;
    let photo_id = photo["photo"][0]["file_id"].as_str().unwrap();
    let body = json!({
        "chat_id": chats().alice,
        "media": [
            { "type": "photo", "media": photo_id, "caption": "one" },
            { "type": "photo", "media": photo_id },
        ],
    });
    calls.json("sendMediaGroup", body).await;
    let body = json!({
        "chat_id": chats().alice,
        "message_id": id(&photo),
        "media": { "type": "document", "media": file_id, "caption": "now a pdf" },
    });
    calls.json("editMessageMedia", body).await;
    let body = json!({ "chat_id": chats().alice, "message_id": id(&photo), "caption": "new" });
    calls.json("editMessageCaption", body).await;
}

async fn content(calls: &mut Calls) {
    let group = chats().group;
    let body = json!({ "chat_id": group, "latitude": 52.52, "longitude": 13.405 });
    calls.json("sendLocation", body).await;
    let body = json!({
        "chat_id": group, "latitude": 48.8584, "longitude": 2.2945,
        "title": "Eiffel Tower", "address": "Champ de Mars",
    });
    calls.json("sendVenue", body).await;
    let body = json!({ "chat_id": group, "phone_number": "+15551234567", "first_name": "Dora" });
    calls.json("sendContact", body).await;
    let body = json!({
        "chat_id": group, "question": "Lunch?", "options": ["Pizza", { "text": "Sushi" }],
        "is_anonymous": false, "allows_multiple_answers": true,
    });
    calls.json("sendPoll", body).await;
    let body = json!({
        "chat_id": chats().supergroup, "question": "2+2?", "options": ["3", "4", "5"],
        "type": "quiz", "correct_option_id": 1, "explanation": "arithmetic",
    });
    calls.json("sendPoll", body).await;
    calls.json("sendDice", json!({ "chat_id": group })).await;
    let body = json!({ "chat_id": group, "action": "typing" });
    calls.json("sendChatAction", body).await;
}

async fn forwarding_and_management(calls: &mut Calls) {
    let c = chats();
    let first = calls.alice_says("forward me");
    let second = calls.alice_says("and me");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_id": first });
    calls.json("forwardMessage", body).await;
    // Forward origins of the other kinds: a channel post, a group member's message.
    let post = calls.incoming(None, c.channel, "a channel post");
    let body = json!({ "chat_id": c.group, "from_chat_id": c.channel, "message_id": post });
    calls.json("forwardMessage", body).await;
    let said = calls.incoming(Some(c.bob), c.supergroup, "bob in the supergroup");
    let body = json!({ "chat_id": c.alice, "from_chat_id": c.supergroup, "message_id": said });
    calls.json("forwardMessage", body).await;
    let body =
        json!({ "chat_id": c.group, "from_chat_id": c.alice, "message_ids": [first, second] });
    calls.json("forwardMessages", body).await;
    let body = json!({ "chat_id": c.supergroup, "from_chat_id": c.alice, "message_id": first });
    calls.json("copyMessage", body).await;
    let body =
        json!({ "chat_id": c.supergroup, "from_chat_id": c.alice, "message_ids": [first, second] });
    calls.json("copyMessages", body).await;
    let pinned = calls.app.send_text(c.group, "pin me").await;
    let body = json!({ "chat_id": c.group, "message_id": id(&pinned) });
    calls.json("pinChatMessage", body.clone()).await;
    calls.json("unpinChatMessage", body.clone()).await;
    calls
        .json("unpinAllChatMessages", json!({ "chat_id": c.group }))
        .await;
    let body = json!({
        "chat_id": c.group, "message_id": id(&pinned),
        "reaction": [{ "type": "emoji", "emoji": "👍" }],
    });
    calls.json("setMessageReaction", body).await;
    let doomed = calls.app.send_text(c.group, "delete us").await;
    let body = json!({ "chat_id": c.group, "message_ids": [id(&doomed)] });
    calls.json("deleteMessages", body).await;
}
