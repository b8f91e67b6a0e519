# cython: language_level=3, embedsignature=True, boundscheck=False, wraparound=False
"""The compiled core. Same names, signatures, results and error messages as `_core_py` (the reference).

Where this mirrors a quirk of the twin, the twin's docstring says why; comments here explain the C parts.
Memory safety: every C buffer below is sized from an exact bound computed before it is written, and every read
is bounded by the length of the Python object it comes from.
"""

import binascii
import logging

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdlib cimport free, malloc
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from .exceptions import InvalidResponseError, MalformedEventError


cdef extern from "Python.h":
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    bint PyUnicode_IS_ASCII(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    void *PyUnicode_DATA(object o)
    str PyUnicode_DecodeUTF8(const char *data, Py_ssize_t size, const char *errors)


ASGI_VERSION = {"version": "3.0", "spec_version": "2.0"}


# urllib.parse costs ~2.5 ms to import; most invocations never need it, so it is imported on first use.
cdef object _urllib_parse = None


cdef object _parse():
    global _urllib_parse
    if _urllib_parse is None:
        import urllib.parse
        _urllib_parse = urllib.parse
    return _urllib_parse


cdef str _unquote(str text):
    return _parse().unquote(text)


cdef str _unquote_plus(str text):
    return _parse().unquote_plus(text)

cdef tuple _IDENTITY_ENCODINGS = ("", "identity")

# ----------------------------------------------------------------------------------------------------------
# Tables, built once at import

cdef const char *_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
cdef const char *_HEX = b"0123456789ABCDEF"
# Two output characters per 12 input bits: one table lookup per 1.5 input bytes.
cdef char _B64_PAIRS[8192]
# 6-bit value of each base64 character, 255 for anything else ('=' included).
cdef unsigned char _B64_VALUE[256]
# Bytes that quote_plus leaves alone: ASCII letters, digits and "_.-~".
cdef bint _QUERY_SAFE[256]


cdef void _build_tables() noexcept:
    cdef int i
    for i in range(4096):
        _B64_PAIRS[2 * i] = _B64[i >> 6]
        _B64_PAIRS[2 * i + 1] = _B64[i & 63]
    for i in range(256):
        _B64_VALUE[i] = 255
        _QUERY_SAFE[i] = (48 <= i <= 57) or (65 <= i <= 90) or (97 <= i <= 122) or i in (95, 46, 45, 126)
    for i in range(64):
        _B64_VALUE[<unsigned char>_B64[i]] = i


_build_tables()


# ----------------------------------------------------------------------------------------------------------
# base64


cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* The 8 bytes at p as a big-endian integer: one load (and a byte swap on little-endian machines). */
    static inline uint64_t cymangum_load_be64(const unsigned char *p) {
        uint64_t x;
        memcpy(&x, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        return __builtin_bswap64(x);
    #elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        return x;
    #else
        return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) | ((uint64_t)p[3] << 32)
             | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) | ((uint64_t)p[6] << 8) | (uint64_t)p[7];
    #endif
    }
    /* Copy n bytes from src to dst and say whether all were ASCII, in one pass: 64 bytes per step in four
       independent 16-byte accumulators of what was copied (SSE2 on x86_64, NEON on arm64, plain 64-bit words
       elsewhere), then the tail byte by byte. Reads and writes stay below n. */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    static int cymangum_copy_ascii(const unsigned char *src, unsigned char *dst, Py_ssize_t n) {
        Py_ssize_t i = 0;
        __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
        for (; i + 64 <= n; i += 64) {
            __m128i x0 = _mm_loadu_si128((const __m128i *)(src + i));
            __m128i x1 = _mm_loadu_si128((const __m128i *)(src + i + 16));
            __m128i x2 = _mm_loadu_si128((const __m128i *)(src + i + 32));
            __m128i x3 = _mm_loadu_si128((const __m128i *)(src + i + 48));
            _mm_storeu_si128((__m128i *)(dst + i), x0);
            _mm_storeu_si128((__m128i *)(dst + i + 16), x1);
            _mm_storeu_si128((__m128i *)(dst + i + 32), x2);
            _mm_storeu_si128((__m128i *)(dst + i + 48), x3);
            a = _mm_or_si128(a, x0); b = _mm_or_si128(b, x1); c = _mm_or_si128(c, x2); d = _mm_or_si128(d, x3);
        }
        int high = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)));
        unsigned char tail = 0;
        for (; i < n; i++) { dst[i] = src[i]; tail |= src[i]; }
        return high == 0 && (tail & 0x80) == 0;
    }
    #elif defined(__aarch64__) && defined(__ARM_NEON)
    #include <arm_neon.h>
    static int cymangum_copy_ascii(const unsigned char *src, unsigned char *dst, Py_ssize_t n) {
        Py_ssize_t i = 0;
        uint8x16_t a = vdupq_n_u8(0), b = a, c = a, d = a;
        for (; i + 64 <= n; i += 64) {
            uint8x16_t x0 = vld1q_u8(src + i), x1 = vld1q_u8(src + i + 16);
            uint8x16_t x2 = vld1q_u8(src + i + 32), x3 = vld1q_u8(src + i + 48);
            vst1q_u8(dst + i, x0); vst1q_u8(dst + i + 16, x1); vst1q_u8(dst + i + 32, x2); vst1q_u8(dst + i + 48, x3);
            a = vorrq_u8(a, x0); b = vorrq_u8(b, x1); c = vorrq_u8(c, x2); d = vorrq_u8(d, x3);
        }
        unsigned char high = vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d)));
        for (; i < n; i++) { dst[i] = src[i]; high |= src[i]; }
        return (high & 0x80) == 0;
    }
    #else
    static int cymangum_copy_ascii(const unsigned char *src, unsigned char *dst, Py_ssize_t n) {
        uint64_t w[4], a = 0, b = 0, c = 0, d = 0;
        Py_ssize_t i = 0;
        for (; i + 32 <= n; i += 32) {
            memcpy(w, src + i, 32);
            memcpy(dst + i, w, 32);
            a |= w[0]; b |= w[1]; c |= w[2]; d |= w[3];
        }
        a |= b | c | d;
        for (; i < n; i++) { dst[i] = src[i]; a |= src[i]; }
        return (a & 0x8080808080808080ULL) == 0;
    }
    #endif
    """
    uint64_t cymangum_load_be64(const unsigned char *p) noexcept nogil
    bint cymangum_copy_ascii(const unsigned char *src, unsigned char *dst, Py_ssize_t n) noexcept nogil


cdef inline void _b64_put4(char *dst, unsigned int v) noexcept nogil:
    """The four base64 characters of the 24-bit group v, two table lookups of two characters each."""
    memcpy(dst, &_B64_PAIRS[2 * (v >> 12)], 2)
    memcpy(dst + 2, &_B64_PAIRS[2 * (v & 0xFFF)], 2)


cdef str _b64encode(bytes data):
    """Standard padded base64 of data, written straight into a new ASCII str (no intermediate bytes)."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef Py_ssize_t out_len = ((n + 2) // 3) * 4
    cdef str out = PyUnicode_New(out_len, 127)
    cdef const unsigned char *src = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef char *dst = <char *>PyUnicode_DATA(out)
    cdef Py_ssize_t i = 0, j = 0
    cdef unsigned int v
    cdef uint64_t x, y
    # 12 input bytes per step from two 8-byte loads (at i and i + 6, so up to i + 14 is read: bounded by n).
    while i + 16 <= n:
        x = cymangum_load_be64(src + i)
        y = cymangum_load_be64(src + i + 6)
        _b64_put4(dst + j, <unsigned int>(x >> 40))
        _b64_put4(dst + j + 4, <unsigned int>(x >> 16) & 0xFFFFFF)
        _b64_put4(dst + j + 8, <unsigned int>(y >> 40))
        _b64_put4(dst + j + 12, <unsigned int>(y >> 16) & 0xFFFFFF)
        i += 12
        j += 16
    while i + 3 <= n:
        _b64_put4(dst + j, (src[i] << 16) | (src[i + 1] << 8) | src[i + 2])
        i += 3
        j += 4
    if n - i == 1:
        v = src[i] << 16
        dst[j] = _B64[(v >> 18) & 63]
        dst[j + 1] = _B64[(v >> 12) & 63]
        dst[j + 2] = 61
        dst[j + 3] = 61
    elif n - i == 2:
        v = (src[i] << 16) | (src[i + 1] << 8)
        dst[j] = _B64[(v >> 18) & 63]
        dst[j + 1] = _B64[(v >> 12) & 63]
        dst[j + 2] = _B64[(v >> 6) & 63]
        dst[j + 3] = 61
    return out


