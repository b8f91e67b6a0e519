"""`cymangum bench`: warm invocation latency and cold start, for cymangum and (with --compare) Mangum.

Warm: one handler, the same event N times in this process, each invocation timed with perf_counter_ns (after
a warm-up); median, p99, mean and invocations per second.

Cold: fresh Python subprocesses, each timing inside itself the import of the adapter, the import of the app,
constructing the handler and the first invocation (what a Lambda cold start adds to the runtime's own start),
reported back as JSON; the parent also times the whole process. One discarded run first fills the bytecode
caches, as a deployed package would have them. The bundled demo app is loaded from its file in the child, so
that importing it does not import cymangum (which would charge cymangum's import to Mangum's figures).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from . import cli_events
from .cli_events import CLIError, Request

_CHILD = r"""
import importlib, importlib.util, json, sys, time
config = json.loads(sys.stdin.buffer.read())
sys.path[:] = config["sys_path"]

def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module

t0 = time.perf_counter_ns()
importlib.import_module(config["adapter"]).Mangum
t1 = time.perf_counter_ns()
# The CLI's helpers are loaded with the clock stopped (after the adapter, so they cannot make its import cheaper).
events = load("_cymangum_bench_events", config["events_file"])
event, context = config["event"], events.LambdaContext()
t1b = time.perf_counter_ns()
if config["demo_file"]:
    spec = events.AppSpec(load("_cymangum_bench_demo", config["demo_file"]).app, "demo")
else:
    spec = events.load_app(config["app"])
t2 = time.perf_counter_ns()
handler = events.make_handler(spec, adapter=config["adapter"], lifespan=config["lifespan"], base_path=config["base_path"])
t3 = time.perf_counter_ns()
result = handler(event, context)
t4 = time.perf_counter_ns()
status = result.get("statusCode", result.get("status")) if isinstance(result, dict) else None
sys.stdout.write(json.dumps({"import_adapter": t1 - t0, "import_app": t2 - t1b, "construct": t3 - t2,
                             "first_invocation": t4 - t3, "total": (t1 - t0) + (t4 - t1b), "status": status}))
"""

COLD_PHASES = ("import_adapter", "import_app", "construct", "first_invocation", "total", "process")


class Progress:
    """Progress on stderr: a live counter on a terminal, one line per finished phase otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and sys.stderr.isatty()
        self._last = 0.0
        self._started = 0.0
        self._label = ""

    def start(self, label: str) -> None:
        self._label = label
        self._started = time.perf_counter()
        self._last = 0.0

    def update(self, done: int, total: int) -> None:
        now = time.perf_counter()
        if self.live and now - self._last > 0.1:
            self._last = now
            sys.stderr.write(f"\r{self._label}: {done}/{total} ({done * 100 // total}%)  ")
            sys.stderr.flush()

    def finish(self, what: str) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._started
        clear = "\r\033[K" if self.live else ""
        sys.stderr.write(f"{clear}{self._label}: {what} in {elapsed:.2f} s\n")
        sys.stderr.flush()


