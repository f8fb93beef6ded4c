"""python-telegram-bot, unchanged but for its base URL, driven against the sender.

Run by crates/sender/tests/it/clients.rs, which checks in testdc what each step did. Environment
(the same for every client-library script, see README.md in this folder):
  SENDER_ROOT      http://127.0.0.1:PORT (the sender)
  BOT_TOKEN        X_API_TOKEN, <digits>:<secret>
  CHAT_ID          chat to write to
  OTHER_CHAT_ID    chat to forward and copy to
  UNKNOWN_CHAT_ID  a chat that does not exist
  FLOOD_CHAT_ID    the chat of the flood-wait case (its own, since the send queue then parks it)
  PHOTO_PATH, VOICE_PATH, DOCUMENT_PATH   files to upload
  DOWNLOAD_PATH    where to write the document fetched back with getFile + the download helper
  FLOOD_SECONDS    the first sendMessage must fail with RetryAfter of this many seconds

Prints one JSON line with the message ids it created; exits non-zero on any surprise.
"""

import asyncio
import json
import os
import sys

import telegram
from telegram import Bot, InputMediaPhoto, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, RetryAfter


def check(condition, what):
    if not condition:
        sys.exit(f"ptb_check: {what}")


async def main():
    env = os.environ
    root = env["SENDER_ROOT"]
    token = env["BOT_TOKEN"]
    chat_id = int(env["CHAT_ID"])
    other_chat_id = int(env["OTHER_CHAT_ID"])
    check(telegram.__version__.startswith("22."), f"version {telegram.__version__}")

    bot = Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
    async with bot:  # initialize() calls getMe
        me = await bot.get_me()
        check(me.id == bot.id == int(token.split(":")[0]), f"getMe id {me.id}")
        check(me.is_bot is False and me.username, f"getMe {me}")

        try:
            await bot.send_message(int(env["FLOOD_CHAT_ID"]), "flood probe")
            check(False, "the first sendMessage should have hit the flood wait")
        except RetryAfter as error:
            retry = error.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else retry
            check(seconds == int(env["FLOOD_SECONDS"]), f"retry_after {retry!r}")

        try:
            await bot.send_message(int(env["UNKNOWN_CHAT_ID"]), "nobody")
            check(False, "an unknown chat should be a BadRequest")
        except BadRequest as error:
            check("chat not found" in error.message.lower(), f"BadRequest {error.message!r}")

        question = await bot.send_message(chat_id, "<b>question</b> 🙂", parse_mode=ParseMode.HTML)
        check(question.text == "question 🙂", f"text {question.text!r}")
        check(question.entities[0].type == "bold", f"entities {question.entities}")

        answer = await bot.send_message(
            chat_id,
            "<i>answer</i>",
            parse_mode=ParseMode.HTML,
            reply_parameters=ReplyParameters(message_id=question.message_id),
        )
        check(answer.reply_to_message.message_id == question.message_id, "reply_to_message")

        with open(env["PHOTO_PATH"], "rb") as photo_file:
            photo = await bot.send_photo(chat_id, photo=photo_file, caption="a photo")
        check(photo.photo and photo.photo[-1].width > 0, f"photo {photo.photo}")

        with open(env["VOICE_PATH"], "rb") as voice_file:
            voice = await bot.send_voice(chat_id, voice=voice_file)
        check(voice.voice and voice.voice.duration >= 1, f"voice {voice.voice}")

        with open(env["DOCUMENT_PATH"], "rb") as document_file:
            document = await bot.send_document(chat_id, document=document_file, caption="a document")
        check(document.document and document.document.file_id, f"document {document.document}")

        edited = await bot.edit_message_text(
            "edited <b>text</b>",
            chat_id=chat_id,
            message_id=answer.message_id,
            parse_mode=ParseMode.HTML,
        )
        check(edited.text == "edited text", f"edited {edited.text!r}")

        deleted = await bot.delete_message(chat_id, question.message_id)
        check(deleted is True, f"deleteMessage {deleted!r}")

        with open(env["PHOTO_PATH"], "rb") as first, open(env["PHOTO_PATH"], "rb") as second:
            album = await bot.send_media_group(
                chat_id,
                media=[InputMediaPhoto(first, caption="album"), InputMediaPhoto(second)],
            )
        check(len(album) == 2 and album[0].media_group_id, f"album {album}")

        forward = await bot.forward_message(other_chat_id, chat_id, photo.message_id)
        check(forward.forward_origin is not None and forward.photo, f"forward {forward}")

        copy = await bot.copy_message(other_chat_id, chat_id, answer.message_id)
        check(copy.message_id > 0, f"copy {copy}")

        action = await bot.send_chat_action(chat_id, ChatAction.TYPING)
        check(action is True, f"sendChatAction {action!r}")

        location = await bot.send_location(chat_id, latitude=52.52, longitude=13.405)
        check(location.location.latitude == 52.52, f"location {location.location}")

        chat = await bot.get_chat(chat_id)
        check(chat.id == chat_id and chat.type == "private", f"getChat {chat}")

        file = await bot.get_file(document.document.file_id)
        await file.download_to_drive(env["DOWNLOAD_PATH"])

        poll = await bot.send_poll(chat_id, "Which?", ["yes", "no"])
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
    asyncio.run(main())
