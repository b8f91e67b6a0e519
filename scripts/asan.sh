#!/usr/bin/env bash
# Build the compiled core (cymangum._core) with AddressSanitizer and run the core tests against it.
#
# What it does, in a temporary directory (nothing is written into the checkout, so src/ never gets ASan
# build products):
#   1. installs gcc and Debian's libasan8 with apt if they are missing (Debian 12; root or sudo);
#   2. copies the checkout's files (tracked and untracked-but-not-ignored, so local edits are included, and
#      no stale _core.c / *.so from src/);
#   3. creates a fresh venv there and installs pytest, hypothesis, Cython (the version pyproject.toml pins),
#      setuptools and mangum (the reference tests/test_hardening.py compares with; pure Python);
#   4. builds the extension in the copy:
#        CC=gcc CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" LDFLAGS="-fsanitize=address" \
#          python setup.py build_ext --inplace
#      and checks that the module it built is instrumented (links libasan) and is the one the tests import;
#   5. runs pytest on tests/test_core_differential.py, tests/test_core_api.py and tests/test_hardening.py
#      (-m "not slow") with
#        LD_PRELOAD=$(gcc -print-file-name=libasan.so)   the interpreter is not instrumented, so the runtime
#                                                         must be loaded first
#        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1     CPython leaks at exit by design; any error aborts
#        PYTHONMALLOC=malloc                               Python objects (bytes, str, lists) come from malloc,
#                                                         so ASan sees overruns of PyBytes/PyUnicode buffers
#                                                         that the core writes into, not only its own malloc
#        CYMANGUM_REQUIRE_EXTENSIONS=1                     a missing compiled core is an error, not a fallback
#        HYPOTHESIS_PROFILE=asan                           the "asan" profile in tests/conftest.py, with its
#                                                         example count replaced by ASAN_EXAMPLES (below)
#        PYTHONPATH=<copy>/src                             the copy's package, not an installed cymangum
#
# Usage: scripts/asan.sh [PYTEST_ARG...]     extra arguments go to pytest (e.g. -x, -k query)
#        scripts/asan.sh --selftest           prove the setup catches a heap overflow (see below)
# Environment:
#   PYTHON         interpreter for the venv (default: python3); a CPython with its headers
#   ASAN_EXAMPLES  examples per hypothesis test (default 5000). It overrides the count of the "asan" profile
#                  in tests/conftest.py (20,000), which takes about 25 minutes here: a one-file pytest plugin,
#                  written into the temporary directory and loaded with -p, registers and loads an "asan-env"
#                  profile after the conftest has loaded "asan"; tests/conftest.py is not touched.
#                  ASAN_EXAMPLES=profile uses the "asan" profile as it is (HYPOTHESIS_PROFILE=asan alone).
#   Timing (Debian 12, 2 cores, CPython 3.11.7): venv + build about 20 s; pytest under ASan about 6 min 20 s
#   with 5000 examples, 70 s with 1000; about 75 ms per example, so 20,000 would take about 25 minutes.
#   ASAN_KEEP=1    keep the temporary directory (its path is printed) instead of deleting it
#   ASAN_TMPDIR    where to make the temporary directory (default: $TMPDIR or /tmp)
# Exit status: pytest's. An ASan report aborts the interpreter (SIGABRT, exit status 134) with the report on
# stderr: "ERROR: AddressSanitizer: heap-buffer-overflow ..." and the stack, with _core.pyx/_core.c lines.
#
# How we know it catches a real overflow (--selftest does this, and it was checked by hand once on a broken
# copy of _core.pyx, never committed): in _urlencode, which malloc()s an exact-size buffer, one extra write
#     buf[size] = 0        (one byte past the malloc'd block)
# before the PyBytes_FromStringAndSize(buf, j) makes tests/test_core_differential.py::test_query_strings
# abort at its first non-empty query string with
#     ERROR: AddressSanitizer: heap-buffer-overflow on address ... WRITE of size 1 ...
#     #0 ... in __pyx_f_8cymangum_5_core__urlencode .../src/cymangum/_core.c:...
#     ... is located 0 bytes to the right of 42-byte region ... allocated by thread T0 here:
#     #0 ... in __interceptor_malloc   #1 ... in __pyx_f_8cymangum_5_core__urlencode
# --selftest makes that copy (only in the temporary directory), runs that one test, and fails unless the run
# aborted with a heap-buffer-overflow report. Without ASan such a one-byte overrun usually goes unnoticed (it
# lands in malloc's slack or quietly corrupts the next chunk), which is why this script exists.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
SELFTEST=0
if [[ "${1:-}" == "--selftest" ]]; then
    SELFTEST=1
    shift
