"""How well confidences tell right values from wrong ones: pure functions of
``(confidence, right)`` pairs, one pair per predicted value.

- ``auroc``: the chance that a right value has a higher confidence than a wrong one
  (ties count half); 0.5 is a coin, 1.0 separates them perfectly. The Mann-Whitney
  statistic on ranks (scipy's ``rankdata``), so it only depends on the order of the
  confidences.
- ``ece``: expected calibration error over ``bins`` equal-width buckets: the gap
  between the mean confidence and the accuracy in each, weighted by its share.
- ``reliability``: per bucket, the values, their mean confidence and how many are right.
- ``coverage_at``: the share of values whose confidence is at or above the lowest
  threshold where the values at or above it are right at least ``precision`` of the
  time: how much could be kept without a person looking, at that precision
  (``threshold_for`` gives that threshold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Pair = tuple[float, bool]


def auroc(pairs: Sequence[Pair]) -> float | None:
    """None when the values are all right or all wrong (nothing to tell apart)."""
    from scipy.stats import rankdata  # here: `import extract` must not load scipy

    right = sum(1 for _, r in pairs if r)
    wrong = len(pairs) - right
    if not right or not wrong:
        return None
    ranks = rankdata([c for c, _ in pairs])  # average ranks for ties
    rank_sum = float(sum(rank for rank, (_, r) in zip(ranks, pairs, strict=True) if r))
    return (rank_sum - right * (right + 1) / 2) / (right * wrong)


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    values: int
    confidence: float  # mean confidence of its values (0 when empty)
    right: int

    @property
    def accuracy(self) -> float:
        return self.right / self.values if self.values else 0.0

    def to_json(self) -> dict[str, float]:
        return {
            "low": self.low,
            "high": self.high,
            "values": self.values,
            "confidence": self.confidence,
            "accuracy": self.accuracy,
        }


def reliability(pairs: Sequence[Pair], bins: int = 10) -> list[Bucket]:
    """Equal-width buckets over [0, 1]; a confidence of exactly 1 falls in the last."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    found: list[list[Pair]] = [[] for _ in range(bins)]
    for confidence, right in pairs:
        index = min(int(confidence * bins), bins - 1)
        found[index].append((confidence, right))
    return [
        Bucket(
            float(edges[i]),
            float(edges[i + 1]),
            len(inside),
            sum(c for c, _ in inside) / len(inside) if inside else 0.0,
            sum(1 for _, r in inside if r),
        )
        for i, inside in enumerate(found)
    ]


def ece(pairs: Sequence[Pair], bins: int = 10) -> float | None:
    if not pairs:
        return None
    return sum(
        b.values / len(pairs) * abs(b.accuracy - b.confidence)
        for b in reliability(pairs, bins)
        if b.values
    )


def coverage_at(pairs: Sequence[Pair], precision: float = 0.9) -> float | None:
    """0.0 when no threshold reaches ``precision``; None without values."""
    if not pairs:
        return None
    threshold = threshold_for(pairs, precision)
    if threshold is None:
        return 0.0
    return sum(1 for confidence, _ in pairs if confidence >= threshold) / len(pairs)


def threshold_for(pairs: Sequence[Pair], precision: float = 0.9) -> float | None:
    """The lowest confidence at which the values at or above it are right at least
    ``precision`` of the time; None when no threshold reaches it."""
    ranked = sorted(pairs, key=lambda pair: -pair[0])
    best: float | None = None
    right = 0
    for kept, (confidence, is_right) in enumerate(ranked, 1):
        right += is_right
        # A threshold keeps every value of its confidence: decide at the last of a tie.
        last_of_tie = kept == len(ranked) or ranked[kept][0] < confidence
        if last_of_tie and right / kept >= precision:
            best = confidence
    return best
