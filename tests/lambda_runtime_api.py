"""A test-only emulator of the AWS Lambda Runtime API, and a launcher for runtime processes.

The Lambda service talks to a function's runtime process through a small HTTP API (version ``2018-06-01``): the
runtime long-polls ``GET /runtime/invocation/next`` for an event, runs the handler, then posts the result to
``/runtime/invocation/{request_id}/response`` or ``/runtime/invocation/{request_id}/error``; a runtime whose
handler cannot be loaded posts ``/runtime/init/error`` instead and exits. :class:`LambdaRuntimeAPI` serves that
API on ``127.0.0.1`` (a free port) so that a real runtime client, for instance ``python -m awslambdaric
module.handler``, can be run against it inside a test, and it gives the test a synchronous API::

    with LambdaRuntimeAPI() as api, RuntimeProcess.start(api, "ric_apps.echo_app.handler", ...) as runtime:
        invocation = api.invoke({"resource": "/", ...}, timeout=10)
        assert invocation.succeeded
        result = invocation.result  # the handler's return value, decoded from JSON

What is emulated, as documented by AWS (and as the AWS runtime clients rely on):

* ``GET /2018-06-01/runtime/invocation/next`` blocks until an event is queued and answers ``200`` with the event
  as the body and the headers ``Lambda-Runtime-Aws-Request-Id``, ``Lambda-Runtime-Deadline-Ms`` (epoch
  milliseconds: delivery time + the function timeout), ``Lambda-Runtime-Invoked-Function-Arn``,
  ``Lambda-Runtime-Trace-Id`` and, when given, ``Lambda-Runtime-Client-Context`` and
  ``Lambda-Runtime-Cognito-Identity``.
* ``POST /2018-06-01/runtime/invocation/{id}/response`` (buffered, at most 6 MB) and
  ``POST /2018-06-01/runtime/invocation/{id}/error`` (``Lambda-Runtime-Function-Error-Type`` header, JSON body
  ``errorMessage`` / ``errorType`` / ``stackTrace``) answer ``202``; an unknown or already answered request id
  gets ``400``, an oversized response ``413`` (the invocation then fails with ``Function.ResponseSizeTooLarge``,
  as on Lambda).
* ``POST /2018-06-01/runtime/init/error`` answers ``202``; the reports are kept in :attr:`LambdaRuntimeAPI.init_errors`,
  and every invocation queued or in flight at that moment fails with the init error's type and body (what the
  caller of a real Lambda gets when the init fails).
* HTTP/1.1 with keep-alive (the runtime clients reuse one connection), ``TCP_NODELAY`` on every accepted socket,
  one response written with a single ``send``.

What is added for tests:

* :meth:`LambdaRuntimeAPI.invoke` queues an event and blocks until its response or error arrives;
  :meth:`LambdaRuntimeAPI.submit` queues without waiting (the returned :class:`Invocation` has ``wait()``).
* An event handed to a runtime process that dies before answering is handed back: when the connection that
  received it closes (``requeue_on_disconnect``, the default) or when :meth:`LambdaRuntimeAPI.requeue_inflight`
  is called (what :meth:`RuntimeProcess.stop` does once the process has exited). The event goes back to the
  front of the queue with the same request id; the next delivery gets a fresh deadline. A late answer to a
  requeued event is still accepted.
* Internal errors of the emulator are collected in :attr:`LambdaRuntimeAPI.server_errors` instead of being printed.

Not emulated: the Extensions and Telemetry APIs, SnapStart's ``/restore`` endpoints, deadline enforcement (a
runtime that overruns is not killed), concurrency limits, re-running the init for the invocations that come
after an init failure (start a new runtime process for that).

Response streaming (not supported yet, designed for): a streamed response is a ``POST .../response`` with
``Lambda-Runtime-Function-Response-Mode: streaming``, ``Transfer-Encoding: chunked`` and the trailers
``Lambda-Runtime-Function-Error-Type`` / ``Lambda-Runtime-Function-Error-Body``. Request bodies are read in exactly
one place, ``_RuntimeAPIHandler._read_body``, which today accepts ``Content-Length`` framing only and refuses
chunked framing with ``501`` (recording ``Emulator.StreamingNotSupported`` on the invocation, so that a streaming
runtime fails a test at once instead of hanging it). To add streaming, give that method a chunked reader that
records every chunk with its arrival time (``time.perf_counter()``) and the trailers on the
:class:`Invocation` (new fields beside ``response_mode``, which already records the header), and complete the
invocation when the last chunk arrives; nothing else in the request flow depends on the framing.
"""

