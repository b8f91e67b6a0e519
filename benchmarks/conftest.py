"""Shared events and apps for the benchmark suites (the definitions live in workloads.py, also used by scripts/).

Run from the repository root:

    python -m pytest benchmarks/                          # every suite (pytest.ini here: bench_*.py files)
    python -m pytest benchmarks/bench_core.py             # one suite
    python -m pytest benchmarks/ --benchmark-json out.json

The main test run (``python -m pytest``, testpaths = tests) never collects these files. Benchmarks are not
tests: nothing asserts a time; each case only checks once that its result is a 200, so an error path is never
what gets timed. The header says which cymangum is measured (in-tree or installed, compiled core or pure twin).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workloads


def pytest_report_header(config: Any) -> list[str]:
    info = workloads.describe()
    return [
        f"cymangum {info['cymangum']} from {info['cymangum_path']} ({info['cymangum_from']}), "
        f"compiled core: {info['compiled_core']}, fast loop drive: {info['fast_loop']}",
        f"mangum {info['mangum']}, starlette {info['starlette']}, fastapi {info['fastapi']}; CPU: {info['cpu']}",
    ]


@pytest.fixture(scope="session")
def lambda_context() -> Any:
    return workloads.lambda_context()


@pytest.fixture
def event_for() -> Any:
    """event_for(source) -> a fresh event of that source ("rest", "http-v2", "url", "alb", "alb-multi", "edge")."""
    return workloads.load_event


@pytest.fixture(scope="session")
def app_for() -> Any:
    """app_for(kind) -> the app of that kind ("raw", "starlette", "fastapi"), one object per session."""

    def get(kind: str) -> Any:
        if kind == "starlette":
            pytest.importorskip("starlette")
        elif kind == "fastapi":
            pytest.importorskip("fastapi")
        return workloads.get_app(kind)

    return get
