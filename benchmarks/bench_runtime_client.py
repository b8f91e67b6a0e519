"""Warm invocations through the real Lambda runtime interface client: Mangum beside cymangum.

Each case starts ``python -m awslambdaric ric_apps.bench_app.handler`` against the Runtime API emulator of
``tests/lambda_runtime_api.py`` (loopback HTTP, TCP_NODELAY), warms it up, then times invocations of one genuine
REST API event (``go/apigw-request.json``) one after the other: the emulator queues the event, the runtime
long-polls it, the handler (a raw ASGI app wrapped in ``Mangum``) runs, the result is posted back. One round is
one invocation, so pytest-benchmark's OPS column is invocations per second. The ``plain`` case is a handler that
returns a constant dict without any adapter: the floor of the runtime client and the emulator, so each adapter's
own cost is its time minus the floor's.

Run: ``PYTHONPATH=src python -m pytest benchmarks/bench_runtime_client.py`` (``RIC_BENCH_ROUNDS`` sets the
number of timed invocations per case, default 2000; needs ``mangum==0.22.0`` and ``awslambdaric``). A benchmark,
not a test: nothing here asserts a time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("awslambdaric")
pytest.importorskip("mangum")

ROOT = Path(__file__).resolve().parents[1]
TESTS_DIR = ROOT / "tests"
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from lambda_runtime_api import LambdaRuntimeAPI, RuntimeProcess  # noqa: E402

ROUNDS = int(os.environ.get("RIC_BENCH_ROUNDS", "2000"))
WARMUP = max(50, ROUNDS // 10)
TIMEOUT = 30.0
REST_EVENT = "go/apigw-request.json"


def _rest_event() -> bytes:
    candidates = [
        os.environ.get("CYMANGUM_EVENTS_DIR"),
        TESTS_DIR / "events",
        ROOT.parent / "shared" / "events",
        "/work/shared/events",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / REST_EVENT).is_file():
            return (Path(candidate) / REST_EVENT).read_bytes()
    pytest.skip(f"{REST_EVENT} not found (set CYMANGUM_EVENTS_DIR to the AWS event corpus)")


def _package_path(name: str) -> list[str]:
    """Where this process imports ``name`` from, so that the runtime process imports the same one."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return [] if "site-packages" in root.parts else [str(root)]


@pytest.fixture
def function(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuntimeProcess]:
    adapter, lifespan = request.param
    handler = "ric_apps.bench_app.plain_handler" if adapter == "plain" else "ric_apps.bench_app.handler"
    with LambdaRuntimeAPI(function_name="cymangum-bench") as api:
        runtime = RuntimeProcess.start(
            api,
            handler,
            task_root=TESTS_DIR,
            log_path=tmp_path / "runtime.log",
            pythonpath=_package_path("cymangum") if adapter == "cymangum" else [],
            env={
                "RIC_APPS_ADAPTER": "mangum" if adapter == "plain" else adapter,
                "RIC_BENCH_LIFESPAN": lifespan,
            },
        )
        try:
            yield runtime
        finally:
            runtime.stop()


CASES = [
    pytest.param((adapter, lifespan), id=f"{adapter}-lifespan-{lifespan}" if adapter != "plain" else "plain")
    for lifespan in ("auto", "off")
    for adapter in (["plain"] if lifespan == "auto" else []) + ["mangum", "cymangum"]
]


@pytest.mark.parametrize("function", CASES, indirect=True)
def test_rest_invocation(benchmark: Any, function: RuntimeProcess, request: Any) -> None:
    api = function.api
    adapter, lifespan = request.node.callspec.params["function"]
    event = _rest_event()

    first = function.invoke(event, timeout=TIMEOUT)  # fails at once if the runtime cannot start
    assert first.succeeded, first.error  # a broken runtime must not be timed
    result = first.result
    assert result["statusCode"] == 200 and json.loads(result["body"]) == {
        "message": "hello from a raw ASGI app"
    }
    for _ in range(WARMUP):
        api.invoke(event, timeout=TIMEOUT)

    benchmark.group = "awslambdaric + Runtime API emulator: REST event, raw ASGI app"
    benchmark.extra_info.update(
        adapter=adapter,
        lifespan=lifespan if adapter != "plain" else None,
        awslambdaric=importlib.metadata.version("awslambdaric"),
        python=sys.version.split()[0],
    )
    benchmark.pedantic(api.invoke, args=(event,), kwargs={"timeout": TIMEOUT}, rounds=ROUNDS, iterations=1)
    assert not api.server_errors