cdef object _b64decode_canonical(const unsigned char *src, Py_ssize_t n):
    """Decode canonical base64 (length a multiple of 4, only alphabet characters, 0-2 final '=').

    Returns None for anything else, and the caller then uses binascii's non-validating decoder, so that
    every non-canonical input gets exactly Python's result.
    """
    cdef Py_ssize_t pad = 0, quads, out_len, i, j
    cdef unsigned char a, b, c, d
    if n == 0 or n % 4 != 0:
        return None
    if src[n - 1] == 61:
        pad = 2 if src[n - 2] == 61 else 1
    quads = n // 4
    out_len = quads * 3 - pad
    cdef bytes out = PyBytes_FromStringAndSize(NULL, out_len)
    cdef unsigned char *dst = <unsigned char *>PyBytes_AS_STRING(out)
    j = 0
    # Full quads, except the last one when it is padded.
    for i in range(0, (quads - (1 if pad else 0)) * 4, 4):
        a = _B64_VALUE[src[i]]
        b = _B64_VALUE[src[i + 1]]
        c = _B64_VALUE[src[i + 2]]
        d = _B64_VALUE[src[i + 3]]
        if (a | b | c | d) & 0xC0:
            return None
        dst[j] = (a << 2) | (b >> 4)
        dst[j + 1] = ((b & 15) << 4) | (c >> 2)
        dst[j + 2] = ((c & 3) << 6) | d
        j += 3
    if pad:
        i = n - 4
        a = _B64_VALUE[src[i]]
        b = _B64_VALUE[src[i + 1]]
        if (a | b) & 0xC0:
            return None
        dst[j] = (a << 2) | (b >> 4)
        if pad == 1:
            c = _B64_VALUE[src[i + 2]]
            if c & 0xC0:
                return None
            dst[j + 1] = ((b & 15) << 4) | (c >> 2)
    return out


