"""`cymangum serve`: a local HTTP/1.1 server that runs an app the way AWS Lambda runs it.

Each HTTP request becomes a Lambda event of the chosen source (cli_events.build_event), the handler is invoked,
and the Lambda result becomes the HTTP response (cli_events.decode_result): base64 bodies decoded, v2 `cookies`
as Set-Cookie headers, multiValueHeaders restored, ALB's case-mutated header names folded, Lambda@Edge header
lists flattened.

Like one Lambda execution environment, invocations run one at a time, all in ONE dedicated worker thread: the
adapter drives its own event loop (bound to the thread that built it) and cannot run inside a running loop, so
the server's asyncio loop only does the network side. Like the AWS front ends: a malformed request gets 400, a
body over Lambda's 6 MB payload limit 413, a handler that raises (or returns something unusable, or more than
6 MB) 502. One log line per request on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
import threading
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import quote_from_bytes, urlsplit

from .cli_events import (
    HOP_BY_HOP,
    LAMBDA_PAYLOAD_LIMIT,
    AppSpec,
    CLIError,
    LambdaContext,
    MalformedResult,
    Request,
    Response,
    build_event,
    check_base_path,
    decode_result,
    json_bytes,
    load_app,
    make_handler,
)

MAX_LINE = 16 * 1024  # request line and each header line
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
IDLE_TIMEOUT = 75.0  # keep-alive connection waiting for its next request
READ_TIMEOUT = 60.0  # headers and body of one request

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_NO_BODY_STATUS = frozenset((204, 304))


class HTTPError(Exception):
    """A request the server answers itself, then closes the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Incoming:
    method: str
    target: str
    version: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    keep_alive: bool


# ---------------------------------------------------------------------------------------------------------------
# Reading requests


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Incoming | None:
    """The next request on the connection, None at a clean end of stream; HTTPError for a bad one."""
    try:
        line = await asyncio.wait_for(_read_line(reader, 414), IDLE_TIMEOUT)
        for _ in range(4):  # RFC 9112 2.2: ignore empty lines before the request line
            if line not in (b"\r\n", b"\n"):
                break
            line = await asyncio.wait_for(_read_line(reader, 414), IDLE_TIMEOUT)
    except asyncio.TimeoutError:
        return None
    if not line:
        return None
    try:
        return await asyncio.wait_for(_read_rest(line, reader, writer), READ_TIMEOUT)
    except asyncio.TimeoutError:
        raise HTTPError(408, "Request Timeout") from None
    except asyncio.IncompleteReadError:
        raise HTTPError(400, "the request ended early") from None


async def _read_line(reader: asyncio.StreamReader, status: int = 431) -> bytes:
    try:
        return await reader.readline()
    except ValueError:  # longer than the stream limit (MAX_LINE)
        raise HTTPError(status, HTTPStatus(status).phrase) from None


