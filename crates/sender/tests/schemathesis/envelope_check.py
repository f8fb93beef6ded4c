"""Schemathesis check `bot_api_envelope`: every answer is a Bot API envelope.

`{"ok":true,"result":…}` with HTTP 200, or `{"ok":false,"error_code":N,"description":"…"}`
with HTTP status N. The OpenAPI document cannot say that `error_code` equals the status, and
python-telegram-bot fails on an error body that is not this shape. Loaded through `hooks` in
schemathesis.toml.
"""

import json

import schemathesis


@schemathesis.check
def bot_api_envelope(ctx, response, case):
    """Fails on a body that is not JSON or not the envelope for its status."""
    status = response.status_code
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"HTTP {status}: the body is not JSON: {response.content[:200]!r}")
    if not isinstance(body, dict):
        raise AssertionError(f"HTTP {status}: the body is not an object: {body!r}")
    if status == 200:
        if body.get("ok") is not True or "result" not in body:
            raise AssertionError(f"HTTP 200 without ok:true and result: {body!r}")
        return
    if body.get("ok") is not False:
        raise AssertionError(f"HTTP {status} without ok:false: {body!r}")
    if body.get("error_code") != status:
        raise AssertionError(f"HTTP {status} with error_code {body.get('error_code')!r}")
    if not isinstance(body.get("description"), str) or not body["description"]:
        raise AssertionError(f"HTTP {status} without a description: {body!r}")
