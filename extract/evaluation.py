"""Evaluation: how right the records are, field by field, and which system is better.

The public path of ``extract/apps/evaluation/``: see there.
"""

from .apps.evaluation import (
    Counts,
    Dataset,
    DocumentRun,
    DocumentScore,
    EvalReport,
    GoldDocument,
    Matcher,
    Scorer,
    SystemSummary,
    evaluate,
    exact,
    fuzzy,
    normalized,
    number,
    scorer_for,
    text,
)

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
    "fuzzy",
    "normalized",
    "number",
    "scorer_for",
    "text",
]
