#!/usr/bin/env python3
"""The speed report of issue 4: cymangum beside Mangum 0.22 in one process, ratios with PASS/FAIL per target.

Timing is interleaved: for each case the callables (cymangum, Mangum and, where a target needs it, the
direct-call floor) run in rounds, one batch each per round (a few milliseconds), in an order that rotates from
round to round; the per-call time of each batch is a sample, and each callable's figure is the median of its
samples. So slow drifts of a noisy machine hit all sides alike. The ratio is median(cymangum) / median(Mangum);
the spread shown is the interquartile range of the per-round ratios. pytest-benchmark is not used here.

Cases (warm invocations, the same genuine event each time; apps and events from benchmarks/workloads.py):
- end to end, per event source: raw ASGI app with lifespan off and auto, Starlette and FastAPI with lifespan off
  (and auto, for information);
- the direct-call floor: the same raw app with a prebuilt scope through loop.run_until_complete on a reused loop;
- payloads: 64 KiB image/png response, 1 MiB base64 request body, 1 MiB JSON response (REST, lifespan off);
- translation alone: instructions per translation under callgrind (scripts/count_instructions.py);
- cold start, in fresh processes (bytecode caches primed, in a private PYTHONPYCACHEPREFIX): import cymangum
  after import asyncio, import asyncio alone, construction, first invocation vs the median warm one;
- memory: RSS (/proc/self/statm) after the first 1,000 warm invocations and after 200,000, in a fresh process.

    python scripts/bench_report.py                 # everything (a few minutes)
    python scripts/bench_report.py --quick         # fewer rounds, 20,000 invocations for memory, N=300 callgrind
    python scripts/bench_report.py --json          # JSON on stdout instead of the table
    python scripts/bench_report.py --json out.json # the table, and the JSON written to out.json
    python scripts/bench_report.py --skip-callgrind --skip-cold --skip-memory

Nothing here is a test: the verdicts report, they never fail the run (exit status 0 unless something breaks).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))

import workloads  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# Interleaved timing


def interleaved(
    functions: dict[str, Callable[[], Any]], rounds: int, batch_seconds: float, warmup: int = 200
) -> dict[str, Any]:
    """Median per-call seconds of each function, timed in alternating batches, and the per-round samples."""
    clock = time.perf_counter_ns
    names = list(functions)
    for name in names:
        function = functions[name]
        for _ in range(warmup):
            function()
    batch: dict[str, int] = {}
    for name in names:  # calibrate: a batch takes about batch_seconds
        function = functions[name]
        start = clock()
        for _ in range(20):
            function()
        per_call = max((clock() - start) / 20, 1.0)
        batch[name] = max(3, int(batch_seconds * 1e9 / per_call))
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            function, n = functions[name], batch[name]
            start = clock()
            for _ in range(n):
                function()
            samples[name].append((clock() - start) / n / 1e9)
    return {
        "median": {name: statistics.median(values) for name, values in samples.items()},
        "samples": samples,
    }


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


# ---------------------------------------------------------------------------------------------------------------
# Rows


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        section: str,
        case: str,
        measured: float,
        kind: str,
        threshold: float | None,
        unit: str = "x",
        cymangum: float | None = None,
        mangum: float | None = None,
        floor: float | None = None,
        spread: tuple[float, float] | None = None,
        note: str = "",
    ) -> None:
        """kind: "max" (measured <= threshold), "min" (measured >= threshold) or "info" (no target)."""
        if kind == "info" or threshold is None:
            verdict = "-"
        elif kind == "max":
            verdict = "PASS" if measured <= threshold else "FAIL"
        else:
            verdict = "PASS" if measured >= threshold else "FAIL"
        self.rows.append(
            {
                "section": section,
                "case": case,
                "cymangum": cymangum,
                "mangum": mangum,
                "floor": floor,
                "measured": measured,
                "unit": unit,
                "kind": kind,
                "threshold": threshold,
                "spread": list(spread) if spread else None,
                "verdict": verdict,
                "note": note,
            }
        )


def _us(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def _value(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MiB":
        return f"{value:+.2f} MiB"
    return f"{value:.3f}x" if value < 10 else f"{value:.1f}x"


def _target(row: dict[str, Any]) -> str:
    if row["kind"] == "info" or row["threshold"] is None:
        return ""
    sign = "<=" if row["kind"] == "max" else ">="
    threshold = row["threshold"]
    if row["unit"] == "x":
        text = {1 / 3: "1/3", 1 / 4: "1/4", 1 / 8: "1/8"}.get(threshold, f"{threshold:g}")
        return f"{sign} {text}" + ("" if text.startswith("1/") else "x")
    return f"{sign} {threshold:g} {row['unit']}"


def render(report: Report, machine: dict[str, Any]) -> str:
    lines = [
        "cymangum speed report (issue 4)",
        f"machine: {machine['cpu']} ({machine['cpus']} CPUs); Python {machine['python']} ({machine['implementation']})",
        f"cymangum {machine['cymangum']} from {machine['cymangum_path']} ({machine['cymangum_from']}"
        + (f", commit {machine['commit']}" if machine.get("commit") else "")
        + "); "
        f"compiled core: {machine['compiled_core']}; fast loop drive: {machine['fast_loop']}",
        f"mangum {machine['mangum']}, starlette {machine['starlette']}, fastapi {machine['fastapi']}",
        f"timing: {machine['rounds']} interleaved rounds of ~{machine['batch_ms']} ms batches per side, medians; "
        "measured = median of per-round ratios: cymangum / Mangum (time), speedup = Mangum / cymangum, "
        "floor ratio = cymangum / floor",
        "",
    ]
    header = f"{'case':<46} {'cymangum':>10} {'Mangum':>10} {'floor':>10}  {'measured':>10} {'IQR':>15}  {'target':>9}  verdict"
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in report.rows:  # grouped by section, in the order sections first appear
        sections.setdefault(row["section"], []).append(row)
    rows = []
    for section, members in sections.items():
        rows.append({"section_header": section})
        rows.extend(members)
    for row in rows:
        if "section_header" in row:
            lines += ["", f"== {row['section_header']}", header]
            continue
        spread = ""
        if row["spread"]:
            low, high = row["spread"]
            spread = f"{_value(low, row['unit'])}-{_value(high, row['unit'])}"
        lines.append(
            f"{row['case']:<46} {_us(row['cymangum']):>10} {_us(row['mangum']):>10} {_us(row['floor']):>10}  "
            f"{_value(row['measured'], row['unit']):>10} {spread:>15}  {_target(row):>9}  {row['verdict']}"
            + (f"  ({row['note']})" if row["note"] else "")
        )
    verdicts = [row["verdict"] for row in report.rows if row["verdict"] != "-"]
    lines += ["", f"{verdicts.count('PASS')} PASS, {verdicts.count('FAIL')} FAIL"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Speed, in this process


def end_to_end(report: Report, rounds: int, batch: float, progress: Callable[[str], None]) -> None:
    thresholds_off = {
        "rest": 1 / 3,
        "http-v2": 1 / 3,
        "url": 1 / 3,
        "edge": 1 / 3,
        "alb": 1 / 4,
        "alb-multi": 1 / 4,
    }
    for source in workloads.SOURCES:
        label = workloads.SOURCE_LABELS[source]
        event = workloads.load_event(source)
        raw = workloads.get_app("raw")
        progress(f"{label}: raw app, lifespan off")
        timed = interleaved(
            {
                "cymangum": workloads.invocation("cymangum", raw, event, "off"),
                "mangum": workloads.invocation("mangum", raw, event, "off"),
                "floor": workloads.floor(raw, event),
            },
            rounds,
            batch,
        )
        cy, mg, fl = (timed["median"][k] for k in ("cymangum", "mangum", "floor"))
        ratios = [
            c / m for c, m in zip(timed["samples"]["cymangum"], timed["samples"]["mangum"], strict=True)
        ]
        floor_ratios = [
            c / f for c, f in zip(timed["samples"]["cymangum"], timed["samples"]["floor"], strict=True)
        ]
        report.add(
            "raw ASGI app, lifespan off: time ratio to Mangum",
            label,
            statistics.median(ratios),
            "max",
            thresholds_off[source],
            cymangum=cy,
            mangum=mg,
            floor=fl,
            spread=quartiles(ratios),
        )
        report.add(
            "raw ASGI app, lifespan off: time ratio to the direct-call floor",
            label,
            statistics.median(floor_ratios),
            "info" if source in ("alb", "alb-multi") else "max",
            None if source in ("alb", "alb-multi") else 1.3,
            cymangum=cy,
            floor=fl,
            spread=quartiles(floor_ratios),
            note="no floor target for ALB" if source in ("alb", "alb-multi") else "",
        )
        progress(f"{label}: raw app, lifespan auto")
        timed = interleaved(
            {
                "cymangum": workloads.invocation("cymangum", raw, event, "auto"),
                "mangum": workloads.invocation("mangum", raw, event, "auto"),
            },
            rounds,
            batch,
        )
        cy, mg = timed["median"]["cymangum"], timed["median"]["mangum"]
        ratios = [
            c / m for c, m in zip(timed["samples"]["cymangum"], timed["samples"]["mangum"], strict=True)
        ]
        report.add(
            "raw ASGI app, lifespan auto: time ratio to Mangum",
            label,
            statistics.median(ratios),
            "max",
            1 / 4,
            cymangum=cy,
            mangum=mg,
            spread=quartiles(ratios),
        )
        for kind, threshold in (("starlette", 1.5), ("fastapi", 1.25)):
            for lifespan in ("off", "auto"):
                try:
                    app = workloads.get_app(kind)
                except ImportError as exc:
                    progress(f"{kind} skipped: {exc}")
                    break
                progress(f"{label}: {kind} app, lifespan {lifespan}")
                timed = interleaved(
                    {
                        "cymangum": workloads.invocation("cymangum", app, event, lifespan),
                        "mangum": workloads.invocation("mangum", app, event, lifespan),
                    },
                    rounds,
                    batch,
                )
                cy, mg = timed["median"]["cymangum"], timed["median"]["mangum"]
                speedups = [
                    m / c
                    for c, m in zip(timed["samples"]["cymangum"], timed["samples"]["mangum"], strict=True)
                ]
                name = {"starlette": "Starlette", "fastapi": "FastAPI"}[kind]
                report.add(
                    f"{name} app, lifespan {lifespan}: speedup over Mangum",
                    label,
                    statistics.median(speedups),
                    "min" if lifespan == "off" else "info",
                    threshold if lifespan == "off" else None,
                    cymangum=cy,
                    mangum=mg,
                    spread=quartiles(speedups),
                )


def payloads(report: Report, rounds: int, batch: float, progress: Callable[[str], None]) -> None:
    thresholds = {"png-64k-response": 3.0, "base64-1m-request": 4.0, "json-1m-response": 2.0}
    for case, (make_app, make_event) in workloads.PAYLOADS.items():
        progress(f"payload: {case}")
        app, event = make_app(), make_event()
        functions = {
            adapter: workloads.invocation(adapter, app, event, "off") for adapter in ("cymangum", "mangum")
        }
        for function in functions.values():
            workloads.check_result(function())
        timed = interleaved(functions, rounds, max(batch, 0.01), warmup=20)
        cy, mg = timed["median"]["cymangum"], timed["median"]["mangum"]
        speedups = [
            m / c for c, m in zip(timed["samples"]["cymangum"], timed["samples"]["mangum"], strict=True)
        ]
        report.add(
            "payloads (REST, raw app, lifespan off): speedup over Mangum",
            workloads.PAYLOAD_LABELS[case],
            statistics.median(speedups),
            "min",
            thresholds[case],
            cymangum=cy,
            mangum=mg,
            spread=quartiles(speedups),
        )


# ---------------------------------------------------------------------------------------------------------------
# Subprocesses: callgrind, cold start, memory


def callgrind(report: Report, iterations: int, progress: Callable[[str], None]) -> dict[str, Any] | None:
    import count_instructions

    progress(f"callgrind: {len(count_instructions.SOURCES) * 4} valgrind runs, N={iterations}")
    try:
        result = count_instructions.measure(
            list(count_instructions.SOURCES),
            ["cymangum", "mangum"],
            100,
            iterations,
            os.cpu_count() or 1,
            None,
        )
    except (SystemExit, RuntimeError) as exc:
        progress(f"callgrind skipped: {exc}")
        return None
    for row in result["rows"]:
        report.add(
            "translation alone (event -> scope + body, response -> result): instructions, ratio to Mangum",
            f"{workloads.SOURCE_LABELS[row['source']]} ({row['cymangum_ir']:,.0f} vs {row['mangum_ir']:,.0f} Ir)",
            row["cymangum_ratio"],
            "max",
            1 / 8,
        )
    return result


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a deployed package has its bytecode cached
    env.pop("PYTHONPATH", None)
    env["PYTHONPYCACHEPREFIX"] = str(
        Path(tempfile.gettempdir()) / f"cymangum-bench-pycache-{sys.version_info[0]}{sys.version_info[1]}"
    )
    env.pop("PYTHONHASHSEED", None)
    return env


def _run_child(code: str, *args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=_child_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


IMPORT_CHILD = r"""
import sys, time
path, adapter, first = sys.argv[1], sys.argv[2], sys.argv[3]
if path:
    sys.path.insert(0, path)
