"""Build llama-cpp-python once per machine, with flags the project chooses, and install it.

Run it by path with any Python 3.10+ (it needs only the standard library, so it works
before the project is installed)::

    python backends/llama_build.py install                 # portable build, current venv
    python backends/llama_build.py install --build native  # this CPU only, faster
    python backends/llama_build.py path                    # where the wheel is (or would be)

Why not ``pip install llama-cpp-python``: its default build compiles for the build
machine's CPU (``-march=native``), and pip's wheel cache keys the result by name and
version only. A wheel built on one CPU is then handed to any later install on another,
whatever ``CMAKE_ARGS`` say, and crashes there (SIGILL, or a general protection fault in
the AMX kernels on a CPU whose OS does not grant AMX state). So the wheel is built here
with ``--no-cache-dir`` into a folder keyed by version and flags, and installed from
that file; pip's generic cache is neither read nor written.

The portable build targets x86-64-v3 (AVX2, FMA, F16C, BMI2): every x86-64 server and
desktop CPU of the last decade, and no instruction beyond it (no AVX-512, no AMX). The
native build adds whatever the build machine has; its folder is keyed by that CPU's
model and flags, so it is never reused on another CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

PACKAGE = "llama-cpp-python"
BUILDS = ("portable", "native")
# x86-64-v3, spelled out so the result never depends on the compiler's or ggml's defaults.
PORTABLE_X86_64 = (
    "-DGGML_NATIVE=OFF",
    "-DGGML_SSE42=ON",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
    "-DGGML_AVX_VNNI=OFF",
    "-DGGML_AVX512=OFF",
    "-DGGML_AVX512_VBMI=OFF",
    "-DGGML_AVX512_VNNI=OFF",
    "-DGGML_AVX512_BF16=OFF",
    "-DGGML_AMX_TILE=OFF",
    "-DGGML_AMX_INT8=OFF",
    "-DGGML_AMX_BF16=OFF",
)
# On other architectures ggml's generic (non-native) build is the portable one.
PORTABLE_OTHER = ("-DGGML_NATIVE=OFF",)
NATIVE = ("-DGGML_NATIVE=ON",)
# Same for every build: no network fetches at build time, no OpenMP runtime surprises.
COMMON = ("-DLLAMA_CURL=OFF",)


class BuildError(RuntimeError):
    """The wheel could not be built or installed; the message says which step failed."""


def pinned_version(pyproject: Path) -> str:
    """The ``llama-cpp-python==X`` pin of the project's ``local`` extra."""
    match = re.search(r'"llama-cpp-python==([^"\s;]+)"', pyproject.read_text(encoding="utf-8"))
    if match is None:
        raise BuildError(f"no llama-cpp-python==VERSION pin in {pyproject}")
    return match.group(1)


def cmake_flags(build: str, machine: str) -> tuple[str, ...]:
    """The CMake arguments for a build kind on an architecture (``platform.machine()``)."""
    if build == "native":
        return COMMON + NATIVE
    if build == "portable":
        x86 = machine.lower() in {"x86_64", "amd64"}
        return COMMON + (PORTABLE_X86_64 if x86 else PORTABLE_OTHER)
    raise BuildError(f"unknown build {build!r}: choose one of {', '.join(BUILDS)}")