cdef bytes _b64decode(object body):
    cdef object out = None
    if type(body) is str and PyUnicode_IS_ASCII(body):
        out = _b64decode_canonical(<const unsigned char *>PyUnicode_DATA(body), PyUnicode_GET_LENGTH(body))
    elif type(body) is bytes:
        out = _b64decode_canonical(<const unsigned char *>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))
    if out is None:
        out = binascii.a2b_base64(body)
    return out


# ----------------------------------------------------------------------------------------------------------
# Query strings


cdef Py_ssize_t _quoted_size(bytes raw) noexcept:
    cdef const unsigned char *s = <const unsigned char *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), i, size = 0
    for i in range(n):
        size += 1 if (_QUERY_SAFE[s[i]] or s[i] == 32) else 3
    return size


cdef Py_ssize_t _quote_into(bytes raw, char *dst) noexcept:
    """quote_plus(raw, safe='') written into dst, which has room for _quoted_size(raw) bytes."""
    cdef const unsigned char *s = <const unsigned char *>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), i, j = 0
    cdef unsigned char ch
    for i in range(n):
        ch = s[i]
        if _QUERY_SAFE[ch]:
            dst[j] = ch
            j += 1
        elif ch == 32:
            dst[j] = 43
            j += 1
        else:
            dst[j] = 37
            dst[j + 1] = _HEX[ch >> 4]
            dst[j + 2] = _HEX[ch & 15]
            j += 3
    return j


cdef list _urlencode_value(object value):
    if type(value) is str:
        return [value]
    if type(value) is list:
        return [item if type(item) is str else str(item) for item in value]
    try:
        len(value)
    except TypeError:
        return [str(value)]
    return [item if type(item) is str else str(item) for item in value]


