"""A raw ASGI app that never answers in time, under ``deadline_margin_ms`` (cymangum only): the adapter reads the
real remaining time from the Lambda context and answers 504 ``MARGIN_MS`` before the function's timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from ._adapter import Mangum

MARGIN_MS = 1500


async def app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await asyncio.sleep(60)
    await send({"type": "http.response.start", "status": 200, "headers": []})  # pragma: no cover
    await send({"type": "http.response.body", "body": b"too late"})  # pragma: no cover


handler = Mangum(app, lifespan="off", deadline_margin_ms=MARGIN_MS)
