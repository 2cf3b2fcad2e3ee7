"""One prediction against its gold record, field by field.

Both sides are JSON values (``model_dump(mode="json")``). Scores follow information
extraction: a leaf value that matches gold is a true positive; a value where gold has
none (None or absent) a false positive; no value where gold has one a false negative;
a wrong value both. Two absent values count nothing.

Lists are matched one-to-one, not by position: an optimal assignment (the Hungarian
method, scipy's ``linear_sum_assignment``) pairs predicted and gold items by
similarity (the share of their leaves that agree), pairs of similarity 0 are left
unpaired, and each pair is scored field by field; an unpaired predicted item counts
its values as false positives, an unpaired gold item as false negatives. Lists of
scalars are thereby multisets. Lists of objects are also scored as items, at
``/path/*``: a paired item is found, an unpaired one invented or missed.

Paths are JSON pointers with ``*`` for every list position: ``/items/*/price``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from extract.core._errors import UsageError
from extract.schemas import child_pointer

from ._matchers import Matcher, SchemaPaths, matcher_from

_ABSENT: Any = object()


@dataclass
class Counts:
    """True positives, false positives and false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    changed: int = 0  # wrong values: each is one fp and one fn, and one edit to mend

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.changed += other.changed

    @property
    def precision(self) -> float:
        """1.0 when nothing was predicted: nothing was invented."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """1.0 when gold has nothing: nothing was missed."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        """Gold values at this path."""
        return self.tp + self.fn

    @property
    def edits(self) -> int:
        """Values a reviewer must add, delete or change to make the prediction gold."""
        return self.fp + self.fn - self.changed

    def to_json(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class DocumentScore:
    """Counts per leaf path (``fields``) and per list-of-objects path (``items``), and
    whether each predicted leaf is right (``leaves``: its JSON pointer in the
    prediction -> it matches gold, or both are empty), e.g. to weigh a confidence."""

    fields: dict[str, Counts] = field(default_factory=dict)
    items: dict[str, Counts] = field(default_factory=dict)
    leaves: dict[str, bool] = field(default_factory=dict)

    def merge(self, other: DocumentScore) -> None:
        for mine, theirs in ((self.fields, other.fields), (self.items, other.items)):
            for path, counts in theirs.items():
                mine.setdefault(path, Counts()).add(counts)
        self.leaves.update(other.leaves)

    def total(self) -> Counts:
        """Micro totals over the leaf fields."""
        out = Counts()
        for counts in self.fields.values():
            out.add(counts)
        return out


class Scorer:
    """Scores predictions of one schema. ``matchers`` maps paths (``/items/*/name``) to
    a matcher or its name; every other leaf gets its schema's default, numbers within
    ``tolerance`` (relative)."""

    def __init__(
        self,
        json_schema: Mapping[str, Any],
        matchers: Mapping[str, str | Matcher] | None = None,
        tolerance: float = 1e-6,
    ) -> None:
        if not tolerance >= 0:
            raise UsageError(f"tolerance must be >= 0, not {tolerance!r}")
        self.paths = SchemaPaths(json_schema, tolerance)
        self.overrides: dict[str, Matcher] = {}
        for path, spec in (matchers or {}).items():
            if not (path == "" or path.startswith("/")):
                raise UsageError(
                    f"a matcher's path is a JSON pointer like '/items/*/name': {path!r}"
                )
            schema = self.paths.at(path)
            if schema is None:
                raise UsageError(f"matcher for {path!r}: the schema has no such field")
            shapes = self.paths.shapes(schema)
            if shapes and not shapes - {"object", "array", "tuple"}:
                raise UsageError(
                    f"matcher for {path!r}: that is an object or a list; matchers compare "
                    "leaf values, e.g. '/items/*/name'"
                )
            self.overrides[path] = matcher_from(spec)
        self._defaults: dict[str, Matcher] = {}
        self._positional: dict[str, bool] = {}

    def score(self, predicted: Any, gold: Any) -> DocumentScore:
        """``predicted`` (None when extraction failed) against ``gold``, as JSON values."""
        out = DocumentScore()
        self._walk(predicted, gold, "", out)
        return out

    def matcher(self, path: str) -> Matcher:
        found = self.overrides.get(path) or self._defaults.get(path)
        if found is None:
            found = self._defaults[path] = self.paths.default(self.paths.at(path))
        return found

    def _walk(
        self, predicted: Any, gold: Any, path: str, out: DocumentScore, where: str | None = ""
    ) -> None:
        """``where``: the predicted value's own pointer (None: nothing predicted here)."""
        p_absent, g_absent = _absent(predicted), _absent(gold)
        if p_absent and g_absent:
            if where is not None and predicted is None:
                out.leaves[where] = True
            return
        if _same_container(predicted, gold, dict):
            p = predicted if isinstance(predicted, dict) else {}
            g = gold if isinstance(gold, dict) else {}
            for key in dict.fromkeys([*g, *p]):
                step = child_pointer("", str(key))
                mine = None if where is None or key not in p else where + step
                self._walk(p.get(key, _ABSENT), g.get(key, _ABSENT), path + step, out, mine)
            return
        if _same_container(predicted, gold, list):
            p_items = predicted if isinstance(predicted, list) else []
            g_items = gold if isinstance(gold, list) else []
            if self._is_tuple(path):
                for i in range(max(len(p_items), len(g_items))):
                    p_i = p_items[i] if i < len(p_items) else _ABSENT
                    g_i = g_items[i] if i < len(g_items) else _ABSENT
                    mine = None if where is None or i >= len(p_items) else f"{where}/{i}"
                    self._walk(p_i, g_i, f"{path}/{i}", out, mine)
            else:
                self._list(p_items, g_items, f"{path}/*", out, where)
            return
        if isinstance(predicted, dict | list) or isinstance(gold, dict | list):
            # Different shapes (a union's branches): nothing of one is in the other.
            self._walk(predicted, _ABSENT, path, out, where)
            self._walk(_ABSENT, gold, path, out, None)
            return
        counts = out.fields.setdefault(path, Counts())
        right = False
        if g_absent:
            counts.fp += 1
        elif p_absent:
            counts.fn += 1
        elif self.matcher(path)(predicted, gold):
            counts.tp += 1
            right = True
        else:
            counts.fp += 1
            counts.fn += 1
            counts.changed += 1
        if where is not None and predicted is not _ABSENT:
            out.leaves[where] = right

    def _is_tuple(self, path: str) -> bool:
        found = self._positional.get(path)
        if found is None:
            found = self._positional[path] = self.paths.positional(self.paths.at(path))
        return found

    def _list(
        self, predicted: list[Any], gold: list[Any], path: str, out: DocumentScore,
        where: str | None,
    ) -> None:  # fmt: skip
        pairs: list[tuple[int, int]] = []
        scored: dict[tuple[int, int], DocumentScore] = {}
        if predicted and gold:
            # scipy loads in about half a second: only when a list needs pairing.
            from scipy.optimize import linear_sum_assignment

            for r, p in enumerate(predicted):
                for c, g in enumerate(gold):
                    scored[r, c] = DocumentScore()
                    mine = None if where is None else f"{where}/{r}"
                    self._walk(p, g, path, scored[r, c], mine)
            similarity = np.array(
                [
                    [_similarity(scored[r, c], p, g) for c, g in enumerate(gold)]
                    for r, p in enumerate(predicted)
                ]
            )
            rows, cols = linear_sum_assignment(similarity, maximize=True)
            pairs = [
                (int(r), int(c)) for r, c in zip(rows, cols, strict=True) if similarity[r, c] > 0
            ]
        paired_p = {r for r, _ in pairs}
        paired_g = {c for _, c in pairs}
        for pair in pairs:
            out.merge(scored[pair])  # scored once: a nested list is not paired again
        for r, item in enumerate(predicted):
            if r not in paired_p:
                self._walk(item, _ABSENT, path, out, None if where is None else f"{where}/{r}")
        for c, item in enumerate(gold):
            if c not in paired_g:
                self._walk(_ABSENT, item, path, out, None)
        if any(isinstance(x, dict) for x in (*predicted, *gold)):
            counts = out.items.setdefault(path, Counts())
            counts.tp += sum(not (_absent(predicted[r]) and _absent(gold[c])) for r, c in pairs)
            counts.fp += sum(not _absent(x) for r, x in enumerate(predicted) if r not in paired_p)
            counts.fn += sum(not _absent(x) for c, x in enumerate(gold) if c not in paired_g)


def _similarity(scored: DocumentScore, predicted: Any, gold: Any) -> float:
    """The share of two items' values that agree (1.0 for two empty items)."""
    total = scored.total()
    counted = total.tp + total.fp + total.fn
    if counted == 0:
        return 1.0 if _absent(predicted) == _absent(gold) else 0.0
    # Halved false counts: a wrong value is one disagreement, not two.
    return total.tp / (total.tp + (total.fp + total.fn) / 2)


def _absent(value: Any) -> bool:
    return value is None or value is _ABSENT


def _same_container(predicted: Any, gold: Any, kind: type) -> bool:
    """Both are ``kind``, or one is and the other absent."""
    p, g = isinstance(predicted, kind), isinstance(gold, kind)
    return (p and g) or (p and _absent(gold)) or (g and _absent(predicted))
