"""Can this machine run the CPU kernels the loaded llama.cpp library was compiled with?

A llama.cpp library built for another CPU does not fail politely: an instruction set the
CPU lacks is a SIGILL, and AMX tile kernels on a machine whose OS (or hypervisor) does not
grant AMX state are a general protection fault at ``ldtilecfg``, on the first batched
prompt. Both kill the interpreter, so we decide before the first forward pass, from
facts gathered once: the library's compiled features (``llama_print_system_info``), the
CPU's flags (``/proc/cpuinfo``) and, only where both claim AMX, whether a child process
can really configure AMX tiles.
"""

from __future__ import annotations

import ctypes
import functools
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

# ggml's feature name -> the /proc/cpuinfo flag a CPU needs for it.
CPU_FLAG_FOR = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX_VNNI": "avx_vnni",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}
AMX_FLAGS = frozenset({"amx_tile", "amx_int8"})

PORTABLE_HINT = (
    "reinstall the portable build: `python backends/llama_build.py install` in a clone "
    "of the project, or `make demo` there (LLAMA_BUILD=portable is the default)"
)


class UnrunnableLibrary(RuntimeError):
    """The loaded llama.cpp library would crash on this machine; the message says why."""


@dataclass(frozen=True)
class Verdict:
    """``ok``: load as usual. Otherwise ``reason`` says what would crash and what to do."""

    ok: bool
    reason: str = ""


def library_features(system_info: str) -> frozenset[str]:
    """The features a ``llama_print_system_info()`` text reports as compiled in (``X = 1``)."""
    return frozenset(m.group(1) for m in re.finditer(r"([A-Z][A-Z0-9_]*) = 1\b", system_info))


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The flags of the first CPU in a ``/proc/cpuinfo`` text (empty when there are none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def verdict(library: Iterable[str], cpu: Iterable[str], amx_runs: bool | None) -> Verdict:
    """Whether the library's x86 kernels can run here.

    ``cpu`` empty means the flags are unknown (not Linux, or not x86): trust the library,
    as llama.cpp does. ``amx_runs`` is the probe's answer, ``None`` when it was not asked.
    """
    compiled = frozenset(library)
    flags = frozenset(cpu)
    if not flags:
        return Verdict(True)
    missing = sorted(
        feature
        for feature, flag in CPU_FLAG_FOR.items()
        if feature in compiled and feature != "AMX_INT8" and flag not in flags
    )
    if missing:
        return Verdict(
            False,
            "this llama-cpp-python was compiled for another CPU: it uses "
            f"{', '.join(missing)}, which this CPU lacks (it would stop with an illegal "
            f"instruction); {PORTABLE_HINT}",
        )
    if "AMX_INT8" in compiled and flags >= AMX_FLAGS and amx_runs is not True:
        return Verdict(
            False,
            "this llama-cpp-python was compiled with AMX kernels, and this CPU reports AMX, "
            "but the operating system does not let a process use AMX tiles here (batched "
            f"prompts would crash at ldtilecfg); {PORTABLE_HINT}",
        )
    return Verdict(True)


def needs_amx_probe(library: Iterable[str], cpu: Iterable[str]) -> bool:
    return "AMX_INT8" in frozenset(library) and frozenset(cpu) >= AMX_FLAGS


# Run in a child, so that a fault kills the child only: ask Linux for AMX tile state
# (arch_prctl ARCH_REQ_XCOMP_PERM, XTILEDATA), then load a one-tile configuration, zero
# the tile and release it, as ggml's AMX kernels do first. There is no library that
# answers "may this process execute ldtilecfg"; CPUID and the kernel's answer can both
# say yes inside a hypervisor that then faults.
_AMX_PROBE = r"""
import ctypes, mmap, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(158, 0x1023, 18) != 0:
    sys.exit(3)
code = bytes.fromhex("c4e2784907" "c4e27b49c0" "c4e27849c0" "31c0" "c3")
page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
address = ctypes.addressof(ctypes.c_char.from_buffer(page))
config = (ctypes.c_uint8 * 64)()
config[0] = 1                     # palette 1
config[16] = 64                   # tile 0: 64 bytes a row
config[48] = 16                   # tile 0: 16 rows
run = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(address)
sys.exit(run(ctypes.addressof(config)))
"""


@functools.cache
def amx_runs() -> bool:
    """True when a child process configured, used and released an AMX tile."""
    if not sys.platform.startswith("linux") or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _AMX_PROBE], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def check(system_info: str, cpuinfo: str) -> Verdict:
    """The verdict for this library on this machine, probing AMX only where it matters."""
    library = library_features(system_info)
    flags = cpu_flags(cpuinfo)
    probe = amx_runs() if needs_amx_probe(library, flags) else None
    return verdict(library, flags, probe)


def physical_cores(cpuinfo: str, usable: int) -> int:
    """Cores without their hyperthread siblings, at most ``usable`` (the CPUs this
    process may run on). llama.cpp runs fastest with one thread per core; ``cpuinfo``
    without core ids (not Linux, some VMs) counts every usable CPU."""
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    for line in [*cpuinfo.splitlines(), ""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            physical = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip() and core:
            cores.add((physical, core))
            physical = core = ""
    return max(1, min(usable, len(cores) or usable))
