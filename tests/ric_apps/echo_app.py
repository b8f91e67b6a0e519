"""A FastAPI app that echoes the request it received, wrapped in ``Mangum``: ``handler`` is the Lambda handler.

The response body is a JSON document of everything the app saw that is a pure function of the event (method,
path, query, headers, body, server, client...), so the same event gives byte-identical results in the runtime
process and in the test process. What depends on the invocation (the Lambda context, the process, the trace id)
goes, separately, into the ``x-lambda-context`` response header, which the tests check and then remove before
comparing results.

Special paths: ``*.bin`` answers 256 binary bytes (base64 in the Lambda result), ``*/raise`` makes the app raise
(Mangum answers 500). Every response sets two cookies, so multi-value header handling is exercised too.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ._adapter import Mangum

CONTEXT_HEADER = "x-lambda-context"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    yield {"started_by": "lifespan"}


app = FastAPI(lifespan=lifespan)


def _text(value: Any) -> Any:
    return value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value


def context_info(context: Any) -> dict[str, Any]:
    """What the app observed of the Lambda context and the process (non-deterministic by nature)."""
    remaining = context.get_remaining_time_in_millis()
    return {
        "context_class": f"{type(context).__module__}.{type(context).__qualname__}",
        "aws_request_id": context.aws_request_id,
        "remaining_ms": remaining,
        "now_ms": int(time.time() * 1000),
        "invoked_function_arn": context.invoked_function_arn,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "pid": os.getpid(),
    }


@app.api_route("/{path:path}", methods=METHODS)
async def echo(request: Request, path: str) -> Response:
    scope = request.scope
    if path.endswith("raise"):
        raise RuntimeError(f"the echo app was asked to fail: {path}")
    body = await request.body()
    headers = {}
    if "aws.context" in scope:
        headers[CONTEXT_HEADER] = json.dumps(context_info(scope["aws.context"]), sort_keys=True)
    response: Response
    if path.endswith(".bin"):
        response = Response(bytes(range(256)), media_type="application/octet-stream", headers=headers)
    else:
        echoed = {
            "type": scope["type"],
            "http_version": scope["http_version"],
            "method": scope["method"],
            "scheme": scope["scheme"],
            "path": scope["path"],
            "raw_path": _text(scope.get("raw_path")),
            "root_path": scope.get("root_path"),
            "query_string": _text(scope["query_string"]),
            "headers": [[_text(name), _text(value)] for name, value in scope["headers"]],
            "server": list(scope["server"]) if scope.get("server") else None,
            "client": list(scope["client"]) if scope.get("client") else None,
            "asgi": scope.get("asgi"),
            "state": dict(scope["state"]) if "state" in scope else None,
            "aws_event_keys": sorted(scope["aws.event"]) if "aws.event" in scope else None,
            "path_param": path,
            "url": str(request.url),
            "query_params": [list(item) for item in request.query_params.multi_items()],
            "cookies": request.cookies,
            "body_base64": base64.b64encode(body).decode(),
        }
        response = JSONResponse(echoed, headers=headers)
    response.set_cookie("first", "1")
    response.set_cookie("second", "2", httponly=True)
    return response


handler = Mangum(app)
