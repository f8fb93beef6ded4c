"""Telethon itself signs a session in against testdc, the way the Python service did.

Used by crates/receiver/tests/it/telethon.rs. Environment:
  DC_HOST, DC_PORT   testdc's MTProto address (loopback)
  AUTH_KEY_HEX       an auth key testdc issued, not signed in yet (Telethon cannot run the
                     DH handshake against testdc, so the key is handed over)
  PHONE              the account's phone number
  SESSION            a Telethon session name (SQLite file NAME.session), or "string" for a
                     StringSession
  PIN_CHAT           optional: a user id to send a message to and pin it
The login code is read from stdin after the line "code?" is printed. The last stdout line is a
JSON summary: self_id, pinned_service (whether pin_message returned the service message) and,
for a StringSession, the string.
"""

import asyncio
import json
import os
import sys

from telethon import TelegramClient
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession, StringSession
from telethon.tl.types import MessageActionPinMessage


async def main():
    name = os.environ["SESSION"]
    session = StringSession() if name == "string" else SQLiteSession(name)
    session.set_dc(2, os.environ["DC_HOST"], int(os.environ["DC_PORT"]))
    session.auth_key = AuthKey(bytes.fromhex(os.environ["AUTH_KEY_HEX"]))
    client = TelegramClient(session, 1, "0123456789abcdef")
    await client.connect()
    phone = os.environ["PHONE"]
    await client.send_code_request(phone)
    print("code?", flush=True)
    code = sys.stdin.readline().strip()
    await client.sign_in(phone, code)
    # Fills Telethon's entity cache (users, the group, channels) as a running service would.
    await client.get_dialogs()
    summary = {"self_id": (await client.get_me()).id, "pinned_service": None}
    pin_chat = os.environ.get("PIN_CHAT")
    if pin_chat:
        sent = await client.send_message(int(pin_chat), "pin me")
        service = await client.pin_message(int(pin_chat), sent)
        summary["pinned_service"] = (
            service is not None
            and isinstance(service.action, MessageActionPinMessage)
            and service.reply_to.reply_to_msg_id == sent.id
        )
    if name == "string":
        summary["string"] = client.session.save()
    # Disconnecting saves the update state and entities into the session file.
    await client.disconnect()
    print(json.dumps(summary), flush=True)


asyncio.run(main())
