#!/usr/bin/env python3
"""Instructions per event translation, cymangum beside Mangum 0.22, counted by valgrind's callgrind.

The translation path is what an adapter does around the app: infer the handler for the event, build the ASGI
scope and the request body, then turn a response into the result dict (``benchmarks/workloads.translation``:
``handler = adapter.infer(event, context); handler.scope; handler.body; handler(response)``, the response
being a small JSON body with five headers, two of them Set-Cookie). No app and no event loop run.

For each adapter and event source, two runs of the same child process under ``valgrind --tool=callgrind``:
one does the setup (imports, event, handler) and W warm-up translations, the other the same plus N more. The
difference of the two totals (valgrind's "Collected" line), divided by N, is the instruction count of one warm
translation; interpreter start-up, imports and first-call effects cancel out. PYTHONHASHSEED is fixed, so the
counts repeat from run to run (to within a few instructions per translation).

    python scripts/count_instructions.py                      # every source, N=2000
    python scripts/count_instructions.py --sources rest alb --iterations 500 --pure
    python scripts/count_instructions.py --json               # machine-readable, on stdout
    python scripts/count_instructions.py --keep DIR           # keep the callgrind files (callgrind_annotate)

Adapters: ``cymangum`` (the compiled core), ``mangum``, and with ``--pure`` also ``cymangum-pure``
(``CYMANGUM_NO_EXTENSIONS=1``). The target of issue 4 is cymangum <= 1/8 of Mangum's count.

``--measure invocation-off`` / ``invocation-auto`` count a whole warm invocation instead (``handler(event,
context)`` with the raw ASGI app of ``benchmarks/workloads.py``, lifespan off / auto): the translation, the
event loop drive, the app and the ASGI cycles. The issue's targets for invocations are times (see
scripts/bench_report.py); these counts are the noise-free view of the same work.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
SOURCES = ("rest", "http-v2", "url", "alb", "alb-multi", "edge")
TARGET = 1 / 8
MEASURES = ("translation", "invocation-off", "invocation-auto")

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
import workloads
adapter, source, warmup, iterations, what = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
name, event = "mangum" if adapter == "mangum" else "cymangum", workloads.load_event(source)
if what == "translation":
    translate = workloads.translation(name, event)
else:
    translate = workloads.invocation(name, workloads.raw_app, event, what.split("-")[1])
if adapter != "mangum" and workloads.core.COMPILED != (adapter == "cymangum"):
    raise SystemExit(f"{adapter}: the core loaded is not the one asked for (COMPILED={workloads.core.COMPILED})")
for _ in range(warmup):
    translate()
for _ in range(iterations):
    translate()
"""

COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def callgrind_total(
    adapter: str, source: str, warmup: int, iterations: int, keep: Path | None, what: str = "translation"
) -> int:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env.pop("PYTHONMALLOC", None)
    if adapter == "cymangum-pure":
        env["CYMANGUM_NO_EXTENSIONS"] = "1"
    else:
        env.pop("CYMANGUM_NO_EXTENSIONS", None)
    with tempfile.TemporaryDirectory(prefix="cymangum-callgrind-") as tmp:
        out_file = Path(tmp) / "callgrind.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out_file}",
            sys.executable,
            "-c",
            CHILD,
            str(BENCHMARKS),
            adapter,
            source,
            str(warmup),
            str(iterations),
            what,
        ]
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{adapter}/{source}: exit {proc.returncode}\n{proc.stderr[-3000:]}")
        match = COLLECTED.search(proc.stderr)
        if match is None:
            raise RuntimeError(
                f"{adapter}/{source}: no 'Collected' line in valgrind's output\n{proc.stderr[-2000:]}"
            )
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(out_file, keep / f"callgrind.{what}.{adapter}.{source}.{iterations}.out")
        return int(match.group(1))


def per_call(
    adapter: str, source: str, warmup: int, iterations: int, keep: Path | None, what: str = "translation"
) -> dict[str, Any]:
    base = callgrind_total(adapter, source, warmup, 0, None, what)
    full = callgrind_total(adapter, source, warmup, iterations, keep, what)
    return {
        "adapter": adapter,
        "source": source,
        "baseline_ir": base,
        "run_ir": full,
        "iterations": iterations,
        "ir_per_call": (full - base) / iterations,
    }


def measure(
    sources: list[str],
    adapters: list[str],
    warmup: int,
    iterations: int,
    jobs: int,
    keep: Path | None,
    what: str = "translation",
) -> dict[str, Any]:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    tasks = [(adapter, source) for source in sources for adapter in adapters]
    # Instruction counts do not depend on the machine's load, so the runs may go in parallel.
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda t: per_call(t[0], t[1], warmup, iterations, keep, what), tasks))
    by_key = {(r["adapter"], r["source"]): r for r in results}
    rows = []
    for source in sources:
        mangum_ir = by_key[("mangum", source)]["ir_per_call"]
        row: dict[str, Any] = {"source": source, "mangum_ir": mangum_ir}
        for adapter in adapters:
            if adapter == "mangum":
                continue
            ir = by_key[(adapter, source)]["ir_per_call"]
            key = adapter.replace("-", "_")
            row[f"{key}_ir"] = ir
            row[f"{key}_ratio"] = ir / mangum_ir
        if what == "translation":
            row["target"] = TARGET
            row["pass"] = row["cymangum_ratio"] <= TARGET
        rows.append(row)
    return {
        "python": sys.version.split()[0],
        "valgrind": subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip(),
        "measure": what,
        "warmup": warmup,
        "iterations": iterations,
        "rows": rows,
        "runs": results,
    }


def print_table(report: dict[str, Any], out: Any = sys.stdout) -> None:
    adapters = [k[: -len("_ir")] for k in report["rows"][0] if k.endswith("_ir") and k != "mangum_ir"]
    head = f"{'source':<10} {'Mangum Ir':>11}"
    for adapter in adapters:
        head += f" {adapter + ' Ir':>18} {'ratio':>7}"
    what = report.get("measure", "translation")
    unit = "translation; target cymangum <= 1/8 of Mangum" if what == "translation" else what + ", raw app"
    print(
        f"Instructions per warm {unit} (callgrind, Python {report['python']}, "
        f"N={report['iterations']} after {report['warmup']} warm-up)",
        file=out,
    )
    print(head + ("  verdict" if what == "translation" else ""), file=out)
    for row in report["rows"]:
        line = f"{row['source']:<10} {row['mangum_ir']:>11,.0f}"
        for adapter in adapters:
            line += f" {row[adapter + '_ir']:>18,.0f} {row[adapter + '_ratio']:>7.3f}"
        if "pass" in row:
            line += "  PASS" if row["pass"] else "  FAIL"
        print(line, file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument(
        "--iterations", type=int, default=2000, help="timed translations per run (default 2000)"
    )
    parser.add_argument(
        "--warmup", type=int, default=100, help="translations in both runs before (default 100)"
    )
    parser.add_argument(
        "--measure",
        choices=MEASURES,
        default="translation",
        help="what one counted call does (default translation)",
    )
    parser.add_argument("--pure", action="store_true", help="also count cymangum's pure-Python twin")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="valgrind runs in parallel")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", type=Path, help="copy the callgrind output files of the full runs here")
    args = parser.parse_args(argv)
    adapters = ["cymangum", "mangum"] + (["cymangum-pure"] if args.pure else [])
    report = measure(args.sources, adapters, args.warmup, args.iterations, args.jobs, args.keep, args.measure)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
