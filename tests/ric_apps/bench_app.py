"""The benchmark's function: a raw ASGI app (lifespan-aware, no framework) wrapped in ``Mangum``.

``RIC_BENCH_LIFESPAN`` (``auto`` by default, or ``off``) is passed to Mangum's ``lifespan``. ``plain_handler``
returns the same result without any adapter: the floor that the runtime client and the emulator cost.
"""

from __future__ import annotations

import os
from typing import Any

from ._adapter import Mangum

BODY = b'{"message":"hello from a raw ASGI app"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


handler = Mangum(app, lifespan=os.environ.get("RIC_BENCH_LIFESPAN", "auto"))


_PLAIN_RESULT = {
    "statusCode": 200,
    "headers": {"content-type": "application/json", "content-length": str(len(BODY))},
    "multiValueHeaders": {},
    "body": BODY.decode(),
    "isBase64Encoded": False,
}


def plain_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _PLAIN_RESULT
