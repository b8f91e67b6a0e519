"""Warm invocations end to end, cymangum beside Mangum 0.22, plus the direct-call floor.

One case per event source x app (raw ASGI, Starlette, FastAPI) x lifespan ("off", "auto") x adapter. Each
group holds one source/app/lifespan combination, so the report shows cymangum, Mangum and (for lifespan off)
the floor side by side:

- ``cymangum`` / ``mangum``: ``handler(event, context)``, the handler built once, the same event every time.
- ``floor``: no adapter, the app called directly with a prebuilt scope through ``loop.run_until_complete`` on a
  reused loop (what the app itself costs, Mangum's way of running it).

The ratio table of the issue comes from ``scripts/bench_report.py`` (interleaved rounds); these suites are for
browsing and for ``--benchmark-compare`` between commits. Nothing here asserts a time.
"""

from __future__ import annotations

from typing import Any

import pytest

import workloads

CASES = [
    pytest.param(source, app, lifespan, adapter, id=f"{source}-{app}-lifespan_{lifespan}-{adapter}")
    for source in workloads.SOURCES
    for app in ("raw", "starlette", "fastapi")
    for lifespan in ("off", "auto")
    for adapter in ("cymangum", "mangum", *(("floor",) if lifespan == "off" else ()))
]


@pytest.mark.parametrize(("source", "app_kind", "lifespan", "adapter"), CASES)
def test_invocation(
    benchmark: Any, event_for: Any, app_for: Any, source: str, app_kind: str, lifespan: str, adapter: str
) -> None:
    app = app_for(app_kind)
    event = event_for(source)
    if adapter == "floor":
        call = workloads.floor(app, event)
    else:
        if adapter == "mangum":
            pytest.importorskip("mangum")
        call = workloads.invocation(adapter, app, event, lifespan)
        workloads.check_result(call())
    benchmark.group = f"invocation: {workloads.SOURCE_LABELS[source]}, {app_kind} app, lifespan {lifespan}"
    benchmark.extra_info.update(source=source, app=app_kind, lifespan=lifespan, adapter=adapter)
    benchmark(call)