def cpu_identity(cpuinfo: str) -> str:
    """The model name and feature flags of the first CPU in ``/proc/cpuinfo`` text."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = " ".join(sorted(fields.get("flags", "").split()))
    return f"{fields.get('model name', '')}|{flags}"


def cache_key(version: str, build: str, flags: Sequence[str], machine: str, cpu: str) -> str:
    """A folder name that changes with anything that changes the wheel.

    A native wheel is only valid on the CPU that built it, so its key includes that CPU.
    """
    parts = [version, build, machine, *flags, sys.implementation.name]
    if build == "native":
        parts.append(cpu)
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]
    return f"{version}-{build}-{machine}-{digest}"


def cache_root() -> Path:
    """``$EXTRACT_BUILD_CACHE``, else ``$XDG_CACHE_HOME/structured-extract``."""
    explicit = os.environ.get("EXTRACT_BUILD_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(xdg) / "structured-extract"


def wheel_folder(root: Path, key: str) -> Path:
    return root / PACKAGE / key


def _read_cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor()


def find_wheel(folder: Path) -> Path | None:
    wheels = sorted(folder.glob("*.whl"))
    return wheels[0] if len(wheels) == 1 else None


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Two `make` runs at once (or a test and a make) must not build the same wheel twice.
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{folder}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recipe(build: str, pyproject: Path, root: Path) -> tuple[str, tuple[str, ...], Path]:
    """The pinned version, the CMake flags and the cache folder of a build on this machine."""
    version = pinned_version(pyproject)
    machine = platform.machine()
    flags = cmake_flags(build, machine)
    key = cache_key(version, build, flags, machine, cpu_identity(_read_cpuinfo()))
    return version, flags, wheel_folder(root, key)


def ensure_wheel(python: str, build: str, pyproject: Path, root: Path) -> Path:
    """The cached wheel for this build, built first if it is missing."""
    version, flags, folder = recipe(build, pyproject, root)
    with _locked(folder):
        wheel = find_wheel(folder)
        if wheel is not None:
            print(f"llama-cpp-python {version} ({build}): cached at {wheel}", flush=True)
            return wheel
        print(
            f"llama-cpp-python {version} ({build}): building from source, once per machine "
            f"(about 6 minutes on 2 cores)\n  CMAKE_ARGS={' '.join(flags)}",
            flush=True,
        )
        scratch = tempfile.mkdtemp(dir=folder.parent, prefix=".build-")
        try:
            env = dict(os.environ, CMAKE_ARGS=" ".join(flags), FORCE_CMAKE="1")
            command = [
                python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir",
                "--no-binary", PACKAGE, f"{PACKAGE}=={version}", "--wheel-dir", scratch,
            ]  # fmt: skip
            done = subprocess.run(command, env=env, check=False)
            built = find_wheel(Path(scratch))
            if done.returncode != 0 or built is None:
                raise BuildError(f"building {PACKAGE}=={version} failed: {' '.join(command)}")
            (Path(scratch) / "BUILD").write_text(
                f"{PACKAGE}=={version}\nbuild={build}\nCMAKE_ARGS={' '.join(flags)}\n",
                encoding="utf-8",
            )
            # The finished folder appears at once or not at all: a killed build leaves
            # only a scratch folder, never a half-written wheel under the key.
            shutil.rmtree(folder, ignore_errors=True)
            os.rename(scratch, folder)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        wheel = find_wheel(folder)
        assert wheel is not None
        return wheel


def install(python: str, wheel: Path) -> None:
    """Install the wheel into ``python``'s environment, replacing any other build."""
    steps = [
        # --force-reinstall: the same version from pip's cache may already be installed.
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", str(wheel)],
        [python, "-m", "pip", "install", "--quiet", str(wheel)],  # its dependencies
    ]
    for command in steps:
        if subprocess.run(command, check=False).returncode != 0:
            raise BuildError(f"installing {wheel.name} failed: {' '.join(command)}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llama_build", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("install", "wheel", "path"))
    parser.add_argument(
        "--build",
        choices=BUILDS,
        default=os.environ.get("LLAMA_BUILD") or "portable",
        help="portable (x86-64-v3, the default) or native (this CPU only); env LLAMA_BUILD",
    )
    parser.add_argument("--python", default=sys.executable, help="the environment to install into")
    parser.add_argument(
        "--pyproject", type=Path, default=Path(__file__).resolve().parent.parent / "pyproject.toml"
    )
    args = parser.parse_args(argv)
    root = cache_root()
    try:
        if args.action == "path":
            print(recipe(args.build, args.pyproject, root)[2])
            return 0
        wheel = ensure_wheel(args.python, args.build, args.pyproject, root)
        if args.action == "install":
            install(args.python, wheel)
            print(f"installed {wheel.name} ({args.build} build)", flush=True)
        else:
            print(wheel)
    except BuildError as exc:
        print(f"llama_build: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
