"""Differential tests: for generated inputs the compiled core and the pure twin give the same outcome.

Same outcome means equal results, or the same exception type with the same message. Example counts come from
the hypothesis profile (HYPOTHESIS_PROFILE=ci in CI: thousands per function).
"""

from __future__ import annotations

import base64
import copy
import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cymangum import _core_py
from tests.conftest import load_impl

pytestmark = [pytest.mark.c_extension, pytest.mark.one_impl]


@functools.cache
def compiled() -> ModuleType:
    """Imported at first use, not at collection, so that a pure-only run (--no-c-extensions) can collect."""
    return load_impl("c")


# --------------------------------------------------------------------------------------------------------
# Strategies

any_text = st.text(max_size=30)  # includes non-ASCII and lone surrogates
header_name = st.one_of(
    st.sampled_from(
        ["Host", "host", "X-Forwarded-Proto", "x-forwarded-port", "Cookie", "Content-Type", "X-Dup"]
    ),
    st.text(min_size=0, max_size=12),
)
host_value = st.one_of(
    st.sampled_from(["example.com", "example.com:8443", "[::1]:80", "a:b", "h:", ":80", "x:1:2"]), any_text
)
scalar = st.one_of(st.none(), st.integers(-5, 5), st.booleans(), st.floats(allow_nan=False), any_text)
header_value = st.one_of(any_text, host_value, scalar, st.lists(any_text, max_size=2))
header_dict = st.dictionaries(header_name, header_value, max_size=6)
multi_header_dict = st.dictionaries(
    header_name, st.one_of(st.lists(st.one_of(any_text, scalar), max_size=3), scalar), max_size=6
)
query_value = st.one_of(
    scalar, st.lists(st.one_of(any_text, scalar), max_size=3), st.dictionaries(any_text, any_text, max_size=2)
)
query_map = st.one_of(st.none(), st.dictionaries(any_text, query_value, max_size=5), scalar)
path = st.one_of(
    st.sampled_from(["/", "", "/api/foo", "/api", "/apifoo/bar", "/foo%20bar/%2F", "/%E2%82%AC%zz"]),
    any_text,
    scalar,
)
base_path = st.sampled_from(["/", "", "api", "/api", "/api/", "test"])
maybe_missing = st.one_of(st.just(KeyError), scalar)


def _put(event: dict[str, Any], key: str, value: Any) -> None:
    if value is not KeyError:
        event[key] = value


@st.composite
def rest_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"resource": "/"}
    _put(event, "headers", draw(st.one_of(header_dict, maybe_missing)))
    _put(event, "multiValueHeaders", draw(st.one_of(multi_header_dict, maybe_missing)))
    _put(event, "httpMethod", draw(st.one_of(st.sampled_from(["GET", "POST"]), maybe_missing)))
    _put(event, "path", draw(st.one_of(path, st.just(KeyError))))
    _put(event, "queryStringParameters", draw(st.one_of(query_map, st.just(KeyError))))
    _put(event, "multiValueQueryStringParameters", draw(st.one_of(query_map, st.just(KeyError))))
    identity = draw(
        st.one_of(st.none(), st.fixed_dictionaries({"sourceIp": st.one_of(any_text, scalar)}), scalar)
    )
    event["requestContext"] = draw(st.one_of(st.just({"identity": identity}), st.just({}), scalar))
    return event


@st.composite
def v2_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"version": "2.0"}
    _put(event, "headers", draw(st.one_of(header_dict, maybe_missing)))
    _put(event, "cookies", draw(st.one_of(st.lists(st.one_of(any_text, scalar), max_size=3), maybe_missing)))
    _put(event, "rawQueryString", draw(st.one_of(any_text, maybe_missing)))
    http = {}
    _put(http, "method", draw(st.one_of(st.sampled_from(["GET", "PUT"]), maybe_missing)))
    _put(http, "path", draw(st.one_of(path, st.just(KeyError))))
    _put(http, "sourceIp", draw(st.one_of(any_text, maybe_missing)))
    event["requestContext"] = draw(st.one_of(st.just({"http": http}), st.just({"http": None}), scalar))
    return event


@st.composite
def alb_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"requestContext": {"elb": {}}}
    if draw(st.booleans()):
        _put(event, "multiValueHeaders", draw(st.one_of(multi_header_dict, scalar)))
        _put(event, "multiValueQueryStringParameters", draw(st.one_of(query_map, st.just(KeyError))))
    else:
        _put(event, "headers", draw(st.one_of(header_dict, maybe_missing)))
        _put(event, "queryStringParameters", draw(st.one_of(query_map, st.just(KeyError))))
    _put(event, "httpMethod", draw(st.one_of(st.sampled_from(["GET", "POST"]), maybe_missing)))
    _put(event, "path", draw(st.one_of(path, st.just(KeyError))))
    return event


