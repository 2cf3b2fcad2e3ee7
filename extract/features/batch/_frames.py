"""Tables from dataframe libraries as rows: a pandas or polars ``DataFrame``, a Hugging
Face ``datasets.Dataset`` or a ``pyarrow.Table``.

Each is known by its class's module and name (a subclass too), so none of those
libraries is imported unless the input is one of its tables. Values come out as the
library gives them; a missing one (None, NaN, pandas' NA) is told apart by ``missing``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from extract.core._errors import UsageError

_KINDS = {
    ("pandas", "DataFrame"): "pandas DataFrame",
    ("polars", "DataFrame"): "polars DataFrame",
    ("datasets", "Dataset"): "datasets.Dataset",
    ("pyarrow", "Table"): "pyarrow.Table",
}
_BATCH = 512  # rows read at a time from a datasets.Dataset


@dataclass(frozen=True)
class Frame:
    """One table and its library (``kind``, e.g. ``"polars DataFrame"``)."""

    data: Any
    kind: str

    @property
    def columns(self) -> list[Any]:
        if self.kind in ("datasets.Dataset", "pyarrow.Table"):
            return list(self.data.column_names)
        return list(self.data.columns)  # pandas labels need not be strings

    def require(self, names: Sequence[str], what: str) -> None:
        """A ``UsageError`` naming the columns there are, if one of ``names`` is not
        among them or is there twice."""
        columns = self.columns
        for name in names:
            count = columns.count(name)
            if count == 1:
                continue
            have = ", ".join(repr(str(c)) for c in columns) or "none"
            problem = "no" if count == 0 else f"{count} columns named"
            raise UsageError(
                f"{what}: the {self.kind} has {problem} {name!r} column (its columns: {have}); "
                f"rename the column to {name!r}"
            )

    def rows(self, names: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """The values of the columns ``names``, row by row, in order."""
        data, names = self.data, list(names)
        if self.kind == "pandas DataFrame":
            yield from data.loc[:, names].itertuples(index=False, name=None)
        elif self.kind == "polars DataFrame":
            yield from data.select(names).iter_rows()
        elif self.kind == "datasets.Dataset":
            for batch in data.select_columns(names).iter(batch_size=_BATCH):
                yield from zip(*(batch[n] for n in names), strict=True)
        else:
            for record in data.select(names).to_batches():
                yield from zip(*(column.to_pylist() for column in record.columns), strict=True)


def as_frame(data: Any) -> Frame | None:
    """``data`` as a ``Frame`` when it is a table of one of the known libraries."""
    for cls in type(data).__mro__:
        kind = _KINDS.get((cls.__module__.partition(".")[0], cls.__name__))
        if kind is not None:
            return Frame(data, kind)
    return None


def missing(value: Any) -> bool:
    """None, a float NaN, or pandas' ``NA``/``NaT``: a cell with nothing in it."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    return type(value).__name__ in ("NAType", "NaTType")


@dataclass(frozen=True)
class TextRow:
    """One row read for extraction: its id, and its text or why it has none."""

    id: str
    where: str
    text: str | None
    problem: str | None = None


def text_rows(data: Any) -> Iterator[TextRow] | None:
    """A table's rows as documents: the ``text`` column, and ``id`` if there is one
    (else, or where it is empty, the row's position). None when ``data`` is no table;
    a ``UsageError`` at once when it has no ``text`` column."""
    frame = as_frame(data)
    if frame is None:
        return None
    frame.require(["text"], "extracting from a table")
    has_ids = "id" in frame.columns
    if has_ids:
        frame.require(["id"], "extracting from a table")
    return _text_rows(frame, has_ids)


def _text_rows(frame: Frame, has_ids: bool) -> Iterator[TextRow]:
    names = ["text", "id"] if has_ids else ["text"]
    for position, values in enumerate(frame.rows(names)):
        text = values[0]
        ident = values[1] if has_ids else None
        where = f"row {position}"
        ident = str(position) if missing(ident) else str(ident)
        if isinstance(text, str):
            yield TextRow(ident, where, str(text))  # str(): numpy's str_ is a subclass
            continue
        yield TextRow(ident, where, None, f'{where} has no "text" string ({_holds(text)})')


def _holds(value: Any) -> str:
    if missing(value):
        return f"it is missing: {value!r}"  # None, nan, <NA> (pandas may turn None to nan)
    return f"it holds a value of type {type(value).__name__}"
