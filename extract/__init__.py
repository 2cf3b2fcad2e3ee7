"""Typed records out of text: Pydantic models in, validated instances out.

import extract
person = extract.extract(Person, "Alice, 31, lives in Paris.")
"""

from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from ._api import (
    Extractor,
    aextract,
    aiter_items,
    astream,
    default_extractor,
    extract,
    iter_items,
    stream,
)
from ._errors import (
    ContextWindowError,
    DeadlineExceededError,
    ExtractError,
    ExtractionError,
    IngestError,
    InputError,
    ItemsChangedError,
    ModelLoadError,
    ParseError,
    ProviderError,
    UnsupportedTypeError,
    UsageError,
)
from ._ingest._report import IngestReport
from ._parse import parse
from ._repair import Repaired, UnrepairableOutputError, repair_json
from ._result import Attempt, Candidate, Result, Usage
from .batch import Outcome, RateLimit, ResultCache
from .ensemble import Ensemble, Member
from .evaluation import Dataset, EvalReport, evaluate
from .grounding import CharQuote, Quote, highlight
from .review import load_examples
from .streaming import AsyncItems, Items, Snapshot

if _TYPE_CHECKING:
    from ._ingest import ingest, retry_quarantine

try:
    __version__ = _version("structured-extract")
except _NotInstalled:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> _Any:
    """``ingest`` and ``retry_quarantine`` import SQLAlchemy, so only when first used."""
    if name not in ("ingest", "retry_quarantine"):
        raise AttributeError(f"module 'extract' has no attribute {name!r}")
    from . import _ingest

    return getattr(_ingest, name)


__all__ = [
    "AsyncItems",
    "Attempt",
    "Candidate",
    "CharQuote",
    "ContextWindowError",
    "Dataset",
    "DeadlineExceededError",
    "Ensemble",
    "EvalReport",
    "ExtractError",
    "ExtractionError",
    "Extractor",
    "IngestError",
    "IngestReport",
    "InputError",
    "Items",
    "ItemsChangedError",
    "Member",
    "ModelLoadError",
    "Outcome",
    "ParseError",
    "ProviderError",
    "Quote",
    "RateLimit",
    "Repaired",
    "Result",
    "ResultCache",
    "Snapshot",
    "UnrepairableOutputError",
    "UnsupportedTypeError",
    "Usage",
    "UsageError",
    "aextract",
    "aiter_items",
    "astream",
    "default_extractor",
    "evaluate",
    "extract",
    "highlight",
    "ingest",
    "iter_items",
    "load_examples",
    "parse",
    "repair_json",
    "retry_quarantine",
    "stream",
]