clock = time.perf_counter_ns
t0 = clock()
if first == "asyncio":
    import asyncio
t1 = clock()
if adapter == "cymangum":
    import cymangum
elif adapter == "mangum":
    import mangum
t2 = clock()
import json
print(json.dumps({"first": t1 - t0, "adapter": t2 - t1}))
"""

COLD_CHILD = r"""
import sys, time
path, adapter, event_file, lifespan, warm = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if path:
    sys.path.insert(0, path)
clock = time.perf_counter_ns
t0 = clock()
if adapter == "cymangum":
    from cymangum import Mangum
else:
    from mangum import Mangum
t1 = clock()
import json, statistics
from types import SimpleNamespace
with open(event_file) as f:
    event = json.load(f)
context = SimpleNamespace(function_name="cold", aws_request_id="1", get_remaining_time_in_millis=lambda: 30000)
HELLO = b'{"message":"hello"}'
HEADERS = [[b"content-type", b"application/json"], [b"content-length", str(len(HELLO)).encode()]]
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": HELLO})
t2 = clock()
handler = Mangum(app, lifespan=lifespan)
t3 = clock()
result = handler(event, context)
t4 = clock()
assert result["statusCode"] == 200, result
times = []
for _ in range(warm):
    s = clock()
    handler(event, context)
    times.append(clock() - s)