edge_header_values = st.one_of(
    st.lists(
        st.fixed_dictionaries({"key": any_text, "value": st.one_of(any_text, host_value, scalar)}), max_size=2
    ),
    scalar,
)


@st.composite
def edge_events(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = {}
    names = st.one_of(
        st.sampled_from(["host", "cloudfront-forwarded-proto", "x-forwarded-port", "Host"]), any_text
    )
    _put(
        request,
        "headers",
        draw(st.one_of(st.dictionaries(names, edge_header_values, max_size=4), maybe_missing)),
    )
    _put(request, "method", draw(st.one_of(st.sampled_from(["GET", "POST"]), maybe_missing)))
    _put(request, "uri", draw(st.one_of(path, st.just(KeyError))))
    _put(request, "querystring", draw(st.one_of(any_text, maybe_missing)))
    _put(request, "clientIp", draw(st.one_of(any_text, maybe_missing)))
    shape = draw(st.integers(0, 3))
    if shape == 0:
        return {"Records": [{"cf": {"request": request}}]}
    if shape == 1:
        return {"Records": []}
    if shape == 2:
        return {"Records": [{"cf": None}]}
    return {"Records": draw(scalar)}


b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
bodies = st.one_of(
    st.none(),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    st.text(alphabet=b64_alphabet + " \n-_*é", max_size=80),
    st.binary(max_size=200).map(base64.b64encode),
    st.binary(max_size=50),
    scalar,
    st.lists(st.integers(), max_size=2),
)

header_bytes = st.one_of(
    st.sampled_from(
        [
            b"content-type",
            b"Content-Type",
            b"set-cookie",
            b"Set-Cookie",
            b"content-encoding",
            b"x-dup",
            b"X-DUP",
        ]
    ),
    st.binary(max_size=10),
    st.text(max_size=10).map(lambda t: t.encode("utf-8", "surrogatepass")),
)
value_bytes = st.one_of(
    st.sampled_from(
        [b"text/html; charset=utf-8", b"application/json", b"image/png", b"gzip", b"identity", b" BR "]
    ),
    st.binary(max_size=20),
)
header_pair = st.one_of(
    st.tuples(header_bytes, value_bytes).map(list),
    st.tuples(header_bytes, value_bytes),
)
response_headers = st.one_of(
    st.lists(header_pair, max_size=8),
    st.lists(st.one_of(header_pair, st.tuples(any_text, any_text), st.just([b"a"]), scalar), max_size=3),
)
response_bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.just(b""),
    scalar,
)
mime_lists = st.one_of(
    st.just(
        ["text/", "application/json", "application/javascript", "application/xml", "application/vnd.api+json"]
    ),
    st.lists(st.sampled_from(["text/", "json", "image/", "", "application/xml"]), max_size=4),
)
exclude_lists = st.lists(
    st.sampled_from(["content-type", "set-cookie", "x-dup", "X-DUP", "Set-cookie"]), max_size=3
)


# --------------------------------------------------------------------------------------------------------
# The comparison


