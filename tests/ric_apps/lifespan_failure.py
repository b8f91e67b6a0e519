"""A raw ASGI app whose lifespan startup fails, under ``lifespan="on"``: Mangum raises ``LifespanFailure``
from the handler, so every invocation is reported to the runtime as an error."""

from __future__ import annotations

from typing import Any

from ._adapter import Mangum


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # pragma: no cover
    await send({"type": "http.response.body", "body": b"never reached"})  # pragma: no cover


handler = Mangum(app, lifespan="on")
