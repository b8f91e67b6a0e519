"""A small HTTP/1.1 client for the Lambda Runtime API, on asyncio streams.

One keep-alive connection with TCP_NODELAY, Content-Length and chunked framing, and request trailers (which the
standard library's http.client cannot send): what a streamed response needs.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Mapping

API_PREFIX = "/2018-06-01/runtime"


class RuntimeAPIError(Exception):
    """The Runtime API answered with an unexpected status, or the connection broke."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body


class RuntimeAPIClient:
    """The connection to AWS_LAMBDA_RUNTIME_API (`host:port`), opened on first use and reopened when lost."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"AWS_LAMBDA_RUNTIME_API must be host:port, not {address!r}")
        self.host = host.strip("[]")
        self.port = int(port)
        self._host_header = address.encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            sock = self._writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self._reader, self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    def _head(self, method: str, path: str, headers: Iterable[tuple[str, str]]) -> bytearray:
        head = bytearray(f"{method} {API_PREFIX}{path} HTTP/1.1\r\n".encode("latin-1"))
        head += b"Host: " + self._host_header + b"\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n".encode("latin-1")
        return head

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> Response:
        """One request with a Content-Length body; retried once on a fresh connection if the old one was dead."""
        pairs = [*(headers or {}).items(), ("Content-Length", str(len(body)))]
        for attempt in (1, 2):
            reader, writer = await self._connect()
            head = self._head(method, path, pairs) + b"\r\n"
            try:
                writer.writelines((head, body) if body else (head,))
                await writer.drain()
                return await self._read_response(reader)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if attempt == 2:
                    raise RuntimeAPIError(f"{method} {path}: connection lost ({exc!r})") from exc
            except BaseException:
                self.close()  # interrupted (SIGTERM, cancellation): the response may still be on its way
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def open_stream(self, path: str, headers: Mapping[str, str]) -> ChunkedRequest:
        """Send the head of a `Transfer-Encoding: chunked` POST; the body follows through the returned object."""
        reader, writer = await self._connect()
        head = self._head("POST", path, [*headers.items(), ("Transfer-Encoding", "chunked")]) + b"\r\n"
        writer.write(head)
        return ChunkedRequest(self, reader, writer)

    async def _read_response(self, reader: asyncio.StreamReader) -> Response:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise RuntimeAPIError(f"bad status line {status_line!r}")
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await _read_chunked(reader)
        else:
            body = await reader.readexactly(int(headers.get("content-length") or 0))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
        pass
    return b"".join(chunks)


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
            self._client.close()
            raise RuntimeAPIError(f"streamed response: connection lost ({exc!r})") from exc
        except BaseException:
            self._client.close()  # cancelled half-way: the request cannot be continued on this connection
            raise

    async def finish(self, trailers: Mapping[str, str] | None = None) -> Response:
        tail = bytearray(b"0\r\n")
        for name, value in (trailers or {}).items():
            tail += f"{name}: {value}\r\n".encode("latin-1")
        tail += b"\r\n"
        try:
            self._writer.write(tail)
            await self._writer.drain()
            return await self._client._read_response(self._reader)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            self._client.close()
            raise RuntimeAPIError(f"streamed response: connection lost ({exc!r})") from exc
        except BaseException:
            self._client.close()
            raise
