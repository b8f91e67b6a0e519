#!/usr/bin/env bash
# Run the core tests against the aarch64 (Graviton) wheel in wheelhouse/, on an x86_64 machine, under qemu.
#
# The interpreter is Debian's arm64 CPython, unpacked (not installed) into a folder that qemu-aarch64-static
# uses as its root (-L). The wheel is installed the way Lambda users install for arm64 (AWS's documented
# `pip install --platform manylinux2014_aarch64 --only-binary=:all: --target ...`), so this also checks that pip
# on an x86_64 build machine picks our aarch64 wheel for a Graviton function.
#
# Usage: scripts/test_aarch64.sh [PYTEST_ARG...]      (extra arguments go to pytest)
# Environment:
#   PY_VERSION        arm64 CPython to test with: 3.11 (default), 3.13 or 3.14 (Debian's arm64 builds)
#   TESTS             test files, relative to the repository (default: tests/test_core*.py)
#   WHEELHOUSE        where the wheels are (default: wheelhouse)
#   WHEELBUILD_CACHE  downloads and the arm64 root (default: .wheelbuild)
# Needs: apt (qemu-user-static is installed if missing), network access to a Debian mirror and PyPI,
# and the tool venv scripts/build_wheels.sh creates (or any python3 with pip).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PY_VERSION=${PY_VERSION:-3.11}
TESTS=${TESTS:-tests/test_core*.py}
WHEELHOUSE=$(cd "${WHEELHOUSE:-wheelhouse}" && pwd)
export WHEELBUILD_CACHE=$(mkdir -p "${WHEELBUILD_CACHE:-.wheelbuild}" && cd "${WHEELBUILD_CACHE:-.wheelbuild}" && pwd)
# shellcheck source=scripts/debian_arm64.sh
source "$ROOT/scripts/debian_arm64.sh"

log() { printf '\n==> [%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { echo "error: $*" >&2; exit 1; }
quiet() {
    local out
    if ! out=$("$@" 2>&1); then printf '%s\n' "$out" >&2; die "failed: $*"; fi
}
SECONDS=0
nodot=${PY_VERSION//./}

HOST_PY=$WHEELBUILD_CACHE/venv-tools/bin/python
[[ -x "$HOST_PY" ]] || HOST_PY=$(command -v python3)

log "qemu"
if ! command -v qemu-aarch64-static >/dev/null; then
    quiet apt-get update -q
    quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-user-static
fi
qemu-aarch64-static --version | head -n1

suite=$(debian_suite_for "$PY_VERSION")
ARM_ROOT="$WHEELBUILD_CACHE/arm64-root-$PY_VERSION"
log "arm64 CPython $PY_VERSION from Debian $suite -> $ARM_ROOT"
mapfile -t packages < <(arm64_python_closure "$suite" "$PY_VERSION")
arm64_unpack "$suite" "$ARM_ROOT" "${packages[@]}"
PY_ARM="$ARM_ROOT/usr/bin/python$PY_VERSION"
[[ -x "$PY_ARM" ]] || die "no $PY_ARM"

export QEMU_CPU=neoverse-n1  # the default CPU model emulates pointer authentication very slowly
# Bytecode is written (into the cached root and deps folder), so reruns skip recompiling pytest and the stdlib.
unset PYTHONDONTWRITEBYTECODE PYTHONHOME PYTHONSTARTUP
# Without binfmt_misc (containers) the kernel cannot exec an arm64 binary, so tests that start
# `sys.executable` would fail: qemu's -0 makes argv[0], hence sys.executable, this host script, which runs
# the interpreter under qemu again. It sits next to the real binary so that sys.prefix is still found.
cat >"$PY_ARM-qemu" <<EOF
#!/bin/sh
exec qemu-aarch64-static -L "$ARM_ROOT" -0 "\$0" "$PY_ARM" "\$@"
EOF
chmod +x "$PY_ARM-qemu"
arm() { "$PY_ARM-qemu" "$@"; }
arm -c 'import platform, sys; print(platform.machine(), sys.version, sys.executable)'

# pip on the x86_64 host resolves for Lambda's arm64 runtime, as AWS documents for Lambda packages.
pip_for_lambda=("$HOST_PY" -m pip install --quiet --disable-pip-version-check --target)
platform_args=(--platform manylinux2014_aarch64 --implementation cp --python-version "$PY_VERSION"
    --only-binary=:all:)

log "test dependencies (the test-core extra), cached"
mapfile -t test_reqs < <("$HOST_PY" -c '
import re, sys
text = open("pyproject.toml").read()
m = re.search(r"^test-core\s*=\s*\[(.*?)\]", text, re.M | re.S)
print("\n".join(re.findall(r"\"([^\"]+)\"", m.group(1))))')
DEPS="$WHEELBUILD_CACHE/aarch64-deps-$PY_VERSION"
if [[ ! -f "$DEPS/.stamp" || "$(cat "$DEPS/.stamp")" != "${test_reqs[*]}" ]]; then
    rm -rf "$DEPS"
    quiet "${pip_for_lambda[@]}" "$DEPS" "${platform_args[@]}" "${test_reqs[@]}"
    echo "${test_reqs[*]}" >"$DEPS/.stamp"
fi

log "cymangum from $WHEELHOUSE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cymangum-aarch64.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
SITE="$WORK/site"
# Only the local wheels: --no-index, so a release of the same version on PyPI cannot stand in for them.
quiet "${pip_for_lambda[@]}" "$SITE" "${platform_args[@]}" --no-index --no-deps --find-links "$WHEELHOUSE" cymangum
ls "$SITE"/cymangum/_core.cpython-"$nodot"-aarch64-linux-gnu.so >/dev/null 2>&1 ||
    die "pip did not pick an aarch64 cp$nodot wheel: $(ls "$SITE"/*.dist-info)"
ls -d "$SITE"/*.dist-info

# The tests run from a copy, like cibuildwheel's test-sources: nothing from src/ can be imported.
mkdir -p "$WORK/project"
cp -r tests pyproject.toml "$WORK/project/"
rm -rf "$WORK/project/tests/__pycache__"
cd "$WORK/project"
export PYTHONPATH="$SITE:$DEPS" CYMANGUM_REQUIRE_EXTENSIONS=1
arm -c 'import platform, cymangum._core as c; assert platform.machine() == "aarch64"; print("loaded", c.__file__)'

log "pytest under qemu (aarch64, CPython $PY_VERSION): $TESTS"
# shellcheck disable=SC2086  # TESTS is a list of globs
arm -m pytest -p no:cacheprovider $TESTS "$@"
log "aarch64 tests passed ($SECONDS s)"
