"""The helper functions Mangum exposes for custom handlers (SPEC 1.3), with Mangum's semantics.

They are thin wrappers over the reference core so that there is one implementation of each rule.
"""

from __future__ import annotations

from typing import Any

from .. import core
from .._core_py import _decode_headers, _exclude, _server, _split_multi_value, _strip_path
from ..types import LambdaConfig


def maybe_encode_body(body: str | bytes, *, is_base64: bool) -> bytes:
    """The request body as bytes: base64-decoded (leniently, as Python's decoder) when is_base64."""
    return core.request_body(body, is_base64)


def get_server_and_port(headers: dict[str, Any]) -> tuple[str, int]:
    """(host, port) from the host header (default "mangum"), its port or x-forwarded-port (default 80)."""
    return _server(headers.get("host"), headers.get("x-forwarded-port"))


def strip_api_gateway_path(path: str, *, api_gateway_base_path: str) -> str:
    """Remove the base path prefix, then percent-decode; an empty path is "/"."""
    return _strip_path(path, api_gateway_base_path)


def handle_multi_value_headers(response_headers: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(single, multi): a lowercased name stays single until it repeats, then all its values go to multi."""
    return _split_multi_value(_decode_headers(response_headers))


def handle_base64_response_body(
    body: bytes, headers: dict[str, str], text_mime_types: list[str]
) -> tuple[str, bool]:
    """(body, isBase64Encoded) from the content type (substring rule) and content encoding."""
    text = core.is_text_body(headers.get("content-type", ""), headers.get("content-encoding", ""), text_mime_types)
    return core.encode_body(body, text)


def handle_exclude_headers(headers: dict[str, Any], config: LambdaConfig) -> dict[str, Any]:
    """A copy of headers without the names in config["exclude_headers"] (exact match)."""
    return dict(_exclude(headers, config["exclude_headers"]))


__all__ = [
    "get_server_and_port",
    "handle_base64_response_body",
    "handle_exclude_headers",
    "handle_multi_value_headers",
    "maybe_encode_body",
    "strip_api_gateway_path",
]

