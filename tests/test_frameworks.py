"""Real frameworks behind every event source, through `cymangum.Mangum(app)(event, context)`.

Starlette, FastAPI, Django, Quart and Litestar apps (tests/framework_apps.py) answer realistic events built from
the genuine AWS payloads (tests/events.py). Each result is asserted exactly (status, headers, body, in the
source's format) and compared with the real Mangum 0.22 on the same event, key order included (Lambda
serialises the dict as is). Headers that may vary between two calls (`date`, `server`) are dropped before
comparing. The only differences are the documented ones (DESIGN.md "Beyond Mangum"), asserted explicitly.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import logging
import warnings
from collections.abc import Callable
from typing import Any

import brotli
import mangum
import mangum.adapter
import mangum.exceptions
import pytest

import cymangum
from cymangum.exceptions import LifespanFailure
from tests import framework_apps as apps
from tests.events import BUILDERS, EVENTS_DIR, FUNCTION_URL_ID, GENUINE_EVENTS, lambda_context, load_event

CONTEXT = lambda_context()
VOLATILE_HEADERS = {"date", "server"}
SOURCES = list(BUILDERS)
V2_SOURCES = {"http_v2", "function_url"}

# Where a redirect built from each source's Host / scheme headers points.
ORIGINS = {
    "rest": "https://gy415nuibc.execute-api.us-east-1.amazonaws.com",
    "http_v1": "https://id.execute-api.us-east-1.amazonaws.com",
    "http_v2": "https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
    "function_url": f"https://{FUNCTION_URL_ID}.lambda-url.us-east-1.on.aws",
    "alb": "http://lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com",
    "alb_multi": "http://lambda-test-alb-1234567.us-east-1.elb.amazonaws.com",
    "edge": "https://d111111abcdef8.cloudfront.net",
}

MANGUM_500_HEADERS = {"content-type": "text/plain; charset=utf-8"}


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def event_for(source: str, method: str = "GET", path: str = "/", **kwargs: Any) -> dict[str, Any]:
    return BUILDERS[source](method, path, **kwargs)


def run_ours(app: Any, event: dict[str, Any], lifespan: str = "off", **kwargs: Any) -> dict[str, Any]:
    pristine = copy.deepcopy(event)
    result = cymangum.Mangum(app, lifespan=lifespan, **kwargs)(event, CONTEXT)
    assert event == pristine, "the event must not be mutated"
    return result


def mangum_handler(app: Any, **kwargs: Any) -> Any:
    """The real Mangum 0.22. Its constructor calls asyncio.get_event_loop(), which warns on Python 3.12-3.13 when
    the thread has no loop yet (SPEC 7.2; Mangum's own test suite ignores that warning)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "There is no current event loop", DeprecationWarning)
        return mangum.Mangum(app, **kwargs)


def run_mangum(app: Any, event: dict[str, Any], lifespan: str = "off", **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = mangum_handler(app, lifespan=lifespan, **kwargs)(copy.deepcopy(event), CONTEXT)
    return result


def stable(result: dict[str, Any]) -> dict[str, Any]:
    """The result without the headers a framework may vary from call to call."""
    out = dict(result)
    for key in ("headers", "multiValueHeaders"):
        if isinstance(out.get(key), dict):
            out[key] = {k: v for k, v in out[key].items() if k.lower() not in VOLATILE_HEADERS}
    return out


def assert_same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert stable(ours) == stable(theirs)
    assert json.dumps(stable(ours)) == json.dumps(stable(theirs)), "same keys, different order"


def invoke(app: Any, event: dict[str, Any], lifespan: str = "off", **kwargs: Any) -> dict[str, Any]:
    """cymangum's result, after checking that Mangum 0.22 gives the same for the same event."""
    ours = run_ours(app, copy.deepcopy(event), lifespan, **kwargs)
    assert_same(ours, run_mangum(app, event, lifespan, **kwargs))
    return ours


def status_of(result: dict[str, Any]) -> Any:
    return result["status"] if "status" in result else result["statusCode"]


def body_of(result: dict[str, Any]) -> bytes:
    body: str = result["body"]
    return base64.b64decode(body) if result["isBase64Encoded"] else body.encode()


def json_of(result: dict[str, Any]) -> Any:
    return json.loads(body_of(result))


def shaped(
    source: str, status: int, headers: dict[str, str], body: str, is_base64: bool = False
) -> dict[str, Any]:
    """The result Mangum 0.22 builds in `source`'s format for a response whose header names (lowercase) are all
    distinct and that sets no cookie (SPEC 4.1-4.4), key order included."""
    if source in ("rest", "http_v1"):
        return {
            "statusCode": status,
            "headers": headers,
            "multiValueHeaders": {},
            "body": body,
            "isBase64Encoded": is_base64,
        }
    if source in V2_SOURCES:
        return {"statusCode": status, "body": body, "headers": headers, "isBase64Encoded": is_base64}
    if source == "alb":
        return {"statusCode": status, "body": body, "isBase64Encoded": is_base64, "headers": headers}
    if source == "alb_multi":
        multi = {k: [v] for k, v in headers.items()}
        return {"statusCode": status, "body": body, "isBase64Encoded": is_base64, "multiValueHeaders": multi}
    assert source == "edge"
    edge = {k: [{"key": k, "value": v}] for k, v in headers.items()}
    return {"status": status, "headers": edge, "body": body, "isBase64Encoded": is_base64}


def assert_exact(result: dict[str, Any], expected: dict[str, Any]) -> None:
    assert stable(result) == expected
    assert list(stable(result)) == list(expected)


def json_body(value: Any) -> str:
    """Starlette / FastAPI / Litestar's compact JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def app_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "mangum.http"
        and r.levelno == logging.ERROR
        and r.getMessage() == "An error occurred running the application."
    ]


by_source = pytest.mark.parametrize("source", SOURCES)


# ---------------------------------------------------------------------------------------------------------------
# The event builders


HANDLER_FOR_SOURCE = {
    "rest": "APIGateway",
    "http_v1": "HTTPGateway",
    "http_v2": "HTTPGateway",
    "function_url": "HTTPGateway",
    "alb": "ALB",
    "alb_multi": "ALB",
    "edge": "LambdaAtEdge",
}


def test_genuine_events_are_all_listed_and_load() -> None:
    assert len(GENUINE_EVENTS) == len(list(EVENTS_DIR.glob("*/*.json"))) >= 40
    assert (
        load_event("go/apigw-request.json") == load_event("apigw-request") == load_event("apigw-request.json")
    )
    event = load_event("go/apigw-request.json")
    event["path"] = "/changed"
    assert load_event("go/apigw-request.json")["path"] == "/hello/world", "each load is a fresh copy"


@by_source
def test_event_builders_reach_the_intended_handler(source: str) -> None:
    event = event_for(
        source, "POST", "/x", query={"a": "1"}, headers={"X-Test": "1"}, body=b"\x00\xff", base64=True
    )
    json.dumps(event)  # a Lambda event is JSON
    assert (
        type(mangum_handler(apps.starlette_app, lifespan="off").infer(event, CONTEXT)).__name__
        == HANDLER_FOR_SOURCE[source]
    )
    assert (
        type(cymangum.Mangum(apps.starlette_app, lifespan="off").infer(event, CONTEXT)).__name__
        == HANDLER_FOR_SOURCE[source]
    )


# ---------------------------------------------------------------------------------------------------------------
# Starlette


@by_source
def test_starlette_path_and_query_params(source: str) -> None:
    event = event_for(source, "GET", "/users/42", query={"verbose": "yes please", "tag": ["a", "b"]})
    result = invoke(apps.starlette_app, event)
    # ALB without multi-value query strings keeps only the last value of a repeated parameter.
    tags = ["b"] if source == "alb" else ["a", "b"]
    body = json_body({"user_id": 42, "verbose": "yes please", "tags": tags})
    headers = {"content-length": str(len(body)), "content-type": "application/json"}
    assert_exact(result, shaped(source, 200, headers, body))


SESSION = "session=abc123; HttpOnly; Path=/; SameSite=lax"
THEME = "theme=dark; Max-Age=3600; Path=/; SameSite=strict"
LANG = "lang=en; Path=/docs; SameSite=lax"
COOKIE_BODY = '{"received":{"a":"1","b":"2"}}'

# Several Set-Cookie headers in each source's format (SPEC 4.5).
COOKIE_RESULTS: dict[str, dict[str, Any]] = {
    "rest": {
        "statusCode": 200,
        "headers": {"content-length": "30", "content-type": "application/json"},
        "multiValueHeaders": {"set-cookie": [SESSION, THEME, LANG]},
        "body": COOKIE_BODY,
        "isBase64Encoded": False,
    },
    "http_v2": {
        "statusCode": 200,
        "body": COOKIE_BODY,
        "headers": {"content-length": "30", "content-type": "application/json"},
        "cookies": [SESSION, THEME, LANG],
        "isBase64Encoded": False,
    },
    "alb": {
        "statusCode": 200,
        "body": COOKIE_BODY,
        "isBase64Encoded": False,
        # One spelling per value, so that ALB passes all three on.
        "headers": {
            "content-length": "30",
            "content-type": "application/json",
            "set-cookie": SESSION,
            "Set-cookie": THEME,
            "sEt-cookie": LANG,
        },
    },
    "alb_multi": {
        "statusCode": 200,
        "body": COOKIE_BODY,
        "isBase64Encoded": False,
        "multiValueHeaders": {
            "content-length": ["30"],
            "content-type": ["application/json"],
            "set-cookie": [SESSION, THEME, LANG],
        },
    },
    "edge": {
        "status": 200,
        # Mangum keeps one value per header name for CloudFront: the last cookie wins.
        "headers": {
            "content-length": [{"key": "content-length", "value": "30"}],
            "content-type": [{"key": "content-type", "value": "application/json"}],
            "set-cookie": [{"key": "set-cookie", "value": LANG}],
        },
        "body": COOKIE_BODY,
        "isBase64Encoded": False,
    },
}
COOKIE_RESULTS["http_v1"] = COOKIE_RESULTS["rest"]
COOKIE_RESULTS["function_url"] = COOKIE_RESULTS["http_v2"]


@by_source
def test_starlette_cookies_in_and_several_set_cookie_out(source: str) -> None:
    event = event_for(source, "GET", "/cookies", headers={"Cookie": "a=1; b=2"})
    if source in V2_SOURCES:
        assert event["cookies"] == ["a=1", "b=2"] and "cookie" not in event["headers"]
    result = invoke(apps.starlette_app, event)
    assert_exact(result, COOKIE_RESULTS[source])


@by_source
def test_starlette_gzip_middleware(source: str) -> None:
    event = event_for(source, "GET", "/big", headers={"Accept-Encoding": "gzip, deflate, br"})
    result = invoke(apps.starlette_app, event)  # Mangum base64-encodes it too: gzip is never valid UTF-8
    assert status_of(result) == 200
    assert result["isBase64Encoded"] is True
    compressed = body_of(result)
    assert gzip.decompress(compressed).decode() == apps.BIG_TEXT
    assert len(compressed) < len(apps.BIG_TEXT) // 10
    headers = {
        "content-length": str(len(compressed)),
        "content-type": "text/plain; charset=utf-8",
        "vary": "Accept-Encoding",
        "content-encoding": "gzip",
    }
    assert_exact(result, shaped(source, 200, headers, base64.b64encode(compressed).decode(), is_base64=True))


@by_source
def test_starlette_without_accept_encoding_is_not_compressed(source: str) -> None:
    result = invoke(apps.starlette_app, event_for(source, "GET", "/big", headers={"Accept-Encoding": None}))
    headers = {
        "content-length": str(len(apps.BIG_TEXT)),
        "content-type": "text/plain; charset=utf-8",
        "vary": "Accept-Encoding",
    }
    assert_exact(result, shaped(source, 200, headers, apps.BIG_TEXT))


def test_starlette_gzip_compressed_in_a_worker_thread() -> None:
    # Above 128 KiB GZipMiddleware compresses through anyio.to_thread: the loop must wait for the thread.
    result = invoke(
        apps.starlette_app, event_for("alb_multi", "GET", "/huge", headers={"Accept-Encoding": "gzip"})
    )
    assert result["isBase64Encoded"] is True
    assert result["multiValueHeaders"]["content-encoding"] == ["gzip"]
    assert gzip.decompress(body_of(result)).decode() == apps.HUGE_TEXT


@by_source
def test_starlette_file_response_is_base64(source: str, tmp_path: Any) -> None:
    # 76800 bytes: FileResponse sends them in two chunks, read in a worker thread.
    data = bytes(range(256)) * 300
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    apps.DOWNLOAD["path"] = str(path)
    result = invoke(
        apps.starlette_app, event_for(source, "GET", "/download", headers={"Accept-Encoding": None})
    )
    assert status_of(result) == 200 and result["isBase64Encoded"] is True
    assert body_of(result) == data
    result_headers = result.get("headers") or result["multiValueHeaders"]
    assert set(result_headers) == {
        "content-type",
        "content-disposition",
        "accept-ranges",
        "content-length",
        "last-modified",
        "etag",
        "vary",
    }


@by_source
def test_starlette_exception_handlers(source: str) -> None:
    teapot = invoke(apps.starlette_app, event_for(source, "GET", "/teapot"))
    body = '{"error":"teapot","detail":"short and stout"}'
    assert_exact(
        teapot, shaped(source, 418, {"content-length": "45", "content-type": "application/json"}, body)
    )

    forbidden = invoke(apps.starlette_app, event_for(source, "GET", "/forbidden"))
    body = '{"error":"members only"}'
    headers = {"x-error": "custom", "content-length": "24", "content-type": "application/json"}
    assert_exact(forbidden, shaped(source, 403, headers, body))


@by_source
def test_starlette_unhandled_exception_before_the_response(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    # ServerErrorMiddleware answers its own 500 and re-raises; the adapter keeps the completed response and logs.
    result = run_ours(apps.starlette_app, event_for(source, "GET", "/boom"))
    headers = {"content-length": "21", "content-type": "text/plain; charset=utf-8"}
    assert_exact(result, shaped(source, 500, headers, "Internal Server Error"))
    assert len(app_errors(caplog)) == 1
    assert isinstance(app_errors(caplog)[0].exc_info[1], RuntimeError)  # type: ignore[index]
    assert_same(result, run_mangum(apps.starlette_app, event_for(source, "GET", "/boom")))
    assert len(app_errors(caplog)) == 2


@by_source
def test_starlette_unhandled_exception_mid_stream_is_mangums_500(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The response had started, so only the adapter can answer: Mangum's exact 500.
    result = invoke(apps.starlette_app, event_for(source, "GET", "/stream-boom"))
    assert_exact(result, shaped(source, 500, MANGUM_500_HEADERS, "Internal Server Error"))
    assert len(app_errors(caplog)) == 2  # cymangum, then Mangum


def test_starlette_unhandled_exception_rest_exact_dict() -> None:
    result = invoke(apps.starlette_app, event_for("rest", "GET", "/stream-boom"))
    assert result == {
        "statusCode": 500,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "multiValueHeaders": {},
        "body": "Internal Server Error",
        "isBase64Encoded": False,
    }


@by_source
def test_starlette_streaming_response_chunks_are_concatenated(source: str) -> None:
    result = invoke(
        apps.starlette_app, event_for(source, "GET", "/stream", headers={"Accept-Encoding": None})
    )
    headers = {"content-type": "text/csv; charset=utf-8", "vary": "Accept-Encoding"}  # no content-length
    assert_exact(result, shaped(source, 200, headers, "alpha,beta,gamma,delta"))


def test_starlette_streaming_response_through_gzip() -> None:
    result = invoke(
        apps.starlette_app, event_for("http_v2", "GET", "/stream", headers={"Accept-Encoding": "gzip"})
    )
    assert result["isBase64Encoded"] is True
    assert result["headers"]["content-encoding"] == "gzip"
    assert gzip.decompress(body_of(result)) == b"".join(apps.STREAM_CHUNKS)


@by_source
def test_starlette_lifespan_state_in_request_state(source: str) -> None:
    apps.STARLETTE_EVENTS.clear()
    event = event_for(source, "GET", "/state")
    result = run_ours(apps.starlette_app, event, lifespan="auto")
    assert apps.STARLETTE_EVENTS == ["startup", "shutdown"]
    body = '{"greeting":"hello from lifespan","config":{"region":"us-east-1"}}'
    assert_exact(
        result,
        shaped(source, 200, {"content-length": str(len(body)), "content-type": "application/json"}, body),
    )
    assert_same(result, run_mangum(apps.starlette_app, event, lifespan="auto"))
    assert apps.STARLETTE_EVENTS == ["startup", "shutdown"] * 2


def test_starlette_lifespan_runs_on_every_invocation_of_a_warm_handler() -> None:
    apps.STARLETTE_EVENTS.clear()
    handler = cymangum.Mangum(apps.starlette_app)  # lifespan="auto" by default
    results = [handler(event_for(source, "GET", "/state"), CONTEXT) for source in ("rest", "http_v2", "alb")]
    assert [status_of(r) for r in results] == [200, 200, 200]
    assert apps.STARLETTE_EVENTS == ["startup", "shutdown"] * 3
    reference = mangum_handler(apps.starlette_app)
    assert [reference(event_for(s, "GET", "/state"), CONTEXT) for s in ("rest", "http_v2", "alb")] == results
    assert apps.STARLETTE_EVENTS == ["startup", "shutdown"] * 6


def test_starlette_lifespan_off_gives_no_state(caplog: pytest.LogCaptureFixture) -> None:
    apps.STARLETTE_EVENTS.clear()
    result = invoke(apps.starlette_app, event_for("rest", "GET", "/state"), lifespan="off")
    assert apps.STARLETTE_EVENTS == []
    # request.state.greeting: AttributeError, answered by ServerErrorMiddleware.
    assert status_of(result) == 500
    assert isinstance(app_errors(caplog)[0].exc_info[1], AttributeError)  # type: ignore[index]


@pytest.mark.parametrize("lifespan", ["auto", "on"])
def test_starlette_lifespan_startup_failure_raises_like_mangum(lifespan: str) -> None:
    event = event_for("http_v2", "GET", "/users/1")
    with pytest.raises(LifespanFailure) as ours:
        run_ours(apps.failing_startup_app, event, lifespan=lifespan)
    with pytest.raises(mangum.exceptions.LifespanFailure) as theirs:
        run_mangum(apps.failing_startup_app, event, lifespan=lifespan)
    assert str(ours.value) == str(theirs.value)
    assert "Lifespan startup failure." in str(ours.value) and "database unreachable" in str(ours.value)


def test_loop_bound_client_survives_between_invocations() -> None:
    """An aiosqlite connection opened by one invocation is used by the next ones: cymangum keeps the thread's
    loop between invocations, as Mangum does, and Mangum in between can use the connection too."""
    try:
        results = [
            json_of(run_ours(apps.sqlite_app, event_for("rest", "GET", "/hits", query={"by": "cymangum"}))),
            json_of(
                run_ours(apps.sqlite_app, event_for("http_v2", "GET", "/hits", query={"by": "cymangum"}))
            ),
            json_of(run_mangum(apps.sqlite_app, event_for("alb", "GET", "/hits", query={"by": "mangum"}))),
            json_of(run_ours(apps.sqlite_app, event_for("edge", "GET", "/hits", query={"by": "cymangum"}))),
        ]
    finally:
        if "connection" in apps.SQLITE:
            assert body_of(run_ours(apps.sqlite_app, event_for("rest", "GET", "/close"))) == b"closed"
    assert [r["hits"] for r in results] == [
        {"cymangum": 1},
        {"cymangum": 2},
        {"cymangum": 2, "mangum": 1},
        {"cymangum": 3, "mangum": 1},
    ]
    assert results[0]["same_loop"] and results[1]["same_loop"] and results[3]["same_loop"]


# ---------------------------------------------------------------------------------------------------------------
# Documented differences from Mangum (DESIGN.md "Beyond Mangum")


def brotli_event() -> dict[str, Any]:
    return event_for("http_v2", "GET", "/dashes", headers={"Accept-Encoding": "br"})


def internal_event(source: str) -> dict[str, Any]:
    return event_for(source, "GET", "/internal")


def test_brotli_body_that_happens_to_be_utf8_is_base64() -> None:
    """Content-Encoding br makes the body binary; Mangum sends it as (corrupting) text since it decodes as UTF-8."""
    ours = run_ours(apps.brotli_app, brotli_event())
    theirs = run_mangum(apps.brotli_app, brotli_event())
    compressed = apps.brotli_asgi_compress(apps.DASHES.encode())
    assert compressed.decode(), "the premise: this compressed body is valid UTF-8"
    headers = {
        "content-length": str(len(compressed)),
        "content-type": "text/plain; charset=utf-8",
        "content-encoding": "br",
        "vary": "Accept-Encoding",
    }
    assert_exact(ours, shaped("http_v2", 200, headers, base64.b64encode(compressed).decode(), is_base64=True))
    assert brotli.decompress(body_of(ours)).decode() == apps.DASHES
    assert theirs == {**ours, "body": compressed.decode(), "isBase64Encoded": False}


@pytest.mark.parametrize("source", ["http_v2", "function_url", "http_v1"])
def test_exclude_headers_applies_to_http_api_responses(source: str) -> None:
    ours = run_ours(apps.starlette_app, internal_event(source), exclude_headers=["X-Internal-Trace"])
    headers = {"content-length": "2", "x-public": "yes", "content-type": "text/plain; charset=utf-8"}
    assert_exact(ours, shaped(source, 200, headers, "ok"))
    theirs = run_mangum(apps.starlette_app, internal_event(source), exclude_headers=["X-Internal-Trace"])
    assert theirs["headers"] == {"x-internal-trace": "secret", **headers}  # Mangum ignores it for HTTP APIs


@pytest.mark.parametrize("source", sorted(V2_SOURCES))
def test_excluding_set_cookie_drops_the_v2_cookies_list(source: str) -> None:
    event = event_for(source, "GET", "/cookies", headers={"Cookie": "a=1; b=2"})
    ours = run_ours(apps.starlette_app, event, exclude_headers=["Set-Cookie"])
    headers = {"content-length": "30", "content-type": "application/json"}
    assert_exact(ours, shaped(source, 200, headers, COOKIE_BODY))
    assert run_mangum(apps.starlette_app, event, exclude_headers=["Set-Cookie"]) == COOKIE_RESULTS[source]


@by_source
def test_non_utf8_response_header_is_a_500(source: str, caplog: pytest.LogCaptureFixture) -> None:
    """README "Differences": a header value that is not UTF-8 is the app's error, answered with Mangum's 500
    (Mangum lets the UnicodeDecodeError escape and the invocation fails)."""
    result = run_ours(apps.starlette_app, event_for(source, "GET", "/latin1"))
    assert_exact(result, shaped(source, 500, MANGUM_500_HEADERS, "Internal Server Error"))
    assert any(r.levelno == logging.ERROR and "not valid UTF-8" in r.getMessage() for r in caplog.records)
    with pytest.raises(UnicodeDecodeError):
        run_mangum(apps.starlette_app, event_for(source, "GET", "/latin1"))


@pytest.mark.parametrize("source", ["rest", "alb", "alb_multi", "edge"])
def test_exclude_headers_elsewhere_as_mangum(source: str) -> None:
    result = invoke(apps.starlette_app, internal_event(source), exclude_headers=["X-Internal-Trace"])
    headers = {"content-length": "2", "x-public": "yes", "content-type": "text/plain; charset=utf-8"}
    assert_exact(result, shaped(source, 200, headers, "ok"))


def test_TEXT_MIME_TYPES_adds_to_the_defaults() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg"/>'
    event = event_for("rest", "GET", "/svg")
    ours = run_ours(apps.starlette_app, event, TEXT_MIME_TYPES=["image/svg+xml"])
    assert_exact(
        ours, shaped("rest", 200, {"content-length": str(len(svg)), "content-type": "image/svg+xml"}, svg)
    )
    defaults_and_svg = [*mangum.adapter.DEFAULT_TEXT_MIME_TYPES, "image/svg+xml"]
    assert_same(ours, run_mangum(apps.starlette_app, event, text_mime_types=defaults_and_svg))
    with pytest.raises(TypeError):
        mangum_handler(apps.starlette_app, TEXT_MIME_TYPES=["image/svg+xml"])  # type: ignore[call-arg]
    # Without it, SVG is binary for both.
    assert invoke(apps.starlette_app, event)["isBase64Encoded"] is True


DIFFERENCES: list[tuple[str, Any, Callable[[], dict[str, Any]], dict[str, Any]]] = [
    ("brotli-utf8-body", apps.brotli_app, brotli_event, {}),
    (
        "exclude-headers-v2",
        apps.starlette_app,
        lambda: internal_event("http_v2"),
        {"exclude_headers": ["x-internal-trace"]},
    ),
    (
        "exclude-headers-url",
        apps.starlette_app,
        lambda: internal_event("function_url"),
        {"exclude_headers": ["x-internal-trace"]},
    ),
    (
        "exclude-set-cookie-v2",
        apps.starlette_app,
        lambda: event_for("http_v2", "GET", "/cookies"),
        {"exclude_headers": ["set-cookie"]},
    ),
    ("non-utf8-header", apps.starlette_app, lambda: event_for("rest", "GET", "/latin1"), {}),
]


@pytest.mark.parametrize(
    ("app", "make_event", "kwargs"),
    [
        pytest.param(
            app, make, kwargs, id=name, marks=pytest.mark.xfail(strict=True, reason="DESIGN.md Beyond Mangum")
        )
        for name, app, make, kwargs in DIFFERENCES
    ],
)
def test_documented_differences_do_differ_from_mangum(
    app: Any, make_event: Callable[[], dict[str, Any]], kwargs: dict[str, Any]
) -> None:
    invoke(app, make_event(), **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# FastAPI


@by_source
def test_fastapi_json_in_and_out(source: str) -> None:
    payload = {"name": "teapot", "price": 10.5, "tags": ["kitchen", "tea"]}
    # CloudFront passes an included body base64-encoded.
    event = event_for(
        source,
        "POST",
        "/items",
        headers={"Content-Type": "application/json"},
        body=json.dumps(payload),
        base64=source == "edge",
    )
    result = invoke(apps.fastapi_app, event)
    body = json_body({"item": payload, "price_with_tax": 12.6})
    assert_exact(
        result,
        shaped(source, 200, {"content-length": str(len(body)), "content-type": "application/json"}, body),
    )


@by_source
def test_fastapi_path_and_query_params(source: str) -> None:
    result = invoke(
        apps.fastapi_app, event_for(source, "GET", "/items/42", query={"q": "hello world/é", "limit": "5"})
    )
    body = json_body({"item_id": 42, "q": "hello world/é", "limit": 5})
    headers = {"content-length": str(len(body.encode())), "content-type": "application/json"}
    assert_exact(result, shaped(source, 200, headers, body))


@by_source
def test_fastapi_validation_error_422(source: str) -> None:
    result = invoke(apps.fastapi_app, event_for(source, "GET", "/items/abc", query={"limit": "many"}))
    message = "Input should be a valid integer, unable to parse string as an integer"
    detail = [
        {"type": "int_parsing", "loc": ["path", "item_id"], "msg": message, "input": "abc"},
        {"type": "int_parsing", "loc": ["query", "limit"], "msg": message, "input": "many"},
    ]
    body = json_body({"detail": detail})
    assert_exact(
        result,
        shaped(source, 422, {"content-length": str(len(body)), "content-type": "application/json"}, body),
    )

    bad_json = event_for(
        source, "POST", "/items", headers={"Content-Type": "application/json"}, body='{"name": "x"}'
    )
    result = invoke(apps.fastapi_app, bad_json)
    assert status_of(result) == 422
    assert json_of(result)["detail"][0]["loc"] == ["body", "price"]


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]], boundary: str) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content_type, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@by_source
def test_fastapi_form_and_file_upload_base64_multipart(source: str) -> None:
    content = bytes(range(256)) * 8  # not UTF-8: API Gateway must base64 it
    boundary = "----cymangumBoundary7MA4YWxkTrZu0gW"
    body = multipart(
        {"description": "a binary blob"},
        {"file": ("blob.bin", "application/octet-stream", content)},
        boundary,
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    event = event_for(source, "POST", "/upload", headers=headers, body=body, base64=True)
    assert (
        base64.b64decode(
            event["body"] if source != "edge" else event["Records"][0]["cf"]["request"]["body"]["data"]
        )
        == body
    )
    result = invoke(apps.fastapi_app, event)
    expected = {
        "description": "a binary blob",
        "filename": "blob.bin",
        "content_type": "application/octet-stream",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    text = json_body(expected)
    assert_exact(
        result,
        shaped(source, 200, {"content-length": str(len(text)), "content-type": "application/json"}, text),
    )


@by_source
def test_fastapi_redirect_slashes_307(source: str) -> None:
    result = invoke(apps.fastapi_app, event_for(source, "GET", "/catalog", query={"page": "2"}))
    headers = {"content-length": "0", "location": f"{ORIGINS[source]}/catalog/?page=2"}
    if source in V2_SOURCES:
        headers["content-type"] = "application/json"  # Mangum's v2 default, even for an empty body
    assert_exact(result, shaped(source, 307, headers, ""))

    followed = invoke(apps.fastapi_app, event_for(source, "GET", "/catalog/", query={"page": "2"}))
    assert status_of(followed) == 200
    assert json_of(followed) == ["teapot", "kettle"]


def test_fastapi_yield_dependency_runs_its_teardown() -> None:
    apps.FASTAPI_EVENTS.clear()
    event = event_for("http_v2", "GET", "/session")
    result = run_ours(apps.fastapi_app, event)
    assert apps.FASTAPI_EVENTS == ["dependency enter", "endpoint", "dependency exit"]
    assert_exact(
        result,
        shaped(
            "http_v2",
            200,
            {"content-length": "23", "content-type": "application/json"},
            '{"session":"session-1"}',
        ),
    )
    assert_same(result, run_mangum(apps.fastapi_app, event))


def test_fastapi_background_tasks_run_before_the_invocation_returns() -> None:
    apps.FASTAPI_EVENTS.clear()
    event = event_for("rest", "POST", "/tasks")
    result = run_ours(apps.fastapi_app, event)
    assert apps.FASTAPI_EVENTS == ["task one", "task two"]
    assert_exact(
        result,
        shaped("rest", 200, {"content-length": "15", "content-type": "application/json"}, '{"queued":true}'),
    )
    assert_same(result, run_mangum(apps.fastapi_app, event))


@by_source
def test_fastapi_failing_background_task_keeps_the_200(source: str, caplog: pytest.LogCaptureFixture) -> None:
    apps.FASTAPI_EVENTS.clear()
    event = event_for(source, "POST", "/tasks/fail")
    result = run_ours(apps.fastapi_app, event)
    assert apps.FASTAPI_EVENTS == ["failing task ran"]
    assert_exact(
        result,
        shaped(source, 200, {"content-length": "15", "content-type": "application/json"}, '{"queued":true}'),
    )
    errors = app_errors(caplog)
    assert len(errors) == 1 and str(errors[0].exc_info[1]) == "background task failed after the response"  # type: ignore[index]
    assert_same(result, run_mangum(apps.fastapi_app, event))


# ---------------------------------------------------------------------------------------------------------------
# Django


def lifespan_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "mangum.lifespan" and r.getMessage() == "Exception in 'lifespan' protocol."
    ]


@by_source
def test_django_json_view_lifespan_auto_proceeds(source: str, caplog: pytest.LogCaptureFixture) -> None:
    django_app = apps.django_app()
    event = event_for(source, "GET", "/django/hello/world/", query={"q": "tea"})
    result = run_ours(django_app, event, lifespan="auto")
    # Django refuses the lifespan scope (ValueError): logged, and the request goes on.
    (record,) = lifespan_errors(caplog)
    assert record.levelno == logging.ERROR and isinstance(record.exc_info[1], ValueError)  # type: ignore[index]
    body = '{"hello": "world", "q": "tea", "method": "GET"}'
    assert_exact(result, shaped(source, 200, {"content-type": "application/json"}, body))
    assert_same(result, run_mangum(django_app, event, lifespan="auto"))


def test_django_lifespan_off(caplog: pytest.LogCaptureFixture) -> None:
    result = invoke(apps.django_app(), event_for("http_v2", "GET", "/django/hello/off/"), lifespan="off")
    assert lifespan_errors(caplog) == []
    assert json_of(result) == {"hello": "off", "q": None, "method": "GET"}


@by_source
def test_django_post_with_a_body(source: str) -> None:
    event = event_for(
        source,
        "POST",
        "/django/echo/",
        headers={"Content-Type": "application/json"},
        body='{"a": [1, 2], "b": "é"}',
        base64=source == "edge",
    )
    result = invoke(apps.django_app(), event)
    body = '{"received": {"a": [1, 2], "b": "\\u00e9"}, "content_type": "application/json"}'
    assert_exact(result, shaped(source, 201, {"content-type": "application/json"}, body))


@by_source
def test_django_404(source: str) -> None:
    result = invoke(apps.django_app(), event_for(source, "GET", "/django/nowhere"))
    body = (
        '\n<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
        "  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
    )
    assert_exact(result, shaped(source, 404, {"content-type": "text/html; charset=utf-8"}, body))


# ---------------------------------------------------------------------------------------------------------------
# Quart


@by_source
def test_quart_serving_hooks_with_lifespan_on(source: str) -> None:
    apps.QUART_EVENTS.clear()
    event = event_for(source, "GET", "/quart/hello/bob")
    result = run_ours(apps.quart_app, event, lifespan="on")
    assert apps.QUART_EVENTS == ["before_serving", "after_serving"]
    body = '{"hello":"bob","serving":true}\n'
    assert_exact(
        result,
        shaped(source, 200, {"content-type": "application/json", "content-length": str(len(body))}, body),
    )
    assert_same(result, run_mangum(apps.quart_app, event, lifespan="on"))


def test_quart_background_task_is_awaited_by_lifespan_shutdown() -> None:
    apps.QUART_EVENTS.clear()
    event = event_for("function_url", "POST", "/quart/background")
    result = run_ours(apps.quart_app, event, lifespan="on")
    # Quart waits for its background tasks when serving stops (before the after_serving hooks), i.e. before
    # this invocation returns, although the task sleeps past the response.
    assert apps.QUART_EVENTS == ["before_serving", "background task done", "after_serving"]
    assert_exact(
        result,
        shaped(
            "function_url", 202, {"content-type": "text/html; charset=utf-8", "content-length": "6"}, "queued"
        ),
    )
    assert_same(result, run_mangum(apps.quart_app, event, lifespan="on"))


def test_quart_lifespan_off_runs_no_hooks() -> None:
    apps.QUART_EVENTS.clear()
    result = invoke(apps.quart_app, event_for("rest", "GET", "/quart/hello/ann"), lifespan="off")
    assert apps.QUART_EVENTS == []
    assert json_of(result) == {"hello": "ann", "serving": False}


# ---------------------------------------------------------------------------------------------------------------
# Litestar


@by_source
def test_litestar_path_param_json(source: str) -> None:
    result = invoke(apps.litestar_app, event_for(source, "GET", "/books/7"), lifespan="auto")
    body = '{"id":7,"title":"Book 7"}'
    assert_exact(
        result, shaped(source, 200, {"content-type": "application/json", "content-length": "25"}, body)
    )


@by_source
def test_litestar_post_json_body(source: str) -> None:
    event = event_for(
        source,
        "POST",
        "/books",
        headers={"Content-Type": "application/json"},
        body='{"title": "Dune", "pages": 412}',
        base64=source == "edge",
    )
    result = invoke(apps.litestar_app, event, lifespan="auto")
    body = '{"created":{"title":"Dune","pages":412},"long":true}'
    assert_exact(
        result,
        shaped(source, 201, {"content-type": "application/json", "content-length": str(len(body))}, body),
    )

    invalid = event_for(
        source, "POST", "/books", headers={"Content-Type": "application/json"}, body='{"title": "Dune"}'
    )
    result = invoke(apps.litestar_app, invalid, lifespan="auto")
    assert status_of(result) == 400
    assert json_of(result)["extra"] == [
        {"message": "Object missing required field `pages`", "key": "data", "source": "body"}
    ]
