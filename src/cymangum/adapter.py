"""Mangum: the Lambda handler that runs an ASGI app for each HTTP event (SPEC 1, 2)."""

from __future__ import annotations

import logging
from typing import Any

from . import _runner
from .exceptions import ConfigurationError, InvalidResponseError, MalformedEventError, UnrecognizedEventError
from .handlers import ALB, APIGateway, HTTPGateway, LambdaAtEdge
from .protocols.http import HTTPCycle, error_response
from .protocols.lifespan import LifespanCycle
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
        TEXT_MIME_TYPES: list[str] | None = None,
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
        self.config = LambdaConfig(
            api_gateway_base_path=api_gateway_base_path or "/",
            text_mime_types=mime_types,
            exclude_headers=[header.lower() for header in exclude_headers or []],
        )
        self._setup_event_loop()

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
        except MalformedEventError as exc:
            return _bad_request(handler, exc)
        if self.lifespan == "off":
            try:
                body = handler.body
            except MalformedEventError as exc:
                return _bad_request(handler, exc)
            return _result(handler, HTTPCycle(scope, body)(self.app))
        return _runner.run(self._invoke_with_lifespan(handler, scope))

    async def _invoke_with_lifespan(self, handler: LambdaHandler, scope: Any) -> dict[str, Any]:
        """Startup, the request, shutdown: Mangum's per-invocation order, in one drive of the loop."""
        lifespan_cycle = LifespanCycle(self.app, self.lifespan)
        await lifespan_cycle.startup()
        try:
            scope.update({"state": lifespan_cycle.lifespan_state.copy()})
            try:
                body = handler.body
            except MalformedEventError as exc:
                return _bad_request(handler, exc)
            response = await HTTPCycle(scope, body).run(self.app)
            return _result(handler, response)
        finally:
            await lifespan_cycle.shutdown()


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
    logging.getLogger("mangum.http").warning("Malformed %s event answered with 400: %s", type(handler).__name__, exc)
    return handler({**_BAD_REQUEST})


def _result(handler: LambdaHandler, response: Response) -> dict[str, Any]:
    """The handler's result dict; a response the source cannot carry is the app's error, answered with a 500."""
    try:
        return handler(response)
    except InvalidResponseError as exc:
        logging.getLogger("mangum.http").error("The application sent an invalid response: %s", exc)
        return handler(error_response())