from __future__ import annotations

import collections
import contextlib
import http.server
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "API_VERSION",
    "MAX_BUFFERED_RESPONSE_BYTES",
    "InitError",
    "Invocation",
    "InvocationFailed",
    "LambdaRuntimeAPI",
    "RuntimeExited",
    "RuntimeProcess",
    "running_runtime",
    "runtime_environment",
]

API_VERSION = "2018-06-01"
MAX_BUFFERED_RESPONSE_BYTES = 6 * 1024 * 1024  # Lambda's limit for a buffered (non-streamed) response

_PREFIX = f"/{API_VERSION}/runtime"
_NEXT_PATH = f"{_PREFIX}/invocation/next"
_INIT_ERROR_PATH = f"{_PREFIX}/init/error"
_INVOCATION_POST = re.compile(
    rf"^{re.escape(_PREFIX)}/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$"
)

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
XRAY_ERROR_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"

# How often a long-polling `/next` checks that its client is still connected, and that the emulator is open.
_POLL_TICK_SECONDS = 0.05


class RuntimeExited(AssertionError):
    """Raised by :meth:`RuntimeProcess.answer` when the runtime process exits before answering."""


class InvocationFailed(AssertionError):
    """Raised by :attr:`Invocation.result` when the runtime reported an error (or nothing) for the invocation."""


class Invocation:
    """One queued event and what the runtime answered.

    The request side is fixed at submission: ``request_id``, ``event_body`` (the exact bytes delivered),
    ``function_arn``, ``trace_id``, ``function_timeout`` (seconds), ``client_context``, ``cognito_identity``.
    Delivery updates ``deliveries`` (how many times a runtime received it), ``deadline_ms`` (the
    ``Lambda-Runtime-Deadline-Ms`` of the latest delivery) and ``delivered_at``. The answer sets ``status`` to
    ``"succeeded"`` or ``"failed"`` and fills the response or error fields. Times are ``time.perf_counter()``.
    """

    def __init__(
        self,
        *,
        request_id: str,
        event_body: bytes,
        content_type: str,
        function_arn: str,
        trace_id: str,
        function_timeout: float,
        client_context: str | None,
        cognito_identity: str | None,
    ) -> None:
        self.request_id = request_id
        self.event_body = event_body
        self.content_type = content_type
        self.function_arn = function_arn
        self.trace_id = trace_id
        self.function_timeout = function_timeout
        self.client_context = client_context
        self.cognito_identity = cognito_identity

        self.status = "queued"  # queued -> delivered -> succeeded | failed (delivered -> queued on requeue)
        self.deliveries = 0
        self.deadline_ms: int | None = None
        self.submitted_at = time.perf_counter()
        self.delivered_at: float | None = None
        self.completed_at: float | None = None

        # Buffered response (POST .../response).
        self.response_mode = "buffered"  # the Lambda-Runtime-Function-Response-Mode header, when sent
        self.response_body: bytes | None = None
        self.response_content_type: str | None = None
        # Error (POST .../error, or set by the emulator: oversized or unsupported response).
        self.error_type: str | None = None  # the Lambda-Runtime-Function-Error-Type header
        self.error_body: bytes | None = None
        self.xray_error_cause: str | None = None

        self._owner: object | None = None  # the connection (handler) holding the delivered event
        self._done = threading.Event()

    # -- results -------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def wait(self, timeout: float | None = None) -> Invocation:
        """Block until the runtime answered; raise ``TimeoutError`` after ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError(
                f"invocation {self.request_id} not answered within {timeout} s "
                f"(status {self.status}, delivered {self.deliveries} time(s))"
            )
        return self

    @property
    def result(self) -> Any:
        """The handler's result decoded from JSON; :class:`InvocationFailed` if the runtime reported an error."""
        if not self.succeeded:
            raise InvocationFailed(f"invocation {self.request_id} {self.status}: {self.error!r}")
        assert self.response_body is not None
        return json.loads(self.response_body)

    @property
    def error(self) -> Any:
        """The error body decoded from JSON (``errorType``, ``errorMessage``, ``stackTrace``...), or None."""
        if self.error_body is None:
            return None
        try:
            return json.loads(self.error_body)
        except ValueError:
            return self.error_body.decode("utf-8", "replace")

    @property
    def latency(self) -> float | None:
        """Seconds from submission to the answer."""
        return None if self.completed_at is None else self.completed_at - self.submitted_at

    def __repr__(self) -> str:
        return f"<Invocation {self.request_id} {self.status} deliveries={self.deliveries}>"


