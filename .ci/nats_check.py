"""A NATS client's view of the compose file's `nats` profile, run by .ci/compose.

It does what README.md's "NATS" section tells a user to do, with nats-py (the library the README's
ten-line consumer uses): a durable JetStream consumer on `tg.*.update.>` that acknowledges what it
reads, and a request on `tg.<account>.call.sendMessage`.

    nats_check.py NATS_URL ACCOUNT_ID EXPECTED_TEXT CHAT_ID REPLY_TEXT

Exits 0 when the consumer received an update whose text is EXPECTED_TEXT (with a `Nats-Msg-Id`
header equal to its webhook-id, `tg<account>_<update_id>`) and the request answered
`{"ok": true, "result": <Message>}` with REPLY_TEXT; otherwise exits with what was wrong.
Everything is bounded by a 60 s deadline.
"""

import asyncio
import json
import sys

import nats


async def main(url, account, expected, chat_id, reply_text):
    nc = await nats.connect(url)
    js = nc.jetstream()
    found = asyncio.get_running_loop().create_future()

    async def handle(msg):
        update = json.loads(msg.data)
        text = json.dumps(update)
        if expected in text and not found.done():
            found.set_result((msg.subject, msg.headers or {}, update))
        await msg.ack()

    await js.subscribe("tg.*.update.>", durable="ci-check", cb=handle, manual_ack=True)
    subject, headers, update = await asyncio.wait_for(found, 60)
    msg_id = headers.get("Nats-Msg-Id", "")
    update_id = update.get("update_id")
    if not subject.startswith(f"tg.{account}.update."):
        sys.exit(f"nats_check: subject {subject} does not carry account {account}")
    if update_id is not None and msg_id != f"tg{account}_{update_id}":
        sys.exit(f"nats_check: Nats-Msg-Id {msg_id!r} is not tg{account}_{update_id}")
    if not msg_id.startswith(f"tg{account}_"):
        sys.exit(f"nats_check: Nats-Msg-Id {msg_id!r}")
    print(f"ok: the stream gave {subject} with Nats-Msg-Id {msg_id}")

    request = {"chat_id": chat_id, "text": reply_text}
    answer = await nc.request(
        f"tg.{account}.call.sendMessage", json.dumps(request).encode(), timeout=30
    )
    envelope = json.loads(answer.data)
    if envelope.get("ok") is not True or envelope["result"].get("text") != reply_text:
        sys.exit(f"nats_check: sendMessage over NATS answered {envelope}")
    print(f"ok: sendMessage over NATS answered message_id {envelope['result']['message_id']}")
    await nc.close()


if __name__ == "__main__":
    url, account, expected, chat_id, reply_text = sys.argv[1:6]
    asyncio.run(main(url, int(account), expected, int(chat_id), reply_text))
