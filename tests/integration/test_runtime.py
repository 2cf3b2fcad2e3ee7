"""The local runtime: the build the project chose, the CPU guard, and the batched prompt path.

A llama.cpp library that does not fit the CPU kills the interpreter (SIGILL, or a fault in
the AMX kernels), so these tests check the decision as a pure function and check that the
library installed here is the one ``backends/llama_build.py`` built.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extract.backends import _cpu, llama_build

ROOT = Path(__file__).resolve().parents[2]
FEATURES = sorted(_cpu.CPU_FLAG_FOR)
# Features a portable x86-64-v3 build may report; anything else came from another build.
PORTABLE_FEATURES = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}

SYSTEM_INFO = (
    "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
    "AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
)
AMX_CPU = "vendor_id\t: GenuineIntel\nflags\t\t: " + " ".join(
    sorted({*(_cpu.CPU_FLAG_FOR.values()), "amx_tile", "amx_bf16"})
)


# -- the guard, as a pure function -----------------------------------------------------


def test_library_features_reads_the_system_info_line() -> None:
    assert _cpu.library_features(SYSTEM_INFO) == {
        "SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "AVX512", "AMX_INT8",
        "LLAMAFILE", "OPENMP", "REPACK",
    }  # fmt: skip
    assert _cpu.library_features("CPU : AVX512 = 0 | AVX2 = 1 |") == {"AVX2"}


def test_cpu_flags_reads_the_first_flags_line() -> None:
    assert _cpu.cpu_flags("processor\t: 0\nflags\t\t: fpu avx2 fma\n\nflags : sse\n") == {
        "fpu", "avx2", "fma",
    }  # fmt: skip
    assert _cpu.cpu_flags("Processor : ARMv8\n") == frozenset()


@given(st.sets(st.sampled_from(FEATURES)), st.sets(st.sampled_from(FEATURES)))
def test_a_library_feature_the_cpu_lacks_is_refused_and_named(
    compiled: set[str], present: set[str]
) -> None:
    flags = {_cpu.CPU_FLAG_FOR[f] for f in present} | {"fpu"}  # known, non-empty flags
    found = _cpu.verdict(compiled, flags, amx_runs=True)
    missing = {f for f in compiled - present if f != "AMX_INT8"}
    assert found.ok == (not missing)
    for feature in missing:
        assert feature in found.reason
    if missing:
        assert "llama_build.py install" in found.reason


@given(st.sets(st.sampled_from(FEATURES)), st.one_of(st.none(), st.booleans()))
def test_unknown_cpu_flags_trust_the_library(compiled: set[str], probe: bool | None) -> None:
    assert _cpu.verdict(compiled, frozenset(), probe).ok


@pytest.mark.parametrize(
    ("compiled_amx", "cpu_amx", "probe", "ok"),
    [
        (True, True, True, True),  # AMX granted: the fast kernels run
        (True, True, False, False),  # the crash of the issue: CPU says AMX, OS refuses it
        (True, True, None, False),  # not probed: never assume
        (True, False, None, True),  # ggml's own init finds no AMX and skips its kernels
        (False, True, False, True),  # portable build: no AMX code to run
        (False, True, None, True),
    ],
)
def test_amx_kernels_run_only_where_a_process_may_use_amx_tiles(
    compiled_amx: bool, cpu_amx: bool, probe: bool | None, ok: bool
) -> None:
    compiled = {"AVX2", "AVX512"} | ({"AMX_INT8"} if compiled_amx else set())
    flags = {"avx2", "avx512f"} | ({"amx_tile", "amx_int8"} if cpu_amx else set())
    found = _cpu.verdict(compiled, flags, probe)
    assert found.ok is ok
    assert ("AMX" in found.reason) is (not ok)
    assert _cpu.needs_amx_probe(compiled, flags) is (compiled_amx and cpu_amx)


def test_the_amx_probe_answers_without_harming_this_process() -> None:
    flags = _cpu.cpu_flags(Path("/proc/cpuinfo").read_text())
    runs = _cpu.amx_runs()  # a child process; a fault there must not reach us
    assert isinstance(runs, bool)
    if not flags >= _cpu.AMX_FLAGS:
        assert runs is False


def test_an_unrunnable_library_is_a_model_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import extract
    from extract.backends import llamacpp
    from extract.core._model import default_model_path

    refused = _cpu.verdict({"AVX2", "AMX_INT8"}, {"avx2", "amx_tile", "amx_int8"}, False)
    monkeypatch.setattr(llamacpp, "_library_verdict", lambda: refused)
    with pytest.raises(extract.ModelLoadError, match="AMX") as caught:
        extract.Extractor(default_model_path())
    assert "llama_build.py install" in str(caught.value)


# -- the build recipe -------------------------------------------------------------------


def test_the_pin_is_the_installed_version() -> None:
    pin = llama_build.pinned_version(ROOT / "pyproject.toml")
    assert pin == importlib.metadata.version("llama-cpp-python")


def test_portable_flags_name_every_x86_feature_and_enable_nothing_past_v3() -> None:
    flags = llama_build.cmake_flags("portable", "x86_64")
    assert "-DGGML_NATIVE=OFF" in flags
    enabled = {f[len("-DGGML_") : -len("=ON")] for f in flags if f.endswith("=ON")}
    assert enabled == {"SSE42", "AVX", "AVX2", "FMA", "F16C", "BMI2"}
    for beyond in ("AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AVX_VNNI"):
        assert f"-DGGML_{beyond}=OFF" in flags
    for amx in ("AMX_TILE", "AMX_INT8", "AMX_BF16"):
        assert f"-DGGML_{amx}=OFF" in flags
    assert llama_build.cmake_flags("portable", "aarch64") == (
        *llama_build.COMMON,
        "-DGGML_NATIVE=OFF",
    )
    with pytest.raises(llama_build.BuildError, match="portable, native"):
        llama_build.cmake_flags("fast", "x86_64")


@given(
    st.sampled_from(["0.3.36", "0.3.37"]),
    st.sampled_from(llama_build.BUILDS),
    st.sampled_from(["x86_64", "aarch64"]),
    st.text(min_size=1, max_size=20),
)
def test_the_cache_key_follows_everything_that_changes_the_wheel(
    version: str, build: str, machine: str, cpu: str
) -> None:
    flags = llama_build.cmake_flags(build, machine)
    key = llama_build.cache_key(version, build, flags, machine, cpu)
    assert key.startswith(f"{version}-{build}-{machine}-")
    assert key != llama_build.cache_key(version, build, (*flags, "-DX=1"), machine, cpu)
    other_cpu = llama_build.cache_key(version, build, flags, machine, cpu + "+")
    # A native wheel belongs to its CPU; a portable one is shared by every CPU.
    assert (other_cpu == key) is (build == "portable")


def test_cpu_identity_is_the_first_processor_with_sorted_flags() -> None:
    info = "processor: 0\nmodel name: Xeon\nflags: b a\n\nprocessor: 1\nmodel name: Other\n"
    assert llama_build.cpu_identity(info) == "Xeon|a b"


def test_a_wheel_in_the_cache_is_reused_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = llama_build.pinned_version(ROOT / "pyproject.toml")
    machine = platform.machine()
    flags = llama_build.cmake_flags("portable", machine)
    folder = llama_build.wheel_folder(
        tmp_path, llama_build.cache_key(version, "portable", flags, machine, "")
    )
    folder.mkdir(parents=True)
    wheel = folder / f"llama_cpp_python-{version}-py3-none-linux_{machine}.whl"
    wheel.write_bytes(b"")

    def no_build(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(llama_build.subprocess, "run", no_build)
    assert (
        llama_build.ensure_wheel("python", "portable", ROOT / "pyproject.toml", tmp_path) == wheel
    )


def test_a_failed_build_leaves_no_wheel_under_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failed:
        returncode = 1

    monkeypatch.setattr(llama_build.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(llama_build.BuildError, match="building llama-cpp-python"):
        llama_build.ensure_wheel("python", "portable", ROOT / "pyproject.toml", tmp_path)
    assert not list(tmp_path.rglob("*.whl"))
    assert [p.name for p in (tmp_path / "llama-cpp-python").iterdir() if p.is_dir()] == []


def test_the_installed_library_is_a_build_from_the_project_cache() -> None:
    """Fails when pip handed over some other wheel (its cache keeps native builds)."""
    import llama_cpp

    dist = importlib.metadata.distribution("llama-cpp-python")
    origin = json.loads(dist.read_text("direct_url.json") or "{}").get("url", "")
    wheel = Path(urllib.request.url2pathname(urllib.parse.urlparse(origin).path))
    assert wheel.parent.parent == llama_build.cache_root() / "llama-cpp-python", (
        f"llama-cpp-python came from {origin or 'an index or pip cache'}, not from "
        "backends/llama_build.py; run `python backends/llama_build.py install`"
    )
    recipe = dict(
        line.split("=", 1) for line in (wheel.parent / "BUILD").read_text().splitlines()[1:]
    )
    compiled = _cpu.library_features(llama_cpp.llama_print_system_info().decode())
    x86 = {f for f in compiled if f in _cpu.CPU_FLAG_FOR}
    if recipe["build"] == "portable" and platform.machine() == "x86_64":
        assert recipe["CMAKE_ARGS"] == " ".join(llama_build.cmake_flags("portable", "x86_64"))
        assert x86 <= PORTABLE_FEATURES, f"a portable build reports {sorted(x86)}"
        assert {"AVX2", "FMA", "F16C"} <= x86
    assert _cpu.verdict(compiled, _cpu.cpu_flags(Path("/proc/cpuinfo").read_text()), None).ok


# -- the path that crashed: a long prompt in one batch ----------------------------------


@pytest.mark.model
def test_a_long_prompt_is_evaluated_in_one_batch_with_the_defaults(extractor: Any) -> None:
    from extract.backends._sequences import Feed

    backend = extractor.backend
    sequences = backend.sequences
    text = (ROOT / "extract" / "apps" / "cli" / "samples" / "invoice.txt").read_text() * 6
    tokens = backend.llm.tokenize(text.encode(), add_bos=False)
    assert 256 <= len(tokens) <= sequences.n_batch, "must be one batch of at least 256 tokens"
    passes = sequences.passes
    seq = sequences.best_idle(tokens, [])
    held = sequences.place(seq, tokens)
    logits = sequences.decode([Feed(seq, held, tokens[held:])], [seq])[seq]
    assert sequences.passes == passes + 1
    assert sequences.held[seq] == tokens
    assert logits.shape == (backend.vocabulary.n_vocab,)
    assert bool((abs(logits) < 1e4).all()) and logits.std() > 0


@pytest.mark.model
def test_a_full_record_decodes_on_this_cpu(extractor: Any) -> None:
    from extract.apps.cli._demo import Invoice

    text = (ROOT / "extract" / "apps" / "cli" / "samples" / "invoice.txt").read_text()
    result = extractor.run(Invoice, text)
    assert isinstance(result.value, Invoice)
    assert result.value.items
    assert len(result.attempts) == 1
    assert result.usage.prompt_tokens >= 256  # the batched path again, inside a real run


def _cpuinfo(pairs: list[tuple[int, int]]) -> str:
    return "".join(
        f"processor\t: {n}\nphysical id\t: {p}\ncore id\t\t: {c}\nflags\t\t: avx2\n\n"
        for n, (p, c) in enumerate(pairs)
    )


@given(
    sockets=st.integers(1, 2),
    cores=st.integers(1, 8),
    smt=st.integers(1, 2),
    usable=st.integers(1, 64),
)
def test_threads_default_to_one_per_physical_core(
    sockets: int, cores: int, smt: int, usable: int
) -> None:
    pairs = [(p, c) for p in range(sockets) for c in range(cores) for _ in range(smt)]
    assert _cpu.physical_cores(_cpuinfo(pairs), usable) == min(usable, sockets * cores)


def test_threads_without_core_ids_use_every_usable_cpu() -> None:
    assert _cpu.physical_cores("processor\t: 0\nflags\t: avx2\n", 3) == 3
    assert _cpu.physical_cores("", 0) == 1
