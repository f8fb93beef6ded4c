"""aiogram's own polling loop (Dispatcher.start_polling) against the gateway.

Run by crates/e2e/tests/it/polling.rs with SENDER_ROOT and BOT_TOKEN (see README.md). The handler
answers the first text starting with "ping" with "pong: <text>" as a reply to it, prints one JSON
line {"answered": <message id>} and stops the loop; other updates are left alone.
"""

import asyncio
import json
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, ReplyParameters

dispatcher = Dispatcher()


@dispatcher.message(F.text.startswith("ping"))
async def answer(message: Message, bot: Bot):
    await bot.send_message(
        message.chat.id,
        f"pong: {message.text}",
        reply_parameters=ReplyParameters(message_id=message.message_id),
    )
    print(json.dumps({"answered": message.message_id}), flush=True)
    await dispatcher.stop_polling()


async def main():
    # On stderr, which the test shows when the run fails.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["SENDER_ROOT"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    await dispatcher.start_polling(bot, handle_signals=False)


if __name__ == "__main__":
    asyncio.run(main())