cdef bytes _urlencode(dict params, bint alb):
    # First every key and value as UTF-8 (the one step that can fail), then one exact-size buffer.
    cdef list parts = []
    cdef Py_ssize_t size = 0, j = 0
    cdef bytes raw_key, raw_item
    cdef list values
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
            raw_key = (<str>key).encode("utf-8")
            for item in values:
                raw_item = (<str>item).encode("utf-8")
                parts.append(raw_key)
                parts.append(raw_item)
                size += _quoted_size(raw_key) + _quoted_size(raw_item) + 2
    except UnicodeEncodeError as exc:
        raise MalformedEventError("the query string is not valid UTF-8 text") from exc
    if not parts:
        return b""
    cdef char *buf = <char *>malloc(size)
    if buf == NULL:
        raise MemoryError()
    cdef Py_ssize_t i
    try:
        for i in range(0, len(parts), 2):
            if i:
                buf[j] = 38
                j += 1
            j += _quote_into(<bytes>parts[i], buf + j)
            buf[j] = 61
            j += 1
            j += _quote_into(<bytes>parts[i + 1], buf + j)
        return PyBytes_FromStringAndSize(buf, j)
    finally:
        free(buf)


def apigw_query_string(dict event):
    params = event.get("multiValueQueryStringParameters") or event.get("queryStringParameters")
    if not params:
        return b""
    if type(params) is not dict:
        raise MalformedEventError("query string parameters must be an object")
    return _urlencode(<dict>params, False)


def alb_query_string(dict event):
    if "multiValueQueryStringParameters" in event:
        params = event["multiValueQueryStringParameters"]
    else:
        params = event.get("queryStringParameters")
    if not params:
        return b""
    if type(params) is not dict:
        raise MalformedEventError("query string parameters must be an object")
    return _urlencode(<dict>params, True)


# ----------------------------------------------------------------------------------------------------------
# Request side helpers


# Header names repeat from one invocation to the next: keep their lowercase form and its UTF-8 bytes, so that
# a warm invocation neither lowercases nor hashes nor encodes a known name again. Bounded; never evicts.
cdef dict _LOWERED = {}
cdef dict _ENCODED = {}
# The response side: the app's header names (bytes) and their decoded, lowercased form.
cdef dict _DECODED = {}
cdef Py_ssize_t _NAME_CACHE_LIMIT = 2048


cdef inline void _remember(dict cache, object name, Py_ssize_t length, object value) except *:
    """Keep value for name, while the cache is below its bound and the name is short (the bound is the policy)."""
    if len(cache) < _NAME_CACHE_LIMIT and length <= 64:
        cache[name] = value


cdef str _lower(str name):
    """name.lower(), from the cache when the name was seen before."""
    cached = _LOWERED.get(name)
    if cached is not None:
        return <str>cached
    cdef str lowered = name.lower()
    # The cached string is the one that goes into the scope, so its hash is computed once, ever.
    hash(lowered)
    _remember(_LOWERED, name, PyUnicode_GET_LENGTH(name), lowered)
    return lowered


cdef bytes _encode_name(str name):
    """name.encode(), from the cache when the name was seen before."""
    cached = _ENCODED.get(name)
    if cached is not None:
        return <bytes>cached
    cdef bytes encoded = name.encode("utf-8")
    _remember(_ENCODED, name, PyUnicode_GET_LENGTH(name), encoded)
    return encoded


cdef str _decode_name(bytes name):
    """name.decode().lower(), from the cache when the name was seen before (a failed decode raises, uncached)."""
    cached = _DECODED.get(name)
    if cached is not None:
        return <str>cached
    cdef str lowered = name.decode().lower()
    _remember(_DECODED, name, PyBytes_GET_SIZE(name), lowered)
    return lowered


cdef dict _mapping(dict event, str key, bint required=False):
    value = event.get(key)
    if value is None:
        if required:
            raise MalformedEventError(f"the event has no {key!r} object")
        return {}
    if type(value) is not dict:
        raise MalformedEventError(f"{key!r} must be an object, not {type(value).__name__}")
    return <dict>value


cdef str _text(dict container, str key):
    value = container.get(key)
    if type(value) is not str:
        if value is None:
            raise MalformedEventError(f"the event has no {key!r}")
        raise MalformedEventError(f"{key!r} must be a string, not {type(value).__name__}")
    return <str>value


cdef inline str _header_value(object name, object value):
    if type(value) is not str:
        raise MalformedEventError(f"header {name!r} must have a string value, not {type(value).__name__}")
    return <str>value


cdef dict _lowercase_headers(dict headers):
    cdef dict out = {}
    for name, value in headers.items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        out[_lower(<str>name)] = _header_value(name, value)
    return out


