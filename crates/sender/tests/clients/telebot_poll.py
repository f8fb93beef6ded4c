"""pyTelegramBotAPI's own polling loop (TeleBot.infinity_polling) against the gateway.

Run by crates/e2e/tests/it/polling.rs with SENDER_ROOT and BOT_TOKEN (see README.md). The handler
answers the first text starting with "ping" with "pong: <text>" as a reply to it, prints one JSON
line {"answered": <message id>} and stops the loop; other updates are left alone.
"""

import json
import os

import telebot
from telebot import apihelper, types


def main():
    root = os.environ["SENDER_ROOT"]
    apihelper.API_URL = root + "/bot{0}/{1}"
    apihelper.FILE_URL = root + "/file/bot{0}/{1}"
    bot = telebot.TeleBot(os.environ["BOT_TOKEN"])

    @bot.message_handler(func=lambda message: (message.text or "").startswith("ping"))
    def answer(message):
        bot.send_message(
            message.chat.id,
            f"pong: {message.text}",
            reply_parameters=types.ReplyParameters(message_id=message.message_id),
        )
        print(json.dumps({"answered": message.message_id}), flush=True)
        bot.stop_polling()

    bot.infinity_polling(timeout=10, long_polling_timeout=10)


if __name__ == "__main__":
    main()
