"""Gold records as spaCy training documents: every value placed on its span.

A value is placed by the span given with the record (``"spans": {pointer: [start,
end]}``), else found in the text: its written forms (a number as ``12``, ``12.50``,
``1,250.00``...; a date in ISO and common spellings) searched exactly, the first free
occurrence after the field's last one first, then, for text, the grounding aligner's
normalised and fuzzy matches. A span must start and end on spaCy token boundaries and
not overlap another (entity recognition allows neither). What cannot be placed is
reported, never guessed, and its document is left out of the span training (its labels
still train the text categories): a document that teaches "this field is absent" where
it is present would be worse than none. In a list of entities whose records list each
once (``unique_lists``), every later mention of a placed name is labelled as it too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from extract.backends.spacy_student import SpanScheme
from extract.core.grounding import Aligner
from extract.schemas import field_pattern


@dataclass
class Prepared:
    id: str
    text: str
    entities: list[tuple[int, int, str, str]]  # (start, end, label, pointer), in order
    pointers: dict[str, tuple[int, int]]  # the value's pointer -> its span
    cats: dict[str, float]
    problems: list[str] = field(default_factory=list)

    @property
    def spans_complete(self) -> bool:
        return not self.problems


@dataclass
class PrepareReport:
    """How the gold values were placed, per field pattern."""

    documents: int = 0
    placed: dict[str, Counter[str]] = field(default_factory=dict)  # pattern -> how -> n
    left_out: list[tuple[str, list[str]]] = field(default_factory=list)  # (id, problems)

    def count(self, pattern: str, how: str) -> None:
        self.placed.setdefault(pattern, Counter())[how] += 1

    def render(self, shown: int = 10) -> str:
        lines = [f"{self.documents} documents; {self.documents - len(self.left_out)} "
                 f"with every value on a span"]  # fmt: skip
        for pattern, counts in sorted(self.placed.items()):
            parts = ", ".join(f"{n} {how}" for how, n in sorted(counts.items()))
            lines.append(f"  {pattern}: {parts}")
        for ident, problems in self.left_out[:shown]:
            lines.append(f"  left out of span training: {ident}: {'; '.join(problems[:3])}")
        if len(self.left_out) > shown:
            lines.append(f"  ... and {len(self.left_out) - shown} more documents left out")
        return "\n".join(lines)


def prepare(
    scheme: SpanScheme,
    tokenizer: Any,
    ident: str,
    text: str,
    gold: Any,
    given: Mapping[str, tuple[int, int]] | None = None,
    report: PrepareReport | None = None,
) -> Prepared:
    """One gold record (JSON, by alias) as entities and categories on its text."""
    report = report if report is not None else PrepareReport()
    report.documents += 1
    doc = tokenizer(text)
    starts = {t.idx for t in doc}
    ends = {t.idx + len(t.text) for t in doc}
    taken: list[tuple[int, int]] = []
    last: dict[str, int] = {}
    out = Prepared(ident, text, [], {}, _cats(scheme, gold))
    for pointer, value, kind in _span_values(scheme, gold):
        pattern = field_pattern(pointer)
        label = scheme.span_label(pattern, _carried(scheme, gold, pointer))
        if given and pointer in given:
            start, end = given[pointer]
            how, problem = "given", _check(text, start, end, starts, ends, taken)
        else:
            found = _find(text, value, kind, last.get(pattern, 0), starts, ends, taken)
            start, end, how = found if found else (0, 0, "")
            problem = None if found else f"{pointer}: {value!r} {_absent(text, value, kind)}"
        if problem is not None:
            out.problems.append(problem)
            report.count(pattern, "not placed")
            continue
        taken.append((start, end))
        last[pattern] = end
        out.entities.append((start, end, label, pointer))
        out.pointers[pointer] = (start, end)
        report.count(pattern, how)
    _label_repeats(scheme, text, out, starts, ends, taken)
    out.entities.sort()
    if out.problems:
        report.left_out.append((ident, out.problems))
    return out


def unique_lists(scheme: SpanScheme, golds: Iterable[Any]) -> list[str]:
    """The one-span-per-item lists whose items never repeat in ``golds`` (JSON records):
    lists of entities, each listed once however often the text mentions it."""
    golds = list(golds)
    out = []
    for array in scheme.one_span_lists():
        parts = array.split("/")[1:] if array else []
        lists = [v for g in golds for _, v in _matches(g, parts, "") if isinstance(v, list)]
        if lists and all(len({json.dumps(x, sort_keys=True) for x in v}) == len(v) for v in lists):
            out.append(array)
    return out


def _label_repeats(
    scheme: SpanScheme,
    text: str,
    out: Prepared,
    starts: set[int],
    ends: set[int],
    taken: list[tuple[int, int]],
) -> None:
    """In a list of ``scheme.unique``, a value's later mentions are the same item: label
    them too, or the trainer learns that the same name is an entity once and not again."""
    for start, end, label, pointer in list(out.entities):
        array = field_pattern(pointer).partition("/*")[0]
        if array not in scheme.unique:
            continue
        for match in re.finditer(re.escape(text[start:end]), text):
            if _check(text, match.start(), match.end(), starts, ends, taken) is None:
                taken.append((match.start(), match.end()))
                out.entities.append((match.start(), match.end(), label, pointer))


def _check(
    text: str,
    start: int,
    end: int,
    starts: set[int],
    ends: set[int],
    taken: list[tuple[int, int]],
) -> str | None:
    if not 0 <= start < end <= len(text):
        return f"span ({start}, {end}) is not inside the text (length {len(text)})"
    if start not in starts or end not in ends:
        return f"span ({start}, {end}) {text[start:end]!r} does not fall on token boundaries"
    if any(start < e and s < end for s, e in taken):
        return f"span ({start}, {end}) {text[start:end]!r} overlaps another field's span"
    return None


def _find(
    text: str,
    value: Any,
    kind: str,
    after: int,
    starts: set[int],
    ends: set[int],
    taken: list[tuple[int, int]],
) -> tuple[int, int, str] | None:
    def free(start: int, end: int) -> bool:
        return _check(text, start, end, starts, ends, taken) is None

    for form in written_forms(value, kind):
        hits = [m.start() for m in re.finditer(re.escape(form), text)]
        for start in sorted(hits, key=lambda s: (s < after, s)):
            if free(start, start + len(form)):
                return start, start + len(form), "exact"
    if kind == "text" and isinstance(value, str):
        aligned = Aligner(text).align(value)
        if aligned is not None and aligned.status != "exact" and free(aligned.start, aligned.end):
            return aligned.start, aligned.end, aligned.status
    return None


def _absent(text: str, value: Any, kind: str) -> str:
    if any(form in text for form in written_forms(value, kind)):
        return "is in the text only off token boundaries or inside another field's span"
    return "is not in the text"


def written_forms(value: Any, kind: str) -> list[str]:
    """How a value may be written in a text, most specific first."""
    if kind == "text":
        return [value] if isinstance(value, str) and value else []
    if kind == "date" and isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return [value]
        return [value, f"{day:%B} {day.day}, {day.year}", f"{day.day} {day:%B} {day.year}",
                f"{day:%b} {day.day}, {day.year}", f"{day.day} {day:%b} {day.year}",
                f"{day:%d/%m/%Y}", f"{day:%d.%m.%Y}"]  # fmt: skip
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [str(value)] if value is not None else []
    forms = [f"{value:,.2f}", f"{value:.2f}"] if isinstance(value, float) else []
    if float(value).is_integer():
        forms += [f"{int(value):,}", str(int(value))]
    forms += [repr(value), f"{value:g}"]
    # Texts do not write 1e+06, and ``:g`` rounds to six digits (100000.5 -> "100000"):
    # only forms that read back as the value itself.
    return [f for f in dict.fromkeys(forms) if "e" not in f and float(f.replace(",", "")) == value]


def _span_values(scheme: SpanScheme, gold: Any) -> Iterator[tuple[str, Any, str]]:
    """(pointer, value, kind) of every non-null value the scheme learns as a span."""
    for pattern, kind in scheme.spans.items():
        for pointer, value in _matches(gold, pattern.split("/")[1:], ""):
            if value is not None:
                yield pointer, value, kind


def _matches(node: Any, parts: list[str], pointer: str) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield pointer, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            for i, item in enumerate(node):
                yield from _matches(item, rest, f"{pointer}/{i}")
        return
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        yield from _matches(node[int(head)], rest, f"{pointer}/{head}")
        return
    key = head.replace("~1", "/").replace("~0", "~")
    if isinstance(node, dict) and key in node:
        yield from _matches(node[key], rest, f"{pointer}/{head}")


def _carried(scheme: SpanScheme, gold: Any, pointer: str) -> dict[str, Any]:
    """The label fields of the list item ``pointer`` is in (carried on its label)."""
    pattern = field_pattern(pointer)
    out: dict[str, Any] = {}
    for array in scheme.lists:
        prefix = f"{array}/*/"
        if not pattern.startswith(prefix):
            continue
        item_pointer = "/".join(pointer.split("/")[: len(array.split("/")) + 1])
        found_item = list(_matches(gold, item_pointer.split("/")[1:], ""))
        item = found_item[0][1] if found_item else None
        for choice_pattern in scheme.item_choices:
            if choice_pattern.startswith(prefix) and isinstance(item, dict):
                key = choice_pattern[len(prefix) :]
                found = list(_matches(item, key.split("/"), ""))
                out[choice_pattern] = found[0][1] if found else None
    return out


def _cats(scheme: SpanScheme, gold: Any) -> dict[str, float]:
    cats: dict[str, float] = {}
    for pointer, choices in scheme.labels.items():
        found = list(_matches(gold, pointer.split("/")[1:], ""))
        value = found[0][1] if found else None
        if value not in choices:
            continue  # absent and not nullable: nothing to learn for this field here
        for choice in choices:
            cats[SpanScheme.cat_label(pointer, choice)] = 1.0 if choice == value else 0.0
    return cats