cdef inline str _joined(list values):
    """", ".join(values); the usual single value is its own join (str.join returns a lone str item itself)."""
    return <str>values[0] if len(values) == 1 else ", ".join(values)


cdef void _merge_multi_value_headers(dict headers, dict multi) except *:
    for name, values in multi.items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        if type(values) is list:
            for value in <list>values:
                _header_value(name, value)
            headers[_lower(<str>name)] = _joined(<list>values)
        else:
            headers[_lower(<str>name)] = ""


cdef object _merge_matching(dict single, dict multi):
    """REST headers merged in one pass, for the usual event: every name of headers is in multiValueHeaders with
    the same spelling, as many of them, all values strings, no two names equal once lowercased. Then the result
    is the two passes' (the same keys in the same order, each with its joined list); otherwise None, and the two
    passes run (and raise what they raise)."""
    cdef dict out = {}
    for name, value in single.items():
        if type(name) is not str or type(value) is not str:
            return None
        values = multi.get(name)
        if type(values) is not list:
            return None
        for item in <list>values:
            if type(item) is not str:
                return None
        out[_lower(<str>name)] = _joined(<list>values)
    if len(out) != len(single):
        return None
    return out


cdef dict _rest_headers(dict event):
    """The REST request headers: lowercased, then merged with multiValueHeaders (SPEC 3.1)."""
    cdef dict single = _mapping(event, "headers")
    multi = event.get("multiValueHeaders")
    if type(multi) is dict and len(<dict>multi) == len(single) and single:
        merged = _merge_matching(single, <dict>multi)
        if merged is not None:
            return <dict>merged
    cdef dict headers = _lowercase_headers(single)
    if multi:
        if type(multi) is not dict:
            raise MalformedEventError(f"'multiValueHeaders' must be an object, not {type(multi).__name__}")
        _merge_multi_value_headers(headers, <dict>multi)
    return headers


cdef inline list _encode_pair(str name, str value):
    try:
        return [_encode_name(name), value.encode("utf-8")]
    except UnicodeEncodeError as exc:
        raise MalformedEventError("a header is not valid UTF-8 text") from exc


cdef list _asgi_headers(dict headers):
    return [_encode_pair(name, value) for name, value in headers.items()]


cdef object _port(object value):
    # A Python int, not a C int: a port text beyond 2**31 is Mangum's (and the twin's) big int, not an
    # OverflowError.
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise MalformedEventError(f"invalid port {value!r}") from exc


cdef tuple _server(object host, object forwarded_port):
    if host is None:
        host = "mangum"
    if ":" not in host:
        return host, _port(80 if forwarded_port is None else forwarded_port)
    cdef list parts = (<str>host).split(":")
    if len(parts) != 2:
        raise MalformedEventError(f"invalid host header {host!r}")
    return parts[0], _port(parts[1])


cdef str _strip_path(str path, str base_path):
    if not path:
        return "/"
    if base_path and base_path != "/":
        if not base_path.startswith("/"):
            base_path = "/" + base_path
        if path.startswith(base_path):
            path = path[len(base_path):]
    return _unquote(path) if "%" in path else path


cdef dict _request_context(dict event):
    return _mapping(event, "requestContext", True)


# ----------------------------------------------------------------------------------------------------------
# Request side: one call per event


def rest_scope(dict event, context, str base_path, bint v1_of_http_api):
    cdef dict headers = _rest_headers(event)
    cdef str method = _text(event, "httpMethod")
    cdef str path = _strip_path(_text(event, "path"), base_path)
    identity = _request_context(event).get("identity")
    client_ip = (<dict>identity).get("sourceIp") if type(identity) is dict else None
    cdef tuple server = _server(headers.get("host"), headers.get("x-forwarded-port"))
    cdef list asgi_headers = _asgi_headers(headers)
    scheme = headers.get("x-forwarded-proto", "https")
    cdef bytes query = apigw_query_string(event)
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
            "asgi": {"version": "3.0", "spec_version": "2.0"},
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
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "aws.event": event,
        "aws.context": context,
    }


