"""Realistic Lambda events for every HTTP source, built from the genuine AWS events in shared/events/.

Each builder starts from a genuine payload (loaded fresh from disk, so callers may mutate the result), keeps its
shape (requestContext, identity, stage, ids...) and sets the request line, headers, query and body:

    rest_event("POST", "/items", query={"q": "x"}, headers={"Content-Type": "application/json"}, body='{"a": 1}')

Common parameters:
* ``method``, ``path``: the request line. ``path`` is used as the source puts it in the event.
* ``query``: ``{name: value or [values]}``, decoded values (``None``: no query string). HTTP API v2, Function URL
  and Lambda@Edge also take a raw query string (``"a=1&a=2"``), put in the event verbatim.
* ``headers``: ``{name: value or [values] or None}``. They are merged over the source's realistic base headers
  (case-insensitively); ``None`` removes a base header; a list repeats the header. Each source then spells them
  the way AWS does: REST keeps the client's case, HTTP API, Function URL and ALB lowercase the names, HTTP API v2
  comma-joins repeated values and moves ``Cookie`` into ``cookies``, ALB without multi-value headers keeps the last
  value, Lambda@Edge keys by lowercase name with the original spelling in ``key``.
* ``body``: ``str`` or ``bytes`` (``None``: no body). With ``base64=True`` it is base64-encoded into the event and
  ``isBase64Encoded`` is true.

There is no genuine Lambda@Edge event in shared/events/; ``edge_event`` follows the origin-request example of the
AWS Lambda@Edge documentation ("Lambda@Edge event structure"), with the body included.
"""

from __future__ import annotations

import base64 as b64
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, quote, urlencode


def _events_dir() -> Path:
    """The genuine AWS events: CYMANGUM_EVENTS_DIR, else ../shared/events beside the checkout, else where this
    machine keeps them (a clone elsewhere, e.g. in a temporary folder, still finds them)."""
    candidates = [
        os.environ.get("CYMANGUM_EVENTS_DIR"),
        Path(__file__).resolve().parents[2] / "shared" / "events",
        "/work/shared/events",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "powertools").is_dir():
            return Path(candidate)
    raise FileNotFoundError("the genuine AWS events were not found (set CYMANGUM_EVENTS_DIR)")


EVENTS_DIR = _events_dir()

#: Every genuine event file, as ``"<folder>/<file>.json"`` relative to EVENTS_DIR, sorted.
GENUINE_EVENTS: tuple[str, ...] = tuple(
    sorted(p.relative_to(EVENTS_DIR).as_posix() for p in EVENTS_DIR.glob("*/*.json"))
)

HeaderValue: TypeAlias = "str | Sequence[str] | None"
Headers: TypeAlias = "Mapping[str, HeaderValue]"
Query: TypeAlias = "Mapping[str, str | Sequence[str]] | str | None"
Body: TypeAlias = "str | bytes | None"

# The genuine events each builder starts from.
REST_SOURCE = "go/apigw-request.json"
HTTP_V1_SOURCE = "powertools/apiGatewayProxyEvent.json"  # "version": "1.0", an HTTP API payload 1.0 event
HTTP_V2_SOURCE = "go/apigw-v2-request-no-authorizer.json"
FUNCTION_URL_SOURCE = "powertools/lambdaFunctionUrlEvent.json"
ALB_SOURCE = "go/alb-lambda-target-request-headers-only.json"
ALB_MULTI_VALUE_SOURCE = "go/alb-lambda-target-request-multivalue-headers.json"

# Replaces the "<url-id>" placeholder of the genuine Function URL event.
FUNCTION_URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
EDGE_HOST = "d111111abcdef8.cloudfront.net"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a genuine event: ``"go/apigw-request.json"``, ``"apigw-request.json"`` or ``"apigw-request"``."""
    path = EVENTS_DIR / name
    if not path.is_file():
        stem = name if name.endswith(".json") else name + ".json"
        matches = [p for p in GENUINE_EVENTS if p.rsplit("/", 1)[-1] == stem]
        if len(matches) != 1:
            raise FileNotFoundError(f"no single genuine event named {name!r} in {EVENTS_DIR}")
        path = EVENTS_DIR / matches[0]
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def lambda_context(function_name: str = "cymangum-test") -> Any:
    """A stand-in for the Lambda context object (the adapters only pass it through as ``scope["aws.context"]``)."""
    return SimpleNamespace(
        function_name=function_name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        memory_limit_in_mb=512,
        aws_request_id="8f507cfc-example-4697-b07a-ac58fc914c95",
        log_group_name=f"/aws/lambda/{function_name}",
        log_stream_name="2024/01/01/[$LATEST]0123456789abcdef",
        get_remaining_time_in_millis=lambda: 30_000,
    )


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def _merge_headers(base: Mapping[str, str], headers: Headers | None) -> list[tuple[str, str]]:
    """Base headers overridden case-insensitively by the caller's; a list value repeats the header."""
    merged: dict[str, tuple[str, list[str]]] = {k.lower(): (k, [v]) for k, v in base.items()}
    for name, value in (headers or {}).items():
        if value is None:
            merged.pop(name.lower(), None)
        elif isinstance(value, str):
            merged[name.lower()] = (name, [value])
        else:
            merged[name.lower()] = (name, list(value))
    return [(name, value) for name, values in merged.values() for value in values]


