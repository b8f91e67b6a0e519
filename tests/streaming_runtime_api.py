"""The Runtime API emulator of lambda_runtime_api.py, with streamed responses.

A ``POST .../invocation/{id}/response`` with ``Transfer-Encoding: chunked`` is read chunk by chunk; every chunk is
recorded with its arrival time (``time.perf_counter()``) on a :class:`Stream` as soon as it arrives, the trailers
when the body ends. The invocation then completes as succeeded with the raw body as ``response_body``; the test
looks at ``api.stream(request_id)`` for the prelude, the body, the timing and the trailers. Everything else
(buffered responses, errors, init errors, ``/next``) is the base emulator's.
"""

from __future__ import annotations

import base64
import http.server
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from lambda_runtime_api import (  # noqa: E402
    RESPONSE_MODE_HEADER,
    LambdaRuntimeAPI,
    _RuntimeAPIHandler,
    _RuntimeAPIServer,
)

DELIMITER = b"\x00" * 8


class Stream:
    """One streamed response as the emulator received it."""

    def __init__(self, request_id: str, headers: dict[str, str]) -> None:
        self.request_id = request_id
        self.headers = headers
        self.opened_at = time.perf_counter()
        self.chunks: list[tuple[float, bytes]] = []  # (arrival time, the data of one HTTP chunk)
        self.trailers: dict[str, str] = {}
        self.size = 0
        self.completed_at: float | None = None
        self._cond = threading.Condition()

    def _add(self, data: bytes) -> None:
        with self._cond:
            self.chunks.append((time.perf_counter(), data))
            self.size += len(data)
            self._cond.notify_all()

    def _finish(self, trailers: dict[str, str]) -> None:
        with self._cond:
            self.trailers = trailers
            self.completed_at = time.perf_counter()
            self._cond.notify_all()

    @property
    def done(self) -> bool:
        return self.completed_at is not None

    def wait_for(self, size: int, timeout: float = 10.0) -> None:
        """Block until at least ``size`` bytes arrived (or the stream ended)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.size >= size or self.done, timeout):
                raise TimeoutError(f"stream {self.request_id}: {self.size} of {size} bytes after {timeout} s")

    def wait(self, timeout: float = 10.0) -> Stream:
        with self._cond:
            if not self._cond.wait_for(lambda: self.done, timeout):
                raise TimeoutError(f"stream {self.request_id} not finished within {timeout} s")
        return self

    @property
    def raw(self) -> bytes:
        return b"".join(data for _, data in self.chunks)

    @property
    def prelude(self) -> Any:
        raw = self.raw
        end = raw.index(DELIMITER)
        return json.loads(raw[:end])

    @property
    def body(self) -> bytes:
        raw = self.raw
        return raw[raw.index(DELIMITER) + len(DELIMITER) :]

    def body_chunks(self) -> list[tuple[float, bytes]]:
        """The (arrival time, data) of the body's chunks: what came after the prelude and its delimiter."""
        out: list[tuple[float, bytes]] = []
        seen = b""
        found = False
        for at, data in self.chunks:
            if found:
                out.append((at, data))
                continue
            seen += data
            if DELIMITER in seen:
                found = True
                rest = seen[seen.index(DELIMITER) + len(DELIMITER) :]
                if rest:
                    out.append((at, rest))
        return out

    @property
    def error_type(self) -> str | None:
        return self.trailers.get("Lambda-Runtime-Function-Error-Type")

    @property
    def error(self) -> Any:
        body = self.trailers.get("Lambda-Runtime-Function-Error-Body")
        return None if body is None else json.loads(base64.b64decode(body))


class _StreamingHandler(_RuntimeAPIHandler):
    server: _StreamingServer

    def _invocation_post(self, request_id: str, kind: str) -> None:
        if kind != "response" or "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            super()._invocation_post(request_id, kind)
            return
        api = self.server.api
        invocation = api._invocations.get(request_id)
        if invocation is not None:
            invocation.response_mode = (self.headers.get(RESPONSE_MODE_HEADER) or "buffered").lower()
        stream = Stream(request_id, dict(self.headers.items()))
        api._open_stream(stream)
        while True:
            size_line = self.rfile.readline(65537)
            if not size_line:
                raise ConnectionError("connection closed inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            stream._add(self.rfile.read(size))
            self.rfile.readline(65537)
        trailers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip()] = value.strip()
        stream._finish(trailers)
        if invocation is None:
            self._reply_error(400, "InvalidRequestID", f"unknown request id {request_id}")
            return
        if invocation.done:
            self._reply_error(400, "InvalidStateTransition", f"request {request_id} was already answered")
            return
        api._complete(invocation, response_body=stream.raw, content_type=self.headers.get("Content-Type"))
        self._reply(202, {"status": "OK"})


class _StreamingServer(_RuntimeAPIServer):
    api: StreamingRuntimeAPI

    def __init__(self, api: StreamingRuntimeAPI) -> None:
        self.api = api
        http.server.ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _StreamingHandler)


class StreamingRuntimeAPI(LambdaRuntimeAPI):
    """:class:`LambdaRuntimeAPI` that also accepts streamed responses (see :meth:`stream`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.streams: dict[str, Stream] = {}
        self._streams_cond = threading.Condition()

    def start(self) -> StreamingRuntimeAPI:
        self._server = _StreamingServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="runtime-api", daemon=True
        )
        self._thread.start()
        return self

    def __enter__(self) -> StreamingRuntimeAPI:
        return self.start()

    def _open_stream(self, stream: Stream) -> None:
        with self._streams_cond:
            self.streams[stream.request_id] = stream
            self._streams_cond.notify_all()

    def stream(self, request_id: str, timeout: float = 10.0) -> Stream:
        """The stream of ``request_id`` once its POST has begun."""
        with self._streams_cond:
            if not self._streams_cond.wait_for(lambda: request_id in self.streams, timeout):
                raise TimeoutError(f"no streamed response for {request_id} within {timeout} s")
            return self.streams[request_id]
