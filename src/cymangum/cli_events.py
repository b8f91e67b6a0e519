"""Events in, results out: what `cymangum invoke`, `serve` and `bench` share.

- loading an ASGI app from "module:attribute" and wrapping it in the adapter;
- synthetic Lambda events for every source Mangum handles, modeled on the payloads AWS sends (rest, http,
  http-v1, url, alb, alb-multi, edge), built from one HTTP request description;
- a fake Lambda context;
- turning a Lambda result (any source's shape) back into an HTTP status, header list and body;
- the `invoke` command itself.

This module is CLI-only (it uses orjson); `import cymangum` never imports it. Its top level imports only the
standard library, so that `cymangum bench` can load it in a cold-start child without importing an adapter first.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

SOURCES = ("rest", "http", "http-v1", "url", "alb", "alb-multi", "edge")
DEFAULT_SOURCE = "http"
DEFAULT_APP = "cymangum.demo:app"
# Sources whose handler strips api_gateway_base_path (ALB and Lambda@Edge never do).
BASE_PATH_SOURCES = frozenset(("rest", "http", "http-v1", "url"))
# Keywords of cymangum's Mangum that Mangum 0.22 does not have: kept from a Mangum instance given as APP.
CYMANGUM_ONLY_SETTINGS = ("lifespan_once", "aws_exact", "reraise")
# Lambda's synchronous invocation limit, for the request event and for the result (bytes of JSON).
LAMBDA_PAYLOAD_LIMIT = 6 * 1024 * 1024
# Request headers that belong to one HTTP connection and never reach a Lambda event.
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
    )
)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
FUNCTION_NAME = "cymangum-local"
API_ID = "a1b2c3d4e5"
URL_ID = "abcdefghijklmnopqrstuvwxyz0123456"
DISTRIBUTION_ID = "EDFDVBD6EXAMPLE"


class CLIError(Exception):
    """A user error with a one-line explanation (bad app path, bad event file...): exit status 2."""


class MalformedResult(Exception):
    """The handler returned something API Gateway / ALB / CloudFront would answer with a 502."""


# ---------------------------------------------------------------------------------------------------------------
# The app and the adapter


def adapter_class(name: str = "cymangum") -> Any:
    """The Mangum class of `name` ("cymangum", or "mangum" for comparisons)."""
    if name == "mangum":
        try:
            from mangum import Mangum as mangum_class
        except ImportError as exc:
            raise CLIError(f"mangum is not installed ({exc}); install it with: pip install mangum") from None
        return mangum_class
    from cymangum import Mangum

    return Mangum


@dataclass
class AppSpec:
    """An ASGI app, plus the adapter settings of the Mangum instance it came from (if it came from one)."""

    app: Any
    name: str
    settings: dict[str, Any] = field(default_factory=dict)


def load_app(spec: str | None) -> AppSpec:
    """Import "module:attribute" (attribute may be dotted). A Mangum instance is unwrapped to its app and config.

    Raises CLIError with a one-line reason for anything that is not an importable callable.
    """
    spec = spec or DEFAULT_APP
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise CLIError(f"app must look like 'module:attribute' (e.g. 'main:app'), got {spec!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # like uvicorn: apps in the current directory are importable
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CLIError(f"cannot import {module_name!r}: no module named {exc.name!r}") from None
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from None
    settings: dict[str, Any] = {}
    if _is_adapter(obj):
        # `handler = Mangum(app, ...)`: keep its configuration, but build our own instance (in the thread that
        # will call it, with the CLI's lifespan and base path when given).
        config = obj.config
        settings = {
            "lifespan": obj.lifespan,
            "api_gateway_base_path": config.get("api_gateway_base_path", "/"),
            "text_mime_types": config.get("text_mime_types"),
            "exclude_headers": config.get("exclude_headers"),
            "custom_handlers": obj.custom_handlers,
        }
        # cymangum's own keywords (DESIGN "Beyond Mangum"), when the instance has them.
        settings.update({name: getattr(obj, name) for name in CYMANGUM_ONLY_SETTINGS if hasattr(obj, name)})
        obj = obj.app
    if not callable(obj):
        raise CLIError(f"{spec!r} is a {type(obj).__name__}, not an ASGI application (it is not callable)")
    return AppSpec(obj, spec, settings)


def _is_adapter(obj: Any) -> bool:
    return (
        type(obj).__name__ == "Mangum"
        and hasattr(obj, "app")
        and isinstance(getattr(obj, "config", None), dict)
    )


def make_handler(
    spec: AppSpec, *, adapter: str = "cymangum", lifespan: str | None = None, base_path: str | None = None
) -> Any:
    """Construct the adapter around the app. Call it in the thread that will invoke it (the adapter binds the
    thread's event loop)."""
    settings = dict(spec.settings)
    if lifespan is not None:
        settings["lifespan"] = lifespan
    if base_path is not None:
        settings["api_gateway_base_path"] = base_path
    if adapter == "mangum":  # Mangum has none of cymangum's extra keywords
        settings = {k: v for k, v in settings.items() if k not in CYMANGUM_ONLY_SETTINGS}
    return adapter_class(adapter)(spec.app, **settings)


def check_base_path(source: str, base_path: str | None) -> None:
    """Warn that a base path means nothing to the ALB and Lambda@Edge handlers (they never strip it)."""
    if base_path and base_path.strip("/") and source not in BASE_PATH_SOURCES:
        print(
            f"cymangum: note: --base-path only applies to API Gateway sources; {source} events keep the full path",
            file=sys.stderr,
        )


class LambdaContext:
    """The attributes and method of the context object the Lambda Python runtime passes to the handler."""

    def __init__(self, timeout_ms: int = 30_000) -> None:
        self.function_name = FUNCTION_NAME
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION_NAME}"
        self.memory_limit_in_mb = "1024"
        self.aws_request_id = _uuid()
        self.log_group_name = f"/aws/lambda/{FUNCTION_NAME}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + os.urandom(16).hex()
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def new_invocation(self) -> LambdaContext:
        """A fresh context for the next invocation (new request id and deadline)."""
        return LambdaContext()


