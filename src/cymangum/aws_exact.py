"""AWS-exact output (`Mangum(app, aws_exact=True)`): what the AWS formats and the ASGI spec say, where Mangum
deviates from them. One switch for all of it; without it cymangum returns exactly what Mangum returns.

- `root_path` is the base path that was stripped, and `path` keeps it (the ASGI spec: path includes root_path),
  so redirects and `url_for` carry the stage or base path; `raw_path` holds the path as received.
- HTTP API payload 2.0 takes the path from `rawPath`, so trailing slashes and encoded characters survive.
- ALB: `client` is the first address of `x-forwarded-for`; responses carry `statusDescription`.
- Lambda@Edge: responses carry `bodyEncoding`, a string `status`, and every value of a repeated header
  (several Set-Cookie), each with the name as the app spelled it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from .handlers import ALB, APIGateway, HTTPGateway, LambdaAtEdge
from .types import LambdaHandler, Response, Scope


def _base(base_path: str) -> str:
    if not base_path or base_path == "/":
        return ""
    return base_path if base_path.startswith("/") else "/" + base_path


def _with_root(scope: Scope, full_path: str, base_path: str) -> None:
    """Set path to the full decoded path and root_path to the base path when the path starts with it."""
    base = _base(base_path)
    scope["raw_path"] = full_path.encode("utf-8", "surrogateescape")
    decoded = unquote(full_path) if "%" in full_path else full_path
    scope["path"] = decoded or "/"
    scope["root_path"] = base if base and decoded.startswith(base) else ""


def adjust_scope(handler: LambdaHandler, scope: Scope) -> None:
    event = handler.event  # type: ignore[attr-defined]
    base_path = handler.config["api_gateway_base_path"]  # type: ignore[attr-defined]
    if type(handler) is HTTPGateway and event.get("version") == "2.0":
        raw_path = event.get("rawPath")
        if type(raw_path) is not str:
            raw_path = event["requestContext"]["http"]["path"]
        _with_root(scope, raw_path, base_path)
    elif type(handler) in (APIGateway, HTTPGateway):
        _with_root(scope, event["path"], base_path)
    elif type(handler) is ALB:
        scope["raw_path"] = (event["path"] or "/").encode("utf-8", "surrogateescape")
        forwarded = scope["client"][0]
        if forwarded:
            scope["client"] = (forwarded.split(",")[0].strip(), 0)
    elif type(handler) is LambdaAtEdge:
        scope["raw_path"] = scope["path"].encode("utf-8", "surrogateescape")


def adjust_result(handler: LambdaHandler, response: Response, result: dict[str, Any]) -> dict[str, Any]:
    if type(handler) is ALB:
        status = result["statusCode"]
        try:
            phrase = HTTPStatus(status).phrase
        except (ValueError, TypeError):
            phrase = ""
        result["statusDescription"] = f"{status} {phrase}".strip()
    elif type(handler) is LambdaAtEdge:
        exclude = handler.config["exclude_headers"]
        headers: dict[str, list[dict[str, str]]] = {}
        for name, value in response["headers"]:
            text_name = bytes(name).decode()
            key = text_name.lower()
            if key not in exclude:
                headers.setdefault(key, []).append({"key": text_name, "value": bytes(value).decode()})
        result["status"] = str(result["status"])
        result["headers"] = headers
        result["bodyEncoding"] = "base64" if result["isBase64Encoded"] else "text"
    return result
