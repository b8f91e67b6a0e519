"""The demo application that `cymangum invoke`, `cymangum serve` and `cymangum bench` use when no app is given.

A raw ASGI 3 application, standard library only (it must import without cymangum's optional dependencies), so
that it measures the adapter rather than a framework. Routes:

    GET  /            JSON: the request as the app saw it, the lifespan state, the route list
    GET  /html        an HTML page linking to everything else
    GET  /image.png   a PNG image generated in code (binary response: base64 in the Lambda result)
    GET  /cookies     JSON, with three Set-Cookie headers
    GET  /redirect    302 to /html (under the ASGI root_path)
    GET  /slow        JSON after `asyncio.sleep(?seconds=0.25)` (at most 10 s)
    POST /echo        the request body back, byte for byte, with its content type (any method but GET/HEAD)
    *    /inspect     JSON: method, path, query, headers, body size and SHA-256 (uploads)

GET routes answer HEAD too. Lifespan: startup fills the lifespan state (`scope["state"]`) and counts startups
in this process, so GET / shows whether lifespan ran once per environment or once per invocation.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import struct
import time
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

ROUTES = {
    "/": "GET: this JSON document",
    "/html": "GET: an HTML page",
    "/image.png": "GET: a PNG image generated in code (binary)",
    "/cookies": "GET: three Set-Cookie headers",
    "/redirect": "GET: 302 redirect to /html",
    "/slow?seconds=0.25": "GET: answers after asyncio.sleep (at most 10 s)",
    "/echo": "POST/PUT/PATCH: the request body back, same content type",
    "/inspect": "any method: request headers, body size and SHA-256",
}

_GET_PATHS = frozenset(("/", "/html", "/image.png", "/cookies", "/redirect", "/slow"))

_counters = {"startups": 0, "shutdowns": 0, "requests": 0}


@functools.lru_cache(maxsize=1)
def png(width: int = 96, height: int = 96) -> bytes:
    """An RGB gradient with a ring, encoded as PNG (signature, IHDR, IDAT, IEND)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    rows = bytearray()
    cx, cy = width / 2, height / 2
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            d = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
            if abs(d - width * 0.3) < 4:
                rows += b"\xff\xd0\x30"
            else:
                rows += bytes((x * 255 // width, y * 255 // height, 160))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + chunk(b"IEND", b"")
    )


_HTML = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>cymangum demo</title></head>
<body>
<h1>cymangum demo</h1>
<p>A raw ASGI app running behind <code>cymangum.Mangum</code>.</p>
<img src="{root}/image.png" alt="a generated PNG" width="96" height="96">
<ul>
{items}
</ul>
</body>
</html>
"""


def _event_source(event: Any) -> str | None:
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    if isinstance(context, dict) and "elb" in context:
        return "alb"
    if "Records" in event:
        return "edge"
    if context is not None and event.get("version") == "2.0":
        return "http (payload 2.0)"
    if context is not None and "version" in event:
        return "http (payload 1.0)"
    if context is not None:
        return "rest"
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: list[tuple[bytes, bytes]] | None = None,
    head: bool = False,
) -> None:
    out = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        out.insert(0, (b"content-type", content_type.encode()))
    out += headers or []
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def _request_info(scope: Scope) -> dict[str, Any]:
    event = scope.get("aws.event")
    context = scope.get("aws.context")
    return {
        "method": scope["method"],
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
        "scheme": scope.get("scheme"),
        "server": list(scope["server"]) if scope.get("server") else None,
        "client": list(scope["client"]) if scope.get("client") else None,
        "event_source": _event_source(event),
        "aws_request_id": getattr(context, "aws_request_id", None),
    }


async def _lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _counters["startups"] += 1
            state = scope.get("state")
            if state is not None:
                state["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                state["startup_number"] = _counters["startups"]
                state["greeting"] = "Hello from cymangum!"
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            _counters["shutdowns"] += 1
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The demo ASGI application."""
    if scope["type"] == "lifespan":
        await _lifespan(scope, receive, send)
        return
    if scope["type"] != "http":
        raise RuntimeError(f"unsupported scope type {scope['type']!r}")

    _counters["requests"] += 1
    method = scope["method"]
    path = scope["path"]
    root = scope.get("root_path", "")
    head = method == "HEAD"
    get = method in ("GET", "HEAD")

    if path == "/inspect":
        body = await _read_body(receive)
        info = _request_info(scope)
        info["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
        info["body_length"] = len(body)
        info["body_sha256"] = hashlib.sha256(body).hexdigest()
        await _respond(send, 200, _json(info), "application/json", head=head)
    elif path == "/echo" and not get:
        body = await _read_body(receive)
        content_type = "application/octet-stream"
        for name, value in scope["headers"]:
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
        extra = [
            (b"x-echo-length", str(len(body)).encode()),
            (b"x-echo-sha256", hashlib.sha256(body).hexdigest().encode()),
        ]
        await _respond(send, 200, body, content_type, extra)
    elif path not in _GET_PATHS and path != "/echo":
        await _respond(
            send,
            404,
            _json({"detail": "Not Found", "path": path, "routes": ROUTES}),
            "application/json",
            head=head,
        )
    elif path == "/echo" or not get:
        allow = b"POST, PUT, PATCH, DELETE" if path == "/echo" else b"GET, HEAD"
        await _respond(
            send,
            405,
            _json({"detail": "Method Not Allowed"}),
            "application/json",
            [(b"allow", allow)],
            head=head,
        )
    elif path == "/":
        document = {
            "message": "Hello from cymangum!",
            "request": _request_info(scope),
            "lifespan": {
                "state": dict(scope["state"]) if "state" in scope else None,
                "startups_in_this_process": _counters["startups"],
            },
            "requests_in_this_process": _counters["requests"],
            "routes": ROUTES,
        }
        await _respond(send, 200, _json(document), "application/json", head=head)
    elif path == "/html":
        items = "\n".join(
            f'<li><a href="{root}{route}">{route}</a>: {what}</li>' for route, what in ROUTES.items()
        )
        page = _HTML.format(root=root, items=items).encode()
        await _respond(send, 200, page, "text/html; charset=utf-8", head=head)
    elif path == "/image.png":
        cache = [(b"cache-control", b"public, max-age=3600")]
        await _respond(send, 200, png(), "image/png", cache, head=head)
    elif path == "/cookies":
        cookies = [
            (b"set-cookie", b"session=abc123; Path=/; HttpOnly; Secure; SameSite=Lax"),
            (b"set-cookie", b"theme=dark; Path=/; Max-Age=31536000"),
            (b"set-cookie", b"visited=1; Path=/"),
        ]
        document = {"cookies_set": ["session", "theme", "visited"]}
        await _respond(send, 200, _json(document), "application/json", cookies, head=head)
    elif path == "/redirect":
        await _respond(send, 302, b"", None, [(b"location", f"{root}/html".encode())], head=head)
    else:  # /slow
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            seconds = min(max(float(query.get("seconds", "0.25")), 0.0), 10.0)
        except ValueError:
            seconds = 0.25
        started = time.perf_counter()
        await asyncio.sleep(seconds)
        document = {"slept_seconds": round(time.perf_counter() - started, 4)}
        await _respond(send, 200, _json(document), "application/json", head=head)
