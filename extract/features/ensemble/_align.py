"""List items of several answers matched one-to-one, so a vote compares like with like.

Objects and lists are matched by an optimal assignment (scipy's
``linear_sum_assignment``) on their similarity: the mean agreement of their fields,
strings by the overlap of their grounded spans when both members grounded them, else
by ``difflib``'s ratio. Members are matched in turn (heaviest first) against the items
found so far (an item is as similar to a group as to its most similar member); a pair
less similar than ``min_similarity`` is not a match, and an unmatched item starts an
item of its own. Scalars are multisets: the k-th copy of a
value in one member is the same item as the k-th copy in another. Nothing is cut to
the shortest answer: an item only some members found is kept with less support.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from extract.schemas import child_pointer

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


@dataclass(frozen=True)
class Entry:
    """A member's value at one place: the member, the value, its pointer in that
    member's answer and, for a list item, its position (0 first, 1 last)."""

    member: int
    value: Any
    pointer: str
    position: float = 0.0


@dataclass
class Cluster:
    """One item across members: at most one entry per member."""

    order: int
    items: list[Entry] = field(default_factory=list)


def group_key(value: Any) -> Any:
    """What a vote compares: strings with case and spacing folded, numbers by value."""
    if value is ABSENT:
        return ("absent",)
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)  # 1 == 1.0, and their hashes agree
    if isinstance(value, str):
        return ("string", _fold(value))
    if isinstance(value, dict):
        return ("object",)
    if isinstance(value, list):
        return ("list",)
    raise TypeError(f"not a JSON value: {value!r}")


class Aligner:
    """Matches list items of members with these ``weights`` and grounded ``spans``
    (each member's own JSON pointers -> character offsets)."""

    def __init__(
        self,
        weights: Sequence[float],
        spans: Sequence[Mapping[str, tuple[int, int]]],
        min_similarity: float,
    ) -> None:
        self.weights = list(weights)
        self.spans = list(spans)
        self.min_similarity = min_similarity

    def clusters(self, lists: Sequence[Entry]) -> list[Cluster]:
        """The items of the members' lists (``lists``: one entry per member) matched."""
        found: list[Cluster] = []
        copies: dict[Any, Cluster] = {}
        for entry in sorted(lists, key=lambda e: (-self.weights[e.member], e.member)):
            items = entry.value
            last = max(len(items) - 1, 1)
            seen: dict[Any, int] = {}
            composite = []
            for i, value in enumerate(items):
                item = Entry(entry.member, value, f"{entry.pointer}/{i}", i / last)
                if isinstance(value, dict | list):
                    composite.append(item)
                    continue
                key = group_key(value)
                seen[key] = seen.get(key, 0) + 1
                cluster = copies.get((key, seen[key]))
                if cluster is None:
                    cluster = copies[key, seen[key]] = Cluster(len(found))
                    found.append(cluster)
                cluster.items.append(item)
            self._assign(composite, found)
        return found

    def _assign(self, items: list[Entry], found: list[Cluster]) -> None:
        open_ = [c for c in found if c.items and isinstance(c.items[0].value, dict | list)]
        matched: set[int] = set()
        if items and open_:
            from scipy.optimize import linear_sum_assignment

            similarity = np.array([[self._to_cluster(item, c) for c in open_] for item in items])
            rows, cols = linear_sum_assignment(similarity, maximize=True)
            for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
                if similarity[row, col] >= self.min_similarity:
                    open_[col].items.append(items[row])
                    matched.add(row)
        for r, item in enumerate(items):
            if r not in matched:
                found.append(Cluster(len(found), [item]))

    def _to_cluster(self, item: Entry, cluster: Cluster) -> float:
        """The most similar member's item: answers that agree with any member already
        matched join it whatever order members come in. Between equally similar items
        the nearer position wins, by a margin too small to outweigh any similarity."""
        return max(
            self.similarity(item, other) - 1e-6 * abs(item.position - other.position)
            for other in cluster.items
        )

    def similarity(self, a: Entry, b: Entry) -> float:
        """How alike two members' values are, from 0 (nothing shared) to 1."""
        x, y = a.value, b.value
        if _empty(x) and _empty(y):
            return 1.0
        if isinstance(x, dict) and isinstance(y, dict):
            sims = [
                self.similarity(
                    Entry(a.member, x.get(k, ABSENT), child_pointer(a.pointer, k)),
                    Entry(b.member, y.get(k, ABSENT), child_pointer(b.pointer, k)),
                )
                for k in dict.fromkeys([*x, *y])
                if not (_empty(x.get(k, ABSENT)) and _empty(y.get(k, ABSENT)))
            ]
            return sum(sims) / len(sims) if sims else 1.0
        if isinstance(x, list) and isinstance(y, list):
            return self._lists(a, b)
        if isinstance(x, str) and isinstance(y, str):
            here, there = self.spans[a.member].get(a.pointer), self.spans[b.member].get(b.pointer)
            if here is not None and there is not None:
                return _overlap(here, there)
            if _fold(x) == _fold(y):
                return 1.0
            return difflib.SequenceMatcher(None, _fold(x), _fold(y)).ratio()
        return 1.0 if group_key(x) == group_key(y) else 0.0

    def _lists(self, a: Entry, b: Entry) -> float:
        """Twice the best one-to-one matched similarity over both lengths."""
        xs, ys = a.value, b.value
        if not xs or not ys:
            return 0.0
        from scipy.optimize import linear_sum_assignment

        similarity = np.array(
            [
                [
                    self.similarity(
                        Entry(a.member, x, f"{a.pointer}/{i}"),
                        Entry(b.member, y, f"{b.pointer}/{j}"),
                    )
                    for j, y in enumerate(ys)
                ]
                for i, x in enumerate(xs)
            ]
        )
        rows, cols = linear_sum_assignment(similarity, maximize=True)
        return 2 * float(similarity[rows, cols].sum()) / (len(xs) + len(ys))


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two character spans."""
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 1.0


def _empty(value: Any) -> bool:
    return value is None or value is ABSENT or value == [] or value == {}


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()
