"""Error reports in the shape the Runtime API and the managed runtimes use."""

from __future__ import annotations

import traceback
from typing import Any


class InitError(Exception):
    """The handler could not be loaded; `error_type` is the Runtime.* type reported to /init/error."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def error_payload(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """{"errorMessage", "errorType", "stackTrace"}, as awslambdaric reports a handler's exception."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)),
    }
