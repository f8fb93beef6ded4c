"""python-telegram-bot's own polling loop (Application.run_polling) against the gateway.

Run by crates/e2e/tests/it/polling.rs with SENDER_ROOT and BOT_TOKEN (see README.md). The handler
answers the first text starting with "ping" with "pong: <text>" as a reply to it, prints one JSON
line {"answered": <message id>} and stops the loop; other updates are left alone.
"""

import json
import os

from telegram import ReplyParameters, Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE):
    message = update.message
    await context.bot.send_message(
        message.chat_id,
        f"pong: {message.text}",
        reply_parameters=ReplyParameters(message_id=message.message_id),
    )
    print(json.dumps({"answered": message.message_id}), flush=True)
    context.application.stop_running()


def main():
    root = os.environ["SENDER_ROOT"]
    application = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(f"{root}/bot")
        .base_file_url(f"{root}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.Regex(r"^ping"), answer))
    application.run_polling()


if __name__ == "__main__":
    main()
