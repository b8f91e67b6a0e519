"""The opt-ins beyond Mangum: lifespan once per environment, AWS-exact output, re-raise mode, install()."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from cymangum import Mangum
from cymangum.exceptions import LifespanFailure
from tests.events import EVENTS_DIR as EVENTS
from tests.events import load_event as load


def rest_event(path: str) -> dict[str, Any]:
    event = load("go/apigw-request.json")
    event.update(path=path, httpMethod="GET", multiValueQueryStringParameters=None, queryStringParameters=None, body=None)
    return event


# ------------------------------------------------------------------------------------------------------------
# lifespan once per environment


def starlette_with_resources(record: dict[str, Any]) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        record["startups"] += 1
        transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
        async with httpx.AsyncClient(transport=transport) as client, aiosqlite.connect(":memory:") as db:
            await db.execute("create table hits (n integer)")
            record["client"], record["db"] = client, db
            yield {"client": client, "db": db}
        record["shutdowns"] += 1
        record["client_closed"] = client.is_closed

    async def hit(request: Request) -> JSONResponse:
        client, db = request.state.client, request.state.db
        response = await client.get("http://upstream/")
        await db.execute("insert into hits values (1)")
        async with db.execute("select count(*) from hits") as cursor:
            (count,) = await cursor.fetchone()  # type: ignore[misc]
        record["ids"].add((id(client), id(db)))
        return JSONResponse({"upstream": response.json(), "hits": count})

    return Starlette(routes=[Route("/hit", hit)], lifespan=lifespan)


def test_lifespan_once_keeps_one_startup_and_one_resource_over_1000_invocations() -> None:
    record: dict[str, Any] = {"startups": 0, "shutdowns": 0, "ids": set()}
    handler = Mangum(starlette_with_resources(record), lifespan_once=True)
    try:
        for number in range(1, 1001):
            result = handler(rest_event("/hit"), None)
            assert result["statusCode"] == 200, result
            assert json.loads(result["body"]) == {"upstream": {"ok": True}, "hits": number}
        assert record["startups"] == 1 and record["shutdowns"] == 0
        assert len(record["ids"]) == 1
    finally:
        # Also on failure: aiosqlite's worker thread is not a daemon and would hold the interpreter at exit.
        handler.shutdown()
    assert record["shutdowns"] == 1 and record["client_closed"] is True
    handler.shutdown()  # idempotent
    assert record["shutdowns"] == 1


def test_lifespan_once_with_fastapi_at_init() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/hello")
    async def hello(request: Request) -> dict[str, str]:
        request.state.mutated = True  # a request's own copy of the state
        return {"greeting": request.state.greeting}

    handler = Mangum(app, lifespan_once="init")
    assert events == ["startup"]
    for _ in range(3):
        assert json.loads(handler(rest_event("/hello"), None)["body"]) == {"greeting": "hello"}
    assert events == ["startup"]
    handler.shutdown()
    assert events == ["startup", "shutdown"]


def test_failed_startup_raises_and_is_retried_on_the_next_invocation() -> None:
    attempts = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            attempts.append(1)
            if len(attempts) == 1:
                await send({"type": "lifespan.startup.failed", "message": "database down"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    handler = Mangum(app, lifespan_once=True)
    with pytest.raises(LifespanFailure, match="database down"):
        handler(rest_event("/"), None)
    assert handler(rest_event("/"), None)["statusCode"] == 204
    assert handler(rest_event("/"), None)["statusCode"] == 204
    assert len(attempts) == 2
    handler.shutdown()


def test_sigterm_runs_the_shutdown_then_the_process_ends() -> None:
    script = textwrap.dedent(
        f"""
        import json, os, signal, sys
        from contextlib import asynccontextmanager
        from starlette.applications import Starlette
        from cymangum import Mangum

        @asynccontextmanager
        async def lifespan(app):
            print("startup", flush=True)
            yield
            print("shutdown", flush=True)

        handler = Mangum(Starlette(lifespan=lifespan), lifespan_once=True)
        event = json.load(open({str(EVENTS / "go/apigw-request.json")!r}))
        print(handler(event, None)["statusCode"], flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        print("not reached", flush=True)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["startup", "404", "shutdown"]
    assert result.returncode == -15


def test_shutdown_runs_at_interpreter_exit() -> None:
    script = textwrap.dedent(
        f"""
        import json
        from contextlib import asynccontextmanager
        from starlette.applications import Starlette
        from cymangum import Mangum

        @asynccontextmanager
        async def lifespan(app):
            print("startup", flush=True)
            yield
            print("shutdown", flush=True)

        handler = Mangum(Starlette(lifespan=lifespan), lifespan_once=True)
        handler(json.load(open({str(EVENTS / "go/apigw-request.json")!r})), None)
        """
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["startup", "shutdown"], result.stderr
    assert result.returncode == 0


# ------------------------------------------------------------------------------------------------------------
# AWS-exact output


def redirect_app() -> FastAPI:
    app = FastAPI()

    @app.get("/items/{item}")
    async def item(item: str, request: Request) -> dict[str, Any]:
        return {
            "path": request.scope["path"],
            "root_path": request.scope["root_path"],
            "raw_path": request.scope["raw_path"] and request.scope["raw_path"].decode(),
            "url": str(request.url),
            "url_for": str(request.url_for("item", item="x")),
        }

    @app.get("/old")
    async def old() -> RedirectResponse:
        return RedirectResponse("/items/new")

    return app


def test_rest_root_path_keeps_the_stage_for_redirects_and_url_for() -> None:
    event = rest_event("/prod/items/a%20b")
    exact = Mangum(redirect_app(), lifespan="off", api_gateway_base_path="prod", aws_exact=True)
    body = json.loads(exact(event, None)["body"])
    assert body["path"] == "/prod/items/a b"
    assert body["root_path"] == "/prod"
    assert body["raw_path"] == "/prod/items/a%20b"
    assert body["url_for"].endswith(".execute-api.us-east-1.amazonaws.com/prod/items/x")
    # Mangum-compatible default: the stage is lost from generated URLs (Mangum issue #318).
    default = Mangum(redirect_app(), lifespan="off", api_gateway_base_path="prod")
    body = json.loads(default(event, None)["body"])
    assert body["path"] == "/items/a b" and body["root_path"] == "" and body["raw_path"] is None
    assert body["url_for"].endswith(".com/items/x")


def test_http_api_v2_uses_raw_path() -> None:
    event = load("powertools/apiGatewayProxyV2Event.json")
    event["rawPath"] = "/items/a%2Fb/"
    event["requestContext"]["http"]["path"] = "/items/a/b"
    seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append((scope["path"], scope["raw_path"], scope["root_path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    Mangum(app, lifespan="off", aws_exact=True)(event, None)
    Mangum(app, lifespan="off")(event, None)
    assert seen == [("/items/a/b/", b"/items/a%2Fb/", ""), ("/items/a/b", None, "")]


def test_alb_client_and_status_description() -> None:
    event = load("powertools/albEvent.json")
    event["headers"]["x-forwarded-for"] = "203.0.113.9, 10.0.0.1"
    seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["client"])
        await send({"type": "http.response.start", "status": 404, "headers": [[b"content-type", b"text/plain"]]})
        await send({"type": "http.response.body", "body": b"no"})

    result = Mangum(app, lifespan="off", aws_exact=True)(event, None)
    assert seen == [("203.0.113.9", 0)]
    assert result["statusDescription"] == "404 Not Found"
    default = Mangum(app, lifespan="off")(event, None)
    assert seen[1] == ("203.0.113.9, 10.0.0.1", 0) and "statusDescription" not in default


def test_edge_keeps_every_set_cookie_and_says_how_the_body_is_encoded() -> None:
    event = {
        "Records": [
            {
                "cf": {
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {"host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}]},
                        "method": "GET",
                        "querystring": "",
                        "uri": "/",
                    }
                }
            }
        ]
    }

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [[b"Content-Type", b"image/png"], [b"Set-Cookie", b"a=1"], [b"Set-Cookie", b"b=2"]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"\x89PNG"})

    result = Mangum(app, lifespan="off", aws_exact=True)(event, None)
    assert result == {
        "status": "200",
        "headers": {
            "content-type": [{"key": "Content-Type", "value": "image/png"}],
            "set-cookie": [{"key": "Set-Cookie", "value": "a=1"}, {"key": "Set-Cookie", "value": "b=2"}],
        },
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
        "bodyEncoding": "base64",
    }
    default = Mangum(app, lifespan="off")(event, None)
    assert default["headers"]["set-cookie"] == [{"key": "set-cookie", "value": "b=2"}]


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*/*.json")), ids=lambda p: p.name)
def test_aws_exact_handles_every_genuine_event(path: Path) -> None:
    from tests.test_genuine_events import NOT_PROXY, make_app

    if path.name in NOT_PROXY:
        return
    seen: list[dict[str, Any]] = []
    result = Mangum(make_app(seen), lifespan="off", aws_exact=True)(json.loads(path.read_text()), None)
    if result.get("statusCode") == 400:
        return
    assert result["statusCode"] == 200
    (scope,) = seen
    assert isinstance(scope["raw_path"], bytes)
    assert scope["path"].startswith(scope["root_path"])


# ------------------------------------------------------------------------------------------------------------
# re-raise mode and install()


def test_reraise_propagates_app_errors_after_logging(caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        Mangum(app, lifespan="off", reraise=True)(rest_event("/"), None)
    assert "An error occurred running the application." in caplog.text
    assert Mangum(app, lifespan="off")(rest_event("/"), None)["statusCode"] == 500


def test_reraise_sees_through_a_frameworks_own_500_page() -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError, match="missing"):
        Mangum(app, lifespan="off", reraise=True)(rest_event("/boom"), None)
    assert Mangum(app, lifespan="off")(rest_event("/boom"), None)["statusCode"] == 500


def test_reraise_keeps_a_completed_response() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})
        raise ValueError("after the response")

    assert Mangum(app, lifespan="off", reraise=True)(rest_event("/"), None)["statusCode"] == 200


def test_install_makes_mangum_imports_resolve_to_cymangum() -> None:
    script = textwrap.dedent(
        """
        import cymangum
        cymangum.install()
        import mangum
        from mangum import Mangum
        from mangum.handlers.utils import strip_api_gateway_path
        from mangum.protocols.http import HTTPCycle
        import mangum.adapter, cymangum.adapter, cymangum.handlers.utils, cymangum.protocols.http
        assert Mangum is cymangum.Mangum and mangum is cymangum
        assert mangum.adapter is cymangum.adapter
        assert strip_api_gateway_path is cymangum.handlers.utils.strip_api_gateway_path
        assert HTTPCycle is cymangum.protocols.http.HTTPCycle
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
