"""An app whose errors reach the Lambda runtime.

Mangum answers an exception raised by the app with a 500 response (it never propagates it), so ``handler`` wraps
Mangum and re-raises what the app raised, after Mangum returned: the runtime then reports an invocation error with
the app's exception type and message, which is what a function that wants failed invocations (retries, DLQs,
alarms on ``Errors``) does.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from ._adapter import Mangum


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


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _recorder.raised.clear()
    result = _mangum(event, context)
    if _recorder.raised:
        raise _recorder.raised[-1]
    return result