second = times[0]
print(json.dumps({"import": t1 - t0, "construct": t3 - t2, "first": t4 - t3, "second": second,
                  "warm": statistics.median(times)}))
"""

MEMORY_CHILD = r"""
import gc, os, sys, json
path, benchmarks, adapter, app_kind, lifespan, total = sys.argv[1:7]
total = int(total)
sys.path.insert(0, benchmarks)
sys.path.insert(0, path)
os.environ["CYMANGUM_BENCH_SOURCE"] = "path"  # the parent's cymangum, first on sys.path
import workloads
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * page
invoke = workloads.invocation(adapter, workloads.get_app(app_kind), workloads.load_event("rest"), lifespan)
for _ in range(1000):
    invoke()
gc.collect()
first = rss()
for _ in range(total - 1000):
    invoke()
gc.collect()
last = rss()
import resource
print(json.dumps({"rss_1000": first, "rss_total": last, "total": total,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def cold(report: Report, runs: int, progress: Callable[[str], None]) -> dict[str, Any]:
    paths = {"cymangum": workloads.cymangum_path(), "mangum": ""}
    event_file = str(workloads.events_dir() / workloads.EVENT_FILES["rest"])
    out: dict[str, Any] = {}
    progress(f"cold start: {runs} fresh processes per measurement")
    for adapter in ("cymangum", "mangum"):
        _run_child(IMPORT_CHILD, paths[adapter], adapter, "asyncio")  # primes the bytecode cache
        _run_child(COLD_CHILD, paths[adapter], adapter, event_file, "auto", "10")
    samples: dict[str, list[float]] = {}
    for _ in range(runs):  # interleaved, as the warm timings are
        for adapter in ("cymangum", "mangum"):
            after = _run_child(IMPORT_CHILD, paths[adapter], adapter, "asyncio")
            alone = _run_child(IMPORT_CHILD, paths[adapter], adapter, "none")
            samples.setdefault(f"{adapter}_after_asyncio", []).append(after["adapter"] / 1e9)
            samples.setdefault("asyncio_alone", []).append(after["first"] / 1e9)
            samples.setdefault(f"{adapter}_alone", []).append(alone["adapter"] / 1e9)
            for lifespan in ("auto", "off"):
                result = _run_child(COLD_CHILD, paths[adapter], adapter, event_file, lifespan, "300")
                for key, value in result.items():
                    samples.setdefault(f"{adapter}_{lifespan}_{key}", []).append(value / 1e9)
                samples.setdefault(f"{adapter}_{lifespan}_first_over_warm", []).append(
                    result["first"] / result["warm"]
                )
    med = {key: statistics.median(values) for key, values in samples.items()}
    out["median"] = med
    section = "cold start (fresh processes, medians)"
    beyond = med["cymangum_after_asyncio"]
    report.add(
        section,
        "import cymangum, after import asyncio",
        beyond * 1e3,
        "max",
        3.0,
        unit="ms",
        note=f"Mangum: {med['mangum_after_asyncio'] * 1e3:.2f} ms",
    )
    report.add(
        section,
        "import cymangum alone minus import asyncio alone",
        (med["cymangum_alone"] - med["asyncio_alone"]) * 1e3,
        "info",
        None,
        unit="ms",
        note=f"import asyncio alone {med['asyncio_alone'] * 1e3:.1f} ms, cymangum alone "
        f"{med['cymangum_alone'] * 1e3:.1f} ms, Mangum alone {med['mangum_alone'] * 1e3:.1f} ms",
    )
    for lifespan in ("auto", "off"):
        key = f"cymangum_{lifespan}"
        report.add(
            section,
            f"first invocation / warm one (lifespan {lifespan})",
            med[f"{key}_first_over_warm"],
            "max",
            2.0,
            cymangum=med[f"{key}_first"],
            mangum=med[f"mangum_{lifespan}_first"],
            note=f"warm {_us(med[f'{key}_warm'])}, construct {_us(med[f'{key}_construct'])}; Mangum first/warm "
            f"{med[f'mangum_{lifespan}_first_over_warm']:.2f}x",
        )
    return out


def memory(report: Report, total: int, progress: Callable[[str], None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cases = [
        ("cymangum", "raw", "auto"),
        ("cymangum", "raw", "off"),
        ("cymangum", "starlette", "auto"),
        ("mangum", "raw", "auto"),
    ]
    for adapter, app_kind, lifespan in cases:
        progress(f"memory: {adapter}, {app_kind} app, lifespan {lifespan}, {total:,} invocations")
        result = _run_child(
            MEMORY_CHILD,
            workloads.cymangum_path(),
            str(ROOT / "benchmarks"),
            adapter,
            app_kind,
            lifespan,
            str(total),
        )
        growth = (result["rss_total"] - result["rss_1000"]) / 2**20
        out[f"{adapter}_{app_kind}_{lifespan}"] = result
        report.add(
            "memory: RSS after N warm invocations minus RSS after the first 1,000 (REST event)",
            f"{adapter}, {app_kind} app, lifespan {lifespan}, N={total:,}",
            growth,
            "max" if adapter == "cymangum" else "info",
            1.0 if adapter == "cymangum" else None,
            unit="MiB",
            note=f"RSS {result['rss_1000'] / 2**10:,.0f} -> {result['rss_total'] / 2**10:,.0f} KiB",
        )
    return out


# ---------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and invocations (about a minute)")
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="JSON results: on stdout instead of the table, or into PATH beside the table",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds per case (default 101, quick 21)")
    parser.add_argument("--batch-ms", type=float, help="milliseconds per batch (default 1)")
    parser.add_argument("--memory-invocations", type=int, help="default 200,000 (quick 20,000)")
    parser.add_argument(
        "--cold-runs", type=int, help="fresh processes per cold measurement (default 15, quick 5)"
    )
    parser.add_argument("--callgrind-iterations", type=int, help="default 2000 (quick 300)")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-payloads", action="store_true")
    parser.add_argument("--skip-callgrind", action="store_true")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--no-fast-loop",
        action="store_true",
        help="turn cymangum's fast loop drive off in this process (CYMANGUM_NO_FAST_LOOP=1)",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (21 if args.quick else 101)
    batch = (args.batch_ms or 1.0) / 1000
    if args.no_fast_loop:
        workloads._runner.FAST_LOOP_ENABLED = False

    def progress(message: str) -> None:
        print(f"[bench_report] {message}", file=sys.stderr, flush=True)

    machine = workloads.describe()
    machine.update(rounds=rounds, batch_ms=batch * 1000)
    report = Report()
    extra: dict[str, Any] = {}
    if not args.skip_speed:
        end_to_end(report, rounds, batch, progress)
    if not args.skip_payloads:
        payloads(report, rounds, batch, progress)
    if not args.skip_callgrind:
        extra["callgrind"] = callgrind(
            report, args.callgrind_iterations or (300 if args.quick else 2000), progress
        )
    if not args.skip_cold:
        extra["cold"] = cold(report, args.cold_runs or (5 if args.quick else 15), progress)
    if not args.skip_memory:
        extra["memory"] = memory(
            report, args.memory_invocations or (20_000 if args.quick else 200_000), progress
        )
    document = {"machine": machine, "rows": report.rows, **extra}
    if args.json == "-":
        json.dump(document, sys.stdout, indent=2)
        print()
    else:
        print(render(report, machine))
        if args.json:
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