def http_v2_scope(dict event, context, str base_path):
    cdef dict headers = _lowercase_headers(_mapping(event, "headers"))
    cookies = event.get("cookies")
    if cookies:
        if type(cookies) is not list:
            raise MalformedEventError("'cookies' must be a list of strings")
        # A plain loop: any() over a generator expression costs a generator object per event.
        for cookie in <list>cookies:
            if type(cookie) is not str:
                raise MalformedEventError("'cookies' must be a list of strings")
        headers["cookie"] = "; ".join(<list>cookies)
    cdef dict http = _mapping(_request_context(event), "http", True)
    cdef str method = _text(http, "method")
    cdef str path = _strip_path(_text(http, "path"), base_path)
    source_ip = http.get("sourceIp")
    if source_ip is not None and type(source_ip) is not str:
        raise MalformedEventError("'sourceIp' must be a string")
    query = event.get("rawQueryString", "")
    if type(query) is not str:
        if query is not None:
            raise MalformedEventError("'rawQueryString' must be a string")
        query = ""
    cdef tuple server = _server(headers.get("host"), headers.get("x-forwarded-port"))
    try:
        query_string = (<str>query).encode("utf-8")
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
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "aws.event": event,
        "aws.context": context,
    }


def alb_scope(dict event, context):
    cdef list pairs = []
    cdef dict lookup = {}
    cdef str lowered
    if "multiValueHeaders" in event:
        multi = event["multiValueHeaders"]
        if type(multi) is not dict:
            raise MalformedEventError("'multiValueHeaders' must be an object")
        for name, values in (<dict>multi).items():
            if type(name) is not str or type(values) is not list:
                raise MalformedEventError("'multiValueHeaders' must map names to lists of strings")
            lowered = _lower(<str>name)
            for value in <list>values:
                lookup[lowered] = _header_value(name, value)
                pairs.append(_encode_pair(lowered, value))
    else:
        if "headers" not in event:
            raise MalformedEventError("the event has neither 'headers' nor 'multiValueHeaders'")
        for name, value in _mapping(event, "headers").items():
            if type(name) is not str:
                raise MalformedEventError("header names must be strings")
            lowered = _lower(<str>name)
            lookup[lowered] = _header_value(name, value)
            pairs.append(_encode_pair(lowered, value))
    cdef str method = _text(event, "httpMethod")
    if "path" not in event:
        raise MalformedEventError("the event has no 'path'")
    path = event["path"]
    if not path:
        path = "/"
    elif type(path) is not str:
        raise MalformedEventError("'path' must be a string")
    elif "%" in path:
        path = _unquote(<str>path)
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
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "aws.event": event,
        "aws.context": context,
    }


cdef str _edge_first_value(object name, object values):
    if type(values) is not list or not values or type((<list>values)[0]) is not dict:
        raise MalformedEventError(f"header {name!r} must be a non-empty list of objects")
    return _header_value(name, (<dict>(<list>values)[0]).get("value"))


def edge_request(dict event):
    records = event.get("Records")
    if type(records) is not list or not records or type((<list>records)[0]) is not dict:
        raise MalformedEventError("'Records' must be a non-empty list of objects")
    cdef dict cf = _mapping(<dict>(<list>records)[0], "cf", True)
    return _mapping(cf, "request", True)


def edge_scope(dict event, context):
    cdef dict request = edge_request(event)
    cdef list pairs = []
    cdef dict first = {}
    cdef str value
    for name, values in _mapping(request, "headers", True).items():
        if type(name) is not str:
            raise MalformedEventError("header names must be strings")
        value = _edge_first_value(name, values)
        first[name] = value
        pairs.append(_encode_pair(name, value))
    scheme_values = request["headers"].get("cloudfront-forwarded-proto")
    scheme = first["cloudfront-forwarded-proto"] if scheme_values else "https"
    cdef str method = _text(request, "method")
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
        query_string = (<str>query).encode("utf-8")
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
        "asgi": {"version": "3.0", "spec_version": "2.0"},
        "aws.event": event,
        "aws.context": context,
    }


def request_body(body, is_base64):
    if not body:
        return b""
    if is_base64:
        if type(body) is not str and type(body) is not bytes:
            raise MalformedEventError(f"the body must be a string, not {type(body).__name__}")
        try:
            return _b64decode(body)
        except (binascii.Error, ValueError) as exc:
            raise MalformedEventError(f"the body is not valid base64 ({exc})") from exc
    if type(body) is str:
        try:
            return (<str>body).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise MalformedEventError("the body is not valid UTF-8 text") from exc
    if type(body) is bytes:
        return body
    raise MalformedEventError(f"the body must be a string, not {type(body).__name__}")


