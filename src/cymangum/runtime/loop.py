"""The invocation loop: /next, the handler, /response (buffered or streamed) or /error, until SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

import orjson

from .. import Mangum, _runner
from ..exceptions import MalformedEventError
from .client import RuntimeAPIClient, RuntimeAPIError
from .context import LambdaContext
from .errors import InitError, error_payload
from .streaming import StreamError, is_streamable, run_streaming

logger = logging.getLogger("cymangum.runtime")

ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
_JSON = {"Content-Type": "application/json"}


class _Terminated(SystemExit):
    """SIGTERM arrived while waiting for the next event.

    Raised by the signal handler out of the blocking /next read. A SystemExit, so that no `except Exception`
    on the way (nor asyncio, which lets only SystemExit and KeyboardInterrupt out of a callback) swallows it.
    """


def streaming_from_env() -> bool:
    return os.environ.get("CYMANGUM_STREAMING", "").strip().lower() not in ("", "0", "false", "no", "off")


class Runtime:
    """Serves one handler against the Runtime API at `address` (AWS_LAMBDA_RUNTIME_API by default)."""

    def __init__(self, handler: Any, *, address: str | None = None, streaming: bool | None = None) -> None:
        self.handler = handler
        self.client = RuntimeAPIClient(address or os.environ["AWS_LAMBDA_RUNTIME_API"])
        self.streaming = streaming_from_env() if streaming is None else streaming
        self._idle = False
        self._terminating = False

    # -- the loop ----------------------------------------------------------------------------------------------
    def run_forever(self) -> int:
        """Answer invocations until SIGTERM; then run the handler's lifespan shutdown and return 0."""
        try:
            while not self._terminating:
                self._own_sigterm()
                self._idle = True
                try:
                    response = self.client.request("GET", "/invocation/next")
                finally:
                    self._idle = False
                if response.status != 200:
                    raise RuntimeAPIError(
                        f"GET /invocation/next answered {response.status}: {response.body[:200]!r}"
                    )
                self.invoke(response.headers, response.body)
        except _Terminated:
            pass
        finally:
            self.client.close()
        shutdown = getattr(self.handler, "shutdown", None)
        if callable(shutdown):
            shutdown()
        return 0

    def _own_sigterm(self) -> None:
        # Mangum chains its own handler at lifespan startup; the runtime runs the shutdown itself, outside the loop.
        if threading_is_main() and signal.getsignal(signal.SIGTERM) != self._on_sigterm:
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self._terminating = True
        if self._idle:
            raise _Terminated

    # -- one invocation ----------------------------------------------------------------------------------------
    def invoke(self, headers: dict[str, str], body: bytes) -> None:
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(headers)
        path = f"/invocation/{request_id}"
        try:
            event = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            self._post_error(path, exc, "Runtime.UnmarshalError")
            return
        try:
            if self.streaming and isinstance(self.handler, Mangum) and is_streamable(event):
                if self._stream(event, context, path):
                    return
            result = self.handler(event, context)
        except Exception as exc:
            logger.exception("The handler raised an exception.")
            self._post_error(path, exc)
            return
        try:
            payload = orjson.dumps(result)
        except TypeError as exc:
            self._post_error(path, exc, "Runtime.MarshalError")
            return
        self._post(f"{path}/response", payload, _JSON)

    def _stream(self, event: Any, context: LambdaContext, path: str) -> bool:
        """Stream the response; False when the event must be answered buffered instead (a malformed event's 400)."""
        mangum: Mangum = self.handler
        handler = mangum.infer(event, context)
        try:
            handler.scope  # noqa: B018 - built once here so that a malformed event gets Mangum's buffered 400
        except MalformedEventError:
            return False
        try:
            _runner.run(run_streaming(mangum, handler, self.client, f"{path}/response"))
        except StreamError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            self._post_error(path, cause)
        except RuntimeAPIError:
            logger.exception("The streamed response could not be delivered.")
        return True

    def _post_error(self, path: str, exc: BaseException, error_type: str | None = None) -> None:
        payload = error_payload(exc, error_type)
        self._post(f"{path}/error", orjson.dumps(payload), {**_JSON, ERROR_TYPE_HEADER: payload["errorType"]})

    def _post(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        response = self.client.request("POST", path, body, headers)
        if response.status != 202:
            logger.error("POST %s answered %s: %r", path, response.status, response.body[:500])


def threading_is_main() -> bool:
    return threading.current_thread() is threading.main_thread()


def report_init_error(address: str, exc: InitError | BaseException) -> None:
    """POST /init/error with the error's type and payload."""
    error_type = exc.error_type if isinstance(exc, InitError) else f"Runtime.{type(exc).__name__}"
    payload = error_payload(exc, error_type)
    client = RuntimeAPIClient(address)
    try:
        client.request("POST", "/init/error", orjson.dumps(payload), {**_JSON, ERROR_TYPE_HEADER: error_type})
    finally:
        client.close()
    print(f"[ERROR] {error_type}: {exc}", file=sys.stderr, flush=True)
