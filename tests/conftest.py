"""Every test runs against both core implementations in one session: the compiled `_core` and `_core_py`.

The `core_impl` fixture swaps the functions that `cymangum.core` hands to the handlers. The compiled case
carries the `c_extension` marker; only `--no-c-extensions` deselects it. A missing compiled module makes
those cases error, never skip.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from types import ModuleType

import pytest
from hypothesis import settings

from cymangum import core

settings.register_profile("default", max_examples=300, deadline=None)
settings.register_profile("ci", max_examples=2500, deadline=None)
settings.register_profile("asan", max_examples=20000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PURE_REQUESTED = os.environ.get("CYMANGUM_NO_EXTENSIONS", "") not in ("", "0")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-c-extensions",
        action="store_true",
        default=False,
        help="run only the pure-Python core (deselects the compiled cases)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "one_impl: run once, with whichever core the dispatcher chose")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "core_impl" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("one_impl"):
        metafunc.parametrize("core_impl", ["default"], indirect=True)
        return
    metafunc.parametrize(
        "core_impl",
        [pytest.param("c", marks=pytest.mark.c_extension), "py"],
        indirect=True,
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not (config.getoption("--no-c-extensions") or PURE_REQUESTED):
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("c_extension") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def load_impl(name: str) -> ModuleType:
    """The compiled or the pure core module; importing the compiled one fails loudly if it is missing."""
    return importlib.import_module("cymangum._core" if name == "c" else "cymangum._core_py")


@pytest.fixture(autouse=True)
def core_impl(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """Point cymangum.core at one implementation for the length of the test."""
    name = getattr(request, "param", "default")
    if name == "default":
        yield core.implementation
        return
    module = load_impl(name)
    saved = {attr: getattr(core, attr) for attr in core.NAMES}
    for attr in core.NAMES:
        setattr(core, attr, getattr(module, attr))
    try:
        yield module
    finally:
        for attr, value in saved.items():
            setattr(core, attr, value)
