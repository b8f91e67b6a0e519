"""The context object handed to the handler, with the attributes of the managed Python runtime's."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import orjson


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    __slots__ = ("client", "custom", "env")

    def __init__(self, data: Mapping[str, Any]) -> None:
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = data.get("custom")
        self.env = data.get("env")


class LambdaContext:
    """One invocation's context: request id, ARN and deadline from the /next headers, the rest from the environment."""

    def __init__(self, headers: Mapping[str, str], environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.aws_request_id = headers.get("lambda-runtime-aws-request-id", "")
        self.invoked_function_arn = headers.get("lambda-runtime-invoked-function-arn", "")
        self._deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or 0)
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 0)
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = _parse(headers.get("lambda-runtime-cognito-identity"), CognitoIdentity)
        self.client_context = _parse(headers.get("lambda-runtime-client-context"), ClientContext)

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )


def _parse(value: str | None, cls: Any) -> Any:
    if not value:
        return None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return cls(data) if isinstance(data, dict) else None
