"""Gold documents: an id, a text and the record a careful person would extract.

From JSON Lines (``{"id", "text", "gold"}`` per line, or the review format, which adds
``"answer"``: rejected and skipped documents are left out and counted), from a table
with the same columns (a pandas or polars DataFrame, a ``datasets.Dataset``, a
``pyarrow.Table``), from an iterable of ``(id, text, gold)`` or mappings, each gold
validated against the target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import to_jsonable_python

from extract.core._errors import UsageError
from extract.core._options import compile_target
from extract.features.batch import as_frame, json_lines, missing
from extract.features.documents import Document
from extract.schemas import Invalid

# Review answers whose gold is not a record to score against.
_LEFT_OUT = ("reject", "skip")


@dataclass(frozen=True)
class GoldDocument:
    id: str
    text: str
    gold: Any  # validated: a model instance, or JSON for a JSON Schema target


class Dataset:
    """Gold documents for one target, each id once, in order."""

    def __init__(self, target: Any, documents: Iterable[GoldDocument], left_out: int = 0):
        self.target = target
        self._adapter: TypeAdapter[Any] | None = (
            None if isinstance(target, dict) else TypeAdapter(target)
        )
        self.documents = list(documents)
        self.left_out = left_out  # review lines answered reject or skip
        seen: set[str] = set()
        for doc in self.documents:
            if doc.id in seen:
                raise UsageError(f"gold data: the id {doc.id!r} appears twice")
            seen.add(doc.id)

    def __len__(self) -> int:
        return len(self.documents)

    def __iter__(self) -> Iterator[GoldDocument]:
        return iter(self.documents)

    def __repr__(self) -> str:
        return f"Dataset({len(self)} documents)"

    def as_json(self, value: Any) -> Any:
        """A value of the target as JSON, fields by alias: the names the schema (and so
        every scored path) uses."""
        if self._adapter is None:
            return to_jsonable_python(value)
        return self._adapter.dump_python(value, mode="json", by_alias=True)

    def split(self, n: int) -> tuple[Dataset, Dataset]:
        """The first ``n`` documents (e.g. as examples) and the rest."""
        if not 0 <= n <= len(self):
            raise UsageError(f"cannot take {n} of {len(self)} documents")
        head, rest = self.documents[:n], self.documents[n:]
        return Dataset(self.target, head), Dataset(self.target, rest, self.left_out)

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike[str], target: Any) -> Dataset:
        """Lines ``{"id", "text", "gold"}`` (the id defaults to ``FILE:LINE``); a bad
        line is a ``UsageError`` naming it."""
        path = os.fspath(path)
        validate = _validator(target)
        docs: list[GoldDocument] = []
        left_out = 0
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise UsageError(f"cannot read gold data {path}: {exc.strerror or exc}") from exc
        with f:
            for number, row, problem in json_lines(f):
                where = f"{path}:{number}"
                if problem is not None:
                    raise UsageError(f"{where}: {problem}")
                if not isinstance(row, dict):
                    raise UsageError(f"{where}: a line must be an object with text and gold")
                if row.get("answer") in _LEFT_OUT:
                    left_out += 1
                    continue
                docs.append(_document(row, where, where, validate))
        return cls(target, docs, left_out)

    @classmethod
    def from_frame(cls, frame: Any, target: Any) -> Dataset:
        """A table's rows as gold documents: ``text`` and ``gold`` columns (a gold record
        per row: a struct, or a dict in pandas), ``id`` if there is one (else the row's
        position) and the review format's ``answer`` (rejected and skipped rows are left
        out and counted). A missing column or a bad row is a ``UsageError`` naming it."""
        table = as_frame(frame)
        if table is None:
            raise UsageError(
                "from_frame takes a pandas or polars DataFrame, a datasets.Dataset or a "
                f"pyarrow.Table, not {type(frame).__name__}"
            )
        table.require(["text", "gold"], "gold data")
        names = ["text", "gold", *(c for c in ("id", "answer") if c in table.columns)]
        table.require(names, "gold data")
        validate = _validator(target)
        docs: list[GoldDocument] = []
        left_out = 0
        for position, values in enumerate(table.rows(names)):
            row = {k: v for k, v in zip(names, values, strict=True)
                   if k in ("text", "gold") or not missing(v)}  # fmt: skip
            if row.get("answer") in _LEFT_OUT:
                left_out += 1
                continue
            docs.append(_document(row, f"row {position}", str(position), validate))
        return cls(target, docs, left_out)

    @classmethod
    def from_records(cls, records: Iterable[Any], target: Any) -> Dataset:
        """``(id, text, gold)`` tuples or ``{"id", "text", "gold"}`` mappings; a text
        may be an ``extract.Document``."""
        validate = _validator(target)
        docs = []
        for position, record in enumerate(records):
            where = f"record {position}"
            if isinstance(record, tuple) and len(record) == 3:
                record = {"id": record[0], "text": record[1], "gold": record[2]}
            if not isinstance(record, Mapping):
                raise UsageError(f"{where}: expected (id, text, gold) or a mapping")
            docs.append(_document(record, where, str(position), validate))
        return cls(target, docs)


def as_dataset(data: Any, target: Any) -> Dataset:
    """A ``Dataset``, a JSON Lines path, a table or an iterable of records, as a
    ``Dataset``."""
    if isinstance(data, Dataset):
        return data
    if as_frame(data) is not None:  # before Iterable: a frame iterates over its columns
        return Dataset.from_frame(data, target)
    if isinstance(data, str | os.PathLike):
        return Dataset.from_jsonl(data, target)
    if isinstance(data, Iterable):
        return Dataset.from_records(data, target)
    raise UsageError(f"data must be a Dataset, a JSONL path, a table or an iterable, not {data!r}")


def _validator(target: Any) -> Any:
    compiled = compile_target(target)

    def validate(gold: Any, where: str) -> Any:
        value = compiled.validate(json.dumps(jsonable_input(gold)))
        if isinstance(value, Invalid):
            errors = "; ".join(value.errors[:5])
            raise UsageError(f"{where}: gold does not validate: {errors}")
        return value

    return validate


def jsonable_input(gold: Any) -> Any:
    """Gold given as model instances (dates...) or as plain JSON, as JSON."""
    return to_jsonable_python(gold)


def _document(row: Mapping[str, Any], where: str, fallback: str, validate: Any) -> GoldDocument:
    text, gold = row.get("text"), row.get("gold")
    if isinstance(text, Document):
        text = text.text  # gold spans are offsets into document.text
    if not isinstance(text, str):
        raise UsageError(f'{where}: no "text" string (or extract.Document)')
    if "gold" not in row:
        raise UsageError(f'{where}: no "gold" record')
    ident = str(row.get("id", fallback))
    return GoldDocument(ident, text, validate(gold, f"{where} ({ident})"))
