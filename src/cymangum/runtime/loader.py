"""Loading the handler named on the command line (`module:attr`, or Lambda's `module.attr` / `dir/module.attr`)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .. import Mangum
from .errors import InitError


def split_spec(spec: str) -> tuple[str, str]:
    """`pkg.module:attr` or `pkg.module.attr` (Lambda's _HANDLER) or `dir/module.attr` -> (module, attr)."""
    spec = spec.strip()
    if ":" in spec:
        module, _, attr = spec.partition(":")
    else:
        module, _, attr = spec.rpartition(".")
    module = module.replace("/", ".").strip(".")
    if (
        not module
        or not attr
        or not all(part.isidentifier() for part in (*module.split("."), *attr.split(".")))
    ):
        raise InitError(
            "Runtime.MalformedHandlerName", f"Bad handler '{spec}': expected module:attr or module.attr"
        )
    return module, attr


def load(spec: str) -> Any:
    """The handler: a Mangum instance or any Lambda handler function as is; a bare ASGI app wrapped in Mangum."""
    module_name, attr = split_spec(spec)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        ) from exc
    except Exception as exc:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc!r}"
        ) from exc
    target: Any = module
    for name in attr.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise InitError(
                "Runtime.HandlerNotFound", f"Handler '{attr}' missing on module '{module_name}'"
            ) from None
    if isinstance(target, Mangum):
        return target
    if is_asgi_app(target):
        return Mangum(target, lifespan_once=True)
    if not callable(target):
        raise InitError(
            "Runtime.HandlerNotFound", f"Handler '{attr}' on module '{module_name}' is not callable"
        )
    return target


def is_asgi_app(target: Any) -> bool:
    """An ASGI 3 app: an async function (or an object whose __call__ is one) taking (scope, receive, send)."""
    call = target if inspect.isroutine(target) else type(target).__call__
    if not inspect.iscoroutinefunction(call):
        return False
    try:
        params = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError):
        return False
    return len(params) == 3
