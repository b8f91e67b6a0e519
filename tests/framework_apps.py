"""Real framework apps for tests/test_frameworks.py: Starlette, FastAPI, Django, Quart, Litestar.

Every app records what happened outside the HTTP response (lifespan events, dependency teardown, background
tasks) in a module-level list, so tests can check it ran. The responses are deterministic (no dates, no random
ids), so that two calls give the same bytes. Django is configured in-process once, by
``django_app()``; this module is its ROOT_URLCONF.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

import aiosqlite
import brotli
from brotli_asgi import BrotliMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path as django_path
from fastapi import BackgroundTasks, Depends, FastAPI, File, Form, UploadFile
from litestar import Litestar, get, post
from litestar.params import FromPath, JSONBody
from pydantic import BaseModel
from quart import Quart
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

# ---------------------------------------------------------------------------------------------------------------
# Starlette

STARLETTE_EVENTS: list[str] = []

#: Served by /big: 20 KiB of highly compressible text, well above GZipMiddleware's 500-byte threshold.
BIG_TEXT = "".join(f"line {i:05d}: the quick brown fox jumps over the lazy dog\n" for i in range(330))

STREAM_CHUNKS = [b"alpha,", b"beta,", b"", b"gamma,", b"delta"]


class TeapotError(Exception):
    """Raised by a route; turned into a 418 by an exception handler."""


@asynccontextmanager
async def starlette_lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    STARLETTE_EVENTS.append("startup")
    yield {"greeting": "hello from lifespan", "config": {"region": "us-east-1"}}
    STARLETTE_EVENTS.append("shutdown")


async def user(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "user_id": request.path_params["user_id"],
            "verbose": request.query_params.get("verbose"),
            "tags": request.query_params.getlist("tag"),
        }
    )


async def cookies(request: Request) -> JSONResponse:
    response = JSONResponse({"received": dict(sorted(request.cookies.items()))})
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark", max_age=3600, samesite="strict")
    response.set_cookie("lang", "en", path="/docs")
    return response


async def big(request: Request) -> PlainTextResponse:
    return PlainTextResponse(BIG_TEXT)


#: Served by /huge: above GZipMiddleware's thread_minimum_size (128 KiB), so it is compressed in a worker thread.
HUGE_TEXT = BIG_TEXT * 12

#: The file /download serves; a test points it at a file of its own.
DOWNLOAD: dict[str, str] = {}


async def huge(request: Request) -> PlainTextResponse:
    return PlainTextResponse(HUGE_TEXT)


async def download(request: Request) -> FileResponse:
    return FileResponse(DOWNLOAD["path"], media_type="application/octet-stream", filename="data.bin")


async def teapot(request: Request) -> Response:
    raise TeapotError("short and stout")


async def forbidden(request: Request) -> Response:
    raise HTTPException(status_code=403, detail="members only")


async def boom(request: Request) -> Response:
    raise RuntimeError("unhandled in a route")


async def _chunks() -> AsyncIterator[bytes]:
    for chunk in STREAM_CHUNKS:
        await asyncio.sleep(0)
        yield chunk


async def stream(request: Request) -> StreamingResponse:
    return StreamingResponse(_chunks(), media_type="text/csv")


async def _broken_chunks() -> AsyncIterator[bytes]:
    yield b"first chunk,"
    raise RuntimeError("the stream broke after the response started")


async def stream_boom(request: Request) -> StreamingResponse:
    return StreamingResponse(_broken_chunks(), media_type="text/plain")


async def state(request: Request) -> JSONResponse:
    return JSONResponse({"greeting": request.state.greeting, "config": request.state.config})


async def svg(request: Request) -> Response:
    return Response('<svg xmlns="http://www.w3.org/2000/svg"/>', media_type="image/svg+xml")


async def latin1(request: Request) -> PlainTextResponse:
    # Starlette encodes header values as latin-1: b"caf\xe9" is not UTF-8.
    return PlainTextResponse("ok", headers={"X-Place": "café"})


async def internal(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", headers={"X-Internal-Trace": "secret", "X-Public": "yes"})


async def teapot_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"error": "teapot", "detail": str(exc)}, status_code=418)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers={"X-Error": "custom"})


starlette_app = Starlette(
    routes=[
        Route("/users/{user_id:int}", user),
        Route("/cookies", cookies),
        Route("/big", big),
        Route("/huge", huge),
        Route("/download", download),
        Route("/teapot", teapot),
        Route("/forbidden", forbidden),
        Route("/boom", boom),
        Route("/stream", stream),
        Route("/stream-boom", stream_boom),
        Route("/state", state),
        Route("/svg", svg),
        Route("/internal", internal),
        Route("/latin1", latin1),
    ],
    middleware=[Middleware(GZipMiddleware, minimum_size=500)],
    exception_handlers={TeapotError: teapot_handler, HTTPException: http_exception_handler},
    lifespan=starlette_lifespan,
)


@asynccontextmanager
async def failing_lifespan(app: Starlette) -> AsyncIterator[None]:
    raise ConnectionError("database unreachable")
    yield  # pragma: no cover


failing_startup_app = Starlette(routes=[Route("/users/{user_id:int}", user)], lifespan=failing_lifespan)


def brotli_asgi_compress(data: bytes) -> bytes:
    """What BrotliMiddleware (its defaults: quality 4, text mode, lgwin 22) sends for a one-message body."""
    compressor = brotli.Compressor(quality=4, mode=brotli.MODE_TEXT, lgwin=22)
    return bytes(compressor.process(data) + compressor.finish())


def _dashes_compressing_to_utf8() -> str:
    """Enough dashes to be compressed (400 bytes or more) whose brotli stream happens to be valid UTF-8
    (1095 with brotli 1.1-1.2: 11 bytes)."""
    for count in range(400, 5000):
        try:
            brotli_asgi_compress(b"-" * count).decode()
        except UnicodeDecodeError:
            continue
        return "-" * count
    raise RuntimeError("no run of dashes compresses to valid UTF-8 with this brotli")


DASHES = _dashes_compressing_to_utf8()


async def dashes(request: Request) -> PlainTextResponse:
    return PlainTextResponse(DASHES)


brotli_app = BrotliMiddleware(Starlette(routes=[Route("/dashes", dashes)]), minimum_size=400)

# ---------------------------------------------------------------------------------------------------------------
# FastAPI

FASTAPI_EVENTS: list[str] = []


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


fastapi_app = FastAPI()


@fastapi_app.post("/items")
async def create_item(item: Item) -> dict[str, Any]:
    return {"item": item.model_dump(), "price_with_tax": round(item.price * 1.2, 2)}


@fastapi_app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None, limit: int = 10) -> dict[str, Any]:
    return {"item_id": item_id, "q": q, "limit": limit}


@fastapi_app.get("/catalog/")
async def catalog() -> list[str]:
    return ["teapot", "kettle"]


@fastapi_app.post("/upload")
async def upload(description: Annotated[str, Form()], file: Annotated[UploadFile, File()]) -> dict[str, Any]:
    content = await file.read()
    return {
        "description": description,
        "filename": file.filename,
        "content_type": file.content_type,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def session_dependency() -> Iterator[str]:
    FASTAPI_EVENTS.append("dependency enter")
    try:
        yield "session-1"
    finally:
        FASTAPI_EVENTS.append("dependency exit")


@fastapi_app.get("/session")
def use_session(session: Annotated[str, Depends(session_dependency)]) -> dict[str, str]:
    FASTAPI_EVENTS.append("endpoint")
    return {"session": session}


def record_task(label: str) -> None:
    FASTAPI_EVENTS.append(f"task {label}")


def failing_task() -> None:
    FASTAPI_EVENTS.append("failing task ran")
    raise RuntimeError("background task failed after the response")


@fastapi_app.post("/tasks")
async def queue_tasks(background_tasks: BackgroundTasks) -> dict[str, bool]:
    background_tasks.add_task(record_task, "one")
    background_tasks.add_task(record_task, "two")
    return {"queued": True}


@fastapi_app.post("/tasks/fail")
async def queue_failing_task(background_tasks: BackgroundTasks) -> dict[str, bool]:
    background_tasks.add_task(failing_task)
    return {"queued": True}


# ---------------------------------------------------------------------------------------------------------------
# Django (configured in-process by django_app(); this module is its ROOT_URLCONF)


def django_hello(request: HttpRequest, name: str) -> JsonResponse:
    return JsonResponse({"hello": name, "q": request.GET.get("q"), "method": request.method})


def django_echo(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    payload = json.loads(request.body)
    return JsonResponse({"received": payload, "content_type": request.content_type}, status=201)


urlpatterns = [
    django_path("django/hello/<str:name>/", django_hello),
    django_path("django/echo/", django_echo),
]


@cache
def django_app() -> Any:
    """Django's ASGI application, with settings configured once for the whole process."""
    import django
    from django.conf import settings
    from django.core.asgi import get_asgi_application

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="cymangum-tests-not-secret",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            INSTALLED_APPS=[],
            MIDDLEWARE=[],
            DATABASES={},
            USE_TZ=True,
            LOGGING_CONFIG=None,
        )
        django.setup()
    return get_asgi_application()


