"""The two core implementations expose the same API, and CI really loads the compiled one."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys

import pytest

from cymangum import _core_py, core
from tests.conftest import PURE_REQUESTED, load_impl


@pytest.mark.one_impl
def test_compiled_core_is_loaded_unless_pure_was_asked_for(request: pytest.FixtureRequest) -> None:
    if PURE_REQUESTED or request.config.getoption("--no-c-extensions"):
        assert not core.COMPILED
    else:
        assert core.COMPILED, "the compiled core did not load: cymangum.core fell back to the pure twin"
        assert core.implementation.__file__.endswith(".so")


@pytest.mark.c_extension
@pytest.mark.one_impl
def test_both_modules_export_the_same_public_names() -> None:
    compiled = load_impl("c")

    def public(module: object) -> set[str]:
        return {
            name
            for name in dir(module)
            if not name.startswith("_") and getattr(getattr(module, name), "__module__", None) == module.__name__
        }

    assert public(compiled) == public(_core_py) == set(core.NAMES)


@pytest.mark.c_extension
@pytest.mark.one_impl
@pytest.mark.parametrize("name", core.NAMES)
def test_both_modules_have_the_same_signatures(name: str) -> None:
    compiled = load_impl("c")
    pure_params = list(inspect.signature(getattr(_core_py, name)).parameters)
    compiled_params = list(inspect.signature(getattr(compiled, name)).parameters)
    assert compiled_params == pure_params


@pytest.mark.one_impl
def test_no_extensions_env_forces_the_twin() -> None:
    code = "import cymangum.core as c; print(c.COMPILED, c.implementation.__name__)"
    env = {**os.environ, "CYMANGUM_NO_EXTENSIONS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "cymangum._core_py"]


@pytest.mark.one_impl
def test_import_cymangum_imports_only_the_standard_library_and_the_core() -> None:
    code = (
        "import sys; before = set(sys.modules); import cymangum; from cymangum import Mangum; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    new = out.stdout.split()
    stdlib = sys.stdlib_module_names
    # Cython registers its shared runtime modules (cython_runtime, _cython_X_Y_Z) when the core loads.
    foreign = [m for m in new if m.split(".")[0] not in stdlib and m.split(".")[0] != "cymangum" and "cython" not in m]
    assert foreign == []
    assert not any(m.startswith(("cymangum.cli", "cymangum.demo", "cymangum.runtime")) for m in new)
    assert "orjson" not in new


@pytest.mark.one_impl
def test_the_cold_import_path_is_lean() -> None:
    # What `import cymangum` adds beyond `import asyncio`: nothing a warm invocation does not need.
    code = (
        "import asyncio, sys; before = set(sys.modules); import cymangum; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    new = set(out.stdout.split())
    assert not new & {"urllib.parse", "cymangum.aws_exact", "cymangum.types", "cymangum.handlers.utils", "http"}
    if core.COMPILED:
        assert "cymangum._core_py" not in new
