# shellcheck shell=bash
# Helpers shared by build_wheels.sh and test_aarch64.sh (sourced, not run): fetch Debian's arm64 CPython
# packages with a private apt configuration, so the machine's own apt sources, dpkg architectures and package
# state are never touched. Needs apt-get, apt-cache and dpkg-deb (any Debian or Ubuntu host) and network access
# to a Debian mirror. Everything lands under $WHEELBUILD_CACHE (default .wheelbuild/ in the repository).
#
# Debian builds arm64 CPython for 3.11 (bookworm), 3.13 (trixie) and 3.14 (forky, the testing suite at the time
# of writing); there is no Debian 3.10 or 3.12. Override with DEBIAN_SUITE_3_14=sid and the like.

: "${DEBIAN_MIRROR:=http://deb.debian.org/debian}"
: "${DEBIAN_KEYRING:=/usr/share/keyrings/debian-archive-keyring.gpg}"

# debian_suite_for 3.11 -> bookworm
debian_suite_for() {
    local version=$1 var="DEBIAN_SUITE_${1//./_}"
    if [[ -n "${!var:-}" ]]; then echo "${!var}"; return; fi
    case "$version" in
        3.11) echo bookworm ;;
        3.13) echo trixie ;;
        3.14) echo forky ;;
        *) echo "error: Debian has no arm64 CPython $version (available: 3.11, 3.13, 3.14)" >&2; return 1 ;;
    esac
}

# arm64_apt SUITE apt-get|apt-cache ARGS...: run apt against a private arm64-only view of one Debian suite.
arm64_apt() {
    local suite=$1 tool=$2
    shift 2
    local dir="$WHEELBUILD_CACHE/apt/$suite"
    mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/preferences.d"
    [[ -e "$dir/status" ]] || : >"$dir/status"
    echo "deb [arch=arm64 signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR $suite main" >"$dir/sources.list"
    "$tool" -q \
        -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/none" \
        -o Dir::Etc::Preferences="$dir/none" -o Dir::Etc::PreferencesParts="$dir/preferences.d" \
        -o Dir::State::Lists="$dir/lists" -o Dir::State::status="$dir/status" -o Dir::Cache="$dir/cache" \
        -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Acquire::Languages=none \
        -o APT::Sandbox::User=root "$@"
}

# arm64_update SUITE: refresh the package index when it is missing or older than a day.
arm64_update() {
    local suite=$1 lists="$WHEELBUILD_CACHE/apt/$suite/lists"
    if [[ -z "$(find "$lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ]]; then
        arm64_apt "$suite" apt-get update >/dev/null
    fi
}

# arm64_unpack SUITE DEST PACKAGE...: download the packages (cached in $WHEELBUILD_CACHE/debs/SUITE) and
# unpack them into DEST. A stamp file records what DEST holds so that reruns do nothing.
arm64_unpack() {
    local suite=$1 dest=$2
    shift 2
    local stamp="$dest/.cymangum-packages" want="$suite $*"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
    arm64_update "$suite"
    local debs="$WHEELBUILD_CACHE/debs/$suite" deb
    mkdir -p "$debs"
    # The file names apt-get download gives the candidates (an epoch's colon is written %3a).
    local -a files missing=()
    mapfile -t files < <(arm64_apt "$suite" apt-cache show --no-all-versions "$@" | awk '
        /^Package: / { p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 }
        /^$/ && p { sub(/:/, "%3a", v); print p "_" v "_" a ".deb"; p = "" }
        END { if (p) { sub(/:/, "%3a", v); print p "_" v "_" a ".deb" } }')
    [[ ${#files[@]} -eq $# ]] || { echo "error: apt knows ${#files[@]} of the $# packages: $*" >&2; return 1; }
    for deb in "${files[@]}"; do [[ -f "$debs/$deb" ]] || missing+=("${deb%%_*}"); done
    if [[ ${#missing[@]} -gt 0 ]]; then
        (cd "$debs" && arm64_apt "$suite" apt-get download "${missing[@]}" >/dev/null)
    fi
    rm -rf "$dest"
    mkdir -p "$dest"
    for deb in "${files[@]}"; do dpkg-deb -x "$debs/$deb" "$dest"; done
    # Suites since trixie ship everything under /usr and leave the /lib -> usr/lib links (where the arm64
    # binaries look for their loader, /lib/ld-linux-aarch64.so.1) to the installer: make them.
    local d
    for d in bin sbin lib; do
        if [[ -d "$dest/usr/$d" && ! -e "$dest/$d" ]]; then ln -s "usr/$d" "$dest/$d"; fi
    done
    echo "$want" >"$stamp"
}

# arm64_python_closure SUITE X.Y: the packages an arm64 pythonX.Y needs at run time (the Depends closure minus
# Debian's packaging machinery, perl, time zone data and the like, which an interpreter run never touches).
arm64_python_closure() {
    local suite=$1 version=$2
    arm64_update "$suite"
    arm64_apt "$suite" apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "python$version" |
        grep -v '^[ <]' | sort -u |
        grep -Ev '^(perl|perl-base|perl-modules-.*|libperl.*|dpkg|tar|install-info|debconf|cdebconf|libdebian-installer.*|libnewt.*|libslang.*|libtextwrap.*|tzdata|mailcap|mime-support|media-types|readline-common|netbase|gcc-[0-9]+-base)$'
}
