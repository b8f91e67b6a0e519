"""The ASGI HTTP cycle: one request message in, one buffered response out (SPEC 5)."""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import TYPE_CHECKING, Any

from .. import _runner
from ..exceptions import InvalidResponseError, UnexpectedMessage

if TYPE_CHECKING:
    from ..types import ASGI, Message, Response, Scope

_logger = logging.getLogger("mangum.http")
_ERROR_HEADERS = [[b"content-type", b"text/plain; charset=utf-8"]]
_ERROR_BODY = b"Internal Server Error"


def _below_500(status: Any) -> bool:
    return int(status) < 500


def _check_status(status: Any) -> None:
    """A status Lambda can return: an int in 100-599, or (as Mangum passes it through) such a number as text."""
    if type(status) is str and status.isdigit() and 100 <= int(status) <= 599:
        return
    raise InvalidResponseError(f"invalid response status {status!r}: an int from 100 to 599 is needed")


class HTTPCycleState(enum.Enum):
    """REQUEST: waiting for http.response.start; RESPONSE: body expected; COMPLETE: response done."""

    REQUEST = enum.auto()
    RESPONSE = enum.auto()
    COMPLETE = enum.auto()


# The cycle reads the states through module names: an enum member lookup costs as much as a Python call on 3.11.
_REQUEST, _RESPONSE, _COMPLETE = HTTPCycleState


def error_response() -> Response:
    """Mangum's 500 response, a new object each time."""
    return {"status": 500, "headers": [list(pair) for pair in _ERROR_HEADERS], "body": _ERROR_BODY}


class RequestReceiver:
    """The request side of an ASGI HTTP cycle, shared by the buffered cycle and cymangum.runtime's streamed one:
    the whole body in one http.request, then http.disconnect once the response is out (waiting until then)."""

    def __init__(self, body: bytes) -> None:
        self._request: Message | None = {"type": "http.request", "body": body, "more_body": False}
        self._response_done = False
        self._completed: asyncio.Future[None] | None = None

    async def receive(self) -> Message:
        request = self._request
        if request is not None:
            self._request = None
            return request
        if not self._response_done:
            if self._completed is None:
                self._completed = asyncio.get_running_loop().create_future()
            # Shielded: a caller that cancels its own receive() (Starlette's is_disconnected does) must not
            # cancel the future that every other waiter shares.
            await asyncio.shield(self._completed)
        return {"type": "http.disconnect"}

    def response_done(self) -> None:
        """The response is out: waiting and later receive() calls answer http.disconnect."""
        self._response_done = True
        if self._completed is not None and not self._completed.done():
            self._completed.set_result(None)


class HTTPCycle(RequestReceiver):
    """Runs an ASGI app for one request. `cycle(app)` is synchronous and returns the Response dict.

    With reraise=True an exception from the app propagates (after logging) instead of becoming a 500.
    """

    def __init__(self, scope: Scope, body: bytes, reraise: bool = False) -> None:
        RequestReceiver.__init__(self, body)  # cheaper than super() on the per-request path
        self.scope = scope
        self.reraise = reraise
        self.state = _REQUEST
        self.logger = _logger
        self._chunks: list[bytes] = []
        self.status: Any = None
        self.headers: Any = None
        self.body: bytes | None = None

    def __call__(self, app: ASGI) -> Response:
        return _runner.run(self.run(app))

    async def run(self, app: ASGI) -> Response:
        """Run the app; any exception it raises (BaseException included, as Mangum does) becomes a 500."""
        try:
            await app(self.scope, self.receive, self.send)
        except BaseException:
            self.logger.exception("An error occurred running the application.")
            if self.reraise and not (self.state is _COMPLETE and _below_500(self.status)):
                # Re-raise mode: Lambda records a failed invocation. Only a completed response that is not a
                # server error (a background task failing after a 200) is still returned; a framework's own
                # 500 page (Starlette sends one, then re-raises) does not hide the exception.
                raise
            if self.state is _REQUEST:
                await self.send(
                    {"type": "http.response.start", "status": 500, "headers": error_response()["headers"]}
                )
                await self.send({"type": "http.response.body", "body": _ERROR_BODY})
            elif self.state is _RESPONSE:
                self._fail()
        if self.state is not _COMPLETE:
            # Mangum raises AttributeError here; an unfinished response is the app's error like any other.
            self.logger.error("The application returned without completing the response.")
            self._fail()
        return {"status": self.status, "headers": self.headers, "body": self.body}  # type: ignore[typeddict-item]

    def _fail(self) -> None:
        response = error_response()
        self.status, self.headers, self.body = response["status"], response["headers"], response["body"]
        self.state = _COMPLETE
        self.response_done()

    async def send(self, message: Message) -> None:
        message_type = message["type"]
        if self.state is _REQUEST and message_type == "http.response.start":
            status = message["status"]
            if type(status) is not int or not 100 <= status <= 599:
                _check_status(status)
            self.status = status
            self.headers = message.get("headers", [])
            self.state = _RESPONSE
        elif self.state is _RESPONSE and message_type == "http.response.body":
            chunk = message.get("body", b"")
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytearray, memoryview)):
                    raise InvalidResponseError(f"the response body must be bytes, not {type(chunk).__name__}")
                chunk = bytes(chunk)
            if message.get("more_body", False):
                self._chunks.append(chunk)
            else:
                chunks = self._chunks
                if chunks:
                    chunks.append(chunk)
                    chunk = b"".join(chunks)
                    self._chunks = []
                self.body = chunk
                self.state = _COMPLETE
                self.response_done()
                self.logger.info("%s %s %s", self.scope["method"], self.scope["path"], self.status)
        else:
            raise UnexpectedMessage(f"Unexpected {message_type}")