def _uuid() -> str:
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


# ---------------------------------------------------------------------------------------------------------------
# Requests to events


@dataclass
class Request:
    """One HTTP request as a client sent it. `path` and `query` are raw (still percent-encoded)."""

    method: str = "GET"
    path: str = "/"
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    client_ip: str = "203.0.113.10"
    scheme: str = "https"
    port: int = 443


def request_from_options(
    *,
    method: str | None = None,
    path: str = "/",
    query: list[str] | None = None,
    headers: list[str] | None = None,
    body: bytes | None = None,
) -> Request:
    """A Request from the command line's --method/--path/--query/--header/--body (with CLIError on bad syntax)."""
    if not path.startswith("/"):
        path = "/" + path
    path, _, raw_query = path.partition("?")
    path = quote(path, safe="/%:@!$&'()*+,;=~-._")
    pairs = []
    for item in query or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise CLIError(f"--query must look like key=value, got {item!r}")
        pairs.append((key, value))
    if pairs:
        encoded = urlencode(pairs, quote_via=quote)
        raw_query = f"{raw_query}&{encoded}" if raw_query else encoded
    header_list = []
    for item in headers or []:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise CLIError(f"--header must look like 'Name: value', got {item!r}")
        header_list.append((name.strip(), value.strip()))
    names = {name.lower() for name, _ in header_list}
    body = body or b""
    if body and "content-type" not in names:
        header_list.append(("Content-Type", _guess_content_type(body)))
    if not method:
        method = "POST" if body else "GET"
    return Request(method=method.upper(), path=path, query=raw_query, headers=header_list, body=body)


