"""A raw ASGI app under ``lifespan_once=True`` (cymangum only): startup once per execution environment, state kept
across invocations, shutdown when the runtime process gets SIGTERM. Each lifespan event is appended to the file
named by ``RIC_APPS_LIFESPAN_LOG`` so that the test can see what ran, and when."""

from __future__ import annotations

import json
import os
from typing import Any

from ._adapter import Mangum


def _record(event: str) -> None:
    with open(os.environ["RIC_APPS_LIFESPAN_LOG"], "a") as f:
        f.write(f"{event} {os.getpid()}\n")


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["invocations"] = [0]
                _record("startup")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _record("shutdown")
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    counter = scope["state"]["invocations"]  # the same list object on every invocation
    counter[0] += 1
    body = json.dumps({"invocations": counter[0], "pid": os.getpid()}).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


handler = Mangum(app, lifespan_once=True)