def _body(body: Body, base64: bool) -> tuple[str | None, bool]:
    if body is None:
        return None, base64
    if base64:
        raw = body.encode() if isinstance(body, str) else body
        return b64.b64encode(raw).decode("ascii"), True
    return (body.decode() if isinstance(body, bytes) else body), False


def _body_length(body: Body) -> int:
    if body is None:
        return 0
    return len(body.encode() if isinstance(body, str) else body)


def _query_lists(query: Query) -> dict[str, list[str]]:
    if query is None:
        return {}
    if isinstance(query, str):
        raise TypeError("this source takes the query as a mapping, not a raw string")
    return {k: [v] if isinstance(v, str) else list(v) for k, v in query.items()}


def _raw_query(query: Query) -> str:
    """The query string as a client sends it (what HTTP API v2 passes on as rawQueryString)."""
    if query is None:
        return ""
    if isinstance(query, str):
        return query
    return urlencode([(k, v) for k, vs in _query_lists(query).items() for v in vs], quote_via=quote)


def _pairs_from_raw(raw: str) -> list[tuple[str, str]]:
    return parse_qsl(raw, keep_blank_values=True)


def _proxy_fields(event: dict[str, Any], method: str, path: str) -> None:
    event["httpMethod"] = method
    event["path"] = path
    event["resource"] = "/{proxy+}"
    event["pathParameters"] = {"proxy": path.lstrip("/")} if path.strip("/") else None
    context = event["requestContext"]
    context["httpMethod"] = method
    context["path"] = path
    context["resourcePath"] = "/{proxy+}"


def _payload_v1(
    event: dict[str, Any],
    method: str,
    path: str,
    query: Query,
    headers: list[tuple[str, str]],
    body: Body,
    base64: bool,
    multi_query: Mapping[str, Sequence[str]] | None,
) -> dict[str, Any]:
    """The payload 1.0 fields (REST and HTTP API 1.0): last value in the single maps, all values in the multi maps."""
    _proxy_fields(event, method, path)
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    event["headers"] = single
    event["multiValueHeaders"] = multi
    lists = _query_lists(query)
    if multi_query is not None:
        lists = {k: list(v) for k, v in multi_query.items()}
    event["queryStringParameters"] = {k: v[-1] for k, v in lists.items() if v} or None
    event["multiValueQueryStringParameters"] = lists or None
    event["body"], event["isBase64Encoded"] = _body(body, base64)
    return event


# ---------------------------------------------------------------------------------------------------------------
# Builders


def rest_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
    multi_query: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """API Gateway REST API (proxy integration), from go/apigw-request.json. ``multi_query`` sets
    multiValueQueryStringParameters directly (queryStringParameters then holds each last value)."""
    event = load_event(REST_SOURCE)
    base = {
        k: v
        for k, v in event["headers"].items()
        if k not in ("Content-Type", "Postman-Token", "headerName", "cache-control")
    }
    return _payload_v1(event, method, path, query, _merge_headers(base, headers), body, base64, multi_query)


def http_v1_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
    multi_query: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """API Gateway HTTP API with payload format 1.0 (``"version": "1.0"``), from
    powertools/apiGatewayProxyEvent.json; the headers are those a real HTTP API request carries (lowercase)."""
    event = load_event(HTTP_V1_SOURCE)
    base = _v2_base_headers(load_event(HTTP_V2_SOURCE), event["requestContext"]["domainName"])
    merged = [(k.lower(), v) for k, v in _merge_headers(base, headers)]
    return _payload_v1(event, method, path, query, merged, body, base64, multi_query)


def _v2_base_headers(v2_event: dict[str, Any], host: str) -> dict[str, str]:
    base = {k: v for k, v in v2_event["headers"].items() if k != "content-length"}
    base["host"] = host
    return base


