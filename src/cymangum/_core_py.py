"""The pure-Python core: the reference that `_core.pyx` must match result for result.

Coarse-grained on purpose: one call turns an event into an ASGI scope, one call turns the app's response into
the Lambda result dict. Names, signatures, results and error messages are identical in the compiled module;
`tests/test_core_differential.py` checks that. Mangum's observable quirks are kept (see SPEC.md, cited by
section); where cymangum deliberately differs, the comment says so.
"""

from __future__ import annotations

import binascii
import logging
from typing import Any

from .exceptions import InvalidResponseError, MalformedEventError

ASGI_VERSION = {"version": "3.0", "spec_version": "2.0"}


# urllib.parse costs ~2.5 ms to import; most invocations never need it, so it is imported on first use.
def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _unquote_plus(text: str) -> str:
    from urllib.parse import unquote_plus

    return unquote_plus(text)


def _quote_plus(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)

# Content-Encoding values that leave the body as it is; anything else means encoded (binary) bytes.
_IDENTITY_ENCODINGS = ("", "identity")


# ----------------------------------------------------------------------------------------------------------
# Request side helpers


def _mapping(event: Any, key: str, *, required: bool = False) -> dict[str, Any]:
    """`event[key]` as a dict: missing or None is an empty dict unless required; any other type is malformed."""
    value = event.get(key)
    if value is None:
        if required:
            raise MalformedEventError(f"the event has no {key!r} object")
        return {}
    if type(value) is not dict:
        raise MalformedEventError(f"{key!r} must be an object, not {type(value).__name__}")
    return value


