#!/usr/bin/env python3
"""Check that cymangum's wheels install and load on AWS Lambda's Python runtimes.

Lambda's python3.10 and python3.11 run on Amazon Linux 2 (glibc 2.26), python3.12 and later on Amazon Linux 2023
(glibc 2.34), on x86_64 and arm64 (Graviton). For every wheel given (files or directories of them):

- the platform tags must be manylinux ones for x86_64 or aarch64, and the oldest glibc they claim must be at most
  the runtime's (2.26 for cp310/cp311, 2.34 for cp312+); no musllinux, plain ``linux_*``, i686 or free-threaded;
- every ELF file inside must be for the tagged architecture, need no glibc symbol version newer than the tag
  claims, link to no library outside the manylinux set and carry no RPATH/RUNPATH (a build machine's path);
- a pure wheel (``py3-none-any``) must contain no ELF file;
- with ``--auditwheel``, ``auditwheel show`` must agree (run from PATH);
- with ``--expect ID``, a wheel for each cibuildwheel-style identifier (``cp311-manylinux_aarch64``, or ``pure``)
  must be among them.

Used by the GitHub workflow on the cibuildwheel output and by scripts/build_wheels.sh on local builds.
Needs ``pyelftools`` (a dependency of auditwheel) for wheels with compiled files.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

# Highest glibc each Lambda runtime has, by CPython minor version (AL2 for 3.10/3.11, AL2023 from 3.12).
LAMBDA_GLIBC = {10: (2, 26), 11: (2, 26)}
LAMBDA_GLIBC_DEFAULT = (2, 34)
ARCHES = {"x86_64": "EM_X86_64", "aarch64": "EM_AARCH64"}
LEGACY_TAGS = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
# The libraries the manylinux policies let a wheel link to without bundling them.
ALLOWED_NEEDED = re.compile(
    r"^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1|libgcc_s\.so\.1"
    r"|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$"
)
WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-(?P<build>\d[^-]*))?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)


def glibc_str(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def parse_platform(tag: str) -> tuple[tuple[int, int], str] | None:
    """The glibc version and architecture a manylinux platform tag claims; None if it is not one."""
    for legacy, glibc in LEGACY_TAGS.items():
        if tag.startswith(legacy + "_"):
            return glibc, tag[len(legacy) + 1 :]
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag)
    if m:
        return (int(m[1]), int(m[2])), m[3]
    return None


def elf_report(data: bytes) -> tuple[str, tuple[int, int], list[str], list[str]]:
    """Machine, newest GLIBC_x.y symbol version needed, DT_NEEDED and RPATH/RUNPATH of one ELF file."""
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    elf = ELFFile(io.BytesIO(data))
    newest = (0, 0)
    needed: list[str] = []
    paths: list[str] = []
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for _, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", aux.name)
                    if m:
                        newest = max(newest, (int(m[1]), int(m[2])))
        elif isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                if tag.entry.d_tag == "DT_NEEDED":
                    needed.append(tag.needed)
                elif tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                    paths.append(tag.rpath if tag.entry.d_tag == "DT_RPATH" else tag.runpath)
    return elf["e_machine"], newest, needed, paths


def auditwheel_glibc(wheel: Path) -> tuple[int, int] | None:
    """The glibc version of the platform tag `auditwheel show` says the wheel's contents allow."""
    out = subprocess.run(["auditwheel", "show", str(wheel)], capture_output=True, text=True)
    text = " ".join((out.stdout + out.stderr).split())
    m = re.search(r'constrains the platform tag to "([^"]+)"', text) or re.search(
        r'consistent with the following platform tag: "([^"]+)"', text
    )
    if out.returncode != 0 or not m:
        print(text, file=sys.stderr)
        return None
    parsed = parse_platform(m[1])
    return parsed[0] if parsed else None


