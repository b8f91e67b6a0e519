"""The benchmark's function: a raw ASGI app (lifespan-aware, no framework) wrapped in ``Mangum``.

``RIC_BENCH_LIFESPAN`` (``auto`` by default, or ``off``) is passed to Mangum's ``lifespan``.
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
