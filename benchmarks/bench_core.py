"""One benchmark per hot core function: the compiled core, its pure-Python twin, and Mangum's equivalent code.

Groups (each with ``compiled``, ``pure`` and ``mangum`` side by side):
- scope building per source (``rest_scope``, ``http_v2_scope``, ``alb_scope`` single and multi-value headers,
  ``edge_scope``); Mangum: ``Handler(event, context, config).scope``;
- result building per source (``rest_result``, ``http_v2_result``, ``alb_result`` both shapes, ``edge_result``),
  for a response with five headers (two Set-Cookie); Mangum: ``handler(response)``, which for HTTP APIs also
  rebuilds the scope, as Mangum 0.22 does;
- query strings (``apigw_query_string``, ``alb_query_string``);
- bodies: ``request_body`` (base64 and text), ``is_text_body`` + ``encode_body`` (text and binary);
  Mangum: ``maybe_encode_body``, ``handle_base64_response_body``.

``compiled`` is skipped when the compiled core cannot be imported (say so loudly: run
``python -c "import cymangum._core"``). Nothing asserts a time.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest

import workloads
from cymangum.adapter import DEFAULT_TEXT_MIME_TYPES

IMPLS = ("compiled", "pure", "mangum")
MIMES = DEFAULT_TEXT_MIME_TYPES


def _core(impl: str) -> Any:
    if impl == "compiled":
        try:
            return importlib.import_module("cymangum._core")
        except ImportError as exc:
            pytest.skip(f"compiled core not importable: {exc}")
    return importlib.import_module("cymangum._core_py")


def _mangum() -> tuple[Any, dict[str, Any]]:
    pytest.importorskip("mangum")
    import mangum.handlers
    from mangum.types import LambdaConfig

    config = LambdaConfig(api_gateway_base_path="/", text_mime_types=list(MIMES), exclude_headers=[])
    return mangum.handlers, config


MANGUM_HANDLER = {
    "rest": "APIGateway",
    "http-v2": "HTTPGateway",
    "url": "HTTPGateway",
    "alb": "ALB",
    "alb-multi": "ALB",
    "edge": "LambdaAtEdge",
}

# (group label, event source, compiled/pure call)
SCOPES: dict[str, tuple[str, Callable[[Any, dict[str, Any], Any], Any]]] = {
    "rest_scope": ("rest", lambda c, e, ctx: c.rest_scope(e, ctx, "/", False)),
    "http_v2_scope": ("http-v2", lambda c, e, ctx: c.http_v2_scope(e, ctx, "/")),
    "alb_scope": ("alb", lambda c, e, ctx: c.alb_scope(e, ctx)),
    "alb_scope[multi-value]": ("alb-multi", lambda c, e, ctx: c.alb_scope(e, ctx)),
    "edge_scope": ("edge", lambda c, e, ctx: c.edge_scope(e, ctx)),
}

RESULTS: dict[str, tuple[str, Callable[..., Any]]] = {
    "rest_result": ("rest", lambda c, s, h, b: c.rest_result(s, h, b, MIMES, [])),
    "http_v2_result": ("http-v2", lambda c, s, h, b: c.http_v2_result(s, h, b, MIMES, [])),
    "alb_result": ("alb", lambda c, s, h, b: c.alb_result(s, h, b, MIMES, [], False)),
    "alb_result[multi-value]": ("alb-multi", lambda c, s, h, b: c.alb_result(s, h, b, MIMES, [], True)),
    "edge_result": ("edge", lambda c, s, h, b: c.edge_result(s, h, b, MIMES, [])),
}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(SCOPES))
def test_scope(benchmark: Any, name: str, impl: str) -> None:
    source, build = SCOPES[name]
    event, context = workloads.load_event(source), workloads.lambda_context()
    if impl == "mangum":
        handlers, config = _mangum()
        handler_cls = getattr(handlers, MANGUM_HANDLER[source])

        def call() -> Any:
            return handler_cls(event, context, config).scope
    else:
        core = _core(impl)

        def call() -> Any:
            return build(core, event, context)

    benchmark.group = f"core scope: {name}"
    benchmark(call)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(RESULTS))
def test_result(benchmark: Any, name: str, impl: str) -> None:
    source, build = RESULTS[name]
    response = workloads.RESPONSE
    status, headers, body = response["status"], response["headers"], response["body"]
    if impl == "mangum":
        handlers, config = _mangum()
        handler = getattr(handlers, MANGUM_HANDLER[source])(workloads.load_event(source), None, config)

        def call() -> Any:
            return handler(response)
    else:
        core = _core(impl)

        def call() -> Any:
            return build(core, status, headers, body)

    benchmark.group = f"core result: {name}"
    benchmark(call)


QUERY = {"name": ["me"], "tags": ["a b", "c&d", "ü"], "page": ["2"], "sort": ["-created_at"], "empty": [""]}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", ["apigw_query_string", "alb_query_string"])
def test_query_string(benchmark: Any, name: str, impl: str) -> None:
    if name == "apigw_query_string":
        event = {
            "multiValueQueryStringParameters": QUERY,
            "queryStringParameters": {k: v[-1] for k, v in QUERY.items()},
        }
    else:  # ALB passes values through still percent-encoded
        event = {
            "multiValueQueryStringParameters": {
                "name": ["me"],
                "tags": ["a%20b", "c%26d", "%C3%BC"],
                "page": ["2"],
                "sort": ["-created_at"],
                "empty": [""],
            }
        }
    if impl == "mangum":
        pytest.importorskip("mangum")
        from mangum.handlers import alb as mangum_alb
        from mangum.handlers import api_gateway as mangum_apigw

        if name == "apigw_query_string":

            def call() -> Any:
                return mangum_apigw._encode_query_string_for_apigw(event)
        else:
            params = event["multiValueQueryStringParameters"]

            def call() -> Any:
                return mangum_alb.encode_query_string_for_alb(params)
    else:
        function = getattr(_core(impl), name)

        def call() -> Any:
            return function(event)

    benchmark.group = f"core query: {name}"
    benchmark(call)


TEXT_BODY = json.dumps([{"id": i, "name": f"item-{i}", "ok": True} for i in range(110)]).encode()[:4096]
BINARY_BODY = workloads.png_bytes()  # 64 KiB
BODIES = {
    "request_body[base64 48 KiB]": ("request", base64.b64encode(BINARY_BODY[: 48 * 1024]).decode(), True),
    "request_body[text 4 KiB]": ("request", TEXT_BODY.decode(), False),
    "encode_body[text 4 KiB]": ("response", TEXT_BODY, "application/json"),
    "encode_body[binary 64 KiB]": ("response", BINARY_BODY, "image/png"),
}


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("name", list(BODIES))
def test_body(benchmark: Any, name: str, impl: str) -> None:
    side, body, flag = BODIES[name]
    if impl == "mangum":
        pytest.importorskip("mangum")
        from mangum.handlers import utils

        if side == "request":

            def call() -> Any:
                return utils.maybe_encode_body(body, is_base64=flag)
        else:
            headers = {"content-type": flag}

            def call() -> Any:
                return utils.handle_base64_response_body(body, headers, MIMES)
    else:
        core = _core(impl)
        if side == "request":
            request_body = core.request_body

            def call() -> Any:
                return request_body(body, flag)
        else:
            is_text_body, encode_body = core.is_text_body, core.encode_body

            def call() -> Any:
                return encode_body(body, is_text_body(flag, "", MIMES))

    benchmark.group = f"core body: {name}"
    benchmark(call)
