#!/usr/bin/env bash
# CI for the release artifacts, on one x86_64 Linux machine without Docker (called by .ci/run):
#   1. sdist, pure wheel, manylinux2014 x86_64 and aarch64 wheels for CPython 3.11 (scripts/build_wheels.sh);
#   2. the sdist carries what cibuildwheel needs to test wheels built from it (tests/, conftest included);
#   3. every wheel installs on its Lambda runtime: tags, glibc symbol versions, auditwheel show;
#   4. the x86_64 wheel in a fresh venv: core tests with the compiled core required; the pure wheel: core tests
#      on the pure twin;
#   5. the aarch64 wheel under qemu with Debian's arm64 CPython (scripts/test_aarch64.sh).
# Installs what it needs (pip packages into .wheelbuild/, qemu-user-static with apt). Versions: X86_64_PYTHONS,
# AARCH64_PYTHONS (default "3.11"); the tests: TESTS (default tests/test_core*.py), PURE_TESTS for the pure wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
start=$SECONDS
step_start=$SECONDS
step() {
    echo "== [$((SECONDS - step_start)) s] done"
    step_start=$SECONDS
    echo
    echo "== wheels: $*"
}

export WHEELHOUSE=${WHEELHOUSE:-$ROOT/wheelhouse}
export WHEELBUILD_CACHE=${WHEELBUILD_CACHE:-$ROOT/.wheelbuild}
export TESTS=${TESTS:-tests/test_core*.py}
# The pure wheel runs the same core tests; the compiled cases are deselected there.
PURE_TESTS=${PURE_TESTS:-tests/test_core*.py}
X86_64_PYTHONS=${X86_64_PYTHONS:-3.11}
AARCH64_PYTHONS=${AARCH64_PYTHONS:-3.11}
unset CYMANGUM_NO_EXTENSIONS

echo "== wheels: build (x86_64: $X86_64_PYTHONS; aarch64: $AARCH64_PYTHONS; sdist; pure)"
rm -rf "$WHEELHOUSE"
X86_64_PYTHONS=$X86_64_PYTHONS AARCH64_PYTHONS=$AARCH64_PYTHONS bash scripts/build_wheels.sh
TOOLS_PY=$WHEELBUILD_CACHE/venv-tools/bin/python

step "the sdist carries the test suite (cibuildwheel tests the wheels it builds from the sdist)"
sdist=$(ls "$WHEELHOUSE"/cymangum-*.tar.gz)
"$TOOLS_PY" - "$sdist" <<'EOF'
import pathlib, sys, tarfile
names = {n.split("/", 1)[1] for n in tarfile.open(sys.argv[1]).getnames() if "/" in n}
missing = sorted(
    str(p) for p in pathlib.Path("tests").rglob("*")
    if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc" and str(p) not in names
)
if missing:
    sys.exit(f"the sdist lacks {missing} (add `graft tests` to MANIFEST.in)")
print("all of tests/ is in", sys.argv[1])
EOF

step "every wheel installs on its Lambda runtime (glibc 2.26 for cp310/cp311, 2.34 for cp312+)"
expect=(--expect pure)
for v in $X86_64_PYTHONS; do expect+=(--expect "cp${v//./}-manylinux_x86_64"); done
for v in $AARCH64_PYTHONS; do expect+=(--expect "cp${v//./}-manylinux_aarch64"); done
PATH="$WHEELBUILD_CACHE/venv-tools/bin:$PATH" "$TOOLS_PY" scripts/check_wheel_glibc.py --auditwheel "${expect[@]}" "$WHEELHOUSE"

# test_installed VENV_PYTHON LABEL PYTEST_ARGS...: core tests against what is installed in that venv, run from a
# copy of tests/ (as cibuildwheel's test-sources do) so that nothing from src/ can be imported.
test_installed() {
    local py=$1 label=$2 project
    shift 2
    project=$(mktemp -d "${TMPDIR:-/tmp}/cymangum-test.XXXXXX")
    cp -r tests pyproject.toml "$project/"
    rm -rf "$project/tests/__pycache__"
    # shellcheck disable=SC2086  # TESTS is a list of globs
    (cd "$project" && "$py" -m pytest -p no:cacheprovider -q $TESTS "$@") || { rm -rf "$project"; return 1; }
    rm -rf "$project"
    echo "$label: passed"
}

mapfile -t test_reqs < <("$TOOLS_PY" -c '
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["test-core"]))')

# fresh_venv 3.X DIR: a new venv from the interpreter build_wheels.sh used for 3.X.
fresh_venv() {
    local base
    base=$("$WHEELBUILD_CACHE/venv-$1/bin/python" -c \
        'import os, sys; print(os.path.join(sys.base_prefix, "bin", "python%d.%d" % sys.version_info[:2]))')
    "$base" -m venv --clear "$2"
}
pip_quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location" || true; }; }
testvenv=$(mktemp -d "${TMPDIR:-/tmp}/cymangum-venv.XXXXXX")
trap 'rm -rf "$testvenv"' EXIT

for v in $X86_64_PYTHONS; do
    step "x86_64 cp${v//./} wheel in a fresh venv, compiled core required"
    fresh_venv "$v" "$testvenv"
    # Only the wheelhouse, only wheels: pip must pick the manylinux2014 wheel over the pure one.
    pip_quiet "$testvenv/bin/python" -m pip install -q --disable-pip-version-check --only-binary=:all: \
        --no-index --find-links "$WHEELHOUSE" cymangum
    pip_quiet "$testvenv/bin/python" -m pip install -q --disable-pip-version-check "${test_reqs[@]}"
    CYMANGUM_REQUIRE_EXTENSIONS=1 "$testvenv/bin/python" -c '
import cymangum.core as c, sys
assert c.COMPILED and c.implementation.__file__.startswith(sys.prefix), c.implementation
print("compiled core:", c.implementation.__file__)'
    CYMANGUM_REQUIRE_EXTENSIONS=1 test_installed "$testvenv/bin/python" "x86_64 cp${v//./}"
done

v=${X86_64_PYTHONS%% *}
step "pure wheel in a fresh venv (CPython $v): the pure twin, compiled cases deselected"
fresh_venv "$v" "$testvenv"
pip_quiet "$testvenv/bin/python" -m pip install -q --disable-pip-version-check --no-index \
    "$(ls "$WHEELHOUSE"/cymangum-*-py3-none-any.whl)"
pip_quiet "$testvenv/bin/python" -m pip install -q --disable-pip-version-check "${test_reqs[@]}"
"$testvenv/bin/python" -c 'import cymangum.core as c; assert not c.COMPILED; print("pure twin:", c.implementation.__file__)'
TESTS=$PURE_TESTS test_installed "$testvenv/bin/python" "pure" --no-c-extensions

for v in $AARCH64_PYTHONS; do
    step "aarch64 cp${v//./} wheel under qemu, Debian's arm64 CPython $v, compiled core required"
    PY_VERSION=$v bash scripts/test_aarch64.sh -q
done

step "all wheel checks passed"
echo "== wheels: total $((SECONDS - start)) s"
