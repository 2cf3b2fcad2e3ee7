"""Which system suggests each field: pure functions over the scores of answered documents.

A *unit* is a top-level field (``/name``, ``/items``), or the whole record ("") when
the target is not an object: a list of entities is chosen as one. Each system's
suggestion for a document is scored against the answer when the document is answered
(it was made before the answer existed, so every score is held out: the student was
not trained on it, and nearest examples never include the document itself). For each
unit the system with the best F1 over its recent scored documents is chosen; a system
with fewer than ``min_documents`` scored there is not chosen over one that has them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from extract.apps.evaluation._score import Counts, DocumentScore
from extract.schemas import child_pointer

Evidence = Mapping[str, Mapping[str, tuple[int, Counts]]]  # system -> unit -> (docs, counts)


def units_of(schema: Mapping[str, Any]) -> list[str]:
    """The top-level fields of an object schema (by alias), else [""]."""
    root = schema
    ref = root.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        root = schema.get("$defs", {}).get(ref.split("/")[-1], root)
    properties = root.get("properties")
    if root.get("type") == "object" and isinstance(properties, dict) and properties:
        return [child_pointer("", str(key)) for key in properties]
    return [""]


def unit_of(path: str, units: Sequence[str]) -> str | None:
    """The unit a scored path (``/items/*/price``) belongs to."""
    for unit in units:
        if unit == "" or path == unit or path.startswith(unit + "/"):
            return unit
    return None


def unit_counts(score: DocumentScore, units: Sequence[str]) -> dict[str, Counts]:
    """A document's leaf counts summed per unit (every unit present, maybe all zero)."""
    out = {unit: Counts() for unit in units}
    for path, counts in score.fields.items():
        unit = unit_of(path, units)
        if unit is not None:
            out[unit].add(counts)
    return out


def choose(
    evidence: Evidence,
    units: Sequence[str],
    available: Sequence[str],
    *,
    min_documents: int = 5,
    default: str = "teacher",
) -> dict[str, str]:
    """unit -> the available system with the best F1 there among those scored on at
    least ``min_documents`` documents (and at least one); ties go to the one listed first in
    ``available``. With no such system: ``default`` if available, else the first."""
    fallback = default if default in available else available[0]
    least = max(1, min_documents)  # never judged on nothing
    out: dict[str, str] = {}
    for unit in units:
        best: tuple[float, str] | None = None
        for system in available:
            documents, counts = evidence.get(system, {}).get(unit, (0, Counts()))
            if documents >= least and (best is None or counts.f1 > best[0]):
                best = (counts.f1, system)
        out[unit] = fallback if best is None else best[1]
    return out


def compose(values: Mapping[str, Any], chosen: Mapping[str, str]) -> Any:
    """The record whose units come from the chosen systems' JSON values (a system with
    no value gives nothing for its units)."""
    if "" in chosen:
        return values.get(chosen[""])
    out: dict[str, Any] = {}
    for unit, system in chosen.items():
        value = values.get(system)
        key = _field(unit)
        if isinstance(value, dict) and key in value:
            out[key] = value[key]
    return out


def agreement(values: Mapping[str, Any], chosen: Mapping[str, str]) -> float:
    """The share of units on which every system that answered agrees with the chosen
    value: how sure the suggestion is when no system gives probabilities."""
    answered = {s: v for s, v in values.items() if v is not None}
    if not chosen or len(answered) < 2:
        return 0.0
    agreed = 0
    for unit, system in chosen.items():
        mine = _part(answered.get(system), unit)
        agreed += all(_part(v, unit) == mine for v in answered.values())
    return agreed / len(chosen)


def _part(value: Any, unit: str) -> Any:
    if unit == "" or not isinstance(value, dict):
        return value if unit == "" else None
    return value.get(_field(unit))


def _field(unit: str) -> str:
    """The key a top-level pointer names (``/a~1b`` -> ``a/b``)."""
    return unit[1:].replace("~1", "/").replace("~0", "~")
