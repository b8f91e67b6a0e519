"""Apps that tests/test_runtime.py serves through `python -m cymangum.runtime tests.runtime_apps:NAME`."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from cymangum import Mangum

CHUNK_DELAY = 0.3  # seconds between the chunks of /stream and /sse
BIG_SIZE = 20 * 1024 * 1024
BIG_CHUNK = 64 * 1024


async def echo(request: Request) -> Response:
    """Deterministic: what the app saw of the request (the buffered results are compared with the in-process ones)."""
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "root_path": request.scope.get("root_path"),
            "query": sorted(request.query_params.multi_items()),
            "headers": sorted(
                [k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]
            ),
            "body": body.decode("utf-8", "replace"),
        },
        headers={"x-echo": "1"},
    )


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for index in range(3):
            if index:
                await asyncio.sleep(CHUNK_DELAY)
            yield f"chunk-{index}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain", headers={"x-stream": "yes"})


async def sse(request: Request) -> Response:
    async def events() -> AsyncIterator[str]:
        for index in range(3):
            if index:
                await asyncio.sleep(CHUNK_DELAY)
            yield f"id: {index}\ndata: event {index}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"cache-control": "no-cache"})


async def cookies(request: Request) -> Response:
    response = Response("cookies set", media_type="text/plain", headers={"x-custom": "value"})
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark")
    return response


async def boom_mid_stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"first part\n"
        await asyncio.sleep(0.05)
        raise RuntimeError("boom in the middle of the stream")

    return StreamingResponse(chunks(), media_type="text/plain")


async def boom_early(request: Request) -> Response:
    raise ValueError("boom before the first byte")


async def redirect(request: Request) -> Response:
    return RedirectResponse("https://example.com/elsewhere", status_code=302)


async def big(request: Request) -> Response:
    block = b"\xab" * BIG_CHUNK

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(BIG_SIZE // BIG_CHUNK):
            yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream")


routes = [
    Route("/stream", stream),
    Route("/sse", sse),
    Route("/cookies", cookies),
    Route("/boom-mid", boom_mid_stream),
    Route("/boom-early", boom_early),
    Route("/redirect", redirect),
    Route("/big", big),
    Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
]

starlette_app = Starlette(routes=routes)


async def app(scope: Any, receive: Any, send: Any) -> None:
    """Starlette, but /boom-raw raises before sending anything (Starlette itself would answer a 500 first)."""
    if scope["type"] == "http" and scope["path"] == "/boom-raw":
        raise ValueError("boom before the first byte")
    await starlette_app(scope, receive, send)


handler = Mangum(app, lifespan="off")


async def context_app(scope: Any, receive: Any, send: Any) -> None:
    """A bare ASGI app (wrapped by the runtime) that reports the Lambda context and the trace id."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    context = scope["aws.context"]
    payload = {
        "aws_request_id": context.aws_request_id,
        "invoked_function_arn": context.invoked_function_arn,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "client_custom": context.client_context.custom if context.client_context else None,
        "identity_id": context.identity.cognito_identity_id if context.identity else None,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
    }
    response = JSONResponse(payload)
    await response(scope, receive, send)


async def _lifespan(receive: Any, send: Any) -> None:
    marker = os.environ.get("RUNTIME_APPS_MARKER")
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _mark(marker, "startup")
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            _mark(marker, "shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return


def _mark(path: str | None, word: str) -> None:
    if path:
        with contextlib.suppress(OSError), open(path, "a") as out:
            out.write(word + "\n")


def plain_function(event: Any, context: Any) -> dict[str, Any]:
    """Not ASGI: a plain Lambda handler, served as is."""
    return {"echo": event, "request_id": context.aws_request_id}