def outcome(function: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    args = copy.deepcopy(args)
    try:
        return ("ok", function(*args))
    except Exception as exc:  # the exception itself is the outcome being compared
        return ("error", type(exc), str(exc))


def assert_same(name: str, *args: Any) -> None:
    pure = outcome(getattr(_core_py, name), *args)
    fast = outcome(getattr(compiled(), name), *args)
    assert fast == pure
    if pure[0] == "error":
        # Bad input is reported with cymangum's own exceptions, never a bare KeyError/TypeError/AttributeError.
        assert pure[1].__module__ == "cymangum.exceptions", pure


@given(rest_events(), base_path, st.booleans())
def test_rest_scope(event: dict[str, Any], base: str, v1_of_http_api: bool) -> None:
    if type(event.get("requestContext")) is not dict:
        event["requestContext"] = {}
    assert_same("rest_scope", event, None, base, v1_of_http_api)


def _rest_event(headers: Any, multi: Any = KeyError) -> dict[str, Any]:
    """A REST event that is valid apart from its headers (multiValueHeaders left out unless given)."""
    event: dict[str, Any] = {"resource": "/", "headers": headers, "httpMethod": "GET", "path": "/", "requestContext": {}}
    _put(event, "multiValueHeaders", multi)
    return event


@st.composite
def rest_events_with_matching_multi_value_headers(draw: st.DrawFn) -> dict[str, Any]:
    """As API Gateway sends them (multiValueHeaders has the names of headers, spelled alike), sometimes spoiled:
    a name dropped, added, respelled or reordered, a value of the wrong type, names that collide in lowercase."""
    headers = draw(st.dictionaries(header_name, any_text, min_size=1, max_size=6))
    multi: dict[Any, Any] = {
        name: draw(st.one_of(st.just([value]), st.lists(any_text, max_size=3)))
        for name, value in headers.items()
    }
    spoil = draw(
        st.sampled_from(["none", "none", "drop", "add", "respell", "reorder", "bad value", "scalar", "bad"])
    )
    first = next(iter(headers))
    if spoil == "drop":
        multi.pop(first)
    elif spoil == "add":
        multi[draw(header_name)] = [draw(any_text)]
    elif spoil == "respell":
        multi[first.swapcase() if first.swapcase() != first else first + "x"] = multi.pop(first)
    elif spoil == "reorder":
        multi = dict(reversed(list(multi.items())))
    elif spoil == "bad value":
        multi[first] = [*multi[first], draw(scalar)]
    elif spoil == "scalar":
        multi[first] = draw(scalar)
    elif spoil == "bad":
        headers[first] = draw(scalar)
    return _rest_event(headers, multi)


@given(rest_events_with_matching_multi_value_headers(), st.booleans())
def test_rest_scope_with_matching_multi_value_headers(event: dict[str, Any], v1_of_http_api: bool) -> None:
    """The compiled core merges these in one pass when it can; the result (order included) and errors must be the
    two passes' of the reference."""
    assert_same("rest_scope", event, None, "/", v1_of_http_api)


def test_rest_headers_colliding_in_lowercase_keep_the_reference_order() -> None:
    event = _rest_event(
        {"X-A": "1", "Host": "h1", "x-a": "2", "host": "h2"},
        {"host": ["m2"], "x-a": ["a2"], "Host": ["m1"], "X-A": ["a1", "b1"]},
    )
    assert_same("rest_scope", event, None, "/", False)
    assert compiled().rest_scope(event, None, "/", False)["headers"] == [
        [b"x-a", b"a1, b1"],
        [b"host", b"m1"],
    ]


@pytest.mark.parametrize("port", ["2200000000", "99999999999999999999", "-3000000000"])
def test_ports_beyond_a_c_int_are_the_references_big_ints(port: str) -> None:
    """Found by the test above under ASan: the compiled core converted ports to a C int (OverflowError)."""
    for host in ({"host": "example.com", "x-forwarded-port": port}, {"host": f"example.com:{port}"}):
        event = _rest_event(host)
        assert_same("rest_scope", event, None, "/", False)
        assert compiled().rest_scope(event, None, "/", False)["server"] == ("example.com", int(port))
        assert_same(
            "http_v2_scope", {**event, "requestContext": {"http": {"method": "GET", "path": "/"}}}, None, "/"
        )


@given(v2_events(), base_path)
def test_http_v2_scope(event: dict[str, Any], base: str) -> None:
    assert_same("http_v2_scope", event, None, base)


@given(alb_events())
def test_alb_scope(event: dict[str, Any]) -> None:
    assert_same("alb_scope", event, None)


@given(edge_events())
def test_edge_scope(event: dict[str, Any]) -> None:
    assert_same("edge_scope", event, None)
    assert_same("edge_request", event)


@given(
    st.dictionaries(st.sampled_from(["queryStringParameters", "multiValueQueryStringParameters"]), query_map)
)
def test_query_strings(event: dict[str, Any]) -> None:
    assert_same("apigw_query_string", event)
    if all(type(v) in (dict, type(None)) or not v for v in event.values()):
        assert_same("alb_query_string", event)


@given(bodies, st.one_of(st.booleans(), st.sampled_from(["false", "", 0, 1, None])))
def test_request_body(body: Any, is_base64: Any) -> None:
    assert_same("request_body", body, is_base64)


@given(st.binary(max_size=2000))
def test_request_body_base64_round_trip(data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    assert compiled().request_body(encoded, True) == data == _core_py.request_body(encoded, True)


@given(st.text(max_size=40), st.text(max_size=10), mime_lists)
def test_is_text_body(content_type: str, content_encoding: str, mimes: list[str]) -> None:
    assert_same("is_text_body", content_type, content_encoding, mimes)


@given(st.binary(max_size=3000), st.booleans())
def test_encode_body(body: bytes, text: bool) -> None:
    assert_same("encode_body", body, text)


@given(st.one_of(st.integers(100, 599), scalar), response_headers, response_bodies, mime_lists, exclude_lists)
def test_rest_result(status: Any, headers: Any, body: Any, mimes: list[str], exclude: list[str]) -> None:
    assert_same("rest_result", status, headers, body, mimes, exclude)


@given(st.integers(100, 599), response_headers, response_bodies, mime_lists, exclude_lists)
def test_http_v2_result(status: int, headers: Any, body: Any, mimes: list[str], exclude: list[str]) -> None:
    assert_same("http_v2_result", status, headers, body, mimes, exclude)


@given(st.integers(100, 599), response_headers, response_bodies, mime_lists, exclude_lists, st.booleans())
def test_alb_result(
    status: int, headers: Any, body: Any, mimes: list[str], exclude: list[str], multi: bool
) -> None:
    assert_same("alb_result", status, headers, body, mimes, exclude, multi)


@given(st.integers(100, 599), response_headers, response_bodies, mime_lists, exclude_lists)
def test_edge_result(status: int, headers: Any, body: Any, mimes: list[str], exclude: list[str]) -> None:
    assert_same("edge_result", status, headers, body, mimes, exclude)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 1024 * 1024, 1024 * 1024 + 1, 1024 * 1024 + 2])