def _text(container: Any, key: str) -> str:
    """A required string field."""
    value = container.get(key)
    if type(value) is not str:
        if value is None:
            raise MalformedEventError(f"the event has no {key!r}")
        raise MalformedEventError(f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _header_value(name: str, value: Any) -> str:
    if type(value) is not str:
        raise MalformedEventError(f"header {name!r} must have a string value, not {type(value).__name__}")
    return value


def _lowercase_headers(headers: dict[str, Any]) -> dict[str, str]:
    """Keys lowercased; on a collision the last value wins at the first key's position (SPEC 3.1)."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        out[name.lower()] = _header_value(name, value)
    return out


def _merge_multi_value_headers(headers: dict[str, str], multi: dict[str, Any]) -> None:
    """REST merge: lists joined with ', ', non-list values become '' (SPEC 3.1 step 2)."""
    for name, values in multi.items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        if type(values) is list:
            for value in values:
                _header_value(name, value)
            headers[name.lower()] = ", ".join(values)
        else:
            headers[name.lower()] = ""


def _asgi_headers(headers: dict[str, str]) -> list[list[bytes]]:
    try:
        return [[name.encode(), value.encode()] for name, value in headers.items()]
    except UnicodeEncodeError as exc:
        raise MalformedEventError("a header is not valid UTF-8 text") from exc


def _port(value: Any) -> int:
    """int() of a port as Mangum does, but a bad value is a malformed event rather than a ValueError."""
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"invalid port {value!r}") from exc


def _server(host: str | None, forwarded_port: Any) -> tuple[str, int]:
    """Mangum's get_server_and_port: the host's own port wins over x-forwarded-port (SPEC 3.0)."""
    if host is None:
        host = "mangum"
    if ":" not in host:
        return host, _port(80 if forwarded_port is None else forwarded_port)
    parts = host.split(":")
    if len(parts) != 2:
        raise MalformedEventError(f"invalid host header {host!r}")
    return parts[0], _port(parts[1])


def _strip_path(path: str, base_path: str) -> str:
    """Mangum's strip_api_gateway_path: plain prefix strip, then unquote (SPEC 3.0 table)."""
    if not path:
        return "/"
    if base_path and base_path != "/":
        if not base_path.startswith("/"):
            base_path = "/" + base_path
        if path.startswith(base_path):
            path = path[len(base_path) :]
    return _unquote(path) if "%" in path else path


def _urlencode_value(value: Any) -> list[str]:
    """How urlencode(doseq=True) turns one value into the strings it quotes."""
    if type(value) is str:
        return [value]
    if type(value) is list:
        return [item if type(item) is str else str(item) for item in value]
    try:
        len(value)
    except TypeError:
        return [str(value)]
    return [item if type(item) is str else str(item) for item in value]


def _urlencode(params: dict[str, Any], *, alb: bool) -> bytes:
    """urlencode(params, doseq=True).encode(); ALB first unquote_plus-es what ALB passed through (SPEC 3.3)."""
    pairs: list[str] = []
    try:
        for key, value in params.items():
            if type(key) is not str:
                key = str(key)
            if alb:
                if value is None:
                    value = ""
                elif type(value) is not str and type(value) is not list:
                    raise MalformedEventError(f"query parameter {key!r} must be a string or a list")
                key = _unquote_plus(key)
                values = [_unquote_plus(item) for item in _urlencode_value(value)]
            else:
                values = _urlencode_value(value)
            quoted_key = _quote_plus(key)
            for item in values:
                pairs.append(quoted_key + "=" + _quote_plus(item))
    except UnicodeEncodeError as exc:
        raise MalformedEventError("the query string is not valid UTF-8 text") from exc
    return "&".join(pairs).encode()


def apigw_query_string(event: dict[str, Any]) -> bytes:
    """REST / HTTP 1.0: the multi-value map if truthy, else the single map if truthy (SPEC 3.1)."""
    params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters")
    if not params:
        return b""
    if type(params) is not dict:
        raise MalformedEventError("query string parameters must be an object")
    return _urlencode(params, alb=False)


def alb_query_string(event: dict[str, Any]) -> bytes:
    """ALB: presence of the multi-value key decides, then re-encode what ALB passed through (SPEC 3.3)."""
    if "multiValueQueryStringParameters" in event:
        params = event["multiValueQueryStringParameters"]
    else:
        params = event.get("queryStringParameters")
    if not params:
        return b""
    if type(params) is not dict:
        raise MalformedEventError("query string parameters must be an object")
    return _urlencode(params, alb=True)


def _request_context(event: dict[str, Any]) -> dict[str, Any]:
    return _mapping(event, "requestContext", required=True)


# ----------------------------------------------------------------------------------------------------------
# Request side: one call per event


def rest_scope(event: dict[str, Any], context: Any, base_path: str, v1_of_http_api: bool) -> dict[str, Any]:
    """The scope for API Gateway REST (payload 1.0); also HTTP API payload 1.0, whose key order differs."""
    headers = _lowercase_headers(_mapping(event, "headers"))
    multi = event.get("multiValueHeaders")
    if multi:
        if type(multi) is not dict:
            raise MalformedEventError(f"'multiValueHeaders' must be an object, not {type(multi).__name__}")
        _merge_multi_value_headers(headers, multi)
    method = _text(event, "httpMethod")
    path = _strip_path(_text(event, "path"), base_path)
    identity = _request_context(event).get("identity")
    client_ip = identity.get("sourceIp") if type(identity) is dict else None
    server = _server(headers.get("host"), headers.get("x-forwarded-port"))
    asgi_headers = _asgi_headers(headers)
    scheme = headers.get("x-forwarded-proto", "https")
    query = apigw_query_string(event)
    if v1_of_http_api:
        return {
            "type": "http",
            "method": method,
            "http_version": "1.1",
            "headers": asgi_headers,
            "path": path,
            "raw_path": None,
            "root_path": "",
            "scheme": scheme,
            "query_string": query,
            "server": server,
            "client": (client_ip, 0),
            "asgi": ASGI_VERSION.copy(),
            "aws.event": event,
            "aws.context": context,
        }
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "headers": asgi_headers,
        "path": path,
        "raw_path": None,
        "root_path": "",
        "scheme": scheme,
        "query_string": query,
        "server": server,
        "client": (client_ip, 0),
        "asgi": ASGI_VERSION.copy(),
        "aws.event": event,
        "aws.context": context,
    }


def http_v2_scope(event: dict[str, Any], context: Any, base_path: str) -> dict[str, Any]:
    """The scope for HTTP API payload 2.0 and Function URLs (SPEC 3.2)."""
    headers = _lowercase_headers(_mapping(event, "headers"))
    cookies = event.get("cookies")
    if cookies:
        if type(cookies) is not list or any(type(cookie) is not str for cookie in cookies):
            raise MalformedEventError("'cookies' must be a list of strings")
        headers["cookie"] = "; ".join(cookies)
    http = _mapping(_request_context(event), "http", required=True)
    method = _text(http, "method")
    path = _strip_path(_text(http, "path"), base_path)
    source_ip = http.get("sourceIp")
    if source_ip is not None and type(source_ip) is not str:
        raise MalformedEventError("'sourceIp' must be a string")
    query = event.get("rawQueryString", "")
    if type(query) is not str:
        if query is not None:
            raise MalformedEventError("'rawQueryString' must be a string")
        query = ""
    server = _server(headers.get("host"), headers.get("x-forwarded-port"))
    try:
        query_string = query.encode()
    except UnicodeEncodeError as exc:
        raise MalformedEventError("'rawQueryString' is not valid UTF-8 text") from exc
    return {
        "type": "http",
        "method": method,
        "http_version": "1.1",
        "headers": _asgi_headers(headers),
        "path": path,
        "raw_path": None,
        "root_path": "",
        "scheme": headers.get("x-forwarded-proto", "https"),
        "query_string": query_string,
        "server": server,
        "client": (source_ip, 0),
        "asgi": ASGI_VERSION.copy(),
        "aws.event": event,
        "aws.context": context,
    }


