"""Acceptance: Mangum 0.22.0's own test suite, downloaded from the registry, run against cymangum.

The sdist is fetched at test time (nothing of Mangum is committed here), its `mangum` imports are aliased to
cymangum's modules (SPEC 8.4, recipe A), and its tests run in a subprocess, once per core implementation.
The 4 tests that need LocalStack and Docker are deselected.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.one_impl

VERSION = "0.22.0"
ALIASED = [
    "", ".adapter", ".exceptions", ".types", ".handlers", ".handlers.alb", ".handlers.api_gateway",
    ".handlers.lambda_at_edge", ".handlers.utils", ".protocols", ".protocols.http", ".protocols.lifespan",
]
ALIAS_CONFTEST = f"""
import importlib, sys
for suffix in {ALIASED!r}:
    sys.modules["mangum" + suffix] = importlib.import_module("cymangum" + suffix)
"""


@pytest.fixture(scope="module")
def suite_dir() -> Path:
    cache = Path(tempfile.gettempdir()) / f"cymangum-mangum-suite-{VERSION}"
    sdist = cache / f"mangum-{VERSION}.tar.gz"
    if not sdist.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"mangum=={VERSION}", "-d", str(cache)],
            check=True,
        )
    run = cache / "run"
    if not (run / "conftest.py").exists():
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.split("/")[1:2] in (["tests"], ["pyproject.toml"])]
            archive.extractall(cache, members=members, filter="data")
        extracted = cache / f"mangum-{VERSION}"
        run.mkdir(exist_ok=True)
        (extracted / "tests").rename(run / "tests")
        (extracted / "pyproject.toml").rename(run / "pyproject.toml")
        # The root conftest runs before tests/conftest.py, which imports mangum.types at its top.
        (run / "conftest.py").write_text(ALIAS_CONFTEST)
    return run


@pytest.mark.parametrize("implementation", [pytest.param("compiled", marks=pytest.mark.c_extension), "pure"])
def test_mangum_own_test_suite_passes(suite_dir: Path, implementation: str) -> None:
    import cymangum

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(cymangum.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    env.pop("CYMANGUM_NO_EXTENSIONS", None)
    env["CYMANGUM_NO_EXTENSIONS" if implementation == "pure" else "CYMANGUM_REQUIRE_EXTENSIONS"] = "1"
    check = "import cymangum.core as c, sys; sys.exit(0 if c.COMPILED == (sys.argv[1] == 'compiled') else 1)"
    subprocess.run([sys.executable, "-c", check, implementation], env=env, check=True, cwd=suite_dir)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-k", "not real_lambda", "-W", "error"],
        cwd=suite_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert summary.startswith("106 passed, 4 deselected"), summary
