"""The one place that chooses the compiled core (`_core`) or its pure-Python twin (`_core_py`).

CYMANGUM_NO_EXTENSIONS=1 forces the twin; CYMANGUM_REQUIRE_EXTENSIONS=1 turns a missing compiled module into an
ImportError instead of a quiet fallback (CI and the wheel tests set it). Other Pythons than CPython get the twin.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

NAMES = (
    "rest_scope",
    "http_v2_scope",
    "alb_scope",
    "edge_scope",
    "edge_request",
    "apigw_query_string",
    "alb_query_string",
    "request_body",
    "is_text_body",
    "encode_body",
    "rest_result",
    "http_v2_result",
    "alb_result",
    "edge_result",
)


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


if TYPE_CHECKING or _flag("CYMANGUM_NO_EXTENSIONS") or sys.implementation.name != "cpython":
    from . import _core_py as implementation
else:
    try:
        from . import _core as implementation  # type: ignore[attr-defined, no-redef]
    except ImportError:
        if _flag("CYMANGUM_REQUIRE_EXTENSIONS"):
            raise
        from . import _core_py as implementation  # type: ignore[no-redef]

COMPILED: bool = implementation.__name__.endswith("._core")

rest_scope = implementation.rest_scope
http_v2_scope = implementation.http_v2_scope
alb_scope = implementation.alb_scope
edge_scope = implementation.edge_scope
edge_request = implementation.edge_request
apigw_query_string = implementation.apigw_query_string
alb_query_string = implementation.alb_query_string
request_body = implementation.request_body
is_text_body = implementation.is_text_body
encode_body = implementation.encode_body
rest_result = implementation.rest_result
http_v2_result = implementation.http_v2_result
alb_result = implementation.alb_result
edge_result = implementation.edge_result
