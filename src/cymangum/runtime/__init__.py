"""cymangum's own Lambda runtime: an asyncio Runtime API client that answers buffered or streams the response.

    python -m cymangum.runtime [--streaming] module:attr      (module.attr, Lambda's _HANDLER form, works too)

The target is a cymangum `Mangum` handler, a bare ASGI app (wrapped in `Mangum(app, lifespan_once=True)`) or any
Lambda handler function (always answered buffered). Streaming (Function URL and REST events) is turned on by
CYMANGUM_STREAMING=1 or `main(..., streaming=True)` / `serve(..., streaming=True)`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from .context import LambdaContext
from .errors import InitError
from .loader import load
from .loop import Runtime, report_init_error

__all__ = ["InitError", "LambdaContext", "Runtime", "load", "main", "serve"]

USAGE = "usage: python -m cymangum.runtime [--streaming] module:attr"


def serve(handler: Any, *, streaming: bool | None = None, address: str | None = None) -> int:
    """Run the invocation loop for an already loaded handler (a Mangum instance or a handler function)."""
    return Runtime(handler, address=address, streaming=streaming).run_forever()


def main(argv: Sequence[str] | None = None, *, streaming: bool | None = None) -> int:
    """Load the handler named by argv (or _HANDLER), then serve it; init errors go to /init/error (exit 1)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--streaming" in args:
        args.remove("--streaming")
        streaming = True
    if len(args) > 1 or any(arg.startswith("-") for arg in args):
        print(USAGE, file=sys.stderr)
        return 2
    spec = args[0] if args else os.environ.get("_HANDLER", "")
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        print("AWS_LAMBDA_RUNTIME_API is not set: this runs inside Lambda (or an emulator)", file=sys.stderr)
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(
            stream=sys.stdout, level=logging.WARNING, format="[%(levelname)s] %(name)s: %(message)s"
        )
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root and task_root not in sys.path:
        sys.path.insert(0, task_root)
    try:
        handler = load(spec)
    except Exception as exc:
        report_init_error(address, exc)
        return 1
    return serve(handler, streaming=streaming, address=address)