# ---------------------------------------------------------------------------------------------------------------
# Quart

QUART_EVENTS: list[str] = []
QUART_SERVING = {"serving": False}

quart_app = Quart(__name__)


@quart_app.before_serving
async def quart_startup() -> None:
    QUART_EVENTS.append("before_serving")
    QUART_SERVING["serving"] = True


@quart_app.after_serving
async def quart_shutdown() -> None:
    QUART_EVENTS.append("after_serving")
    QUART_SERVING["serving"] = False


async def quart_background_work() -> None:
    await asyncio.sleep(0.01)  # a timer: it outlives the response
    QUART_EVENTS.append("background task done")


@quart_app.post("/quart/background")
async def quart_background() -> tuple[str, int]:
    quart_app.add_background_task(quart_background_work)
    return "queued", 202


@quart_app.route("/quart/hello/<name>")
async def quart_hello(name: str) -> dict[str, Any]:
    return {"hello": name, "serving": QUART_SERVING["serving"]}


# ---------------------------------------------------------------------------------------------------------------
# Litestar


@dataclass
class Book:
    title: str
    pages: int


@get("/books/{book_id:int}")
async def get_book(book_id: FromPath[int]) -> dict[str, Any]:
    return {"id": book_id, "title": f"Book {book_id}"}