def test_large_bodies(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    encoded = base64.b64encode(data).decode()
    assert compiled().request_body(encoded, True) == _core_py.request_body(encoded, True) == data
    assert (
        compiled().encode_body(data, False) == _core_py.encode_body(data, False) == (encoded, bool(data))
        or size == 0
    )
    text = b"x" * size
    assert compiled().encode_body(text, True) == _core_py.encode_body(text, True)


def test_header_names_beyond_the_compiled_name_caches() -> None:
    """The compiled core caches header names (request and response side) up to a bound; names past it, long
    names and names in new casings still translate exactly as the twin does."""
    names = [f"X-Name-{i}" for i in range(3000)] + ["X-" + "Long" * 40, "x-name-7", "X-NAME-7"]
    event = {
        "httpMethod": "GET",
        "path": "/",
        "headers": {name: f"v{i}" for i, name in enumerate(names)},
        "multiValueHeaders": {name: [f"v{i}", "w"] for i, name in enumerate(names[::7])},
        "requestContext": {},
    }
    for _ in range(2):  # the second round finds the cache filled
        assert_same("rest_scope", event, None, "/", False)
        response_headers = [[name.encode(), f"v{i}".encode()] for i, name in enumerate(names)]
        assert_same("rest_result", 200, response_headers, b"", ["text/"], [])
        assert_same("http_v2_result", 200, response_headers, b"", ["text/"], ["x-name-3"])
    assert len(compiled().rest_scope(event, None, "/", False)["headers"]) == len(
        {name.lower() for name in names}
    )
    result = compiled().rest_result(200, response_headers, b"", [], [])
    assert result["multiValueHeaders"] == {"x-name-7": ["v7", "v3001", "v3002"]}
    assert len(result["headers"]) == len({name.lower() for name in names}) - 1


@pytest.mark.parametrize("size", range(0, 200))
def test_body_encoding_at_every_block_boundary(size: int) -> None:
    """The compiled encoders work in blocks (12 bytes of base64 input, 64 or 32 bytes of ASCII text): every size
    up to a few blocks, with the one non-ASCII byte first, last, in the middle or nowhere."""
    data = bytes((7 * i + size) % 256 for i in range(size))
    assert compiled().encode_body(data, False) == _core_py.encode_body(data, False)
    assert compiled().encode_body(data, False)[0] == base64.b64encode(data).decode()
    ascii_text = bytes(32 + (i % 95) for i in range(size))
    variants = [ascii_text]
    if size:
        variants += [ascii_text[:at] + b"\xe9" + ascii_text[at + 1 :] for at in {0, size // 2, size - 1}]
    for text in variants:
        assert compiled().encode_body(text, True) == _core_py.encode_body(text, True)


@pytest.mark.parametrize(
    "body",
    [
        "a G-k=",
        "aGk",
        "aGk==",
        "aGk=x",
        "====",
        "A===",
        "QQ==",
        "QR==",
        "QUI=",
        "QUJ=",
        "  aGk=  ",
        "aG\nk=",
        "é",
        b"aGk=",
        b"\xff",
    ],
)
def test_base64_leniency_matches_python(body: Any) -> None:
    assert_same("request_body", body, True)
