"""Typed records out of text: Pydantic models in, validated instances out.

import extract
person = extract.extract(Person, "Alice, 31, lives in Paris.")
"""

from ._api import Extractor, aextract, default_extractor, extract
from ._errors import (
    ContextWindowError,
    ExtractError,
    ExtractionError,
    ModelLoadError,
    UnsupportedTypeError,
    UsageError,
)
from ._result import Attempt, Result, Usage

__all__ = [
    "Attempt",
    "ContextWindowError",
    "ExtractError",
    "ExtractionError",
    "Extractor",
    "ModelLoadError",
    "Result",
    "UnsupportedTypeError",
    "Usage",
    "UsageError",
    "aextract",
    "default_extractor",
    "extract",
]
