"""Small raw ASGI pieces shared by the tests."""

from __future__ import annotations

from typing import Any


async def complete_lifespan(receive: Any, send: Any) -> None:
    """A well-behaved lifespan: answer startup and shutdown with `.complete`, return after shutdown."""
    while True:
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return
