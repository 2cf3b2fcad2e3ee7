"""``extract demo``: typed records from the bundled sample texts, on the default model."""

from __future__ import annotations

import importlib.resources
import json
import time
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field

from extract.api._extractor import Extractor
from extract.core._errors import ExtractionError
from extract.core._options import compile_target
from extract.schemas import field_pattern, field_patterns, field_tree, value_at

# Bounded strings keep a small model from rambling: the grammar ends them in time.
Short = Annotated[str, Field(max_length=40)]


class Contact(BaseModel):
    name: Short = Field(description="full name of the person")
    company: Short | None = None
    email: EmailStr | None = Field(default=None, description="e-mail address, as written")
    city: Short | None = None


class LineItem(BaseModel):
    description: Short
    quantity: Annotated[int, Field(ge=1)]
    unit_price: Annotated[float, Field(ge=0)]


class Invoice(BaseModel):
    number: Annotated[str, Field(max_length=16, description="the invoice number")]
    seller: Short
    currency: Literal["EUR", "USD", "GBP"]
    items: Annotated[list[LineItem], Field(min_length=1, max_length=5)]


class TeamMember(BaseModel):
    name: Short
    area: Literal["backend", "frontend", "ops", "other"]
    years: Annotated[int, Field(ge=0, le=60)]


# One worked example teaches a small model the shape of an answer (few-shot).
INVOICE_EXAMPLE = (
    "Invoice A-17 from Blue Paper Co. 3 x notebook at 2.50 each. Total in GBP.",
    Invoice(
        number="A-17",
        seller="Blue Paper Co.",
        currency="GBP",
        items=[LineItem(description="notebook", quantity=3, unit_price=2.5)],
    ),
)

DEMOS: list[tuple[str, str, object]] = [
    ("contact.txt", "Contact", Contact),
    ("invoice.txt", "Invoice", Invoice),
    ("team.txt", "list[TeamMember]", Annotated[list[TeamMember], Field(max_length=5)]),
]


def sample_text(name: str) -> str:
    samples = importlib.resources.files("extract.apps.cli") / "samples"
    return (samples / name).read_text(encoding="utf-8")


# Below this, a value is marked for checking: on the corpus, the embedded model's
# values under it were right 19% of the time, those above it about half the time (see
# docs/benchmarks/confidence.md).
CHECK_BELOW = 0.1


def trust_lines(confidence: dict[str, float], raw: str, text: str, target: object) -> list[str]:
    """Each value's confidence, four to a line; marked "check" below ``CHECK_BELOW``
    and "not in the text" when a free-text value does not occur in the text at all."""
    try:
        answer = json.loads(raw)
    except ValueError:
        return []
    fields = field_patterns(field_tree(compile_target(target).json_schema))
    marks = []
    for pointer, sure in confidence.items():
        value = value_at(answer, pointer)[1]
        node = fields.get(field_pattern(pointer))
        notes = []
        if sure < CHECK_BELOW:
            notes.append("check")
        free_text = node is not None and node.kind == "text"
        if free_text and isinstance(value, str) and value.casefold() not in text.casefold():
            notes.append("not in the text")
        marks.append(f"{pointer} {sure:.2f}" + (f" ({', '.join(notes)})" if notes else ""))
    return ["confidence: " + ", ".join(marks[i : i + 4]) for i in range(0, len(marks), 4)]


def run_demo(model: str | None = None) -> int:
    started = time.perf_counter()
    extractor = Extractor(model)
    print(f"model: {extractor.backend.name} (loaded in {time.perf_counter() - started:.1f} s)\n")
    failures = 0
    for filename, name, target in DEMOS:
        text = sample_text(filename)
        print(f"== {filename} -> {name}")
        try:
            examples = [INVOICE_EXAMPLE] if target is Invoice else []
            result = extractor.run(target, text, examples=examples)
        except ExtractionError as exc:
            failures += 1
            print(f"   failed: {exc}\n")
            continue
        print(f"   {result.value!r}")
        for line in trust_lines(result.confidence, result.raw, text, target):
            print(f"   {line}")
        seconds = result.timings["total_s"]
        tokens = result.usage.completion_tokens
        print(f"   {seconds:.2f} s, {tokens} output tokens, {len(result.attempts)} attempt(s)\n")
    return 1 if failures else 0
