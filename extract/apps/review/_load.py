"""The documents to review: ``extract run`` output or ``{"id", "text", "value"}`` lines,
or the review table ``extract ingest --min-confidence`` fills.

Texts come from the lines or from the run's inputs (``--input``). Every line is kept:
one whose value does not validate is reviewed like the others (its errors shown in the
form), a failed extraction (``"error"``) is reviewed from an empty form. What cannot
be reviewed at all (not UTF-8, not JSON, no id, a repeated id, no text) stops the start
with every such line named, so nothing is left out unnoticed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from extract.core._errors import UsageError
from extract.features.batch import Document, not_text, read_inputs, read_json_lines

_SHOWN = 20  # bad lines listed in the error, the rest counted


@dataclass(frozen=True)
class Item:
    position: int
    id: str
    text: str
    value: Any  # the predicted JSON, None for a failed extraction
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # why the extraction failed


def load_items(
    data: str | os.PathLike[str],
    inputs: Iterable[str] = (),
    table: str | None = None,
    predicted: bool = True,
) -> list[Item]:
    """The documents of ``data``, in order; ``UsageError`` listing every bad line.

    ``data`` is a JSONL path, or a database URL whose ``<table>__review`` table
    (``extract ingest --min-confidence``) holds the records to review. With
    ``predicted=False`` (a loop suggests) lines need no ``value``: ``{"id", "text"}``.
    """
    path = os.fspath(data)
    texts: dict[str, str] = {}
    bad: list[str] = []
    for entry in read_inputs(inputs):
        if isinstance(entry, Document):
            texts[entry.id] = entry.text
        else:
            bad.append(f"input {entry.id}: {entry.error}")
    if is_database(path):
        if not table:
            raise UsageError("reviewing a database needs the table's name (--table)")
        from ._table import review_rows

        rows = review_rows(path, table)
    else:
        rows = _file_rows(path)
    items: list[Item] = []
    seen: set[str] = set()
    for where, row in rows:
        if isinstance(row, _Bad):
            bad.append(f"{where}: {row.problem}")
            continue
        problem = _problem(row, texts, predicted)
        if problem is None and str(row["id"]) in seen:
            problem = f"the id {row['id']!r} appears twice"
        if problem is not None:
            bad.append(f"{where}: {problem}")
            continue
        seen.add(str(row["id"]))
        items.append(_item(len(items), row, texts))
    if bad:
        listed = "\n  ".join(bad[:_SHOWN])
        more = f"\n  and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        lines = "1 line cannot" if len(bad) == 1 else f"{len(bad)} lines cannot"
        raise UsageError(f"{lines} be reviewed:\n  {listed}{more}")
    if not items:
        raise UsageError(f"{path}: no documents to review")
    return items


def is_database(data: str) -> bool:
    """A database URL (``sqlite:///app.db``, ``postgresql+psycopg://...``), not a path."""
    scheme, sep, _ = data.partition("://")
    return bool(sep) and scheme.replace("+", "").isalnum()


@dataclass(frozen=True)
class _Bad:
    problem: str


def _file_rows(path: str) -> Iterator[tuple[str, Any]]:
    """Each non-blank line's place and its JSON, or why it cannot be read (the batch
    reader's rules: bytes per line, a byte order mark, a bound on nesting and length)."""
    try:
        with open(path, "rb") as f:
            lines = list(read_json_lines(f))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    for line in lines:
        where = f"{path}:{line.number}"
        yield where, _Bad(line.problem) if line.problem is not None else line.value


def _problem(row: Any, texts: Mapping[str, str], predicted: bool = True) -> str | None:
    if not isinstance(row, dict):
        return "a line must be a JSON object"
    if "id" not in row or not isinstance(row["id"], str | int):
        return 'no "id" (a string)'
    text = row.get("text", texts.get(str(row["id"])))
    if not isinstance(text, str):
        return 'no "text" in the line and none given for its id by --input'
    if (problem := not_text({"id": str(row["id"]), "text": text})) is not None:
        return problem
    if predicted and "value" not in row and "error" not in row:
        return 'neither a "value" nor an "error"'
    spans = row.get("spans") or {}
    if not isinstance(spans, dict) or not all(_is_span(s, len(text)) for s in spans.values()):
        return '"spans" must map pointers to [start, end] within the text'
    confidence = row.get("confidence") or {}
    if not isinstance(confidence, dict) or not all(
        isinstance(c, int | float) for c in confidence.values()
    ):
        return '"confidence" must map pointers to numbers'
    return None


def _is_span(span: Any, length: int) -> bool:
    return (
        isinstance(span, list | tuple)
        and len(span) == 2
        and all(isinstance(i, int) and not isinstance(i, bool) for i in span)
        and 0 <= span[0] <= span[1] <= length
    )


def _item(position: int, row: dict[str, Any], texts: Mapping[str, str]) -> Item:
    ident = str(row["id"])
    error = row.get("error")
    return Item(
        position=position,
        id=ident,
        text=row.get("text", texts.get(ident, "")),
        value=row.get("value"),
        spans={p: (s[0], s[1]) for p, s in (row.get("spans") or {}).items()},
        confidence={p: float(c) for p, c in (row.get("confidence") or {}).items()},
        error=None if error is None else error if isinstance(error, str) else json.dumps(error),
    )
