//! teloxide (0.17, teloxide-core 0.13), unchanged but for its API URL and token, driven against
//! the sender: `teloxide-check` runs the request cases (the environment is described in
//! `../README.md`, the same for every client-library script) and prints one JSON line with the
//! message ids it made; `teloxide-check poll` runs teloxide's own long-polling loop (see
//! `poll.rs`). Any surprise exits non-zero with a message on stderr.

mod poll;

use std::env;
use std::process::ExitCode;

use teloxide::RequestError;
use teloxide::net::Download as _;
use teloxide::prelude::*;
use teloxide::types::{
    ChatAction, InputFile, InputMedia, InputMediaPhoto, MessageEntityKind, ParseMode,
    ReplyParameters,
};

/// An error to print: what went wrong, in words.
type Failure = String;

fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if condition { Ok(()) } else { Err(what()) }
}

fn var(name: &str) -> Result<String, Failure> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

fn chat(name: &str) -> Result<ChatId, Failure> {
    var(name)?
        .parse()
        .map(ChatId)
        .map_err(|e| format!("{name}: {e}"))
}

/// The bot, pointed at `SENDER_ROOT` with `BOT_TOKEN`.
fn bot() -> Result<Bot, Failure> {
    let root = var("SENDER_ROOT")?;
    let url: url::Url = root
        .parse()
        .map_err(|e| format!("SENDER_ROOT {root}: {e}"))?;
    Ok(Bot::new(var("BOT_TOKEN")?).set_api_url(url))
}

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match env::args().nth(1).as_deref() {
        Some("poll") => poll::run().await,
        None => checks().await,
        Some(other) => Err(format!("unknown mode {other}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("teloxide_check: {failure}");
            ExitCode::FAILURE
        }
    }
}

