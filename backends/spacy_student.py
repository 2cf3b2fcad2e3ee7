"""A trained spaCy pipeline as a backend: the task-specific student ``extract distill``
makes, serving the same typed records as any model.

The pipeline predicts entity spans labelled with field patterns (``/name``,
``/items/*/price``) and, for label fields (``Literal``, ``Enum``, ``bool`` outside
lists), text categories ``POINTER=VALUE``. ``SpanScheme`` (kept in the pipeline's
``meta.json``) says which is which; ``assemble`` turns one document's predictions into
the record's JSON and its spans: a scalar field from its first span, list items from
runs of spans (a new item starts where a field already filled in the current one comes
again), label fields from their best category. The answer then goes through the same
validation as any backend's: what the student could not fill fails there with the
validator's message (``ExtractionError``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from extract.schemas import FieldNode, child_pointer, field_tree

from ._base import Capabilities, Completion, Request

META_KEY = "structured_extract"  # where the scheme sits in the pipeline's meta
SPAN_KINDS = ("text", "integer", "number", "date")
_DATE_FORMATS = ("%d %B %Y", "%B %d, %Y", "%B %d %Y", "%d %b %Y", "%b %d, %Y", "%d/%m/%Y",
                 "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y")  # fmt: skip


@dataclass
class SpanScheme:
    """What a student learns for a target, and how its predictions map back."""

    spans: dict[str, str] = field(default_factory=dict)  # span pattern -> kind
    lists: list[str] = field(default_factory=list)  # arrays of objects, grouped from spans
    item_choices: dict[str, list[Any]] = field(default_factory=dict)  # carried on span labels
    labels: dict[str, list[Any]] = field(default_factory=dict)  # text categories: choices
    nullable: list[str] = field(default_factory=list)  # span fields set to null when absent
    unlearned: list[str] = field(default_factory=list)  # fields no span or label gives
    span_labels: dict[str, list[Any]] = field(default_factory=dict)  # label -> [pattern, item]
    # Lists whose items are one span each (entities: a name and its labels) and never
    # repeat in the training records: each item is listed once however often its text
    # is mentioned, so every mention is trained as it, and repeats are dropped.
    unique: list[str] = field(default_factory=list)

    @classmethod
    def from_schema(cls, schema: Mapping[str, Any]) -> SpanScheme:
        scheme = cls()
        scheme._walk(field_tree(schema), "", None)
        return scheme

    def _walk(self, node: FieldNode, pattern: str, in_list: str | None) -> None:
        if node.kind == "object":
            for key, child in node.fields.items():
                self._walk(child, child_pointer(pattern, key), in_list)
        elif node.kind == "array" and node.item is not None and in_list is None:
            if node.item.kind == "object":
                self.lists.append(pattern)
                self._walk(node.item, f"{pattern}/*", pattern)
            elif node.item.kind in SPAN_KINDS:
                self.spans[f"{pattern}/*"] = node.item.kind
            else:
                self.unlearned.append(pattern)
        elif node.kind in SPAN_KINDS:
            self.spans[pattern] = node.kind
            if node.nullable and in_list is None:
                self.nullable.append(pattern)
        elif node.kind in ("choice", "boolean"):
            choices = list(node.choices) if node.kind == "choice" else [True, False]
            if node.nullable:
                choices.append(None)
            (self.item_choices if in_list is not None else self.labels)[pattern] = choices
        else:
            self.unlearned.append(pattern or "/")

    def one_span_lists(self) -> list[str]:
        """Lists (of objects or of scalars) whose items are given by one span each."""
        out = [p[:-2] for p in self.spans if p.endswith("/*") and "*" not in p[:-2]]
        for array in self.lists:
            if sum(p.startswith(f"{array}/*/") for p in self.spans) == 1:
                out.append(array)
        return out

    def span_label(self, pattern: str, item: Mapping[str, Any]) -> str:
        """The entity label of a span of ``pattern`` in a list item whose label fields
        hold ``item`` (pointer pattern -> value); registered for ``assemble``."""
        carried = {p: item[p] for p in sorted(item)}
        label = pattern + "".join(
            f" [{p.rsplit('/', 1)[-1]}={json.dumps(v)}]" for p, v in carried.items()
        )
        self.span_labels[label] = [pattern, carried]
        return label

    @staticmethod
    def cat_label(pointer: str, choice: Any) -> str:
        return f"{pointer}={json.dumps(choice)}"

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpanScheme:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class Predicted:
    label: str
    start: int
    end: int
    text: str


def assemble(
    scheme: SpanScheme, spans: Sequence[Predicted], cats: Mapping[str, float]
) -> tuple[Any, dict[str, tuple[int, int]]]:
    """One document's record (JSON) and its spans from the student's predictions; a
    target that is a list of objects (the list at "") gives the list."""
    record: dict[str, Any] = {}
    root: list[dict[str, Any]] | None = None
    where: dict[str, tuple[int, int]] = {}
    known = [(scheme.span_labels.get(s.label, [s.label, {}]), s) for s in spans]
    ordered = sorted(known, key=lambda pair: (pair[1].start, pair[1].end))
    for pattern, kind in scheme.spans.items():
        if "*" in pattern:
            continue
        first = next((s for (p, _), s in ordered if p == pattern), None)
        if first is not None:
            _put(record, pattern, convert(first.text, kind))
            where[pattern] = (first.start, first.end)
        elif pattern in scheme.nullable:
            _put(record, pattern, None)
    for pattern, kind in scheme.spans.items():  # lists of scalars: every span an item
        if pattern.endswith("/*") and pattern[:-2] not in scheme.lists and "*" not in pattern[:-2]:
            found = [s for (p, _), s in ordered if p == pattern]
            values = [convert(s.text, kind) for s in found]
            if pattern[:-2] in scheme.unique:
                kept = _first_of_each(values)
                found, values = [found[i] for i in kept], [values[i] for i in kept]
            _put(record, pattern[:-2], values)
            for i, s in enumerate(found):
                where[f"{pattern[:-2]}/{i}"] = (s.start, s.end)
    for array in scheme.lists:
        items: list[dict[str, Any]] = []
        placed: list[tuple[int, str, Predicted]] = []  # (item, key, span)
        prefix = f"{array}/*/"
        for (pattern, carried), s in ordered:
            if not pattern.startswith(prefix):
                continue
            key = pattern[len(prefix) :]
            if not items or _has(items[-1], key):
                items.append({})
                for choice_pattern, value in carried.items():
                    _put(items[-1], "/" + choice_pattern[len(prefix) :], value)
            _put(items[-1], "/" + key, convert(s.text, scheme.spans[pattern]))
            placed.append((len(items) - 1, key, s))
        if array in scheme.unique:  # one span per item: a repeat is the same item again
            kept = _first_of_each(items)
            items = [items[i] for i in kept]
            placed = [(new, key, s) for new, (_, key, s) in enumerate(placed[i] for i in kept)]
        for i, key, s in placed:
            where[f"{array}/{i}/{key}"] = (s.start, s.end)
        if array == "":
            root = items
        else:
            _put(record, array, items)
    for pointer, choices in scheme.labels.items():
        scored = [
            (cats.get(SpanScheme.cat_label(pointer, c), 0.0), i) for i, c in enumerate(choices)
        ]
        if scored:
            _put(record, pointer, choices[max(scored)[1]])
    return (record if root is None else root), where


def convert(text: str, kind: str) -> Any:
    """A span's text as its field's JSON value; what does not convert stays text, and
    the validator names it."""
    if kind == "integer":
        digits = re.sub(r"[^\d-]", "", text)
        return int(digits) if re.fullmatch(r"-?\d+", digits) else text
    if kind == "number":
        number = _number(text)
        return text if number is None else number
    if kind == "date":
        return _date(text) or text
    return text


def _number(text: str) -> float | int | None:
    cleaned = re.sub(r"[^\d.,-]", "", text)
    if "," in cleaned and "." in cleaned:
        if cleaned.rindex(",") > cleaned.rindex("."):  # 1.234,50
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:  # 1,234.50
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else cleaned.replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in cleaned else value


def _date(text: str) -> str | None:
    stripped = text.strip().rstrip(".,")
    try:
        return dt.date.fromisoformat(stripped).isoformat()
    except ValueError:
        pass
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(stripped, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def _keys(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _put(record: dict[str, Any], pointer: str, value: Any) -> None:
    keys = _keys(pointer)
    node = record
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value


def _first_of_each(values: Sequence[Any]) -> list[int]:
    """The positions of the values that did not come before."""
    seen: list[Any] = []
    kept = []
    for i, value in enumerate(values):
        if value not in seen:
            seen.append(value)
            kept.append(i)
    return kept


def _has(record: dict[str, Any], pointer: str) -> bool:
    node: Any = record
    for key in _keys("/" + pointer):
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


class SpacyStudent:
    """A pipeline trained by ``extract distill`` (a folder, or a loaded ``Language``)."""

    def __init__(self, model: Any) -> None:
        import spacy

        if isinstance(model, str | os.PathLike):
            path = os.fspath(model)
            best = os.path.join(path, "model-best")
            self.nlp = spacy.load(best if os.path.isdir(best) else path)
            self._name = f"spacy:{path}"
        else:
            self.nlp = model
            self._name = f"spacy:{model.meta.get('name', 'pipeline')}"
        data = self.nlp.meta.get(META_KEY)
        if not isinstance(data, dict):
            raise ValueError(
                f"{self._name} was not trained by `extract distill` (no {META_KEY!r} in meta)"
            )
        self.scheme = SpanScheme.from_json(data["scheme"])
        self.schema = data.get("schema")

    @property
    def capabilities(self) -> Capabilities:
        # One pipeline, called in turn; it reads the document, never the prompt.
        return Capabilities(max_concurrency=1, reads_prompt=False)

    @property
    def name(self) -> str:
        return self._name

    def complete(self, request: Request) -> Completion:
        if request.document is None:
            raise ValueError("a spaCy student reads the document: the request carries none")
        doc = self.nlp(request.document)
        spans = [Predicted(e.label_, e.start_char, e.end_char, e.text) for e in doc.ents]
        record, where = assemble(self.scheme, spans, doc.cats)
        return Completion(
            text=json.dumps(record, ensure_ascii=False),
            finish_reason="stop",
            prompt_tokens=0,
            completion_tokens=0,
            spans=where,
        )