@post("/books")
async def create_book(data: JSONBody[Book]) -> dict[str, Any]:
    return {"created": {"title": data.title, "pages": data.pages}, "long": data.pages > 300}


litestar_app = Litestar(route_handlers=[get_book, create_book], logging_config=None)


# ---------------------------------------------------------------------------------------------------------------
# A loop-bound client kept between invocations: an aiosqlite connection opened by the first request


SQLITE: dict[str, Any] = {}


async def sqlite_count(request: Request) -> JSONResponse:
    if "connection" not in SQLITE:
        SQLITE["loop"] = asyncio.get_running_loop()
        SQLITE["connection"] = await aiosqlite.connect(":memory:")
        await SQLITE["connection"].execute("CREATE TABLE hits (source TEXT)")
    connection = SQLITE["connection"]
    await connection.execute("INSERT INTO hits VALUES (?)", (request.query_params["by"],))
    async with connection.execute(
        "SELECT source, COUNT(*) FROM hits GROUP BY source ORDER BY source"
    ) as cursor:
        rows = await cursor.fetchall()
    same_loop = asyncio.get_running_loop() is SQLITE["loop"]
    return JSONResponse({"hits": {source: count for source, count in rows}, "same_loop": same_loop})


async def sqlite_close(request: Request) -> PlainTextResponse:
    await SQLITE.pop("connection").close()
    return PlainTextResponse("closed")


sqlite_app = Starlette(routes=[Route("/hits", sqlite_count), Route("/close", sqlite_close)])
