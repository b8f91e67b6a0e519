"""cymangum: a fast, drop-in replacement for Mangum (ASGI applications on AWS Lambda)."""

import importlib
import sys

from .adapter import Mangum

__version__ = "0.1.0"
__all__ = ["Mangum", "install"]

MANGUM_MODULES = (
    "",
    ".adapter",
    ".exceptions",
    ".types",
    ".handlers",
    ".handlers.alb",
    ".handlers.api_gateway",
    ".handlers.lambda_at_edge",
    ".handlers.utils",
    ".protocols",
    ".protocols.http",
    ".protocols.lifespan",
)


def __getattr__(name: str) -> object:
    # `cymangum.types` stays available as an attribute, as `mangum.types` is, without costing every cold start.
    if name == "types":
        return importlib.import_module("cymangum.types")
    raise AttributeError(f"module 'cymangum' has no attribute {name!r}")


def install() -> None:
    """Make `import mangum` and every Mangum submodule resolve to cymangum's modules (the same objects).

    Call it before anything imports mangum, like uvloop.install(): libraries that wrap Mangum get the fast path.
    """
    for suffix in MANGUM_MODULES:
        sys.modules["mangum" + suffix] = importlib.import_module("cymangum" + suffix)
