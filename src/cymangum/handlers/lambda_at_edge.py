"""CloudFront Lambda@Edge (origin and viewer request events)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import core

if TYPE_CHECKING:
    from ..types import LambdaConfig, LambdaContext, LambdaEvent, Response, Scope


class LambdaAtEdge:
    """Lambda@Edge (SPEC 3.4, 4.4)."""

    @classmethod
    def infer(cls, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> bool:
        records = event.get("Records") if type(event) is dict else None
        return type(records) is list and len(records) > 0 and type(records[0]) is dict and "cf" in records[0]

    def __init__(self, event: LambdaEvent, context: LambdaContext, config: LambdaConfig) -> None:
        self.event = event
        self.context = context
        self.config = config

    @property
    def body(self) -> bytes:
        body = core.edge_request(self.event).get("body")
        if body is None:
            return b""
        if type(body) is not dict:
            return core.request_body(body, False)
        return core.request_body(body.get("data"), body.get("encoding", "") == "base64")

    @property
    def scope(self) -> Scope:
        return core.edge_scope(self.event, self.context)

    def __call__(self, response: Response) -> dict[str, Any]:
        config = self.config
        return core.edge_result(
            response["status"],
            response["headers"],
            response["body"],
            config["text_mime_types"],
            config["exclude_headers"],
        )