class InitError:
    """One ``POST /runtime/init/error`` report."""

    def __init__(self, error_type: str | None, body: bytes, headers: Mapping[str, str]) -> None:
        self.error_type = error_type  # the Lambda-Runtime-Function-Error-Type header
        self.body = body
        self.headers = dict(headers)

    @property
    def payload(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<InitError {self.error_type}: {self.payload!r}>"


class _StreamingNotSupported(Exception):
    pass


class _RuntimeAPIHandler(http.server.BaseHTTPRequestHandler):
    """One runtime connection. Runs in its own thread (one per accepted connection, kept alive)."""

    protocol_version = "HTTP/1.1"
    server_version = "LambdaRuntimeAPIEmulator/1"
    sys_version = ""
    # Buffer writes: status line, headers and body leave in one send, at the flush that
    # `handle_one_request` does after every request.
    wbufsize = 64 * 1024
    server: _RuntimeAPIServer

    # -- connection lifecycle --------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.api._connection_opened(self)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError):
            pass  # the runtime went away mid-request: nothing to answer
        except OSError:
            if not self.server.api._closed:
                raise

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.server.api._connection_closed(self)

    def handle_expect_100(self) -> bool:
        ok = super().handle_expect_100()
        self.wfile.flush()  # the interim response must not wait in the write buffer
        return ok

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.api.verbose:
            sys.stderr.write(f"[runtime-api] {self.address_string()} {format % args}\n")

    # -- helpers ----------------------------------------------------------------------------------------------
    def _reply(self, status: int, body: bytes | Any = b"", headers: Mapping[str, str] | None = None) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body and not (headers and "Content-Type" in headers):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reply_error(self, status: int, error_type: str, message: str) -> None:
        self._reply(status, {"errorType": error_type, "errorMessage": message})

    def _read_body(self, limit: int | None = None) -> tuple[bytes, bool]:
        """Read the request body; return ``(body, too_large)``.

        The single place that knows about request framing. Only ``Content-Length`` framing is supported (what the
        runtime clients send for buffered responses); a chunked body, what streamed responses use, is consumed
        (so the connection stays usable) and refused with ``_StreamingNotSupported`` (see the module docstring
        for how to extend this).
        """
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._read_chunked()
            raise _StreamingNotSupported
        length = int(self.headers.get("Content-Length") or 0)
        if limit is not None and length > limit:
            remaining = length
            while remaining > 0:  # drain, so the connection stays usable
                chunk = self.rfile.read(min(remaining, 1 << 16))
                if not chunk:
                    break
                remaining -= len(chunk)
            return b"", True
        return self.rfile.read(length), False

    def _read_chunked(self) -> tuple[list[bytes], dict[str, str]]:
        """Read a ``Transfer-Encoding: chunked`` body: return its chunks and its trailers (RFC 9112 section 7.1)."""
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline(65537)
            if not size_line:
                raise ConnectionError("connection closed inside a chunked body")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                break
            chunks.append(self.rfile.read(size))
            self.rfile.readline(65537)  # the CRLF after the chunk data
        trailers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                return chunks, trailers
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip()] = value.strip()

    def _peer_closed(self) -> bool:
        """True when the runtime closed (or reset) this connection while we were not reading from it."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True

    # -- routes -----------------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        if self.path == _NEXT_PATH:
            self._next()
        else:
            self._reply_error(404, "NotFound", f"unknown path {self.path}")

    def do_POST(self) -> None:
        api = self.server.api
        match = _INVOCATION_POST.match(self.path)
        try:
            if match:
                self._invocation_post(match["request_id"], match["kind"])
            elif self.path == _INIT_ERROR_PATH:
                body, _ = self._read_body()
                api._record_init_error(
                    InitError(self.headers.get(ERROR_TYPE_HEADER), body, dict(self.headers.items()))
                )
                self._reply(202, {"status": "OK"})
            else:
                self._read_body()
                self._reply_error(404, "NotFound", f"unknown path {self.path}")
        except _StreamingNotSupported:
            if match:
                api._fail_unsupported(match["request_id"])
            self._reply_error(
                501, "Emulator.StreamingNotSupported", "streamed responses are not supported yet"
            )

    def _next(self) -> None:
        api = self.server.api
        invocation = api._take_next(self)
        if invocation is None:  # emulator closing, or the runtime hung up while waiting
            self.close_connection = True
            if not self._peer_closed():
                self._reply_error(500, "Emulator.Closed", "the Runtime API emulator is shutting down")
            return
        headers = {
            "Content-Type": invocation.content_type,
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        if invocation.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = invocation.cognito_identity
        try:
            self._reply(200, invocation.event_body, headers)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            api._requeue([invocation], only_owner=self)

    def _invocation_post(self, request_id: str, kind: str) -> None:
        api = self.server.api
        invocation = api._invocations.get(request_id)
        if kind == "response":
            mode = self.headers.get(RESPONSE_MODE_HEADER)
            if invocation is not None and mode:
                invocation.response_mode = mode.lower()
            body, too_large = self._read_body(limit=api.max_response_bytes)
        else:
            body, too_large = self._read_body()
        if invocation is None:
            self._reply_error(400, "InvalidRequestID", f"unknown request id {request_id}")
            return
        if invocation.done:
            self._reply_error(400, "InvalidStateTransition", f"request {request_id} was already answered")
            return
        if too_large:
            api._complete(
                invocation,
                error_type="Function.ResponseSizeTooLarge",
                error_body=json.dumps(
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": f"Response payload size exceeded maximum allowed payload size "
                        f"({api.max_response_bytes} bytes).",
                    }
                ).encode(),
            )
            self._reply_error(413, "RequestEntityTooLarge", "response payload too large")
            return
        if kind == "response":
            api._complete(invocation, response_body=body, content_type=self.headers.get("Content-Type"))
        else:
            api._complete(
                invocation,
                error_type=self.headers.get(ERROR_TYPE_HEADER),
                error_body=body,
                xray_error_cause=self.headers.get(XRAY_ERROR_CAUSE_HEADER),
            )
        self._reply(202, {"status": "OK"})


class _RuntimeAPIServer(http.server.ThreadingHTTPServer):
    daemon_threads = True  # never keep the interpreter alive; close() joins the threads it knows about
    block_on_close = False

    def __init__(self, api: LambdaRuntimeAPI) -> None:
        self.api = api
        super().__init__(("127.0.0.1", 0), _RuntimeAPIHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.api.server_errors.append(sys.exc_info()[1])


class LambdaRuntimeAPI:
    """The emulator. Start it with ``with LambdaRuntimeAPI() as api:`` (or :meth:`start` / :meth:`close`).

    ``function_timeout`` (seconds) sets each delivery's deadline; ``requeue_on_disconnect`` hands an event back
    when the connection that received it closes before answering; ``fail_pending_on_init_error`` fails the
    queued and in-flight invocations when an init error is reported; ``max_response_bytes`` is the buffered
    response limit. ``function_arn`` is sent as ``Lambda-Runtime-Invoked-Function-Arn``.
    """

    def __init__(
        self,
        *,
        function_name: str = "cymangum-ric-test",
        function_arn: str | None = None,
        function_timeout: float = 30.0,
        requeue_on_disconnect: bool = True,
        fail_pending_on_init_error: bool = True,
        max_response_bytes: int = MAX_BUFFERED_RESPONSE_BYTES,
        verbose: bool = False,
    ) -> None:
        self.function_name = function_name
        self.function_arn = function_arn or f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.function_timeout = function_timeout
        self.requeue_on_disconnect = requeue_on_disconnect
        self.fail_pending_on_init_error = fail_pending_on_init_error
        self.max_response_bytes = max_response_bytes
        self.verbose = verbose

        self.init_errors: list[InitError] = []
        self.server_errors: list[BaseException | None] = []
        self.next_requests = 0  # GET /next received (including ones still waiting)
        self.connections_opened = 0  # TCP connections accepted (a keep-alive client uses one)
        self.polling = 0  # GET /next requests waiting right now (a runtime idle between invocations)

        self._cond = threading.Condition()
        self._queue: collections.deque[Invocation] = collections.deque()
        self._invocations: dict[str, Invocation] = {}
        self._connections: dict[_RuntimeAPIHandler, threading.Thread] = {}
        self._closed = False
        self._server: _RuntimeAPIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> LambdaRuntimeAPI:
        self._server = _RuntimeAPIServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="runtime-api", daemon=True
        )
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop serving: wake long polls, drop every connection, join the threads, close the socket."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._server is None:
            return
        self._server.shutdown()
        with self._cond:
            connections = list(self._connections.items())
        for handler, _ in connections:
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._server.server_close()
        self._server = None

    def __enter__(self) -> LambdaRuntimeAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        return f"127.0.0.1:{self.port}"

    # -- the test-facing API -------------------------------------------------------------------------------
    def submit(
        self,
        event: Any,
        *,
        function_timeout: float | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
        client_context: Mapping[str, Any] | str | None = None,
        cognito_identity: Mapping[str, Any] | str | None = None,
        content_type: str = "application/json",
    ) -> Invocation:
        """Queue ``event`` (JSON-encoded unless it is ``bytes``) and return its :class:`Invocation` at once."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        invocation = Invocation(
            request_id=request_id or str(uuid.uuid4()),
            event_body=body,
            content_type=content_type,
            function_arn=self.function_arn,
            trace_id=trace_id or _new_trace_id(),
            function_timeout=self.function_timeout if function_timeout is None else function_timeout,
            client_context=_json_header(client_context),
            cognito_identity=_json_header(cognito_identity),
        )
        with self._cond:
            if self._closed:
                raise RuntimeError("the Runtime API emulator is closed")
            if invocation.request_id in self._invocations:
                raise ValueError(f"duplicate request id {invocation.request_id}")
            self._invocations[invocation.request_id] = invocation
            self._queue.append(invocation)
            self._cond.notify_all()  # the condition is shared with the waits of tests: wake them all
        return invocation

    def invoke(self, event: Any, timeout: float = 30.0, **kwargs: Any) -> Invocation:
        """Queue ``event`` and block until the runtime answers it (``TimeoutError`` after ``timeout`` s).

        The returned :class:`Invocation` holds the result (``.result``) or the error (``.error_type``, ``.error``).
        """
        return self.submit(event, **kwargs).wait(timeout)

    def requeue_inflight(self) -> list[Invocation]:
        """Hand back every delivered, unanswered event (call it when the runtime process has exited)."""
        with self._cond:
            inflight = [inv for inv in self._invocations.values() if inv.status == "delivered"]
        return self._requeue(inflight)

    @property
    def pending(self) -> list[Invocation]:
        """Queued (not yet delivered) invocations."""
        with self._cond:
            return list(self._queue)

    @property
    def inflight(self) -> list[Invocation]:
        """Delivered, unanswered invocations."""
        with self._cond:
            return [inv for inv in self._invocations.values() if inv.status == "delivered"]

    def wait_until_polling(self, timeout: float = 10.0) -> None:
        """Block until a runtime is waiting in ``GET /next`` (idle between invocations)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.polling > 0, timeout):
                raise TimeoutError(f"no runtime polled /next within {timeout} s")

    def wait_for_init_error(self, timeout: float = 10.0) -> InitError:
        with self._cond:
            if not self._cond.wait_for(lambda: bool(self.init_errors), timeout):
                raise TimeoutError(f"no init error reported within {timeout} s")
            return self.init_errors[0]

    # -- used by the handler threads ------------------------------------------------------------------------
    def _connection_opened(self, handler: _RuntimeAPIHandler) -> None:
        with self._cond:
            self._connections[handler] = threading.current_thread()
            self.connections_opened += 1

    def _connection_closed(self, handler: _RuntimeAPIHandler) -> None:
        with self._cond:
            self._connections.pop(handler, None)
            held = [
                inv
                for inv in self._invocations.values()
                if inv._owner is handler and inv.status == "delivered"
            ]
        if held and self.requeue_on_disconnect and not self._closed:
            self._requeue(held, only_owner=handler)

    def _take_next(self, handler: _RuntimeAPIHandler) -> Invocation | None:
        with self._cond:
            self.next_requests += 1
            self.polling += 1
            self._cond.notify_all()
            try:
                return self._wait_for_invocation(handler)
            finally:
                self.polling -= 1

    def _wait_for_invocation(self, handler: _RuntimeAPIHandler) -> Invocation | None:
        # Called with self._cond held.
        while True:
            if self._closed:
                return None
            if self._queue:
                # A runtime that died while polling must not swallow the event.
                if handler._peer_closed():
                    return None
                invocation = self._queue.popleft()
                invocation.status = "delivered"
                invocation.deliveries += 1
                invocation._owner = handler
                invocation.delivered_at = time.perf_counter()
                invocation.deadline_ms = int(time.time() * 1000) + int(invocation.function_timeout * 1000)
                return invocation
            self._cond.wait(_POLL_TICK_SECONDS)
            if not self._queue and handler._peer_closed():
                return None

    def _requeue(self, invocations: list[Invocation], only_owner: object | None = None) -> list[Invocation]:
        requeued = []
        with self._cond:
            for invocation in reversed(invocations):
                if invocation.status != "delivered":
                    continue
                if only_owner is not None and invocation._owner is not only_owner:
                    continue
                invocation.status = "queued"
                invocation._owner = None
                self._queue.appendleft(invocation)
                requeued.append(invocation)
            if requeued:
                self._cond.notify_all()
        requeued.reverse()
        return requeued

    def _complete(
        self,
        invocation: Invocation,
        *,
        response_body: bytes | None = None,
        content_type: str | None = None,
        error_type: str | None = None,
        error_body: bytes | None = None,
        xray_error_cause: str | None = None,
    ) -> None:
        with self._cond:
            if invocation.done:
                return
            if invocation.status == "queued":  # a late answer to a requeued event still counts
                with contextlib.suppress(ValueError):
                    self._queue.remove(invocation)
            if error_body is None and error_type is None:
                invocation.status = "succeeded"
                invocation.response_body = response_body
                invocation.response_content_type = content_type
            else:
                invocation.status = "failed"
                invocation.error_type = error_type
                invocation.error_body = error_body
                invocation.xray_error_cause = xray_error_cause
            invocation._owner = None
            invocation.completed_at = time.perf_counter()
            invocation._done.set()

    def _fail_unsupported(self, request_id: str) -> None:
        invocation = self._invocations.get(request_id)
        if invocation is not None:
            self._complete(
                invocation,
                error_type="Emulator.StreamingNotSupported",
                error_body=b'{"errorType": "Emulator.StreamingNotSupported", '
                b'"errorMessage": "streamed responses are not supported by this emulator yet"}',
            )

    def _record_init_error(self, error: InitError) -> None:
        with self._cond:
            self.init_errors.append(error)
            pending = [inv for inv in self._invocations.values() if inv.status in ("queued", "delivered")]
            self._cond.notify_all()
        if self.fail_pending_on_init_error:
            for invocation in pending:
                self._complete(invocation, error_type=error.error_type, error_body=error.body)


def _new_trace_id() -> str:
    """An X-Ray trace header in the shape Lambda sends."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0;Lineage=1:{uuid.uuid4().hex[:8]}:0"


