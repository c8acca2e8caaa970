"""CUDA stand-ins for a CPU image of PyPI's CUDA torch (TORCH_DEVICE=cpu in the Dockerfile).

PyPI's torch for Linux is built for CUDA: its libraries name libcudart, libcublas, libcudnn, ...
as DT_NEEDED, so `import torch` fails without the nvidia-* wheels (3 GB). This writes, for each
such library that is missing, a small shared object with the same soname that defines every
symbol torch takes from it (with its symbol version), each one a function returning 0, and puts
them beside torch's own libraries (torch's RPATH has $ORIGIN). On a machine without a GPU no
CUDA function is called: cudaGetDeviceCount leaves the count at 0, so
`torch.cuda.is_available()` is False and torch runs on the CPU.

    usage: python3 cuda_stubs.py SITE_PACKAGES      (needs binutils: as, ld, objdump, readelf)
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

STUB = "agentcore_cuda_stub"
# The libraries of the nvidia-* wheels (and the driver's libcuda): the only ones stood in for.
CUDA_LIBRARY = re.compile(r"lib(cu|nv|nccl)")


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _needed(elf: Path) -> list[str]:
    return re.findall(r"\(NEEDED\).*\[(.+)\]", _run("readelf", "-d", str(elf)))


def _dynamic_symbols(elf: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """(defined names, undefined (name, version) pairs; version '' when unversioned)."""
    defined: set[str] = set()
    undefined: set[tuple[str, str]] = set()
    for line in _run("objdump", "-T", str(elf)).splitlines():
        fields = line.split()
        if len(fields) < 6 or not re.fullmatch(r"[0-9a-f]{16}", fields[0]):
            continue
        name = fields[-1]
        version = fields[-2].strip("()")
        if "*UND*" in fields and "w" not in fields[1:3]:  # weak references may stay unresolved
            unversioned = version in ("Base", "*UND*") or version[0].isdigit()
            undefined.add((name, "" if unversioned else version))
        else:
            defined.add(name)
    return defined, undefined


def _system_libraries() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for line in _run("ldconfig", "-p").splitlines():
        match = re.match(r"\s*(\S+) \(.*x86-64.*\) => (\S+)", line)
        if match:
            found.setdefault(match.group(1), Path(match.group(2)))
    return found


def main(site_packages: Path) -> None:
    torch_lib = site_packages / "torch" / "lib"
    elves = sorted(p for p in (site_packages / "torch").rglob("*.so*") if p.is_file())
    system = _system_libraries()
    absent = (
        {name for elf in elves for name in _needed(elf)} - {p.name for p in elves} - set(system)
    )
    missing = sorted(name for name in absent if CUDA_LIBRARY.match(name))
    if absent - set(missing):  # not CUDA's: left alone (e.g. libgfortran's libquadmath, unused)
        print(f"cuda_stubs: not CUDA's, left absent: {' '.join(sorted(absent - set(missing)))}")
    if not missing:
        print("cuda_stubs: no missing library, nothing to do")
        return
    defined: set[str] = set()
    undefined: set[tuple[str, str]] = set()
    # what the interpreter defines (Python's C API: in the executable or its libpython)
    python = Path(sys.executable).resolve()
    providers = [python] + [Path(p) for p in re.findall(r"=> (/\S+)", _run("ldd", str(python)))]
    providers += [system[n] for n in {n for e in elves for n in _needed(e)} if n in system]
    for elf in elves + providers:
        names, refs = _dynamic_symbols(elf)
        defined |= names
        if elf in elves:
            undefined |= refs
    by_version: dict[str, set[str]] = defaultdict(set)
    for name, version in sorted(undefined):
        if name not in defined:
            by_version[version or "AGENTCORE_CUDA_STUB"].add(name)
    seen: set[str] = set()
    for version in sorted(by_version):  # one version per name in a version script
        by_version[version] -= seen
        seen |= by_version[version]
    asm = [
        ".text",
        f".globl {STUB}",
        f".type {STUB},@function",
        f"{STUB}:",
        "xor %eax, %eax",
        "ret",
    ]
    for name in sorted(seen):
        asm += [f".globl {name}", f".type {name},@function", f".set {name}, {STUB}"]
    script = [
        f"{version} {{ global: {'; '.join(sorted(names)) or STUB}; }};"
        for version, names in sorted(by_version.items())
    ]
    with tempfile.TemporaryDirectory() as work:
        Path(work, "stub.s").write_text("\n".join(asm) + "\n")
        Path(work, "stub.map").write_text("\n".join(script) + "\n")
        subprocess.run(["as", "-o", f"{work}/stub.o", f"{work}/stub.s"], check=True)
        for soname in missing:
            subprocess.run(
                [
                    "ld",
                    "-shared",
                    "-soname",
                    soname,
                    "--version-script",
                    f"{work}/stub.map",
                    "-o",
                    str(torch_lib / soname),
                    f"{work}/stub.o",
                ],
                check=True,
            )
    print(f"cuda_stubs: {len(seen)} symbols in stand-ins for {' '.join(missing)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
