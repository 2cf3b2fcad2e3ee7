"""Distillation: train a small task-specific model from reviewed records.

``distill(Model, "reviewed.jsonl", "student/")`` turns the gold records into spaCy
training documents (every value placed on its span, ``_prepare``), trains a pipeline
from a blank language with spaCy's trainer (``_train``), and leaves it where
``Extractor("spacy:student/")`` serves it (``extract.backends.spacy_student``): the same typed
records, orders of magnitude faster than the model that labelled the data.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extract.apps.evaluation import Dataset
from extract.core._errors import UsageError

from ._prepare import Prepared, PrepareReport, prepare, unique_lists
from ._train import Trained, TrainOptions, train

__all__ = ["Distilled", "PrepareReport", "Prepared", "distill", "prepare_documents"]


@dataclass(frozen=True)
class Distilled:
    model: Path
    report: PrepareReport
    trained: Trained

    def summary(self) -> str:
        return (
            f"trained in {self.trained.seconds:.0f} s on {self.trained.train_documents} documents, "
            f"{len(self.trained.held_out)} held out"
            + (", from the earlier student" if self.trained.warm else "")
            + f"; the student is {self.model}"
        )


def prepare_documents(
    target: Any, data: str | os.PathLike[str] | Dataset, lang: str = "en"
) -> tuple[Any, dict[str, Any], list[Prepared], PrepareReport]:
    """The scheme, the schema (by alias) and the prepared documents of ``data``."""
    import spacy
    from pydantic import TypeAdapter

    from extract.backends.spacy_student import SpanScheme

    dataset = data if isinstance(data, Dataset) else Dataset.from_jsonl(data, target)
    given = {} if isinstance(data, Dataset) else _given_spans(data)
    schema = target if isinstance(target, dict) else TypeAdapter(target).json_schema(by_alias=True)
    scheme = SpanScheme.from_schema(schema)
    scheme.unique = unique_lists(scheme, (dataset.as_json(doc.gold) for doc in dataset))
    tokenizer = spacy.blank(lang).tokenizer
    report = PrepareReport()
    documents = [
        prepare(
            scheme,
            tokenizer,
            doc.id,
            doc.text,
            dataset.as_json(doc.gold),
            given.get(doc.id),
            report,
        )
        for doc in dataset
    ]
    return scheme, schema, documents, report


def distill(
    target: Any,
    data: str | os.PathLike[str] | Dataset,
    out: str | os.PathLike[str],
    *,
    lang: str = "en",
    held_out: float = 0.2,
    seed: int = 0,
    max_epochs: int = 30,
    patience: int = 400,
    log: Callable[[str], None] | None = None,
    warm_from: str | os.PathLike[str] | None = None,
) -> Distilled:
    """Train a student for ``target`` on the gold records of ``data`` (reviewed JSON
    Lines, ``{"id", "text", "gold"}``, optionally ``"spans": {pointer: [start, end]}``)
    into ``out``; spaCy's progress table is printed as it trains. ``warm_from``: an
    earlier student of the same target to start from (``Distilled.trained.warm`` says
    whether it could be)."""
    say = log or (lambda line: print(line, file=sys.stderr))
    scheme, schema, documents, report = prepare_documents(target, data, lang)
    say(report.render())
    if scheme.unlearned:
        say(f"not learned (no span or label can give them): {', '.join(scheme.unlearned)}")
    if sum(d.spans_complete for d in documents) == 0 and scheme.spans:
        raise UsageError("no document has all its values on spans: nothing to learn spans from")
    start = None if warm_from is None else Path(warm_from)
    options = TrainOptions(lang, held_out, seed, max_epochs, patience, warm_from=start)
    trained = train(scheme, schema, documents, out, options)
    return Distilled(trained.model, report, trained)


def _given_spans(path: str | os.PathLike[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """id -> the spans a line gives (``"spans": {pointer: [start, end]}``)."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            row = json.loads(line) if line.strip() else None
            if not isinstance(row, dict) or not row.get("spans"):
                continue
            spans = row["spans"]
            if not isinstance(spans, dict):
                raise UsageError(
                    f'{os.fspath(path)}:{number}: "spans" must map pointers to [start, end]'
                )
            out[str(row.get("id", f"{os.fspath(path)}:{number}"))] = {
                p: (int(s), int(e)) for p, (s, e) in spans.items()
            }
    return out
