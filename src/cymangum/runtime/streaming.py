"""A streamed response: the ASGI cycle that writes each body message to the Runtime API as it comes.

The request side is the event handler's (`.scope`, `.body`); the prelude's headers and cookies come from the
payload 2.0 result builder of cymangum.core. The POST is opened at `http.response.start` (prelude + 8 NUL bytes
at once, even for a body-less response); an app error after that ends the body with the error trailers, an app
error before it is returned to the caller, which reports it to /error.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import orjson

from .. import core
from ..exceptions import UnexpectedMessage
from ..protocols.http import HTTPCycleState, RequestReceiver
from ..protocols.lifespan import LifespanCycle
from ..types import Message, Scope
from .client import ChunkedRequest, RuntimeAPIClient
from .errors import error_payload

logger = logging.getLogger("mangum.http")

STREAMING_HEADERS = {
    "Lambda-Runtime-Function-Response-Mode": "streaming",
    "Content-Type": "application/vnd.awslambda.http-integration-response",
    "Trailer": "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
}
DELIMITER = b"\x00" * 8


class StreamError(Exception):
    """The app failed before the first byte of the response: answered through /error, with the original cause."""


def is_streamable(event: Any) -> bool:
    """Function URL events (payload 2.0 with a lambda-url domain) and REST API events stream; others never do."""
    if type(event) is not dict:
        return False
    context = event.get("requestContext")
    if type(context) is not dict:
        return False
    if event.get("version") == "2.0":
        return ".lambda-url." in str(context.get("domainName", ""))
    # REST API (payload 1.0 without "version"; HTTP API payload 1.0 carries "version": "1.0").
    return "version" not in event and "resource" in event and "httpMethod" in event and "elb" not in context


def prelude(status: int, headers: Any, text_mime_types: list[str], exclude: list[str]) -> bytes:
    """The JSON prelude: statusCode, single-valued headers (no set-cookie), cookies; then the 8 NUL bytes."""
    result = core.http_v2_result(status, headers, b"", text_mime_types, exclude)
    out = {
        "statusCode": result["statusCode"],
        "headers": result.get("headers", {}),
        "cookies": result.get("cookies", []),
    }
    return orjson.dumps(out) + DELIMITER


class StreamingCycle(RequestReceiver):
    """Runs the app for one request, streaming its response through `client` to `path`."""

    def __init__(
        self,
        scope: Scope,
        body: bytes,
        client: RuntimeAPIClient,
        path: str,
        text_mime_types: list[str],
        exclude: list[str],
    ) -> None:
        super().__init__(body)
        self.scope = scope
        self.client = client
        self.path = path
        self.text_mime_types = text_mime_types
        self.exclude = exclude
        self.state = HTTPCycleState.REQUEST
        self._stream: ChunkedRequest | None = None
        self.status: int | None = None

    async def run(self, app: Any) -> None:
        """Run the app to the end of the response. Raises StreamError when nothing was sent yet."""
        try:
            await app(self.scope, self.receive, self.send)
            if self.state is not HTTPCycleState.COMPLETE:
                raise UnexpectedMessage("the application returned without completing the response")
        except BaseException as exc:
            if self._stream is None:
                raise StreamError(str(exc)) from exc
            if self.state is HTTPCycleState.COMPLETE:
                logger.exception("An error occurred running the application after the response was sent.")
                return
            logger.exception("An error occurred running the application; the streamed response ends with it.")
            self.state = HTTPCycleState.COMPLETE
            payload = error_payload(exc)
            stream, self._stream = self._stream, None
            try:
                await stream.finish(
                    {
                        "Lambda-Runtime-Function-Error-Type": payload["errorType"],
                        "Lambda-Runtime-Function-Error-Body": base64.b64encode(
                            orjson.dumps(payload)
                        ).decode(),
                    }
                )
            finally:
                self.response_done()
            if not isinstance(exc, Exception):
                raise

    async def send(self, message: Message) -> None:
        message_type = message["type"]
        if self.state is HTTPCycleState.REQUEST and message_type == "http.response.start":
            self.status = message["status"]
            first = prelude(message["status"], message.get("headers", []), self.text_mime_types, self.exclude)
            self.state = HTTPCycleState.RESPONSE
            self._stream = await self.client.open_stream(self.path, STREAMING_HEADERS)
            await self._stream.write(first)
        elif self.state is HTTPCycleState.RESPONSE and message_type == "http.response.body":
            assert self._stream is not None
            chunk = message.get("body", b"")
            if type(chunk) is not bytes:
                if not isinstance(chunk, (bytearray, memoryview)):
                    raise TypeError(f"the response body must be bytes, not {type(chunk).__name__}")
                chunk = bytes(chunk)
            await self._stream.write(chunk)
            if not message.get("more_body", False):
                self.state = HTTPCycleState.COMPLETE
                stream, self._stream = self._stream, None
                try:
                    # Finished before waking receive(): an app that cancels its sender on http.disconnect
                    # (Starlette's StreamingResponse does) must not interrupt the Runtime API's answer.
                    await stream.finish()
                finally:
                    self.response_done()
                logger.info("%s %s %s", self.scope["method"], self.scope["path"], self.status)
        else:
            raise UnexpectedMessage(f"Unexpected {message_type}")


async def run_streaming(mangum: Any, handler: Any, client: RuntimeAPIClient, path: str) -> None:
    """The request through a StreamingCycle, with the lifespan as the Mangum instance is configured."""
    scope = handler.scope
    if mangum.aws_exact:
        from .. import aws_exact

        aws_exact.adjust_scope(handler, scope)
    config = mangum.config
    cycle = StreamingCycle(
        scope, handler.body, client, path, config["text_mime_types"], config["exclude_headers"]
    )
    if mangum.lifespan == "off":
        await cycle.run(mangum.app)
    elif mangum.lifespan_once:
        lifespan = mangum._environment_lifespan or await mangum._start_environment_lifespan()
        scope["state"] = lifespan.lifespan_state.copy()
        await cycle.run(mangum.app)
    else:
        lifespan = LifespanCycle(mangum.app, mangum.lifespan)
        await lifespan.startup()
        try:
            scope["state"] = lifespan.lifespan_state.copy()
            await cycle.run(mangum.app)
        finally:
            await asyncio.sleep(0)
            await lifespan.shutdown()
