"""A small HTTP/1.1 client for the Lambda Runtime API.

Buffered requests (/next, /response, /error, /init/error) go over one blocking keep-alive socket with
TCP_NODELAY: no event loop run per request, which is what made each invocation cost ~100 us more than
awslambdaric. A streamed response is written while the app runs on the loop, so it uses its own keep-alive
connection on asyncio streams, with chunked framing and request trailers (which the standard library's
http.client cannot send). Both read responses with the same parser.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Generator, Iterable, Mapping
from typing import BinaryIO

API_PREFIX = "/2018-06-01/runtime"
_LINE = -1  # what the parser asks for: a line (CRLF included), or a count of bytes
_MAX_LINE = 65536


class RuntimeAPIError(Exception):
    """The Runtime API answered with an unexpected status, or the connection broke."""


class _ConnectionClosed(ConnectionError):
    """The Runtime API closed the connection in the middle of a response."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    @property
    def closes_connection(self) -> bool:
        """The server said it closes the connection after this response."""
        return self.headers.get("connection", "").lower() == "close"


def _parse_response() -> Generator[int, bytes, Response]:
    """An HTTP/1.1 response, without I/O: yields _LINE or a byte count, is sent those bytes, returns the Response."""
    status_line = yield _LINE
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise RuntimeAPIError(f"bad status line {status_line[:200]!r}")
    headers: dict[str, str] = {}
    while True:
        line = yield _LINE
        if line == b"\r\n":
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size = int((yield _LINE).split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append((yield size))
            yield 2  # the CRLF after the chunk
        while (yield _LINE) != b"\r\n":  # trailers, ignored
            pass
        body = b"".join(chunks)
    else:
        body = yield int(headers.get("content-length") or 0)
    return Response(int(parts[1]), headers, body)


def _read_blocking(rfile: BinaryIO) -> Response:
    parser = _parse_response()
    want = next(parser)
    try:
        while True:
            data = rfile.readline(_MAX_LINE) if want == _LINE else rfile.read(want)
            if (want == _LINE and not data.endswith(b"\n")) or (want != _LINE and len(data) < want):
                raise _ConnectionClosed("the Runtime API closed the connection mid-response")
            want = parser.send(data)
    except StopIteration as done:
        response: Response = done.value
        return response


async def _read_async(reader: asyncio.StreamReader) -> Response:
    parser = _parse_response()
    want = next(parser)
    try:
        while True:
            data = await (reader.readuntil(b"\r\n") if want == _LINE else reader.readexactly(want))
            want = parser.send(data)
    except StopIteration as done:
        response: Response = done.value
        return response


class RuntimeAPIClient:
    """The connections to AWS_LAMBDA_RUNTIME_API (`host:port`), opened on first use and reopened when lost."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, not {address!r}")
        self.host = host.strip("[]")
        self.port = int(port)
        self._host_header = address.encode("latin-1")
        self._socket: socket.socket | None = None
        self._rfile: BinaryIO | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _blocking_connection(self) -> tuple[socket.socket, BinaryIO]:
        if self._socket is None or self._rfile is None:
            sock = socket.create_connection((self.host, self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socket, self._rfile = sock, sock.makefile("rb")
        return self._socket, self._rfile

    async def _stream_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._reader, self._writer

    def close(self) -> None:
        self._close_blocking()
        self._close_stream()

    def _close_blocking(self) -> None:
        if self._rfile is not None:
            self._rfile.close()
        if self._socket is not None:
            self._socket.close()
        self._socket = self._rfile = None

    def _close_stream(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    def _head(self, method: str, path: str, headers: Iterable[tuple[str, str]]) -> bytearray:
        head = bytearray(f"{method} {API_PREFIX}{path} HTTP/1.1\r\n".encode("latin-1"))
        head += b"Host: " + self._host_header + b"\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n".encode("latin-1")
        return head

    def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        """One blocking request with a Content-Length body; retried once on a fresh connection if the old one was
        dead. A signal handler's exception (SIGTERM during the /next long poll) interrupts it."""
        pairs = [*(headers or {}).items(), ("Content-Length", str(len(body)))]
        head = self._head(method, path, pairs) + b"\r\n"
        for attempt in (1, 2):
            sock, rfile = self._blocking_connection()
            try:
                sock.sendall(head + body if body else head)
                response = _read_blocking(rfile)
            except ConnectionError as exc:
                self._close_blocking()
                if attempt == 2:
                    raise RuntimeAPIError(f"{method} {path}: connection lost ({exc!r})") from exc
                continue
            except BaseException:
                self._close_blocking()  # interrupted (SIGTERM): the response may still be on its way
                raise
            if response.closes_connection:
                self._close_blocking()
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def open_stream(self, path: str, headers: Mapping[str, str]) -> ChunkedRequest:
        """Send the head of a `Transfer-Encoding: chunked` POST; the body follows through the returned object."""
        reader, writer = await self._stream_connection()
        head = self._head("POST", path, [*headers.items(), ("Transfer-Encoding", "chunked")]) + b"\r\n"
        writer.write(head)
        return ChunkedRequest(self, reader, writer)

    async def _read_stream_response(self, reader: asyncio.StreamReader) -> Response:
        response = await _read_async(reader)
        if response.closes_connection:
            self._close_stream()
        return response


class ChunkedRequest:
    """The body of a streamed request: `await write(data)` per chunk (waits for the socket: back-pressure), then
    `await finish(trailers)`, which returns the Runtime API's response."""

    def __init__(
        self, client: RuntimeAPIClient, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._client = client
        self._reader = reader
        self._writer = writer
        self.bytes_written = 0

    async def write(self, data: bytes) -> None:
        if not data:
            return  # an empty chunk would end the body
        self._writer.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
        self.bytes_written += len(data)
        try:
            await self._writer.drain()
        except ConnectionError as exc:
            self._client._close_stream()
            raise RuntimeAPIError(f"streamed response: connection lost ({exc!r})") from exc
        except BaseException:
            self._client._close_stream()  # cancelled half-way: the request cannot be continued on this connection
            raise

    async def finish(self, trailers: Mapping[str, str] | None = None) -> Response:
        tail = bytearray(b"0\r\n")
        for name, value in (trailers or {}).items():
            tail += f"{name}: {value}\r\n".encode("latin-1")
        tail += b"\r\n"
        try:
            self._writer.write(tail)
            await self._writer.drain()
            return await self._client._read_stream_response(self._reader)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._client._close_stream()
            raise RuntimeAPIError(f"streamed response: connection lost ({exc!r})") from exc
        except BaseException:
            self._client._close_stream()
            raise
