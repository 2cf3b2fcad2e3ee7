"""Evaluation: how right the records are, field by field, and which system is better.

``Scorer`` compares one prediction with its gold record (``_score``); ``Dataset`` holds
gold documents; ``evaluate`` runs systems over them and returns an ``EvalReport``.
"""

from typing import Any

from extract.core._options import compile_target

from ._dataset import Dataset, GoldDocument
from ._fit import fit_calibration
from ._matchers import Matcher, exact, fuzzy, normalized, number, text
from ._report import DocumentRun, EvalReport, SystemSummary
from ._run import evaluate
from ._score import Counts, DocumentScore, Scorer

__all__ = [
    "Counts",
    "Dataset",
    "DocumentRun",
    "DocumentScore",
    "EvalReport",
    "GoldDocument",
    "Matcher",
    "Scorer",
    "SystemSummary",
    "evaluate",
    "exact",
    "fit_calibration",
    "fuzzy",
    "normalized",
    "number",
    "scorer_for",
    "text",
]


def scorer_for(target: Any, **options: Any) -> Scorer:
    """A ``Scorer`` for ``target``'s JSON Schema (``matchers=``, ``tolerance=``)."""
    return Scorer(compile_target(target).json_schema, **options)