# ----------------------------------------------------------------------------------------------------------
# Response side helpers


cdef list _decode_headers(object headers):
    cdef list pairs = []
    try:
        for name, value in headers:
            # Exact bytes (what every framework sends) skip the method calls; anything else takes them, so
            # bytearray works and other types fail exactly as in the twin.
            key = _decode_name(<bytes>name) if type(name) is bytes else name.decode().lower()
            if type(value) is bytes:
                text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), NULL)
            else:
                text = value.decode()
            pairs.append((key, text))
    except UnicodeDecodeError as exc:
        raise InvalidResponseError("a response header is not valid UTF-8") from exc
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidResponseError("response headers must be a list of [name, value] byte strings") from exc
    for name, value in pairs:
        if _unsafe(name) or _unsafe(value):
            return _drop_unsafe(pairs)
    return pairs


cdef bint _unsafe(str text) except -1:
    """Whether text holds CR, LF or NUL (a scan of the bytes for ASCII text, str's search otherwise)."""
    cdef const unsigned char *data
    cdef Py_ssize_t i
    cdef unsigned char ch
    if PyUnicode_IS_ASCII(text):
        data = <const unsigned char *>PyUnicode_DATA(text)
        for i in range(PyUnicode_GET_LENGTH(text)):
            ch = data[i]
            if ch == 13 or ch == 10 or ch == 0:
                return True
        return False
    return "\r" in text or "\n" in text or "\0" in text


cdef list _drop_unsafe(list pairs):
    cdef list kept = []
    for name, value in pairs:
        if _unsafe(name) or _unsafe(value):
            logging.getLogger("mangum.http").warning(
                "Dropped the response header %r: its name or value contains CR, LF or NUL.", name
            )
        else:
            kept.append((name, value))
    return kept


cdef str _first(list pairs, str name):
    for key, value in pairs:
        if key == name:
            return value
    return ""


def is_text_body(str content_type, str content_encoding, text_mime_types):
    if content_encoding and content_encoding.strip().lower() not in _IDENTITY_ENCODINGS:
        return False
    for mime in text_mime_types:
        if mime in content_type:
            return True
    return False


