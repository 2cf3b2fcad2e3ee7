"""Typed records out of text: Pydantic models in, validated instances out.

import extract
person = extract.extract(Person, "Alice, 31, lives in Paris.")
"""

from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version

from ._api import Extractor, aextract, default_extractor, extract
from ._batch import Outcome
from ._cache import ResultCache
from ._db import ingest, retry_quarantine
from ._errors import (
    ContextWindowError,
    ExtractError,
    ExtractionError,
    ModelLoadError,
    ParseError,
    ProviderError,
    UnsupportedTypeError,
    UsageError,
)
from ._parse import parse
from ._ratelimit import RateLimit
from ._repair import Repaired, UnrepairableOutputError, repair_json
from ._result import Attempt, Result, Usage

try:
    __version__ = _version("structured-extract")
except _NotInstalled:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Attempt",
    "ContextWindowError",
    "ExtractError",
    "ExtractionError",
    "Extractor",
    "ModelLoadError",
    "Outcome",
    "ParseError",
    "ProviderError",
    "RateLimit",
    "Repaired",
    "Result",
    "ResultCache",
    "UnrepairableOutputError",
    "UnsupportedTypeError",
    "Usage",
    "UsageError",
    "aextract",
    "default_extractor",
    "extract",
    "ingest",
    "parse",
    "repair_json",
    "retry_quarantine",
]