def read_body_option(body: str | None, body_file: str | None) -> bytes | None:
    """The bytes of --body TEXT or --body-file FILE ("-": stdin)."""
    if body is not None:
        return body.encode("utf-8", "surrogateescape")
    if body_file is None:
        return None
    if body_file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(body_file, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CLIError(f"cannot read body file {body_file!r}: {exc.strerror or exc}") from None


def _guess_content_type(body: bytes) -> str:
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return "application/octet-stream"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        import json

        try:
            json.loads(text)
        except ValueError:
            pass
        else:
            return "application/json"
    return "text/plain; charset=utf-8"


def prefix_base_path(path: str, base_path: str | None) -> str:
    """The path a client requests behind an API Gateway base path (stage): "/items" -> "/stage/items"."""
    base = "/" + (base_path or "").strip("/")
    if base == "/" or path == base or path.startswith(base + "/"):
        return path
    return base + path


def default_host(source: str) -> str:
    """The Host header AWS would put in an event of this source."""
    if source == "url":
        return f"{URL_ID}.lambda-url.{REGION}.on.aws"
    if source in ("alb", "alb-multi"):
        return f"cymangum-alb-1234567890.{REGION}.elb.amazonaws.com"
    if source == "edge":
        return "d111111abcdef8.cloudfront.net"
    return f"{API_ID}.execute-api.{REGION}.amazonaws.com"


def build_event(source: str, request: Request, *, base_path: str | None = None) -> dict[str, Any]:
    """A Lambda event of `source` for `request`, shaped like the ones AWS sends (see /work/shared/events).

    The request path is used as the event path unchanged: for API Gateway sources it already includes the
    base path (stage) when there is one; `base_path` only names the stage in requestContext.
    """
    try:
        builder = _BUILDERS[source]
    except KeyError:
        raise CLIError(f"unknown event source {source!r}; choose one of: {', '.join(SOURCES)}") from None
    headers = _event_headers(source, request)
    return builder(request, headers, base_path)


def _event_headers(source: str, request: Request) -> list[tuple[str, str]]:
    """The client's headers (hop-by-hop ones removed) plus those the AWS front end adds, in arrival order."""
    headers = [
        (k, v) for k, v in request.headers if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"
    ]
    names = {k.lower() for k, _ in headers}
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(request.body))))
    if "host" not in names:
        headers.insert(0, ("Host", default_host(source)))
    forwarded_for = next((v for k, v in headers if k.lower() == "x-forwarded-for"), None)
    headers = [
        (k, v)
        for k, v in headers
        if k.lower() not in ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
    ]
    client_chain = f"{forwarded_for}, {request.client_ip}" if forwarded_for else request.client_ip
    if source == "edge":
        headers.append(("X-Forwarded-For", client_chain))
        headers.append(("CloudFront-Forwarded-Proto", request.scheme))
        headers.append(("Via", "2.0 4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f90.cloudfront.net (CloudFront)"))
    else:
        if "x-amzn-trace-id" not in names:
            headers.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()}"))
        headers.append(("X-Forwarded-For", client_chain))
        headers.append(("X-Forwarded-Port", str(request.port)))
        headers.append(("X-Forwarded-Proto", request.scheme))
    return headers


