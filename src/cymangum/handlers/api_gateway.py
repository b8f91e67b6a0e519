"""API Gateway: REST APIs (payload 1.0) and HTTP APIs / Function URLs (payload 2.0, and 1.0)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import core

if TYPE_CHECKING:
    from ..types import LambdaConfig, LambdaContext, LambdaEvent, Response, Scope


class APIGateway:
    """API Gateway REST API (AWS_PROXY integration, payload 1.0)."""

    @classmethod
    def infer(cls, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> bool:
        return "resource" in event and "requestContext" in event

    def __init__(self, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> None:
        self.event = event
        self.context = context
        self.config = config

    @property
    def body(self) -> bytes:
        event = self.event
        return core.request_body(event.get("body"), event.get("isBase64Encoded", False))

    @property
    def scope(self) -> Scope:
        return core.rest_scope(self.event, self.context, self.config["api_gateway_base_path"], False)

    def __call__(self, response: Response) -> dict[str, Any]:
        config = self.config
        return core.rest_result(
            response["status"],
            response["headers"],
            response["body"],
            config["text_mime_types"],
            config["exclude_headers"],
        )


class HTTPGateway:
    """API Gateway HTTP API and Lambda Function URLs: payload 2.0, or 1.0 when the API is set up for it."""

    @classmethod
    def infer(cls, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> bool:
        return "version" in event and "requestContext" in event

    def __init__(self, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> None:
        self.event = event
        self.context = context
        self.config = config

    @property
    def body(self) -> bytes:
        event = self.event
        return core.request_body(event.get("body"), event.get("isBase64Encoded", False))

    @property
    def scope(self) -> Scope:
        event = self.event
        base_path = self.config["api_gateway_base_path"]
        if event["version"] == "2.0":
            return core.http_v2_scope(event, self.context, base_path)
        return core.rest_scope(event, self.context, base_path, True)

    def __call__(self, response: Response) -> dict[str, Any]:
        config = self.config
        # exclude_headers applies to both payload versions (Mangum ignores it here; DESIGN "Beyond Mangum").
        build = core.http_v2_result if self.event.get("version") == "2.0" else core.rest_result
        return build(
            response["status"],
            response["headers"],
            response["body"],
            config["text_mime_types"],
            config["exclude_headers"],
        )


def _encode_query_string_for_apigw(event: LambdaEvent) -> bytes:
    """Mangum's helper name: the REST query string rule (SPEC 3.1)."""
    return core.apigw_query_string(event)


def _handle_multi_value_headers_for_request(event: LambdaEvent) -> dict[str, str]:
    """Mangum's helper name: the REST request header merge (SPEC 3.1), as a lowercased str dict."""
    from .._core_py import _lowercase_headers, _mapping, _merge_multi_value_headers

    headers = _lowercase_headers(_mapping(event, "headers"))
    multi = event.get("multiValueHeaders")
    if multi:
        _merge_multi_value_headers(headers, multi)
    return headers


def _combine_headers_v2(input_headers: list[list[bytes]]) -> tuple[dict[str, str], list[str]]:
    """Mangum's helper name: response headers comma-joined, Set-Cookie values collected (SPEC 4.2)."""
    from .._core_py import _combine_v2, _decode_headers

    return _combine_v2(_decode_headers(input_headers))
