"""Events, apps and callables shared by the benchmark suites and by scripts/bench_report.py.

A plain module (no pytest), so that ``scripts/bench_report.py`` and ``scripts/count_instructions.py`` measure
exactly what the pytest-benchmark suites measure. ``benchmarks/conftest.py`` turns it into fixtures.

Which cymangum is measured: the in-tree one (``src/``) when it has a compiled core for the running interpreter,
else an installed cymangum if there is one (a venv made with ``pip install .``), else the in-tree pure twin.
``CYMANGUM_BENCH_SOURCE=src|installed`` forces the choice; ``CYMANGUM_BENCH_SOURCE=path`` takes whatever
``import cymangum`` finds on the path as it is (PYTHONPATH=/some/tree/src, to measure another checkout).
``describe()`` says which one was taken.

Events: the genuine AWS events of ``shared/events`` (``CYMANGUM_EVENTS_DIR`` overrides), one per source, and a
Lambda@Edge origin-request event built after the example of the AWS documentation ("Lambda@Edge event
structure", origin request), since the corpus has none.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import importlib.machinery
import importlib.util
import json
import os
import random
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


# ---------------------------------------------------------------------------------------------------------------
# Which cymangum


def _src_has_compiled_core() -> bool:
    folder = SRC / "cymangum"
    return any((folder / f"_core{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _choose_source() -> str:
    forced = os.environ.get("CYMANGUM_BENCH_SOURCE", "")
    if forced in ("src", "installed", "path"):
        return forced
    if _src_has_compiled_core():
        return "src"
    saved = list(sys.path)
    try:
        sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SRC.resolve()]
        installed = importlib.util.find_spec("cymangum") is not None
    finally:
        sys.path[:] = saved
    return "installed" if installed else "src"


CYMANGUM_SOURCE = _choose_source()
if CYMANGUM_SOURCE == "path":
    pass
elif CYMANGUM_SOURCE == "src":
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))
else:
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != SRC.resolve()]

import cymangum  # noqa: E402

try:
    import mangum  # the reference: Mangum 0.22.0
except ImportError:  # pragma: no cover - the Mangum cases then skip
    mangum = None  # type: ignore[assignment]
from cymangum import _runner, core  # noqa: E402


def cymangum_path() -> str:
    """The folder that holds the measured cymangum package (for subprocesses: put it first on sys.path)."""
    return str(Path(cymangum.__file__).resolve().parents[1])


def describe() -> dict[str, Any]:
    """What is measured: interpreter, CPU, packages, compiled core or not, fast loop drive or not."""
    from importlib import metadata

    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "commit": _git_commit(Path(cymangum.__file__).resolve().parent),
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "cymangum": getattr(cymangum, "__version__", "?"),
        "cymangum_from": CYMANGUM_SOURCE,
        "cymangum_path": str(Path(cymangum.__file__).resolve().parent),
        "compiled_core": core.COMPILED,
        "fast_loop": _runner.FAST_LOOP_ENABLED,
        "mangum": version("mangum"),
        "starlette": version("starlette"),
        "fastapi": version("fastapi"),
    }


def _git_commit(folder: Path) -> str | None:
    """The commit of the measured tree (with "+dirty" for local changes), when it is a git checkout."""
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        if not commit:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------------------------
# Events


def events_dir() -> Path:
    candidates = [
        os.environ.get("CYMANGUM_EVENTS_DIR"),
        ROOT / "tests" / "events",
        ROOT.parent / "shared" / "events",
    ]
    candidates.append("/work/shared/events")
    for candidate in candidates:
        if candidate and (Path(candidate) / "go" / "apigw-request.json").is_file():
            return Path(candidate)
    raise FileNotFoundError("the AWS event corpus was not found (set CYMANGUM_EVENTS_DIR)")


#: Event source -> genuine event file (relative to events_dir()); "edge" is built by edge_event().
EVENT_FILES = {
    "rest": "go/apigw-request.json",
    "http-v2": "powertools/apiGatewayProxyV2Event.json",
    "url": "go/lambda-urls-request.json",
    "alb": "powertools/albEvent.json",
    "alb-multi": "powertools/albMultiValueHeadersEvent.json",
}
SOURCES = ("rest", "http-v2", "url", "alb", "alb-multi", "edge")
SOURCE_LABELS = {
    "rest": "REST v1",
    "http-v2": "HTTP v2",
    "url": "Function URL",
    "alb": "ALB",
    "alb-multi": "ALB multi-value",
    "edge": "Lambda@Edge",
}


def edge_event() -> dict[str, Any]:
    """CloudFront origin-request event, as in the AWS documentation's example (no body)."""
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [
                                {
                                    "key": "Via",
                                    "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)",
                                }
                            ],
                            "host": [{"key": "Host", "value": "example.org"}],
                            "cache-control": [{"key": "Cache-Control", "value": "no-cache"}],
                        },
                        "method": "GET",
                        "origin": {
                            "custom": {
                                "customHeaders": {},
                                "domainName": "example.org",
                                "keepaliveTimeout": 5,
                                "path": "",
                                "port": 443,
                                "protocol": "https",
                                "readTimeout": 30,
                                "sslProtocols": ["TLSv1", "TLSv1.1", "TLSv1.2"],
                            }
                        },
                        "querystring": "",
                        "uri": "/",
                    },
                }
            }
        ]
    }


