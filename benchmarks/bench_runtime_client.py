"""Warm invocations through real Lambda runtimes: Mangum and cymangum, awslambdaric and cymangum.runtime.

Each case starts a runtime process against the Runtime API emulator of ``tests/lambda_runtime_api.py``
(loopback HTTP, TCP_NODELAY), warms it up, then times invocations of one genuine REST API event
(``go/apigw-request.json``) one after the other: the emulator queues the event, the runtime long-polls it, the
handler (a raw ASGI app wrapped in ``Mangum``, ``tests/ric_apps/bench_app.py``) runs, the result is posted
back. One round is one invocation, so pytest-benchmark's OPS column is invocations per second. The runtimes:

* ``python -m awslambdaric ric_apps.bench_app.handler`` (AWS's runtime interface client) with Mangum 0.22.0
  (``mangum-lifespan-*``) or cymangum's ``Mangum`` (``cymangum-lifespan-*``);
* ``python -m cymangum.runtime ric_apps.bench_app:handler`` (cymangum's own runtime, buffered: the result goes
  back as one ``Content-Length`` POST, which the emulator accepts) with cymangum's ``Mangum``
  (``runtime-cymangum-lifespan-*``).

The same app, the same event and the same ``lifespan`` setting (``auto`` or ``off``) in every case. ``plain``
is ``ric_apps.bench_app.plain_handler`` under awslambdaric: a handler function that returns a constant result
without any adapter, the floor of awslambdaric and the emulator. ``runtime-plain`` is the same function under
cymangum.runtime, its own floor. At the end the run prints a table: median latency and invocations per second,
and the latency each case adds over the awslambdaric floor and over the cymangum.runtime floor (each case's
``extra_info`` holds the added latencies too, for ``--benchmark-json``).

Run: ``PYTHONPATH=src python -m pytest benchmarks/bench_runtime_client.py`` (``RIC_BENCH_ROUNDS`` sets the
number of timed invocations per case, default 2000; needs ``mangum==0.22.0``, ``awslambdaric`` and
``orjson``). A benchmark, not a test: nothing here asserts a time.
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

import workloads  # noqa: E402
from lambda_runtime_api import LambdaRuntimeAPI, RuntimeProcess  # noqa: E402

ROUNDS = int(os.environ.get("RIC_BENCH_ROUNDS", "2000"))
WARMUP = max(50, ROUNDS // 10)
TIMEOUT = 30.0
REST_EVENT = "go/apigw-request.json"

RIC = "awslambdaric"
CYRUNTIME = "cymangum.runtime"
GROUP = "Lambda runtime client + Runtime API emulator: REST event, raw ASGI app"


def _rest_event() -> bytes:
    return (workloads.events_dir() / REST_EVENT).read_bytes()


def _package_path(name: str) -> list[str]:
    """Where this process imports ``name`` from, so that the runtime process imports the same one."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return [] if "site-packages" in root.parts else [str(root)]


def _command(runner: str, adapter: str) -> tuple[str, list[str] | None]:
    """The handler (``_HANDLER``) and the command of one case (None: awslambdaric, the default)."""
    attr = "plain_handler" if adapter == "plain" else "handler"
    if runner == RIC:
        return f"ric_apps.bench_app.{attr}", None
    spec = f"ric_apps.bench_app:{attr}"
    return spec, [sys.executable, "-m", "cymangum.runtime", spec]


def _adapter_env(runner: str, adapter: str) -> str:
    """RIC_APPS_ADAPTER (the plain handler wraps nothing, but bench_app builds its module-level handler)."""
    if adapter != "plain":
        return adapter
    return "cymangum" if runner == CYRUNTIME else "mangum"


@pytest.fixture
def function(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuntimeProcess]:
    runner, adapter, lifespan = request.param
    handler, command = _command(runner, adapter)
    needs_cymangum = adapter == "cymangum" or runner == CYRUNTIME
    with LambdaRuntimeAPI(function_name="cymangum-bench") as api:
        runtime = RuntimeProcess.start(
            api,
            handler,
            task_root=TESTS_DIR,
            log_path=tmp_path / "runtime.log",
            pythonpath=_package_path("cymangum") if needs_cymangum else [],
            env={
                "RIC_APPS_ADAPTER": _adapter_env(runner, adapter),
                "RIC_BENCH_LIFESPAN": lifespan,
            },
            command=command,
        )
        try:
            yield runtime
        finally:
            runtime.stop()


