"""Typed records out of text: Pydantic models in, validated instances out.

import extract
person = extract.extract(Person, "Alice, 31, lives in Paris.")
"""

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