def load_event(source: str) -> dict[str, Any]:
    """A fresh copy of the event for a source (callers may mutate it)."""
    if source == "edge":
        return edge_event()
    return json.loads((events_dir() / EVENT_FILES[source]).read_text())


def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="cymangum-bench",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:cymangum-bench",
        memory_limit_in_mb=512,
        aws_request_id="8f507cfc-example-4697-b07a-ac58fc914c95",
        log_group_name="/aws/lambda/cymangum-bench",
        log_stream_name="2024/01/01/[$LATEST]0123456789abcdef",
        get_remaining_time_in_millis=lambda: 30_000,
    )


# ---------------------------------------------------------------------------------------------------------------
# Apps: each answers {"message": "hello"} (application/json) on any path and method, and supports lifespan.

HELLO = b'{"message":"hello"}'
JSON_HEADERS = [[b"content-type", b"application/json"], [b"content-length", str(len(HELLO)).encode()]]


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A raw ASGI app: reads the request, answers a small JSON body; lifespan-aware."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": HELLO})


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def hello(request: Request) -> JSONResponse:
        return JSONResponse({"message": "hello"})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[Route("/", hello, methods=methods), Route("/{path:path}", hello, methods=methods)]
    )


def fastapi_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/", methods=methods)
    async def root() -> dict[str, str]:
        return {"message": "hello"}

    @app.api_route("/{path:path}", methods=methods)
    async def hello(path: str) -> dict[str, str]:
        return {"message": "hello"}

    return app


APPS: dict[str, Callable[[], Any]] = {
    "raw": lambda: raw_app,
    "starlette": starlette_app,
    "fastapi": fastapi_app,
}
_app_cache: dict[str, Any] = {}


def get_app(kind: str) -> Any:
    """One app object per kind and process (cymangum and Mangum wrap the same object)."""
    if kind not in _app_cache:
        _app_cache[kind] = APPS[kind]()
    return _app_cache[kind]


# ---------------------------------------------------------------------------------------------------------------
# Payloads

PNG_SIZE = 64 * 1024
BASE64_BODY_SIZE = 1024 * 1024
JSON_SIZE = 1024 * 1024


def _random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def png_bytes() -> bytes:
    """64 KiB that start like a PNG file (the rest incompressible, as image data is)."""
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + _random_bytes(PNG_SIZE - len(signature), 1)


def json_bytes() -> bytes:
    """About 1 MiB of UTF-8 JSON text (an API answering a list of records), exactly JSON_SIZE bytes."""
    rng = random.Random(2)
    items = []
    size = 2
    i = 0
    while True:
        item = json.dumps(
            {
                "id": i,
                "name": f"item-{i}",
                "price": round(rng.random() * 100, 2),
                "tags": ["a", "b"],
                "ok": True,
            },
            separators=(",", ":"),
        )
        if size + len(item) + 1 > JSON_SIZE - 16:
            break
        items.append(item)
        size += len(item) + 1
        i += 1
    text = "[" + ",".join(items) + "]"
    return (text + " " * (JSON_SIZE - len(text))).encode()


def payload_app(body: bytes, content_type: bytes) -> Any:
    headers = [[b"content-type", content_type], [b"content-length", str(len(body)).encode()]]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


