"""The release machinery: GitHub workflows valid against GitHub's schema, cibuildwheel building exactly the
wheels Lambda can run, and the wheel checker catching wheels Lambda cannot install.

check-jsonschema and cibuildwheel are test dependencies; both need Python >= 3.11 to run, hence the one
version skip. Nothing here is skipped for a missing tool: a missing tool is a failure.
"""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

# Nothing here depends on the core implementation: run once, not once per core.
pytestmark = pytest.mark.one_impl

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"

needs_311 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="check-jsonschema and cibuildwheel run on Python >= 3.11 only"
)

# Lambda's runtimes: CPython 3.10-3.14, x86_64 and arm64, glibc (no musl), no free-threaded build, no i686.
LAMBDA_IDENTIFIERS = sorted(
    f"cp3{minor}-manylinux_{arch}" for minor in range(10, 15) for arch in ("x86_64", "aarch64")
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    # cibuildwheel reads CIBW_* variables over pyproject.toml: none may leak in from the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIBW_")}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_workflows_exist() -> None:
    assert {"tests.yml", "wheels.yml"} <= {p.name for p in WORKFLOWS.glob("*.yml")}


@needs_311
@pytest.mark.parametrize(
    "name", sorted({"tests.yml", "wheels.yml"} | {p.name for p in WORKFLOWS.glob("*.y*ml")})
)
def test_workflow_is_valid_for_github(name: str) -> None:
    result = run(
        "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_311
def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    # The validation above is not vacuous: a job without `runs-on` is refused.
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo\n")
    result = run("-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken))
    assert result.returncode != 0


@needs_311
def test_cibuildwheel_builds_exactly_the_lambda_wheels() -> None:
    result = run(
        "-m", "cibuildwheel", "--print-build-identifiers", "--platform", "linux", "--archs", "x86_64,aarch64"
    )
    assert result.returncode == 0, result.stderr
    identifiers = result.stdout.split()
    assert len(identifiers) == len(set(identifiers))
    assert sorted(identifiers) == LAMBDA_IDENTIFIERS


@needs_311
def test_cibuildwheel_pins_manylinux2014_and_tests_the_compiled_core() -> None:
    import tomllib

    with open(REPO / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)["tool"]["cibuildwheel"]
    # glibc 2.17: installs on Amazon Linux 2 (python3.10/3.11 runtimes, glibc 2.26) and 2023 (glibc 2.34).
    assert config["manylinux-x86_64-image"] == "manylinux2014"
    assert config["manylinux-aarch64-image"] == "manylinux2014"
    assert config["test-extras"] == "test-core"
    assert config["test-environment"] == {"CYMANGUM_REQUIRE_EXTENSIONS": "1"}
    assert "import cymangum._core" in config["test-command"]
    # The test command's selection is not empty.
    assert "tests/test_core*.py" in config["test-command"]
    assert sorted((REPO / "tests").glob("test_core*.py"))


# --- scripts/check_wheel_glibc.py on wheels with the wrong tags (no compiled files needed for these) -----


@pytest.fixture(scope="module")
def checker() -> dict[str, Any]:
    return runpy.run_path(str(REPO / "scripts" / "check_wheel_glibc.py"))


def fake_wheel(directory: Path, name: str) -> Path:
    path = directory / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("cymangum/__init__.py", "")
    return path


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ("cp311-cp311-manylinux_2_28_x86_64", "Lambda's cp311 runtime has 2.26"),
        ("cp312-cp312-manylinux_2_35_aarch64", "Lambda's cp312 runtime has 2.34"),
        ("cp311-cp311-linux_x86_64", "is not manylinux"),
        ("cp311-cp311-musllinux_1_2_x86_64", "is not manylinux"),
        ("cp313-cp313t-manylinux2014_x86_64", "free-threaded"),
        ("cp311-cp311-manylinux2014_i686", "architecture i686"),
        ("cp312-cp312-manylinux_2_28_x86_64", "without any compiled module"),
        ("py3-none-manylinux2014_x86_64", "expected one CPython tag"),
    ],
)
def test_checker_refuses_wheels_lambda_cannot_use(
    checker: dict[str, Any], tmp_path: Path, tags: str, problem: str
) -> None:
    wheel = fake_wheel(tmp_path, f"cymangum-0.1.0-{tags}.whl")
    _, problems = checker["check_wheel"](wheel, False)
    assert any(problem in p for p in problems), problems


def test_checker_accepts_a_pure_wheel_and_counts_expectations(
    checker: dict[str, Any], tmp_path: Path
) -> None:
    fake_wheel(tmp_path, "cymangum-0.1.0-py3-none-any.whl")
    assert checker["main"]([str(tmp_path), "--expect", "pure"]) == 0
    assert checker["main"]([str(tmp_path), "--expect", "pure", "--expect", "cp311-manylinux_aarch64"]) == 1