def _alb_headers(event: dict[str, Any]) -> tuple[list[list[bytes]], dict[str, str]]:
    """ALB request headers: one scope entry per value, and a lookup dict where the last value wins (SPEC 3.3)."""
    pairs: list[list[bytes]] = []
    lookup: dict[str, str] = {}
    if "multiValueHeaders" in event:
        multi = event["multiValueHeaders"]
        if type(multi) is not dict:
            raise MalformedEventError("'multiValueHeaders' must be an object")
        for name, values in multi.items():
            if type(name) is not str or type(values) is not list:
                raise MalformedEventError("'multiValueHeaders' must map names to lists of strings")
            lowered = name.lower()
            for value in values:
                lookup[lowered] = _header_value(name, value)
                pairs.append(_encode_pair(lowered, value))
    else:
        if "headers" not in event:
            raise MalformedEventError("the event has neither 'headers' nor 'multiValueHeaders'")
        for name, value in _mapping(event, "headers").items():
            if type(name) is not str:
                raise MalformedEventError("header names must be strings")
            lowered = name.lower()
            lookup[lowered] = _header_value(name, value)
            pairs.append(_encode_pair(lowered, value))
    return pairs, lookup


def alb_scope(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scope for ALB targets, single or multi-value headers (SPEC 3.3)."""
    pairs, lookup = _alb_headers(event)
    method = _text(event, "httpMethod")
    if "path" not in event:
        raise MalformedEventError("the event has no 'path'")
    path = event["path"]
    if not path:
        path = "/"
    elif type(path) is not str:
        raise MalformedEventError("'path' must be a string")
    elif "%" in path:
        path = _unquote(path)
    return {
        "type": "http",
        "method": method,
        "http_version": "1.1",
        "headers": pairs,
        "path": path,
        "raw_path": None,
        "root_path": "",
        "scheme": lookup.get("x-forwarded-proto", "https"),
        "query_string": alb_query_string(event),
        "server": _server(lookup.get("host"), lookup.get("x-forwarded-port")),
        "client": (lookup.get("x-forwarded-for", ""), 0),
        "asgi": ASGI_VERSION.copy(),
        "aws.event": event,
        "aws.context": context,
    }


def _encode_pair(name: str, value: str) -> list[bytes]:
    try:
        return [name.encode(), value.encode()]
    except UnicodeEncodeError as exc:
        raise MalformedEventError("a header is not valid UTF-8 text") from exc


def _edge_first_value(name: str, values: Any) -> str:
    """CloudFront's [{"key":..., "value":...}, ...]: Mangum keeps only the first value (SPEC 3.4)."""
    if type(values) is not list or not values or type(values[0]) is not dict:
        raise MalformedEventError(f"header {name!r} must be a non-empty list of objects")
    return _header_value(name, values[0].get("value"))


def edge_request(event: dict[str, Any]) -> dict[str, Any]:
    """`event["Records"][0]["cf"]["request"]`, checked."""
    records = event.get("Records")
    if type(records) is not list or not records or type(records[0]) is not dict:
        raise MalformedEventError("'Records' must be a non-empty list of objects")
    cf = _mapping(records[0], "cf", required=True)
    return _mapping(cf, "request", required=True)


def edge_scope(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The scope for Lambda@Edge: header dict keys as sent, first values, uri verbatim (SPEC 3.4)."""
    request = edge_request(event)
    pairs: list[list[bytes]] = []
    first: dict[str, str] = {}
    for name, values in _mapping(request, "headers", required=True).items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        value = _edge_first_value(name, values)
        first[name] = value
        pairs.append(_encode_pair(name, value))
    scheme_values = request["headers"].get("cloudfront-forwarded-proto")
    scheme = first["cloudfront-forwarded-proto"] if scheme_values else "https"
    method = _text(request, "method")
    uri = request.get("uri")
    if type(uri) is not str:
        raise MalformedEventError("the request has no 'uri' string")
    query = request.get("querystring")
    if type(query) is not str:
        raise MalformedEventError("the request has no 'querystring' string")
    client_ip = request.get("clientIp")
    if client_ip is not None and type(client_ip) is not str:
        raise MalformedEventError("'clientIp' must be a string")
    host = first.get("host", "mangum")
    if ":" in host:
        server = _server(host, None)
    else:
        server = (host, _port(first.get("x-forwarded-port", 80)))
    try:
        query_string = query.encode()
    except UnicodeEncodeError as exc:
        raise MalformedEventError("'querystring' is not valid UTF-8 text") from exc
    return {
        "type": "http",
        "method": method,
        "http_version": "1.1",
        "headers": pairs,
        "path": uri,
        "raw_path": None,
        "root_path": "",
        "scheme": scheme,
        "query_string": query_string,
        "server": server,
        "client": (client_ip, 0),
        "asgi": ASGI_VERSION.copy(),
        "aws.event": event,
        "aws.context": context,
    }


def request_body(body: Any, is_base64: Any) -> bytes:
    """Mangum's maybe_encode_body with the non-validating base64 decoder; errors are malformed events."""
    if not body:
        return b""
    if is_base64:
        if type(body) is not str and type(body) is not bytes:
            raise MalformedEventError(f"the body must be a string, not {type(body).__name__}")
        try:
            return binascii.a2b_base64(body)
        except (binascii.Error, ValueError) as exc:
            raise MalformedEventError(f"the body is not valid base64 ({exc})") from exc
    if type(body) is str:
        try:
            return body.encode()
        except UnicodeEncodeError as exc:
            raise MalformedEventError("the body is not valid UTF-8 text") from exc
    if type(body) is bytes:
        return body
    raise MalformedEventError(f"the body must be a string, not {type(body).__name__}")


# ----------------------------------------------------------------------------------------------------------
# Response side helpers


def _decode_headers(headers: Any) -> list[tuple[str, str]]:
    """The app's [[name, value], ...] as (lowercased name, value) strings; anything else is the app's error."""
    try:
        pairs = [(name.decode().lower(), value.decode()) for name, value in headers]
    except UnicodeDecodeError as exc:
        raise InvalidResponseError("a response header is not valid UTF-8") from exc
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidResponseError("response headers must be a list of [name, value] byte strings") from exc
    for name, value in pairs:
        if _unsafe(name) or _unsafe(value):
            return _drop_unsafe(pairs)
    return pairs


def _unsafe(text: str) -> bool:
    return "\r" in text or "\n" in text or "\0" in text


def _drop_unsafe(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Headers with CR, LF or NUL would split the response where it is proxied: they are dropped, with a warning."""
    kept = []
    for name, value in pairs:
        if _unsafe(name) or _unsafe(value):
            logging.getLogger("mangum.http").warning(
                "Dropped the response header %r: its name or value contains CR, LF or NUL.", name
            )
        else:
            kept.append((name, value))
    return kept


def _first(pairs: list[tuple[str, str]], name: str) -> str:
    for key, value in pairs:
        if key == name:
            return value
    return ""


def is_text_body(content_type: str, content_encoding: str, text_mime_types: list[str]) -> bool:
    """Mangum's substring rule; plus any Content-Encoding but identity means binary (DESIGN, Beyond Mangum)."""
    if content_encoding.strip().lower() not in _IDENTITY_ENCODINGS:
        return False
    for mime in text_mime_types:
        if mime in content_type:
            return True
    return False


def encode_body(body: bytes, text: bool) -> tuple[str, bool]:
    """(body string, isBase64Encoded): UTF-8 text when asked for and valid, else standard base64."""
    if not body:
        return "", False
    if text:
        try:
            return body.decode(), False
        except UnicodeDecodeError:
            pass
    return binascii.b2a_base64(body, newline=False).decode("ascii"), True


def _response_body(body: Any, content_type: str, content_encoding: str, mimes: list[str]) -> tuple[str, bool]:
    if type(body) is not bytes:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise InvalidResponseError(f"the response body must be bytes, not {type(body).__name__}")
        body = bytes(body)
    return encode_body(body, is_text_body(content_type, content_encoding, mimes))


def _split_multi_value(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Mangum's handle_multi_value_headers: a key is single until it repeats, then it moves to multi."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in multi:
            multi[key].append(value)
        elif key in single:
            multi[key] = [single.pop(key), value]
        else:
            single[key] = value
    return single, multi


def _exclude(headers: dict[str, Any], exclude: list[str]) -> dict[str, Any]:
    if not exclude:
        return headers
    return {key: value for key, value in headers.items() if key not in exclude}


def _all_casings_at(name: str, index: int) -> str:
    """The index-th spelling of Mangum's all_casings(name): letter j is upper when bit j of index is set."""
    out = []
    bit = 0
    for char in name:
        upper = char.upper()
        if char.lower() == upper:
            out.append(char)
        else:
            out.append(upper if (index >> bit) & 1 else char.lower())
            bit += 1
    return "".join(out)


def _casing_count(name: str) -> int:
    letters = 0
    for char in name:
        if char.lower() != char.upper():
            letters += 1
    return 1 << letters


def _combine_v2(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Payload 2.0: Set-Cookie values into a list, other repeats joined with ',' (no space), SPEC 4.2."""
    combined: dict[str, str] = {}
    cookies: list[str] = []
    for key, value in pairs:
        if key == "set-cookie":
            cookies.append(value)
        elif key in combined:
            combined[key] = combined[key] + "," + value
        else:
            combined[key] = value
    return combined, cookies


# ----------------------------------------------------------------------------------------------------------
# Response side: one call per response


def rest_result(
    status: Any, headers: Any, body: Any, text_mime_types: list[str], exclude: list[str]
) -> dict[str, Any]:
    """API Gateway REST and HTTP API payload 1.0 (SPEC 4.1)."""
    pairs = _decode_headers(headers)
    single, multi = _split_multi_value(pairs)
    text, is_base64 = _response_body(
        body, single.get("content-type", ""), _first(pairs, "content-encoding"), text_mime_types
    )
    return {
        "statusCode": status,
        "headers": _exclude(single, exclude),
        "multiValueHeaders": _exclude(multi, exclude),
        "body": text,
        "isBase64Encoded": is_base64,
    }


def http_v2_result(
    status: Any, headers: Any, body: Any, text_mime_types: list[str], exclude: list[str]
) -> dict[str, Any]:
    """HTTP API payload 2.0 and Function URLs (SPEC 4.2); exclude_headers applies here too (DESIGN)."""
    pairs = _decode_headers(headers)
    combined, cookies = _combine_v2(pairs)
    if "content-type" not in combined:
        combined["content-type"] = "application/json"
    text, is_base64 = _response_body(
        body, combined["content-type"], _first(pairs, "content-encoding"), text_mime_types
    )
    out: dict[str, Any] = {"statusCode": status, "body": text}
    combined = _exclude(combined, exclude)
    if combined:
        out["headers"] = combined
    if cookies and "set-cookie" not in exclude:
        out["cookies"] = cookies
    out["isBase64Encoded"] = is_base64
    return out


def alb_result(
    status: Any, headers: Any, body: Any, text_mime_types: list[str], exclude: list[str], multi_value: bool
) -> dict[str, Any]:
    """ALB: multiValueHeaders when the request had them, else case-mutated single headers (SPEC 4.3)."""
    pairs = _decode_headers(headers)
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in grouped:
            grouped[key].append(value)
        else:
            grouped[key] = [value]
    content_type = grouped["content-type"][0] if "content-type" in grouped else ""
    text, is_base64 = _response_body(body, content_type, _first(pairs, "content-encoding"), text_mime_types)
    out: dict[str, Any] = {"statusCode": status, "body": text, "isBase64Encoded": is_base64}
    if multi_value:
        out["multiValueHeaders"] = _exclude(grouped, exclude)
        return out
    single: dict[str, str] = {}
    for key, values in grouped.items():
        # Values beyond the number of spellings are dropped, as Mangum drops them.
        count = min(len(values), _casing_count(key))
        for index in range(count):
            single[_all_casings_at(key, index)] = values[index]
    out["headers"] = _exclude(single, exclude)
    return out


def edge_result(
    status: Any, headers: Any, body: Any, text_mime_types: list[str], exclude: list[str]
) -> dict[str, Any]:
    """Lambda@Edge: one-element key/value lists, the last value of a repeated header wins (SPEC 4.4)."""
    pairs = _decode_headers(headers)
    single, _ = _split_multi_value(pairs)
    text, is_base64 = _response_body(
        body, single.get("content-type", ""), _first(pairs, "content-encoding"), text_mime_types
    )
    out_headers = {key: [{"key": key, "value": value}] for key, value in pairs}
    return {
        "status": status,
        "headers": _exclude(out_headers, exclude),
        "body": text,
        "isBase64Encoded": is_base64,
    }
