"""A fixed extraction corpus with gold answers, for speed/accuracy benchmarks.

Four tasks, one JSON Lines file each, next to this module::

    contact  -> Contact          (flat record)                   contacts.jsonl
    invoice  -> Invoice          (nested: enums, a date, a list)  invoices.jsonl
    team     -> list[TeamMember] (a list of records)              teams.jsonl
    news     -> list[NewsEntity] (spans: names as written)        news.jsonl

Every line is ``{"id": ..., "text": ..., "gold": ...}``. The texts were written for this
project (fictional people and companies, ``example.com``/``example.org`` addresses); the
gold is what a careful human would extract, with fields the text does not state left at
their default (None). About half the documents are easy, half carry distractors: a second
person mentioned in passing, a due or delivery date next to the invoice date, prices with
currency symbols or written out in words. In ``news`` the gold lists every distinct
person, organisation and place once, as first written (a full name, not a later surname),
in order of first appearance; its distractors are people named twice, organisations named
after a place and possessives ("Nordhavn's mayor"). Its lines also carry ``"spans"``:
each gold name's offsets (``/i/text`` -> ``[start, end]``, its first whole-word place),
loaded as ``Document.spans``.

    from tests.corpus import TASKS, field_scores, load

    target, _ = TASKS["invoice"]
    for doc in load("invoice"):
        predicted = my_library.extract(doc.text, target)  # None when extraction failed
        counts = field_scores("invoice", predicted, doc.gold)  # .tp, .fp, .fn, .f1
"""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from extract.core.grounding import Quote
from extract.evaluation import Counts, Scorer, scorer_for

__all__ = [
    "TASKS",
    "Contact",
    "Document",
    "GroundedNews",
    "GroundedNewsEntity",
    "Invoice",
    "LineItem",
    "News",
    "NewsEntity",
    "Team",
    "TeamMember",
    "field_scores",
    "load",
]

HERE = Path(__file__).resolve().parent


class Contact(BaseModel):
    """One person's contact details."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=40, description="Full name, without titles")]
    email: str | None = Field(default=None, description="Email address")
    phone: str | None = Field(default=None, description="Phone number as written")
    company: str | None = Field(default=None, description="Company or organisation")
    city: str | None = Field(default=None, description="City where the person is based")
    role: str | None = Field(default=None, description="Job title or role")


class LineItem(BaseModel):
    """One billed line."""

    model_config = ConfigDict(extra="forbid")

    description: Annotated[str, Field(max_length=60, description="What is billed")]
    quantity: Annotated[int, Field(ge=1, le=1000, description="Number of units")]
    unit_price: Annotated[
        float, Field(ge=0, description="Price of one unit, without currency symbol")
    ]


class Invoice(BaseModel):
    """An invoice."""

    model_config = ConfigDict(extra="forbid")

    number: Annotated[str, Field(max_length=20, description="Invoice number, without '#' or 'No.'")]
    seller: Annotated[str, Field(max_length=60, description="Business issuing the invoice")]
    buyer: str | None = Field(default=None, description="Person or business billed")
    currency: Literal["USD", "EUR", "GBP", "JPY", "CHF"] = Field(description="Currency code")
    issued: datetime.date = Field(description="Issue date (not the due or delivery date)")
    items: Annotated[list[LineItem], Field(min_length=1, max_length=6, description="Lines")]
    status: Literal["draft", "sent", "paid", "overdue"] = Field(description="Payment status")


class TeamMember(BaseModel):
    """A member of a team."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=40, description="Name as given")]
    area: Literal["backend", "frontend", "data", "ops", "design", "management"] = Field(
        description="Main area of work"
    )
    years: Annotated[int, Field(ge=0, le=50, description="Years of professional experience")]


class NewsEntity(BaseModel):
    """A named entity as written in the text."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        str, Field(max_length=60, description="The name exactly as written in the text")
    ]
    kind: Literal["person", "organisation", "place"] = Field(description="What the name refers to")


class GroundedNewsEntity(BaseModel):
    """``NewsEntity`` whose name must be copied from the document (``extract.Quote``)."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[
        Quote, Field(max_length=60, description="The name exactly as written in the text")
    ]
    kind: Literal["person", "organisation", "place"] = Field(description="What the name refers to")