def _payload_v2(
    event: dict[str, Any],
    method: str,
    path: str,
    query: Query,
    headers: list[tuple[str, str]],
    body: Body,
    base64: bool,
) -> dict[str, Any]:
    """The payload 2.0 fields: lowercase names, repeated values comma-joined, cookies split out of Cookie."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        elif name in joined:
            joined[name] = f"{joined[name]},{value}"
        else:
            joined[name] = value
    if body is not None:
        joined["content-length"] = str(_body_length(body))
    event["headers"] = joined
    if cookies:
        event["cookies"] = cookies
    else:
        event.pop("cookies", None)
    event["rawPath"] = path
    raw_query = _raw_query(query)
    event["rawQueryString"] = raw_query
    params: dict[str, list[str]] = {}
    for key, value in _pairs_from_raw(raw_query):
        params.setdefault(key, []).append(value)
    if params:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in params.items()}
    else:
        event.pop("queryStringParameters", None)
    http = event["requestContext"]["http"]
    http["method"] = method
    http["path"] = path
    event["body"], event["isBase64Encoded"] = _body(body, base64)
    if event["body"] is None:
        del event["body"]
    return event


def http_v2_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
) -> dict[str, Any]:
    """API Gateway HTTP API, payload format 2.0, from go/apigw-v2-request-no-authorizer.json."""
    event = load_event(HTTP_V2_SOURCE)
    base = _v2_base_headers(event, event["requestContext"]["domainName"])
    event["routeKey"] = event["requestContext"]["routeKey"] = "$default"
    return _payload_v2(event, method, path, query, _merge_headers(base, headers), body, base64)


def function_url_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
) -> dict[str, Any]:
    """Lambda Function URL (payload 2.0), from powertools/lambdaFunctionUrlEvent.json (a browser's headers)."""
    text = (EVENTS_DIR / FUNCTION_URL_SOURCE).read_text().replace("<url-id>", FUNCTION_URL_ID)
    event: dict[str, Any] = json.loads(text)
    base = dict(event["headers"])
    return _payload_v2(event, method, path, query, _merge_headers(base, headers), body, base64)


def alb_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
    multi_value: bool = False,
) -> dict[str, Any]:
    """Application Load Balancer target, from the go/alb-lambda-target-request-*.json events.

    ALB passes query values on still percent-encoded as the client sent them (here: ``quote``d). Without
    multi-value headers it keeps the last value of a repeated header or query parameter.
    """
    event = load_event(ALB_MULTI_VALUE_SOURCE if multi_value else ALB_SOURCE)
    if multi_value:
        base = {k: v[0] for k, v in event.pop("multiValueHeaders").items() if k != "x-myheader"}
        event.pop("multiValueQueryStringParameters")
    else:
        base = {k: v for k, v in event.pop("headers").items() if k != "x-myheader"}
        event.pop("queryStringParameters")
    event["httpMethod"] = method
    event["path"] = path
    pairs = [(k.lower(), v) for k, v in _merge_headers(base, headers)]
    lists = {quote(k, safe=""): [quote(v, safe="") for v in vs] for k, vs in _query_lists(query).items()}
    if multi_value:
        multi: dict[str, list[str]] = {}
        for name, value in pairs:
            multi.setdefault(name, []).append(value)
        event["multiValueHeaders"] = multi
        event["multiValueQueryStringParameters"] = lists
    else:
        event["headers"] = dict(pairs)
        event["queryStringParameters"] = {k: v[-1] for k, v in lists.items()}
    encoded, is_base64 = _body(body, base64)
    event["body"] = "" if encoded is None else encoded
    event["isBase64Encoded"] = is_base64
    return event


def edge_event(
    method: str = "GET",
    path: str = "/",
    query: Query = None,
    headers: Headers | None = None,
    body: Body = None,
    base64: bool = False,
) -> dict[str, Any]:
    """CloudFront Lambda@Edge origin-request event (AWS documentation example shape), body included.

    With ``base64=True`` the body is ``encoding: "base64"`` (what CloudFront sends for an included body),
    otherwise ``encoding: "text"``.
    """
    base = {
        "Host": EDGE_HOST,
        "User-Agent": "curl/8.5.0",
        "Accept": "*/*",
        "Via": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)",
        "X-Forwarded-For": "203.0.113.178",
        "CloudFront-Forwarded-Proto": "https",
    }
    cf_headers: dict[str, list[dict[str, str]]] = {}
    for name, value in _merge_headers(base, headers):
        cf_headers.setdefault(name.lower(), []).append({"key": name, "value": value})
    request: dict[str, Any] = {
        "clientIp": "203.0.113.178",
        "headers": cf_headers,
        "method": method,
        "origin": {
            "custom": {
                "customHeaders": {},
                "domainName": "example.org",
                "keepaliveTimeout": 5,
                "path": "",
                "port": 443,
                "protocol": "https",
                "readTimeout": 30,
                "sslProtocols": ["TLSv1", "TLSv1.1", "TLSv1.2"],
            }
        },
        "querystring": _raw_query(query),
        "uri": path,
    }
    if body is not None:
        data, _ = _body(body, base64)
        request["body"] = {
            "action": "read-only",
            "data": data,
            "encoding": "base64" if base64 else "text",
            "inputTruncated": False,
        }
    config = {
        "distributionDomainName": EDGE_HOST,
        "distributionId": "EDFDVBD6EXAMPLE",
        "eventType": "origin-request",
        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
    }
    return {"Records": [{"cf": {"config": config, "request": request}}]}


#: Every builder by source name, for parametrized tests.
BUILDERS = {
    "rest": rest_event,
    "http_v1": http_v1_event,
    "http_v2": http_v2_event,
    "function_url": function_url_event,
    "alb": alb_event,
    "alb_multi": lambda *args, **kwargs: alb_event(*args, multi_value=True, **kwargs),
    "edge": edge_event,
}