def check_wheel(wheel: Path, use_auditwheel: bool) -> tuple[str | None, list[str]]:
    """Returns the wheel's identifier (cp311-manylinux_x86_64, pure) and the problems found."""
    m = WHEEL_NAME.match(wheel.name)
    if not m:
        return None, [f"{wheel.name}: not a wheel file name"]
    problems: list[str] = []
    py_tags, abi_tags, plat_tags = (m[k].split(".") for k in ("py", "abi", "plat"))
    with zipfile.ZipFile(wheel) as zf:
        elves = {n: zf.read(n) for n in zf.namelist() if zf.read(n)[:4] == b"\x7fELF"}

    if plat_tags == ["any"]:
        if elves:
            problems.append(f"{wheel.name}: a pure wheel with compiled files {sorted(elves)}")
        if py_tags != ["py3"] or abi_tags != ["none"]:
            problems.append(f"{wheel.name}: a pure wheel should be tagged py3-none-any")
        return "pure", problems

    if len(py_tags) != 1 or not re.fullmatch(r"cp3\d+", py_tags[0]):
        return None, [f"{wheel.name}: expected one CPython tag, got {py_tags}"]
    minor = int(py_tags[0][3:])
    if abi_tags != [py_tags[0]]:
        problems.append(f"{wheel.name}: ABI tag {abi_tags} (free-threaded or abi3 builds are not for Lambda)")
    limit = LAMBDA_GLIBC.get(minor, LAMBDA_GLIBC_DEFAULT)

    claims: dict[str, tuple[int, int]] = {}
    for tag in plat_tags:
        parsed = parse_platform(tag)
        if parsed is None:
            problems.append(
                f"{wheel.name}: platform tag {tag} is not manylinux (pip on Lambda would skip it)"
            )
            continue
        glibc, arch = parsed
        if arch not in ARCHES:
            problems.append(f"{wheel.name}: architecture {arch} is not one Lambda runs")
            continue
        claims[arch] = min(glibc, claims.get(arch, glibc))
    if len(claims) != 1:
        problems.append(f"{wheel.name}: expected one architecture among the tags, got {sorted(claims)}")
        return None, problems
    ((arch, claimed),) = claims.items()
    ident = f"{py_tags[0]}-manylinux_{arch}"
    if claimed > limit:
        problems.append(
            f"{wheel.name}: needs glibc {glibc_str(claimed)}, Lambda's {py_tags[0]} runtime has {glibc_str(limit)}"
        )
    if not elves:
        problems.append(f"{wheel.name}: a platform wheel without any compiled module")
    for name, data in sorted(elves.items()):
        machine, newest, needed, paths = elf_report(data)
        if machine != ARCHES[arch]:
            problems.append(f"{wheel.name}: {name} is {machine}, the tag says {arch}")
        if newest > claimed:
            problems.append(
                f"{wheel.name}: {name} needs GLIBC_{glibc_str(newest)}, the tag claims {glibc_str(claimed)}"
            )
        if newest > limit:
            problems.append(f"{wheel.name}: {name} needs GLIBC_{glibc_str(newest)} > {glibc_str(limit)}")
        # Libraries auditwheel grafted into the wheel are fine; anything else must be in the manylinux set.
        bundled = {Path(n).name for n in elves}
        extra = [lib for lib in needed if not ALLOWED_NEEDED.match(lib) and lib not in bundled]
        if extra:
            problems.append(f"{wheel.name}: {name} links to {extra}, outside the manylinux set")
        if paths:
            problems.append(f"{wheel.name}: {name} carries RPATH/RUNPATH {paths}")
        if name.endswith(".so") and ".cpython-" in name and f"-{arch}-linux-gnu.so" not in name:
            problems.append(f"{wheel.name}: {name} has the extension suffix of another platform")
        print(f"  {name}: {machine}, newest GLIBC_{glibc_str(newest)}, needs {needed}")
    if use_auditwheel:
        shown = auditwheel_glibc(wheel)
        if shown is None:
            problems.append(f"{wheel.name}: auditwheel show failed")
        else:
            print(f"  auditwheel show: glibc {glibc_str(shown)}")
            if shown > limit:
                problems.append(
                    f"{wheel.name}: auditwheel says glibc {glibc_str(shown)} > {glibc_str(limit)}"
                )
    return ident, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+", type=Path, help="wheel files or directories holding them")
    parser.add_argument("--auditwheel", action="store_true", help="also run `auditwheel show` on each wheel")
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="ID",
        help="require a wheel for this identifier (cp311-manylinux_x86_64, pure); repeatable",
    )
    args = parser.parse_args(argv)

    wheels: list[Path] = []
    for path in args.paths:
        wheels.extend(sorted(path.glob("*.whl")) if path.is_dir() else [path])
    if not wheels:
        print("no wheels found", file=sys.stderr)
        return 1
    problems: list[str] = []
    seen: set[str] = set()
    for wheel in wheels:
        print(wheel.name)
        ident, found = check_wheel(wheel, args.auditwheel)
        problems += found
        if ident:
            if ident in seen:
                problems.append(f"two wheels for {ident}")
            seen.add(ident)
    problems += [f"no wheel for {ident}" for ident in args.expect if ident not in seen]
    for problem in problems:
        print("FAIL:", problem, file=sys.stderr)
    print(f"{len(wheels)} wheels checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
