"""The batch engine: many documents through one runner, every input accounted for.

``Batch`` turns a ``Document`` into an ``Outcome`` (value or typed error) through the
result cache and the rate limit; ``_pools`` runs it on threads or tasks in input or
completion order; ``_inputs`` reads documents from paths, ``_output`` writes resumable
JSON Lines, ``_progress`` counts outcomes on stderr. ``_frames`` reads the rows of
dataframes and datasets, ``_arrow`` writes outcomes as a typed Arrow table
(``to_arrow``; the types from ``_arrow_schema``). ``Extractor.run_many``, the
``extract run`` command, its worker processes and the Ray engine all sit on it.
"""

from ._arrow import to_arrow
from ._cache import ResultCache, default_cache_path
from ._engine import (
    Batch,
    Document,
    Order,
    Outcome,
    documents,
    jsonable,
    open_cache,
    outcome_line,
)
from ._frames import Frame, as_frame, missing
from ._inputs import count_inputs, expand, json_lines, not_text, read_inputs
from ._jsonl import json_line, read_json_lines
from ._output import ResumableOutput
from ._pools import in_pool, run_tasks, run_threads
from ._progress import ProgressDisplay, Tally, awith_progress, with_progress
from ._ratelimit import LimitedBackend, RateLimit

__all__ = [
    "Batch",
    "Document",
    "Frame",
    "LimitedBackend",
    "Order",
    "Outcome",
    "ProgressDisplay",
    "RateLimit",
    "ResultCache",
    "ResumableOutput",
    "Tally",
    "as_frame",
    "awith_progress",
    "count_inputs",
    "default_cache_path",
    "documents",
    "expand",
    "in_pool",
    "json_line",
    "json_lines",
    "jsonable",
    "missing",
    "not_text",
    "open_cache",
    "outcome_line",
    "read_inputs",
    "read_json_lines",
    "run_tasks",
    "run_threads",
    "to_arrow",
    "with_progress",
]