async def body_length_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole request body, answers its length (what an upload endpoint does with the bytes)."""
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body"):
        message = await receive()
        body += message.get("body", b"")
    answer = b'{"length":%d}' % len(body)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/json"]]}
    )
    await send({"type": "http.response.body", "body": answer})


def base64_body_event() -> dict[str, Any]:
    """The REST event carrying a 1 MiB binary upload, base64-encoded, as API Gateway sends binary media."""
    event = load_event("rest")
    event["body"] = base64.b64encode(_random_bytes(BASE64_BODY_SIZE, 3)).decode("ascii")
    event["isBase64Encoded"] = True
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Content-Type", None)
    event["headers"]["Content-Type"] = "application/octet-stream"
    event["multiValueHeaders"]["Content-Type"] = ["application/octet-stream"]
    return event


#: Payload case -> (event source, app factory, event factory)
PAYLOADS: dict[str, tuple[Callable[[], Any], Callable[[], dict[str, Any]]]] = {
    "png-64k-response": (lambda: payload_app(png_bytes(), b"image/png"), lambda: load_event("rest")),
    "base64-1m-request": (lambda: body_length_app, base64_body_event),
    "json-1m-response": (lambda: payload_app(json_bytes(), b"application/json"), lambda: load_event("rest")),
}
PAYLOAD_LABELS = {
    "png-64k-response": "64 KiB binary (image/png) response",
    "base64-1m-request": "1 MiB base64 request body",
    "json-1m-response": "1 MiB JSON text response",
}


# ---------------------------------------------------------------------------------------------------------------
# Callables to time


def adapter_class(adapter: str) -> Any:
    if adapter == "mangum":
        if mangum is None:
            raise ImportError("mangum is not installed (pip install mangum==0.22.0)")
        return mangum.Mangum
    return cymangum.Mangum


def invocation(adapter: str, app: Any, event: dict[str, Any], lifespan: str) -> Callable[[], Any]:
    """A no-argument callable: one warm invocation of `adapter` wrapping `app` with `event`."""
    thread_loop()  # set the thread's loop first, so that Mangum's get_event_loop() finds it on any Python
    handler = adapter_class(adapter)(app, lifespan=lifespan)
    context = lambda_context()

    def invoke() -> Any:
        return handler(event, context)

    return invoke


def thread_loop() -> asyncio.AbstractEventLoop:
    """The loop both adapters use on this thread (created once)."""
    return _runner.thread_loop()


def floor(app: Any, event: dict[str, Any]) -> Callable[[], Any]:
    """The direct-call floor: the app called with a prebuilt scope via run_until_complete on a reused loop.

    No adapter at all: the scope is built once beforehand (copied per call, since apps may add keys), receive
    returns the prebuilt request message once then http.disconnect, send keeps the messages in a list.
    """
    handler = cymangum.Mangum(app, lifespan="off").infer(event, lambda_context())
    scope = handler.scope
    request = {"type": "http.request", "body": handler.body, "more_body": False}
    disconnect = {"type": "http.disconnect"}
    loop = thread_loop()
    sent: list[Any] = []

    def call() -> Any:
        received = False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                return disconnect
            received = True
            return request

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        sent.clear()
        loop.run_until_complete(app(dict(scope), receive, send))
        return sent

    return call


def check_result(result: Any) -> None:
    """A result that is a 200 (bench what works, never an error path)."""
    status = result.get("statusCode", result.get("status")) if isinstance(result, dict) else None
    if status != 200:
        raise AssertionError(f"unexpected result: {str(result)[:300]}")


# ---------------------------------------------------------------------------------------------------------------
# Translation alone (no app, no loop): event -> scope + body, response -> result dict

RESPONSE = {
    "status": 200,
    "headers": [
        [b"content-type", b"application/json"],
        [b"content-length", str(len(HELLO)).encode()],
        [b"x-request-id", b"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"],
        [b"set-cookie", b"session=abc123; Path=/; HttpOnly"],
        [b"set-cookie", b"theme=dark; Path=/"],
    ],
    "body": HELLO,
}


def translation(adapter: str, event: dict[str, Any]) -> Callable[[], Any]:
    """One translation through the adapter's own handler classes: infer the handler, scope, body, result."""
    thread_loop()
    mangum_handler = adapter_class(adapter)(raw_app, lifespan="off")
    context = lambda_context()
    response = copy.deepcopy(RESPONSE)
    infer = mangum_handler.infer

    def translate() -> Any:
        handler = infer(event, context)
        _ = handler.scope, handler.body
        return handler(response)

    return translate
