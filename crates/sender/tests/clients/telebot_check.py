"""pyTelegramBotAPI 4 (the synchronous TeleBot), unchanged but for its API URLs and token, driven
against the sender. It sends every parameter in the query string of a POST with an empty body.

Run by crates/sender/tests/it/clients.rs with the environment described in README.md (the same
for every script). Prints one JSON line with the message ids it created; exits non-zero on any
surprise.
"""

import json
import os
import sys

import telebot
from telebot import apihelper, types
from telebot.apihelper import ApiTelegramException
from telebot.version import __version__


def check(condition, what):
    if not condition:
        sys.exit(f"telebot_check: {what}")


def main():
    env = os.environ
    root = env["SENDER_ROOT"]
    token = env["BOT_TOKEN"]
    chat_id = int(env["CHAT_ID"])
    other_chat_id = int(env["OTHER_CHAT_ID"])
    check(__version__.startswith("4."), f"version {__version__}")

    # The library's documented way to use another Bot API server.
    apihelper.API_URL = root + "/bot{0}/{1}"
    apihelper.FILE_URL = root + "/file/bot{0}/{1}"
    bot = telebot.TeleBot(token)

    me = bot.get_me()
    check(me.id == bot.user.id == int(token.split(":")[0]), f"getMe id {me.id}")
    check(me.is_bot is False and me.username, f"getMe {me}")

    try:
        bot.send_message(int(env["FLOOD_CHAT_ID"]), "flood probe")
        check(False, "the first sendMessage should have hit the flood wait")
    except ApiTelegramException as error:
        retry_after = error.result_json.get("parameters", {}).get("retry_after")
        check(error.error_code == 429, f"error_code {error.error_code}")
        check(retry_after == int(env["FLOOD_SECONDS"]), f"retry_after {retry_after!r}")

    try:
        bot.send_message(int(env["UNKNOWN_CHAT_ID"]), "nobody")
        check(False, "an unknown chat should be an ApiTelegramException")
    except ApiTelegramException as error:
        check(error.error_code == 400, f"error_code {error.error_code}")
        check("chat not found" in error.description.lower(), f"description {error.description!r}")

    question = bot.send_message(chat_id, "<b>question</b> 🙂", parse_mode="HTML")
    check(question.text == "question 🙂", f"text {question.text!r}")
    check(question.entities[0].type == "bold", f"entities {question.entities}")

    answer = bot.send_message(
        chat_id,
        "<i>answer</i>",
        parse_mode="HTML",
        reply_parameters=types.ReplyParameters(message_id=question.message_id),
    )
    check(answer.reply_to_message.message_id == question.message_id, "reply_to_message")

    with open(env["PHOTO_PATH"], "rb") as photo_file:
        photo = bot.send_photo(chat_id, photo_file, caption="a photo")
    check(photo.photo and photo.photo[-1].width > 0, f"photo {photo.photo}")

    with open(env["VOICE_PATH"], "rb") as voice_file:
        voice = bot.send_voice(chat_id, voice_file)
    check(voice.voice and voice.voice.duration >= 1, f"voice {voice.voice}")

    with open(env["DOCUMENT_PATH"], "rb") as document_file:
        document = bot.send_document(chat_id, document_file, caption="a document")
    check(document.document and document.document.file_id, f"document {document.document}")

    edited = bot.edit_message_text(
        "edited <b>text</b>", chat_id=chat_id, message_id=answer.message_id, parse_mode="HTML"
    )
    check(edited.text == "edited text", f"edited {edited.text!r}")

    deleted = bot.delete_message(chat_id, question.message_id)
    check(deleted is True, f"deleteMessage {deleted!r}")

    with open(env["PHOTO_PATH"], "rb") as first, open(env["PHOTO_PATH"], "rb") as second:
        album = bot.send_media_group(
            chat_id,
            [types.InputMediaPhoto(first, caption="album"), types.InputMediaPhoto(second)],
        )
    check(len(album) == 2 and album[0].media_group_id, f"album {album}")

    forward = bot.forward_message(other_chat_id, chat_id, photo.message_id)
    check(forward.forward_origin is not None and forward.photo, f"forward {forward}")

    copy = bot.copy_message(other_chat_id, chat_id, answer.message_id)
    check(copy.message_id > 0, f"copy {copy}")

    action = bot.send_chat_action(chat_id, "typing")
    check(action is True, f"sendChatAction {action!r}")

    location = bot.send_location(chat_id, 52.52, 13.405)
    check(location.location.latitude == 52.52, f"location {location.location}")

    chat = bot.get_chat(chat_id)
    check(chat.id == chat_id and chat.type == "private", f"getChat {chat}")

    file = bot.get_file(document.document.file_id)
    with open(env["DOWNLOAD_PATH"], "wb") as out:
        out.write(bot.download_file(file.file_path))

    poll = bot.send_poll(chat_id, "Which?", ["yes", "no"])
    check([o.text for o in poll.poll.options] == ["yes", "no"], f"poll {poll.poll}")

    print(
        json.dumps(
            {
                "question": question.message_id,
                "answer": answer.message_id,
                "photo": photo.message_id,
                "voice": voice.message_id,
                "document": document.message_id,
                "album": [m.message_id for m in album],
                "forward": forward.message_id,
                "copy": copy.message_id,
                "location": location.message_id,
                "poll": poll.message_id,
                "chat_first_name": chat.first_name,
            }
        )
    )


if __name__ == "__main__":
    main()
