"""Type names that Mangum exposes in `mangum.types`, with the same meanings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Literal, Protocol, TypedDict

LambdaEvent = dict[str, Any]
QueryParams = MutableMapping[str, "str | Sequence[str]"]


class LambdaCognitoIdentity(Protocol):
    """Information about the Amazon Cognito identity that authorized the request."""

    cognito_identity_id: str
    cognito_identity_pool_id: str


class LambdaMobileClient(Protocol):
    """Mobile client information for the application and the device."""

    installation_id: str
    app_title: str
    app_version_name: str
    app_version_code: str
    app_package_name: str


class LambdaMobileClientContext(Protocol):
    """Information about the client application and device when invoked through the AWS Mobile SDK."""

    client: LambdaMobileClient
    custom: dict[str, Any]
    env: dict[str, Any]


class LambdaContext(Protocol):
    """The context object that Lambda passes to the handler."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    identity: LambdaCognitoIdentity | None
    client_context: LambdaMobileClientContext | None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the execution times out."""


Headers = list[list[bytes]]
Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ASGI(Protocol):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...


LifespanMode = Literal["auto", "on", "off"]


class Response(TypedDict):
    status: int
    headers: Headers
    body: bytes


class LambdaConfig(TypedDict):
    api_gateway_base_path: str
    text_mime_types: list[str]
    exclude_headers: list[str]


class LambdaHandler(Protocol):
    def __init__(self, *args: Any) -> None: ...

    @classmethod
    def infer(cls, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> bool: ...

    @property
    def body(self) -> bytes: ...

    @property
    def scope(self) -> Scope: ...

    def __call__(self, response: Response) -> dict[str, Any]: ...