async def _read_rest(line: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Incoming:
    if not line.endswith(b"\n"):
        raise HTTPError(400, "the request ended early")
    parts = line.rstrip(b"\r\n").split(b" ")
    if len(parts) != 3:
        raise HTTPError(400, "malformed request line")
    raw_method, raw_target, raw_version = parts
    if not raw_method or not set(raw_method) <= _TOKEN:
        raise HTTPError(400, "malformed method")
    if not raw_version.startswith(b"HTTP/") or len(raw_version) != 8 or raw_version[6:7] != b".":
        raise HTTPError(400, "malformed HTTP version")
    if raw_version not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise HTTPError(505, "HTTP Version Not Supported")
    method, version = raw_method.decode("ascii"), raw_version.decode("ascii")
    if not raw_target or any(b <= 0x20 or b == 0x7F for b in raw_target):
        raise HTTPError(400, "malformed request target")
    path, query = _split_target(method, raw_target)

    headers: list[tuple[str, str]] = []
    total = 0
    while True:
        line = await _read_line(reader)
        if not line.endswith(b"\n"):
            raise HTTPError(400, "the request ended early")
        if line in (b"\r\n", b"\n"):
            break
        total += len(line)
        if total > MAX_HEADER_BYTES or len(headers) >= MAX_HEADERS:
            raise HTTPError(431, "Request Header Fields Too Large")
        name, colon, value = line.rstrip(b"\r\n").partition(b":")
        if not colon or not name or not set(name) <= _TOKEN:  # also rejects obsolete line folding
            raise HTTPError(400, "malformed header line")
        value = value.strip(b" \t")
        if any((b < 0x20 and b != 0x09) or b == 0x7F for b in value):
            raise HTTPError(400, "control character in a header value")
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        headers.append((name.decode("ascii"), text))

    def values(header: str) -> list[str]:
        return [v for k, v in headers if k.lower() == header]

    hosts = values("host")
    if len(hosts) > 1 or (version == "HTTP/1.1" and not hosts):
        raise HTTPError(400, "HTTP/1.1 needs exactly one Host header")
    connection = {t.strip().lower() for v in values("connection") for t in v.split(",")}
    keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection

    encodings = [t.strip().lower() for v in values("transfer-encoding") for t in v.split(",") if t.strip()]
    lengths = {item.strip() for value in values("content-length") for item in value.split(",")}
    if encodings and lengths:
        raise HTTPError(400, "both Transfer-Encoding and Content-Length")
    if encodings and (encodings != ["chunked"] or version == "HTTP/1.0"):
        raise HTTPError(501, f"unsupported transfer coding {', '.join(encodings)!r}")
    if len(lengths) > 1 or (lengths and not next(iter(lengths)).isdigit()):
        raise HTTPError(400, "invalid Content-Length")
    length = int(next(iter(lengths))) if lengths else 0
    if length > LAMBDA_PAYLOAD_LIMIT:
        raise HTTPError(413, "Request Entity Too Large")

    expect = [v.strip().lower() for v in values("expect")]
    if expect:
        if expect != ["100-continue"]:
            raise HTTPError(417, "Expectation Failed")
        if version == "HTTP/1.1" and (length or encodings):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()

    if encodings:
        body = await _read_chunked(reader)
    elif length:
        body = await reader.readexactly(length)
    else:
        body = b""
    return Incoming(method, raw_target.decode("latin-1"), version, path, query, headers, body, keep_alive)


def _split_target(method: str, target: bytes) -> tuple[str, str]:
    """(path, query), percent-encoded, from origin-form "/p?q", absolute-form "http://h/p?q" or "*"."""
    if target == b"*":
        if method != "OPTIONS":
            raise HTTPError(400, "'*' is only a target for OPTIONS")
        return "/", ""
    if target[:1] != b"/":
        if not target.lower().startswith((b"http://", b"https://")):
            raise HTTPError(400, "malformed request target")
        parts = urlsplit(target.decode("latin-1"))
        target = (parts.path or "/").encode("latin-1") + (
            b"?" + parts.query.encode("latin-1") if parts.query else b""
        )
    raw_path, _, raw_query = target.partition(b"#")[0].partition(b"?")
    return quote_from_bytes(raw_path, safe=_PATH_SAFE), quote_from_bytes(raw_query, safe=_QUERY_SAFE)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    total = 0
    while True:
        line = await _read_line(reader)
        size_text = line.split(b";", 1)[0].strip()
        if (
            not line.endswith(b"\n")
            or not size_text
            or any(c not in b"0123456789abcdefABCDEF" for c in size_text)
        ):
            raise HTTPError(400, "malformed chunked body")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > LAMBDA_PAYLOAD_LIMIT:
            raise HTTPError(413, "Request Entity Too Large")
        chunks.append(await reader.readexactly(size))
        if await reader.readline() not in (b"\r\n", b"\n"):
            raise HTTPError(400, "malformed chunked body")
    for _ in range(MAX_HEADERS):  # trailers are read and dropped
        line = await _read_line(reader)
        if line in (b"\r\n", b"\n"):
            return b"".join(chunks)
        if not line.endswith(b"\n"):
            raise HTTPError(400, "the request ended early")
    raise HTTPError(431, "too many trailer fields")


# ---------------------------------------------------------------------------------------------------------------
# Writing responses


def response_bytes(method: str, response: Response, *, keep_alive: bool) -> bytes:
    status = response.status
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP/1.1 {status} {reason}"]
    app_length = None
    for name, value in response.headers:
        if name == "content-length":
            app_length = value
        elif name not in HOP_BY_HOP:
            lines.append(f"{name}: {value}")
    names = {name for name, _ in response.headers}
    body = response.body
    if status < 200 or status in _NO_BODY_STATUS:
        body = b""
    elif method == "HEAD":
        lines.append(f"content-length: {len(body) or app_length or 0}")
        body = b""
    else:
        lines.append(f"content-length: {len(body)}")
    if "date" not in names:
        lines.append(f"date: {formatdate(usegmt=True)}")
    if not keep_alive:
        lines.append("connection: close")
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n"
    return head + body


def error_response(status: int, message: str) -> Response:
    body = json_bytes({"message": message}, indent=False)
    return Response(status, [("content-type", "application/json")], body)


# ---------------------------------------------------------------------------------------------------------------
# The Lambda environment: one worker thread


class LambdaEnvironment:
    """The handler, built and always called in one dedicated worker thread: invocations run one at a time."""

    def __init__(self, spec: AppSpec, *, lifespan: str | None, base_path: str | None) -> None:
        self._spec = spec
        self._lifespan = lifespan
        self._base_path = base_path
        self._handler: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cymangum-lambda")

    def start(self) -> float:
        """Build the handler in the worker thread; the seconds it took."""
        return self._executor.submit(self._build).result()

    def _build(self) -> float:
        started = time.perf_counter()
        self._handler = make_handler(self._spec, lifespan=self._lifespan, base_path=self._base_path)
        return time.perf_counter() - started

    async def invoke(self, event: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, event)

    def _call(self, event: dict[str, Any]) -> Any:
        return self._handler(event, LambdaContext())

    def close(self) -> None:
        """Stop the worker after the invocation under way, closing its event loop. (Queued invocations were
        cancelled with the connections that waited for them.)"""
        with contextlib.suppress(RuntimeError):
            self._executor.submit(_close_thread_loop)
        self._executor.shutdown(wait=True)


def _close_thread_loop() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return
    if loop.is_running() or loop.is_closed():
        return
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()
    asyncio.set_event_loop(None)


# ---------------------------------------------------------------------------------------------------------------
# The server


class LambdaServer:
    def __init__(self, env: LambdaEnvironment, *, source: str, base_path: str | None, port: int) -> None:
        self.env = env
        self.source = source
        self.base_path = base_path
        self.port = port
        self._connections: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername") or ("-", 0)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                started = time.perf_counter()
                try:
                    incoming = await read_request(reader, writer)
                except HTTPError as exc:
                    size = await self._send(
                        writer, "-", error_response(exc.status, exc.message), keep_alive=False
                    )
                    self._log(peer, None, exc.status, size, started, exc.message)
                    return
                if incoming is None:
                    return
                response, note = await self.respond(incoming, peer)
                size = await self._send(writer, incoming.method, response, keep_alive=incoming.keep_alive)
                self._log(peer, incoming, response.status, size, started, note)
                if not incoming.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def respond(self, incoming: Incoming, peer: Any) -> tuple[Response, str]:
        """Event in, handler, result out: the response, and a note for the log line."""
        request = Request(
            method=incoming.method,
            path=incoming.path,
            query=incoming.query,
            headers=incoming.headers,
            body=incoming.body,
            client_ip=str(peer[0]),
            scheme="http",
            port=self.port,
        )
        event = build_event(self.source, request, base_path=self.base_path)
        if len(json_bytes(event, indent=False)) > LAMBDA_PAYLOAD_LIMIT:
            return error_response(
                413, "Request Entity Too Large"
            ), "the event exceeds Lambda's 6 MB payload limit"
        try:
            result = await self.env.invoke(event)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return error_response(
                502, "Internal server error"
            ), f"the handler raised {type(exc).__name__}: {exc}"
        try:
            size = len(json_bytes(result, indent=False))
            if size > LAMBDA_PAYLOAD_LIMIT:
                raise MalformedResult(f"the result ({size} bytes) exceeds Lambda's 6 MB payload limit")
            return decode_result(result), ""
        except Exception as exc:
            return error_response(502, "Internal server error"), f"malformed Lambda result: {exc}"

    async def _send(
        self, writer: asyncio.StreamWriter, method: str, response: Response, *, keep_alive: bool
    ) -> int:
        data = response_bytes(method, response, keep_alive=keep_alive)
        writer.write(data)
        await writer.drain()
        return len(response.body) if method != "HEAD" else 0

    def _log(
        self, peer: Any, incoming: Incoming | None, status: int, size: int, started: float, note: str
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        request = f"{incoming.method} {incoming.target} {incoming.version}" if incoming else "-"
        line = f'{peer[0]}:{peer[1]} "{request}" {status} {size}B {elapsed:.1f}ms'
        print(f"{line} ({note})" if note else line, file=sys.stderr, flush=True)

    async def close_connections(self) -> None:
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=5)


async def _run(
    env: LambdaEnvironment, *, source: str, host: str, port: int, base_path: str | None, app: str
) -> None:
    server_obj = LambdaServer(env, source=source, base_path=base_path, port=port)
    server = await asyncio.start_server(server_obj.handle, host, port, limit=MAX_LINE, reuse_address=True)
    bound = server.sockets[0].getsockname()
    server_obj.port = bound[1]
    shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    base = "/" + base_path.strip("/") if base_path and base_path.strip("/") else ""
    print(
        f"cymangum serve: {app} as a Lambda behind {source!r} on http://{shown_host}:{bound[1]}{base} "
        "(Ctrl+C to stop)",
        file=sys.stderr,
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        server.close()
        await server_obj.close_connections()
        await server.wait_closed()


def serve(
    *, app: str | None, source: str, host: str, port: int, base_path: str | None, lifespan: str | None
) -> int:
    """`cymangum serve`: runs until SIGINT or SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        raise CLIError("serve must run in the main thread")
    check_base_path(source, base_path)
    spec = load_app(app)
    env = LambdaEnvironment(spec, lifespan=lifespan, base_path=base_path)
    try:
        try:
            seconds = env.start()
        except Exception as exc:
            raise CLIError(f"constructing the handler failed: {type(exc).__name__}: {exc}") from None
        print(f"cymangum serve: handler ready in {seconds * 1000:.1f} ms", file=sys.stderr, flush=True)
        try:
            asyncio.run(_run(env, source=source, host=host, port=port, base_path=base_path, app=spec.name))
        except OSError as exc:
            raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    finally:
        env.close()
    print("cymangum serve: stopped", file=sys.stderr, flush=True)
    return 0