cdef object _ascii_text(bytes body):
    """body as a str when it is all ASCII (then UTF-8 decoding is a copy), else None."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(body)
    cdef str out = PyUnicode_New(n, 127)
    # One pass: copy into the new str and check the high bits of what was copied.
    if cymangum_copy_ascii(<const unsigned char *>PyBytes_AS_STRING(body), <unsigned char *>PyUnicode_DATA(out), n):
        return out
    return None


def encode_body(bytes body, bint text):
    if not body:
        return "", False
    if text:
        ascii_text = _ascii_text(body)
        if ascii_text is not None:
            return ascii_text, False
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return _b64encode(body), True


cdef tuple _response_body(object body, str content_type, str content_encoding, object mimes):
    if type(body) is not bytes:
        if not isinstance(body, (bytes, bytearray, memoryview)):
            raise InvalidResponseError(f"the response body must be bytes, not {type(body).__name__}")
        body = bytes(body)
    return encode_body(<bytes>body, is_text_body(content_type, content_encoding, mimes))


cdef tuple _split_multi_value(list pairs):
    cdef dict single = {}
    cdef dict multi = {}
    for key, value in pairs:
        if key in multi:
            (<list>multi[key]).append(value)
        elif key in single:
            multi[key] = [single.pop(key), value]
        else:
            single[key] = value
    return single, multi


cdef dict _exclude(dict headers, object exclude):
    if not exclude:
        return headers
    return {key: value for key, value in headers.items() if key not in exclude}


cdef str _all_casings_at(str name, Py_ssize_t index):
    cdef const unsigned char *src
    cdef unsigned char *dst
    cdef unsigned char ch
    cdef Py_ssize_t i, n
    cdef str spelled
    cdef int bit = 0
    if PyUnicode_IS_ASCII(name):
        # ASCII (every real header name): letters are A-Z and a-z, one bit of index each; written in C.
        n = PyUnicode_GET_LENGTH(name)
        spelled = PyUnicode_New(n, 127)
        src = <const unsigned char *>PyUnicode_DATA(name)
        dst = <unsigned char *>PyUnicode_DATA(spelled)
        for i in range(n):
            ch = src[i]
            if 65 <= ch <= 90 or 97 <= ch <= 122:
                ch = (ch & 0xDF) if bit < 63 and (index >> bit) & 1 else (ch | 0x20)
                bit += 1
            dst[i] = ch
        return spelled
    cdef list out = []
    cdef str upper
    for char in name:
        upper = char.upper()
        if char.lower() == upper:
            out.append(char)
        else:
            # Bits past 62 are always 0: index < 2**40 (see _casing_count), and wider shifts are undefined in C.
            out.append(upper if bit < 63 and (index >> bit) & 1 else char.lower())
            bit += 1
    return "".join(out)


cdef Py_ssize_t _casing_count(str name) except -1:
    cdef int letters = 0
    cdef const unsigned char *src
    cdef Py_ssize_t i
    if PyUnicode_IS_ASCII(name):
        src = <const unsigned char *>PyUnicode_DATA(name)
        for i in range(PyUnicode_GET_LENGTH(name)):
            if 65 <= src[i] <= 90 or 97 <= src[i] <= 122:
                letters += 1
        return 1 << 40 if letters > 40 else 1 << letters
    for char in name:
        if char.lower() != char.upper():
            letters += 1
            if letters > 40:
                # More spellings than any header can have values; avoids shifting past 63 bits.
                return 1 << 40
    return 1 << letters


# ----------------------------------------------------------------------------------------------------------
# Response side: one call per response


def rest_result(status, headers, body, text_mime_types, exclude):
    cdef list pairs = _decode_headers(headers)
    cdef dict single, multi
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


def http_v2_result(status, headers, body, text_mime_types, exclude):
    cdef list pairs = _decode_headers(headers)
    cdef dict combined = {}
    cdef list cookies = []
    for key, value in pairs:
        if key == "set-cookie":
            cookies.append(value)
        elif key in combined:
            combined[key] = combined[key] + "," + value
        else:
            combined[key] = value
    if "content-type" not in combined:
        combined["content-type"] = "application/json"
    text, is_base64 = _response_body(
        body, combined["content-type"], _first(pairs, "content-encoding"), text_mime_types
    )
    cdef dict out = {"statusCode": status, "body": text}
    combined = _exclude(combined, exclude)
    if combined:
        out["headers"] = combined
    if cookies and "set-cookie" not in exclude:
        out["cookies"] = cookies
    out["isBase64Encoded"] = is_base64
    return out


def alb_result(status, headers, body, text_mime_types, exclude, bint multi_value):
    cdef list pairs = _decode_headers(headers)
    cdef dict grouped = {}
    for key, value in pairs:
        if key in grouped:
            (<list>grouped[key]).append(value)
        else:
            grouped[key] = [value]
    content_type = grouped["content-type"][0] if "content-type" in grouped else ""
    text, is_base64 = _response_body(body, content_type, _first(pairs, "content-encoding"), text_mime_types)
    cdef dict out = {"statusCode": status, "body": text, "isBase64Encoded": is_base64}
    if multi_value:
        out["multiValueHeaders"] = _exclude(grouped, exclude)
        return out
    cdef dict single = {}
    cdef Py_ssize_t count, index
    for key, values in grouped.items():
        count = min(len(<list>values), _casing_count(key))
        for index in range(count):
            single[_all_casings_at(key, index)] = (<list>values)[index]
    out["headers"] = _exclude(single, exclude)
    return out


def edge_result(status, headers, body, text_mime_types, exclude):
    cdef list pairs = _decode_headers(headers)
    cdef dict single
    single, _ = _split_multi_value(pairs)
    text, is_base64 = _response_body(
        body, single.get("content-type", ""), _first(pairs, "content-encoding"), text_mime_types
    )
    cdef dict out_headers = {key: [{"key": key, "value": value}] for key, value in pairs}
    return {
        "status": status,
        "headers": _exclude(out_headers, exclude),
        "body": text,
        "isBase64Encoded": is_base64,
    }
