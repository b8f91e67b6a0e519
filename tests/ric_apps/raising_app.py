"""Apps whose errors reach the Lambda runtime, as invocation errors with the app's exception type and message.

Mangum answers an exception raised by the app with a 500 response and never propagates it. Two ways out:

* ``handler``: cymangum's re-raise mode (``reraise=True``) around a raw ASGI app that raises before answering.
  (Not around FastAPI: Starlette's ServerErrorMiddleware completes a 500 response before it re-raises, and
  re-raise mode returns a response the app completed.)
* ``wrapped_handler``: any adapter around a FastAPI app, in a function that re-raises what the app raised once
  the adapter has returned (what a Mangum user has to write).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from ._adapter import ADAPTER, Mangum


class InventoryError(LookupError):
    pass


app = FastAPI()


@app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def fail(path: str) -> dict[str, str]:
    raise InventoryError(f"no item at /{path}")


class _RecordExceptions:
    """Raw ASGI middleware: remember the exception the app raised, then let it go on to Mangum."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.raised: list[BaseException] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if scope["type"] == "http":
                self.raised.append(exc)
            raise


_recorder = _RecordExceptions(app)
_mangum = Mangum(_recorder, lifespan="off")


def wrapped_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _recorder.raised.clear()
    result = _mangum(event, context)
    if _recorder.raised:
        raise _recorder.raised[-1]
    return result


async def raw_app(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    raise InventoryError(f"no item at {scope['path']}")


handler = Mangum(raw_app, lifespan="off", reraise=True) if ADAPTER == "cymangum" else wrapped_handler
