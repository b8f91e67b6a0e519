"""cymangum.runtime's HTTP client against a scripted loopback server: framing, keep-alive, reconnection, errors."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cymangum.runtime.client import RuntimeAPIClient, RuntimeAPIError

pytest.importorskip("orjson")  # cymangum.runtime's own dependency (the cli extra)
pytestmark = pytest.mark.one_impl  # no core involved

# Each connection is served by one script: a list of answers, one per request read (None: close without one);
# the connection is closed after the last answer.
Script = list[bytes | None]


class ScriptedServer:
    def __init__(self, scripts: list[Script]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.scripts = scripts
        self.requests: list[bytes] = []
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for script in self.scripts:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed by the test: no more connections wanted
                return
            self.connections += 1
            with conn, conn.makefile("rb") as rfile:
                for answer in script:
                    head = b""
                    while not head.endswith(b"\r\n\r\n"):
                        line = rfile.readline()
                        if not line:
                            return
                        head += line
                    lengths = [int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")]
                    length = lengths[0] if lengths else 0
                    body = rfile.read(length)
                    if b"transfer-encoding: chunked" in head.lower():
                        body = self._read_chunked(rfile)
                    self.requests.append(head + body)
                    if answer is None:
                        break
                    conn.sendall(answer)

    @staticmethod
    def _read_chunked(rfile: Any) -> bytes:
        body = b""
        while True:
            line = rfile.readline()
            body += line
            if int(line.split(b";")[0], 16) == 0:
                break
            body += rfile.read(int(line.split(b";")[0], 16) + 2)
        while (line := rfile.readline()) not in (b"\r\n", b""):  # trailers
            body += line
        return body + line

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def serve() -> Iterator[Callable[[list[Script]], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(scripts: list[Script]) -> ScriptedServer:
        servers.append(ScriptedServer(scripts))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"


def test_keep_alive_content_length_and_chunked_with_trailers(serve: Callable[[list[Script]], ScriptedServer]) -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nT: x\r\n\r\n"
    server = serve([[OK, chunked, OK]])
    client = RuntimeAPIClient(server.address)
    first = client.request("POST", "/invocation/1/response", b'{"a":1}', {"Content-Type": "application/json"})
    second = client.request("GET", "/invocation/next")
    third = client.request("POST", "/invocation/2/error", b"x")
    client.close()
    assert (first.status, first.body, second.status, second.body, third.status) == (202, b"ok", 200, b"abcde", 202)
    assert second.headers["x-a"] == "1" and server.connections == 1
    assert server.requests[0].startswith(b"POST /2018-06-01/runtime/invocation/1/response HTTP/1.1\r\n")
    assert b"Content-Length: 7\r\n" in server.requests[0] and server.requests[0].endswith(b'\r\n\r\n{"a":1}')


def test_a_dead_connection_is_replaced_once(serve: Callable[[list[Script]], ScriptedServer]) -> None:
    server = serve([[OK, None], [OK]])
    client = RuntimeAPIClient(server.address)
    assert client.request("GET", "/invocation/next").status == 202
    assert client.request("GET", "/invocation/next").status == 202  # the first connection closed: a new one
    client.close()
    assert server.connections == 2


def test_connection_close_is_honoured(serve: Callable[[list[Script]], ScriptedServer]) -> None:
    closing = b"HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    server = serve([[closing], [OK]])
    client = RuntimeAPIClient(server.address)
    assert client.request("POST", "/x", b"1").body == b""
    assert client.request("POST", "/x", b"2").body == b"ok"
    client.close()
    assert server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [b"garbage\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"],
)
def test_bad_or_truncated_answers_are_runtime_api_errors(
    serve: Callable[[list[Script]], ScriptedServer], answer: bytes
) -> None:
    server = serve([[answer], [answer]])
    client = RuntimeAPIClient(server.address)
    with pytest.raises(RuntimeAPIError):
        client.request("GET", "/invocation/next")
    client.close()


def test_a_streamed_request_has_its_own_connection(serve: Callable[[list[Script]], ScriptedServer]) -> None:
    server = serve([[OK], [OK]])
    client = RuntimeAPIClient(server.address)
    assert client.request("GET", "/invocation/next").status == 202

    async def stream() -> bytes:
        request = await client.open_stream("/invocation/1/response", {"Content-Type": "text/plain"})
        await request.write(b"hello")
        body = (await request.finish({"Trailer-A": "1"})).body
        client.close()  # on the loop that opened the stream connection
        await asyncio.sleep(0)
        return body

    assert asyncio.run(stream()) == b"ok"
    assert server.connections == 2
    assert b"Transfer-Encoding: chunked" in server.requests[1]
    assert server.requests[1].endswith(b"\r\n\r\n5\r\nhello\r\n0\r\nTrailer-A: 1\r\n\r\n")