def _percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile."""
    index = max(0, min(len(sorted_values) - 1, int(len(sorted_values) * fraction + 0.999999) - 1))
    return sorted_values[index]


def measure_warm(handler: Any, event: dict[str, Any], requests: int, progress: Progress) -> dict[str, float]:
    context = cli_events.LambdaContext()
    warmup = min(500, max(10, requests // 20))
    for _ in range(warmup):
        handler(event, context)
    clock = time.perf_counter_ns
    timings = [0] * requests
    step = max(1, requests // 100)
    for i in range(requests):
        start = clock()
        handler(event, context)
        timings[i] = clock() - start
        if i % step == 0:
            progress.update(i, requests)
    timings.sort()
    total = sum(timings)
    return {
        "median_us": statistics.median(timings) / 1000,
        "p99_us": _percentile(timings, 0.99) / 1000,
        "mean_us": total / requests / 1000,
        "min_us": timings[0] / 1000,
        "invocations_per_s": requests / (total / 1e9) if total else float("inf"),
        "warmup": warmup,
    }


def measure_cold(config: dict[str, Any], runs: int, progress: Progress) -> dict[str, Any]:
    payload = json.dumps(config).encode()
    samples: list[dict[str, float]] = []
    for i in range(runs + 1):  # the first run only fills the bytecode caches
        started = time.perf_counter_ns()
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD], input=payload, capture_output=True, cwd=os.getcwd(), check=False
        )
        wall = time.perf_counter_ns() - started
        if proc.returncode != 0:
            lines = proc.stderr.decode(errors="replace").strip().splitlines() or ["(no output)"]
            raise CLIError(f"the cold-start subprocess for {config['adapter']} failed: {lines[-1]}")
        if i:
            sample = json.loads(proc.stdout)
            sample["process"] = wall
            samples.append(sample)
        progress.update(i, runs + 1)
    figures: dict[str, Any] = {
        f"{phase}_ms": statistics.median(s[phase] for s in samples) / 1e6 for phase in COLD_PHASES
    }
    figures["runs"] = [{f"{phase}_ms": s[phase] / 1e6 for phase in COLD_PHASES} for s in samples]
    figures["status"] = samples[0]["status"]
    return figures


def _demo_file(app: str | None) -> str | None:
    if app not in (None, cli_events.DEFAULT_APP):
        return None
    from . import demo

    return demo.__file__


def _adapter_label(adapter: str) -> str:
    if adapter != "cymangum":
        return adapter
    core = sys.modules.get("cymangum.core")
    compiled = getattr(core, "COMPILED", None)
    if compiled is None:
        return "cymangum"
    return "cymangum [compiled]" if compiled else "cymangum [pure Python]"


def bench(
    *,
    app: str | None,
    source: str,
    request: Request | None,
    event_file: str | None,
    base_path: str | None,
    lifespan: str | None,
    compare: str | None,
    requests: int,
    cold_starts: int,
    json_output: bool,
) -> int:
    adapters = ["cymangum"]
    if compare:
        try:
            cli_events.adapter_class(compare)
        except CLIError as exc:
            raise CLIError(f"--compare {compare}: {exc}") from None
        adapters.append(compare)
    cli_events.check_base_path(source, base_path)
    event = cli_events.make_event(source, request, event_file, base_path)
    spec = cli_events.load_app(app)
    progress = Progress()
    report: dict[str, Any] = {
        "app": spec.name,
        "event": event_file or f"{source} {_describe(request)}",
        "lifespan": lifespan or spec.settings.get("lifespan", "auto"),
        "requests": requests,
        "cold_starts": cold_starts,
        "python": sys.version.split()[0],
        "results": {},
    }
    extras = {k: v for k, v in spec.settings.items() if k in cli_events.CYMANGUM_ONLY_SETTINGS and v}
    if compare and extras:
        report["note"] = f"cymangum-only settings of the app's instance, not applied to {compare}: {extras}"
    for adapter in adapters:
        handler = cli_events.make_handler(spec, adapter=adapter, lifespan=lifespan, base_path=base_path)
        try:
            first = handler(event, cli_events.LambdaContext())
        except Exception as exc:
            print(
                f"cymangum bench: the {adapter} handler raised {type(exc).__name__}: {exc}", file=sys.stderr
            )
            return 1
        status = first.get("statusCode", first.get("status")) if isinstance(first, dict) else None
        progress.start(f"warm {adapter}")
        warm = measure_warm(handler, event, requests, progress)
        progress.finish(f"{requests} invocations")
        entry: dict[str, Any] = {"label": _adapter_label(adapter), "status": status, "warm": warm}
        if cold_starts:
            config = {
                "sys_path": sys.path,
                "events_file": cli_events.__file__,
                "demo_file": _demo_file(app),
                "app": spec.name,
                "adapter": adapter,
                "lifespan": lifespan,
                "base_path": base_path,
                "event": event,
            }
            progress.start(f"cold {adapter}")
            entry["cold"] = measure_cold(config, cold_starts, progress)
            progress.finish(f"{cold_starts} fresh processes")
        report["results"][adapter] = entry
    if json_output:
        sys.stdout.buffer.write(cli_events.json_bytes(report) + b"\n")
    else:
        sys.stdout.write(format_report(report))
    sys.stdout.flush()
    return 0


def _describe(request: Request | None) -> str:
    request = request or Request()
    target = request.path + (f"?{request.query}" if request.query else "")
    return f"{request.method} {target}"


def format_report(report: dict[str, Any]) -> str:
    results = report["results"]
    names = list(results)
    rows: list[tuple[str, list[float | None], str, bool]] = [
        ("warm median", [results[n]["warm"]["median_us"] for n in names], "us", False),
        ("warm p99", [results[n]["warm"]["p99_us"] for n in names], "us", False),
        ("warm mean", [results[n]["warm"]["mean_us"] for n in names], "us", False),
        ("invocations/s", [results[n]["warm"]["invocations_per_s"] for n in names], "/s", True),
    ]
    if report["cold_starts"]:
        titles = {
            "import_adapter": "cold: import adapter",
            "import_app": "cold: import app",
            "construct": "cold: construct handler",
            "first_invocation": "cold: first invocation",
            "total": "cold: total in process",
            "process": "cold: whole process",
        }
        rows += [
            (title, [results[n]["cold"][f"{p}_ms"] for n in names], "ms", False)
            for p, title in titles.items()
        ]
    lines = [
        f"cymangum bench: {report['app']}, {report['event']}, lifespan {report['lifespan']}, Python {report['python']}",
        f"  {report['requests']} warm invocations each (after a warm-up)"
        + (
            f", {report['cold_starts']} cold starts (fresh processes, medians)"
            if report["cold_starts"]
            else ""
        ),
        "",
    ]
    width = 26
    header = " " * width + "".join(f"{results[n]['label']:>24}" for n in names)
    if len(names) > 1:
        header += f"{'speedup':>10}"
    lines.append(header)
    for title, values, unit, higher_is_better in rows:
        cells = "".join(f"{_fmt(v, unit):>24}" for v in values)
        if len(values) > 1 and values[0] and values[1]:
            ratio = values[0] / values[1] if higher_is_better else values[1] / values[0]
            cells += f"{ratio:>9.2f}x"
        lines.append(f"{title:<{width}}{cells}")
    statuses = {n: results[n]["status"] for n in names}
    lines += ["", "status of the first invocation: " + ", ".join(f"{n} {s}" for n, s in statuses.items())]
    if "note" in report:
        lines.append(f"note: {report['note']}")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:,.1f} {unit}" if value >= 100 else f"{value:.2f} {unit}"