def _body_fields(body: bytes) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text when the bytes are UTF-8, base64 otherwise."""
    if not body:
        return None, False
    try:
        return body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _timestamps() -> tuple[str, int]:
    now = time.time()
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), int(now * 1000)


def _user_agent(headers: list[tuple[str, str]]) -> str:
    return next((v for k, v in headers if k.lower() == "user-agent"), "")


def _stage(base_path: str | None, default: str) -> str:
    stage = (base_path or "").strip("/").split("/")[0]
    return stage or default


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def _rest_like(
    request: Request, headers: list[tuple[str, str]], base_path: str | None, http_api: bool
) -> dict[str, Any]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        name = spelling.setdefault(name.lower(), name)  # one spelling per header, the first one seen
        single[name] = value
        multi.setdefault(name, []).append(value)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for key, value in _query_pairs(request.query):
        query_single[key] = value
        query_multi.setdefault(key, []).append(value)
    body, is_base64 = _body_fields(request.body)
    request_time, epoch_ms = _timestamps()
    request_id = _uuid()
    if http_api:
        stage = _stage(base_path, "$default")
        resource = "$default"
        context_path = request.path
    else:
        stage = _stage(base_path, "prod")
        resource = "/{proxy+}"
        # The stage is part of the URL on execute-api domains, and of the event path only behind a base path.
        context_path = request.path if base_path and base_path.strip("/") else f"/{stage}{request.path}"
    event: dict[str, Any] = {}
    if http_api:
        event["version"] = "1.0"
    event.update(
        {
            "resource": resource,
            "path": request.path,
            "httpMethod": request.method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": query_single or None,
            "multiValueQueryStringParameters": query_multi or None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
                "domainPrefix": API_ID,
                "extendedRequestId": base64.b64encode(os.urandom(12)).decode()[:14] + "=",
                "httpMethod": request.method,
                "identity": {
                    "accessKey": None,
                    "accountId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "sourceIp": request.client_ip,
                    "user": None,
                    "userAgent": _user_agent(headers),
                    "userArn": None,
                },
                "path": context_path,
                "protocol": "HTTP/1.1",
                "requestId": request_id,
                "requestTime": request_time,
                "requestTimeEpoch": epoch_ms,
                "resourceId": None if http_api else "abc123",
                "resourcePath": resource,
                "stage": stage,
            },
            "pathParameters": None if http_api else {"proxy": request.path.lstrip("/")},
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": is_base64,
        }
    )
    return event


def _rest(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _rest_like(request, headers, base_path, http_api=False)


def _http_v1(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _rest_like(request, headers, base_path, http_api=True)


def _v2(
    request: Request, headers: list[tuple[str, str]], base_path: str | None, function_url: bool
) -> dict[str, Any]:
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        elif name in joined:
            joined[name] += "," + value
        else:
            joined[name] = value
    query: dict[str, str] = {}
    for key, value in _query_pairs(request.query):
        query[key] = f"{query[key]},{value}" if key in query else value
    body, is_base64 = _body_fields(request.body)
    request_time, epoch_ms = _timestamps()
    if function_url:
        domain, prefix, stage = f"{URL_ID}.lambda-url.{REGION}.on.aws", URL_ID, "$default"
    else:
        domain, prefix = f"{API_ID}.execute-api.{REGION}.amazonaws.com", API_ID
        stage = _stage(base_path, "$default")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": "anonymous" if function_url else ACCOUNT_ID,
        "apiId": prefix,
        "domainName": domain,
        "domainPrefix": prefix,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.client_ip,
            "userAgent": _user_agent(headers),
        },
        "requestId": _uuid(),
        "routeKey": "$default",
        "stage": stage,
        "time": request_time,
        "timeEpoch": epoch_ms,
    }
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = is_base64
    return event


def _http(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _v2(request, headers, base_path, function_url=False)


def _url(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _v2(request, headers, base_path, function_url=True)


def _alb_like(request: Request, headers: list[tuple[str, str]], multi_value: bool) -> dict[str, Any]:
    # ALB passes query values as the client encoded them (Mangum unquotes them) and lowercases header names.
    raw_pairs = [part.partition("=")[::2] for part in request.query.split("&") if part]
    body, is_base64 = _body_fields(request.body)
    event: dict[str, Any] = {
        "requestContext": {
            "elb": {
                "targetGroupArn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/"
                "cymangum-local/6d0ecf831eec9f09"
            }
        },
        "httpMethod": request.method,
        "path": request.path,
    }
    if multi_value:
        query_multi: dict[str, list[str]] = {}
        header_multi: dict[str, list[str]] = {}
        for key, value in raw_pairs:
            query_multi.setdefault(key, []).append(value)
        for name, value in headers:
            header_multi.setdefault(name.lower(), []).append(value)
        event["multiValueQueryStringParameters"] = query_multi
        event["multiValueHeaders"] = header_multi
    else:  # without multi-value headers, ALB keeps the last value of a repeated header or query parameter
        event["queryStringParameters"] = dict(raw_pairs)
        event["headers"] = {name.lower(): value for name, value in headers}
    event["body"] = body or ""
    event["isBase64Encoded"] = is_base64
    return event


def _alb(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _alb_like(request, headers, multi_value=False)


def _alb_multi(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    return _alb_like(request, headers, multi_value=True)


def _edge(request: Request, headers: list[tuple[str, str]], base_path: str | None) -> dict[str, Any]:
    # An origin-request event with "include body": CloudFront sends header lists keyed by lowercase name and
    # the body always base64-encoded.
    cf_headers: dict[str, list[dict[str, str]]] = {}
    for name, value in headers:
        cf_headers.setdefault(name.lower(), []).append({"key": name, "value": value})
    cf_request: dict[str, Any] = {
        "clientIp": request.client_ip,
        "headers": cf_headers,
        "method": request.method,
        "origin": {
            "custom": {
                "customHeaders": {},
                "domainName": "origin.example.com",
                "keepaliveTimeout": 5,
                "path": "",
                "port": 443,
                "protocol": "https",
                "readTimeout": 30,
                "sslProtocols": ["TLSv1.2"],
            }
        },
        "querystring": request.query,
        "uri": request.path,
    }
    if request.body:
        cf_request["body"] = {
            "action": "read-only",
            "data": base64.b64encode(request.body).decode("ascii"),
            "encoding": "base64",
            "inputTruncated": False,
        }
    config = {
        "distributionDomainName": "d111111abcdef8.cloudfront.net",
        "distributionId": DISTRIBUTION_ID,
        "eventType": "origin-request",
        "requestId": base64.urlsafe_b64encode(os.urandom(42)).decode(),
    }
    return {"Records": [{"cf": {"config": config, "request": cf_request}}]}


_BUILDERS = {
    "rest": _rest,
    "http": _http,
    "http-v1": _http_v1,
    "url": _url,
    "alb": _alb,
    "alb-multi": _alb_multi,
    "edge": _edge,
}


def read_event_file(path: str) -> dict[str, Any]:
    """A Lambda event from a JSON file ("-" reads stdin), or CLIError with a one-line reason."""
    import orjson

    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise CLIError(f"cannot read event file {path!r}: {exc.strerror or exc}") from None
    try:
        event = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CLIError(f"event file {path!r} is not valid JSON: {exc}") from None
    if not isinstance(event, dict):
        raise CLIError(f"event file {path!r} must hold a JSON object, not a {type(event).__name__}")
    return event


def make_event(
    source: str, request: Request | None, event_file: str | None, base_path: str | None
) -> dict[str, Any]:
    """The event of `invoke` and `bench`: the --event file as is, or one built from the request options, whose
    path gets the base path in front for the API Gateway sources (the client requests /stage/path)."""
    if event_file is not None:
        return read_event_file(event_file)
    if request is None:
        request = Request()
    if base_path and source in BASE_PATH_SOURCES:
        request.path = prefix_base_path(request.path, base_path)
    return build_event(source, request, base_path=base_path)


# ---------------------------------------------------------------------------------------------------------------
# Results to HTTP responses


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), default)


_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def decode_result(result: Any) -> Response:
    """The HTTP response that API Gateway (REST, HTTP), a Function URL, ALB or CloudFront makes of a result.

    Any source's shape: `statusCode` or Edge's `status`; `multiValueHeaders` (which win over `headers` for the
    same name, as API Gateway merges them); `headers` as strings, or Edge's `[{"key", "value"}]` lists; v2's
    `cookies` as Set-Cookie headers; base64 bodies decoded. Header names come out lowercase (this folds ALB's
    case-mutated names). MalformedResult for anything the AWS front end would answer with a 502.
    """
    if not isinstance(result, dict):
        raise MalformedResult(f"the result is a {type(result).__name__}, not a JSON object")
    status = result.get("statusCode", result.get("status"))
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if type(status) is not int or not 100 <= status <= 599:
        raise MalformedResult(f"invalid status code {status!r}")
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise MalformedResult("headers and multiValueHeaders must be JSON objects")
    seen = set()
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] is not a list")
        seen.add(name.lower())
        headers += [(name, _header_value(name, v)) for v in values]
    for name, value in single.items():
        if name.lower() in seen:
            continue
        if isinstance(value, list):  # Lambda@Edge: [{"key": "Content-Type", "value": "text/html"}, ...]
            for item in value:
                if not isinstance(item, dict) or "value" not in item:
                    raise MalformedResult(f"headers[{name!r}] must hold {{'key', 'value'}} objects")
                headers.append((str(item.get("key") or name), _header_value(name, item["value"])))
        else:
            headers.append((name, _header_value(name, value)))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResult("cookies must be a list")
    headers += [("set-cookie", _header_value("set-cookie", c)) for c in cookies]
    for name, _ in headers:
        if not name or not set(name) <= _TOKEN:
            raise MalformedResult(f"invalid header name {name!r}")
    body = result.get("body")
    if body is None:
        raw = b""
    elif not isinstance(body, str):
        raise MalformedResult(f"the body is a {type(body).__name__}, not a string")
    elif result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedResult(f"the body is not valid base64: {exc}") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    return Response(status, [(k.lower(), v) for k, v in headers], raw)


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise MalformedResult(f"invalid value for header {name!r}: {value!r}")
    text = value if isinstance(value, str) else str(value)
    if "\r" in text or "\n" in text or "\0" in text:
        raise MalformedResult(f"header {name!r} contains a line break or NUL")
    return text


def result_is_text(result: Any) -> bool:
    return (
        isinstance(result, dict) and not result.get("isBase64Encoded") and isinstance(result.get("body"), str)
    )


def json_bytes(data: Any, *, indent: bool = True) -> bytes:
    """orjson output for the CLI: indented, non-str keys allowed, anything else shown with repr()."""
    import orjson

    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(data, option=option, default=repr)


# ---------------------------------------------------------------------------------------------------------------
# The invoke command


def setup_logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def invoke(
    *,
    app: str | None,
    source: str,
    request: Request | None,
    event_file: str | None,
    base_path: str | None,
    lifespan: str | None,
    json_only: bool = False,
    output: str | None = None,
    verbose: bool = False,
) -> int:
    """`cymangum invoke`: one invocation in this process; prints the result and the decoded body."""
    check_base_path(source, base_path)
    event = make_event(source, request, event_file, base_path)
    spec = load_app(app)
    handler = make_handler(spec, lifespan=lifespan, base_path=base_path)
    try:
        result = handler(event, LambdaContext())
    except Exception as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        hint = "" if verbose else " (--verbose shows the traceback)"
        print(f"cymangum invoke: the handler raised {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    out.write(json_bytes(result) + b"\n")
    try:
        response = decode_result(result)
    except MalformedResult as exc:
        print(f"cymangum invoke: malformed result: {exc}", file=sys.stderr)
        return 1
    if output:
        try:
            with open(output, "wb") as f:
                f.write(response.body)
        except OSError as exc:
            raise CLIError(f"cannot write {output!r}: {exc.strerror or exc}") from None
    if not json_only:
        content_type = response.header("content-type") or "no content-type"
        size = len(response.body)
        if not response.body:
            out.write(f"\n--- {response.status}, empty body ---\n".encode())
        elif result_is_text(result):
            out.write(f"\n--- {response.status} {content_type}, {size} bytes ---\n".encode())
            out.write(_pretty_body(response.body, content_type))
        else:
            saved = f"saved to {output}" if output else "use --output FILE to save it"
            out.write(
                f"\n--- {response.status} {content_type}, {size} bytes, base64 in the result ({saved}) ---\n".encode()
            )
    out.flush()
    return 0


def _pretty_body(body: bytes, content_type: str) -> bytes:
    if "json" in content_type:
        import orjson

        try:
            body = json_bytes(orjson.loads(body))
        except orjson.JSONDecodeError:
            pass
    return body if body.endswith(b"\n") else body + b"\n"
