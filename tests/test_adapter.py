"""The adapter: configuration semantics, dispatch, bad input, loops and threads."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from typing import Any

import pytest

from cymangum import Mangum
from cymangum.adapter import DEFAULT_TEXT_MIME_TYPES, HANDLERS
from cymangum.exceptions import ConfigurationError, UnrecognizedEventError
from cymangum.handlers import ALB, APIGateway, HTTPGateway, LambdaAtEdge
from tests.events import load_event as load


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"text/plain"]]})
    await send({"type": "http.response.body", "body": message["body"]})


EDGE_EVENT = {
    "Records": [
        {
            "cf": {
                "config": {"distributionDomainName": "d111111abcdef8.cloudfront.net", "eventType": "origin-request"},
                "request": {
                    "clientIp": "203.0.113.178",
                    "headers": {"host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}]},
                    "method": "GET",
                    "querystring": "",
                    "uri": "/",
                },
            }
        }
    ]
}


def test_defaults_and_config_shape() -> None:
    handler = Mangum(echo_app)
    assert handler.lifespan == "auto"
    assert handler.custom_handlers == []
    assert handler.config == {
        "api_gateway_base_path": "/",
        "text_mime_types": DEFAULT_TEXT_MIME_TYPES,
        "exclude_headers": [],
    }
    assert list(handler.config) == ["api_gateway_base_path", "text_mime_types", "exclude_headers"]
    assert handler.config["text_mime_types"] is not DEFAULT_TEXT_MIME_TYPES
    assert HANDLERS == [ALB, HTTPGateway, APIGateway, LambdaAtEdge]


def test_invalid_lifespan_message_is_mangums() -> None:
    with pytest.raises(ConfigurationError) as info:
        Mangum(echo_app, lifespan="ON")  # type: ignore[arg-type]
    assert str(info.value) == "Invalid argument supplied for `lifespan`. Choices are: auto|on|off"


def test_removed_mangum_parameters_are_rejected() -> None:
    for name in ("enable_lifespan", "log_level", "dsn", "api_gateway_endpoint_url", "api_gateway_region_name"):
        with pytest.raises(TypeError):
            Mangum(echo_app, **{name: None})  # type: ignore[arg-type]


def test_text_mime_types_replace_and_TEXT_MIME_TYPES_adds() -> None:
    replaced = Mangum(echo_app, text_mime_types=["application/x-yaml"])
    assert replaced.config["text_mime_types"] == ["application/x-yaml"]
    added = Mangum(echo_app, TEXT_MIME_TYPES=["application/x-yaml"])
    assert added.config["text_mime_types"] == [*DEFAULT_TEXT_MIME_TYPES, "application/x-yaml"]


def test_config_is_read_at_call_time() -> None:
    async def yaml_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"application/x-yaml"]]})
        await send({"type": "http.response.body", "body": b"a: 1"})

    handler = Mangum(yaml_app, lifespan="off")
    assert handler(load("go/apigw-request.json"), None)["isBase64Encoded"] is True
    handler.config["text_mime_types"].append("application/x-yaml")
    assert handler(load("go/apigw-request.json"), None)["body"] == "a: 1"


@pytest.mark.parametrize("event", [{}, [], {"Records": []}, {"Records": [{"eventSource": "aws:sqs"}]}, None, "x"])
def test_unrecognized_events_raise_a_runtime_error_naming_what_was_seen(event: Any) -> None:
    with pytest.raises(UnrecognizedEventError) as info:
        Mangum(echo_app, lifespan="off")(event, None)
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert message.startswith("The adapter was unable to infer a handler to use for the event.")
    assert "[" in message and ("keys seen" in message or "not an object" in message)


def test_request_context_null_is_unrecognized_not_a_type_error() -> None:
    with pytest.raises(UnrecognizedEventError, match="requestContext"):
        Mangum(echo_app, lifespan="off")({"requestContext": None, "resource": "/"}, None)


def _status(result: dict[str, Any]) -> Any:
    return result.get("statusCode", result.get("status"))


MALFORMED = [
    ("go/apigw-request.json", lambda e: e.pop("httpMethod")),
    ("go/apigw-request.json", lambda e: e.update(path=None)),
    ("go/apigw-request.json", lambda e: e.update(headers={"Host": None})),
    ("go/apigw-request.json", lambda e: e.update(headers=["a"])),
    ("go/apigw-request.json", lambda e: e.update(headers={"Host": "example.com:port"}, multiValueHeaders=None)),
    ("go/apigw-request.json", lambda e: e.update(body="aGk", isBase64Encoded=True)),
    ("powertools/apiGatewayProxyV2Event.json", lambda e: e["requestContext"].pop("http")),
    ("powertools/apiGatewayProxyV2Event.json", lambda e: e.update(rawQueryString=5)),
    ("powertools/apiGatewayProxyV2Event.json", lambda e: e.update(cookies=[1])),
    ("powertools/albEvent.json", lambda e: e.pop("headers")),
    ("powertools/albMultiValueHeadersEvent.json", lambda e: e.update(multiValueHeaders=None)),
    ("powertools/albEvent.json", lambda e: e.update(queryStringParameters={"a": 1})),
    (None, lambda e: e["Records"][0]["cf"]["request"].pop("method")),
    (None, lambda e: e["Records"][0]["cf"]["request"]["headers"].update(host=[])),
]


@pytest.mark.parametrize(("name", "mutate"), MALFORMED)
def test_malformed_http_events_get_a_400_in_the_source_format(
    name: str | None, mutate: Any, caplog: pytest.LogCaptureFixture
) -> None:
    event = load(name) if name else json.loads(json.dumps(EDGE_EVENT))
    mutate(event)
    called = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        called.append(scope)

    for lifespan in ("off", "auto"):
        result = Mangum(app, lifespan=lifespan)(event, None)  # type: ignore[arg-type]
        assert _status(result) == 400
        assert result["body"] == "Bad Request"
    assert [s for s in called if s["type"] == "http"] == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "mangum.http"]
    assert warnings and "400" in warnings[0].getMessage()


def test_identity_null_is_treated_as_absent() -> None:
    event = load("go/apigw-request.json")
    event["requestContext"]["identity"] = None
    seen = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["client"])
        await echo_app(scope, receive, send)

    assert Mangum(app, lifespan="off")(event, None)["statusCode"] == 200
    assert seen == [(None, 0)]


@pytest.mark.parametrize(
    "headers",
    [[["content-type", "text/plain"]], [[b"x", b"\xff"]], [[b"x"]], "nope", [[b"x", None]]],
)
def test_invalid_response_headers_give_mangums_500(headers: Any, caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    result = Mangum(app, lifespan="off")(load("go/apigw-request.json"), None)
    assert result == {
        "statusCode": 500,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "multiValueHeaders": {},
        "body": "Internal Server Error",
        "isBase64Encoded": False,
    }
    assert any(r.levelno == logging.ERROR and "invalid response" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("sent", [[], ["start"]])
def test_an_unfinished_response_is_a_500(sent: list[str], caplog: pytest.LogCaptureFixture) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if sent:
            await send({"type": "http.response.start", "status": 200, "headers": []})

    result = Mangum(app, lifespan="off")(load("go/apigw-request.json"), None)
    assert result["statusCode"] == 500 and result["body"] == "Internal Server Error"
    assert any("without completing" in r.getMessage() for r in caplog.records)


def test_binary_request_and_response_bodies_round_trip() -> None:
    payload = bytes(range(256)) * 300
    event = load("go/apigw-request.json")
    event.update(body=base64.b64encode(payload).decode(), isBase64Encoded=True)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"image/png"]]})
        await send({"type": "http.response.body", "body": message["body"][:1000], "more_body": True})
        await send({"type": "http.response.body", "body": message["body"][1000:]})

    result = Mangum(app, lifespan="off")(event, None)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == payload


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate", "zstd", "x-custom"])
def test_content_encoding_makes_the_body_base64(encoding: str) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [[b"content-type", b"application/json"], [b"content-encoding", encoding.encode()]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"valid": "utf-8"}'})

    result = Mangum(app, lifespan="off")(load("go/apigw-request.json"), None)
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == b'{"valid": "utf-8"}'


def test_exclude_headers_applies_to_http_api_v2() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [[b"content-type", b"text/plain"], [b"X-Secret", b"1"], [b"set-cookie", b"a=1"]]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    event = load("powertools/apiGatewayProxyV2Event.json")
    result = Mangum(app, lifespan="off", exclude_headers=["X-SECRET"])(event, None)
    assert result["headers"] == {"content-type": "text/plain"}
    assert result["cookies"] == ["a=1"]
    result = Mangum(app, lifespan="off", exclude_headers=["x-secret", "Set-Cookie"])(event, None)
    assert "cookies" not in result


def test_the_loop_is_created_once_per_thread_and_reused() -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        loops.append(asyncio.get_running_loop())
        await echo_app(scope, receive, send)

    handler = Mangum(app, lifespan="off")
    handler(load("go/apigw-request.json"), None)
    handler(load("go/apigw-request.json"), None)
    assert loops[0] is loops[1]
    assert not loops[0].is_running()

    def in_thread() -> None:
        handler(load("go/apigw-request.json"), None)
        handler(load("go/apigw-request.json"), None)

    threads = [threading.Thread(target=in_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loops) == 8
    assert len({id(loop) for loop in loops}) == 4
    for loop in set(loops[2:]):
        loop.close()


def test_a_thread_without_a_loop_gets_one_at_construction() -> None:
    found: list[Any] = []

    def construct() -> None:
        Mangum(echo_app)
        loop = asyncio.get_event_loop_policy().get_event_loop() if hasattr(asyncio, "get_event_loop_policy") else None
        found.append(loop)
        if loop is not None:
            loop.close()

    thread = threading.Thread(target=construct)
    thread.start()
    thread.join()
    assert found and found[0] is not None


def test_calling_from_a_running_loop_is_a_clear_error() -> None:
    handler = Mangum(echo_app, lifespan="off")

    async def main() -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            handler(load("go/apigw-request.json"), None)

    asyncio.run(main())
