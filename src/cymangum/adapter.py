"""Mangum: the Lambda handler that runs an ASGI app for each HTTP event (SPEC 1, 2)."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any, Literal

from . import _runner
from .exceptions import (
    ConfigurationError,
    InvalidResponseError,
    LifespanFailure,
    MalformedEventError,
    UnrecognizedEventError,
)
from .handlers import ALB, APIGateway, HTTPGateway, LambdaAtEdge
from .protocols.http import HTTPCycle, error_response
from .protocols.lifespan import LifespanCycle

if TYPE_CHECKING:
    from .types import ASGI, LambdaConfig, LambdaContext, LambdaEvent, LambdaHandler, LifespanMode, Response

DEFAULT_TEXT_MIME_TYPES: list[str] = [
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/vnd.api+json",
    "application/vnd.oai.openapi",
]

HANDLERS: list[type[LambdaHandler]] = [ALB, HTTPGateway, APIGateway, LambdaAtEdge]

logger = logging.getLogger("mangum")

_UNRECOGNIZED = (
    "The adapter was unable to infer a handler to use for the event. This is likely related to how the Lambda "
    "function was invoked. (Are you testing locally? Make sure the request payload is valid for a supported "
    "handler.)"
)

_GATEWAY_TIMEOUT: Response = {
    "status": 504,
    "headers": [[b"content-type", b"text/plain; charset=utf-8"]],
    "body": b"Gateway Timeout",
}

_BAD_REQUEST: Response = {
    "status": 400,
    "headers": [[b"content-type", b"text/plain; charset=utf-8"]],
    "body": b"Bad Request",
}


class Mangum:
    """Wrap an ASGI app as a Lambda handler: `handler = Mangum(app)`, then Lambda calls `handler(event, context)`."""

    def __init__(
        self,
        app: ASGI,
        lifespan: LifespanMode = "auto",
        api_gateway_base_path: str = "/",
        custom_handlers: list[type[LambdaHandler]] | None = None,
        text_mime_types: list[str] | None = None,
        exclude_headers: list[str] | None = None,
        *,
        TEXT_MIME_TYPES: list[str] | None = None,  # the spelling Mangum's documentation shows
        lifespan_once: bool | Literal["init"] = False,
        aws_exact: bool = False,
        reraise: bool = False,
        deadline_margin_ms: int | None = None,
    ) -> None:
        if lifespan not in ("auto", "on", "off"):
            raise ConfigurationError("Invalid argument supplied for `lifespan`. Choices are: auto|on|off")
        self.app = app
        self.lifespan = lifespan
        self.custom_handlers = custom_handlers or []
        mime_types = text_mime_types or [*DEFAULT_TEXT_MIME_TYPES]
        if TEXT_MIME_TYPES:
            # Documented by Mangum as adding to the defaults (DESIGN "Beyond Mangum").
            mime_types = [*mime_types, *(m for m in TEXT_MIME_TYPES if m not in mime_types)]
        # A plain dict, read at every call (users and Mangum's tests change it after construction).
        self.config: LambdaConfig = {
            "api_gateway_base_path": api_gateway_base_path or "/",
            "text_mime_types": mime_types,
            "exclude_headers": [header.lower() for header in exclude_headers or []],
        }
        self.lifespan_once = lifespan_once
        self.aws_exact = aws_exact
        if aws_exact:
            from . import aws_exact as _aws_exact  # imported only by the functions that ask for it

            self._aws_exact = _aws_exact
        self.reraise = reraise
        self.deadline_margin_ms = deadline_margin_ms
        self._environment_lifespan: LifespanCycle | None = None
        self._environment_thread: int | None = None
        self._setup_event_loop()
        if lifespan_once == "init" and lifespan != "off":
            # Startup now, inside Lambda's init phase (which is not billed on the managed runtimes).
            _runner.run(self._start_environment_lifespan())

    def _setup_event_loop(self) -> None:
        """Make sure the constructing thread has its loop (created once, reused by every invocation)."""
        _runner.thread_loop()

    def infer(self, event: LambdaEvent, context: LambdaContext) -> LambdaHandler:
        """The first handler class (custom ones first) whose infer() accepts the event, constructed."""
        for handler_cls in self.custom_handlers:
            if handler_cls.infer(event, context, self.config):
                return handler_cls(event, context, self.config)
        if type(event) is dict:
            reason = _not_an_http_request(event)
            if reason is None:
                for handler_cls in HANDLERS:
                    if handler_cls.infer(event, context, self.config):
                        return handler_cls(event, context, self.config)
        else:
            reason = f"the event is a {type(event).__name__}, not an object"
        if reason is None:
            keys = ", ".join(sorted(map(str, event))[:20]) or "none"
            reason = f"keys seen: {keys}"
        raise UnrecognizedEventError(f"{_UNRECOGNIZED} [{reason}]")

    def __call__(self, event: LambdaEvent, context: LambdaContext) -> dict[str, Any]:
        handler = self.infer(event, context)
        try:
            scope = handler.scope
            if self.aws_exact:
                self._aws_exact.adjust_scope(handler, scope)
        except MalformedEventError as exc:
            return _bad_request(handler, exc)
        if self.lifespan == "off" and self.deadline_margin_ms is None:
            # The usual case, with the cycle's own coroutine as the invocation's task: one coroutine less.
            try:
                http_cycle = HTTPCycle(scope, handler.body, self.reraise)
            except MalformedEventError as exc:
                return _bad_request(handler, exc)
            return self._result(handler, _runner.run(http_cycle.run(self.app)))
        if self.lifespan == "off":
            return _runner.run(self._request(handler, scope))
        if self.lifespan_once:
            cycle = self._environment_lifespan
            if cycle is None:
                return _runner.run(self._invoke_first(handler, scope))
            scope.update({"state": cycle.lifespan_state.copy()})
            return _runner.run(self._request(handler, scope))
        return _runner.run(self._invoke_with_lifespan(handler, scope))

    async def _request(self, handler: LambdaHandler, scope: Any) -> dict[str, Any]:
        """The request: body, the app through the HTTP cycle, the result dict."""
        try:
            cycle = HTTPCycle(scope, handler.body, self.reraise)
        except MalformedEventError as exc:
            return _bad_request(handler, exc)
        if self.deadline_margin_ms is None:
            return self._result(handler, await cycle.run(self.app))
        response = await self._run_before_deadline(cycle, getattr(handler, "context", None))
        if response is None:
            return handler({**_GATEWAY_TIMEOUT})
        return self._result(handler, response)

    async def _run_before_deadline(self, cycle: HTTPCycle, context: Any) -> Response | None:
        """The cycle's response, or None when the app has not answered deadline_margin_ms before Lambda's timeout."""
        margin = self.deadline_margin_ms or 0
        try:
            remaining = context.get_remaining_time_in_millis()
        except AttributeError:  # no Lambda context (a test, a custom caller): no deadline to watch
            return await cycle.run(self.app)
        budget = (remaining - margin) / 1000
        if budget > 0:
            task = asyncio.ensure_future(cycle.run(self.app))
            done, _ = await asyncio.wait((task,), timeout=budget)
            if done:
                return task.result()
            task.cancel()
            # Give the app a moment to unwind; one that ignores the cancellation is left behind.
            await asyncio.wait((task,), timeout=min(margin / 2000, 1.0))
        logging.getLogger("mangum.http").error(
            "%s %s: the application did not answer within %d ms; answered with 504, %d ms before the Lambda timeout.",
            cycle.scope.get("method"),
            cycle.scope.get("path"),
            max(remaining - margin, 0),
            margin,
        )
        return None

    async def _invoke_with_lifespan(self, handler: LambdaHandler, scope: Any) -> dict[str, Any]:
        """Startup, the request, shutdown: Mangum's per-invocation order, in one drive of the loop."""
        lifespan_cycle = LifespanCycle(self.app, self.lifespan)
        await lifespan_cycle.startup()
        try:
            scope.update({"state": lifespan_cycle.lifespan_state.copy()})
            return await self._request(handler, scope)
        finally:
            # One loop turn before shutdown, as Mangum's separate loop runs give tasks the request spawned
            # (skipped when there is nothing for it to run).
            if _runner.others_ready():
                await asyncio.sleep(0)
            await lifespan_cycle.shutdown()

    async def _invoke_first(self, handler: LambdaHandler, scope: Any) -> dict[str, Any]:
        """The first invocation with lifespan_once: startup, then the request; shutdown waits for the end."""
        cycle = await self._start_environment_lifespan()
        scope.update({"state": cycle.lifespan_state.copy()})
        return await self._request(handler, scope)

    async def _start_environment_lifespan(self) -> LifespanCycle:
        """Start the lifespan once. A failed startup raises LifespanFailure and is tried again next time."""
        cycle = LifespanCycle(self.app, self.lifespan)
        try:
            await cycle.startup()
        except LifespanFailure:
            cycle.cancel()
            raise
        self._environment_lifespan = cycle
        self._environment_thread = threading.get_ident()
        atexit.register(self.shutdown)
        if threading.current_thread() is threading.main_thread():
            _chain_sigterm(self.shutdown)
        return cycle

    def shutdown(self) -> None:
        """Run the once-per-environment lifespan shutdown now (also run on SIGTERM and at interpreter exit)."""
        cycle, self._environment_lifespan = self._environment_lifespan, None
        if cycle is None:
            return
        atexit.unregister(self.shutdown)
        if threading.get_ident() != self._environment_thread or _runner.thread_loop().is_running():
            logger.warning("Lifespan shutdown skipped: not on the thread and loop that ran startup.")
            return
        _runner.run(cycle.shutdown())

    def _result(self, handler: LambdaHandler, response: Response) -> dict[str, Any]:
        """The handler's result dict; a response the source cannot carry is the app's error, answered with a 500."""
        try:
            result = handler(response)
        except InvalidResponseError as exc:
            logging.getLogger("mangum.http").error("The application sent an invalid response: %s", exc)
            if self.reraise:
                raise
            response = error_response()
            result = handler(response)
        if self.aws_exact:
            result = self._aws_exact.adjust_result(handler, response, result)
        return result


def _chain_sigterm(shutdown: Any) -> None:
    """On SIGTERM (sent by Lambda before it ends an environment with extensions), shut down, then go on as before."""
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        shutdown()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def _not_an_http_request(event: dict[str, Any]) -> str | None:
    """Why an event that looks like an HTTP proxy event is not one (authorizer, WebSocket, VPC Lattice)."""
    if "methodArn" in event or "routeArn" in event:
        return "this is an API Gateway authorizer event, not a proxy request"
    request_context = event.get("requestContext")
    if type(request_context) is dict:
        if "connectionId" in request_context:
            return "this is an API Gateway WebSocket event; WebSockets are not supported"
        if "serviceNetworkArn" in request_context:
            return "this is a VPC Lattice event; VPC Lattice is not supported"
    elif "requestContext" in event:
        return "'requestContext' is not an object"
    return None


def _bad_request(handler: LambdaHandler, exc: MalformedEventError) -> dict[str, Any]:
    logging.getLogger("mangum.http").warning(
        "Malformed %s event answered with 400: %s", type(handler).__name__, exc
    )
    return handler({**_BAD_REQUEST})
