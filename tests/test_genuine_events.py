"""Every genuine AWS event in shared/events/ through cymangum and through the real Mangum 0.22.

Where Mangum answers, cymangum's result and the scope the app saw are identical. Where they differ it is one
of the documented cases: non-proxy events (authorizer, WebSocket, VPC Lattice) are refused with a clear
UnrecognizedEventError even when their keys fool Mangum's predicates, and events Mangum crashes on get a 400.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import mangum
import pytest

import cymangum
from cymangum.exceptions import UnrecognizedEventError
from tests.asgi_apps import complete_lifespan
from tests.events import EVENTS_DIR

EVENT_FILES = sorted(EVENTS_DIR.glob("*/*.json"))

# Events that are not HTTP proxy requests, and the reason cymangum gives.
NOT_PROXY = {
    "apigw-custom-auth-request.json": "authorizer",
    "apigw-custom-auth-request-type-request.json": "authorizer",
    "apigw-v2-custom-authorizer-v1-request.json": "authorizer",
    "apiGatewayAuthorizerRequestEvent.json": "authorizer",
    "apiGatewayAuthorizerTokenEvent.json": "authorizer",
    "apigw-v2-custom-authorizer-v2-request.json": "authorizer",
    "apiGatewayAuthorizerV2Event.json": "authorizer",
    "apigw-websocket-request.json": "WebSocket",
    "apigw-websocket-request-disconnect.json": "WebSocket",
    "apigw-websocket-request-send-message.json": "WebSocket",
    "vpcLatticeV2Event.json": "VPC Lattice",
    "vpcLatticeV2EventWithHeaders.json": "VPC Lattice",
    "vpcLatticeEventV2PathTrailingSlash.json": "VPC Lattice",
    "vpcLatticeEvent.json": "keys seen",
    "vpcLatticeEventPathTrailingSlash.json": "keys seen",
}


def test_every_event_file_is_covered() -> None:
    assert len(EVENT_FILES) >= 40
    assert set(NOT_PROXY) <= {path.name for path in EVENT_FILES}


def make_app(seen: list[dict[str, Any]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await complete_lifespan(receive, send)
            return
        message = await receive()
        seen.append({**{k: v for k, v in scope.items() if not k.startswith("aws.")}, "body": message["body"]})
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    [b"content-type", b"application/json"],
                    [b"set-cookie", b"a=1"],
                    [b"Set-Cookie", b"b=2"],
                    [b"x-dup", b"1"],
                    [b"X-Dup", b"2"],
                ],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps({"path": scope["path"]}).encode()})

    return app


def run(adapter_cls: Any, event: dict[str, Any], lifespan: str) -> tuple[str, Any, list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    try:
        result = adapter_cls(make_app(seen), lifespan=lifespan)(event, None)
    except Exception as exc:
        return "error", exc, seen
    return "ok", result, seen


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("lifespan", ["off", "auto"])
def test_genuine_event(path: Path, lifespan: str, caplog: pytest.LogCaptureFixture) -> None:
    event = json.loads(path.read_text())
    theirs = run(mangum.Mangum, json.loads(path.read_text()), lifespan)
    ours = run(cymangum.Mangum, event, lifespan)
    assert event == json.loads(path.read_text()), "the event must not be mutated"

    if path.name in NOT_PROXY:
        assert ours[0] == "error" and isinstance(ours[1], UnrecognizedEventError)
        assert isinstance(ours[1], RuntimeError)
        assert str(ours[1]).startswith("The adapter was unable to infer a handler to use for the event.")
        assert NOT_PROXY[path.name] in str(ours[1])
        return

    assert ours[0] == "ok", ours[1]
    if theirs[0] == "error":
        # Mangum crashes (e.g. a body marked base64 that is not); cymangum answers 400 and logs why.
        status_key = "status" if "Records" in event else "statusCode"
        assert ours[1][status_key] == 400
        assert ours[2] == [], "the app must not be called for a malformed event"
        assert any(r.levelno == logging.WARNING and "400" in r.getMessage() for r in caplog.records)
        return
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    assert len(ours[2]) == 1