def _case_id(runner: str, adapter: str, lifespan: str) -> str:
    prefix = "runtime-" if runner == CYRUNTIME else ""
    return f"{prefix}{adapter}" if adapter == "plain" else f"{prefix}{adapter}-lifespan-{lifespan}"


_CASE_TUPLES = [
    (RIC, "plain", "auto"),
    (CYRUNTIME, "plain", "auto"),
    *[
        (runner, adapter, lifespan)
        for lifespan in ("auto", "off")
        for runner, adapter in ((RIC, "mangum"), (RIC, "cymangum"), (CYRUNTIME, "cymangum"))
    ],
]
CASES = [pytest.param(case, id=_case_id(*case)) for case in _CASE_TUPLES]


# -- the summary table ---------------------------------------------------------------------------------------

_RESULTS: dict[tuple[str, str, str], dict[str, float]] = {}


class _Summary:
    """Prints the side-by-side table at the end of the run (a plugin registered by the first case)."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not _RESULTS:
            return
        write = terminalreporter.write_line
        floors = {runner: _RESULTS.get((runner, "plain", "auto")) for runner in (RIC, CYRUNTIME)}
        terminalreporter.section(f"{GROUP}: side by side")
        write(
            f"python {sys.version.split()[0]}, awslambdaric {importlib.metadata.version('awslambdaric')}, "
            f"mangum {importlib.metadata.version('mangum')}, {ROUNDS} timed invocations per case. "
            "inv/s = 1 / median latency (robust on a busy machine); OPS = 1 / mean (pytest-benchmark's); "
            "added latency = median minus the floor's median"
        )
        header = f"{'runtime':<17} {'adapter':<8} {'lifespan':<8} {'median us':>9} {'inv/s':>6}"
        header += f" {'mean us':>8} {'OPS':>6} {'+us vs ric floor':>16} {'+us vs runtime floor':>20}"
        write(header)
        write("-" * len(header))
        for case in [case for case in _CASE_TUPLES if case in _RESULTS]:
            runner, adapter, lifespan = case
            stats = _RESULTS[case]
            over = []
            for runner_floor in (RIC, CYRUNTIME):
                floor = floors[runner_floor]
                over.append("-" if floor is None else f"{(stats['median'] - floor['median']) * 1e6:+.0f}")
            write(
                f"{runner:<17} {adapter:<8} {'-' if adapter == 'plain' else lifespan:<8}"
                f" {stats['median'] * 1e6:>9.0f} {1 / stats['median']:>6.0f}"
                f" {stats['mean'] * 1e6:>8.0f} {1 / stats['mean']:>6.0f} {over[0]:>16} {over[1]:>20}"
            )


@pytest.fixture(scope="module", autouse=True)
def _summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("cymangum-ric-bench-summary"):
        manager.register(_Summary(), "cymangum-ric-bench-summary")


@pytest.mark.parametrize("function", CASES, indirect=True)
def test_rest_invocation(benchmark: Any, function: RuntimeProcess, request: Any) -> None:
    api = function.api
    runner, adapter, lifespan = request.node.callspec.params["function"]
    event = _rest_event()

    first = function.invoke(event, timeout=TIMEOUT)  # fails at once if the runtime cannot start
    assert first.succeeded, first.error  # a broken runtime must not be timed
    result = first.result
    assert result["statusCode"] == 200 and json.loads(result["body"]) == {
        "message": "hello from a raw ASGI app"
    }
    for _ in range(WARMUP):
        api.invoke(event, timeout=TIMEOUT)

    benchmark.group = GROUP
    benchmark.extra_info.update(
        runtime=runner,
        adapter=adapter,
        lifespan=lifespan if adapter != "plain" else None,
        awslambdaric=importlib.metadata.version("awslambdaric"),
        python=sys.version.split()[0],
    )
    benchmark.pedantic(api.invoke, args=(event,), kwargs={"timeout": TIMEOUT}, rounds=ROUNDS, iterations=1)
    assert not api.server_errors

    stats = getattr(getattr(benchmark, "stats", None), "stats", None)  # None under --benchmark-disable
    if stats is not None:
        _RESULTS[(runner, adapter, lifespan)] = {"median": stats.median, "mean": stats.mean}
        for runner_floor, key in (
            (RIC, "added_over_awslambdaric_floor_us"),
            (CYRUNTIME, "added_over_runtime_floor_us"),
        ):
            floor = _RESULTS.get((runner_floor, "plain", "auto"))
            if floor is not None:
                benchmark.extra_info[key] = round((stats.median - floor["median"]) * 1e6, 1)