fi

log() { printf '\n==> [%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { echo "error: $*" >&2; exit 1; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

# 1. Toolchain: gcc with its AddressSanitizer runtime (Debian 12: gcc-12, libasan8).
libasan() { gcc -print-file-name=libasan.so 2>/dev/null; }
if ! command -v gcc >/dev/null || [[ ! -e "$(libasan)" ]]; then
    log "installing gcc and libasan8 with apt"
    command -v apt-get >/dev/null || die "no gcc with libasan, and no apt-get to install them"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libasan8 >/dev/null
fi
LIBASAN=$(libasan)
[[ -e "$LIBASAN" ]] || die "gcc -print-file-name=libasan.so gave '$LIBASAN', which does not exist"
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    || die "$PYTHON has no Python.h (Debian's python3: apt-get install python3-dev python3-venv)"

# 2. A copy of the checkout.
WORK=$(mktemp -d "${ASAN_TMPDIR:-${TMPDIR:-/tmp}}/cymangum-asan.XXXXXX")
if [[ "${ASAN_KEEP:-0}" == 1 ]]; then
    echo "keeping $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi
COPY=$WORK/repo
mkdir -p "$COPY"
log "copying $ROOT to $COPY"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
        | tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$COPY"
else
    (cd "$ROOT" && tar --exclude=build --exclude=dist --exclude=wheelhouse --exclude='.*' \
        --exclude='*.so' --exclude='*.c' --exclude='__pycache__' -cf - .) | tar -xf - -C "$COPY"
fi
rm -f "$COPY"/src/cymangum/*.so "$COPY"/src/cymangum/_core.c
[[ -f "$COPY/src/cymangum/_core.pyx" ]] || die "no src/cymangum/_core.pyx in the copy"
# The tests find the genuine AWS events themselves (tests/events.py: CYMANGUM_EVENTS_DIR, ../shared/events,
# /work/shared/events); a corpus beside the checkout is linked beside the copy, so that it is found the same way.
if [[ -d "$ROOT/../shared/events" ]]; then
    ln -s "$(cd "$ROOT/../shared" && pwd)" "$WORK/shared"
fi

if [[ $SELFTEST == 1 ]]; then
    log "selftest: writing one byte past _urlencode's malloc'd buffer (in the copy only)"
    pyx=$COPY/src/cymangum/_core.pyx
    grep -q '^        return PyBytes_FromStringAndSize(buf, j)$' "$pyx" \
        || die "selftest: _urlencode no longer has the line the selftest patches"
    sed -i 's/^        return PyBytes_FromStringAndSize(buf, j)$/        buf[size] = 0\n&/' "$pyx"
    grep -n -B1 'return PyBytes_FromStringAndSize(buf, j)' "$pyx"
fi

# 3. A fresh venv with the test and build requirements.
# mangum: tests/test_hardening.py compares against it (through tests/test_genuine_events.py).
CYTHON_PIN=$(grep -o '"Cython==[^"]*"' "$COPY/pyproject.toml" | tr -d '"' || true)
MANGUM_PIN=$(grep -o '"mangum==[^"]*"' "$COPY/pyproject.toml" | head -n1 | tr -d '"' || true)
log "creating a venv with $("$PYTHON" --version) and installing pytest, hypothesis, ${CYTHON_PIN:-Cython}, setuptools, ${MANGUM_PIN:-mangum}"
"$PYTHON" -m venv "$WORK/venv"
VPY=$WORK/venv/bin/python
"$VPY" -m pip install -q --disable-pip-version-check "pytest>=8" "hypothesis>=6.100" "${CYTHON_PIN:-Cython}" "setuptools>=77" wheel \
    "${MANGUM_PIN:-mangum}"

# 4. The ASan build.
log "building cymangum._core with -fsanitize=address"
(
    cd "$COPY"
    CC=gcc LDSHARED="gcc -shared" CFLAGS="-fsanitize=address -fno-omit-frame-pointer -O1 -g" \
        LDFLAGS="-fsanitize=address" "$VPY" setup.py -q build_ext --inplace
)
SO=$(ls "$COPY"/src/cymangum/_core.*.so)
# (grep without -q: it reads all of its input, so the pipe never SIGPIPEs its writer under pipefail)
ldd "$SO" | grep libasan >/dev/null || die "$SO does not link libasan: the build did not use -fsanitize=address"
nm -D --undefined-only "$SO" | grep __asan_report >/dev/null || die "$SO has no ASan instrumentation"

export LD_PRELOAD=$LIBASAN
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export PYTHONMALLOC=malloc
export CYMANGUM_REQUIRE_EXTENSIONS=1
export HYPOTHESIS_PROFILE=asan
export PYTHONPATH=$COPY/src
unset CYMANGUM_NO_EXTENSIONS PYTHONSTARTUP
cd "$COPY"
loaded=$("$VPY" -c 'import cymangum._core as m, cymangum.core as c; print(m.__file__, c.implementation.__name__)')
[[ "$loaded" == "$SO cymangum._core" ]] || die "the tests would not use the ASan build (got: $loaded)"
echo "instrumented: $SO"
echo "LD_PRELOAD=$LD_PRELOAD ASAN_OPTIONS=$ASAN_OPTIONS PYTHONMALLOC=$PYTHONMALLOC"

PLUGIN=()
ASAN_EXAMPLES=${ASAN_EXAMPLES:-5000}
if [[ "$ASAN_EXAMPLES" != profile ]]; then
    [[ "$ASAN_EXAMPLES" =~ ^[1-9][0-9]*$ ]] || die "ASAN_EXAMPLES must be a positive integer or 'profile'"
    export ASAN_EXAMPLES
    mkdir -p "$WORK/plugins"
    cat >"$WORK/plugins/asan_examples.py" <<'EOF'
"""Load an "asan-env" hypothesis profile with ASAN_EXAMPLES examples, after tests/conftest.py loaded its own."""
import os

import pytest
from hypothesis import settings


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session):
    settings.register_profile("asan-env", max_examples=int(os.environ["ASAN_EXAMPLES"]), deadline=None)
    settings.load_profile("asan-env")
EOF
    export PYTHONPATH=$PYTHONPATH:$WORK/plugins
    PLUGIN=(-p asan_examples)
fi

# 5. The tests.
if [[ $SELFTEST == 1 ]]; then
    log "selftest: running test_query_strings against the broken build; it must abort with an ASan report"
    set +e
    "$VPY" -m pytest -p no:cacheprovider --capture=sys "${PLUGIN[@]}" -x -q \
        tests/test_core_differential.py::test_query_strings "$@" 2>"$WORK/selftest.err"
    rc=$?
    set -e
    grep -A12 'ERROR: AddressSanitizer' "$WORK/selftest.err" || true
    if [[ $rc != 0 ]] && grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$WORK/selftest.err"; then
        log "selftest passed: the overflow aborted the run (exit status $rc) with a heap-buffer-overflow report"
        exit 0
    fi
    tail -n 30 "$WORK/selftest.err" >&2
    die "selftest FAILED: exit status $rc and no heap-buffer-overflow report; ASan is not catching overflows"
fi

log "running the core tests under ASan (HYPOTHESIS_PROFILE=asan, ASAN_EXAMPLES=$ASAN_EXAMPLES)"
start=$SECONDS
set +e
"$VPY" -m pytest -p no:cacheprovider --capture=sys "${PLUGIN[@]}" -q -m "not slow" \
    tests/test_core_differential.py tests/test_core_api.py tests/test_hardening.py "$@"
rc=$?
set -e
log "pytest exit status $rc after $((SECONDS - start))s"
if [[ $rc == 134 ]]; then
    echo "the interpreter aborted: see the AddressSanitizer report above" >&2
fi
exit $rc
