"""python-telegram-bot, unchanged but for its base URL, driven against the sender.

Run by crates/sender/tests/it/clients.rs. Environment:
  SENDER_ROOT   http://127.0.0.1:PORT (the sender)
  BOT_TOKEN     X_API_TOKEN, <digits>:<secret>
  CHAT_ID       chat to write to
  PHOTO_PATH    a JPEG to upload
  VOICE_URL     an OGG/Opus voice note the sender downloads
  FLOOD_SECONDS the first sendMessage must fail with RetryAfter of this many seconds

Prints one JSON line with the message ids it created; exits non-zero on any surprise.
"""

import asyncio
import json
import os
import sys

import telegram
from telegram import Bot, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import RetryAfter


def check(condition, what):
    if not condition:
        sys.exit(f"ptb_check: {what}")


async def main():
    root = os.environ["SENDER_ROOT"]
    token = os.environ["BOT_TOKEN"]
    chat_id = int(os.environ["CHAT_ID"])
    flood_seconds = int(os.environ["FLOOD_SECONDS"])
    check(telegram.__version__.startswith("22."), f"version {telegram.__version__}")

    bot = Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot")
    async with bot:  # initialize() calls getMe
        me = await bot.get_me()
        check(me.id == bot.id == int(token.split(":")[0]), f"getMe id {me.id}")
        check(me.is_bot is False and me.username, f"getMe {me}")

        try:
            await bot.send_message(chat_id, "flood probe")
            check(False, "the first sendMessage should have hit the flood wait")
        except RetryAfter as error:
            retry = error.retry_after
            seconds = retry.total_seconds() if hasattr(retry, "total_seconds") else retry
            check(seconds == flood_seconds, f"retry_after {retry!r}")

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

        with open(os.environ["PHOTO_PATH"], "rb") as photo_file:
            photo = await bot.send_photo(chat_id, photo=photo_file, caption="a photo")
        check(photo.photo and photo.photo[-1].width > 0, f"photo {photo.photo}")

        voice = await bot.send_voice(chat_id, voice=os.environ["VOICE_URL"])
        check(voice.voice and voice.voice.duration >= 1, f"voice {voice.voice}")

        edited = await bot.edit_message_text(
            "edited <b>text</b>",
            chat_id=chat_id,
            message_id=answer.message_id,
            parse_mode=ParseMode.HTML,
        )
        check(edited.text == "edited text", f"edited {edited.text!r}")

        deleted = await bot.delete_message(chat_id, question.message_id)
        check(deleted is True, f"deleteMessage {deleted!r}")

        ids = {
            "question": question.message_id,
            "answer": answer.message_id,
            "photo": photo.message_id,
            "voice": voice.message_id,
        }
        print(json.dumps(ids))


if __name__ == "__main__":
    asyncio.run(main())