def _json_header(value: Mapping[str, Any] | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------------------------
# Running a runtime process against the emulator
# ---------------------------------------------------------------------------------------------------------------


def runtime_environment(
    api: LambdaRuntimeAPI,
    handler: str,
    *,
    task_root: str | os.PathLike[str],
    pythonpath: list[str] | None = None,
    memory_size: int = 128,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment Lambda gives a python runtime process (the subset awslambdaric and apps read).

    Starts from a clean environment (only ``PATH``, ``HOME``, ``TMPDIR`` and ``CYMANGUM_*`` pass through), so that
    the test runner's own settings (``PYTHONWARNINGS``, ``PYTEST_*``...) do not leak into the runtime.
    """
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "TMPDIR")}
    env.update({key: value for key, value in os.environ.items() if key.startswith("CYMANGUM_")})
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{version}",
            "AWS_LAMBDA_FUNCTION_NAME": api.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{api.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"2026/01/01/[$LATEST]{uuid.uuid4().hex}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    path = [str(task_root), *(pythonpath or [])]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    if extra:
        env.update(extra)
    return env


class RuntimeProcess:
    """A runtime client process (by default ``python -m awslambdaric <handler>``) bound to an emulator.

    It runs in its own process group (so that :meth:`stop` also ends anything it spawned), with its stdout and
    stderr going to ``log_path``. Use it as a context manager, or call :meth:`stop` in a ``finally``.
    """

    def __init__(self, api: LambdaRuntimeAPI, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.api = api
        self.popen = popen
        self.log_path = log_path

    @classmethod
    def start(
        cls,
        api: LambdaRuntimeAPI,
        handler: str,
        *,
        task_root: str | os.PathLike[str],
        log_path: str | os.PathLike[str],
        pythonpath: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        python_args: list[str] | None = None,
        command: list[str] | None = None,
    ) -> RuntimeProcess:
        """Start ``[sys.executable, *python_args, "-m", "awslambdaric", handler]`` (or ``command``)."""
        environment = runtime_environment(api, handler, task_root=task_root, pythonpath=pythonpath, extra=env)
        argv = command or [sys.executable, *(python_args or []), "-m", "awslambdaric", handler]
        log_path = Path(log_path)
        with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                argv,
                cwd=str(task_root),
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(api, popen, log_path)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def answer(self, invocation: Invocation, timeout: float = 30.0) -> Invocation:
        """Wait for ``invocation`` to be answered; fail at once (with the log's tail) if this process exits first.

        Raises :class:`RuntimeExited` or ``TimeoutError``.
        """
        deadline = time.monotonic() + timeout
        while not invocation._done.wait(_POLL_TICK_SECONDS):
            if self.popen.poll() is not None:
                if invocation._done.wait(0.5):  # an answer may still be on its way through the emulator
                    break
                raise RuntimeExited(
                    f"the runtime process exited with code {self.popen.returncode} before answering "
                    f"{invocation.request_id}; its log ends with:\n{self.log()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{invocation.request_id} not answered within {timeout} s; the runtime log ends with:\n"
                    f"{self.log()[-4000:]}"
                )
        return invocation

    def invoke(self, event: Any, timeout: float = 30.0, **kwargs: Any) -> Invocation:
        """:meth:`LambdaRuntimeAPI.submit` then :meth:`answer`."""
        return self.answer(self.api.submit(event, **kwargs), timeout)

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit by itself, then hand back what it held; return the exit code."""
        code = self.popen.wait(timeout)
        self.api.requeue_inflight()
        return code

    def stop(self, timeout: float = 5.0) -> int:
        """Terminate the process group (SIGTERM, then SIGKILL), reap it, hand back what it held."""
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.popen.wait(timeout)
        else:
            # The leader is gone; anything it left in its group goes too.
            self._signal_group(signal.SIGKILL)
        self.api.requeue_inflight()
        return self.popen.returncode

    def _signal_group(self, signum: int) -> None:
        # The group id is the leader's pid, reserved until the leader is reaped; after that, only signal when the
        # group still exists (a stale id could belong to another group only if the pid had been recycled).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def log(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""

    def __enter__(self) -> RuntimeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_runtime(api: LambdaRuntimeAPI, handler: str, **kwargs: Any) -> Iterator[RuntimeProcess]:
    """``RuntimeProcess.start(...)`` as a context manager that always stops the process."""
    process = RuntimeProcess.start(api, handler, **kwargs)
    try:
        yield process
    finally:
        process.stop()
