"""``extract run`` output as ingestion input, and routing by confidence.

A run writes one line per document: ``{"id", "value", "confidence", ...}`` or
``{"id", "error"}``. Ingesting that file loads each ``value``; a failed extraction is
quarantined with its error. With ``min_confidence``, a record holding a value the
extractor was not sure of goes to the review table instead of the target table, with
the pointers of those values, so nothing unsure is loaded unseen and nothing is lost.
"""

from __future__ import annotations

import json
from typing import Any

from extract.core._result import Result

from ._sources import Invalid, SourceRecord

# The keys an ``extract run`` output line may hold (``batch.outcome_line``).
RUN_KEYS = frozenset(
    {
        "id",
        "value",
        "error",
        "attempts",
        "usage",
        "model",
        "cached",
        "spans",
        "confidence",
        "abstained",
        "uncertain",
        "retries",
        "fallback",
        "text",
    }
)


def accepts_run_lines(fields: set[str]) -> bool:
    """Run lines are recognised unless the model itself has a ``value`` or ``error``
    field, when such a line could be one of its records."""
    return not fields & {"value", "error"}


def unwrap(record: SourceRecord) -> Invalid | None:
    """Take the value out of a run line (or the confidence off a Result), in place.

    Returns why the record is quarantined for a failed extraction, else None. A payload
    that is not a run line is left as it is.
    """
    payload = record.payload
    if isinstance(payload, Result):
        record.confidence = dict(payload.confidence)
        return None
    if isinstance(payload, str):
        # Cheap test first: run lines start with their id (json_line keeps key order).
        if not (payload.startswith('{"id"') and ('"value"' in payload or '"error"' in payload)):
            return None
        try:
            line = json.loads(payload)
        except ValueError:
            return None
    else:
        line = payload
    if not _is_run_line(line):
        return None
    record.envelope = line
    if "error" in line:
        error = line["error"]
        message = error if isinstance(error, str) else json.dumps(error, default=str)
        return Invalid(record, "extraction failed", [{"type": "failed", "loc": [], "msg": message}])
    record.payload = line["value"]
    record.confidence = _confidence(line.get("confidence"))
    return None


def _is_run_line(line: Any) -> bool:
    return (
        isinstance(line, dict)
        and "id" in line
        and ("value" in line) != ("error" in line)
        and line.keys() <= RUN_KEYS
    )


def _confidence(raw: Any) -> dict[str, float] | None:
    """The line's confidence map; entries that are not numbers are dropped."""
    if not isinstance(raw, dict):
        return None
    return {
        str(p): float(c)
        for p, c in raw.items()
        if isinstance(c, int | float) and not isinstance(c, bool)
    }


def unsure(record: SourceRecord, threshold: float | None) -> dict[str, float]:
    """The record's values below ``threshold``, pointer -> confidence (empty: load it).

    A required value the run already marked ``uncertain`` counts even without a
    confidence for it.
    """
    if threshold is None:
        return {}
    payload, envelope = record.payload, record.envelope
    if isinstance(payload, Result):  # whether or not run lines were looked for
        sure, marked = payload.confidence, list(payload.uncertain)
    else:
        sure = record.confidence or {}
        listed = envelope.get("uncertain") if isinstance(envelope, dict) else None
        marked = [p for p in listed or () if isinstance(p, str)]
    low = {p: c for p, c in sure.items() if c < threshold}
    for pointer in marked:
        low.setdefault(pointer, sure.get(pointer, 0.0))
    return low
