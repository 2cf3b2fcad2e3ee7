"""Typed records out of text: Pydantic models in, validated instances out.

    import extract
    person = extract.extract(Person, "Alice, 31, lives in Paris.")

What each public name is for:

- Extracting: ``extract``, ``aextract`` (one value with the embedded default model),
  ``stream``, ``astream`` (snapshots while it writes), ``iter_items``, ``aiter_items``
  (a list's items as they complete), ``default_extractor`` (that model, loaded once),
  ``Extractor`` (one model: a GGUF file, a hosted API, a client, a student), ``Ensemble``
  and ``Member`` (several answers voted field by field), ``RateLimit`` and
  ``ResultCache`` (for ``run_many``).
- What comes back: ``Result`` (value, raw text, attempts, usage, spans, confidence),
  ``Attempt``, ``Usage`` (tokens, and their cost where ``Prices`` or the provider say),
  ``Candidate`` (one ensemble member's answer), ``Outcome`` (one
  document of ``run_many``), ``Snapshot``, ``Items``, ``AsyncItems``.
- Schemas: ``Quote`` and ``CharQuote`` (a string copied verbatim from the text).
- Documents: ``load`` (a PDF, HTML page, e-mail or text file, by content, into a
  ``Document``: its text and where each character came from; ``DocumentError``).
- Text you already have: ``parse`` (text -> a valid value), ``repair_json`` and
  ``Repaired``.
- Checking records: ``evaluate``, ``Dataset``, ``EvalReport`` (per-field scores against
  gold; matchers in ``extract.evaluation``), ``highlight`` (an HTML page of the grounded
  values), ``load_examples`` (reviewed records as prompt examples), ``Nearest`` (the
  reviewed records most like each document as its examples), ``Calibration``.
- Learning while a person reviews: ``Loop`` (suggest, answer, train a student).
- Tables: ``to_arrow`` (``run_many``'s outcomes as a typed ``pyarrow.Table`` for pandas,
  polars, DuckDB and Parquet; the ``tables`` extra). ``run_many`` and ``evaluate`` read
  pandas and polars DataFrames and Hugging Face datasets too.
- Databases: ``ingest``, ``retry_quarantine`` (imported on first use: SQLAlchemy),
  ``IngestReport``.
- Watching: ``AttemptEvent`` and ``ResultEvent`` (what the ``on_attempt`` and
  ``on_result`` hooks are told); logs go to ``logging.getLogger("extract")``, spans to
  OpenTelemetry when it is installed.
- Errors, all under ``ExtractError`` (the tree: ``extract/core/_errors.py``).

``extract.testing`` (Hypothesis strategies, fake backends) and ``extract.ray`` are
imported on their own; ``extract.schemas`` (the compiler) and ``extract.backends`` (the
model runtimes) are the layers below. The folders: ``api`` (the front door), ``apps``
(the command line, evaluation, review, distillation, ingestion, Ray), ``features``
(streaming, ensembles, batches) and ``core`` (the loop of one record).
"""

from importlib.metadata import PackageNotFoundError as _NotInstalled
from importlib.metadata import version as _version
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from . import evaluation as evaluation  # extract.evaluation.fuzzy(...) after `import extract`
from .api._ensemble import Ensemble
from .api._extractor import (
    Extractor,
    aextract,
    aiter_items,
    astream,
    default_extractor,
    extract,
    iter_items,
    stream,
)
from .api._parse import parse
from .apps.evaluation import Dataset, EvalReport, evaluate
from .apps.highlight import highlight
from .apps.ingest._report import IngestReport
from .apps.loop import Loop
from .apps.review import load_examples
from .core._budget import Prices
from .core._calibration import Calibration
from .core._errors import (
    BudgetExceededError,
    ContextWindowError,
    DeadlineExceededError,
    DocumentError,
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
from .core._events import AttemptEvent, ResultEvent
from .core._nearest import Nearest
from .core._repair import Repaired, UnrepairableOutputError, repair_json
from .core._result import Attempt, Candidate, Result, Usage
from .core.grounding import CharQuote, Quote
from .features.batch import Outcome, RateLimit, ResultCache, to_arrow
from .features.documents import Document, load
from .features.ensemble import Member
from .features.streaming import AsyncItems, Items, Snapshot

if _TYPE_CHECKING:
    from .apps.ingest import ingest, retry_quarantine

try:
    __version__ = _version("structured-extract")
except _NotInstalled:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"


def __getattr__(name: str) -> _Any:
    """``ingest`` and ``retry_quarantine`` import SQLAlchemy, so only when first used."""
    if name not in ("ingest", "retry_quarantine"):
        raise AttributeError(f"module 'extract' has no attribute {name!r}")
    from .apps import ingest as _ingest

    return getattr(_ingest, name)


__all__ = [
    "AsyncItems",
    "Attempt",
    "AttemptEvent",
    "BudgetExceededError",
    "Calibration",
    "Candidate",
    "CharQuote",
    "ContextWindowError",
    "Dataset",
    "DeadlineExceededError",
    "Document",
    "DocumentError",
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
    "Loop",
    "Member",
    "ModelLoadError",
    "Nearest",
    "Outcome",
    "ParseError",
    "Prices",
    "ProviderError",
    "Quote",
    "RateLimit",
    "Repaired",
    "Result",
    "ResultCache",
    "ResultEvent",
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
    "load",
    "load_examples",
    "parse",
    "repair_json",
    "retry_quarantine",
    "stream",
    "to_arrow",
]
