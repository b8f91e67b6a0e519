"""Apps that tests/test_cli.py runs through `python -m cymangum ...` (as "tests.cli_apps:NAME")."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from cymangum import Mangum

# Not UTF-8 (so it travels base64-encoded), every byte value, odd length.
BINARY = bytes(range(256)) * 400 + b"\xff\xfe\x00"

app = FastAPI()


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q, "unicode": "żółw 🐢"}


@app.post("/upload")
async def upload(file: UploadFile, request: Request) -> dict[str, Any]:
    data = await file.read()
    form = await request.form()
    return {
        "filename": file.filename,
        "content_type": file.content_type,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "fields": {k: v for k, v in form.items() if isinstance(v, str)},
    }


@app.get("/download")
async def download() -> Response:
    return Response(
        BINARY,
        media_type="application/octet-stream",
        headers={"x-sha256": hashlib.sha256(BINARY).hexdigest()},
    )


@app.get("/cookies")
async def cookies() -> JSONResponse:
    response = JSONResponse({"cookies": 3})
    response.set_cookie("session", "abc123", httponly=True)
    response.set_cookie("theme", "dark", max_age=3600)
    response.set_cookie("lang", "pl")
    return response


@app.get("/go")
async def go() -> RedirectResponse:
    # Relative to the request URL: the client resolves it under whatever base path it used.
    return RedirectResponse("target", status_code=302)


@app.get("/go-absolute")
async def go_absolute(request: Request) -> RedirectResponse:
    # Built from the ASGI scope: with Mangum's semantics root_path is "", so the base path is not in it.
    return RedirectResponse(str(request.url_for("target")), status_code=302)


@app.get("/target", name="target")
async def target(request: Request) -> dict[str, Any]:
    return {"reached": True, "path": request.url.path}


@app.get("/event")
async def event(request: Request) -> Any:
    """The Lambda event as the adapter received it."""
    return request.scope["aws.event"]


@app.get("/error")
async def error() -> None:
    raise RuntimeError("the app failed")  # the adapter answers 500: app errors are not handler errors


# A Mangum instance: the CLI takes its app and its configuration.
handler = Mangum(app, lifespan="off", exclude_headers=["x-sha256"])


async def failing_lifespan_app(scope: Any, receive: Any, send: Any) -> None:
    """Startup fails, so every invocation makes the handler raise LifespanFailure (API Gateway: 502)."""
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
        return
    raise AssertionError("never reached")


NOT_CALLABLE = 42
