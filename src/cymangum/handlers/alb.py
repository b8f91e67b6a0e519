"""Application Load Balancer targets, with or without multi-value headers."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from .. import core

if TYPE_CHECKING:
    from ..types import LambdaConfig, LambdaContext, LambdaEvent, QueryParams, Response, Scope

# Mangum's helper functions below are for code that imports them; they use the reference core's pieces,
# imported when called so that the handler's import stays light.


def all_casings(input_string: str) -> Generator[str, None, None]:
    """Every upper/lower spelling of input_string, first letter varying fastest, all-lowercase first."""
    from .._core_py import _all_casings_at, _casing_count

    for index in range(_casing_count(input_string)):
        yield _all_casings_at(input_string, index)


def case_mutated_headers(multi_value_headers: dict[str, list[str]]) -> dict[str, str]:
    """One distinct spelling of the name per value, so that ALB's single-value headers can repeat a name."""
    from .._core_py import _all_casings_at, _casing_count

    headers: dict[str, str] = {}
    for key, values in multi_value_headers.items():
        for index in range(min(len(values), _casing_count(key.lower()))):
            headers[_all_casings_at(key.lower(), index)] = values[index]
    return headers


def encode_query_string_for_alb(params: QueryParams) -> bytes:
    """ALB passes query values through still encoded: decode them, then encode them once (SPEC 3.3)."""
    from .._core_py import _urlencode

    if not params:
        return b""
    return _urlencode(dict(params), alb=True)


def transform_headers(event: LambdaEvent) -> list[tuple[bytes, bytes]]:
    """The request's headers as (name, value) byte pairs, one per value, names lowercased."""
    from .._core_py import _alb_headers

    return [(name, value) for name, value in _alb_headers(event)[0]]


class ALB:
    """ALB Lambda target (SPEC 3.3, 4.3)."""

    @classmethod
    def infer(cls, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> bool:
        request_context = event.get("requestContext") if type(event) is dict else None
        return type(request_context) is dict and "elb" in request_context

    def __init__(self, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> None:
        self.event = event
        self.context = context
        self.config = config

    @property
    def body(self) -> bytes:
        event = self.event
        return core.request_body(event.get("body"), event.get("isBase64Encoded", False))

    @property
    def scope(self) -> Scope:
        return core.alb_scope(self.event, self.context)

    def __call__(self, response: Response) -> dict[str, Any]:
        config = self.config
        return core.alb_result(
            response["status"],
            response["headers"],
            response["body"],
            config["text_mime_types"],
            config["exclude_headers"],
            "multiValueHeaders" in self.event,
        )