#: The news task's target, and the same with grounded names (``extract eval --schema``).
News = list[NewsEntity]
Team = list[TeamMember]
GroundedNews = list[GroundedNewsEntity]


#: Task name -> (target type, file name next to this module).
TASKS: dict[str, tuple[Any, str]] = {
    "contact": (Contact, "contacts.jsonl"),
    "invoice": (Invoice, "invoices.jsonl"),
    "team": (list[TeamMember], "teams.jsonl"),
    "news": (list[NewsEntity], "news.jsonl"),
}


@dataclass(frozen=True)
class Document:
    """One text to extract from, and its gold answer (an instance of the task's target)."""

    id: str
    text: str
    gold: Any
    # Gold offsets of grounded values (the news task): JSON pointer -> (start, end).
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)


def load(task: str) -> list[Document]:
    """The documents of ``task``, in file order, with gold validated into the target type.

    Raises ValueError naming the file and line on a malformed line, a gold answer that does
    not validate, or a repeated id.
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(TASKS)}")
    target, file_name = TASKS[task]
    path = HERE / file_name
    adapter: TypeAdapter[Any] = TypeAdapter(target)
    docs: list[Document] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{file_name}:{lineno}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not JSON: {exc}") from exc
            if not isinstance(row, dict) or not {"id", "text", "gold"} <= set(row) <= {
                "id", "text", "gold", "spans"
            }:  # fmt: skip
                raise ValueError(f"{where}: expected an object with keys id, text, gold")
            doc_id, text = row["id"], row["text"]
            if not isinstance(doc_id, str) or not doc_id:
                raise ValueError(f"{where}: id must be a non-empty string")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: text must be a non-empty string")
            if doc_id in seen:
                raise ValueError(f"{where}: duplicate id {doc_id!r}")
            seen.add(doc_id)
            try:
                gold = adapter.validate_python(row["gold"])
            except ValidationError as exc:
                raise ValueError(f"{where} ({doc_id}): gold does not validate: {exc}") from exc
            spans = {str(k): (int(v[0]), int(v[1])) for k, v in (row.get("spans") or {}).items()}
            for pointer, (start, end) in spans.items():
                if not 0 <= start < end <= len(text):
                    raise ValueError(f"{where}: span {pointer} is outside the text")
            docs.append(Document(id=doc_id, text=text, gold=gold, spans=spans))
    return docs


@functools.cache
def _scorer(task: str) -> Scorer:
    return scorer_for(TASKS[task][0])


def field_scores(task: str, predicted: Any, gold: Any) -> Counts:
    """The project's scorer (``extract.evaluation``) on one document of ``task``: true
    and false positives and false negatives over its leaf fields, list items paired
    one-to-one. ``predicted=None`` (extraction failed) misses every gold value; a value
    that is not JSON-shaped like the target scores as such (nothing matches)."""
    return _scorer(task).score(to_jsonable_python(predicted), to_jsonable_python(gold)).total()


# The news task shows its first two documents as examples (the model copies their
# shape); the other tasks give none.
EXAMPLES = {"news": 2}


def evaluation_data(
    task: str, limit: int | None = None
) -> tuple[list[tuple[str, str, Any]], list[tuple[str, Any]]]:
    """``task``'s documents as ``extract.evaluate`` takes them, ``(id, text, gold)``
    (the first ``limit``), and the examples shown to the model, ``(text, gold)``."""
    docs = load(task)
    shots, docs = docs[: EXAMPLES.get(task, 0)], docs[EXAMPLES.get(task, 0) :]
    docs = docs[:limit] if limit else docs
    return [(d.id, d.text, d.gold) for d in docs], [(d.text, d.gold) for d in shots]


def strings(value: Any) -> Iterator[str]:
    """Every ``str`` leaf of a validated value (``Literal`` and ``str`` enum choices too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from strings(item)
