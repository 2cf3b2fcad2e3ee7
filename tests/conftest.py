from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Tests are offline: LiteLLM reads the price list and the other catalogues it ships
# instead of fetching them when it is imported (set before any test imports it).
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["LITELLM_OFFLINE_MODE"] = "true"

_COMMON: dict[str, Any] = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=60, **_COMMON)
# CI replays the same examples every run, so a landing never hinges on luck; a developer's
# runs stay random and keep finding new cases. "deep" is for hunting.
settings.register_profile("ci", max_examples=100, derandomize=True, **_COMMON)
settings.register_profile("deep", max_examples=1000, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jsonschemabench"


@pytest.fixture(scope="session")
def tokenizer() -> Iterator[Any]:
    """The embedded model's tokenizer for llguidance, from the vocab only (no weights),
    where the local runtime is installed (CI, ``make test``); else a tokenizer of single
    bytes, so that the compiler's properties run without the native stack too (the
    unit tier). Both spell any text; the model's one also tests multi-byte tokens."""
    from extract import ModelLoadError

    try:
        import llama_cpp

        from extract.backends.llamacpp import tokenizer_for
        from extract.core._model import default_model_path

        path = default_model_path()
    except (ImportError, ModelLoadError):
        from extract.schemas import byte_tokenizer

        yield byte_tokenizer()
        return
    # The tokenizer calls into this Llama's vocab: it lives as long as the session.
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    yield tokenizer_for(llm)
    llm.close()


@pytest.fixture(scope="session")
def extractor() -> Iterator[Any]:
    import extract

    extractor = extract.default_extractor()
    yield extractor
    extractor.backend.close()  # type: ignore[attr-defined]  # free before interpreter exit


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1 for this test session, stopped after.

    CI installs the server binaries (see .ci/run); elsewhere the tests that need them
    are skipped when they are missing.
    """
    from tests.pg_server import NoPostgreSQL, running_postgresql

    try:
        with running_postgresql() as url:
            yield url
    except NoPostgreSQL as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}; .ci/run should have installed it")
        pytest.skip(f"{exc}: the PostgreSQL tests need it (Debian: apt install postgresql)")


# Test files not collected because a package they need is not installed (the unit
# tier runs from the testing extra alone; see tests/unit/conftest.py): file -> reason.
NOT_COLLECTED: dict[str, str] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say plainly what did not run on this machine and why, so a green run hides nothing."""
    reasons: dict[str, int] = {}
    files: dict[str, int] = {}
    for reason in NOT_COLLECTED.values():
        files[reason] = files.get(reason, 0) + 1
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skipped"
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons and not files:
        return
    terminalreporter.section("not run on this machine")
    for reason, count in sorted(files.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(
            f"{count} test file{'s' * (count != 1)} not collected: {reason}"
        )
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count} test{'s' * (count != 1)} skipped: {reason}")