async fn checks() -> Result<(), Failure> {
    let bot = bot()?;
    let chat_id = chat("CHAT_ID")?;
    let other = chat("OTHER_CHAT_ID")?;
    let fail = |what: &'static str| move |e: RequestError| format!("{what}: {e:?}");

    let me = bot.get_me().await.map_err(fail("getMe"))?;
    let token_id: u64 = var("BOT_TOKEN")?
        .split(':')
        .next()
        .and_then(|digits| digits.parse().ok())
        .ok_or("BOT_TOKEN has no numeric id")?;
    check(me.id.0 == token_id && !me.is_bot, || {
        format!("getMe {me:?}")
    })?;
    check(me.username.is_some(), || format!("getMe {me:?}"))?;

    match bot.send_message(chat("FLOOD_CHAT_ID")?, "flood probe").await {
        Err(RequestError::RetryAfter(seconds)) => {
            let expected: u32 = var("FLOOD_SECONDS")?.parse().map_err(|_| "FLOOD_SECONDS")?;
            check(seconds.seconds() == expected, || {
                format!("retry_after {seconds:?}")
            })?;
        }
        other => return Err(format!("expected RetryAfter, got {other:?}")),
    }

    match bot.send_message(chat("UNKNOWN_CHAT_ID")?, "nobody").await {
        Err(RequestError::Api(teloxide::ApiError::ChatNotFound)) => {}
        other => return Err(format!("expected ApiError::ChatNotFound, got {other:?}")),
    }

    let question = bot
        .send_message(chat_id, "<b>question</b> 🙂")
        .parse_mode(ParseMode::Html)
        .await
        .map_err(fail("sendMessage"))?;
    check(question.text() == Some("question 🙂"), || {
        format!("{question:?}")
    })?;
    let bold = question
        .entities()
        .and_then(|e| e.first())
        .is_some_and(|e| e.kind == MessageEntityKind::Bold);
    check(bold, || format!("entities {:?}", question.entities()))?;

    let answer = bot
        .send_message(chat_id, "<i>answer</i>")
        .parse_mode(ParseMode::Html)
        .reply_parameters(ReplyParameters::new(question.id))
        .await
        .map_err(fail("sendMessage reply"))?;
    let replied = answer.reply_to_message().map(|m| m.id) == Some(question.id);
    check(replied, || format!("reply_to_message {answer:?}"))?;

    let photo = bot
        .send_photo(chat_id, InputFile::file(var("PHOTO_PATH")?))
        .caption("a photo")
        .await
        .map_err(fail("sendPhoto"))?;
    let width = photo.photo().and_then(|p| p.last()).map(|p| p.width);
    check(width.is_some_and(|w| w > 0), || format!("photo {photo:?}"))?;

    let voice = bot
        .send_voice(chat_id, InputFile::file(var("VOICE_PATH")?))
        .await
        .map_err(fail("sendVoice"))?;
    let seconds = voice.voice().map(|v| v.duration.seconds());
    check(seconds.is_some_and(|s| s >= 1), || {
        format!("voice {voice:?}")
    })?;

    let document = bot
        .send_document(chat_id, InputFile::file(var("DOCUMENT_PATH")?))
        .caption("a document")
        .await
        .map_err(fail("sendDocument"))?;
    let file_id = document
        .document()
        .map(|d| d.file.id.clone())
        .ok_or_else(|| format!("document {document:?}"))?;

    let edited = bot
        .edit_message_text(chat_id, answer.id, "edited <b>text</b>")
        .parse_mode(ParseMode::Html)
        .await
        .map_err(fail("editMessageText"))?;
    check(edited.text() == Some("edited text"), || {
        format!("{edited:?}")
    })?;

    bot.delete_message(chat_id, question.id)
        .await
        .map_err(fail("deleteMessage"))?;

    let photo_path = var("PHOTO_PATH")?;
    let album = bot
        .send_media_group(
            chat_id,
            [
                InputMedia::Photo(
                    InputMediaPhoto::new(InputFile::file(&photo_path)).caption("album"),
                ),
                InputMedia::Photo(InputMediaPhoto::new(InputFile::file(&photo_path))),
            ],
        )
        .await
        .map_err(fail("sendMediaGroup"))?;
    let grouped = album.len() == 2 && album[0].media_group_id().is_some();
    check(grouped, || format!("album {album:?}"))?;

    let forward = bot
        .forward_message(other, chat_id, photo.id)
        .await
        .map_err(fail("forwardMessage"))?;
    let forwarded = forward.forward_origin().is_some() && forward.photo().is_some();
    check(forwarded, || format!("forward {forward:?}"))?;

    let copy = bot
        .copy_message(other, chat_id, answer.id)
        .await
        .map_err(fail("copyMessage"))?;

    bot.send_chat_action(chat_id, ChatAction::Typing)
        .await
        .map_err(fail("sendChatAction"))?;

    let location = bot
        .send_location(chat_id, 52.52, 13.405)
        .await
        .map_err(fail("sendLocation"))?;
    let latitude = location.location().map(|l| l.latitude);
    check(latitude == Some(52.52), || format!("location {location:?}"))?;

    let info = bot.get_chat(chat_id).await.map_err(fail("getChat"))?;
    check(info.id == chat_id && info.is_private(), || {
        format!("getChat {info:?}")
    })?;

    let file = bot.get_file(file_id).await.map_err(fail("getFile"))?;
    let mut out = tokio::fs::File::create(var("DOWNLOAD_PATH")?)
        .await
        .map_err(|e| format!("DOWNLOAD_PATH: {e}"))?;
    bot.download_file(&file.path, &mut out)
        .await
        .map_err(|e| format!("download_file: {e:?}"))?;
    tokio::io::AsyncWriteExt::flush(&mut out)
        .await
        .map_err(|e| format!("DOWNLOAD_PATH: {e}"))?;

    let poll = bot
        .send_poll(chat_id, "Which?", ["yes".into(), "no".into()])
        .await
        .map_err(fail("sendPoll"))?;
    let options: Vec<&str> = poll
        .poll()
        .map(|p| p.options.iter().map(|o| o.text.as_str()).collect())
        .unwrap_or_default();
    check(options == ["yes", "no"], || format!("poll {poll:?}"))?;

    let summary = serde_json::json!({
        "question": question.id.0,
        "answer": answer.id.0,
        "photo": photo.id.0,
        "voice": voice.id.0,
        "document": document.id.0,
        "album": album.iter().map(|m| m.id.0).collect::<Vec<_>>(),
        "forward": forward.id.0,
        "copy": copy.0,
        "location": location.id.0,
        "poll": poll.id.0,
        "chat_first_name": info.first_name(),
    });
    println!("{summary}");
    Ok(())
}
