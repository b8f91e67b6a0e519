"""What the app gets wrong in its response, and the opt-in deadline: each with a clear log line."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
from awslambdaric.lambda_context import LambdaContext

from cymangum import Mangum
from tests.events import load_event


def rest_event() -> dict[str, Any]:
    return load_event("go/apigw-request.json")


def respond(status: Any, headers: list[Any]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@pytest.mark.parametrize("bad", [b"a\r\nSet-Cookie: injected=1", b"a\nb", b"a\rb", b"a\x00b"])
def test_headers_with_cr_lf_or_nul_are_dropped_with_a_warning(bad: bytes, caplog: pytest.LogCaptureFixture) -> None:
    headers = [[b"content-type", b"text/plain"], [b"x-echo", bad], [b"x-fine", b"1"], [b"x-" + bad, b"v"]]
    result = Mangum(respond(200, headers), lifespan="off")(rest_event(), None)
    assert result["statusCode"] == 200 and result["body"] == "ok"
    assert result["headers"] == {"content-type": "text/plain", "x-fine": "1"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("CR, LF or NUL" in w for w in warnings)


@pytest.mark.parametrize("status", [None, 99, 600, 200.0, True, "abc", "2000", b"200", [200]])
def test_an_impossible_status_is_a_500(status: Any, caplog: pytest.LogCaptureFixture) -> None:
    result = Mangum(respond(status, []), lifespan="off")(rest_event(), None)
    assert result["statusCode"] == 500 and result["body"] == "Internal Server Error"
    assert "invalid response status" in caplog.text


@pytest.mark.parametrize("status", [100, 204, 599, "200", "404"])
def test_valid_statuses_pass_through_unchanged_as_with_mangum(status: Any) -> None:
    assert Mangum(respond(status, []), lifespan="off")(rest_event(), None)["statusCode"] == status


def context(remaining_ms: int) -> LambdaContext:
    deadline = int(time.time() * 1000) + remaining_ms
    return LambdaContext("request-id", None, None, deadline, "arn:aws:lambda:us-east-1:123456789012:function:f")


def slow_app(seconds: float, record: list[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(seconds)
        except asyncio.CancelledError:
            record.append("cancelled")
            raise
        await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"text/plain"]]})
        await send({"type": "http.response.body", "body": b"late"})

    return app


def test_deadline_margin_answers_504_before_lambda_kills_the_function(caplog: pytest.LogCaptureFixture) -> None:
    record: list[str] = []
    handler = Mangum(slow_app(5, record), lifespan="off", deadline_margin_ms=200)
    started = time.monotonic()
    result = handler(rest_event(), context(400))
    elapsed = time.monotonic() - started
    assert result["statusCode"] == 504 and result["body"] == "Gateway Timeout"
    assert elapsed < 1.5
    assert record == ["cancelled"]
    assert "did not answer within" in caplog.text and "504" in caplog.text


def test_deadline_margin_leaves_a_timely_answer_alone() -> None:
    record: list[str] = []
    handler = Mangum(slow_app(0.01, record), lifespan="off", deadline_margin_ms=200)
    assert handler(rest_event(), context(5000))["body"] == "late"
    assert record == []


def test_deadline_already_passed_and_no_context() -> None:
    record: list[str] = []
    handler = Mangum(slow_app(0.01, record), lifespan="off", deadline_margin_ms=500)
    assert handler(rest_event(), context(100))["statusCode"] == 504
    assert record == []
    assert handler(rest_event(), None)["body"] == "late"  # no Lambda context: nothing to watch
