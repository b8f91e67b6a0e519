"""A handler module whose ``Mangum(...)`` call rejects its configuration at import time: the runtime reports the
adapter's ``ConfigurationError`` as the init error."""

from __future__ import annotations

from typing import Any

from ._adapter import Mangum


async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise AssertionError("unreachable")


handler = Mangum(app, lifespan="sometimes")
